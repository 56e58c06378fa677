// Decoder: paste an attestation object, authenticator data,
// clientDataJSON, a PublicKeyCredential JSON, a COSE key, a certificate or
// any CBOR (hex, base64url, base64, PEM or JSON) and get the annotated tree
// from POST /api/decode. A small converter between hex, base64url and base64
// runs locally.

import { h, card, field, select, errorBox, mount } from '../dom.js';
import { api } from '../api.js';
import { treeView } from '../tree.js';
import { b64urlToBytes, bytesToB64url } from '../webauthn.js';
import { encodeCbor } from '../cbor.js';

export const title = 'Decoder';

const KINDS = [['auto', 'Detect automatically'], ['attestationObject', 'attestationObject'], ['authenticatorData', 'authenticatorData'],
  ['clientDataJSON', 'clientDataJSON'], ['coseKey', 'COSE key'], ['certificate', 'X.509 certificate'], ['cbor', 'CBOR']];

export function render(root) {
  const input = h('textarea', { class: 'code wrap', rows: 8, spellcheck: 'false', name: 'input',
    placeholder: 'Paste hex, base64url, base64, PEM or JSON (a registration/authentication response, clientDataJSON)…' });
  const kind = select('kind', KINDS, 'auto');
  const button = h('button', { type: 'submit' }, 'Decode');
  const out = h('div', { 'aria-live': 'polite' });
  const saved = sessionStorage.getItem('keybench.decoder.input');
  if (saved) input.value = saved;
  const form = h('form', { class: 'stack', onsubmit: async (ev) => {
    ev.preventDefault();
    const text = input.value;
    sessionStorage.setItem('keybench.decoder.input', text.slice(0, 200000));
    if (!text.trim()) { mount(out, errorBox({ title: 'Nothing to decode', message: 'Paste something into the input first.' })); return; }
    button.disabled = true;
    mount(out, h('p', { class: 'muted' }, 'Decoding…'));
    try {
      const body = { input: text };
      if (kind.value !== 'auto') body.kind = kind.value;
      mount(out, treeView(await api.post('/api/decode', body)));
    } catch (e) {
      mount(out, errorBox(e));
    } finally { button.disabled = false; }
  } },
  field('Input', input),
  h('div', { class: 'row end' }, field('Kind', kind), h('div', { class: 'actions' }, button,
    h('button', { type: 'button', class: 'secondary', onclick: () => { input.value = ''; mount(out); sessionStorage.removeItem('keybench.decoder.input'); input.focus(); } }, 'Clear'))));
  const decodeBytes = (hex) => { input.value = hex; kind.value = 'auto'; form.requestSubmit(); input.scrollIntoView({ block: 'start' }); };
  root.append(h('h1', {}, 'Decoder'), card(null, form, out), h('div', { class: 'grid-2' }, encoder(decodeBytes), converter()));
}

function toBytes(text, from) {
  const t = text.trim();
  if (from === 'hex') {
    const c = t.replace(/[\s:]/g, '').replace(/^0x/i, '');
    if (!/^([0-9a-fA-F]{2})*$/.test(c)) throw new Error('not hex: use pairs of 0-9a-f (spaces and colons allowed)');
    return Uint8Array.from(c.match(/../g) || [], (x) => parseInt(x, 16));
  }
  if (from === 'text') return new TextEncoder().encode(text);
  const clean = t.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(clean)) throw new Error('not base64 or base64url');
  return b64urlToBytes(clean.replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_'));
}

function converter() {
  const input = h('textarea', { class: 'code wrap', rows: 3, spellcheck: 'false', name: 'convert' });
  const from = select('from', [['hex', 'hex'], ['b64', 'base64 / base64url / PEM'], ['text', 'UTF-8 text']], 'hex');
  const out = h('div', { 'aria-live': 'polite' });
  const convert = () => {
    try {
      const bytes = toBytes(input.value, from.value);
      const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
      const b64url = bytesToB64url(bytes);
      const b64 = b64url.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (b64url.length % 4)) % 4);
      const pem = `-----BEGIN CERTIFICATE-----\n${(b64.match(/.{1,64}/g) || []).join('\n')}\n-----END CERTIFICATE-----`;
      let text = null;
      try { text = new TextDecoder('utf-8', { fatal: true }).decode(bytes); } catch { /* binary */ }
      mount(out, h('dl', { class: 'kv wide' },
        h('dt', {}, 'Length'), h('dd', {}, `${bytes.length} bytes`),
        h('dt', {}, 'hex'), h('dd', {}, h('code', { class: 'raw' }, hex)),
        h('dt', {}, 'base64url'), h('dd', {}, h('code', { class: 'raw' }, b64url)),
        h('dt', {}, 'base64'), h('dd', {}, h('code', { class: 'raw' }, b64)),
        h('dt', {}, 'PEM'), h('dd', {}, h('pre', { class: 'code small' }, pem)),
        text !== null ? [h('dt', {}, 'UTF-8'), h('dd', {}, h('code', { class: 'raw' }, text))] : null));
    } catch (e) { mount(out, errorBox({ title: 'Cannot convert', message: e.message })); }
  };
  return card('Convert encodings (in this page)',
    h('form', { class: 'stack', onsubmit: (ev) => { ev.preventDefault(); convert(); } },
      field('Bytes', input), h('div', { class: 'row end' }, field('Input is', from), h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'secondary' }, 'Convert')))),
    out);
}

function encoder(decodeBytes) {
  const input = h('textarea', { class: 'code', rows: 6, spellcheck: 'false', name: 'encode',
    value: '{\n  "1": 2,\n  "3": -7,\n  "-1": 1,\n  "-2": "h\'00112233\'",\n  "-3": "h\'44556677\'"\n}' });
  const out = h('div', { 'aria-live': 'polite' });
  const encode = () => {
    try {
      const bytes = encodeCbor(JSON.parse(input.value));
      const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
      mount(out, h('dl', { class: 'kv wide' },
        h('dt', {}, 'Length'), h('dd', {}, `${bytes.length} bytes`),
        h('dt', {}, 'hex'), h('dd', {}, h('code', { class: 'raw' }, hex)),
        h('dt', {}, 'base64url'), h('dd', {}, h('code', { class: 'raw' }, bytesToB64url(bytes)))),
      h('div', { class: 'actions' }, h('button', { type: 'button', class: 'secondary small', onclick: () => decodeBytes(hex) }, 'Decode it above')));
    } catch (e) { mount(out, errorBox({ title: 'Cannot encode', message: e.message })); }
  };
  return card('Encode JSON as CBOR (canonical, in this page)',
    h('p', { class: 'muted small' }, 'Integer-like object keys become integer keys, "h\'…\'" strings become byte strings, {"$tag": n, "value": v} a tag; map keys are sorted as CTAP2 requires.'),
    h('form', { class: 'stack', onsubmit: (ev) => { ev.preventDefault(); encode(); } },
      field('JSON', input), h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'secondary' }, 'Encode'))),
    out);
}

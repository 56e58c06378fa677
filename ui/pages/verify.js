// Verify: any relying party's registration or authentication, step by step.
// Paste or load the options the relying party sent (or the challenge, RP ID
// and origin by hand), the response the browser produced and, for an
// assertion, the stored public key; POST /api/verify answers every WebAuthn
// L3 §7.1/§7.2 step as passed, failed or not checkable, with the
// specification's sentence and the values compared. Failing bytes are
// highlighted in the inputs' hex (and in clientDataJSON's text), and the
// decoded structures are shown as the decoder's tree.

import { h, card, field, errorBox, mount, badge, notice, table } from '../dom.js';
import { api } from '../api.js';
import { treeView } from '../tree.js';

export const title = 'Verify';

const STORE = 'keybench.verify.';
const STATUS = { passed: ['passed', 'ok'], failed: ['FAILED', 'bad'], notCheckable: ['not checkable', 'warn'] };

function area(name, rows, placeholder) {
  const el = h('textarea', { class: 'code wrap', rows, spellcheck: 'false', name, placeholder });
  const saved = sessionStorage.getItem(STORE + name);
  if (saved) el.value = saved;
  return el;
}

function loader(target) {
  const input = h('input', { type: 'file', class: 'file', onchange: async () => {
    const f = input.files && input.files[0];
    if (f) target.value = await f.text();
  } });
  return h('label', { class: 'small muted' }, 'Load from a file: ', input);
}

export function render(root) {
  const options = area('options', 6, 'PublicKeyCredentialCreationOptionsJSON / RequestOptionsJSON as the relying party sent it (bare or {"publicKey": …})');
  const response = area('response', 6, 'RegistrationResponseJSON / AuthenticationResponseJSON (the browser\'s toJSON(), SimpleWebAuthn, py_webauthn, python-fido2, webauthn-rs)');
  const publicKey = area('publicKey', 3, 'For an assertion: the stored public key — COSE (base64url or hex), JWK, PEM, or the registration response');
  const anchors = area('trustAnchors', 3, 'Optional: attestation root certificates (PEM), to judge the attestation path');
  const origin = h('input', { name: 'origin', placeholder: 'https://example.org (default https:// + RP ID)' });
  const rpId = h('input', { name: 'rpId', placeholder: 'default: from the options, else the origin\'s host' });
  const challenge = h('input', { name: 'challenge', placeholder: 'base64url, only without options' });
  const topOrigins = h('input', { name: 'topOrigins', placeholder: 'pages it may be framed in, comma separated' });
  for (const el of [origin, rpId, challenge, topOrigins]) el.value = sessionStorage.getItem(STORE + el.name) || '';
  const button = h('button', { type: 'submit' }, 'Verify');
  const out = h('div', { 'aria-live': 'polite' });
  const form = h('form', { class: 'stack', onsubmit: async (ev) => {
    ev.preventDefault();
    for (const el of [options, response, publicKey, anchors, origin, rpId, challenge, topOrigins]) {
      sessionStorage.setItem(STORE + el.name, el.value.slice(0, 200000));
    }
    if (!response.value.trim()) { mount(out, errorBox({ title: 'Nothing to verify', message: 'Paste or load the response first.' })); return; }
    const body = { response: response.value };
    if (options.value.trim()) body.options = options.value;
    if (publicKey.value.trim()) body.publicKey = publicKey.value;
    if (origin.value.trim()) body.origin = origin.value.trim();
    if (rpId.value.trim()) body.rpId = rpId.value.trim();
    if (challenge.value.trim()) body.challenge = challenge.value.trim();
    const tops = topOrigins.value.split(',').map((s) => s.trim()).filter(Boolean);
    if (tops.length) body.topOrigins = tops;
    const pems = anchors.value.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g);
    if (pems) body.trustAnchors = pems;
    button.disabled = true;
    mount(out, h('p', { class: 'muted' }, 'Verifying…'));
    try {
      mount(out, reportView(await api.post('/api/verify', body)));
    } catch (e) {
      mount(out, errorBox(e));
    } finally { button.disabled = false; }
  } },
  h('div', { class: 'grid-2' },
    h('div', { class: 'stack' }, field('Options the relying party sent', options), loader(options)),
    h('div', { class: 'stack' }, field('Response', response), loader(response))),
  h('div', { class: 'grid-2' },
    h('div', { class: 'stack' }, field('Stored public key (assertions)', publicKey), loader(publicKey)),
    h('div', { class: 'stack' }, field('Trust anchors', anchors), loader(anchors))),
  h('div', { class: 'grid-2' }, field('Origin', origin), field('RP ID', rpId)),
  h('div', { class: 'grid-2' }, field('Challenge', challenge), field('Top origins', topOrigins)),
  h('div', { class: 'actions' }, button,
    h('button', { type: 'button', class: 'secondary', onclick: () => {
      for (const el of [options, response, publicKey, anchors, origin, rpId, challenge, topOrigins]) { el.value = ''; sessionStorage.removeItem(STORE + el.name); }
      mount(out);
    } }, 'Clear')));
  root.append(h('h1', {}, 'Verify a ceremony'),
    h('p', { class: 'muted' }, 'Why did a registration or sign-in fail on some relying party? Every step of WebAuthn Level 3 §7.1 (registration) or §7.2 (authentication), checked by Keybench\'s relying-party core.'),
    card(null, form), out);
}

function reportView(r) {
  const failed = r.steps.filter((s) => s.status === 'failed');
  const what = r.ceremony === 'registration' ? 'Registration (§7.1)' : 'Authentication (§7.2)';
  const head = r.verified
    ? notice('success', h('strong', {}, `${what}: every checkable step passed`))
    : notice('error', h('strong', {}, `${what}: ${failed.length} step${failed.length === 1 ? '' : 's'} failed`),
      h('p', {}, `First: ${r.failure.step} — `, h('code', {}, r.failure.code), ` ${r.failure.message}`));
  const expected = h('dl', { class: 'kv' }, Object.entries(r.expected).map(([k, v]) => [h('dt', {}, k), h('dd', {}, h('code', { class: 'raw' }, Array.isArray(v) ? v.join(', ') : String(v)))]));
  const rows = r.steps.map((s, i) => {
    const [label, kind] = STATUS[s.status] || [s.status, ''];
    const at = s.location ? h('button', { type: 'button', class: 'link', onclick: () => {
      const mark = document.getElementById(`mark-${i}`);
      if (mark) { mark.scrollIntoView({ block: 'center' }); mark.focus(); }
    } }, `${s.location.path} [${s.location.range.start}..${s.location.range.end})`) : null;
    return h('tr', { class: s.status === 'failed' ? 'current' : null, 'data-status': s.status },
      h('td', {}, badge(label, kind)),
      h('td', {}, s.step),
      h('td', { class: 'wrap' }, h('strong', {}, s.title), h('details', {}, h('summary', {}, 'spec'), h('q', {}, s.spec))),
      h('td', { class: 'wrap' },
        s.expected ? h('div', {}, h('span', { class: 'muted' }, 'expected '), h('code', { class: 'raw' }, s.expected)) : null,
        s.found ? h('div', {}, h('span', { class: 'muted' }, 'found '), h('code', { class: 'raw' }, s.found)) : null,
        s.message ? h('div', { class: s.status === 'failed' ? 'bad' : 'muted' }, s.code ? [h('code', {}, s.code), ' '] : null, s.message) : null,
        at));
  });
  const marks = {};
  r.steps.forEach((s, i) => {
    if (s.status === 'failed' && s.location) (marks[s.location.input] ||= []).push({ ...s.location.range, step: s.step, id: `mark-${i}` });
  });
  const inputs = Object.entries(r.inputs).map(([name, hex]) => inputView(name, hex, marks[name] || []));
  const decoded = Object.entries(r.decoded).map(([name, tree]) => h('details', { class: 'decoded' }, h('summary', {}, name), h('div', { class: 'tree-scroll' }, treeView(tree))));
  return h('div', { class: 'stack verify-report' },
    head,
    card('Expected by the relying party', expected, r.notes.length ? h('ul', { class: 'notes' }, r.notes.map((n) => h('li', { class: 'muted' }, n))) : null),
    card('Steps', table(['Verdict', 'Step', 'Rule', 'Compared'], rows, { caption: 'Verification steps' })),
    r.extensions.length ? card('Extension outputs', table(['Extension', 'Verdict', 'Detail'],
      r.extensions.map((e) => h('tr', {}, h('td', {}, e.name), h('td', {}, badge(e.status, e.status === 'ok' ? 'ok' : e.status === 'invalid' ? 'bad' : 'warn')), h('td', { class: 'wrap' }, e.detail))))) : null,
    card('Bytes (failing bytes highlighted)', inputs),
    card('Decoded', decoded));
}

/** Hex of one input, 32 bytes a line, with the failing ranges marked. */
function inputView(name, hex, ranges) {
  const n = hex.length / 2;
  const markAt = (i) => ranges.find((r) => i >= r.start && i < r.end);
  const pre = h('pre', { class: 'code hex', 'data-input': name });
  let i = 0;
  while (i < n) {
    const m = markAt(i);
    let j = i + 1;
    while (j < n && markAt(j) === m && j % 32 !== 0) j++;
    const bytes = [];
    for (let k = i; k < j; k++) bytes.push(hex.slice(2 * k, 2 * k + 2));
    const text = bytes.join(' ') + (j % 32 === 0 ? '\n' : ' ');
    if (m) {
      const first = i === m.start;
      pre.append(h('mark', { id: first ? m.id : null, tabindex: first ? '-1' : null, title: `${m.step}: bytes ${m.start}..${m.end}` }, text));
    } else pre.append(text);
    i = j;
  }
  let text = null;
  if (name === 'clientDataJSON') {
    const bytes = Uint8Array.from(hex.match(/../g) || [], (x) => parseInt(x, 16));
    text = h('pre', { class: 'code wrap' });
    let at = 0;
    for (const r of [...ranges].sort((a, b) => a.start - b.start)) {
      if (r.start < at) continue;
      text.append(new TextDecoder().decode(bytes.slice(at, r.start)), h('mark', { title: r.step }, new TextDecoder().decode(bytes.slice(r.start, r.end))));
      at = r.end;
    }
    text.append(new TextDecoder().decode(bytes.slice(at)));
  }
  return h('details', { open: ranges.length ? true : null },
    h('summary', {}, name, ' ', h('span', { class: 'muted' }, `${n} bytes`), ranges.length ? [' ', badge(`${ranges.length} failing range${ranges.length === 1 ? '' : 's'}`, 'bad')] : null),
    text, pre);
}

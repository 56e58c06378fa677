// Keys (desktop app only): shown only when window.__TAURI__ exists.
// Plugged USB keys and virtual keys listed live (Tauri events), getInfo,
// wink, PIN, credential management, the large-blob viewer (each
// credential's blob decrypted, written, deleted), reset, "start a virtual key", and
// ceremonies run by Keybench's own CTAP client against this app's relying
// party (begin and complete over this page's HTTP API, so the dashboard
// shows this session), with a PIN dialog, a "touch your key" prompt only
// when the key reports UP_NEEDED, Cancel, the live CTAP traffic, and the
// key lab's probe with live progress (pages/probe.js), and the chosen key's
// fingerprints (pages/fingerprints.js).
// The commands are in src-tauri/src/shell.rs (listed in src-tauri/README.md).

import { h, card, notice, mount, errorBox, table, badge, field, select, short, copyButton } from '../dom.js';
import { api, sessionChanged } from '../api.js';
import { steps, run, resultView, jsonEditor } from './ceremony.js';
import { algName } from '../webauthn.js';
import { modelCard } from './model.js';
import { probeCard } from './probe.js';
import { fingerprintsCard } from './fingerprints.js';

export const title = 'Keys';

const tauri = () => window.__TAURI__;

/** A Tauri command; its `{code, message}` error becomes an Error like the API's. */
export async function invoke(cmd, args = {}) {
  try {
    return await tauri().core.invoke(cmd, args);
  } catch (e) {
    const err = new Error((e && e.message) || String(e));
    err.code = (e && e.code) || 'desktop';
    err.title = TITLES[err.code] || 'The key operation failed';
    if (err.code === 'hid_permission_denied') err.hint = 'Copy the command above into a terminal, then unplug and re-plug the key.';
    throw err;
  }
}

const TITLES = {
  pin_required: 'This key needs its PIN',
  ctap_pin_invalid: 'Wrong PIN',
  ctap_pin_blocked: 'The PIN is blocked',
  ctap_pin_auth_blocked: 'Too many wrong PINs',
  cancelled: 'Cancelled',
  key_busy: 'The key is busy',
  hid_permission_denied: 'No permission to open the key',
  ctap_not_allowed: 'The key refused',
  ctap_operation_denied: 'The touch was refused',
};

// Virtual keys can create these (virtual_authenticator::keys::SUPPORTED).
const VIRTUAL_ALGORITHMS = ['ML-DSA-87', 'ML-DSA-65', 'ML-DSA-44', 'EdDSA', 'ES256'];
const REGISTER_ALGORITHMS = [[-50, 'ML-DSA-87'], [-49, 'ML-DSA-65'], [-48, 'ML-DSA-44'], [-8, 'EdDSA'], [-7, 'ES256']];
const MAX_TRAFFIC_ROWS = 400;

export async function render(root, { alive } = { alive: () => true }) {
  if (!tauri()) {
    mount(root, h('h1', {}, 'Keys'), card(null, notice('info', 'The keys panel exists only in the desktop app.')));
    return null;
  }
  const state = { keys: [], selected: sessionStorage.getItem('keybench.key') || null, unlisten: [] };
  const info = await invoke('app_info').catch((e) => ({ error: e }));
  if (!alive()) return null;

  const keyList = h('div', { id: 'key-list' });
  const selectedOut = h('div', { id: 'key-output', class: 'result', 'aria-live': 'polite' });
  const touch = h('div', { id: 'touch-prompt', hidden: true });
  const presence = h('div', { id: 'presence-prompt' });
  const traffic = trafficView();
  // The large-blob viewer: a card of its own (a blob needs the width),
  // shown once the chosen key's "Large blobs" button is pressed, hidden
  // again when another key is chosen.
  const blobsOut = h('div', { id: 'lb-out', 'aria-live': 'polite' });
  const blobsCard = card('Large blobs on the chosen key', blobsOut);
  blobsCard.id = 'lb-card';
  blobsCard.hidden = true;
  const openBlobs = () => guarded(selectedOut, async () => {
    const key = needKey();
    blobsCard.hidden = false;
    await showLargeBlobs(key, blobsOut);
  });

  const setSelected = (id) => {
    if (id !== state.selected) { blobsCard.hidden = true; mount(blobsOut); }
    state.selected = id;
    if (id) sessionStorage.setItem('keybench.key', id); else sessionStorage.removeItem('keybench.key');
    drawKeys();
  };
  const drawKeys = () => {
    if (state.selected && !state.keys.some((k) => k.id === state.selected)) state.selected = state.keys.length ? state.keys[0].id : null;
    if (!state.selected && state.keys.length) state.selected = state.keys[0].id;
    mount(keyList, table(['', 'Key', 'Kind', 'Address', ''], state.keys.map((k) => h('tr', { dataset: { keyId: k.id } },
      h('td', {}, h('input', { type: 'radio', name: 'key', value: k.id, checked: k.id === state.selected, 'aria-label': `Use ${k.label}`, onchange: () => setSelected(k.id) })),
      h('td', {}, k.label, k.algorithms ? h('div', { class: 'muted' }, `presence: ${k.presence}`) : null),
      h('td', {}, badge({ virtual: 'virtual', nfc: 'NFC' }[k.kind] || 'USB', k.kind === 'virtual' ? '' : 'ok')),
      h('td', {}, short(k.id.replace(/^(hid|udp|pcsc):/, ''), 24)),
      h('td', {}, k.kind === 'virtual'
        ? h('button', { type: 'button', class: 'small secondary', onclick: () => guarded(selectedOut, () => invoke('virtual_key_stop', { key: k.id })) }, 'Stop')
        : null))),
    { caption: 'Keys', empty: 'No key yet. Plug in a FIDO2 security key or put one on a smart-card/NFC reader (it appears here within a second), or start a virtual key below.' }));
  };

  // ---- live feeds ---------------------------------------------------------
  const listen = async (name, fn) => {
    const un = await tauri().event.listen(name, (ev) => fn(ev.payload));
    if (alive()) state.unlisten.push(un); else un();
  };
  await listen('keys-changed', (list) => { state.keys = list; drawKeys(); });
  await listen('ctap-traffic', (ev) => traffic.add(ev));
  await listen('ceremony-status', (s) => {
    if (s.status === 'up-needed') {
      mount(touch, notice('warn', h('strong', {}, 'Touch your key. '), 'It is waiting for you to confirm presence (it blinks, or press its button).'));
      touch.hidden = false;
    }
  });
  await listen('presence-request', (p) => {
    const answer = (touched) => {
      mount(presence);
      invoke('presence_answer', { key: p.key, promptId: p.promptId, touched }).catch((e) => mount(presence, errorBox(e)));
    };
    // The fingerprint sensor says which finger: "Touch with finger N".
    mount(presence, p.fingerprint
      ? notice('warn', h('strong', { id: 'presence-finger' }, p.fingerprint),
        ` — the virtual key's fingerprint sensor (${p.operation}${p.rpId ? ` by ${p.rpId}` : ''}). `,
        h('button', { type: 'button', id: 'presence-touch', onclick: () => answer(true) }, 'Touch with this finger'), ' ',
        h('button', { type: 'button', class: 'secondary', onclick: () => answer(false) }, 'Wrong finger'))
      : notice('warn', h('strong', {}, 'The virtual key asks for a touch'),
        ` (${p.operation}${p.rpId ? ` by ${p.rpId}` : ''}). `,
        h('button', { type: 'button', id: 'presence-touch', onclick: () => answer(true) }, 'Touch'), ' ',
        h('button', { type: 'button', class: 'secondary', onclick: () => answer(false) }, 'Refuse')));
  });
  state.keys = await invoke('keys_list').catch(() => []);
  if (!alive()) { state.unlisten.forEach((un) => un()); return null; }
  drawKeys();

  const needKey = () => {
    if (!state.selected) { const e = new Error('Choose a key in the list first (or start a virtual key).'); e.title = 'No key chosen'; throw e; }
    return state.selected;
  };
  const probe = await probeCard({ needKey, invoke, listen });
  if (!alive()) { state.unlisten.forEach((un) => un()); return null; }
  const fingerprints = await fingerprintsCard({ needKey, invoke, listen });
  if (!alive()) { state.unlisten.forEach((un) => un()); return null; }

  // ---- the page -----------------------------------------------------------
  mount(root,
    h('h1', {}, 'Keys'),
    platformNotice(info),
    h('div', { class: 'grid-2' },
      card('Keys', keyList, virtualKeyForm(selectedOut, setSelected)),
      card('The chosen key', keyActions(needKey, selectedOut, openBlobs), selectedOut)),
    blobsCard,
    card('Register and authenticate with the chosen key', ceremonyForm(needKey, touch, presence)),
    card('FIDO metadata', metadataPanel()),
    probe,
    fingerprints,
    card('CTAP traffic', traffic.el));

  return () => {
    for (const un of state.unlisten) un();
    invoke('ceremony_cancel', {}).catch(() => {});
  };
}

function platformNotice(info) {
  if (!info || info.error) return info && info.error ? errorBox(info.error) : null;
  const p = info.platform || {};
  return h('details', { class: 'card' },
    h('summary', {}, 'USB keys on this system (', p.os, ')'),
    h('p', {}, p.usbAccess),
    p.udevInstallCommand ? h('div', {}, h('p', {}, 'Install the udev rule with:'),
      h('pre', { class: 'code' }, p.udevInstallCommand), copyButton(p.udevInstallCommand, 'Copy the command')) : null,
    info.usbError ? notice('error', h('strong', {}, 'USB keys cannot be listed: '), info.usbError) : null);
}

/** Runs `fn`, showing its result or error in `out`. */
async function guarded(out, fn, render) {
  try {
    const r = await fn();
    if (render) mount(out, render(r));
    return r;
  } catch (e) {
    mount(out, errorBox(e));
    return undefined;
  }
}

function virtualKeyForm(out, setSelected) {
  const algs = VIRTUAL_ALGORITHMS.map((a) => h('label', { class: 'check' },
    h('input', { type: 'checkbox', name: 'vk-alg', value: a, checked: a === 'ML-DSA-65' || a === 'ES256' }), ` ${a}`));
  const presence = select('vk-presence', [
    ['approve', 'approve at once'], ['delay', 'touch after 2 s (shows "touch your key")'],
    ['ask', 'ask me (a Touch button here)'], ['deny', 'refuse every touch'],
  ], 'approve');
  presence.id = 'vk-presence';
  const fingerprint = h('input', { type: 'checkbox', id: 'vk-fingerprint' });
  const start = h('button', { type: 'button', id: 'vk-start', onclick: async () => {
    const chosen = [...document.querySelectorAll('input[name="vk-alg"]:checked')].map((c) => c.value);
    const key = await guarded(out, () => invoke('virtual_key_start', { algorithms: chosen, presence: presence.value, fingerprint: fingerprint.checked }),
      (k) => notice('success', h('strong', {}, 'Virtual key started: '), k.label));
    if (key) setSelected(key.id);
  } }, 'Start a virtual key');
  return h('details', { open: true },
    h('summary', {}, 'Start a virtual key (for demos without hardware)'),
    h('div', { class: 'field' }, h('span', {}, 'Algorithms'), h('div', { class: 'checks' }, algs)),
    field('Presence', presence, 'How the virtual user answers when the key asks for a touch.'),
    h('label', { class: 'check' }, fingerprint, ' a fingerprint sensor (each sample and match is answered as a touch; "ask" shows "Touch with finger N")'),
    h('div', { class: 'actions' }, start));
}

/** A modal PIN dialog; resolves to the PIN or null (cancelled). */
function askPin(message, { confirmNew = false } = {}) {
  return new Promise((resolve) => {
    const pin = h('input', { type: 'password', id: 'pin-input', autocomplete: 'off', minlength: '4', required: true });
    const again = confirmNew ? h('input', { type: 'password', autocomplete: 'off', required: true }) : null;
    const err = h('p', { class: 'help bad', 'aria-live': 'polite' });
    const dlg = h('dialog', { class: 'card', id: 'pin-dialog' },
      h('form', { method: 'dialog', class: 'stack', onsubmit: (ev) => {
        ev.preventDefault();
        if (again && again.value !== pin.value) { err.textContent = 'The two PINs differ.'; return; }
        dlg.close(); dlg.remove(); resolve(pin.value);
      } },
      h('h2', {}, 'PIN'), h('p', {}, message),
      field('PIN', pin), again ? field('The same PIN again', again) : null, err,
      h('div', { class: 'actions' },
        h('button', { type: 'submit', id: 'pin-ok' }, 'OK'),
        h('button', { type: 'button', class: 'secondary', onclick: () => { dlg.close(); dlg.remove(); resolve(null); } }, 'Cancel'))));
    document.body.append(dlg);
    dlg.showModal();
    pin.focus();
  });
}

function cancelledError() {
  const e = new Error('No PIN was entered.');
  e.title = 'Cancelled';
  return e;
}

/** Calls `fn(pin)`: first without a PIN, asking for one when the key needs it. */
export async function withPin(fn, pin = null) {
  for (;;) {
    try {
      return await fn(pin);
    } catch (e) {
      if (e.code !== 'pin_required' && e.code !== 'ctap_pin_invalid') throw e;
      pin = await askPin(e.code === 'pin_required'
        ? 'This key has a PIN and needs it for this operation.'
        : 'That PIN was wrong; the key counts down its retries. Try again.');
      if (pin === null) throw cancelledError();
    }
  }
}

function keyActions(needKey, out, openBlobs) {
  const btn = (label, fn, attrs = {}) => h('button', { type: 'button', class: 'small', ...attrs, onclick: fn }, label);
  return h('div', { class: 'actions' },
    btn('getInfo', () => guarded(out, () => invoke('key_info', { key: needKey() }), infoView), { id: 'key-info' }),
    btn('Wink', () => guarded(out, () => invoke('key_wink', { key: needKey() }), () => notice('success', 'The key was asked to blink.'))),
    btn('PIN retries', () => guarded(out, () => invoke('pin_retries', { key: needKey() }), (r) => notice(r.retries > 2 ? 'info' : 'warn',
      `${r.retries} PIN attempts left.`, r.powerCycleRequired ? ' Three wrong PINs in a row: unplug and re-plug the key before the next try.' : ''))),
    btn('Set PIN', () => guarded(out, async () => {
      const key = needKey();
      const pin = await askPin('Choose a PIN for this key (at least 4 characters; the key may ask for more).', { confirmNew: true });
      if (pin === null) throw cancelledError();
      await invoke('pin_set', { key, newPin: pin });
    }, () => notice('success', 'PIN set.'))),
    btn('Change PIN', () => guarded(out, async () => {
      const key = needKey();
      const current = await askPin('The current PIN.');
      if (current === null) throw cancelledError();
      const next = await askPin('The new PIN.', { confirmNew: true });
      if (next === null) throw cancelledError();
      await invoke('pin_change', { key, currentPin: current, newPin: next });
    }, () => notice('success', 'PIN changed.'))),
    btn('Credentials', () => showCredentials(needKey(), out)),
    btn('Large blobs', openBlobs, { id: 'key-large-blobs' }),
    btn('Reset…', () => guarded(out, async () => {
      const key = needKey();
      const ok = window.confirm('Reset deletes every credential on the key and its PIN.\n\n'
        + 'Keys accept a reset only within about 10 seconds of power-up: unplug the key, plug it back in, and press OK at once '
        + '(a virtual key counts from when it was started). The key then asks for a touch.');
      if (!ok) return false;
      await invoke('key_reset', { key });
      return true;
    }, (done) => (done ? notice('success', 'The key is reset.') : notice('info', 'Not reset.'))), { class: 'small danger' }));
}

/** What the FIDO metadata in force is (GET /api/mds), and installing a
 * BLOB file: verified into the data directory, then put in force. */
function metadataPanel() {
  const status = h('div', { id: 'mds-status', 'aria-live': 'polite' });
  const out = h('div', { 'aria-live': 'polite' });
  const show = (s) => {
    if (s.state === 'loaded') {
      mount(status, notice('success', h('strong', {}, `BLOB no ${s.no}`), ` · ${s.entries} models (${s.denied} denied by their status) · next update ${s.nextUpdate}`,
        h('div', { class: 'muted' }, `signed by ${s.signer}`)));
    } else if (s.state === 'invalid') {
      mount(status, notice('error', h('strong', {}, 'The cached metadata does not verify: '), s.reason, ` (${s.code})`));
    } else {
      mount(status, notice('info', 'No FIDO metadata installed: attestation verdicts have no MDS anchor. Download the BLOB from ',
        h('code', {}, 'https://mds3.fidoalliance.org/'), ' and install it here, or run ', h('code', {}, 'keybench mds fetch'), '.'));
    }
  };
  api.get('/api/mds').then(show).catch((e) => mount(status, errorBox(e)));
  const file = h('input', { type: 'file', id: 'mds-file', accept: '.jwt,.jws,.txt,application/jwt' });
  const install = h('button', { type: 'button', class: 'secondary', onclick: () => guarded(out, async () => {
    const f = file.files[0];
    if (!f) { const e = new Error('Choose the BLOB file first.'); e.title = 'No file'; throw e; }
    const r = await invoke('mds_install', { blob: await f.text() });
    show(r.status);
    return r;
  }, (r) => notice('success', r.outcome === 'replaced' ? 'Installed and in force.' : 'This BLOB is already the one in force.')) }, 'Install BLOB');
  return h('div', {}, status, h('div', { class: 'actions' }, file, install), out);
}

function infoView(i) {
  const row = (k, v) => [h('dt', {}, k), h('dd', {}, v === undefined || v === null || v === '' ? '—' : v)];
  const opts = Object.entries(i.options || {}).map(([k, v]) => badge(`${k}=${v}`, v ? 'ok' : '')).flatMap((b) => [b, ' ']);
  return h('div', { id: 'key-info-out' }, h('dl', { class: 'kv' },
    row('Versions', (i.versions || []).join(', ')),
    row('AAGUID', h('code', {}, i.aaguid)),
    row('Model', i.metadata ? modelCard(i.metadata) : h('span', { class: 'muted' }, 'not in the FIDO metadata in force')),
    row('Algorithms', (i.algorithms || []).map((a) => `${a.name || 'COSE'} (${a.alg})`).join(', ')),
    row('Extensions', (i.extensions || []).join(', ')),
    row('Options', opts),
    row('maxMsgSize', i.maxMsgSize),
    row('PIN/UV protocols', (i.pinUvAuthProtocols || []).join(', ')),
    row('Min PIN length', i.minPINLength),
    row('Transports', (i.transports || []).join(', ')),
    row('Firmware', i.firmwareVersion),
    row('Discoverable slots left', i.remainingDiscoverableCredentials)));
}

async function showCredentials(key, out) {
  await guarded(out, () => withPin((pin) => {
    if (pin === null) { const e = new Error('Credential management needs the PIN.'); e.code = 'pin_required'; throw e; }
    return invoke('credentials_list', { key, pin }).then((r) => ({ r, pin }));
  }), ({ r, pin }) => h('div', {},
    h('p', {}, `${r.existing} discoverable credentials; room for ${r.remaining} more.`),
    table(['Relying party', 'User', 'Algorithm', 'Credential', ''], r.credentials.map((c) => h('tr', {},
      h('td', {}, c.rpId), h('td', {}, c.userName || '—'), h('td', {}, c.algorithmName || String(c.algorithm)),
      h('td', {}, short(c.credentialId, 16)),
      h('td', {}, h('button', { type: 'button', class: 'small danger', onclick: async () => {
        if (!window.confirm(`Delete the credential for ${c.userName || '?'} at ${c.rpId} from the key?`)) return;
        await guarded(out, () => invoke('credential_delete', { key, pin, credentialId: c.credentialId }));
        showCredentials(key, out);
      } }, 'Delete')))),
    { empty: 'No discoverable credentials on this key.' })));
}

/** "68 65 6c 6c 6f" or "68656c6c6f" → bytes, or an error naming the problem. */
function hexBytes(text) {
  const clean = text.replace(/\s+/g, '');
  if (clean.length % 2 || /[^0-9a-f]/i.test(clean)) {
    const e = new Error('Hex needs pairs of 0-9 and a-f digits (spaces allowed).');
    e.title = 'Not hex';
    throw e;
  }
  return Array.from({ length: clean.length / 2 }, (_, i) => parseInt(clean.slice(2 * i, 2 * i + 2), 16));
}

/** The blob as the viewer shows it: text, or hex when it is not UTF-8. */
function blobCell(b) {
  if (!b) return h('span', { class: 'muted' }, 'no blob');
  return h('div', { class: 'lb-blob' },
    b.text !== null && b.text !== undefined ? h('pre', { class: 'code lb-text' }, b.text) : h('pre', { class: 'code lb-hex' }, b.hex),
    h('div', { class: 'muted' }, `${b.size} bytes`, b.text !== null && b.text !== undefined ? ' · UTF-8 text' : ' · hex (not UTF-8)'));
}

/** The large-blob viewer (CTAP 2.1 §6.10): every discoverable credential
 * with a largeBlobKey and its blob, decrypted by the app (the key itself
 * never leaves it); write replaces a credential's blob, delete removes it.
 * The PIN is asked once and kept for this view's writes and deletes. */
async function showLargeBlobs(key, out, knownPin = null) {
  await guarded(out, () => withPin((pin) => {
    if (pin === null) { const e = new Error('Reading large blobs needs the PIN (credential management finds each credential\'s key).'); e.code = 'pin_required'; throw e; }
    return invoke('large_blobs_list', { key, pin }).then((r) => ({ r, pin }));
  }, knownPin), ({ r, pin }) => {
    const again = () => showLargeBlobs(key, out, pin);
    const status = h('div', { id: 'lb-status', 'aria-live': 'polite' });
    const choice = select('lb-cred', r.credentials.map((c) => [c.credentialId, `${c.rpId} · ${c.userName || '?'} · ${c.credentialId.slice(0, 12)}…`]), r.credentials.length ? r.credentials[0].credentialId : '');
    choice.id = 'lb-cred';
    const data = h('textarea', { id: 'lb-data', rows: 3, placeholder: 'The blob: text, or hex with the box below ticked' });
    const asHex = h('input', { type: 'checkbox', id: 'lb-hex' });
    const write = h('button', { type: 'button', id: 'lb-write', class: 'small', onclick: () => guarded(status, async () => {
      const blob = asHex.checked ? hexBytes(data.value) : Array.from(new TextEncoder().encode(data.value));
      await invoke('large_blob_write', { key, pin, credentialId: choice.value, blob });
      await again();
    }) }, 'Write');
    return h('div', { id: 'lb-view' },
      h('p', {}, `${r.credentials.length} discoverable credential${r.credentials.length === 1 ? '' : 's'} can hold a large blob · ${r.serializedBytes} of ${r.maxSerializedBytes ?? '?'} bytes of the key's large-blob store used`,
        r.unopenedEntries ? ` · ${r.unopenedEntries} entr${r.unopenedEntries === 1 ? 'y' : 'ies'} no credential on this key opens` : ''),
      table(['Relying party', 'User', 'Credential', 'Large blob', ''], r.credentials.map((c) => h('tr', { dataset: { credentialId: c.credentialId } },
        h('td', {}, c.rpId), h('td', {}, c.userName || '—'), h('td', {}, short(c.credentialId, 16)),
        h('td', {}, blobCell(c.blob)),
        h('td', {}, c.blob ? h('button', { type: 'button', class: 'small danger', onclick: async () => {
          if (!window.confirm(`Delete the large blob of ${c.userName || '?'} at ${c.rpId}?`)) return;
          await guarded(status, () => invoke('large_blob_delete', { key, pin, credentialId: c.credentialId }));
          again();
        } }, 'Delete') : null))),
      { caption: 'Large blobs', empty: 'No discoverable credential on this key has a largeBlobKey (register one with the largeBlob extension).' }),
      r.credentials.length ? h('div', { class: 'stack' },
        field('Credential', choice), field('New blob (replaces its old one)', data),
        h('label', { class: 'check' }, asHex, ' The blob is hex'),
        h('div', { class: 'actions' }, write)) : null,
      status);
  });
}

function ceremonyForm(needKey, touch, presence) {
  const user = h('input', { type: 'text', id: 'cer-username', value: 'alice', autocomplete: 'username' });
  const alg = select('algorithm', REGISTER_ALGORITHMS.map(([v, n]) => [String(v), n]), '-49');
  alg.id = 'cer-alg';
  const pasted = h('input', { type: 'checkbox', id: 'cer-pasted' });
  const editor = jsonEditor('Options JSON (PublicKeyCredentialCreationOptionsJSON or RequestOptionsJSON, bare or as {"publicKey": …})', null, { rows: 8 });
  editor.el.hidden = true;
  pasted.addEventListener('change', () => { editor.el.hidden = !pasted.checked; });
  const log = steps();
  const out = h('div', { class: 'result', id: 'cer-result' });
  const reg = h('button', { type: 'button', id: 'cer-register' }, 'Register');
  const auth = h('button', { type: 'button', id: 'cer-authenticate' }, 'Authenticate');
  // Cancel stops this form's ceremony, on the key it runs on (another key's
  // ceremony or reset goes on).
  let runningOn = null;
  const cancel = h('button', { type: 'button', id: 'cer-cancel', class: 'secondary', disabled: true, onclick: () => runningOn && invoke('ceremony_cancel', { key: runningOn }) }, 'Cancel');

  const ceremony = (kind) => run([reg, auth], out, log, async (step) => {
    const key = needKey();
    touch.hidden = true;
    const usePasted = pasted.checked;
    let s;
    let options;
    if (usePasted) {
      options = editor.get();
    } else if (kind === 'register') {
      s = step('Asking the server for creation options (POST /api/advanced/register/begin)');
      options = (await api.post('/api/advanced/register/begin', { username: user.value.trim() || 'alice', algorithms: [Number(alg.value)], residentKey: 'preferred' })).publicKey;
      s.ok();
    } else {
      s = step('Asking the server for request options (POST /api/authenticate/begin)');
      const body = user.value.trim() ? { username: user.value.trim() } : {};
      options = (await api.post('/api/authenticate/begin', body)).publicKey;
      s.ok();
    }
    s = step(`The key ${kind === 'register' ? 'creates the credential' : 'signs the challenge'} (Keybench's CTAP client, origin ${location.origin})`);
    cancel.disabled = false;
    runningOn = key;
    let cred;
    try {
      cred = await withPin((pin) => invoke(kind === 'register' ? 'ceremony_register' : 'ceremony_authenticate', { key, options, pin }));
    } finally {
      runningOn = null;
      cancel.disabled = true;
      touch.hidden = true;
      mount(presence);
    }
    s.ok();
    if (usePasted) {
      mount(out, h('div', { class: 'alert success', role: 'status' }, h('strong', {}, 'The key answered. '),
        'Post this to the relying party that made the options:'), h('pre', { class: 'code' }, JSON.stringify(cred, null, 2)), copyButton(JSON.stringify(cred)));
      return;
    }
    const path = kind === 'register' ? '/api/register/complete' : '/api/authenticate/complete';
    s = step(`Sending the answer to the server (POST ${path})`);
    const res = await api.post(path, cred);
    s.ok();
    await sessionChanged();
    mount(out, resultView(`${kind === 'register' ? 'Registered' : 'Signed in as'} ${res.username}`, res),
      res.credential && res.credential.attestationObject
        ? h('p', {}, h('a', { href: `#/decoder`, onclick: () => sessionStorage.setItem('keybench.decoder.input', res.credential.attestationObject) }, 'Decode the attestation object'), ` (${algName(res.credential.algorithm)})`)
        : null);
  });
  reg.addEventListener('click', () => ceremony('register'));
  auth.addEventListener('click', () => ceremony('authenticate'));
  return h('div', {},
    h('p', {}, 'Runs the ceremony with the chosen key through Keybench\'s own CTAP client (not the browser\'s), against this app\'s relying party: the session-security dashboard shows the session and its bound challenge.'),
    h('div', { class: 'row' }, field('Username', user), field('Algorithm (registration)', alg)),
    h('label', { class: 'check' }, pasted, ' Use pasted options instead of the server\'s'),
    editor.el,
    h('div', { class: 'actions' }, reg, auth, cancel),
    touch, presence, log.el, out);
}

function trafficView() {
  const list = h('ol', { id: 'traffic', class: 'plain code', 'aria-live': 'off' });
  const frames = h('input', { type: 'checkbox', id: 'traffic-frames' });
  let count = 0;
  const describe = (e) => {
    const dir = e.direction === 'out' ? '→' : '←';
    switch (e.type) {
      case 'frame': return `${dir} ${e.cid} ${e.header}${e.bytes ? ` ${e.bytes.slice(0, 48)}…` : ' (redacted)'}`;
      case 'request': return `${dir} ${e.command} (${e.length} bytes) ${e.detail}`;
      case 'response': return `${dir} ${e.command} ${e.status} (${e.length} bytes) ${e.detail}`;
      case 'apdu': return `${dir} APDU ${e.header}${e.bytes ? ` ${e.bytes.slice(0, 48)}…` : ' (redacted)'}`;
      case 'keepalive': return `${dir} KEEPALIVE ${e.status}`;
      default: return `${dir} ${JSON.stringify(e)}`;
    }
  };
  const el = h('div', {},
    h('p', {}, 'Every CTAPHID frame or APDU and every decoded CTAP2 request and response of this app\'s client, live. PINs, tokens and pinUvAuthParams never appear (frames carrying them are shown without their bytes).'),
    h('div', { class: 'actions' },
      h('label', { class: 'check' }, frames, ' Show frames and APDUs'),
      h('button', { type: 'button', class: 'small secondary', onclick: () => { mount(list); count = 0; } }, 'Clear')),
    h('div', { class: 'table-wrap', style: 'max-height: 22rem; overflow: auto' }, list));
  return {
    el,
    add(e) {
      if ((e.type === 'frame' || e.type === 'apdu') && !frames.checked) return;
      const text = describe(e);
      list.append(h('li', { class: e.type, title: text }, `${(e.at_ms / 1000).toFixed(3)} s  ${text.length > 400 ? `${text.slice(0, 400)}…` : text}`));
      if (++count > MAX_TRAFFIC_ROWS) { list.firstChild.remove(); count -= 1; }
    },
  };
}

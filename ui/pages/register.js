// Register: the simple flow (a username and the browser's WebAuthn) and the
// advanced flow (every creation option in a form, the request and the
// server's options in JSON editors, editable before the ceremony).

import { h, card, field, select, mount } from '../dom.js';
import { api, sessionChanged } from '../api.js';
import * as webauthn from '../webauthn.js';
import { tabs, jsonEditor, steps, run, resultView, environmentNotice, username, hexOrTextToB64url } from './ceremony.js';

export const title = 'Register';

export function render(root) {
  mount(root, 
    h('h1', {}, 'Register a credential'),
    environmentNotice(),
    tabs([
      ['simple', 'Simple', simple()],
      ['advanced', 'Advanced', advanced()],
    ]));
}

async function complete(step, out, credentialJSON) {
  const ext = credentialJSON.clientExtensionResults;
  if (ext && Object.keys(ext).length) step('Client extension results').ok(h('code', {}, JSON.stringify(ext)));
  const s = step('Sending the new credential to the server (POST /api/register/complete)');
  const res = await api.post('/api/register/complete', credentialJSON);
  s.ok();
  await sessionChanged();
  out.replaceChildren(resultView(`Registered ${res.username}`, res));
}

function simple() {
  const name = h('input', { type: 'text', name: 'username', autocomplete: 'username webauthn', required: true, placeholder: 'alice' });
  const display = h('input', { type: 'text', name: 'displayName', autocomplete: 'name', placeholder: 'Alice (optional)' });
  const button = h('button', { type: 'submit' }, 'Register');
  const log = steps();
  const out = h('div', { class: 'result' });
  const form = h('form', { class: 'stack', onsubmit: (ev) => {
    ev.preventDefault();
    run([button], out, log, async (step) => {
      const body = { username: username(name, true) };
      if (display.value.trim()) body.displayName = display.value.trim();
      let s = step('Asking the server for creation options (POST /api/register/begin)');
      const { publicKey } = await api.post('/api/register/begin', body);
      s.ok();
      s = step('Waiting for your authenticator (navigator.credentials.create)');
      const cred = await webauthn.create(publicKey);
      s.ok();
      await complete(step, out, cred);
    });
  } },
  h('div', { class: 'row' },
    field('Username', name, 'A new account name on this local relying party.'),
    field('Display name', display)),
  h('div', { class: 'actions' }, button));
  return card(null,
    h('p', {}, 'Registers a passkey or security key with the server\'s default options: post-quantum ML-DSA-87, -65 and -44 preferred, then EdDSA, ES256 and the other classical algorithms. Your authenticator picks the first it supports.'),
    form, log.el, out);
}

const HINTS = ['security-key', 'client-device', 'hybrid'];

function advanced() {
  const f = {
    username: h('input', { type: 'text', name: 'username', autocomplete: 'username', placeholder: 'alice' }),
    displayName: h('input', { type: 'text', name: 'displayName', placeholder: 'optional' }),
    attestation: select('attestation', [['none', 'none'], ['indirect', 'indirect'], ['direct', 'direct'], ['enterprise', 'enterprise']], 'direct'),
    residentKey: select('residentKey', [['discouraged', 'discouraged'], ['preferred', 'preferred'], ['required', 'required']], 'preferred'),
    userVerification: select('userVerification', [['required', 'required'], ['preferred', 'preferred'], ['discouraged', 'discouraged']], 'preferred'),
    attachment: select('authenticatorAttachment', [['', 'any'], ['cross-platform', 'cross-platform (security key)'], ['platform', 'platform']], ''),
    timeout: h('input', { type: 'number', name: 'timeout', min: '1000', step: '1000', placeholder: 'server default' }),
    formats: h('input', { type: 'text', name: 'attestationFormats', placeholder: 'e.g. packed, tpm (optional)' }),
    credProps: h('input', { type: 'checkbox', name: 'credProps', checked: true }),
    credProtect: select('credProtect', [['', 'not requested'], ['userVerificationOptional', '1 · UV optional'], ['userVerificationOptionalWithCredentialIDList', '2 · UV optional with ID list'], ['userVerificationRequired', '3 · UV required']], ''),
    enforce: h('input', { type: 'checkbox', name: 'enforceCredentialProtectionPolicy' }),
    largeBlob: select('largeBlob', [['', 'not requested'], ['preferred', 'preferred'], ['required', 'required']], ''),
    prf: h('input', { type: 'checkbox', name: 'prf' }),
    prfFirst: h('input', { type: 'text', name: 'prfFirst', placeholder: 'salt 1 (hex or text, optional)' }),
    prfSecond: h('input', { type: 'text', name: 'prfSecond', placeholder: 'salt 2 (optional)' }),
    minPinLength: h('input', { type: 'checkbox', name: 'minPinLength' }),
    hmac: h('input', { type: 'checkbox', name: 'hmacCreateSecret' }),
  };
  const algBoxes = webauthn.ALGORITHMS.map(([v, n]) =>
    h('label', { class: 'check' }, h('input', { type: 'checkbox', value: String(v), checked: [-50, -49, -48, -8, -7, -257].includes(v) }), ` ${n} (${v})`));
  const hintBoxes = HINTS.map((x) => h('label', { class: 'check' }, h('input', { type: 'checkbox', value: x, checked: x === 'security-key' }), ` ${x}`));

  const body = () => {
    const b = { username: f.username.value.trim() };
    if (f.displayName.value.trim()) b.displayName = f.displayName.value.trim();
    b.attestation = f.attestation.value;
    b.residentKey = f.residentKey.value;
    b.userVerification = f.userVerification.value;
    if (f.attachment.value) b.authenticatorAttachment = f.attachment.value;
    b.algorithms = algBoxes.map((l) => l.firstChild).filter((c) => c.checked).map((c) => Number(c.value));
    const ext = {};
    if (f.credProps.checked) ext.credProps = true;
    if (f.credProtect.value) {
      ext.credentialProtectionPolicy = f.credProtect.value;
      if (f.enforce.checked) ext.enforceCredentialProtectionPolicy = true;
    }
    if (f.largeBlob.value) ext.largeBlob = { support: f.largeBlob.value };
    if (f.prf.checked) {
      ext.prf = {};
      if (f.prfFirst.value) {
        ext.prf.eval = { first: hexOrTextToB64url(f.prfFirst.value) };
        if (f.prfSecond.value) ext.prf.eval.second = hexOrTextToB64url(f.prfSecond.value);
      }
    }
    if (f.minPinLength.checked) ext.minPinLength = true;
    if (f.hmac.checked) ext.hmacCreateSecret = true;
    if (Object.keys(ext).length) b.extensions = ext;
    const hints = hintBoxes.map((l) => l.firstChild).filter((c) => c.checked).map((c) => c.value);
    if (hints.length) b.hints = hints;
    if (f.timeout.value) b.timeout = Number(f.timeout.value);
    const formats = f.formats.value.split(',').map((x) => x.trim()).filter(Boolean);
    if (formats.length) b.attestationFormats = formats;
    return b;
  };

  // The request editor follows the form until the user edits it by hand.
  let handEdited = false;
  const reqStatus = h('small', { class: 'help' });
  const request = jsonEditor('Request to POST /api/advanced/register/begin', body(), { rows: 12, onInput: () => { handEdited = true; reqStatus.textContent = 'Edited by hand: the form no longer updates it.'; } });
  const resync = () => { handEdited = false; reqStatus.textContent = ''; request.set(body()); };
  const options = jsonEditor('PublicKeyCredentialCreationOptionsJSON from the server (edit before running the ceremony)', undefined, { rows: 16 });
  options.el.hidden = true;

  const formEl = h('form', { class: 'stack', oninput: () => { if (!handEdited) request.set(body()); }, onchange: () => { if (!handEdited) request.set(body()); }, onsubmit: (ev) => ev.preventDefault() },
    h('div', { class: 'row' }, field('Username', f.username), field('Display name', f.displayName)),
    h('div', { class: 'row' }, field('Attestation', f.attestation), field('Resident key', f.residentKey), field('User verification', f.userVerification), field('Attachment', f.attachment)),
    h('fieldset', {}, h('legend', {}, 'Algorithms (pubKeyCredParams, in order of preference)'), h('div', { class: 'checks' }, algBoxes)),
    h('fieldset', {}, h('legend', {}, 'Extensions'),
      h('div', { class: 'checks' },
        h('label', { class: 'check' }, f.credProps, ' credProps'),
        h('label', { class: 'check' }, f.minPinLength, ' minPinLength'),
        h('label', { class: 'check' }, f.hmac, ' hmacCreateSecret'),
        h('label', { class: 'check' }, f.prf, ' prf')),
      h('div', { class: 'row' }, field('credProtect', f.credProtect), h('label', { class: 'check inline' }, f.enforce, ' enforce'), field('largeBlob', f.largeBlob)),
      h('div', { class: 'row' }, field('PRF eval first', f.prfFirst), field('PRF eval second', f.prfSecond))),
    h('fieldset', {}, h('legend', {}, 'Hints'), h('div', { class: 'checks' }, hintBoxes)),
    h('div', { class: 'row' }, field('Timeout (ms)', f.timeout), field('Attestation formats', f.formats)));

  const beginBtn = h('button', { type: 'button', class: 'secondary' }, 'Get options');
  const runBtn = h('button', { type: 'button', disabled: true }, 'Run ceremony');
  const allBtn = h('button', { type: 'button' }, 'Get options and register');
  const resetBtn = h('button', { type: 'button', class: 'secondary small', onclick: resync }, 'Reset from form');
  const log = steps();
  const out = h('div', { class: 'result' });
  const buttons = [beginBtn, runBtn, allBtn];

  const begin = async (step) => {
    const s = step('Asking the server for creation options (POST /api/advanced/register/begin)');
    const { publicKey } = await api.post('/api/advanced/register/begin', request.get());
    s.ok();
    options.set(publicKey);
    options.el.hidden = false;
  };
  const ceremony = async (step) => {
    const s = step('Waiting for your authenticator (navigator.credentials.create)');
    const cred = await webauthn.create(options.get());
    s.ok();
    await complete(step, out, cred);
  };
  const go = (fn) => run(buttons, out, log, fn).then(() => { runBtn.disabled = options.el.hidden; });
  beginBtn.addEventListener('click', () => go(begin));
  runBtn.addEventListener('click', () => go(ceremony));
  allBtn.addEventListener('click', () => go(async (step) => { await begin(step); await ceremony(step); }));

  return h('div', { class: 'grid-2' },
    card('Creation options', formEl),
    card('JSON', request.el, h('div', { class: 'actions' }, resetBtn, reqStatus),
      options.el,
      h('div', { class: 'actions' }, beginBtn, runBtn, allBtn),
      log.el, out));
}

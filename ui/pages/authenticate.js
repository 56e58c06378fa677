// Authenticate: the simple flow (optional username; without one it is a
// discoverable-credential login) and the advanced flow (request options in a
// form, the request and the server's options in editable JSON).

import { h, card, field, select, mount } from '../dom.js';
import { api, sessionChanged } from '../api.js';
import * as webauthn from '../webauthn.js';
import { tabs, jsonEditor, steps, run, resultView, environmentNotice, hexOrTextToB64url } from './ceremony.js';

export const title = 'Authenticate';

export function render(root) {
  mount(root, 
    h('h1', {}, 'Sign in with a credential'),
    environmentNotice(),
    tabs([
      ['simple', 'Simple', simple()],
      ['advanced', 'Advanced', advanced()],
    ]));
}

async function complete(step, out, assertion) {
  const s = step('Sending the assertion to the server (POST /api/authenticate/complete)');
  const res = await api.post('/api/authenticate/complete', assertion);
  s.ok();
  await sessionChanged();
  out.replaceChildren(resultView(`Signed in as ${res.username}`, res));
}

function simple() {
  const name = h('input', { type: 'text', name: 'username', autocomplete: 'username webauthn', placeholder: 'leave empty for a discoverable credential' });
  const button = h('button', { type: 'submit' }, 'Sign in');
  const log = steps();
  const out = h('div', { class: 'result' });
  const form = h('form', { class: 'stack', onsubmit: (ev) => {
    ev.preventDefault();
    run([button], out, log, async (step) => {
      const u = name.value.trim();
      let s = step(`Asking the server for request options (POST /api/authenticate/begin${u ? '' : ', discoverable'})`);
      const { publicKey } = await api.post('/api/authenticate/begin', u ? { username: u } : {});
      s.ok();
      s = step('Waiting for your authenticator (navigator.credentials.get)');
      const assertion = await webauthn.get(publicKey);
      s.ok();
      await complete(step, out, assertion);
    });
  } },
  field('Username (optional)', name, 'With a username the server lists that user\'s credentials (allowCredentials); without one your authenticator offers its discoverable credentials for this site.'),
  h('div', { class: 'actions' }, button));
  return card(null, form, log.el, out);
}

function advanced() {
  const f = {
    username: h('input', { type: 'text', name: 'username', autocomplete: 'username', placeholder: 'empty: discoverable (allowCredentials empty)' }),
    userVerification: select('userVerification', [['required', 'required'], ['preferred', 'preferred'], ['discouraged', 'discouraged']], 'preferred'),
    timeout: h('input', { type: 'number', name: 'timeout', min: '1000', step: '1000', placeholder: 'server default' }),
    largeBlob: select('largeBlob', [['', 'not requested'], ['read', 'read'], ['write', 'write']], ''),
    largeBlobData: h('input', { type: 'text', name: 'largeBlobWrite', placeholder: 'data to write (hex or text)' }),
    prf: h('input', { type: 'checkbox', name: 'prf' }),
    prfFirst: h('input', { type: 'text', name: 'prfFirst', placeholder: 'salt 1 (hex or text)' }),
    prfSecond: h('input', { type: 'text', name: 'prfSecond', placeholder: 'salt 2 (optional)' }),
    getCredBlob: h('input', { type: 'checkbox', name: 'getCredBlob' }),
  };
  const hintBoxes = ['security-key', 'client-device', 'hybrid'].map((x) => h('label', { class: 'check' }, h('input', { type: 'checkbox', value: x }), ` ${x}`));
  const body = () => {
    const b = {};
    if (f.username.value.trim()) b.username = f.username.value.trim();
    b.userVerification = f.userVerification.value;
    const ext = {};
    if (f.largeBlob.value === 'read') ext.largeBlob = { read: true };
    if (f.largeBlob.value === 'write') ext.largeBlob = { write: hexOrTextToB64url(f.largeBlobData.value) };
    if (f.prf.checked && f.prfFirst.value) {
      ext.prf = { eval: { first: hexOrTextToB64url(f.prfFirst.value) } };
      if (f.prfSecond.value) ext.prf.eval.second = hexOrTextToB64url(f.prfSecond.value);
    }
    if (f.getCredBlob.checked) ext.getCredBlob = true;
    if (Object.keys(ext).length) b.extensions = ext;
    const hints = hintBoxes.map((l) => l.firstChild).filter((c) => c.checked).map((c) => c.value);
    if (hints.length) b.hints = hints;
    if (f.timeout.value) b.timeout = Number(f.timeout.value);
    return b;
  };
  let handEdited = false;
  const reqStatus = h('small', { class: 'help' });
  const request = jsonEditor('Request to POST /api/advanced/authenticate/begin', body(), { rows: 8, onInput: () => { handEdited = true; reqStatus.textContent = 'Edited by hand: the form no longer updates it.'; } });
  const options = jsonEditor('PublicKeyCredentialRequestOptionsJSON from the server (edit before running the ceremony)', undefined, { rows: 14 });
  options.el.hidden = true;
  const sync = () => { if (!handEdited) request.set(body()); };
  const formEl = h('form', { class: 'stack', oninput: sync, onchange: sync, onsubmit: (ev) => ev.preventDefault() },
    field('Username', f.username, 'With a username: allowCredentials lists that user\'s credentials. Empty: discoverable login.'),
    h('div', { class: 'row' }, field('User verification', f.userVerification), field('Timeout (ms)', f.timeout)),
    h('fieldset', {}, h('legend', {}, 'Extensions'),
      h('div', { class: 'row' }, field('largeBlob', f.largeBlob), field('largeBlob data', f.largeBlobData)),
      h('div', { class: 'checks' }, h('label', { class: 'check' }, f.prf, ' prf'), h('label', { class: 'check' }, f.getCredBlob, ' getCredBlob')),
      h('div', { class: 'row' }, field('PRF eval first', f.prfFirst), field('PRF eval second', f.prfSecond))),
    h('fieldset', {}, h('legend', {}, 'Hints'), h('div', { class: 'checks' }, hintBoxes)));

  const beginBtn = h('button', { type: 'button', class: 'secondary' }, 'Get options');
  const runBtn = h('button', { type: 'button', disabled: true }, 'Run ceremony');
  const allBtn = h('button', { type: 'button' }, 'Get options and sign in');
  const resetBtn = h('button', { type: 'button', class: 'secondary small', onclick: () => { handEdited = false; reqStatus.textContent = ''; request.set(body()); } }, 'Reset from form');
  const log = steps();
  const out = h('div', { class: 'result' });
  const buttons = [beginBtn, runBtn, allBtn];
  const begin = async (step) => {
    const s = step('Asking the server for request options (POST /api/advanced/authenticate/begin)');
    const { publicKey } = await api.post('/api/advanced/authenticate/begin', request.get());
    s.ok();
    options.set(publicKey);
    options.el.hidden = false;
  };
  const ceremony = async (step) => {
    const s = step('Waiting for your authenticator (navigator.credentials.get)');
    const assertion = await webauthn.get(options.get());
    s.ok();
    const ext = assertion.clientExtensionResults;
    if (ext && Object.keys(ext).length) s.ok(h('code', {}, `clientExtensionResults ${JSON.stringify(ext)}`));
    await complete(step, out, assertion);
  };
  const go = (fn) => run(buttons, out, log, fn).then(() => { runBtn.disabled = options.el.hidden; });
  beginBtn.addEventListener('click', () => go(begin));
  runBtn.addEventListener('click', () => go(ceremony));
  allBtn.addEventListener('click', () => go(async (step) => { await begin(step); await ceremony(step); }));

  return h('div', { class: 'grid-2' },
    card('Request options', formEl),
    card('JSON', request.el, h('div', { class: 'actions' }, resetBtn, reqStatus), options.el,
      h('div', { class: 'actions' }, beginBtn, runBtn, allBtn), log.el, out));
}

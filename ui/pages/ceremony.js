// Pieces shared by the Register and Authenticate pages: simple/advanced
// tabs, the JSON editors, the step log of a ceremony and its result.

import { h, mount, errorBox, notice, badge, time, short } from '../dom.js';
import { localhostUrl, webauthnAvailable, algName } from '../webauthn.js';
import { modelCard } from './model.js';

/** Tabs with proper roles; `panes` is [[id, label, element]]. */
export function tabs(panes, selected) {
  const list = h('div', { class: 'tabs', role: 'tablist' });
  const bodies = [];
  const pick = (id, focus) => {
    for (const b of list.children) {
      const on = b.dataset.id === id;
      b.setAttribute('aria-selected', String(on));
      b.tabIndex = on ? 0 : -1;
      if (on && focus) b.focus();
    }
    for (const p of bodies) p.hidden = p.dataset.id !== id;
    sessionStorage.setItem(`keybench.tab.${location.hash}`, id);
  };
  const first = sessionStorage.getItem(`keybench.tab.${location.hash}`) || selected || panes[0][0];
  for (const [id, label, body] of panes) {
    list.append(h('button', {
      type: 'button', role: 'tab', id: `tab-${id}`, 'aria-controls': `pane-${id}`, dataset: { id },
      onclick: () => pick(id),
      onkeydown: (ev) => {
        const i = panes.findIndex((p) => p[0] === id);
        if (ev.key === 'ArrowRight') pick(panes[(i + 1) % panes.length][0], true);
        if (ev.key === 'ArrowLeft') pick(panes[(i + panes.length - 1) % panes.length][0], true);
      },
    }, label));
    bodies.push(h('div', { role: 'tabpanel', id: `pane-${id}`, 'aria-labelledby': `tab-${id}`, dataset: { id } }, body));
  }
  const wrap = h('div', {}, list, bodies);
  pick(panes.some((p) => p[0] === first) ? first : panes[0][0]);
  return wrap;
}

/** A JSON textarea with a parse check; `get()` returns the parsed value or throws. */
export function jsonEditor(label, value, { rows = 14, onInput } = {}) {
  const ta = h('textarea', { class: 'code', rows, spellcheck: 'false', autocomplete: 'off' });
  const status = h('small', { class: 'help', 'aria-live': 'polite' });
  const id = `je-${Math.random().toString(36).slice(2, 8)}`;
  ta.id = id;
  const check = () => {
    try { JSON.parse(ta.value || 'null'); status.textContent = 'valid JSON'; status.className = 'help ok'; return true; }
    catch (e) { status.textContent = `not valid JSON: ${e.message}`; status.className = 'help bad'; return false; }
  };
  ta.addEventListener('input', () => { check(); if (onInput) onInput(); });
  const el = h('div', { class: 'field' }, h('label', { for: id }, label), ta, status);
  const api = {
    el,
    set(v) { ta.value = v === undefined ? '' : JSON.stringify(v, null, 2); check(); },
    get() {
      try { return JSON.parse(ta.value); }
      catch (e) { const err = new Error(`${label}: not valid JSON (${e.message}).`); err.title = 'Cannot use the JSON'; throw err; }
    },
    textarea: ta,
  };
  api.set(value);
  return api;
}

/** The step log of a ceremony: begin → browser → complete. */
export function steps() {
  const list = h('ol', { class: 'steps', 'aria-live': 'polite' });
  return {
    el: list,
    reset() { mount(list); },
    add(text) {
      const li = h('li', { class: 'running' }, text);
      list.append(li);
      return {
        ok(extra) { li.className = 'ok'; if (extra) li.append(' — ', extra); },
        fail() { li.className = 'fail'; },
      };
    },
  };
}

/**
 * Runs `fn(step)` with buttons disabled and errors shown in `out`.
 */
export async function run(buttons, out, log, fn) {
  for (const b of buttons) b.disabled = true;
  mount(out);
  log.reset();
  let current = null;
  const step = (text) => { current = log.add(text); return current; };
  try {
    await fn(step);
  } catch (e) {
    if (current) current.fail();
    mount(out, errorBox(e));
  } finally {
    for (const b of buttons) b.disabled = false;
  }
}

/** The result of a completed ceremony. */
export function resultView(title, res) {
  const c = res.credential || {};
  const att = c.attestation || {};
  return h('div', { class: 'alert success', role: 'status' },
    h('strong', {}, title),
    h('dl', { class: 'kv' },
      h('dt', {}, 'User'), h('dd', {}, res.username || '—'),
      h('dt', {}, 'Credential'), h('dd', {}, short(c.id, 22)),
      h('dt', {}, 'Algorithm'), h('dd', {}, c.algorithmName || (c.algorithm === undefined ? '—' : algName(c.algorithm)), c.publicKeyBytes ? ` · ${c.publicKeyBytes}-byte public key` : ''),
      res.signCount !== undefined ? [h('dt', {}, 'Sign count'), h('dd', {}, String(res.signCount))] : null,
      h('dt', {}, 'User verified'), h('dd', {}, String(res.userVerified ?? c.userVerified ?? '—')),
      att.format ? [h('dt', {}, 'Attestation'), h('dd', {}, `${att.format}${att.type ? ` (${att.type})` : ''} `, trustBadge(att.trust), att.anchor ? ` ${att.anchor}` : '',
        att.reason ? h('div', { class: 'muted' }, att.reason) : null)] : null,
      typeof res.enterpriseAttestation === 'boolean' ? [h('dt', {}, 'Enterprise attestation'), h('dd', { id: 'verdict-enterprise' },
        badge(res.enterpriseAttestation ? 'yes' : 'no', res.enterpriseAttestation ? 'ok' : ''),
        res.enterpriseAttestationBasis ? h('div', { class: 'muted' }, res.enterpriseAttestationBasis) : null)] : null,
      c.model ? [h('dt', {}, 'Model'), h('dd', {}, modelCard(c.model))] : null,
      c.created ? [h('dt', {}, 'Created'), h('dd', {}, time(c.created))] : null,
      Array.isArray(res.extensions) && res.extensions.length ? [h('dt', {}, 'Extensions'), h('dd', {}, h('ul', { class: 'plain' }, res.extensions.map((e) => h('li', { 'data-extension': e.name },
        h('code', {}, e.name), ' ', h('span', { class: `badge ${e.status === 'ok' ? 'ok' : e.status === 'invalid' ? 'bad' : 'warn'}` }, e.status), ` ${e.detail}`))))] : null),
    h('p', {}, h('a', { href: '#/credentials' }, 'See your credentials'), ' · ', h('a', { href: '#/dashboard' }, 'watch the session on the dashboard')));
}

export function trustBadge(trust) {
  if (!trust) return null;
  const kind = trust === 'trusted' ? 'ok' : /not|untrusted|none|self/.test(trust) ? 'warn' : '';
  return badge(trust, kind);
}

/** Warnings shown above the ceremony forms when WebAuthn cannot work here. */
export function environmentNotice() {
  if (!webauthnAvailable() && typeof window.__TAURI__ !== 'undefined') {
    // The desktop window's web view (WebKitGTK on Linux) has no WebAuthn;
    // the app talks to keys itself instead.
    return notice('info', h('strong', {}, 'This window has no browser WebAuthn. '),
      'Run the ceremony from the ', h('a', { href: '#/keys' }, 'Keys page'),
      ': it registers and authenticates a plugged-in security key or a virtual key against this relying party directly, with PIN and touch prompts and the live CTAP traffic. Or open ',
      h('a', { href: localhostUrl(), target: '_blank', rel: 'noopener' }, localhostUrl()), ' in a browser.');
  }
  if (!webauthnAvailable()) {
    return notice('error', h('strong', {}, 'WebAuthn is not available in this window. '),
      window.isSecureContext ? 'This browser lacks PublicKeyCredential.' : 'It needs a secure context: http://localhost or https.');
  }
  if (/^\d+\.\d+\.\d+\.\d+$|^\[.*\]$/.test(location.hostname)) {
    return notice('warn', h('strong', {}, 'This page is open at an IP address. '),
      'Browsers do not accept an IP address as a WebAuthn relying-party ID; ceremonies will fail with SecurityError. Open ',
      h('a', { href: localhostUrl() }, localhostUrl()), ' instead (the dashboard then needs the launch URL again).');
  }
  return null;
}

/** "alice" → trimmed, or an error when required and empty. */
export function username(input, required) {
  const v = input.value.trim();
  if (required && !v) {
    input.focus();
    const e = new Error('Enter a username first.');
    e.title = 'Username missing';
    throw e;
  }
  return v;
}

/** Hex (spaces allowed) or plain text → base64url, for PRF salts etc. */
export function hexOrTextToB64url(s) {
  const compact = s.replace(/\s+/g, '');
  const bytes = /^([0-9a-fA-F]{2})+$/.test(compact)
    ? Uint8Array.from(compact.match(/../g), (x) => parseInt(x, 16))
    : new TextEncoder().encode(s);
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

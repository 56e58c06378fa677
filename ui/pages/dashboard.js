// Session security dashboard: the inspection API (docs/API.md) with the
// launch secret as Bearer token. Loads every section once, then follows
// GET /api/inspect/stream; countdowns tick every second in the page.

import { h, card, mount, errorBox, notice, table, time, ttl, tick, short, yesNo, badge, field, toMs } from '../dom.js';
import { api, launchSecret, session } from '../api.js';
import { eventStream } from '../stream.js';

export const title = 'Session security';

const SECTIONS = ['sessions', 'challenges', 'cleanup', 'key', 'events', 'storage'];
const MAX_EVENTS = 300;

export async function render(root, { alive } = { alive: () => true }) {
  root.append(h('h1', {}, 'Session security'));
  if (!launchSecret.get()) {
    root.append(secretMissing());
    return null;
  }

  const status = h('span', { class: 'live-status', role: 'status' }, 'connecting…');
  const state = {};
  const bodies = {
    sessions: h('div'), challenges: h('div'), cookies: h('div'),
    cleanup: h('div'), key: h('div'), storage: h('div'), events: h('div'),
  };
  const denied = h('div');
  root.append(
    h('div', { class: 'dash-bar' }, status, h('span', { class: 'muted' }, 'Updates are pushed by the server; times tick here every second.')),
    denied,
    card('Sessions', bodies.sessions),
    card('Bound challenges', bodies.challenges),
    card('Session cookie attributes per context', bodies.cookies),
    h('div', { class: 'grid-3' }, card('Cleanup', bodies.cleanup), card('Session key', bodies.key), card('Storage', bodies.storage)),
    card('Security events', bodies.events));

  const draw = {
    sessions: () => { mount(bodies.sessions, sessionsView(state.sessions)); if (state.challenges) draw.challenges(); },
    challenges: () => mount(bodies.challenges, challengesView(state.challenges, currentTag(state.sessions))),
    cookies: () => mount(bodies.cookies, cookiesView(state.cookies)),
    cleanup: () => mount(bodies.cleanup, cleanupView(state.cleanup, (r) => { state.cleanup = r; draw.cleanup(); }, bodies.cleanup)),
    key: () => mount(bodies.key, keyView(state.key, (k) => { state.key = k; draw.key(); }, bodies.key)),
    storage: () => mount(bodies.storage, storageView(state.storage)),
    events: () => mount(bodies.events, eventsView(state.events)),
  };

  // Make sure this browser has a session (so "current" has a meaning).
  await session().catch(() => null);

  let fatal = false;
  const showDenied = (e) => {
    fatal = true;
    mount(denied, secretRefused(e));
  };
  const loadAll = () => Promise.all([...SECTIONS, 'cookies'].map(async (name) => {
    try {
      state[name] = await api.get(`/api/inspect/${name}`, { inspect: true });
      draw[name]();
    } catch (e) {
      if (e.status === 401 || e.status === 403 || e.status === 421) showDenied(e);
      mount(bodies[name], errorBox(e));
    }
  }));
  await loadAll();
  if (fatal) { status.textContent = 'not connected'; return null; }
  if (!alive()) return null;

  let missed = false;
  const stop = eventStream('/api/inspect/stream', {
    headers: { Authorization: `Bearer ${launchSecret.get()}` },
    onEvent: (name, data) => {
      if (!draw[name]) return;
      if (name === 'events' && !Array.isArray(data)) {
        // Tolerate a single event pushed on its own.
        state.events = [...(state.events || []), data].slice(-MAX_EVENTS);
      } else if (name === 'sessions') {
        state.sessions = markCurrent(data, state.sessions);
      } else {
        state[name] = data;
      }
      draw[name]();
    },
    onState: (s, info) => {
      status.className = `live-status ${s}`;
      // Changes made while the stream was down were never pushed: reload.
      if (s === 'live' && missed) { missed = false; loadAll(); }
      if (s === 'reconnecting') missed = true;
      if (s === 'live') status.textContent = '● live';
      else if (s === 'connecting') status.textContent = 'connecting…';
      else if (s === 'reconnecting') status.textContent = `stream lost (${info.reason}); reconnecting in ${info.seconds} s`;
      else if (s === 'denied') { status.textContent = 'not connected'; showDenied(info); }
      else status.textContent = 'stopped';
    },
  });
  const timer = setInterval(() => tick(root), 1000);
  return () => { clearInterval(timer); stop(); };
}

function secretForm() {
  const input = h('input', { type: 'password', name: 'launchSecret', autocomplete: 'off', spellcheck: 'false' });
  return h('form', { class: 'row end', onsubmit: (ev) => {
    ev.preventDefault();
    const v = input.value.trim().replace(/^.*#launch=/, '');
    if (!v) return;
    launchSecret.set(v);
    window.dispatchEvent(new HashChangeEvent('hashchange'));
  } }, field('Launch secret (or the whole URL)', input), h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Connect')));
}

function secretMissing() {
  return card(null, notice('info',
    h('strong', {}, 'The dashboard needs this launch\'s secret. '),
    'Only Keybench\'s own window may read the session internals, so the server makes a new secret at every start and hands it to the page in the URL it prints, e.g. ',
    h('code', {}, 'http://localhost:8765/#launch=…'),
    '. Open that full URL (the desktop app does this for you), or paste the secret below. The page keeps it in this tab only and removes it from the address bar.'),
  secretForm());
}

function secretRefused(e) {
  return h('div', {},
    notice('error', h('strong', {}, 'The server refused the dashboard. '),
      e.status === 421
        ? 'This page was reached under a host name the server does not serve (protection against DNS rebinding). Open it at 127.0.0.1 or localhost with the printed port.'
        : `The launch secret was not accepted (${e.message || e.status}). It changes every time the server starts: open the URL printed at the latest start, or paste the new secret.`),
    secretForm());
}

// ---- sections ---------------------------------------------------------------

function sessionsView(list) {
  if (!Array.isArray(list) || !list.length) {
    return h('p', { class: 'empty' }, 'No sessions yet — register or sign in on the ', h('a', { href: '#/register' }, 'Register'), ' page.');
  }
  const rows = list.map((s) => h('tr', { class: s.current ? 'current' : null },
    h('td', {}, h('code', {}, s.id), s.current ? [' ', badge('this browser', 'info')] : null),
    h('td', {}, s.user ? h('strong', {}, s.user) : h('span', { class: 'muted' }, 'anonymous')),
    h('td', {}, yesNo(s.authenticated, { good: true })),
    h('td', {}, time(s.created)),
    h('td', {}, time(s.lastAccess)),
    h('td', {}, ttl(s.expires)),
    h('td', { class: 'num' }, String(s.items ?? '—')),
    h('td', { class: 'num' }, bytes(s.bytes))));
  return table(['Session', 'User', 'Signed in', 'Created', 'Last access', 'Expiry', 'Items', 'Size'], rows, { caption: 'Sessions' });
}

const STATE_KIND = { issued: 'info', consumed: 'ok', expired: 'warn', rejected: 'bad' };

/** The tag the current session's challenges name it by (when the server sends tags). */
function currentTag(sessions) {
  const mine = Array.isArray(sessions) ? sessions.find((s) => s.current) : null;
  return mine ? mine.tag || mine.id : null;
}

function challengesView(list, mineTag) {
  if (!Array.isArray(list) || !list.length) {
    return h('p', { class: 'empty' }, 'No challenges issued yet — each register or sign-in begins with one, bound to the session that asked for it.');
  }
  const rows = newestFirst(list, 'created').map((c) => h('tr', { dataset: { state: c.state } },
    h('td', {}, short(c.id, 8)),
    h('td', {}, c.ceremony),
    h('td', {}, c.user || h('span', { class: 'muted' }, 'discoverable')),
    h('td', {}, h('code', {}, c.session), mineTag && c.session === mineTag ? [' ', h('span', { class: 'badge info', title: 'bound to this browser\'s session' }, 'you')] : null),
    h('td', {}, time(c.created)),
    h('td', {}, c.state === 'issued' ? ttl(c.expires)
      : c.consumed ? time(c.consumed, { prefix: 'used ' })
        : time(c.expires, { prefix: c.state === 'expired' ? 'expired ' : '' })),
    h('td', {}, badge(c.state, STATE_KIND[c.state] || ''), c.reason ? h('div', { class: 'muted small' }, c.reason) : null),
    h('td', {}, h('span', { class: 'muted' }, c.rpId), h('div', { class: 'muted small' }, c.origin))));
  return table(['Challenge', 'Ceremony', 'User', 'Session', 'Issued', 'Expires / used', 'State', 'RP ID / origin'], rows, { caption: 'Bound challenges, newest first' });
}

/**
 * Pushed session lists carry no "current" flag (the stream has no request
 * of this browser to compare with): keep the mark from the last list that
 * had one, by the session's redacted id.
 */
function markCurrent(list, previous) {
  if (!Array.isArray(list) || list.some((s) => s.current)) return list;
  const mine = Array.isArray(previous) ? previous.find((s) => s.current) : null;
  return mine ? list.map((s) => ({ ...s, current: s.id === mine.id })) : list;
}

function cookiesView(answer) {
  const { rows = [], current } = answer || {};
  if (!rows.length) return h('p', { class: 'empty' }, 'The server reported no cookie policy.');
  // Optional members some servers add: the lifetime class and why Secure is (not) set.
  const hasLifetime = rows.some((r) => r.lifetime !== undefined);
  const hasBasis = rows.some((r) => r.basis !== undefined);
  let marked = false;
  const tr = rows.map((r) => {
    const isCurrent = r.context === current || r.current === true;
    // The badge once, on the first row of this page's context; the others are highlighted.
    const mark = isCurrent && !marked;
    if (mark) marked = true;
    return h('tr', { class: isCurrent ? 'current' : null, dataset: { context: r.context, endpoint: r.endpoint || '', name: r.name } },
      h('td', {}, r.context, mark ? [' ', badge('this page', 'info')] : null),
      h('td', {}, r.endpoint || '—'),
      hasLifetime ? h('td', {}, r.lifetime ?? '—') : null,
      h('td', { dataset: { attr: 'name' } }, h('code', {}, r.name)),
      h('td', { dataset: { attr: 'httpOnly', value: String(r.httpOnly) } }, yesNo(r.httpOnly)),
      h('td', { dataset: { attr: 'secure', value: String(r.secure) } }, yesNo(r.secure, { good: r.context !== 'http' ? true : !r.secure })),
      h('td', { dataset: { attr: 'sameSite', value: String(r.sameSite) } }, r.sameSite),
      h('td', { dataset: { attr: 'maxAge', value: String(r.maxAge ?? '') }, title: r.maxAge === null || r.maxAge === undefined ? null : `Max-Age=${r.maxAge}` }, maxAgeText(r.maxAge)),
      h('td', { dataset: { attr: 'path', value: String(r.path) } }, h('code', {}, r.path)),
      h('td', {}, yesNo(r.hostPrefix, { good: r.context === 'http' ? !r.hostPrefix : true })),
      hasBasis ? h('td', {}, typeof r.basis === 'string' ? r.basis.replace(/_/g, ' ') : JSON.stringify(r.basis ?? '—')) : null);
  });
  const headers = h('details', { class: 'set-cookie' },
    h('summary', {}, 'The Set-Cookie lines (values replaced by <sealed>)'),
    h('ul', { class: 'plain' }, rows.map((r) => h('li', {},
      h('span', { class: 'muted' }, `${r.context} · ${r.endpoint || '—'}${r.lifetime ? ` · ${r.lifetime}` : ''}: `),
      h('code', { class: 'raw' }, r.header || '—')))));
  return h('div', {},
    current ? h('p', { class: 'muted' }, 'This page was served over ', h('strong', {}, current), '; its row is highlighted. Compare it with what your browser stored (DevTools → Application → Cookies).') : null,
    table(['Context', 'Endpoint', ...(hasLifetime ? ['Lifetime'] : []), 'Name', 'HttpOnly', 'Secure', 'SameSite', 'Max-Age', 'Path', '__Host-', ...(hasBasis ? ['Secure because'] : [])], tr, { caption: 'Session cookie attributes' }),
    headers);
}

function cleanupView(c, update, body) {
  if (!c) return h('p', { class: 'empty' }, 'No cleanup status.');
  const runBtn = h('button', { type: 'button', class: 'secondary', onclick: async () => {
    runBtn.disabled = true;
    runBtn.textContent = 'Running…';
    try { update(await api.post('/api/inspect/cleanup', undefined, { inspect: true })); }
    catch (e) { body.append(errorBox(e)); runBtn.disabled = false; runBtn.textContent = 'Run now'; }
  } }, 'Run now');
  const errors = c.errors || [];
  return h('div', {},
    h('dl', { class: 'kv' },
      h('dt', {}, 'Last run'), h('dd', {}, c.lastRun ? time(c.lastRun) : h('span', { class: 'muted' }, 'not yet'), c.durationMs !== undefined && c.durationMs !== null ? ` (${c.durationMs} ms)` : ''),
      h('dt', {}, 'Scanned / removed'), h('dd', {}, `${c.scanned ?? 0} / ${c.removed ?? 0}`, c.removedChallenges ? ` (+${c.removedChallenges} challenges)` : '', c.trigger ? h('span', { class: 'muted' }, ` · ${c.trigger}`) : null),
      h('dt', {}, 'Next run'), h('dd', {}, c.nextRun ? ttl(c.nextRun, { future: 'in ', past: 'due ' }) : '—'),
      h('dt', {}, 'Policy'), h('dd', {}, `idle sessions removed after ${c.idleLimitDays ?? '?'} d, every ${c.intervalHours ?? '?'} h`),
      h('dt', {}, 'Errors'), h('dd', {}, errors.length ? h('ul', { class: 'plain bad' }, errors.map((e) => h('li', {}, typeof e === 'string' ? e : JSON.stringify(e)))) : 'none')),
    h('div', { class: 'actions' }, runBtn));
}

function keyView(k, update, body) {
  if (!k) return h('p', { class: 'empty' }, 'No key status.');
  const rotateBtn = h('button', { type: 'button', class: 'secondary', onclick: async () => {
    if (!confirm('Rotate the session key? New cookies are sealed with the new key; the previous key still opens existing cookies for a grace period (one day by default), or until you revoke it.')) return;
    rotateBtn.disabled = true;
    try { update(await api.post('/api/inspect/key/rotate', undefined, { inspect: true })); }
    catch (e) { body.append(errorBox(e)); rotateBtn.disabled = false; }
  } }, 'Rotate');
  const revokeBtn = k.previous ? h('button', { type: 'button', class: 'secondary', onclick: async () => {
    if (!confirm('Revoke the previous key now? Cookies sealed with it stop opening at once (sessions not seen since the rotation end).')) return;
    revokeBtn.disabled = true;
    try { update(await api.post('/api/inspect/key/revoke-previous', undefined, { inspect: true })); }
    catch (e) { body.append(errorBox(e)); revokeBtn.disabled = false; }
  } }, 'Revoke previous key') : null;
  return h('div', {},
    h('dl', { class: 'kv' },
      h('dt', {}, 'Source'), h('dd', {}, badge(k.source, k.source === 'generated' ? 'warn' : 'ok'), k.sourceDetail ? h('div', { class: 'muted small' }, k.sourceDetail) : null),
      h('dt', {}, 'Fingerprint'), h('dd', {}, h('code', { class: 'raw' }, k.fingerprint || '—')),
      k.previous ? [h('dt', {}, 'Previous'), h('dd', {}, h('code', { class: 'raw' }, k.previous.fingerprint),
        k.previous.validUntil ? h('div', { class: 'muted small' }, 'opens old cookies until ', time(k.previous.validUntil)) : null)] : null),
    (k.warnings || []).length ? notice('warn', k.warnings.join(' ')) : null,
    h('div', { class: 'actions' }, rotateBtn, revokeBtn));
}

function storageView(s) {
  if (!s) return h('p', { class: 'empty' }, 'No storage status.');
  return h('div', {},
    h('dl', { class: 'kv' },
      h('dt', {}, 'Backend'), h('dd', {}, s.backend),
      h('dt', {}, 'Location'), h('dd', {}, h('code', { class: 'raw' }, s.location || '—')),
      h('dt', {}, 'Health'), h('dd', {}, yesNo(s.healthy, { yes: 'healthy', no: 'unhealthy' }))),
    s.state === 'fallback'
      ? notice('warn', 'On the local fallback since ', time(s.fallbackSince),
        ': new sessions and challenges are kept here; sign-ins and registrations wait for the bucket. Cause: ',
        h('code', { class: 'raw' }, s.fallback || 'unknown'))
      : null);
}

const SEVERITY = { info: 'info', notice: 'info', warning: 'warn', warn: 'warn', error: 'bad', critical: 'bad', alert: 'bad' };

function eventsView(list) {
  if (!Array.isArray(list) || !list.length) return h('p', { class: 'empty' }, 'No security events yet.');
  const rows = newestFirst(list, 'at').slice(0, MAX_EVENTS).map((e) => h('tr', {},
    h('td', {}, time(e.at)),
    h('td', {}, badge(e.severity, SEVERITY[e.severity] || '')),
    h('td', {}, h('code', {}, e.kind)),
    h('td', {}, e.session ? h('code', {}, e.session) : '—'),
    h('td', { class: 'wrap' }, e.detail, e.reason ? h('span', { class: 'muted' }, ` (${e.reason})`) : null)));
  return table(['When', 'Severity', 'Kind', 'Session', 'Detail'], rows, { caption: 'Security events, newest first' });
}

/** Sorted by a time member, newest first (stable for equal times). */
function newestFirst(list, member) {
  return list.map((x, i) => [x, i]).sort((a, b) => (toMs(b[0][member]) - toMs(a[0][member])) || (b[1] - a[1])).map(([x]) => x);
}

function maxAgeText(secs) {
  if (secs === null || secs === undefined) return 'session';
  const n = Number(secs);
  if (n % 31536000 === 0) return `${n / 31536000} y`;
  if (n % 86400 === 0) return `${n / 86400} d`;
  if (n % 3600 === 0) return `${n / 3600} h`;
  if (n % 60 === 0) return `${n / 60} min`;
  return `${n} s`;
}

function bytes(n) {
  if (n === undefined || n === null) return '—';
  return n < 1024 ? `${n} B` : `${(n / 1024).toFixed(1)} KiB`;
}

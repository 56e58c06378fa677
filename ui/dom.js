// DOM helpers: build elements without innerHTML (server data is never parsed
// as HTML), and format times the way every page shows them.

/**
 * h('div', {class: 'x', onclick: fn}, child, 'text', [more]) → Element.
 * Attributes starting with "on" become listeners; `null`/`false` children
 * and attributes are skipped.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'value') el.value = v;
    else if (k === 'checked') el.checked = !!v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

/** Replaces the children of `el`. */
export function mount(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** A card: a titled section of a page. */
export function card(title, ...children) {
  return h('section', { class: 'card' }, title ? h('h2', {}, title) : null, ...children);
}

/** A table inside its own horizontal scroller (the page never scrolls sideways). */
export function table(headers, rows, { caption, empty } = {}) {
  if (!rows.length && empty) return h('p', { class: 'empty' }, empty);
  return h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': caption || headers.join(', ') },
    h('table', {},
      caption ? h('caption', { class: 'sr-only' }, caption) : null,
      h('thead', {}, h('tr', {}, headers.map((x) => h('th', { scope: 'col' }, x)))),
      h('tbody', {}, rows)));
}

/** An error box from an Error (or server {code, message}). */
export function errorBox(err) {
  const code = err && err.code ? h('code', {}, err.code) : null;
  return h('div', { class: 'alert error', role: 'alert' },
    h('strong', {}, err && err.title ? err.title : 'Error'), code ? [' ', code] : null,
    h('p', {}, (err && err.message) || String(err)),
    err && err.hint ? h('p', { class: 'hint' }, err.hint) : null);
}

export function notice(kind, ...children) {
  return h('div', { class: `alert ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, ...children);
}

/** Yes/no as a badge. */
export function yesNo(v, { yes = 'yes', no = 'no', good = true } = {}) {
  const ok = good ? !!v : !v;
  return h('span', { class: `badge ${ok ? 'ok' : 'warn'}` }, v ? yes : no);
}

export function badge(text, kind = '') {
  return h('span', { class: `badge ${kind}` }, text);
}

// ---- times ------------------------------------------------------------

/** "4:12" for 252 s; "1 h 02 m" for long spans; "3 d" for days. */
export function duration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 3600) return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} m`;
  const d = Math.floor(s / 86400);
  return `${d} d ${Math.floor((s % 86400) / 3600)} h`;
}

/** A time as the API sends it (RFC 3339, or ms since the epoch) → ms. */
export function toMs(v) {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && /^\d+$/.test(v)) return Number(v);
  return Date.parse(v);
}

/** "in 4:12" / "4:12 ago" relative to now. */
export function relative(iso, now = Date.now()) {
  const t = toMs(iso);
  if (Number.isNaN(t)) return '—';
  const diff = (t - now) / 1000;
  if (Math.abs(diff) < 1) return 'now';
  return diff > 0 ? `in ${duration(diff)}` : `${duration(-diff)} ago`;
}

/** A <time> showing the relative time with the absolute one on hover. It is
 * re-rendered every second by tick() when marked live. */
export function time(value, { prefix = '', live = true } = {}) {
  if (value === undefined || value === null || value === '') return h('span', { class: 'muted' }, '—');
  const abs = new Date(toMs(value));
  const iso = Number.isNaN(abs.getTime()) ? String(value) : abs.toISOString();
  const el = h('time', {
    datetime: iso,
    title: Number.isNaN(abs.getTime()) ? iso : `${abs.toLocaleString()} (${iso})`,
    dataset: live ? { live: '1', prefix } : {},
  }, prefix + relative(iso));
  return el;
}

/** A live countdown to `iso`: "expires in 4:12", then "expired 0:03 ago". */
export function ttl(iso, { future = 'expires in ', past = 'expired ' } = {}) {
  const el = time(iso, { live: false });
  if (el.tagName !== 'TIME') return el;
  el.dataset.ttl = '1';
  el.dataset.future = future;
  el.dataset.past = past;
  renderTtl(el, Date.now());
  return el;
}

function renderTtl(el, now) {
  const left = (toMs(el.getAttribute('datetime')) - now) / 1000;
  if (Number.isNaN(left)) return;
  el.textContent = left > 0 ? el.dataset.future + duration(Math.ceil(left)) : `${el.dataset.past}${duration(-left)} ago`;
  el.classList.toggle('soon', left > 0 && left < 30);
  el.classList.toggle('over', left <= 0);
}

/** Refreshes every live <time> and countdown under `root`. */
export function tick(root = document) {
  const now = Date.now();
  for (const el of root.querySelectorAll('time[data-live]')) {
    el.textContent = (el.dataset.prefix || '') + relative(el.getAttribute('datetime'), now);
  }
  for (const el of root.querySelectorAll('time[data-ttl]')) renderTtl(el, now);
}

/** Shortens long ids for tables: first 10 chars + "…" (full value on hover). */
export function short(id, n = 10) {
  if (!id) return h('span', { class: 'muted' }, '—');
  const s = String(id);
  return s.length <= n + 1 ? h('code', {}, s) : h('code', { title: s }, s.slice(0, n) + '…');
}

/** A button that copies `text` to the clipboard. */
export function copyButton(text, label = 'Copy') {
  const b = h('button', { type: 'button', class: 'small secondary', onclick: async () => {
    try { await navigator.clipboard.writeText(text); b.textContent = 'Copied'; }
    catch { b.textContent = 'Copy failed'; }
    setTimeout(() => { b.textContent = label; }, 1500);
  } }, label);
  return b;
}

/** A <label> wrapping a control with its text; `help` is shown under it. */
export function field(labelText, control, help) {
  const id = control.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  control.id = id;
  const helpId = help ? `${id}-help` : null;
  if (helpId) control.setAttribute('aria-describedby', helpId);
  return h('div', { class: 'field' },
    h('label', { for: id }, labelText), control,
    help ? h('small', { id: helpId, class: 'help' }, help) : null);
}

export function select(name, options, value) {
  return h('select', { name }, options.map(([v, text]) =>
    h('option', { value: v, selected: v === value ? true : null }, text)));
}

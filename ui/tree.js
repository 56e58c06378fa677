// The decoder's annotated tree (`{name, type, length, raw, meaning, error,
// fields}` per node, see the relying-party decoder) as nested, keyboard-
// operable <details>, with expand/collapse-all and the JSON to copy.

import { h, copyButton } from './dom.js';

const RAW_PREVIEW = 96;

function value(v) {
  if (v === null || v === undefined) return null;
  if (typeof v === 'object') return h('code', { class: 'json' }, JSON.stringify(v));
  return String(v);
}

function rawView(raw) {
  const text = typeof raw === 'string' ? raw : JSON.stringify(raw);
  if (text.length <= RAW_PREVIEW) return h('code', { class: 'raw' }, text);
  const code = h('code', { class: 'raw' }, `${text.slice(0, RAW_PREVIEW)}…`);
  const more = h('button', { type: 'button', class: 'link', onclick: () => {
    const full = code.textContent.length > RAW_PREVIEW + 1;
    code.textContent = full ? `${text.slice(0, RAW_PREVIEW)}…` : text;
    more.textContent = full ? `show all ${text.length} chars` : 'show less';
  } }, `show all ${text.length} chars`);
  return h('span', {}, code, ' ', more);
}

function nodeView(n, depth) {
  const head = [
    h('span', { class: 'node-name' }, n.name ?? ''),
    n.type ? h('span', { class: 'badge' }, n.type) : null,
    n.length !== undefined ? h('span', { class: 'muted' }, ` ${n.length} B`) : null,
    n.meaning !== undefined && typeof n.meaning !== 'object' ? h('span', { class: 'meaning' }, ' ', value(n.meaning)) : null,
    n.error ? h('span', { class: 'badge bad' }, 'error') : null,
  ];
  const body = [
    n.meaning !== undefined && typeof n.meaning === 'object' && n.meaning !== null ? h('div', { class: 'node-row' }, h('span', { class: 'muted' }, 'meaning '), value(n.meaning)) : null,
    n.raw !== undefined ? h('div', { class: 'node-row' }, h('span', { class: 'muted' }, 'raw '), rawView(n.raw)) : null,
    n.error ? h('div', { class: 'node-row bad' }, n.error) : null,
  ];
  const kids = Array.isArray(n.fields) ? n.fields : [];
  const hasBody = kids.length || body.some(Boolean);
  if (!hasBody) return h('li', { class: 'leaf' }, head);
  return h('li', {}, h('details', { open: depth < 2 ? true : null },
    h('summary', {}, head), body,
    kids.length ? h('ul', { class: 'tree' }, kids.map((k) => nodeView(k, depth + 1))) : null));
}

/** The whole tree with its toolbar. */
export function treeView(doc) {
  const root = h('ul', { class: 'tree root' }, nodeView(doc, 0));
  const setAll = (open) => { for (const d of root.querySelectorAll('details')) d.open = open; };
  const json = JSON.stringify(doc, null, 2);
  const pre = h('pre', { class: 'code', hidden: true }, json);
  const toggle = h('button', { type: 'button', class: 'small secondary', onclick: () => {
    pre.hidden = !pre.hidden; root.hidden = !pre.hidden;
    toggle.textContent = pre.hidden ? 'Show JSON' : 'Show tree';
  } }, 'Show JSON');
  return h('div', { class: 'tree-view' },
    h('div', { class: 'actions' },
      doc.kind ? h('span', {}, 'Detected: ', h('strong', {}, doc.kind), doc.encoding ? ` (from ${doc.encoding})` : '') : null,
      h('span', { class: 'spacer' }),
      h('button', { type: 'button', class: 'small secondary', onclick: () => setAll(true) }, 'Expand all'),
      h('button', { type: 'button', class: 'small secondary', onclick: () => setAll(false) }, 'Collapse all'),
      toggle, copyButton(json, 'Copy JSON')),
    h('div', { class: 'tree-scroll' }, root, pre));
}

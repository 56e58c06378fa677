// Compare (desktop app only): the key lab's classical-versus-post-quantum
// comparison on a key the app lists. Runs `lab_compare` (src-tauri/src/lab.rs
// over the key-lab crate) with live progress, "touch your key" when the key
// asks, and Cancel; shows the charts the Rust side draws (inline SVG, the
// same as in the HTML report) and the figures; saves the report (HTML page
// and JSON) to a path the user chooses with `lab_export`.

import { h, card, notice, mount, errorBox, table, field } from '../dom.js';
import { invoke, withPin } from './keys.js';

export const title = 'Compare';

const tauri = () => window.__TAURI__;
const ALGORITHMS = ['ML-DSA-87', 'ML-DSA-65', 'ML-DSA-44', 'EdDSA', 'ES256'];

export async function render(root, { alive } = { alive: () => true }) {
  if (!tauri()) {
    mount(root, h('h1', {}, 'Compare'), card(null, notice('info',
      'The comparison runs on a security key, which only the desktop app can reach. ',
      'Use the desktop app, or ', h('code', {}, 'keybench compare --report report.html'), ' on the command line.')));
    return null;
  }
  const unlisten = [];
  const listen = async (name, fn) => {
    const un = await tauri().event.listen(name, (ev) => fn(ev.payload));
    if (alive()) unlisten.push(un); else un();
  };
  const keys = await invoke('keys_list').catch(() => []);
  if (!alive()) return null;

  const keySelect = h('select', { id: 'cmp-key', name: 'key' },
    keys.map((k) => h('option', { value: k.id, selected: k.id === sessionStorage.getItem('keybench.key') }, k.label)));
  const algs = ALGORITHMS.map((a) => h('label', { class: 'check' },
    h('input', { type: 'checkbox', name: 'cmp-alg', value: a, checked: true }), ` ${a}`));
  const rounds = h('input', { type: 'number', id: 'cmp-rounds', min: '1', max: '1000', value: '10', required: true });
  const progress = h('p', { id: 'cmp-progress', class: 'muted', 'aria-live': 'polite' });
  const touch = h('div', { id: 'cmp-touch', hidden: true });
  const out = h('div', { id: 'cmp-result', class: 'result' });
  const runButton = h('button', { type: 'submit', id: 'cmp-run' }, 'Compare');
  const cancelButton = h('button', { type: 'button', class: 'secondary', id: 'cmp-cancel', disabled: true,
    onclick: () => invoke('ceremony_cancel', { key: keySelect.value }).catch(() => {}) }, 'Cancel');

  await listen('lab-progress', (p) => { progress.textContent = `${p.algorithm}: round ${p.round} of ${p.rounds}…`; });
  await listen('ceremony-status', (s) => {
    if (s.status !== 'up-needed') return;
    mount(touch, notice('warn', h('strong', {}, 'Touch your key. '), 'Each registration and authentication asks for a touch.'));
    touch.hidden = false;
  });
  if (!alive()) { unlisten.forEach((un) => un()); return null; }

  const run = async (ev) => {
    ev.preventDefault();
    const key = keySelect.value;
    const algorithms = [...root.querySelectorAll('input[name="cmp-alg"]:checked')].map((c) => c.value);
    runButton.disabled = true; cancelButton.disabled = false; touch.hidden = true;
    mount(out);
    progress.textContent = 'Starting…';
    try {
      const view = await withPin((pin) => invoke('lab_compare', { key, algorithms, rounds: Number(rounds.value), pin }));
      if (!alive()) return;
      progress.textContent = '';
      mount(out, resultView(view));
    } catch (e) {
      progress.textContent = '';
      mount(out, errorBox(e));
    } finally {
      runButton.disabled = false; cancelButton.disabled = true; touch.hidden = true;
    }
  };

  mount(root,
    h('h1', {}, 'Compare'),
    card('Classical and post-quantum on one key',
      h('p', {}, 'Each algorithm registers a credential and authenticates with it once per round, through Keybench\'s own ',
        'client on the real transport, and Keybench\'s relying party verifies each response. Credentials are ',
        'non-discoverable and made for the RP ID lab.keybench.test, so nothing stays on the key.'),
      keys.length ? h('form', { class: 'stack', onsubmit: run },
        field('Key', keySelect, 'Keys and virtual keys from the Keys page.'),
        h('div', { class: 'field' }, h('span', {}, 'Algorithms'), h('div', { class: 'checks' }, algs)),
        field('Rounds per algorithm', rounds, 'Medians and 95th percentiles over the rounds.'),
        h('div', { class: 'actions' }, runButton, cancelButton),
        progress, touch)
        : notice('info', 'No key yet: plug one in or start a virtual key on the ', h('a', { href: '#/keys' }, 'Keys page'), '.')),
    out);

  return () => {
    unlisten.forEach((un) => un());
    invoke('ceremony_cancel', {}).catch(() => {});
  };
}

/** An `<svg>` the Rust side drew (our own markup, parsed as SVG, never as HTML). */
function svg(text) {
  const doc = new DOMParser().parseFromString(text, 'image/svg+xml');
  if (doc.querySelector('parsererror')) return notice('error', 'A chart could not be drawn.');
  return document.importNode(doc.documentElement, true);
}

const num = (v) => (v === null || v === undefined ? '—'
  : v >= 100 || Number.isInteger(v) ? String(Math.round(v)) : String(Number(v.toPrecision(3))));
const withP95 = (s) => h('td', { class: 'num' }, num(s.median), h('span', { class: 'muted' }, ` / ${num(s.p95)}`));
const plain = (s) => h('td', { class: 'num' }, s ? num(s.median) : '—');

function resultView(view) {
  const { report, charts } = view;
  const section = report.sections.find((s) => s.kind === 'compare');
  const measured = section.algorithms.filter((a) => a.status === 'measured');
  const rows = (fn) => measured.flatMap((a) => [['registration', a.registration], ['authentication', a.authentication]]
    .map(([name, s]) => h('tr', {}, h('td', {}, a.algorithm), h('td', {}, name), fn(s))));
  const others = section.algorithms.filter((a) => a.status !== 'measured');
  return h('div', {},
    card('Result',
      h('p', {}, h('strong', {}, report.key.metadataName || report.key.name), ' · AAGUID ', h('code', {}, report.key.aaguid),
        ` · ${section.rounds} rounds per algorithm · ${report.machine.cpu || report.machine.arch}`),
      others.length ? notice('warn', others.map((a) => h('div', {}, h('strong', {}, a.algorithm), ': ',
        a.status === 'skipped' ? `skipped (${a.reason})` : `failed in round ${a.round}: ${a.message}`))) : null,
      h('div', { class: 'charts' }, charts.map(svg))),
    card('Time (ms; median / p95)', table(['Algorithm', 'Ceremony', 'On the key', 'Touch wait', 'On the wire', 'RP verification', 'Exchange total'],
      rows((s) => [withP95(s.keyMs), withP95(s.touchWaitMs), withP95(s.wireMs), withP95(s.rpVerifyMs), withP95(s.totalMs)]),
      { caption: 'Time per algorithm and ceremony' })),
    card('Bytes (median)', table(['Algorithm', 'Ceremony', 'Bytes out', 'Bytes in', 'Reports out', 'Reports in', 'Public key', 'Signature', 'authData', 'Attestation object'],
      rows((s) => [plain(s.bytesOut), plain(s.bytesIn), plain(s.reportsOut), plain(s.reportsIn), plain(s.publicKeyBytes),
        plain(s.signatureBytes), plain(s.authenticatorDataBytes), plain(s.attestationObjectBytes)]),
      { caption: 'Bytes per algorithm and ceremony' })),
    card('Save the report', exportForm(view.suggestedPath)));
}

function exportForm(suggested) {
  const path = h('input', { type: 'text', id: 'cmp-path', value: suggested, required: true, spellcheck: 'false' });
  const out = h('div', { id: 'cmp-export', 'aria-live': 'polite' });
  const save = async (ev) => {
    ev.preventDefault();
    try {
      const r = await invoke('lab_export', { path: path.value });
      mount(out, notice('success', h('strong', {}, 'Saved: '), r.html, ' and ', r.json,
        '. The page opens offline in any browser and prints to PDF.'));
    } catch (e) {
      mount(out, errorBox(e));
    }
  };
  return h('form', { class: 'stack', onsubmit: save },
    field('File', path, 'The HTML page (charts inline, nothing fetched); the JSON goes beside it with the same name.'),
    h('div', { class: 'actions' }, h('button', { type: 'submit', id: 'cmp-save' }, 'Save report')), out);
}

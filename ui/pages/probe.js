// The Keys page's "Probe" card (desktop app only): runs the key lab's
// conformance probe on the chosen key (the `key_probe` command) and shows
// each check live as `probe-progress` events arrive — the running check,
// "touch your key" / "do NOT touch" prompts, pass/fail/skip per check with
// its spec section — then the totals per category and every failure with
// expected vs actual and its traffic evidence.

import { h, card, notice, mount, errorBox, table, badge } from '../dom.js';

const OUTCOME = { pass: ['pass', 'ok'], fail: ['FAIL', 'bad'], skip: ['skip', ''] };
const CATEGORY = {
  ctaphid: 'CTAPHID', 'get-info': 'getInfo', algorithms: 'algorithms', ceremonies: 'ceremonies',
  errors: 'error codes', extensions: 'extensions', destructive: 'destructive (PIN)',
};

function outcomeBadge(outcome) {
  const [text, kind] = OUTCOME[outcome] || [outcome, ''];
  return badge(text, kind);
}

/** One check as a table row. */
function checkRow(r) {
  const detail = [];
  if (r.expected !== undefined) detail.push(h('div', {}, 'expected: ', h('code', {}, r.expected)));
  if (r.actual !== undefined) detail.push(h('div', {}, 'actual: ', h('code', {}, r.actual)));
  if (r.note) detail.push(h('div', { class: 'hint' }, r.note));
  if (r.evidence && r.evidence.length) {
    detail.push(h('details', {}, h('summary', {}, `${r.evidence.length} traffic events`),
      h('pre', { class: 'evidence' }, r.evidence.map(evidenceLine).join('\n'))));
  }
  return h('tr', { class: `probe-${r.outcome}`, dataset: { check: r.id } },
    h('td', {}, outcomeBadge(r.outcome)),
    h('td', {}, h('code', {}, r.id), h('div', {}, r.title)),
    h('td', {}, r.spec),
    h('td', {}, detail));
}

function evidenceLine(e) {
  const dir = e.direction === 'out' ? '→' : '←';
  let what;
  switch (e.type) {
    case 'frame': what = `${e.cid} ${e.header} ${e.bytes || '(redacted)'}`; break;
    case 'request': what = `${e.command} ${e.detail || ''}`; break;
    case 'response': what = `${e.command} ${e.status} ${e.detail || ''}`; break;
    case 'keepalive': what = `KEEPALIVE ${e.status}`; break;
    default: what = JSON.stringify(e);
  }
  return `${String(e.at_ms).padStart(6)} ms ${dir} ${what}`;
}

function summary(report) {
  const t = report.total;
  return h('div', { id: 'probe-summary' },
    h('p', {}, `Key ${report.key.aaguid} (${report.key.versions.join(', ')}), `,
      `algorithms ${report.key.algorithms.join(', ')}.`),
    table(['Category', 'Pass', 'Fail', 'Skip'], [
      ...report.categories.map((c) => h('tr', {}, h('td', {}, CATEGORY[c.category] || c.category), h('td', {}, c.pass), h('td', {}, c.fail), h('td', {}, c.skip))),
      h('tr', {}, h('th', {}, 'total'), h('th', {}, t.pass), h('th', {}, t.fail), h('th', {}, t.skip)),
    ]),
    t.fail
      ? notice('error', h('strong', {}, `${t.fail} check(s) failed.`), ' Each failure shows expected vs actual and its traffic.')
      : notice('success', `Every check that could run passed (${t.skip} skipped, each with its reason).`),
    (report.leftovers || []).map((l) => notice('warn', 'Left on the key: ', l)));
}

/**
 * The card. `needKey()` names the chosen key (or throws), `invoke` runs a
 * Tauri command, `listen(name, fn)` subscribes to an event for the page's
 * lifetime.
 */
export async function probeCard({ needKey, invoke, listen }) {
  const destructive = h('input', { type: 'checkbox', id: 'probe-destructive' });
  // Optional: lets the probe verify the user where a check needs it and
  // delete its test credentials; sent with the command only, never shown.
  const pin = h('input', { type: 'password', id: 'probe-pin', autocomplete: 'off', size: 10, placeholder: 'PIN (optional)' });
  const status = h('div', { id: 'probe-status', 'aria-live': 'polite' });
  const rows = h('tbody', { id: 'probe-rows' });
  const out = h('div', { id: 'probe-result', class: 'result' });
  let running = null;
  const counts = { pass: 0, fail: 0, skip: 0 };

  await listen('probe-progress', (p) => {
    if (!running || p.key !== running) return;
    if (p.event === 'running') {
      mount(status, notice('info', `Running ${p.id}: ${p.title} (${counts.pass} passed, ${counts.fail} failed, ${counts.skip} skipped so far)`));
    } else if (p.event === 'touch') {
      mount(status, notice('warn', h('strong', {}, 'Touch your key.')));
    } else if (p.event === 'doNotTouch') {
      mount(status, notice('warn', h('strong', {}, 'Do NOT touch your key now'), ': the next request is cancelled on purpose.'));
    } else if (p.event === 'finished') {
      counts[p.result.outcome] = (counts[p.result.outcome] || 0) + 1;
      rows.append(checkRow(p.result));
    }
  });

  const cancel = h('button', { type: 'button', id: 'probe-cancel', class: 'secondary', disabled: true,
    onclick: () => running && invoke('ceremony_cancel', { key: running }).catch((e) => mount(out, errorBox(e))) }, 'Cancel');
  const start = h('button', { type: 'button', id: 'probe-start', onclick: async () => {
    let key;
    try { key = needKey(); } catch (e) { mount(out, errorBox(e)); return; }
    if (destructive.checked && !window.confirm('The destructive checks set a PIN on a key without one (31415926), '
      + 'try a wrong PIN once (one retry is used and restored) and change the PIN and back.\n\nRun them?')) return;
    running = key;
    Object.assign(counts, { pass: 0, fail: 0, skip: 0 });
    rows.replaceChildren();
    mount(out);
    start.disabled = true;
    cancel.disabled = false;
    try {
      const report = await invoke('key_probe', { key, destructive: destructive.checked, pin: pin.value || null });
      mount(out, summary(report));
      mount(status);
    } catch (e) {
      mount(out, errorBox(e));
      mount(status);
    } finally {
      pin.value = '';
      running = null;
      start.disabled = false;
      cancel.disabled = true;
    }
  } }, 'Probe');

  return card('Probe the chosen key',
    h('p', {}, 'Conformance checks of CTAPHID and CTAP2, each with the spec section it tests: every advertised ',
      'algorithm registered and verified by Keybench\'s relying party, error codes, extensions, CANCEL and KEEPALIVE. ',
      'Nothing on the key changes but test credentials under *.probe.keybench.invalid.'),
    h('div', { class: 'actions' }, start, ' ', cancel, ' ', pin, ' ',
      h('label', { class: 'check' }, destructive, ' also the destructive checks (PIN)')),
    status,
    out,
    h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': 'probe checks' },
      h('table', {}, h('thead', {}, h('tr', {}, ['', 'Check', 'Section', 'Detail'].map((x) => h('th', { scope: 'col' }, x)))), rows)));
}

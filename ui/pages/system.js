// System (desktop app only): the checks `keybench doctor` runs, on this
// machine, for this app — access to each FIDO key's hidraw node (with the
// udev rule that grants it), /dev/uhid for virtual keys, the PC/SC service
// and readers, the OS keyring, the data directory, the web view and the
// app's port — each with its status, what it saw and the command that
// fixes it. One Tauri command (`system_doctor`, over key-ops' doctor).

import { h, card, notice, mount, table, badge, copyButton } from '../dom.js';
import { invoke } from './keys.js';

export const title = 'System';

const KINDS = { ok: 'ok', warn: 'warn', fail: 'bad', skip: '' };

export async function render(root, { alive } = { alive: () => true }) {
  if (!window.__TAURI__) {
    mount(root, h('h1', {}, 'System'), card(null, notice('info', 'The system checks exist only in the desktop app; run `keybench doctor` in a terminal.')));
    return null;
  }
  const out = h('div', { id: 'system-checks', 'aria-live': 'polite' });
  const summary = h('p', { id: 'system-summary' });
  const rerun = h('button', { type: 'button', id: 'system-rerun', onclick: () => load() }, 'Check again');
  mount(root,
    h('h1', {}, 'System'),
    card('What Keybench needs on this machine',
      h('p', { class: 'muted' }, 'The same checks as ', h('code', {}, 'keybench doctor'), '. Nothing is changed: probes create and remove their own file only.'),
      summary, rerun, out));

  async function load() {
    rerun.disabled = true;
    mount(summary, 'Checking…');
    try {
      const report = await invoke('system_doctor');
      if (!alive()) return;
      mount(summary, 'Overall: ', badge(report.overall, KINDS[report.overall]));
      mount(out, table(['Status', 'Check', 'What it saw, and the fix'], report.checks.map((c) => h('tr', { dataset: { check: c.id } },
        h('td', {}, badge(c.status, KINDS[c.status])),
        h('td', {}, h('strong', {}, c.title), h('div', { class: 'muted' }, h('code', {}, c.id), c.subject ? ` ${c.subject}` : '')),
        h('td', {}, h('ul', { class: 'plain' }, c.evidence.map((e) => h('li', {}, e))),
          c.fix ? h('div', { class: 'fix' }, h('strong', {}, 'Fix: '), h('pre', { class: 'code' }, c.fix), copyButton(c.fix, 'Copy the fix')) : null))),
      { caption: 'System checks' }));
    } catch (e) {
      if (alive()) mount(out, notice('error', e.message));
    } finally {
      rerun.disabled = false;
    }
  }
  await load();
  return null;
}

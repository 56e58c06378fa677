// Fingerprints (desktop app only, a card of the Keys page): the chosen
// key's fingerprint sensor (CTAP 2.1 bioEnrollment) — its enrolled fingers
// listed, a finger enrolled with each sample shown as it comes, renamed and
// deleted — through the fingerprints_list / fingerprint_enroll /
// fingerprint_rename / fingerprint_delete commands (src-tauri/src/
// fingerprints.rs over key_ops::bio, as `keybench bio` does). A virtual
// key started with its fingerprint sensor and presence "ask" asks
// "Touch with finger N" in the Keys page's presence prompt.

import { h, card, notice, mount, errorBox, table } from '../dom.js';

export async function fingerprintsCard({ needKey, invoke, listen }) {
  // Sent with each command only, never shown.
  const pin = h('input', { type: 'password', id: 'fp-pin', autocomplete: 'off', size: 10, placeholder: 'PIN' });
  const name = h('input', { type: 'text', id: 'fp-name', size: 16, maxlength: 64, placeholder: 'name (optional)' });
  const progress = h('div', { id: 'fp-progress', 'aria-live': 'polite' });
  const list = h('div', { id: 'fp-list' });
  const out = h('div', { id: 'fp-result', class: 'result' });
  let enrolling = null;

  await listen('fingerprint-sample', (p) => {
    if (!enrolling || p.key !== enrolling) return;
    const s = p.sample;
    mount(progress, notice(s.good ? 'info' : 'warn',
      h('strong', {}, s.good ? 'Good sample. ' : `${s.status}: place the finger again. `),
      s.remaining ? `${s.remaining} more sample${s.remaining === 1 ? '' : 's'} needed: lift the finger and place it again.` : 'Enrolled.'));
  });

  const withPin = () => {
    const key = needKey();
    if (!pin.value) { const e = new Error('Type the key\'s PIN first: fingerprints are managed with it.'); e.title = 'PIN needed'; throw e; }
    return { key, pin: pin.value };
  };
  const guarded = async (fn) => {
    try { return await fn(); } catch (e) { mount(out, errorBox(e)); return undefined; }
  };

  const draw = (view, args) => {
    mount(list,
      h('p', { class: 'muted' }, `Sensor: ${view.sensor.fingerprintKind === 2 ? 'swipe' : 'touch'}, `,
        `${view.sensor.maxSamples ?? '?'} samples per finger, names up to ${view.sensor.maxNameLength ?? '?'} bytes`,
        view.uvRetries != null ? `; ${view.uvRetries} match attempts left before the PIN is needed.` : '.'),
      table(['Finger', 'Id', 'Name', ''], view.fingerprints.map((f, i) => h('tr', { dataset: { templateId: f.templateId } },
        h('td', {}, String(i + 1)),
        h('td', {}, h('code', {}, f.templateId)),
        h('td', {}, f.name || h('span', { class: 'muted' }, '(no name)')),
        h('td', {},
          h('button', { type: 'button', class: 'small secondary', onclick: () => rename(args, f) }, 'Rename'), ' ',
          h('button', { type: 'button', class: 'small secondary', onclick: () => remove(args, f) }, 'Delete')))),
      { caption: 'Enrolled fingers', empty: 'No finger enrolled: the key verifies users by PIN only.' }));
  };
  const refresh = async (args) => {
    const view = await invoke('fingerprints_list', args);
    draw(view, args);
    return view;
  };
  const rename = (args, f) => guarded(async () => {
    const newName = window.prompt(`New name for finger ${f.templateId}:`, f.name || '');
    if (newName == null) return;
    await invoke('fingerprint_rename', { ...args, templateId: f.templateId, name: newName });
    await refresh(args);
  });
  const remove = (args, f) => guarded(async () => {
    if (!window.confirm(`Delete finger ${f.name || f.templateId} from the key?`)) return;
    await invoke('fingerprint_delete', { ...args, templateId: f.templateId });
    mount(out, notice('success', `Finger ${f.templateId} deleted.`));
    await refresh(args);
  });

  const show = h('button', { type: 'button', id: 'fp-show', class: 'secondary',
    onclick: () => guarded(async () => { mount(out); await refresh(withPin()); }) }, 'Show fingers');
  const cancel = h('button', { type: 'button', id: 'fp-cancel', class: 'secondary', disabled: true,
    onclick: () => enrolling && invoke('ceremony_cancel', { key: enrolling }).catch((e) => mount(out, errorBox(e))) }, 'Cancel');
  const enroll = h('button', { type: 'button', id: 'fp-enroll', onclick: () => guarded(async () => {
    const args = withPin();
    enrolling = args.key;
    enroll.disabled = true;
    cancel.disabled = false;
    mount(out);
    mount(progress, notice('info', h('strong', {}, 'Place your finger on the key\'s sensor, '), 'lift it, and repeat until it is enrolled.'));
    try {
      const done = await invoke('fingerprint_enroll', { ...args, name: name.value || null });
      mount(out, notice('success', h('strong', {}, 'Finger enrolled: '), done.fingerprint.name || done.fingerprint.templateId,
        ` (${done.samples.length} samples). The key now verifies users by this finger before asking for the PIN.`));
      name.value = '';
      await refresh(args);
    } finally {
      enrolling = null;
      enroll.disabled = false;
      cancel.disabled = true;
      mount(progress);
    }
  }) }, 'Enroll a finger');

  return card('Fingerprints of the chosen key',
    h('p', {}, 'Keys with a fingerprint sensor (bioEnrollment) verify users by finger. Enroll, list, rename and delete fingers here; ',
      'a virtual key has a sensor when started with "fingerprint sensor" (its presence policy answers each sample and match).'),
    h('div', { class: 'actions' }, pin, ' ', name, ' ', enroll, ' ', cancel, ' ', show),
    progress,
    out,
    list);
}

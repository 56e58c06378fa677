// Keys (desktop app only, issue 8): shown only when window.__TAURI__ exists.
// PLACEHOLDER — the desktop engineer fills this page (plugged and virtual
// keys, getInfo, wink, PIN, credential management, reset, CTAP traffic)
// through the Tauri commands listed in src-tauri/README.md.

import { h, card, notice } from '../dom.js';

export const title = 'Keys';

export function render(root) {
  root.append(h('h1', {}, 'Keys'),
    card(null, notice('info', h('strong', {}, 'Placeholder. '),
      'The keys panel (plugged and virtual keys, getInfo, wink, PIN, credential management, reset and the live CTAP traffic) is available in the desktop app and is being built there.')));
}

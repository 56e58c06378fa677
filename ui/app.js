// The single-page app: takes the launch secret out of the address bar,
// routes `#/name` to a page module, and keeps the "signed in as" header
// current. Each page exports `title` and `render(root)`, which may return a
// cleanup function (stop timers and streams when the user leaves the page).

import { h, mount, errorBox } from './dom.js';
import { api, takeLaunchSecret, session, onSessionChange, sessionChanged } from './api.js';
import * as register from './pages/register.js';
import * as authenticate from './pages/authenticate.js';
import * as credentials from './pages/credentials.js';
import * as dashboard from './pages/dashboard.js';
import * as decoder from './pages/decoder.js';
import * as metadata from './pages/metadata.js';
import * as verify from './pages/verify.js';
import * as keys from './pages/keys.js';
import * as compare from './pages/compare.js';
import * as system from './pages/system.js';

const desktop = typeof window.__TAURI__ !== 'undefined';

const routes = { register, authenticate, credentials, dashboard, decoder, verify, metadata };
if (desktop) { routes.keys = keys; routes.compare = compare; routes.system = system; }

let cleanup = null;
let generation = 0;

// The desktop window opens where it works: the Keys page (its web view has
// no WebAuthn for the Register page), or the page last shown there. A
// browser opens on Register.
const LAST_PAGE = 'keybench.lastPage';
function home() {
  if (!desktop) return 'register';
  const last = localStorage.getItem(LAST_PAGE);
  return last && routes[last] ? last : 'keys';
}

function currentRoute() {
  const m = /^#\/([a-z]+)/.exec(location.hash);
  return m && routes[m[1]] ? m[1] : home();
}

async function show() {
  if (cleanup) { try { cleanup(); } catch { /* page already gone */ } cleanup = null; }
  const mine = ++generation;
  const name = currentRoute();
  const page = routes[name];
  if (desktop) localStorage.setItem(LAST_PAGE, name);
  document.title = `${page.title} · Keybench`;
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.getAttribute('href') === `#/${name}`) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const view = document.getElementById('view');
  mount(view);
  try {
    // `alive()` lets a page that awaited something know it is still shown.
    const done = (await page.render(view, { alive: () => mine === generation })) || null;
    if (mine === generation) cleanup = done;
    else if (done) done();
  } catch (e) {
    mount(view, errorBox(e));
  }
  // Move focus to the new content for keyboard and screen-reader users,
  // but not on the first load (the browser's own start position is fine).
  if (show.started) view.focus({ preventScroll: true });
  show.started = true;
}

function renderWho(s) {
  const who = document.getElementById('who');
  if (!s) return mount(who, h('span', { class: 'muted' }, 'no session (server unreachable?)'));
  if (!s.signedIn) return mount(who, h('span', { class: 'muted' }, 'Not signed in'));
  mount(who,
    h('span', { title: `Signed in as ${s.username}` }, h('span', { class: 'sr-only' }, 'Signed in as '), h('strong', {}, s.username)),
    h('button', { type: 'button', class: 'small secondary', onclick: logout }, 'Sign out'));
}

async function logout() {
  try {
    await api.post('/api/logout', undefined, { csrf: true });
  } catch (e) {
    alert(`Sign-out failed: ${e.message}`);
  }
  await sessionChanged();
  show();
}

function boot() {
  takeLaunchSecret(home());
  if (desktop) {
    document.getElementById('nav-keys').hidden = false;
    document.getElementById('nav-compare').hidden = false;
    document.getElementById('nav-system').hidden = false;
  }
  onSessionChange(renderWho);
  session().then(renderWho, () => renderWho(null));
  window.addEventListener('hashchange', show);
  show();
}

boot();

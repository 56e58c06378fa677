// Credentials: the signed-in user's credentials (GET /api/credentials) with
// their details, the attestation decoded on demand (POST /api/decode), and
// delete (DELETE /api/credentials/{id}, with the CSRF token).

import { h, card, mount, errorBox, notice, time, yesNo, copyButton, badge } from '../dom.js';
import { api, sessionChanged } from '../api.js';
import { treeView } from '../tree.js';
import { algName } from '../webauthn.js';
import { trustBadge } from './ceremony.js';
import { modelCard } from './model.js';

export const title = 'Credentials';

export async function render(root) {
  const list = h('div', { 'aria-live': 'polite' }, h('p', { class: 'muted' }, 'Loading…'));
  root.append(h('h1', {}, 'Your credentials'), list);
  await load(list);
}

async function load(list) {
  let creds;
  try {
    creds = await api.get('/api/credentials');
  } catch (e) {
    if (e.status === 401) {
      mount(list, notice('info', h('strong', {}, 'Not signed in. '),
        'Register on the ', h('a', { href: '#/register' }, 'Register'), ' page or sign in on the ',
        h('a', { href: '#/authenticate' }, 'Authenticate'), ' page to see your credentials here.'));
      return;
    }
    mount(list, errorBox(e));
    return;
  }
  if (!creds.length) {
    mount(list, notice('info', 'You have no credentials left. ', h('a', { href: '#/register' }, 'Register one'), '.'));
    return;
  }
  mount(list, h('p', { class: 'muted' }, `${creds.length} credential${creds.length === 1 ? '' : 's'}`),
    creds.map((c) => credentialCard(c, () => load(list))));
}

function credentialCard(c, reload) {
  const att = c.attestation || {};
  const decoded = h('div');
  const decodeBtn = h('button', { type: 'button', class: 'secondary', disabled: !c.attestationObject }, 'Decode attestation');
  decodeBtn.addEventListener('click', async () => {
    if (decoded.childElementCount) { mount(decoded); decodeBtn.textContent = 'Decode attestation'; return; }
    decodeBtn.disabled = true;
    try {
      mount(decoded, treeView(await api.post('/api/decode', { input: c.attestationObject, kind: 'attestationObject' })));
      decodeBtn.textContent = 'Hide attestation';
    } catch (e) { mount(decoded, errorBox(e)); }
    finally { decodeBtn.disabled = false; }
  });
  const status = h('div', { 'aria-live': 'polite' });
  const deleteBtn = h('button', { type: 'button', class: 'danger', onclick: async () => {
    if (!confirm(`Delete the ${c.algorithmName || algName(c.algorithm)} credential ${c.id.slice(0, 12)}…? The authenticator keeps its key, but this site will no longer accept it.`)) return;
    deleteBtn.disabled = true;
    try {
      await api.del(`/api/credentials/${encodeURIComponent(c.id)}`, { csrf: true });
      await sessionChanged();
      reload();
    } catch (e) { mount(status, errorBox(e)); deleteBtn.disabled = false; }
  } }, 'Delete');
  return card(null,
    h('div', { class: 'cred-head' },
      h('h2', {}, c.algorithmName || algName(c.algorithm), h('span', { class: 'muted' }, ` (COSE ${c.algorithm})`)),
      trustBadge(att.trust)),
    h('dl', { class: 'kv grid' },
      h('dt', {}, 'Credential ID'), h('dd', {}, h('code', { class: 'raw', title: c.id }, c.id.length > 44 ? `${c.id.slice(0, 44)}…` : c.id), ' ', copyButton(c.id)),
      h('dt', {}, 'Created'), h('dd', {}, time(c.created)),
      h('dt', {}, 'Sign count'), h('dd', {}, String(c.signCount ?? '—')),
      h('dt', {}, 'User verified'), h('dd', {}, yesNo(c.userVerified)),
      h('dt', {}, 'Backup'), h('dd', {}, c.backupEligible ? badge(c.backedUp ? 'eligible, backed up' : 'eligible, not backed up') : badge('single-device')),
      h('dt', {}, 'AAGUID'), h('dd', {}, h('code', {}, c.aaguid || '—'), modelCard(c.model)),
      h('dt', {}, 'Transports'), h('dd', {}, (c.transports || []).join(', ') || '—'),
      h('dt', {}, 'Public key'), h('dd', {}, c.publicKeyBytes ? `${c.publicKeyBytes} bytes` : '—'),
      h('dt', {}, 'Attestation'), h('dd', {}, att.format ? `${att.format}${att.type ? ` · ${att.type}` : ''}` : '—',
        att.anchor ? h('div', { class: 'muted' }, `anchor: ${att.anchor}`) : null,
        att.reason ? h('div', { class: 'muted' }, att.reason) : null)),
    h('div', { class: 'actions' }, decodeBtn,
      c.attestationObject ? h('button', { type: 'button', class: 'secondary', onclick: () => {
        sessionStorage.setItem('keybench.decoder.input', c.attestationObject);
        location.hash = '#/decoder';
      } }, 'Open in the decoder') : null,
      h('span', { class: 'spacer' }), deleteBtn),
    status, decoded);
}

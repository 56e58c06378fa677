// Metadata: FIDO metadata statements uploaded for this session (trusted as
// "uploaded, not MDS-trusted"), listed and deleted. A file may hold one
// statement or an MDS BLOB payload (`entries[].metadataStatement`); each
// statement is sent on its own.

import { h, card, field, mount, errorBox, notice, table, time, short } from '../dom.js';
import { api } from '../api.js';

export const title = 'Metadata';

export async function render(root) {
  const list = h('div', { 'aria-live': 'polite' });
  const file = h('input', { type: 'file', name: 'statement', accept: '.json,application/json', multiple: true });
  const paste = h('textarea', { class: 'code', rows: 6, spellcheck: 'false', name: 'statementText', placeholder: '{"aaguid": "…", "description": "…", "attestationRootCertificates": […], …}' });
  const button = h('button', { type: 'submit' }, 'Upload');
  const status = h('div', { 'aria-live': 'polite' });
  const form = h('form', { class: 'stack', onsubmit: async (ev) => {
    ev.preventDefault();
    mount(status);
    button.disabled = true;
    try {
      const docs = [];
      for (const f of file.files) docs.push([f.name, await f.text()]);
      if (paste.value.trim()) docs.push(['pasted text', paste.value]);
      if (!docs.length) throw Object.assign(new Error('Choose a JSON file or paste a statement first.'), { title: 'Nothing to upload' });
      const done = [];
      for (const [name, text] of docs) {
        let json;
        try { json = JSON.parse(text); } catch (e) { throw Object.assign(new Error(`${name} is not JSON: ${e.message}`), { title: 'Cannot upload' }); }
        const statements = Array.isArray(json.entries) ? json.entries.map((e) => e.metadataStatement).filter(Boolean) : [json];
        if (!statements.length) throw Object.assign(new Error(`${name} has entries but none with a metadataStatement.`), { title: 'Cannot upload' });
        for (const s of statements) {
          try { done.push(await api.post('/api/metadata', s, { csrf: true })); }
          catch (e) { e.message = `${name}${statements.length > 1 ? ` (${s.description || s.aaguid || 'entry'})` : ''}: ${e.message}`; throw e; }
        }
      }
      mount(status, notice('success', `Uploaded ${done.length} statement${done.length === 1 ? '' : 's'}: `,
        done.map((d) => `${d.description || d.aaguid} (${d.trust})`).join('; ')));
      file.value = '';
      paste.value = '';
    } catch (e) {
      mount(status, errorBox(e));
    } finally {
      button.disabled = false;
      load(list);
    }
  } },
  h('p', {}, 'Statements you upload apply to this browser session only. Attestations that chain to their roots are reported as "uploaded, not MDS-trusted": they are never mixed up with the FIDO Metadata Service.'),
  field('Statement files (JSON, one statement or a BLOB payload with entries)', file),
  field('…or paste a statement', paste),
  h('div', { class: 'actions' }, button));
  root.append(h('h1', {}, 'Metadata statements'), card('Upload', form, status), card('Uploaded in this session', list));
  await load(list);
}

async function load(list) {
  let items;
  try { items = await api.get('/api/metadata'); }
  catch (e) { mount(list, errorBox(e)); return; }
  const rows = items.map((m) => {
    const del = h('button', { type: 'button', class: 'small danger', onclick: async () => {
      if (!confirm(`Delete the statement for ${m.description || m.aaguid}?`)) return;
      del.disabled = true;
      try { await api.del(`/api/metadata/${encodeURIComponent(m.id)}`, { csrf: true }); }
      catch (e) { alert(e.message); }
      load(list);
    } }, 'Delete');
    return h('tr', {},
      h('td', {}, m.description || h('span', { class: 'muted' }, '—')),
      h('td', {}, h('code', {}, m.aaguid || '—')),
      h('td', {}, time(m.uploaded)),
      h('td', {}, short(m.id, 8)),
      h('td', {}, del));
  });
  mount(list, table(['Description', 'AAGUID', 'Uploaded', 'ID', ''], rows,
    { caption: 'Uploaded metadata statements', empty: 'No statements uploaded in this session yet.' }));
}

// The model card: what the FIDO metadata in force (GET /api/mds) says about
// an authenticator model — description, icon, certification, status
// reports — shown beside getInfo on the Keys page, beside each credential
// and in ceremony results. A revoked or compromised model is red, with the
// reason. Icons are data: URLs only (the server drops anything else).

import { h, badge } from '../dom.js';

/** A badge for a ModelInfo verdict. */
export function verdictBadge(verdict) {
  if (!verdict) return null;
  if (verdict.kind === 'certified') return badge(verdict.level.replace(/_/g, ' '), 'ok');
  if (verdict.kind === 'untrusted') return badge('untrusted', 'bad');
  return badge('not FIDO certified', 'warn');
}

/** The card for a ModelInfo (null when there is none). */
export function modelCard(model) {
  if (!model) return null;
  const v = model.verdict || {};
  const icon = model.icon && model.icon.startsWith('data:image/')
    ? h('img', { src: model.icon, alt: '', class: 'model-icon', width: 32, height: 32 }) : null;
  return h('div', { class: `model-card${v.kind === 'untrusted' ? ' untrusted' : ''}`, 'data-verdict': v.kind || '' },
    h('div', { class: 'model-head' }, icon,
      h('strong', {}, model.description), ' ', verdictBadge(v),
      h('span', { class: 'muted' }, ' FIDO Metadata Service')),
    v.kind === 'untrusted' ? h('p', { class: 'model-reason', role: 'alert' }, v.reason) : null,
    (model.statusReports || []).length
      ? h('ul', { class: 'model-reports' }, model.statusReports.map((r) =>
        h('li', {}, h('code', {}, r.status), r.effectiveDate ? ` since ${r.effectiveDate}` : '',
          r.certificationDescriptor ? ` · ${r.certificationDescriptor}` : '')))
      : null);
}

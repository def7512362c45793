// pages/mobile.js — mobile-phone based figures (topic "mobile") beside the
// border-based ones. A mobile table is compared with a border table through
// its metadata "compare": {table, self: {DIM: code}, other: {DIM: code}},
// or, for the suggested ids, a built-in pairing (docs/portal.md).
import { t, nm, fmt, fmtShort } from '../i18n.js';
import { findTable, loadTotals, select, codes, isTotal, dimIds, findCode, loadTable } from '../api.js';
import { panel, missing, num, describe, guard } from '../charts.js';
import { h } from '../dom.js';
import { genericPanel } from './common.js';

const DEFAULTS = {
  MOB_INBOUND: { table: 'MIG_FLOW', self: { PRESENCE_TYPE: 'LONG' }, other: { FLOW: 'IMM', CITIZENSHIP_GROUP: 'FOR' } },
  // long-term presence starts (mobile) beside long-term immigration of foreigners (border)
  MOB_LONGTERM: { table: 'MIG_FLOW', self: { FLOW: 'IMM' }, other: { FLOW: 'IMM', CITIZENSHIP_GROUP: 'FOR' } },
  MOB_IMM: { table: 'MIG_FLOW', self: {}, other: { FLOW: 'IMM', CITIZENSHIP_GROUP: 'FOR' } },
  MOB_OUTBOUND: { table: 'MIG_FLOW', self: {}, other: { FLOW: 'EMI', CITIZENSHIP_GROUP: 'CIT' } },
  MOB_EMI: { table: 'MIG_FLOW', self: {}, other: { FLOW: 'EMI', CITIZENSHIP_GROUP: 'CIT' } },
};

/** Values by year: a monthly series (YYYY-MM) is summed to years only when the other is annual. */
function byPeriod(obs) {
  return new Map(obs.map((o) => [o.key.TIME_PERIOD, o]));
}

async function comparePanel(rel, meta, cmp, idx) {
  const other = findTable(rel, { ids: [cmp.table] });
  const title = nm(meta.name, meta.id);
  if (!other) return genericPanel(meta, rel, idx);
  const fixSelf = { ...(cmp.self || {}) }, fixOther = { ...(cmp.other || {}) };
  const [a, b] = await Promise.all([loadTotals(meta, Object.keys(fixSelf), fixSelf), loadTotals(other, Object.keys(fixOther), fixOther)]);
  // codes given by kind (IMM, EMI, CIT, FOR) are resolved in the table
  for (const [d, c] of Object.entries(fixOther)) if (b?.dim[d] && !b.dim[d].byId.has(c)) {
    const k = { FOR: 'NCIT' }[c] || c; fixOther[d] = findCode(b, d, k) || c;
  }
  const sa = byPeriod(select(a, fixSelf, ['TIME_PERIOD'])), sb = byPeriod(select(b, fixOther, ['TIME_PERIOD']));
  // the periods the mobile table covers (mobile data are recent; border series go back further)
  const periods = [...sa.keys()].filter((p) => !isTotal(p)).sort();
  if (!periods.length) return missing(title);
  const va = periods.map((p) => num(sa.get(p))), vb = periods.map((p) => num(sb.get(p)));
  const otherName = nm(other.name, other.id);
  const ratio = periods.map((p, i) => (va[i] != null && vb[i] ? va[i] / vb[i] : null));
  return panel({
    id: `mob-${meta.id}`, title: `${title} — ${t('mobile_vs')}`, meta, rel, filter: fixSelf,
    note: `${t('border_based')}: ${otherName}. ${t('mobile_limits')}: ${meta.method || ''}`,
    alt: `${title}: ${periods.map((p, i) => `${p} ${t('mobile_based')} ${fmt(va[i])}, ${t('border_based')} ${fmt(vb[i])}`).join('; ')}.`,
    columns: [t('period'), `${t('mobile_based')} (${meta.id})`, `${t('border_based')} (${other.id})`, 'ratio'],
    rows: periods.map((p, i) => [p, fmt(va[i]), fmt(vb[i]), ratio[i] == null ? '–' : fmt(ratio[i], 2)]),
    option: {
      tooltip: { trigger: 'axis', valueFormatter: (v) => fmt(v) }, legend: { top: 0, type: 'scroll' },
      grid: { left: 70, right: 20, top: 40, bottom: 40 },
      xAxis: { type: 'category', data: periods },
      yAxis: { type: 'value', axisLabel: { formatter: (v) => fmtShort(v), hideOverlap: true } },
      series: [
        { type: 'bar', name: `${t('mobile_based')} (${meta.id})`, data: va, itemStyle: { color: '#009e73' } },
        { type: 'bar', name: `${t('border_based')} (${other.id})`, data: vb, itemStyle: { color: '#0b5fa5' } },
      ],
    },
  });
}

export async function render(root, { rel }) {
  root.append(h('h1', {}, t('nav_mobile')), h('p', { class: 'lead' }, t('mobile_lead')));
  const metas = (rel?.tables || []).filter((m) => m.topic === 'mobile');
  if (!metas.length) { root.append(missing(t('nav_mobile'))); return; }
  const panels = await Promise.all(metas.map(async (m, i) => {
    const cmp = m.compare || DEFAULTS[m.id];
    const first = cmp ? await guard(comparePanel(rel, m, cmp, i), nm(m.name, m.id)) : null;
    const gen = await guard(genericPanel(m, rel, i), nm(m.name, m.id));
    return [first, gen].filter(Boolean);
  }));
  root.append(h('div', { class: 'panels' }, panels.flat()));
}

// pages/flows.js — immigration and emigration over time (provisional
// figures marked), by citizenship group, returning citizens, and the
// countries of origin and destination.
import { t, nm, fmt, fmtShort } from '../i18n.js';
import { findTable, loadTotals, select, findCode, codes, codeName, isTotal, dimIds } from '../api.js';
import { panel, missing, num, describe, guard } from '../charts.js';
import { h } from '../dom.js';
import { barPanel, mapPanel, statusText, topicTables } from './common.js';

const PROV_STYLE = { opacity: 0.6, borderType: 'dashed', borderWidth: 1.5, borderColor: '#1a1a1a',
  decal: { symbol: 'rect', dashArrayX: [1, 0], dashArrayY: [3, 3], rotation: -Math.PI / 4, color: 'rgba(255,255,255,0.7)' } };
const isProv = (o) => o?.obs_status === 'P';
const flag = (o) => (isProv(o) ? ` (${t('provisional')})` : '');

/** Bars per period of one or more series [{name, obs: period → observation}], provisional bars hatched. */
function seriesPanel({ id, title, meta, rel, filter, periods, series, net }) {
  const sers = series.map((s) => ({
    type: 'bar', name: s.name, itemStyle: s.color ? { color: s.color } : undefined,
    data: periods.map((p) => { const o = s.obs.get(p); return { value: num(o), itemStyle: isProv(o) ? PROV_STYLE : undefined }; }),
  }));
  if (net) {
    sers.push({ type: 'line', name: t('net'), itemStyle: { color: '#1a1a1a' }, symbolSize: 7,
      data: periods.map((p) => { const a = num(series[0].obs.get(p)), b = num(series[1].obs.get(p)); return a != null && b != null ? a - b : null; }) });
  }
  const provPeriods = periods.filter((p) => series.some((s) => isProv(s.obs.get(p))));
  return panel({
    id, title, meta, rel, filter, note: provPeriods.length ? t('prov_note') : null,
    alt: describe(title, periods, sers[0].data.map((d) => d.value)),
    columns: [t('period'), ...sers.map((s) => s.name), t('obs_status')],
    rows: periods.map((p, i) => [p, ...sers.map((s) => fmt(s.data[i]?.value ?? s.data[i])),
      series.map((s) => statusText(s.obs.get(p))).filter(Boolean)[0] || '']),
    option: {
      tooltip: { trigger: 'axis', valueFormatter: (v) => fmt(v) }, legend: { top: 0, type: 'scroll' },
      grid: { left: 70, right: 20, top: 40, bottom: 40 },
      xAxis: { type: 'category', data: periods.map((p) => (provPeriods.includes(p) ? `${p} P` : p)), axisLabel: { interval: 0, hideOverlap: true } },
      yAxis: { type: 'value', axisLabel: { formatter: (v) => fmtShort(v), hideOverlap: true } },
      series: sers,
    },
  });
}

export async function overTime(rel, meta) {
  const title = t('flow_time');
  if (!meta) return missing(title);
  const tb = await loadTotals(meta, ['FLOW']);
  const ic = findCode(tb, 'FLOW', 'IMM'), ec = findCode(tb, 'FLOW', 'EMI');
  if (!ic || !ec) return missing(title);
  const periods = codes(tb, 'TIME_PERIOD').filter((c) => !isTotal(c)).sort();
  const by = (fc) => new Map(select(tb, { FLOW: fc }, ['TIME_PERIOD']).map((o) => [o.key.TIME_PERIOD, o]));
  return seriesPanel({ id: 'flow-time', title, meta, rel, filter: { FLOW: [ic, ec] }, periods, net: true,
    series: [{ name: t('imm'), obs: by(ic), color: '#0b5fa5' }, { name: t('emi'), obs: by(ec), color: '#d55e00' }] });
}

async function byCitizenship(rel, meta) {
  const title = t('flow_cit');
  if (!meta || !dimIds(meta).includes('CITIZENSHIP_GROUP')) return missing(title);
  const tb = await loadTotals(meta, ['FLOW', 'CITIZENSHIP_GROUP']);
  const ic = findCode(tb, 'FLOW', 'IMM'), ec = findCode(tb, 'FLOW', 'EMI');
  const groups = codes(tb, 'CITIZENSHIP_GROUP').filter((c) => !isTotal(c));
  const periods = codes(tb, 'TIME_PERIOD').filter((c) => !isTotal(c)).sort();
  const colors = ['#0b5fa5', '#56b4e9', '#d55e00', '#e69f00', '#009e73', '#cc79a7'];
  const series = [];
  for (const fc of [ic, ec].filter(Boolean)) {
    for (const g of groups) {
      series.push({ name: `${codeName(tb, 'FLOW', fc, nm)} · ${codeName(tb, 'CITIZENSHIP_GROUP', g, nm)}`, color: colors[series.length % colors.length],
        obs: new Map(select(tb, { FLOW: fc, CITIZENSHIP_GROUP: g }, ['TIME_PERIOD']).map((o) => [o.key.TIME_PERIOD, o])) });
    }
  }
  if (!series.length) return missing(title);
  return seriesPanel({ id: 'flow-cit', title, meta, rel, filter: {}, periods, series });
}

async function returning(rel, meta) {
  const title = t('returning');
  const ret = findTable(rel, { ids: ['MIG_FLOW_RET', 'MIG_RETURN'], topic: 'flow', need: ['RETURN'] });
  if (ret) return barPanel({ id: 'returning', title, meta: ret, rel, dim: 'TIME_PERIOD', horizontal: false });
  if (!meta) return missing(title);
  // FLOW=RET (returning citizens, the derive stage's definition) when the table has it
  const all = await loadTotals(meta, ['FLOW']);
  const rc = findCode(all, 'FLOW', 'RET');
  if (rc) {
    const periods = codes(all, 'TIME_PERIOD').filter((c) => !isTotal(c)).sort();
    const obs = new Map(select(all, { FLOW: rc }, ['TIME_PERIOD']).map((o) => [o.key.TIME_PERIOD, o]));
    return seriesPanel({ id: 'returning', title, meta, rel, filter: { FLOW: rc }, periods, series: [{ name: codeName(all, 'FLOW', rc, nm), obs, color: '#009e73' }] });
  }
  if (!dimIds(meta).includes('CITIZENSHIP_GROUP')) return missing(title);
  const tb = await loadTotals(meta, ['FLOW', 'CITIZENSHIP_GROUP']);
  const ic = findCode(tb, 'FLOW', 'IMM'), cit = findCode(tb, 'CITIZENSHIP_GROUP', 'CIT');
  if (!ic || !cit) return missing(title);
  const periods = codes(tb, 'TIME_PERIOD').filter((c) => !isTotal(c)).sort();
  const obs = new Map(select(tb, { FLOW: ic, CITIZENSHIP_GROUP: cit }, ['TIME_PERIOD']).map((o) => [o.key.TIME_PERIOD, o]));
  return seriesPanel({ id: 'returning', title, meta, rel, filter: { FLOW: ic, CITIZENSHIP_GROUP: cit }, periods,
    series: [{ name: t('returning'), obs, color: '#009e73' }] });
}

/** The dimension of a flow table naming the partner country (origin or destination). */
const partnerDim = (meta) => dimIds(meta).find((d) => /PARTNER|PREV_RES|NEXT_RES|ORIGIN|DESTINATION|COUNTRY_OF_RES/.test(d));

async function partners(rel, flowM) {
  const title = t('flow_partner');
  const meta = findTable(rel, { ids: ['MIG_FLOW_PARTNER', 'MIG_FLOW_COUNTRY'] })
    || (rel?.tables || []).find((m) => m.topic === 'flow' && dimIds(m).includes('FLOW') && partnerDim(m));
  if (!meta) return [missing(title)];
  const dim = partnerDim(meta);
  const tb = await loadTotals(meta, ['FLOW', dim]);
  const ic = findCode(tb, 'FLOW', 'IMM'), ec = findCode(tb, 'FLOW', 'EMI');
  const own = rel?.country?.code;
  return Promise.all([
    mapPanel({ id: 'partner-map', title: `${t('imm')}: ${nm(tb.dim[dim]?.name, dim)}`, meta, rel, dim, fixed: { FLOW: ic }, exclude: [own] }),
    barPanel({ id: 'partner-imm', title: `${t('imm')}: ${nm(tb.dim[dim]?.name, dim)}`, meta, rel, dim, fixed: { FLOW: ic }, top: 10, exclude: [own] }),
    ec ? barPanel({ id: 'partner-emi', title: `${t('emi')}: ${nm(tb.dim[dim]?.name, dim)}`, meta, rel, dim, fixed: { FLOW: ec }, top: 10, exclude: [own] }) : null,
  ]).then((x) => x.filter(Boolean));
}

export async function render(root, { rel }) {
  root.append(h('h1', {}, t('nav_flows')), h('p', { class: 'lead' }, t('flows_lead')));
  const flowM = findTable(rel, { ids: ['MIG_FLOW'], topic: 'flow', need: ['FLOW'] });
  const [a, b, c, d] = await Promise.all([guard(overTime(rel, flowM), t('flow_time')), guard(byCitizenship(rel, flowM), t('flow_cit')),
    guard(returning(rel, flowM), t('returning')), partners(rel, flowM).catch((e) => [missing(t('flow_partner'), `${t('error')}: ${e.message}`)])]);
  root.append(h('div', { class: 'panels' }, a, b, c, ...d));
  const shown = [flowM?.id, ...d.map((p) => p.dataset?.panel && window.nmdiCharts[p.dataset.panel]?.table)].filter(Boolean);
  const more = await topicTables(rel, 'flow', shown);
  if (more) root.append(more);
}

// pages/stock.js — stock explorer: population pyramid of foreign-born and
// native-born, country of birth and citizenship on world maps, M49 region of
// birth, and area inside the country.
import { t, nm, fmt, fmtShort } from '../i18n.js';
import { findTable, loadTotals, select, findCode, codes, latestPeriod, isTotal, codeName, loadTable } from '../api.js';
import { panel, missing, num, describe, guard } from '../charts.js';
import { h } from '../dom.js';
import { m49Name } from '../m49.js';
import { ageKey, barPanel, mapPanel, topicTables } from './common.js';

async function pyramid(rel, meta) {
  const title = t('pyramid');
  if (!meta) return missing(title);
  const tb = await loadTotals(meta, ['SEX', 'AGE', 'MIGRATORY_STATUS']);
  const fb = findCode(tb, 'MIGRATORY_STATUS', 'FB'), nb = findCode(tb, 'MIGRATORY_STATUS', 'NB');
  if (!tb || !fb || !tb.dim.AGE || !tb.dim.SEX) return missing(title);
  const period = latestPeriod(tb);
  const ages = codes(tb, 'AGE').filter((c) => !isTotal(c)).sort((a, b) => ageKey(a) - ageKey(b));
  const obs = select(tb, { TIME_PERIOD: period }, ['SEX', 'AGE', 'MIGRATORY_STATUS']);
  const v = (sex, st, age) => num(obs.find((o) => o.key.SEX === sex && o.key.MIGRATORY_STATUS === st && o.key.AGE === age));
  const an = ages.map((a) => codeName(tb, 'AGE', a, nm));
  const mk = (sex, st, name, color, sign) => ({
    type: 'bar', stack: sex, name, barCategoryGap: '8%', itemStyle: { color },
    data: ages.map((a) => { const x = v(sex, st, a); return x == null ? null : sign * x; }),
  });
  const series = [
    ...(nb ? [mk('M', nb, `${t('male')} · ${t('native_born')}`, '#9ecae1', -1)] : []),
    mk('M', fb, `${t('male')} · ${t('foreign_born')}`, '#0b5fa5', -1),
    ...(nb ? [mk('F', nb, `${t('female')} · ${t('native_born')}`, '#fdd0a2', 1)] : []),
    mk('F', fb, `${t('female')} · ${t('foreign_born')}`, '#b34700', 1),
  ];
  const totalFb = ages.reduce((s, a) => s + (v('M', fb, a) || 0) + (v('F', fb, a) || 0), 0);
  return panel({
    id: 'pyramid', title: `${title}, ${period}`, meta, rel, filter: {}, height: Math.max(360, 22 * ages.length + 80),
    alt: `${title}, ${period}: ${t('foreign_born')} ${fmt(totalFb)} ${t('persons')}.`,
    columns: [t('age'), ...series.map((s) => s.name)],
    rows: ages.map((a, i) => [an[i], ...series.map((s) => fmt(s.data[i] == null ? null : Math.abs(s.data[i])))]),
    option: {
      tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' }, valueFormatter: (x) => fmt(x == null ? null : Math.abs(x)) },
      legend: { top: 0, type: 'scroll' },
      grid: { left: 70, right: 20, top: 40, bottom: 30 },
      xAxis: { type: 'value', axisLabel: { formatter: (x) => fmtShort(Math.abs(x)) } },
      yAxis: { type: 'category', data: an, axisTick: { show: false } },
      series,
    },
  });
}

/** Stock by M49 region: a table with a region dimension, else COB aggregated by the codes' parents. */
async function regions(rel, cobM) {
  const title = t('by_region');
  const regM = findTable(rel, { ids: ['MIG_STOCK_REG', 'MIG_STOCK_REGION'], topic: 'stock', need: ['REGION_OF_BIRTH'] });
  if (regM) return barPanel({ id: 'region', title, meta: regM, rel, dim: 'REGION_OF_BIRTH', fixed: await fbFilter(regM) });
  if (!cobM) return missing(title);
  const tb = await loadTotals(cobM, ['COUNTRY_OF_BIRTH']);
  const cs = tb?.dim.COUNTRY_OF_BIRTH?.codes || [];
  if (!cs.some((c) => c.parent)) return missing(title);
  const fb = findCode(tb, 'MIGRATORY_STATUS', 'FB');
  const period = latestPeriod(tb);
  const sums = new Map();
  for (const o of select(tb, { TIME_PERIOD: period, ...(fb ? { MIGRATORY_STATUS: fb } : {}) }, ['COUNTRY_OF_BIRTH'])) {
    const c = tb.dim.COUNTRY_OF_BIRTH.byId.get(o.key.COUNTRY_OF_BIRTH);
    if (!c?.parent || num(o) == null) continue;
    sums.set(c.parent, (sums.get(c.parent) || 0) + num(o));
  }
  const rows = [...sums].sort((a, b) => b[1] - a[1]);
  return panel({
    id: 'region', title: `${title}, ${period}`, meta: cobM, rel, columns: [t('region'), t('value')], height: Math.max(240, 26 * rows.length + 60),
    rows: rows.map(([r, v]) => [nm(m49Name(r), r), fmt(v)]),
    alt: describe(title, rows.map(([r]) => nm(m49Name(r), r)), rows.map((r) => r[1])),
    option: { tooltip: { trigger: 'axis', valueFormatter: (x) => fmt(x) }, grid: { left: 160, right: 30, top: 20, bottom: 30 },
      xAxis: { type: 'value', axisLabel: { formatter: (x) => fmtShort(x), hideOverlap: true } }, yAxis: { type: 'category', data: rows.map(([r]) => nm(m49Name(r), r)).reverse() },
      series: [{ type: 'bar', data: rows.map((r) => r[1]).reverse() }] },
  });
}

/** When a table has MIGRATORY_STATUS, fix it at the foreign-born code (looked up in the table). */
async function fbFilter(meta) {
  if (!meta || !(meta.dimensions || []).some((d) => (d.id || d) === 'MIGRATORY_STATUS')) return {};
  const tb = await loadTotals(meta, ['MIGRATORY_STATUS']);
  const fb = findCode(tb, 'MIGRATORY_STATUS', 'FB');
  return fb ? { MIGRATORY_STATUS: fb } : {};
}

export async function render(root, { rel }) {
  root.append(h('h1', {}, t('nav_stock')), h('p', { class: 'lead' }, t('stock_lead')));
  const stockM = findTable(rel, { ids: ['MIG_STOCK'], topic: 'stock', need: ['MIGRATORY_STATUS', 'AGE', 'SEX'] });
  const cobM = findTable(rel, { ids: ['MIG_STOCK_COB'], topic: 'stock', need: ['COUNTRY_OF_BIRTH'] });
  const citM = findTable(rel, { ids: ['MIG_STOCK_CIT'], topic: 'stock', need: ['CITIZENSHIP'] });
  const areaM = findTable(rel, { ids: ['MIG_STOCK_AREA'], topic: 'stock', need: ['REF_AREA'] });
  const own = rel?.country?.code;
  const [cobF, areaF] = await Promise.all([fbFilter(cobM).catch(() => ({})), fbFilter(areaM).catch(() => ({}))]);
  const panels = await Promise.all([
    guard(pyramid(rel, stockM), t('pyramid')),
    guard(mapPanel({ id: 'cob-map', title: t('by_cob'), meta: cobM, rel, dim: 'COUNTRY_OF_BIRTH', fixed: cobF, exclude: [own] }), t('by_cob')),
    guard(barPanel({ id: 'cob-top', title: t('by_cob'), meta: cobM, rel, dim: 'COUNTRY_OF_BIRTH', fixed: cobF, exclude: [own], top: 15 }), t('by_cob')),
    guard(mapPanel({ id: 'cit-map', title: t('by_cit'), meta: citM, rel, dim: 'CITIZENSHIP', exclude: [own] }), t('by_cit')),
    guard(regions(rel, cobM), t('by_region')),
    guard(barPanel({ id: 'area', title: t('by_area'), meta: areaM, rel, dim: 'REF_AREA', fixed: areaF }), t('by_area')),
  ]);
  root.append(h('div', { class: 'panels' }, panels));
  const more = await topicTables(rel, 'stock', [stockM, cobM, citM, areaM].filter(Boolean).map((m) => m.id));
  if (more) root.append(more);
}

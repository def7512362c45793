// pages/common.js — panels shared by several pages: a bar chart of one
// dimension, a time series, a world map, and the "all tables of a topic"
// generic explorer for tables the portal has no special page for.
import { t, nm, fmt, fmtShort } from '../i18n.js';
import { loadTotals, select, codes, codeName, isTotal, latestPeriod, dimIds } from '../api.js';
import { panel, missing, num, describe, guard } from '../charts.js';
import { h } from '../dom.js';

/** Sort key of an SDMX age code (Y0T4, Y_GE75, Y15T24, _T last). */
export function ageKey(c) {
  const m = String(c).match(/(\d+)/);
  return isTotal(c) ? 1e9 : m ? +m[1] : 1e8;
}

/** Bar chart of a table by one dimension (others at total). */
export async function barPanel({ id, title, meta, rel, dim, fixed = {}, top = 0, exclude = [], horizontal = true }) {
  if (!meta) return missing(title);
  const tb = await loadTotals(meta, [dim], fixed);
  if (!tb || !tb.dim[dim]) return missing(title);
  const period = fixed.TIME_PERIOD || latestPeriod(tb);
  let obs = select(tb, { ...fixed, ...(period ? { TIME_PERIOD: period } : {}) }, [dim])
    .filter((o) => !isTotal(o.key[dim]) && !exclude.includes(o.key[dim]));
  if (top) obs = obs.filter((o) => num(o) != null).sort((a, b) => num(b) - num(a)).slice(0, top);
  if (!obs.length) return missing(title);
  const names = obs.map((o) => codeName(tb, dim, o.key[dim], nm));
  const vals = obs.map(num);
  const cat = { type: 'category', data: horizontal ? [...names].reverse() : names, axisLabel: { width: 150, overflow: 'truncate' } };
  const val = { type: 'value', axisLabel: { formatter: (v) => fmtShort(v), hideOverlap: true } };
  const data = (horizontal ? [...vals].reverse() : vals);
  const filter = { ...fixed, [dim]: undefined };
  return panel({
    id, title: period ? `${title}, ${period}` : title, meta, rel, filter,
    height: horizontal ? Math.max(220, 28 * obs.length + 60) : 320,
    alt: describe(title, names, vals),
    columns: [nm(tb.dim[dim].name, dim), t('value'), t('obs_status')],
    rows: obs.map((o, i) => [names[i], fmt(vals[i]), statusText(o)]),
    option: {
      tooltip: { trigger: 'axis', valueFormatter: (v) => fmt(v) },
      grid: { left: horizontal ? 160 : 60, right: 30, top: 20, bottom: 30, containLabel: false },
      xAxis: horizontal ? val : cat, yAxis: horizontal ? cat : val,
      series: [{ type: 'bar', name: title, data, itemStyle: { color: '#0b5fa5' } }],
    },
  });
}

export function statusText(o) {
  const s = [o?.obs_status && o.obs_status !== 'A' ? o.obs_status : '', o?.conf_status && o.conf_status !== 'F' ? o.conf_status : ''].filter(Boolean).join(' ');
  return o?.value == null ? `${t('withheld')} ${s}`.trim() : s;
}

/** World map panel of a table by a country dimension. */
export async function mapPanel({ id, title, meta, rel, dim, fixed = {}, exclude = [] }) {
  if (!meta) return missing(title);
  const tb = await loadTotals(meta, [dim], fixed);
  if (!tb || !tb.dim[dim]) return missing(title);
  const period = latestPeriod(tb);
  const obs = select(tb, { ...fixed, ...(period ? { TIME_PERIOD: period } : {}) }, [dim])
    .filter((o) => !isTotal(o.key[dim]) && !exclude.includes(o.key[dim]))
    .sort((a, b) => (num(b) ?? -1) - (num(a) ?? -1));
  if (!obs.length) return missing(title);
  const entries = obs.map((o) => ({ code: o.key[dim], name: codeName(tb, dim, o.key[dim], nm), value: num(o) }));
  return panel({
    id, title: period ? `${title}, ${period}` : title, meta, rel, filter: fixed, height: 'auto',
    alt: `${t('map_alt')}. ${describe(title, entries.map((e) => e.name), entries.map((e) => e.value))}`,
    columns: [nm(tb.dim[dim].name, dim), t('value'), t('obs_status')],
    rows: entries.map((e, i) => [e.name, fmt(e.value), statusText(obs[i])]),
    render: (el) => import('../map.js').then((m) => m.drawMap(el, entries)),
  });
}

/** A generic explorer for one table: time series or bars by its main dimension. */
export async function genericPanel(meta, rel, idx) {
  const title = nm(meta.name, meta.id);
  const dims = dimIds(meta);
  // the time dimension and the first other one vary; the rest stay at their totals
  // (a whole large table could exceed the server's answer limit)
  const keep = [...dims.filter((d) => d === 'TIME_PERIOD'), ...dims.filter((d) => d !== 'TIME_PERIOD').slice(0, 2)];
  const tb = await loadTotals(meta, keep);
  if (!tb || !(tb.observations || []).length) return missing(title);
  const x = dims.includes('TIME_PERIOD') && codes(tb, 'TIME_PERIOD').length > 1 ? 'TIME_PERIOD'
    : dims.find((d) => d !== 'TIME_PERIOD' && codes(tb, d).filter((c) => !isTotal(c)).length > 1) || dims[0];
  const serDim = dims.find((d) => d !== x && d !== 'TIME_PERIOD' && codes(tb, d).filter((c) => !isTotal(c)).length > 1
    && codes(tb, d).filter((c) => !isTotal(c)).length <= 6);
  const xs = codes(tb, x).filter((c) => !isTotal(c) || codes(tb, x).length === 1);
  if (x === 'TIME_PERIOD') xs.sort(); else if (x === 'AGE') xs.sort((a, b) => ageKey(a) - ageKey(b));
  const sers = serDim ? codes(tb, serDim).filter((c) => !isTotal(c)) : [null];
  const free = [x, ...(serDim ? [serDim] : [])];
  const obs = select(tb, {}, free);
  const get = (xc, sc) => obs.find((o) => o.key[x] === xc && (!serDim || o.key[serDim] === sc));
  const series = sers.map((sc) => ({
    type: x === 'TIME_PERIOD' ? 'line' : 'bar', name: sc ? codeName(tb, serDim, sc, nm) : title,
    data: xs.map((xc) => num(get(xc, sc))),
  }));
  const xn = xs.map((c) => codeName(tb, x, c, nm));
  return panel({
    id: `gen-${idx}-${meta.id}`, title, meta, rel,
    alt: describe(title, xn, series[0].data),
    columns: [nm(tb.dim[x]?.name, x), ...series.map((s) => s.name)],
    rows: xs.map((xc, i) => [xn[i], ...sers.map((sc) => fmt(num(get(xc, sc))))]),
    option: {
      tooltip: { trigger: 'axis', valueFormatter: (v) => fmt(v) },
      legend: serDim ? { top: 0, type: 'scroll' } : undefined,
      grid: { left: 70, right: 20, top: serDim ? 40 : 20, bottom: 40 },
      xAxis: { type: 'category', data: xn }, yAxis: { type: 'value', axisLabel: { formatter: (v) => fmtShort(v), hideOverlap: true } },
      series,
    },
  });
}

/** Panels for every table of a topic that the page did not already show. */
export async function topicTables(rel, topic, shown) {
  const rest = (rel?.tables || []).filter((m) => m.topic === topic && !shown.includes(m.id));
  if (!rest.length) return null;
  const panels = await Promise.all(rest.map((m, i) => guard(genericPanel(m, rel, i), nm(m.name, m.id))));
  return h('div', { class: 'topic-tables' }, h('h2', {}, t('all_tables')), panels);
}

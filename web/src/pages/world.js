// pages/world.js — the UN DESA International Migrant Stock (reference
// release, /api/v1/reference/undesa) with this country among the others:
// a world map and a ranking where the country's own figure is inserted.
import { t, nm, fmt, fmtShort } from '../i18n.js';
import { getJSON, findTable, loadTotals, select, findCode, codes, codeName, isTotal, latestPeriod } from '../api.js';
import { panel, missing, num, describe, dataLinks } from '../charts.js';
import { h } from '../dom.js';

/** Index a reference document shaped like a table response. */
function indexRef(r) {
  r.dim = {};
  for (const d of r.dimensions || []) {
    const dd = typeof d === 'string' ? { id: d, codes: [] } : d;
    dd.byId = new Map((dd.codes || []).map((c) => [c.id, c]));
    r.dim[dd.id] = dd;
  }
  for (const o of r.observations || []) for (const [k, v] of Object.entries(o.key || {})) {
    const d = r.dim[k] || (r.dim[k] = { id: k, codes: [], byId: new Map() });
    if (!d.byId.has(v)) { const c = { id: v }; d.codes.push(c); d.byId.set(v, c); }
  }
  return r;
}

export async function render(root, { rel }) {
  root.append(h('h1', {}, t('nav_world')), h('p', { class: 'lead' }, t('world_lead')));
  const raw = await getJSON('api/v1/reference/undesa');
  if (!raw || !(raw.observations || []).length) { root.append(missing(t('nav_world'), t('ref_missing'))); return; }
  const ref = indexRef(raw);
  const { toNumeric } = await import('../map.js');
  const areaDim = Object.keys(ref.dim).filter((d) => d !== 'TIME_PERIOD')
    .sort((a, b) => ref.dim[b].codes.length - ref.dim[a].codes.length)[0];
  const period = latestPeriod(ref);
  const fixed = period ? { TIME_PERIOD: period } : {};
  const obs = select(ref, fixed, [areaDim]).filter((o) => toNumeric(o.key[areaDim]) && num(o) != null)
    .sort((a, b) => num(b) - num(a));
  const entries = obs.map((o) => ({ code: o.key[areaDim], name: codeName(ref, areaDim, o.key[areaDim], nm), value: num(o) }));
  const meta = { ...raw, id: raw.id || 'UNDESA', dimensions: Object.keys(ref.dim) };
  const src = h('p', { class: 'small' }, [nm(raw.name, ''), raw.source, raw.licence || raw.license].filter(Boolean).join(' · '));

  // this country's own figure from the release (foreign-born stock)
  const stockM = findTable(rel, { ids: ['MIG_STOCK'], topic: 'stock', need: ['MIGRATORY_STATUS'] });
  let own = null;
  if (stockM) {
    const st = await loadTotals(stockM, ['MIGRATORY_STATUS']);
    const fb = findCode(st, 'MIGRATORY_STATUS', 'FB');
    const p = latestPeriod(st);
    const v = fb ? num(select(st, { MIGRATORY_STATUS: fb, TIME_PERIOD: p })[0]) : null;
    if (v != null) own = { code: rel.country.code, name: `${nm(rel.country.name, rel.country.code)} (${t('this_country')}, ${p})`, value: v, own: true };
  }
  let rank = entries.slice(0, 20);
  if (own) rank = [...rank, own].sort((a, b) => b.value - a.value);
  const title = `${t('world_rank')}, ${period || ''}`;
  const rankPanel = panel({
    id: 'world-rank', title, height: Math.max(300, 24 * rank.length + 60),
    alt: describe(title, rank.map((e) => e.name), rank.map((e) => e.value)),
    columns: [nm(ref.dim[areaDim].name, areaDim), t('value')],
    rows: rank.map((e) => [e.name, fmt(e.value)]),
    option: {
      tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' }, valueFormatter: (v) => fmt(v) },
      grid: { left: 230, right: 30, top: 10, bottom: 30 },
      xAxis: { type: 'value', axisLabel: { formatter: (v) => fmtShort(v) } },
      yAxis: { type: 'category', data: rank.map((e) => e.name).reverse(), axisLabel: { width: 220, overflow: 'truncate' } },
      series: [{ type: 'bar', data: rank.map((e) => ({ value: e.value, itemStyle: { color: e.own ? '#d55e00' : '#0b5fa5' },
        label: e.own ? { show: true, position: 'right', formatter: () => fmt(e.value), color: '#b34700', fontWeight: 'bold' } : undefined })).reverse() }],
    },
  });
  const mapPanelEl = panel({
    id: 'world-map', title: `${t('world_map')}, ${period || ''}`, height: 'auto',
    alt: `${t('map_alt')}. ${describe(t('world_map'), entries.map((e) => e.name), entries.map((e) => e.value))}`,
    columns: [nm(ref.dim[areaDim].name, areaDim), t('value')], rows: entries.map((e) => [e.name, fmt(e.value)]),
    render: (el) => import('../map.js').then((m) => m.drawMap(el, entries)),
  });
  for (const p of [rankPanel, mapPanelEl]) p.append(dataLinksRef(meta, rel));
  root.append(src, h('div', { class: 'panels' }, mapPanelEl, rankPanel));
}

/** Links of the reference table: the JSON API document and its metadata. */
function dataLinksRef(meta, rel) {
  const el = dataLinks(meta, rel);
  el.querySelector('.dl-csv')?.setAttribute('href', 'api/v1/reference/undesa');
  el.querySelector('.dl-csv')?.removeAttribute('download');
  el.querySelector('.dl-csv') && (el.querySelector('.dl-csv').textContent = 'JSON');
  el.querySelector('.dl-sdmx')?.remove();
  const c = el.querySelector('.copy');
  if (c) c.dataset.query = new URL('api/v1/reference/undesa', document.baseURI).href;
  return el;
}

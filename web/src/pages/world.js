// pages/world.js — the UN DESA International Migrant Stock (reference
// release, /api/v1/reference/undesa) with this country among the others:
// a world map and rankings (number of migrants, share of the population)
// in which the country's own figures from the release are inserted.
import { t, nm, fmt, fmtShort, lang } from '../i18n.js';
import { getJSON, findTable, loadTotals, select, findCode, latestPeriod } from '../api.js';
import { panel, missing, num, describe, dataLinks } from '../charts.js';
import { h } from '../dom.js';

/**
 * Countries of the reference with their stock and share, for the latest
 * year. Two shapes are read: the `nmdi serve` one ({years, rows: [{code,
 * name, stock: {both: [...]}, percent_of_population: {both: [...]}}]}) and a
 * table response ({dimensions, observations}).
 */
function countriesOf(raw, m) {
  if (Array.isArray(raw.rows)) {
    const years = raw.years || [];
    const last = (arr) => {
      if (!Array.isArray(arr)) return { v: null, y: null };
      for (let i = arr.length - 1; i >= 0; i--) if (arr[i] != null) return { v: +arr[i], y: years[i] ?? null };
      return { v: null, y: null };
    };
    const year = years[years.length - 1];
    const out = raw.rows.filter((r) => m.toNumeric(r.code)).map((r) => {
      const s = last(r.stock?.both), p = last(r.percent_of_population?.both), pop = last(r.population_thousands?.both);
      return { code: r.code, name: m.countryName(r.code, lang()) || nm(r.name, r.code), value: s.y === year ? s.v : null, share: p.y === year ? p.v : null,
        pop: pop.y === year ? pop.v : null };
    });
    return { year, entries: out.filter((e) => e.value != null) };
  }
  // table-shaped
  const dims = (raw.dimensions || []).map((d) => (typeof d === 'string' ? { id: d, codes: [] } : d));
  const area = dims.filter((d) => d.id !== 'TIME_PERIOD').sort((a, b) => (b.codes?.length || 0) - (a.codes?.length || 0))[0]?.id;
  const year = (raw.observations || []).map((o) => o.key?.TIME_PERIOD).filter(Boolean).sort().at(-1);
  const names = new Map((dims.find((d) => d.id === area)?.codes || []).map((c) => [c.id, c.name]));
  const entries = (raw.observations || []).filter((o) => (!year || o.key.TIME_PERIOD === year) && m.toNumeric(o.key[area]) && num(o) != null
    && Object.entries(o.key).every(([k, c]) => k === area || k === 'TIME_PERIOD' || c === '_T'))
    .map((o) => ({ code: o.key[area], name: nm(names.get(o.key[area]), null) || m.countryName(o.key[area], lang()) || o.key[area], value: num(o), share: null }));
  return { year, entries };
}

function rankPanel({ id, title, entries, own, key, unit, note }) {
  const all = entries.filter((e) => e[key] != null).sort((a, b) => b[key] - a[key]);
  let rank = all.slice(0, 20);
  let pos = null;
  if (own && own[key] != null) {
    rank = [...rank, own].sort((a, b) => b[key] - a[key]);
    pos = all.filter((e) => e[key] > own[key]).length + 1;
  }
  const f = (v) => (unit === '%' ? `${fmt(v, 1)} %` : fmt(v));
  const place = pos ? t('rank_note').replace('{n}', fmt(pos)).replace('{m}', fmt(all.length + 1)) : '';
  return panel({
    id, title, height: Math.max(300, 24 * rank.length + 60), note: [note, place].filter(Boolean).join(' '),
    alt: describe(title, rank.map((e) => e.name), rank.map((e) => e[key])),
    columns: [t('country'), unit === '%' ? t('share') : t('value')],
    rows: rank.map((e) => [e.name, f(e[key])]),
    option: {
      tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' }, valueFormatter: (v) => f(v) },
      grid: { left: 230, right: 60, top: 10, bottom: 30 },
      xAxis: { type: 'value', splitNumber: 4, axisLabel: { formatter: (v) => (unit === '%' ? `${v} %` : fmtShort(v)), hideOverlap: true } },
      yAxis: { type: 'category', data: rank.map((e) => e.name).reverse(), axisLabel: { width: 220, overflow: 'truncate' } },
      series: [{ type: 'bar', data: rank.map((e) => ({ value: e[key], itemStyle: { color: e.own ? '#d55e00' : '#0b5fa5' },
        label: e.own ? { show: true, position: 'right', formatter: () => f(e[key]), color: '#b34700', fontWeight: 'bold' } : undefined })).reverse() }],
    },
  });
}

export async function render(root, { rel }) {
  root.append(h('h1', {}, t('nav_world')), h('p', { class: 'lead' }, t('world_lead')));
  const raw = await getJSON('api/v1/reference/undesa');
  const m = await import('../map.js');
  const { year, entries } = raw ? countriesOf(raw, m) : { entries: [] };
  if (!entries.length) { root.append(missing(t('nav_world'), t('ref_missing'))); return; }
  const meta = { id: raw.id || 'UNDESA', name: raw.name || raw.title, source: raw.source, reference_period: String(year ?? ''),
    method: raw.method, description: raw.licence ? `${t('licence')}: ${raw.licence}` : undefined };
  root.append(h('p', { class: 'small' }, [nm(raw.name || raw.title, ''), raw.licence || raw.license].filter(Boolean).join(' · ')));

  // this country's own figures from the release (foreign-born stock and its share)
  const stockM = findTable(rel, { ids: ['MIG_STOCK'], topic: 'stock', need: ['MIGRATORY_STATUS'] });
  let own = null;
  if (stockM) {
    const st = await loadTotals(stockM, ['MIGRATORY_STATUS']);
    const fb = findCode(st, 'MIGRATORY_STATUS', 'FB');
    const p = latestPeriod(st);
    const v = fb ? num(select(st, { MIGRATORY_STATUS: fb, TIME_PERIOD: p })[0]) : null;
    const tot = num(select(st, { MIGRATORY_STATUS: '_T', TIME_PERIOD: p })[0]);
    if (v != null) own = { code: rel?.country?.code, name: `${nm(rel?.country?.name, rel?.country?.code || '') || t('this_country')} (${rel?.country ? `${t('this_country')}, ` : ''}${p})`, value: v, share: tot ? (100 * v) / tot : null, own: true };
  }
  const panels = [
    panel({
      id: 'world-map', title: `${t('world_map')}, ${year ?? ''}`, height: 'auto',
      alt: `${t('map_alt')}. ${describe(t('world_map'), entries.map((e) => e.name), entries.map((e) => e.value))}`,
      columns: [t('country'), t('value'), t('share')],
      rows: [...entries].sort((a, b) => b.value - a.value).map((e) => [e.name, fmt(e.value), e.share == null ? '–' : `${fmt(e.share, 1)} %`]),
      render: (el) => m.drawMap(el, entries),
    }),
    rankPanel({ id: 'world-rank', title: `${t('world_rank')}, ${year ?? ''}`, entries, own, key: 'value' }),
  ];
  // the share ranking leaves out territories under 1 million people (else micro-states fill it)
  const big = entries.filter((e) => e.pop == null || e.pop >= 1000);
  if (entries.some((e) => e.share != null)) {
    panels.push(rankPanel({ id: 'world-share', title: `${t('world_share')}, ${year ?? ''}`, entries: big, own, key: 'share', unit: '%',
      note: entries.some((e) => e.pop != null) ? t('share_note') : '' }));
  }
  for (const p of panels) p.append(refLinks(meta, rel));
  root.append(h('div', { class: 'panels' }, panels));
}

/** Links of the reference table: the JSON API document and its metadata. */
function refLinks(meta, rel) {
  const el = dataLinks(meta, rel);
  const a = el.querySelector('.dl-csv');
  a.setAttribute('href', 'api/v1/reference/undesa');
  a.removeAttribute('download');
  a.textContent = 'JSON';
  el.querySelector('.dl-sdmx')?.remove();
  el.querySelector('.copy').dataset.query = new URL('api/v1/reference/undesa', document.baseURI).href;
  return el;
}

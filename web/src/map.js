// map.js — world choropleth (d3-geo Equal Earth projection over the
// world-atlas 1:110m TopoJSON, served with the portal). Countries are
// matched by ISO 3166-1 alpha-2, alpha-3 or M49 numeric code.
import { geoEqualEarth, geoPath } from 'd3-geo';
import { feature } from 'topojson-client';
import countries from 'i18n-iso-countries';
import zhNames from 'i18n-iso-countries/langs/zh.json';
import enNames from 'i18n-iso-countries/langs/en.json';
import { s, h } from './dom.js';
import { fmt, t } from './i18n.js';

let worldP;
const world = () => (worldP ??= fetch('assets/countries-110m.json').then((r) => {
  if (!r.ok) throw new Error(`world map: HTTP ${r.status}`);
  return r.json();
}).then((topo) => feature(topo, topo.objects.countries)));

/** M49 numeric code (3 digits) of a country code, or null (regions, totals). */
export function toNumeric(code) {
  if (code == null) return null;
  const c = String(code).toUpperCase();
  if (/^\d{1,3}$/.test(c)) { const n = c.padStart(3, '0'); return countries.numericToAlpha3(n) ? n : null; }
  if (/^[A-Z]{2}$/.test(c)) return countries.alpha2ToNumeric(c) || null;
  if (/^[A-Z]{3}$/.test(c)) return countries.alpha3ToNumeric(c) || null;
  return null;
}

countries.registerLocale(zhNames);
countries.registerLocale(enNames);
/** A country's name in a language from its ISO or M49 code (for sources that give English names only). */
export function countryName(code, lang) {
  const n = toNumeric(code);
  return n ? countries.getName(n, lang) || null : null;
}

const BLUES = ['#deebf7', '#b5d4ea', '#84b9dc', '#4f97c9', '#2171b5', '#0b4f8a', '#08306b'];

/**
 * Draw entries [{code, name, value}] into el as an SVG map with a legend.
 * Quantile classes over the non-null values; hover/focus titles give the
 * number (the table behind the map gives every number to screen readers).
 */
export async function drawMap(el, entries, { highlight } = {}) {
  const fc = await world();
  const byNum = new Map();
  for (const e of entries) { const n = toNumeric(e.code); if (n && e.value != null) byNum.set(n, e); }
  const vals = [...byNum.values()].map((e) => e.value).sort((a, b) => a - b);
  const k = Math.min(BLUES.length, Math.max(1, vals.length));
  const breaks = Array.from({ length: k - 1 }, (_, i) => vals[Math.floor(((i + 1) * vals.length) / k)]);
  const cls = (v) => { let i = 0; while (i < breaks.length && v >= breaks[i]) i++; return i; };
  const W = 960, H = 470;
  const proj = geoEqualEarth().fitExtent([[4, 4], [W - 4, H - 4]], { type: 'Sphere' });
  const path = geoPath(proj);
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'map', 'aria-hidden': 'true', focusable: 'false' },
    s('path', { d: path({ type: 'Sphere' }), class: 'sphere' }));
  let shaded = 0;
  for (const f of fc.features) {
    const e = byNum.get(String(f.id).padStart(3, '0'));
    const p = s('path', { d: path(f), class: 'country', fill: e ? BLUES[cls(e.value)] : '#f2f2f2',
      'data-id': f.id, 'data-value': e ? e.value : null, stroke: highlight && e && e.code === highlight ? '#d55e00' : null },
      s('title', {}, `${e?.name || f.properties.name}: ${e ? fmt(e.value) : t('no_data')}`));
    if (e) shaded++;
    svg.append(p);
  }
  el.replaceChildren(svg);
  const legend = h('ul', { class: 'legend', 'aria-hidden': 'true' },
    BLUES.slice(0, k).map((c, i) => h('li', {}, h('span', { class: 'swatch', style: `background:${c}` }),
      i === 0 ? `< ${fmt(breaks[0] ?? vals[vals.length - 1])}` : i === k - 1 ? `≥ ${fmt(breaks[i - 1])}` : `${fmt(breaks[i - 1])} – ${fmt(breaks[i])}`)),
    h('li', {}, h('span', { class: 'swatch', style: 'background:#f2f2f2' }), t('no_data')));
  el.append(legend);
  el.dataset.rendered = '1';
  el.dataset.shaded = String(shaded);
}

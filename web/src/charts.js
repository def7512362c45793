// charts.js — chart panels: every chart of the portal is drawn in a panel
// with its title, an accessible description, the data table behind it,
// download links (CSV, SDMX), "copy API query" and the table's metadata.
import { t, nm, fmt } from './i18n.js';
import { csvUrl, sdmxUrl, tableUrl } from './api.js';
import { h } from './dom.js';

let echartsP;
export const loadECharts = () => (echartsP ??= import('./echarts-setup.js').then((m) => m.default));

// Colour-blind-safe palette (Okabe–Ito), enough contrast on white.
export const PALETTE = ['#0b5fa5', '#d55e00', '#009e73', '#cc79a7', '#e69f00', '#56b4e9', '#7a5195', '#444444'];

/** Charts drawn on the page: id → {option, rows} (read by tests and resize). */
window.nmdiCharts = window.nmdiCharts || {};
const live = new Set();
let resizeHooked = false;

/**
 * A panel. opts: {id, title, meta (table metadata), rel, filter, note,
 * columns: [header...], rows: [[cell...]], option (ECharts option) or
 * render(el) (custom drawing), alt (text), height}.
 * Returns the panel element; the chart is drawn asynchronously.
 */
export function panel(opts) {
  const { id, title, meta, rel, filter, note, columns = [], rows = [], alt } = opts;
  const chartEl = h('div', { class: 'chart', role: 'img', 'aria-label': alt || `${t('chart_of')} ${title}`, id: `chart-${id}`,
    style: opts.height === 'auto' ? null : `height:${opts.height || 320}px` });
  const table = h('table', { class: 'data', 'data-table': id },
    h('caption', {}, title),
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, rows.map((r) => h('tr', {}, r.map((c, i) => (i === 0 ? h('th', { scope: 'row' }, c) : h('td', {}, c)))))));
  const parts = [h('h3', { id: `h-${id}` }, title)];
  if (note) parts.push(h('p', { class: 'note' }, note));
  parts.push(chartEl);
  parts.push(h('details', { class: 'table-wrap' }, h('summary', {}, t('data_table')), h('div', { class: 'scroll' }, table)));
  if (meta) parts.push(dataLinks(meta, rel, filter));
  const sec = h('section', { class: 'panel', 'aria-labelledby': `h-${id}`, 'data-panel': id }, parts);
  window.nmdiCharts[id] = { option: opts.option, rows, table: meta?.id };
  if (opts.render) {
    Promise.resolve(opts.render(chartEl)).catch((e) => { chartEl.textContent = `${t('error')}: ${e.message}`; });
  } else if (opts.option) {
    Promise.all([loadECharts(), whenConnected(chartEl)]).then(([echarts, ok]) => {
      if (!ok) return;
      const c = echarts.init(chartEl, null, { renderer: 'svg' });
      c.setOption({ aria: { enabled: true, label: { enabled: true } }, color: PALETTE, animation: false,
        ...opts.option });
      live.add(c);
      chartEl.dataset.rendered = '1';
      if (!resizeHooked) {
        resizeHooked = true;
        window.addEventListener('resize', () => { for (const x of live) if (!x.isDisposed()) x.resize(); });
      }
    });
  }
  return sec;
}

/** Resolves true once el is in the document (the page is attached after it is built), false after ~10 s. */
function whenConnected(el) {
  return new Promise((resolve) => {
    let n = 0;
    const tick = () => (el.isConnected ? resolve(true) : ++n > 600 ? resolve(false) : requestAnimationFrame(tick));
    tick();
  });
}

/** Dispose the charts of the page being left. */
export function disposeCharts() {
  for (const c of live) c.dispose();
  live.clear();
  window.nmdiCharts = {};
}

/** Download/API links and metadata of a table. */
export function dataLinks(meta, rel, filter) {
  const api = new URL(tableUrl(meta.id, filter), document.baseURI).href;
  const status = h('span', { class: 'status', role: 'status', 'aria-live': 'polite' });
  const qbox = h('input', { class: 'query', readonly: '', value: api, 'aria-label': t('copy_api'), hidden: '' });
  const copy = h('button', { type: 'button', class: 'copy', 'data-query': api, onclick: async (e) => {
    const q = e.currentTarget.dataset.query;
    qbox.value = q;
    try { await navigator.clipboard.writeText(q); status.textContent = t('copied'); } catch {
      qbox.hidden = false; qbox.select(); status.textContent = t('copy_failed');
    }
  } }, t('copy_api'));
  const md = [
    ['m_id', meta.id], ['m_desc', nm(meta.description)], ['m_source', meta.source], ['m_method', meta.method],
    ['m_period', meta.reference_period], ['m_dc', meta.disclosure_control], ['m_unit', meta.unit],
    ['m_release', rel?.version],
  ].filter(([, v]) => v);
  return h('div', { class: 'links' },
    h('a', { href: csvUrl(meta.id), download: `${meta.id}.csv`, class: 'dl-csv' }, t('dl_csv')),
    h('a', { href: sdmxUrl(rel, meta, filter), class: 'dl-sdmx' }, t('dl_sdmx')),
    copy, status, qbox,
    h('details', { class: 'meta' }, h('summary', {}, t('metadata')),
      h('dl', {}, md.flatMap(([k, v]) => [h('dt', {}, t(k)), h('dd', {}, v)]))));
}

/** Alt text of a series: the highest and lowest categories. */
export function describe(title, cats, vals) {
  const pairs = cats.map((c, i) => [c, vals[i]]).filter(([, v]) => v != null);
  if (!pairs.length) return title;
  pairs.sort((a, b) => b[1] - a[1]);
  const hi = pairs[0], lo = pairs[pairs.length - 1];
  return `${t('chart_of')} ${title}: ${t('highest')} ${hi[0]} (${fmt(hi[1])}), ${t('lowest')} ${lo[0]} (${fmt(lo[1])}).`;
}

/** The value of an observation as a number or null (withheld). */
export const num = (o) => (o && o.value != null && !Number.isNaN(+o.value) ? +o.value : null);

/** A "not published in this release" placeholder for a panel. */
export function missing(title, why) {
  return h('section', { class: 'panel missing', 'data-missing': '1' }, h('h3', {}, title), h('p', {}, why || t('not_published')));
}

/** A panel promise that cannot break its page: a failure becomes a note in place of the panel. */
export function guard(p, title) {
  return Promise.resolve(p).catch((e) => {
    console.warn(`${title}: ${e.message}`);
    return missing(title, `${t('error')}: ${e.message}`);
  });
}

// pages/sdg.js — SDG indicators by migratory status: for every table of
// topic "sdg" with a MIGRATORY_STATUS dimension, native-born vs
// foreign-born and citizens vs non-citizens side by side, with the 95%
// confidence interval drawn and the quality flags shown.
import { t, nm, fmt, fmtShort } from '../i18n.js';
import { loadTotals, select, findCode, codes, codeName, isTotal, dimIds, latestPeriod } from '../api.js';
import { panel, missing, num, guard } from '../charts.js';
import { h } from '../dom.js';
import { topicTables } from './common.js';

const FLAGGED = (o) => !o || o.value == null || ['U', 'M', 'P'].includes(o.obs_status) || (o.conf_status && o.conf_status !== 'F');
const flags = (o) => [o?.obs_status && o.obs_status !== 'A' ? o.obs_status : null, o?.conf_status && o.conf_status !== 'F' ? o.conf_status : null].filter(Boolean).join(' ');

/** Categories in the order native/foreign-born, then citizen/non-citizen, then the rest, then total. */
function order(tb) {
  const kinds = ['NB', 'FB', 'CIT', 'NCIT'].map((k) => findCode(tb, 'MIGRATORY_STATUS', k)).filter(Boolean);
  const rest = codes(tb, 'MIGRATORY_STATUS').filter((c) => !kinds.includes(c) && !isTotal(c));
  const tot = codes(tb, 'MIGRATORY_STATUS').filter((c) => c === '_T');
  return [...kinds, ...rest, ...tot];
}
const colorOf = (tb, c) => (c === findCode(tb, 'MIGRATORY_STATUS', 'FB') || c === findCode(tb, 'MIGRATORY_STATUS', 'NCIT') ? '#d55e00'
  : c === '_T' ? '#666666' : '#0b5fa5');

function indicatorPanel(rel, meta, tb, sex) {
  const title = nm(meta.name, meta.id);
  const period = latestPeriod(tb);
  const cats = order(tb);
  const fixed = { TIME_PERIOD: period, ...(tb.dim.SEX ? { SEX: sex } : {}) };
  const obs = cats.map((c) => select(tb, { ...fixed, MIGRATORY_STATUS: c })[0]);
  const names = cats.map((c) => (c === '_T' ? t('total') : codeName(tb, 'MIGRATORY_STATUS', c, nm)));
  const sexName = tb.dim.SEX ? codeName(tb, 'SEX', sex, nm) : '';
  const sub = [period, sex !== '_T' ? sexName : null].filter(Boolean).join(', ');
  const id = `sdg-${meta.id}`;
  const pairs = names.map((n, i) => `${n} ${fmt(num(obs[i]))}${obs[i]?.ci_low != null ? ` (${fmt(+obs[i].ci_low)}–${fmt(+obs[i].ci_high)})` : ''}${flags(obs[i]) ? ` [${flags(obs[i])}]` : ''}`);
  return panel({
    id, title: `${title}, ${sub}`, meta, rel, filter: { SEX: tb.dim.SEX ? sex : undefined },
    alt: `${title}, ${sub}: ${pairs.join('; ')}.`,
    columns: [nm(tb.dim.MIGRATORY_STATUS.name, 'MIGRATORY_STATUS'), `${t('value')} (${meta.unit || ''})`, t('ci'), t('se'), t('cv'), t('obs_status')],
    rows: obs.map((o, i) => [names[i], fmt(num(o)), o?.ci_low != null ? `${fmt(+o.ci_low)} – ${fmt(+o.ci_high)}` : '', fmt(o?.se ?? null), fmt(o?.cv ?? null), flags(o) || (o ? '' : t('withheld'))]),
    option: {
      tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' },
        formatter: (ps) => { const i = ps[0].dataIndex; return `${names[i]}<br>${pairs[i].slice(names[i].length + 1)}`; } },
      grid: { left: 60, right: 20, top: 30, bottom: 40 },
      xAxis: { type: 'category', data: names, axisLabel: { interval: 0, width: 110, overflow: 'break' } },
      yAxis: { type: 'value', name: ['PC', 'PT'].includes(meta.unit) ? '%' : meta.unit || '', axisLabel: { formatter: (v) => fmtShort(v), hideOverlap: true } },
      series: [
        { type: 'bar', name: title, barWidth: '45%', data: obs.map((o, i) => ({
          value: num(o), itemStyle: { color: colorOf(tb, cats[i]), opacity: FLAGGED(o) ? 0.45 : 1, borderColor: FLAGGED(o) ? '#1a1a1a' : undefined, borderType: 'dashed', borderWidth: FLAGGED(o) ? 1 : 0 },
          label: { show: true, position: 'insideBottom', formatter: () => flags(o), color: '#1a1a1a', fontWeight: 'bold' },
        })) },
        { type: 'custom', name: t('ci'), z: 10, data: obs.map((o, i) => (o?.ci_low != null ? [i, +o.ci_low, +o.ci_high] : [i, null, null])),
          encode: { x: 0, y: [1, 2] },
          renderItem: (params, api) => {
            if (api.value(1) == null || Number.isNaN(api.value(1))) return null;
            const lo = api.coord([api.value(0), api.value(1)]), hi = api.coord([api.value(0), api.value(2)]);
            const w = api.size([1, 0])[0] * 0.12;
            const st = { stroke: '#1a1a1a', lineWidth: 1.6 };
            return { type: 'group', children: [
              { type: 'line', shape: { x1: lo[0], y1: lo[1], x2: hi[0], y2: hi[1] }, style: st },
              { type: 'line', shape: { x1: lo[0] - w, y1: lo[1], x2: lo[0] + w, y2: lo[1] }, style: st },
              { type: 'line', shape: { x1: hi[0] - w, y1: hi[1], x2: hi[0] + w, y2: hi[1] }, style: st }] };
          } },
      ],
    },
  });
}

async function indicator(rel, meta) {
  const keep = ['MIGRATORY_STATUS', ...(dimIds(meta).includes('SEX') ? ['SEX'] : [])];
  const tb = await loadTotals(meta, keep);
  if (!tb || !tb.dim.MIGRATORY_STATUS) return missing(nm(meta.name, meta.id));
  const wrap = h('div', { class: 'indicator' });
  let cur = indicatorPanel(rel, meta, tb, '_T');
  if (tb.dim.SEX) {
    const sel = h('select', { id: `sex-${meta.id}`, onchange: (e) => {
      const np = indicatorPanel(rel, meta, tb, e.target.value);
      cur.replaceWith(np); cur = np;
    } }, codes(tb, 'SEX').sort((a, b) => (a === '_T' ? -1 : b === '_T' ? 1 : a.localeCompare(b)))
      .map((c) => h('option', { value: c }, c === '_T' ? t('total') : codeName(tb, 'SEX', c, nm))));
    wrap.append(h('div', { class: 'controls' }, h('label', { for: `sex-${meta.id}` }, t('sex')), sel));
  }
  wrap.append(cur);
  return wrap;
}

export async function render(root, { rel }) {
  root.append(h('h1', {}, t('nav_sdg')), h('p', { class: 'lead' }, t('sdg_lead')), h('p', { class: 'small' }, t('quality')));
  const metas = (rel?.tables || []).filter((m) => m.topic === 'sdg' && dimIds(m).includes('MIGRATORY_STATUS'));
  if (!metas.length) { root.append(missing(t('nav_sdg'))); return; }
  root.append(h('div', { class: 'panels' }, await Promise.all(metas.map((m) => guard(indicator(rel, m), nm(m.name, m.id))))));
  const more = await topicTables(rel, 'sdg', metas.map((m) => m.id));
  if (more) root.append(more);
}

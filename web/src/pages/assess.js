// pages/assess.js — capacity and data-needs assessment (/api/v1/assessment):
// scores by component on a radar chart, their history, gaps and next
// steps, and the data-needs register. Shows a note when none is published.
import { t, nm, fmt, fmtShort } from '../i18n.js';
import { getJSON } from '../api.js';
import { panel, missing } from '../charts.js';
import { h } from '../dom.js';

const list = (x) => (Array.isArray(x) ? x : x == null ? [] : [x]);
/** Scores of a history entry as {componentId: score}. */
function scoresOf(e) {
  if (e.scores && !Array.isArray(e.scores)) return e.scores;
  const out = {};
  for (const c of list(e.components || e.scores)) out[c.id] = c.score;
  return out;
}

/** A gap: a string, a {en, zh} name, or {question, text, score} from `nmdi assess`. */
const gapText = (g) => (typeof g === 'string' ? g : g?.text ? `${g.question ? `${g.question}: ` : ''}${nm(g.text, '')}` : nm(g, ''));
/** Recommendations of a component: given, or those of its gaps. */
const recs = (c) => (c.recommendations || c.next_steps || list(c.gaps).map((g) => g?.recommendation).filter(Boolean));

export async function render(root) {
  root.append(h('h1', {}, t('nav_assess')), h('p', { class: 'lead' }, t('assess_lead')));
  const raw = await getJSON('api/v1/assessment');
  const a = raw?.latest ? { ...raw.latest, history: raw.history ?? raw.latest.history, needs: raw.needs ?? raw.latest.needs } : raw;
  if (!a || !list(a.components).length) { root.append(missing(t('nav_assess'), t('assess_missing'))); return; }
  const comps = list(a.components);
  // component scores are 0..100 in `nmdi assess` reports; a small scale (0..4, 0..5) is also accepted
  const top = Math.max(...comps.map((c) => c.score ?? 0), ...list(a.history).flatMap((e) => Object.values(scoresOf(e))).filter((x) => typeof x === 'number'));
  const max = comps.find((c) => c.max)?.max ?? (top > 5 ? 100 : a.scale?.max ?? 5);
  const names = comps.map((c) => nm(c.name, c.id));
  // history: [{date, components: [{id, score}]}] draws a chart; a list of names (dates) is listed
  const hist = list(a.history).filter((e) => e && typeof e === 'object' && e.date).sort((x, y) => String(x.date).localeCompare(String(y.date)));
  const histNames = list(a.history).filter((e) => typeof e === 'string').sort();
  const prev = hist.filter((e) => e.date !== a.date).at(-1);
  const title = `${t('radar')} (${String(a.date || '').slice(0, 10)})`;
  const series = [{ value: comps.map((c) => c.score ?? 0), name: String(a.date || '').slice(0, 10), areaStyle: { opacity: 0.25 } }];
  if (prev) series.push({ value: comps.map((c) => scoresOf(prev)[c.id] ?? null), name: String(prev.date).slice(0, 10), lineStyle: { type: 'dashed' } });
  const radar = panel({
    id: 'assess-radar', title, height: 420, note: a.overall != null ? `${t('overall')}: ${fmt(a.overall)} / ${fmt(max)}` : null,
    alt: `${title}: ${comps.map((c, i) => `${names[i]} ${fmt(c.score)}/${fmt(max)}`).join('; ')}.`,
    columns: [t('component'), t('score'), ...(prev ? [String(prev.date).slice(0, 10)] : [])],
    rows: comps.map((c, i) => [names[i], fmt(c.score), ...(prev ? [fmt(scoresOf(prev)[c.id] ?? null)] : [])]),
    option: {
      tooltip: {}, legend: { bottom: 0 },
      radar: { indicator: comps.map((c, i) => ({ name: names[i], max: c.max ?? max })), radius: '52%', center: ['50%', '52%'], axisName: { color: '#1a1a1a', width: 120, overflow: 'break' } },
      series: [{ type: 'radar', data: series }],
    },
  });
  const panels = [radar];
  if (hist.length) {
    const dates = hist.map((e) => String(e.date).slice(0, 10));
    panels.push(panel({
      id: 'assess-history', title: t('history'), height: 360,
      columns: [t('assessed_on'), ...names], rows: hist.map((e, i) => [dates[i], ...comps.map((c) => fmt(scoresOf(e)[c.id] ?? null))]),
      option: {
        tooltip: { trigger: 'axis' }, legend: { top: 0, type: 'scroll' }, grid: { left: 40, right: 20, top: 70, bottom: 40 },
        xAxis: { type: 'category', data: dates }, yAxis: { type: 'value', min: 0, max },
        series: comps.map((c, i) => ({ type: 'line', name: names[i], data: hist.map((e) => scoresOf(e)[c.id] ?? null), symbolSize: 8 })),
      },
    }));
  }
  if (!hist.length && histNames.length) {
    panels.push(h('section', { class: 'panel', 'data-panel': 'assess-history' }, h('h3', {}, t('history')),
      h('ul', { class: 'plain' }, histNames.map((d) => h('li', {}, d)))));
  }
  root.append(h('div', { class: 'panels' }, panels));
  root.append(h('section', { class: 'panel', 'data-panel': 'assess-gaps' }, h('h3', {}, `${t('gaps')} · ${t('next_steps')}`),
    h('div', { class: 'scroll' }, h('table', { class: 'data wide' },
      h('thead', {}, h('tr', {}, [t('component'), t('score'), t('gaps'), t('next_steps')].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, comps.map((c, i) => h('tr', {}, h('th', { scope: 'row' }, names[i]), h('td', {}, `${fmt(c.score)} / ${fmt(c.max ?? max)}`),
        h('td', {}, h('ul', { class: 'plain' }, list(c.gaps).map((g) => h('li', {}, gapText(g))))),
        h('td', {}, h('ul', { class: 'plain' }, recs(c).map((g) => h('li', {}, nm(g, ''))))))))))));
  if (list(a.next_steps).length) {
    root.append(h('section', { class: 'panel', 'data-panel': 'assess-steps' }, h('h3', {}, t('next_steps')),
      h('ol', {}, list(a.next_steps).map((x) => h('li', {}, nm(x, ''))))));
  }
  const needs = list(a.needs?.questions ?? a.needs);
  if (needs.length) {
    root.append(h('section', { class: 'panel', 'data-panel': 'assess-needs' }, h('h3', {}, t('needs')),
      h('div', { class: 'scroll' }, h('table', { class: 'data wide' },
        h('thead', {}, h('tr', {}, [t('question'), t('indicators'), t('status')].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, needs.map((q) => h('tr', {}, h('th', { scope: 'row' }, nm(q.question, q.id)),
          h('td', {}, list(q.indicators).map((x) => (typeof x === 'string' ? x : `${x.id}${x.status ? ` (${x.status})` : ''}`)).join(', ')),
          h('td', {}, q.status || (q.answered === true ? '✓' : q.answered === false ? list(q.gaps).map((g) => nm(g, '')).join('; ') : '')))))))));
  }
}

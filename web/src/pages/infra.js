// pages/infra.js — the infrastructure itself (/api/v1/infrastructure):
// agencies, the sources each supplies (record type, coverage, last update,
// rows) and the data-sharing agreements, drawn as a diagram.
import { t, nm, fmt, fmtShort } from '../i18n.js';
import { getJSON } from '../api.js';
import { panel, missing } from '../charts.js';
import { h } from '../dom.js';

const idOf = (x) => (typeof x === 'string' ? x : x?.id);
const day = (s) => (s ? String(s).slice(0, 10) : '');

export async function render(root, { rel }) {
  root.append(h('h1', {}, t('nav_infra')), h('p', { class: 'lead' }, t('infra_lead')));
  const inf = await getJSON('api/v1/infrastructure');
  const agencies = inf?.agencies || [], sources = inf?.sources || [], agreements = inf?.agreements || [];
  if (!agencies.length && !sources.length) { root.append(missing(t('nav_infra'), t('infra_missing'))); return; }
  const aname = (id) => nm(agencies.find((a) => a.id === id)?.name, id);

  // Diagram: agencies on a circle around the coordinating agency, each
  // agency's sources on an outer ring next to it; agreements as arrows.
  // sources may name an agency absent from the list: add it
  for (const s of sources) if (idOf(s.agency) && !agencies.some((a) => a.id === idOf(s.agency))) agencies.push({ id: idOf(s.agency), name: idOf(s.agency) });
  const hubId = agencies.find((a) => /coord/i.test(a.role || ''))?.id
    || [...agencies].sort((a, b) => agreements.filter((g) => idOf(g.to) === b.id).length - agreements.filter((g) => idOf(g.to) === a.id).length)[0]?.id;
  const others = agencies.filter((a) => a.id !== hubId);
  const nodes = [], links = [];
  const pos = {};
  if (hubId) pos[hubId] = [0, 0];
  others.forEach((a, i) => { const ang = (2 * Math.PI * i) / Math.max(1, others.length) - Math.PI / 2; pos[a.id] = [300 * Math.cos(ang), 220 * Math.sin(ang)]; });
  for (const a of agencies) nodes.push({ id: `a:${a.id}`, name: nm(a.name, a.id), x: pos[a.id][0], y: pos[a.id][1], symbolSize: a.id === hubId ? 70 : 52, category: 0,
    label: { show: true, width: 130, overflow: 'break', fontWeight: 'bold' } });
  const byAgency = {};
  for (const s of sources) (byAgency[idOf(s.agency)] ||= []).push(s);
  for (const [aid, ss] of Object.entries(byAgency)) {
    const [ax, ay] = pos[aid] || [0, 0];
    const base = aid === hubId ? Math.PI / 2 : Math.atan2(ay, ax);
    ss.forEach((s, j) => {
      const ang = base + (j - (ss.length - 1) / 2) * (aid === hubId ? 1.1 : 0.55);
      const r = aid === hubId ? 120 : 120;
      nodes.push({ id: `s:${s.id}`, name: nm(s.name, s.id), x: ax + r * Math.cos(ang), y: ay + r * 0.8 * Math.sin(ang), symbolSize: 18, category: 1,
        label: { show: true, fontSize: 11, width: 120, overflow: 'break', position: 'bottom' } });
      links.push({ source: `a:${aid}`, target: `s:${s.id}`, lineStyle: { color: '#9aa5b1', width: 1 } });
    });
  }
  for (const g of agreements) {
    links.push({ source: `a:${idOf(g.from)}`, target: `a:${idOf(g.to)}`, symbol: ['none', 'arrow'], symbolSize: 10,
      lineStyle: { color: '#d55e00', width: 2, curveness: 0.15 }, label: { show: false, formatter: nm(g.name, '') }, name: nm(g.name, '') });
  }
  const title = t('diagram');
  const diagram = panel({
    id: 'infra-diagram', title, height: 560,
    alt: `${title}: ${agencies.length} ${t('agencies')}, ${sources.length} ${t('sources')}, ${agreements.length} ${t('agreements')}. `
      + agreements.map((g) => `${aname(idOf(g.from))} → ${aname(idOf(g.to))}: ${nm(g.name, '')}`).join('; '),
    columns: [t('from'), t('to'), t('about'), t('since')],
    rows: agreements.map((g) => [aname(idOf(g.from)), aname(idOf(g.to)), nm(g.name, ''), day(g.since)]),
    option: {
      tooltip: { formatter: (p) => (p.dataType === 'edge' ? (p.data.name || '') : p.name) },
      legend: { top: 0, data: [t('agencies'), t('sources')] },
      series: [{ type: 'graph', layout: 'none', roam: true, data: nodes, links, edgeSymbol: ['none', 'none'],
        categories: [{ name: t('agencies'), itemStyle: { color: '#0b5fa5' } }, { name: t('sources'), itemStyle: { color: '#009e73' } }],
        label: { color: '#1a1a1a' }, top: 50, bottom: 40, left: 80, right: 80 }],
    },
  });
  const table = (caption, cols, rows, attr) => h('section', { class: 'panel', ...attr }, h('h3', {}, caption),
    h('div', { class: 'scroll' }, h('table', { class: 'data wide' }, h('thead', {}, h('tr', {}, cols.map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, rows.map((r) => h('tr', {}, r.map((c, i) => (i === 0 ? h('th', { scope: 'row' }, c) : h('td', {}, c)))))))));
  root.append(diagram,
    h('div', { class: 'panels' },
      table(t('sources'), [t('sources'), t('agency'), t('record_type'), t('coverage'), t('last_load'), t('rows')],
        sources.map((s) => [nm(s.name, s.id), aname(idOf(s.agency)), s.record_type || '', s.coverage || '', day(s.last_load), fmt(s.rows ?? null)]), { 'data-panel': 'infra-sources' }),
      table(t('agreements'), [t('from'), t('to'), t('about'), t('since')],
        agreements.map((g) => [aname(idOf(g.from)), aname(idOf(g.to)), nm(g.name, ''), day(g.since)]), { 'data-panel': 'infra-agreements' })));
}

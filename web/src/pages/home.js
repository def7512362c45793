// pages/home.js — headline figures: migrant stock and its share of the
// population, immigration, emigration and net migration of the latest year,
// and the top countries of birth; each with its definition one click away.
import { t, nm, fmt, inYear } from '../i18n.js';
import { findTable, loadTotals, select, findCode, latestPeriod, codeName, isTotal, csvUrl, sdmxUrl } from '../api.js';
import { num, dataLinks } from '../charts.js';
import { h } from '../dom.js';
import { overTime } from './flows.js';

function card(key, value, sub, meta, rel, extra) {
  return h('article', { class: 'card', 'data-figure': key },
    h('h2', {}, t(key)),
    value === undefined ? h('p', { class: 'missing' }, t('not_published'))
      : h('p', { class: 'big', 'data-value': value ?? '' }, value == null ? '–' : fmt(value, key === 'share' ? 1 : 0) + (key === 'share' ? ' %' : '')),
    sub ? h('p', { class: 'sub' }, sub) : null,
    extra || null,
    h('details', { class: 'def' }, h('summary', {}, t('definition')),
      h('p', {}, t(key + '_def')),
      meta ? h('p', { class: 'small' }, `${meta.id}: ${nm(meta.name)}. ${meta.source || ''}`) : null,
      meta ? dataLinks(meta, rel) : null));
}

export async function render(root, { rel }) {
  const stockM = findTable(rel, { ids: ['MIG_STOCK'], topic: 'stock', need: ['MIGRATORY_STATUS'] });
  const popM = findTable(rel, { ids: ['POP_TOTAL'] });
  const flowM = findTable(rel, { ids: ['MIG_FLOW'], topic: 'flow', need: ['FLOW'] });
  const cobM = findTable(rel, { ids: ['MIG_STOCK_COB'], topic: 'stock', need: ['COUNTRY_OF_BIRTH'] });
  // a table that cannot be loaded counts as absent (the other figures still show)
  const soft = (p) => p.catch((e) => { console.warn(e.message); return null; });
  const [st, pop, fl, cob] = await Promise.all([
    soft(loadTotals(stockM, ['MIGRATORY_STATUS'])), soft(loadTotals(popM)), soft(loadTotals(flowM, ['FLOW'])),
    soft(loadTotals(cobM, ['COUNTRY_OF_BIRTH', 'MIGRATORY_STATUS'])),
  ]);
  root.append(h('h1', {}, [nm(rel?.country?.name, ''), t('title')].filter(Boolean).join(' — ')), h('p', { class: 'lead' }, t('home_lead')));
  const cards = h('div', { class: 'cards' });
  root.append(cards);

  // stock and share
  let stock, share, period;
  if (st) {
    period = latestPeriod(st);
    const fb = findCode(st, 'MIGRATORY_STATUS', 'FB');
    stock = fb ? num(select(st, { MIGRATORY_STATUS: fb, TIME_PERIOD: period })[0]) : undefined;
    let total = num(select(st, { MIGRATORY_STATUS: '_T', TIME_PERIOD: period })[0]);
    if (total == null && pop) total = num(select(pop, { TIME_PERIOD: period })[0]);
    share = stock != null && total ? (100 * stock) / total : (stock === undefined ? undefined : null);
  }
  cards.append(card('stock', stock, period ? inYear(period) : '', stockM, rel));
  cards.append(card('share', share, period ? `${t('of_total')}, ${period}` : '', stockM, rel));

  // flows of the latest year
  let imm, emi, net, fper, prov;
  if (fl) {
    fper = latestPeriod(fl);
    const ic = findCode(fl, 'FLOW', 'IMM'), ec = findCode(fl, 'FLOW', 'EMI'), nc = findCode(fl, 'FLOW', 'NET');
    const io = select(fl, { FLOW: ic, TIME_PERIOD: fper })[0], eo = select(fl, { FLOW: ec, TIME_PERIOD: fper })[0];
    imm = num(io); emi = num(eo);
    // the published net migration when the table has it (after disclosure control it may differ
    // slightly from the difference of the two published figures), else the difference
    const no = nc ? select(fl, { FLOW: nc, TIME_PERIOD: fper })[0] : null;
    net = no && num(no) != null ? num(no) : imm != null && emi != null ? imm - emi : null;
    prov = [io, eo].some((o) => o?.obs_status === 'P');
  }
  const fsub = fper ? `${inYear(fper)} · ${prov ? t('provisional') : t('final')}` : '';
  cards.append(card('imm', fl ? imm : undefined, fsub, flowM, rel));
  cards.append(card('emi', fl ? emi : undefined, fsub, flowM, rel));
  cards.append(card('net', fl ? net : undefined, fsub, flowM, rel));

  // top countries of birth
  let list;
  if (cob) {
    const fb = findCode(cob, 'MIGRATORY_STATUS', 'FB');
    const own = rel?.country?.code;
    const obs = select(cob, fb ? { MIGRATORY_STATUS: fb } : {}, ['COUNTRY_OF_BIRTH'])
      .filter((o) => !isTotal(o.key.COUNTRY_OF_BIRTH) && o.key.COUNTRY_OF_BIRTH !== own && num(o) != null)
      .sort((a, b) => num(b) - num(a)).slice(0, 5);
    const max = Math.max(1, ...obs.map(num));
    list = h('ol', { class: 'toplist' }, obs.map((o) => h('li', { 'data-code': o.key.COUNTRY_OF_BIRTH, 'data-value': num(o) },
      h('span', { class: 'name' }, codeName(cob, 'COUNTRY_OF_BIRTH', o.key.COUNTRY_OF_BIRTH, nm)),
      h('span', { class: 'bar', style: `width:${(70 * num(o)) / max}%`, 'aria-hidden': 'true' }),
      h('span', { class: 'num' }, fmt(num(o))))));
  }
  cards.append(card('top_cob', cob ? null : undefined, cob ? inYear(latestPeriod(cob) || '') : '', cobM, rel, list));
  const tc = cards.lastChild.querySelector('.big'); if (tc) tc.remove();
  if (fl) root.append(h('div', { class: 'panels home-panels' }, await overTime(rel, flowM).catch(() => null)));

  // the release's catalogue: every table, with its downloads (tables without a topic too)
  const tables = rel?.tables || [];
  if (tables.length) {
    root.append(h('section', { class: 'panel catalogue', 'data-panel': 'catalogue' }, h('h2', {}, t('catalogue')),
      h('div', { class: 'scroll' }, h('table', { class: 'data wide' },
        h('thead', {}, h('tr', {}, [t('m_id'), t('m_desc'), t('topic'), t('m_period'), ''].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, tables.map((m) => h('tr', { 'data-table-id': m.id }, h('th', { scope: 'row' }, m.id), h('td', {}, nm(m.name, m.id)),
          h('td', {}, m.topic ? t(`topic_${m.topic}`) : ''), h('td', {}, m.reference_period || ''),
          h('td', {}, h('a', { href: csvUrl(m.id), download: `${m.id}.csv` }, 'CSV'), ' · ', h('a', { href: sdmxUrl(rel, m) }, 'SDMX')))))))));
  }
}

// main.js — the portal's shell: routing (#/<lang>/<page>, or ?lang=zh),
// header with navigation and language switch, release line, and the pages.
import { setLang, lang, t, nm } from './i18n.js';
import { releaseInfo, getJSON } from './api.js';
import { disposeCharts } from './charts.js';
import { h } from './dom.js';
import * as home from './pages/home.js';
import * as stock from './pages/stock.js';
import * as flows from './pages/flows.js';
import * as sdg from './pages/sdg.js';
import * as world from './pages/world.js';
import * as mobile from './pages/mobile.js';
import * as infra from './pages/infra.js';
import * as assess from './pages/assess.js';

const PAGES = { home, stock, flows, sdg, world, mobile, infra, assess };
const NAV = ['home', 'stock', 'flows', 'sdg', 'world', 'mobile', 'infra', 'assess'];

function route() {
  const m = location.hash.match(/^#\/(en|zh)(?:\/([a-z]+))?/);
  const q = new URLSearchParams(location.search).get('lang');
  const l = m ? m[1] : (q === 'zh' ? 'zh' : 'en');
  const page = m && PAGES[m[2]] ? m[2] : 'home';
  return { lang: l, page };
}
export const link = (page, l = lang()) => `#/${l}/${page}`;

let seq = 0;
async function show() {
  const r = route();
  setLang(r.lang);
  const my = ++seq;
  document.title = `${t('nav_' + r.page)} · ${t('title')}`;
  const nav = document.getElementById('nav');
  nav.replaceChildren(h('ul', {}, NAV.map((p) => h('li', {},
    h('a', { href: link(p), 'aria-current': p === r.page ? 'page' : null, 'data-page': p }, t('nav_' + p))))));
  // the assessment is optional: hide its entry when the server has none
  getJSON('api/v1/assessment').then((a) => { if (!a) nav.querySelector('a[data-page="assess"]')?.closest('li')?.setAttribute('hidden', ''); }).catch(() => {});
  const other = r.lang === 'en' ? 'zh' : 'en';
  const sw = document.getElementById('lang');
  sw.replaceChildren(h('a', { href: link(r.page, other), lang: other === 'zh' ? 'zh-CN' : 'en',
    'aria-label': t('lang_label'), id: 'lang-switch' }, t('lang_other')));
  document.getElementById('skip').textContent = t('skip');
  document.getElementById('footer').textContent = t('footer');
  const main = document.getElementById('main');
  disposeCharts();
  main.replaceChildren(h('p', { class: 'loading' }, t('loading')));
  main.setAttribute('aria-busy', 'true');
  try {
    const rel = await releaseInfo();
    if (my !== seq) return;
    const brand = document.getElementById('brand');
    brand.replaceChildren(h('a', { href: link('home') },
      h('span', { class: 'country' }, nm(rel?.country?.name, rel?.country?.code || '')), ' ',
      h('span', { class: 'site' }, t('title'))));
    document.getElementById('release').textContent = rel
      ? `${t('release')} ${rel.version}${rel.created ? ` · ${t('created')} ${rel.created.slice(0, 10)}` : ''}` : '';
    const frag = h('div', { class: `page page-${r.page}`, 'data-page': r.page });
    const ctx = { rel, lang: r.lang, link };
    await PAGES[r.page].render(frag, ctx);
    if (my !== seq) return;
    main.replaceChildren(frag);
  } catch (e) {
    if (my !== seq) return;
    main.replaceChildren(h('p', { class: 'error', role: 'alert' }, `${t('error')}: ${e.message}`));
    console.error(e);
  } finally {
    if (my === seq) { main.removeAttribute('aria-busy'); main.dataset.ready = r.page + '/' + r.lang; }
  }
}

document.getElementById('skip').addEventListener('click', (e) => {
  e.preventDefault();
  document.getElementById('main').focus();
});
window.addEventListener('hashchange', () => { show(); document.getElementById('main').focus({ preventScroll: true }); });
show();

// i18n.js — the portal's words in English and Chinese, and number/date
// formatting. Names of tables, dimensions and codes come from the API
// (name.en / name.zh); only the portal's own interface words live here.
export const LANGS = ['en', 'zh'];

const S = {
  en: {
    title: 'Migration statistics',
    skip: 'Skip to content',
    nav_home: 'Home', nav_stock: 'Migrant stock', nav_flows: 'Flows', nav_sdg: 'SDG indicators',
    nav_world: 'World view', nav_mobile: 'Mobile data', nav_infra: 'Infrastructure', nav_assess: 'Assessment',
    lang_other: '中文', lang_label: 'Switch language to Chinese',
    release: 'Release', created: 'published', loading: 'Loading…',
    not_published: 'Not published in this release.',
    error: 'Could not load the data',
    // home
    home_lead: 'Official statistics on international migration, produced by the national migration data infrastructure.',
    stock: 'International migrant stock', stock_def: 'Persons living in the country who were born abroad (the foreign-born population), at the reference date. UN Recommendations on Statistics of International Migration: the international migrant stock is the set of international migrants present at a point in time; in practice the foreign-born population.',
    share: 'Share of population', share_def: 'Foreign-born population divided by the total resident population at the same reference date, in per cent.',
    imm: 'Immigration', imm_def: 'Persons who arrived during the year and became usual residents for at least 12 months (long-term immigrants), counted under the residence rule of the border data (12 out of 16 months). Figures of the latest year are provisional until the 16-month window has closed.',
    emi: 'Emigration', emi_def: 'Usual residents who left during the year for at least 12 months (long-term emigrants), under the same residence rule. Figures of the latest year are provisional.',
    net: 'Net migration', net_def: 'Immigration minus emigration in the same year.',
    top_cob: 'Top countries of birth', top_cob_def: 'Foreign-born residents by their country of birth (largest groups).',
    definition: 'Definition', period: 'Period', provisional: 'provisional', final: 'final',
    of_total: 'of the population',
    // panels
    data_table: 'Data table', metadata: 'Metadata', dl_csv: 'Download CSV', dl_sdmx: 'SDMX data',
    copy_api: 'Copy API query', copied: 'API query copied', copy_failed: 'Copy failed — the query is selected below',
    m_id: 'Table', m_source: 'Source', m_method: 'Method', m_period: 'Reference period', m_dc: 'Disclosure control',
    m_release: 'Release version', m_unit: 'Unit', m_desc: 'Description',
    value: 'Value', se: 'Standard error', cv: 'CV %', ci: '95% confidence interval', obs_status: 'Status', conf_status: 'Confidentiality',
    withheld: 'withheld', total: 'Total', other: 'Other', all_tables: 'All tables on this topic',
    chart_of: 'Chart of', highest: 'highest', lowest: 'lowest',
    // stock
    stock_lead: 'Who the international migrants living in the country are: age and sex, country of birth, citizenship, region and where they live.',
    pyramid: 'Population pyramid: foreign-born and native-born', male: 'Male', female: 'Female',
    native_born: 'Native-born', foreign_born: 'Foreign-born', age: 'Age',
    by_cob: 'Foreign-born population by country of birth', by_cit: 'Foreign citizens by country of citizenship',
    by_region: 'Foreign-born population by region of birth (UN M49)', by_area: 'International migrant stock by area of the country',
    region: 'Region', map_alt: 'World map shaded by the number of persons by country',
    no_data: 'no data', persons: 'persons',
    // flows
    flows_lead: 'Immigration and emigration over time, by citizenship group, returning citizens, origins and destinations.',
    flow_time: 'Immigration and emigration over time', flow_cit: 'Immigration and emigration by citizenship group',
    returning: 'Returning citizens (immigration of citizens)', flow_partner: 'Origin of immigrants and destination of emigrants',
    prov_note: 'Hatched bars (periods marked P) are provisional (OBS_STATUS P); the others are final.',
    // sdg
    sdg_lead: 'SDG indicators disaggregated by migratory status: native-born and foreign-born, citizens and non-citizens, side by side, with 95% confidence intervals and quality flags.',
    sex: 'Sex', quality: 'Blue: native-born and citizens; orange: foreign-born and non-citizens; grey: total. Whiskers: 95% confidence interval. Quality flags: U = low reliability (CV over the limit), E = estimate, P = provisional, M = withheld; lighter bars are flagged.',
    // world
    world_lead: 'The UN DESA International Migrant Stock, loaded as a reference release, with this country among the others.',
    world_rank: 'International migrant stock by country of destination', world_map: 'International migrant stock in the world',
    this_country: 'this country', country: 'Country', world_share: 'International migrants as a share of the population (%)', share_note: 'Countries and areas of 1 million people or more.', rank_note: 'This country ranks {n} of {m}.', licence: 'Licence', ref_missing: 'The UN DESA reference is not loaded in this infrastructure.',
    // mobile
    mobile_lead: 'Timely indicators from mobile-phone presence data (aggregated, privacy-protected) beside the figures from border data.',
    mobile_vs: 'Mobile-based and border-based figures', mobile_based: 'Mobile-based', border_based: 'Border-based',
    mobile_limits: 'Method and limits',
    // infra
    infra_lead: 'The national migration data infrastructure itself: agencies, the sources each supplies, coverage, last update and the data-sharing agreements between them.',
    agencies: 'Agencies', sources: 'Sources', agreements: 'Data-sharing agreements', diagram: 'The infrastructure as a diagram',
    agency: 'Agency', record_type: 'Record type', last_load: 'Last update', rows: 'Rows', coverage: 'Coverage',
    from: 'From', to: 'To', about: 'Data shared', since: 'Since', infra_missing: 'The infrastructure description is not published.',
    // assess
    assess_lead: 'Capacity and data-needs self-assessment, organised by the components of the national migration data infrastructure.',
    radar: 'Scores by component', history: 'Progress over time', component: 'Component', score: 'Score',
    gaps: 'Gaps', next_steps: 'Recommended next steps', assess_missing: 'No assessment has been published yet.',
    needs: 'Policy questions and the indicators that answer them', question: 'Policy question', indicators: 'Indicators', status: 'Status',
    assessed_on: 'Assessed on', overall: 'Overall',
    catalogue: 'All tables of this release', topic: 'Topic', topic_stock: 'Migrant stock', topic_flow: 'Flows', topic_sdg: 'SDG indicators', topic_mobile: 'Mobile data', topic_reference: 'Reference',
    footer: 'Data: the current release of the national migration data infrastructure (nmdi). Open data; reuse with attribution.',
  },
  zh: {
    title: '移民统计',
    skip: '跳到正文',
    nav_home: '首页', nav_stock: '移民存量', nav_flows: '移民流量', nav_sdg: '可持续发展目标指标',
    nav_world: '世界视角', nav_mobile: '手机数据', nav_infra: '数据基础设施', nav_assess: '能力评估',
    lang_other: 'English', lang_label: '切换到英文',
    release: '发布版本', created: '发布于', loading: '加载中…',
    not_published: '本次发布未包含此表。',
    error: '数据加载失败',
    home_lead: '由国家移民数据基础设施编制的国际移民官方统计。',
    stock: '国际移民存量', stock_def: '在参考日期居住在本国、出生于外国的人口（外国出生人口）。根据联合国国际移民统计建议，国际移民存量指某一时点在本国的国际移民总数，实践中通常以外国出生人口衡量。',
    share: '占总人口比例', share_def: '同一参考日期外国出生人口除以常住总人口，以百分比表示。',
    imm: '移入', imm_def: '当年抵达并成为常住居民至少12个月的人（长期移入者），按边境数据的居住规则（16个月中住满12个月）计算。最近一年的数字在16个月窗口结束前为初步数。',
    emi: '移出', emi_def: '当年离境至少12个月的常住居民（长期移出者），采用相同的居住规则。最近一年的数字为初步数。',
    net: '净移民', net_def: '同一年的移入人数减去移出人数。',
    top_cob: '主要出生国', top_cob_def: '外国出生居民按出生国分组（人数最多的群体）。',
    definition: '定义', period: '时期', provisional: '初步数', final: '最终数',
    of_total: '占总人口',
    data_table: '数据表', metadata: '元数据', dl_csv: '下载 CSV', dl_sdmx: 'SDMX 数据',
    copy_api: '复制 API 查询', copied: '已复制 API 查询', copy_failed: '复制失败——查询已在下方选中',
    m_id: '表', m_source: '来源', m_method: '方法', m_period: '参考期', m_dc: '披露控制',
    m_release: '发布版本', m_unit: '单位', m_desc: '说明',
    value: '数值', se: '标准误', cv: '变异系数 %', ci: '95% 置信区间', obs_status: '状态', conf_status: '保密状态',
    withheld: '不予公布', total: '合计', other: '其他', all_tables: '本主题的所有表',
    chart_of: '图表：', highest: '最高', lowest: '最低',
    stock_lead: '居住在本国的国际移民是谁：年龄和性别、出生国、国籍、地区以及居住地。',
    pyramid: '人口金字塔：外国出生与本国出生', male: '男', female: '女',
    native_born: '本国出生', foreign_born: '外国出生', age: '年龄',
    by_cob: '外国出生人口按出生国', by_cit: '外国公民按国籍', by_region: '外国出生人口按出生地区（联合国 M49）', by_area: '国际移民存量按国内地区',
    region: '地区', map_alt: '按国家人数着色的世界地图',
    no_data: '无数据', persons: '人',
    flows_lead: '移入和移出的时间变化、按公民身份分组、回流公民、来源地和目的地。',
    flow_time: '移入和移出的时间变化', flow_cit: '按公民身份分组的移入和移出',
    returning: '回流公民（本国公民移入）', flow_partner: '移入者来源国和移出者目的国',
    prov_note: '带斜线的柱（标有 P 的时期）为初步数（OBS_STATUS P），其余为最终数。',
    sdg_lead: '按移民身份分列的可持续发展目标指标：本国出生与外国出生、公民与非公民并列显示，附95%置信区间和质量标记。',
    sex: '性别', quality: '蓝色：本国出生和公民；橙色：外国出生和非公民；灰色：合计。误差线：95%置信区间。质量标记：U = 可靠性低（变异系数超过限值），E = 估计值，P = 初步数，M = 不予公布；颜色较浅的柱带有标记。',
    world_lead: '作为参考发布加载的联合国经社部国际移民存量数据，显示本国在各国中的位置。',
    world_rank: '按目的国分列的国际移民存量', world_map: '世界国际移民存量',
    this_country: '本国', country: '国家', world_share: '国际移民占人口比例（%）', share_note: '人口100万及以上的国家和地区。', rank_note: '本国排名：第{n}位（共{m}个）。', licence: '许可', ref_missing: '本基础设施未加载联合国经社部参考数据。',
    mobile_lead: '来自手机位置数据（已汇总并保护隐私）的及时指标，与边境数据的数字并列。',
    mobile_vs: '基于手机数据与基于边境数据的数字', mobile_based: '基于手机数据', border_based: '基于边境数据',
    mobile_limits: '方法与局限',
    infra_lead: '国家移民数据基础设施本身：各机构、各机构提供的数据源、覆盖范围、最近更新以及机构之间的数据共享协议。',
    agencies: '机构', sources: '数据源', agreements: '数据共享协议', diagram: '基础设施示意图',
    agency: '机构', record_type: '记录类型', last_load: '最近更新', rows: '行数', coverage: '覆盖范围',
    from: '提供方', to: '接收方', about: '共享数据', since: '起始', infra_missing: '基础设施说明尚未公布。',
    assess_lead: '按国家移民数据基础设施各组成部分组织的能力与数据需求自评估。',
    radar: '各组成部分得分', history: '随时间的进展', component: '组成部分', score: '得分',
    gaps: '差距', next_steps: '建议的后续步骤', assess_missing: '尚未公布评估结果。',
    needs: '政策问题及回答这些问题的指标', question: '政策问题', indicators: '指标', status: '状态',
    assessed_on: '评估日期', overall: '总体',
    catalogue: '本次发布的所有表', topic: '主题', topic_stock: '移民存量', topic_flow: '移民流量', topic_sdg: '可持续发展目标指标', topic_mobile: '手机数据', topic_reference: '参考数据',
    footer: '数据：国家移民数据基础设施（nmdi）的当前发布版本。开放数据，注明出处即可再利用。',
  },
};

let current = 'en';
export function setLang(l) { current = LANGS.includes(l) ? l : 'en'; document.documentElement.lang = current === 'zh' ? 'zh-CN' : 'en'; }
export function lang() { return current; }
export function t(key) { return S[current][key] ?? S.en[key] ?? key; }
/** A multilingual name {en, zh} (or a plain string) in the current language. */
export function nm(x, fallback = '') {
  if (x == null) return fallback;
  if (typeof x === 'string') return x;
  return x[current] ?? x.en ?? fallback;
}
const nf = {};
/** Format a number for display; null/NaN shows as a dash (withheld or missing). */
export function fmt(v, digits) {
  if (v == null || Number.isNaN(v)) return '–';
  const d = digits ?? (Math.abs(v) < 100 && !Number.isInteger(v) ? 1 : 0);
  const key = current + d + (digits == null ? 'a' : 'f');
  nf[key] ??= new Intl.NumberFormat(current === 'zh' ? 'zh-CN' : 'en-GB',
    digits == null ? { maximumFractionDigits: d } : { minimumFractionDigits: d, maximumFractionDigits: d });
  return nf[key].format(v);
}
/** Compact number for axis labels (12K, 3.4M; 1.2万 in Chinese). */
export function fmtShort(v) {
  if (v == null || Number.isNaN(v)) return '';
  const key = current + 'c';
  nf[key] ??= new Intl.NumberFormat(current === 'zh' ? 'zh-CN' : 'en-GB', { notation: 'compact', maximumFractionDigits: 1 });
  return Math.abs(v) < 1000 ? fmt(v) : nf[key].format(v);
}
/** "in 2025" / "2025年" */
export const inYear = (p) => (current === 'zh' ? `${p}${/^\d{4}$/.test(p) ? '年' : ''}` : `in ${p}`);

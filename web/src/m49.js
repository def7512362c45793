// m49.js — names of the UN M49 regions and sub-regions (used when a release
// gives countries with their M49 parent code but no region table).
const R = {
  '002': ['Africa', '非洲'], '019': ['Americas', '美洲'], '142': ['Asia', '亚洲'], '150': ['Europe', '欧洲'], '009': ['Oceania', '大洋洲'],
  '015': ['Northern Africa', '北非'], '202': ['Sub-Saharan Africa', '撒哈拉以南非洲'], '011': ['Western Africa', '西非'],
  '014': ['Eastern Africa', '东非'], '017': ['Middle Africa', '中非'], '018': ['Southern Africa', '南部非洲'],
  '029': ['Caribbean', '加勒比'], '013': ['Central America', '中美洲'], '005': ['South America', '南美洲'],
  '021': ['Northern America', '北美洲'], '419': ['Latin America and the Caribbean', '拉丁美洲和加勒比'],
  '143': ['Central Asia', '中亚'], '030': ['Eastern Asia', '东亚'], '035': ['South-eastern Asia', '东南亚'],
  '034': ['Southern Asia', '南亚'], '145': ['Western Asia', '西亚'], '151': ['Eastern Europe', '东欧'],
  '154': ['Northern Europe', '北欧'], '039': ['Southern Europe', '南欧'], '155': ['Western Europe', '西欧'],
  '053': ['Australia and New Zealand', '澳大利亚和新西兰'], '054': ['Melanesia', '美拉尼西亚'],
  '057': ['Micronesia', '密克罗尼西亚'], '061': ['Polynesia', '波利尼西亚'],
};
/** {en, zh} name of an M49 region code, or null. */
export function m49Name(code) {
  const r = R[String(code).padStart(3, '0')];
  return r ? { en: r[0], zh: r[1] } : null;
}

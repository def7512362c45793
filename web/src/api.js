// api.js — the portal's only door to data: the public JSON API of
// `nmdi serve` (docs/api.md). Requests are cached for the page's life.
// Tables are found by id first, then by their metadata (topic and
// dimensions), so the portal works with whatever tables a release holds.
const cache = new Map();

/** GET a JSON document; resolves to null when the server answers 404. */
export function getJSON(path) {
  if (!cache.has(path)) {
    cache.set(path, fetch(path, { headers: { Accept: 'application/json' } }).then(async (r) => {
      if (r.status === 404) return null;
      if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
      return r.json();
    }));
  }
  return cache.get(path);
}

export const releaseInfo = () => getJSON('api/v1/release');

/** Dimension ids of a table entry (release.json lists strings, a table response objects). */
export function dimIds(meta) {
  return (meta?.dimensions || []).map((d) => (typeof d === 'string' ? d : d.id));
}

/**
 * Find a table of the release: the first of `ids` present, else the first
 * table whose topic is `topic` and which has every dimension of `need` and
 * none of `without`. Returns the release.json entry or null.
 */
export function findTable(rel, { ids = [], topic, need = [], without = [] } = {}) {
  const tables = rel?.tables || [];
  for (const id of ids) {
    const m = tables.find((x) => x.id === id);
    if (m) return m;
  }
  if (!topic && !need.length) return null;
  return tables.find((x) => (!topic || x.topic === topic)
    && need.every((d) => dimIds(x).includes(d))
    && !without.some((d) => dimIds(x).includes(d))) || null;
}

/** The query string of a filter {DIM: code | [codes]} as the API takes it. */
export function queryString(filter = {}) {
  const parts = Object.entries(filter).filter(([, v]) => v != null && v !== '')
    // '+' between codes is sent as %2B: a literal '+' in a query string means a space to many servers
    .map(([k, v]) => `${encodeURIComponent(k)}=${[].concat(v).map(encodeURIComponent).join('%2B')}`);
  return parts.length ? `?${parts.join('&')}` : '';
}
export const tableUrl = (id, filter) => `api/v1/tables/${encodeURIComponent(id)}${queryString(filter)}`;
export const csvUrl = (id) => `api/v1/tables/${encodeURIComponent(id)}.csv`;
// Dimension order of each table as the server gives it (the SDMX key order).
const dimOrder = new Map();
/**
 * SDMX REST data query for the table as SDMX-CSV: flowRef agency,id,latest;
 * the key has one part per dimension of the table (in the server's order),
 * empty for "any", and is "all" without a filter.
 */
export function sdmxUrl(rel, meta, filter = {}) {
  const dims = dimOrder.get(meta.id) || dimIds(meta);
  const key = dims.some((d) => filter[d] != null)
    ? dims.map((d) => (filter[d] == null ? '' : [].concat(filter[d]).join('+'))).join('.') : 'all';
  return `rest/data/${encodeURIComponent(rel?.agency || 'all')},${encodeURIComponent(meta.id)},latest/${key}?format=csvdata`;
}

/**
 * Load a table (optionally filtered on the server) and index it: t.dim[id]
 * = {id, name, codes, byId}; observations keep the API's fields.
 */
export async function loadTable(id, filter) {
  const t = await getJSON(tableUrl(id, filter));
  if (!t) return null;
  if (t._indexed) return t;
  t.dim = {};
  t.dimList = (t.dimensions || []).map((d) => (typeof d === 'string' ? { id: d, codes: [] } : d));
  dimOrder.set(id, t.dimList.map((d) => d.id));
  for (const d of t.dimList) {
    d.byId = new Map((d.codes || []).map((c) => [c.id, c]));
    t.dim[d.id] = d;
  }
  // codes seen in observations but not listed in the dimension
  for (const o of t.observations || []) {
    for (const [k, v] of Object.entries(o.key || {})) {
      const d = t.dim[k] || (t.dim[k] = { id: k, codes: [], byId: new Map() });
      if (!d.byId.has(v)) { const c = { id: v }; d.codes.push(c); d.byId.set(v, c); }
    }
  }
  t._indexed = true;
  return t;
}

/** The name of a code in the current language (falls back to the code). */
export function codeName(t, dim, code, nm) {
  const c = t?.dim?.[dim]?.byId.get(code);
  return nm(c?.name, code === '_T' ? null : code) ?? code;
}

/** Codes of a dimension that occur in the table, in the API's order. */
export const codes = (t, dim) => (t?.dim?.[dim]?.codes || []).map((c) => c.id);
/** Latest TIME_PERIOD of a table (lexical order works for YYYY, YYYY-MM, YYYY-Qn). */
export function latestPeriod(t) {
  const p = codes(t, 'TIME_PERIOD').filter((c) => c !== '_T').sort();
  return p[p.length - 1];
}

/**
 * Observations with the codes of `fixed` (a code or a list per dimension),
 * any code on the dimensions in `free`, and on every other dimension the
 * total "_T" (or, without a total, the latest period / the first code).
 */
export function select(t, fixed = {}, free = []) {
  if (!t) return [];
  const want = {};
  for (const d of Object.keys(t.dim)) {
    if (free.includes(d)) continue;
    if (fixed[d] != null) { want[d] = new Set([].concat(fixed[d])); continue; }
    const cs = codes(t, d);
    if (cs.includes('_T')) want[d] = new Set(['_T']);
    else if (d === 'TIME_PERIOD') want[d] = new Set([latestPeriod(t)]);
    else if (cs.length) want[d] = new Set([cs[0]]);
  }
  return (t.observations || []).filter((o) => Object.entries(want).every(([d, s]) => s.has(o.key?.[d])));
}
/** The value of the single observation matching fixed (others at total), or null. */
export function value1(t, fixed = {}) {
  const o = select(t, fixed)[0];
  return o ? o : null;
}
/** Whether a code is a total or special SDMX code rather than a category. */
export const isTotal = (c) => c === '_T' || c === '_Z' || c === '_U' || c === '_X' || c === '_O';

// How the portal recognises the categories it needs, whatever the exact codes
// (documented in docs/portal.md): by code first, then by English name.
const KINDS = {
  FB: [/^(FB|FOR_BORN|FOREIGN_BORN|B_FOR|FOREIGN-BORN)$/i, /foreign[- ]born/i],
  NB: [/^(NB|NAT_BORN|NATIVE_BORN|B_NAT|NATIVE-BORN)$/i, /native[- ]born/i],
  CIT: [/^(CIT|NAT|CITIZEN|CITIZENS|C_NAT)$/i, /^(national )?citizens?$/i],
  NCIT: [/^(NCIT|NONCIT|NON_CIT|NOT_CIT|FOR|FRGN|FOREIGN|C_FOR)$/i, /non[- ]citizens?|^foreign(ers| citizens)?$/i],
  IMM: [/^(IMM|IN|ARR)$/i, /^immigration$/i],
  EMI: [/^(EMI|OUT|DEP)$/i, /^emigration$/i],
  NET: [/^NET$/i, /^net migration$/i],
  RET: [/^RET$/i, /^returning citizens$/i],
};
/** The code of a dimension that means `kind` (FB, NB, CIT, NCIT, IMM, EMI), or undefined. */
export function findCode(t, dim, kind) {
  const cs = t?.dim?.[dim]?.codes || [];
  const [re, reName] = KINDS[kind];
  return (cs.find((c) => re.test(c.id)) || cs.find((c) => reName.test(c.name?.en || '')))?.id;
}

/**
 * Load a table with every dimension except `keep` (and TIME_PERIOD) fixed
 * at the total "_T" on the server side, plus the codes of `fixed`; falls
 * back to the whole table when the server has no such totals.
 */
export async function loadTotals(meta, keep = [], fixed = {}) {
  if (!meta) return null;
  const filter = {};
  for (const d of dimIds(meta)) {
    if (d === 'TIME_PERIOD' || keep.includes(d)) continue;
    filter[d] = fixed[d] ?? '_T';
  }
  const t = await loadTable(meta.id, filter);
  if (t && (t.observations || []).length) return t;
  return loadTable(meta.id);
}

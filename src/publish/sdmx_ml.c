/*
 * sdmx_ml.c — SDMX-ML 2.1 writers, streaming through libxml2's xmlTextWriter:
 * the structure message (dataflows, codelists, concept scheme, data structure
 * definitions), the generic data message, the structure-specific data message
 * and the DSD-specific XML schema that structure-specific data needs (its
 * DataSet carries xsi:type="<dsd-namespace>:DataSetType"). Every message
 * validates against the official SDMX-ML 2.1 schemas (tests/conformance/
 * sdmx_validate.sh runs xmllint over each kind).
 */
#include "internal.h"

#include <libxml/xmlwriter.h>
#include <stdlib.h>
#include <string.h>

#define NS_MES "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/message"
#define NS_STR "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/structure"
#define NS_COM "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/common"
#define NS_GEN "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/data/generic"
#define NS_SS "http://www.sdmx.org/resources/sdmxml/schemas/v2_1/data/structurespecific"
#define NS_XSI "http://www.w3.org/2001/XMLSchema-instance"
#define NS_XS "http://www.w3.org/2001/XMLSchema"
#define CS_ID "CS_NMDI"

/* A writer that remembers the first failure, so the code reads straight. */
typedef struct xw {
    xmlTextWriterPtr w;
    int bad;
} xw;

static void st(xw *x, const char *name)
{
    if (xmlTextWriterStartElement(x->w, BAD_CAST name) < 0)
        x->bad = 1;
}
static void en(xw *x)
{
    if (xmlTextWriterEndElement(x->w) < 0)
        x->bad = 1;
}
static void at(xw *x, const char *name, const char *v)
{
    if (v && xmlTextWriterWriteAttribute(x->w, BAD_CAST name, BAD_CAST v) < 0)
        x->bad = 1;
}
static void el_text(xw *x, const char *name, const char *text)
{
    if (xmlTextWriterWriteElement(x->w, BAD_CAST name, BAD_CAST text) < 0)
        x->bad = 1;
}

static int xw_open(xw *x, FILE *f)
{
    x->bad = 0;
    xmlOutputBufferPtr ob = xmlOutputBufferCreateFile(f, NULL);
    x->w = ob ? xmlNewTextWriter(ob) : NULL;
    if (!x->w)
        return -1;
    xmlTextWriterSetIndent(x->w, 1);
    xmlTextWriterSetIndentString(x->w, BAD_CAST "  ");
    if (xmlTextWriterStartDocument(x->w, NULL, "UTF-8", NULL) < 0)
        x->bad = 1;
    return 0;
}

static int xw_close(xw *x, nmdi_error *err)
{
    if (xmlTextWriterEndDocument(x->w) < 0)
        x->bad = 1;
    if (xmlTextWriterFlush(x->w) < 0)
        x->bad = 1;
    xmlFreeTextWriter(x->w);
    x->w = NULL;
    if (x->bad)
        return nmdi_error_set(err, NMDI_EINTERNAL, "writing SDMX-ML failed");
    return 0;
}

static void names(xw *x, const char *elem, nmdi_text t)
{
    if (!t.en || !*t.en)
        return;
    st(x, elem);
    at(x, "xml:lang", "en");
    if (xmlTextWriterWriteString(x->w, BAD_CAST t.en) < 0)
        x->bad = 1;
    en(x);
    if (t.zh && *t.zh) {
        st(x, elem);
        at(x, "xml:lang", "zh");
        if (xmlTextWriterWriteString(x->w, BAD_CAST t.zh) < 0)
            x->bad = 1;
        en(x);
    }
}

static void header(xw *x, const nmdi_release *r, const char *kind)
{
    st(x, "mes:Header");
    char id[128];
    snprintf(id, sizeof id, "%s_%s_%s", kind, r->agency, r->version);
    el_text(x, "mes:ID", id);
    el_text(x, "mes:Test", "false");
    el_text(x, "mes:Prepared", r->created);
    st(x, "mes:Sender");
    at(x, "id", r->agency);
    if (r->maintainer)
        names(x, "com:Name", (nmdi_text){r->maintainer, r->maintainer});
    en(x);
}

static void ref(xw *x, const char *elem, const char *id, const char *agency, const char *version,
                const char *parent, const char *package, const char *cls)
{
    st(x, elem);
    st(x, "Ref");
    at(x, "id", id);
    if (parent) {
        at(x, "maintainableParentID", parent);
        at(x, "maintainableParentVersion", version);
    }
    at(x, "agencyID", agency);
    if (!parent)
        at(x, "version", version);
    at(x, "package", package);
    at(x, "class", cls);
    en(x);
    en(x);
}

static void maintainable(xw *x, const char *elem, const nmdi_release *r, const char *id,
                         nmdi_text name, const char *urn_class)
{
    st(x, elem);
    at(x, "id", id);
    char urn[512];
    snprintf(urn, sizeof urn, "urn:sdmx:org.sdmx.infomodel.%s=%s:%s(%s)", urn_class, r->agency,
             id, r->sdmx_version);
    at(x, "urn", urn);
    at(x, "agencyID", r->agency);
    at(x, "version", r->sdmx_version);
    at(x, "isFinal", "true");
    names(x, "com:Name", name);
}

static void concept_ref(xw *x, const nmdi_release *r, const char *concept)
{
    ref(x, "str:ConceptIdentity", concept, r->agency, r->sdmx_version, CS_ID, "conceptscheme",
        "Concept");
}

static void enumeration(xw *x, const nmdi_release *r, const char *clid)
{
    st(x, "str:LocalRepresentation");
    ref(x, "str:Enumeration", clid, r->agency, r->sdmx_version, NULL, "codelist", "Codelist");
    en(x);
}

static void text_format(xw *x, const char *type)
{
    st(x, "str:LocalRepresentation");
    st(x, "str:TextFormat");
    at(x, "textType", type);
    en(x);
    en(x);
}

static void write_dsd(xw *x, const nmdi_release *r, const nmdi_rel_table *t, int stub)
{
    maintainable(x, "str:DataStructure", r, t->dsd_id, t->name, "datastructure.DataStructure");
    if (stub) {
        en(x);
        return;
    }
    st(x, "str:DataStructureComponents");
    st(x, "str:DimensionList");
    at(x, "id", "DimensionDescriptor");
    char pos[24];
    for (size_t d = 0; d < t->ndims; d++) {
        int time = d == t->ndims - 1;
        st(x, time ? "str:TimeDimension" : "str:Dimension");
        at(x, "id", t->dims[d]);
        snprintf(pos, sizeof pos, "%zu", d + 1);
        at(x, "position", pos);
        concept_ref(x, r, t->dims[d]);
        if (time)
            text_format(x, "ObservationalTimePeriod");
        else
            enumeration(x, r, r->codelists[t->codelist[d]].id);
        en(x);
    }
    en(x);
    st(x, "str:AttributeList");
    at(x, "id", "AttributeDescriptor");
    for (int a = 0; a < NMDI_NATTRS; a++) {
        st(x, "str:Attribute");
        at(x, "id", nmdi_sdmx_attr_ids[a]);
        at(x, "assignmentStatus", a == NMDI_ATTR_OBS_STATUS ? "Mandatory" : "Conditional");
        concept_ref(x, r, nmdi_sdmx_attr_ids[a]);
        if (a == NMDI_ATTR_OBS_STATUS)
            enumeration(x, r, "CL_OBS_STATUS");
        else if (a == NMDI_ATTR_CONF_STATUS)
            enumeration(x, r, "CL_CONF_STATUS");
        else if (a == NMDI_ATTR_UNIT_MEASURE)
            enumeration(x, r, "CL_UNIT");
        else
            text_format(x, a == NMDI_ATTR_N ? "Long" : "Double");
        st(x, "str:AttributeRelationship");
        st(x, "str:PrimaryMeasure");
        st(x, "Ref");
        at(x, "id", "OBS_VALUE");
        en(x);
        en(x);
        en(x);
        en(x);
    }
    en(x);
    st(x, "str:MeasureList");
    at(x, "id", "MeasureDescriptor");
    st(x, "str:PrimaryMeasure");
    at(x, "id", "OBS_VALUE");
    concept_ref(x, r, "OBS_VALUE");
    text_format(x, "Double");
    en(x);
    en(x);
    en(x); /* components */
    en(x); /* DataStructure */
}

int nmdi_sdmx_write_structure(FILE *f, const nmdi_release *r, const nmdi_sdmx_selection *sel,
                              nmdi_error *err)
{
    xw x;
    if (xw_open(&x, f) != 0)
        return nmdi_error_set(err, NMDI_EINTERNAL, "cannot create XML writer");
    int stub = sel && sel->stubs;
    st(&x, "mes:Structure");
    at(&x, "xmlns:mes", NS_MES);
    at(&x, "xmlns:str", NS_STR);
    at(&x, "xmlns:com", NS_COM);
    header(&x, r, "STRUCTURE");
    en(&x);
    st(&x, "mes:Structures");
    size_t nf = 0, nd = 0, nc = 0;
    for (size_t i = 0; i < r->ntables; i++) {
        nf += !sel || sel->dataflows[i];
        nd += !sel || sel->dsds[i];
    }
    for (size_t i = 0; i < r->ncodelists; i++)
        nc += !sel || sel->codelists[i];
    if (nf) {
        st(&x, "str:Dataflows");
        for (size_t i = 0; i < r->ntables; i++) {
            if (sel && !sel->dataflows[i])
                continue;
            const nmdi_rel_table *t = &r->tables[i];
            maintainable(&x, "str:Dataflow", r, t->id, t->name, "datastructure.Dataflow");
            if (!stub) {
                names(&x, "com:Description", t->description);
                ref(&x, "str:Structure", t->dsd_id, r->agency, r->sdmx_version, NULL,
                    "datastructure", "DataStructure");
            }
            en(&x);
        }
        en(&x);
    }
    if (nc) {
        st(&x, "str:Codelists");
        for (size_t i = 0; i < r->ncodelists; i++) {
            if (sel && !sel->codelists[i])
                continue;
            const nmdi_sdmx_codelist *cl = &r->codelists[i];
            maintainable(&x, "str:Codelist", r, cl->id, cl->name, "codelist.Codelist");
            for (size_t j = 0; j < cl->ncodes && !stub; j++) {
                st(&x, "str:Code");
                at(&x, "id", cl->codes[j]);
                names(&x, "com:Name", cl->names[j]);
                en(&x);
            }
            en(&x);
        }
        en(&x);
    }
    if (!sel || sel->concepts) {
        st(&x, "str:Concepts");
        nmdi_text csn = {"Concepts of the national migration statistics", "国家移民统计概念"};
        maintainable(&x, "str:ConceptScheme", r, CS_ID, csn, "conceptscheme.ConceptScheme");
        for (size_t j = 0; j < r->nconcepts && !stub; j++) {
            st(&x, "str:Concept");
            at(&x, "id", r->concepts[j].id);
            names(&x, "com:Name", r->concepts[j].name);
            en(&x);
        }
        en(&x);
        en(&x);
    }
    if (nd) {
        st(&x, "str:DataStructures");
        for (size_t i = 0; i < r->ntables; i++)
            if (!sel || sel->dsds[i])
                write_dsd(&x, r, &r->tables[i], stub);
        en(&x);
    }
    en(&x); /* Structures */
    en(&x);
    return xw_close(&x, err);
}

/* ---- data -------------------------------------------------------------------- */
char *nmdi_sdmx_ss_namespace(const nmdi_release *r, const nmdi_rel_table *t,
                             const char *dim_at_obs, char *buf, size_t size)
{
    snprintf(buf, size,
             "urn:sdmx:org.sdmx.infomodel.datastructure.DataStructure=%s:%s(%s):ObsLevelDim:%s",
             r->agency, t->dsd_id, r->sdmx_version, dim_at_obs ? dim_at_obs : "TIME_PERIOD");
    return buf;
}

static void data_header(xw *x, const nmdi_release *r, const nmdi_rel_table *t, const char *kind,
                        const char *dim_at_obs, const char *ns)
{
    header(x, r, kind);
    st(x, "mes:Structure");
    at(x, "structureID", t->dsd_id);
    if (ns)
        at(x, "namespace", ns);
    at(x, "dimensionAtObservation", dim_at_obs ? dim_at_obs : "TIME_PERIOD");
    st(x, "com:Structure");
    st(x, "Ref");
    at(x, "agencyID", r->agency);
    at(x, "id", t->dsd_id);
    at(x, "version", r->sdmx_version);
    en(x);
    en(x);
    en(x);
    en(x); /* Header */
}

static void gen_value(xw *x, const char *id, const char *v)
{
    st(x, "gen:Value");
    at(x, "id", id);
    at(x, "value", v);
    en(x);
}

static void gen_obs_body(xw *x, const nmdi_rel_table *t, const nmdi_cell *c, int detail)
{
    char vb[32], bufs[NMDI_NATTRS][32];
    const char *v = nmdi__cell_value(c, vb);
    if (v) {
        st(x, "gen:ObsValue");
        at(x, "value", v);
        en(x);
    }
    if (detail == NMDI_DETAIL_DATAONLY)
        return;
    const char *vals[NMDI_NATTRS];
    nmdi__cell_attrs(t, c, vals, bufs);
    st(x, "gen:Attributes");
    for (int a = 0; a < NMDI_NATTRS; a++)
        if (vals[a])
            gen_value(x, nmdi_sdmx_attr_ids[a], vals[a]);
    en(x);
}

static int write_generic(FILE *f, const nmdi_release *r, const nmdi_rel_table *t,
                         const nmdi_sdmx_query *q, nmdi_error *err)
{
    size_t *idx, n;
    int od;
    int rc = nmdi__sdmx_select(t, q, &idx, &n, &od, err);
    if (rc)
        return rc;
    const char *dao = od < 0 ? "AllDimensions" : t->dims[od];
    int detail = q ? q->detail : NMDI_DETAIL_FULL;
    xw x;
    if (xw_open(&x, f) != 0) {
        free(idx);
        return nmdi_error_set(err, NMDI_EINTERNAL, "cannot create XML writer");
    }
    st(&x, "mes:GenericData");
    at(&x, "xmlns:mes", NS_MES);
    at(&x, "xmlns:gen", NS_GEN);
    at(&x, "xmlns:com", NS_COM);
    data_header(&x, r, t, "DATA", dao, NULL);
    st(&x, "mes:DataSet");
    at(&x, "structureRef", t->dsd_id);
    int obs = detail != NMDI_DETAIL_SERIESKEYSONLY && detail != NMDI_DETAIL_NODATA;
    for (size_t i = 0; i < n;) {
        nmdi_cell *c = nmdi_cube_cell(t->cube, idx[i]);
        if (od < 0) {
            st(&x, "gen:Obs");
            st(&x, "gen:ObsKey");
            for (size_t d = 0; d < t->ndims; d++)
                gen_value(&x, t->dims[d], nmdi_rel_code(t, c, d));
            en(&x);
            if (obs)
                gen_obs_body(&x, t, c, detail);
            en(&x);
            i++;
            continue;
        }
        st(&x, "gen:Series");
        st(&x, "gen:SeriesKey");
        for (size_t d = 0; d < t->ndims; d++)
            if ((int)d != od)
                gen_value(&x, t->dims[d], nmdi_rel_code(t, c, d));
        en(&x);
        size_t j = i;
        while (j < n && nmdi__same_series(t, c, nmdi_cube_cell(t->cube, idx[j]), od)) {
            if (obs) {
                nmdi_cell *o = nmdi_cube_cell(t->cube, idx[j]);
                st(&x, "gen:Obs");
                st(&x, "gen:ObsDimension");
                at(&x, "value", nmdi_rel_code(t, o, (size_t)od));
                en(&x);
                gen_obs_body(&x, t, o, detail);
                en(&x);
            }
            j++;
        }
        en(&x);
        i = j;
    }
    en(&x);
    en(&x);
    free(idx);
    return xw_close(&x, err);
}

static void ss_obs_attrs(xw *x, const nmdi_rel_table *t, const nmdi_cell *c, int detail)
{
    char vb[32], bufs[NMDI_NATTRS][32];
    const char *v = nmdi__cell_value(c, vb);
    at(x, "OBS_VALUE", v);
    if (detail == NMDI_DETAIL_DATAONLY)
        return;
    const char *vals[NMDI_NATTRS];
    nmdi__cell_attrs(t, c, vals, bufs);
    for (int a = 0; a < NMDI_NATTRS; a++)
        at(x, nmdi_sdmx_attr_ids[a], vals[a]);
}

static int write_structspec(FILE *f, const nmdi_release *r, const nmdi_rel_table *t,
                            const nmdi_sdmx_query *q, nmdi_error *err)
{
    size_t *idx, n;
    int od;
    int rc = nmdi__sdmx_select(t, q, &idx, &n, &od, err);
    if (rc)
        return rc;
    const char *dao = od < 0 ? "AllDimensions" : t->dims[od];
    int detail = q ? q->detail : NMDI_DETAIL_FULL;
    char ns[512];
    nmdi_sdmx_ss_namespace(r, t, dao, ns, sizeof ns);
    xw x;
    if (xw_open(&x, f) != 0) {
        free(idx);
        return nmdi_error_set(err, NMDI_EINTERNAL, "cannot create XML writer");
    }
    st(&x, "mes:StructureSpecificData");
    at(&x, "xmlns:mes", NS_MES);
    at(&x, "xmlns:ss", NS_SS);
    at(&x, "xmlns:com", NS_COM);
    at(&x, "xmlns:xsi", NS_XSI);
    at(&x, "xmlns:ns1", ns);
    data_header(&x, r, t, "DATA", dao, ns);
    st(&x, "mes:DataSet");
    at(&x, "ss:structureRef", t->dsd_id);
    at(&x, "xsi:type", "ns1:DataSetType");
    at(&x, "ss:dataScope", "DataStructure");
    int obs = detail != NMDI_DETAIL_SERIESKEYSONLY && detail != NMDI_DETAIL_NODATA;
    for (size_t i = 0; i < n;) {
        nmdi_cell *c = nmdi_cube_cell(t->cube, idx[i]);
        if (od < 0) {
            st(&x, "Obs");
            for (size_t d = 0; d < t->ndims; d++)
                at(&x, t->dims[d], nmdi_rel_code(t, c, d));
            if (obs)
                ss_obs_attrs(&x, t, c, detail);
            en(&x);
            i++;
            continue;
        }
        st(&x, "Series");
        for (size_t d = 0; d < t->ndims; d++)
            if ((int)d != od)
                at(&x, t->dims[d], nmdi_rel_code(t, c, d));
        size_t j = i;
        while (j < n && nmdi__same_series(t, c, nmdi_cube_cell(t->cube, idx[j]), od)) {
            if (obs) {
                nmdi_cell *o = nmdi_cube_cell(t->cube, idx[j]);
                st(&x, "Obs");
                at(&x, t->dims[od], nmdi_rel_code(t, o, (size_t)od));
                ss_obs_attrs(&x, t, o, detail);
                en(&x);
            }
            j++;
        }
        en(&x);
        i = j;
    }
    en(&x);
    en(&x);
    free(idx);
    return xw_close(&x, err);
}

/* ---- the DSD-specific schema ------------------------------------------------ */
static void xs_attr(xw *x, const char *name, const char *type, const char *use)
{
    st(x, "xs:attribute");
    at(x, "name", name);
    at(x, "type", type);
    at(x, "use", use);
    en(x);
}

static void xs_import(xw *x, const char *ns, const char *base, const char *file)
{
    char loc[4096];
    snprintf(loc, sizeof loc, "%s/%s", base, file);
    st(x, "xs:import");
    at(x, "namespace", ns);
    at(x, "schemaLocation", loc);
    en(x);
}

/* Attributes of the dimensions in a Series (series = 1) or Obs element. */
static void xs_dim_attrs(xw *x, const nmdi_release *r, const nmdi_rel_table *t, int od,
                         int series)
{
    for (size_t d = 0; d < t->ndims; d++) {
        int here = series ? (int)d != od : (od < 0 || (int)d == od);
        int time = d == t->ndims - 1;
        if (!here) {
            if (time)
                xs_attr(x, "TIME_PERIOD", "common:ObservationalTimePeriodType", "prohibited");
            continue;
        }
        xs_attr(x, t->dims[d],
                time ? "common:ObservationalTimePeriodType" : r->codelists[t->codelist[d]].id,
                "required");
    }
}

static void xs_obs_attrs(xw *x)
{
    xs_attr(x, "OBS_VALUE", "xs:double", "optional");
    for (int a = 0; a < NMDI_NATTRS; a++) {
        const char *type = a == NMDI_ATTR_OBS_STATUS    ? "CL_OBS_STATUS"
                           : a == NMDI_ATTR_CONF_STATUS ? "CL_CONF_STATUS"
                           : a == NMDI_ATTR_UNIT_MEASURE ? "CL_UNIT"
                           : a == NMDI_ATTR_N           ? "xs:long"
                                                        : "xs:double";
        xs_attr(x, nmdi_sdmx_attr_ids[a], type, "optional");
    }
}

static void xs_annotations(xw *x)
{
    st(x, "xs:element");
    at(x, "ref", "common:Annotations");
    at(x, "minOccurs", "0");
    en(x);
}

int nmdi_sdmx_write_xsd(FILE *f, const nmdi_release *r, const nmdi_rel_table *t,
                        const char *dim_at_obs, const char *sdmx_schemas, nmdi_error *err)
{
    nmdi_sdmx_query q;
    nmdi_sdmx_query_init(&q);
    q.dim_at_obs = dim_at_obs;
    int rc = nmdi_sdmx_query_check(t, &q, err);
    if (rc)
        return rc;
    int od = -1;
    if (!dim_at_obs || !strcmp(dim_at_obs, "TIME_PERIOD"))
        od = (int)t->ndims - 1;
    else if (strcmp(dim_at_obs, "AllDimensions") != 0)
        for (size_t d = 0; d < t->ndims; d++)
            if (!strcmp(t->dims[d], dim_at_obs))
                od = (int)d;
    const char *dao = od < 0 ? "AllDimensions" : t->dims[od];
    const char *base = sdmx_schemas ? sdmx_schemas
                                    : "https://registry.sdmx.org/schemas/v2_1";
    char ns[512];
    nmdi_sdmx_ss_namespace(r, t, dao, ns, sizeof ns);
    xw x;
    if (xw_open(&x, f) != 0)
        return nmdi_error_set(err, NMDI_EINTERNAL, "cannot create XML writer");
    st(&x, "xs:schema");
    at(&x, "xmlns:xs", NS_XS);
    at(&x, "xmlns", ns);
    at(&x, "xmlns:dsd", NS_SS);
    at(&x, "xmlns:common", NS_COM);
    at(&x, "targetNamespace", ns);
    at(&x, "elementFormDefault", "qualified");
    at(&x, "attributeFormDefault", "unqualified");
    xs_import(&x, NS_MES, base, "SDMXMessage.xsd");
    xs_import(&x, NS_SS, base, "SDMXDataStructureSpecific.xsd");
    xs_import(&x, NS_COM, base, "SDMXCommon.xsd");
    /* one enumerated simple type per codelist the DSD uses */
    unsigned char *used = calloc(r->ncodelists + 1, 1);
    if (!used) {
        xw_close(&x, err);
        return nmdi_error_set(err, NMDI_EINTERNAL, "out of memory");
    }
    for (size_t d = 0; d + 1 < t->ndims; d++)
        used[t->codelist[d]] = 1;
    const char *fixed[] = {"CL_OBS_STATUS", "CL_CONF_STATUS", "CL_UNIT"};
    for (int i = 0; i < 3; i++) {
        int ci = nmdi_release_codelist_index(r, fixed[i]);
        if (ci >= 0)
            used[ci] = 1;
    }
    for (size_t i = 0; i < r->ncodelists; i++) {
        if (!used[i])
            continue;
        st(&x, "xs:simpleType");
        at(&x, "name", r->codelists[i].id);
        st(&x, "xs:restriction");
        at(&x, "base", "common:IDType");
        for (size_t j = 0; j < r->codelists[i].ncodes; j++) {
            st(&x, "xs:enumeration");
            at(&x, "value", r->codelists[i].codes[j]);
            en(&x);
        }
        en(&x);
        en(&x);
    }
    free(used);
    /* DataSetType */
    st(&x, "xs:complexType");
    at(&x, "name", "DataSetType");
    st(&x, "xs:complexContent");
    st(&x, "xs:restriction");
    at(&x, "base", "dsd:DataSetType");
    st(&x, "xs:sequence");
    xs_annotations(&x);
    st(&x, "xs:element");
    at(&x, "name", "DataProvider");
    at(&x, "type", "common:DataProviderReferenceType");
    at(&x, "form", "unqualified");
    at(&x, "minOccurs", "0");
    en(&x);
    st(&x, "xs:choice");
    at(&x, "minOccurs", "0");
    st(&x, "xs:element");
    at(&x, "name", od < 0 ? "Obs" : "Series");
    at(&x, "type", od < 0 ? "ObsType" : "SeriesType");
    at(&x, "form", "unqualified");
    at(&x, "maxOccurs", "unbounded");
    en(&x);
    en(&x); /* choice */
    en(&x); /* sequence */
    xs_attr(&x, "REPORTING_YEAR_START_DAY", "xs:gMonthDay", "prohibited");
    en(&x);
    en(&x);
    en(&x);
    if (od >= 0) {
        st(&x, "xs:complexType");
        at(&x, "name", "SeriesType");
        st(&x, "xs:complexContent");
        st(&x, "xs:restriction");
        at(&x, "base", "dsd:SeriesType");
        st(&x, "xs:sequence");
        xs_annotations(&x);
        st(&x, "xs:element");
        at(&x, "name", "Obs");
        at(&x, "type", "ObsType");
        at(&x, "form", "unqualified");
        at(&x, "minOccurs", "0");
        at(&x, "maxOccurs", "unbounded");
        en(&x);
        en(&x);
        xs_dim_attrs(&x, r, t, od, 1);
        xs_attr(&x, "REPORTING_YEAR_START_DAY", "xs:gMonthDay", "prohibited");
        en(&x);
        en(&x);
        en(&x);
    }
    st(&x, "xs:complexType");
    at(&x, "name", "ObsType");
    st(&x, "xs:complexContent");
    st(&x, "xs:restriction");
    at(&x, "base", "dsd:ObsType");
    st(&x, "xs:sequence");
    xs_annotations(&x);
    en(&x);
    xs_dim_attrs(&x, r, t, od, 0);
    xs_attr(&x, "REPORTING_YEAR_START_DAY", "xs:gMonthDay", "prohibited");
    xs_attr(&x, "type", "common:IDType", "prohibited");
    xs_obs_attrs(&x);
    en(&x);
    en(&x);
    en(&x);
    en(&x); /* schema */
    return xw_close(&x, err);
}

int nmdi__sdmx_write_other(FILE *f, int format, const nmdi_release *r, const nmdi_rel_table *t,
                           const nmdi_sdmx_query *q, nmdi_error *err); /* sdmx_text.c */

int nmdi_sdmx_write_data(FILE *f, int format, const nmdi_release *r, const nmdi_rel_table *t,
                         const nmdi_sdmx_query *q, nmdi_error *err)
{
    switch (format) {
    case NMDI_FMT_GENERIC:
        return write_generic(f, r, t, q, err);
    case NMDI_FMT_STRUCTSPEC:
        return write_structspec(f, r, t, q, err);
    case NMDI_FMT_JSON:
    case NMDI_FMT_SDMXCSV:
    case NMDI_FMT_CSV:
        return nmdi__sdmx_write_other(f, format, r, t, q, err);
    default:
        return nmdi_error_set(err, NMDI_EINTERNAL, "unknown data format %d", format);
    }
}

/* build.c - the decoded C structs -> the result dict (keys in README.md "Result keys").
 *
 * Speed comes from building fewer, cheaper objects: keys and enum names are interned once
 * (module.c), per-leaf strings are shared by every row group (schema.c), statistics are
 * decoded only when asked for, and the cyclic GC is paused while the tree is built (the
 * result holds no cycles).
 */
#include "rugo.h"

#define ENC_CACHE_SIZE 16
#define ENC_CACHE_WIDTH 12

typedef struct {
    int used;
    uint32_t n[ENC_CACHE_SIZE];
    int32_t values[ENC_CACHE_SIZE][ENC_CACHE_WIDTH];
    PyObject *tuple[ENC_CACHE_SIZE];
} enc_cache;

/* what building the row groups of one result needs: the module state (fetched once per
 * call by the entry point), the writer's version and the file's encoding tuples */
typedef struct {
    rugo_state *rs;
    writer_version wv;
    enc_cache ec;
} builder;

static PyObject *text_or_bytes(span s)
{
    PyObject *o = PyUnicode_DecodeUTF8((const char *)s.p, (Py_ssize_t)s.n, NULL);
    if (!o && PyErr_ExceptionMatches(PyExc_UnicodeDecodeError)) {
        PyErr_Clear();
        o = PyBytes_FromStringAndSize((const char *)s.p, (Py_ssize_t)s.n);
    }
    return o;
}

static PyObject *bytes_or_none(int present, span s)
{
    return present ? PyBytes_FromStringAndSize((const char *)s.p, (Py_ssize_t)s.n) : Py_NewRef(Py_None);
}

PyObject *kv_dict(const list *l)
{
    PyObject *d = PyDict_New();
    const KeyValue *kv = l->items;
    for (uint32_t i = 0; d && i < l->n; i++) {
        PyObject *k = text_or_bytes(kv[i].key);
        PyObject *v = ISSET(&kv[i], 1) ? text_or_bytes(kv[i].value) : Py_NewRef(Py_None);
        int rc = (k && v) ? PyDict_SetItem(d, k, v) : -1;
        Py_XDECREF(k);
        Py_XDECREF(v);
        if (rc < 0)
            Py_CLEAR(d);
    }
    return d;
}

static PyObject *int_list(const list *l)
{
    PyObject *out = PyList_New(l->n);
    const int32_t *v = l->items;
    for (uint32_t i = 0; out && i < l->n; i++) {
        PyObject *o = PyLong_FromLong(v[i]);
        if (!o) {
            Py_CLEAR(out);
            break;
        }
        PyList_SET_ITEM(out, i, o);
    }
    return out;
}

/* Encodings as a tuple of interned names (as pyarrow gives them). It holds only strings
 * and ints, so it is untracked by the cyclic GC, and so is the column dict holding it: a
 * wide footer then adds no work to every later collection. Tuples are immutable, so the
 * few distinct encoding sets of a file share one object each (enc_cache). */
static PyObject *encoding_tuple(const rugo_state *rs, const list *l, enc_cache *cache)
{
    const int32_t *v = l->items;
    int cacheable = l->n > 0 && l->n <= ENC_CACHE_WIDTH;   /* an empty list has no items */
    for (int k = 0; cacheable && k < cache->used; k++)
        if (cache->n[k] == l->n && memcmp(cache->values[k], v, l->n * sizeof(int32_t)) == 0)
            return Py_NewRef(cache->tuple[k]);
    PyObject *out = PyTuple_New(l->n);
    for (uint32_t i = 0; out && i < l->n; i++) {
        PyObject *o = enum_name(rs->encoding, 10, v[i]);
        if (!o) {
            Py_CLEAR(out);
            break;
        }
        PyTuple_SET_ITEM(out, i, o);
    }
    if (!out)
        return NULL;
    PyObject_GC_UnTrack(out);
    if (cacheable && cache->used < ENC_CACHE_SIZE) {
        int k = cache->used++;
        cache->n[k] = l->n;
        memcpy(cache->values[k], v, l->n * sizeof(int32_t));
        cache->tuple[k] = Py_NewRef(out);
    }
    return out;
}

static void enc_cache_clear(enc_cache *cache)
{
    for (int k = 0; k < cache->used; k++)
        Py_DECREF(cache->tuple[k]);
    cache->used = 0;
}

static PyObject *geospatial_dict(const rugo_state *rs, const GeospatialStatistics *g)
{
    PyObject *d = PyDict_New(), *bbox;
    if (!d)
        return NULL;
    if (ISSET(g, 0)) {
        const BoundingBox *b = &g->bbox;
        bbox = PyDict_New();
        PyObject *keys[8] = {rs->xmin, rs->xmax, rs->ymin, rs->ymax, rs->zmin, rs->zmax, rs->mmin, rs->mmax};
        const double vals[8] = {b->xmin, b->xmax, b->ymin, b->ymax, b->zmin, b->zmax, b->mmin, b->mmax};
        for (int i = 0; bbox && i < 8; i++)
            if (dict_put(bbox, keys[i], ISSET(b, i) ? PyFloat_FromDouble(vals[i]) : Py_NewRef(Py_None)) < 0)
                Py_CLEAR(bbox);
    } else {
        bbox = Py_NewRef(Py_None);
    }
    if (dict_put(d, rs->bbox, bbox) < 0 || dict_put(d, rs->geospatial_types, int_list(&g->geospatial_types)) < 0)
        Py_CLEAR(d);
    return d;
}

int chunk_bounds(rugo_state *rs, const Statistics *st, const leaf_info *L, const writer_version *wv, PyObject **min, PyObject **max)
{
    int modern = L->type_defined_order;
    span smin = modern ? st->min_value : st->min, smax = modern ? st->max_value : st->max;
    int both = modern ? ISSET(st, ST_MIN_VALUE) && ISSET(st, ST_MAX_VALUE) : ISSET(st, ST_MIN) && ISSET(st, ST_MAX);
    *min = *max = NULL;
    if (!both || !stats_trusted(wv, L, smin, smax, both))
        return 0;
    if (!(*min = stat_value(rs, L, smin)))
        return -1;
    if (!(*max = stat_value(rs, L, smax))) {
        Py_CLEAR(*min);
        return -1;
    }
    return 1;
}

static int put_min_max(rugo_state *rs, PyObject *d, const Statistics *st, const leaf_info *L, const writer_version *wv)
{
    PyObject *min, *max;
    int rc = chunk_bounds(rs, st, L, wv, &min, &max);
    if (rc <= 0)
        return rc;   /* untrusted: the template's None stays */
    if (dict_put(d, rs->min, min) < 0) {
        Py_DECREF(max);
        return -1;
    }
    return dict_put(d, rs->max, max);
}

int chunk_path_matches(const list *path, const leaf_info *L)
{
    const span *parts = path->items;
    Py_ssize_t pos = 0;
    for (uint32_t i = 0; i < path->n; i++) {
        if (i && (pos >= L->path_len || L->path_utf8[pos++] != '.'))
            return 0;
        if ((Py_ssize_t)parts[i].n > L->path_len - pos || memcmp(L->path_utf8 + pos, parts[i].p, parts[i].n) != 0)
            return 0;
        pos += parts[i].n;
    }
    return path->n > 0 && pos == L->path_len;
}

PyObject *chunk_path(const list *path)
{
    const span *parts = path->items;
    size_t n = 0;
    for (uint32_t i = 0; i < path->n; i++)
        n += parts[i].n + 1;
    char *buf = PyMem_Malloc(n ? n : 1);
    if (!buf)
        return PyErr_NoMemory();
    size_t pos = 0;
    for (uint32_t i = 0; i < path->n; i++) {
        if (i)
            buf[pos++] = '.';
        memcpy(buf + pos, parts[i].p, parts[i].n);
        pos += parts[i].n;
    }
    PyObject *out = PyUnicode_DecodeUTF8(buf, (Py_ssize_t)pos, "replace");
    PyMem_Free(buf);
    return out;
}

/* Setting values on a dict copied from a template (which holds None for every key):
 * only the values the file has are stored, each stolen; errors jump to `fail`. The keys
 * come from the module state `rs` in scope. */
#define SET(key, expr) do { if (dict_put(d, rs->key, (expr)) < 0) goto fail; } while (0)
#define SET_IF(cond, key, expr) do { if ((cond) && dict_put(d, rs->key, (expr)) < 0) goto fail; } while (0)
#define SET_INT(cond, key, v) SET_IF(cond, key, PyLong_FromLongLong(v))

static PyObject *column_dict(builder *b, const ColumnChunk *cc, const leaf_info *L)
{
    rugo_state *rs = b->rs;
    PyObject *d = dict_from_template(L->tmpl);   /* holds the leaf's name and types already */
    if (!d)
        return NULL;
    const ColumnMetaData *m = &cc->meta_data;
    const Statistics *st = &m->statistics;
    const SizeStatistics *ss = &m->size_statistics;
    int hm = ISSET(cc, CC_META_DATA);
    int hs = hm && ISSET(m, CM_STATISTICS);
    if (hm && !chunk_path_matches(&m->path_in_schema, L))
        SET(path_in_schema, chunk_path(&m->path_in_schema));
    if (hm) {
        SET(compression_codec, enum_name(rs->codec, 8, m->codec));
        SET(encodings, encoding_tuple(rs, &m->encodings, &b->ec));
        SET_INT(1, num_values, m->num_values);
        SET_INT(1, total_compressed_size, m->total_compressed_size);
        SET_INT(1, total_uncompressed_size, m->total_uncompressed_size);
        SET_INT(1, data_page_offset, m->data_page_offset);
        SET_INT(ISSET(m, CM_INDEX_PAGE_OFFSET), index_page_offset, m->index_page_offset);
        SET_INT(ISSET(m, CM_DICTIONARY_PAGE_OFFSET), dictionary_page_offset, m->dictionary_page_offset);
        SET_INT(ISSET(m, CM_BLOOM_OFFSET), bloom_offset, m->bloom_filter_offset);
        SET_INT(ISSET(m, CM_BLOOM_LENGTH), bloom_length, m->bloom_filter_length);
        SET_INT(ISSET(m, CM_SIZE_STATISTICS) && ISSET(ss, 0), unencoded_byte_array_data_bytes,
                ss->unencoded_byte_array_data_bytes);
        SET_IF(ISSET(m, CM_KV), key_value_metadata, kv_dict(&m->key_value_metadata));
        SET_IF(ISSET(m, CM_GEOSPATIAL), geospatial_statistics, geospatial_dict(rs, &m->geospatial_statistics));
    }
    if (hs) {
        if (put_min_max(rs, d, st, L, &b->wv) < 0)
            goto fail;
        SET_INT(ISSET(st, ST_NULL_COUNT), null_count, st->null_count);
        SET_INT(ISSET(st, ST_DISTINCT_COUNT), distinct_count, st->distinct_count);
        SET_IF(ISSET(st, ST_IS_MIN_EXACT), is_min_exact, PyBool_FromLong(st->is_min_value_exact));
        SET_IF(ISSET(st, ST_IS_MAX_EXACT), is_max_exact, PyBool_FromLong(st->is_max_value_exact));
    }
    SET_INT(ISSET(cc, CC_OFFSET_INDEX_OFFSET), offset_index_offset, cc->offset_index_offset);
    SET_INT(ISSET(cc, CC_OFFSET_INDEX_LENGTH), offset_index_length, cc->offset_index_length);
    SET_INT(ISSET(cc, CC_COLUMN_INDEX_OFFSET), column_index_offset, cc->column_index_offset);
    SET_INT(ISSET(cc, CC_COLUMN_INDEX_LENGTH), column_index_length, cc->column_index_length);
    return d;
fail:
    Py_DECREF(d);
    return NULL;
}

static PyObject *sorting_list(const rugo_state *rs, const list *l)
{
    PyObject *out = PyList_New(l->n);
    const SortingColumn *sc = l->items;
    for (uint32_t i = 0; out && i < l->n; i++) {
        PyObject *d = PyDict_New();
        if (!d) {
            Py_CLEAR(out);
            break;
        }
        PyList_SET_ITEM(out, i, d);
        if (dict_put(d, rs->column_idx, PyLong_FromLong(sc[i].column_idx)) < 0 ||
            PyDict_SetItem(d, rs->descending, sc[i].descending ? Py_True : Py_False) < 0 ||
            PyDict_SetItem(d, rs->nulls_first, sc[i].nulls_first ? Py_True : Py_False) < 0)
            Py_CLEAR(out);
    }
    return out;
}

int row_group_width_ok(const rugo_state *rs, const RowGroup *rg, uint32_t index, int nleaves)
{
    if (rg->columns.n == (uint32_t)nleaves)
        return 1;
    char msg[160];
    snprintf(msg, sizeof msg, "row group %u has %u column chunks but the schema has %d leaf columns",
             index, rg->columns.n, nleaves);
    rugo_raise(rs->ParquetFormatError, msg, -1, "row_groups");
    return 0;
}

static PyObject *row_group_dict(builder *b, const RowGroup *rg, uint32_t index, const schema_info *s)
{
    rugo_state *rs = b->rs;
    if (!row_group_width_ok(rs, rg, index, s->nleaves))
        return NULL;
    PyObject *d = dict_from_template(rs->tmpl_row_group);
    PyObject *cols = d ? PyList_New(rg->columns.n) : NULL;
    if (!cols)
        goto fail;
    if (PyDict_SetItem(d, rs->columns, cols) < 0) {
        Py_DECREF(cols);
        goto fail;
    }
    Py_DECREF(cols);   /* the dict holds it; filled in place below */
    const ColumnChunk *cc = rg->columns.items;
    for (uint32_t i = 0; i < rg->columns.n; i++) {
        PyObject *c = column_dict(b, &cc[i], &s->leaves[i]);
        if (!c)
            goto fail;
        PyList_SET_ITEM(cols, i, c);
    }
    SET_INT(1, num_rows, rg->num_rows);
    SET_INT(1, total_byte_size, rg->total_byte_size);
    SET_INT(ISSET(rg, RG_TOTAL_COMPRESSED), total_compressed_size, rg->total_compressed_size);
    SET_INT(ISSET(rg, RG_FILE_OFFSET), file_offset, rg->file_offset);
    SET_INT(ISSET(rg, RG_ORDINAL), ordinal, rg->ordinal);
    SET_IF(ISSET(rg, RG_SORTING), sorting_columns, sorting_list(rs, &rg->sorting_columns));
    return d;
fail:
    Py_XDECREF(d);
    return NULL;
}

static PyObject *column_orders_list(const rugo_state *rs, const list *l)
{
    PyObject *out = PyList_New(l->n);
    const ColumnOrder *co = l->items;
    for (uint32_t i = 0; out && i < l->n; i++) {
        PyObject *o = Py_None;
        for (int k = 0; k < 3; k++)
            if (ISSET(&co[i], k)) {
                o = rs->column_order[k];
                break;
            }
        PyList_SET_ITEM(out, i, Py_NewRef(o));
    }
    return out;
}

PyObject *encryption_name(const rugo_state *rs, const EncryptionAlgorithm *e)
{
    return ISSET(e, 0) ? rs->aes_gcm_v1 : ISSET(e, 1) ? rs->aes_gcm_ctr_v1 : NULL;
}

static PyObject *encryption_dict(const rugo_state *rs, const EncryptionAlgorithm *e)
{
    PyObject *name = encryption_name(rs, e);
    if (!name)
        return Py_NewRef(Py_None);
    const AesGcm *a = name == rs->aes_gcm_ctr_v1 ? &e->aes_gcm_ctr_v1 : &e->aes_gcm_v1;
    PyObject *d = PyDict_New();
    if (!d || PyDict_SetItem(d, rs->name, name) < 0 ||
        dict_put(d, rs->aad_prefix, bytes_or_none(ISSET(a, 0), a->aad_prefix)) < 0 ||
        dict_put(d, rs->aad_file_unique, bytes_or_none(ISSET(a, 1), a->aad_file_unique)) < 0 ||
        dict_put(d, rs->supply_aad_prefix, ISSET(a, 2) ? PyBool_FromLong(a->supply_aad_prefix) : Py_NewRef(Py_None)) < 0)
        Py_CLEAR(d);
    return d;
}

static PyObject *row_groups_list(rugo_state *rs, const FileMetaData *md, const schema_info *s)
{
    builder b = {.rs = rs};
    writer_version_parse(md->created_by, ISSET(md, FM_CREATED_BY), &b.wv);
    PyObject *out = PyList_New(md->row_groups.n);
    const RowGroup *rg = md->row_groups.items;
    for (uint32_t i = 0; out && i < md->row_groups.n; i++) {
        PyObject *d = row_group_dict(&b, &rg[i], i, s);
        if (!d) {
            Py_CLEAR(out);
            break;
        }
        PyList_SET_ITEM(out, i, d);
    }
    enc_cache_clear(&b.ec);
    return out;
}

PyObject *build_result(rugo_state *rs, const FileMetaData *md, uint32_t footer_size, span schema_raw)
{
    schema_info s;
    int gc_was_enabled = PyGC_Disable();
    PyObject *d = schema_load(rs, md, schema_raw, &s) ? dict_from_template(rs->tmpl_file) : NULL;
    if (!d)
        goto done;
    SET_INT(1, num_rows, md->num_rows);
    SET_INT(1, num_row_groups, md->row_groups.total);
    SET_INT(1, format_version, md->version);
    SET_IF(ISSET(md, FM_CREATED_BY), created_by, text_from_span(md->created_by));
    SET(key_value_metadata, kv_dict(&md->key_value_metadata));
    SET_INT(1, footer_size, footer_size);
    SET_IF(ISSET(md, FM_COLUMN_ORDERS), column_orders, column_orders_list(rs, &md->column_orders));
    SET(encryption_algorithm, encryption_dict(rs, &md->encryption_algorithm));
    SET(schema_columns, Py_NewRef(s.columns));
    SET(schema, Py_NewRef(s.elements));
    SET(row_groups, row_groups_list(rs, md, &s));
    goto done;
fail:
    Py_CLEAR(d);
done:
    schema_free(&s);
    if (gc_was_enabled)
        PyGC_Enable();
    return d;
}

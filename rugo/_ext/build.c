/* build.c - the decoded C structs -> the result dict (keys in README.md "Result keys").
 *
 * Speed comes from building fewer, cheaper objects: keys and enum names are interned once
 * (module.c), per-leaf strings are shared by every row group (schema.c), statistics are
 * decoded only when asked for, and the cyclic GC is paused while the tree is built (the
 * result holds no cycles).
 */
#include "rugo.h"

static PyObject *int_or_none(int present, int64_t v)
{
    return present ? PyLong_FromLongLong(v) : Py_NewRef(Py_None);
}

static PyObject *enum_name(PyObject **table, int size, int32_t v)
{
    if (v >= 0 && v < size && table[v])
        return Py_NewRef(table[v]);
    return PyLong_FromLong(v);   /* an enum value newer than this reader */
}

/* d[key] = value, stealing value; -1 on error (value NULL included) */
static int put(PyObject *d, PyObject *key, PyObject *value)
{
    if (!value)
        return -1;
    int rc = PyDict_SetItem(d, key, value);
    Py_DECREF(value);
    return rc;
}

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

/* list<KeyValue> -> dict in file order (a repeated key keeps its last value) */
static PyObject *kv_dict(const list *l)
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

static PyObject *int_list(const list *l, PyObject **names, int size)
{
    PyObject *out = PyList_New(l->n);
    const int32_t *v = l->items;
    for (uint32_t i = 0; out && i < l->n; i++) {
        PyObject *o = names ? enum_name(names, size, v[i]) : PyLong_FromLong(v[i]);
        if (!o) {
            Py_CLEAR(out);
            break;
        }
        PyList_SET_ITEM(out, i, o);
    }
    return out;
}

static PyObject *geospatial_dict(const GeospatialStatistics *g)
{
    PyObject *d = PyDict_New(), *bbox;
    if (!d)
        return NULL;
    if (ISSET(g, 0)) {
        const BoundingBox *b = &g->bbox;
        bbox = PyDict_New();
        PyObject *keys[8] = {R.xmin, R.xmax, R.ymin, R.ymax, R.zmin, R.zmax, R.mmin, R.mmax};
        const double vals[8] = {b->xmin, b->xmax, b->ymin, b->ymax, b->zmin, b->zmax, b->mmin, b->mmax};
        for (int i = 0; bbox && i < 8; i++)
            if (put(bbox, keys[i], ISSET(b, i) ? PyFloat_FromDouble(vals[i]) : Py_NewRef(Py_None)) < 0)
                Py_CLEAR(bbox);
    } else {
        bbox = Py_NewRef(Py_None);
    }
    if (put(d, R.bbox, bbox) < 0 || put(d, R.geospatial_types, int_list(&g->geospatial_types, NULL, 0)) < 0)
        Py_CLEAR(d);
    return d;
}

/* min / max as pyarrow reports them: min_value/max_value when the column order is type
 * defined, else the legacy signed-order min/max; None when pyarrow would not trust them. */
static int put_min_max(PyObject *d, const Statistics *st, int has_stats, const leaf_info *L,
                       const writer_version *wv)
{
    PyObject *mn = NULL, *mx = NULL;
    if (has_stats) {
        int modern = L->type_defined_order;
        span smin = modern ? st->min_value : st->min, smax = modern ? st->max_value : st->max;
        int both = modern ? ISSET(st, ST_MIN_VALUE) && ISSET(st, ST_MAX_VALUE)
                          : ISSET(st, ST_MIN) && ISSET(st, ST_MAX);
        if (both && stats_trusted(wv, L, smin, smax, both)) {
            mn = stat_value(L, smin);
            if (!mn)
                return -1;
            mx = stat_value(L, smax);
            if (!mx) {
                Py_DECREF(mn);
                return -1;
            }
        }
    }
    if (put(d, R.min, mn ? mn : Py_NewRef(Py_None)) < 0)
        return Py_XDECREF(mx), -1;
    return put(d, R.max, mx ? mx : Py_NewRef(Py_None));
}

static PyObject *column_dict(const ColumnChunk *cc, const leaf_info *L, const writer_version *wv)
{
    PyObject *d = _PyDict_NewPresized(29);
    if (!d)
        return NULL;
    const ColumnMetaData *m = &cc->meta_data;
    int hm = ISSET(cc, CC_META_DATA);
    const Statistics *st = &m->statistics;
    int hs = hm && ISSET(m, CM_STATISTICS);
    const SizeStatistics *ss = &m->size_statistics;
    if (PyDict_SetItem(d, R.name, L->name) < 0 || PyDict_SetItem(d, R.path_in_schema, L->path) < 0 ||
        PyDict_SetItem(d, R.physical_type, L->physical_str) < 0 ||
        PyDict_SetItem(d, R.logical_type, L->logical_str) < 0 ||
        put(d, R.compression_codec, hm ? enum_name(R.codec, 8, m->codec) : Py_NewRef(Py_None)) < 0 ||
        put(d, R.encodings, hm ? int_list(&m->encodings, R.encoding, 10) : Py_NewRef(Py_None)) < 0 ||
        put(d, R.num_values, int_or_none(hm, m->num_values)) < 0 ||
        put(d, R.total_compressed_size, int_or_none(hm, m->total_compressed_size)) < 0 ||
        put(d, R.total_uncompressed_size, int_or_none(hm, m->total_uncompressed_size)) < 0 ||
        put(d, R.data_page_offset, int_or_none(hm, m->data_page_offset)) < 0 ||
        put(d, R.index_page_offset, int_or_none(hm && ISSET(m, CM_INDEX_PAGE_OFFSET), m->index_page_offset)) < 0 ||
        put(d, R.dictionary_page_offset,
            int_or_none(hm && ISSET(m, CM_DICTIONARY_PAGE_OFFSET), m->dictionary_page_offset)) < 0 ||
        put_min_max(d, st, hs, L, wv) < 0 ||
        put(d, R.null_count, int_or_none(hs && ISSET(st, ST_NULL_COUNT), st->null_count)) < 0 ||
        put(d, R.distinct_count, int_or_none(hs && ISSET(st, ST_DISTINCT_COUNT), st->distinct_count)) < 0 ||
        put(d, R.is_min_exact, hs && ISSET(st, ST_IS_MIN_EXACT) ? PyBool_FromLong(st->is_min_value_exact)
                                                                 : Py_NewRef(Py_None)) < 0 ||
        put(d, R.is_max_exact, hs && ISSET(st, ST_IS_MAX_EXACT) ? PyBool_FromLong(st->is_max_value_exact)
                                                                 : Py_NewRef(Py_None)) < 0 ||
        put(d, R.bloom_offset, int_or_none(hm && ISSET(m, CM_BLOOM_OFFSET), m->bloom_filter_offset)) < 0 ||
        put(d, R.bloom_length, int_or_none(hm && ISSET(m, CM_BLOOM_LENGTH), m->bloom_filter_length)) < 0 ||
        put(d, R.offset_index_offset, int_or_none(ISSET(cc, CC_OFFSET_INDEX_OFFSET), cc->offset_index_offset)) < 0 ||
        put(d, R.offset_index_length, int_or_none(ISSET(cc, CC_OFFSET_INDEX_LENGTH), cc->offset_index_length)) < 0 ||
        put(d, R.column_index_offset, int_or_none(ISSET(cc, CC_COLUMN_INDEX_OFFSET), cc->column_index_offset)) < 0 ||
        put(d, R.column_index_length, int_or_none(ISSET(cc, CC_COLUMN_INDEX_LENGTH), cc->column_index_length)) < 0 ||
        put(d, R.unencoded_byte_array_data_bytes,
            int_or_none(hm && ISSET(m, CM_SIZE_STATISTICS) && ISSET(ss, 0), ss->unencoded_byte_array_data_bytes)) < 0 ||
        put(d, R.key_value_metadata, hm && ISSET(m, CM_KV) ? kv_dict(&m->key_value_metadata) : Py_NewRef(Py_None)) < 0 ||
        put(d, R.geospatial_statistics,
            hm && ISSET(m, CM_GEOSPATIAL) ? geospatial_dict(&m->geospatial_statistics) : Py_NewRef(Py_None)) < 0) {
        Py_DECREF(d);
        return NULL;
    }
    return d;
}

static PyObject *sorting_list(const list *l)
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
        if (put(d, R.column_idx, PyLong_FromLong(sc[i].column_idx)) < 0 ||
            PyDict_SetItem(d, R.descending, sc[i].descending ? Py_True : Py_False) < 0 ||
            PyDict_SetItem(d, R.nulls_first, sc[i].nulls_first ? Py_True : Py_False) < 0)
            Py_CLEAR(out);
    }
    return out;
}

static PyObject *row_group_dict(const RowGroup *rg, uint32_t index, const schema_info *s, const writer_version *wv)
{
    if (rg->columns.n != (uint32_t)s->nleaves) {
        char msg[160];
        snprintf(msg, sizeof msg, "row group %u has %u column chunks but the schema has %d leaf columns",
                 index, rg->columns.n, s->nleaves);
        return rugo_raise(R.ParquetFormatError, msg, -1, "row_groups");
    }
    PyObject *cols = PyList_New(rg->columns.n);
    const ColumnChunk *cc = rg->columns.items;
    for (uint32_t i = 0; cols && i < rg->columns.n; i++) {
        PyObject *c = column_dict(&cc[i], &s->leaves[i], wv);
        if (!c) {
            Py_CLEAR(cols);
            break;
        }
        PyList_SET_ITEM(cols, i, c);
    }
    if (!cols)
        return NULL;
    PyObject *d = _PyDict_NewPresized(7);
    if (!d || put(d, R.num_rows, PyLong_FromLongLong(rg->num_rows)) < 0 ||
        put(d, R.total_byte_size, PyLong_FromLongLong(rg->total_byte_size)) < 0 ||
        put(d, R.total_compressed_size, int_or_none(ISSET(rg, RG_TOTAL_COMPRESSED), rg->total_compressed_size)) < 0 ||
        put(d, R.file_offset, int_or_none(ISSET(rg, RG_FILE_OFFSET), rg->file_offset)) < 0 ||
        put(d, R.ordinal, int_or_none(ISSET(rg, RG_ORDINAL), rg->ordinal)) < 0 ||
        put(d, R.sorting_columns, ISSET(rg, RG_SORTING) ? sorting_list(&rg->sorting_columns) : Py_NewRef(Py_None)) < 0 ||
        put(d, R.columns, cols) < 0) {
        Py_XDECREF(d);
        return NULL;
    }
    return d;
}

static PyObject *column_orders_list(const list *l)
{
    PyObject *out = PyList_New(l->n);
    const ColumnOrder *co = l->items;
    for (uint32_t i = 0; out && i < l->n; i++) {
        PyObject *o = Py_None;
        for (int k = 0; k < 3; k++)
            if (ISSET(&co[i], k)) {
                o = R.column_order[k];
                break;
            }
        PyList_SET_ITEM(out, i, Py_NewRef(o));
    }
    return out;
}

static PyObject *encryption_dict(const EncryptionAlgorithm *e)
{
    int ctr = !ISSET(e, 0) && ISSET(e, 1);
    if (!ISSET(e, 0) && !ISSET(e, 1))
        return Py_NewRef(Py_None);
    const AesGcm *a = ctr ? &e->aes_gcm_ctr_v1 : &e->aes_gcm_v1;
    PyObject *d = PyDict_New();
    if (!d || PyDict_SetItem(d, R.name, ctr ? R.aes_gcm_ctr_v1 : R.aes_gcm_v1) < 0 ||
        put(d, R.aad_prefix, bytes_or_none(ISSET(a, 0), a->aad_prefix)) < 0 ||
        put(d, R.aad_file_unique, bytes_or_none(ISSET(a, 1), a->aad_file_unique)) < 0 ||
        put(d, R.supply_aad_prefix, ISSET(a, 2) ? PyBool_FromLong(a->supply_aad_prefix) : Py_NewRef(Py_None)) < 0)
        Py_CLEAR(d);
    return d;
}

static PyObject *row_groups_list(const FileMetaData *md, const schema_info *s)
{
    writer_version wv;
    writer_version_parse(md->created_by, ISSET(md, FM_CREATED_BY), &wv);
    PyObject *out = PyList_New(md->row_groups.n);
    const RowGroup *rg = md->row_groups.items;
    for (uint32_t i = 0; out && i < md->row_groups.n; i++) {
        PyObject *d = row_group_dict(&rg[i], i, s, &wv);
        if (!d) {
            Py_CLEAR(out);
            break;
        }
        PyList_SET_ITEM(out, i, d);
    }
    return out;
}

PyObject *build_result(const FileMetaData *md, uint32_t footer_size)
{
    schema_info s;
    PyObject *d = NULL;
    int gc_was_enabled = PyGC_Disable();
    if (!schema_build(md, &s))
        goto done;
    d = _PyDict_NewPresized(13);
    if (!d || put(d, R.num_rows, PyLong_FromLongLong(md->num_rows)) < 0 ||
        put(d, R.num_row_groups, PyLong_FromUnsignedLong(md->row_groups.total)) < 0 ||
        put(d, R.format_version, PyLong_FromLong(md->version)) < 0 ||
        put(d, R.created_by, ISSET(md, FM_CREATED_BY) ? text_from_span(md->created_by) : Py_NewRef(Py_None)) < 0 ||
        put(d, R.key_value_metadata, kv_dict(&md->key_value_metadata)) < 0 ||
        put(d, R.footer_size, PyLong_FromUnsignedLong(footer_size)) < 0 ||
        put(d, R.column_orders, ISSET(md, FM_COLUMN_ORDERS) ? column_orders_list(&md->column_orders) : Py_NewRef(Py_None)) < 0 ||
        put(d, R.encryption_algorithm, encryption_dict(&md->encryption_algorithm)) < 0 ||
        put(d, R.schema_columns, schema_columns_list(&s)) < 0 ||
        put(d, R.schema, schema_elements_list(&s)) < 0 ||
        put(d, R.row_groups, row_groups_list(md, &s)) < 0)
        Py_CLEAR(d);
done:
    schema_free(&s);
    if (gc_was_enabled)
        PyGC_Enable();
    return d;
}

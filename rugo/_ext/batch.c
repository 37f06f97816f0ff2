/* batch.c - parse_batch: many footers -> the scanner's catalogue rows, as Arrow buffers.
 *
 *   parse_batch(buffer, spans, detail) -> {"files": table, "columns": table, "row_groups": table}
 *
 * One call per batch of files laid out in one buffer (a shared-memory block). Each footer
 * goes through the same walker, schema and statistics code as `parse` (footer_decode,
 * schema_load, chunk_bounds), but instead of a dict per column chunk the catalogue rows are
 * written straight into growable column buffers. The rows are exactly those of
 * scanner.worker.parse_batch (its module docstring and README "The catalogue"), including
 * its error rows: a file that fails is one `files` row with error_type = type(exc).__name__
 * and error = str(exc), every other field null, and no `columns` / `row_groups` rows.
 *
 * A table is a dict field -> column, each in Arrow layout, ready for pa.Array.from_buffers:
 *   int64    (values: bytes of int64 LE, validity: bytes bitmap LSB-first | None)
 *   float64  (values: bytes of float64 LE, validity | None)
 *   bool     (values: bytes bitmap, validity | None)
 *   code     (values: bytes of uint8, validity | None)  a bound's kind (bounds.h)
 *   string   (offsets: bytes of int64 n+1, data: bytes UTF-8, validity | None)  large_string
 *   dict     (indices: bytes of int32, dictionary offsets: int64, dictionary data, validity
 *            | None)  dictionary<int32, large_string>: the few-valued text columns (types,
 *            codecs, paths, writers), each distinct text stored once per batch
 *   strings  (list offsets: int64 n+1, string offsets: int64, data, validity | None)
 *            large_list<large_string>
 * A statistics bound is seven columns (bounds.c): stats_kind, then the text, int and float
 * copies of stats_min and of stats_max. No Python object per row crosses back.
 */
#include "rugo.h"
#include "bounds.h"
#include "gbuf.h"

/* ---------------------------------------------------------------- columns and tables */

enum { K_I64, K_F64, K_BOOLEAN, K_STR, K_CODE, K_STRS, K_DICT };

typedef struct {
    const char *name;
    int kind;
} field_decl;

typedef struct {
    int kind;
    int64_t n;          /* rows */
    gbuf values;        /* int64 / float64 values | value bitmap | uint8 codes | int64 offsets (n + 1) */
    gbuf child;         /* K_STRS: int64 offsets of the strings; K_DICT: of the dictionary's */
    gbuf data;          /* string bytes */
    gbuf valid;         /* validity bitmap */
    uint32_t *slots;    /* K_DICT: open-addressing hash of the dictionary (entry + 1; 0 empty) */
    size_t nslots;      /* a power of two, at least twice the entries */
} column;

typedef struct {
    const field_decl *fields;
    int ncols;
    column *cols;
} table;

/* a bound's seven columns (put_bounds), in the order of scanner.fields.stored */
#define BOUND_DECL {"stats_kind", K_CODE}, {"stats_min", K_STR}, {"stats_min_int", K_I64}, \
    {"stats_min_float", K_F64}, {"stats_max", K_STR}, {"stats_max_int", K_I64}, {"stats_max_float", K_F64}
#define NBOUND_COLUMNS 7

/* Field orders are those of scanner.worker: FILE_FIELDS, COLUMN_FIELDS, ROW_GROUP_FIELDS. */
static const field_decl FILE_DECL[] = {
    {"error_type", K_DICT}, {"error", K_STR}, {"num_rows", K_I64}, {"num_row_groups", K_I64},
    {"num_columns", K_I64}, {"created_by", K_DICT}, {"format_version", K_I64}, {"footer_size", K_I64},
    {"total_compressed_size", K_I64}, {"total_uncompressed_size", K_I64}, {"schema_fingerprint", K_DICT},
    {"schema_columns", K_DICT}, {"encryption_algorithm", K_DICT}, {"key_value_keys", K_STRS},
};
enum { FI_ERROR_TYPE, FI_ERROR, FI_NUM_ROWS, FI_NUM_ROW_GROUPS, FI_NUM_COLUMNS, FI_CREATED_BY,
       FI_FORMAT_VERSION, FI_FOOTER_SIZE, FI_COMPRESSED, FI_UNCOMPRESSED, FI_FINGERPRINT, FI_SCHEMA_COLUMNS, FI_ENCRYPTION,
       FI_KV_KEYS, FI_COUNT };

static const field_decl COLUMN_DECL[] = {
    {"file_pos", K_I64}, {"column_id", K_I64}, {"path_in_schema", K_DICT}, {"type", K_DICT},
    {"logical_type", K_DICT}, {"num_values", K_I64}, {"stats_null_count", K_I64},
    {"total_compressed_size", K_I64}, {"total_uncompressed_size", K_I64}, BOUND_DECL,
    {"encodings", K_DICT}, {"compression", K_DICT}, {"has_bloom_filter", K_BOOLEAN},
    {"has_page_index", K_BOOLEAN},
};
enum { CO_FILE_POS, CO_COLUMN_ID, CO_PATH, CO_TYPE, CO_LOGICAL, CO_NUM_VALUES, CO_NULL_COUNT,
       CO_COMPRESSED, CO_UNCOMPRESSED, CO_BOUNDS, CO_ENCODINGS = CO_BOUNDS + NBOUND_COLUMNS, CO_COMPRESSION, CO_BLOOM,
       CO_PAGE_INDEX, CO_COUNT };

static const field_decl ROW_GROUP_DECL[] = {
    {"file_pos", K_I64}, {"row_group_id", K_I64}, {"row_group_num_columns", K_I64}, {"column_id", K_I64},
    {"encodings", K_DICT}, {"compression", K_DICT}, {"row_group_num_rows", K_I64}, {"row_group_bytes", K_I64},
    {"row_group_compressed_bytes", K_I64}, {"num_values", K_I64}, {"path_in_schema", K_DICT},
    {"type", K_DICT}, {"logical_type", K_DICT}, BOUND_DECL, {"stats_null_count", K_I64}, {"stats_distinct_count", K_I64}, {"index_page_offset", K_I64},
    {"dictionary_page_offset", K_I64}, {"data_page_offset", K_I64}, {"total_compressed_size", K_I64},
    {"total_uncompressed_size", K_I64}, {"bloom_filter_offset", K_I64}, {"bloom_filter_length", K_I64},
    {"min_is_exact", K_BOOLEAN}, {"max_is_exact", K_BOOLEAN}, {"column_index_offset", K_I64},
    {"column_index_length", K_I64}, {"offset_index_offset", K_I64}, {"offset_index_length", K_I64},
};
enum { RW_FILE_POS, RW_RG_ID, RW_RG_NUM_COLUMNS, RW_COLUMN_ID, RW_ENCODINGS, RW_COMPRESSION, RW_RG_NUM_ROWS,
       RW_RG_BYTES, RW_RG_COMPRESSED, RW_NUM_VALUES, RW_PATH, RW_TYPE, RW_LOGICAL, RW_BOUNDS,
       RW_NULL_COUNT = RW_BOUNDS + NBOUND_COLUMNS, RW_DISTINCT_COUNT, RW_INDEX_PAGE, RW_DICTIONARY_PAGE, RW_DATA_PAGE, RW_COMPRESSED,
       RW_UNCOMPRESSED, RW_BLOOM_OFFSET, RW_BLOOM_LENGTH, RW_MIN_EXACT, RW_MAX_EXACT, RW_COLUMN_INDEX_OFFSET,
       RW_COLUMN_INDEX_LENGTH, RW_OFFSET_INDEX_OFFSET, RW_OFFSET_INDEX_LENGTH, RW_COUNT };

#define NDECL(a) ((int)(sizeof(a) / sizeof(a[0])))

static int table_init(table *t, const field_decl *fields, int n)
{
    t->fields = fields;
    t->ncols = n;
    t->cols = PyMem_Calloc((size_t)n, sizeof(column));
    if (!t->cols) {
        PyErr_NoMemory();
        return -1;
    }
    for (int i = 0; i < n; i++) {
        column *c = &t->cols[i];
        c->kind = fields[i].kind;
        if ((c->kind == K_STR || c->kind == K_STRS) && gb_i64(&c->values, 0) < 0)
            return -1;
        if ((c->kind == K_STRS || c->kind == K_DICT) && gb_i64(&c->child, 0) < 0)
            return -1;
    }
    return 0;
}

static void table_free(table *t)
{
    for (int i = 0; t->cols && i < t->ncols; i++) {
        gb_free(&t->cols[i].values);
        gb_free(&t->cols[i].child);
        gb_free(&t->cols[i].data);
        gb_free(&t->cols[i].valid);
        PyMem_RawFree(t->cols[i].slots);
    }
    PyMem_Free(t->cols);
    t->cols = NULL;
}

static int64_t table_rows(const table *t) { return t->cols[0].n; }

/* Drop the rows from `mark` on: a file's rows are all appended or none. */
static void table_truncate(table *t, int64_t mark)
{
    for (int i = 0; i < t->ncols; i++) {
        column *c = &t->cols[i];
        if (c->n <= mark)
            continue;
        switch (c->kind) {
        case K_I64: case K_F64: c->values.n = (size_t)mark * 8; break;
        case K_BOOLEAN: c->values.n = ((size_t)mark + 7) / 8; break;
        case K_CODE: c->values.n = (size_t)mark; break;
        case K_DICT: c->values.n = (size_t)mark * 4; break;   /* the dictionary keeps its entries */
        case K_STR: {
            int64_t end;
            memcpy(&end, c->values.p + (size_t)mark * 8, 8);
            c->values.n = ((size_t)mark + 1) * 8;
            c->data.n = (size_t)end;
            break;
        }
        case K_STRS: {
            int64_t strings, end;
            memcpy(&strings, c->values.p + (size_t)mark * 8, 8);
            memcpy(&end, c->child.p + (size_t)strings * 8, 8);
            c->values.n = ((size_t)mark + 1) * 8;
            c->child.n = ((size_t)strings + 1) * 8;
            c->data.n = (size_t)end;
            break;
        }
        }
        c->valid.n = ((size_t)mark + 7) / 8;
        c->n = mark;
    }
}

/* Each put appends one row's value to a column; -1 with a Python error set. */

static int put_valid(column *c, int v) { return gb_bit(&c->valid, c->n, v); }

static int put_int(column *c, int present, int64_t v)
{
    if (gb_i64(&c->values, present ? v : 0) < 0 || put_valid(c, present) < 0)
        return -1;
    c->n++;
    return 0;
}

static int put_bool(column *c, int present, int v)
{
    if (gb_bit(&c->values, c->n, present && v) < 0 || put_valid(c, present) < 0)
        return -1;
    c->n++;
    return 0;
}

static int put_double(column *c, int present, double v)
{
    if (gb_put(&c->values, &v, sizeof v) < 0 || put_valid(c, present) < 0)
        return -1;
    c->n++;
    return 0;
}

static int put_code(column *c, int present, int v)
{
    uint8_t code = present ? (uint8_t)v : 0;
    if (gb_put(&c->values, &code, 1) < 0 || put_valid(c, present) < 0)
        return -1;
    c->n++;
    return 0;
}

/* FNV-1a */
static uint32_t text_hash(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h;
}

/* K_DICT: entries of the dictionary; K_STRS: strings in all lists so far */
static size_t child_count(const column *c) { return c->child.n / 8 - 1; }

static int dict_is(const column *c, uint32_t entry, const char *s, size_t n)
{
    int64_t at[2];
    memcpy(at, c->child.p + (size_t)entry * 8, 16);
    return (size_t)(at[1] - at[0]) == n && memcmp(c->data.p + at[0], s, n) == 0;
}

/* the slots for twice the entries, rehashed (-1 with MemoryError) */
static int dict_grow(column *c)
{
    size_t entries = child_count(c), nslots = c->nslots ? c->nslots * 2 : 64;
    uint32_t *slots = PyMem_RawCalloc(nslots, sizeof *slots);
    if (!slots) {
        PyErr_NoMemory();
        return -1;
    }
    for (size_t e = 0; e < entries; e++) {
        int64_t at[2];
        memcpy(at, c->child.p + e * 8, 16);
        size_t k = text_hash((const char *)c->data.p + at[0], (size_t)(at[1] - at[0])) & (nslots - 1);
        while (slots[k])
            k = (k + 1) & (nslots - 1);
        slots[k] = (uint32_t)e + 1;
    }
    PyMem_RawFree(c->slots);
    c->slots = slots;
    c->nslots = nslots;
    return 0;
}

/* the dictionary entry of s[0:n], added when new; -1 with MemoryError */
static int64_t dict_entry(column *c, const char *s, size_t n)
{
    if (child_count(c) * 2 >= c->nslots && dict_grow(c) < 0)
        return -1;
    size_t k = text_hash(s, n) & (c->nslots - 1);
    while (c->slots[k]) {
        if (dict_is(c, c->slots[k] - 1, s, n))
            return c->slots[k] - 1;
        k = (k + 1) & (c->nslots - 1);
    }
    size_t entry = child_count(c);
    if (entry >= INT32_MAX || gb_put(&c->data, s, n) < 0 || gb_i64(&c->child, (int64_t)c->data.n) < 0) {
        if (!PyErr_Occurred())
            PyErr_NoMemory();
        return -1;
    }
    c->slots[k] = (uint32_t)entry + 1;
    return (int64_t)entry;
}

static int put_index(column *c, int present, int32_t index)
{
    if (gb_put(&c->values, &index, sizeof index) < 0 || put_valid(c, present) < 0)
        return -1;
    c->n++;
    return 0;
}

static int put_text(column *c, const char *s, size_t n)
{
    if (c->kind == K_DICT) {
        int64_t entry = dict_entry(c, s, n);
        return entry < 0 ? -1 : put_index(c, 1, (int32_t)entry);
    }
    if (gb_put(&c->data, s, n) < 0 || gb_i64(&c->values, (int64_t)c->data.n) < 0 || put_valid(c, 1) < 0)
        return -1;
    c->n++;
    return 0;
}

static int put_null(column *c)
{
    int rc;
    switch (c->kind) {
    case K_I64: return put_int(c, 0, 0);
    case K_F64: return put_double(c, 0, 0.0);
    case K_BOOLEAN: return put_bool(c, 0, 0);
    case K_CODE: return put_code(c, 0, 0);
    case K_DICT: return put_index(c, 0, 0);
    case K_STR: rc = gb_i64(&c->values, (int64_t)c->data.n); break;
    default: rc = gb_i64(&c->values, (int64_t)child_count(c)); break;   /* K_STRS: an empty list */
    }
    if (rc < 0 || put_valid(c, 0) < 0)
        return -1;
    c->n++;
    return 0;
}

/* a str's UTF-8 (None is null) */
static int put_str(column *c, PyObject *s)
{
    if (s == Py_None)
        return put_null(c);
    Py_ssize_t n;
    const char *p = PyUnicode_AsUTF8AndSize(s, &n);
    return p ? put_text(c, p, (size_t)n) : -1;
}

/* a list of str (bytes, not UTF-8, decoded with U+FFFD for what is not) */
static int put_strs(column *c, PyObject *items)
{
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(items); i++) {
        PyObject *item = PyList_GET_ITEM(items, i), *decoded = NULL;
        if (PyBytes_Check(item) &&
            !(item = decoded = PyUnicode_DecodeUTF8(PyBytes_AS_STRING(item), PyBytes_GET_SIZE(item), "replace")))
            return -1;
        Py_ssize_t n;
        const char *p = PyUnicode_AsUTF8AndSize(item, &n);
        int rc = p ? gb_put(&c->data, p, (size_t)n) : -1;
        Py_XDECREF(decoded);
        if (rc < 0 || gb_i64(&c->child, (int64_t)c->data.n) < 0)
            return -1;
    }
    if (gb_i64(&c->values, (int64_t)child_count(c)) < 0 || put_valid(c, 1) < 0)
        return -1;
    c->n++;
    return 0;
}

/* ---------------------------------------------------------------- the Python result */

static PyObject *bytes_of(const gbuf *b, size_t n) { return PyBytes_FromStringAndSize((const char *)b->p, (Py_ssize_t)n); }

/* the validity bitmap, or None when every row is valid */
static PyObject *validity_of(const column *c)
{
    int64_t full = c->n / 8;
    for (int64_t i = 0; i < full; i++)
        if (c->valid.p[i] != 0xff)
            return bytes_of(&c->valid, ((size_t)c->n + 7) / 8);
    for (int64_t i = full * 8; i < c->n; i++)
        if (!(c->valid.p[i >> 3] & (1u << (i & 7))))
            return bytes_of(&c->valid, ((size_t)c->n + 7) / 8);
    return Py_NewRef(Py_None);
}

static PyObject *column_result(const column *c)
{
    switch (c->kind) {
    case K_STRS:
        return Py_BuildValue("(NNNN)", bytes_of(&c->values, c->values.n), bytes_of(&c->child, c->child.n),
                             bytes_of(&c->data, c->data.n), validity_of(c));
    case K_CODE:
        return Py_BuildValue("(NN)", bytes_of(&c->values, c->values.n), validity_of(c));
    case K_DICT:
        return Py_BuildValue("(NNNN)", bytes_of(&c->values, c->values.n), bytes_of(&c->child, c->child.n),
                             bytes_of(&c->data, c->data.n), validity_of(c));
    case K_STR:
        return Py_BuildValue("(NNN)", bytes_of(&c->values, c->values.n), bytes_of(&c->data, c->data.n),
                             validity_of(c));
    default:   /* K_I64, K_F64, K_BOOLEAN; a bitmap of 0 rows still has 0 bytes */
        return Py_BuildValue("(NN)", bytes_of(&c->values, c->kind == K_BOOLEAN ? ((size_t)c->n + 7) / 8 : (size_t)c->n * 8),
                             validity_of(c));
    }
}

static PyObject *table_result(const table *t)
{
    PyObject *d = PyDict_New();
    for (int i = 0; d && i < t->ncols; i++) {
        PyObject *v = column_result(&t->cols[i]);
        if (!v || PyDict_SetItemString(d, t->fields[i].name, v) < 0)
            Py_CLEAR(d);
        Py_XDECREF(v);
    }
    return d;
}

/* ---------------------------------------------------------------- one file */

enum { DETAIL_FILES, DETAIL_COLUMNS, DETAIL_ROW_GROUPS };

typedef struct {
    rugo_state *rs;     /* the module's state, fetched once per call */
    int detail;
    table files, columns, row_groups;
    decoder *d;
    FileMetaData *md;
    /* per-file scratch, grown as needed and reused */
    PyObject **bounds;      /* [(r * nleaves + j) * 2 + {0: min, 1: max}], NULL when absent */
    size_t nbounds, bounds_cap;
    PyObject **agg;         /* per leaf: aggregated min, max */
    size_t nagg, agg_cap;
    int *leaf_of;           /* per catalogue leaf: its schema_info leaf */
    size_t leaf_cap;
    int32_t *distinct;      /* encodings / codecs of one column */
    size_t distinct_cap;
    gbuf text;              /* a joined encodings / codecs string, or a bound's text */
} batch;

/* n items of `size` bytes in *p (capacity *cap), contents not kept; -1 with MemoryError */
static int scratch(void **p, size_t *cap, size_t n, size_t size)
{
    if (n <= *cap)
        return 0;
    if (n > SIZE_MAX / size / 2) {
        PyErr_NoMemory();
        return -1;
    }
    size_t want = n < 64 ? 64 : n * 2;
    void *q = PyMem_RawMalloc(want * size);
    if (!q) {
        PyErr_NoMemory();
        return -1;
    }
    PyMem_RawFree(*p);
    *p = q;
    *cap = want;
    return 0;
}

static void drop_refs(PyObject **objs, size_t *n)
{
    for (size_t i = 0; i < *n; i++)
        Py_XDECREF(objs[i]);
    *n = 0;
}

/* The leaves scanner.worker catalogues are the schema elements after the root whose
 * num_children is None. schema.c makes a leaf of every element without children, so an
 * element declaring num_children = 0 is a schema leaf the worker does not count. Returns
 * how many, and fills b->leaf_of with their schema_info leaf indices. */
static int catalogue_leaves(batch *b, const FileMetaData *md, int *count)
{
    const SchemaElement *els = md->schema.items;
    if (scratch((void **)&b->leaf_of, &b->leaf_cap, md->schema.n, sizeof(int)) < 0)
        return -1;
    int n = 0, leaf = 0;
    for (uint32_t i = 1; i < md->schema.n; i++) {
        int has_children = ISSET(&els[i], SE_NUM_CHILDREN);
        if (has_children && els[i].num_children > 0)
            continue;   /* a group */
        if (!has_children)
            b->leaf_of[n++] = leaf;
        leaf++;
    }
    *count = n;
    return 0;
}

static const ColumnChunk *chunk_at(const FileMetaData *md, uint32_t r, int j)
{
    const RowGroup *rg = (const RowGroup *)md->row_groups.items + r;
    return (const ColumnChunk *)rg->columns.items + j;
}

static int has_meta(const ColumnChunk *cc) { return ISSET(cc, CC_META_DATA); }
static int has_stats(const ColumnChunk *cc) { return has_meta(cc) && ISSET(&cc->meta_data, CM_STATISTICS); }

/* Walk the row groups in file order as build_result does (same checks, same decoding, in
 * the same order, so the same error comes first), keeping each chunk's bounds. */
static int decode_row_groups(batch *b, const FileMetaData *md, const schema_info *s)
{
    writer_version wv;
    writer_version_parse(md->created_by, ISSET(md, FM_CREATED_BY), &wv);
    size_t nl = (size_t)s->nleaves, nrg = md->row_groups.n;
    int want_bounds = b->detail != DETAIL_FILES;
    if (want_bounds) {
        if (nl && nrg > SIZE_MAX / 2 / nl) {
            PyErr_NoMemory();
            return -1;
        }
        /* widths are checked below before any chunk is read; a row group of the wrong width
         * stops the walk, so nrg * nl slots are enough */
        if (scratch((void **)&b->bounds, &b->bounds_cap, nrg * nl * 2, sizeof(PyObject *)) < 0)
            return -1;
    }
    for (uint32_t r = 0; r < md->row_groups.n; r++) {
        if (!row_group_width_ok(b->rs, (const RowGroup *)md->row_groups.items + r, r, s->nleaves))
            return -1;
        if (!want_bounds)
            continue;
        for (int j = 0; j < s->nleaves; j++) {
            const ColumnChunk *cc = chunk_at(md, r, j);
            PyObject **slot = &b->bounds[b->nbounds];
            slot[0] = slot[1] = NULL;
            b->nbounds += 2;
            if (has_stats(cc) && chunk_bounds(b->rs, &cc->meta_data.statistics, &s->leaves[j], &wv, &slot[0], &slot[1]) < 0)
                return -1;
        }
    }
    return 0;
}

static PyObject *bound_at(const batch *b, int nleaves, uint32_t r, int j, int which)
{
    return b->bounds[((size_t)r * (size_t)nleaves + (size_t)j) * 2 + (size_t)which];
}

/* scanner.worker._bounds for one column: the value itself for one row group; else None
 * when a row group lacks one, else builtin min / max (first kept on ties and NaN), None
 * when the values do not compare (TypeError). New reference; NULL on another error. */
static PyObject *aggregate_bound(const batch *b, const FileMetaData *md, int nleaves, int j, int which)
{
    uint32_t nrg = md->row_groups.n;
    if (nrg == 0)
        return Py_NewRef(Py_None);
    PyObject *best = bound_at(b, nleaves, 0, j, which);
    if (nrg == 1)
        return Py_NewRef(best ? best : Py_None);
    for (uint32_t r = 0; r < nrg; r++) {
        PyObject *v = bound_at(b, nleaves, r, j, which);
        if (!v || v == Py_None)
            return Py_NewRef(Py_None);
    }
    int op = which == 0 ? Py_LT : Py_GT;
    for (uint32_t r = 1; r < nrg; r++) {
        PyObject *v = bound_at(b, nleaves, r, j, which);
        int better = PyObject_RichCompareBool(v, best, op);
        if (better < 0) {
            if (!PyErr_ExceptionMatches(PyExc_TypeError))
                return NULL;
            PyErr_Clear();
            return Py_NewRef(Py_None);
        }
        if (better)
            best = v;
    }
    return Py_NewRef(best);
}

/* one bound's text, int and float columns (c[0..2]) */
static int put_bound(column *c, const bound *v, const gbuf *text)
{
    if (v->kind == BOUND_NONE)
        return put_null(&c[0]) < 0 || put_null(&c[1]) < 0 || put_null(&c[2]) < 0 ? -1 : 0;
    return put_text(&c[0], (const char *)text->p, text->n) < 0 || put_int(&c[1], v->has_int, v->i) < 0 ||
           put_double(&c[2], v->has_float, v->f) < 0 ? -1 : 0;
}

/* a row's bounds (NULL: none) in its seven bound columns c[0..6] (BOUND_DECL); the kind is
 * the minimum's, else the maximum's (a leaf's bounds are of one kind) */
static int put_bounds(batch *b, column *c, PyObject *min, PyObject *max)
{
    bound low, high;
    if (bound_encode(b->rs, min ? min : Py_None, &low, &b->text) < 0 || put_bound(&c[1], &low, &b->text) < 0 ||
        bound_encode(b->rs, max ? max : Py_None, &high, &b->text) < 0 || put_bound(&c[4], &high, &b->text) < 0)
        return -1;
    int kind = low.kind != BOUND_NONE ? low.kind : high.kind;
    return put_code(&c[0], kind != BOUND_NONE, kind);
}

/* distinct values of v[0:n] appended to b->distinct[*count], first seen first */
static void add_distinct(batch *b, size_t *count, const int32_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t k = 0;
        while (k < *count && b->distinct[k] != v[i])
            k++;
        if (k == *count)
            b->distinct[(*count)++] = v[i];
    }
}

/* the names joined like scanner.worker._join_distinct: "PLAIN, RLE"; an unknown value
 * (newer than this reader) is its number; the text lands in b->text */
static int join_names(batch *b, PyObject *const *table, int size, size_t count)
{
    b->text.n = 0;
    for (size_t i = 0; i < count; i++) {
        int32_t v = b->distinct[i];
        char num[16];
        const char *p = num;
        Py_ssize_t n;
        if (v >= 0 && v < size && table[v]) {
            if (!(p = PyUnicode_AsUTF8AndSize(table[v], &n)))
                return -1;
        } else {
            n = snprintf(num, sizeof num, "%d", (int)v);
        }
        if ((i && gb_put(&b->text, ", ", 2) < 0) || gb_put(&b->text, p, (size_t)n) < 0)
            return -1;
    }
    return 0;
}

/* A column's encodings over the row groups [r0, r1), distinct, joined */
static int put_encodings(batch *b, column *c, const FileMetaData *md, uint32_t r0, uint32_t r1, int j)
{
    size_t total = 0, count = 0;
    for (uint32_t r = r0; r < r1; r++)
        total += chunk_at(md, r, j)->meta_data.encodings.n;   /* <= the footer's bytes */
    if (scratch((void **)&b->distinct, &b->distinct_cap, total, sizeof(int32_t)) < 0)
        return -1;
    for (uint32_t r = r0; r < r1; r++) {
        const list *l = &chunk_at(md, r, j)->meta_data.encodings;
        add_distinct(b, &count, l->items, l->n);
    }
    if (join_names(b, b->rs->encoding, 10, count) < 0)
        return -1;
    return put_text(c, (const char *)b->text.p, b->text.n);
}

/* A column's codecs over the row groups [r0, r1), distinct, joined */
static int put_codecs(batch *b, column *c, const FileMetaData *md, uint32_t r0, uint32_t r1, int j)
{
    size_t count = 0;
    if (scratch((void **)&b->distinct, &b->distinct_cap, r1 - r0, sizeof(int32_t)) < 0)
        return -1;
    for (uint32_t r = r0; r < r1; r++)
        add_distinct(b, &count, &chunk_at(md, r, j)->meta_data.codec, 1);
    if (join_names(b, b->rs->codec, 8, count) < 0)
        return -1;
    return put_text(c, (const char *)b->text.p, b->text.n);
}

/* Python ints do not overflow, so the worker's sums never fail; a catalogue column is
 * int64, so here a sum beyond it makes the file an error row. */
static int add_checked(int64_t *sum, int64_t v, const char *what)
{
    if (!__builtin_add_overflow(*sum, v, sum))
        return 0;
    PyErr_Format(PyExc_OverflowError, "the sum of %s over the column chunks exceeds the int64 range", what);
    return -1;
}

/* per column: the chunk fields summed over row groups (the worker's _sums) */
typedef struct {
    int64_t num_values, null_count, compressed, uncompressed;
    int has_null_count;
    int bloom, page_index;
} column_sums;

static int has_null_count(const ColumnChunk *cc) { return has_stats(cc) && ISSET(&cc->meta_data.statistics, ST_NULL_COUNT); }

/* every chunk has metadata (column_rows checked) */
static int sum_column(const FileMetaData *md, int j, column_sums *out)
{
    memset(out, 0, sizeof *out);
    out->has_null_count = 1;   /* a sum only when every row group has a count */
    for (uint32_t r = 0; r < md->row_groups.n; r++)
        out->has_null_count &= has_null_count(chunk_at(md, r, j));
    for (uint32_t r = 0; r < md->row_groups.n; r++) {
        const ColumnChunk *cc = chunk_at(md, r, j);
        const ColumnMetaData *m = &cc->meta_data;
        if (add_checked(&out->num_values, m->num_values, "num_values") < 0 ||
            add_checked(&out->compressed, m->total_compressed_size, "total_compressed_size") < 0 ||
            add_checked(&out->uncompressed, m->total_uncompressed_size, "total_uncompressed_size") < 0 ||
            (out->has_null_count && add_checked(&out->null_count, m->statistics.null_count, "stats_null_count") < 0))
            return -1;
        out->bloom |= ISSET(m, CM_BLOOM_OFFSET) && m->bloom_filter_offset != 0;
        out->page_index |= ISSET(cc, CC_COLUMN_INDEX_OFFSET) && cc->column_index_offset != 0;
    }
    return 0;
}

/* The `columns` rows of one file (scanner.worker._column_rows). */
static int column_rows(batch *b, int64_t pos, const FileMetaData *md, const schema_info *s, int nleaves)
{
    column *c = b->columns.cols;
    uint32_t nrg = md->row_groups.n;
    if (scratch((void **)&b->agg, &b->agg_cap, (size_t)nleaves * 2, sizeof(PyObject *)) < 0)
        return -1;
    /* all minimums, then all maximums, as the worker computes them (the same error first) */
    for (int which = 0; which < 2; which++)
        for (int j = 0; j < nleaves; j++) {
            PyObject *v = aggregate_bound(b, md, s->nleaves, j, which);
            if (!v)
                return -1;
            b->agg[b->nagg++] = v;
        }
    /* a chunk without metadata (an encrypted column) has encodings None: the worker fails
     * joining them */
    for (uint32_t r = 0; r < nrg; r++)
        for (int j = 0; j < nleaves; j++)
            if (!has_meta(chunk_at(md, r, j))) {
                PyErr_SetString(PyExc_TypeError, "'NoneType' object is not iterable");
                return -1;
            }
    for (int j = 0; j < nleaves; j++) {
        const leaf_info *L = &s->leaves[b->leaf_of[j]];
        column_sums t;
        if (sum_column(md, j, &t) < 0)
            return -1;
        if (put_int(&c[CO_FILE_POS], 1, pos) < 0 || put_int(&c[CO_COLUMN_ID], 1, j) < 0 ||
            put_text(&c[CO_PATH], L->path_utf8, (size_t)L->path_len) < 0 || put_str(&c[CO_TYPE], L->physical_str) < 0 ||
            put_str(&c[CO_LOGICAL], L->logical_str) < 0 || put_int(&c[CO_NUM_VALUES], 1, t.num_values) < 0 ||
            put_int(&c[CO_NULL_COUNT], t.has_null_count, t.null_count) < 0 ||
            put_int(&c[CO_COMPRESSED], 1, t.compressed) < 0 || put_int(&c[CO_UNCOMPRESSED], 1, t.uncompressed) < 0 ||
            put_bounds(b, &c[CO_BOUNDS], b->agg[j], b->agg[nleaves + j]) < 0 ||
            put_encodings(b, &c[CO_ENCODINGS], md, 0, nrg, j) < 0 || put_codecs(b, &c[CO_COMPRESSION], md, 0, nrg, j) < 0 ||
            put_bool(&c[CO_BLOOM], 1, t.bloom) < 0 || put_bool(&c[CO_PAGE_INDEX], 1, t.page_index) < 0)
            return -1;
    }
    return 0;
}

/* The `row_groups` rows of one file: one per chunk (scanner.worker._row_group_rows). */
static int row_group_rows(batch *b, int64_t pos, const FileMetaData *md, const schema_info *s)
{
    column *c = b->row_groups.cols;
    for (uint32_t r = 0; r < md->row_groups.n; r++) {
        const RowGroup *rg = (const RowGroup *)md->row_groups.items + r;
        for (int j = 0; j < s->nleaves; j++) {
            const ColumnChunk *cc = chunk_at(md, r, j);
            const ColumnMetaData *m = &cc->meta_data;
            const Statistics *st = &m->statistics;
            const leaf_info *L = &s->leaves[j];
            int hs = has_stats(cc);
            PyObject *min = bound_at(b, s->nleaves, r, j, 0), *max = bound_at(b, s->nleaves, r, j, 1);
            if (put_int(&c[RW_FILE_POS], 1, pos) < 0 || put_int(&c[RW_RG_ID], 1, r) < 0 ||
                put_int(&c[RW_RG_NUM_COLUMNS], 1, s->nleaves) < 0 || put_int(&c[RW_COLUMN_ID], 1, j) < 0 ||
                put_encodings(b, &c[RW_ENCODINGS], md, r, r + 1, j) < 0 ||
                put_codecs(b, &c[RW_COMPRESSION], md, r, r + 1, j) < 0 ||
                put_int(&c[RW_RG_NUM_ROWS], 1, rg->num_rows) < 0 || put_int(&c[RW_RG_BYTES], 1, rg->total_byte_size) < 0 ||
                put_int(&c[RW_RG_COMPRESSED], ISSET(rg, RG_TOTAL_COMPRESSED), rg->total_compressed_size) < 0 ||
                put_int(&c[RW_NUM_VALUES], 1, m->num_values) < 0)
                return -1;
            if (chunk_path_matches(&m->path_in_schema, L)) {
                if (put_text(&c[RW_PATH], L->path_utf8, (size_t)L->path_len) < 0)
                    return -1;
            } else {
                PyObject *path = chunk_path(&m->path_in_schema);
                int rc = path ? put_str(&c[RW_PATH], path) : -1;
                Py_XDECREF(path);
                if (rc < 0)
                    return -1;
            }
            if (put_str(&c[RW_TYPE], L->physical_str) < 0 || put_str(&c[RW_LOGICAL], L->logical_str) < 0 ||
                put_bounds(b, &c[RW_BOUNDS], min, max) < 0 ||
                put_int(&c[RW_NULL_COUNT], hs && ISSET(st, ST_NULL_COUNT), st->null_count) < 0 ||
                put_int(&c[RW_DISTINCT_COUNT], hs && ISSET(st, ST_DISTINCT_COUNT), st->distinct_count) < 0 ||
                put_int(&c[RW_INDEX_PAGE], ISSET(m, CM_INDEX_PAGE_OFFSET), m->index_page_offset) < 0 ||
                put_int(&c[RW_DICTIONARY_PAGE], ISSET(m, CM_DICTIONARY_PAGE_OFFSET), m->dictionary_page_offset) < 0 ||
                put_int(&c[RW_DATA_PAGE], 1, m->data_page_offset) < 0 ||
                put_int(&c[RW_COMPRESSED], 1, m->total_compressed_size) < 0 ||
                put_int(&c[RW_UNCOMPRESSED], 1, m->total_uncompressed_size) < 0 ||
                put_int(&c[RW_BLOOM_OFFSET], ISSET(m, CM_BLOOM_OFFSET), m->bloom_filter_offset) < 0 ||
                put_int(&c[RW_BLOOM_LENGTH], ISSET(m, CM_BLOOM_LENGTH), m->bloom_filter_length) < 0 ||
                put_bool(&c[RW_MIN_EXACT], hs && ISSET(st, ST_IS_MIN_EXACT), st->is_min_value_exact) < 0 ||
                put_bool(&c[RW_MAX_EXACT], hs && ISSET(st, ST_IS_MAX_EXACT), st->is_max_value_exact) < 0 ||
                put_int(&c[RW_COLUMN_INDEX_OFFSET], ISSET(cc, CC_COLUMN_INDEX_OFFSET), cc->column_index_offset) < 0 ||
                put_int(&c[RW_COLUMN_INDEX_LENGTH], ISSET(cc, CC_COLUMN_INDEX_LENGTH), cc->column_index_length) < 0 ||
                put_int(&c[RW_OFFSET_INDEX_OFFSET], ISSET(cc, CC_OFFSET_INDEX_OFFSET), cc->offset_index_offset) < 0 ||
                put_int(&c[RW_OFFSET_INDEX_LENGTH], ISSET(cc, CC_OFFSET_INDEX_LENGTH), cc->offset_index_length) < 0)
                return -1;
        }
    }
    return 0;
}

/* The `files` row of a parsed file (the end of scanner.worker._file_rows). */
static int file_row(batch *b, const FileMetaData *md, uint32_t footer_size, span raw, schema_info *s, int nleaves)
{
    int64_t compressed = 0, uncompressed = 0;
    for (uint32_t r = 0; r < md->row_groups.n; r++)
        for (int j = 0; j < s->nleaves; j++) {
            const ColumnChunk *cc = chunk_at(md, r, j);
            if (!has_meta(cc)) {   /* its sizes are None: the worker's sum() fails */
                PyErr_SetString(PyExc_TypeError, "unsupported operand type(s) for +: 'int' and 'NoneType'");
                return -1;
            }
            if (add_checked(&compressed, cc->meta_data.total_compressed_size, "total_compressed_size") < 0 ||
                add_checked(&uncompressed, cc->meta_data.total_uncompressed_size, "total_uncompressed_size") < 0)
                return -1;
        }
    PyObject *fingerprint = schema_fingerprint(b->rs, raw, s);   /* borrowed */
    PyObject *columns_json = fingerprint ? schema_columns_json(b->rs, raw, s) : NULL;   /* borrowed */
    PyObject *kv = columns_json ? kv_dict(&md->key_value_metadata) : NULL;
    PyObject *keys = kv ? PySequence_List(kv) : NULL;
    Py_XDECREF(kv);
    if (!keys)
        return -1;
    column *c = b->files.cols;
    PyObject *encryption = encryption_name(b->rs, &md->encryption_algorithm);
    int rc = -1;
    if (put_null(&c[FI_ERROR_TYPE]) < 0 || put_null(&c[FI_ERROR]) < 0 ||
        put_int(&c[FI_NUM_ROWS], 1, md->num_rows) < 0 || put_int(&c[FI_NUM_ROW_GROUPS], 1, md->row_groups.total) < 0 ||
        put_int(&c[FI_NUM_COLUMNS], 1, nleaves) < 0)
        goto done;
    if (ISSET(md, FM_CREATED_BY)) {
        PyObject *text = text_from_span(md->created_by);   /* as build_result decodes it */
        int ok = text && put_str(&c[FI_CREATED_BY], text) == 0;
        Py_XDECREF(text);
        if (!ok)
            goto done;
    } else if (put_null(&c[FI_CREATED_BY]) < 0) {
        goto done;
    }
    if (put_int(&c[FI_FORMAT_VERSION], 1, md->version) < 0 || put_int(&c[FI_FOOTER_SIZE], 1, footer_size) < 0 ||
        put_int(&c[FI_COMPRESSED], 1, compressed) < 0 || put_int(&c[FI_UNCOMPRESSED], 1, uncompressed) < 0 ||
        put_str(&c[FI_FINGERPRINT], fingerprint) < 0 || put_str(&c[FI_SCHEMA_COLUMNS], columns_json) < 0 ||
        put_str(&c[FI_ENCRYPTION], encryption ? encryption : Py_None) < 0)
        goto done;
    rc = put_strs(&c[FI_KV_KEYS], keys);
done:
    Py_DECREF(keys);
    return rc;
}

/* All rows of the file in buf[0:n], or -1 with the Python error that made it fail (and
 * no rows added). */
static int file_rows(batch *b, int64_t pos, const uint8_t *buf, size_t n)
{
    decoder *d = b->d;
    FileMetaData *md = b->md;
    memset(d, 0, sizeof *d);
    memset(md, 0, sizeof *md);
    int64_t col_mark = table_rows(&b->columns), rg_mark = table_rows(&b->row_groups);
    int64_t file_mark = table_rows(&b->files);
    schema_info s = {0};
    int rc = -1, nleaves;
    if (!footer_decode(b->rs, d, md, buf, n, -1, NULL, b->detail != DETAIL_FILES, -1) || !schema_load(b->rs, md, d->schema_raw, &s) ||
        decode_row_groups(b, md, &s) < 0 || catalogue_leaves(b, md, &nleaves) < 0)
        goto done;
    for (uint32_t r = 0; r < md->row_groups.n; r++) {
        uint32_t width = ((const RowGroup *)md->row_groups.items)[r].columns.n;
        if (width != (uint32_t)nleaves) {
            PyErr_Format(PyExc_ValueError, "row group %u has %u column chunks but the schema has %d leaf columns",
                         r, width, nleaves);
            goto done;
        }
    }
    /* from here on (row groups or not) catalogue leaf j is schema leaf b->leaf_of[j] */
    if (b->detail != DETAIL_FILES && column_rows(b, pos, md, &s, nleaves) < 0)
        goto done;
    if (b->detail == DETAIL_ROW_GROUPS && row_group_rows(b, pos, md, &s) < 0)
        goto done;
    rc = file_row(b, md, footer_bytes(d), d->schema_raw, &s, nleaves);
done:
    if (rc < 0) {   /* keep the file's error while its rows are dropped */
        PyObject *type, *value, *tb;
        PyErr_Fetch(&type, &value, &tb);
        table_truncate(&b->columns, col_mark);
        table_truncate(&b->row_groups, rg_mark);
        table_truncate(&b->files, file_mark);
        PyErr_Clear();
        PyErr_Restore(type, value, tb);
    }
    drop_refs(b->bounds, &b->nbounds);
    drop_refs(b->agg, &b->nagg);
    schema_free(&s);
    arena_free(&d->mem);
    return rc;
}

/* The error row of a file that failed with the current exception, which is cleared. */
static int error_row(batch *b)
{
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    PyObject *name = PyObject_GetAttrString((PyObject *)Py_TYPE(value), "__name__");
    PyObject *text = name ? PyObject_Str(value) : NULL;
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(tb);
    int rc = -1;
    column *c = b->files.cols;
    if (text && put_str(&c[FI_ERROR_TYPE], name) == 0 && put_str(&c[FI_ERROR], text) == 0) {
        rc = 0;
        for (int i = FI_ERROR + 1; rc == 0 && i < FI_COUNT; i++)
            rc = put_null(&c[i]);
    }
    Py_XDECREF(name);
    Py_XDECREF(text);
    return rc;
}

/* ---------------------------------------------------------------- the entry point */

/* a slice bound as Python's memoryview slicing takes it: an int (clamped) or None */
static int slice_bound(PyObject *o, Py_ssize_t *out)
{
    if (o == Py_None)
        return 0;
    if (!PyIndex_Check(o)) {
        PyErr_SetString(PyExc_TypeError, "span bounds must be integers or None");
        return -1;
    }
    Py_ssize_t v = PyNumber_AsSsize_t(o, NULL);
    if (v == -1 && PyErr_Occurred())
        return -1;
    *out = v;
    return 0;
}

/* buffer[start:end] of one span, with Python's slicing rules (negative from the end,
 * clamped to the buffer) */
static int span_bytes(PyObject *item, const Py_buffer *view, const uint8_t **p, size_t *n)
{
    PyObject *pair = PySequence_Fast(item, "each span must be a (start, end) pair");
    if (!pair)
        return -1;
    if (PySequence_Fast_GET_SIZE(pair) != 2) {
        PyErr_Format(PyExc_ValueError, "each span must be a (start, end) pair, not %zd values",
                     PySequence_Fast_GET_SIZE(pair));
        Py_DECREF(pair);
        return -1;
    }
    Py_ssize_t start = 0, stop = PY_SSIZE_T_MAX;
    int rc = slice_bound(PySequence_Fast_GET_ITEM(pair, 0), &start);
    if (rc == 0)
        rc = slice_bound(PySequence_Fast_GET_ITEM(pair, 1), &stop);
    Py_DECREF(pair);
    if (rc < 0)
        return -1;
    Py_ssize_t len = PySlice_AdjustIndices(view->len, &start, &stop, 1);
    *p = (const uint8_t *)view->buf + start;
    *n = (size_t)len;
    return 0;
}

static void batch_free(batch *b)
{
    table_free(&b->files);
    table_free(&b->columns);
    table_free(&b->row_groups);
    if (b->d)
        arena_free(&b->d->mem);
    PyMem_Free(b->d);
    PyMem_Free(b->md);
    PyMem_RawFree(b->bounds);
    PyMem_RawFree(b->agg);
    PyMem_RawFree(b->leaf_of);
    PyMem_RawFree(b->distinct);
    gb_free(&b->text);
}

static PyObject *run_batch(rugo_state *rs, const Py_buffer *view, PyObject *spans, int detail)
{
    batch b = {0};
    b.rs = rs;
    b.detail = detail;
    PyObject *out = NULL, *it = NULL, *item = NULL;
    b.d = PyMem_Calloc(1, sizeof(decoder));
    b.md = PyMem_Calloc(1, sizeof(FileMetaData));
    if (!b.d || !b.md) {
        PyErr_NoMemory();
        goto done;
    }
    if (table_init(&b.files, FILE_DECL, NDECL(FILE_DECL)) < 0 ||
        table_init(&b.columns, COLUMN_DECL, NDECL(COLUMN_DECL)) < 0 ||
        table_init(&b.row_groups, ROW_GROUP_DECL, NDECL(ROW_GROUP_DECL)) < 0 || !(it = PyObject_GetIter(spans)))
        goto done;
    for (int64_t pos = 0; (item = PyIter_Next(it)) != NULL; pos++) {
        const uint8_t *p;
        size_t n;
        if (span_bytes(item, view, &p, &n) < 0)
            goto done;
        Py_CLEAR(item);
        if (file_rows(&b, pos, p, n) < 0) {
            /* any failure is data about this file; KeyboardInterrupt & co. stop the batch */
            if (!PyErr_ExceptionMatches(PyExc_Exception) || error_row(&b) < 0)
                goto done;
        }
    }
    if (PyErr_Occurred())
        goto done;
    PyObject *files = table_result(&b.files), *columns = files ? table_result(&b.columns) : NULL;
    PyObject *row_groups = columns ? table_result(&b.row_groups) : NULL;
    if (row_groups)
        out = Py_BuildValue("{sNsNsN}", "files", files, "columns", columns, "row_groups", row_groups);
    else {
        Py_XDECREF(files);
        Py_XDECREF(columns);
    }
done:
    Py_XDECREF(item);
    Py_XDECREF(it);
    batch_free(&b);
    return out;
}

PyObject *py_parse_batch(PyObject *self, PyObject *args)
{
    PyObject *obj, *spans;
    int detail;
    if (!PyArg_ParseTuple(args, "OOi", &obj, &spans, &detail))
        return NULL;
    if (detail < DETAIL_FILES || detail > DETAIL_ROW_GROUPS) {
        PyErr_Format(PyExc_ValueError, "detail must be 0 (files), 1 (columns) or 2 (row_groups), not %d", detail);
        return NULL;
    }
    Py_buffer view;
    if (PyObject_GetBuffer(obj, &view, PyBUF_STRIDES | PyBUF_FORMAT) < 0)
        return NULL;
    PyObject *out = NULL;
    if (!PyBuffer_IsContiguous(&view, 'C'))
        PyErr_SetString(PyExc_ValueError, "buffer is not C-contiguous; pass a contiguous view (e.g. bytes(view))");
    else if (view.itemsize != 1 || view.ndim > 1)
        PyErr_SetString(PyExc_ValueError, "buffer must be one-dimensional bytes (spans are byte offsets)");
    else {
        /* a wide footer makes many acyclic objects: no collections while they are made */
        int gc_was_enabled = PyGC_Disable();
        out = run_batch((rugo_state *)PyModule_GetState(self), &view, spans, detail);
        if (gc_was_enabled)
            PyGC_Enable();
    }
    PyBuffer_Release(&view);
    return out;
}

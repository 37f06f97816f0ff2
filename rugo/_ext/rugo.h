/* rugo.h - what module.c, schema.c, convert.c and build.c share.
 *
 * ---- Which thread may touch what --------------------------------------------------------
 * Everything that reaches Python objects or the module state (rugo_state below: interned
 * keys, templates, imported classes, the schema cache, lazily imported helpers) runs with
 * the GIL held, in the thread that called into the module: parse, read_file (after its
 * read), plan_tail, parse_batch, and load_tails before and after its loop. The state is
 * reached only through the module object each entry point receives (`self`), so two
 * interpreters each have their own; it is mutated (schema cache, lazy imports) only under
 * the GIL, which is what makes that safe.
 *
 * Without the GIL run only readtail.c's read_tail (read_file's I/O) and load_all
 * (load_tails' loop), and listdir.c's list_all (list_directory's readdir, sort and stats).
 * They touch their own C buffers (malloc'd), the caller's buffer pinned by a buffer export,
 * PyMem_Raw* memory, and the per-thread read buffer behind a pthread key;
 * never a Python object, a reference count or the module state.
 *
 * Process-wide C state, shared by every interpreter (so the module does not declare
 * support for a per-interpreter GIL):
 *   - the field tables' derived indexes (tables.c), built once (pthread_once), read-only
 *     afterwards;
 *   - decode.c's spare arena block, taken and given back with the GIL held;
 *   - the datetime C API (convert.c, PyDateTimeAPI): CPython hands every importer the one
 *     process-wide capsule of its static datetime types, by design;
 *   - readtail.c's pthread key for the per-thread read buffers.
 */
#ifndef RUGO_RUGO_H
#define RUGO_RUGO_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "footer.h"

/* requires-python >= 3.9: the 3.10 conveniences this code uses, for 3.9 */
#if PY_VERSION_HEX < 0x030A0000
static inline PyObject *Py_NewRef(PyObject *o)
{
    Py_INCREF(o);
    return o;
}
static inline PyObject *Py_XNewRef(PyObject *o)
{
    Py_XINCREF(o);
    return o;
}
/* gc.disable() / gc.enable() through the gc module; 1 when it was enabled (as 3.10's
 * PyGC_Disable), 0 also when the call failed (the error is dropped: pausing the collector
 * is an optimisation only). */
static inline int rugo_gc_call(const char *name)
{
    PyObject *gc = PyImport_ImportModule("gc");
    PyObject *r = gc ? PyObject_CallMethod(gc, name, NULL) : NULL;
    int on = r ? PyObject_IsTrue(r) : 0;
    Py_XDECREF(r);
    Py_XDECREF(gc);
    if (PyErr_Occurred())
        PyErr_Clear();
    return on > 0;
}
static inline int PyGC_Disable(void)
{
    int was = rugo_gc_call("isenabled");
    if (was)
        rugo_gc_call("disable");
    return was;
}
static inline int PyGC_Enable(void)
{
    int was = rugo_gc_call("isenabled");
    rugo_gc_call("enable");
    return was;
}
#endif

typedef struct rugo_state rugo_state;   /* defined below, after the schema types */

/* d[key] = value, stealing value; -1 on error (a NULL value: the error is already set) */
static inline int dict_put(PyObject *d, PyObject *key, PyObject *value)
{
    if (!value)
        return -1;
    int rc = PyDict_SetItem(d, key, value);
    Py_DECREF(value);
    return rc;
}

static inline PyObject *int_or_none(int present, int64_t v)
{
    return present ? PyLong_FromLongLong(v) : Py_NewRef(Py_None);
}

/* The interned spec name of an enum value; the int itself for a value newer than this
 * reader. */
static inline PyObject *enum_name(PyObject *const *table, int size, int32_t v)
{
    if (v >= 0 && v < size && table[v])
        return Py_NewRef(table[v]);
    return PyLong_FromLong(v);
}

static inline PyObject *enum_or_none(PyObject *const *table, int size, int present, int32_t v)
{
    return present ? enum_name(table, size, v) : Py_NewRef(Py_None);
}

/* A fresh result dict with every key of `tmpl` set to None; it has the template's key table
 * (the right size already; why no dict is presized: make_template in module.c). */
static inline PyObject *dict_from_template(PyObject *tmpl) { return PyDict_Copy(tmpl); }

/* Raise the rugo error class `cls` with (detail, path=None, offset, field). */
PyObject *rugo_raise(PyObject *cls, const char *detail, Py_ssize_t offset, const char *field);

/* ---- schema.c: the schema tree, type strings, per-leaf Python objects ---- */

enum { SORT_SIGNED, SORT_UNSIGNED, SORT_UNKNOWN };

/* how statistics bytes of a leaf become Python values (convert.c) */
enum {
    SK_NONE, SK_BOOL, SK_I32, SK_U32, SK_I64, SK_U64, SK_FLOAT, SK_DOUBLE, SK_STR, SK_BYTES,
    SK_DEC_I32, SK_DEC_I64, SK_DEC_BYTES, SK_DATE, SK_TIME_MS, SK_TIME_US, SK_TIME_NS,
    SK_TS_MS, SK_TS_US, SK_TS_NS, SK_UUID, SK_F16
};

typedef struct {
    int stat_kind;              /* SK_* */
    int utc;                    /* timestamps: adjusted to UTC */
    int32_t scale;              /* decimals */
    int sort_order;             /* SORT_* */
    int type_defined_order;     /* column_orders says TYPE_DEFINED_ORDER (or IEEE 754) */
    int32_t physical;           /* Type enum */
    PyObject *name;             /* top-level field name */
    PyObject *path;             /* dotted path_in_schema */
    const char *path_utf8;      /* its UTF-8 bytes (owned by `path`) */
    Py_ssize_t path_len;
    PyObject *physical_str;     /* borrowed: the state's interned name */
    PyObject *logical_str;      /* str or None */
    PyObject *tmpl;             /* column chunk dict template with the four above set */
} leaf_info;

typedef struct {
    const SchemaElement *el;
    int parent, depth, is_group;
    int first_child, nchildren; /* children are consecutive subtrees in file order */
    int next;                   /* index after this node's subtree */
    int16_t max_def, max_rep;
    PyObject *name;             /* str */
    PyObject *path;             /* dotted path without the root */
    PyObject *type_str;         /* logical type string of this element, or None */
} schema_node;

/* the tree: only while a schema is built (schema.c) */
typedef struct {
    schema_node *nodes;
    int n;
} schema_tree;

/* what building a result needs of a schema; owns its references */
typedef struct {
    leaf_info *leaves;
    int nleaves;
    PyObject *columns;          /* the `schema_columns` list */
    PyObject *elements;         /* the `schema` list */
    PyObject *fingerprint;      /* schema_fingerprint's str, NULL until asked for */
    PyObject *columns_json;     /* schema_columns_json's str, NULL until asked for */
} schema_info;

/* ---- the module state (module.c: created by the module's exec slot, one per module object)
 *
 * Interned strings and imported objects, made once per module; the schema cache and the
 * helpers imported on first use. Entry points fetch it once per call from their module
 * (`self`) and pass the pointer down; nothing reaches it through a global. Touch it with the
 * GIL held only. */

/* The few most recent schemas (schema.c), keyed by their exact Thrift bytes. Per module
 * state, not process-wide: the entries hold Python objects, which belong to one
 * interpreter, and are replaced under that interpreter's GIL. */
#define SCHEMA_CACHE_SIZE 4

typedef struct {
    uint8_t *bytes;             /* PyMem_Malloc'd copy of the schema's Thrift bytes */
    size_t n;
    schema_info info;
} schema_cache_entry;

struct rugo_state {
    /* Every member up to `cache` is a PyObject * (owned; NULL until made): module.c visits
     * and clears them as one array (RUGO_STATE_NOBJECTS). */
    /* result keys */
#define RUGO_KEYS(X) \
    X(num_rows) X(num_row_groups) X(format_version) X(created_by) X(key_value_metadata) \
    X(footer_size) X(column_orders) X(encryption_algorithm) X(schema_columns) X(schema) \
    X(row_groups) X(name) X(physical_type) X(logical_type) X(nullable) X(path) \
    X(converted_type) X(repetition_type) X(num_children) X(type_length) X(precision) \
    X(scale) X(field_id) X(max_definition_level) X(max_repetition_level) \
    X(total_byte_size) X(total_compressed_size) X(file_offset) X(ordinal) \
    X(sorting_columns) X(columns) X(column_idx) X(descending) X(nulls_first) \
    X(path_in_schema) X(compression_codec) X(encodings) X(num_values) \
    X(total_uncompressed_size) X(data_page_offset) X(index_page_offset) \
    X(dictionary_page_offset) X(min) X(max) X(null_count) X(distinct_count) \
    X(is_min_exact) X(is_max_exact) X(bloom_offset) X(bloom_length) \
    X(offset_index_offset) X(offset_index_length) X(column_index_offset) \
    X(column_index_length) X(unencoded_byte_array_data_bytes) X(geospatial_statistics) \
    X(bbox) X(geospatial_types) X(xmin) X(xmax) X(ymin) X(ymax) X(zmin) X(zmax) \
    X(mmin) X(mmax) X(aad_prefix) X(aad_file_unique) X(supply_aad_prefix)
#define RUGO_DECLARE_KEY(k) PyObject *k;
    RUGO_KEYS(RUGO_DECLARE_KEY)
    PyObject *physical[8];      /* "boolean" ... "fixed_len_byte_array" */
    PyObject *codec[8];         /* "UNCOMPRESSED" ... "LZ4_RAW" */
    PyObject *encoding[10];     /* "PLAIN" ... "BYTE_STREAM_SPLIT" (1 unused) */
    PyObject *converted[22];    /* "UTF8" ... "INTERVAL" */
    PyObject *repetition[4];    /* "REQUIRED" "OPTIONAL" "REPEATED" "VECTOR" */
    PyObject *column_order[3];  /* "TYPE_DEFINED_ORDER" ... */
    PyObject *group_kind[3];    /* "struct" "list" "map" */
    PyObject *aes_gcm_v1, *aes_gcm_ctr_v1;
    PyObject *empty_str;
    /* Result dicts start as copies of these templates (every key, all None, in README
     * order): copying and then replacing the non-None values is cheaper than inserting
     * every key into a new dict. */
    PyObject *tmpl_column, *tmpl_row_group, *tmpl_element, *tmpl_file;
    PyObject *utc;              /* datetime.timezone.utc */
    PyObject *decimal_cls;      /* decimal.Decimal */
    PyObject *uuid_cls;         /* uuid.UUID */
    PyObject *kw_bytes;         /* "bytes" */
    PyObject *timestamp_cls;    /* pandas.Timestamp, imported on first ns value */
    /* exception classes from rugo.errors */
    PyObject *ThriftDecodeError, *ParquetFormatError, *NotParquetError, *FooterLengthError,
        *EncryptedFooterError;
    PyObject *blake2b;          /* hashlib.blake2b, imported on first fingerprint */
    PyObject *digest_kw;        /* {"digest_size": 8} */
    PyObject *json_dumps;       /* json.dumps, imported on first schema_columns_json */
    PyObject *json_kw;          /* its keywords: compact, not ASCII-escaped */

    /* not Python objects: */
    schema_cache_entry cache[SCHEMA_CACHE_SIZE];
    int cache_next;             /* the entry replaced next (round robin) */
};

#define RUGO_STATE_NOBJECTS (offsetof(rugo_state, cache) / sizeof(PyObject *))

/* The schema of a decoded footer (`raw`: its Thrift bytes, the cache key). On a malformed
 * schema raise ParquetFormatError and return 0. */
int schema_load(rugo_state *rs, const FileMetaData *md, span raw, schema_info *s);
void schema_free(schema_info *s);
/* 16 hex digits naming the schema: blake2b (8 bytes) of the repr of the tuple
 * (root num_children,) + ((name, physical_type, logical_type, converted_type,
 * repetition_type, num_children, type_length, precision, scale, field_id) per element after
 * the root), exactly as scanner.worker.schema_fingerprint computes it from the `schema`
 * dicts. Computed once per distinct schema (kept with its cache entry); a borrowed
 * reference owned by `s`, NULL on a Python error. */
PyObject *schema_fingerprint(rugo_state *rs, span raw, schema_info *s);
/* The `schema_columns` list (top-level fields: name, physical_type, logical_type, nullable)
 * as compact JSON text, for the scanner's files table. Once per distinct schema, like the
 * fingerprint; a borrowed reference owned by `s`, NULL on a Python error. */
PyObject *schema_columns_json(rugo_state *rs, span raw, schema_info *s);
/* drop every cache entry (module clear / free) */
void schema_cache_clear(rugo_state *rs);
/* visit the cache's Python objects (module traverse) */
int schema_cache_traverse(rugo_state *rs, visitproc visit, void *arg);

/* ---- convert.c: statistics bytes -> Python values ---- */

/* New reference to the value, Py_None when it cannot be decoded; NULL on a Python error. */
PyObject *stat_value(rugo_state *rs, const leaf_info *leaf, span v);
/* 1 when pyarrow would trust these statistics (sort order and writer version rules). */
typedef struct { char app[32]; int major, minor, patch; } writer_version;
void writer_version_parse(span created_by, int present, writer_version *out);
int stats_trusted(const writer_version *w, const leaf_info *leaf, span min, span max, int has_min_max);

int convert_init(void);   /* imports the datetime C API (process-wide, see the top) */

/* ---- module.c: the trailer check and the walk, shared by every entry point ---- */

/* Check the trailer of buf[0:n] (a whole file or a tail) and decode its footer into *md.
 * `d` and `md` are zeroed by the caller, who frees d->mem afterwards (also on failure).
 * 1 on success; else the rugo error (or MemoryError) is raised and 0 returned. */
int footer_decode(const rugo_state *rs, decoder *d, FileMetaData *md, const uint8_t *buf, size_t n, int64_t file_size,
                  const uint8_t *head,
                  int include_statistics, long long max_row_groups);

/* bytes the FileMetaData took (pyarrow's serialized_size): less than the trailer's length
 * in plaintext-footer encrypted files, where a 28-byte signature follows */
static inline uint32_t footer_bytes(const decoder *d) { return (uint32_t)cur_offset(&d->cur); }

/* ---- batch.c: footers -> catalogue rows in Arrow-layout buffers ---- */
PyObject *py_parse_batch(PyObject *self, PyObject *args);

/* ---- build.c: C structs -> the result dict ---- */
/* footer_size: the Thrift bytes the FileMetaData took (pyarrow's serialized_size) */
PyObject *build_result(rugo_state *rs, const FileMetaData *md, uint32_t footer_size, span schema_raw);

/* What build_result decides per chunk, shared with batch.c (one decoder, one set of rules): */

/* min / max as pyarrow reports them: min_value/max_value when the column order is type
 * defined, else the legacy signed-order min/max. 1 with two new references (Py_None when
 * a value cannot be decoded); 0 with both NULL when pyarrow would not trust them; -1 on a
 * Python error. Min is decoded before max. */
int chunk_bounds(rugo_state *rs, const Statistics *st, const leaf_info *L, const writer_version *wv, PyObject **min, PyObject **max);
/* pyarrow prints the path the column chunk stores; it is almost always the schema leaf's
 * path, whose string is shared, so compare the bytes before building a new one. */
int chunk_path_matches(const list *path, const leaf_info *L);
PyObject *chunk_path(const list *path);   /* the chunk's own dotted path, invalid UTF-8 replaced */
/* A row group must have one chunk per schema leaf; else raise ParquetFormatError, return 0. */
int row_group_width_ok(const rugo_state *rs, const RowGroup *rg, uint32_t index, int nleaves);
/* list<KeyValue> -> dict in file order (a repeated key keeps its first place, its last
 * value; a key that is not UTF-8 stays bytes) */
PyObject *kv_dict(const list *l);
/* the interned name of the algorithm (borrowed), NULL when the file has none */
PyObject *encryption_name(const rugo_state *rs, const EncryptionAlgorithm *e);

/* utf-8 text from the footer; never fails on bad bytes (U+FFFD replaces them) */
PyObject *text_from_span(span s);

#endif

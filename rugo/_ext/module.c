/* module.c - the extension module rugo._footer: init, interned keys, entry points.
 *
 *   parse(buffer, include_statistics, max_row_groups) -> dict
 *       any C-contiguous buffer holding a whole file or a tail of one; the buffer is
 *       released before returning, on every path.
 *   read_file(path, include_statistics, max_row_groups) -> dict
 *       open + pread of the tail (64 KiB, then one exact read if the footer is larger),
 *       without the GIL; never reads the whole file (readtail.c).
 *   plan_tail(size, tail, head=None) -> (kind, value)
 *       the tail planner (tail.c) for readers whose I/O is in Python.
 *   load_tails(paths, sizes, out, first_reads=None) -> (consumed, need, spans, status, errors)
 *       many files' tails packed into a writable buffer, without the GIL (readtail.c).
 *   parse_batch(buffer, spans, detail) -> dict   (batch.c)
 *       the scanner's catalogue rows of many files in one buffer, as Arrow-layout buffers.
 *   list_directory(path, skip) -> (names, kinds, sizes, mtimes, ctimes, inodes, ids, hidden, ascii)
 *       one directory read, sorted and stat'ed without the GIL, for the scanner's walk
 *       (listdir.c).
 *
 * Option checking and adding the path to errors happen in rugo/parquet.py.
 *
 * Multi-phase initialisation (PEP 489): the exec slot fills the module's rugo_state
 * (rugo.h), which every entry point reaches through its `self`; traverse / clear / free
 * visit every Python object the state holds, the schema cache's included.
 */
#include <errno.h>

#include "listdir.h"
#include "readtail.h"
#include "rugo.h"
#include "bounds.h"
#include "tail.h"

PyObject *rugo_raise(PyObject *cls, const char *detail, Py_ssize_t offset, const char *field)
{
    /* messages quote names from the file: never fail on their bytes */
    PyObject *text = PyUnicode_DecodeUTF8(detail, (Py_ssize_t)strlen(detail), "replace");
    PyObject *off = offset >= 0 ? PyLong_FromSsize_t(offset) : Py_NewRef(Py_None);
    PyObject *exc = text && off ? PyObject_CallFunction(cls, "OOOs", text, Py_None, off, field) : NULL;
    Py_XDECREF(text);
    Py_XDECREF(off);
    if (exc) {
        PyErr_SetObject(cls, exc);
        Py_DECREF(exc);
    }
    return NULL;
}

/* Raise the error of a plan that is not DONE (NEED: the error of a caller that cannot read
 * more, e.g. a buffer too short for its footer). */
static PyObject *raise_plan(const rugo_state *rs, const tail_plan_t *p)
{
    int status = p->status == TAIL_NEED ? p->stuck_status : p->status;
    const char *name = tail_error_class(status);   /* one status -> class table, in tail.c */
    PyObject *cls = !name                                     ? rs->ParquetFormatError
                    : !strcmp(name, "EncryptedFooterError") ? rs->EncryptedFooterError
                    : !strcmp(name, "FooterLengthError")    ? rs->FooterLengthError
                                                            : rs->NotParquetError;
    return rugo_raise(cls, p->msg, -1, NULL);
}

/* Plan the tail of buf[0:n] (file_size: -1 unknown; head: the file's first 4 bytes or
 * NULL) and decode the footer it locates into md. 0 with a Python error set on failure. */
int footer_decode(const rugo_state *rs, decoder *d, FileMetaData *md, const uint8_t *buf, size_t n, int64_t file_size,
                  const uint8_t *head, int include_statistics, long long max_row_groups)
{
    tail_plan_t t;
    tail_plan(buf, n, file_size, head, &t);
    if (t.status != TAIL_DONE) {
        raise_plan(rs, &t);
        return 0;
    }
    d->cur.start = d->cur.pos = buf + t.footer_offset;
    d->cur.end = d->cur.start + t.footer_len;
    d->include_statistics = include_statistics;
    d->max_row_groups = max_row_groups;
    if (decode_file_metadata(d, md))
        return 1;
    if (d->cur.err == ERR_MEMORY)
        PyErr_NoMemory();
    else
        rugo_raise(rs->ThriftDecodeError, d->cur.err_msg, (Py_ssize_t)d->cur.err_offset,
                   d->err_field[0] ? d->err_field : NULL);
    return 0;
}

/* the module's state: entry points fetch it once per call and pass it down */
static rugo_state *state_of(PyObject *module) { return (rugo_state *)PyModule_GetState(module); }

static PyObject *parse_bytes(rugo_state *rs, const uint8_t *buf, size_t n, int64_t file_size, const uint8_t *head, int stats,
                             long long max_rg)
{
    decoder *d = PyMem_Calloc(1, sizeof(decoder));
    FileMetaData *md = PyMem_Calloc(1, sizeof(FileMetaData));
    PyObject *out = NULL;
    if (!d || !md)
        PyErr_NoMemory();
    else if (footer_decode(rs, d, md, buf, n, file_size, head, stats, max_rg))
        out = build_result(rs, md, footer_bytes(d), d->schema_raw);
    if (d)
        arena_free(&d->mem);
    PyMem_Free(d);
    PyMem_Free(md);
    return out;
}

static PyObject *py_parse(PyObject *self, PyObject *args)
{
    PyObject *obj;
    int stats;
    long long max_rg;
    if (!PyArg_ParseTuple(args, "OpL", &obj, &stats, &max_rg))
        return NULL;
    Py_buffer view;
    if (PyObject_GetBuffer(obj, &view, PyBUF_STRIDES) < 0)
        return NULL;
    PyObject *out;
    if (!PyBuffer_IsContiguous(&view, 'C')) {
        PyErr_SetString(PyExc_ValueError, "buffer is not C-contiguous; pass a contiguous view (e.g. bytes(view))");
        out = NULL;
    } else {
        out = parse_bytes(state_of(self), view.buf, (size_t)view.len, -1, NULL, stats, max_rg);
    }
    PyBuffer_Release(&view);
    return out;
}

static PyObject *py_read_file(PyObject *self, PyObject *args)
{
    PyObject *path;
    int stats;
    long long max_rg;
    if (!PyArg_ParseTuple(args, "O&pL", PyUnicode_FSConverter, &path, &stats, &max_rg))
        return NULL;
    tail_read r;
    Py_BEGIN_ALLOW_THREADS
    read_tail(PyBytes_AS_STRING(path), &r);
    Py_END_ALLOW_THREADS
    PyObject *out;
    if (r.err) {
        errno = r.err;
        PyObject *name = PyUnicode_DecodeFSDefault(PyBytes_AS_STRING(path));
        out = PyErr_SetFromErrnoWithFilenameObject(r.err == ENOMEM ? PyExc_MemoryError : PyExc_OSError, name);
        Py_XDECREF(name);
    } else {
        out = parse_bytes(state_of(self), r.buf, r.n, r.size, r.have_head ? r.head : NULL, stats, max_rg);
    }
    release_buffer(&r);
    Py_DECREF(path);
    return out;
}

static PyObject *py_plan_tail(PyObject *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"size", "tail", "head", NULL};
    long long size;
    Py_buffer tail, head = {0};
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "Ly*|z*:plan_tail", kwlist, &size, &tail, &head))
        return NULL;
    PyObject *out = NULL;
    if (size < -1 || (size >= 0 && tail.len > size)) {
        PyErr_Format(PyExc_ValueError, "plan_tail: size must be -1 (unknown) or >= len(tail) (%zd), not %lld",
                     tail.len, size);
    } else if (head.buf && head.len < TAIL_MAGIC_LEN) {
        PyErr_Format(PyExc_ValueError, "plan_tail: head must hold the first 4 bytes, not %zd", head.len);
    } else {
        tail_plan_t p;
        tail_plan(tail.buf, (size_t)tail.len, size, head.buf, &p);
        if (p.status == TAIL_DONE)
            out = Py_BuildValue("(ik)", TAIL_DONE, (unsigned long)p.footer_len);
        else if (p.status == TAIL_NEED)
            out = Py_BuildValue("(iK)", TAIL_NEED, (unsigned long long)p.need);
        else
            raise_plan(state_of(self), &p);
    }
    PyBuffer_Release(&tail);
    if (head.buf)
        PyBuffer_Release(&head);
    return out;
}

static PyMethodDef methods[] = {
    {"parse", py_parse, METH_VARARGS,
     "parse(buffer, include_statistics, max_row_groups) -> dict\n\n"
     "Decode the footer of a whole Parquet file or of a tail of one, in place."},
    {"read_file", py_read_file, METH_VARARGS,
     "read_file(path, include_statistics, max_row_groups) -> dict\n\n"
     "Read a file's tail (64 KiB, then an exact read if needed) and decode its footer."},
    {"plan_tail", (PyCFunction)(void (*)(void))py_plan_tail, METH_VARARGS | METH_KEYWORDS,
     "plan_tail(size, tail, head=None) -> (kind, value)\n\n"
     "The tail planner: (TAIL_DONE, footer_length) or (TAIL_NEED, bytes to read from the end);\n"
     "raises the rugo.errors error of a file that cannot hold a readable footer."},
    {"load_tails", (PyCFunction)(void (*)(void))py_load_tails, METH_VARARGS | METH_KEYWORDS,
     "load_tails(paths, sizes, out, first_reads=None) -> (consumed, need, spans, status, errors)\n\n"
     "Load many files' tails into the writable buffer out, without the GIL (see rugo/_footer.pyi)."},
    {"parse_batch", py_parse_batch, METH_VARARGS,
     "parse_batch(buffer, spans, detail) -> dict\n\n"
     "Decode the footer at each (start, end) span of buffer into the scanner's catalogue rows\n"
     "(detail 0 files, 1 + columns, 2 + row_groups), as Arrow-layout column buffers."},
    {"list_directory", py_list_directory, METH_VARARGS,
     "list_directory(path, skip) -> (names, kinds, sizes, mtimes, ctimes, inodes, ids, hidden, ascii)\n\n"
     "One directory's entries, sorted by name and stat'ed (links followed), without the GIL\n"
     "(see rugo/_footer.pyi)."},
    {NULL, NULL, 0, NULL},
};

static int intern_all(PyObject **slots, const char *const *names, int n)
{
    for (int i = 0; i < n; i++) {
        if (!names[i])
            continue;
        slots[i] = PyUnicode_InternFromString(names[i]);
        if (!slots[i])
            return -1;
    }
    return 0;
}

static PyObject *import_attr(const char *module, const char *attr)
{
    PyObject *m = PyImport_ImportModule(module);
    if (!m)
        return NULL;
    PyObject *a = PyObject_GetAttrString(m, attr);
    Py_DECREF(m);
    return a;
}

/* A template is filled by plain insertion into PyDict_New(), not presized with the private
 * _PyDict_NewPresized (removed in 3.13a1, restored before 3.13.0, no public successor): a
 * presized dict gets the general key table (24-byte entries, hash stored), a grown one of
 * str keys the compact str-only table, and every result dict copied from the template
 * inherits its table. Measured on 3.11 (scripts-style lakes, GC on): the presized tables
 * saved 3.2% of instructions on a typical footer (30 x 8) but cost 32% more memory and 45%
 * more time on a wide one (1000 x 10: 17.0 MB / 16.6 ms vs 12.9 MB / 11.4 ms); for n <= 5
 * it is PyDict_New() anyway. So no presizing anywhere. */
static PyObject *make_template(PyObject *const *keys, int n)
{
    PyObject *d = PyDict_New();
    for (int i = 0; d && i < n; i++)
        if (PyDict_SetItem(d, keys[i], Py_None) < 0)
            Py_CLEAR(d);
    return d;
}

static int init_templates(rugo_state *rs)
{
    PyObject *const column[] = {
        rs->name, rs->path_in_schema, rs->physical_type, rs->logical_type, rs->compression_codec, rs->encodings,
        rs->num_values, rs->total_compressed_size, rs->total_uncompressed_size, rs->data_page_offset,
        rs->index_page_offset, rs->dictionary_page_offset, rs->min, rs->max, rs->null_count, rs->distinct_count,
        rs->is_min_exact, rs->is_max_exact, rs->bloom_offset, rs->bloom_length, rs->offset_index_offset,
        rs->offset_index_length, rs->column_index_offset, rs->column_index_length,
        rs->unencoded_byte_array_data_bytes, rs->key_value_metadata, rs->geospatial_statistics};
    PyObject *const row_group[] = {rs->num_rows, rs->total_byte_size, rs->total_compressed_size, rs->file_offset,
                                   rs->ordinal, rs->sorting_columns, rs->columns};
    PyObject *const element[] = {rs->name, rs->path, rs->physical_type, rs->logical_type, rs->converted_type,
                                 rs->repetition_type, rs->num_children, rs->type_length, rs->precision, rs->scale,
                                 rs->field_id, rs->max_definition_level, rs->max_repetition_level};
    PyObject *const file[] = {rs->num_rows, rs->num_row_groups, rs->format_version, rs->created_by,
                              rs->key_value_metadata, rs->footer_size, rs->column_orders, rs->encryption_algorithm,
                              rs->schema_columns, rs->schema, rs->row_groups};
#define N(a) (int)(sizeof(a) / sizeof(a[0]))
    rs->tmpl_column = make_template(column, N(column));
    rs->tmpl_row_group = make_template(row_group, N(row_group));
    rs->tmpl_element = make_template(element, N(element));
    rs->tmpl_file = make_template(file, N(file));
#undef N
    return rs->tmpl_column && rs->tmpl_row_group && rs->tmpl_element && rs->tmpl_file ? 0 : -1;
}

static int init_state(rugo_state *rs)
{
#define RUGO_INTERN_KEY(k) if (!(rs->k = PyUnicode_InternFromString(#k))) return -1;
    RUGO_KEYS(RUGO_INTERN_KEY)
    static const char *const physical[] = {"boolean", "int32", "int64", "int96", "float", "double",
                                           "byte_array", "fixed_len_byte_array"};
    static const char *const codec[] = {"UNCOMPRESSED", "SNAPPY", "GZIP", "LZO", "BROTLI", "LZ4", "ZSTD", "LZ4_RAW"};
    static const char *const encoding[] = {"PLAIN", NULL, "PLAIN_DICTIONARY", "RLE", "BIT_PACKED",
                                           "DELTA_BINARY_PACKED", "DELTA_LENGTH_BYTE_ARRAY",
                                           "DELTA_BYTE_ARRAY", "RLE_DICTIONARY", "BYTE_STREAM_SPLIT"};
    static const char *const converted[] = {
        "UTF8", "MAP", "MAP_KEY_VALUE", "LIST", "ENUM", "DECIMAL", "DATE", "TIME_MILLIS",
        "TIME_MICROS", "TIMESTAMP_MILLIS", "TIMESTAMP_MICROS", "UINT_8", "UINT_16", "UINT_32",
        "UINT_64", "INT_8", "INT_16", "INT_32", "INT_64", "JSON", "BSON", "INTERVAL"};
    static const char *const repetition[] = {"REQUIRED", "OPTIONAL", "REPEATED", "VECTOR"};
    static const char *const orders[] = {"TYPE_DEFINED_ORDER", "IEEE_754_TOTAL_ORDER", "INT96_TIMESTAMP_ORDER"};
    static const char *const groups[] = {"struct", "list", "map"};
    if (intern_all(rs->physical, physical, 8) < 0 || intern_all(rs->codec, codec, 8) < 0 ||
        intern_all(rs->encoding, encoding, 10) < 0 || intern_all(rs->converted, converted, 22) < 0 ||
        intern_all(rs->repetition, repetition, 4) < 0 || intern_all(rs->column_order, orders, 3) < 0 ||
        intern_all(rs->group_kind, groups, 3) < 0)
        return -1;
    if (!(rs->aes_gcm_v1 = PyUnicode_InternFromString("AES_GCM_V1")) ||
        !(rs->aes_gcm_ctr_v1 = PyUnicode_InternFromString("AES_GCM_CTR_V1")) ||
        !(rs->empty_str = PyUnicode_InternFromString("")) || !(rs->kw_bytes = PyUnicode_InternFromString("bytes")))
        return -1;
    if (!(rs->utc = import_attr("datetime", "timezone")))
        return -1;
    PyObject *tz = rs->utc;
    rs->utc = PyObject_GetAttrString(tz, "utc");
    Py_DECREF(tz);
    if (!rs->utc || !(rs->decimal_cls = import_attr("decimal", "Decimal")) || !(rs->uuid_cls = import_attr("uuid", "UUID")))
        return -1;
    if (!(rs->ThriftDecodeError = import_attr("rugo.errors", "ThriftDecodeError")) ||
        !(rs->ParquetFormatError = import_attr("rugo.errors", "ParquetFormatError")) ||
        !(rs->NotParquetError = import_attr("rugo.errors", "NotParquetError")) ||
        !(rs->FooterLengthError = import_attr("rugo.errors", "FooterLengthError")) ||
        !(rs->EncryptedFooterError = import_attr("rugo.errors", "EncryptedFooterError")))
        return -1;
    tables_init();
    if (init_templates(rs) < 0)
        return -1;
    return convert_init() && bounds_init() ? 0 : -1;
}

static int add_constants(PyObject *m)
{
    return PyModule_AddIntConstant(m, "TAIL_DONE", TAIL_DONE) < 0 ||
                   PyModule_AddIntConstant(m, "TAIL_NEED", TAIL_NEED) < 0 ||
                   PyModule_AddIntConstant(m, "TAIL_READ_SIZE", TAIL_DEFAULT_READ) < 0 ||
                   PyModule_AddIntConstant(m, "TRAILER", TAIL_TRAILER) < 0 ||
                   PyModule_AddIntConstant(m, "MAX_FOOTER_BYTES", TAIL_MAX_FOOTER) < 0 ||
                   PyModule_AddIntConstant(m, "LOAD_OK", 0) < 0 || PyModule_AddIntConstant(m, "LOAD_FORMAT", 1) < 0 ||
                   PyModule_AddIntConstant(m, "LOAD_ERROR", 2) < 0
               ? -1
               : 0;
}

/* ---- module lifecycle ---- */

static int footer_exec(PyObject *m)
{
    rugo_state *rs = state_of(m);   /* zeroed by the module's creation */
    return init_state(rs) < 0 || add_constants(m) < 0 ? -1 : 0;
}

/* traverse and clear walk the state's Python objects as one array: the members before
 * `cache`, all PyObject *, the last of them json_kw (rugo.h) */
_Static_assert(offsetof(rugo_state, json_kw) + sizeof(PyObject *) == offsetof(rugo_state, cache),
               "rugo_state: every member before `cache` must be a PyObject *");

static int footer_traverse(PyObject *m, visitproc visit, void *arg)
{
    rugo_state *rs = state_of(m);
    if (!rs)
        return 0;
    PyObject **objs = (PyObject **)rs;
    for (size_t i = 0; i < RUGO_STATE_NOBJECTS; i++)
        Py_VISIT(objs[i]);
    return schema_cache_traverse(rs, visit, arg);
}

static int footer_clear(PyObject *m)
{
    rugo_state *rs = state_of(m);
    if (!rs)
        return 0;
    schema_cache_clear(rs);   /* first: its leaves borrow the interned physical names */
    PyObject **objs = (PyObject **)rs;
    for (size_t i = 0; i < RUGO_STATE_NOBJECTS; i++)
        Py_CLEAR(objs[i]);
    return 0;
}

static void footer_free(void *m) { (void)footer_clear((PyObject *)m); }

/* Every interpreter gets its own module object and state. A per-interpreter GIL is not
 * declared: some C state is process-wide and relies on one GIL (rugo.h, top). */
static PyModuleDef_Slot slots[] = {
    {Py_mod_exec, (void *)footer_exec},
#ifdef Py_mod_multiple_interpreters
    {Py_mod_multiple_interpreters, Py_MOD_MULTIPLE_INTERPRETERS_SUPPORTED},
#endif
    {0, NULL},
};

static struct PyModuleDef moduledef = {
    PyModuleDef_HEAD_INIT,
    .m_name = "rugo._footer",
    .m_doc = "Parquet footer decoder (C core of rugo.parquet).",
    .m_size = sizeof(rugo_state),
    .m_methods = methods,
    .m_slots = slots,
    .m_traverse = footer_traverse,
    .m_clear = footer_clear,
    .m_free = footer_free,
};

PyMODINIT_FUNC PyInit__footer(void) { return PyModuleDef_Init(&moduledef); }

/* schema.c - the flat schema element list -> a tree with paths, levels and type strings.
 *
 * Type strings are documented in README.md ("Type strings"). Every per-leaf Python object
 * a column chunk needs (name, path, type strings) is made here once and shared by all row
 * groups.
 */
#include <stdarg.h>

#include "rugo.h"

#define SCHEMA_DEPTH_MAX 128

/* physical Type enum */
enum { T_BOOLEAN, T_INT32, T_INT64, T_INT96, T_FLOAT, T_DOUBLE, T_BYTE_ARRAY, T_FLBA };
/* ConvertedType enum */
enum {
    CV_UTF8, CV_MAP, CV_MAP_KEY_VALUE, CV_LIST, CV_ENUM, CV_DECIMAL, CV_DATE, CV_TIME_MILLIS,
    CV_TIME_MICROS, CV_TIMESTAMP_MILLIS, CV_TIMESTAMP_MICROS, CV_UINT_8, CV_UINT_16,
    CV_UINT_32, CV_UINT_64, CV_INT_8, CV_INT_16, CV_INT_32, CV_INT_64, CV_JSON, CV_BSON,
    CV_INTERVAL
};
enum { REP_REQUIRED, REP_OPTIONAL, REP_REPEATED };

/* ---------------------------------------------------------------- a growable string */

typedef struct {
    char *p;
    size_t n, cap;
    int oom;
} strbuf;

static void sb_put(strbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *p = PyMem_Realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static void sb_str(strbuf *b, const char *s) { sb_put(b, s, strlen(s)); }

static void sb_fmt(strbuf *b, const char *fmt, ...)
{
    char tmp[64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0)
        sb_put(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* ---------------------------------------------------------------- leaf annotations */

static int lt_member(const SchemaElement *el)
{
    if (!ISSET(el, SE_LOGICAL))
        return -1;
    for (int i = LT_STRING; i <= LT_VECTOR; i++)
        if (ISSET(&el->logical_type, i))
            return i;
    return -1;   /* a LogicalType this reader does not know: fall back to converted_type */
}

static int converted(const SchemaElement *el) { return ISSET(el, SE_CONVERTED) ? el->converted_type : -1; }

static const char *unit_name(const TimeUnit *u)
{
    return ISSET(u, 0) ? "ms" : ISSET(u, 1) ? "us" : ISSET(u, 2) ? "ns" : NULL;
}

static int32_t decimal_scale(const SchemaElement *el)
{
    if (lt_member(el) == LT_DECIMAL)
        return el->logical_type.decimal.scale;
    return ISSET(el, SE_SCALE) ? el->scale : 0;
}

static int32_t decimal_precision(const SchemaElement *el)
{
    if (lt_member(el) == LT_DECIMAL)
        return el->logical_type.decimal.precision;
    return ISSET(el, SE_PRECISION) ? el->precision : 0;
}

/* The annotation of one element as a type string; 0 when it has none. */
static int annotation_str(const SchemaElement *el, strbuf *b)
{
    static const char *simple[] = {
        [LT_STRING] = "varchar", [LT_ENUM] = "enum", [LT_DATE] = "date32[day]",
        [LT_UNKNOWN] = "null", [LT_JSON] = "json", [LT_BSON] = "bson", [LT_UUID] = "uuid",
        [LT_FLOAT16] = "float16", [LT_VARIANT] = "variant", [LT_GEOMETRY] = "geometry",
        [LT_GEOGRAPHY] = "geography", [LT_VECTOR] = "vector", [LT_MAP] = "map", [LT_LIST] = "list",
    };
    int lt = lt_member(el);
    const LogicalType *L = &el->logical_type;
    switch (lt) {
    case -1:
        break;
    case LT_DECIMAL:
        sb_fmt(b, "decimal(%d,%d)", L->decimal.precision, L->decimal.scale);
        return 1;
    case LT_TIME:
    case LT_TIMESTAMP: {
        const TimeType *t = lt == LT_TIME ? &L->time : &L->timestamp;
        const char *u = unit_name(&t->unit);
        if (!u)
            return 0;
        const char *kind = lt == LT_TIMESTAMP ? "timestamp" : u[0] == 'm' ? "time32" : "time64";
        sb_fmt(b, "%s[%s%s]", kind, u, t->is_adjusted_to_utc ? ",UTC" : "");
        return 1;
    }
    case LT_INTEGER:
        sb_fmt(b, "%sint%d", L->integer.is_signed ? "" : "u", L->integer.bit_width);
        return 1;
    default:
        sb_str(b, simple[lt]);
        return 1;
    }
    switch (converted(el)) {
    case CV_UTF8: sb_str(b, "varchar"); return 1;
    case CV_ENUM: sb_str(b, "enum"); return 1;
    case CV_JSON: sb_str(b, "json"); return 1;
    case CV_BSON: sb_str(b, "bson"); return 1;
    case CV_DATE: sb_str(b, "date32[day]"); return 1;
    case CV_INTERVAL: sb_str(b, "interval"); return 1;
    case CV_TIME_MILLIS: sb_str(b, "time32[ms,UTC]"); return 1;
    case CV_TIME_MICROS: sb_str(b, "time64[us,UTC]"); return 1;
    case CV_TIMESTAMP_MILLIS: sb_str(b, "timestamp[ms,UTC]"); return 1;
    case CV_TIMESTAMP_MICROS: sb_str(b, "timestamp[us,UTC]"); return 1;
    case CV_DECIMAL: sb_fmt(b, "decimal(%d,%d)", decimal_precision(el), decimal_scale(el)); return 1;
    case CV_UINT_8: case CV_UINT_16: case CV_UINT_32: case CV_UINT_64:
        sb_fmt(b, "uint%d", 8 << (converted(el) - CV_UINT_8)); return 1;
    case CV_INT_8: case CV_INT_16: case CV_INT_32: case CV_INT_64:
        sb_fmt(b, "int%d", 8 << (converted(el) - CV_INT_8)); return 1;
    case CV_MAP: case CV_MAP_KEY_VALUE: sb_str(b, "map"); return 1;
    case CV_LIST: sb_str(b, "list"); return 1;
    }
    return 0;
}

static const char *physical_name(int32_t t)
{
    static const char *names[] = {"boolean", "int32", "int64", "int96", "float", "double",
                                  "byte_array", "fixed_len_byte_array"};
    return (t >= 0 && t < 8) ? names[t] : "unknown";
}

/* ---------------------------------------------------------------- nested type strings */

static int is_list_group(const schema_node *n)
{
    return n->is_group && (lt_member(n->el) == LT_LIST || converted(n->el) == CV_LIST);
}

static int is_map_group(const schema_node *n)
{
    int cv = converted(n->el);
    return n->is_group && (lt_member(n->el) == LT_MAP || cv == CV_MAP || cv == CV_MAP_KEY_VALUE);
}

static int is_repeated(const schema_node *n)
{
    return ISSET(n->el, SE_REPETITION) && n->el->repetition_type == REP_REPEATED;
}

static void base_str(const schema_tree *s, int i, strbuf *b);

/* A repeated field outside a LIST / MAP group is a list of itself (LogicalTypes.md). */
static int is_bare_repeated(const schema_tree *s, int i)
{
    const schema_node *n = &s->nodes[i];
    int in_container = n->parent >= 0 && (is_list_group(&s->nodes[n->parent]) || is_map_group(&s->nodes[n->parent]));
    return is_repeated(n) && !in_container;
}

/* An element's type as a field of its parent. */
static void child_str(const schema_tree *s, int i, strbuf *b)
{
    if (is_bare_repeated(s, i)) {
        sb_str(b, "array<");
        base_str(s, i, b);
        sb_str(b, ">");
    } else {
        base_str(s, i, b);
    }
}

static int nth_child(const schema_tree *s, int i, int k)
{
    int c = s->nodes[i].first_child;
    while (k-- > 0)
        c = s->nodes[c].next;
    return c;
}

static void struct_str(const schema_tree *s, int i, strbuf *b)
{
    sb_str(b, "struct<");
    for (int k = 0, c = s->nodes[i].first_child; k < s->nodes[i].nchildren; k++, c = s->nodes[c].next) {
        if (k)
            sb_str(b, ",");
        sb_put(b, (const char *)s->nodes[c].el->name.p, s->nodes[c].el->name.n);
        sb_str(b, ":");
        child_str(s, c, b);
    }
    sb_str(b, ">");
}

/* LIST: the element follows the backward-compatibility rules of LogicalTypes.md. */
static void list_str(const schema_tree *s, int i, strbuf *b)
{
    const schema_node *g = &s->nodes[i];
    int r = g->first_child;
    const schema_node *rep = &s->nodes[r];
    sb_str(b, "array<");
    if (!rep->is_group || rep->nchildren != 1) {
        base_str(s, r, b);
    } else {
        span rn = rep->el->name, gn = g->el->name;
        int legacy = (rn.n == 5 && memcmp(rn.p, "array", 5) == 0) ||
                     (rn.n == gn.n + 6 && memcmp(rn.p, gn.p, gn.n) == 0 && memcmp(rn.p + gn.n, "_tuple", 6) == 0);
        if (legacy)
            base_str(s, r, b);
        else
            child_str(s, rep->first_child, b);
    }
    sb_str(b, ">");
}

static void map_str(const schema_tree *s, int i, strbuf *b)
{
    int kv = s->nodes[i].first_child;
    const schema_node *n = &s->nodes[kv];
    sb_str(b, "map<");
    base_str(s, nth_child(s, kv, 0), b);
    sb_str(b, ",");
    if (n->nchildren >= 2)
        child_str(s, nth_child(s, kv, 1), b);
    else
        sb_str(b, "null");
    sb_str(b, ">");
}

static void base_str(const schema_tree *s, int i, strbuf *b)
{
    const schema_node *n = &s->nodes[i];
    if (!n->is_group) {
        if (!annotation_str(n->el, b))
            sb_str(b, physical_name(n->el->type));
    } else if (lt_member(n->el) == LT_VARIANT) {
        sb_str(b, "variant");
    } else if (is_list_group(n) && n->nchildren == 1) {
        list_str(s, i, b);
    } else if (is_map_group(n) && n->nchildren == 1 && s->nodes[n->first_child].is_group &&
               s->nodes[n->first_child].nchildren >= 1) {
        map_str(s, i, b);
    } else {
        struct_str(s, i, b);
    }
}

/* ---------------------------------------------------------------- statistics kinds */

static void leaf_stats_kind(const SchemaElement *el, leaf_info *L)
{
    int lt = lt_member(el), cv = converted(el);
    int32_t t = el->type;
    L->stat_kind = SK_NONE;
    L->sort_order = SORT_UNKNOWN;
    L->utc = 0;
    L->scale = decimal_scale(el);
    if (lt < 0 && ISSET(el, SE_LOGICAL) && !ISSET(el, SE_CONVERTED))
        return;   /* a LogicalType newer than this reader: its order is unknown */
    int is_decimal = lt == LT_DECIMAL || (lt < 0 && cv == CV_DECIMAL);
    int is_text = lt == LT_STRING || lt == LT_ENUM || lt == LT_JSON ||
                  (lt < 0 && (cv == CV_UTF8 || cv == CV_ENUM || cv == CV_JSON));
    int unsigned_int = (lt == LT_INTEGER && !el->logical_type.integer.is_signed) ||
                       (lt < 0 && cv >= CV_UINT_8 && cv <= CV_UINT_64);
    int no_order = lt == LT_UNKNOWN || lt == LT_VARIANT || lt == LT_GEOMETRY || lt == LT_GEOGRAPHY ||
                   lt == LT_MAP || lt == LT_LIST || lt == LT_VECTOR ||
                   (lt < 0 && (cv == CV_INTERVAL || cv == CV_MAP || cv == CV_MAP_KEY_VALUE || cv == CV_LIST));
    if (no_order)
        return;
    L->sort_order = SORT_SIGNED;
    switch (t) {
    case T_BOOLEAN: L->stat_kind = SK_BOOL; return;
    case T_FLOAT: L->stat_kind = SK_FLOAT; return;
    case T_DOUBLE: L->stat_kind = SK_DOUBLE; return;
    case T_INT96: L->sort_order = SORT_UNKNOWN; return;
    case T_INT32:
    case T_INT64: {
        int wide = t == T_INT64;
        if (is_decimal) L->stat_kind = wide ? SK_DEC_I64 : SK_DEC_I32;
        else if (unsigned_int) { L->stat_kind = wide ? SK_U64 : SK_U32; L->sort_order = SORT_UNSIGNED; }
        else if (lt == LT_DATE || (lt < 0 && cv == CV_DATE)) L->stat_kind = SK_DATE;
        else if (lt == LT_TIME) {
            const TimeUnit *u = &el->logical_type.time.unit;
            L->stat_kind = ISSET(u, 0) ? SK_TIME_MS : ISSET(u, 1) ? SK_TIME_US : SK_TIME_NS;
        } else if (lt < 0 && cv == CV_TIME_MILLIS) L->stat_kind = SK_TIME_MS;
        else if (lt < 0 && cv == CV_TIME_MICROS) L->stat_kind = SK_TIME_US;
        else if (lt == LT_TIMESTAMP) {
            const TimeType *ts = &el->logical_type.timestamp;
            L->stat_kind = ISSET(&ts->unit, 0) ? SK_TS_MS : ISSET(&ts->unit, 1) ? SK_TS_US : SK_TS_NS;
            L->utc = ts->is_adjusted_to_utc;
        } else if (lt < 0 && (cv == CV_TIMESTAMP_MILLIS || cv == CV_TIMESTAMP_MICROS)) {
            L->stat_kind = cv == CV_TIMESTAMP_MILLIS ? SK_TS_MS : SK_TS_US;
            L->utc = 1;
        } else L->stat_kind = wide ? SK_I64 : SK_I32;
        if ((L->stat_kind == SK_TIME_MS) != (t == T_INT32) && L->stat_kind >= SK_TIME_MS && L->stat_kind <= SK_TIME_NS)
            L->stat_kind = wide ? SK_I64 : SK_I32;   /* unit does not match the storage */
        if (L->stat_kind >= SK_TS_MS && !wide)
            L->stat_kind = SK_I32;
        return;
    }
    case T_BYTE_ARRAY:
    case T_FLBA:
        if (is_decimal) { L->stat_kind = SK_DEC_BYTES; return; }
        L->sort_order = SORT_UNSIGNED;
        if (is_text) L->stat_kind = SK_STR;
        else if (lt == LT_UUID && t == T_FLBA) L->stat_kind = SK_UUID;
        else if (lt == LT_FLOAT16 && t == T_FLBA) { L->stat_kind = SK_F16; L->sort_order = SORT_SIGNED; }
        else L->stat_kind = SK_BYTES;
        return;
    default:
        L->sort_order = SORT_UNKNOWN;
    }
}

/* ---------------------------------------------------------------- building the tree */

static int schema_error(const rugo_state *rs, const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    rugo_raise(rs->ParquetFormatError, msg, -1, "schema");
    return 0;
}

static PyObject *make_path(const schema_tree *s, int parent, PyObject *name)
{
    if (parent <= 0)
        return Py_NewRef(name);
    return PyUnicode_FromFormat("%U.%U", s->nodes[parent].path, name);
}

static PyObject *type_object(const schema_tree *s, int i)
{
    strbuf b = {0};
    const schema_node *n = &s->nodes[i];
    if (n->is_group || is_bare_repeated(s, i))
        child_str(s, i, &b);
    else
        annotation_str(n->el, &b);   /* an unannotated leaf has no logical type: None */
    if (b.oom) {
        PyMem_Free(b.p);
        return PyErr_NoMemory();
    }
    PyObject *o = b.n ? PyUnicode_DecodeUTF8(b.p, (Py_ssize_t)b.n, "replace") : Py_NewRef(Py_None);
    PyMem_Free(b.p);
    if (o && o != Py_None)
        PyUnicode_InternInPlace(&o);
    return o;
}

/* LogicalTypes.md: a MAP's key field must be required (pyarrow rejects the file too). */
static int check_map_keys(const rugo_state *rs, const schema_tree *s)
{
    for (int i = 1; i < s->n; i++) {
        const schema_node *n = &s->nodes[i];
        int cv = converted(n->el);
        if (!n->is_group || !(lt_member(n->el) == LT_MAP || cv == CV_MAP) || n->nchildren != 1)
            continue;
        const schema_node *kv = &s->nodes[n->first_child];
        if (!kv->is_group)
            continue;
        const SchemaElement *key = s->nodes[kv->first_child].el;
        if (!ISSET(key, SE_REPETITION) || key->repetition_type != REP_REQUIRED)
            return schema_error(rs, "MAP key '%.*s' of schema element %d '%.*s' must be required", (int)key->name.n, key->name.p, i, (int)n->el->name.n, n->el->name.p);
    }
    return 1;
}

static int link_tree(const rugo_state *rs, const FileMetaData *md, schema_tree *s)
{
    const SchemaElement *els = md->schema.items;
    int stack[SCHEMA_DEPTH_MAX + 1], remaining[SCHEMA_DEPTH_MAX + 1], top = 0;
    for (int i = 0; i < s->n; i++) {
        schema_node *n = &s->nodes[i];
        const SchemaElement *el = &els[i];
        n->el = el;
        n->is_group = ISSET(el, SE_NUM_CHILDREN) && el->num_children > 0;
        if (i == 0) {
            n->parent = -1;
            n->is_group = 1;
        } else {
            if (top == 0)
                return schema_error(rs, "schema element %d is outside the root's %d children", i,
                                    s->nodes[0].nchildren);
            n->parent = stack[top - 1];
            schema_node *p = &s->nodes[n->parent];
            if (p->first_child < 0)
                p->first_child = i;
            remaining[top - 1]--;
            int rep = ISSET(el, SE_REPETITION) ? el->repetition_type : REP_OPTIONAL;
            n->max_def = (int16_t)(p->max_def + (rep != REP_REQUIRED));
            n->max_rep = (int16_t)(p->max_rep + (rep == REP_REPEATED));
            n->depth = p->depth + 1;
        }
        n->first_child = -1;
        n->nchildren = n->is_group && i ? el->num_children : (i == 0 && ISSET(el, SE_NUM_CHILDREN) ? el->num_children : 0);
        if (n->nchildren < 0)
            return schema_error(rs, "schema element %d has %d children", i, n->nchildren);
        if (!n->is_group && !ISSET(el, SE_TYPE))
            return schema_error(rs, "schema leaf %d '%.*s' has no physical type", i, (int)el->name.n, el->name.p);
        if (!n->is_group && (el->type < T_BOOLEAN || el->type > T_FLBA))
            return schema_error(rs, "schema leaf %d '%.*s' has invalid physical type %d", i, (int)el->name.n, el->name.p, el->type);
        if (n->nchildren > 0) {
            if (top > SCHEMA_DEPTH_MAX)
                return schema_error(rs, "schema nested deeper than %d levels", SCHEMA_DEPTH_MAX);
            if (n->nchildren > s->n - i - 1)
                return schema_error(rs, "schema element %d declares %d children but only %d elements follow",
                                    i, n->nchildren, s->n - i - 1);
            stack[top] = i;
            remaining[top] = n->nchildren;
            top++;
        }
        n->next = i + 1;
        while (top > 0 && remaining[top - 1] == 0) {   /* close finished groups */
            top--;
            s->nodes[stack[top]].next = i + 1;
        }
    }
    if (top > 0)
        return schema_error(rs, "schema element %d expects %d more children", stack[top - 1], remaining[top - 1]);
    return check_map_keys(rs, s);
}

static PyObject *schema_columns_list(const rugo_state *rs, const schema_tree *s);
static PyObject *schema_elements_list(const rugo_state *rs, const schema_tree *s);

/* Build the tree, the per-leaf objects and the two schema lists from the decoded elements. */
static int schema_build(const rugo_state *rs, const FileMetaData *md, schema_info *s, schema_tree *t)
{
    t->n = (int)md->schema.n;
    if (t->n == 0)
        return schema_error(rs, "schema has no root element");
    t->nodes = PyMem_Calloc((size_t)t->n, sizeof(schema_node));
    if (!t->nodes) {
        PyErr_NoMemory();
        return 0;
    }
    if (!link_tree(rs, md, t))
        return 0;
    for (int i = 0; i < t->n; i++)
        if (!t->nodes[i].is_group)
            s->nleaves++;
    s->leaves = PyMem_Calloc((size_t)s->nleaves + 1, sizeof(leaf_info));
    if (!s->leaves) {
        PyErr_NoMemory();
        return 0;
    }
    for (int i = 0; i < t->n; i++) {
        schema_node *n = &t->nodes[i];
        n->name = text_from_span(n->el->name);
        if (!n->name)
            return 0;
        PyUnicode_InternInPlace(&n->name);
        n->path = i ? make_path(t, n->parent, n->name) : Py_NewRef(rs->empty_str);
        if (!n->path)
            return 0;
    }
    for (int i = t->n - 1; i >= 0; i--) {   /* type strings, once per element */
        t->nodes[i].type_str = i ? type_object(t, i) : Py_NewRef(Py_None);
        if (!t->nodes[i].type_str)
            return 0;
    }
    for (int i = 0, leaf = 0; i < t->n; i++) {
        schema_node *n = &t->nodes[i];
        if (n->is_group)
            continue;
        leaf_info *L = &s->leaves[leaf++];
        int top_node = i;
        while (top_node > 0 && t->nodes[top_node].parent > 0)
            top_node = t->nodes[top_node].parent;
        L->name = Py_NewRef(t->nodes[top_node].name);
        L->path = Py_NewRef(n->path);
        L->logical_str = Py_NewRef(n->type_str);
        L->path_utf8 = PyUnicode_AsUTF8AndSize(n->path, &L->path_len);
        if (!L->path_utf8)
            return 0;
        L->physical = n->el->type;
        L->physical_str = rs->physical[n->el->type];   /* link_tree checked the range */
        leaf_stats_kind(n->el, L);
        L->tmpl = PyDict_Copy(rs->tmpl_column);
        if (!L->tmpl || PyDict_SetItem(L->tmpl, rs->name, L->name) < 0 ||
            PyDict_SetItem(L->tmpl, rs->path_in_schema, L->path) < 0 ||
            PyDict_SetItem(L->tmpl, rs->physical_type, L->physical_str) < 0 ||
            PyDict_SetItem(L->tmpl, rs->logical_type, L->logical_str) < 0)
            return 0;
    }
    s->columns = schema_columns_list(rs, t);
    s->elements = s->columns ? schema_elements_list(rs, t) : NULL;
    return s->elements != NULL;
}

static void tree_free(schema_tree *t)
{
    if (t->nodes)
        for (int i = 0; i < t->n; i++) {
            Py_XDECREF(t->nodes[i].name);
            Py_XDECREF(t->nodes[i].path);
            Py_XDECREF(t->nodes[i].type_str);
        }
    PyMem_Free(t->nodes);
    memset(t, 0, sizeof *t);
}

void schema_free(schema_info *s)
{
    for (int i = 0; s->leaves && i < s->nleaves; i++) {
        Py_XDECREF(s->leaves[i].name);
        Py_XDECREF(s->leaves[i].path);
        Py_XDECREF(s->leaves[i].logical_str);
        Py_XDECREF(s->leaves[i].tmpl);
    }
    PyMem_Free(s->leaves);
    Py_XDECREF(s->columns);
    Py_XDECREF(s->elements);
    Py_XDECREF(s->fingerprint);
    Py_XDECREF(s->columns_json);
    memset(s, 0, sizeof *s);
}

/* ---------------------------------------------------------------- the schema cache
 * Files of one lake mostly share a schema. The few most recent schemas are kept, keyed by
 * their exact Thrift bytes; a hit copies the cached leaf objects and dict lists instead of
 * decoding names, building paths and type strings and filling dicts again. Results never
 * share a mutable object with the cache or with each other: dicts are copied. The cache
 * lives in the module state (rugo.h: schema_cache_entry) and is used with the GIL held. */

typedef schema_cache_entry cache_entry;

static PyObject *copy_dict_list(PyObject *src)
{
    Py_ssize_t n = PyList_GET_SIZE(src);
    PyObject *out = PyList_New(n);
    for (Py_ssize_t i = 0; out && i < n; i++) {
        PyObject *d = PyDict_Copy(PyList_GET_ITEM(src, i));
        if (!d)
            Py_CLEAR(out);
        else
            PyList_SET_ITEM(out, i, d);
    }
    return out;
}

/* dst = a copy of src that owns its own references */
static int schema_copy(const schema_info *src, schema_info *dst)
{
    memset(dst, 0, sizeof *dst);
    dst->leaves = PyMem_Malloc(((size_t)src->nleaves + 1) * sizeof(leaf_info));
    if (!dst->leaves) {
        PyErr_NoMemory();
        return 0;
    }
    memcpy(dst->leaves, src->leaves, (size_t)src->nleaves * sizeof(leaf_info));
    dst->nleaves = src->nleaves;
    for (int i = 0; i < dst->nleaves; i++) {
        Py_INCREF(dst->leaves[i].name);
        Py_INCREF(dst->leaves[i].path);
        Py_INCREF(dst->leaves[i].logical_str);
        Py_INCREF(dst->leaves[i].tmpl);   /* shared: only ever copied, never handed out */
    }
    dst->fingerprint = Py_XNewRef(src->fingerprint);
    dst->columns_json = Py_XNewRef(src->columns_json);
    dst->columns = copy_dict_list(src->columns);
    dst->elements = dst->columns ? copy_dict_list(src->elements) : NULL;
    return dst->elements != NULL;
}

static void cache_store(rugo_state *rs, span raw, schema_info *built)
{
    cache_entry *e = &rs->cache[rs->cache_next];
    uint8_t *bytes = PyMem_Malloc(raw.n ? raw.n : 1);
    if (!bytes)
        return;   /* no cache entry: not an error */
    schema_free(&e->info);
    PyMem_Free(e->bytes);
    memcpy(bytes, raw.p, raw.n);
    e->bytes = bytes;
    e->n = raw.n;
    e->info = *built;
    rs->cache_next = (rs->cache_next + 1) % SCHEMA_CACHE_SIZE;
}

static cache_entry *cache_find(rugo_state *rs, span raw)
{
    cache_entry *cache = rs->cache;
    for (int k = 0; raw.n && k < SCHEMA_CACHE_SIZE; k++)
        if (cache[k].bytes && cache[k].n == raw.n && memcmp(cache[k].bytes, raw.p, raw.n) == 0)
            return &cache[k];
    return NULL;
}

void schema_cache_clear(rugo_state *rs)
{
    for (int k = 0; k < SCHEMA_CACHE_SIZE; k++) {
        schema_free(&rs->cache[k].info);
        PyMem_Free(rs->cache[k].bytes);
        rs->cache[k].bytes = NULL;
        rs->cache[k].n = 0;
    }
    rs->cache_next = 0;
}

/* the owned references schema_free drops, visited */
int schema_cache_traverse(rugo_state *rs, visitproc visit, void *arg)
{
    for (int k = 0; k < SCHEMA_CACHE_SIZE; k++) {
        const schema_info *s = &rs->cache[k].info;
        for (int i = 0; s->leaves && i < s->nleaves; i++) {   /* physical_str: borrowed */
            Py_VISIT(s->leaves[i].name);
            Py_VISIT(s->leaves[i].path);
            Py_VISIT(s->leaves[i].logical_str);
            Py_VISIT(s->leaves[i].tmpl);
        }
        Py_VISIT(s->columns);
        Py_VISIT(s->elements);
        Py_VISIT(s->fingerprint);
        Py_VISIT(s->columns_json);
    }
    return 0;
}

int schema_load(rugo_state *rs, const FileMetaData *md, span raw, schema_info *s)
{
    memset(s, 0, sizeof *s);
    const cache_entry *hit = cache_find(rs, raw);
    if (hit) {
        if (!schema_copy(&hit->info, s))
            return 0;
    } else {
        schema_tree t = {0};
        schema_info built = {0};
        int ok = schema_build(rs, md, &built, &t);
        tree_free(&t);
        if (!ok) {
            schema_free(&built);
            return 0;
        }
        if (!schema_copy(&built, s)) {
            schema_free(&built);
            return 0;
        }
        if (raw.n)
            cache_store(rs, raw, &built);
        else
            schema_free(&built);
    }
    const ColumnOrder *orders = md->column_orders.items;   /* per file, not per schema */
    for (int i = 0; i < s->nleaves; i++)
        s->leaves[i].type_defined_order = (uint32_t)i < md->column_orders.n &&
                                          (ISSET(&orders[i], 0) || ISSET(&orders[i], 1));
    return 1;
}

/* ---------------------------------------------------------------- Python output */

static PyObject *schema_columns_list(const rugo_state *rs, const schema_tree *s)
{
    const schema_node *root = &s->nodes[0];
    PyObject *out = PyList_New(0);
    if (!out)
        return NULL;
    for (int k = 0, c = root->first_child; k < root->nchildren; k++, c = s->nodes[c].next) {
        const schema_node *n = &s->nodes[c];
        PyObject *d = PyDict_New();
        if (!d || PyList_Append(out, d) < 0) {
            Py_XDECREF(d);
            Py_DECREF(out);
            return NULL;
        }
        Py_DECREF(d);
        PyObject *phys, *logical;
        if (!n->is_group)   /* a repeated leaf too: logical_type says array<...> */
            phys = enum_name(rs->physical, 8, n->el->type);
        else if (is_map_group(n))
            phys = Py_NewRef(rs->group_kind[2]);
        else
            phys = Py_NewRef(is_repeated(n) || is_list_group(n) ? rs->group_kind[1] : rs->group_kind[0]);
        logical = Py_NewRef(n->type_str);
        int rep = ISSET(n->el, SE_REPETITION) ? n->el->repetition_type : REP_OPTIONAL;
        if (PyDict_SetItem(d, rs->name, n->name) < 0 || dict_put(d, rs->physical_type, phys) < 0 ||
            dict_put(d, rs->logical_type, logical) < 0 ||
            PyDict_SetItem(d, rs->nullable, rep == REP_REQUIRED ? Py_False : Py_True) < 0) {
            Py_DECREF(out);
            return NULL;
        }
    }
    return out;
}

static PyObject *schema_elements_list(const rugo_state *rs, const schema_tree *s)
{
    PyObject *out = PyList_New(s->n);
    if (!out)
        return NULL;
    for (int i = 0; i < s->n; i++) {
        const schema_node *n = &s->nodes[i];
        const SchemaElement *el = n->el;
        PyObject *d = dict_from_template(rs->tmpl_element);
        if (!d)
            goto fail;
        PyList_SET_ITEM(out, i, d);
        int is_dec = lt_member(el) == LT_DECIMAL;
        if (PyDict_SetItem(d, rs->name, n->name) < 0 || PyDict_SetItem(d, rs->path, n->path) < 0 ||
            PyDict_SetItem(d, rs->logical_type, n->type_str) < 0 ||
            dict_put(d, rs->physical_type, enum_or_none(rs->physical, 8, ISSET(el, SE_TYPE), el->type)) < 0 ||
            dict_put(d, rs->converted_type, enum_or_none(rs->converted, 22, ISSET(el, SE_CONVERTED), el->converted_type)) < 0 ||
            dict_put(d, rs->repetition_type, enum_or_none(rs->repetition, 4, ISSET(el, SE_REPETITION), el->repetition_type)) < 0 ||
            dict_put(d, rs->num_children, int_or_none(ISSET(el, SE_NUM_CHILDREN), el->num_children)) < 0 ||
            dict_put(d, rs->type_length, int_or_none(ISSET(el, SE_TYPE_LENGTH), el->type_length)) < 0 ||
            dict_put(d, rs->precision, int_or_none(ISSET(el, SE_PRECISION) || is_dec, decimal_precision(el))) < 0 ||
            dict_put(d, rs->scale, int_or_none(ISSET(el, SE_SCALE) || is_dec, decimal_scale(el))) < 0 ||
            dict_put(d, rs->field_id, int_or_none(ISSET(el, SE_FIELD_ID), el->field_id)) < 0 ||
            dict_put(d, rs->max_definition_level, PyLong_FromLong(n->max_def)) < 0 ||
            dict_put(d, rs->max_repetition_level, PyLong_FromLong(n->max_rep)) < 0)
            goto fail;
    }
    return out;
fail:
    Py_DECREF(out);
    return NULL;
}

/* ---------------------------------------------------------------- the fingerprint */

/* el[key], new reference; KeyError (never expected: elements come from a template) */
static PyObject *element_value(PyObject *el, PyObject *key)
{
    PyObject *v = PyDict_GetItemWithError(el, key);
    if (!v && !PyErr_Occurred())
        PyErr_SetObject(PyExc_KeyError, key);
    return Py_XNewRef(v);
}

/* the tuple scanner.worker.schema_fingerprint hashes, built from the same dicts */
static PyObject *fingerprint_key(const rugo_state *rs, PyObject *elements)
{
    PyObject *const fields[] = {rs->name, rs->physical_type, rs->logical_type, rs->converted_type, rs->repetition_type,
                                rs->num_children, rs->type_length, rs->precision, rs->scale, rs->field_id};
    const Py_ssize_t nfields = (Py_ssize_t)(sizeof fields / sizeof fields[0]);
    Py_ssize_t n = PyList_GET_SIZE(elements);
    PyObject *key = PyTuple_New(n);   /* n >= 1: a schema without a root is an error */
    for (Py_ssize_t i = 0; key && i < n; i++) {
        PyObject *el = PyList_GET_ITEM(elements, i), *item;
        if (i == 0) {
            item = element_value(el, rs->num_children);
        } else {
            item = PyTuple_New(nfields);
            for (Py_ssize_t k = 0; item && k < nfields; k++) {
                PyObject *v = element_value(el, fields[k]);
                if (!v)
                    Py_CLEAR(item);
                else
                    PyTuple_SET_ITEM(item, k, v);
            }
        }
        if (!item)
            Py_CLEAR(key);
        else
            PyTuple_SET_ITEM(key, i, item);
    }
    return key;
}

/* hashlib.blake2b and {"digest_size": 8}, kept in the state on first use */
static PyObject *fingerprint_of(rugo_state *rs, PyObject *elements)
{
    if (!rs->blake2b) {
        PyObject *hashlib = PyImport_ImportModule("hashlib");
        rs->blake2b = hashlib ? PyObject_GetAttrString(hashlib, "blake2b") : NULL;
        Py_XDECREF(hashlib);
        rs->digest_kw = rs->blake2b ? Py_BuildValue("{si}", "digest_size", 8) : NULL;
        if (!rs->digest_kw) {
            Py_CLEAR(rs->blake2b);
            return NULL;
        }
    }
    PyObject *key = fingerprint_key(rs, elements);
    PyObject *text = key ? PyObject_Repr(key) : NULL;
    PyObject *data = text ? PyUnicode_AsUTF8String(text) : NULL;
    PyObject *args = data ? PyTuple_Pack(1, data) : NULL;
    PyObject *hash = args ? PyObject_Call(rs->blake2b, args, rs->digest_kw) : NULL;
    Py_XDECREF(args);
    PyObject *hex = hash ? PyObject_CallMethod(hash, "hexdigest", NULL) : NULL;
    Py_XDECREF(key);
    Py_XDECREF(text);
    Py_XDECREF(data);
    Py_XDECREF(hash);
    return hex;
}

PyObject *schema_fingerprint(rugo_state *rs, span raw, schema_info *s)
{
    if (s->fingerprint)
        return s->fingerprint;
    if (!(s->fingerprint = fingerprint_of(rs, s->elements)))
        return NULL;
    cache_entry *e = cache_find(rs, raw);   /* the next file with this schema finds it there */
    if (e && !e->info.fingerprint)
        e->info.fingerprint = Py_NewRef(s->fingerprint);
    return s->fingerprint;
}

/* json.dumps(columns, separators=(",", ":"), ensure_ascii=False) */
static PyObject *json_of(rugo_state *rs, PyObject *columns)
{
    if (!rs->json_dumps) {
        PyObject *json = PyImport_ImportModule("json");
        rs->json_dumps = json ? PyObject_GetAttrString(json, "dumps") : NULL;
        Py_XDECREF(json);
        rs->json_kw = rs->json_dumps ? Py_BuildValue("{s(ss)sO}", "separators", ",", ":", "ensure_ascii", Py_False) : NULL;
        if (!rs->json_kw) {
            Py_CLEAR(rs->json_dumps);
            return NULL;
        }
    }
    PyObject *args = PyTuple_Pack(1, columns);
    PyObject *text = args ? PyObject_Call(rs->json_dumps, args, rs->json_kw) : NULL;
    Py_XDECREF(args);
    return text;
}

PyObject *schema_columns_json(rugo_state *rs, span raw, schema_info *s)
{
    if (s->columns_json)
        return s->columns_json;
    if (!(s->columns_json = json_of(rs, s->columns)))
        return NULL;
    cache_entry *e = cache_find(rs, raw);
    if (e && !e->info.columns_json)
        e->info.columns_json = Py_NewRef(s->columns_json);
    return s->columns_json;
}

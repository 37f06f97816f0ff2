/* bounds.c - a statistics bound (the Python value convert.c made) as the catalogue keeps it.
 *
 * The catalogue stores a bound as its kind, a canonical text and typed copies, exactly as
 * scanner.catalogue.bounds.encode_bound does in Python (that module is the reference; the
 * tests compare the two on every corpus file):
 *
 *   kind        text                                   int copy          float copy
 *   bool        "true" / "false"                       -                 -
 *   int         decimal digits                         the value (int64) -
 *   float       repr(): shortest text that reads back  -                 the value
 *   str         the text                               -                 -
 *   bytes       lowercase hex                          -                 -
 *   decimal     str(Decimal)                           -                 -
 *   datetime    datetime.isoformat(v) (microseconds)   -                 -
 *   date, time  isoformat                              -                 -
 *   uuid        str(UUID)                              -                 -
 *   repr        repr(v) (a type none of the above)     -                 -
 *   timestamp   datetime.isoformat(v) (a pandas        ns since epoch    -
 *               Timestamp: nanoseconds)
 *
 * A uint64 beyond int64 has no int copy. "timestamp" is the index's "datetime"; the int
 * copy keeps the nanoseconds the text cannot.
 */
#include "bounds.h"

#include <datetime.h>

/* `width` digits of v (0 <= v), zero-padded, at p; returns p past them */
static char *digits(char *p, uint64_t v, int width)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n < width)
        tmp[n++] = '0';
    while (n)
        *p++ = tmp[--n];
    return p;
}

/* "%lld" without the cost of printf (a catalogue formats millions of bounds) */
static int put_int_text(gbuf *text, int64_t v)
{
    char buf[24], *p = buf;
    if (v < 0)
        *p++ = '-';
    p = digits(p, v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v, 1);
    return gb_put(text, buf, (size_t)(p - buf));
}

static int put_hex(gbuf *text, const uint8_t *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    if (n > SIZE_MAX / 2 - 1) {
        PyErr_NoMemory();
        return -1;
    }
    if (gb_reserve(text, n * 2) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        text->p[text->n++] = (uint8_t)digits[p[i] >> 4];
        text->p[text->n++] = (uint8_t)digits[p[i] & 15];
    }
    return 0;
}

/* the UTF-8 of the str s (a new reference, stolen; NULL: an error is set) */
static int put_owned_str(gbuf *text, PyObject *s)
{
    if (!s)
        return -1;
    Py_ssize_t n;
    const char *p = PyUnicode_AsUTF8AndSize(s, &n);
    int rc = p ? gb_put(text, p, (size_t)n) : -1;
    Py_DECREF(s);
    return rc;
}

/* str(o) or repr(o), as UTF-8 */
static int put_py_text(gbuf *text, PyObject *o, int use_repr)
{
    return put_owned_str(text, use_repr ? PyObject_Repr(o) : PyObject_Str(o));
}

/* cls.isoformat(o): the base class's method, as encode_bound calls it */
static int put_isoformat(gbuf *text, PyTypeObject *cls, PyObject *o)
{
    return put_owned_str(text, PyObject_CallMethod((PyObject *)cls, "isoformat", "O", o));
}

/* "HH:MM:SS" and ".ffffff" when us is not 0, as time.isoformat() */
static int put_fmt_time(gbuf *text, int h, int m, int s, int us)
{
    char buf[16], *p = buf;
    p = digits(p, (uint64_t)h, 2);
    *p++ = ':';
    p = digits(p, (uint64_t)m, 2);
    *p++ = ':';
    p = digits(p, (uint64_t)s, 2);
    if (us) {
        *p++ = '.';
        p = digits(p, (uint64_t)us, 6);
    }
    return gb_put(text, buf, (size_t)(p - buf));
}

/* "YYYY-MM-DD" (year 1..9999), as date.isoformat() */
static int put_fmt_date(gbuf *text, int y, int m, int d)
{
    char buf[16], *p = buf;
    p = digits(p, (uint64_t)y, 4);
    *p++ = '-';
    p = digits(p, (uint64_t)m, 2);
    *p++ = '-';
    p = digits(p, (uint64_t)d, 2);
    return gb_put(text, buf, (size_t)(p - buf));
}

/* datetime.isoformat(v) for a naive or UTC value, written here; other zones through Python */
static int put_datetime(const rugo_state *rs, gbuf *text, PyObject *v)
{
    PyObject *tz = PyDateTime_DATE_GET_TZINFO(v);
    if (tz != Py_None && tz != rs->utc)
        return put_isoformat(text, PyDateTimeAPI->DateTimeType, v);
    if (put_fmt_date(text, PyDateTime_GET_YEAR(v), PyDateTime_GET_MONTH(v), PyDateTime_GET_DAY(v)) < 0 ||
        gb_put(text, "T", 1) < 0 ||
        put_fmt_time(text, PyDateTime_DATE_GET_HOUR(v), PyDateTime_DATE_GET_MINUTE(v),
                     PyDateTime_DATE_GET_SECOND(v), PyDateTime_DATE_GET_MICROSECOND(v)) < 0)
        return -1;
    return tz == Py_None ? 0 : gb_put(text, "+00:00", 6);
}

int bound_encode(const rugo_state *rs, PyObject *v, bound *out, gbuf *text)
{
    memset(out, 0, sizeof *out);
    text->n = 0;
    if (v == Py_None) {
        out->kind = BOUND_NONE;
        return 0;
    }
    if (PyBool_Check(v)) {
        out->kind = BOUND_BOOL;
        return v == Py_True ? gb_put(text, "true", 4) : gb_put(text, "false", 5);
    }
    if (PyLong_Check(v)) {
        int overflow;
        long long i = PyLong_AsLongLongAndOverflow(v, &overflow);
        if (i == -1 && PyErr_Occurred())
            return -1;
        out->kind = BOUND_INT;
        if (overflow)
            return put_py_text(text, v, 0);
        out->has_int = 1;
        out->i = i;
        return put_int_text(text, i);
    }
    if (PyFloat_Check(v)) {
        out->kind = BOUND_FLOAT;
        out->has_float = 1;
        out->f = PyFloat_AS_DOUBLE(v);
        char *s = PyOS_double_to_string(out->f, 'r', 0, Py_DTSF_ADD_DOT_0, NULL);   /* float.__repr__ */
        if (!s)
            return -1;
        int rc = gb_put(text, s, strlen(s));
        PyMem_Free(s);
        return rc;
    }
    if (PyUnicode_Check(v)) {
        out->kind = BOUND_STR;
        Py_ssize_t n;
        const char *p = PyUnicode_AsUTF8AndSize(v, &n);
        return p ? gb_put(text, p, (size_t)n) : -1;
    }
    if (PyBytes_Check(v)) {
        out->kind = BOUND_BYTES;
        return put_hex(text, (const uint8_t *)PyBytes_AS_STRING(v), (size_t)PyBytes_GET_SIZE(v));
    }
    if (PyDateTime_Check(v)) {
        if (rs->timestamp_cls && PyObject_TypeCheck(v, (PyTypeObject *)rs->timestamp_cls)) {
            PyObject *ns = PyObject_GetAttrString(v, "value");
            out->i = ns ? PyLong_AsLongLong(ns) : -1;
            Py_XDECREF(ns);
            if (out->i == -1 && PyErr_Occurred())
                return -1;
            out->kind = BOUND_TIMESTAMP;
            out->has_int = 1;
        } else {
            out->kind = BOUND_DATETIME;
        }
        return put_datetime(rs, text, v);
    }
    if (PyDate_Check(v)) {
        out->kind = BOUND_DATE;
        return put_fmt_date(text, PyDateTime_GET_YEAR(v), PyDateTime_GET_MONTH(v), PyDateTime_GET_DAY(v));
    }
    if (PyTime_Check(v)) {
        out->kind = BOUND_TIME;
        if (PyDateTime_TIME_GET_TZINFO(v) != Py_None)
            return put_isoformat(text, PyDateTimeAPI->TimeType, v);
        return put_fmt_time(text, PyDateTime_TIME_GET_HOUR(v), PyDateTime_TIME_GET_MINUTE(v),
                            PyDateTime_TIME_GET_SECOND(v), PyDateTime_TIME_GET_MICROSECOND(v));
    }
    int is_decimal = PyObject_IsInstance(v, rs->decimal_cls);
    if (is_decimal < 0)
        return -1;
    if (is_decimal) {
        out->kind = BOUND_DECIMAL;
        return put_py_text(text, v, 0);
    }
    int is_uuid = PyObject_IsInstance(v, rs->uuid_cls);
    if (is_uuid < 0)
        return -1;
    out->kind = is_uuid ? BOUND_UUID : BOUND_REPR;
    return put_py_text(text, v, !is_uuid);
}

/* this compilation unit's pointer to the datetime C API (see convert_init) */
int bounds_init(void)
{
    PyDateTime_IMPORT;
    return PyDateTimeAPI != NULL;
}

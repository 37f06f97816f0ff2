/* convert.c - statistics bytes -> Python values, and when to trust them.
 *
 * Values are PLAIN-encoded (little-endian fixed width; byte arrays without a length
 * prefix). Decoding follows the leaf's physical and logical type (schema.c picks the
 * SK_* kind). A value of the wrong width for its type, or outside what Python's datetime
 * can hold, becomes None: a corrupt statistic must not make the footer unreadable.
 */
#include "rugo.h"

#include <ctype.h>
#include <datetime.h>
#include <math.h>
#include <strings.h>

PyObject *text_from_span(span s)
{
    return PyUnicode_DecodeUTF8((const char *)s.p, (Py_ssize_t)s.n, "replace");
}

static uint64_t le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/* days since 1970-01-01 -> civil date (proleptic Gregorian), valid for all int64 inputs
 * that Python can represent; callers range-check the year. */
static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

#define DAY_MIN (-719162)        /* 0001-01-01 */
#define DAY_MAX (2932896)        /* 9999-12-31 */

static PyObject *make_date(int64_t days)
{
    if (days < DAY_MIN || days > DAY_MAX)
        return Py_NewRef(Py_None);
    int64_t y;
    int m, d;
    civil_from_days(days, &y, &m, &d);
    return PyDate_FromDate((int)y, m, d);
}

static PyObject *make_datetime(const rugo_state *rs, int64_t v, int64_t per_second, int utc)
{
    int64_t secs = floor_div(v, per_second);
    int64_t frac = v - secs * per_second;
    int64_t us = per_second >= 1000000 ? frac / (per_second / 1000000) : frac * (1000000 / per_second);
    int64_t days = floor_div(secs, 86400), sod = secs - days * 86400;
    if (days < DAY_MIN || days > DAY_MAX)
        return Py_NewRef(Py_None);
    int64_t y;
    int m, d;
    civil_from_days(days, &y, &m, &d);
    return PyDateTimeAPI->DateTime_FromDateAndTime((int)y, m, d, (int)(sod / 3600), (int)(sod / 60 % 60),
                                                   (int)(sod % 60), (int)us, utc ? rs->utc : Py_None,
                                                   PyDateTimeAPI->DateTimeType);
}

/* nanosecond timestamps keep their precision as pandas.Timestamp, as pyarrow returns them */
static PyObject *make_timestamp_ns(rugo_state *rs, int64_t v, int utc)
{
    if (!rs->timestamp_cls) {
        PyObject *pd = PyImport_ImportModule("pandas");
        if (!pd)
            return NULL;
        rs->timestamp_cls = PyObject_GetAttrString(pd, "Timestamp");
        Py_DECREF(pd);
        if (!rs->timestamp_cls)
            return NULL;
    }
    PyObject *ns = PyLong_FromLongLong(v);
    if (!ns)
        return NULL;
    PyObject *out;
    if (utc) {
        PyObject *args = PyTuple_Pack(1, ns), *kw = Py_BuildValue("{sO}", "tz", rs->utc);
        out = args && kw ? PyObject_Call(rs->timestamp_cls, args, kw) : NULL;
        Py_XDECREF(args);
        Py_XDECREF(kw);
    } else {
        out = PyObject_CallOneArg(rs->timestamp_cls, ns);
    }
    Py_DECREF(ns);
    return out;
}

static PyObject *make_time(int64_t v, int64_t per_second)
{
    if (v < 0 || v >= 86400 * per_second)
        return Py_NewRef(Py_None);
    int64_t secs = v / per_second, frac = v % per_second;
    int64_t us = per_second >= 1000000 ? frac / (per_second / 1000000) : frac * (1000000 / per_second);
    return PyTime_FromTime((int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60), (int)us);
}

/* Decimal(unscaled) * 10**-scale, exactly (no context rounding): Decimal("<int>E-<scale>") */
static PyObject *make_decimal(const rugo_state *rs, PyObject *unscaled, int32_t scale)
{
    if (!unscaled)
        return NULL;
    PyObject *text = PyUnicode_FromFormat("%SE%d", unscaled, -scale);
    Py_DECREF(unscaled);
    if (!text)
        return NULL;
    PyObject *out = PyObject_CallOneArg(rs->decimal_cls, text);
    Py_DECREF(text);
    return out;
}

/* The common case without an intermediate int: "<digits>E<-scale>" written directly. */
static PyObject *make_decimal_i64(const rugo_state *rs, int64_t unscaled, int32_t scale)
{
    char text[48];
    int n = snprintf(text, sizeof text, "%lldE%d", (long long)unscaled, -scale);
    PyObject *str = PyUnicode_FromStringAndSize(text, n);
    if (!str)
        return NULL;
    PyObject *out = PyObject_CallOneArg(rs->decimal_cls, str);
    Py_DECREF(str);
    return out;
}

static int64_t big_endian_i64(span v)   /* v.n in 1..8: sign-extended */
{
    uint64_t u = (v.p[0] & 0x80) ? ~UINT64_C(0) : 0;
    for (uint32_t i = 0; i < v.n; i++)
        u = (u << 8) | v.p[i];
    return (int64_t)u;
}

static PyObject *big_endian_int(span v)
{
    if (v.n == 0)
        return PyLong_FromLong(0);
    return _PyLong_FromByteArray(v.p, v.n, 0, 1);
}

static double half_to_double(uint16_t h)
{
    int exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
    double v;
    if (exp == 0)
        v = ldexp(mant, -24);
    else if (exp == 31)
        v = mant ? NAN : INFINITY;
    else
        v = ldexp(mant + 1024, exp - 25);
    return (h & 0x8000) ? -v : v;
}

static PyObject *make_uuid(const rugo_state *rs, span v)
{
    PyObject *b = PyBytes_FromStringAndSize((const char *)v.p, v.n);
    if (!b)
        return NULL;
    PyObject *kw = Py_BuildValue("{OO}", rs->kw_bytes, b);
    Py_DECREF(b);
    if (!kw)
        return NULL;
    PyObject *args = PyTuple_New(0);
    PyObject *out = args ? PyObject_Call(rs->uuid_cls, args, kw) : NULL;
    Py_XDECREF(args);
    Py_DECREF(kw);
    return out;
}

static int fixed_width(int kind)
{
    switch (kind) {
    case SK_BOOL: return 1;
    case SK_I32: case SK_U32: case SK_FLOAT: case SK_DEC_I32: case SK_DATE: case SK_TIME_MS: return 4;
    case SK_I64: case SK_U64: case SK_DOUBLE: case SK_DEC_I64: case SK_TIME_US: case SK_TIME_NS:
    case SK_TS_MS: case SK_TS_US: case SK_TS_NS: return 8;
    case SK_UUID: return 16;
    case SK_F16: return 2;
    default: return 0;   /* variable width */
    }
}

PyObject *stat_value(rugo_state *rs, const leaf_info *leaf, span v)
{
    int kind = leaf->stat_kind;
    int w = fixed_width(kind);
    if (kind == SK_NONE || (w && v.n != (uint32_t)w))
        return Py_NewRef(Py_None);
    uint64_t u = w && w <= 8 ? le(v.p, w) : 0;
    int64_t i32 = (int32_t)(uint32_t)u, i64 = (int64_t)u;
    switch (kind) {
    case SK_BOOL: return PyBool_FromLong(v.p[0] != 0);
    case SK_I32: return PyLong_FromLongLong(i32);
    case SK_U32: return PyLong_FromUnsignedLongLong((uint32_t)u);
    case SK_I64: return PyLong_FromLongLong(i64);
    case SK_U64: return PyLong_FromUnsignedLongLong(u);
    case SK_FLOAT: {
        uint32_t bits = (uint32_t)u;
        float f;
        memcpy(&f, &bits, 4);
        return PyFloat_FromDouble(f);
    }
    case SK_DOUBLE: {
        double d;
        memcpy(&d, &u, 8);
        return PyFloat_FromDouble(d);
    }
    case SK_STR: return text_from_span(v);
    case SK_BYTES: return PyBytes_FromStringAndSize((const char *)v.p, v.n);
    case SK_DEC_I32: return make_decimal_i64(rs, i32, leaf->scale);
    case SK_DEC_I64: return make_decimal_i64(rs, i64, leaf->scale);
    case SK_DEC_BYTES:
        if (v.n >= 1 && v.n <= 8)
            return make_decimal_i64(rs, big_endian_i64(v), leaf->scale);
        return make_decimal(rs, big_endian_int(v), leaf->scale);
    case SK_DATE: return make_date(i32);
    case SK_TIME_MS: return make_time(i32, 1000);
    case SK_TIME_US: return make_time(i64, 1000000);
    case SK_TIME_NS: return make_time(i64, 1000000000);
    case SK_TS_MS: return make_datetime(rs, i64, 1000, leaf->utc);
    case SK_TS_US: return make_datetime(rs, i64, 1000000, leaf->utc);
    case SK_TS_NS: return make_timestamp_ns(rs, i64, leaf->utc);
    case SK_UUID: return make_uuid(rs, v);
    case SK_F16: return PyFloat_FromDouble(half_to_double((uint16_t)u));
    }
    return Py_NewRef(Py_None);
}

/* ---------------------------------------------------------------- writer versions
 * "parquet-mr version 1.8.1 (build 4aba4dae)" -> app "parquet-mr", 1.8.1. Files without
 * created_by are "unknown". Used for the statistics rules pyarrow applies to old writers. */

void writer_version_parse(span created_by, int present, writer_version *out)
{
    memset(out, 0, sizeof *out);
    if (!present) {
        strcpy(out->app, "unknown");
        return;
    }
    const uint8_t *p = created_by.p, *end = p + created_by.n;
    const uint8_t *v = NULL;
    for (const uint8_t *q = p; q + 9 <= end; q++)
        if (q[0] == ' ' && strncasecmp((const char *)q + 1, "version", 7) == 0 && q[8] == ' ') {
            v = q;
            break;
        }
    const uint8_t *app_end = v ? v : end;
    size_t n = 0;
    for (const uint8_t *q = p; q < app_end && n < sizeof out->app - 1; q++)
        out->app[n++] = (char)tolower(*q);
    out->app[n] = '\0';
    if (!v)
        return;
    int *parts[3] = {&out->major, &out->minor, &out->patch};
    const uint8_t *q = v + 9;
    while (q < end && *q == ' ')
        q++;
    for (int k = 0; k < 3 && q < end && isdigit(*q); k++) {
        int x = 0;
        while (q < end && isdigit(*q) && x < 100000)
            x = x * 10 + (*q++ - '0');
        *parts[k] = x;
        if (q < end && *q == '.')
            q++;
        else
            break;
    }
}

static int version_lt(const writer_version *w, const char *app, int major, int minor, int patch)
{
    if (strcmp(w->app, app) != 0)
        return 0;
    if (w->major != major)
        return w->major < major;
    if (w->minor != minor)
        return w->minor < minor;
    return w->patch < patch;
}

/* pyarrow's rules: legacy min/max (no TYPE_DEFINED_ORDER) only for signed orders; and
 * (ApplicationVersion::HasCorrectStatistics) old parquet-cpp (< 1.3.0) and
 * parquet-mr (< 1.10.0) computed only signed orders right; PARQUET-251 broke binary stats
 * in parquet-mr < 1.8.0; an unknown sort order never has usable min/max. */
int stats_trusted(const writer_version *w, const leaf_info *leaf, span min, span max, int has_min_max)
{
    if (leaf->sort_order == SORT_UNKNOWN)
        return 0;
    if (!leaf->type_defined_order && leaf->sort_order != SORT_SIGNED)
        return 0;   /* the legacy min/max are signed-order only: wrong for strings, unsigned */
    if (version_lt(w, "parquet-cpp", 1, 3, 0) || version_lt(w, "parquet-mr", 1, 10, 0)) {
        int same = has_min_max && min.n == max.n && memcmp(min.p, max.p, min.n) == 0;
        if (leaf->sort_order != SORT_SIGNED && !same)
            return 0;
        if (leaf->physical != 6 && leaf->physical != 7)
            return 1;
    }
    if (strcmp(w->app, "unknown") == 0)
        return 1;
    return !version_lt(w, "parquet-mr", 1, 8, 0);
}

/* The datetime C API stays a process-wide pointer (datetime.h's PyDateTimeAPI, one per
 * compilation unit): CPython hands every importer, in every interpreter, the capsule of its
 * one static set of datetime types. Setting it again from another module's exec stores the
 * same pointer. */
int convert_init(void)
{
    PyDateTime_IMPORT;
    return PyDateTimeAPI != NULL;
}

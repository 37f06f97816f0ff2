/* thrift.h - the ONE place that reads untrusted bytes.
 *
 * A bounds-checked cursor over the Thrift compact protocol
 * (https://github.com/apache/thrift/blob/master/doc/specs/thrift-compact-protocol.md).
 * Every read checks the bytes left first; on failure it records what was wrong and where
 * (footer byte offset) in the cursor and returns 0. No other file does pointer arithmetic
 * on input bytes.
 */
#ifndef RUGO_THRIFT_H
#define RUGO_THRIFT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* compact-protocol wire types */
enum {
    CT_STOP = 0, CT_TRUE = 1, CT_FALSE = 2, CT_BYTE = 3, CT_I16 = 4, CT_I32 = 5,
    CT_I64 = 6, CT_DOUBLE = 7, CT_BINARY = 8, CT_LIST = 9, CT_SET = 10, CT_MAP = 11,
    CT_STRUCT = 12
};

/* error kinds a cursor can record; module.c maps them to Python exception classes */
enum { ERR_NONE = 0, ERR_THRIFT = 1, ERR_MEMORY = 2 };

#define RUGO_ERRMSG 200

typedef struct {
    const uint8_t *start;   /* first byte of the Thrift footer */
    const uint8_t *pos;     /* next byte to read */
    const uint8_t *end;     /* one past the last byte of the footer */
    int err;                /* ERR_* */
    size_t err_offset;      /* footer byte where the error was found */
    char err_msg[RUGO_ERRMSG];
} cursor;

/* a run of bytes inside the footer: strings and binaries are never copied while parsing */
typedef struct {
    const uint8_t *p;
    uint32_t n;
} span;

static inline size_t cur_left(const cursor *c) { return (size_t)(c->end - c->pos); }
static inline size_t cur_offset(const cursor *c) { return (size_t)(c->pos - c->start); }

/* Record the first error only: later ones are consequences. */
void cur_fail(cursor *c, int kind, const char *fmt, ...);

static inline int cur_byte(cursor *c, uint8_t *out)
{
    if (c->pos >= c->end) {
        cur_fail(c, ERR_THRIFT, "truncated footer: needed 1 byte, none left");
        return 0;
    }
    *out = *c->pos++;
    return 1;
}

static inline int cur_bytes(cursor *c, size_t n, const uint8_t **out)
{
    if (n > cur_left(c)) {
        cur_fail(c, ERR_THRIFT, "truncated footer: needed %zu bytes, %zu left", n, cur_left(c));
        return 0;
    }
    *out = c->pos;
    c->pos += n;
    return 1;
}

/* unsigned LEB128, at most 10 bytes for 64 bits */
static inline int cur_varint(cursor *c, uint64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        uint8_t b;
        if (!cur_byte(c, &b))
            return 0;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return 1;
        }
    }
    cur_fail(c, ERR_THRIFT, "varint longer than 10 bytes");
    return 0;
}

static inline int64_t zigzag(uint64_t v) { return (int64_t)(v >> 1) ^ -(int64_t)(v & 1); }

static inline int cur_zigzag(cursor *c, int64_t *out)
{
    uint64_t v;
    if (!cur_varint(c, &v))
        return 0;
    *out = zigzag(v);
    return 1;
}

static inline int cur_double(cursor *c, double *out)
{
    const uint8_t *p;
    if (!cur_bytes(c, 8, &p))
        return 0;
    uint64_t bits = 0;
    for (int i = 7; i >= 0; i--)   /* compact protocol doubles are little-endian */
        bits = (bits << 8) | p[i];
    memcpy(out, &bits, 8);
    return 1;
}

/* A length-prefixed binary; the length is a claim, checked against the bytes left. */
static inline int cur_binary(cursor *c, span *out)
{
    uint64_t n;
    if (!cur_varint(c, &n))
        return 0;
    if (n > cur_left(c)) {
        cur_fail(c, ERR_THRIFT, "string of %llu bytes but only %zu bytes left",
                 (unsigned long long)n, cur_left(c));
        return 0;
    }
    out->p = c->pos;
    out->n = (uint32_t)n;
    c->pos += n;
    return 1;
}

/* Field header: returns the wire type (CT_STOP at the end of a struct) and the field id. */
static inline int cur_field(cursor *c, int16_t *last_id, int *type, int16_t *id)
{
    uint8_t b;
    if (!cur_byte(c, &b))
        return 0;
    *type = b & 0x0f;
    if (*type == CT_STOP) {
        *id = 0;
        return 1;
    }
    int delta = b >> 4;
    if (delta) {
        *id = (int16_t)(*last_id + delta);
    } else {
        int64_t v;
        if (!cur_zigzag(c, &v))
            return 0;
        if (v < INT16_MIN || v > INT16_MAX) {
            cur_fail(c, ERR_THRIFT, "field id %lld out of range", (long long)v);
            return 0;
        }
        *id = (int16_t)v;
    }
    *last_id = *id;
    return 1;
}

/* List/set header. Every element takes at least one byte on the wire (bools and bytes one,
 * everything else more), so a count larger than the bytes left is a lie: reject it before
 * anything is allocated. */
static inline int cur_list(cursor *c, int *elem_type, uint32_t *count)
{
    uint8_t b;
    if (!cur_byte(c, &b))
        return 0;
    *elem_type = b & 0x0f;
    uint64_t n = b >> 4;
    if (n == 15 && !cur_varint(c, &n))
        return 0;
    if (n > cur_left(c)) {
        cur_fail(c, ERR_THRIFT, "list of %llu elements but only %zu bytes left",
                 (unsigned long long)n, cur_left(c));
        return 0;
    }
    *count = (uint32_t)n;
    return 1;
}

/* nested skips (and decoded structs) go at most this deep */
#define SKIP_DEPTH_MAX 64

#endif

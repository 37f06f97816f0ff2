/* gbuf.h - a growable byte buffer (PyMem_Raw* memory), for the batch's column buffers.
 *
 * Appends raise MemoryError (return -1) instead of overflowing; the buffer is freed with
 * gb_free. Used with the GIL held (errors are Python exceptions).
 */
#ifndef RUGO_GBUF_H
#define RUGO_GBUF_H

#include "rugo.h"

typedef struct {
    uint8_t *p;
    size_t n, cap;
} gbuf;

/* room for `extra` more bytes; -1 with MemoryError set when that cannot be */
static inline int gb_reserve(gbuf *b, size_t extra)
{
    if (extra <= b->cap - b->n)
        return 0;
    if (extra > (SIZE_MAX >> 2) - b->n) {   /* then cap * 2 below cannot overflow either */
        PyErr_NoMemory();
        return -1;
    }
    size_t cap = b->cap ? b->cap : 512;
    while (cap < b->n + extra)
        cap *= 2;
    uint8_t *p = PyMem_RawRealloc(b->p, cap);
    if (!p) {
        PyErr_NoMemory();
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

static inline int gb_put(gbuf *b, const void *src, size_t n)
{
    if (gb_reserve(b, n) < 0)
        return -1;
    if (n)
        memcpy(b->p + b->n, src, n);
    b->n += n;
    return 0;
}

static inline int gb_i64(gbuf *b, int64_t v) { return gb_put(b, &v, sizeof v); }   /* little-endian hosts */

/* bit i of a bitmap (LSB first) set to v; the bitmap grows a byte at a time */
static inline int gb_bit(gbuf *b, int64_t i, int v)
{
    size_t byte = (size_t)i >> 3;
    if (byte >= b->n) {
        if (gb_reserve(b, byte + 1 - b->n) < 0)
            return -1;
        memset(b->p + b->n, 0, byte + 1 - b->n);
        b->n = byte + 1;
    }
    uint8_t mask = (uint8_t)(1u << (i & 7));
    b->p[byte] = v ? (uint8_t)(b->p[byte] | mask) : (uint8_t)(b->p[byte] & ~mask);
    return 0;
}

static inline void gb_free(gbuf *b)
{
    PyMem_RawFree(b->p);
    memset(b, 0, sizeof *b);
}

#endif

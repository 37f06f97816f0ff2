/* bounds.h - statistics bounds as the catalogue stores them (bounds.c). */
#ifndef RUGO_BOUNDS_H
#define RUGO_BOUNDS_H

#include "rugo.h"
#include "gbuf.h"

/* A bound's kind: the position of its name in scanner.catalogue.bounds.KINDS (keep both
 * in this order). BOUND_NONE: no bound. */
enum {
    BOUND_BOOL, BOUND_INT, BOUND_FLOAT, BOUND_STR, BOUND_BYTES, BOUND_DECIMAL, BOUND_DATETIME,
    BOUND_DATE, BOUND_TIME, BOUND_UUID, BOUND_REPR, BOUND_TIMESTAMP, BOUND_NONE = -1
};

typedef struct {
    int kind;           /* BOUND_* */
    int has_int;        /* i holds the int copy (int kind) or the nanoseconds (timestamp) */
    int64_t i;
    int has_float;      /* f holds the float copy (float kind) */
    double f;
} bound;

/* The kind, typed copies and canonical text (into `text`, emptied first) of the bound `v`
 * (a value convert.c made, or None). -1 with a Python error set. GIL held. */
int bound_encode(const rugo_state *rs, PyObject *v, bound *out, gbuf *text);

/* imports the datetime C API for bounds.c (process-wide, as convert_init) */
int bounds_init(void);

#endif

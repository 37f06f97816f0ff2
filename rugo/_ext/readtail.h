/* readtail.h - reading file tails with the planner (tail.h): one file for read_file, many
 * files into a caller's buffer for load_tails. */
#ifndef RUGO_READTAIL_H
#define RUGO_READTAIL_H

#include "rugo.h"
#include "tail.h"

typedef struct {
    uint8_t *buf;       /* the last n bytes of the file */
    size_t n;
    int64_t size;
    int err;            /* errno */
    int owned;          /* buf is ours to free (not the thread's reusable buffer) */
    int have_head;      /* head holds the first 4 bytes (read only on the not-Parquet path) */
    uint8_t head[TAIL_MAGIC_LEN];
} tail_read;

/* Without the GIL: open, fstat, the reads the planner asks for. r->err set on failure. */
void read_tail(const char *path, tail_read *r);
/* Give back r's buffer (with or without the GIL). */
void release_buffer(tail_read *r);

/* _footer.load_tails(paths, sizes, out, first_reads=None) */
PyObject *py_load_tails(PyObject *self, PyObject *args, PyObject *kwargs);

#endif

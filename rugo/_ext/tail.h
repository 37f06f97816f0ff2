/* tail.h - the 8-byte Parquet trailer: <footer length: u32 LE> <magic "PAR1" | "PARE"> */
#ifndef RUGO_TAIL_H
#define RUGO_TAIL_H

#include <stddef.h>
#include <stdint.h>

#define TAIL_TRAILER 8
#define TAIL_DEFAULT_READ (64 * 1024)
/* The largest footer a file read will fetch (1 GiB): a trailer claiming more is a
 * FooterLengthError, not a giant allocation. In-memory buffers are parsed whatever their
 * size (the caller already holds the bytes). Same limit as rugo.remote.MAX_FOOTER_BYTES. */
#define TAIL_MAX_FOOTER (1u << 30)

enum { TAIL_OK = 0, TAIL_TOO_SHORT, TAIL_NOT_PARQUET, TAIL_ENCRYPTED, TAIL_ZERO_LENGTH, TAIL_TOO_LONG };

typedef struct {
    int status;                 /* TAIL_* */
    uint32_t footer_len;        /* the trailer's claim */
    const uint8_t *footer;      /* first footer byte when status == TAIL_OK */
    char msg[160];              /* what is wrong, when status != TAIL_OK */
} tail_info;

/* Check the last 8 bytes of buf[0:n] (a whole file or any tail of one) and locate the
 * footer inside it. `file_size` is the size of the whole file when known (else 0): it lets
 * the message tell a truncated tail from a lying length. */
void tail_check(const uint8_t *buf, size_t n, uint64_t file_size, tail_info *out);

#endif

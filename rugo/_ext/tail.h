/* tail.h - the sans-IO tail planner: where a Parquet footer is, or which bytes to read next.
 *
 * A Parquet file ends in <footer> <footer length: u32 LE> <magic "PAR1" | "PARE">. Every
 * reader (a path, a file object, an fsspec URL, the scanner's shared-memory loader) asks
 * the planner the same question with the last n bytes it holds, and does the I/O itself:
 *
 *     DONE   the footer lies in those bytes (offset and length)
 *     NEED   read exactly the last `need` bytes of the file, then ask again
 *     error  TAIL_TOO_SHORT ... TAIL_TOO_LARGE, with the message to raise
 *
 * The first read is the last TAIL_DEFAULT_READ bytes (the whole file when smaller); a
 * larger footer costs exactly one more read of footer + trailer. No file is read here.
 */
#ifndef RUGO_TAIL_H
#define RUGO_TAIL_H

#include <stddef.h>
#include <stdint.h>

#define TAIL_TRAILER 8
#define TAIL_MAGIC_LEN 4
#define TAIL_DEFAULT_READ (64 * 1024)
/* The largest footer a reader fetches (1 GiB): a trailer claiming more is a
 * FooterLengthError, not a giant allocation or download. A buffer already holding a larger
 * footer is still parsed (the caller has the bytes). */
#define TAIL_MAX_FOOTER (1u << 30)

/* Outcomes. The errors map to rugo.errors classes with tail_error_class(). */
enum {
    TAIL_DONE = 0,
    TAIL_NEED,
    TAIL_TOO_SHORT,     /* NotParquetError: fewer than 8 bytes in the whole file */
    TAIL_NOT_PARQUET,   /* NotParquetError: no PAR1 at the end */
    TAIL_TRUNCATED,     /* NotParquetError: PAR1 at the start but not at the end */
    TAIL_ENCRYPTED,     /* EncryptedFooterError: PARE at the end */
    TAIL_ZERO_LENGTH,   /* FooterLengthError: the trailer claims 0 bytes */
    TAIL_TOO_LONG,      /* FooterLengthError: the claim exceeds the bytes before the trailer */
    TAIL_TOO_LARGE,     /* FooterLengthError: the claim exceeds TAIL_MAX_FOOTER */
};

typedef struct {
    int status;             /* TAIL_DONE, TAIL_NEED or an error */
    uint32_t footer_len;    /* the trailer's claim (0 before the trailer was seen) */
    size_t footer_offset;   /* DONE: first footer byte in the buffer */
    uint64_t need;          /* NEED: bytes to read from the end of the file (> n) */
    int head_unknown;       /* TAIL_NOT_PARQUET without sight of the first 4 bytes: a
                               caller that can read them may ask again with `head` */
    int stuck_status;       /* NEED: the error for a caller that cannot read more */
    char msg[160];          /* errors, and NEED (the stuck message): what is wrong */
} tail_plan_t;

/* Plan from the last n bytes of a file (buf[0:n]; n <= file_size when the size is known).
 *
 * file_size  the whole file's size, or -1 when unknown (a buffer handed to parse, a
 *            suffix request). n == file_size means the whole file is visible.
 * head       the file's first 4 bytes when the caller read them, else NULL; only looked at
 *            to tell a truncated Parquet file from another file. */
void tail_plan(const uint8_t *buf, size_t n, int64_t file_size, const uint8_t *head, tail_plan_t *out);

/* The bytes to read first from a file of file_size bytes (-1: unknown). */
uint64_t tail_first_read(int64_t file_size);

/* The rugo.errors class name of an error status ("NotParquetError" ...), NULL otherwise. */
const char *tail_error_class(int status);

#endif

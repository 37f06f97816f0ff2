/* tail.c - the tail planner (tail.h): every trailer check and its messages, and only here. */
#include <stdio.h>
#include <string.h>

#include "tail.h"

#define FAIL(out, code, ...) \
    do { \
        (out)->status = (code); \
        snprintf((out)->msg, sizeof (out)->msg, __VA_ARGS__); \
    } while (0)

uint64_t tail_first_read(int64_t file_size)
{
    return file_size >= 0 && (uint64_t)file_size < TAIL_DEFAULT_READ ? (uint64_t)file_size : TAIL_DEFAULT_READ;
}

const char *tail_error_class(int status)
{
    switch (status) {
    case TAIL_TOO_SHORT:
    case TAIL_NOT_PARQUET:
    case TAIL_TRUNCATED:
        return "NotParquetError";
    case TAIL_ENCRYPTED:
        return "EncryptedFooterError";
    case TAIL_ZERO_LENGTH:
    case TAIL_TOO_LONG:
    case TAIL_TOO_LARGE:
        return "FooterLengthError";
    default:
        return NULL;
    }
}

/* No PAR1 at the end: a truncated Parquet file when its first bytes are PAR1. */
static void not_parquet(const uint8_t *buf, size_t n, int64_t file_size, int whole, const uint8_t *head,
                        tail_plan_t *out)
{
    if (whole && n >= TAIL_MAGIC_LEN)
        head = buf;
    if (head && file_size >= TAIL_TRAILER && memcmp(head, "PAR1", TAIL_MAGIC_LEN) == 0) {
        FAIL(out, TAIL_TRUNCATED, "truncated Parquet file: starts with 'PAR1' but does not end with it (%lld bytes)",
             (long long)file_size);
        return;
    }
    const uint8_t *t = buf + n - TAIL_MAGIC_LEN;
    FAIL(out, TAIL_NOT_PARQUET, "not a Parquet file: last 4 bytes are %02x %02x %02x %02x, expected 'PAR1'",
         t[0], t[1], t[2], t[3]);
    out->head_unknown = !head && !whole && file_size >= TAIL_TRAILER;
}

void tail_plan(const uint8_t *buf, size_t n, int64_t file_size, const uint8_t *head, tail_plan_t *out)
{
    memset(out, 0, sizeof *out);
    int whole = file_size >= 0 && (uint64_t)n >= (uint64_t)file_size;
    if (n < TAIL_TRAILER) {
        if (whole) {
            FAIL(out, TAIL_TOO_SHORT, "not a Parquet file: %zu bytes, too short to hold the 8-byte trailer", n);
            return;
        }
        out->need = tail_first_read(file_size);   /* > n: file_size > n, and 64 KiB > 8 > n */
        out->stuck_status = TAIL_TOO_SHORT;
        FAIL(out, TAIL_NEED, "not a Parquet file: %zu bytes, too short to hold the 8-byte trailer", n);
        return;
    }
    const uint8_t *t = buf + n - TAIL_TRAILER;
    if (memcmp(t + 4, "PARE", TAIL_MAGIC_LEN) == 0) {
        FAIL(out, TAIL_ENCRYPTED, "the footer is encrypted (PARE magic); rugo reads plaintext footers only");
        return;
    }
    if (memcmp(t + 4, "PAR1", TAIL_MAGIC_LEN) != 0) {
        not_parquet(buf, n, file_size, whole, head, out);
        return;
    }
    uint32_t len = (uint32_t)t[0] | (uint32_t)t[1] << 8 | (uint32_t)t[2] << 16 | (uint32_t)t[3] << 24;
    out->footer_len = len;
    if (len == 0) {
        FAIL(out, TAIL_ZERO_LENGTH, "footer length is 0");
        return;
    }
    size_t avail = n - TAIL_TRAILER;
    if (len <= avail) {
        out->status = TAIL_DONE;
        out->footer_offset = avail - len;
        return;
    }
    /* The limit comes first: it does not depend on the size, so every reader (whatever it
     * knows of the size) gives the same answer for the same trailer. */
    if (len > TAIL_MAX_FOOTER) {
        FAIL(out, TAIL_TOO_LARGE, "footer length %u exceeds the %u bytes rugo reads", len, TAIL_MAX_FOOTER);
        return;
    }
    if (file_size >= 0 && (uint64_t)len > (uint64_t)file_size - TAIL_TRAILER) {
        FAIL(out, TAIL_TOO_LONG, "footer length %u exceeds the %llu bytes before the trailer", len,
             (unsigned long long)file_size - TAIL_TRAILER);
        return;
    }
    out->need = (uint64_t)len + TAIL_TRAILER;
    out->stuck_status = TAIL_TOO_LONG;
    FAIL(out, TAIL_NEED, "footer length %u exceeds the %zu bytes before the trailer", len, avail);
}

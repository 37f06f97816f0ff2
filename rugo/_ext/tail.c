/* tail.c - the 8-byte trailer checks (PAR1 / PARE / footer length), and only here. */
#include <stdio.h>
#include <string.h>

#include "tail.h"

void tail_check(const uint8_t *buf, size_t n, uint64_t file_size, tail_info *out)
{
    memset(out, 0, sizeof *out);
    if (n < TAIL_TRAILER) {
        out->status = TAIL_TOO_SHORT;
        snprintf(out->msg, sizeof out->msg,
                 "not a Parquet file: %zu bytes, too short to hold the 8-byte trailer", n);
        return;
    }
    const uint8_t *t = buf + n - TAIL_TRAILER;
    if (memcmp(t + 4, "PARE", 4) == 0) {
        out->status = TAIL_ENCRYPTED;
        snprintf(out->msg, sizeof out->msg,
                 "the footer is encrypted (PARE magic); rugo reads plaintext footers only");
        return;
    }
    if (memcmp(t + 4, "PAR1", 4) != 0) {
        out->status = TAIL_NOT_PARQUET;
        snprintf(out->msg, sizeof out->msg,
                 "not a Parquet file: last 4 bytes are %02x %02x %02x %02x, expected 'PAR1'",
                 t[4], t[5], t[6], t[7]);
        return;
    }
    uint32_t len = (uint32_t)t[0] | (uint32_t)t[1] << 8 | (uint32_t)t[2] << 16 | (uint32_t)t[3] << 24;
    out->footer_len = len;
    if (len == 0) {
        out->status = TAIL_ZERO_LENGTH;
        snprintf(out->msg, sizeof out->msg, "footer length is 0");
        return;
    }
    size_t avail = n - TAIL_TRAILER;
    if (len > avail) {
        out->status = TAIL_TOO_LONG;
        if (file_size)
            snprintf(out->msg, sizeof out->msg,
                     "footer length %u exceeds the %llu bytes before the trailer", len,
                     (unsigned long long)(file_size - TAIL_TRAILER));
        else
            snprintf(out->msg, sizeof out->msg,
                     "footer length %u exceeds the %zu bytes available before the trailer", len, avail);
        return;
    }
    out->footer = t - len;
    out->status = TAIL_OK;
}

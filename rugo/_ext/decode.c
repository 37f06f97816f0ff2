/* decode.c - one table-driven walker: Thrift compact bytes -> the C structs of footer.h.
 *
 * Rules: unknown field ids are skipped, with a depth cap on nested skips; a missing
 * required field is an error naming the field; every list count is checked against the
 * bytes left before anything is allocated, and lists grow from at most 16 slots.
 * A known field with an unexpected wire type is skipped and counts as absent, as
 * Thrift-generated readers (pyarrow's) do: real writers put other types under ids that
 * later spec versions reused (corpus: dict-page-offset-zero.parquet, field 15).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>   /* PyMem_Raw*: traced by tracemalloc, safe without the GIL */

#include <stdarg.h>
#include <stdio.h>

#include "footer.h"

/* ---------------------------------------------------------------- errors */

void cur_fail(cursor *c, int kind, const char *fmt, ...)
{
    if (c->err)
        return;
    c->err = kind;
    c->err_offset = cur_offset(c);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err_msg, sizeof c->err_msg, fmt, ap);
    va_end(ap);
}

/* Write the breadcrumb (e.g. "row_groups[3].columns[0].meta_data") into d->err_field. */
static void record_trail(decoder *d)
{
    char *out = d->err_field;
    size_t left = sizeof d->err_field;
    out[0] = '\0';
    for (int i = 0; i < d->depth && left > 1; i++) {
        int n = d->trail_index[i] >= 0
                    ? snprintf(out, left, "%s%s[%lld]", i ? "." : "", d->trail_name[i],
                               (long long)d->trail_index[i])
                    : snprintf(out, left, "%s%s", i ? "." : "", d->trail_name[i]);
        if (n < 0 || (size_t)n >= left)
            break;
        out += n;
        left -= (size_t)n;
    }
}

static int fail(decoder *d, const char *fmt, ...)
{
    if (!d->cur.err) {
        va_list ap;
        va_start(ap, fmt);
        char msg[RUGO_ERRMSG];
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        cur_fail(&d->cur, ERR_THRIFT, "%s", msg);
    }
    return 0;
}

/* ---------------------------------------------------------------- arena */

struct arena_block {
    arena_block *next;
    size_t used, cap;
    max_align_t data[];
};

#define ARENA_BLOCK (64 * 1024)

/* Blocks are not zeroed up front (a small footer would pay for 64 KiB of memset); each
 * allocation is zeroed as it is handed out. One standard block is kept between parses, so a
 * typical footer allocates nothing from the system. It is process-wide C memory, not module
 * state (no Python object): decoding holds the GIL, which every interpreter of the process
 * shares (the module declares no per-interpreter GIL support), so there are no races. */
static arena_block *spare_block;

void *arena_alloc(arena *a, size_t n)
{
    n = (n + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
    arena_block *b = a->head;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > ARENA_BLOCK ? n : ARENA_BLOCK;
        if (cap == ARENA_BLOCK && spare_block) {
            b = spare_block;
            spare_block = NULL;
        } else {
            b = PyMem_RawMalloc(sizeof(arena_block) + cap);
            if (!b)
                return NULL;
        }
        b->cap = cap;
        b->used = 0;
        b->next = a->head;
        a->head = b;
    }
    void *p = (char *)b->data + b->used;
    b->used += n;
    return memset(p, 0, n);
}

void arena_free(arena *a)
{
    arena_block *b = a->head;
    while (b) {
        arena_block *next = b->next;
        if (b->cap == ARENA_BLOCK && !spare_block)
            spare_block = b;
        else
            PyMem_RawFree(b);
        b = next;
    }
    a->head = NULL;
}

/* ---------------------------------------------------------------- skipping */

/* Skipping runs over every byte the options leave out (schema_only skips all row groups),
 * so the common wire types have tight paths; containers recurse up to the depth cap. */
static inline int skip_varint(cursor *c)
{
    const uint8_t *p = c->pos, *end = c->end;
    const uint8_t *stop = end - p > 10 ? p + 10 : end;
    while (p < stop)
        if (!(*p++ & 0x80)) {
            c->pos = p;
            return 1;
        }
    uint64_t ignored;
    return cur_varint(c, &ignored);   /* records the precise error */
}

static int skip_value(cursor *c, int type, int depth, int in_collection);

static int skip_elements(cursor *c, int type, uint32_t n, int depth)
{
    const uint8_t *p;
    switch (type) {
    case CT_TRUE:
    case CT_FALSE:
    case CT_BYTE:
        return cur_bytes(c, n, &p);
    case CT_DOUBLE:
        return cur_bytes(c, (size_t)n * 8, &p);
    case CT_I16:
    case CT_I32:
    case CT_I64:
        for (uint32_t i = 0; i < n; i++)
            if (!skip_varint(c))
                return 0;
        return 1;
    default:
        for (uint32_t i = 0; i < n; i++)
            if (!skip_value(c, type, depth, 1))
                return 0;
        return 1;
    }
}

static int skip_value(cursor *c, int type, int depth, int in_collection)
{
    if (depth > SKIP_DEPTH_MAX) {
        cur_fail(c, ERR_THRIFT, "nesting deeper than %d levels", SKIP_DEPTH_MAX);
        return 0;
    }
    const uint8_t *p;
    span s;
    switch (type) {
    case CT_TRUE:
    case CT_FALSE: /* in a field header the value is the type; in a collection, one byte */
        return in_collection ? cur_bytes(c, 1, &p) : 1;
    case CT_BYTE:
        return cur_bytes(c, 1, &p);
    case CT_I16:
    case CT_I32:
    case CT_I64:
        return skip_varint(c);
    case CT_DOUBLE:
        return cur_bytes(c, 8, &p);
    case CT_BINARY:
        return cur_binary(c, &s);
    case CT_LIST:
    case CT_SET: {
        int et;
        uint32_t n;
        return cur_list(c, &et, &n) && skip_elements(c, et, n, depth + 1);
    }
    case CT_MAP: {
        uint64_t n;
        uint8_t kv = 0;
        if (!cur_varint(c, &n))
            return 0;
        if (n == 0)
            return 1;
        if (n > cur_left(c) / 2) {
            cur_fail(c, ERR_THRIFT, "map of %llu entries but only %zu bytes left",
                     (unsigned long long)n, cur_left(c));
            return 0;
        }
        if (!cur_byte(c, &kv))
            return 0;
        for (uint64_t i = 0; i < n; i++)
            if (!skip_value(c, kv >> 4, depth + 1, 1) || !skip_value(c, kv & 0x0f, depth + 1, 1))
                return 0;
        return 1;
    }
    case CT_STRUCT: {
        /* the hottest loop of schema_only: local pointers, scalar fields inline */
        const uint8_t *q = c->pos, *end = c->end;
        for (;;) {
            if (q >= end)
                break;
            uint8_t b = *q++;
            int ft = b & 0x0f;
            if (ft == CT_STOP) {
                c->pos = q;
                return 1;
            }
            if (!(b >> 4)) {   /* long-form field id: a zigzag varint follows */
                c->pos = q;
                if (!skip_varint(c))
                    return 0;
                q = c->pos;
            }
            if (ft == CT_TRUE || ft == CT_FALSE)
                continue;
            if (ft == CT_I16 || ft == CT_I32 || ft == CT_I64) {
                const uint8_t *stop = end - q > 10 ? q + 10 : end;
                while (q < stop && (*q & 0x80))
                    q++;
                if (q < stop) {
                    q++;
                    continue;
                }
            } else if (ft == CT_BINARY && q < end && !(*q & 0x80)) {   /* short string */
                size_t n = *q++;
                if (n <= (size_t)(end - q)) {
                    q += n;
                    continue;
                }
                q--;
            }
            c->pos = q;   /* everything else, and every error, takes the careful path */
            if (!skip_value(c, ft, depth + 1, 0))
                return 0;
            q = c->pos;
        }
        c->pos = q;
        cur_fail(c, ERR_THRIFT, "truncated footer: needed 1 byte, none left");
        return 0;
    }
    default:
        cur_fail(c, ERR_THRIFT, "invalid wire type %d", type);
        return 0;
    }
}


/* ---------------------------------------------------------------- values */

static int is_int_wire(int t) { return t == CT_BYTE || t == CT_I16 || t == CT_I32 || t == CT_I64; }

static int read_int(decoder *d, int wire, int width, const char *name, void *dst)
{
    int64_t v;
    if (wire == CT_BYTE) {
        uint8_t b;
        if (!cur_byte(&d->cur, &b))
            return 0;
        v = (int8_t)b;
    } else if (!cur_zigzag(&d->cur, &v)) {
        return 0;
    }
    if (width == 4) {
        if (v < INT32_MIN || v > INT32_MAX)
            return fail(d, "%s = %lld does not fit in 32 bits", name, (long long)v);
        *(int32_t *)dst = (int32_t)v;
    } else {
        *(int64_t *)dst = v;
    }
    return 1;
}

static int decode_struct(decoder *d, const struct_spec *s, void *out);

static int elem_wire_ok(int kind, int wire)
{
    switch (kind) {
    case K_INT: return is_int_wire(wire);
    case K_BOOL: return wire == CT_TRUE || wire == CT_FALSE;
    case K_DOUBLE: return wire == CT_DOUBLE;
    case K_BINARY: return wire == CT_BINARY;
    case K_STRUCT: return wire == CT_STRUCT;
    default: return 0;
    }
}

static int decode_list(decoder *d, const field_spec *f, list *out)
{
    int et;
    uint32_t n;
    const uint8_t *start = d->cur.pos;
    if (!cur_list(&d->cur, &et, &n))
        return 0;
    if (n && !elem_wire_ok(f->elem, et)) {   /* not the list we know: let the caller skip it */
        d->cur.pos = start;
        return -1;
    }
    uint32_t keep = n;
    if ((f->flags & F_ROW_GROUPS) && d->max_row_groups >= 0 && (uint64_t)d->max_row_groups < n)
        keep = (uint32_t)d->max_row_groups;
    size_t esz = f->elem == K_STRUCT ? f->sub->size : f->elem == K_BINARY ? sizeof(span) : f->width;
    out->total = n;
    out->n = 0;
    /* Lists take their declared size at once while the footer's preallocation budget
     * lasts (a legitimate footer needs a few times its own size), else start at 16 slots
     * and double: allocation stays proportional to the bytes actually decoded. */
    uint32_t cap = keep < 16 ? keep : 16;
    if ((uint64_t)keep * esz <= d->prealloc_budget) {
        cap = keep;
        d->prealloc_budget -= (uint64_t)keep * esz;
    }
    char *items = cap ? arena_alloc(&d->mem, cap * esz) : NULL;
    if (cap && !items) {
        cur_fail(&d->cur, ERR_MEMORY, "out of memory");
        return 0;
    }
    int slot = d->depth - 1;   /* decode_field pushed this list's name */
    for (uint32_t i = 0; i < keep; i++) {
        if (i == cap) {
            uint32_t ncap = cap > keep / 2 ? keep : cap * 2;
            char *grown = arena_alloc(&d->mem, (size_t)ncap * esz);
            if (!grown) {
                cur_fail(&d->cur, ERR_MEMORY, "out of memory");
                return 0;
            }
            memcpy(grown, items, (size_t)cap * esz);
            items = grown;
            cap = ncap;
        }
        d->trail_index[slot] = i;
        void *dst = items + (size_t)i * esz;
        int ok;
        switch (f->elem) {
        case K_INT: ok = read_int(d, et, f->width, f->name, dst); break;
        case K_BINARY: ok = cur_binary(&d->cur, (span *)dst); break;
        case K_STRUCT: ok = decode_struct(d, f->sub, dst); break;
        default: ok = fail(d, "unsupported list element kind");
        }
        if (!ok)
            return 0;
        out->n = i + 1;
    }
    d->trail_index[slot] = -1;
    for (uint32_t i = keep; i < n; i++)   /* elements the options leave out */
        if (!skip_value(&d->cur, et, 1, 1))
            return 0;
    out->items = items;
    return 1;
}

/* Returns 1 when decoded, 0 on error, -1 when the wire type does not match the field:
 * the caller then skips the value, as Thrift-generated readers (pyarrow's among them) do,
 * and the field counts as absent (a required one is then reported missing). */
static int decode_field(decoder *d, const field_spec *f, int wire, char *base)
{
    void *dst = base + f->offset;
    switch (f->kind) {
    case K_INT:
        if (!is_int_wire(wire))
            break;
        return read_int(d, wire, f->width, f->name, dst);
    case K_BOOL:
        if (wire != CT_TRUE && wire != CT_FALSE)
            break;
        *(int32_t *)dst = wire == CT_TRUE;
        return 1;
    case K_DOUBLE:
        if (wire != CT_DOUBLE)
            break;
        return cur_double(&d->cur, (double *)dst);
    case K_BINARY:
        if (wire != CT_BINARY)
            break;
        return cur_binary(&d->cur, (span *)dst);
    case K_STRUCT:
        if (wire != CT_STRUCT)
            break;
        return decode_struct(d, f->sub, dst);
    case K_LIST:
        if (wire != CT_LIST && wire != CT_SET)
            break;
        return decode_list(d, f, (list *)dst);
    }
    return -1;
}

static int decode_struct(decoder *d, const struct_spec *s, void *out)
{
    char *base = out;
    uint32_t *isset = (uint32_t *)out;
    int16_t last = 0, id;
    int wire;
    if (d->depth >= SKIP_DEPTH_MAX)
        return fail(d, "nesting deeper than %d levels", SKIP_DEPTH_MAX);
    for (;;) {
        if (!cur_field(&d->cur, &last, &wire, &id))
            return 0;
        if (wire == CT_STOP)
            break;
        int idx = (id >= 0 && id < SPEC_MAX_ID) ? s->by_id[id] : -1;
        if (idx < 0) {   /* a field this reader does not know: skip it */
            if (!skip_value(&d->cur, wire, 1, 0))
                return 0;
            continue;
        }
        const field_spec *f = &s->fields[idx];
        if ((f->flags & F_STATISTICS) && !d->include_statistics) {
            if (!skip_value(&d->cur, wire, 1, 0))
                return 0;
            continue;
        }
        d->trail_name[d->depth] = f->name;
        d->trail_index[d->depth] = -1;
        d->depth++;
        const uint8_t *field_start = d->cur.pos;
        int rc = decode_field(d, f, wire, base);
        if (rc == 0)
            return 0;
        d->depth--;
        if (rc < 0) {
            if (!skip_value(&d->cur, wire, 1, 0))
                return 0;
            continue;
        }
        *isset |= 1u << idx;
        if (f->flags & F_SCHEMA) {   /* the schema cache's key (schema.c) */
            d->schema_raw.p = field_start;
            d->schema_raw.n = (uint32_t)(d->cur.pos - field_start);
        }
    }
    if ((*isset & s->required) != s->required)
        for (int i = 0; i < s->nfields; i++)
            if (s->fields[i].required && !(*isset & (1u << i)))
                return fail(d, "%s is missing required field %s", s->name, s->fields[i].name);
    return 1;
}

int decode_file_metadata(decoder *d, FileMetaData *out)
{
    memset(out, 0, sizeof *out);
    d->depth = 0;
    d->prealloc_budget = PREALLOC_FACTOR * (uint64_t)(d->cur.end - d->cur.start) + 64 * 1024;
    int ok = decode_struct(d, &SPEC_FileMetaData, out);
    if (!ok)
        record_trail(d);
    return ok;
}

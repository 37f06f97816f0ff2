/* readtail.c - file I/O driven by the tail planner (tail.h).
 *
 *   read_tail   one file for read_file: open, fstat, the reads the planner asks for, into a
 *               buffer kept per thread.
 *   load_tails  many files packed into a caller's writable buffer (a shared memory block),
 *               the whole loop without the GIL; results come back columnar.
 *
 * Both decide nothing about the bytes themselves: tail_plan() says what to read and what
 * is wrong; the parser reports format errors from the bytes copied.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "readtail.h"

/* O_NONBLOCK: opening a FIFO must not wait for a writer (it is then refused by fstat);
 * it changes nothing for regular files. O_NOCTTY: a terminal never becomes ours. */
#define OPEN_FLAGS (O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)

/* pread n bytes at off, retrying short reads and EINTR: the count read (< n only at the end
 * of the file), or -1 with errno set. */
static ssize_t pread_full(int fd, uint8_t *buf, size_t n, off_t off)
{
    size_t done = 0;
    while (done < n) {
        ssize_t r = pread(fd, buf + done, n - done, off + (off_t)done);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (r == 0)
            break;
        done += (size_t)r;
    }
    return (ssize_t)done;
}

/* ---- read_tail: one file, into a buffer kept per thread ---------------------------------
 *
 * Each thread keeps its read buffer between calls (reading runs without the GIL, so it is
 * per thread): a fresh buffer would be faulted in by the kernel on every call. A pthread
 * key frees it when the thread exits; buffers over READ_BUFFER_KEEP are freed after use. */
#define READ_BUFFER_KEEP (8u << 20)

typedef struct {
    uint8_t *buf;
    size_t cap;
    int busy;       /* a read on this thread is using it (a nested read gets its own) */
} thread_buffer;

static pthread_key_t buffer_key;
static pthread_once_t buffer_once = PTHREAD_ONCE_INIT;

static void thread_buffer_free(void *p)
{
    thread_buffer *tb = p;
    PyMem_RawFree(tb->buf);
    PyMem_RawFree(tb);
}

static void buffer_key_create(void) { (void)pthread_key_create(&buffer_key, thread_buffer_free); }

static thread_buffer *this_thread_buffer(void)
{
    pthread_once(&buffer_once, buffer_key_create);
    thread_buffer *tb = pthread_getspecific(buffer_key);
    if (!tb && (tb = PyMem_RawCalloc(1, sizeof *tb)) != NULL && pthread_setspecific(buffer_key, tb) != 0) {
        PyMem_RawFree(tb);
        tb = NULL;
    }
    return tb;
}

void release_buffer(tail_read *r)
{
    if (r->owned) {
        PyMem_RawFree(r->buf);
    } else if (r->buf) {
        thread_buffer *tb = this_thread_buffer();
        tb->busy = 0;
        if (tb->cap > READ_BUFFER_KEEP) {
            PyMem_RawFree(tb->buf);
            tb->buf = NULL;
            tb->cap = 0;
        }
    }
    r->buf = NULL;
    r->owned = 0;
}

/* A buffer of n bytes for r (replacing any it had): the thread's, or a private one. */
static uint8_t *acquire_buffer(tail_read *r, size_t n)
{
    release_buffer(r);
    thread_buffer *tb = this_thread_buffer();
    if (!tb || tb->busy) {
        r->owned = 1;
        return r->buf = PyMem_RawMalloc(n ? n : 1);
    }
    if (n > tb->cap) {
        PyMem_RawFree(tb->buf);
        tb->cap = 0;
        tb->buf = PyMem_RawMalloc(n ? n : 1);
        if (!tb->buf)
            return NULL;
        tb->cap = n;
    }
    tb->busy = 1;
    return r->buf = tb->buf;
}

void read_tail(const char *path, tail_read *r)
{
    memset(r, 0, sizeof *r);
    int fd = open(path, OPEN_FLAGS);
    if (fd < 0) {
        r->err = errno;
        return;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        r->err = errno;
        goto out;
    }
    if (S_ISDIR(st.st_mode)) {
        r->err = EISDIR;
        goto out;
    }
    r->size = S_ISREG(st.st_mode) ? (int64_t)st.st_size : 0;   /* a FIFO or device: nothing to read */
    size_t want = (size_t)tail_first_read(r->size);
    tail_plan_t p;
    for (int reads = 0; reads < 2; reads++) {   /* the first read, and the exact one a NEED asks */
        if (!acquire_buffer(r, want)) {
            r->err = ENOMEM;
            goto out;
        }
        r->n = 0;
        ssize_t got = pread_full(fd, r->buf, want, (off_t)(r->size - (int64_t)want));
        if (got < 0 || (size_t)got < want) {
            r->err = got < 0 ? errno : EIO;   /* EIO: the file shrank while we read it */
            goto out;
        }
        r->n = want;
        tail_plan(r->buf, r->n, r->size, NULL, &p);
        if (p.status != TAIL_NEED)
            break;
        want = (size_t)p.need;
    }
    if (p.head_unknown && pread_full(fd, r->head, TAIL_MAGIC_LEN, 0) == TAIL_MAGIC_LEN)
        r->have_head = 1;
out:
    close(fd);
}

/* ---- load_tails: many files packed into a caller's buffer, without the GIL ------------- */

enum { LOAD_OK = 0, LOAD_FORMAT = 1, LOAD_ERROR = 2 };    /* per-file status (the .pyi) */
enum { FAIL_NONE = 0, FAIL_ERRNO, FAIL_CHANGED, FAIL_NOT_REGULAR, FAIL_PLAN };   /* why LOAD_ERROR */
#define LOAD_MSG 160

typedef struct {
    const char *path;   /* fsencoded, inside a bytes object the caller holds */
    int64_t size;       /* as listed; -1: fstat's */
    int64_t first;      /* first read; 0: the planner's (64 KiB, the whole file when smaller) */
} load_job;

typedef struct {
    int64_t start, end; /* the span of `out` holding the file's bytes */
    uint8_t status;     /* LOAD_* */
    uint8_t fail;       /* FAIL_* */
    int16_t plan;       /* the planner's last status (TAIL_*) */
    int err;            /* errno for FAIL_ERRNO */
} load_result;

typedef struct {
    const load_job *jobs;
    load_result *res;
    size_t njobs;
    uint8_t *out;
    size_t cap;
    size_t consumed;
    uint64_t need;              /* bytes the file at `consumed` needs when it stopped the loop */
    char (*msgs)[LOAD_MSG];     /* per file, allocated on the first message */
    int nomem;
} load_state;

static const char *file_kind(mode_t mode)
{
    return S_ISFIFO(mode) ? "a FIFO" : S_ISSOCK(mode) ? "a socket" : S_ISCHR(mode) ? "a character device"
           : S_ISBLK(mode) ? "a block device" : "not a file";
}

/* Record a message for file i (errors and format problems are rare: the arena comes late). */
static void note(load_state *s, size_t i, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void note(load_state *s, size_t i, const char *fmt, ...)
{
    if (!s->msgs && !(s->msgs = PyMem_RawCalloc(s->njobs, LOAD_MSG))) {
        s->nomem = 1;
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->msgs[i], LOAD_MSG, fmt, ap);
    va_end(ap);
}

static uint64_t first_read(const load_job *j, int64_t size)
{
    if (j->first > 0)
        return (uint64_t)(j->first < size ? j->first : size);
    return tail_first_read(size);
}

/* Load file i at *off. 1: stop before it (s->need set); 0: consumed (res[i] filled). */
static int load_one(load_state *s, size_t i, size_t *off)
{
    const load_job *j = &s->jobs[i];
    load_result *r = &s->res[i];
    size_t room = s->cap - *off;
    r->start = r->end = (int64_t)*off;
    r->status = LOAD_ERROR;
    int64_t size = j->size;
    uint64_t n = size >= 0 ? first_read(j, size) : 0;
    if (size >= 0 && n > room) {   /* before opening: the file waits for a fresh buffer */
        s->need = n;
        return 1;
    }
    int stop = 0;
    int fd = open(j->path, OPEN_FLAGS);
    if (fd < 0) {
        r->fail = FAIL_ERRNO;
        r->err = errno;
        return 0;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        r->fail = FAIL_ERRNO;
        r->err = errno;
        goto out;
    }
    if (S_ISDIR(st.st_mode)) {   /* as pread would say: IsADirectoryError */
        r->fail = FAIL_ERRNO;
        r->err = EISDIR;
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        r->fail = FAIL_NOT_REGULAR;
        note(s, i, "not a regular file (%s): not read", file_kind(st.st_mode));
        goto out;
    }
    if (size >= 0 && (int64_t)st.st_size != size) {   /* rewritten since listed: no stale offsets */
        r->fail = FAIL_CHANGED;
        note(s, i, "file changed since it was listed: %lld bytes then, %lld now", (long long)size,
             (long long)st.st_size);
        goto out;
    }
    if (size < 0) {
        size = (int64_t)st.st_size;
        n = first_read(j, size);
        if (n > room) {
            s->need = n;
            stop = 1;
            goto out;
        }
    }
    uint8_t *dst = s->out + *off;
    tail_plan_t p;
    for (int reads = 0;; reads++) {   /* the first read, and the exact one a NEED asks */
        ssize_t got = pread_full(fd, dst, (size_t)n, (off_t)(size - (int64_t)n));
        if (got < 0) {
            r->fail = FAIL_ERRNO;
            r->err = errno;
            goto out;
        }
        if ((uint64_t)got < n) {
            r->fail = FAIL_CHANGED;
            note(s, i, "file shrank while scanned: %lld bytes when listed, read ended after %lld",
                 (long long)size, (long long)got);
            goto out;
        }
        tail_plan(dst, (size_t)n, size, NULL, &p);
        if (p.status != TAIL_NEED || reads == 1)
            break;
        if (p.need > room) {
            s->need = p.need;
            stop = 1;
            goto out;
        }
        n = p.need;
    }
    if (p.head_unknown) {   /* only on the not-Parquet path: is it a truncated Parquet file? */
        uint8_t head[TAIL_MAGIC_LEN];
        if (pread_full(fd, head, TAIL_MAGIC_LEN, 0) == TAIL_MAGIC_LEN)
            tail_plan(dst, (size_t)n, size, head, &p);
    }
    struct stat after;
    if (fstat(fd, &after) == 0 && (after.st_size != st.st_size || after.st_mtim.tv_sec != st.st_mtim.tv_sec ||
                                   after.st_mtim.tv_nsec != st.st_mtim.tv_nsec ||
                                   after.st_ctim.tv_sec != st.st_ctim.tv_sec ||
                                   after.st_ctim.tv_nsec != st.st_ctim.tv_nsec)) {
        r->fail = FAIL_CHANGED;   /* written to while read: the bytes may mix two versions */
        note(s, i, "file changed while it was read");
        goto out;
    }
    r->plan = (int16_t)(p.status == TAIL_NEED ? p.stuck_status : p.status);
    if (p.status == TAIL_TRUNCATED) {   /* the bytes cannot show it to the parser: an error */
        r->fail = FAIL_PLAN;
        note(s, i, "%s", p.msg);
        goto out;
    }
    r->status = p.status == TAIL_DONE ? LOAD_OK : LOAD_FORMAT;
    if (r->status == LOAD_FORMAT)
        note(s, i, "%s", p.msg);
    *off += (size_t)n;
    r->end = (int64_t)*off;
out:
    close(fd);
    return stop;
}

/* The GIL-free loop. It touches only C state: the jobs (paths are the buffers of bytes
 * objects the caller holds references to; bytes never change), the results and message
 * arena (PyMem_Raw*, safe without the GIL), and `out`, whose buffer export pins it (a
 * bytearray cannot resize, an mmap or shared memory block cannot close while exported).
 * No Python object is created, changed or reference-counted here. */
static void load_all(load_state *s)
{
    size_t off = 0;
    for (s->consumed = 0; s->consumed < s->njobs && !s->nomem; s->consumed++)
        if (load_one(s, s->consumed, &off))
            break;
}

/* (type name, message) of a failed or malformed file, built with the GIL held. */
static PyObject *error_pair(const load_state *s, size_t i)
{
    const load_result *r = &s->res[i];
    const char *msg = s->msgs ? s->msgs[i] : "";
    if (r->fail == FAIL_ERRNO) {   /* the OSError subclass Python raises for this errno */
        PyObject *exc = PyObject_CallFunction(PyExc_OSError, "is", r->err, strerror(r->err));
        if (!exc)
            return NULL;
        PyObject *text = PyObject_GetAttrString(exc, "strerror");
        PyObject *pair = text ? Py_BuildValue("(sO)", Py_TYPE(exc)->tp_name, text) : NULL;
        Py_XDECREF(text);
        Py_DECREF(exc);
        return pair;
    }
    const char *type = r->fail == FAIL_CHANGED ? "FileChanged" : r->fail == FAIL_NOT_REGULAR ? "NotARegularFile"
                                                                                         : tail_error_class(r->plan);
    return Py_BuildValue("(ss)", type ? type : "RugoError", msg);
}

static PyObject *build_results(const load_state *s)
{
    PyObject *spans = PyList_New((Py_ssize_t)s->consumed);
    PyObject *status = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)s->consumed);
    PyObject *errors = PyDict_New();
    if (!spans || !status || !errors)
        goto fail;
    char *st = PyBytes_AS_STRING(status);
    for (size_t i = 0; i < s->consumed; i++) {
        const load_result *r = &s->res[i];
        PyObject *span = Py_BuildValue("(LL)", (long long)r->start, (long long)r->end);
        if (!span)
            goto fail;
        PyList_SET_ITEM(spans, (Py_ssize_t)i, span);
        st[i] = (char)r->status;
        if (r->status != LOAD_OK) {
            PyObject *key = PyLong_FromSize_t(i), *pair = error_pair(s, i);
            int bad = !key || !pair || PyDict_SetItem(errors, key, pair) < 0;
            Py_XDECREF(key);
            Py_XDECREF(pair);
            if (bad)
                goto fail;
        }
    }
    return Py_BuildValue("(nKNNN)", (Py_ssize_t)s->consumed,
                         (unsigned long long)(s->consumed < s->njobs ? s->need : 0), spans, status, errors);
fail:
    Py_XDECREF(spans);
    Py_XDECREF(status);
    Py_XDECREF(errors);
    return NULL;
}

/* A non-negative int from a sequence item (-1 allowed when allow_unknown). */
static int int_item(PyObject *item, const char *what, Py_ssize_t i, int allow_unknown, int64_t *value)
{
    long long v = PyLong_AsLongLong(item);
    if (v == -1 && PyErr_Occurred())
        return -1;
    if (v < (allow_unknown ? -1 : 0)) {
        PyErr_Format(PyExc_ValueError, "%s[%zd] must be >= %d, not %lld", what, i, allow_unknown ? -1 : 0, v);
        return -1;
    }
    *value = v;
    return 0;
}

PyObject *py_load_tails(PyObject *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"paths", "sizes", "out", "first_reads", NULL};
    PyObject *paths_obj, *sizes_obj, *out_obj, *firsts_obj = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OOO|O:load_tails", kwlist, &paths_obj, &sizes_obj, &out_obj,
                                     &firsts_obj))
        return NULL;
    PyObject *paths = NULL, *sizes = NULL, *firsts = NULL, *encoded = NULL, *result = NULL;
    load_state s = {0};
    load_job *jobs = NULL;
    Py_buffer view = {0};
    if (!(paths = PySequence_Fast(paths_obj, "paths must be a sequence")) ||
        !(sizes = PySequence_Fast(sizes_obj, "sizes must be a sequence")) ||
        (firsts_obj != Py_None && !(firsts = PySequence_Fast(firsts_obj, "first_reads must be a sequence"))))
        goto done;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(paths);
    if (PySequence_Fast_GET_SIZE(sizes) != n || (firsts && PySequence_Fast_GET_SIZE(firsts) != n)) {
        PyErr_Format(PyExc_ValueError, "paths, sizes and first_reads differ in length (%zd, %zd, %zd)", n,
                     PySequence_Fast_GET_SIZE(sizes), firsts ? PySequence_Fast_GET_SIZE(firsts) : n);
        goto done;
    }
    if (!(encoded = PyTuple_New(n)))
        goto done;
    jobs = PyMem_Calloc((size_t)n + 1, sizeof *jobs);
    s.res = PyMem_Calloc((size_t)n + 1, sizeof *s.res);
    if (!jobs || !s.res) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++) {   /* every conversion before the GIL is released */
        PyObject *path;
        if (!PyUnicode_FSConverter(PySequence_Fast_GET_ITEM(paths, i), &path))
            goto done;
        PyTuple_SET_ITEM(encoded, i, path);
        jobs[i].path = PyBytes_AS_STRING(path);
        if (int_item(PySequence_Fast_GET_ITEM(sizes, i), "sizes", i, 1, &jobs[i].size) < 0 ||
            (firsts && int_item(PySequence_Fast_GET_ITEM(firsts, i), "first_reads", i, 0, &jobs[i].first) < 0))
            goto done;
    }
    if (PyObject_GetBuffer(out_obj, &view, PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS) < 0)
        goto done;
    s.jobs = jobs;
    s.njobs = (size_t)n;
    s.out = view.buf;
    s.cap = (size_t)view.len;
    Py_BEGIN_ALLOW_THREADS
    load_all(&s);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    result = s.nomem ? PyErr_NoMemory() : build_results(&s);
done:
    PyMem_RawFree(s.msgs);
    PyMem_Free(s.res);
    PyMem_Free(jobs);
    Py_XDECREF(encoded);
    Py_XDECREF(paths);
    Py_XDECREF(sizes);
    Py_XDECREF(firsts);
    return result;
}

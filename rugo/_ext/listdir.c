/* listdir.c - list_directory: one directory's entries, sorted and stat'ed, without the GIL.
 *
 * The scanner's walk (scanner/sources/local.py) spends its time per file: os.scandir makes
 * a DirEntry, entry.stat() a stat_result, and the loop over them holds the GIL that the
 * coordinator needs too. Here the whole directory is read (readdir), sorted by name and
 * stat'ed (fstatat, links followed) in C with the GIL released; Python gets the names and
 * a few flat lists back and does only what is per directory or cheap per file.
 *
 * Names starting with one of the `skip` characters are not stat'ed, only counted (the
 * walk's hidden names). Names are sorted by their bytes, which is their order as str when
 * they are ASCII; the result says whether they all are, so that the caller re-sorts the
 * rare directory that holds other names (UTF-8 byte order is code point order, but a name
 * that is not UTF-8 decodes to surrogates, which sort differently).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "listdir.h"

typedef struct {
    size_t name;        /* offset of the NUL-terminated name in the arena */
    const char *sort_key;   /* the name, once the arena has stopped moving */
    char kind;          /* 'f' regular file, 'd' directory, 'o' other (FIFO, socket, device), 'e' stat failed */
    int err;            /* errno of a failed stat */
    int64_t size, mtime_ns, ctime_ns;
    uint64_t dev, ino;
} dir_entry;

typedef struct {
    char *arena;        /* names, NUL-terminated, one after the other */
    size_t arena_n, arena_cap;
    dir_entry *entries;
    size_t n, cap;
    size_t hidden;      /* names skipped for their first character */
    int err;            /* errno of opendir / readdir; ENOMEM when memory ran out */
    int ascii;          /* every name is ASCII */
} listing;

/* Room for one more entry and a name of `len` bytes (+ NUL); 0, or -1 when memory ran out. */
static int reserve(listing *l, size_t len)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 256;
        dir_entry *e = realloc(l->entries, cap * sizeof *e);
        if (!e)
            return -1;
        l->entries = e;
        l->cap = cap;
    }
    if (len + 1 > l->arena_cap - l->arena_n) {
        size_t cap = l->arena_cap ? l->arena_cap : 8192;
        while (cap - l->arena_n < len + 1)
            cap *= 2;
        char *a = realloc(l->arena, cap);
        if (!a)
            return -1;
        l->arena = a;
        l->arena_cap = cap;
    }
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const dir_entry *)a)->sort_key, ((const dir_entry *)b)->sort_key);
}

static void stat_entry(int dfd, const char *name, dir_entry *e)
{
    struct stat st;
    if (fstatat(dfd, name, &st, 0) != 0) {   /* follows links: a broken link fails here */
        e->kind = 'e';
        e->err = errno;
        return;
    }
    e->kind = S_ISDIR(st.st_mode) ? 'd' : S_ISREG(st.st_mode) ? 'f' : 'o';
    e->size = (int64_t)st.st_size;
    e->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    e->ctime_ns = (int64_t)st.st_ctim.tv_sec * 1000000000 + st.st_ctim.tv_nsec;
    e->dev = (uint64_t)st.st_dev;
    e->ino = (uint64_t)st.st_ino;
}

/* The whole listing, without the GIL. */
static void list_all(const char *path, const char *skip, listing *l)
{
    int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        l->err = errno;
        return;
    }
    DIR *dir = fdopendir(dfd);
    if (!dir) {
        l->err = errno;
        close(dfd);
        return;
    }
    l->ascii = 1;
    for (;;) {
        errno = 0;
        struct dirent *de = readdir(dir);
        if (!de) {
            l->err = errno;   /* 0 at the end */
            break;
        }
        const char *name = de->d_name;
        if (name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0')))
            continue;
        if (strchr(skip, name[0])) {   /* name[0] is never NUL */
            l->hidden++;
            continue;
        }
        size_t len = strlen(name);
        if (reserve(l, len) < 0) {
            l->err = ENOMEM;
            break;
        }
        for (size_t i = 0; i < len && l->ascii; i++)
            l->ascii = (unsigned char)name[i] < 0x80;
        memcpy(l->arena + l->arena_n, name, len + 1);
        l->entries[l->n++] = (dir_entry){.name = l->arena_n};
        l->arena_n += len + 1;
    }
    if (!l->err) {
        for (size_t i = 0; i < l->n; i++)
            l->entries[i].sort_key = l->arena + l->entries[i].name;
        qsort(l->entries, l->n, sizeof *l->entries, by_name);   /* strcmp: by unsigned bytes */
        for (size_t i = 0; i < l->n; i++)
            stat_entry(dfd, l->arena + l->entries[i].name, &l->entries[i]);
    }
    closedir(dir);   /* closes dfd */
}

/* The Python result of a listing (see list_directory's docstring in module.c). */
static PyObject *to_python(const listing *l)
{
    Py_ssize_t n = (Py_ssize_t)l->n;
    PyObject *names = PyList_New(n), *kinds = PyBytes_FromStringAndSize(NULL, n), *sizes = PyList_New(n),
             *mtimes = PyList_New(n), *ctimes = PyList_New(n), *inodes = PyList_New(n), *ids = PyList_New(n),
             *out = NULL;
    if (!names || !kinds || !sizes || !mtimes || !ctimes || !inodes || !ids)
        goto done;
    char *kind = PyBytes_AS_STRING(kinds);
    for (Py_ssize_t i = 0; i < n; i++) {
        const dir_entry *e = &l->entries[i];
        const char *name = l->arena + e->name;
        PyObject *s = PyUnicode_DecodeFSDefaultAndSize(name, (Py_ssize_t)strlen(name));
        PyObject *size = PyLong_FromLongLong(e->kind == 'e' ? e->err : e->size);
        PyObject *mtime = PyLong_FromLongLong(e->kind == 'e' ? 0 : e->mtime_ns);
        PyObject *ctime = PyLong_FromLongLong(e->kind == 'e' ? 0 : e->ctime_ns);
        /* as int64 (an inode above 2**63 wraps negative): the catalogue's column is int64 */
        PyObject *inode = PyLong_FromLongLong(e->kind == 'e' ? 0 : (long long)e->ino);
        PyObject *id = e->kind == 'd' ? Py_BuildValue("(KK)", (unsigned long long)e->dev,
                                                      (unsigned long long)e->ino)
                                      : Py_NewRef(Py_None);
        PyList_SET_ITEM(names, i, s);
        PyList_SET_ITEM(sizes, i, size);
        PyList_SET_ITEM(mtimes, i, mtime);
        PyList_SET_ITEM(ctimes, i, ctime);
        PyList_SET_ITEM(inodes, i, inode);
        PyList_SET_ITEM(ids, i, id);
        if (!s || !size || !mtime || !ctime || !inode || !id)
            goto done;
        kind[i] = e->kind;
    }
    out = Py_BuildValue("(OOOOOOOnO)", names, kinds, sizes, mtimes, ctimes, inodes, ids, (Py_ssize_t)l->hidden,
                        l->ascii || !n ? Py_True : Py_False);
done:
    Py_XDECREF(names);
    Py_XDECREF(kinds);
    Py_XDECREF(sizes);
    Py_XDECREF(mtimes);
    Py_XDECREF(ctimes);
    Py_XDECREF(inodes);
    Py_XDECREF(ids);
    return out;
}

PyObject *py_list_directory(PyObject *self, PyObject *args)
{
    PyObject *path_obj, *path = NULL, *out = NULL;
    const char *skip;
    if (!PyArg_ParseTuple(args, "Os:list_directory", &path_obj, &skip) || !PyUnicode_FSConverter(path_obj, &path))
        return NULL;
    listing l = {0};
    Py_BEGIN_ALLOW_THREADS
    list_all(PyBytes_AS_STRING(path), skip, &l);
    Py_END_ALLOW_THREADS
    if (l.err == ENOMEM)
        PyErr_NoMemory();
    else if (l.err) {
        errno = l.err;
        PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, path_obj);   /* errno picks the subclass */
    } else
        out = to_python(&l);
    free(l.entries);
    free(l.arena);
    Py_DECREF(path);
    return out;
}

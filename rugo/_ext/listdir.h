/* listdir.h - one directory listed, sorted and stat'ed without the GIL, for the scanner's walk. */
#ifndef RUGO_LISTDIR_H
#define RUGO_LISTDIR_H

#include "rugo.h"

/* _footer.list_directory(path, skip) */
PyObject *py_list_directory(PyObject *self, PyObject *args);

#endif

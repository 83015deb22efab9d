/* Pass 6, `_strip_line_markup`: headings become their own paragraph, list/indent prefixes and rules go (one scan
 * of the line breaks), then magic words, then bold/italic apostrophe runs (doQuotes' rebalancing included).
 * Exact for every input: it never returns None. */
#include <string.h>

#include "wikitext.h"

#define WK_KIND 1
#define WK_CH Py_UCS1
#define WK_FN(name) name##_ucs1
#include "line_markup_impl.h"
#undef WK_KIND
#undef WK_CH
#undef WK_FN

#define WK_KIND 2
#define WK_CH Py_UCS2
#define WK_FN(name) name##_ucs2
#include "line_markup_impl.h"
#undef WK_KIND
#undef WK_CH
#undef WK_FN

#define WK_KIND 4
#define WK_CH Py_UCS4
#define WK_FN(name) name##_ucs4
#include "line_markup_impl.h"
#undef WK_KIND
#undef WK_CH
#undef WK_FN

PyObject *wk_strip_line_markup(PyObject *self, PyObject *text)
{
    (void)self;
    if (!PyUnicode_Check(text)) {
        PyErr_SetString(PyExc_TypeError, "strip_line_markup() expects a str");
        return NULL;
    }
    if (PyUnicode_READY(text) < 0)
        return NULL;
    Py_ssize_t n = PyUnicode_GET_LENGTH(text), length = 0;
    int kind = PyUnicode_KIND(text);
    void *data = PyUnicode_DATA(text), *result;
    char *buffers = PyMem_Malloc(2 * (size_t)(n ? n : 1) * (size_t)kind);
    if (buffers == NULL)
        return PyErr_NoMemory();
    char *b = buffers + (size_t)(n ? n : 1) * (size_t)kind;
    if (kind == PyUnicode_1BYTE_KIND)
        result = strip_line_markup_ucs1(data, n, (Py_UCS1 *)buffers, (Py_UCS1 *)b, &length);
    else if (kind == PyUnicode_2BYTE_KIND)
        result = strip_line_markup_ucs2(data, n, (Py_UCS2 *)buffers, (Py_UCS2 *)b, &length);
    else
        result = strip_line_markup_ucs4(data, n, (Py_UCS4 *)buffers, (Py_UCS4 *)b, &length);
    PyObject *out;
    if (result == NULL) {  /* unchanged */
        Py_INCREF(text);
        out = text;
    }
    else
        out = PyUnicode_FromKindAndData(kind, result, length);  /* narrowed to the widest character it holds */
    PyMem_Free(buffers);
    return out;
}

/* Pass 6, `_strip_line_markup`: headings become their own paragraph, list/indent prefixes and rules go (one scan
 * of the line breaks), then magic words, then bold/italic apostrophe runs (doQuotes' rebalancing included).
 * Exact for every input: it never returns None. */
#include <string.h>

#include "wikitext.h"

#define WK_IMPL "line_markup_impl.h"
#include "kinds.h"
#undef WK_IMPL

PyObject *wk_strip_line_markup(PyObject *self, PyObject *text)
{
    (void)self;
    int kind;
    void *data, *result;
    Py_ssize_t n, length = 0;
    if (wk_str_argument(text, "strip_line_markup", &kind, &data, &n) < 0)
        return NULL;
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
    PyObject *out = wk_str_result(text, kind, result, result == NULL ? -1 : length); /* NULL: unchanged */
    PyMem_Free(buffers);
    return out;
}

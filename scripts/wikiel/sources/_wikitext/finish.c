/* The tail of parse_wikitext_columns in one loop: `_collapse_whitespace` (each run of spaces and line breaks
 * becomes " ", "\n" or "\n\n" by its number of line breaks; the ends are stripped), `_restore` (placeholders back
 * to their characters) and the split on the link marks (their offsets in the text without them). */
#include "wikitext.h"

#define WK_IMPL "finish_impl.h"
#include "kinds.h"
#undef WK_IMPL

PyObject *wk_finish(PyObject *self, PyObject *marked)
{
    (void)self;
    int kind;
    void *data;
    Py_ssize_t n;
    if (wk_str_argument(marked, "finish", &kind, &data, &n) < 0)
        return NULL;
    void *out = PyMem_Malloc((size_t)(n ? n : 1) * (size_t)kind);
    if (out == NULL)
        return PyErr_NoMemory();
    wk_offsets marks = {NULL, 0, 0};
    Py_ssize_t length;
    PyObject *clean = NULL, *starts = NULL, *ends = NULL, *anchors = NULL, *result = NULL;
    if (kind == PyUnicode_1BYTE_KIND)
        length = finish_ucs1(data, n, out, &marks);
    else if (kind == PyUnicode_2BYTE_KIND)
        length = finish_ucs2(data, n, out, &marks);
    else
        length = finish_ucs4(data, n, out, &marks);
    if (length < 0)
        goto done;
    clean = PyUnicode_FromKindAndData(kind, out, length);  /* narrowed to the widest character it holds */
    Py_ssize_t n_links = (marks.len + 1) / 2;
    starts = PyList_New(n_links);
    ends = PyList_New(n_links);
    anchors = PyList_New(n_links);
    if (clean == NULL || starts == NULL || ends == NULL || anchors == NULL)
        goto done;
    for (Py_ssize_t k = 0; k < n_links; k++) {
        /* an odd last mark (never made by the cleaner) ends at the end of the text, as split would have it */
        Py_ssize_t start = marks.items[2 * k], end = 2 * k + 1 < marks.len ? marks.items[2 * k + 1] : length;
        PyObject *s = PyLong_FromSsize_t(start), *e = PyLong_FromSsize_t(end);
        PyObject *anchor = PyUnicode_Substring(clean, start, end);
        if (s == NULL || e == NULL || anchor == NULL) {
            Py_XDECREF(s);
            Py_XDECREF(e);
            Py_XDECREF(anchor);
            goto done;
        }
        PyList_SET_ITEM(starts, k, s);
        PyList_SET_ITEM(ends, k, e);
        PyList_SET_ITEM(anchors, k, anchor);
    }
    result = PyTuple_Pack(4, clean, starts, ends, anchors);
done:
    PyMem_Free(out);
    PyMem_Free(marks.items);
    Py_XDECREF(clean);
    Py_XDECREF(starts);
    Py_XDECREF(ends);
    Py_XDECREF(anchors);
    return result;
}

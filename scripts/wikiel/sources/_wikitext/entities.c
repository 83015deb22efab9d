/* Pass 5, `_unescape_entities`: each `_ENTITY_RE` match (`&#N;` with 1-7 digits, `&#xH;` with 1-6 hex digits,
 * `&name;` with a letter and 1-31 letters or digits, all ASCII) is replaced by what the Python function `_entity`
 * makes of it (html.unescape, then a space or placeholders), called once per distinct entity through a cache dict.
 * Exact for every input: it never returns None. */
#include <string.h>

#include "wikitext.h"

#define WK_ASCII_DIGIT(c) ((c) >= '0' && (c) <= '9')
#define WK_ASCII_LETTER(c) (((c) >= 'a' && (c) <= 'z') || ((c) >= 'A' && (c) <= 'Z'))
#define WK_ASCII_HEX(c) (WK_ASCII_DIGIT(c) || ((c) >= 'a' && (c) <= 'f') || ((c) >= 'A' && (c) <= 'F'))

/* The end of the entity whose text after '&' starts at `i`, or -1 if none starts there (the regex's alternatives
 * have fixed shapes, so no backtracking can change the result: the run of allowed characters must be followed by
 * ';' and have an allowed length). */
#define WK_DEFINE_ENTITY_END(name, type)                                                                    \
    static Py_ssize_t name(const type *in, Py_ssize_t i, Py_ssize_t n)                                    \
    {                                                                                                         \
        Py_ssize_t start, j;                                                                                  \
        if (i < n && in[i] == '#') {                                                                          \
            if (i + 1 < n && (in[i + 1] == 'x' || in[i + 1] == 'X')) {                                        \
                start = j = i + 2;                                                                            \
                while (j < n && j - start < 7 && WK_ASCII_HEX(in[j]))                                         \
                    j++;                                                                                      \
                if (j > start && j - start <= 6 && j < n && in[j] == ';')                                     \
                    return j + 1;                                                                             \
                /* `#x` may still start `#[0-9]...`: no, 'x' is no digit */                                   \
                return -1;                                                                                    \
            }                                                                                                 \
            start = j = i + 1;                                                                                \
            while (j < n && j - start < 8 && WK_ASCII_DIGIT(in[j]))                                           \
                j++;                                                                                          \
            return j > start && j - start <= 7 && j < n && in[j] == ';' ? j + 1 : -1;                        \
        }                                                                                                     \
        if (i >= n || !WK_ASCII_LETTER(in[i]))                                                                \
            return -1;                                                                                        \
        start = j = i + 1;                                                                                    \
        while (j < n && j - start < 32 && (WK_ASCII_LETTER(in[j]) || WK_ASCII_DIGIT(in[j])))                 \
            j++;                                                                                              \
        return j - start >= 1 && j - start <= 31 && j < n && in[j] == ';' ? j + 1 : -1;                      \
    }

WK_DEFINE_ENTITY_END(entity_end_ucs1, Py_UCS1)
WK_DEFINE_ENTITY_END(entity_end_ucs2, Py_UCS2)
WK_DEFINE_ENTITY_END(entity_end_ucs4, Py_UCS4)

#define WK_IMPL "entities_impl.h"
#include "kinds.h"
#undef WK_IMPL

#define WK_ENTITY_CACHE_SIZE 4096 /* distinct entities remembered; numeric references have millions */

PyObject *wk_unescape_entities(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *text, *replace, *cache;
    if (!PyArg_ParseTuple(args, "UOO!:unescape_entities", &text, &replace, &PyDict_Type, &cache))
        return NULL;
    if (PyUnicode_READY(text) < 0)
        return NULL;
    Py_ssize_t n = PyUnicode_GET_LENGTH(text), count;
    wk_offsets spans = {NULL, 0, 0};
    int kind = PyUnicode_KIND(text);
    void *data = PyUnicode_DATA(text);
    if (kind == PyUnicode_1BYTE_KIND)
        count = entity_spans_ucs1(data, n, &spans);
    else if (kind == PyUnicode_2BYTE_KIND)
        count = entity_spans_ucs2(data, n, &spans);
    else
        count = entity_spans_ucs4(data, n, &spans);
    if (count <= 0) {
        PyMem_Free(spans.items);
        if (count < 0)
            return NULL;
        Py_INCREF(text);
        return text;
    }
    PyObject *pieces = PyList_New(0), *result = NULL;
    if (pieces == NULL)
        goto done;
    Py_ssize_t pos = 0;
    for (Py_ssize_t k = 0; k < count; k++) {
        Py_ssize_t start = spans.items[2 * k], end = spans.items[2 * k + 1];
        PyObject *before = PyUnicode_Substring(text, pos, start);
        if (before == NULL || PyList_Append(pieces, before) < 0) {
            Py_XDECREF(before);
            goto done;
        }
        Py_DECREF(before);
        PyObject *entity = PyUnicode_Substring(text, start, end);
        if (entity == NULL)
            goto done;
        PyObject *replacement = PyDict_GetItemWithError(cache, entity);  /* borrowed */
        if (replacement != NULL)
            Py_INCREF(replacement);
        else if (!PyErr_Occurred()) {
            replacement = PyObject_CallOneArg(replace, entity);
            if (replacement != NULL && !PyUnicode_Check(replacement)) {
                PyErr_SetString(PyExc_TypeError, "unescape_entities(): the replacement must be a str");
                Py_CLEAR(replacement);
            }
            if (replacement != NULL) {
                if (PyDict_Size(cache) >= WK_ENTITY_CACHE_SIZE)
                    PyDict_Clear(cache);
                if (PyDict_SetItem(cache, entity, replacement) < 0)
                    Py_CLEAR(replacement);
            }
        }
        Py_DECREF(entity);
        if (replacement == NULL)
            goto done;
        int failed = PyList_Append(pieces, replacement);
        Py_DECREF(replacement);
        if (failed < 0)
            goto done;
        pos = end;
    }
    PyObject *after = PyUnicode_Substring(text, pos, n);
    if (after == NULL || PyList_Append(pieces, after) < 0) {
        Py_XDECREF(after);
        goto done;
    }
    Py_DECREF(after);
    PyObject *empty = PyUnicode_FromStringAndSize("", 0);
    if (empty != NULL) {
        result = PyUnicode_Join(empty, pieces);
        Py_DECREF(empty);
    }
done:
    PyMem_Free(spans.items);
    Py_XDECREF(pieces);
    return result;
}

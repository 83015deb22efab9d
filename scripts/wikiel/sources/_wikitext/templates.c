/* Passes 2 and 3, `_remove_templates` and `_remove_tables`: balanced open/close tokens are removed with
 * everything between them (the outermost pairs), and stray closers too (`_outermost_spans`, `_cut`). Every
 * input is handled (never None).
 *
 * Templates: the tokens `{{` and `}}` are found as the Python pass finds them, each run of one brace giving
 * pairs from its start (`{{{` holds one token, at its start; `{{{{` two); the Python pass merges the tokens of
 * both braces by sorting, which is their order in the text, so one scan in order finds them. An unclosed `{{`
 * is dropped alone.
 *
 * Tables: a token is `{|` after only spaces, tabs and colons on its line, or `|}` after only spaces and tabs;
 * its span starts at the line start; each line holds at most one token, so the tokens in the order of their
 * braces are in order. An unclosed table runs to the end of the text. */
#include "wikitext.h"

#include <string.h>

/* A closer token [start, end): the span of its pair (from the opener on top of `stack`), or its own span if
 * none is open; spans nested in the new one go (`_outermost_spans`). `spans` holds start, end pairs. */
static int wk_close(wk_offsets *stack, wk_offsets *spans, Py_ssize_t start, Py_ssize_t end)
{
    if (stack->len)
        start = stack->items[--stack->len];
    while (spans->len && spans->items[spans->len - 2] >= start)
        spans->len -= 2;
    if (wk_push(spans, start) < 0 || wk_push(spans, end) < 0)
        return -1;
    return 0;
}

#define WK_IMPL "templates_impl.h"
#include "kinds.h"
#undef WK_IMPL

typedef int (*wk_tokens_fn)(const void *s, Py_ssize_t n, wk_offsets *stack, wk_offsets *spans);
typedef Py_ssize_t (*wk_cut_fn)(const void *s, Py_ssize_t n, const wk_offsets *spans, const wk_offsets *unclosed,
                                int unclosed_to_end, void *out, Py_UCS4 limit, int *wide);

/* Finds the tokens, then cuts the spans (and the unclosed openers: each alone, or from the first to the end)
 * out of the text. */
static PyObject *wk_remove_pairs(PyObject *text, const char *what, wk_tokens_fn tokens[3], wk_cut_fn cut[3],
                                 int unclosed_to_end)
{
    int kind;
    void *data;
    Py_ssize_t n;
    if (wk_str_argument(text, what, &kind, &data, &n) < 0)
        return NULL;
    int k = kind == PyUnicode_1BYTE_KIND ? 0 : kind == PyUnicode_2BYTE_KIND ? 1 : 2;
    wk_offsets stack = {NULL, 0, 0}, spans = {NULL, 0, 0};
    PyObject *result = NULL;
    int found = tokens[k](data, n, &stack, &spans);
    if (found < 0)
        goto done;
    if (found == 0) { /* no token: the text itself */
        Py_INCREF(text);
        result = text;
        goto done;
    }
    /* the output's length and whether it needs the text's kind: then it is written in place, else (some wide
     * characters went, rare) through a buffer narrowed by PyUnicode_FromKindAndData */
    int wide = 0;
    Py_ssize_t length = cut[k](data, n, &spans, &stack, unclosed_to_end, NULL, WK_KIND_LIMIT(kind), &wide);
    if (wide || kind == PyUnicode_1BYTE_KIND) {
        result = PyUnicode_New(length, wide ? WK_KIND_MAX(kind) : 0x7F);
        if (result != NULL)
            cut[k](data, n, &spans, &stack, unclosed_to_end, PyUnicode_DATA(result), 0, NULL);
        goto done;
    }
    void *out = PyMem_Malloc((size_t)(length ? length : 1) * (size_t)kind);
    if (out == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    cut[k](data, n, &spans, &stack, unclosed_to_end, out, 0, NULL);
    result = PyUnicode_FromKindAndData(kind, out, length);
    PyMem_Free(out);
done:
    PyMem_Free(stack.items);
    PyMem_Free(spans.items);
    return result;
}

PyObject *wk_remove_templates(PyObject *self, PyObject *text)
{
    (void)self;
    wk_tokens_fn tokens[3] = {template_tokens_ucs1, template_tokens_ucs2,
                              template_tokens_ucs4};
    wk_cut_fn cut[3] = {wk_cut_ucs1, wk_cut_ucs2, wk_cut_ucs4};
    return wk_remove_pairs(text, "remove_templates", tokens, cut, 0);
}

PyObject *wk_remove_tables(PyObject *self, PyObject *text)
{
    (void)self;
    wk_tokens_fn tokens[3] = {table_tokens_ucs1, table_tokens_ucs2,
                              table_tokens_ucs4};
    wk_cut_fn cut[3] = {wk_cut_ucs1, wk_cut_ucs2, wk_cut_ucs4};
    return wk_remove_pairs(text, "remove_tables", tokens, cut, 1);
}

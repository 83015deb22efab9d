/* Pass 8, `_mark_links` (wikitext.py): internal links replaced by their display text, each article link's anchor
 * bracketed by the mark U+0001, with the titles of the marked links.
 *
 * The matches are those of `scanner.split` with `_link_scanner(trail)`: at the last `[[` of each bracket run,
 * a link `[[target]]` or `[[target|label]]` (target: no `[]{}|` or line break; label: no `[[` or `]]`) followed
 * by the link trail, else a stray `[[` (two characters); matches never overlap and the search goes on after each.
 * What needs Python stays in Python, called from here: `ns.classify` (for targets with a colon), `_link_title`
 * (on a title cache miss) and `_pipe_trick` (`[[target|]]`). The link trail comes as a membership table of the
 * BMP (a run of its characters, or for Catalan also an apostrophe not followed by another), the compiled trail
 * pattern matching wherever an astral character is reached. */
#include "wikitext.h"

#include <stdint.h>
#include <string.h>
#if defined(__SSE2__) || defined(_M_X64)
#include <emmintrin.h>
#define WK_SSE2
#endif

typedef struct {
    PyObject *text;
    PyObject *classify;    /* ns.classify */
    PyObject *title_cache; /* _TITLE_CACHES[bool(first_letter_case)]: target as written -> title */
    PyObject *first_letter_case;
    PyObject *link_title; /* _link_title(target, first_letter_case) */
    PyObject *pipe_trick; /* _pipe_trick(target) */
    PyObject *trail_re;   /* the compiled link trail (for astral characters) */
    const unsigned char *trail_table; /* 65,536 entries: 1 for a BMP character of the trail class */
    int trail_kind;                   /* WK_TRAIL_* */
    int has_break;                    /* the text holds _BREAK */
    int kind;                         /* of the text and of the output */
    PyObject *titles;                 /* list */
    char *out;                        /* the output, `cap` characters of `kind` bytes */
    Py_ssize_t o, cap;
    /* `_matching_close`, once needed: the `[[` tokens in order, and the end of each one's matching `]]` or -1 */
    int pairs_ready;
    Py_ssize_t *opens, *closes, n_opens;
} wk_links;

#define WK_TRAIL_NONE 0
#define WK_TRAIL_CLASS 1      /* `[...]+` */
#define WK_TRAIL_APOSTROPHE 2 /* `(?:[...]|'(?!'))+` (Catalan) */

/* What mark_links_<kind> returns besides 0 (done): an exception, or an input left to the Python pass. */
#define WK_ERROR (-1)
#define WK_FALLBACK 1

/* A scanner match at `start`: a link (close >= 0: the offset of its `]]`; label >= 0: of its label, after `|`)
 * or a stray `[[` (close < 0); the target runs from start + 2 to target_end; end: after the trail. */
typedef struct {
    Py_ssize_t start, target_end, label, close, end;
    int colon; /* the target holds `:` */
} wk_match;

#define WK_ARTICLE 0
#define WK_TEXT 1
#define WK_HIDDEN 2

static int wk_reserve(wk_links *ctx, Py_ssize_t more)
{
    if (ctx->o + more <= ctx->cap)
        return 0;
    char *grown = wk_grow(ctx->out, &ctx->cap, ctx->o + more, (size_t)ctx->kind, 64);
    if (grown == NULL)
        return WK_ERROR;
    ctx->out = grown;
    return 0;
}

/* `ns.classify(text[start:end])` as WK_ARTICLE, WK_TEXT or WK_HIDDEN (anything but "article" and "hidden" compares
 * like TEXT in `_mark_links`), or WK_ERROR. */
static int wk_classify(wk_links *ctx, PyObject *target)
{
    PyObject *kind = PyObject_CallOneArg(ctx->classify, target);
    if (kind == NULL)
        return WK_ERROR;
    int result = WK_TEXT;
    if (PyUnicode_Check(kind)) {
        if (PyUnicode_CompareWithASCIIString(kind, "hidden") == 0)
            result = WK_HIDDEN;
        else if (PyUnicode_CompareWithASCIIString(kind, "article") == 0)
            result = WK_ARTICLE;
    }
    Py_DECREF(kind);
    return result;
}

/* The title of `target` (a new reference): the cache's, else `_link_title`'s; NULL with an exception. */
static PyObject *wk_title(wk_links *ctx, PyObject *target)
{
    PyObject *title = PyDict_GetItemWithError(ctx->title_cache, target);
    if (title != NULL) {
        Py_INCREF(title);
        return title;
    }
    if (PyErr_Occurred())
        return NULL;
    return PyObject_CallFunctionObjArgs(ctx->link_title, target, ctx->first_letter_case, NULL);
}

/* The end of the link trail matched at `start` by the compiled trail pattern (for astral characters). */
static Py_ssize_t wk_trail_by_regex(wk_links *ctx, Py_ssize_t start)
{
    PyObject *match = PyObject_CallMethod(ctx->trail_re, "match", "On", ctx->text, start);
    if (match == NULL)
        return WK_ERROR;
    if (match == Py_None) {
        Py_DECREF(match);
        return start;
    }
    PyObject *end = PyObject_CallMethod(match, "end", NULL);
    Py_DECREF(match);
    if (end == NULL)
        return WK_ERROR;
    Py_ssize_t result = PyLong_AsSsize_t(end);
    Py_DECREF(end);
    return result < 0 && PyErr_Occurred() ? WK_ERROR : result;
}

/* Appends the str `piece` (from `_pipe_trick`: a part of the target, so no wider than the text) to the output.
 * WK_FALLBACK if it is not a str that fits the output's kind. */
static int wk_append_str(wk_links *ctx, PyObject *piece)
{
    if (!PyUnicode_Check(piece) || PyUnicode_READY(piece) < 0 || PyUnicode_KIND(piece) > ctx->kind) {
        if (PyErr_Occurred())
            return WK_ERROR;
        return WK_FALLBACK;
    }
    Py_ssize_t length = PyUnicode_GET_LENGTH(piece);
    if (wk_reserve(ctx, length) < 0)
        return WK_ERROR;
    int kind = PyUnicode_KIND(piece);
    const void *data = PyUnicode_DATA(piece);
    char *out = ctx->out + ctx->o * ctx->kind;
    if (kind == ctx->kind)
        memcpy(out, data, (size_t)length * (size_t)kind);
    else if (kind == PyUnicode_1BYTE_KIND && ctx->kind == PyUnicode_2BYTE_KIND)
        for (Py_ssize_t i = 0; i < length; i++)
            ((Py_UCS2 *)out)[i] = ((const Py_UCS1 *)data)[i];
    else if (kind == PyUnicode_1BYTE_KIND)
        for (Py_ssize_t i = 0; i < length; i++)
            ((Py_UCS4 *)out)[i] = ((const Py_UCS1 *)data)[i];
    else
        for (Py_ssize_t i = 0; i < length; i++)
            ((Py_UCS4 *)out)[i] = ((const Py_UCS2 *)data)[i];
    ctx->o += length;
    return 0;
}

/* `pairs.get(i, i + 2)` for `pairs = _matching_close(text)`. */
static Py_ssize_t wk_matching_close_of(wk_links *ctx, Py_ssize_t i)
{
    Py_ssize_t lo = 0, hi = ctx->n_opens;
    while (lo < hi) {
        Py_ssize_t mid = lo + (hi - lo) / 2;
        if (ctx->opens[mid] < i)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < ctx->n_opens && ctx->opens[lo] == i && ctx->closes[lo] >= 0)
        return ctx->closes[lo];
    return i + 2;
}

/* Characters that end a link target: `[]{}|` and the line break (and, for the stray check, `:` is noted). */
static unsigned char wk_target_stop[128];

static void wk_init_tables(void)
{
    static int done = 0;
    if (done)
        return;
    const char *stops = "[]{}|\n";
    for (const char *c = stops; *c; c++)
        wk_target_stop[(unsigned char)*c] = 1;
    done = 1;
}

#define WK_IMPL "links_impl.h"
#include "kinds.h"
#undef WK_IMPL

PyObject *wk_mark_links(PyObject *self, PyObject *args)
{
    (void)self;
    wk_links ctx;
    memset(&ctx, 0, sizeof(ctx));
    PyObject *table;
    if (!PyArg_ParseTuple(args, "UOO!OOOiOO:mark_links", &ctx.text, &ctx.classify, &PyDict_Type, &ctx.title_cache,
                          &ctx.first_letter_case, &ctx.link_title, &ctx.pipe_trick, &ctx.trail_kind, &table,
                          &ctx.trail_re))
        return NULL;
    if (ctx.trail_kind != WK_TRAIL_NONE) {
        if (ctx.trail_kind != WK_TRAIL_CLASS && ctx.trail_kind != WK_TRAIL_APOSTROPHE) {
            PyErr_SetString(PyExc_ValueError, "mark_links: unknown trail kind");
            return NULL;
        }
        if (!PyBytes_Check(table) || PyBytes_GET_SIZE(table) != 0x10000) {
            PyErr_SetString(PyExc_ValueError, "mark_links: the trail table must be 65,536 bytes");
            return NULL;
        }
        ctx.trail_table = (const unsigned char *)PyBytes_AS_STRING(table);
    }
    if (PyUnicode_READY(ctx.text) < 0)
        return NULL;
    wk_init_tables();
    Py_ssize_t n = PyUnicode_GET_LENGTH(ctx.text);
    ctx.kind = PyUnicode_KIND(ctx.text);
    const void *data = PyUnicode_DATA(ctx.text);
    ctx.cap = n + 16;
    ctx.out = PyMem_Malloc((size_t)ctx.cap * (size_t)ctx.kind);
    ctx.titles = PyList_New(0);
    PyObject *result = NULL;
    if (ctx.out == NULL || ctx.titles == NULL) {
        if (ctx.out == NULL)
            PyErr_NoMemory();
        goto done;
    }
    int status;
    if (ctx.kind == PyUnicode_1BYTE_KIND) {
        ctx.has_break = 0;
        status = mark_links_ucs1(&ctx, data, n);
    }
    else if (ctx.kind == PyUnicode_2BYTE_KIND) {
        ctx.has_break = PyUnicode_FindChar(ctx.text, WK_BREAK, 0, n, 1) >= 0;
        status = mark_links_ucs2(&ctx, data, n);
    }
    else {
        ctx.has_break = PyUnicode_FindChar(ctx.text, WK_BREAK, 0, n, 1) >= 0;
        status = mark_links_ucs4(&ctx, data, n);
    }
    if (status == WK_FALLBACK) {
        result = Py_None;
        Py_INCREF(result);
    }
    else if (status == 0) {
        PyObject *marked = PyUnicode_FromKindAndData(ctx.kind, ctx.out, ctx.o);
        if (marked != NULL) {
            result = PyTuple_Pack(2, marked, ctx.titles);
            Py_DECREF(marked);
        }
    }
done:
    PyMem_Free(ctx.out);
    PyMem_Free(ctx.opens);
    PyMem_Free(ctx.closes);
    Py_XDECREF(ctx.titles);
    return result;
}

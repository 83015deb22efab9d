/* The compiled wikitext passes: one C function per pass of wikiel/sources/wikitext.py, with the same outputs.
 *
 * Conventions, for every pass:
 * - the argument and result are str; the code is written once per string kind (UCS1, UCS2, UCS4) through a
 *   template header instantiated for each kind by kinds.h (see finish.c / finish_impl.h), never reading characters through
 *   PyUnicode_READ in a loop, never copying the text to UCS4;
 * - a pass returns None for an input it does not handle exactly like its Python version (rare constructs):
 *   the caller then runs the Python pass, which stays the reference;
 * - only the public C API of CPython 3.9+ (no private _Py functions).
 */
#ifndef WIKIEL_WIKITEXT_H
#define WIKIEL_WIKITEXT_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

/* Placeholders for literal text (wikitext.py: _PLACEHOLDER_BASE, _PROTECTED, _BREAK) and the link mark. */
#define WK_PLACEHOLDER_BASE 0xFDD0
#define WK_PROTECTED "[]{}|<>'=*#:;!&-_~"
#define WK_N_PROTECTED 18
#define WK_BREAK (WK_PLACEHOLDER_BASE + WK_N_PROTECTED)
#define WK_MARK 0x01

/* The first offset of the ASCII character `c` in s[from:n] (a string of `kind` bytes per character), or -1:
 * memchr for its byte, each hit checked as a whole character (fast where the byte is rare, as markup characters
 * are; faster on real pages than comparing blocks of characters). The passes' one character search. */
static inline Py_ssize_t wk_find(const void *s, int kind, Py_ssize_t from, Py_ssize_t n, unsigned char c)
{
    if (from >= n)
        return -1;
    const char *bytes = s, *p = bytes + from * kind, *end = bytes + n * kind;
    while (p < end) {
        const char *hit = memchr(p, c, (size_t)(end - p));
        if (hit == NULL)
            return -1;
        Py_ssize_t i = (hit - bytes) / kind;
        if (kind == 1 || (kind == 2 ? ((const Py_UCS2 *)s)[i] == c : ((const Py_UCS4 *)s)[i] == c))
            return i;
        p = hit + 1;
    }
    return -1;
}

/* `wk_find`, but n where `c` is absent. */
static inline Py_ssize_t wk_find_end(const void *s, int kind, Py_ssize_t from, Py_ssize_t n, unsigned char c)
{
    Py_ssize_t i = wk_find(s, kind, from, n, c);
    return i < 0 ? n : i;
}

/* module.c: the argument of a pass (a str: its kind, data and length; -1 with a TypeError naming `function`
 * otherwise), and its result from `length` characters of `kind` at `out` (narrowed to the widest character they
 * hold), or `text` itself when `length` < 0 (unchanged). */
int wk_str_argument(PyObject *text, const char *function, int *kind, void **data, Py_ssize_t *n);
PyObject *wk_str_result(PyObject *text, int kind, const void *out, Py_ssize_t length);

/* finish.c: whitespace collapse + placeholder restore + split on the marks (parse_wikitext_columns' tail). */
PyObject *wk_finish(PyObject *self, PyObject *marked);

/* html_tags.c: pass 4, `_strip_html_tags` (exact for every input). */
PyObject *wk_strip_html_tags(PyObject *self, PyObject *text);

/* entities.c: pass 5, `_unescape_entities` with the Python `_entity` and a cache dict (exact for every input). */
PyObject *wk_unescape_entities(PyObject *self, PyObject *args);

/* line_markup.c: pass 6, `_strip_line_markup` (exact for every input). */
PyObject *wk_strip_line_markup(PyObject *self, PyObject *text);

/* ext_links.c: pass 7, `_replace_external_links` (exact for every input). */
PyObject *wk_replace_external_links(PyObject *self, PyObject *text);

/* links.c: pass 8, `_mark_links` (internal links to their display text, article anchors between marks). */
PyObject *wk_mark_links(PyObject *self, PyObject *args);

/* ext_tags.c: pass 1, `_strip_comments_and_extension_tags`. */
PyObject *wk_strip_comments_and_extension_tags(PyObject *self, PyObject *text);

/* templates.c: passes 2 and 3, `_remove_templates` and `_remove_tables`. */
PyObject *wk_remove_templates(PyObject *self, PyObject *text);
PyObject *wk_remove_tables(PyObject *self, PyObject *text);


/* Whether s[start:end] (a string of `kind` bytes per character) holds a character >= `limit`. */
static inline int wk_has_wide(const void *s, int kind, Py_ssize_t start, Py_ssize_t end, Py_UCS4 limit)
{
    if (kind == PyUnicode_1BYTE_KIND) {
        for (const Py_UCS1 *p = (const Py_UCS1 *)s + start, *e = (const Py_UCS1 *)s + end; p < e; p++)
            if (*p >= limit)
                return 1;
    }
    else if (kind == PyUnicode_2BYTE_KIND) {
        for (const Py_UCS2 *p = (const Py_UCS2 *)s + start, *e = (const Py_UCS2 *)s + end; p < e; p++)
            if (*p >= limit)
                return 1;
    }
    else {
        for (const Py_UCS4 *p = (const Py_UCS4 *)s + start, *e = (const Py_UCS4 *)s + end; p < e; p++)
            if (*p >= limit)
                return 1;
    }
    return 0;
}

/* The smallest character that needs a string of `kind` (0x80 for UCS1: below it, ASCII). */
#define WK_KIND_LIMIT(kind) ((kind) == 1 ? 0x80 : (kind) == 2 ? 0x100 : 0x10000)
/* The largest character of a string of `kind`. */
#define WK_KIND_MAX(kind) ((kind) == 1 ? 0xFF : (kind) == 2 ? 0xFFFF : 0x10FFFF)

/* The passes' one way to grow an array: `items` (room for *cap items of `size` bytes) reallocated with room for at
 * least `need` (> *cap) items, doubling from `initial`; the new array, or NULL with MemoryError (`items` is then
 * still valid and still the caller's to free). */
static inline void *wk_grow(void *items, Py_ssize_t *cap, Py_ssize_t need, size_t size, Py_ssize_t initial)
{
    Py_ssize_t grown = *cap ? 2 * *cap : initial;
    while (grown < need)
        grown *= 2;
    void *reallocated = PyMem_Realloc(items, (size_t)grown * size);
    if (reallocated == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    *cap = grown;
    return reallocated;
}

/* A growable array of offsets (freed with PyMem_Free(items)). */
typedef struct {
    Py_ssize_t *items;
    Py_ssize_t len, cap;
} wk_offsets;

/* Appends `value`: 0, or -1 with MemoryError. */
static inline int wk_push(wk_offsets *a, Py_ssize_t value)
{
    if (a->len == a->cap) {
        Py_ssize_t *grown = wk_grow(a->items, &a->cap, a->len + 1, sizeof(Py_ssize_t), 64);
        if (grown == NULL)
            return -1;
        a->items = grown;
    }
    a->items[a->len++] = value;
    return 0;
}

/* pages.c: the pages of a range of a MediaWiki export, as wikipedia.expat_pages reads them (None: read them so). */
PyObject *wk_scan_pages(PyObject *self, PyObject *args);

#endif

/* The compiled wikitext passes: one C function per pass of wikiel/sources/wikitext.py, with the same outputs.
 *
 * Conventions, for every pass:
 * - the argument and result are str; the code is written once per string kind (UCS1, UCS2, UCS4) through a
 *   template header included three times (see finish.c / finish_impl.h), never reading characters through
 *   PyUnicode_READ in a loop, never copying the text to UCS4;
 * - a pass returns None for an input it does not handle exactly like its Python version (rare constructs):
 *   the caller then runs the Python pass, which stays the reference;
 * - only the public C API of CPython 3.9+ (no private _Py functions).
 */
#ifndef WIKIEL_WIKITEXT_H
#define WIKIEL_WIKITEXT_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* Placeholders for literal text (wikitext.py: _PLACEHOLDER_BASE, _PROTECTED, _BREAK) and the link mark. */
#define WK_PLACEHOLDER_BASE 0xFDD0
#define WK_PROTECTED "[]{}|<>'=*#:;!&-_~"
#define WK_N_PROTECTED 18
#define WK_BREAK (WK_PLACEHOLDER_BASE + WK_N_PROTECTED)
#define WK_MARK 0x01

/* The first offset of `c` in in[from:n], or n, for 2- and 4-byte strings: blocks of 16 characters are tested
 * without branching (the compiler vectorises it), memchr's job for 1-byte strings. */
#define WK_DEFINE_FIND(name, type)                                                                          \
    static inline Py_ssize_t name(const type *in, Py_ssize_t from, Py_ssize_t n, type c)                   \
    {                                                                                                       \
        while (from + 16 <= n) {                                                                            \
            int any = 0;                                                                                    \
            for (int k = 0; k < 16; k++)                                                                    \
                any |= in[from + k] == c;                                                                   \
            if (any)                                                                                        \
                break;                                                                                      \
            from += 16;                                                                                     \
        }                                                                                                   \
        while (from < n && in[from] != c)                                                                   \
            from++;                                                                                         \
        return from;                                                                                        \
    }
WK_DEFINE_FIND(wk_find_ucs2, Py_UCS2)
WK_DEFINE_FIND(wk_find_ucs4, Py_UCS4)

/* finish.c: whitespace collapse + placeholder restore + split on the marks (parse_wikitext_columns' tail). */
PyObject *wk_finish(PyObject *self, PyObject *marked);

/* html_tags.c: pass 4, `_strip_html_tags` (exact for every input). */
PyObject *wk_strip_html_tags(PyObject *self, PyObject *text);

/* line_markup.c: pass 6, `_strip_line_markup` (exact for every input). */
PyObject *wk_strip_line_markup(PyObject *self, PyObject *text);

/* ext_links.c: pass 7, `_replace_external_links` (exact for every input). */
PyObject *wk_replace_external_links(PyObject *self, PyObject *text);

/* pages.c: the pages of a range of a MediaWiki export, as wikipedia.expat_pages reads them (None: read them so). */
PyObject *wk_scan_pages(PyObject *self, PyObject *args);

#endif

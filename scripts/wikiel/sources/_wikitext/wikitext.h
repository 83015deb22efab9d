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

/* finish.c: whitespace collapse + placeholder restore + split on the marks (parse_wikitext_columns' tail). */
PyObject *wk_finish(PyObject *self, PyObject *marked);

/* links.c: pass 8, `_mark_links` (internal links to their display text, article anchors between marks). */
PyObject *wk_mark_links(PyObject *self, PyObject *args);

#endif

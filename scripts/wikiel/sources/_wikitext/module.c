/* The module wikiel.sources._wikitext: the compiled wikitext passes (see wikitext.h). */
#include "wikitext.h"

int wk_str_argument(PyObject *text, const char *function, int *kind, void **data, Py_ssize_t *n)
{
    if (!PyUnicode_Check(text)) {
        PyErr_Format(PyExc_TypeError, "%s() expects a str", function);
        return -1;
    }
    if (PyUnicode_READY(text) < 0)
        return -1;
    *kind = PyUnicode_KIND(text);
    *data = PyUnicode_DATA(text);
    *n = PyUnicode_GET_LENGTH(text);
    return 0;
}

PyObject *wk_str_result(PyObject *text, int kind, const void *out, Py_ssize_t length)
{
    if (length < 0) {
        Py_INCREF(text);
        return text;
    }
    return PyUnicode_FromKindAndData(kind, out, length);
}

static PyMethodDef wk_methods[] = {
    {"finish", (PyCFunction)wk_finish, METH_O,
     "finish(marked) -> (clean, starts, ends, anchors): `_restore(_collapse_whitespace(marked))` split on the "
     "link marks (U+0001): the text without them, and the offsets and text of each marked anchor."},
    {"strip_html_tags", (PyCFunction)wk_strip_html_tags, METH_O,
     "strip_html_tags(text) -> str: `_strip_html_tags(text)` (known tags go, block tags become line breaks)."},
    {"unescape_entities", (PyCFunction)wk_unescape_entities, METH_VARARGS,
     "unescape_entities(text, replace, cache) -> str: `_unescape_entities(text)`, each entity replaced by "
     "`replace(entity)`, remembered in the dict `cache` (cleared at 4,096 entries)."},
    {"strip_line_markup", (PyCFunction)wk_strip_line_markup, METH_O,
     "strip_line_markup(text) -> str: `_strip_line_markup(text)` (headings, list prefixes, rules, magic words, "
     "bold/italic)."},
    {"replace_external_links", (PyCFunction)wk_replace_external_links, METH_O,
     "replace_external_links(text) -> str: `_replace_external_links(text)` (`[http://x label]` -> `label`)."},
    {"mark_links", (PyCFunction)wk_mark_links, METH_VARARGS,
     "mark_links(text, classify, title_cache, first_letter_case, link_title, pipe_trick, trail_kind, trail_table, "
     "trail_re) -> (marked, titles) or None: `_mark_links` (see wikitext.py's `_mark_links_compiled`); None for "
     "a text left to the Python pass."},
    {"strip_comments_and_extension_tags", (PyCFunction)wk_strip_comments_and_extension_tags, METH_O,
     "strip_comments_and_extension_tags(text) -> str: `_strip_comments_and_extension_tags(text)`."},
    {"remove_templates", (PyCFunction)wk_remove_templates, METH_O,
     "remove_templates(text) -> str: `_remove_templates(text)`."},
    {"remove_tables", (PyCFunction)wk_remove_tables, METH_O,
     "remove_tables(text) -> str: `_remove_tables(text)`."},
    {"scan_pages", (PyCFunction)wk_scan_pages, METH_VARARGS,
     "scan_pages(data, last) -> [(id, title, ns, text, redirect)] or None: the pages of `data` (whole <page> "
     "elements inside the root, closing it if `last`) as wikipedia.expat_pages reads them, `redirect` the raw "
     "title attribute (None without a <redirect>); None where the XML is not of the plain shape read here."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef wk_module = {
    PyModuleDef_HEAD_INIT, "_wikitext", "Compiled passes of wikiel.sources.wikitext (same outputs).", -1, wk_methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__wikitext(void) { return PyModule_Create(&wk_module); }

/* The module wikiel.sources._wikitext: the compiled wikitext passes (see wikitext.h). */
#include "wikitext.h"

static PyMethodDef wk_methods[] = {
    {"finish", (PyCFunction)wk_finish, METH_O,
     "finish(marked) -> (clean, starts, ends, anchors): `_restore(_collapse_whitespace(marked))` split on the "
     "link marks (U+0001): the text without them, and the offsets and text of each marked anchor."},
    {"strip_comments_and_extension_tags", (PyCFunction)wk_strip_comments_and_extension_tags, METH_O,
     "strip_comments_and_extension_tags(text) -> str or None: `_strip_comments_and_extension_tags(text)`, or None "
     "where that raises (an opening tag whose name holds U+0130, U+0131 or U+017F)."},
    {"remove_templates", (PyCFunction)wk_remove_templates, METH_O,
     "remove_templates(text) -> str: `_remove_templates(text)`."},
    {"remove_tables", (PyCFunction)wk_remove_tables, METH_O,
     "remove_tables(text) -> str: `_remove_tables(text)`."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef wk_module = {
    PyModuleDef_HEAD_INIT, "_wikitext", "Compiled passes of wikiel.sources.wikitext (same outputs).", -1, wk_methods,
};

PyMODINIT_FUNC PyInit__wikitext(void) { return PyModule_Create(&wk_module); }

/* Pass 4, `_strip_html_tags`: known HTML tags go, block-level ones leaving a line break. The names match
 * case-insensitively as re.I has them (ASCII case, U+0130/U+0131 for i, U+017F for s, U+212A for k). Exact for
 * every input: it never returns None. */
#include <string.h>

#include "wikitext.h"

#define WK_MAX_TAG_NAME 11

/* wikitext.py's `_BLOCK_TAGS` then `_INLINE_TAGS` (tests check every one). */
static const char *const wk_block_tags[] = {
    "br", "p", "div", "li", "ul", "ol", "dl", "dt", "dd", "tr", "table", "hr", "blockquote", "center", "h1", "h2",
    "h3", "h4", "h5", "h6", "caption", "poem",
};
static const char *const wk_inline_tags[] = {
    "b", "i", "u", "s", "em", "strong", "big", "small", "sub", "sup", "span", "font", "cite", "code",
    "tt", "var", "kbd", "samp", "abbr", "dfn", "del", "ins", "strike", "q", "mark", "bdi", "bdo", "ruby",
    "rb", "rp", "rt", "rtc", "time", "data", "wbr", "td", "th", "noinclude", "onlyinclude", "meta", "link",
};

/* 1 for a block tag's (lowercase) name, 0 for an inline tag's, -1 for another name. */
static int wk_tag_kind(const char *name)
{
    for (size_t k = 0; k < sizeof(wk_block_tags) / sizeof(wk_block_tags[0]); k++)
        if (strcmp(name, wk_block_tags[k]) == 0)
            return 1;
    for (size_t k = 0; k < sizeof(wk_inline_tags) / sizeof(wk_inline_tags[0]); k++)
        if (strcmp(name, wk_inline_tags[k]) == 0)
            return 0;
    return -1;
}

#define WK_IMPL "html_tags_impl.h"
#include "kinds.h"
#undef WK_IMPL

PyObject *wk_strip_html_tags(PyObject *self, PyObject *text)
{
    (void)self;
    int kind;
    void *data;
    Py_ssize_t n, length;
    if (wk_str_argument(text, "strip_html_tags", &kind, &data, &n) < 0)
        return NULL;
    void *out = PyMem_Malloc((size_t)(n ? n : 1) * (size_t)kind);
    if (out == NULL)
        return PyErr_NoMemory();
    if (kind == PyUnicode_1BYTE_KIND)
        length = strip_html_tags_ucs1(data, n, out);
    else if (kind == PyUnicode_2BYTE_KIND)
        length = strip_html_tags_ucs2(data, n, out);
    else
        length = strip_html_tags_ucs4(data, n, out);
    PyObject *result = wk_str_result(text, kind, out, length); /* length < 0: unchanged */
    PyMem_Free(out);
    return result;
}

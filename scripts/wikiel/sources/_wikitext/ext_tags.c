/* Pass 1, `_strip_comments_and_extension_tags`: comments and the opaque extension tags go with their content,
 * nowiki/pre keep theirs (protected: the characters of WK_PROTECTED become placeholders), `<nowiki/>` becomes
 * WK_BREAK, stray closing tags and unclosed opening tags go alone.
 *
 * The regex `_EXT_TAG_RE` (re.I) matches `<!--`, or `<`, an optional `/`, a name followed by whitespace, `/` or
 * `>`, then `[^<>]*>`. Names are ASCII letters, so the name is the whole run of letters after `<` or `</`; under
 * re.I (Unicode) an ASCII letter also matches its other case and four non-ASCII characters (brute-forced over
 * all code points on Python 3.11): U+0130 and U+0131 match "i", U+017F "s", U+212A "k" (wk_fold). `\s` is
 * Py_UNICODE_ISSPACE (str.isspace).
 *
 * The scan (per string kind, ext_tags_impl.h) records what to write as a list of operations (copy a range,
 * copy a range protected, write WK_BREAK); the output is then written (ext_tags_emit.h) in the input's kind, or
 * in UCS2 for a UCS1 input that gets placeholders: straight into the result when it holds a character that needs
 * that kind, else (rare) into a buffer narrowed by PyUnicode_FromKindAndData. */
#include "wikitext.h"

#include <string.h>

/* `_EXT_TAG_RE`'s names (lowercase; "ref" first, as there: the order does not matter, as at most one name
 * matches a whole run of letters); the first WK_N_LITERAL keep their content (`_LITERAL_TAGS`). */
static const char *const wk_ext_names[] = {
    "nowiki", "pre", "ref", "references", "math", "chem", "ce", "gallery", "timeline",
    "score", "syntaxhighlight", "source", "graph", "imagemap", "hiero", "templatedata", "templatestyles",
    "mapframe", "maplink", "inputbox", "categorytree", "indicator", "section", "includeonly", "charinsert",
    "langconvert", "phonos",
};
#define WK_N_EXT_NAMES ((int)(sizeof(wk_ext_names) / sizeof(wk_ext_names[0])))
#define WK_NOWIKI 0
#define WK_N_LITERAL 2
#define WK_MAX_NAME 15 /* "syntaxhighlight" */

/* The ASCII lowercase letter a character matches under re.I, or 0. */
static inline int wk_fold(Py_UCS4 c)
{
    if (c >= 'a' && c <= 'z')
        return (int)c;
    if (c >= 'A' && c <= 'Z')
        return (int)(c + ('a' - 'A'));
    if (c < 0x130)
        return 0;
    if (c == 0x130 || c == 0x131)
        return 'i';
    if (c == 0x17F)
        return 's';
    if (c == 0x212A)
        return 'k';
    return 0;
}

static int wk_ext_name(const char *name, int len)
{
    for (int k = 0; k < WK_N_EXT_NAMES; k++)
        if ((int)strlen(wk_ext_names[k]) == len && memcmp(wk_ext_names[k], name, (size_t)len) == 0)
            return k;
    return -1;
}

/* WK_PROTECTED's index + 1 of each ASCII character, 0 for the others. */
static unsigned char wk_protect_index[128];

static void wk_init_protect(void)
{
    if (wk_protect_index['['])
        return;
    for (int i = 0; i < WK_N_PROTECTED; i++)
        wk_protect_index[(unsigned char)WK_PROTECTED[i]] = (unsigned char)(i + 1);
}

enum { WK_OP_COPY, WK_OP_PROTECT, WK_OP_BREAK };

typedef struct {
    Py_ssize_t start, end;
    int op;
} wk_op;

typedef struct {
    wk_op *items;
    Py_ssize_t len, cap;
} wk_ops;

static int wk_add_op(wk_ops *ops, int op, Py_ssize_t start, Py_ssize_t end)
{
    if (op != WK_OP_BREAK && end <= start)
        return 0;
    if (ops->len == ops->cap) {
        wk_op *grown = wk_grow(ops->items, &ops->cap, ops->len + 1, sizeof(wk_op), 64);
        if (grown == NULL)
            return -1;
        ops->items = grown;
    }
    ops->items[ops->len].start = start;
    ops->items[ops->len].end = end;
    ops->items[ops->len].op = op;
    ops->len++;
    return 0;
}

/* The first closing tag of each name at or after `from` (memoised: the search from a later offset finds the
 * same one while it does not start before that offset). */
typedef struct {
    Py_ssize_t from, start, end; /* from < 0: not searched yet; start < 0: none */
} wk_close_memo;

#define WK_IMPL "ext_tags_impl.h"
#include "kinds.h"
#undef WK_IMPL

#define WK_CH Py_UCS1
#define WK_OUT Py_UCS1
#define WK_EFN(name) name##_ucs1_ucs1
#include "ext_tags_emit.h"
#undef WK_CH
#undef WK_OUT
#undef WK_EFN

#define WK_CH Py_UCS1
#define WK_OUT Py_UCS2
#define WK_EFN(name) name##_ucs1_ucs2
#include "ext_tags_emit.h"
#undef WK_CH
#undef WK_OUT
#undef WK_EFN

#define WK_CH Py_UCS2
#define WK_OUT Py_UCS2
#define WK_EFN(name) name##_ucs2_ucs2
#include "ext_tags_emit.h"
#undef WK_CH
#undef WK_OUT
#undef WK_EFN

#define WK_CH Py_UCS4
#define WK_OUT Py_UCS4
#define WK_EFN(name) name##_ucs4_ucs4
#include "ext_tags_emit.h"
#undef WK_CH
#undef WK_OUT
#undef WK_EFN

PyObject *wk_strip_comments_and_extension_tags(PyObject *self, PyObject *text)
{
    (void)self;
    int kind;
    void *data;
    Py_ssize_t n;
    if (wk_str_argument(text, "strip_comments_and_extension_tags", &kind, &data, &n) < 0)
        return NULL;
    wk_init_protect();
    wk_ops ops = {NULL, 0, 0};
    int status;
    if (kind == PyUnicode_1BYTE_KIND)
        status = ext_tags_scan_ucs1(data, n, &ops);
    else if (kind == PyUnicode_2BYTE_KIND)
        status = ext_tags_scan_ucs2(data, n, &ops);
    else
        status = ext_tags_scan_ucs4(data, n, &ops);
    PyObject *result = NULL;
    if (status < 0)
        goto done;
    if (status == 0) { /* nothing matched: the text itself */
        Py_INCREF(text);
        result = text;
        goto done;
    }
    Py_ssize_t length = 0;
    int out_kind = kind;
    for (Py_ssize_t k = 0; k < ops.len; k++) {
        if (ops.items[k].op == WK_OP_BREAK) {
            length++;
            out_kind = kind > 2 ? kind : 2;
        }
        else {
            length += ops.items[k].end - ops.items[k].start;
            if (ops.items[k].op == WK_OP_PROTECT)
                out_kind = kind > 2 ? kind : 2;
        }
    }
    /* whether the output needs out_kind: then it is written in place, else (rare) through a buffer narrowed by
     * PyUnicode_FromKindAndData */
    Py_UCS4 limit = WK_KIND_LIMIT(out_kind);
    int wide = kind == PyUnicode_1BYTE_KIND   ? ext_tags_wide_ucs1(data, &ops, limit)
               : kind == PyUnicode_2BYTE_KIND ? ext_tags_wide_ucs2(data, &ops, limit)
                                              : ext_tags_wide_ucs4(data, &ops, limit);
    PyObject *str = NULL;
    void *out;
    if (wide || out_kind == PyUnicode_1BYTE_KIND) {
        str = PyUnicode_New(length, wide ? WK_KIND_MAX(out_kind) : 0x7F);
        if (str == NULL)
            goto done;
        out = PyUnicode_DATA(str);
    }
    else {
        out = PyMem_Malloc((size_t)(length ? length : 1) * (size_t)out_kind);
        if (out == NULL) {
            PyErr_NoMemory();
            goto done;
        }
    }
    if (kind == PyUnicode_1BYTE_KIND && out_kind == PyUnicode_1BYTE_KIND)
        ext_tags_emit_ucs1_ucs1(data, &ops, out);
    else if (kind == PyUnicode_1BYTE_KIND)
        ext_tags_emit_ucs1_ucs2(data, &ops, out);
    else if (kind == PyUnicode_2BYTE_KIND)
        ext_tags_emit_ucs2_ucs2(data, &ops, out);
    else
        ext_tags_emit_ucs4_ucs4(data, &ops, out);
    if (str != NULL)
        result = str;
    else {
        result = PyUnicode_FromKindAndData(out_kind, out, length); /* narrowed */
        PyMem_Free(out);
    }
done:
    PyMem_Free(ops.items);
    return result;
}

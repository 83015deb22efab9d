/* Pass 7, `_replace_external_links`: `[http://x label]` -> `label`, a bare `[http://x]` goes. The schemes'
 * letters match case-insensitively as re.I has them (ASCII case, and U+0130/U+0131 for i, U+017F for s). Exact for
 * every input: it never returns None. */
#include <string.h>

#include "wikitext.h"

/* `_URL_SCHEMES` without their ':' (and without "//", handled apart), lowercase. */
static const char *const wk_url_schemes[] = {
    "http", "https", "ftp", "ftps", "sftp", "mailto", "news", "nntp", "irc", "ircs", "gopher", "git", "svn",
    "telnet", "urn", "worldwind", "xmpp", "sip", "sips", "sms", "ssh", "tel", "mms", "magnet", "geo", "bitcoin",
};

/* Whether the `length` lowercase letters at `folded` are a scheme. */
static int wk_is_url_scheme(const char *folded, Py_ssize_t length)
{
    for (size_t k = 0; k < sizeof(wk_url_schemes) / sizeof(wk_url_schemes[0]); k++)
        if ((Py_ssize_t)strlen(wk_url_schemes[k]) == length && memcmp(wk_url_schemes[k], folded, (size_t)length) == 0)
            return 1;
    return 0;
}

#define WK_KIND 1
#define WK_CH Py_UCS1
#define WK_FN(name) name##_ucs1
#include "ext_links_impl.h"
#undef WK_KIND
#undef WK_CH
#undef WK_FN

#define WK_KIND 2
#define WK_CH Py_UCS2
#define WK_FN(name) name##_ucs2
#include "ext_links_impl.h"
#undef WK_KIND
#undef WK_CH
#undef WK_FN

#define WK_KIND 4
#define WK_CH Py_UCS4
#define WK_FN(name) name##_ucs4
#include "ext_links_impl.h"
#undef WK_KIND
#undef WK_CH
#undef WK_FN

PyObject *wk_replace_external_links(PyObject *self, PyObject *text)
{
    (void)self;
    if (!PyUnicode_Check(text)) {
        PyErr_SetString(PyExc_TypeError, "replace_external_links() expects a str");
        return NULL;
    }
    if (PyUnicode_READY(text) < 0)
        return NULL;
    Py_ssize_t n = PyUnicode_GET_LENGTH(text), length;
    int kind = PyUnicode_KIND(text);
    void *data = PyUnicode_DATA(text);
    void *out = PyMem_Malloc((size_t)(n ? n : 1) * (size_t)kind);
    if (out == NULL)
        return PyErr_NoMemory();
    if (kind == PyUnicode_1BYTE_KIND)
        length = replace_external_links_ucs1(data, n, out);
    else if (kind == PyUnicode_2BYTE_KIND)
        length = replace_external_links_ucs2(data, n, out);
    else
        length = replace_external_links_ucs4(data, n, out);
    PyObject *result;
    if (length < 0) {  /* unchanged */
        Py_INCREF(text);
        result = text;
    }
    else
        result = PyUnicode_FromKindAndData(kind, out, length);  /* narrowed to the widest character it holds */
    PyMem_Free(out);
    return result;
}

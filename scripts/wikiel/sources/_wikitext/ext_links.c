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

#define WK_IMPL "ext_links_impl.h"
#include "kinds.h"
#undef WK_IMPL

PyObject *wk_replace_external_links(PyObject *self, PyObject *text)
{
    (void)self;
    int kind;
    void *data;
    Py_ssize_t n, length;
    if (wk_str_argument(text, "replace_external_links", &kind, &data, &n) < 0)
        return NULL;
    void *out = PyMem_Malloc((size_t)(n ? n : 1) * (size_t)kind);
    if (out == NULL)
        return PyErr_NoMemory();
    if (kind == PyUnicode_1BYTE_KIND)
        length = replace_external_links_ucs1(data, n, out);
    else if (kind == PyUnicode_2BYTE_KIND)
        length = replace_external_links_ucs2(data, n, out);
    else
        length = replace_external_links_ucs4(data, n, out);
    PyObject *result = wk_str_result(text, kind, out, length); /* length < 0: unchanged */
    PyMem_Free(out);
    return result;
}

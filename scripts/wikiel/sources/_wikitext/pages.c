/* scan_pages: the pages of a run of whole `<page>` elements of a MediaWiki export (a range of a multistream dump,
 * after its `<mediawiki ...><siteinfo>` header), read as wikipedia.expat_pages reads them, without expat.
 *
 * Input: UTF-8 bytes in the content of the root element (depth 1, the root opened by the header), which either
 * stays open at the end (`last` false: the caller appends `</mediawiki>`) or closes in them, followed by
 * whitespace only (`last` true). The result is a list of (id, title, ns, text, redirect) per depth-2 `page`, in
 * document order, with expat_pages' values (`redirect`: the raw `title` attribute of the last `redirect` child,
 * "" without one, None without a `redirect` child; the caller normalises it), or None where the bytes are not of
 * the plain shape read here. The shape is a subset of well-formed XML: every input accepted is one expat accepts,
 * with the same character data and attribute values; anything else (comments, CDATA sections, processing
 * instructions, names with a prefix or non-ASCII letters, namespace declarations, undefined entities, references to
 * characters XML forbids, `]]>` in character data, control characters, invalid UTF-8, child elements inside a
 * captured title/ns/id/text, numbers that are not plain ASCII digits, a `<siteinfo>`) gives None, and the caller
 * reads the XML with expat_pages (which reports what is wrong through DumpReader).
 *
 * Character data: references decoded, CR LF and lone CR become LF (XML's line-end normalisation). Attribute values:
 * references decoded, literal tab, LF, CR and CR LF each become one space (XML's attribute-value normalisation for
 * undeclared attributes). */
#include "wikitext.h"

#include <stdint.h>
#include <string.h>

#define DECLINE (-2) /* not the plain shape: the function returns None */
#define FAIL (-1)    /* an exception is set */

/* Byte classes: PLAIN bytes in character data need nothing (printable ASCII but '<', '&', ']'; tab, LF); APLAIN in
 * attribute values (printable ASCII but '<', '&' and both quotes); NAME and NAME_START: ASCII name characters. */
enum { C_PLAIN = 1, C_APLAIN = 2, C_NAME = 4, C_NAME_START = 8, C_SPACE = 16 };
static unsigned char byte_class[256];

static void init_classes(void)
{
    for (int c = 0x20; c < 0x80; c++) {
        if (c != '<' && c != '&' && c != ']')
            byte_class[c] |= C_PLAIN;
        if (c != '<' && c != '&' && c != '"' && c != '\'')
            byte_class[c] |= C_APLAIN;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_')
            byte_class[c] |= C_NAME_START | C_NAME;
        if ((c >= '0' && c <= '9') || c == '.' || c == '-')
            byte_class[c] |= C_NAME;
    }
    byte_class['\t'] |= C_PLAIN;
    byte_class['\n'] |= C_PLAIN;
    byte_class[' '] |= C_SPACE;
    byte_class['\t'] |= C_SPACE;
    byte_class['\n'] |= C_SPACE;
    byte_class['\r'] |= C_SPACE;
}

#define IS(c, cls) (byte_class[(unsigned char)(c)] & (cls))

typedef struct {
    char *p;
    Py_ssize_t len, cap;
} Buf;

static int buf_add(Buf *b, const unsigned char *s, Py_ssize_t n)
{
    if (b->len + n > b->cap) {
        char *p = wk_grow(b->p, &b->cap, b->len + n, 1, 4096);
        if (p == NULL)
            return FAIL;
        b->p = p;
    }
    if (n)
        memcpy(b->p + b->len, s, (size_t)n);
    b->len += n;
    return 0;
}

/* The length of the UTF-8 sequence at s[i] (a byte >= 0x80) if it is a valid one of a character XML allows (not a
 * surrogate, U+FFFE or U+FFFF; no overlong forms), else 0. */
static inline int utf8_char(const unsigned char *s, Py_ssize_t i, Py_ssize_t n)
{
    unsigned c = s[i];
    if (c < 0xC2)
        return 0;
    if (c < 0xE0)
        return i + 1 < n && (s[i + 1] & 0xC0) == 0x80 ? 2 : 0;
    if (c < 0xF0) {
        if (i + 2 >= n)
            return 0;
        unsigned c1 = s[i + 1], c2 = s[i + 2];
        if ((c1 & 0xC0) != 0x80 || (c2 & 0xC0) != 0x80)
            return 0;
        if ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 >= 0xA0) || (c == 0xEF && c1 == 0xBF && c2 >= 0xBE))
            return 0;
        return 3;
    }
    if (c < 0xF5) {
        if (i + 3 >= n)
            return 0;
        unsigned c1 = s[i + 1];
        if ((c1 & 0xC0) != 0x80 || (s[i + 2] & 0xC0) != 0x80 || (s[i + 3] & 0xC0) != 0x80)
            return 0;
        if ((c == 0xF0 && c1 < 0x90) || (c == 0xF4 && c1 >= 0x90))
            return 0;
        return 4;
    }
    return 0;
}

/* The reference at s[i] ('&'): its character's UTF-8 in out[0..*len), and the index after its ';'; DECLINE for
 * anything but the five predefined entities and references to characters XML allows. */
static Py_ssize_t reference(const unsigned char *s, Py_ssize_t i, Py_ssize_t n, unsigned char *out, int *len)
{
    i++;
    if (i < n && s[i] == '#') {
        unsigned long v = 0;
        Py_ssize_t digits = 0;
        i++;
        if (i < n && s[i] == 'x') {
            for (i++; i < n; i++, digits++) {
                unsigned c = s[i], d;
                if (c >= '0' && c <= '9')
                    d = c - '0';
                else if (c >= 'a' && c <= 'f')
                    d = c - 'a' + 10;
                else if (c >= 'A' && c <= 'F')
                    d = c - 'A' + 10;
                else
                    break;
                v = v * 16 + d;
                if (v > 0x10FFFF)
                    return DECLINE;
            }
        }
        else {
            for (; i < n && s[i] >= '0' && s[i] <= '9'; i++, digits++) {
                v = v * 10 + (s[i] - '0');
                if (v > 0x10FFFF)
                    return DECLINE;
            }
        }
        if (digits == 0 || i >= n || s[i] != ';')
            return DECLINE;
        if (!(v == 0x9 || v == 0xA || v == 0xD || (v >= 0x20 && v <= 0xD7FF) || (v >= 0xE000 && v <= 0xFFFD) ||
              v >= 0x10000))
            return DECLINE;
        if (v < 0x80) {
            out[0] = (unsigned char)v;
            *len = 1;
        }
        else if (v < 0x800) {
            out[0] = (unsigned char)(0xC0 | (v >> 6));
            out[1] = (unsigned char)(0x80 | (v & 0x3F));
            *len = 2;
        }
        else if (v < 0x10000) {
            out[0] = (unsigned char)(0xE0 | (v >> 12));
            out[1] = (unsigned char)(0x80 | ((v >> 6) & 0x3F));
            out[2] = (unsigned char)(0x80 | (v & 0x3F));
            *len = 3;
        }
        else {
            out[0] = (unsigned char)(0xF0 | (v >> 18));
            out[1] = (unsigned char)(0x80 | ((v >> 12) & 0x3F));
            out[2] = (unsigned char)(0x80 | ((v >> 6) & 0x3F));
            out[3] = (unsigned char)(0x80 | (v & 0x3F));
            *len = 4;
        }
        return i + 1;
    }
    /* the five predefined entities: lt gt amp quot apos */
    Py_ssize_t left = n - i;
    if (left >= 3 && s[i + 2] == ';' && s[i + 1] == 't' && (s[i] == 'l' || s[i] == 'g')) {
        out[0] = s[i] == 'l' ? '<' : '>';
        *len = 1;
        return i + 3;
    }
    if (left >= 4 && memcmp(s + i, "amp;", 4) == 0) {
        out[0] = '&';
        *len = 1;
        return i + 4;
    }
    if (left >= 5 && (memcmp(s + i, "quot;", 5) == 0 || memcmp(s + i, "apos;", 5) == 0)) {
        out[0] = s[i] == 'q' ? '"' : '\'';
        *len = 1;
        return i + 5;
    }
    return DECLINE;
}

/* Whether none of 8 bytes needs a look in character data: no control character (tab and LF included), non-ASCII
 * byte, '<', '&' or ']' (exact "any" tests: a byte equal to none of them is never flagged). */
static inline int plain8(uint64_t x)
{
    const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
    uint64_t lt = ones * '<' ^ x, amp = ones * '&' ^ x, bracket = ones * ']' ^ x;
    uint64_t special = (x - ones * 0x20) | (lt - ones) | (amp - ones) | (bracket - ones);
    return ((special | x) & high) == 0;
}

/* The text of the element being captured (title, ns, id or text of a page): raw runs of the input are copied to
 * `buf` only once a reference or CR makes the text differ from them (`seg`: the start of the pending run). */
typedef struct {
    int field; /* 0: nothing captured, else one of the F_ values */
    Py_ssize_t depth;
    Py_ssize_t seg;
    int buffered;
    Buf buf;
} Capture;

enum { F_TITLE = 1, F_NS, F_ID, F_TEXT };

/* Character data from s[i] to the next '<' (its index is returned) or the end (n); the captured text goes to `cap`
 * if it captures. DECLINE or FAIL. */
static Py_ssize_t content(const unsigned char *s, Py_ssize_t i, Py_ssize_t n, Capture *cap)
{
    for (;;) {
        /* skip plain bytes, 8 at a time while none is special (or a tab or LF) */
        while (i + 8 <= n) {
            uint64_t x;
            memcpy(&x, s + i, 8);
            if (plain8(x)) {
                i += 8;
                continue;
            }
            int k = 0;
            while (k < 8 && IS(s[i + k], C_PLAIN))
                k++;
            i += k;
            if (k < 8)
                break;
        }
        while (i < n && IS(s[i], C_PLAIN))
            i++;
        if (i >= n)
            return n;
        unsigned c = s[i];
        if (c == '<')
            return i;
        if (c >= 0x80) {
            int k = utf8_char(s, i, n);
            if (k == 0)
                return DECLINE;
            i += k;
            /* the rest of a run of 2-byte characters (Cyrillic, Greek ...) */
            while (i + 1 < n && s[i] >= 0xC2 && s[i] < 0xE0 && (s[i + 1] & 0xC0) == 0x80)
                i += 2;
        }
        else if (c == ']') {
            if (i + 2 < n && s[i + 1] == ']' && s[i + 2] == '>')
                return DECLINE; /* not allowed in character data */
            i++;
        }
        else if (c == '&') {
            unsigned char out[4];
            int len = 0;
            Py_ssize_t next = reference(s, i, n, out, &len);
            if (next < 0)
                return next;
            if (cap->field) {
                if (buf_add(&cap->buf, s + cap->seg, i - cap->seg) < 0 || buf_add(&cap->buf, out, len) < 0)
                    return FAIL;
                cap->seg = next;
                cap->buffered = 1;
            }
            i = next;
        }
        else if (c == '\r') {
            Py_ssize_t next = i + 1 < n && s[i + 1] == '\n' ? i + 2 : i + 1;
            if (cap->field) {
                if (buf_add(&cap->buf, s + cap->seg, i - cap->seg) < 0 || buf_add(&cap->buf, (const unsigned char *)"\n", 1) < 0)
                    return FAIL;
                cap->seg = next;
                cap->buffered = 1;
            }
            i = next;
        }
        else
            return DECLINE; /* a control character */
    }
}

/* An attribute value from s[i] (after its opening quote q) to the closing quote: returns the index after it; its
 * normalised value goes to `out` if not NULL. DECLINE or FAIL. */
static Py_ssize_t attribute_value(const unsigned char *s, Py_ssize_t i, Py_ssize_t n, unsigned char q, Buf *out)
{
    Py_ssize_t seg = i;
    for (;;) {
        while (i < n && IS(s[i], C_APLAIN))
            i++;
        if (i >= n)
            return DECLINE;
        unsigned c = s[i];
        if (c == q) {
            if (out != NULL && buf_add(out, s + seg, i - seg) < 0)
                return FAIL;
            return i + 1;
        }
        if (c == '"' || c == '\'')
            i++;
        else if (c >= 0x80) {
            int k = utf8_char(s, i, n);
            if (k == 0)
                return DECLINE;
            i += k;
        }
        else if (c == '&' || c == '\t' || c == '\n' || c == '\r') {
            unsigned char decoded[4] = {' '};
            int len = 1;
            Py_ssize_t next = i + 1;
            if (c == '&') {
                next = reference(s, i, n, decoded, &len);
                if (next < 0)
                    return next;
            }
            else if (c == '\r' && next < n && s[next] == '\n')
                next++;
            if (out != NULL && (buf_add(out, s + seg, i - seg) < 0 || buf_add(out, decoded, len) < 0))
                return FAIL;
            i = seg = next;
        }
        else
            return DECLINE; /* '<' or a control character */
    }
}

/* The str of UTF-8 bytes (valid: checked while scanning); DECLINE-worthy failures give NULL without an exception. */
static PyObject *decode(const char *p, Py_ssize_t len)
{
    PyObject *str = PyUnicode_DecodeUTF8(p, len, "strict");
    if (str == NULL && PyErr_ExceptionMatches(PyExc_UnicodeDecodeError))
        PyErr_Clear();
    return str;
}

/* A page's ns or id: "" -> 0, plain ASCII digits -> their value (up to 18 of them), else DECLINE. */
static int number(const char *p, Py_ssize_t len, long long *value)
{
    long long v = 0;
    if (len > 18)
        return DECLINE;
    for (Py_ssize_t k = 0; k < len; k++) {
        if (p[k] < '0' || p[k] > '9')
            return DECLINE;
        v = v * 10 + (p[k] - '0');
    }
    *value = v;
    return 0;
}

typedef struct {
    long long id, ns;
    PyObject *title, *text, *redirect; /* NULL: "" ("" and None for redirect) */
} Page;

static void page_clear(Page *page)
{
    page->id = page->ns = 0;
    Py_CLEAR(page->title);
    Py_CLEAR(page->text);
    Py_CLEAR(page->redirect);
}

/* Ends the capture at s[end] ('<'): stores its value in the page. 0, DECLINE or FAIL. */
static int capture_end(Capture *cap, const unsigned char *s, Py_ssize_t end, Page *page)
{
    int field = cap->field;
    const char *p = (const char *)s + cap->seg;
    Py_ssize_t len = end - cap->seg;
    cap->field = 0;
    if (cap->buffered) {
        if (buf_add(&cap->buf, s + cap->seg, len) < 0)
            return FAIL;
        p = cap->buf.p;
        len = cap->buf.len;
    }
    if (field == F_NS || field == F_ID)
        return number(p, len, field == F_NS ? &page->ns : &page->id);
    PyObject *str = decode(p, len);
    if (str == NULL)
        return PyErr_Occurred() ? FAIL : DECLINE;
    PyObject **slot = field == F_TITLE ? &page->title : &page->text;
    Py_XDECREF(*slot);
    *slot = str;
    return 0;
}

static int page_append(PyObject *pages, Page *page, PyObject *empty)
{
    PyObject *item = Py_BuildValue("(LOLOO)", page->id, page->title ? page->title : empty, page->ns,
                                   page->text ? page->text : empty, page->redirect ? page->redirect : Py_None);
    if (item == NULL)
        return FAIL;
    int result = PyList_Append(pages, item);
    Py_DECREF(item);
    return result < 0 ? FAIL : 0;
}

static int name_is(const unsigned char *s, Py_ssize_t len, const char *name)
{
    return (size_t)len == strlen(name) && memcmp(s, name, (size_t)len) == 0;
}

typedef struct {
    Py_ssize_t at, len;
} Name;

#define ROOT_NAME "mediawiki"
#define MAX_ATTRIBUTES 16

/* The scan; 0 (the pages in `pages`), DECLINE or FAIL. */
static int scan(const unsigned char *s, Py_ssize_t n, int last, PyObject *pages, PyObject *empty)
{
    Name *stack = NULL; /* the open elements below the root: stack[k] at depth k + 2 */
    Py_ssize_t cap_stack = 0, depth = 1;
    Capture cap = {0, 0, 0, 0, {NULL, 0, 0}};
    Buf attr = {NULL, 0, 0};
    Page page = {0, 0, NULL, NULL, NULL};
    int in_page = 0, in_revision = 0, closed = 0, status = DECLINE;
    Py_ssize_t i = 0;

    for (;;) {
        i = content(s, i, n, &cap);
        if (i < 0) {
            status = (int)i;
            goto done;
        }
        if (i >= n)
            break;
        if (i + 1 >= n)
            goto done;
        if (s[i + 1] == '/') { /* an end tag */
            Py_ssize_t j = i + 2, at = j;
            while (j < n && IS(s[j], C_NAME))
                j++;
            if (depth == 1 ? !name_is(s + at, j - at, ROOT_NAME)
                           : (j - at != stack[depth - 2].len || memcmp(s + at, s + stack[depth - 2].at, (size_t)(j - at))))
                goto done;
            while (j < n && IS(s[j], C_SPACE))
                j++;
            if (j >= n || s[j] != '>')
                goto done;
            if (cap.field && depth == cap.depth && (status = capture_end(&cap, s, i, &page)) != 0)
                goto done;
            status = DECLINE;
            if (depth == 2 && in_page) {
                if (page_append(pages, &page, empty) < 0) {
                    status = FAIL;
                    goto done;
                }
                in_page = 0;
            }
            depth--;
            i = j + 1;
            if (depth == 0) {
                closed = 1;
                break;
            }
            continue;
        }
        /* a start tag */
        Py_ssize_t j = i + 1, at = j;
        if (!IS(s[j], C_NAME_START) || cap.field) /* (a child element inside a captured one) */
            goto done;
        while (j < n && IS(s[j], C_NAME))
            j++;
        Py_ssize_t len = j - at, new_depth = depth + 1;
        int redirect = new_depth == 3 && in_page && name_is(s + at, len, "redirect"), has_title = 0;
        Name attributes[MAX_ATTRIBUTES];
        int n_attributes = 0, empty_element = 0;
        for (;;) {
            Py_ssize_t space = j;
            while (j < n && IS(s[j], C_SPACE))
                j++;
            if (j >= n)
                goto done;
            if (s[j] == '>') {
                j++;
                break;
            }
            if (s[j] == '/') {
                if (j + 1 >= n || s[j + 1] != '>')
                    goto done;
                j += 2;
                empty_element = 1;
                break;
            }
            if (j == space || !IS(s[j], C_NAME_START) || n_attributes == MAX_ATTRIBUTES)
                goto done;
            /* an attribute: a plain name, or xml:name (no namespace declarations, no other prefixes) */
            Py_ssize_t name_at = j;
            while (j < n && IS(s[j], C_NAME))
                j++;
            if (j < n && s[j] == ':') {
                if (!name_is(s + name_at, j - name_at, "xml") || j + 1 >= n || !IS(s[j + 1], C_NAME_START))
                    goto done;
                for (j++; j < n && IS(s[j], C_NAME);)
                    j++;
            }
            Py_ssize_t name_len = j - name_at;
            if (name_len >= 5 && memcmp(s + name_at, "xmlns", 5) == 0)
                goto done;
            for (int k = 0; k < n_attributes; k++)
                if (attributes[k].len == name_len && memcmp(s + attributes[k].at, s + name_at, (size_t)name_len) == 0)
                    goto done; /* a duplicate attribute */
            attributes[n_attributes].at = name_at;
            attributes[n_attributes++].len = name_len;
            while (j < n && IS(s[j], C_SPACE))
                j++;
            if (j >= n || s[j] != '=')
                goto done;
            for (j++; j < n && IS(s[j], C_SPACE);)
                j++;
            if (j >= n || (s[j] != '"' && s[j] != '\''))
                goto done;
            int title = redirect && name_is(s + name_at, name_len, "title");
            if (title) {
                attr.len = 0;
                has_title = 1;
            }
            j = attribute_value(s, j + 1, n, s[j], title ? &attr : NULL);
            if (j < 0) {
                status = (int)j;
                goto done;
            }
        }
        i = j;
        if (new_depth == 2) {
            if (name_is(s + at, len, "siteinfo"))
                goto done; /* expat_pages would take its case rule for the pages after it */
            in_page = name_is(s + at, len, "page");
            if (in_page)
                page_clear(&page);
        }
        else if (new_depth == 3 && in_page) {
            in_revision = name_is(s + at, len, "revision");
            cap.field = name_is(s + at, len, "title") ? F_TITLE
                        : name_is(s + at, len, "ns")  ? F_NS
                        : name_is(s + at, len, "id")  ? F_ID
                                                      : 0;
            if (redirect) {
                PyObject *value = empty;
                if (has_title)
                    value = decode(attr.p, attr.len);
                else
                    Py_INCREF(value);
                if (value == NULL) {
                    status = PyErr_Occurred() ? FAIL : DECLINE;
                    goto done;
                }
                Py_XDECREF(page.redirect);
                page.redirect = value;
            }
        }
        else if (new_depth == 4 && in_page && in_revision && name_is(s + at, len, "text"))
            cap.field = F_TEXT;
        if (cap.field) {
            cap.depth = new_depth;
            cap.seg = i;
            cap.buffered = 0;
            cap.buf.len = 0;
        }
        if (empty_element) {
            if (cap.field && (status = capture_end(&cap, s, i, &page)) != 0)
                goto done;
            status = DECLINE;
            if (new_depth == 2 && in_page) {
                if (page_append(pages, &page, empty) < 0) {
                    status = FAIL;
                    goto done;
                }
                in_page = 0;
            }
            continue;
        }
        if (depth - 1 == cap_stack) {
            Name *grown = wk_grow(stack, &cap_stack, cap_stack + 1, sizeof(Name), 16);
            if (grown == NULL) {
                status = FAIL;
                goto done;
            }
            stack = grown;
        }
        stack[depth - 1].at = at;
        stack[depth - 1].len = len;
        depth = new_depth;
    }
    if (closed) { /* only whitespace may follow the root here */
        while (i < n && IS(s[i], C_SPACE))
            i++;
        status = last && i == n ? 0 : DECLINE;
    }
    else
        status = !last && depth == 1 ? 0 : DECLINE;
done:
    PyMem_Free(stack);
    PyMem_Free(cap.buf.p);
    PyMem_Free(attr.p);
    page_clear(&page);
    return status;
}

PyObject *wk_scan_pages(PyObject *self, PyObject *args)
{
    (void)self;
    Py_buffer view;
    int last;
    if (!PyArg_ParseTuple(args, "y*p:scan_pages", &view, &last))
        return NULL;
    if (!byte_class['a'])
        init_classes();
    PyObject *pages = PyList_New(0), *empty = PyUnicode_FromStringAndSize("", 0);
    int status = FAIL;
    if (pages != NULL && empty != NULL)
        status = scan((const unsigned char *)view.buf, view.len, last, pages, empty);
    PyBuffer_Release(&view);
    Py_XDECREF(empty);
    if (status == 0)
        return pages;
    Py_XDECREF(pages);
    if (status == DECLINE)
        Py_RETURN_NONE;
    return NULL;
}

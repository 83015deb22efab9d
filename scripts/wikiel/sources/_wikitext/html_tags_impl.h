/* html_tags.c's pass for one string kind: included once per kind with WK_CH (the character type), WK_KIND and
 * WK_FN(name) defined. */

/* `_HTML_TAG_RE.match(in, i)` for in[i] == '<': -1 without a match, else the match's end, with *block set when the
 * tag is a block tag. The tag name is the text up to the first whitespace, '/' or '>' (the lookahead), folded as
 * re.I folds the names' letters. */
static Py_ssize_t WK_FN(ht_match)(const WK_CH *in, Py_ssize_t n, Py_ssize_t i, int *block)
{
    Py_ssize_t p = i + 1, r = 0;
    char folded[WK_MAX_TAG_NAME + 1];
    if (p < n && in[p] == '/')
        p++;
    while (p + r < n) {
        Py_UCS4 c = in[p + r];
        if (c == '/' || c == '>' || Py_UNICODE_ISSPACE(c))
            break;
        if (r == WK_MAX_TAG_NAME)
            return -1;
        if (c >= 'A' && c <= 'Z')
            c |= 0x20;
#if WK_KIND > 1
        else if (c == 0x130 || c == 0x131)
            c = 'i';
        else if (c == 0x17F)
            c = 's';
        else if (c == 0x212A)
            c = 'k';
#endif
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
            return -1;
        folded[r++] = (char)c;
    }
    if (p + r >= n || r == 0)
        return -1;
    folded[r] = 0;
    int kind = wk_tag_kind(folded);
    if (kind < 0)
        return -1;
    /* `[^<>]*>` */
    Py_ssize_t e = p + r;
    while (e < n && in[e] != '<' && in[e] != '>')
        e++;
    if (e >= n || in[e] != '>')
        return -1;
    *block = kind;
    return e + 1;
}

/* `_strip_html_tags` into `out` (room for n characters: a tag is at least 3 characters, its replacement at most
 * 1); returns the output length, or -1 if nothing changed. */
static Py_ssize_t WK_FN(strip_html_tags)(const WK_CH *in, Py_ssize_t n, WK_CH *out)
{
    Py_ssize_t o = 0, pos = 0, end, i = wk_find_end(in, WK_KIND, 0, n, '<');
    int changed = 0, block = 0;
    while (i < n) {
        if ((end = WK_FN(ht_match)(in, n, i, &block)) >= 0) {
            changed = 1;
            memcpy(out + o, in + pos, (size_t)(i - pos) * sizeof(WK_CH));
            o += i - pos;
            if (block)
                out[o++] = '\n';
            pos = end;
            i = wk_find_end(in, WK_KIND, end, n, '<');
        }
        else
            i = wk_find_end(in, WK_KIND, i + 1, n, '<');
    }
    if (!changed)
        return -1;
    memcpy(out + o, in + pos, (size_t)(n - pos) * sizeof(WK_CH));
    return o + (n - pos);
}

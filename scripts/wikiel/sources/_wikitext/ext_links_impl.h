/* ext_links.c's pass for one string kind: included once per kind with WK_CH (the character type), WK_KIND and
 * WK_FN(name) defined. */

/* A letter of the scheme lookahead (case-sensitive): ASCII letters and the four that re.I matches with one. */
static inline int WK_FN(el_is_letter)(Py_UCS4 c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
#if WK_KIND > 1
           || c == 0x130 || c == 0x131 || c == 0x17F || c == 0x212A
#endif
        ;
}

/* `_EXT_LINK_RE.match(in, i)` for in[i] == '[': 0 without a match, else 1 with the match's end (after its `]`) in
 * *end and its label (group 1, empty without one) in in[*label:*label_end]. */
static int WK_FN(el_match)(const WK_CH *in, Py_ssize_t n, Py_ssize_t i, Py_ssize_t *end, Py_ssize_t *label,
                           Py_ssize_t *label_end)
{
    Py_ssize_t p = i + 1, u;
    if (p + 1 < n && in[p] == '/' && in[p + 1] == '/')
        u = p + 2;
    else {
        /* the lookahead: 2 to 9 letters (possessive) and ':'; then the scheme is exactly those letters */
        Py_ssize_t r = 0;
        char folded[10];
        while (r < 10 && p + r < n && WK_FN(el_is_letter)(in[p + r])) {
            Py_UCS4 c = in[p + r];
            folded[r++] = c == 0x130 || c == 0x131 ? 'i' : c == 0x17F ? 's' : c == 0x212A ? 'k' : (char)(c | 0x20);
        }
        if (r < 2 || r > 9 || p + r >= n || in[p + r] != ':' || !wk_is_url_scheme(folded, r))
            return 0;
        u = p + r + 1;
    }
    /* `[^\s\[\]<>\"]*` (greedy; giving characters back never helps: none of them can start what follows) */
    while (u < n) {
        Py_UCS4 c = in[u];
        if (c == '[' || c == ']' || c == '<' || c == '>' || c == '"' || Py_UNICODE_ISSPACE(c))
            break;
        u++;
    }
    if (u < n && in[u] == ']') {
        *label = *label_end = u;
        *end = u + 1;
        return 1;
    }
    if (u >= n || (in[u] != ' ' && in[u] != '\t'))
        return 0;
    /* `[ \t]+([^\[\]\n]*)` then `]`: the label runs to the first `[`, `]` or line break, which must be `]` */
    while (u < n && (in[u] == ' ' || in[u] == '\t'))
        u++;
    Py_ssize_t w = u;
    while (w < n && in[w] != '[' && in[w] != ']' && in[w] != '\n')
        w++;
    if (w >= n || in[w] != ']')
        return 0;
    *label = u;
    *label_end = w;
    *end = w + 1;
    return 1;
}

/* `_EXT_LINK_RE.sub(lambda m: m.group(1) or "", ...)` into `out` (room for n characters); returns the output
 * length, or -1 if nothing changed. */
static Py_ssize_t WK_FN(replace_external_links)(const WK_CH *in, Py_ssize_t n, WK_CH *out)
{
    Py_ssize_t o = 0, pos = 0, end = 0, label = 0, label_end = 0, i = wk_find_end(in, WK_KIND, 0, n, '[');
    int changed = 0;
    while (i < n) {
        if (WK_FN(el_match)(in, n, i, &end, &label, &label_end)) {
            changed = 1;
            memcpy(out + o, in + pos, (size_t)(i - pos) * sizeof(WK_CH));
            o += i - pos;
            memcpy(out + o, in + label, (size_t)(label_end - label) * sizeof(WK_CH));
            o += label_end - label;
            pos = end;
            i = wk_find_end(in, WK_KIND, end, n, '[');
        }
        else
            i = wk_find_end(in, WK_KIND, i + 1, n, '[');
    }
    if (!changed)
        return -1;
    memcpy(out + o, in + pos, (size_t)(n - pos) * sizeof(WK_CH));
    return o + (n - pos);
}

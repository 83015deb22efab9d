/* templates.c's scans for one string kind: included once per kind with WK_CH (the character type) and
 * WK_FN(name) defined. */

/* `_remove_templates`' tokens: openers pushed on `stack`, closers closing spans; returns 1, 0 if there is no
 * token, or -1 (with an exception) if out of memory. */
static int WK_FN(template_tokens)(const void *data, Py_ssize_t n, wk_offsets *stack, wk_offsets *spans)
{
    const WK_CH *s = data;
    int found = 0;
    Py_ssize_t next[2] = {wk_find(s, WK_KIND, 0, n, '{'), wk_find(s, WK_KIND, 0, n, '}')};
    while (next[0] >= 0 || next[1] >= 0) {
        int closer = next[0] < 0 || (next[1] >= 0 && next[1] < next[0]);
        Py_ssize_t i = next[closer], run = i + 1;
        WK_CH brace = s[i];
        while (run < n && s[run] == brace)
            run++;
        for (; i + 1 < run; i += 2) { /* the run's pairs, from its start */
            found = 1;
            if (!closer) {
                if (wk_push(stack, i) < 0)
                    return -1;
            }
            else if (wk_close(stack, spans, i, i + 2) < 0)
                return -1;
        }
        next[closer] = wk_find(s, WK_KIND, run, n, brace);
    }
    return found;
}

/* `_remove_tables`' tokens (see templates.c), in order: each `{` followed by `|` and each `}` after `|`, kept if
 * only indentation precedes it on its line. */
static int WK_FN(table_tokens)(const void *data, Py_ssize_t n, wk_offsets *stack, wk_offsets *spans)
{
    const WK_CH *s = data;
    int found = 0;
    Py_ssize_t next[2] = {wk_find(s, WK_KIND, 0, n, '{'), wk_find(s, WK_KIND, 0, n, '}')};
    while (next[0] >= 0 || next[1] >= 0) {
        int closer = next[0] < 0 || (next[1] >= 0 && next[1] < next[0]);
        Py_ssize_t i = next[closer];
        next[closer] = wk_find(s, WK_KIND, i + 1, n, closer ? '}' : '{');
        Py_ssize_t token; /* the `{|` or `|}` */
        if (!closer && i + 1 < n && s[i + 1] == '|')
            token = i;
        else if (closer && i > 0 && s[i - 1] == '|')
            token = i - 1;
        else
            continue;
        Py_ssize_t start = token;
        while (start > 0 && (s[start - 1] == ' ' || s[start - 1] == '\t' || (!closer && s[start - 1] == ':')))
            start--;
        if (start > 0 && s[start - 1] != '\n')
            continue;
        found = 1;
        if (!closer) {
            if (wk_push(stack, start) < 0)
                return -1;
        }
        else if (wk_close(stack, spans, start, token + 2) < 0)
            return -1;
    }
    return found;
}

/* `_cut`: the text without the spans (sorted by start; start, end pairs) and the unclosed openers (sorted),
 * each two characters long, or, with `unclosed_to_end`, the first one to the end; a span starting inside an
 * earlier one is part of it. Writes the output to `out` and returns its length; with `out` NULL, only returns
 * the length and tells in `wide` whether the output holds a character >= `limit`. */
static Py_ssize_t WK_FN(wk_cut)(const void *data, Py_ssize_t n, const wk_offsets *spans, const wk_offsets *unclosed,
                                int unclosed_to_end, void *output, Py_UCS4 limit, int *wide)
{
    const WK_CH *s = data;
    WK_CH *out = output;
    Py_ssize_t o = 0, pos = 0, a = 0, b = 0;
    Py_ssize_t n_spans = spans->len / 2, n_unclosed = unclosed_to_end ? (unclosed->len ? 1 : 0) : unclosed->len;
    for (;;) {
        Py_ssize_t start = n, end = n;
        int last = a >= n_spans && b >= n_unclosed;
        if (last)
            ;
        else if (b >= n_unclosed || (a < n_spans && spans->items[2 * a] < unclosed->items[b])) {
            start = spans->items[2 * a];
            end = spans->items[2 * a + 1];
            a++;
        }
        else {
            start = unclosed->items[b];
            end = unclosed_to_end ? n : start + 2;
            b++;
        }
        if (start >= pos) {
            if (out != NULL)
                memcpy(out + o, s + pos, (size_t)(start - pos) * sizeof(WK_CH));
            else if (!*wide)
                *wide = wk_has_wide(s, WK_KIND, pos, start, limit);
            o += start - pos;
            pos = end;
        }
        if (last)
            return o;
    }
}

/* line_markup.c's passes for one string kind: included once per kind with WK_CH (the character type), WK_KIND and
 * WK_FN(name) defined. Each pass reads `in` (n characters) and writes its output to `out` (a different buffer with
 * room for n characters: no pass lengthens the text); it returns the output length, or -1 if nothing changed (then
 * `out` holds nothing of use). */

static inline int WK_FN(lm_is_list)(Py_UCS4 c) { return c == '*' || c == '#' || c == ':' || c == ';'; }

/* `_LINE_MARKUP_RE` after its line break, at offset s: 0 without a match; 1 for a list prefix or rule (the match
 * ends at *end); 2 for a heading (its title, before `_line_markup` strips it, is in[*title:*title_end]). */
static int WK_FN(lm_match)(const WK_CH *in, Py_ssize_t n, Py_ssize_t s, Py_ssize_t *end, Py_ssize_t *title,
                           Py_ssize_t *title_end)
{
    if (s >= n)
        return 0;
    Py_UCS4 c = in[s];
    if (c == '=') {
        /* `(={1,6})([^\n]+?)\1[ \t]*(?=\n|\Z)`: the closing run must end where the line's trailing spaces and
         * tabs start (t), so for each opening length k (longest first) only a title ending at t - k can match */
        Py_ssize_t lead = 0;
        while (lead < 6 && s + lead < n && in[s + lead] == '=')
            lead++;
        Py_ssize_t e = wk_find_end(in, WK_KIND, s, n, '\n'), t = e, trail = 0;
        while (t > s && (in[t - 1] == ' ' || in[t - 1] == '\t'))
            t--;
        while (trail < 6 && t - trail > s && in[t - 1 - trail] == '=')
            trail++;
        for (Py_ssize_t k = lead; k >= 1; k--)
            if (trail >= k && t - s >= 2 * k + 1) {
                *title = s + k;
                *title_end = t - k;
                *end = e;
                return 2;
            }
        return 0;
    }
    /* `(?:[*#:;]+|-{4,})[ \t]*` */
    Py_ssize_t j = s;
    if (WK_FN(lm_is_list)(c))
        while (j < n && WK_FN(lm_is_list)(in[j]))
            j++;
    else if (c == '-') {
        while (j < n && in[j] == '-')
            j++;
        if (j - s < 4)
            return 0;
    }
    else
        return 0;
    while (j < n && (in[j] == ' ' || in[j] == '\t'))
        j++;
    *end = j;
    return 1;
}

/* `_line_markup`'s title: strip(" \t=") then without a leading `_LINE_PREFIX_START_RE` match; writes it. */
static Py_ssize_t WK_FN(lm_title)(const WK_CH *in, Py_ssize_t a, Py_ssize_t b, WK_CH *out, Py_ssize_t o)
{
    while (a < b && (in[a] == ' ' || in[a] == '\t' || in[a] == '='))
        a++;
    while (b > a && (in[b - 1] == ' ' || in[b - 1] == '\t' || in[b - 1] == '='))
        b--;
    Py_ssize_t j = a;
    if (j < b && WK_FN(lm_is_list)(in[j]))
        while (j < b && WK_FN(lm_is_list)(in[j]))
            j++;
    else
        while (j < b && in[j] == '-')
            j++;
    if (j - a >= 4 || (j > a && in[a] != '-')) {
        while (j < b && (in[j] == ' ' || in[j] == '\t'))
            j++;
        a = j;
    }
    memcpy(out + o, in + a, (size_t)(b - a) * sizeof(WK_CH));
    return o + (b - a);
}

/* `_LINE_MARKUP_RE.sub(_line_markup, ...)`, the first line included when it starts with a markup character
 * (as on "\n" + text, without that line break in the output). */
static Py_ssize_t WK_FN(line_markup)(const WK_CH *in, Py_ssize_t n, WK_CH *out)
{
    Py_ssize_t o = 0, pos = 0, end = 0, title = 0, title_end = 0, i;
    int changed = 0, kind;
    if (n && (in[0] == '=' || in[0] == '-' || WK_FN(lm_is_list)(in[0]))) {
        kind = WK_FN(lm_match)(in, n, 0, &end, &title, &title_end);
        if (kind) {
            changed = 1;
            if (kind == 2) {  /* "\n\n" + title + "\n" without its first line break */
                out[o++] = '\n';
                o = WK_FN(lm_title)(in, title, title_end, out, o);
                out[o++] = '\n';
            }
            pos = end;
        }
    }
    i = wk_find_end(in, WK_KIND, pos, n, '\n');
    while (i < n) {
        Py_UCS4 c = i + 1 < n ? in[i + 1] : 0;
        if ((c == '=' || c == '-' || WK_FN(lm_is_list)(c)) &&
            (kind = WK_FN(lm_match)(in, n, i + 1, &end, &title, &title_end))) {
            changed = 1;
            memcpy(out + o, in + pos, (size_t)(i - pos) * sizeof(WK_CH));
            o += i - pos;
            out[o++] = '\n';
            if (kind == 2) {
                out[o++] = '\n';
                o = WK_FN(lm_title)(in, title, title_end, out, o);
                out[o++] = '\n';
            }
            pos = end;
            i = wk_find_end(in, WK_KIND, end, n, '\n');
        }
        else
            i = wk_find_end(in, WK_KIND, i + 1, n, '\n');
    }
    if (!changed)
        return -1;
    memcpy(out + o, in + pos, (size_t)(n - pos) * sizeof(WK_CH));
    return o + (n - pos);
}

/* `_MAGIC_WORD_RE.sub("", ...)`: `__[A-Z]{2,30}__`, left to right, without overlaps. */
static Py_ssize_t WK_FN(magic_words)(const WK_CH *in, Py_ssize_t n, WK_CH *out)
{
    Py_ssize_t o = 0, pos = 0, i = wk_find_end(in, WK_KIND, 0, n, '_');
    int changed = 0;
    while (i < n) {
        if (i + 1 < n && in[i + 1] == '_') {
            Py_ssize_t r = 0;  /* the run of capitals: a longer or shorter one cannot be followed by "__" */
            while (r <= 30 && i + 2 + r < n && in[i + 2 + r] >= 'A' && in[i + 2 + r] <= 'Z')
                r++;
            Py_ssize_t e = i + 2 + r;
            if (r >= 2 && r <= 30 && e + 1 < n && in[e] == '_' && in[e + 1] == '_') {
                changed = 1;
                memcpy(out + o, in + pos, (size_t)(i - pos) * sizeof(WK_CH));
                o += i - pos;
                pos = e + 2;
                i = wk_find_end(in, WK_KIND, pos, n, '_');
                continue;
            }
        }
        i = wk_find_end(in, WK_KIND, i + 1, n, '_');
    }
    if (!changed)
        return -1;
    memcpy(out + o, in + pos, (size_t)(n - pos) * sizeof(WK_CH));
    return o + (n - pos);
}

/* The end of the apostrophe run starting at i. */
static inline Py_ssize_t WK_FN(lm_run_end)(const WK_CH *in, Py_ssize_t i, Py_ssize_t n)
{
    while (i < n && in[i] == '\'')
        i++;
    return i;
}

/* `_strip_quotes` (with `_balance_quotes`) on the line in[ls:le]: each run of 2+ apostrophes goes, leaving the
 * apostrophes doQuotes makes text: a run of 4 leaves 1, of n > 5 leaves n - 5, and if both bold and italic are
 * left open one bold run (normalised length 3) leaves 1 more. Writes the line to out + o; returns the new o. */
static Py_ssize_t WK_FN(quote_line)(const WK_CH *in, Py_ssize_t ls, Py_ssize_t le, WK_CH *out, Py_ssize_t o)
{
    Py_ssize_t bold = 0, italic = 0, single = -1, multi = -1, space = -1, prev = ls, i, e, len;
    /* first scan: the counts and the candidates for the bold run to turn into an apostrophe */
    for (i = wk_find_end(in, WK_KIND, ls, le, '\''); i < le; i = wk_find_end(in, WK_KIND, e, le, '\'')) {
        e = WK_FN(lm_run_end)(in, i, le);
        len = e - i;
        if (len < 2)
            continue;
        Py_ssize_t norm = len == 4 ? 3 : len > 5 ? 5 : len;
        bold += norm != 2;
        italic += norm != 3;
        if (norm == 3 && single < 0) {
            /* `before`: the text since the previous run (or the line start), plus the apostrophe of a run of 4 */
            Py_ssize_t tlen = i - prev;
            if (len == 3) {
                if (tlen >= 1 && in[i - 1] == ' ') {
                    if (space < 0)
                        space = i;
                }
                else if (tlen >= 2 && in[i - 2] == ' ')
                    single = i;
                else if (multi < 0)
                    multi = i;
            }
            else if (tlen >= 1 && in[i - 1] == ' ')
                single = i;
            else if (multi < 0)
                multi = i;
        }
        prev = e;
    }
    Py_ssize_t chosen = -1;
    if (bold % 2 && italic % 2)
        chosen = single >= 0 ? single : multi >= 0 ? multi : space;
    /* second scan: the text between the runs, and what each run leaves */
    prev = ls;
    for (i = wk_find_end(in, WK_KIND, ls, le, '\''); i < le; i = wk_find_end(in, WK_KIND, e, le, '\'')) {
        e = WK_FN(lm_run_end)(in, i, le);
        len = e - i;
        if (len < 2)
            continue;
        memcpy(out + o, in + prev, (size_t)(i - prev) * sizeof(WK_CH));
        o += i - prev;
        Py_ssize_t keep = (len == 4 ? 1 : len > 5 ? len - 5 : 0) + (i == chosen);
        while (keep-- > 0)
            out[o++] = '\'';
        prev = e;
    }
    memcpy(out + o, in + prev, (size_t)(le - prev) * sizeof(WK_CH));
    return o + (le - prev);
}

/* `_strip_quotes` on the lines holding a run of 2+ apostrophes. */
static Py_ssize_t WK_FN(strip_quotes)(const WK_CH *in, Py_ssize_t n, WK_CH *out)
{
    Py_ssize_t o = 0, pos = 0, i = wk_find_end(in, WK_KIND, 0, n, '\'');
    int changed = 0;
    while (i < n) {
        if (i + 1 < n && in[i + 1] == '\'') {
            Py_ssize_t ls = i, le = wk_find_end(in, WK_KIND, i, n, '\n');
            while (ls > pos && in[ls - 1] != '\n')
                ls--;
            changed = 1;
            memcpy(out + o, in + pos, (size_t)(ls - pos) * sizeof(WK_CH));
            o = WK_FN(quote_line)(in, ls, le, out, o + (ls - pos));
            pos = le;
            i = wk_find_end(in, WK_KIND, le, n, '\'');
        }
        else
            i = wk_find_end(in, WK_KIND, WK_FN(lm_run_end)(in, i, n), n, '\'');
    }
    if (!changed)
        return -1;
    memcpy(out + o, in + pos, (size_t)(n - pos) * sizeof(WK_CH));
    return o + (n - pos);
}

/* The three steps of `_strip_line_markup`, from `in` through the buffers a and b (room for n characters each);
 * returns the result's buffer (NULL if the text did not change) and sets *length. */
static WK_CH *WK_FN(strip_line_markup)(const WK_CH *in, Py_ssize_t n, WK_CH *a, WK_CH *b, Py_ssize_t *length)
{
    const WK_CH *cur = in;
    WK_CH *spare[2] = {a, b}, *result = NULL;
    Py_ssize_t len = n, got;
    int next = 0;
    got = WK_FN(line_markup)(cur, len, spare[next]);
    if (got >= 0) {
        cur = result = spare[next];
        next ^= 1;
        len = got;
    }
    got = WK_FN(magic_words)(cur, len, spare[next]);
    if (got >= 0) {
        cur = result = spare[next];
        next ^= 1;
        len = got;
    }
    got = WK_FN(strip_quotes)(cur, len, spare[next]);
    if (got >= 0) {
        result = spare[next];
        len = got;
    }
    *length = len;
    return result;
}

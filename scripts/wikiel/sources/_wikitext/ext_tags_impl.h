/* ext_tags.c's scan for one string kind: included once per kind with WK_CH (the character type) and
 * WK_FN(name) defined. */

/* `_CLOSE_TAG_RE[name].search(text, from)`: the span of the first `</name\s*>` (re.I) at or after `from`;
 * returns its start, or -1. */
static Py_ssize_t WK_FN(ext_find_close)(const WK_CH *s, Py_ssize_t from, Py_ssize_t n, const char *name,
                                        Py_ssize_t *end)
{
    Py_ssize_t len = (Py_ssize_t)strlen(name);
    for (Py_ssize_t p = wk_find(s, WK_KIND, from, n, '<'); p >= 0; p = wk_find(s, WK_KIND, p + 1, n, '<')) {
        if (p + 2 + len >= n)
            break; /* no room left for `</name>` */
        if (s[p + 1] != '/')
            continue;
        Py_ssize_t j = p + 2, t = 0;
        while (t < len && wk_fold(s[j]) == name[t]) {
            j++;
            t++;
        }
        if (t < len)
            continue;
        while (j < n && Py_UNICODE_ISSPACE(s[j]))
            j++;
        if (j < n && s[j] == '>') {
            *end = j + 1;
            return p;
        }
    }
    return -1;
}

/* Records the operations that write the output; returns 1, 0 if the text is unchanged (nothing matched), or -1
 * (with an exception) if out of memory. */
static int WK_FN(ext_tags_scan)(const WK_CH *s, Py_ssize_t n, wk_ops *ops)
{
    wk_close_memo memo[WK_N_EXT_NAMES];
    for (int k = 0; k < WK_N_EXT_NAMES; k++)
        memo[k].from = -1;
    Py_ssize_t kept = 0, pos = 0; /* s[kept:start of the next tag] is kept */
    int changed = 0;
    for (;;) {
        Py_ssize_t lt = wk_find(s, WK_KIND, pos, n, '<');
        if (lt < 0)
            break;
        Py_ssize_t j = lt + 1;
        if (j + 2 < n && s[j] == '!' && s[j + 1] == '-' && s[j + 2] == '-') { /* a comment, to its "-->" */
            if (wk_add_op(ops, WK_OP_COPY, kept, lt) < 0)
                return -1;
            changed = 1;
            Py_ssize_t end = -1;
            for (Py_ssize_t gt = wk_find(s, WK_KIND, j + 5, n, '>'); gt >= 0; gt = wk_find(s, WK_KIND, gt + 1, n, '>'))
                if (s[gt - 1] == '-' && s[gt - 2] == '-') {
                    end = gt + 1;
                    break;
                }
            kept = pos = end < 0 ? n : end;
            continue;
        }
        int closing = j < n && s[j] == '/';
        j += closing;
        char name[WK_MAX_NAME + 1];
        int len = 0;
        while (j < n && len <= WK_MAX_NAME) {
            Py_UCS4 c = s[j];
            int f = wk_fold(c);
            if (!f)
                break;
            name[len++] = (char)f;
            j++;
        }
        int k = len <= WK_MAX_NAME ? wk_ext_name(name, len) : -1;
        if (k < 0 || j >= n || !(s[j] == '/' || s[j] == '>' || Py_UNICODE_ISSPACE(s[j]))) {
            pos = lt + 1;
            continue;
        }
        while (j < n && s[j] != '<' && s[j] != '>') /* [^<>]*> */
            j++;
        if (j >= n)
            break; /* no `<` after this one */
        if (s[j] == '<') {
            pos = j;
            continue;
        }
        if (wk_add_op(ops, WK_OP_COPY, kept, lt) < 0)
            return -1;
        changed = 1;
        kept = pos = j + 1;
        if (closing)
            continue; /* stray closing tag */
        if (s[pos - 2] == '/') { /* self-closing */
            if (k == WK_NOWIKI && wk_add_op(ops, WK_OP_BREAK, 0, 0) < 0)
                return -1;
            continue;
        }
        wk_close_memo *m = &memo[k];
        if (m->from < 0 || pos < m->from || (m->start >= 0 && m->start < pos)) {
            m->from = pos;
            m->start = WK_FN(ext_find_close)(s, pos, n, wk_ext_names[k], &m->end);
        }
        if (m->start < 0)
            continue; /* unclosed: drop the opening tag, keep what follows */
        if (k < WK_N_LITERAL && wk_add_op(ops, WK_OP_PROTECT, pos, m->start) < 0)
            return -1;
        kept = pos = m->end;
    }
    if (!changed)
        return 0;
    if (wk_add_op(ops, WK_OP_COPY, kept, n) < 0)
        return -1;
    return 1;
}

/* Whether the output of `ops` holds a character >= `limit`. */
static int WK_FN(ext_tags_wide)(const WK_CH *s, const wk_ops *ops, Py_UCS4 limit)
{
    for (Py_ssize_t k = 0; k < ops->len; k++) {
        const wk_op *op = &ops->items[k];
        if (op->op == WK_OP_BREAK) {
            if (WK_BREAK >= limit)
                return 1;
        }
        else if (op->op == WK_OP_COPY) {
            if (wk_has_wide(s, WK_KIND, op->start, op->end, limit))
                return 1;
        }
        else
            for (Py_ssize_t i = op->start; i < op->end; i++) {
                Py_UCS4 c = s[i];
                if (c >= limit || (c < 128 && wk_protect_index[c] && WK_PLACEHOLDER_BASE >= limit))
                    return 1;
            }
    }
    return 0;
}

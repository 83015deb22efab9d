/* links.c's scan for one string kind: included once per kind with WK_KIND, WK_CH (the character type) and
 * WK_FN(name) defined. The output (of the text's kind) is written to ctx->out; the functions returning int give
 * 0, WK_ERROR (an exception is set) or WK_FALLBACK (leave the text to the Python pass). */

/* The first offset in [a, b) holding c1 or c2, else b: memchr for one character of UCS1, else 16 bytes at a
 * time with SSE2 (x86-64) or 8 bytes at a time (a lane of the word equals c iff it is zero in word ^ c; the test
 * flags any word holding a zero lane exactly); the characters of the block that holds one are then checked one
 * by one. */
static Py_ssize_t WK_FN(find2)(const WK_CH *in, Py_ssize_t a, Py_ssize_t b, WK_CH c1, WK_CH c2)
{
#if WK_KIND == 1
    if (c1 == c2) {
        const WK_CH *found = a < b ? memchr(in + a, c1, (size_t)(b - a)) : NULL;
        return found == NULL ? b : found - in;
    }
#endif
#ifdef WK_SSE2
#if WK_KIND == 1
    const __m128i v1 = _mm_set1_epi8((char)c1), v2 = _mm_set1_epi8((char)c2);
#define WK_CMPEQ _mm_cmpeq_epi8
#elif WK_KIND == 2
    const __m128i v1 = _mm_set1_epi16((short)c1), v2 = _mm_set1_epi16((short)c2);
#define WK_CMPEQ _mm_cmpeq_epi16
#else
    const __m128i v1 = _mm_set1_epi32((int)c1), v2 = _mm_set1_epi32((int)c2);
#define WK_CMPEQ _mm_cmpeq_epi32
#endif
    while (a + 16 / WK_KIND <= b) {
        __m128i block = _mm_loadu_si128((const __m128i *)(const void *)(in + a));
        if (_mm_movemask_epi8(_mm_or_si128(WK_CMPEQ(block, v1), WK_CMPEQ(block, v2))))
            break;
        a += 16 / WK_KIND;
    }
#undef WK_CMPEQ
#endif
    const uint64_t ones = WK_KIND == 1 ? 0x0101010101010101ULL
                          : WK_KIND == 2 ? 0x0001000100010001ULL
                                         : 0x0000000100000001ULL;
    const uint64_t highs = ones << (8 * WK_KIND - 1), p1 = ones * c1, p2 = ones * c2;
    const Py_ssize_t lanes = 8 / WK_KIND;
    while (a + lanes <= b) {
        uint64_t word, x1, x2;
        memcpy(&word, in + a, 8);
        x1 = word ^ p1;
        x2 = word ^ p2;
        if (((x1 - ones) & ~x1 & highs) | ((x2 - ones) & ~x2 & highs))
            break;
        a += lanes;
    }
    while (a < b && in[a] != c1 && in[a] != c2)
        a++;
    return a;
}

/* The start of the next scanner match at or after `i` (the last `[[` of a bracket run), or -1. */
static Py_ssize_t WK_FN(find_link)(const WK_CH *in, Py_ssize_t n, Py_ssize_t i)
{
    for (;;) {
        i = WK_FN(find2)(in, i, n, '[', '[');
        if (i >= n)
            return -1;
        if (i + 1 < n && in[i + 1] == '[') {
            Py_ssize_t j = i + 2;
            while (j < n && in[j] == '[')
                j++;
            return j - 2;
        }
        i += 2; /* text[i + 1] is no bracket */
    }
}

/* The end of the run of target characters from `i` (no `[]{}|` or line break); *colon: whether it holds `:`. */
static Py_ssize_t WK_FN(target_end)(const WK_CH *in, Py_ssize_t n, Py_ssize_t i, int *colon)
{
    int seen = 0;
    for (; i < n; i++) {
        Py_UCS4 c = in[i];
        if (c < 128) {
            if (wk_target_stop[c])
                break;
            seen |= c == ':';
        }
    }
    *colon = seen;
    return i;
}

/* The end of the link trail starting at `start`, or WK_ERROR. */
static Py_ssize_t WK_FN(trail_end)(wk_links *ctx, const WK_CH *in, Py_ssize_t n, Py_ssize_t start)
{
    if (ctx->trail_kind == WK_TRAIL_NONE)
        return start;
    const unsigned char *table = ctx->trail_table;
    int apostrophe = ctx->trail_kind == WK_TRAIL_APOSTROPHE;
    Py_ssize_t j = start;
    while (j < n) {
        Py_UCS4 c = in[j];
#if WK_KIND == 4
        if (c > 0xFFFF)
            return wk_trail_by_regex(ctx, start);
#endif
        if (table[c] || (apostrophe && c == '\'' && !(j + 1 < n && in[j + 1] == '\'')))
            j++;
        else
            break;
    }
    return j;
}

/* The scanner's match at `p` (a `[[` found by find_link): a link (close >= 0) or a stray `[[`. */
static int WK_FN(parse_match)(wk_links *ctx, const WK_CH *in, Py_ssize_t n, Py_ssize_t p, wk_match *m)
{
    Py_ssize_t t = WK_FN(target_end)(in, n, p + 2, &m->colon);
    m->start = p;
    m->target_end = t;
    m->label = -1;
    m->close = -1;
    m->end = p + 2;
    if (t < n && in[t] == '|') {
        /* the label runs to the first `[[` or `]]`; a link if that is `]]` */
        Py_ssize_t q = t + 1;
        for (;;) {
            q = WK_FN(find2)(in, q, n, '[', ']');
            if (q + 1 >= n)
                break;
            if (in[q + 1] == in[q]) {
                if (in[q] == ']') {
                    m->label = t + 1;
                    m->close = q;
                }
                break;
            }
            q++;
        }
    }
    else if (t + 1 < n && in[t] == ']' && in[t + 1] == ']')
        m->close = t;
    if (m->close < 0)
        return 0;
    m->end = WK_FN(trail_end)(ctx, in, n, m->close + 2);
    return m->end < 0 ? WK_ERROR : 0;
}

/* Appends text[a:b] without `]]` (left to right, as str.replace) and, if the text holds one, without _BREAK. */
static int WK_FN(emit_gap)(wk_links *ctx, const WK_CH *in, Py_ssize_t a, Py_ssize_t b)
{
    if (a >= b)
        return 0;
    if (wk_reserve(ctx, b - a) < 0)
        return WK_ERROR;
    WK_CH *out = (WK_CH *)ctx->out;
    Py_ssize_t o = ctx->o;
    while (a < b) {
#if WK_KIND == 1
        Py_ssize_t j = WK_FN(find2)(in, a, b, ']', ']');
#else
        Py_ssize_t j = WK_FN(find2)(in, a, b, ']', ctx->has_break ? WK_BREAK : ']');
#endif
        memcpy(out + o, in + a, (size_t)(j - a) * sizeof(WK_CH));
        o += j - a;
        if (j >= b)
            break;
        if (in[j] == ']') {
            if (j + 1 < b && in[j + 1] == ']') {
                a = j + 2;
                continue;
            }
            out[o++] = ']';
        }
        a = j + 1; /* past a lone `]` or a _BREAK */
    }
    ctx->o = o;
    return 0;
}

static int WK_FN(copy)(wk_links *ctx, const WK_CH *in, Py_ssize_t a, Py_ssize_t b)
{
    if (a >= b)
        return 0;
    if (wk_reserve(ctx, b - a) < 0)
        return WK_ERROR;
    memcpy((WK_CH *)ctx->out + ctx->o, in + a, (size_t)(b - a) * sizeof(WK_CH));
    ctx->o += b - a;
    return 0;
}

/* `_matching_close(text)`: the `[[` and `]]` tokens left to right without overlaps, each `]]` closing the last
 * open `[[`. */
static int WK_FN(build_pairs)(wk_links *ctx, const WK_CH *in, Py_ssize_t n)
{
    Py_ssize_t count = 0, i = 0;
    while (i + 1 < n) {
        if (in[i] == '[' && in[i + 1] == '[') {
            count++;
            i += 2;
        }
        else if (in[i] == ']' && in[i + 1] == ']')
            i += 2;
        else
            i++;
    }
    size_t size = (size_t)(count ? count : 1) * sizeof(Py_ssize_t);
    Py_ssize_t *stack = PyMem_Malloc(size);
    ctx->opens = PyMem_Malloc(size);
    ctx->closes = PyMem_Malloc(size);
    if (stack == NULL || ctx->opens == NULL || ctx->closes == NULL) {
        PyMem_Free(stack);
        PyErr_NoMemory();
        return WK_ERROR;
    }
    Py_ssize_t k = 0, depth = 0;
    i = 0;
    while (i + 1 < n) {
        if (in[i] == '[' && in[i + 1] == '[') {
            ctx->opens[k] = i;
            ctx->closes[k] = -1;
            stack[depth++] = k++;
            i += 2;
        }
        else if (in[i] == ']' && in[i + 1] == ']') {
            if (depth)
                ctx->closes[stack[--depth]] = i + 2;
            i += 2;
        }
        else
            i++;
    }
    PyMem_Free(stack);
    ctx->n_opens = k;
    ctx->pairs_ready = 1;
    return 0;
}

/* The end of `_CAPTIONED_LINK_RE`'s match at a `[[` whose target ends with `|` at `pipe` (its caption holds
 * single brackets and un-nested links `[[...]]` without brackets, up to `]]`), or -1. The pattern can only match
 * this way: backtracking never finds another end. */
static Py_ssize_t WK_FN(captioned_end)(const WK_CH *in, Py_ssize_t n, Py_ssize_t pipe)
{
    Py_ssize_t q = pipe + 1;
    while (q < n) {
        Py_UCS4 c = in[q];
        if (c == '[') {
            if (q + 1 < n && in[q + 1] == '[') {
                Py_ssize_t r = q + 2;
                while (r < n && in[r] != '[' && in[r] != ']')
                    r++;
                if (!(r + 1 < n && in[r] == ']' && in[r + 1] == ']'))
                    return -1;
                q = r + 2;
                continue;
            }
        }
        else if (c == ']' && q + 1 < n && in[q + 1] == ']')
            return q + 2;
        q++;
    }
    return -1;
}

/* A stray `[[` at p: if a file link (HIDDEN) whose caption holds links starts there, it is skipped whole: the
 * matches before its end are dropped and the next gap starts at its end (WK_FALLBACK if that end falls inside
 * a match, where `_mark_links` gives up too). */
static int WK_FN(stray)(wk_links *ctx, const WK_CH *in, Py_ssize_t n, Py_ssize_t p, Py_ssize_t *scan, Py_ssize_t *gap)
{
    int colon;
    Py_ssize_t t = WK_FN(target_end)(in, n, p + 2, &colon);
    if (!(t < n && in[t] == '|') || !colon) /* `classify` is never HIDDEN without a colon */
        return 0;
    PyObject *target = PyUnicode_Substring(ctx->text, p + 2, t);
    if (target == NULL)
        return WK_ERROR;
    int kind = wk_classify(ctx, target);
    Py_DECREF(target);
    if (kind != WK_HIDDEN)
        return kind == WK_ERROR ? WK_ERROR : 0;
    Py_ssize_t end = ctx->pairs_ready ? -1 : WK_FN(captioned_end)(in, n, t);
    if (end < 0) {
        if (!ctx->pairs_ready && WK_FN(build_pairs)(ctx, in, n) < 0)
            return WK_ERROR;
        end = wk_matching_close_of(ctx, p);
    }
    for (;;) {
        Py_ssize_t q = WK_FN(find_link)(in, n, *scan);
        if (q < 0 || end <= q)
            break;
        wk_match next;
        if (WK_FN(parse_match)(ctx, in, n, q, &next) < 0)
            return WK_ERROR;
        if (end < next.end)
            return WK_FALLBACK;
        *scan = next.end;
    }
    *gap = end;
    return 0;
}

/* A link: its display text (label, pipe trick or target, then the trail; line breaks as spaces, no _BREAK),
 * with the marks around its stripped core if it is an article link with a title. A HIDDEN link vanishes (its
 * trail then starts the next gap). */
static int WK_FN(link)(wk_links *ctx, const WK_CH *in, wk_match *m, Py_ssize_t *gap)
{
    PyObject *target = NULL, *title = NULL;
    int status = WK_ERROR, article = 0;
    Py_ssize_t a = m->start + 2, b = m->target_end;
    if (m->colon) {
        target = PyUnicode_Substring(ctx->text, a, b);
        if (target == NULL)
            return WK_ERROR;
        int kind = wk_classify(ctx, target);
        if (kind == WK_ERROR)
            goto done;
        if (kind == WK_HIDDEN) {
            *gap = m->close + 2;
            status = 0;
            goto done;
        }
        article = kind == WK_ARTICLE;
    }
    while (a < b && Py_UNICODE_ISSPACE(in[a]))
        a++;
    while (b > a && Py_UNICODE_ISSPACE(in[b - 1]))
        b--;
    if (!m->colon)
        article = a < b && in[a] != '#';
    Py_ssize_t d0 = ctx->o;
    if (m->label >= 0 && m->close > m->label) {
        if (WK_FN(copy)(ctx, in, m->label, m->close) < 0)
            goto done;
    }
    else if (m->label >= 0) { /* `[[target|]]` */
        if (target == NULL && (target = PyUnicode_Substring(ctx->text, m->start + 2, m->target_end)) == NULL)
            goto done;
        PyObject *shown = PyObject_CallOneArg(ctx->pipe_trick, target);
        if (shown == NULL)
            goto done;
        int appended = wk_append_str(ctx, shown);
        Py_DECREF(shown);
        if (appended) {
            status = appended;
            goto done;
        }
    }
    else {
        /* `_display_text`: the target stripped, without leading colons (and spaces after them), without `#` */
        if (m->colon) {
            while (a < b && in[a] == ':')
                a++;
            while (a < b && Py_UNICODE_ISSPACE(in[a]))
                a++;
        }
        if (a < b && in[a] == '#')
            a++;
        if (WK_FN(copy)(ctx, in, a, b) < 0)
            goto done;
    }
    if (WK_FN(copy)(ctx, in, m->close + 2, m->end) < 0)
        goto done;
    *gap = m->end;
    WK_CH *out = (WK_CH *)ctx->out;
    Py_ssize_t w = d0;
    for (Py_ssize_t r = d0; r < ctx->o; r++) {
        WK_CH c = out[r];
#if WK_KIND > 1
        if (c == WK_BREAK && ctx->has_break)
            continue;
#endif
        out[w++] = c == '\n' ? ' ' : c;
    }
    ctx->o = w;
    status = 0;
    if (!article)
        goto done;
    Py_ssize_t start = d0, end = w;
    while (start < end && Py_UNICODE_ISSPACE(out[start]))
        start++;
    while (end > start && Py_UNICODE_ISSPACE(out[end - 1]))
        end--;
    if (start == end)
        goto done;
    status = WK_ERROR;
    if (target == NULL && (target = PyUnicode_Substring(ctx->text, m->start + 2, m->target_end)) == NULL)
        goto done;
    title = wk_title(ctx, target);
    if (title == NULL)
        goto done;
    int truth = PyObject_IsTrue(title);
    if (truth < 0)
        goto done;
    if (truth) {
        if (PyList_Append(ctx->titles, title) < 0 || wk_reserve(ctx, 2) < 0)
            goto done;
        out = (WK_CH *)ctx->out;
        memmove(out + end + 2, out + end, (size_t)(w - end) * sizeof(WK_CH));
        memmove(out + start + 1, out + start, (size_t)(end - start) * sizeof(WK_CH));
        out[start] = WK_MARK;
        out[end + 1] = WK_MARK;
        ctx->o = w + 2;
    }
    status = 0;
done:
    Py_XDECREF(target);
    Py_XDECREF(title);
    return status;
}

static int WK_FN(mark_links)(wk_links *ctx, const WK_CH *in, Py_ssize_t n)
{
    Py_ssize_t gap = 0, scan = 0; /* the next gap starts at `gap`, the next match is searched from `scan` */
    for (;;) {
        Py_ssize_t p = WK_FN(find_link)(in, n, scan);
        if (p < 0)
            break;
        wk_match m;
        if (WK_FN(parse_match)(ctx, in, n, p, &m) < 0 || WK_FN(emit_gap)(ctx, in, gap, p) < 0)
            return WK_ERROR;
        scan = gap = m.end;
        int status = m.close < 0 ? WK_FN(stray)(ctx, in, n, p, &scan, &gap) : WK_FN(link)(ctx, in, &m, &gap);
        if (status)
            return status;
    }
    return WK_FN(emit_gap)(ctx, in, gap, n);
}

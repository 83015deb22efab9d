/* entities.c's scan for one string kind (WK_CH, WK_FN, WK_KIND defined): the spans of `_ENTITY_RE` matches, left
 * to right without overlaps, as `_replace_matches` finds them. Returns the number of spans, -1 when out of memory. */

static Py_ssize_t WK_FN(entity_spans)(const WK_CH *in, Py_ssize_t n, wk_offsets *spans)
{
    Py_ssize_t count = 0, i = 0;
    for (;;) {
        i = wk_find_end(in, WK_KIND, i, n, '&');
        if (i >= n)
            break;
        Py_ssize_t end = WK_FN(entity_end)(in, i + 1, n);
        if (end < 0) {
            i++;
            continue;
        }
        if (wk_push(spans, i) < 0 || wk_push(spans, end) < 0)
            return -1;
        count++;
        i = end;
    }
    return count;
}

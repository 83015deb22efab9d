/* entities.c's scan for one string kind (WK_CH, WK_FN, WK_KIND defined): the spans of `_ENTITY_RE` matches, left
 * to right without overlaps, as `_replace_matches` finds them. Returns the number of spans, -1 when out of memory. */

static Py_ssize_t WK_FN(entity_spans)(const WK_CH *in, Py_ssize_t n, Py_ssize_t **spans, Py_ssize_t *cap)
{
    Py_ssize_t count = 0, i = 0;
    for (;;) {
#if WK_KIND == 1
        const WK_CH *found = memchr(in + i, '&', (size_t)(n - i));
        if (found == NULL)
            break;
        i = found - in;
#elif WK_KIND == 2
        i = wk_find_ucs2(in, i, n, '&');
#else
        i = wk_find_ucs4(in, i, n, '&');
#endif
        if (i >= n)
            break;
        Py_ssize_t end = WK_FN(entity_end)(in, i + 1, n);
        if (end < 0) {
            i++;
            continue;
        }
        if (2 * count + 2 > *cap) {
            Py_ssize_t grown_cap = *cap ? 2 * *cap : 64;
            Py_ssize_t *grown = PyMem_Realloc(*spans, (size_t)grown_cap * sizeof(Py_ssize_t));
            if (grown == NULL) {
                PyErr_NoMemory();
                return -1;
            }
            *spans = grown;
            *cap = grown_cap;
        }
        (*spans)[2 * count] = i;
        (*spans)[2 * count + 1] = end;
        count++;
        i = end;
    }
    return count;
}

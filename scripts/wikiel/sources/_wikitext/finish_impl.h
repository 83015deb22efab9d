/* finish.c's loop for one string kind: included once per kind with WK_CH (the character type) and WK_FN(name)
 * defined. Writes the collapsed, restored text without marks to `out` (room for n characters) and the output
 * offset of each mark to `marks`; returns the output length, or -1 (with an exception) if out of memory. */

static Py_ssize_t WK_FN(finish)(const WK_CH *in, Py_ssize_t n, WK_CH *out, wk_offsets *marks)
{
    Py_ssize_t i = 0, o = 0;
    while (i < n && (in[i] == ' ' || in[i] == '\n'))  /* the leading run goes */
        i++;
    while (i < n) {
        /* the characters kept as they are: all but spaces, line breaks, marks and placeholders */
#if WK_KIND > 1
        while (i < n && in[i] > ' ' && in[i] < WK_PLACEHOLDER_BASE)
#else
        while (i < n && in[i] > ' ')
#endif
            out[o++] = in[i++];
        if (i == n)
            break;
        Py_UCS4 c = in[i];
        if (c == ' ' || c == '\n') {
            /* a run of spaces and line breaks: " " without a line break, else one or two line breaks */
            Py_ssize_t j = i, newlines = 0;
            while (j < n && (in[j] == ' ' || in[j] == '\n')) {
                newlines += in[j] == '\n';
                j++;
            }
            if (j == n)  /* the trailing run goes */
                break;
            if (newlines == 0)
                out[o++] = ' ';
            else {
                out[o++] = '\n';
                if (newlines > 1)
                    out[o++] = '\n';
            }
            i = j;
            continue;
        }
        i++;
        if (c == WK_MARK) {
            if (wk_push(marks, o) < 0)
                return -1;
            continue;
        }
#if WK_KIND > 1
        if (c >= WK_PLACEHOLDER_BASE && c < WK_PLACEHOLDER_BASE + WK_N_PROTECTED)
            c = (Py_UCS4)WK_PROTECTED[c - WK_PLACEHOLDER_BASE];
#endif
        out[o++] = (WK_CH)c;
    }
    return o;
}

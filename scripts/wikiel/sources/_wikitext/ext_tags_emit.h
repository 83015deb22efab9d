/* ext_tags.c's output for one pair of kinds: included with WK_CH (input characters), WK_OUT (output
 * characters: the same, or UCS2 for a UCS1 input that gets placeholders) and WK_EFN(name) defined. */

static void WK_EFN(ext_tags_emit)(const WK_CH *in, const wk_ops *ops, WK_OUT *out)
{
    Py_ssize_t o = 0;
    for (Py_ssize_t k = 0; k < ops->len; k++) {
        const wk_op *op = &ops->items[k];
        if (op->op == WK_OP_BREAK) {
            out[o++] = (WK_OUT)WK_BREAK;
            continue;
        }
        if (op->op == WK_OP_COPY && sizeof(WK_CH) == sizeof(WK_OUT)) {
            memcpy(out + o, in + op->start, (size_t)(op->end - op->start) * sizeof(WK_CH));
            o += op->end - op->start;
            continue;
        }
        for (Py_ssize_t i = op->start; i < op->end; i++) {
            Py_UCS4 c = in[i];
            if (op->op == WK_OP_PROTECT && c < 128 && wk_protect_index[c])
                c = WK_PLACEHOLDER_BASE + wk_protect_index[c] - 1;
            out[o++] = (WK_OUT)c;
        }
    }
}

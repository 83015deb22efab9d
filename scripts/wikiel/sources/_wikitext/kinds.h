/* Includes the template header named by WK_IMPL (e.g. `#define WK_IMPL "finish_impl.h"`) once per string kind,
 * with WK_KIND (1, 2 or 4), WK_CH (the character type) and WK_FN(name) (name_ucs1, name_ucs2, name_ucs4) defined:
 * the one place the passes are instantiated for the three kinds of str. */

#define WK_KIND 1
#define WK_CH Py_UCS1
#define WK_FN(name) name##_ucs1
#include WK_IMPL
#undef WK_KIND
#undef WK_CH
#undef WK_FN

#define WK_KIND 2
#define WK_CH Py_UCS2
#define WK_FN(name) name##_ucs2
#include WK_IMPL
#undef WK_KIND
#undef WK_CH
#undef WK_FN

#define WK_KIND 4
#define WK_CH Py_UCS4
#define WK_FN(name) name##_ucs4
#include WK_IMPL
#undef WK_KIND
#undef WK_CH
#undef WK_FN

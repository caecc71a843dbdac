/* One build of the C ops for tools/bench_fastmath.py: includes a copy of
 * csrc/mlnn_fastmath.c (the directory given with -I) and exports its three
 * level tables as TAG_tables.  The public functions are renamed with the tag
 * so that two builds (this tree and a reference revision) link into one
 * timing program. */
#define MLNN_BT_CAT2(a, b) a##b
#define MLNN_BT_CAT(a, b) MLNN_BT_CAT2(a, b)
#define MLNN_BT(name) MLNN_BT_CAT(BENCH_TAG, name)
#define mlnn_get_ops MLNN_BT(_get_ops)
#define mlnn_level_selected MLNN_BT(_level_selected)
#define mlnn_level_name MLNN_BT(_level_name)
#define mlnn_level_isa MLNN_BT(_level_isa)
#define mlnn_level_compiled MLNN_BT(_level_compiled)
#define mlnn_cpu_has_level MLNN_BT(_cpu_has_level)
#define mlnn_level_supported MLNN_BT(_level_supported)
#define mlnn_level_requested MLNN_BT(_level_requested)
#define mlnn_level_request_known MLNN_BT(_level_request_known)
#include "mlnn_fastmath.c"

const void *MLNN_BT(_tables)[3] = {
    &ops_base,
#if MLNN_DISPATCH
    &ops_avx2, &ops_avx512,
#else
    0, 0,
#endif
};

/* Every kernel of one CPU level, included by mlnn_fastmath.c once per level
 * with MLNN_SUFFIX (the level's name suffix) and MLNN_VBYTES (its vector
 * width for code written with GCC/Clang vector extensions, 0 for none)
 * defined.  Not a public header. */
#include "mlnn_fastmath_impl.h"

#define MLNN_T double
#define MLNN_TS d
#include "mlnn_dense_impl.h"
#undef MLNN_T
#undef MLNN_TS

#define MLNN_T float
#define MLNN_TS f
#include "mlnn_dense_impl.h"
#undef MLNN_T
#undef MLNN_TS

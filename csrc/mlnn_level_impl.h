/* One CPU level: every kernel, and the level's table of ops.  Included by
 * mlnn_fastmath.c once per level, under the level's target pragma, with
 * MLNN_LEVEL (its id), MLNN_SUFFIX (its name suffix: _base, _avx2, ...) and
 * MLNN_VBYTES (its vector width for code written with GCC/Clang vector
 * extensions, 0 for none) defined.  Not a public header.
 *
 * Each kernel is defined as a static function named op + type letter +
 * suffix (tanh_d_avx2, dense_fwd_f_base, ...); the table ops<suffix> is
 * filled from the one list of ops in mlnn_fastmath.h, so a level cannot
 * miss an op, and a kernel whose signature differs from the list's is a
 * compile-time error (the diagnostic pragma in mlnn_fastmath.c). */
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

#define MLNN_OP_ENTRY(ret, name, params) .name = MLNN_NAME(name),
static const struct mlnn_ops MLNN_NAME(ops) = {MLNN_OPS(MLNN_OP_ENTRY)};
#undef MLNN_OP_ENTRY

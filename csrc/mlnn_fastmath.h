/*
 * mlnn_fastmath: the C ops behind mlnn._kernels -- vectorizable exp / tanh /
 * sigmoid over contiguous arrays, dot products and sums that vectorize
 * without -ffast-math, the loops of small dense layers, softmax, argmax and
 * the optimizer steps -- compiled once per CPU level and reached through one
 * table of function pointers.
 *
 * Levels and tables.  MLNN_OPS below lists every op once, with its
 * signature.  From that list this header makes struct mlnn_ops, one function
 * pointer per op and element type (tanh_d, tanh_f, ...).  mlnn_fastmath.c
 * compiles the generic source (mlnn_fastmath_impl.h, mlnn_dense_impl.h) once
 * per CPU level -- baseline x86-64 (SSE2), AVX2 + FMA, AVX-512 (F, VL, DQ)
 * -- under a target pragma, and each compilation fills one table from the
 * same list.  mlnn_get_ops() picks the table at first use from cpuid, capped by
 * the environment variable MLNN_CPU_LEVEL=baseline|avx2|avx512.  Callers
 * (the Cython layer) fetch the pointer once and call through it.  A new
 * level is one more compilation of the generic source and one more entry,
 * with its CPU check, in mlnn_fastmath.c's list of levels.
 *
 * Where the compiler is not GCC or Clang on x86-64 (MLNN_DISPATCH 0 in
 * mlnn_fastmath.c) only the baseline table exists.  The build never uses
 * -march=native: a wheel runs on any x86-64 CPU and still gets its best
 * level.
 *
 * Accuracy: the loops are branch-free (selects instead of branches) so that
 * GCC/Clang vectorize them, and accurate to a few ulp over the whole range
 * (power-of-two range reduction, a degree-11 polynomial, one division in
 * tanh); tests/test_fastmath.py holds the bounds against long double at
 * every level the CPU has: tanh <= 3 ulp, exp <= 1.5, sigmoid <= 2.5.
 * The float versions run the same algorithms in float arithmetic (twice the
 * elements per vector, a degree-7 expm1), with float bounds: tanh <= 3
 * ulp of float, exp <= 1.5, sigmoid <= 3.
 * Special values follow C99/NumPy: tanh(+-0) = +-0, tanh(+-inf) = +-1,
 * NaN -> NaN, subnormals pass through (tanh(x) = x to within rounding).
 * exp overflows to inf above log(DBL_MAX) (float: log(FLT_MAX)); its
 * results below the smallest normal double (float) are flushed to 0, and so
 * are sigmoid's (x below log(DBL_MIN), float: log(FLT_MIN)).
 *
 * Results may differ in the last bits between levels (FMA contraction,
 * vector widths that change summation order) but never with the thread
 * count: every sum has an order fixed by the sizes alone.
 */
#ifndef MLNN_FASTMATH_H
#define MLNN_FASTMATH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The ops, for element type T (double or float) with letter TS (d or f).
 * X(return type, name, parameters) once per op.
 *
 * Element-wise, over n contiguous elements; out may alias x:
 *   tanh:    out[i] = tanh(x[i])
 *   exp:     out[i] = exp(x[i])
 *   sigmoid: out[i] = 1 / (1 + exp(-x[i]))
 * Reductions, accumulated in double: 16 partial sums (lane u takes the
 * elements i = u mod 16, the last n mod 16 included), added in a fixed
 * pairwise tree, so the result depends only on n (and the level):
 *   dot: sum_i a[i] * b[i]        sum: sum_i a[i]
 *
 * Small dense layers, feature-major: a layer's activations are (width, m),
 * rows ld >= m elements apart (csrc/mlnn_dense_impl.h).  Every (k, m) array
 * below has that row stride; only the first m entries of a row are read or
 * written.  Outputs must not overlap inputs.
 *   dense_fwd: out (n_out, m) = W^T @ inT + b, with W (n_in, n_out)
 *     row-major, inT (n_in, m).
 *   dense_bwd: dinT (n_in, m) = (W @ delta) * f'(act), delta (n_out, m),
 *     act (n_in, m) = f(pre_act) of the layer below; activation codes in
 *     mlnn_spec.h.
 *   dense_dw: dW (n_in, n_out) = inT @ delta^T and db (n_out) = row sums of
 *     delta, summed in double.
 *   act_grad: d (rows, m) *= f'(pre_act), from g (rows, m) = f(pre_act).
 *   bias_act: z (rows, m) = f(z + b), b (rows,) one bias per row, in place;
 *     b NULL: z = f(z).  A layer's bias and activation in one pass after its
 *     BLAS product; identity: the bias alone.
 *   softmax: z (n, m) logits -> probabilities over the n rows of each
 *     column, in place; tmp (m,) scratch.
 *   softmax_delta: delta (n, m) = softmax(z) - onehot(y) from the logits z
 *     (n, m), y (m,) labels in [0, n); tmp (m,) scratch.
 *   argmax: labels (m,) = row index of the largest of each column of probs
 *     (n, m), ties to the lowest, -1 for a column with a NaN; best (m,)
 *     scratch.
 *   cols_in: dst (cols, m) = src (m, cols) row-major, transposed; returns
 *     how many of its entries are NaN or +-inf.
 *   cols_out: dst (m, cols) row-major = src (cols, m), transposed.
 * The gradient reduction over chunk slots (mlnn_dense_impl.h):
 *   reduce: for p in [p0, p1), grads[p] = sum over chunks c = 0, 1, ... (in
 *     that order, in double) of ws[c * stride + p], plus reg * params[p] for
 *     the weights (p < n_weights); returns how many of those gradients, or of
 *     the candidate weights params[p] - eps * grads[p], are NaN or +-inf.
 *     params NULL: the sums alone (reg, eps and n_weights unused), returns 0.
 * The estimators' optimizer steps on params[p0:p1) from a batch's gradient
 * sums (mlnn_dense_impl.h); velocity, m, v (n_params,) are the state:
 *   sgd_step, adam_step.
 */
#define MLNN_OPS_OF(X, TS, T)                                                       \
    X(void, tanh_##TS, (const T *x, T *out, ptrdiff_t n))                           \
    X(void, exp_##TS, (const T *x, T *out, ptrdiff_t n))                            \
    X(void, sigmoid_##TS, (const T *x, T *out, ptrdiff_t n))                        \
    X(double, dot_##TS, (const T *a, const T *b, ptrdiff_t n))                      \
    X(double, sum_##TS, (const T *a, ptrdiff_t n))                                  \
    X(void, dense_fwd_##TS, (const T *inT, const T *W, const T *b, T *out,          \
                             ptrdiff_t m, ptrdiff_t ld, ptrdiff_t n_in,             \
                             ptrdiff_t n_out))                                      \
    X(void, dense_bwd_##TS, (const T *delta, const T *W, const T *act, T *dinT,     \
                             ptrdiff_t m, ptrdiff_t ld, ptrdiff_t n_in,             \
                             ptrdiff_t n_out, int activation))                      \
    X(void, dense_dw_##TS, (const T *inT, const T *delta, T *dW, T *db, ptrdiff_t m, \
                            ptrdiff_t ld, ptrdiff_t n_in, ptrdiff_t n_out))         \
    X(void, act_grad_##TS, (T *d, const T *g, ptrdiff_t m, ptrdiff_t ld,            \
                            ptrdiff_t rows, int activation))                        \
    X(void, bias_act_##TS, (T *z, const T *b, ptrdiff_t m, ptrdiff_t ld,            \
                            ptrdiff_t rows, int activation))                        \
    X(void, softmax_##TS, (T *z, T *tmp, ptrdiff_t n, ptrdiff_t m, ptrdiff_t ld))   \
    X(void, softmax_delta_##TS, (const T *z, const int64_t *y, T *delta, T *tmp,    \
                                 ptrdiff_t n, ptrdiff_t m, ptrdiff_t ld))           \
    X(void, argmax_##TS, (const T *probs, int64_t *labels, T *best, ptrdiff_t n,    \
                          ptrdiff_t m, ptrdiff_t ld))                               \
    X(ptrdiff_t, cols_in_##TS, (const T *src, T *dst, ptrdiff_t m, ptrdiff_t cols,  \
                                ptrdiff_t ld))                                      \
    X(void, cols_out_##TS, (const T *src, T *dst, ptrdiff_t m, ptrdiff_t cols,      \
                            ptrdiff_t ld))                                          \
    X(ptrdiff_t, reduce_##TS, (const T *ws, ptrdiff_t stride, ptrdiff_t n_chunks,     \
                               const T *params, T *grads, ptrdiff_t n_weights,       \
                               double reg, double eps, ptrdiff_t p0, ptrdiff_t p1))  \
    X(void, sgd_step_##TS, (T *params, const T *sums, T *velocity, ptrdiff_t p0,    \
                            ptrdiff_t p1, ptrdiff_t n_weights, double alpha,        \
                            double s, double lr, double momentum, int nesterov))    \
    X(void, adam_step_##TS, (T *params, const T *sums, T *m, T *v, ptrdiff_t p0,    \
                             ptrdiff_t p1, ptrdiff_t n_weights, double alpha,       \
                             double s, double lr_t, double beta_1, double beta_2,   \
                             double epsilon))

/* Every op, for both element types */
#define MLNN_OPS(X) MLNN_OPS_OF(X, d, double) MLNN_OPS_OF(X, f, float)

/* One CPU level's ops: a function pointer per op and element type */
#define MLNN_OP_FIELD(ret, name, params) ret (*name) params;
struct mlnn_ops {
    MLNN_OPS(MLNN_OP_FIELD)
};
#undef MLNN_OP_FIELD

/* The CPU levels, lowest first; MLNN_CPU_LEVEL takes their names. */
enum mlnn_cpu_level {
    MLNN_LEVEL_BASELINE = 0,
    MLNN_LEVEL_AVX2 = 1,
    MLNN_LEVEL_AVX512 = 2,
    MLNN_N_LEVELS = 3
};

/* The table of the selected level, chosen at the first call (cpuid, capped by
 * MLNN_CPU_LEVEL; MLNN_CPU_PATH=baseline is an older spelling of
 * MLNN_CPU_LEVEL=baseline).  An unknown MLNN_CPU_LEVEL is ignored. */
const struct mlnn_ops *mlnn_get_ops(void);
/* The selected level (makes the choice if not yet made). */
int mlnn_level_selected(void);
/* "baseline", "avx2", "avx512"; and the instruction sets each one uses */
const char *mlnn_level_name(int level);
const char *mlnn_level_isa(int level);
/* Whether a level is compiled into this build; whether this CPU (and OS)
 * has its instructions (0 where the compiler cannot ask cpuid); and both:
 * the levels this build can run here. */
int mlnn_level_compiled(int level);
int mlnn_cpu_has_level(int level);
int mlnn_level_supported(int level);
/* The MLNN_CPU_LEVEL value the choice read (NULL if unset), and whether it
 * named a level. */
const char *mlnn_level_requested(void);
int mlnn_level_request_known(void);

#ifdef __cplusplus
}
#endif
#endif

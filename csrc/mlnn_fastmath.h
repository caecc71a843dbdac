/*
 * mlnn_fastmath: vectorizable exp / tanh / sigmoid over contiguous arrays,
 * dot products / sums that vectorize without -ffast-math, and the loops
 * of small dense layers.
 *
 * Why: the notebook workload spends most of its time in tanh and exp, and
 * np.tanh costs 19-47 ns per element (this one about 1.3 ns with AVX2).
 * These loops are branch-free (selects instead of branches) so that
 * GCC/Clang vectorize them, and accurate to a few ulp over the whole range
 * (power-of-two range reduction, a degree-11 polynomial, one division in
 * tanh); tests/test_fastmath.py holds the bounds against long double:
 * tanh <= 3 ulp, exp <= 1.5 (measured 2.63 and 1.07).
 *
 * Special values follow C99/NumPy: tanh(+-0) = +-0, tanh(+-inf) = +-1,
 * NaN -> NaN, subnormals pass through (tanh(x) = x to within rounding).
 * exp results below the smallest normal double are flushed to 0.
 *
 * Portability: the default build uses only baseline x86-64 (SSE2).  Where the
 * compiler is GCC or Clang on x86-64, each array function is also
 * compiled for AVX2 + FMA and the first call picks a version by cpuid
 * (mlnn_cpu_path() reports which one this CPU gets).
 *
 * All functions work in place or out of place (out may alias x).
 * The float versions compute in double and round once, so they are accurate
 * to within half an ulp of float plus the double error.
 */
#ifndef MLNN_FASTMATH_H
#define MLNN_FASTMATH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* out[i] = tanh(x[i]) for i < n */
void mlnn_tanh_d(const double *x, double *out, ptrdiff_t n);
void mlnn_tanh_f(const float *x, float *out, ptrdiff_t n);
/* out[i] = exp(x[i]) */
void mlnn_exp_d(const double *x, double *out, ptrdiff_t n);
void mlnn_exp_f(const float *x, float *out, ptrdiff_t n);
/* out[i] = 1 / (1 + exp(-x[i])) */
void mlnn_sigmoid_d(const double *x, double *out, ptrdiff_t n);
void mlnn_sigmoid_f(const float *x, float *out, ptrdiff_t n);

/* sum_i a[i] * b[i] and sum_i a[i], accumulated in double with a fixed
 * order that depends only on n (8 interleaved partial sums). */
double mlnn_dot_d(const double *a, const double *b, ptrdiff_t n);
double mlnn_dot_f(const float *a, const float *b, ptrdiff_t n);
double mlnn_sum_d(const double *a, ptrdiff_t n);
double mlnn_sum_f(const float *a, ptrdiff_t n);

/* Small dense layers, feature-major: a layer's activations are (width, m),
 * rows ld >= m elements apart (csrc/mlnn_dense_impl.h).  Every (k, m) array
 * below has that row stride; only the first m entries of a row are read or
 * written.
 * dense_fwd: out (n_out, m) = W^T @ inT + b, with W (n_in, n_out) row-major,
 *   inT (n_in, m).
 * dense_bwd: dinT (n_in, m) = (W @ delta) * f'(act), delta (n_out, m), act
 *   (n_in, m) = f(pre_act) of the layer below; activation 0 tanh, 1 relu,
 *   2 sigmoid, 3 identity (mlnn._spec.ACTIVATIONS).
 * dense_dw: dW (n_in, n_out) = inT @ delta^T and db (n_out) = row sums of
 *   delta, summed in double with the order of mlnn_dot / mlnn_sum.
 * act_grad: d (rows, m) *= f'(pre_act), from g (rows, m) = f(pre_act);
 *   activation as for dense_bwd.
 * softmax: z (n, m) logits -> probabilities over the n rows of each column,
 *   in place; tmp (m,) scratch.
 * softmax_delta: delta (n, m) = softmax(z) - onehot(y) from the logits z
 *   (n, m), y (m,) labels in [0, n); tmp (m,) scratch.
 * argmax: labels (m,) = row index of the largest of each column of probs
 *   (n, m), ties to the lowest, -1 for a column with a NaN; best (m,) scratch.
 * cols_in: dst (cols, m) = src (m, cols) row-major, transposed; returns how
 *   many of its entries are NaN or +-inf.
 * cols_out: dst (m, cols) row-major = src (cols, m), transposed.
 * sgd_step, adam_step: the estimators' optimizer steps on params[p0:p1)
 *   from a batch's gradient sums (mlnn_dense_impl.h); velocity, m, v
 *   (n_params,) are the optimizer state.
 * Outputs must not overlap inputs. */
#define MLNN_DENSE_DECLS(TS, T)                                                        \
    void mlnn_dense_fwd_##TS(const T *inT, const T *W, const T *b, T *out, ptrdiff_t m,  \
                             ptrdiff_t ld, ptrdiff_t n_in, ptrdiff_t n_out);             \
    void mlnn_dense_bwd_##TS(const T *delta, const T *W, const T *act, T *dinT,          \
                             ptrdiff_t m, ptrdiff_t ld, ptrdiff_t n_in, ptrdiff_t n_out, \
                             int activation);                                            \
    void mlnn_dense_dw_##TS(const T *inT, const T *delta, T *dW, T *db, ptrdiff_t m,     \
                            ptrdiff_t ld, ptrdiff_t n_in, ptrdiff_t n_out);              \
    void mlnn_act_grad_##TS(T *d, const T *g, ptrdiff_t m, ptrdiff_t ld, ptrdiff_t rows,  \
                            int activation);                                             \
    void mlnn_softmax_##TS(T *z, T *tmp, ptrdiff_t n, ptrdiff_t m, ptrdiff_t ld);        \
    void mlnn_softmax_delta_##TS(const T *z, const int64_t *y, T *delta, T *tmp,         \
                                 ptrdiff_t n, ptrdiff_t m, ptrdiff_t ld);                \
    void mlnn_argmax_##TS(const T *probs, int64_t *labels, T *best, ptrdiff_t n,         \
                          ptrdiff_t m, ptrdiff_t ld);                                    \
    ptrdiff_t mlnn_cols_in_##TS(const T *src, T *dst, ptrdiff_t m, ptrdiff_t cols,       \
                                ptrdiff_t ld);                                           \
    void mlnn_cols_out_##TS(const T *src, T *dst, ptrdiff_t m, ptrdiff_t cols, ptrdiff_t ld); \
    void mlnn_sgd_step_##TS(T *params, const T *sums, T *velocity, ptrdiff_t p0,         \
                            ptrdiff_t p1, ptrdiff_t n_weights, double alpha, double s,   \
                            double lr, double momentum, int nesterov);                   \
    void mlnn_adam_step_##TS(T *params, const T *sums, T *m, T *v, ptrdiff_t p0,         \
                             ptrdiff_t p1, ptrdiff_t n_weights, double alpha, double s,  \
                             double lr_t, double beta_1, double beta_2, double epsilon);
MLNN_DENSE_DECLS(d, double)
MLNN_DENSE_DECLS(f, float)
#undef MLNN_DENSE_DECLS

/* 1 when the CPU has AVX-512 F/VL/DQ (where BLAS runs AVX-512 kernels). */
int mlnn_cpu_has_avx512(void);

/* Names of the code paths compiled in, and the one selected on this CPU. */
const char *mlnn_cpu_paths_compiled(void);
const char *mlnn_cpu_path(void);

#ifdef __cplusplus
}
#endif
#endif

/* See mlnn_fastmath.h for the contract.
 *
 * Runtime CPU dispatch: the kernels in mlnn_fastmath_impl.h are compiled
 * twice, for baseline x86-64 (SSE2) and, with GCC or Clang on x86-64, for
 * AVX2 + FMA via a target pragma.  The first call asks the CPU (cpuid, via
 * __builtin_cpu_supports) and every public function then jumps to the best
 * version.  (GCC's target_clones was tried first: its Haswell clone was not
 * vectorized with 256-bit registers by GCC 12, and ran 3x slower.)
 */
#include "mlnn_fastmath.h"
#include "mlnn_spec.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(_MSC_VER) && !defined(restrict)
#define restrict __restrict
#endif

#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__) \
    && !defined(MLNN_NO_DISPATCH)
#define MLNN_DISPATCH 1
#else
#define MLNN_DISPATCH 0
#endif

#if MLNN_DISPATCH
#include <immintrin.h> /* the AVX2 level's tanh (mlnn_fastmath_impl.h) */
#endif

static const double MAGIC = 6755399441055744.0; /* 1.5 * 2^52 */
static const double LOG2E = 1.4426950408889634074;
static const double LN2_HI = 6.93145751953125E-1;
static const double LN2_LO = 1.42860682030941723212E-6;
static const double LN2 = 0.693147180559945309417;      /* LN2_HI + LN2_LO, rounded */
static const double EXP_HI = 709.782712893384;   /* log(DBL_MAX) */
static const double EXP_LO = -708.39641853226408; /* log(DBL_MIN) */
/* V in expm1(r) = r + r^2 V(r), lowest degree first (tools/fit_expm1.py) */
#define MLNN_EXPM1_V(F)                                                        \
    F(0, 0.5000000000000001) F(1, 0.16666666666666669)                          \
    F(2, 0.041666666666624164) F(3, 0.008333333333330065)                       \
    F(4, 0.001388888891719689) F(5, 0.00019841269863040675)                     \
    F(6, 2.480152132210459e-05) F(7, 2.7557268480106926e-06)                    \
    F(8, 2.762007600563138e-07) F(9, 2.5100375929185925e-08)
#define MLNN_COEF(k, c) c,
#define MLNN_COEF2(k, c) c * (double)(2 << k), /* exact: times 2^(k+1) */
static const double EXPM1_V[10] = {MLNN_EXPM1_V(MLNN_COEF)};
/* 2^(k+1) V[k]: the polynomial in r = x/2 that gives expm1(x)/2 (tanh) */
static const double EXPM1_V2[10] = {MLNN_EXPM1_V(MLNN_COEF2)};
#undef MLNN_COEF
#undef MLNN_COEF2


/* MLNN_VBYTES: the vector width of a level for the code written with GCC/Clang
 * vector extensions; 0 (plain loops only) for other compilers. */
#if defined(__GNUC__) || defined(__clang__)
#define MLNN_VBYTES_BASE 16
#define MLNN_VBYTES_AVX2 32
#else
#define MLNN_VBYTES_BASE 0
#define MLNN_VBYTES_AVX2 0
#endif

#define MLNN_SUFFIX _base
#define MLNN_VBYTES MLNN_VBYTES_BASE
#include "mlnn_level_impl.h"
#undef MLNN_VBYTES
#undef MLNN_SUFFIX

#if MLNN_DISPATCH
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#define MLNN_SUFFIX _avx2
#define MLNN_VBYTES MLNN_VBYTES_AVX2
#include "mlnn_level_impl.h"
#undef MLNN_VBYTES
#undef MLNN_SUFFIX
#pragma GCC pop_options
#endif

/* 0: not yet known, 1: baseline, 2: avx2+fma.  Racing first calls all
 * compute and store the same value, so no lock is needed. */
static volatile int cpu_level = 0;

static int level(void)
{
    int lv = cpu_level;
    if (lv == 0) {
        lv = 1;
#if MLNN_DISPATCH
        /* MLNN_CPU_PATH=baseline forces the baseline code (for tests) */
        const char *force = getenv("MLNN_CPU_PATH");
        __builtin_cpu_init();
        if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")
            && !(force != NULL && strcmp(force, "baseline") == 0))
            lv = 2;
#endif
        cpu_level = lv;
    }
    return lv;
}

#if MLNN_DISPATCH
#define MLNN_DISPATCH_FN(name, T)                                   \
    void mlnn_##name(const T *x, T *out, ptrdiff_t n)               \
    {                                                               \
        if (level() == 2)                                           \
            name##_avx2(x, out, n);                                 \
        else                                                        \
            name##_base(x, out, n);                                 \
    }
#else
#define MLNN_DISPATCH_FN(name, T)                                   \
    void mlnn_##name(const T *x, T *out, ptrdiff_t n)               \
    {                                                               \
        name##_base(x, out, n);                                     \
    }
#endif

MLNN_DISPATCH_FN(tanh_d, double)
MLNN_DISPATCH_FN(tanh_f, float)
MLNN_DISPATCH_FN(exp_d, double)
MLNN_DISPATCH_FN(exp_f, float)
MLNN_DISPATCH_FN(sigmoid_d, double)
MLNN_DISPATCH_FN(sigmoid_f, float)

#if MLNN_DISPATCH
#define MLNN_DISPATCH_RED(name, T, ARGS, CALL)                      \
    double mlnn_##name ARGS                                         \
    {                                                               \
        return level() == 2 ? name##_avx2 CALL : name##_base CALL;  \
    }
#else
#define MLNN_DISPATCH_RED(name, T, ARGS, CALL)                      \
    double mlnn_##name ARGS { return name##_base CALL; }
#endif

MLNN_DISPATCH_RED(dot_d, double, (const double *a, const double *b, ptrdiff_t n), (a, b, n))
MLNN_DISPATCH_RED(dot_f, float, (const float *a, const float *b, ptrdiff_t n), (a, b, n))
MLNN_DISPATCH_RED(sum_d, double, (const double *a, ptrdiff_t n), (a, n))
MLNN_DISPATCH_RED(sum_f, float, (const float *a, ptrdiff_t n), (a, n))

#if MLNN_DISPATCH
#define MLNN_PICK(name) (level() == 2 ? name##_avx2 : name##_base)
#else
#define MLNN_PICK(name) name##_base
#endif

#define MLNN_DENSE_WRAPPERS(TS, T)                                                     \
    void mlnn_dense_fwd_##TS(const T *inT, const T *W, const T *b, T *out, ptrdiff_t m,  \
                             ptrdiff_t ld, ptrdiff_t n_in, ptrdiff_t n_out)              \
    {                                                                                    \
        MLNN_PICK(dense_fwd_##TS)(inT, W, b, out, m, ld, n_in, n_out);                   \
    }                                                                                    \
    void mlnn_dense_bwd_##TS(const T *delta, const T *W, const T *act, T *dinT,          \
                             ptrdiff_t m, ptrdiff_t ld, ptrdiff_t n_in, ptrdiff_t n_out, \
                             int activation)                                             \
    {                                                                                    \
        MLNN_PICK(dense_bwd_##TS)(delta, W, act, dinT, m, ld, n_in, n_out, activation);  \
    }                                                                                    \
    void mlnn_dense_dw_##TS(const T *inT, const T *delta, T *dW, T *db, ptrdiff_t m,     \
                            ptrdiff_t ld, ptrdiff_t n_in, ptrdiff_t n_out)               \
    {                                                                                    \
        MLNN_PICK(dense_dw_##TS)(inT, delta, dW, db, m, ld, n_in, n_out);                \
    }                                                                                    \
    void mlnn_act_grad_##TS(T *d, const T *g, ptrdiff_t m, ptrdiff_t ld, ptrdiff_t rows,  \
                            int activation)                                              \
    {                                                                                    \
        MLNN_PICK(act_grad_##TS)(d, g, m, ld, rows, activation);                         \
    }                                                                                    \
    void mlnn_softmax_##TS(T *z, T *tmp, ptrdiff_t n, ptrdiff_t m, ptrdiff_t ld)         \
    {                                                                                    \
        MLNN_PICK(softmax_##TS)(z, tmp, n, m, ld);                                       \
    }                                                                                    \
    void mlnn_softmax_delta_##TS(const T *z, const int64_t *y, T *delta, T *tmp,         \
                                 ptrdiff_t n, ptrdiff_t m, ptrdiff_t ld)                 \
    {                                                                                    \
        MLNN_PICK(softmax_delta_##TS)(z, y, delta, tmp, n, m, ld);                       \
    }                                                                                    \
    void mlnn_argmax_##TS(const T *probs, int64_t *labels, T *best, ptrdiff_t n,         \
                          ptrdiff_t m, ptrdiff_t ld)                                     \
    {                                                                                    \
        MLNN_PICK(argmax_##TS)(probs, labels, best, n, m, ld);                           \
    }                                                                                    \
    ptrdiff_t mlnn_cols_in_##TS(const T *src, T *dst, ptrdiff_t m, ptrdiff_t cols,       \
                                ptrdiff_t ld)                                            \
    {                                                                                    \
        return MLNN_PICK(cols_in_##TS)(src, dst, m, cols, ld);                           \
    }                                                                                    \
    void mlnn_cols_out_##TS(const T *src, T *dst, ptrdiff_t m, ptrdiff_t cols, ptrdiff_t ld) \
    {                                                                                    \
        MLNN_PICK(cols_out_##TS)(src, dst, m, cols, ld);                                 \
    }                                                                                    \
    void mlnn_sgd_step_##TS(T *params, const T *sums, T *velocity, ptrdiff_t p0,         \
                            ptrdiff_t p1, ptrdiff_t n_weights, double alpha, double s,   \
                            double lr, double momentum, int nesterov)                    \
    {                                                                                    \
        MLNN_PICK(sgd_step_##TS)(params, sums, velocity, p0, p1, n_weights, alpha, s,    \
                                 lr, momentum, nesterov);                                \
    }                                                                                    \
    void mlnn_adam_step_##TS(T *params, const T *sums, T *m, T *v, ptrdiff_t p0,         \
                             ptrdiff_t p1, ptrdiff_t n_weights, double alpha, double s,  \
                             double lr_t, double beta_1, double beta_2, double epsilon)  \
    {                                                                                    \
        MLNN_PICK(adam_step_##TS)(params, sums, m, v, p0, p1, n_weights, alpha, s, lr_t, \
                                  beta_1, beta_2, epsilon);                              \
    }

MLNN_DENSE_WRAPPERS(d, double)
MLNN_DENSE_WRAPPERS(f, float)

int mlnn_cpu_has_avx512(void)
{
#if MLNN_DISPATCH
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl")
           && __builtin_cpu_supports("avx512dq");
#else
    return 0;
#endif
}

const char *mlnn_cpu_paths_compiled(void)
{
    return MLNN_DISPATCH ? "baseline (sse2), avx2+fma" : "baseline";
}

const char *mlnn_cpu_path(void)
{
    return level() == 2 ? "avx2+fma" : "baseline (sse2)";
}

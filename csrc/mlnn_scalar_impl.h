/* The generic element-wise kernels, written once for double and float:
 * included by mlnn_fastmath_impl.h once per element type with MLNN_KDOUBLE
 * set (mlnn_kconst_impl.h gives the type's names and constants).  Every
 * level compiles them; GCC vectorizes the array loops over them, and the
 * intrinsics kernels of mlnn_vec_impl.h repeat them operation for
 * operation.  The algorithms are described in mlnn_fastmath_impl.h; the
 * float versions run them in float arithmetic with a degree-7 expm1.  Not a
 * public header.
 *
 * Defines, for the type letter d or f and the level: expm1_poly_w_, pow2_,
 * exp_reduce_, exp_kernel_, tanh_kernel_, sigmoid_kernel_ (e.g.
 * tanh_kernel_f_avx512), and for double exp_neg_kernel_d. */
#include "mlnn_kconst_impl.h"

/* r + r^2 (E(r^2) + r O(r^2)) from the coefficient table w (EXPM1_V:
 * expm1(r); EXPM1_V2: expm1(2r) / 2, bit for bit) */
static inline MLNN_KT MLNN_KN(expm1_poly_w_)(MLNN_KT r, const MLNN_KT *w)
{
    const MLNN_KT r2 = r * r;
    MLNN_KT e = w[MLNN_KC_NCOEF - 2], o = w[MLNN_KC_NCOEF - 1];
#if MLNN_KC_NCOEF == 10
    e = e * r2 + w[6];
    o = o * r2 + w[7];
    e = e * r2 + w[4];
    o = o * r2 + w[5];
#elif MLNN_KC_NCOEF != 6
#error "expm1 tables of 6 or 10 coefficients"
#endif
    e = e * r2 + w[2];
    o = o * r2 + w[3];
    e = e * r2 + w[0];
    o = o * r2 + w[1];
    return r + r2 * (e + r * o);
}

/* 2^n from the magic sum t (the low bits of t hold n) plus bias */
static inline MLNN_KT MLNN_KN(pow2_)(MLNN_KT t, unsigned bias)
{
    MLNN_KU bits;
    memcpy(&bits, &t, sizeof bits);
    bits = (bits + bias) << MLNN_KMANT;
    MLNN_KT p;
    memcpy(&p, &bits, sizeof bits);
    return p;
}

/* x = n*ln2 + r: returns r and writes 2^n; x must lie in [EXP_LO, bias ln2]
 * or be NaN. */
static inline MLNN_KT MLNN_KN(exp_reduce_)(MLNN_KT x, MLNN_KT *scale)
{
    const MLNN_KT t = x * MLNN_KC_LOG2E + MLNN_KC_MAGIC;
    const MLNN_KT n = t - MLNN_KC_MAGIC;
    MLNN_KT r = x - n * MLNN_KC_LN2_HI;
    r = r - n * MLNN_KC_LN2_LO;
    *scale = MLNN_KN(pow2_)(t, MLNN_KC_BIAS);
    return r;
}

static inline MLNN_KT MLNN_KN(exp_kernel_)(MLNN_KT x)
{
    /* Clamp x to [EXP_LO, EXP_CLAMP_HI] (NaN passes through both
     * comparisons), so that n lies in [-bias + 1, bias + 1].  2^n is built
     * from n's bits capped at the bias (T_CAP), and the capped step, d = 0
     * or 1, is multiplied back in: res + res * d, one FMA.  Above log of
     * the largest finite value the result overflows to inf by itself; below
     * EXP_LO it is flushed to 0. */
    MLNN_KT xc = x < MLNN_KC_EXP_LO ? MLNN_KC_EXP_LO : x;
    xc = xc > MLNN_KC_EXP_CLAMP_HI ? MLNN_KC_EXP_CLAMP_HI : xc;
    const MLNN_KT t = xc * MLNN_KC_LOG2E + MLNN_KC_MAGIC;
    const MLNN_KT n = t - MLNN_KC_MAGIC;
    MLNN_KT r = xc - n * MLNN_KC_LN2_HI;
    r = r - n * MLNN_KC_LN2_LO;
    const MLNN_KT tc = t > MLNN_KC_T_CAP ? MLNN_KC_T_CAP : t;
    const MLNN_KT d = t - tc;
    const MLNN_KT scale = MLNN_KN(pow2_)(tc, MLNN_KC_BIAS); /* 2^min(n, bias) */
    MLNN_KT res = ((MLNN_KT)1 + MLNN_KN(expm1_poly_w_)(r, MLNN_KC_EXPM1)) * scale;
    res = res + res * d;
    return x < MLNN_KC_EXP_LO ? (MLNN_KT)0 : res; /* flush the subnormal range to 0 */
}

/* tanh(|x|) = expm1(2|x|) / (expm1(2|x|) + 2): one division, no cancellation
 * for small |x| (expm1 keeps full relative accuracy), exactly 1 from
 * |x| = TANH_SATURATE on; the sign is copied back so -0 and negative x
 * mirror exactly. */
static inline MLNN_KT MLNN_KN(tanh_kernel_)(MLNN_KT x)
{
    MLNN_KT ax = MLNN_KFABS(x);
    ax = ax > MLNN_KC_TANH_SATURATE ? MLNN_KC_TANH_SATURATE : ax; /* NaN stays NaN */
    /* 2|x| = n ln2 + 2h with a one-constant reduction (one FMA): its error
     * (double: n * 2.3e-17, n <= 58; float: n * 1.9e-9, n <= 29) moves tanh
     * by far less than an ulp.  Worked in halves, h = |x| - n ln2/2 (exactly
     * r/2), so 2|x| is never formed: expm1(2h)/2 from EXPM1_V2, and 2^(n+1)
     * in place of 2^n. */
    const MLNN_KT t = ax * MLNN_KC_TWO_LOG2E + MLNN_KC_MAGIC;
    const MLNN_KT n = t - MLNN_KC_MAGIC;
    const MLNN_KT h = ax - n * MLNN_KC_HALF_LN2;
    const MLNN_KT scale2 = MLNN_KN(pow2_)(t, MLNN_KC_BIAS + 1); /* 2^(n+1) */
    /* expm1(2|x|) = 2^n expm1(2h) + (2^n - 1) */
    const MLNN_KT em1 = scale2 * MLNN_KN(expm1_poly_w_)(h, MLNN_KC_EXPM1_2)
                        + (scale2 * (MLNN_KT)0.5 - (MLNN_KT)1);
    return MLNN_KCOPYSIGN(em1 / (em1 + (MLNN_KT)2), x);
}

/* 1 / (1 + exp(-x)) with exp(-x) clamped to [EXP_LO, -EXP_LO]: the top of
 * exp's range is not needed, since results below the smallest normal value
 * (x < EXP_LO) are flushed to 0 as exp's are, and 2^n stays normal without
 * exp's cap. */
static inline MLNN_KT MLNN_KN(sigmoid_kernel_)(MLNN_KT x)
{
    MLNN_KT u = -x;
    u = u < MLNN_KC_EXP_LO ? MLNN_KC_EXP_LO : u; /* NaN passes */
    u = u > -MLNN_KC_EXP_LO ? -MLNN_KC_EXP_LO : u;
    MLNN_KT scale;
    const MLNN_KT r = MLNN_KN(exp_reduce_)(u, &scale);
    const MLNN_KT e = ((MLNN_KT)1 + MLNN_KN(expm1_poly_w_)(r, MLNN_KC_EXPM1)) * scale;
    const MLNN_KT res = (MLNN_KT)1 / ((MLNN_KT)1 + (x > -MLNN_KC_EXP_LO ? (MLNN_KT)0 : e));
    return x < MLNN_KC_EXP_LO ? (MLNN_KT)0 : res;
}

#if MLNN_KDOUBLE
/* exp(x) for x <= 0 or NaN, as softmax needs it for z - max (in double for
 * both element types): exp_kernel without the overflow side (fewer selects
 * in the softmax loops). */
static inline double MLNN_NAME(exp_neg_kernel)(double x)
{
    const double xc = x < EXP_LO ? EXP_LO : x; /* NaN passes */
    double scale;
    const double r = MLNN_KN(exp_reduce_)(xc, &scale);
    const double res = (1.0 + MLNN_KN(expm1_poly_w_)(r, EXPM1_V)) * scale;
    return x < EXP_LO ? 0.0 : res; /* flush the subnormal range to 0 */
}
#endif

#define MLNN_KCONST_UNDEF
#include "mlnn_kconst_impl.h"
#undef MLNN_KCONST_UNDEF

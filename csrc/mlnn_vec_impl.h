/* tanh, exp and sigmoid written once in vector intrinsics, for the levels
 * whose compilers' vectorization of the generic kernels was measured slower
 * (mlnn_fastmath_impl.h says where and why).  Included by
 * mlnn_fastmath_impl.h once per (level, element type); not a public header.
 *
 * Each kernel is its generic twin (tanh_kernel, exp_kernel, sigmoid_kernel
 * and the float ones) operation for operation: MLNN_V_FMA(a, b, c) is a*b + c
 * in one rounding where the level has FMA (as GCC contracts the generic
 * code there) and in two without, so a level's vector results are the bits
 * of its generic kernels.  Selects become min/max (which pass a NaN second
 * operand through) and masks.
 *
 * The including file sets, and this file consumes (#undef at the end):
 *   MLNN_VAVX      1: 256-bit AVX2/FMA intrinsics (_mm256_*), 0: SSE2 (_mm_*)
 *   MLNN_KDOUBLE   1: double (pd), 0: float (ps)
 *   MLNN_V_TANH, MLNN_V_EXP, MLNN_V_SIGMOID   1 for each array op to define
 *                  here (tanh_d, exp_f, ...), 0 to leave it to the generic
 *                  kernel.
 * Intrinsic names are pasted from the prefix (_mm_, _mm256_), the operation
 * and the element suffix (pd, ps); the constants are mlnn_fastmath.c's, of
 * the element type.
 */
#if MLNN_VAVX
#define MLNN_VPRE _mm256_
#define MLNN_VSI si256
#else
#define MLNN_VPRE _mm_
#define MLNN_VSI si128
#endif
#include "mlnn_kconst_impl.h"
#if MLNN_KDOUBLE
#define MLNN_VTY pd
#define MLNN_VEPI epi64
#define MLNN_VSET1I set1_epi64x
#else
#define MLNN_VTY ps
#define MLNN_VEPI epi32
#define MLNN_VSET1I set1_epi32
#endif
#if MLNN_VAVX && MLNN_KDOUBLE
#define MLNN_V __m256d
#define MLNN_VW 4 /* lanes */
#elif MLNN_VAVX
#define MLNN_V __m256
#define MLNN_VW 8
#elif MLNN_KDOUBLE
#define MLNN_V __m128d
#define MLNN_VW 2
#else
#define MLNN_V __m128
#define MLNN_VW 4
#endif

/* _mm256_ + add + _ + pd -> _mm256_add_pd */
#define MLNN_VOP(op) MLNN_CAT(MLNN_VPRE, MLNN_CAT(op, MLNN_CAT(_, MLNN_VTY)))
#define MLNN_V_ADD MLNN_VOP(add)
#define MLNN_V_SUB MLNN_VOP(sub)
#define MLNN_V_MUL MLNN_VOP(mul)
#define MLNN_V_DIV MLNN_VOP(div)
#define MLNN_V_MIN MLNN_VOP(min)
#define MLNN_V_MAX MLNN_VOP(max)
#define MLNN_V_AND MLNN_VOP(and)
#define MLNN_V_ANDNOT MLNN_VOP(andnot)
#define MLNN_V_OR MLNN_VOP(or)
#define MLNN_V_XOR MLNN_VOP(xor)
#define MLNN_V_SET1 MLNN_VOP(set1)
#define MLNN_V_LOADU MLNN_VOP(loadu)
#define MLNN_V_STOREU MLNN_VOP(storeu)
#if MLNN_VAVX
#define MLNN_V_LT(a, b) MLNN_VOP(cmp)(a, b, _CMP_LT_OQ)
#define MLNN_V_GT(a, b) MLNN_VOP(cmp)(a, b, _CMP_GT_OQ)
#define MLNN_V_FMA MLNN_VOP(fmadd)
#define MLNN_V_FNMA MLNN_VOP(fnmadd)
#define MLNN_V_FMS MLNN_VOP(fmsub)
#else
#define MLNN_V_LT MLNN_VOP(cmplt)
#define MLNN_V_GT MLNN_VOP(cmpgt)
#define MLNN_V_FMA(a, b, c) MLNN_V_ADD(MLNN_V_MUL(a, b), c)
#define MLNN_V_FNMA(a, b, c) MLNN_V_SUB(c, MLNN_V_MUL(a, b))
#define MLNN_V_FMS(a, b, c) MLNN_V_SUB(MLNN_V_MUL(a, b), c)
#endif
/* 2^n from the magic sum t: (bits of t + bias) << mantissa bits */
#define MLNN_VIOP(op) MLNN_CAT(MLNN_VPRE, MLNN_CAT(op, MLNN_CAT(_, MLNN_VEPI)))
#define MLNN_V_POW2(t, bias)                                                            \
    MLNN_CAT(MLNN_VPRE, MLNN_CAT(cast, MLNN_CAT(MLNN_CAT(MLNN_VSI, _), MLNN_VTY)))(       \
        MLNN_VIOP(slli)(MLNN_VIOP(add)(                                                 \
            MLNN_CAT(MLNN_VPRE, MLNN_CAT(cast, MLNN_CAT(MLNN_VTY, MLNN_CAT(_, MLNN_VSI))))(t), \
            MLNN_CAT(MLNN_VPRE, MLNN_VSET1I)(bias)), MLNN_KMANT))


/* expm1_poly_w: r + r^2 (E(r^2) + r O(r^2)), each half by Horner's rule */
static inline MLNN_V MLNN_KN(vpoly_)(MLNN_V r, const MLNN_KT *w)
{
    const MLNN_V r2 = MLNN_V_MUL(r, r);
    MLNN_V e = MLNN_V_SET1(w[MLNN_KC_NCOEF - 2]), o = MLNN_V_SET1(w[MLNN_KC_NCOEF - 1]);
#define MLNN_VSTEP(k)                                \
    e = MLNN_V_FMA(e, r2, MLNN_V_SET1(w[k]));        \
    o = MLNN_V_FMA(o, r2, MLNN_V_SET1(w[(k) + 1]))
#if MLNN_KC_NCOEF == 10
    MLNN_VSTEP(6);
    MLNN_VSTEP(4);
#elif MLNN_KC_NCOEF != 6
#error "expm1 tables of 6 or 10 coefficients"
#endif
    MLNN_VSTEP(2);
    MLNN_VSTEP(0);
#undef MLNN_VSTEP
    return MLNN_V_FMA(r2, MLNN_V_FMA(r, o, e), r);
}

#if MLNN_V_TANH
/* tanh_kernel: expm1(2|x|) / (expm1(2|x|) + 2) with the sign of x */
static inline MLNN_V MLNN_KN(vtanh_)(MLNN_V x)
{
    const MLNN_V sign = MLNN_V_SET1((MLNN_KT)-0.0);
    /* min(TANH_SATURATE, |x|): a NaN |x| is passed through */
    const MLNN_V ax = MLNN_V_MIN(MLNN_V_SET1(MLNN_KC_TANH_SATURATE), MLNN_V_ANDNOT(sign, x));
    const MLNN_V t = MLNN_V_FMA(ax, MLNN_V_SET1(MLNN_KC_TWO_LOG2E), MLNN_V_SET1(MLNN_KC_MAGIC));
    const MLNN_V n = MLNN_V_SUB(t, MLNN_V_SET1(MLNN_KC_MAGIC));
    const MLNN_V h = MLNN_V_FNMA(n, MLNN_V_SET1(MLNN_KC_HALF_LN2), ax);
    const MLNN_V scale2 = MLNN_V_POW2(t, MLNN_KC_BIAS + 1);
    const MLNN_V em1 = MLNN_V_FMA(scale2, MLNN_KN(vpoly_)(h, MLNN_KC_EXPM1_2),
                                  MLNN_V_FMS(scale2, MLNN_V_SET1((MLNN_KT)0.5),
                                             MLNN_V_SET1((MLNN_KT)1)));
    const MLNN_V q = MLNN_V_DIV(em1, MLNN_V_ADD(em1, MLNN_V_SET1((MLNN_KT)2)));
    return MLNN_V_OR(q, MLNN_V_AND(sign, x)); /* q >= 0 or NaN */
}
#endif

#if MLNN_V_EXP
/* exp_kernel: clamp, reduce by n ln2, 2^n in the exponent bits (capped at
 * the largest finite power, doubled past it), flush below EXP_LO to 0 */
static inline MLNN_V MLNN_KN(vexp_)(MLNN_V x)
{
    MLNN_V xc = MLNN_V_MAX(MLNN_V_SET1(MLNN_KC_EXP_LO), x); /* x wins for a NaN */
    xc = MLNN_V_MIN(MLNN_V_SET1(MLNN_KC_EXP_CLAMP_HI), xc);
    const MLNN_V t = MLNN_V_FMA(xc, MLNN_V_SET1(MLNN_KC_LOG2E), MLNN_V_SET1(MLNN_KC_MAGIC));
    const MLNN_V n = MLNN_V_SUB(t, MLNN_V_SET1(MLNN_KC_MAGIC));
    MLNN_V r = MLNN_V_FNMA(n, MLNN_V_SET1(MLNN_KC_LN2_HI), xc);
    r = MLNN_V_FNMA(n, MLNN_V_SET1(MLNN_KC_LN2_LO), r);
    const MLNN_V tc = MLNN_V_MIN(MLNN_V_SET1(MLNN_KC_T_CAP), t);
    const MLNN_V d = MLNN_V_SUB(t, tc);
    const MLNN_V scale = MLNN_V_POW2(tc, MLNN_KC_BIAS);
    MLNN_V res = MLNN_V_MUL(MLNN_V_ADD(MLNN_V_SET1((MLNN_KT)1), MLNN_KN(vpoly_)(r, MLNN_KC_EXPM1)),
                            scale);
    res = MLNN_V_FMA(res, d, res);
    /* flush to 0 where x < EXP_LO (false for NaN) */
    return MLNN_V_ANDNOT(MLNN_V_LT(x, MLNN_V_SET1(MLNN_KC_EXP_LO)), res);
}
#endif

#if MLNN_V_SIGMOID
/* sigmoid_kernel: 1 / (1 + exp(-x)), exp(-x) without the overflow side */
static inline MLNN_V MLNN_KN(vsigmoid_)(MLNN_V x)
{
    MLNN_V u = MLNN_V_XOR(x, MLNN_V_SET1((MLNN_KT)-0.0));
    u = MLNN_V_MAX(MLNN_V_SET1(MLNN_KC_EXP_LO), u); /* NaN passes */
    u = MLNN_V_MIN(MLNN_V_SET1(-MLNN_KC_EXP_LO), u);
    const MLNN_V t = MLNN_V_FMA(u, MLNN_V_SET1(MLNN_KC_LOG2E), MLNN_V_SET1(MLNN_KC_MAGIC));
    const MLNN_V n = MLNN_V_SUB(t, MLNN_V_SET1(MLNN_KC_MAGIC));
    MLNN_V r = MLNN_V_FNMA(n, MLNN_V_SET1(MLNN_KC_LN2_HI), u);
    r = MLNN_V_FNMA(n, MLNN_V_SET1(MLNN_KC_LN2_LO), r);
    const MLNN_V scale = MLNN_V_POW2(t, MLNN_KC_BIAS);
    MLNN_V e = MLNN_V_MUL(MLNN_V_ADD(MLNN_V_SET1((MLNN_KT)1), MLNN_KN(vpoly_)(r, MLNN_KC_EXPM1)),
                          scale);
    /* e = 0 where x > -EXP_LO (false for NaN) */
    e = MLNN_V_ANDNOT(MLNN_V_GT(x, MLNN_V_SET1(-MLNN_KC_EXP_LO)), e);
    const MLNN_V res = MLNN_V_DIV(MLNN_V_SET1((MLNN_KT)1), MLNN_V_ADD(MLNN_V_SET1((MLNN_KT)1), e));
    return MLNN_V_ANDNOT(MLNN_V_LT(x, MLNN_V_SET1(MLNN_KC_EXP_LO)), res);
}
#endif

/* out[i] = kernel(x[i]): two vectors per step at SSE2 (one at AVX2, where
 * two measured no faster), then one, and the last 1 .. MLNN_VW - 1 elements
 * through a zero-padded copy (the same arithmetic in every lane). */
#if MLNN_VAVX
#define MLNN_V_PAIRS(kernel)
#else
#define MLNN_V_PAIRS(kernel)                                                        \
    for (; i + 2 * MLNN_VW <= n; i += 2 * MLNN_VW) {                                \
        const MLNN_V a = MLNN_V_LOADU(x + i), b = MLNN_V_LOADU(x + i + MLNN_VW);     \
        MLNN_V_STOREU(out + i, MLNN_KN(kernel)(a));                                 \
        MLNN_V_STOREU(out + i + MLNN_VW, MLNN_KN(kernel)(b));                       \
    }
#endif
#define MLNN_V_ARRAY_FN(op, kernel)                                                 \
    static void MLNN_KN(op)(const MLNN_KT *x, MLNN_KT *out, ptrdiff_t n)            \
    {                                                                               \
        ptrdiff_t i = 0;                                                            \
        MLNN_V_PAIRS(kernel)                                                        \
        for (; i + MLNN_VW <= n; i += MLNN_VW)                                      \
            MLNN_V_STOREU(out + i, MLNN_KN(kernel)(MLNN_V_LOADU(x + i)));           \
        if (i < n) {                                                                \
            MLNN_KT buf[MLNN_VW] = {0};                                             \
            memcpy(buf, x + i, (size_t)(n - i) * sizeof *x);                        \
            MLNN_V_STOREU(buf, MLNN_KN(kernel)(MLNN_V_LOADU(buf)));                 \
            memcpy(out + i, buf, (size_t)(n - i) * sizeof *out);                    \
        }                                                                           \
    }
#if MLNN_V_TANH
MLNN_V_ARRAY_FN(tanh_, vtanh_)
#endif
#if MLNN_V_EXP
MLNN_V_ARRAY_FN(exp_, vexp_)
#endif
#if MLNN_V_SIGMOID
MLNN_V_ARRAY_FN(sigmoid_, vsigmoid_)
#endif
#undef MLNN_V_ARRAY_FN
#undef MLNN_V_PAIRS

#undef MLNN_V_POW2
#undef MLNN_VIOP
#undef MLNN_V_FMS
#undef MLNN_V_FNMA
#undef MLNN_V_FMA
#undef MLNN_V_GT
#undef MLNN_V_LT
#undef MLNN_V_STOREU
#undef MLNN_V_LOADU
#undef MLNN_V_SET1
#undef MLNN_V_XOR
#undef MLNN_V_OR
#undef MLNN_V_ANDNOT
#undef MLNN_V_AND
#undef MLNN_V_MAX
#undef MLNN_V_MIN
#undef MLNN_V_DIV
#undef MLNN_V_MUL
#undef MLNN_V_SUB
#undef MLNN_V_ADD
#undef MLNN_VOP
#undef MLNN_VW
#undef MLNN_V
#undef MLNN_VSET1I
#undef MLNN_VEPI
#undef MLNN_VTY
#undef MLNN_VSI
#undef MLNN_VPRE
#undef MLNN_V_SIGMOID
#undef MLNN_V_EXP
#undef MLNN_V_TANH
#undef MLNN_VAVX
#define MLNN_KCONST_UNDEF
#include "mlnn_kconst_impl.h"
#undef MLNN_KCONST_UNDEF

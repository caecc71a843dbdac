/* The element-wise and reduction kernels of one CPU level, included by
 * mlnn_level_impl.h once per level (MLNN_LEVEL, MLNN_SUFFIX and MLNN_VBYTES
 * set, see mlnn_fastmath.c), so every level runs the same generic source
 * compiled for its instructions.  Not a public header.
 *
 * exp(x): x = n*ln2 + r with |r| <= ln2/2, n obtained with the 1.5*2^52
 * "magic number" rounding trick (vectorizes on SSE2, no cvt to int64 needed);
 * exp(r) = 1 + expm1(r) by a degree-11 polynomial (no division);
 * 2^n is built directly in the exponent bits from the low bits of the magic
 * sum (vscalefpd at the AVX-512 level).
 *
 * tanh(x) = expm1(2|x|) / (expm1(2|x|) + 2) with the sign copied back: a
 * single division per element.  The vector loops are bound by their
 * operation count (a reciprocal estimate plus Newton steps in place of the
 * division was slower; bench/README.md).
 *
 * sigmoid(x) = 1 / (1 + exp(-x)) with its own exp (no overflow side).
 *
 * The float versions run the same algorithms in float, with a degree-7
 * expm1; the double and float kernels are separate functions, so that each
 * loop vectorizes over its own element type.
 *
 * Everything is branch-free (selects, not branches) so that the loops below
 * vectorize; that needs -fno-trapping-math with GCC (set by setup.py).  A
 * few loops are written in a level's intrinsics where that was measured to
 * be faster than GCC's vectorization of the generic kernel: at the baseline
 * (SSE2) tanh, exp and sigmoid, at AVX2 tanh (double and float) and exp --
 * each of them once, in mlnn_vec_impl.h, for every vector type -- and at
 * AVX-512 exp; each says why.
 */
#define MLNN_CAT2(a, b) a##b
#define MLNN_CAT(a, b) MLNN_CAT2(a, b)
#define MLNN_NAME(name) MLNN_CAT(name, MLNN_SUFFIX)

/* expm1(r) for |r| <= ln2/2 as r + r^2 V(r), V of degree 9 (expm1 of
 * degree 11): adding the leading r last, in one FMA, keeps the rounding of
 * the polynomial out of the leading digits (that is what keeps tanh within
 * 3 ulp).  V's coefficients are a Chebyshev fit of (expm1(r) - r) / r^2 over
 * [-ln2/2, ln2/2] (tools/fit_expm1.py; relative error 0.37 * 2^-53 before
 * rounding), two degrees fewer than the Taylor series needs.
 *
 * V(r) = E(r^2) + r O(r^2), each half by Horner's rule: 10 operations with
 * r^2, against 12 for Estrin's form.  The vectorized loops are bound by
 * their operation count, not by the dependency chain that Estrin's form
 * shortens (bench/README.md).
 *
 * expm1_poly_w(r, w) evaluates the same form from a coefficient table w:
 * EXPM1_V gives expm1(r); EXPM1_V2 (V's coefficients times powers of two,
 * exact) gives expm1(2r) / 2 bit for bit, as every intermediate is the
 * unscaled one times a power of two.  tanh uses it to skip forming 2|x|.
 * (The kernels are in mlnn_scalar_impl.h, once for both element types.) */
#define MLNN_KDOUBLE 1
#include "mlnn_scalar_impl.h"
#define MLNN_KDOUBLE 0
#include "mlnn_scalar_impl.h"

#define MLNN_ARRAY_FN(name, kernel, T)                                   \
    static void MLNN_NAME(name)(const T *x, T *out, ptrdiff_t n)         \
    {                                                                    \
        for (ptrdiff_t i = 0; i < n; ++i)                                \
            out[i] = MLNN_NAME(kernel)(x[i]);                            \
    }

#if MLNN_LEVEL == MLNN_LEVEL_ID_AVX2
/* tanh (double and float) and exp (double) in AVX2/FMA intrinsics
 * (mlnn_vec_impl.h).  GCC's vectorization of tanh_kernel computes the
 * unclamped value and blends in the result for |x| > TANH_SATURATE (two
 * operations where a min does), copies the sign with three and reloads
 * constants, and its exp_kernel turns the clamps and the cap at 2^1023 into
 * blends between precomputed paths, 30% slower than min/max; tanh is about
 * half of a notebook training pass.  The AVX-512 level runs the generic
 * tanh: GCC's 512-bit code (masked moves for the selects) is as fast as the
 * same operations in AVX-512 intrinsics, and gives the same bits
 * (bench/README.md has the measurements). */
#define MLNN_VAVX 1
#define MLNN_KDOUBLE 1
#define MLNN_V_TANH 1
#define MLNN_V_EXP 1
#define MLNN_V_SIGMOID 0
#include "mlnn_vec_impl.h"
#define MLNN_VAVX 1
#define MLNN_KDOUBLE 0
#define MLNN_V_TANH 1
#define MLNN_V_EXP 0
#define MLNN_V_SIGMOID 0
#include "mlnn_vec_impl.h"
#elif MLNN_LEVEL == MLNN_LEVEL_ID_AVX512
/* exp_kernel on eight doubles with AVX-512 intrinsics, for an instruction
 * GCC does not derive from the generic code: vscalefpd multiplies by 2^n
 * for any integral n, overflow to inf included, so exp needs neither the
 * bits of 2^n nor the cap at 2^1023 and its doubling; the flush to 0 is a
 * masked move, and the tail of 1-7 elements a masked load and store through
 * the same arithmetic.  The range reduction and polynomial are
 * exp_kernel's, operation for operation; only the product by 2^n is one
 * rounding instead of two where n = 1024.  (tanh and sigmoid keep the
 * generic code at this level: written the same way, with vscalefpd and
 * vpternlogq, they ran no faster; bench/README.md.) */
static inline __m512d MLNN_NAME(poly8)(__m512d r, const double *w)
{
    /* expm1_poly_w, operation for operation */
    const __m512d r2 = _mm512_mul_pd(r, r);
#define MLNN_W(k) _mm512_set1_pd(w[k])
#define MLNN_STEP(acc, k) acc = _mm512_fmadd_pd(acc, r2, MLNN_W(k))
    __m512d e = MLNN_W(8), o = MLNN_W(9);
    MLNN_STEP(e, 6);
    MLNN_STEP(o, 7);
    MLNN_STEP(e, 4);
    MLNN_STEP(o, 5);
    MLNN_STEP(e, 2);
    MLNN_STEP(o, 3);
    MLNN_STEP(e, 0);
    MLNN_STEP(o, 1);
#undef MLNN_STEP
#undef MLNN_W
    return _mm512_fmadd_pd(r2, _mm512_fmadd_pd(r, o, e), r);
}

static inline __m512d MLNN_NAME(exp8)(__m512d x)
{
    /* max(EXP_LO, x) and min(EXP_CLAMP_HI, .) pass a NaN x through */
    __m512d xc = _mm512_max_pd(_mm512_set1_pd(EXP_LO), x);
    xc = _mm512_min_pd(_mm512_set1_pd(EXP_CLAMP_HI), xc);
    const __m512d t = _mm512_fmadd_pd(xc, _mm512_set1_pd(LOG2E), _mm512_set1_pd(MAGIC));
    const __m512d n = _mm512_sub_pd(t, _mm512_set1_pd(MAGIC));
    __m512d r = _mm512_fnmadd_pd(n, _mm512_set1_pd(LN2_HI), xc);
    r = _mm512_fnmadd_pd(n, _mm512_set1_pd(LN2_LO), r);
    const __m512d e = _mm512_add_pd(_mm512_set1_pd(1.0), MLNN_NAME(poly8)(r, EXPM1_V));
    const __m512d res = _mm512_scalef_pd(e, n);
    /* flush the subnormal range to 0: keep res where x >= EXP_LO or NaN */
    const __mmask8 keep = _mm512_cmp_pd_mask(x, _mm512_set1_pd(EXP_LO), _CMP_NLT_UQ);
    return _mm512_maskz_mov_pd(keep, res);
}

#define MLNN_ARRAY8_FN(name, kernel)                                                  \
    static void MLNN_NAME(name)(const double *x, double *out, ptrdiff_t n)            \
    {                                                                                 \
        ptrdiff_t i = 0;                                                              \
        for (; i + 8 <= n; i += 8)                                                    \
            _mm512_storeu_pd(out + i, MLNN_NAME(kernel)(_mm512_loadu_pd(x + i)));     \
        if (i < n) {                                                                  \
            const __mmask8 k = (__mmask8)((1u << (n - i)) - 1u);                      \
            _mm512_mask_storeu_pd(out + i, k,                                         \
                                  MLNN_NAME(kernel)(_mm512_maskz_loadu_pd(k, x + i))); \
        }                                                                             \
    }
MLNN_ARRAY8_FN(exp_d, exp8)
#undef MLNN_ARRAY8_FN
#elif MLNN_LEVEL == MLNN_LEVEL_ID_BASELINE && MLNN_HAVE_SSE2
/* The baseline level's tanh, exp and sigmoid, double and float, in SSE2
 * intrinsics (mlnn_vec_impl.h).  GCC does vectorize the generic kernels at
 * SSE2, but each select becomes a compare and an and/andnot/or blend, the
 * copysign three operations and a reload of x, where min/max and one and +
 * or do; without FMA the polynomial already costs twice the operations of
 * the AVX2 code, so these extra operations are a large share of the loop.
 * No FMA at this level: each product and sum is rounded as in the scalar
 * code, so the results are the bits of the generic kernels here. */
#define MLNN_VAVX 0
#define MLNN_KDOUBLE 1
#define MLNN_V_TANH 1
#define MLNN_V_EXP 1
#define MLNN_V_SIGMOID 1
#include "mlnn_vec_impl.h"
#define MLNN_VAVX 0
#define MLNN_KDOUBLE 0
#define MLNN_V_TANH 1
#define MLNN_V_EXP 1
#define MLNN_V_SIGMOID 1
#include "mlnn_vec_impl.h"
#endif
#define MLNN_SSE2_BASE (MLNN_LEVEL == MLNN_LEVEL_ID_BASELINE && MLNN_HAVE_SSE2)
#if MLNN_LEVEL != MLNN_LEVEL_ID_AVX2 && !MLNN_SSE2_BASE
MLNN_ARRAY_FN(tanh_d, tanh_kernel_d, double)
MLNN_ARRAY_FN(tanh_f, tanh_kernel_f, float)
#endif
#if MLNN_LEVEL == MLNN_LEVEL_ID_BASELINE && !MLNN_HAVE_SSE2
MLNN_ARRAY_FN(exp_d, exp_kernel_d, double)
#endif
#if !MLNN_SSE2_BASE
MLNN_ARRAY_FN(sigmoid_d, sigmoid_kernel_d, double)
MLNN_ARRAY_FN(exp_f, exp_kernel_f, float)
MLNN_ARRAY_FN(sigmoid_f, sigmoid_kernel_f, float)
#endif
#undef MLNN_SSE2_BASE

#undef MLNN_ARRAY_FN

/* Dot product and sum with 16 independent accumulators: lane u adds the
 * elements i = u mod 16, and the lanes are combined in a fixed pairwise tree
 * (u + 8 into u, then u + 4 into u, then (0 + 2) + (1 + 3)).  Separate
 * lanes let GCC vectorize the loop without -ffast-math (a single accumulator
 * would stay scalar under IEEE rules), 16 of them (four AVX2 registers) hide
 * the add/FMA latency, and the result depends only on n.  Floats are
 * accumulated in double.  (At the AVX-512 level the 16 lanes fill only two
 * registers, so long sums run no faster than at AVX2; the ops' few long
 * uses -- the weight penalty, float32 dW -- are too small a share of a
 * pass to justify more lanes.) */
#define MLNN_LANES 16
static inline double MLNN_NAME(fold)(double *s)
{
    for (int u = 0; u < 8; ++u)
        s[u] += s[u + 8];
    for (int u = 0; u < 4; ++u)
        s[u] += s[u + 4];
    return (s[0] + s[2]) + (s[1] + s[3]);
}

#define MLNN_DOT_FN(name, T)                                                  \
    static double MLNN_NAME(name)(const T *a, const T *b, ptrdiff_t n)        \
    {                                                                         \
        double s[MLNN_LANES] = {0};                                           \
        ptrdiff_t i = 0;                                                      \
        for (; i + MLNN_LANES <= n; i += MLNN_LANES)                          \
            for (int u = 0; u < MLNN_LANES; ++u)                              \
                s[u] += (double)a[i + u] * (double)b[i + u];                  \
        for (int u = 0; u < n - i; ++u) /* the tail, one element per lane */  \
            s[u] += (double)a[i + u] * (double)b[i + u];                      \
        return MLNN_NAME(fold)(s);                                            \
    }

#define MLNN_SUM_FN(name, T)                                                  \
    static double MLNN_NAME(name)(const T *a, ptrdiff_t n)                    \
    {                                                                         \
        double s[MLNN_LANES] = {0};                                           \
        ptrdiff_t i = 0;                                                      \
        for (; i + MLNN_LANES <= n; i += MLNN_LANES)                          \
            for (int u = 0; u < MLNN_LANES; ++u)                              \
                s[u] += (double)a[i + u];                                     \
        for (int u = 0; u < n - i; ++u) /* the tail, one element per lane */  \
            s[u] += (double)a[i + u];                                         \
        return MLNN_NAME(fold)(s);                                            \
    }

MLNN_DOT_FN(dot_d, double)
MLNN_DOT_FN(dot_f, float)
MLNN_SUM_FN(sum_d, double)
MLNN_SUM_FN(sum_f, float)

#undef MLNN_DOT_FN
#undef MLNN_SUM_FN
#undef MLNN_LANES

#if MLNN_VBYTES
/* A tile of dW and db, float64, with GCC/Clang vectors of MLNN_VBYTES:
 * s[2k + j] = sum_{i < m} a_k[i] * d_j[i] for k < KB and j < 2, and, if
 * SUMS, t[j] = sum_i d_j[i], in one pass over the samples with one vector
 * accumulator per entry (8 products in flight hide the FMA latency).  Each
 * input row is loaded once for both delta rows and each delta row once for
 * all KB input rows.  Called with constant KB (1..4) and SUMS, so that
 * after inlining the unused parts vanish and the accumulators stay in
 * registers.  Lanes are added in a fixed order, then the tail: the value
 * depends only on m (and the CPU level, like every FMA-contracted result).
 * Vector extensions, not plain loops: GCC does not keep the accumulators of
 * plain loops in vector registers here (bench/README.md). */
typedef double MLNN_NAME(vd_)
    __attribute__((vector_size(MLNN_VBYTES), aligned(sizeof(double)), may_alias));
#define MLNN_VD MLNN_NAME(vd_)
#define MLNN_VL (MLNN_VBYTES / (int)sizeof(double))
static inline double MLNN_NAME(lanes_d)(MLNN_VD v)
{
    double lane[MLNN_VL], t = 0;
    memcpy(lane, &v, sizeof lane);
    for (int u = 0; u < MLNN_VL; ++u)
        t += lane[u];
    return t;
}

static inline void MLNN_NAME(dw_tile_d)(const double *const *a, const int KB,
                                        const double *d0, const double *d1, ptrdiff_t m,
                                        const int SUMS, double *s, double *t)
{
    const double *a0 = a[0], *a1 = a[KB > 1 ? 1 : 0], *a2 = a[KB > 2 ? 2 : 0];
    const double *a3 = a[KB > 3 ? 3 : 0];
    MLNN_VD p00 = {0}, p01 = {0}, p10 = {0}, p11 = {0}, p20 = {0}, p21 = {0};
    MLNN_VD p30 = {0}, p31 = {0}, q0 = {0}, q1 = {0};
    ptrdiff_t i = 0;
    for (; i + MLNN_VL <= m; i += MLNN_VL) {
        const MLNN_VD x0 = *(const MLNN_VD *)(d0 + i), x1 = *(const MLNN_VD *)(d1 + i);
        /* input row k (if k < KB) times both delta rows */
#define MLNN_TILE_ROW(k)                                      \
        if (KB > k) {                                         \
            const MLNN_VD v = *(const MLNN_VD *)(a##k + i);   \
            p##k##0 += v * x0;                                \
            p##k##1 += v * x1;                                \
        }
        MLNN_TILE_ROW(0)
        MLNN_TILE_ROW(1)
        MLNN_TILE_ROW(2)
        MLNN_TILE_ROW(3)
#undef MLNN_TILE_ROW
        if (SUMS) {
            q0 += x0;
            q1 += x1;
        }
    }
    const MLNN_VD acc[8] = {p00, p01, p10, p11, p20, p21, p30, p31};
    const double *rows[4] = {a0, a1, a2, a3};
    for (int k = 0; k < KB; ++k) {
        double u = MLNN_NAME(lanes_d)(acc[2 * k]), w = MLNN_NAME(lanes_d)(acc[2 * k + 1]);
        for (ptrdiff_t q = i; q < m; ++q) {
            u += rows[k][q] * d0[q];
            w += rows[k][q] * d1[q];
        }
        s[2 * k] = u;
        s[2 * k + 1] = w;
    }
    if (SUMS) {
        double u = MLNN_NAME(lanes_d)(q0), w = MLNN_NAME(lanes_d)(q1);
        for (ptrdiff_t q = i; q < m; ++q) {
            u += d0[q];
            w += d1[q];
        }
        t[0] = u;
        t[1] = w;
    }
}
#undef MLNN_VD
#undef MLNN_VL
#endif

/* Body of the fast-math kernels, included twice by mlnn_fastmath.c: once for
 * baseline x86-64 and once under "#pragma GCC target("avx2,fma")", each time
 * with a different MLNN_SUFFIX.  Not a public header.
 *
 * exp(x): x = n*ln2 + r with |r| <= ln2/2, n obtained with the 1.5*2^52
 * "magic number" rounding trick (vectorizes on SSE2, no cvt to int64 needed);
 * exp(r) = 1 + expm1(r) by a degree-13 polynomial (no division);
 * 2^n is built directly in the exponent bits from the low bits of the magic sum.
 *
 * tanh(x) = expm1(2|x|) / (expm1(2|x|) + 2) with the sign copied back: a
 * single division per element, which is what bounds the speed.
 *
 * Everything is branch-free (selects, not branches) so that the loops below
 * vectorize; that needs -fno-trapping-math with GCC (set by setup.py).
 */
#define MLNN_CAT2(a, b) a##b
#define MLNN_CAT(a, b) MLNN_CAT2(a, b)
#define MLNN_NAME(name) MLNN_CAT(name, MLNN_SUFFIX)

/* expm1(r) for |r| <= ln2/2 by its Taylor series to degree 13 (truncation
 * error < 5e-18, relative error < 1 ulp); Horner form, FMA-friendly. */
static inline double MLNN_NAME(expm1_poly)(double r)
{
    double p = 1.0 / 6227020800.0;       /* 1/13! */
    p = p * r + 1.0 / 479001600.0;       /* 1/12! */
    p = p * r + 1.0 / 39916800.0;
    p = p * r + 1.0 / 3628800.0;
    p = p * r + 1.0 / 362880.0;
    p = p * r + 1.0 / 40320.0;
    p = p * r + 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    return p * r;
}

/* x = n*ln2 + r: returns r and writes 2^n; x must lie in [-1022 ln2, 1023 ln2]
 * or be NaN. */
static inline double MLNN_NAME(reduce)(double x, double *scale)
{
    double t = x * LOG2E + MAGIC;
    double n = t - MAGIC;
    double r = x - n * LN2_HI;
    r = r - n * LN2_LO;
    uint64_t bits;
    memcpy(&bits, &t, sizeof bits);
    bits = (bits + 1023u) << 52; /* low bits of t hold n (two's complement) */
    memcpy(scale, &bits, sizeof bits);
    return r;
}

static inline double MLNN_NAME(exp_kernel)(double x)
{
    /* Clamp so that n stays within [-1022, 1023]; NaN passes through both
     * comparisons unchanged. */
    double xc = x > 709.0 ? 709.0 : x;
    xc = xc < -708.0 ? -708.0 : xc;
    double scale;
    double r = MLNN_NAME(reduce)(xc, &scale);
    double res = (1.0 + MLNN_NAME(expm1_poly)(r)) * scale;
    res = x > EXP_HI ? INFINITY : res;
    res = x < EXP_LO ? 0.0 : res; /* flush the subnormal range to 0 */
    return res;
}

/* tanh(|x|) = expm1(2|x|) / (expm1(2|x|) + 2): one division, no cancellation
 * for small |x| (expm1 keeps full relative accuracy), exactly 1.0 from
 * |x| = 20 on; the sign is copied back so -0 and negative x mirror exactly. */
static inline double MLNN_NAME(tanh_kernel)(double x)
{
    double ax = fabs(x);
    ax = ax > 20.0 ? 20.0 : ax; /* NaN stays NaN */
    double scale;
    double r = MLNN_NAME(reduce)(2.0 * ax, &scale);
    double em1 = scale * MLNN_NAME(expm1_poly)(r) + (scale - 1.0);
    return copysign(em1 / (em1 + 2.0), x);
}

static inline double MLNN_NAME(sigmoid_kernel)(double x)
{
    return 1.0 / (1.0 + MLNN_NAME(exp_kernel)(-x));
}

#define MLNN_ARRAY_FN(name, kernel, T)                                   \
    static void MLNN_NAME(name)(const T *x, T *out, ptrdiff_t n)         \
    {                                                                    \
        for (ptrdiff_t i = 0; i < n; ++i)                                \
            out[i] = (T)MLNN_NAME(kernel)((double)x[i]);                 \
    }

MLNN_ARRAY_FN(tanh_d, tanh_kernel, double)
MLNN_ARRAY_FN(tanh_f, tanh_kernel, float)
MLNN_ARRAY_FN(exp_d, exp_kernel, double)
MLNN_ARRAY_FN(exp_f, exp_kernel, float)
MLNN_ARRAY_FN(sigmoid_d, sigmoid_kernel, double)
MLNN_ARRAY_FN(sigmoid_f, sigmoid_kernel, float)

#undef MLNN_ARRAY_FN

/* Dot product and sum with 8 independent accumulators, combined in a fixed
 * order: GCC vectorizes this without -ffast-math (a single accumulator would
 * stay scalar under IEEE rules), and the result depends only on n.  Floats
 * are accumulated in double. */
#define MLNN_DOT_FN(name, T)                                                  \
    static double MLNN_NAME(name)(const T *a, const T *b, ptrdiff_t n)        \
    {                                                                         \
        double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};                               \
        ptrdiff_t i = 0;                                                      \
        for (; i + 8 <= n; i += 8)                                            \
            for (int u = 0; u < 8; ++u)                                       \
                s[u] += (double)a[i + u] * (double)b[i + u];                  \
        double t = ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7])); \
        for (; i < n; ++i)                                                    \
            t += (double)a[i] * (double)b[i];                                 \
        return t;                                                             \
    }

#define MLNN_SUM_FN(name, T)                                                  \
    static double MLNN_NAME(name)(const T *a, ptrdiff_t n)                    \
    {                                                                         \
        double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};                               \
        ptrdiff_t i = 0;                                                      \
        for (; i + 8 <= n; i += 8)                                            \
            for (int u = 0; u < 8; ++u)                                       \
                s[u] += (double)a[i + u];                                     \
        double t = ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7])); \
        for (; i < n; ++i)                                                    \
            t += (double)a[i];                                                \
        return t;                                                             \
    }

MLNN_DOT_FN(dot_d, double)
MLNN_DOT_FN(dot_f, float)
MLNN_SUM_FN(sum_d, double)
MLNN_SUM_FN(sum_f, float)

#undef MLNN_DOT_FN
#undef MLNN_SUM_FN

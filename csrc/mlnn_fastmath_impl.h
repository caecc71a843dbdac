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

/* Small dense layers, feature-major (a layer's activations are (width, m)
 * row-major, one row of m samples per unit).  Every inner loop runs over m
 * contiguous samples; the k (or j) loop is blocked by 4 so each pass over
 * an output row folds in four input rows (fewer loads/stores of the output).
 * Large layers do not come here: the Cython layer calls BLAS for them. */
#define MLNN_DENSE_FNS(T, SUF)                                                 \
    /* out (n_out, m) = W^T (n_out, n_in) @ inT (n_in, m) + b */               \
    static void MLNN_NAME(dense_fwd_##SUF)(const T *inT, const T *W,           \
                                           const T *b, T *out, ptrdiff_t m,    \
                                           ptrdiff_t n_in, ptrdiff_t n_out)    \
    {                                                                          \
        for (ptrdiff_t j = 0; j < n_out; ++j) {                                \
            T *restrict o = out + j * m;                                       \
            const T bj = b[j];                                                 \
            for (ptrdiff_t i = 0; i < m; ++i)                                  \
                o[i] = bj;                                                     \
            ptrdiff_t k = 0;                                                   \
            for (; k + 4 <= n_in; k += 4) {                                    \
                const T w0 = W[k * n_out + j], w1 = W[(k + 1) * n_out + j];    \
                const T w2 = W[(k + 2) * n_out + j], w3 = W[(k + 3) * n_out + j]; \
                const T *restrict a0 = inT + k * m, *restrict a1 = a0 + m;     \
                const T *restrict a2 = a1 + m, *restrict a3 = a2 + m;          \
                for (ptrdiff_t i = 0; i < m; ++i)                              \
                    o[i] += (w0 * a0[i] + w1 * a1[i]) + (w2 * a2[i] + w3 * a3[i]); \
            }                                                                  \
            for (; k < n_in; ++k) {                                            \
                const T w = W[k * n_out + j];                                  \
                const T *restrict a = inT + k * m;                             \
                for (ptrdiff_t i = 0; i < m; ++i)                              \
                    o[i] += w * a[i];                                          \
            }                                                                  \
        }                                                                      \
    }                                                                          \
                                                                               \
    /* dinT (n_in, m) = (W (n_in, n_out) @ delta (n_out, m)) * f'(act)        \
     * act (n_in, m) is f(pre_act) of the layer below; activation codes as in \
     * mlnn._reference.ACTIVATIONS (0 tanh, 1 relu, 2 sigmoid). */             \
    static void MLNN_NAME(dense_bwd_##SUF)(const T *delta, const T *W,         \
                                           const T *act, T *dinT, ptrdiff_t m, \
                                           ptrdiff_t n_in, ptrdiff_t n_out,    \
                                           int activation)                     \
    {                                                                          \
        for (ptrdiff_t k = 0; k < n_in; ++k) {                                 \
            T *restrict o = dinT + k * m;                                      \
            const T *w = W + k * n_out;                                        \
            for (ptrdiff_t i = 0; i < m; ++i)                                  \
                o[i] = 0;                                                      \
            ptrdiff_t j = 0;                                                   \
            for (; j + 4 <= n_out; j += 4) {                                   \
                const T *restrict d0 = delta + j * m, *restrict d1 = d0 + m;   \
                const T *restrict d2 = d1 + m, *restrict d3 = d2 + m;          \
                const T w0 = w[j], w1 = w[j + 1], w2 = w[j + 2], w3 = w[j + 3]; \
                for (ptrdiff_t i = 0; i < m; ++i)                              \
                    o[i] += (w0 * d0[i] + w1 * d1[i]) + (w2 * d2[i] + w3 * d3[i]); \
            }                                                                  \
            for (; j < n_out; ++j) {                                           \
                const T *restrict d = delta + j * m;                           \
                const T wj = w[j];                                             \
                for (ptrdiff_t i = 0; i < m; ++i)                              \
                    o[i] += wj * d[i];                                         \
            }                                                                  \
            const T *restrict a = act + k * m;                                 \
            if (activation == 0) {                                             \
                for (ptrdiff_t i = 0; i < m; ++i)                              \
                    o[i] *= (T)1 - a[i] * a[i];                                \
            } else if (activation == 2) {                                      \
                for (ptrdiff_t i = 0; i < m; ++i)                              \
                    o[i] *= a[i] * ((T)1 - a[i]);                              \
            } else {                                                           \
                for (ptrdiff_t i = 0; i < m; ++i)                              \
                    o[i] = a[i] > 0 ? o[i] : (T)0;                             \
            }                                                                  \
        }                                                                      \
    }

MLNN_DENSE_FNS(double, d)
MLNN_DENSE_FNS(float, f)

#undef MLNN_DENSE_FNS

/* The small dense-layer kernels of one CPU level and element type, included
 * by mlnn_level_impl.h once per (level, type) after mlnn_fastmath_impl.h:
 * MLNN_SUFFIX names the level, MLNN_T is double or float and MLNN_TS its
 * letter (d or f).  Not a public header.
 *
 * Feature-major: a layer's activations are (width, m), one row of m samples
 * per unit, rows ld elements apart (ld >= m; the callers pad ld so that every
 * row starts on a 64-byte boundary, and no vector load crosses a cache line
 * needlessly).  Every inner loop
 * runs over m contiguous samples and vectorizes.  The notebook's layers are
 * 2-4 units wide, so the loops are organised to touch each row as few times
 * as possible: two output rows per pass over up to four input rows (the
 * first pass also writes the bias: no separate fill or memset), the backward
 * step of a layer at most four wide includes f' in the same pass, and dW
 * takes a tile of four input rows by two delta rows per pass, with db.
 * Large layers do not come here: the Cython layer calls BLAS.
 */
#define MLNN_TN(name) MLNN_NAME(MLNN_CAT(name, MLNN_TS))

/* The rows r < kb (kb in 1..4) of a as locals a0..a3, and two sets of
 * weights for them, w0..w3 and v0..v3 (rows past kb alias row 0 with weight
 * 0 and are never read). */
#define MLNN_ROWS_SETUP(a, w, v, kb)                                                 \
    const MLNN_T *restrict a0 = (a)[0], *restrict a1 = (a)[(kb) > 1 ? 1 : 0];          \
    const MLNN_T *restrict a2 = (a)[(kb) > 2 ? 2 : 0], *restrict a3 = (a)[(kb) > 3 ? 3 : 0]; \
    const MLNN_T w0 = (w)[0], w1 = (kb) > 1 ? (w)[1] : 0, w2 = (kb) > 2 ? (w)[2] : 0;  \
    const MLNN_T w3 = (kb) > 3 ? (w)[3] : 0;                                           \
    const MLNN_T v0 = (v)[0], v1 = (kb) > 1 ? (v)[1] : 0, v2 = (kb) > 2 ? (v)[2] : 0;  \
    const MLNN_T v3 = (kb) > 3 ? (v)[3] : 0
/* s += sum_{r < K} w_r * a_r[i] as a chain of K multiply-adds (FMAs where
 * the CPU level has them): per output, K operations instead of a tree's
 * K + 2 */
#define MLNN_CHAIN1(s, w) s += w##0 * a0[i]
#define MLNN_CHAIN2(s, w) MLNN_CHAIN1(s, w); s += w##1 * a1[i]
#define MLNN_CHAIN3(s, w) MLNN_CHAIN2(s, w); s += w##2 * a2[i]
#define MLNN_CHAIN4(s, w) MLNN_CHAIN3(s, w); s += w##3 * a3[i]
/* one loop nest per kb, each written by the caller's MLNN_CASE(K) */
#define MLNN_BY_KB(kb)         \
    switch (kb) {              \
        MLNN_CASE(1)           \
        MLNN_CASE(2)           \
        MLNN_CASE(3)           \
        default: MLNN_CASE(4)  \
    }

/* Output rows o0 and, if two, o1, in one pass over the kb (1..4) input rows
 * a (each loaded once for both; the notebook's layers are 2 and 4 wide):
 * o0[i] (= base0 or +=) sum_{r < kb} w[r] * a_r[i], o1 likewise with v and
 * base1, for i < m.  o1 and v are not touched unless two. */
static inline void MLNN_TN(rows_)(MLNN_T *restrict o0, MLNN_T *restrict o1,
                                  const MLNN_T *const *a, const MLNN_T *w, const MLNN_T *v,
                                  int two, int kb, int first, MLNN_T base0, MLNN_T base1,
                                  ptrdiff_t m)
{
    MLNN_ROWS_SETUP(a, w, two ? v : w, kb);
#define MLNN_CASE(K)                                                          \
    case K:                                                                   \
        if (two)                                                              \
            for (ptrdiff_t i = 0; i < m; ++i) {                               \
                MLNN_T s = first ? base0 : o0[i], t = first ? base1 : o1[i];  \
                MLNN_CHAIN##K(s, w);                                          \
                MLNN_CHAIN##K(t, v);                                          \
                o0[i] = s;                                                    \
                o1[i] = t;                                                    \
            }                                                                 \
        else                                                                  \
            for (ptrdiff_t i = 0; i < m; ++i) {                               \
                MLNN_T s = first ? base0 : o0[i];                             \
                MLNN_CHAIN##K(s, w);                                          \
                o0[i] = s;                                                    \
            }                                                                 \
        break;
    MLNN_BY_KB(kb);
#undef MLNN_CASE
}

/* f'(pre_act) times the back-propagated sum s, from g = f(pre_act);
 * activation codes as in mlnn._spec.ACTIVATIONS */
#define MLNN_F_TANH(s, g) ((s) * ((MLNN_T)1 - (g) * (g)))
#define MLNN_F_SIGMOID(s, g) ((s) * ((g) * ((MLNN_T)1 - (g))))
#define MLNN_F_RELU(s, g) ((g) > 0 ? (s) : (MLNN_T)0)
#define MLNN_F_IDENTITY(s, g) (s)

/* The whole backward step of a layer at most four units wide, for output
 * rows o0 and, if two, o1, in one pass over the kb (1..4) delta rows d:
 * o0[i] = (sum_{r < kb} w[r] * d_r[i]) * f'(g0[i]), o1 likewise with v and
 * g1.  o1, v and g1 are not touched unless two. */
static inline void MLNN_TN(rows_grad_)(MLNN_T *restrict o0, MLNN_T *restrict o1,
                                       const MLNN_T *const *d, const MLNN_T *w,
                                       const MLNN_T *v, int two, int kb,
                                       const MLNN_T *restrict g0, const MLNN_T *restrict g1,
                                       int activation, ptrdiff_t m)
{
    MLNN_ROWS_SETUP(d, w, two ? v : w, kb);
#define MLNN_GRAD_LOOP(K, F)                                  \
    if (two)                                                  \
        for (ptrdiff_t i = 0; i < m; ++i) {                   \
            MLNN_T s = 0, t = 0;                              \
            MLNN_CHAIN##K(s, w);                              \
            MLNN_CHAIN##K(t, v);                              \
            o0[i] = F(s, g0[i]);                              \
            o1[i] = F(t, g1[i]);                              \
        }                                                     \
    else                                                      \
        for (ptrdiff_t i = 0; i < m; ++i) {                   \
            MLNN_T s = 0;                                     \
            MLNN_CHAIN##K(s, w);                              \
            o0[i] = F(s, g0[i]);                              \
        }
#define MLNN_CASE(K)                                          \
    case K:                                                   \
        if (activation == MLNN_ACT_TANH) {                    \
            MLNN_GRAD_LOOP(K, MLNN_F_TANH)                    \
        } else if (activation == MLNN_ACT_SIGMOID) {          \
            MLNN_GRAD_LOOP(K, MLNN_F_SIGMOID)                 \
        } else if (activation == MLNN_ACT_IDENTITY) {         \
            MLNN_GRAD_LOOP(K, MLNN_F_IDENTITY)                \
        } else {                                              \
            MLNN_GRAD_LOOP(K, MLNN_F_RELU)                    \
        }                                                     \
        break;
    MLNN_BY_KB(kb);
#undef MLNN_CASE
#undef MLNN_GRAD_LOOP
}
#undef MLNN_ROWS_SETUP
#undef MLNN_BY_KB
#undef MLNN_CHAIN1
#undef MLNN_CHAIN2
#undef MLNN_CHAIN3
#undef MLNN_CHAIN4

/* out (n_out, m) = W^T (n_out, n_in) @ inT (n_in, m) + b: output rows two
 * at a time, input rows four at a time */
static void MLNN_TN(dense_fwd_)(const MLNN_T *inT, const MLNN_T *W, const MLNN_T *b,
                                MLNN_T *out, ptrdiff_t m, ptrdiff_t ld, ptrdiff_t n_in,
                                ptrdiff_t n_out)
{
    for (ptrdiff_t j = 0; j < n_out; j += 2) {
        const int two = j + 1 < n_out;
        for (ptrdiff_t k = 0; k < n_in; k += 4) {
            const int kb = (int)(n_in - k < 4 ? n_in - k : 4);
            const MLNN_T *a[4];
            MLNN_T w[4], v[4];
            for (int r = 0; r < 4; ++r) { /* rows past kb are never read */
                a[r] = inT + (k + (r < kb ? r : 0)) * ld;
                w[r] = r < kb ? W[(k + r) * n_out + j] : (MLNN_T)0;
                v[r] = r < kb && two ? W[(k + r) * n_out + j + 1] : (MLNN_T)0;
            }
            MLNN_TN(rows_)(out + j * ld, out + (j + two) * ld, a, w, v, two, kb, k == 0,
                           b[j], b[j + two], m);
        }
    }
}

/* d (rows, m) *= f'(pre_act), from g = f(pre_act) (rows, m); rows ld apart.
 * After a BLAS product (the Cython layer) and after the accumulating passes
 * of a wide layer below. */
static void MLNN_TN(act_grad_)(MLNN_T *d, const MLNN_T *g, ptrdiff_t m, ptrdiff_t ld,
                               ptrdiff_t rows, int activation)
{
    for (ptrdiff_t r = 0; r < rows; ++r) {
        MLNN_T *restrict o = d + r * ld;
        const MLNN_T *restrict a = g + r * ld;
        if (activation == MLNN_ACT_TANH) {
            for (ptrdiff_t i = 0; i < m; ++i)
                o[i] = MLNN_F_TANH(o[i], a[i]);
        } else if (activation == MLNN_ACT_SIGMOID) {
            for (ptrdiff_t i = 0; i < m; ++i)
                o[i] = MLNN_F_SIGMOID(o[i], a[i]);
        } else if (activation == MLNN_ACT_IDENTITY) {
            /* identity: f' = 1 */
        } else {
            for (ptrdiff_t i = 0; i < m; ++i)
                o[i] = MLNN_F_RELU(o[i], a[i]);
        }
    }
}

/* z (rows, m) = f(z + b[r]) row by row, in place; b NULL: f(z) (no add, so
 * -0 stays -0).  After a layer's BLAS product, which then runs with beta = 0
 * instead of reading a bias-filled output: the bias add happens while the row
 * is in L1 for its activation.  ReLU keeps NaN (NaN < 0 is false). */
static void MLNN_TN(bias_act_)(MLNN_T *z, const MLNN_T *b, ptrdiff_t m, ptrdiff_t ld,
                               ptrdiff_t rows, int activation)
{
    for (ptrdiff_t r = 0; r < rows; ++r) {
        MLNN_T *restrict o = z + r * ld;
        const MLNN_T br = b ? b[r] : (MLNN_T)0;
        if (activation == MLNN_ACT_RELU) {
            if (b)
                for (ptrdiff_t i = 0; i < m; ++i) {
                    const MLNN_T v = o[i] + br;
                    o[i] = v < 0 ? (MLNN_T)0 : v;
                }
            else
                for (ptrdiff_t i = 0; i < m; ++i)
                    o[i] = o[i] < 0 ? (MLNN_T)0 : o[i];
            continue;
        }
        if (b)
            for (ptrdiff_t i = 0; i < m; ++i)
                o[i] += br;
        if (activation == MLNN_ACT_TANH)
            MLNN_TN(tanh_)(o, o, m);
        else if (activation == MLNN_ACT_SIGMOID)
            MLNN_TN(sigmoid_)(o, o, m);
    }
}

/* dinT (n_in, m) = (W (n_in, n_out) @ delta (n_out, m)) * f'(act); act
 * (n_in, m) is f(pre_act) of the layer below; activation codes as in
 * mlnn._spec.ACTIVATIONS (0 tanh, 1 relu, 2 sigmoid, 3 identity).  Output rows two
 * at a time. */
static void MLNN_TN(dense_bwd_)(const MLNN_T *delta, const MLNN_T *W, const MLNN_T *act,
                                MLNN_T *dinT, ptrdiff_t m, ptrdiff_t ld, ptrdiff_t n_in,
                                ptrdiff_t n_out, int activation)
{
    for (ptrdiff_t k = 0; k < n_in; k += 2) {
        const int two = k + 1 < n_in;
        MLNN_T *o0 = dinT + k * ld, *o1 = dinT + (k + two) * ld;
        const MLNN_T *w = W + k * n_out, *v = W + (k + two) * n_out;
        if (n_out <= 4) { /* one pass, f' included */
            const MLNN_T *d[4];
            for (int r = 0; r < 4; ++r)
                d[r] = delta + (r < n_out ? r : 0) * ld;
            MLNN_TN(rows_grad_)(o0, o1, d, w, v, two, (int)n_out, act + k * ld,
                                act + (k + two) * ld, activation, m);
            continue;
        }
        for (ptrdiff_t j = 0; j < n_out; j += 4) {
            const int jb = (int)(n_out - j < 4 ? n_out - j : 4);
            const MLNN_T *d[4];
            for (int r = 0; r < 4; ++r) /* rows past jb are never read */
                d[r] = delta + (j + (r < jb ? r : 0)) * ld;
            MLNN_TN(rows_)(o0, o1, d, w + j, v + j, two, jb, j == 0, 0, 0, m);
        }
        MLNN_TN(act_grad_)(dinT + k * ld, act + k * ld, m, ld, 1 + two, activation);
    }
}
#undef MLNN_F_TANH
#undef MLNN_F_SIGMOID
#undef MLNN_F_RELU
#undef MLNN_F_IDENTITY

/* dW (n_in, n_out) = inT (n_in, m) @ delta^T (m, n_out) and db (n_out) =
 * sum over samples of delta, both overwritten; each entry is one dot product
 * or sum over the m samples, in double. */
static void MLNN_TN(dense_dw_)(const MLNN_T *inT, const MLNN_T *delta, MLNN_T *dW,
                               MLNN_T *db, ptrdiff_t m, ptrdiff_t ld, ptrdiff_t n_in,
                               ptrdiff_t n_out)
{
#if MLNN_VBYTES
    if (sizeof(MLNN_T) == sizeof(double)) {
        /* float64: tiles of up to 4 input rows x 2 delta rows, one pass each
         * (db with the first tile of each delta pair); a lone last delta row
         * is paired with itself: a pass per tile instead of one per entry
         * of dW and db.  The casts are no-ops; the float32 instance never
         * takes this branch and uses dot_f/sum_f, which convert each element
         * to double. */
        for (ptrdiff_t j = 0; j < n_out; j += 2) {
            const int jb = (int)(n_out - j < 2 ? n_out - j : 2);
            const double *d0 = (const double *)delta + j * ld, *d1 = d0 + (jb - 1) * ld;
            for (ptrdiff_t k = 0; k < n_in; k += 4) {
                const int kb = (int)(n_in - k < 4 ? n_in - k : 4);
                const double *a[4];
                double s[8], t[2];
                for (int r = 0; r < 4; ++r)
                    a[r] = (const double *)inT + (k + (r < kb ? r : 0)) * ld;
                switch (kb * 2 + (k == 0)) { /* constant KB and SUMS in each call */
                case 2: MLNN_NAME(dw_tile_d)(a, 1, d0, d1, m, 0, s, t); break;
                case 3: MLNN_NAME(dw_tile_d)(a, 1, d0, d1, m, 1, s, t); break;
                case 4: MLNN_NAME(dw_tile_d)(a, 2, d0, d1, m, 0, s, t); break;
                case 5: MLNN_NAME(dw_tile_d)(a, 2, d0, d1, m, 1, s, t); break;
                case 6: MLNN_NAME(dw_tile_d)(a, 3, d0, d1, m, 0, s, t); break;
                case 7: MLNN_NAME(dw_tile_d)(a, 3, d0, d1, m, 1, s, t); break;
                case 8: MLNN_NAME(dw_tile_d)(a, 4, d0, d1, m, 0, s, t); break;
                default: MLNN_NAME(dw_tile_d)(a, 4, d0, d1, m, 1, s, t); break;
                }
                for (int r = 0; r < kb; ++r)
                    for (int c = 0; c < jb; ++c)
                        dW[(k + r) * n_out + j + c] = (MLNN_T)s[2 * r + c];
                if (k == 0)
                    for (int c = 0; c < jb; ++c)
                        db[j + c] = (MLNN_T)t[c];
            }
        }
        return;
    }
#endif
    for (ptrdiff_t k = 0; k < n_in; ++k)
        for (ptrdiff_t j = 0; j < n_out; ++j)
            dW[k * n_out + j] = (MLNN_T)MLNN_TN(dot_)(inT + k * ld, delta + j * ld, m);
    for (ptrdiff_t j = 0; j < n_out; ++j)
        db[j] = (MLNN_T)MLNN_TN(sum_)(delta + j * ld, m);
}

/* x - x is NaN exactly for NaN and +-inf */
#define MLNN_NONFINITE(x) ((x) - (x) == 0 ? 0 : 1)

/* dst (cols, m), rows ld apart = src (m, cols) row-major, transposed; returns
 * how many entries are NaN or +-inf, counted in the same pass (predict
 * checks its input without a second pass over X).  Two columns (the
 * notebook's data) have their own loop, which GCC vectorizes with shuffles;
 * the generic strided loop does not vectorize. */
static ptrdiff_t MLNN_TN(cols_in_)(const MLNN_T *src, MLNN_T *dst, ptrdiff_t m, ptrdiff_t cols,
                                   ptrdiff_t ld)
{
    const MLNN_T *restrict s = src;
    ptrdiff_t c = 0;
    if (cols == 2) {
        MLNN_T *restrict d0 = dst, *restrict d1 = dst + ld;
        for (ptrdiff_t i = 0; i < m; ++i) {
            const MLNN_T a = s[2 * i], b = s[2 * i + 1];
            d0[i] = a;
            d1[i] = b;
            c += MLNN_NONFINITE(a) + MLNN_NONFINITE(b);
        }
        return c;
    }
    for (ptrdiff_t k = 0; k < cols; ++k) {
        MLNN_T *restrict d = dst + k * ld;
        for (ptrdiff_t i = 0; i < m; ++i) {
            const MLNN_T a = s[i * cols + k];
            d[i] = a;
            c += MLNN_NONFINITE(a);
        }
    }
    return c;
}

/* The chunk reduction (contract in mlnn_fastmath.h).  Tiles of
 * MLNN_REDUCE_TILE parameters are summed chunk by chunk, so every read of a
 * slot is contiguous and the tile's double sums stay in L1; each parameter
 * still adds chunks 0, 1, 2, ... in that order. */
#ifndef MLNN_REDUCE_TILE /* once for every level and type */
#define MLNN_REDUCE_TILE 512
#endif
static ptrdiff_t MLNN_TN(reduce_)(const MLNN_T *ws, ptrdiff_t stride, ptrdiff_t n_chunks,
                                  const MLNN_T *params, MLNN_T *grads, ptrdiff_t n_weights,
                                  double reg, double eps, ptrdiff_t p0, ptrdiff_t p1)
{
    double acc[MLNN_REDUCE_TILE];
    const MLNN_T e = (MLNN_T)eps;
    ptrdiff_t bad = 0;
    for (ptrdiff_t t0 = p0; t0 < p1; t0 += MLNN_REDUCE_TILE) {
        const ptrdiff_t nt = p1 - t0 < MLNN_REDUCE_TILE ? p1 - t0 : MLNN_REDUCE_TILE;
        /* the weights of this tile are [t0, t0 + nw), its biases the rest */
        const ptrdiff_t nw = n_weights <= t0 ? 0 : (n_weights - t0 < nt ? n_weights - t0 : nt);
        for (ptrdiff_t i = 0; i < nt; ++i)
            acc[i] = ws[t0 + i];
        for (ptrdiff_t c = 1; c < n_chunks; ++c) {
            const MLNN_T *restrict slot = ws + c * stride + t0;
            for (ptrdiff_t i = 0; i < nt; ++i)
                acc[i] += slot[i];
        }
        MLNN_T *restrict g = grads + t0;
        if (!params) {
            for (ptrdiff_t i = 0; i < nt; ++i)
                g[i] = (MLNN_T)acc[i];
            continue;
        }
        const MLNN_T *restrict w = params + t0;
        for (ptrdiff_t i = 0; i < nw; ++i) {
            g[i] = (MLNN_T)(acc[i] + reg * w[i]);
            bad += MLNN_NONFINITE(g[i]) | MLNN_NONFINITE(w[i] - e * g[i]);
        }
        for (ptrdiff_t i = nw; i < nt; ++i) {
            g[i] = (MLNN_T)(acc[i] + 0.0);
            bad += MLNN_NONFINITE(g[i]) | MLNN_NONFINITE(w[i] - e * g[i]);
        }
    }
    return bad;
}

#undef MLNN_NONFINITE

/* dst (m, cols) row-major = src (cols, m), rows ld apart, transposed (the
 * inverse of cols_in_, without the count) */
static void MLNN_TN(cols_out_)(const MLNN_T *src, MLNN_T *dst, ptrdiff_t m, ptrdiff_t cols,
                               ptrdiff_t ld)
{
    MLNN_T *restrict d = dst;
    if (cols == 2) {
        const MLNN_T *restrict s0 = src, *restrict s1 = src + ld;
        for (ptrdiff_t i = 0; i < m; ++i) {
            d[2 * i] = s0[i];
            d[2 * i + 1] = s1[i];
        }
        return;
    }
    for (ptrdiff_t i = 0; i < m; ++i)
        for (ptrdiff_t k = 0; k < cols; ++k)
            d[i * cols + k] = src[k * ld + i];
}

/* labels (m,) = argmax over the n rows of probs (n, m), ties to the lowest
 * index as numpy.argmax; a column holding a NaN gets -1.  best (m,) scratch.
 * Selects, not branches: near a decision boundary the winner is
 * unpredictable, and mispredicted branches cost more than the loop. */
static void MLNN_TN(argmax_)(const MLNN_T *probs, int64_t *labels, MLNN_T *best,
                             ptrdiff_t n, ptrdiff_t m, ptrdiff_t ld)
{
    int64_t *restrict lab = labels;
    if (n == 2) {
        const MLNN_T *restrict p0 = probs, *restrict p1 = probs + ld;
        for (ptrdiff_t i = 0; i < m; ++i) {
            const int64_t k = p1[i] > p0[i] ? 1 : 0;
            lab[i] = (p0[i] != p0[i] || p1[i] != p1[i]) ? -1 : k;
        }
        return;
    }
    MLNN_T *restrict b = best;
    for (ptrdiff_t i = 0; i < m; ++i) {
        b[i] = probs[i];
        lab[i] = 0;
    }
    for (ptrdiff_t j = 1; j < n; ++j) {
        const MLNN_T *restrict p = probs + j * ld;
        for (ptrdiff_t i = 0; i < m; ++i) {
            const int take = p[i] > b[i];
            lab[i] = take ? j : lab[i];
            b[i] = take ? p[i] : b[i];
        }
    }
    for (ptrdiff_t j = 0; j < n; ++j) {
        const MLNN_T *restrict p = probs + j * ld;
        for (ptrdiff_t i = 0; i < m; ++i)
            lab[i] = p[i] != p[i] ? -1 : lab[i];
    }
}

/* The softmax of two logits a, b, with one exp: with e = exp(low - high),
 * p_high = 1 / (1 + e) and p_low = e * p_high (one division; the general
 * formula's e / (1 + e) differs by at most an ulp).  A NaN logit or an
 * infinite maximum gives NaN, as exp(z - max) / sum(exp(z - max)) does:
 * a NaN a is high (the comparison fails), a NaN b makes low - high NaN, and
 * bad_ = high - high is NaN for a NaN or infinite high, else 0. */
#define MLNN_SOFT2(a, b, p0, p1)                                                        \
    do {                                                                                \
        const MLNN_T hi_ = (a) < (b) ? (b) : (a), lo_ = (a) < (b) ? (a) : (b);          \
        const MLNN_T e_ = (MLNN_T)MLNN_NAME(exp_neg_kernel)((double)(lo_ - hi_));       \
        const MLNN_T ph_ = (MLNN_T)1 / ((MLNN_T)1 + e_), pl_ = e_ * ph_;                 \
        const MLNN_T bad_ = hi_ - hi_;                                                  \
        (p0) = ((a) < (b) ? pl_ : ph_) + bad_;                                          \
        (p1) = ((a) < (b) ? ph_ : pl_) + bad_;                                          \
    } while (0)

/* out (n, m) = softmax over the n rows of each column of z (n, m), with
 * exp(z - max) / sum(exp(z - max)): a NaN logit or an infinite maximum gives
 * NaN.  out may be z (in place).  tmp (m,) scratch. */
static void MLNN_TN(softmax_to_)(const MLNN_T *z, MLNN_T *out, MLNN_T *tmp, ptrdiff_t n,
                                 ptrdiff_t m, ptrdiff_t ld)
{
    MLNN_T *restrict t = tmp;
    for (ptrdiff_t i = 0; i < m; ++i)
        t[i] = z[i];
    for (ptrdiff_t j = 1; j < n; ++j) {
        const MLNN_T *restrict r = z + j * ld;
        for (ptrdiff_t i = 0; i < m; ++i)
            t[i] = r[i] > t[i] ? r[i] : t[i];
    }
    for (ptrdiff_t j = 0; j < n; ++j) {
        const MLNN_T *r = z + j * ld;
        MLNN_T *o = out + j * ld;
        for (ptrdiff_t i = 0; i < m; ++i)
            o[i] = (MLNN_T)MLNN_NAME(exp_neg_kernel)((double)(r[i] - t[i]));
    }
    for (ptrdiff_t i = 0; i < m; ++i)
        t[i] = out[i];
    for (ptrdiff_t j = 1; j < n; ++j) {
        const MLNN_T *restrict r = out + j * ld;
        for (ptrdiff_t i = 0; i < m; ++i)
            t[i] += r[i];
    }
    for (ptrdiff_t j = 0; j < n; ++j) {
        MLNN_T *restrict r = out + j * ld;
        for (ptrdiff_t i = 0; i < m; ++i)
            r[i] /= t[i];
    }
}

/* In place: z (n, m) logits -> their softmax (two classes: one exp each) */
static void MLNN_TN(softmax_)(MLNN_T *z, MLNN_T *tmp, ptrdiff_t n, ptrdiff_t m,
                              ptrdiff_t ld)
{
    if (n == 2) {
        MLNN_T *restrict z0 = z, *restrict z1 = z + ld;
        for (ptrdiff_t i = 0; i < m; ++i) {
            const MLNN_T a = z0[i], b = z1[i];
            MLNN_SOFT2(a, b, z0[i], z1[i]);
        }
        return;
    }
    MLNN_TN(softmax_to_)(z, z, tmp, n, m, ld);
}

/* delta (n, m) = softmax(z) - onehot(y): the output layer's error of the
 * softmax + cross-entropy loss, straight from the logits z (n, m); y (m,)
 * labels in [0, n).  tmp (m,) scratch. */
static void MLNN_TN(softmax_delta_)(const MLNN_T *z, const int64_t *y, MLNN_T *delta,
                                    MLNN_T *tmp, ptrdiff_t n, ptrdiff_t m, ptrdiff_t ld)
{
    const int64_t *restrict lab = y;
    if (n == 2) { /* one pass */
        const MLNN_T *restrict z0 = z, *restrict z1 = z + ld;
        MLNN_T *restrict d0 = delta, *restrict d1 = delta + ld;
        for (ptrdiff_t i = 0; i < m; ++i) {
            const MLNN_T a = z0[i], b = z1[i];
            MLNN_T p0, p1;
            MLNN_SOFT2(a, b, p0, p1);
            d0[i] = p0 - (lab[i] == 0 ? (MLNN_T)1 : (MLNN_T)0);
            d1[i] = p1 - (lab[i] == 1 ? (MLNN_T)1 : (MLNN_T)0);
        }
        return;
    }
    MLNN_TN(softmax_to_)(z, delta, tmp, n, m, ld);
    for (ptrdiff_t j = 0; j < n; ++j) {
        MLNN_T *restrict d = delta + j * ld;
        for (ptrdiff_t i = 0; i < m; ++i)
            d[i] -= (lab[i] == j ? (MLNN_T)1 : (MLNN_T)0);
    }
}
#undef MLNN_SOFT2

/* The estimators' optimizer steps on params[p0:p1), from the batch's
 * gradient sums: scikit-learn's mean gradient g = (sums + alpha W) / s
 * (weights are params[0:n_weights), biases are not penalised), then its
 * SGDOptimizer or AdamOptimizer update, in the same order of operations.
 * Weights and biases run as two plain loops, so that each vectorizes. */
#define MLNN_STEP_LOOPS(BODY)                                                 \
    {                                                                         \
        const ptrdiff_t mid = p1 < n_weights ? p1 : (p0 > n_weights ? p0 : n_weights); \
        for (ptrdiff_t p = p0; p < mid; ++p) {                                \
            const MLNN_T g = (MLNN_T)((sums[p] + alpha * params[p]) / s);     \
            BODY                                                              \
        }                                                                     \
        for (ptrdiff_t p = mid; p < p1; ++p) {                                \
            const MLNN_T g = (MLNN_T)(sums[p] / s);                           \
            BODY                                                              \
        }                                                                     \
    }

/* velocity = momentum * velocity - lr * g; params += velocity, or with
 * Nesterov params += momentum * velocity - lr * g; in the model's dtype */
static void MLNN_TN(sgd_step_)(MLNN_T *restrict params, const MLNN_T *restrict sums,
                               MLNN_T *restrict velocity, ptrdiff_t p0, ptrdiff_t p1,
                               ptrdiff_t n_weights, double alpha, double s, double lr,
                               double momentum, int nesterov)
{
    const MLNN_T mu = (MLNN_T)momentum, eta = (MLNN_T)lr;
    if (nesterov)
        MLNN_STEP_LOOPS(velocity[p] = mu * velocity[p] - eta * g;
                        params[p] += mu * velocity[p] - eta * g;)
    else
        MLNN_STEP_LOOPS(velocity[p] = mu * velocity[p] - eta * g;
                        params[p] += velocity[p];)
}

/* m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2 in the model's dtype;
 * params += -lr_t m / (sqrt(v) + eps) in double (NumPy's float64 lr_t) */
static void MLNN_TN(adam_step_)(MLNN_T *restrict params, const MLNN_T *restrict sums,
                                MLNN_T *restrict m, MLNN_T *restrict v, ptrdiff_t p0,
                                ptrdiff_t p1, ptrdiff_t n_weights, double alpha, double s,
                                double lr_t, double beta_1, double beta_2, double epsilon)
{
    const MLNN_T b1 = (MLNN_T)beta_1, b2 = (MLNN_T)beta_2;
    const MLNN_T c1 = (MLNN_T)(1 - beta_1), c2 = (MLNN_T)(1 - beta_2);
    const MLNN_T eps = (MLNN_T)epsilon;
    MLNN_STEP_LOOPS(m[p] = b1 * m[p] + c1 * g;
                    v[p] = b2 * v[p] + c2 * (g * g);
                    params[p] = (MLNN_T)(params[p] + (-lr_t * m[p])
                                         / (double)(sqrt(v[p]) + eps));)
}
#undef MLNN_STEP_LOOPS

#undef MLNN_TN

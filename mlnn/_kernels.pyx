# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False, nonecheck=False
"""Compiled kernels of mlnn: forward, backward, update and the fused training loop.

Every ``def`` here has a pure-NumPy twin with the same name and arguments in
``mlnn/_reference.py``; the tests run both and compare them.

Design note
-----------
Parameters.  All weights and biases live in one flat, C-contiguous vector
``params`` laid out as ``[W1, ..., WL, b1, ..., bL]`` (scikit-learn's packing
order, so L-BFGS sees the same vector; the weights are the prefix that the
L2 penalty covers).  ``W_l`` is row-major ``(n_in, n_out)`` at ``w_off[l]``
and ``b_l`` is ``(n_out,)`` at ``b_off[l]``
(``lay``, built by ``mlnn._spec.layout``, holds sizes and offsets).
Gradients use the same layout, so the update is one loop over a vector and
the Python layer hands out numpy views W1, b1, ... into the vector.

Activations are feature-major inside the kernels.  A block of ``m`` samples
keeps each layer as a ``(width, m)`` array (one row per unit, rows ``ld``
apart: ``m`` rounded up to 16 elements, every row 64-byte aligned), and
the input as XT ``(n_in, m)``.  Why: the notebook's layers are 2-64 units
wide but hundreds of samples long, so every inner loop (forward axpy,
dW dot products, softmax across classes, f'(act)) then runs over ``m``
contiguous samples and vectorizes, with no store-to-load chains through a
tiny dW row.  Small layers, the softmax and the element-wise functions run
C ops from csrc/ (dense_fwd, dense_bwd, dense_dw, softmax, tanh, ... in
mlnn_dense_impl.h and mlnn_fastmath_impl.h).

CPU levels.  The C ops are compiled once per CPU level (baseline x86-64,
AVX2+FMA, AVX-512) into one table of function pointers per level
(csrc/mlnn_fastmath.h).  ``OPS``, set once at import, points at the table of
the best level this CPU has (capped by MLNN_CPU_LEVEL), and every kernel
calls through it; the small fused-type helpers below (``_tanh``,
``_dense_fwd``, ...) are the one place that picks an op's float or double
version.  Code generated from this file itself is compiled once, for the
baseline, which is why the vectorizable loops live in C.  Layers that are
wide on both sides with ``m * n_in * n_out >= BLAS_MIN_WORK`` call BLAS
through scipy.linalg.cython_blas instead (column-major, so each call
computes the transposed product).  Results handed back to Python are
(n_samples, width).

Threads and ownership.  Training cuts the samples into ``n_chunks`` contiguous
chunks; the count depends only on N and the model size (``mlnn._core``), never
on the thread count.  Each chunk owns one slot of the workspace,
``[grads | XT]``: its gradient sums and its input rows, fixed for the whole
call (XT is transposed once per call, or not at all where the first layer
calls BLAS and reads X's rows as they are).  The activations and errors
``[acts | delta_a | delta_b | tmp]`` live in one area per thread, which
every chunk that thread runs overwrites: they stay in its core's cache from
one chunk to the next, and nothing in them outlives a chunk.  After the
chunks, the gradient slots are summed in chunk order for every parameter
(parallel over parameters, not chunks), so results are bit-identical for any
thread count or schedule and there is no ``+=`` into a shared array inside a
prange (cython/cython#4761).  The workspace ``ws`` is that one scratch
array; a ``WorkspacePlan`` (``plan``) says where each slot and region lies.
predict/loss/forward use fixed BLOCK_ROWS-row blocks with per-thread
scratch, and write disjoint rows of their outputs.

With n_threads == 1 no OpenMP region is entered at all: cheaper for tiny
workloads and safe in a forked child whose parent used GNU OpenMP.

Long sums (dot products over samples, chunk reductions, the loss) are
accumulated in double, also for float32 models.

The estimators' path.  ``epoch`` runs every mini-batch of an epoch in one
call: each batch's rows are taken by the epoch's permutation (``order``),
cut into chunks by the batch size alone, passed forward and backward with the
output head's error ``(act - Y) * sample_weight``, their gradient sums added
in chunk order, and then the SGD or Adam step (C ops) updates params and the
optimizer state in place.  ``loss_grad`` is the same for all rows at once,
for L-BFGS.  A first layer that calls BLAS reads the batch's rows
sample-major as they are (no transpose).

Arguments are marked IN / OUT in each entry point's docstring.
"""

from cython cimport floating
from cython.parallel cimport prange, threadid
from libc.float cimport DBL_EPSILON, FLT_EPSILON
from libc.math cimport log, pow, sqrt
from libc.stdint cimport int32_t, int64_t
from libc.string cimport memcpy, memset

import numpy as np

from scipy.linalg.cython_blas cimport dgemm, sgemm

from mlnn._openmp_helpers cimport MLNN_OPENMP_ENABLED, omp_get_max_threads


cdef extern from "mlnn_fastmath.h" nogil:
    # One CPU level's table of C ops; csrc/mlnn_fastmath.h has the contract
    # (shapes, in-place rules).  (k, m) arrays have rows ld >= m elements apart.
    cdef struct mlnn_ops:
        void (*tanh_d)(const double *x, double *out, Py_ssize_t n) noexcept nogil
        void (*tanh_f)(const float *x, float *out, Py_ssize_t n) noexcept nogil
        void (*exp_d)(const double *x, double *out, Py_ssize_t n) noexcept nogil
        void (*exp_f)(const float *x, float *out, Py_ssize_t n) noexcept nogil
        void (*sigmoid_d)(const double *x, double *out, Py_ssize_t n) noexcept nogil
        void (*sigmoid_f)(const float *x, float *out, Py_ssize_t n) noexcept nogil
        double (*dot_d)(const double *a, const double *b, Py_ssize_t n) noexcept nogil
        double (*dot_f)(const float *a, const float *b, Py_ssize_t n) noexcept nogil
        double (*sum_d)(const double *a, Py_ssize_t n) noexcept nogil
        double (*sum_f)(const float *a, Py_ssize_t n) noexcept nogil
        void (*dense_fwd_d)(const double *inT, const double *W, const double *b,
                            double *out, Py_ssize_t m, Py_ssize_t ld, Py_ssize_t n_in,
                            Py_ssize_t n_out) noexcept nogil
        void (*dense_fwd_f)(const float *inT, const float *W, const float *b,
                            float *out, Py_ssize_t m, Py_ssize_t ld, Py_ssize_t n_in,
                            Py_ssize_t n_out) noexcept nogil
        void (*dense_bwd_d)(const double *delta, const double *W, const double *act,
                            double *dinT, Py_ssize_t m, Py_ssize_t ld, Py_ssize_t n_in,
                            Py_ssize_t n_out, int activation) noexcept nogil
        void (*dense_bwd_f)(const float *delta, const float *W, const float *act,
                            float *dinT, Py_ssize_t m, Py_ssize_t ld, Py_ssize_t n_in,
                            Py_ssize_t n_out, int activation) noexcept nogil
        void (*dense_dw_d)(const double *inT, const double *delta, double *dW, double *db,
                           Py_ssize_t m, Py_ssize_t ld, Py_ssize_t n_in,
                           Py_ssize_t n_out) noexcept nogil
        void (*dense_dw_f)(const float *inT, const float *delta, float *dW, float *db,
                           Py_ssize_t m, Py_ssize_t ld, Py_ssize_t n_in,
                           Py_ssize_t n_out) noexcept nogil
        void (*act_grad_d)(double *d, const double *g, Py_ssize_t m, Py_ssize_t ld,
                           Py_ssize_t rows, int activation) noexcept nogil
        void (*act_grad_f)(float *d, const float *g, Py_ssize_t m, Py_ssize_t ld,
                           Py_ssize_t rows, int activation) noexcept nogil
        void (*bias_act_d)(double *z, const double *b, Py_ssize_t m, Py_ssize_t ld,
                           Py_ssize_t rows, int activation) noexcept nogil
        void (*bias_act_f)(float *z, const float *b, Py_ssize_t m, Py_ssize_t ld,
                           Py_ssize_t rows, int activation) noexcept nogil
        void (*softmax_d)(double *z, double *tmp, Py_ssize_t n, Py_ssize_t m,
                          Py_ssize_t ld) noexcept nogil
        void (*softmax_f)(float *z, float *tmp, Py_ssize_t n, Py_ssize_t m,
                          Py_ssize_t ld) noexcept nogil
        void (*softmax_delta_d)(const double *z, const int64_t *y, double *delta,
                                double *tmp, Py_ssize_t n, Py_ssize_t m,
                                Py_ssize_t ld) noexcept nogil
        void (*softmax_delta_f)(const float *z, const int64_t *y, float *delta,
                                float *tmp, Py_ssize_t n, Py_ssize_t m,
                                Py_ssize_t ld) noexcept nogil
        void (*argmax_d)(const double *probs, int64_t *labels, double *best, Py_ssize_t n,
                         Py_ssize_t m, Py_ssize_t ld) noexcept nogil
        void (*argmax_f)(const float *probs, int64_t *labels, float *best, Py_ssize_t n,
                         Py_ssize_t m, Py_ssize_t ld) noexcept nogil
        Py_ssize_t (*cols_in_d)(const double *src, double *dst, Py_ssize_t m,
                                Py_ssize_t cols, Py_ssize_t ld) noexcept nogil
        Py_ssize_t (*cols_in_f)(const float *src, float *dst, Py_ssize_t m,
                                Py_ssize_t cols, Py_ssize_t ld) noexcept nogil
        void (*cols_out_d)(const double *src, double *dst, Py_ssize_t m, Py_ssize_t cols,
                           Py_ssize_t ld) noexcept nogil
        void (*cols_out_f)(const float *src, float *dst, Py_ssize_t m, Py_ssize_t cols,
                           Py_ssize_t ld) noexcept nogil
        Py_ssize_t (*reduce_d)(const double *ws, Py_ssize_t stride, Py_ssize_t n_chunks,
                               const double *params, double *grads, Py_ssize_t n_weights,
                               double reg, double eps, Py_ssize_t p0,
                               Py_ssize_t p1) noexcept nogil
        Py_ssize_t (*reduce_f)(const float *ws, Py_ssize_t stride, Py_ssize_t n_chunks,
                               const float *params, float *grads, Py_ssize_t n_weights,
                               double reg, double eps, Py_ssize_t p0,
                               Py_ssize_t p1) noexcept nogil
        void (*sgd_step_d)(double *params, const double *sums, double *velocity,
                           Py_ssize_t p0, Py_ssize_t p1, Py_ssize_t n_weights,
                           double alpha, double s, double lr, double momentum,
                           int nesterov) noexcept nogil
        void (*sgd_step_f)(float *params, const float *sums, float *velocity,
                           Py_ssize_t p0, Py_ssize_t p1, Py_ssize_t n_weights,
                           double alpha, double s, double lr, double momentum,
                           int nesterov) noexcept nogil
        void (*adam_step_d)(double *params, const double *sums, double *m, double *v,
                            Py_ssize_t p0, Py_ssize_t p1, Py_ssize_t n_weights,
                            double alpha, double s, double lr_t, double beta_1,
                            double beta_2, double epsilon) noexcept nogil
        void (*adam_step_f)(float *params, const float *sums, float *m, float *v,
                            Py_ssize_t p0, Py_ssize_t p1, Py_ssize_t n_weights,
                            double alpha, double s, double lr_t, double beta_1,
                            double beta_2, double epsilon) noexcept nogil

    cdef enum:
        LEVEL_AVX512 "MLNN_LEVEL_AVX512"
        N_LEVELS "MLNN_N_LEVELS"
    const mlnn_ops *mlnn_get_ops()
    int mlnn_level_selected()
    const char *mlnn_level_name(int level)
    const char *mlnn_level_isa(int level)
    int mlnn_level_compiled(int level)
    int mlnn_cpu_has_level(int level)
    int mlnn_level_supported(int level)
    const char *mlnn_level_requested()
    int mlnn_level_request_known()


# The selected CPU level's ops, for every kernel below: fixed at import
# (cpuid, capped by MLNN_CPU_LEVEL), never changed afterwards.
cdef const mlnn_ops *OPS = mlnn_get_ops()

if mlnn_level_requested() != NULL and not mlnn_level_request_known():
    import warnings
    warnings.warn(f"MLNN_CPU_LEVEL={mlnn_level_requested().decode(errors='replace')!r} is "
                  "not one of "
                  + ", ".join(mlnn_level_name(lv).decode() for lv in range(N_LEVELS))
                  + "; ignored (the highest level this CPU supports is used)",
                  RuntimeWarning)


# Activation, head and solver codes, shared with csrc (mlnn_spec.h); the
# Python names are in mlnn._spec, and tests/test_spec.py checks both agree.
cdef extern from "mlnn_spec.h" nogil:
    cdef enum:
        ACT_TANH "MLNN_ACT_TANH"
        ACT_RELU "MLNN_ACT_RELU"
        ACT_SIGMOID "MLNN_ACT_SIGMOID"
        ACT_IDENTITY "MLNN_ACT_IDENTITY"
        HEAD_SOFTMAX "MLNN_HEAD_SOFTMAX"
        HEAD_LOGISTIC "MLNN_HEAD_LOGISTIC"
        HEAD_IDENTITY "MLNN_HEAD_IDENTITY"
        HEAD_EXP "MLNN_HEAD_EXP"
        SOLVER_SGD "MLNN_SOLVER_SGD"
        SOLVER_ADAM "MLNN_SOLVER_ADAM"


def codes():
    """The codes compiled into the kernels, by mlnn._spec's names."""
    return {
        "activations": {"tanh": ACT_TANH, "relu": ACT_RELU, "sigmoid": ACT_SIGMOID,
                        "identity": ACT_IDENTITY},
        "heads": {"softmax": HEAD_SOFTMAX, "logistic": HEAD_LOGISTIC,
                  "identity": HEAD_IDENTITY, "exp": HEAD_EXP},
        "solvers": {"sgd": SOLVER_SGD, "adam": SOLVER_ADAM},
    }


# Below this many multiply-adds (m * n_in * n_out) the plain loops beat a BLAS
# call (bench/run.py --workload W2); mlnn._core asks uses_blas().  A layer
# with a side narrower than the BLAS minimum side also runs the loops: see
# _blas_min_side for the rule and bench/README.md for the measurements.
cdef enum:
    BLAS_MIN_WORK = 32768
    BLAS_MIN_SIDE = 16
    BLAS_MIN_SIDE_AVX512 = 8

# OpenBLAS runs products of at most SMALL_GEMM_WORK multiply-adds in small-
# matrix kernels (no packing, no separate pass scaling C) on AVX-512 CPUs,
# TN products only while C has at most about SMALL_TN_C entries
# (mlnn._core.n_chunks cuts the chunks for the first; _dense_dweight splits
# dW for the second).  The chunk rule must also run without this extension
# (backend="numpy"), so mlnn._core holds the same number and
# tests/test_core.py checks that the two agree.
cpdef enum:
    SMALL_GEMM_WORK = 1000000
cdef enum:
    SMALL_TN_C = 1024

# Samples per block for predict/loss/forward (which need no gradient slots);
# a Python attribute too, for mlnn._core's BLAS guard.
cpdef enum:
    BLOCK_ROWS = 256

# From this many parameters on, the fixed-order reduction of the chunks'
# gradient slots and the optimizer step are cut into one block of parameters
# per thread; below it one thread's pass over the vector costs less than
# waking the team.  (The blocks are cut by parameter index, so the result
# does not depend on the thread count.)
cdef enum:
    PARALLEL_PARAMS = 16384


def uses_blas(Py_ssize_t m, Py_ssize_t n_in, Py_ssize_t n_out):
    """Whether a layer (n_in, n_out) on a block of m samples calls BLAS."""
    return _use_blas(m, n_in, n_out)


def dw_transposed(Py_ssize_t m, Py_ssize_t n_in, Py_ssize_t n_out, dtype):
    """Whether a first layer (n_in, n_out) that reads a chunk of m rows of X
    where they are computes its dW as the transpose (see _dw_transposed)."""
    return _dw_transposed(m, n_in, n_out, np.dtype(dtype) == np.float64)


# ---------------------------------------------------------------------------
# Runtime information
# ---------------------------------------------------------------------------

def openmp_enabled():
    """True when this extension was compiled with OpenMP."""
    return bool(MLNN_OPENMP_ENABLED)


def openmp_max_threads():
    """omp_get_max_threads() (1 without OpenMP); honours OMP_NUM_THREADS."""
    return omp_get_max_threads()


def cpu_levels():
    """The CPU levels of the C ops: compiled, supported here, and selected.

    Returns a dict: ``compiled`` and ``supported`` (lists of level names,
    lowest first: "baseline", "avx2", "avx512"; supported = compiled and
    runnable on this CPU), ``selected`` (the level every kernel uses, chosen
    at import: the highest supported one, capped by MLNN_CPU_LEVEL),
    ``isa`` (level name -> the instruction sets its code uses) and
    ``requested`` (MLNN_CPU_LEVEL as read, or None; an unknown value is
    ignored and ``requested_known`` is False).
    """
    names = [mlnn_level_name(lv).decode() for lv in range(N_LEVELS)]
    req = mlnn_level_requested()
    return {
        "compiled": [n for lv, n in enumerate(names) if mlnn_level_compiled(lv)],
        "supported": [n for lv, n in enumerate(names) if mlnn_level_supported(lv)],
        "selected": names[mlnn_level_selected()],
        "isa": {n: mlnn_level_isa(lv).decode() for lv, n in enumerate(names)},
        "requested": None if req == NULL else req.decode(errors="replace"),
        "requested_known": bool(mlnn_level_request_known()),
    }


def _describe_level(int lv):
    return f"{mlnn_level_name(lv).decode()} ({mlnn_level_isa(lv).decode()})"


def cpu_path():
    """The selected CPU level with its instruction sets, e.g. "avx2 (avx2+fma)"."""
    return _describe_level(mlnn_level_selected())


def cpu_paths_compiled():
    """The compiled CPU levels as cpu_path() names them, ", "-separated."""
    return ", ".join(_describe_level(lv) for lv in range(N_LEVELS) if mlnn_level_compiled(lv))


def fast_tanh(const floating[::1] x, floating[::1] out):
    """out[:] = tanh(x) with the compiled fast tanh (exposed for testing)."""
    if out.shape[0] != x.shape[0]:
        raise ValueError("out must have the shape of x")
    if x.shape[0]:
        with nogil:
            _tanh(&x[0], &out[0], x.shape[0])


def fast_exp(const floating[::1] x, floating[::1] out):
    """out[:] = exp(x) with the compiled fast exp (exposed for testing)."""
    if out.shape[0] != x.shape[0]:
        raise ValueError("out must have the shape of x")
    if x.shape[0]:
        with nogil:
            _exp(&x[0], &out[0], x.shape[0])


def fast_sigmoid(const floating[::1] x, floating[::1] out):
    """out[:] = 1 / (1 + exp(-x)) with the compiled sigmoid (exposed for testing)."""
    if out.shape[0] != x.shape[0]:
        raise ValueError("out must have the shape of x")
    if x.shape[0]:
        with nogil:
            _sigmoid(&x[0], &out[0], x.shape[0])


# ---------------------------------------------------------------------------
# The C ops, by element type: the one place that picks an op's float or
# double version from OPS (csrc/mlnn_fastmath.h has each op's contract)
# ---------------------------------------------------------------------------

cdef inline void _tanh(const floating *x, floating *out, Py_ssize_t n) noexcept nogil:
    if floating is double:
        OPS.tanh_d(x, out, n)
    else:
        OPS.tanh_f(x, out, n)


cdef inline void _exp(const floating *x, floating *out, Py_ssize_t n) noexcept nogil:
    if floating is double:
        OPS.exp_d(x, out, n)
    else:
        OPS.exp_f(x, out, n)


cdef inline void _sigmoid(const floating *x, floating *out, Py_ssize_t n) noexcept nogil:
    if floating is double:
        OPS.sigmoid_d(x, out, n)
    else:
        OPS.sigmoid_f(x, out, n)


cdef inline double _dot(const floating *a, const floating *b, Py_ssize_t n) noexcept nogil:
    if floating is double:
        return OPS.dot_d(a, b, n)
    else:
        return OPS.dot_f(a, b, n)


cdef inline double _sum(const floating *a, Py_ssize_t n) noexcept nogil:
    if floating is double:
        return OPS.sum_d(a, n)
    else:
        return OPS.sum_f(a, n)


cdef inline void _dense_fwd(const floating *inT, const floating *W, const floating *b,
                            floating *out, Py_ssize_t m, Py_ssize_t ld, Py_ssize_t n_in,
                            Py_ssize_t n_out) noexcept nogil:
    # out (n_out, m) = W^T (n_out, n_in) @ inT (n_in, m) + b
    if floating is double:
        OPS.dense_fwd_d(inT, W, b, out, m, ld, n_in, n_out)
    else:
        OPS.dense_fwd_f(inT, W, b, out, m, ld, n_in, n_out)


cdef inline void _dense_bwd(const floating *delta, const floating *W, const floating *act,
                            floating *dinT, Py_ssize_t m, Py_ssize_t ld, Py_ssize_t n_in,
                            Py_ssize_t n_out, int activation) noexcept nogil:
    # dinT (n_in, m) = (W (n_in, n_out) @ delta (n_out, m)) * f'(act)
    if floating is double:
        OPS.dense_bwd_d(delta, W, act, dinT, m, ld, n_in, n_out, activation)
    else:
        OPS.dense_bwd_f(delta, W, act, dinT, m, ld, n_in, n_out, activation)


cdef inline void _dense_dw(const floating *inT, const floating *delta, floating *dW,
                           floating *db, Py_ssize_t m, Py_ssize_t ld, Py_ssize_t n_in,
                           Py_ssize_t n_out) noexcept nogil:
    # dW (n_in, n_out) = inT (n_in, m) @ delta^T (m, n_out); db (n_out,) = row
    # sums of delta
    if floating is double:
        OPS.dense_dw_d(inT, delta, dW, db, m, ld, n_in, n_out)
    else:
        OPS.dense_dw_f(inT, delta, dW, db, m, ld, n_in, n_out)


cdef inline void _act_grad(floating *d, const floating *g, Py_ssize_t m, Py_ssize_t ld,
                           Py_ssize_t rows, int activation) noexcept nogil:
    # d (rows, m) *= f'(pre_act), from g (rows, m) = f(pre_act)
    if floating is double:
        OPS.act_grad_d(d, g, m, ld, rows, activation)
    else:
        OPS.act_grad_f(d, g, m, ld, rows, activation)


cdef inline void _bias_act(floating *z, const floating *b, Py_ssize_t m, Py_ssize_t ld,
                           Py_ssize_t rows, int activation) noexcept nogil:
    # z (rows, m) = f(z + b) row by row, in place (b NULL: f(z))
    if floating is double:
        OPS.bias_act_d(z, b, m, ld, rows, activation)
    else:
        OPS.bias_act_f(z, b, m, ld, rows, activation)


cdef inline void _softmax(floating *z, floating *tmp, Py_ssize_t n, Py_ssize_t m,
                          Py_ssize_t ld) noexcept nogil:
    # z (n_classes=n, m) pre_act -> softmax over classes for each sample, in
    # place, stable (exp(z - max)); tmp (m,) scratch
    if floating is double:
        OPS.softmax_d(z, tmp, n, m, ld)
    else:
        OPS.softmax_f(z, tmp, n, m, ld)


cdef inline void _softmax_delta(const floating *z, const int64_t *y, floating *delta,
                                floating *tmp, Py_ssize_t n, Py_ssize_t m,
                                Py_ssize_t ld) noexcept nogil:
    # delta (n, m) = softmax(z) - onehot(y), from the logits z (n, m)
    if floating is double:
        OPS.softmax_delta_d(z, y, delta, tmp, n, m, ld)
    else:
        OPS.softmax_delta_f(z, y, delta, tmp, n, m, ld)


cdef inline void _argmax(const floating *probs, int64_t *labels, floating *best,
                         Py_ssize_t n, Py_ssize_t m, Py_ssize_t ld) noexcept nogil:
    # labels (m,) = argmax over the n rows of probs (n, m); ties to the lowest
    # index, -1 for a column holding a NaN; best (m,) scratch
    if floating is double:
        OPS.argmax_d(probs, labels, best, n, m, ld)
    else:
        OPS.argmax_f(probs, labels, best, n, m, ld)


cdef inline Py_ssize_t _cols_in(const floating *src, floating *dst, Py_ssize_t m,
                                Py_ssize_t cols, Py_ssize_t ld) noexcept nogil:
    # src (m, cols) row-major -> dst (cols, m); returns how many entries are
    # NaN or inf (one pass)
    if floating is double:
        return OPS.cols_in_d(src, dst, m, cols, ld)
    else:
        return OPS.cols_in_f(src, dst, m, cols, ld)


cdef inline void _cols_out(const floating *src, floating *dst, Py_ssize_t m,
                           Py_ssize_t cols, Py_ssize_t ld) noexcept nogil:
    # src (cols, m) -> dst (m, cols) row-major
    if floating is double:
        OPS.cols_out_d(src, dst, m, cols, ld)
    else:
        OPS.cols_out_f(src, dst, m, cols, ld)


cdef inline void _sgd_step(floating *params, const floating *sums, floating *velocity,
                           Py_ssize_t p0, Py_ssize_t p1, Py_ssize_t n_weights,
                           double alpha, double s, double lr, double momentum,
                           bint nesterov) noexcept nogil:
    # scikit-learn's SGD step on params[p0:p1) from the batch's gradient sums
    if floating is double:
        OPS.sgd_step_d(params, sums, velocity, p0, p1, n_weights, alpha, s, lr, momentum,
                       nesterov)
    else:
        OPS.sgd_step_f(params, sums, velocity, p0, p1, n_weights, alpha, s, lr, momentum,
                       nesterov)


cdef inline void _adam_step(floating *params, const floating *sums, floating *m,
                            floating *v, Py_ssize_t p0, Py_ssize_t p1,
                            Py_ssize_t n_weights, double alpha, double s, double lr_t,
                            double beta_1, double beta_2, double epsilon) noexcept nogil:
    # scikit-learn's Adam step on params[p0:p1); m, v: the moments
    if floating is double:
        OPS.adam_step_d(params, sums, m, v, p0, p1, n_weights, alpha, s, lr_t, beta_1,
                        beta_2, epsilon)
    else:
        OPS.adam_step_f(params, sums, m, v, p0, p1, n_weights, alpha, s, lr_t, beta_1,
                        beta_2, epsilon)


# ---------------------------------------------------------------------------
# Element-wise helpers
# ---------------------------------------------------------------------------

cdef inline Py_ssize_t _round_up(Py_ssize_t n, Py_ssize_t k) noexcept nogil:
    return (n + k - 1) // k * k


cdef enum:
    # row strides and region offsets in scratch are multiples of this many
    # elements, and scratch starts on a 64-byte boundary (_aligned_zeros):
    # every row is then 64-byte aligned for float32 and float64, so vector
    # loads of a row do not straddle cache lines (bench/README.md).
    ROW_ALIGN = 16


def _aligned_zeros(Py_ssize_t n, dtype):
    """A zeroed 1-D array of n elements whose data starts on a 64-byte boundary."""
    buf = np.zeros(n + 64, dtype=dtype)
    off = (-buf.ctypes.data % 64) // buf.itemsize
    return buf[off:off + n]


def _aligned_empty(Py_ssize_t n, dtype):
    """As _aligned_zeros, uninitialized: for scratch that the kernels write
    before they read it (the training workspace, whatever it holds on entry,
    as train(ws=) and epoch(ws=) allow).  A large np.zeros is a memset, or
    fresh zero pages to fault in, on every call."""
    buf = np.empty(n + 64, dtype=dtype)
    off = (-buf.ctypes.data % 64) // buf.itemsize
    return buf[off:off + n]


# ---------------------------------------------------------------------------
# Dense layer helpers, feature-major: a layer's activations are (width, m)
# ---------------------------------------------------------------------------

cdef inline bint _use_blas(Py_ssize_t m, Py_ssize_t n_in, Py_ssize_t n_out) noexcept nogil:
    # BLAS pays off for big products whose inner and outer sizes are both
    # wide; a layer with a side narrower than _blas_min_side (the 2 inputs or
    # 2 classes of the notebook's data) runs faster in the sample loops.
    return (m * n_in * n_out >= BLAS_MIN_WORK and n_in >= _blas_min_side
            and n_out >= _blas_min_side)


# The narrowest layer side that calls BLAS.  The sample loops in csrc are
# built for the notebook's 2-4 unit layers (a few passes over the samples per
# pair of units); BLAS's register-blocked GEMM overtakes them on wider
# layers: from BLAS_MIN_SIDE units on in general, and from
# BLAS_MIN_SIDE_AVX512 on where the CPU has AVX-512, because BLAS then runs
# 512-bit kernels.  That holds whatever level the loops run at: with the
# AVX-512 level too, a 10-unit output layer (digits) is faster in BLAS
# (bench/README.md).  So the rule follows the CPU, not the selected level.
cdef int _blas_min_side = (BLAS_MIN_SIDE_AVX512 if mlnn_cpu_has_level(LEVEL_AVX512)
                           else BLAS_MIN_SIDE)


# Whether BLAS has the small-matrix path that _dense_dweight cuts dW for:
# OpenBLAS's small kernels are AVX-512 code, so the CPU tells, as above.
cdef bint _blas_small_tn = mlnn_cpu_has_level(LEVEL_AVX512)


def blas_min_side():
    """The narrowest layer side that calls BLAS on this CPU."""
    return _blas_min_side


cdef inline void _gemm(char transa, char transb, int m, int n, int k,
                       const floating *a, int lda, const floating *b, int ldb,
                       floating beta, floating *c, int ldc) noexcept nogil:
    # column-major C (m, n) = op(A) op(B) + beta C
    cdef floating one = 1
    if floating is double:
        dgemm(&transa, &transb, &m, &n, &k, &one, <double *>a, &lda,
              <double *>b, &ldb, &beta, c, &ldc)
    else:
        sgemm(&transa, &transb, &m, &n, &k, &one, <float *>a, &lda,
              <float *>b, &ldb, &beta, c, &ldc)


cdef void _dense_forward(const floating *inT, const floating *W, const floating *b,
                         floating *out, Py_ssize_t m, Py_ssize_t ld, Py_ssize_t n_in,
                         Py_ssize_t n_out, int activation, bint in_rows=False) noexcept nogil:
    # f(W^T (n_out, n_in) @ inT (n_in, m) + b) -> out (n_out, m); rows ld apart.
    # activation: f, an ACT_ code (ACT_IDENTITY: the pre-activation).
    # in_rows: the input is given sample-major instead, (m, n_in) row-major
    # (the estimators' first layer, when it calls BLAS: no transpose needed)
    if not (in_rows or _use_blas(m, n_in, n_out)):
        # small layer: vectorized loops over samples (csrc), then f
        _dense_fwd(inT, W, b, out, m, ld, n_in, n_out)
        if activation != ACT_IDENTITY:
            _bias_act(out, <const floating *>NULL, m, ld, n_out, activation)
        return
    # column-major: out^T (m, n_out) = inT^T (m, n_in) @ W (n_in, n_out), into
    # an unread output (beta = 0); the bias comes with f, row by row
    if in_rows:
        _gemm(c'T', c'T', <int>m, <int>n_out, <int>n_in, inT, <int>n_in, W,
              <int>n_out, 0, out, <int>ld)
    else:
        _gemm(c'N', c'T', <int>m, <int>n_out, <int>n_in, inT, <int>ld, W,
              <int>n_out, 0, out, <int>ld)
    _bias_act(out, b, m, ld, n_out, activation)


cdef inline bint _dw_transposed(Py_ssize_t m, Py_ssize_t n_in, Py_ssize_t n_out,
                                bint dbl) noexcept nogil:
    # Whether dW of a first layer that reads X sample-major (in_rows) is
    # computed as its transpose.  In BLAS's column-major terms dW is then a TT
    # product, which OpenBLAS's double kernels run well below their NN rate
    # on products too large for the small-matrix path (W3's 784 x 128 layer:
    # bench/README.md); dW^T is the NN product of the same operands, and
    # transposing it into place copies n_in * n_out values against m * n_in *
    # n_out multiply-adds.  Float runs both forms at one rate: TT, no copy.
    return dbl and m * n_in * n_out > SMALL_GEMM_WORK and _use_blas(m, n_in, n_out)


cdef void _dense_dweight(const floating *inT, const floating *delta, floating *dW,
                         floating *db, Py_ssize_t m, Py_ssize_t ld, Py_ssize_t n_in,
                         Py_ssize_t n_out, bint in_rows=False,
                         floating *dwt=NULL) noexcept nogil:
    # dW (n_in, n_out) = inT (n_in, m) @ delta^T (m, n_out) and db (n_out,) =
    # sum over samples of delta, overwritten; rows of inT and delta ld apart
    # (in_rows: the input is (m, n_in) row-major, as in _dense_forward;
    # dwt: n_in * n_out of scratch for _dw_transposed, or NULL)
    cdef Py_ssize_t j
    if in_rows:
        if dwt != NULL and _dw_transposed(m, n_in, n_out, floating is double):
            # column-major: dW^T (n_in, n_out) = inT (n_in, m) @ delta^T (m, n_out),
            # i.e. dwt (n_out, n_in) row-major, then transposed into dW
            _gemm(c'N', c'N', <int>n_in, <int>n_out, <int>m, inT, <int>n_in, delta,
                  <int>ld, 0, dwt, <int>n_in)
            _cols_out(dwt, dW, n_in, n_out, n_in)
        else:
            _gemm(c'T', c'T', <int>n_out, <int>n_in, <int>m, delta, <int>ld, inT,
                  <int>n_in, 0, dW, <int>n_out)
        for j in range(n_out):
            db[j] = <floating>_sum(delta + j * ld, m)
        return
    cdef Py_ssize_t k0, kb, nb
    if _use_blas(m, n_in, n_out):
        # column-major: dW^T (n_out, n_in) = delta (n_out, m) @ inT^T (m, n_in).
        # Both operands run along the samples, so this is a TN product, which
        # OpenBLAS sends to its small-matrix kernel only while C has at most
        # about SMALL_TN_C entries.  Where BLAS has that path (AVX-512 CPUs),
        # a product small enough for it (m * n_in * n_out <= SMALL_GEMM_WORK,
        # the chunk size mlnn._core aims at) is therefore cut into column
        # blocks of dW^T (input units) of at most SMALL_TN_C entries.  Larger
        # products, those whose single column of dW^T (n_out) is already
        # over the limit, and all of them elsewhere stay one call: the packed
        # path would repack delta for every block.
        nb = n_in
        if (_blas_small_tn and m * n_in * n_out <= SMALL_GEMM_WORK
                and n_out * n_in > SMALL_TN_C and n_out <= SMALL_TN_C):
            nb = max(1, SMALL_TN_C // n_out)
        k0 = 0
        while k0 < n_in:
            kb = min(nb, n_in - k0)
            _gemm(c'T', c'N', <int>n_out, <int>kb, <int>m, delta, <int>ld, inT + k0 * ld,
                  <int>ld, 0, dW + k0 * n_out, <int>n_out)
            k0 += kb
        for j in range(n_out):
            db[j] = <floating>_sum(delta + j * ld, m)
        return
    # dot products over the m samples in csrc (float64: tiles of four input
    # by two output units per pass)
    _dense_dw(inT, delta, dW, db, m, ld, n_in, n_out)


cdef void _dense_dinput(const floating *delta, const floating *W, const floating *act,
                        floating *dinT, Py_ssize_t m, Py_ssize_t ld, Py_ssize_t n_in,
                        Py_ssize_t n_out, int activation) noexcept nogil:
    # dinT (n_in, m) = (W (n_in, n_out) @ delta (n_out, m)) * f'(act),
    # overwritten; rows ld apart
    if not _use_blas(m, n_in, n_out):
        _dense_bwd(delta, W, act, dinT, m, ld, n_in, n_out, activation)
        return
    # column-major: dinT^T (m, n_in) = delta^T (m, n_out) @ W^T (n_out, n_in)
    _gemm(c'N', c'N', <int>m, <int>n_in, <int>n_out, delta, <int>ld, W,
          <int>n_out, 0, dinT, <int>ld)
    # * f'(act), row by row in csrc
    _act_grad(dinT, act, m, ld, n_in, activation)


# ---------------------------------------------------------------------------
# One block of samples: forward and backward through every layer
# ---------------------------------------------------------------------------

cdef void _output(floating *z, floating *tmp, Py_ssize_t n, Py_ssize_t m, Py_ssize_t ld,
                  int head) noexcept nogil:
    # z (n_out=n, m), rows ld apart: the output layer's pre_act -> its act for
    # the head, in place; tmp (m,) scratch
    cdef Py_ssize_t j
    if head == HEAD_SOFTMAX:
        _softmax(z, tmp, n, m, ld)
    elif head == HEAD_LOGISTIC:
        for j in range(n):
            _sigmoid(z + j * ld, z + j * ld, m)
    elif head == HEAD_EXP:
        for j in range(n):
            _exp(z + j * ld, z + j * ld, m)


cdef struct BlockOutputs:
    # Where forward / predict / predict_proba / loss put their results, each
    # NULL when not asked for.  void *: arrays of the model's dtype.
    Py_ssize_t n_samples  # rows of the per-sample arrays below
    void *pre_acts        # (n_samples * sum(widths),): layer l's pre_act as a
    void *acts            #   row-major (n_samples, width_l) block at
                          #   n_samples * prefix[l]; acts likewise
    void *proba           # (n_samples, n_out): the output layer's act
    int64_t *labels       # (n_samples,): argmax over the output layer
    double *nll           # (n_blocks,): each block's sum of -log p[y]
    Py_ssize_t *bad       # (n_blocks,): each block's NaN or inf inputs


cdef inline BlockOutputs _no_outputs() noexcept nogil:
    cdef BlockOutputs out
    memset(&out, 0, sizeof(out))
    return out


cdef void _forward_block(const floating *XT, const floating *params, const int64_t *lay,
                         int n_layers, int activation, int head, floating *acts,
                         floating *tmp, Py_ssize_t m, Py_ssize_t ld, bint logits_last,
                         bint x_rows=False, const BlockOutputs *out=NULL,
                         Py_ssize_t r0=0) noexcept nogil:
    # XT (n_in, m) -> acts: layer l is (width_l, m) at acts + ld * prefix[l];
    # every row (of XT too) is ld elements long, the first m used.
    # x_rows: XT is the input sample-major, (m, n_in) row-major; only when the
    # first layer calls BLAS (_use_blas(m, n_in, n_1)).
    # logits_last: leave the output layer as logits (training: the backward
    # pass turns them into the output error in one step).
    # lay = [sizes (L+1) | w_off (L) | b_off (L) | prefix (L+1)].
    # out (may be NULL): rows r0..r0+m of its pre_acts / acts, where not NULL,
    # get this block's values.
    cdef const int64_t *sizes = lay
    cdef const int64_t *w_off = lay + n_layers + 1
    cdef const int64_t *b_off = w_off + n_layers
    cdef const int64_t *prefix = b_off + n_layers
    cdef const floating *inp = XT
    cdef floating *pre_out = NULL
    cdef floating *act_out = NULL
    cdef floating *z
    cdef Py_ssize_t l, n_in, n_out, total = 0
    cdef bint hidden
    if out != NULL:
        pre_out = <floating *>out.pre_acts
        act_out = <floating *>out.acts
        total = out.n_samples
    for l in range(n_layers):
        n_in = sizes[l]
        n_out = sizes[l + 1]
        z = acts + ld * prefix[l]
        hidden = l < n_layers - 1
        # a hidden layer's activation comes with its bias (one op), unless its
        # pre-activations are asked for
        _dense_forward(inp, params + w_off[l], params + b_off[l], z, m, ld, n_in, n_out,
                       activation if hidden and pre_out == NULL else ACT_IDENTITY,
                       x_rows and l == 0)
        if pre_out != NULL:
            _cols_out(z, pre_out + total * prefix[l] + r0 * n_out, m, n_out, ld)
            if hidden:
                _bias_act(z, <const floating *>NULL, m, ld, n_out, activation)
        if not (hidden or logits_last):
            _output(z, tmp, n_out, m, ld, head)
        if act_out != NULL:
            _cols_out(z, act_out + total * prefix[l] + r0 * n_out, m, n_out, ld)
        inp = z


cdef void _backward_block(const floating *XT, const int64_t *y, const floating *params,
                          const int64_t *lay, int n_layers, int activation,
                          const floating *acts, floating *delta_a, floating *delta_b,
                          floating *tmp, floating *grads, Py_ssize_t m,
                          Py_ssize_t ld, bint x_rows=False, floating *dwt=NULL) noexcept nogil:
    # acts as left by _forward_block with logits_last (x_rows as there).
    # Top down (the
    # notebook's delta4, delta3...):
    #   delta_L = softmax(logits) - onehot(y)          (n_out, m)
    #   dW_l = act_{l-1} delta_l^T,  db_l = sum over samples of delta_l
    #   delta_{l-1} = (W_l delta_l) * f'(act_{l-1})
    # grads (OUT, params layout, overwritten): this block's un-regularized sums.
    cdef const int64_t *prefix = lay + 3 * n_layers + 1
    cdef Py_ssize_t n_out = lay[n_layers]
    _softmax_delta(acts + ld * prefix[n_layers - 1], y, delta_a, tmp, n_out, m, ld)
    _backward_layers(XT, params, lay, n_layers, activation, acts, delta_a, delta_b, grads,
                     m, ld, x_rows, dwt)


cdef void _backward_layers(const floating *XT, const floating *params, const int64_t *lay,
                           int n_layers, int activation, const floating *acts,
                           floating *delta_a, floating *delta_b, floating *grads,
                           Py_ssize_t m, Py_ssize_t ld, bint x_rows=False,
                           floating *dwt=NULL) noexcept nogil:
    # delta_a (n_out, m) IN: the output error delta_L (overwritten as scratch).
    # dwt: scratch for the first layer's dW (_dense_dweight), or NULL.
    #   dW_l = act_{l-1} delta_l^T,  db_l = sum over samples of delta_l
    #   delta_{l-1} = (W_l delta_l) * f'(act_{l-1})
    # grads (OUT, params layout, overwritten): this block's un-regularized sums.
    cdef const int64_t *sizes = lay
    cdef const int64_t *w_off = lay + n_layers + 1
    cdef const int64_t *b_off = w_off + n_layers
    cdef const int64_t *prefix = b_off + n_layers
    cdef Py_ssize_t l, n_in, n_out
    cdef const floating *inp
    cdef floating *swap
    for l in range(n_layers - 1, -1, -1):
        n_in = sizes[l]
        n_out = sizes[l + 1]
        inp = XT if l == 0 else acts + ld * prefix[l - 1]
        _dense_dweight(inp, delta_a, grads + w_off[l], grads + b_off[l], m, ld, n_in,
                       n_out, x_rows and l == 0, dwt if l == 0 else NULL)
        if l > 0:
            _dense_dinput(delta_a, params + w_off[l], inp, delta_b, m, ld, n_in, n_out,
                          activation)
            swap = delta_a
            delta_a = delta_b
            delta_b = swap


# ---------------------------------------------------------------------------
# The workspace of the gradient kernels: ws, one scratch array cut into one
# slot per chunk and one scratch area per thread, as its WorkspacePlan says
# ---------------------------------------------------------------------------

cdef struct WorkspacePlan:
    # Chunk c owns ws[c * stride : (c + 1) * stride]: [grads (n_params) |
    # XT (n_in * ld)], its gradient sums (summed in chunk order afterwards)
    # and its input rows.  The thread t that runs a chunk computes in its own
    # area, ws[scratch_off + t * tstride :], laid out as [acts (ld * sum_w) |
    # delta_a (ld * max_w) | delta_b (ld * max_w) | tmp (ld)] (act_off ...
    # tmp_off from the area's start): a thread's chunks reuse the same
    # activations, which stay in its core's cache, where a slot per chunk
    # would bring every chunk's from L3.  Where the first layer's dW is
    # computed transposed (dw_t, _dw_transposed), the area ends with
    # n_in * n_out for it at dwt_off.  Rows of rows samples, ld apart;
    # every region starts at a multiple of ROW_ALIGN.  n_scratch areas: at
    # most one per chunk, and the chunk loops run at most that many threads.
    Py_ssize_t stride, tstride, scratch_off, n_scratch, n_chunks, rows, ld
    Py_ssize_t n_params, n_weights, xt_off, act_off, da_off, db_off, tmp_off, dwt_off, size
    bint dw_t
    # whether every chunk's XT holds its rows of X, also where the first
    # layer calls BLAS (set by _run; train and gradients only)
    bint keep_xt


cdef WorkspacePlan _plan(Py_ssize_t n_samples, const int64_t[::1] lay, Py_ssize_t n_chunks,
                         int n_threads, bint dbl):
    return _plan_rows(n_samples, &lay[0], (lay.shape[0] - 1) // 4, n_chunks, n_threads, dbl,
                      NULL)


cdef WorkspacePlan _plan_rows(Py_ssize_t n_samples, const int64_t *lay, int n_layers,
                              Py_ssize_t n_chunks, int n_threads, bint dbl,
                              const WorkspacePlan *within) noexcept nogil:
    # dbl: for float64 (else float32) kernels.  within (may be NULL): a plan
    # whose workspace this one must fit in (an epoch's shorter last batch,
    # whose chunks have at most as many rows as a full batch's): its strides
    # and areas are kept, the rows are ours.
    cdef WorkspacePlan plan
    cdef Py_ssize_t l, max_w = 0
    for l in range(1, n_layers + 1):
        max_w = max(max_w, lay[l])
    n_chunks = max(1, min(n_chunks, n_samples))
    plan.rows = (n_samples + n_chunks - 1) // n_chunks
    plan.n_chunks = (n_samples + plan.rows - 1) // plan.rows
    plan.n_scratch = max(1, min(n_threads, plan.n_chunks))
    plan.n_params = lay[3 * n_layers] + lay[n_layers]  # b_off[-1] + n_out
    plan.n_weights = lay[2 * n_layers + 1]  # b_off[0]
    plan.ld = _round_up(plan.rows, ROW_ALIGN)
    plan.xt_off = _round_up(plan.n_params, ROW_ALIGN)
    # whole 64-byte lines per slot and area: aligned rows, no false sharing
    plan.stride = plan.xt_off + lay[0] * plan.ld
    plan.act_off = 0
    plan.da_off = plan.act_off + plan.ld * lay[4 * n_layers + 1]
    plan.db_off = plan.da_off + plan.ld * max_w
    plan.tmp_off = plan.db_off + plan.ld * max_w
    plan.dwt_off = plan.tmp_off + plan.ld
    plan.keep_xt = False
    plan.dw_t = _dw_transposed(plan.rows, lay[0], lay[1], dbl)
    plan.tstride = plan.dwt_off + (_round_up(lay[0] * lay[1], ROW_ALIGN) if plan.dw_t else 0)
    plan.scratch_off = plan.n_chunks * plan.stride
    if within != NULL:
        # fewer rows: every region here starts no later than within's
        plan.stride = within.stride
        plan.tstride = within.tstride
        plan.scratch_off = within.scratch_off
        plan.n_scratch = min(plan.n_scratch, within.n_scratch)
        plan.dw_t = plan.dw_t and within.dw_t
    plan.size = plan.scratch_off + plan.n_scratch * plan.tstride
    return plan


cdef inline floating *_thread_scratch(floating *ws, WorkspacePlan *plan,
                                      int tid) noexcept nogil:
    return ws + plan.scratch_off + tid * plan.tstride


cdef inline Py_ssize_t _chunk_rows(WorkspacePlan *plan, Py_ssize_t n_samples,
                                   Py_ssize_t c) noexcept nogil:
    return min(plan.rows, n_samples - c * plan.rows)


cdef inline bint _chunk_x_rows(const int64_t *lay, WorkspacePlan *plan,
                               Py_ssize_t n_samples, Py_ssize_t c) noexcept nogil:
    # whether chunk c's first layer calls BLAS, which then reads the chunk's
    # rows of X sample-major where they are (no transposed copy in its XT),
    # unless the plan keeps XT (keep_xt)
    return not plan.keep_xt and _use_blas(_chunk_rows(plan, n_samples, c), lay[0], lay[1])


cdef inline void _chunk_load(const floating *X, const int64_t *lay, floating *ws,
                             WorkspacePlan *plan, Py_ssize_t n_samples,
                             Py_ssize_t c) noexcept nogil:
    # X rows of chunk c (m, n_in) -> the chunk's XT (n_in, m), rows ld apart,
    # unless the first layer reads them as they are (_chunk_x_rows)
    cdef Py_ssize_t m = _chunk_rows(plan, n_samples, c)
    if not _chunk_x_rows(lay, plan, n_samples, c):
        _cols_in(X + c * plan.rows * lay[0], ws + c * plan.stride + plan.xt_off, m, lay[0],
                 plan.ld)


cdef inline void _chunk_gradient(const floating *X, const int64_t *y, const floating *params,
                                 const int64_t *lay, int n_layers, int activation,
                                 floating *ws, WorkspacePlan *plan, Py_ssize_t n_samples,
                                 Py_ssize_t c, int tid, double *nll=NULL,
                                 int64_t *labels=NULL) noexcept nogil:
    # forward + backward for chunk c on thread tid; its gradient sums land
    # in its own slot.  nll (may be NULL): nll[c] gets the chunk's sum of
    # -log p[y] under params, and labels (with nll, may be NULL) its rows'
    # argmax, from the probabilities of this forward pass (a training
    # record, see train).
    cdef Py_ssize_t m = _chunk_rows(plan, n_samples, c)
    cdef floating *slot = ws + c * plan.stride
    cdef floating *t = _thread_scratch(ws, plan, tid)
    cdef bint x_rows = _chunk_x_rows(lay, plan, n_samples, c)
    cdef const floating *inp = (X + c * plan.rows * lay[0]) if x_rows else slot + plan.xt_off
    cdef Py_ssize_t j, n_out = lay[n_layers]
    cdef floating *probs
    _forward_block(inp, params, lay, n_layers, activation, HEAD_SOFTMAX,
                   t + plan.act_off, t + plan.tmp_off, m, plan.ld, True, x_rows=x_rows)
    if nll != NULL:
        # the softmax of a copy of the logits, in delta_b (free until the
        # backward pass, and at least n_out rows)
        probs = t + plan.db_off
        for j in range(n_out):
            memcpy(probs + j * plan.ld,
                   t + plan.act_off + plan.ld * (lay[4 * n_layers] + j), m * sizeof(floating))
        _softmax(probs, t + plan.tmp_off, n_out, m, plan.ld)
        if labels != NULL:
            _argmax(probs, labels + c * plan.rows, t + plan.tmp_off, n_out, m, plan.ld)
        nll[c] = _nll_sum(probs, y + c * plan.rows, m, plan.ld)
    _backward_block(inp, y + c * plan.rows, params, lay, n_layers,
                    activation, t + plan.act_off, t + plan.da_off, t + plan.db_off,
                    t + plan.tmp_off, slot, m, plan.ld, x_rows,
                    (t + plan.dwt_off) if plan.dw_t else NULL)


cdef inline Py_ssize_t _reduce(const floating *ws, WorkspacePlan *plan,
                               const floating *params, floating *grads, double reg_lambda,
                               double epsilon, Py_ssize_t p0, Py_ssize_t p1) noexcept nogil:
    # For p in [p0, p1): grads[p] = sum_c slot_c[p] (chunk order, in double)
    # + reg * W[p], where W[p] is params[p] for weights, 0 for biases (the
    # weights are the first plan.n_weights entries of params).
    # Returns how many gradients or candidate new weights
    # (params - epsilon * grads) are non-finite.  params NULL: the sums alone
    # (no penalty, no check).
    if floating is double:
        return OPS.reduce_d(ws, plan.stride, plan.n_chunks, params, grads, plan.n_weights,
                            reg_lambda, epsilon, p0, p1)
    else:
        return OPS.reduce_f(ws, plan.stride, plan.n_chunks, params, grads, plan.n_weights,
                            reg_lambda, epsilon, p0, p1)


cdef inline void _update(floating *params, const floating *grads, double epsilon,
                         Py_ssize_t p0, Py_ssize_t p1) noexcept nogil:
    # params[p] -= epsilon * grads[p] for p in [p0, p1)
    cdef Py_ssize_t p
    cdef floating eps = <floating>epsilon
    for p in range(p0, p1):
        params[p] = params[p] - eps * grads[p]


cdef Py_ssize_t _gradient_step(const floating *X, const int64_t *y, floating *params,
                               const int64_t *lay,
                               int n_layers, int activation, floating *ws,
                               WorkspacePlan *plan, Py_ssize_t n_samples, floating *grads,
                               double reg_lambda, double epsilon, bint update,
                               int n_threads, double *nll=NULL,
                               int64_t *labels=NULL) noexcept nogil:
    # One full-batch pass: chunk gradients, fixed-order reduction, and (if
    # update and every value is finite) params -= epsilon * grads.
    # nll, labels: as _chunk_gradient's, for every chunk.
    # Returns the number of non-finite values (0: the step was applied).
    cdef Py_ssize_t c, blk, bad = 0
    cdef Py_ssize_t n_params = plan.n_params
    cdef Py_ssize_t n_pblocks = n_threads if n_params >= PARALLEL_PARAMS else 1
    cdef Py_ssize_t pstep = (n_params + n_pblocks - 1) // n_pblocks
    if plan.n_scratch == 1:
        for c in range(plan.n_chunks):
            _chunk_gradient(X, y, params, lay, n_layers, activation, ws, plan, n_samples, c, 0,
                            nll, labels)
    else:
        for c in prange(plan.n_chunks, num_threads=plan.n_scratch, schedule='dynamic'):
            _chunk_gradient(X, y, params, lay, n_layers, activation, ws, plan, n_samples, c,
                            threadid(), nll, labels)
    if n_pblocks == 1:
        bad = _reduce(ws, plan, params, grads, reg_lambda, epsilon, 0, n_params)
        if bad == 0 and update:
            _update(params, grads, epsilon, 0, n_params)
    else:
        for blk in prange(n_pblocks, num_threads=n_threads, schedule='static'):
            bad += _reduce(ws, plan, params, grads, reg_lambda, epsilon,
                           blk * pstep, min(n_params, (blk + 1) * pstep))
        if bad == 0 and update:
            for blk in prange(n_pblocks, num_threads=n_threads, schedule='static'):
                _update(params, grads, epsilon, blk * pstep,
                        min(n_params, (blk + 1) * pstep))
    return bad


def _check_call(X, y, params, lay, n_threads, grads=None):
    # Cheap consistency checks between arrays; the API layer validated values.
    n_layers = (lay.shape[0] - 1) // 4
    if n_threads < 1:
        raise ValueError(f"n_threads must be >= 1, got {n_threads}")
    if n_layers < 1 or lay.shape[0] != 4 * n_layers + 2:
        raise ValueError("lay must come from mlnn._spec.layout")
    if X.shape[1] != lay[0]:
        raise ValueError(f"X must have {lay[0]} columns, got {X.shape[1]}")
    if params.shape[0] != lay[3 * n_layers] + lay[n_layers]:
        raise ValueError("params does not match lay")
    if grads is not None and grads.shape[0] != params.shape[0]:
        raise ValueError("grads must have the shape of params")
    if y is not None:
        if y.shape[0] != X.shape[0]:
            raise ValueError("y must have one label per row of X")
        if y.shape[0] and (np.min(y) < 0 or np.max(y) >= lay[n_layers]):
            raise ValueError(f"y must hold labels in [0, {lay[n_layers]})")


# ---------------------------------------------------------------------------
# Entry points (mirrored one to one by mlnn._reference)
# ---------------------------------------------------------------------------

def gradients(const floating[:, ::1] X, const int64_t[::1] y,
              const floating[::1] params, const int64_t[::1] lay, int activation,
              double reg_lambda, floating[::1] grads, Py_ssize_t n_chunks,
              int n_threads):
    """Full-batch gradient of n_samples * loss.

    X (n_samples, n_in) IN; y (n_samples,) IN; params IN; lay IN;
    grads (n_params,) OUT: dW_l = sum_i dL_i/dW_l + reg_lambda * W_l and
    db_l = sum_i dL_i/db_l, in the params layout.
    n_chunks IN: how the samples are cut (mlnn._core.n_chunks); it fixes the
    summation order, so the result does not depend on n_threads.
    Returns the number of non-finite entries.
    """
    _check_call(X, y, params, lay, n_threads, grads)
    return _run(X, y, <floating *>&params[0], lay, activation, reg_lambda, 0.0, 1,
                grads, n_chunks, n_threads, False, None)[1]


def train(const floating[:, ::1] X, const int64_t[::1] y, floating[::1] params,
          const int64_t[::1] lay, int activation, double reg_lambda, double epsilon,
          Py_ssize_t num_pass, floating[::1] grads, Py_ssize_t n_chunks,
          int n_threads, ws=None, bint x_loaded=False, double[::1] entry_loss=None,
          int64_t[::1] entry_labels=None):
    """num_pass full-batch gradient-descent passes, in place, without the GIL.

    Each pass: params -= epsilon * grads, with grads as in ``gradients``.
    X, y, lay IN; params IN/OUT; grads OUT: the gradient of the last pass.
    ws (scratch, optional): an array from ``workspace(n_samples, lay,
    n_chunks, dtype, n_threads)``, so that repeated calls do not allocate and
    first-touch it each time (megabytes for wide layers); its contents on
    entry do not matter, unless x_loaded: then ws holds the chunks of X
    that the previous call with this ws loaded, and the caller promises
    that X is that call's X, unchanged (a later slice of one training, as
    mlnn._core.Model.train calls it): they are not copied again.
    None: allocated for this call.
    entry_loss (1,) OUT, optional: the ``loss`` of params as they were on
    entry, and entry_labels (n_samples,) OUT, optional (with entry_loss): their
    ``predict`` labels, both from the first pass's forward (num_pass >= 1), so
    that a training record after the previous pass costs no forward pass of
    its own.  The chunk sums add up in chunk order, not in ``loss``'s blocks:
    the value may differ from ``loss``'s in the last bits.
    Returns (passes_done, n_bad).  A pass that would produce a non-finite
    gradient or weight is not applied: training stops with
    passes_done < num_pass, n_bad > 0 and params holding the last finite
    weights (entry_loss and entry_labels are written all the same).
    """
    _check_call(X, y, params, lay, n_threads, grads)
    if num_pass < 0:
        raise ValueError(f"num_pass must be >= 0, got {num_pass}")
    if entry_loss is not None:
        if entry_loss.shape[0] != 1:
            raise ValueError("entry_loss must have shape (1,)")
        if num_pass < 1:
            raise ValueError("entry_loss needs num_pass >= 1 (the first pass's forward)")
        if entry_labels is not None and entry_labels.shape[0] != X.shape[0]:
            raise ValueError("entry_labels must have shape (n_samples,)")
        outs = [np.asarray(entry_loss)]
        if entry_labels is not None:
            outs.append(np.asarray(entry_labels))
        ins = [np.asarray(X), np.asarray(y), np.asarray(params), np.asarray(grads)]
        if isinstance(ws, np.ndarray):
            ins.append(ws)
        if any(np.may_share_memory(o, a) for o in outs for a in ins):
            raise ValueError("entry_loss and entry_labels must not overlap X, y, params, "
                             "grads or ws")
    elif entry_labels is not None:
        raise ValueError("entry_labels needs entry_loss")
    if isinstance(ws, np.ndarray) and (np.may_share_memory(ws, np.asarray(X))
                                       or np.may_share_memory(ws, np.asarray(params))
                                       or np.may_share_memory(ws, np.asarray(grads))):
        raise ValueError("ws must not overlap X, params or grads")
    if x_loaded and ws is None:
        raise ValueError("x_loaded needs the ws of the call that loaded X")
    return _run(X, y, &params[0], lay, activation, reg_lambda, epsilon, num_pass,
                grads, n_chunks, n_threads, True, ws, x_loaded, entry_loss, entry_labels)


cdef _checked_ws(ws_in, WorkspacePlan *plan, Py_ssize_t n_samples, Py_ssize_t n_chunks,
                 int n_threads, dtype):
    # ws_in: None (allocate) or an array from workspace(n_samples, lay,
    # n_chunks, dtype, n_threads), checked before any kernel writes into it
    if ws_in is None:
        return _aligned_empty(plan.size, dtype)
    if not (isinstance(ws_in, np.ndarray) and ws_in.dtype == dtype and ws_in.ndim == 1
            and ws_in.flags.c_contiguous and ws_in.flags.writeable
            and ws_in.shape[0] >= plan.size and ws_in.ctypes.data % 64 == 0):
        raise ValueError(f"ws must be an array from workspace({n_samples}, lay, {n_chunks}, "
                         f"{np.dtype(dtype).name}, {n_threads}), or None")
    return ws_in


def workspace(Py_ssize_t n_samples, const int64_t[::1] lay, Py_ssize_t n_chunks, dtype,
              int n_threads):
    """Scratch for ``train(..., ws=)`` and ``epoch(..., ws=)``: 64-byte
    aligned, sized for n_samples rows (an epoch's batch size) cut into
    n_chunks (as mlnn._core.n_chunks gives) with this layout, on at most
    n_threads threads; uninitialized (the kernels write before they read)."""
    if n_samples < 1:
        raise ValueError(f"n_samples must be >= 1, got {n_samples}")
    if n_threads < 1:
        raise ValueError(f"n_threads must be >= 1, got {n_threads}")
    cdef WorkspacePlan plan = _plan(n_samples, lay, n_chunks, n_threads,
                                   np.dtype(dtype) == np.float64)
    return _aligned_empty(plan.size, np.dtype(dtype))


cdef tuple _run(const floating[:, ::1] X, const int64_t[::1] y, floating *params_ptr,
                const int64_t[::1] lay, int activation, double reg_lambda,
                double epsilon, Py_ssize_t num_pass, floating[::1] grads,
                Py_ssize_t n_chunks, int n_threads, bint update, ws_in,
                bint x_loaded=False, double[::1] entry_loss=None,
                int64_t[::1] entry_labels=None):
    # x_loaded, entry_loss, entry_labels: as train's (checked there)
    cdef int n_layers = (lay.shape[0] - 1) // 4
    cdef Py_ssize_t n_samples = X.shape[0]
    cdef Py_ssize_t n_in = X.shape[1]
    cdef Py_ssize_t c, l, done = 0, bad = 0
    cdef double total = 0, sq = 0
    cdef double[::1] nll = None
    cdef double *nll_ptr = NULL
    cdef int64_t *labels_ptr = NULL
    if n_samples == 0:
        raise ValueError("X must have at least one row")
    cdef WorkspacePlan plan = _plan(n_samples, lay, n_chunks, n_threads, floating is double)
    # The same rows every pass: float32 keeps a feature-major copy of them
    # even where the first layer calls BLAS (XT), whose products are then NT
    # and TN, which OpenBLAS's float kernels run faster than the TT products
    # on rows, once the copy is made once per training (x_loaded); float64
    # reads the rows, its dW transposed (_dw_transposed).  bench/README.md
    # has the measurements.
    plan.keep_xt = floating is float
    dtype = np.float32 if floating is float else np.float64
    # Scratch is allocated once per call (never per pass), or passed in
    cdef floating[::1] ws = _checked_ws(ws_in, &plan, n_samples, n_chunks, n_threads, dtype)
    if entry_loss is not None:
        nll = np.zeros(plan.n_chunks)
        nll_ptr = &nll[0]
        if entry_labels is not None:
            labels_ptr = &entry_labels[0]
        # the penalty of the entry weights, before the first pass moves them
        for l in range(n_layers):
            sq += _dot(params_ptr + lay[n_layers + 1 + l], params_ptr + lay[n_layers + 1 + l],
                       lay[l] * lay[l + 1])
    with nogil:
        if not x_loaded and n_threads == 1:
            for c in range(plan.n_chunks):
                _chunk_load(&X[0, 0], &lay[0], &ws[0], &plan, n_samples, c)
        elif not x_loaded:
            for c in prange(plan.n_chunks, num_threads=n_threads, schedule='static'):
                _chunk_load(&X[0, 0], &lay[0], &ws[0], &plan, n_samples, c)
        while done < num_pass:
            bad = _gradient_step(&X[0, 0], &y[0], params_ptr, &lay[0], n_layers, activation,
                                 &ws[0], &plan, n_samples, &grads[0], reg_lambda, epsilon,
                                 update, n_threads, nll_ptr if done == 0 else NULL,
                                 labels_ptr if done == 0 else NULL)
            if bad:
                break
            done += 1
    if nll_ptr != NULL and num_pass >= 1:
        for c in range(plan.n_chunks):
            total += nll[c]
        entry_loss[0] = (total + reg_lambda / 2 * sq) / n_samples
    return done, bad


cdef Py_ssize_t _load_and_forward_block(const floating *X, const floating *params,
                                        const int64_t *lay, int n_layers, int activation,
                                        int head, floating *scratch, Py_ssize_t n_samples,
                                        Py_ssize_t blk, const BlockOutputs *out,
                                        bint logits_last=False) noexcept nogil:
    # X rows of block blk (BLOCK_ROWS samples) -> scratch [XT | acts | tmp],
    # every row BLOCK_ROWS long (also for a shorter last block), then forward
    # through every layer (logits_last: the output layer stays logits); out's
    # pre_acts / acts (if not NULL) get the block's rows.  Returns how many of
    # the block's inputs are NaN or inf (counted while loading them).
    cdef Py_ssize_t r0 = blk * BLOCK_ROWS
    cdef Py_ssize_t m = min(BLOCK_ROWS, n_samples - r0)
    cdef Py_ssize_t n_in = lay[0]
    cdef floating *acts = scratch + n_in * BLOCK_ROWS
    cdef floating *tmp = acts + BLOCK_ROWS * lay[4 * n_layers + 1]
    cdef Py_ssize_t bad = _cols_in(X + r0 * n_in, scratch, m, n_in, BLOCK_ROWS)
    _forward_block(scratch, params, lay, n_layers, activation, head, acts, tmp, m,
                   BLOCK_ROWS, logits_last, x_rows=False, out=out, r0=r0)
    return bad


# Two-class labels straight from the logits (a, b): where a - b > LOGIT_TIE
# and a is finite, exp(b - a) <= exp(-LOGIT_TIE) < 1 - 2^-13, so the softmax
# gives a the larger probability after rounding too, in float32 as well (and
# the other way round).  Closer logits, or a non-finite one, are left to the
# probabilities, which decide ties (to the lower index) and NaN (-1).
cdef double LOGIT_TIE = 2.0 ** -12


cdef bint _labels_from_logits2(const floating *z, int64_t *labels, Py_ssize_t m,
                               Py_ssize_t ld) noexcept nogil:
    # z (2, m), rows ld apart -> labels (m,) as argmax of softmax(z) would
    # give them; False (labels partly written) as soon as a sample is too
    # close to call
    cdef Py_ssize_t i
    cdef floating a, b, d
    for i in range(m):
        a = z[i]
        b = z[ld + i]
        d = a - b
        if d > LOGIT_TIE and a - a == 0:
            labels[i] = 0
        elif d < -LOGIT_TIE and b - b == 0:
            labels[i] = 1
        else:
            return False
    return True


cdef inline double _nll_sum(const floating *probs, const int64_t *y, Py_ssize_t m,
                            Py_ssize_t ld) noexcept nogil:
    # sum over the m samples of -log p[y]: probs (n_out, m), rows ld apart
    cdef Py_ssize_t i
    cdef double s = 0
    for i in range(m):
        s -= log(probs[y[i] * ld + i])
    return s


cdef void _block_outputs(const floating *X, const int64_t *y, const floating *params,
                         const int64_t *lay, int n_layers, int activation, int head,
                         floating *scratch, Py_ssize_t n_samples, Py_ssize_t blk,
                         const BlockOutputs *out) noexcept nogil:
    # Forward block blk, then whichever of out's proba rows / argmax labels /
    # sum of -log p[y] (into nll[blk]) / count of NaN or inf inputs (into
    # bad[blk], counted while they are loaded, so that predict needs no
    # separate pass over X) is asked for.
    cdef Py_ssize_t r0 = blk * BLOCK_ROWS
    cdef Py_ssize_t m = min(BLOCK_ROWS, n_samples - r0)
    cdef Py_ssize_t n_out = lay[n_layers]
    cdef floating *probs
    cdef floating *best
    # labels alone of a two-class softmax: from the logits where they decide
    cdef bint logits2 = (out.labels != NULL and out.proba == NULL and out.nll == NULL
                         and head == HEAD_SOFTMAX and n_out == 2)
    cdef Py_ssize_t n_bad = _load_and_forward_block(X, params, lay, n_layers, activation,
                                                    head, scratch, n_samples, blk, out,
                                                    logits2)
    if out.bad != NULL:
        out.bad[blk] = n_bad
    # probs (n_out, m), rows BLOCK_ROWS apart: the last layer of acts
    probs = scratch + lay[0] * BLOCK_ROWS + BLOCK_ROWS * lay[4 * n_layers]
    if out.proba != NULL:
        _cols_out(probs, <floating *>out.proba + r0 * n_out, m, n_out, BLOCK_ROWS)
    if out.labels != NULL:
        # argmax over classes, ties to the lowest index as in numpy.argmax; a
        # row whose outputs overflowed to NaN has no class: -1.  best: the
        # scratch row after the acts (tmp)
        best = scratch + lay[0] * BLOCK_ROWS + BLOCK_ROWS * lay[4 * n_layers + 1]
        if not (logits2 and _labels_from_logits2(probs, out.labels + r0, m, BLOCK_ROWS)):
            if logits2:  # a sample too close to call: the block's probabilities decide
                _output(probs, best, n_out, m, BLOCK_ROWS, head)
            _argmax(probs, out.labels + r0, best, n_out, m, BLOCK_ROWS)
    if out.nll != NULL:
        out.nll[blk] = _nll_sum(probs, y + r0, m, BLOCK_ROWS)


cdef void _blocks(const floating[:, ::1] X, const int64_t *y, const floating[::1] params,
                  const int64_t[::1] lay, int activation, int head, BlockOutputs *out,
                  int n_threads) except *:
    # Shared driver of forward / predict / predict_proba / loss: fixed blocks
    # of BLOCK_ROWS samples, per-thread scratch, disjoint output rows.  Only
    # forward asks for pre_acts / acts, and then for nothing else.
    cdef int n_layers = (lay.shape[0] - 1) // 4
    cdef Py_ssize_t n_samples = X.shape[0]
    cdef Py_ssize_t n_blocks = (n_samples + BLOCK_ROWS - 1) // BLOCK_ROWS
    cdef Py_ssize_t per_thread = BLOCK_ROWS * (lay[0] + lay[4 * n_layers + 1] + 1)
    cdef Py_ssize_t blk
    cdef bint layers_only = out.pre_acts != NULL
    if n_samples == 0:
        return
    out.n_samples = n_samples
    dtype = np.float32 if floating is float else np.float64
    # per_thread is a multiple of BLOCK_ROWS, so each thread's rows stay aligned
    cdef floating[::1] scratch = _aligned_zeros(per_thread * n_threads, dtype)
    with nogil:
        if n_threads == 1:
            for blk in range(n_blocks):
                if layers_only:
                    _load_and_forward_block(&X[0, 0], &params[0], &lay[0], n_layers,
                                            activation, head, &scratch[0], n_samples, blk,
                                            out)
                else:
                    _block_outputs(&X[0, 0], y, &params[0], &lay[0], n_layers, activation,
                                   head, &scratch[0], n_samples, blk, out)
        else:
            for blk in prange(n_blocks, num_threads=n_threads, schedule='static'):
                if layers_only:
                    _load_and_forward_block(&X[0, 0], &params[0], &lay[0], n_layers,
                                            activation, head,
                                            &scratch[threadid() * per_thread], n_samples,
                                            blk, out)
                else:
                    _block_outputs(&X[0, 0], y, &params[0], &lay[0], n_layers, activation,
                                   head, &scratch[threadid() * per_thread], n_samples, blk,
                                   out)


def _n_blocks(Py_ssize_t n_samples):
    return max(1, (n_samples + BLOCK_ROWS - 1) // BLOCK_ROWS)


def forward(const floating[:, ::1] X, const floating[::1] params,
            const int64_t[::1] lay, int activation, floating[::1] pre_acts,
            floating[::1] acts, int n_threads, int head=HEAD_SOFTMAX):
    """Forward pass storing every layer.

    X (n_samples, n_in) IN; params IN; lay IN;
    pre_acts, acts (n_samples * sum(widths),) OUT: layer l is the row-major
    (n_samples, width_l) block starting at n_samples * prefix[l].
    """
    _check_call(X, None, params, lay, n_threads)
    if pre_acts.shape[0] != acts.shape[0] or acts.shape[0] != X.shape[0] * lay[lay.shape[0] - 1]:
        raise ValueError("pre_acts and acts must have n_samples * sum(widths) entries")
    cdef BlockOutputs out = _no_outputs()
    if X.shape[0]:
        out.pre_acts = &pre_acts[0]
        out.acts = &acts[0]
        _blocks(X, NULL, params, lay, activation, head, &out, n_threads)


def predict_proba(const floating[:, ::1] X, const floating[::1] params,
                  const int64_t[::1] lay, int activation, floating[:, ::1] proba,
                  int n_threads, int head=HEAD_SOFTMAX):
    """The output layer's act (softmax unless ``head`` says otherwise).
    X (n_samples, n_in) IN -> proba (n_samples, n_out) OUT.

    Returns how many entries of X are NaN or inf (the outputs of their rows
    are meaningless; the caller raises).
    """
    _check_call(X, None, params, lay, n_threads)
    if proba.shape[0] != X.shape[0] or proba.shape[1] != lay[(lay.shape[0] - 1) // 4]:
        raise ValueError("proba must have shape (n_samples, n_out)")
    cdef Py_ssize_t[::1] bad = np.zeros(_n_blocks(X.shape[0]), dtype=np.intp)
    cdef BlockOutputs out = _no_outputs()
    if X.shape[0]:
        out.proba = &proba[0, 0]
        out.bad = &bad[0]
        _blocks(X, NULL, params, lay, activation, head, &out, n_threads)
    return int(np.sum(bad))


def predict(const floating[:, ::1] X, const floating[::1] params,
            const int64_t[::1] lay, int activation, int64_t[::1] labels,
            int n_threads):
    """Most probable class.  X (n_samples, n_in) IN -> labels (n_samples,) OUT.

    Ties go to the lowest index, as in numpy.argmax.  Rows whose outputs are
    NaN (overflow inside the network) get -1.  Returns how many entries of X
    are NaN or inf (the labels of their rows are meaningless; the caller
    raises).
    """
    _check_call(X, None, params, lay, n_threads)
    if labels.shape[0] != X.shape[0]:
        raise ValueError("labels must have shape (n_samples,)")
    cdef Py_ssize_t[::1] bad = np.zeros(_n_blocks(X.shape[0]), dtype=np.intp)
    cdef BlockOutputs out = _no_outputs()
    if X.shape[0]:
        out.labels = &labels[0]
        out.bad = &bad[0]
        _blocks(X, NULL, params, lay, activation, HEAD_SOFTMAX, &out, n_threads)
    return int(np.sum(bad))


def loss(const floating[:, ::1] X, const int64_t[::1] y, const floating[::1] params,
         const int64_t[::1] lay, int activation, double reg_lambda, int n_threads,
         int64_t[::1] labels=None):
    """(sum_i -log p_i[y_i] + reg_lambda / 2 * sum_l ||W_l||^2) / n_samples.

    X, y, params, lay IN.  Per-block sums are added in block order, so the
    value does not depend on n_threads.
    labels (n_samples,) OUT, optional: the ``predict`` labels, from the same
    forward pass (a training record needs both the loss and the accuracy).
    """
    _check_call(X, y, params, lay, n_threads)
    cdef int n_layers = (lay.shape[0] - 1) // 4
    cdef Py_ssize_t n_samples = X.shape[0]
    cdef Py_ssize_t n_blocks = (n_samples + BLOCK_ROWS - 1) // BLOCK_ROWS
    cdef Py_ssize_t blk, l
    cdef double total = 0, sq = 0
    cdef BlockOutputs out = _no_outputs()
    if n_samples == 0:
        raise ValueError("X must have at least one row")
    if labels is not None:
        if labels.shape[0] != n_samples:
            raise ValueError("labels must have shape (n_samples,)")
        out.labels = &labels[0]
    cdef double[::1] nll = np.zeros(n_blocks)
    out.nll = &nll[0]
    _blocks(X, &y[0], params, lay, activation, HEAD_SOFTMAX, &out, n_threads)
    for blk in range(n_blocks):
        total += nll[blk]
    for l in range(n_layers):
        sq += _dot(&params[lay[n_layers + 1 + l]], &params[lay[n_layers + 1 + l]],
                   lay[l] * lay[l + 1])
    return (total + reg_lambda / 2 * sq) / n_samples



# ---------------------------------------------------------------------------
# The estimators: output heads, sample weights, mean gradients, and whole
# epochs of mini-batches with the optimizer step (mirrored by
# mlnn._reference.head_loss / loss_grad / epoch)
# ---------------------------------------------------------------------------

cdef struct Source:
    # Where a batch's rows come from.  Batch row i is sample order[r0 + i]
    # (r0 + i when order is NULL) of either a dense X (n_samples, n_in),
    # row-major, or a CSR matrix (data, indices, indptr).  Its targets are
    # Y[sample] (n_out,), row-major, and its weight sw[sample] (1 when sw is
    # NULL).  void pointers: the arrays have the model's dtype.
    const void *X
    const void *data
    const int32_t *indices
    const int64_t *indptr
    const void *Y
    const void *sw
    const int64_t *order


cdef inline Py_ssize_t _sample(Source *src, Py_ssize_t r) noexcept nogil:
    return src.order[r] if src.order != NULL else r


cdef const floating *_load_rows(Source *src, floating *XT, Py_ssize_t r0, Py_ssize_t m,
                                Py_ssize_t n_in, Py_ssize_t ld, bint x_rows) noexcept nogil:
    # Batch rows r0 .. r0 + m as the first layer reads them.  Returns either
    # XT, filled feature-major (n_in, m) with rows ld apart, or, with x_rows
    # (a first layer that calls BLAS, which reads sample-major rows as they
    # are), the rows (m, n_in) row-major: X itself for consecutive dense rows,
    # else a copy in XT's room (n_in * ld >= m * n_in).
    cdef const floating *X = <const floating *>src.X
    cdef const floating *data = <const floating *>src.data
    cdef Py_ssize_t i, k, s, p
    if X != NULL and src.order == NULL:
        if x_rows:
            return X + r0 * n_in
        _cols_in(X + r0 * n_in, XT, m, n_in, ld)
    elif X != NULL and x_rows:
        for i in range(m):
            memcpy(XT + i * n_in, X + src.order[r0 + i] * n_in, n_in * sizeof(floating))
    elif X != NULL:
        for i in range(m):
            for k in range(n_in):
                XT[k * ld + i] = X[src.order[r0 + i] * n_in + k]
    elif x_rows:
        memset(XT, 0, m * n_in * sizeof(floating))
        for i in range(m):
            s = _sample(src, r0 + i)
            for p in range(src.indptr[s], src.indptr[s + 1]):
                XT[i * n_in + src.indices[p]] = data[p]
    else:
        for k in range(n_in):
            memset(XT + k * ld, 0, m * sizeof(floating))
        for i in range(m):
            s = _sample(src, r0 + i)
            for p in range(src.indptr[s], src.indptr[s + 1]):
                XT[src.indices[p] * ld + i] = data[p]
    return XT


cdef double _output_delta(Source *src, floating *z, floating *delta, floating *tmp,
                          Py_ssize_t r0, Py_ssize_t m, Py_ssize_t ld, Py_ssize_t n_out,
                          int head) noexcept nogil:
    # z (n_out, m) IN: the output layer's pre_act -> OUT: its act.
    # delta (n_out, m) OUT: (act - Y) * sw, the output error.
    # Returns the batch rows' data loss summed over samples, weighted and
    # not yet divided: sum_i sw_i l_i with l_i the per-sample loss of the
    # head (the squared error without its 1/2 and 1/n_out).  Probabilities
    # are clipped to [eps, 1 - eps] of the dtype before the log, as
    # scikit-learn's log-losses do.
    cdef const floating *Y = <const floating *>src.Y
    cdef const floating *sw = <const floating *>src.sw
    cdef floating eps = FLT_EPSILON if floating is float else DBL_EPSILON
    cdef floating p, t, d
    cdef double sw_s, li, total = 0
    cdef Py_ssize_t i, j, s
    _output(z, tmp, n_out, m, ld, head)
    for i in range(m):
        s = _sample(src, r0 + i)
        sw_s = 1.0 if sw == NULL else sw[s]
        li = 0
        for j in range(n_out):
            p = z[j * ld + i]
            t = Y[s * n_out + j]
            d = p - t
            delta[j * ld + i] = d if sw == NULL else <floating>(d * sw[s])
            if head == HEAD_SOFTMAX or head == HEAD_LOGISTIC:
                p = min(max(p, eps), 1 - eps)
                if t != 0:
                    li -= t * log(p)
                if head == HEAD_LOGISTIC and t != 1:
                    li -= (1 - t) * log(1 - p)
            elif head == HEAD_IDENTITY:
                li += <double>d * d
            else:  # exp: half Poisson deviance, y log(y / p) - y + p
                if t > 0:
                    li += t * log(<double>t / p)
                li += <double>p - t
        total += sw_s * li
    return total


cdef double _chunk_sums(Source *src, const floating *params, const int64_t *lay,
                        int n_layers, int activation, int head, floating *ws,
                        WorkspacePlan *plan, Py_ssize_t b0, Py_ssize_t m_batch,
                        Py_ssize_t c, int tid) noexcept nogil:
    # Forward + backward for chunk c of the batch starting at row b0 of the
    # source, on thread tid; its gradient sums land in its own slot.  Returns
    # its data loss.
    cdef Py_ssize_t m = min(plan.rows, m_batch - c * plan.rows)
    cdef Py_ssize_t r0 = b0 + c * plan.rows
    cdef floating *slot = ws + c * plan.stride
    cdef floating *t = _thread_scratch(ws, plan, tid)
    cdef double loss
    cdef bint x_rows = _use_blas(m, lay[0], lay[1])
    cdef const floating *inp = _load_rows(src, slot + plan.xt_off, r0, m, lay[0], plan.ld,
                                          x_rows)
    _forward_block(inp, params, lay, n_layers, activation, head, t + plan.act_off,
                   t + plan.tmp_off, m, plan.ld, True, x_rows=x_rows)
    loss = _output_delta(src, t + plan.act_off + plan.ld * lay[4 * n_layers],
                         t + plan.da_off, t + plan.tmp_off, r0, m, plan.ld,
                         lay[n_layers], head)
    _backward_layers(inp, params, lay, n_layers, activation, t + plan.act_off,
                     t + plan.da_off, t + plan.db_off, slot, m, plan.ld, x_rows,
                     (t + plan.dwt_off) if plan.dw_t else NULL)
    return loss


cdef struct BatchSums:
    # What a batch's forward and backward passes leave behind
    double loss    # scikit-learn's batch loss (data term + penalty)
    double s       # summed sample weight (rows when unweighted): the mean's divisor
    void *sums     # (n_params,) un-regularized gradient sums over the batch


cdef BatchSums _batch_sums(Source *src, const floating *params, const int64_t *lay,
                           int n_layers, int activation, int head, double alpha,
                           floating *ws, double *chunk_loss, Py_ssize_t n_chunks,
                           floating *reduced, Py_ssize_t b0, Py_ssize_t m_batch,
                           int n_threads, const WorkspacePlan *within) noexcept nogil:
    # Batch rows b0 .. b0 + m_batch: the loss, as mlnn._reference.loss_grad,
    #   loss = data loss / s + (alpha / 2) * sum ||W||^2 / s,
    # and the gradient sums.  Chunks of the batch are cut by its size alone
    # (n_chunks), and their sums added in chunk order (into reduced, when
    # there is more than one), so nothing depends on n_threads.  ws is laid
    # out as within (the plan of a full batch) says.
    cdef WorkspacePlan plan = _plan_rows(m_batch, lay, n_layers, n_chunks, n_threads,
                                         floating is double, within)
    cdef const floating *sw = <const floating *>src.sw
    cdef Py_ssize_t n_pblocks = n_threads if plan.n_params >= PARALLEL_PARAMS else 1
    cdef Py_ssize_t pstep = (plan.n_params + n_pblocks - 1) // n_pblocks
    cdef Py_ssize_t c, i, blk
    cdef double data = 0
    cdef BatchSums out
    out.s = 0
    if sw == NULL:
        out.s = m_batch
    else:
        for i in range(m_batch):
            out.s += sw[_sample(src, b0 + i)]
    # the penalty reads the weights before this batch's step
    cdef double sq = _dot(params, params, plan.n_weights)
    if plan.n_scratch == 1:
        for c in range(plan.n_chunks):
            chunk_loss[c] = _chunk_sums(src, params, lay, n_layers, activation, head,
                                        ws, &plan, b0, m_batch, c, 0)
    else:
        for c in prange(plan.n_chunks, num_threads=plan.n_scratch, schedule='dynamic'):
            chunk_loss[c] = _chunk_sums(src, params, lay, n_layers, activation, head,
                                        ws, &plan, b0, m_batch, c, threadid())
    for c in range(plan.n_chunks):
        data = data + chunk_loss[c]
    if head == HEAD_IDENTITY:
        out.loss = 0.5 * (data / out.s) / lay[n_layers]
    else:
        out.loss = data / out.s
    out.loss = out.loss + (0.5 * alpha) * sq / out.s
    if plan.n_chunks == 1:
        out.sums = ws  # the one slot starts with its gradient sums
    elif n_pblocks == 1:
        _reduce(ws, &plan, <const floating *>NULL, reduced, 0.0, 0.0, 0, plan.n_params)
        out.sums = reduced
    else:
        for blk in prange(n_pblocks, num_threads=n_threads, schedule='static'):
            _reduce(ws, &plan, <const floating *>NULL, reduced, 0.0, 0.0, blk * pstep,
                    min(plan.n_params, (blk + 1) * pstep))
        out.sums = reduced
    return out


cdef struct Step:
    # One optimizer step's constants, for p in [p0, p1) of params
    int solver
    double alpha, s            # g = (sums + alpha * W) / s
    double lr, momentum        # SGD (lr: the current learning rate)
    bint nesterov
    double lr_t, beta_1, beta_2, epsilon   # Adam (lr_t: bias-corrected)
    Py_ssize_t n_weights


cdef inline floating _mean_grad(const floating *sums, const floating *params, Step *st,
                                Py_ssize_t p) noexcept nogil:
    # scikit-learn's mean gradient, (sum + alpha * W) / s; no penalty on biases
    if p < st.n_weights:
        return <floating>((sums[p] + st.alpha * params[p]) / st.s)
    return <floating>(sums[p] / st.s)


cdef inline void _solver_step(floating *params, const floating *sums, floating *state,
                              Py_ssize_t n_params, Step *st, Py_ssize_t p0,
                              Py_ssize_t p1) noexcept nogil:
    # csrc (mlnn_dense_impl.h), vectorized for the CPU level
    if st.solver == SOLVER_SGD:
        _sgd_step(params, sums, state, p0, p1, st.n_weights, st.alpha, st.s, st.lr,
                  st.momentum, st.nesterov)
    else:
        _adam_step(params, sums, state, state + n_params, p0, p1, st.n_weights, st.alpha,
                   st.s, st.lr_t, st.beta_1, st.beta_2, st.epsilon)


cdef double _epoch_run(Source *src, floating *params, const int64_t *lay, int n_layers,
                       int activation, int head, Py_ssize_t n_samples,
                       Py_ssize_t batch_size, Py_ssize_t chunks_full,
                       Py_ssize_t chunks_last, Step *st, floating *state,
                       Py_ssize_t *step, floating *ws, const WorkspacePlan *full,
                       double *chunk_loss, floating *reduced,
                       int n_threads) noexcept nogil:
    # Every batch of the epoch: loss and gradient sums, then the solver's
    # step on params and state.  Returns the sum of batch loss * batch rows;
    # step (IN/OUT) counts the batches (Adam's t).
    cdef Py_ssize_t n_params = lay[3 * n_layers] + lay[n_layers]
    cdef Py_ssize_t n_pblocks = n_threads if n_params >= PARALLEL_PARAMS else 1
    cdef Py_ssize_t pstep = (n_params + n_pblocks - 1) // n_pblocks
    cdef Py_ssize_t b0 = 0, m_b, blk
    cdef double total = 0
    cdef BatchSums b
    while b0 < n_samples:
        m_b = min(batch_size, n_samples - b0)
        b = _batch_sums(src, params, lay, n_layers, activation, head, st.alpha, ws,
                        chunk_loss, chunks_full if m_b == batch_size else chunks_last,
                        reduced, b0, m_b, n_threads, full)
        total += b.loss * m_b
        step[0] += 1
        st.s = b.s
        if st.solver == SOLVER_ADAM:
            st.lr_t = (st.lr * sqrt(1 - pow(st.beta_2, <double>step[0]))
                       / (1 - pow(st.beta_1, <double>step[0])))
        if n_pblocks == 1:
            _solver_step(params, <floating *>b.sums, state, n_params, st, 0, n_params)
        else:
            for blk in prange(n_pblocks, num_threads=n_threads, schedule='static'):
                _solver_step(params, <floating *>b.sums, state, n_params, st,
                             blk * pstep, min(n_params, (blk + 1) * pstep))
        b0 += m_b
    return total


cdef tuple _source(X, Y, sample_weight, Py_ssize_t n_in, Py_ssize_t n_out, dtype, Source *src):
    """Check the arrays of a training call and point src at them.

    Returns (the arrays src points into, kept alive by the caller; n_samples).
    X is a C-contiguous 2-D array or a scipy.sparse CSR matrix, in ``dtype``.
    """
    src.X = src.data = src.Y = src.sw = NULL
    src.indices = NULL
    src.indptr = NULL
    src.order = NULL
    if isinstance(X, np.ndarray):
        if X.dtype != dtype or X.ndim != 2 or not X.flags.c_contiguous:
            raise ValueError(f"X must be a C-contiguous 2-D {np.dtype(dtype).name} array")
        if X.shape[1] != n_in:
            raise ValueError(f"X must have {n_in} columns, got {X.shape[1]}")
        keep = (X,)
        if X.size:
            src.X = <const void *><size_t>X.ctypes.data
        n_samples = X.shape[0]
    elif getattr(X, "format", None) == "csr":
        if X.dtype != dtype or X.shape[1] != n_in:
            raise ValueError(f"X must be a CSR matrix of {np.dtype(dtype).name} with "
                             f"{n_in} columns")
        data = np.ascontiguousarray(X.data)
        indices = np.ascontiguousarray(X.indices, dtype=np.int32)
        indptr = np.ascontiguousarray(X.indptr, dtype=np.int64)
        n_samples = X.shape[0]
        if (indptr.shape[0] != n_samples + 1 or indptr[0] != 0
                or indptr[n_samples] > data.shape[0] or indices.shape[0] < data.shape[0]
                or np.any(np.diff(indptr) < 0)
                or (indices.shape[0] and (indices.min() < 0 or indices.max() >= n_in))):
            raise ValueError("X is not a valid CSR matrix")
        if data.shape[0] == 0:  # a dummy entry keeps the pointers valid
            data, indices = np.zeros(1, dtype), np.zeros(1, np.int32)
        keep = (data, indices, indptr)
        src.data = <const void *><size_t>data.ctypes.data
        src.indices = <const int32_t *><size_t>indices.ctypes.data
        src.indptr = <const int64_t *><size_t>indptr.ctypes.data
    else:
        raise TypeError("X must be a numpy array or a scipy.sparse CSR matrix")
    if not (isinstance(Y, np.ndarray) and Y.dtype == dtype and Y.flags.c_contiguous
            and Y.shape == (n_samples, n_out)):
        raise ValueError(f"Y must be a C-contiguous {np.dtype(dtype).name} array of shape "
                         f"({n_samples}, {n_out})")
    src.Y = <const void *><size_t>Y.ctypes.data
    keep += (Y,)
    if sample_weight is not None:
        if not (isinstance(sample_weight, np.ndarray) and sample_weight.dtype == dtype
                and sample_weight.flags.c_contiguous
                and sample_weight.shape == (n_samples,)):
            raise ValueError(f"sample_weight must be a C-contiguous {np.dtype(dtype).name} "
                             f"array of shape ({n_samples},)")
        src.sw = <const void *><size_t>sample_weight.ctypes.data
        keep += (sample_weight,)
    return keep, n_samples


def _check_model(params, lay, n_threads, head, activation):
    n_layers = (lay.shape[0] - 1) // 4
    if n_threads < 1:
        raise ValueError(f"n_threads must be >= 1, got {n_threads}")
    if n_layers < 1 or lay.shape[0] != 4 * n_layers + 2:
        raise ValueError("lay must come from mlnn._spec.layout")
    if params.shape[0] != lay[3 * n_layers] + lay[n_layers]:
        raise ValueError("params does not match lay")
    if head not in (HEAD_SOFTMAX, HEAD_LOGISTIC, HEAD_IDENTITY, HEAD_EXP):
        raise ValueError(f"unknown head code {head}")
    if activation not in (ACT_TANH, ACT_RELU, ACT_SIGMOID, ACT_IDENTITY):
        raise ValueError(f"unknown activation code {activation}")
    return n_layers


def loss_grad(X, Y, sample_weight, const floating[::1] params, const int64_t[::1] lay,
              int activation, int head, double alpha, floating[::1] grads,
              Py_ssize_t n_chunks, int n_threads):
    """The estimators' loss and mean gradient on all rows (L-BFGS).

    X (n_samples, n_in) C-contiguous array or CSR matrix IN; Y (n_samples,
    n_out) IN; sample_weight (n_samples,) or None IN (all in the dtype of
    params); params, lay IN; grads (n_params,) OUT.  n_chunks IN: how the
    rows are cut (mlnn._core.n_chunks), which fixes the summation order.
    Returns the loss.  See mlnn._reference.loss_grad for the formulas.
    """
    cdef int n_layers = _check_model(params, lay, n_threads, head, activation)
    if grads.shape[0] != params.shape[0]:
        raise ValueError("grads must have the shape of params")
    cdef Source src
    cdef Py_ssize_t n_samples, p
    dtype = np.float32 if floating is float else np.float64
    keep, n_samples = _source(X, Y, sample_weight, lay[0], lay[n_layers], dtype, &src)
    if n_samples == 0:
        raise ValueError("X must have at least one row")
    cdef WorkspacePlan plan = _plan(n_samples, lay, n_chunks, n_threads, floating is double)
    cdef floating[::1] ws = _aligned_empty(plan.size, dtype)
    cdef double[::1] chunk_loss = np.zeros(plan.n_chunks)
    cdef BatchSums b
    cdef Step st
    memset(&st, 0, sizeof(st))  # the solver's fields stay unused
    st.alpha = alpha
    st.n_weights = plan.n_weights
    with nogil:
        b = _batch_sums(&src, &params[0], &lay[0], n_layers, activation, head, alpha,
                        &ws[0], &chunk_loss[0], plan.n_chunks, &grads[0], 0, n_samples,
                        n_threads, &plan)
        st.s = b.s
        for p in range(plan.n_params):
            grads[p] = _mean_grad(<floating *>b.sums, &params[0], &st, p)
    return b.loss


def epoch(X, Y, sample_weight, const int64_t[::1] order, Py_ssize_t batch_size,
          floating[::1] params, const int64_t[::1] lay, int activation, int head,
          double alpha, int solver, const double[::1] hyper, floating[:, ::1] state,
          Py_ssize_t step, Py_ssize_t n_chunks, int n_threads, ws=None):
    """One epoch of mini-batch training, in place, in one call without the GIL.

    X, Y, sample_weight IN as for ``loss_grad``; order (n_samples,) IN: the
    epoch's permutation of the sample indices; batches are its consecutive
    slices of batch_size rows, the last one shorter.  params IN/OUT;
    state (1 or 2, n_params) IN/OUT: SGD's velocity, or Adam's moments;
    hyper IN: [learning_rate, momentum, nesterov] for SGD,
    [learning_rate_init, beta_1, beta_2, epsilon] for Adam; step IN: Adam's
    batch count before the epoch.  n_chunks: the chunks of a full batch
    (mlnn._core.n_chunks(batch_size)); a shorter last batch is cut into
    chunks of at most as many rows.  ws (scratch, optional): an array from
    ``workspace(batch_size, lay, n_chunks, dtype, n_threads)``, whose
    contents on entry do not matter, so that repeated calls need not
    allocate it.
    Returns (sum over batches of batch loss * batch rows, step after the
    epoch).  See mlnn._reference.epoch.
    """
    cdef int n_layers = _check_model(params, lay, n_threads, head, activation)
    cdef Source src
    cdef Py_ssize_t n_samples
    dtype = np.float32 if floating is float else np.float64
    keep, n_samples = _source(X, Y, sample_weight, lay[0], lay[n_layers], dtype, &src)
    if order.shape[0] != n_samples:
        raise ValueError(f"order must have {n_samples} entries, got {order.shape[0]}")
    if n_samples and (np.min(order) < 0 or np.max(order) >= n_samples):
        raise ValueError("order must hold row indices of X")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if solver not in (SOLVER_SGD, SOLVER_ADAM):
        raise ValueError(f"unknown solver code {solver}")
    if hyper.shape[0] < (3 if solver == SOLVER_SGD else 4):
        raise ValueError("hyper is too short for the solver")
    if state.shape[0] != (1 if solver == SOLVER_SGD else 2) or state.shape[1] != params.shape[0]:
        raise ValueError("state must have shape (1, n_params) for SGD, (2, n_params) for Adam")
    if n_samples == 0:
        return 0.0, step
    batch_size = min(batch_size, n_samples)
    cdef Py_ssize_t last = n_samples - (n_samples - 1) // batch_size * batch_size
    cdef WorkspacePlan plan = _plan(batch_size, lay, n_chunks, n_threads, floating is double)
    cdef Py_ssize_t chunks_full = plan.n_chunks
    # a shorter last batch: chunks of at most a full batch's rows, so that it
    # fits in the same slots and areas
    cdef Py_ssize_t chunks_last = (last + plan.rows - 1) // plan.rows
    cdef floating[::1] ws_ = _checked_ws(ws, &plan, batch_size, n_chunks, n_threads, dtype)
    cdef floating[::1] reduced = np.empty_like(np.asarray(params))
    cdef double[::1] chunk_loss = np.zeros(plan.n_chunks)
    cdef double total
    cdef Step st
    memset(&st, 0, sizeof(st))  # the other solver's fields stay unused
    st.solver = solver
    st.alpha = alpha
    st.n_weights = plan.n_weights
    st.lr = hyper[0]
    if solver == SOLVER_SGD:
        st.momentum = hyper[1]
        st.nesterov = hyper[2] != 0
    else:
        st.beta_1, st.beta_2, st.epsilon = hyper[1], hyper[2], hyper[3]
    src.order = &order[0]
    with nogil:
        total = _epoch_run(&src, &params[0], &lay[0], n_layers, activation, head,
                           n_samples, batch_size, chunks_full, chunks_last, &st,
                           &state[0, 0], &step, &ws_[0], &plan, &chunk_loss[0],
                           &reduced[0], n_threads)
    return total, step

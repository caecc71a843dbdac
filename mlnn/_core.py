"""The one training core shared by ``neural_net`` and ``MLNNClassifier``.

``Model`` owns the flat parameter vector and hands every computation to a
kernel module (compiled ``mlnn._kernels`` or the NumPy ``mlnn._reference``,
which have identical signatures).  ``Model.train`` is the only full-batch
gradient-descent loop in the package; the API classes add printing, history
and plotting on top through its ``on_record`` callback.

The pass loop itself runs inside the kernel without the GIL.  This module
calls it in slices of about ``SLICE_SECONDS`` so that Ctrl-C (delivered by
Python between slices) reaches the user quickly, and a record callback can run
at fixed pass numbers.  Since every pass is a pure function of the current
weights, slicing never changes the result.
"""

import os
import threading
import time
from contextlib import contextmanager, nullcontext

import numpy as np
from threadpoolctl import ThreadpoolController

from mlnn import _backend, _threads
from mlnn._spec import ACTIVATIONS, HEADS, layout, n_params, weights

# Kernel slices aim at this wall time, so that KeyboardInterrupt lands fast.
SLICE_SECONDS = 0.03
# At most this many passes per kernel call, however fast a pass was timed: a
# bound on how far one slice can overrun SLICE_SECONDS if that timing was off.
MAX_PASSES_PER_CALL = 1 << 20

# Rows per chunk of the full-batch gradient.  The chunking depends only on
# n_samples and the model size (never on the thread count), so results are
# identical for any number of threads.
CHUNK_ROWS = 256
MAX_CHUNKS = 64
# From 2 * CHUNK_SHARE chunks on, the count is a multiple of CHUNK_SHARE, so
# that teams of 2 and 4 threads get equal shares of a pass: 17 chunks on 2
# threads are 9 rounds, a 6% loss to the 8.5 of an even split.
CHUNK_SHARE = 4
MAX_SCRATCH = 2**21  # elements of per-chunk gradient slots in total (16 MB in float64)
# BLAS products of at most this many multiply-adds (M * N * K) run in
# OpenBLAS's small-matrix kernels on AVX-512 CPUs: no packing of the
# operands and no separate pass that scales C.  Chunks of models whose
# widest layer leaves room for at least SMALL_GEMM_MIN_ROWS rows are cut to
# stay under it (see n_chunks).  The compiled kernels' SMALL_GEMM_WORK
# (which cuts dW for the same path) is this number; a test checks it.
SMALL_GEMM_WORK = 100**3
SMALL_GEMM_MIN_ROWS = 128

# Tries of each side when a network shape's team timing is measured
# (Model._measure_team); the first warms caches and the thread pool.
TEAM_TIMING_TRIES = 3
TEAM_TIMING_PASSES = 2   # passes per try, for the kind "train"
# (kind, sizes, activation, head, dtype, threads) -> that timing, per process
_team_timings = {}

# Sparse X is predicted in dense blocks of this many rows.
SPARSE_PREDICT_ROWS = 4096


_guard_state = threading.local()

# threadpoolctl's limit is process-wide: it saves the current BLAS thread
# count on entry and restores it on exit.  Two Python threads that each took
# it would interleave those (A saves 2, B saves 1, A restores 2, B restores
# 1) and leave BLAS at 1 thread for good.  So the limit is shared: the first
# thread in takes it, the last one out restores it.
_blas_lock = threading.Lock()
_blas_shared = {"users": 0, "limiter": None, "controller": None}


def _blas_controller():
    # Finding the loaded libraries (threadpoolctl reads /proc/self/maps) costs
    # milliseconds, several times what a small estimator epoch costs, so it
    # is done once per process.  The kernels' BLAS (scipy's) is loaded with
    # them, so it is always among the libraries found.
    if _blas_shared["controller"] is None:
        _blas_shared["controller"] = ThreadpoolController()
    return _blas_shared["controller"]


def _reset_blas_guard_in_child():
    # a fork taken while another thread held the lock must not deadlock
    global _blas_lock
    _blas_lock = threading.Lock()
    _blas_shared.update(users=0, limiter=None)  # the controller stays valid


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_blas_guard_in_child)


@contextmanager
def _single_thread_blas():
    with _blas_lock:
        if _blas_shared["users"] == 0:
            _blas_shared["limiter"] = _blas_controller().limit(limits=1, user_api="blas")
        _blas_shared["users"] += 1
    _guard_state.active = True
    try:
        yield
    finally:
        _guard_state.active = False
        with _blas_lock:
            _blas_shared["users"] -= 1
            if _blas_shared["users"] == 0:
                _blas_shared["limiter"].restore_original_limits()
                _blas_shared["limiter"] = None


class DivergenceError(FloatingPointError):
    """Training produced a non-finite loss, gradient or weight."""


class NonFiniteInputError(ValueError):
    """X holds NaN or inf; found by the predict kernels while they read it.

    The API layer validates X without a separate finiteness pass for
    predict / predict_proba (on a large grid that pass cost as much as a
    tenth of the call) and, on this error, reruns the full validation to
    raise its usual message.
    """


def n_chunks(n_samples, sizes):
    """How many chunks the samples are cut into for the gradient reduction.

    At least CHUNK_ROWS rows per chunk (floor division): a second chunk of a
    few rows costs more in per-chunk overhead than it could gain in threads.
    Except where the model's widest layer (of those at least 8 units wide on
    both sides, the ones that can call BLAS) has n_in * n_out <=
    SMALL_GEMM_WORK / SMALL_GEMM_MIN_ROWS and those chunks would make its
    products larger than SMALL_GEMM_WORK: then the chunks hold at most
    SMALL_GEMM_WORK // (n_in * n_out) rows (ceiling division), so that
    every BLAS product of a chunk stays in BLAS's small-matrix path; this
    holds for a mini-batch of fewer than CHUNK_ROWS samples too (whether its
    chunks then get a thread each is mlnn._threads.choose's decision).
    Counts from 2 * CHUNK_SHARE on are multiples of CHUNK_SHARE (_shares).
    The count depends on n_samples and the model alone.
    """
    count = max(1, n_samples // CHUNK_ROWS)
    small = False
    widest = max((a * b for a, b in zip(sizes[:-1], sizes[1:]) if min(a, b) >= 8),
                 default=0)
    if widest and SMALL_GEMM_WORK // widest >= SMALL_GEMM_MIN_ROWS:
        rows = SMALL_GEMM_WORK // widest
        if -(-n_samples // count) > rows:
            count = -(-n_samples // rows)
            small = True
    # Shares: rounded up where the rows must stay under the small-product
    # size, down elsewhere (CHUNK_ROWS stays a floor, the scratch cap a cap).
    # MAX_CHUNKS is a multiple of CHUNK_SHARE too, so whenever the least of
    # the three is 2 * CHUNK_SHARE or more, all three are, and it is a share.
    cap = _shares(max(1, MAX_SCRATCH // n_params(sizes)), up=False)
    return max(1, min(_shares(count, up=small), MAX_CHUNKS, cap))


def _shares(count, up):
    """count as a multiple of CHUNK_SHARE (rounded up or down) from 2 *
    CHUNK_SHARE on; smaller counts as they are."""
    if count < 2 * CHUNK_SHARE:
        return count
    return count + (-count % CHUNK_SHARE) if up else count - count % CHUNK_SHARE


def macs_per_sample(sizes):
    return sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))


def _rng(random_state):
    """None -> NumPy's global state (np.random.seed reproduces the notebook)."""
    if random_state is None:
        return np.random.mtrand._rand
    if isinstance(random_state, (np.random.RandomState, np.random.Generator)):
        return random_state
    return np.random.RandomState(random_state)


class Model:
    """Flat parameters + kernels: forward, gradients and the GD loop.

    Parameters
    ----------
    sizes : list of int, [n_in, hidden..., n_out]
    activation : 'tanh', 'relu', 'sigmoid' or 'identity' (hidden layers)
    dtype : np.float64 or np.float32
    backend : None, 'cython' or 'numpy'
    n_threads : None (automatic) or int
    head : 'softmax', 'logistic', 'identity' or 'exp' (output layer and
        loss, see mlnn._spec.HEADS); the notebook's network is 'softmax'.
    """

    def __init__(self, sizes, activation, dtype, backend=None, n_threads=None,
                 head="softmax"):
        self.head = head
        self.sizes = [int(s) for s in sizes]
        self.activation = activation
        self.dtype = np.dtype(dtype)
        self.backend = backend
        self.n_threads = n_threads
        self.kernels = _backend.get_backend(backend)
        self.lay = layout(self.sizes)
        self.params = np.zeros(n_params(self.sizes), dtype=self.dtype)
        self.passes_done = 0  # passes completed by the last train() call
        self._slice = (None, 1)  # (n_samples, passes per kernel call) last measured

    # -- pickling: the kernel module is looked up again on load -------------
    def __getstate__(self):
        state = self.__dict__.copy()
        del state["kernels"]
        state.pop("_ws", None)  # scratch, rebuilt on the next train()
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self.kernels = _backend.get_backend(self.backend)

    @property
    def backend_name(self):
        return _backend.backend_name(self.kernels)

    @property
    def n_layers(self):
        return len(self.sizes) - 1

    def layers(self):
        """Live views [(W_l (n_in, n_out), b_l (n_out,)), ...] into params."""
        return weights(self.params, self.lay)

    def init_weights(self, random_state=None):
        """W_l = randn(fan_in, fan_out) / sqrt(fan_in) in layer order; b_l = 0.

        With random_state=None the draws come from NumPy's global state, in
        the notebook's order, so np.random.seed(k) reproduces its numbers.
        """
        rng = _rng(random_state)
        draw = rng.standard_normal if isinstance(rng, np.random.Generator) else rng.randn
        for W, b in self.layers():
            fan_in, fan_out = W.shape
            if isinstance(rng, np.random.Generator):
                W[...] = draw((fan_in, fan_out)) / np.sqrt(fan_in)
            else:
                W[...] = draw(fan_in, fan_out) / np.sqrt(fan_in)
            b[...] = 0

    # -- kernels -------------------------------------------------------------
    def n_threads_for(self, n_samples, kind="train"):
        """Threads for a kernel call on n_samples rows.

        kind: "train" (gradients, loss_grad, epoch, train: forward and
        backward) or "forward" (predict, loss, forward).  Never more than
        the chunks the samples are cut into: an idle thread only adds a
        wake-up.  An automatic count (n_threads=None) below PARALLEL_WORK
        comes from mlnn._threads.choose with this shape's measured timings.
        """
        chunks = n_chunks(n_samples, self.sizes)
        n = max(1, min(_threads.effective_n_threads(self.n_threads), chunks))
        if (n > 1 and self.n_threads is None and self.kernels is not _reference
                and n_samples * macs_per_sample(self.sizes) < _threads.PARALLEL_WORK):
            per_row, overhead = self._team_timing(kind, n)
            n = _threads.choose(n, chunks, per_row * n_samples, overhead)
        return _threads.note_team(n)

    def _team_timing(self, kind, n_team):
        """(seconds per row on one thread, team overhead in seconds) of this
        network shape and kernel kind with n_team threads: measured on the
        first call that needs them, then kept for the process."""
        key = (kind, tuple(self.sizes), self.activation, self.head,
               np.dtype(self.dtype).str, n_team)
        timing = _team_timings.get(key)
        if timing is None:
            timing = _team_timings[key] = self._measure_team(kind, n_team)
        return timing

    def _measure_team(self, kind, n_team):
        # One chunk of rows per thread, the call's own kind of kernel on this
        # model's weights, alternately on one thread and on the team; the
        # fastest of a few tries of each (the least disturbed by the rest of
        # the machine).  The rows come from a fixed seed; the outputs are
        # scratch.  Returns per-pass figures.
        rows = n_team * CHUNK_ROWS
        chunks = n_chunks(rows, self.sizes)
        n_team = min(n_team, chunks)
        if n_team < 2:  # no team to time (the scratch cap allows one chunk)
            return 0.0, np.inf
        X = np.random.RandomState(0).standard_normal((rows, self.sizes[0])).astype(self.dtype)
        activation = ACTIVATIONS[self.activation]
        passes = 1
        if kind == "train":
            # several passes in one call, on a copy of the weights: the
            # per-pass time without the per-call cost, as train() runs them
            passes = TEAM_TIMING_PASSES
            y = np.arange(rows, dtype=np.int64) % self.sizes[-1]
            params = self.params.copy()
            grads = np.empty_like(params)
            ws = self.kernels.workspace(rows, self.lay, chunks, self.dtype, n_team)

            def call(t):
                self.kernels.train(X, y, params, self.lay, activation, 0.0, 0.0, passes,
                                   grads, chunks, t, ws)
        else:
            proba = np.empty((rows, self.sizes[-1]), dtype=self.dtype)

            def call(t):
                self.kernels.predict_proba(X, self.params, self.lay, activation, proba, t,
                                           HEADS[self.head])
        best = {1: np.inf, n_team: np.inf}
        _threads.note_team(n_team)
        with self.blas_guard(rows):
            for i in range(TEAM_TIMING_TRIES):
                for t in best:
                    t0 = time.perf_counter()
                    call(t)
                    best[t] = min(best[t], (time.perf_counter() - t0) / passes)
                if i >= 1 and best[n_team] >= best[1]:
                    break  # warm, and still no faster: the other CPUs are busy
        serial = best[1]
        share = serial * -(-chunks // n_team) / chunks
        return serial / rows, max(0.0, best[n_team] - share)

    def blas_guard(self, n_samples):
        """Limit BLAS to one thread while kernels that may call it run.

        BLAS threads inside OpenMP threads oversubscribe the cores, and with
        n_threads=1 the kernel must really use one thread.  Taking the limit
        costs about a millisecond, so callers that make many small kernel
        calls (mini-batches) take it once around the whole run; nested guards
        in the same thread are then free.
        """
        if self.kernels is _reference or getattr(_guard_state, "active", False):
            return nullcontext()
        # the kernels' own rule, on the largest block of rows they will use
        rows = max(-(-n_samples // n_chunks(n_samples, self.sizes)),
                   min(n_samples, self.kernels.BLOCK_ROWS))
        if not any(self.kernels.uses_blas(rows, a, b)
                   for a, b in zip(self.sizes[:-1], self.sizes[1:])):
            return nullcontext()
        return _single_thread_blas()

    def forward(self, X):
        """(pre_acts, acts): lists of (n_samples, width_l) arrays, l = 1..L."""
        n = X.shape[0]
        total = n * sum(self.sizes[1:])
        pre_acts = np.empty(total, dtype=self.dtype)
        acts = np.empty(total, dtype=self.dtype)
        with self.blas_guard(n):
            self.kernels.forward(X, self.params, self.lay, ACTIVATIONS[self.activation],
                                 pre_acts, acts, self.n_threads_for(n, "forward"),
                                 HEADS[self.head])
        bounds = np.concatenate([[0], np.cumsum(self.sizes[1:])]) * n
        split = [(bounds[l], bounds[l + 1], w) for l, w in enumerate(self.sizes[1:])]
        return ([pre_acts[a:b].reshape(n, w) for a, b, w in split],
                [acts[a:b].reshape(n, w) for a, b, w in split])

    def predict_proba(self, X):
        """The output layer (n_samples, n_out): softmax probabilities for the
        notebook's network, else the head's output.  NonFiniteInputError if X
        holds NaN or inf."""
        proba = np.empty((X.shape[0], self.sizes[-1]), dtype=self.dtype)
        if hasattr(X, "tocsr"):  # sparse: dense blocks of rows, a bounded copy
            for r in range(0, X.shape[0], SPARSE_PREDICT_ROWS):
                rows = X[r:r + SPARSE_PREDICT_ROWS].toarray()
                proba[r:r + rows.shape[0]] = self.predict_proba(
                    np.ascontiguousarray(rows, dtype=self.dtype))
            return proba
        with self.blas_guard(X.shape[0]):
            n_bad = self.kernels.predict_proba(X, self.params, self.lay,
                                               ACTIVATIONS[self.activation], proba,
                                               self.n_threads_for(X.shape[0], "forward"),
                                               HEADS[self.head])
        if n_bad:
            raise NonFiniteInputError(f"X must hold finite values, found {n_bad} NaN or inf")
        return proba

    def predict(self, X):
        """Class indices; NonFiniteInputError if X holds NaN or inf, and a
        ValueError if some row's output overflowed to NaN."""
        labels = np.empty(X.shape[0], dtype=np.int64)
        with self.blas_guard(X.shape[0]):
            n_bad = self.kernels.predict(X, self.params, self.lay,
                                         ACTIVATIONS[self.activation], labels,
                                         self.n_threads_for(X.shape[0], "forward"))
        if n_bad:
            raise NonFiniteInputError(f"X must hold finite values, found {n_bad} NaN or inf")
        if labels.size and labels.min() < 0:
            # the kernels mark rows with NaN outputs -1; say why instead
            from mlnn._validation import check_finite_output
            check_finite_output(self.predict_proba(X), X, "output probabilities")
        return labels

    def loss(self, X, y, reg_lambda, labels=None, params=None):
        """The loss; labels (OUT, optional) get predict's labels from the same
        forward pass.  params: the weights to evaluate (default self.params)."""
        params = self.params if params is None else params
        with self.blas_guard(X.shape[0]):
            return self.kernels.loss(X, y, params, self.lay,
                                     ACTIVATIONS[self.activation], reg_lambda,
                                     self.n_threads_for(X.shape[0], "forward"), labels)

    def gradients(self, X, y, reg_lambda, grads=None):
        """Gradient of n_samples * loss, params layout; (grads, n_bad)."""
        if grads is None:
            grads = np.empty_like(self.params)
        n = X.shape[0]
        with self.blas_guard(n):
            bad = self.kernels.gradients(X, y, self.params, self.lay,
                                         ACTIVATIONS[self.activation], reg_lambda,
                                         grads, n_chunks(n, self.sizes),
                                         self.n_threads_for(n))
        return grads, bad

    def loss_grad(self, X, Y, sample_weight, alpha, grads, params=None):
        """The estimators' loss and mean gradient on all of (X, Y).

        X (n_samples, n_in), C-contiguous array or CSR matrix in the model
        dtype; Y (n_samples, n_out) targets in the model dtype; sample_weight
        (n_samples,) or None; grads (OUT, params layout).  params: the
        parameter vector to evaluate at (L-BFGS hands its own float64 x);
        default self.params.  Returns the loss (see _reference.loss_grad).
        """
        params = self.params if params is None else params
        n = X.shape[0]
        with self.blas_guard(n):
            return self.kernels.loss_grad(X, Y, sample_weight, params, self.lay,
                                          ACTIVATIONS[self.activation], HEADS[self.head],
                                          alpha, grads, n_chunks(n, self.sizes),
                                          self.n_threads_for(n))

    def epoch(self, X, Y, sample_weight, order, batch_size, alpha, solver):
        """One epoch of mini-batches over X[order], in one kernel call.

        solver: an mlnn._solvers.SGD or Adam, whose state is updated in place.
        Returns the sum over batches of batch loss * batch rows.
        """
        batch_size = min(batch_size, X.shape[0])
        chunks = n_chunks(batch_size, self.sizes)
        n_threads = self.n_threads_for(batch_size)
        ws = self._checkout_workspace(batch_size, chunks, n_threads)
        try:
            with self.blas_guard(batch_size):
                total, solver.step = self.kernels.epoch(
                    X, Y, sample_weight, order, batch_size, self.params, self.lay,
                    ACTIVATIONS[self.activation], HEADS[self.head], alpha, solver.code,
                    solver.hyper(), solver.state, solver.step, chunks, n_threads, ws[1])
        finally:
            if ws[1] is not None:
                self._ws = ws
        return total

    def grad_norms(self, grads):
        """Per-layer Frobenius norms ||dW_l|| of a gradient vector."""
        return [float(np.linalg.norm(dW)) for dW, _ in weights(grads, self.lay)]

    # -- the training loop -----------------------------------------------------
    def train(self, X, y, reg_lambda, epsilon, num_pass, record_every=None,
              on_record=None, on_divergence="raise"):
        """Full-batch gradient descent: num_pass passes of
        ``W -= epsilon * (sum_i dL_i/dW + reg_lambda * W)``, ``b -= epsilon * sum_i dL_i/db``.

        X, y must already be validated (C-contiguous, model dtype, int64 labels)
        and must not change while train runs (from on_record, say): the
        kernel calls after the first may reuse the copy of X that it made.
        Returns passes done, also kept in ``self.passes_done`` (which stays
        right when Ctrl-C interrupts training: the weights are then those
        after that many passes).

        Records: ``on_record(i, grads, params, loss, labels)`` is called for
        every pass index i (0-based) divisible by record_every, with the
        gradient of pass i, the weights after it, their loss and their
        predict labels (arrays to read during the call only).  The loss and
        labels come from the forward of the next pass, which computes them
        anyway (the kernels' entry_loss), so a record costs no forward pass
        of its own; only a record after the last pass has one.  So on_record
        runs one kernel call (about SLICE_SECONDS) after pass i; if it
        returns False, training stops there (the callback may have put back
        earlier weights).  A record still waiting for its loss when Ctrl-C
        arrives gets it from a forward pass of its own before
        KeyboardInterrupt propagates.

        On a non-finite gradient or weight, the offending pass is not applied,
        so the weights stay those of the last finite pass; then
        DivergenceError is raised (on_divergence='raise') or a RuntimeWarning
        is issued ('warn') and training stops.
        """
        n = X.shape[0]
        grads = np.zeros_like(self.params)
        n_threads = self.n_threads_for(n)
        chunks = n_chunks(n, self.sizes)
        activation = ACTIVATIONS[self.activation]
        ws = self._checkout_workspace(n, chunks, n_threads)
        done = 0
        self.passes_done = 0
        # passes per kernel call, sized from the measured time of a pass so a
        # call lasts about SLICE_SECONDS; remembered between train() calls on
        # the same number of samples, so short repeated calls start at size
        per_call = self._slice[1] if self._slice[0] == n else 1
        # Ctrl-C: Python raises KeyboardInterrupt right after the kernel call
        # returns, before ``done`` counts the passes it applied.  So each call
        # starts from a snapshot, and ``pending`` (the pass count of the
        # snapshot, set and cleared by single assignments) says that params
        # may be ahead of ``done``; on KeyboardInterrupt the snapshot is put
        # back.  The weights are then exactly those after
        # ``self.passes_done`` passes.
        snapshot = np.empty_like(self.params)
        pending = None
        # the first kernel call copies X's chunks into ws; the later slices
        # of this call, on the same X and ws, reuse them (x_loaded)
        loaded = False
        # A record waiting for the next kernel call's entry_loss: its pass
        # index (None: none waits), gradient and weights.
        waiting = None
        if record_every and on_record is not None:
            rec_grads = np.empty_like(self.params)
            rec_params = np.empty_like(self.params)
            rec_loss = np.empty(1)
            rec_labels = np.empty(n, dtype=np.int64)
        try:
            with self.blas_guard(n):
                while done < num_pass:
                    if record_every:
                        # record points are after passes 0, k, 2k, ... (0-based)
                        stop = 1 if done == 0 else ((done - 1) // record_every + 1) * record_every + 1
                        stop = min(stop, num_pass)
                    else:
                        stop = num_pass
                    while done < stop:
                        k = min(per_call, stop - done)
                        np.copyto(snapshot, self.params)
                        pending = done
                        entry = ({} if waiting is None
                                 else dict(entry_loss=rec_loss, entry_labels=rec_labels))
                        t0 = time.perf_counter()
                        ran, bad = self.kernels.train(X, y, self.params, self.lay,
                                                      activation, reg_lambda, epsilon, k,
                                                      grads, chunks, n_threads, ws[1],
                                                      x_loaded=loaded, **entry)
                        loaded = ws[1] is not None   # ws holds X's chunks from now on
                        elapsed = time.perf_counter() - t0
                        done += ran
                        pending = None
                        self.passes_done = done
                        if waiting is not None:
                            i, waiting = waiting, None
                            if on_record(i, rec_grads, rec_params, float(rec_loss[0]),
                                         rec_labels) is False:
                                return self.passes_done
                        if bad:
                            self._diverged(done, epsilon, on_divergence, "gradient or weights")
                            return done
                        if ran:
                            per_pass = max(elapsed / ran, 1e-9)
                            per_call = int(min(max(SLICE_SECONDS / per_pass, 1),
                                               MAX_PASSES_PER_CALL))
                            self._slice = (n, per_call)
                    if record_every and (done - 1) % record_every == 0 and on_record is not None:
                        np.copyto(rec_grads, grads)
                        np.copyto(rec_params, self.params)
                        if done < num_pass:
                            waiting = done - 1   # the next call computes its loss
                        elif on_record(done - 1, rec_grads, rec_params,
                                       self.loss(X, y, reg_lambda, rec_labels, rec_params),
                                       rec_labels) is False:
                            return self.passes_done
        except KeyboardInterrupt:
            if pending is not None:
                np.copyto(self.params, snapshot)
                done = pending
            self.passes_done = done
            if waiting is not None:
                try:
                    on_record(waiting, rec_grads, rec_params,
                              self.loss(X, y, reg_lambda, rec_labels, rec_params), rec_labels)
                except Exception:  # noqa: BLE001 - Ctrl-C goes first
                    pass
            raise
        finally:
            if ws[1] is not None:  # the numpy backend has no scratch
                self._ws = ws
        return done

    def _checkout_workspace(self, n_samples, chunks, n_threads):
        """(key, scratch) for the compiled train: the one kept from the last
        train() on the same number of samples, else a new one.

        A pass of a wide network touches megabytes of scratch, and a kernel
        call there is one pass: allocating and first-touching it again for
        every call cost about 5% of a pass ([2,512,512,2] on 2000 samples:
        107-114 against 110-122 ms, noisy).  Taking it out of the model (a
        single dict operation, atomic under the GIL) keeps two threads that
        train one model from sharing it: the second one allocates its own.
        """
        key = (n_samples, chunks, n_threads)
        kept = self.__dict__.pop("_ws", None)
        if kept is not None and kept[0] == key:
            return kept
        return key, self.kernels.workspace(n_samples, self.lay, chunks, self.dtype, n_threads)

    def _diverged(self, done, epsilon, on_divergence, what, kept=None):
        """Raise DivergenceError (or warn) for pass ``done`` (0-based).

        ``kept`` describes the weights left in the model; by default they are
        those from before pass ``done``, as the kernels leave them.
        """
        if kept is None:
            kept = (f"The weights were kept as they were before pass {done}, "
                    f"the last finite ones")
        msg = (f"training diverged at pass {done}: the {what} became non-finite "
               f"(NaN or inf). {kept}. Try a smaller epsilon "
               f"(learning rate; got {epsilon:g}).")
        if on_divergence == "warn":
            import warnings
            warnings.warn(msg, RuntimeWarning, stacklevel=4)
        else:
            raise DivergenceError(msg)


_reference = _backend._reference

#!/usr/bin/env python
"""Time mlnn against NumPy, scikit-learn, PyTorch and JAX (issues #3, #14).

    python bench/run.py [--quick] [--workload W1,W2,...] [--threads N]
                        [--cpu-level baseline|avx2|avx512] [--out NAME]

Workloads (fixed seeds, float64 unless said):

    W1  notebook  [2,4,4,2] on make_moons(300, noise=0.22), reg 1e-3, eps 1e-4, 25000 passes
                  (float64, then float32)
    W2  wide      [2,64,64,2] on make_moons(10000, noise=0.22), 200 passes (float64, float32)
    W3  image     [784,128,128,10] on 10000 synthetic samples, 20 passes, float64 and float32
    W4  grid      predict on the visualize_preds grid (step 0.005, 0.7 padding) with W1's net
    W5  many      64 W1 trainings of 2000 passes, serially and from 2 Python threads
    E   epochs    time per epoch of mini-batch fit() through the estimators (MLNNClassifier,
                  MLNNRegressor) against MLPClassifier/MLPRegressor and an eager PyTorch
                  loop, 1 thread and automatic threads:
        E1        digits (1797x64), (100,) relu, Adam, batch 200
        E2        make_moons(5000, noise=0.2), (64, 64) tanh, SGD + Nesterov momentum, batch 200
        E3        make_regression(5000, 20), y/std, (100,) relu, Adam, batch 200
        E4        digits, (100,) relu, L-BFGS, max_iter 200: whole fit() (no torch)
    plots         time per pass against N and against width (two PNGs)

Repetitions are interleaved (rep 1 of every implementation, then rep 2, ...)
so that a slow spell of the machine hits them all alike; each row reports the
median and the min-max.  Slow peers time a fixed fraction of the passes and
are scaled to the full count (the table says so).  Writes
bench/results/<name>.json and .md, and bench/results/time_vs_n.png and
time_vs_width.png.  See bench/README.md for what each column means.

Targets (issue #14), each reported with the median ratio, its min-max range
and met yes/no:

    W1          >=30x the NumPy reference and >=5x JAX jit (compile excluded)
    W2          >=5x the NumPy reference and >=2x JAX jit
    W3 f64/f32  at least as fast as the fastest peer (scikit-learn, PyTorch,
                JAX jit compile excluded, NumPy reference), and >=80% of the
                gemm roofline: mlnn's GFLOP/s at auto threads over numpy's
                dgemm (sgemm for float32) GFLOP/s at that same thread count,
                measured in the same run
    W4          >=3x the fastest peer
    W5          2 Python threads <=0.6x the serial wall time
    E1-E3       mlnn >=3x scikit-learn and >=3x PyTorch, 1 thread each and
                auto threads each, at every CPU level; E4 (L-BFGS, earlier
                issue): mlnn's whole fit <=0.5x scikit-learn's
    threads     auto threads <=1.05x the 1-thread time: W1, W2, W3 f64/f32,
                W4, E1-E4
    accuracy    W1's final weights, cython vs numpy, match to <=1e-9

--cpu-level caps mlnn's kernels (it sets MLNN_CPU_LEVEL before mlnn is
imported); the header of the results names the requested cap and the level
selected, and the E target rows say "at the <level> level".  The E targets
hold at every level, so check them with one run per level:

    for l in baseline avx2 avx512; do
        python bench/run.py --workload E --cpu-level $l --out e_$l
    done

(a level the CPU lacks falls back to the best it has: the header says so).
"""

import argparse
import os
import sys


E_PARTS = ["E1", "E2", "E3", "E4"]
WORKLOADS = ["W1", "W2", "W3", "W4", "W5", *E_PARTS, "plots"]   # the order they run in
CPU_LEVELS = ["baseline", "avx2", "avx512"]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true",
                   help="fewer passes and repetitions (about 3 minutes)")
    p.add_argument("--workload", default="W1,W2,W3,W4,W5,E,plots",
                   help="comma-separated subset of W1,W2,W3,W4,W5,E,plots "
                        "(E = E1,E2,E3,E4; each can be named alone)")
    p.add_argument("--threads", type=int, default=None,
                   help="the 'all threads' count (default: every CPU this process may use)")
    p.add_argument("--cpu-level", choices=CPU_LEVELS, default=None,
                   help="cap mlnn's kernels at this CPU level (sets MLNN_CPU_LEVEL before "
                        "mlnn is imported; default: the environment's MLNN_CPU_LEVEL, if "
                        "any, else the best level this CPU has)")
    p.add_argument("--out", default=None,
                   help="result name: bench/results/NAME.json/.md "
                        "(default 'latest', or 'quick' with --quick)")
    args = p.parse_args(argv)
    args.workload = [w.strip() for w in args.workload.split(",") if w.strip()]
    bad = set(args.workload) - set(WORKLOADS) - {"E"}
    if bad:
        p.error(f"unknown workload(s): {', '.join(sorted(bad))}")
    # "E" stands for all its parts, in order
    args.workload = list(dict.fromkeys(
        x for w in args.workload for x in (E_PARTS if w == "E" else [w])))
    if args.threads is not None and args.threads < 1:
        p.error("--threads must be >= 1")
    return args


ARGS = parse_args() if __name__ == "__main__" else None
# Some hosts here set OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE to keep old OpenBLAS
# builds from crashing on their CPUs.  They force a current OpenBLAS onto
# older (e.g. Haswell) GEMM kernels for NumPy, SciPy and mlnn, but not for
# PyTorch or JAX, and users do not have them: the bench measures without
# them.  OpenBLAS reads them when it loads, so this happens before any import
# of NumPy.  (Tests and CI never touch them.)
REMOVED_ENV = {var: os.environ.pop(var) for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
               if ARGS is not None and var in os.environ}
# mlnn reads MLNN_CPU_LEVEL once, when its kernels load: set it before any
# import of mlnn (peers imports it below).  Where it came from is recorded.
CPU_LEVEL_SOURCE = None
if ARGS is not None and ARGS.cpu_level is not None:
    os.environ["MLNN_CPU_LEVEL"] = ARGS.cpu_level
    CPU_LEVEL_SOURCE = "--cpu-level"
elif ARGS is not None and os.environ.get("MLNN_CPU_LEVEL"):
    CPU_LEVEL_SOURCE = "environment"
if ARGS is not None and ARGS.threads is not None:
    # must happen before NumPy, torch and the OpenMP runtime load
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(ARGS.threads)
    if ARGS.threads == 1:
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                                   " --xla_cpu_multi_thread_eigen=false"
                                   " intra_op_parallelism_threads=1")

import datetime  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402
from contextlib import contextmanager  # noqa: E402

import numpy as np  # noqa: E402
import sklearn.datasets  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.neural_network import MLPClassifier, MLPRegressor  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peers  # noqa: E402
from mlnn import _threads  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results")

# passes (total), peer_passes (timed for the slow peers, then scaled), reps.
# The cheap workloads (W1, W4, W5: seconds per repetition) get more
# repetitions, so that their medians hold on a noisy shared VM; so do W2,
# whose two thread targets compare rows of about a second each, and W3, whose
# roofline targets sit near their line.
FULL = {
    "W1": dict(passes=25000, peer_passes={"numpy": 2500, "sklearn": 2500, "torch": 1000},
               reps=9, acc_passes=25000),
    "W2": dict(passes=200, peer_passes={"numpy": 40, "sklearn": 40, "torch": 40}, reps=5),
    # the 1-thread mlnn row of W3 (no target) is timed on 5 passes to save a minute
    "W3": dict(passes=20, peer_passes={"numpy": 5, "sklearn": 5, "torch": 5, "mlnn_1": 5},
               reps=5),
    "W4": dict(reps=9),
    "W5": dict(models=64, passes=2000, reps=9),
    "plots": dict(ns=[100, 300, 1000, 3000, 10000, 30000, 100000],
                  widths=[4, 8, 16, 32, 64, 128, 256, 512], width_n=2000, min_time=0.1),
    # E1-E3: fit(max_iter=epochs) per repetition, time / n_iter_; E4: one whole
    # L-BFGS fit (max_iter=lbfgs_iter) per repetition.  50 epochs: the first
    # milliseconds after the idle pause run slow (cold caches and clocks),
    # which a short fit (mlnn's 20 epochs of E1 take 25 ms) cannot amortize.
    "E": dict(epochs=50, reps=9, lbfgs_iter=200, lbfgs_reps=5),
    "check_passes": 200,
}
QUICK = {
    "W1": dict(passes=2500, peer_passes={"numpy": 250, "sklearn": 250, "torch": 100},
               reps=3, acc_passes=2500),
    "W2": dict(passes=20, peer_passes={"numpy": 4, "sklearn": 4, "torch": 4}, reps=2),
    "W3": dict(passes=2, peer_passes={"numpy": 1, "sklearn": 1, "torch": 1}, reps=2),
    "W4": dict(reps=3),
    "W5": dict(models=16, passes=1000, reps=2),
    "plots": dict(ns=[100, 1000, 10000], widths=[4, 16, 64, 256], width_n=2000,
                  min_time=0.05),
    "E": dict(epochs=5, reps=3, lbfgs_iter=50, lbfgs_reps=2),
    "check_passes": 50,
}

REG, EPS = 0.001, 0.0001

# label -> short key used in the configs above and in the JSON
MLNN_1 = "mlnn cython, 1 thread"
MLNN = "mlnn cython, auto threads"   # the reference every ratio divides by
NUMPY = "mlnn numpy backend"
SKLEARN = "scikit-learn MLPClassifier"
TORCH = "PyTorch eager"
JAX = "JAX jit, compile excluded"
JAX_C = "JAX jit, compile included"
# workload E: the peers at 1 thread and at their automatic count
SK_NAME = {"classifier": "scikit-learn MLPClassifier", "regressor": "scikit-learn MLPRegressor"}
TORCH_1 = "PyTorch eager, 1 thread"
TORCH_AUTO = "PyTorch eager, auto threads"


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# -- data ------------------------------------------------------------------------

def moons(n, noise=0.22):
    X, y = sklearn.datasets.make_moons(n, noise=noise, random_state=0)
    return np.ascontiguousarray(X), y.astype(np.int64)


def synthetic_images(n=10000, n_in=784, n_out=10):
    rng = np.random.default_rng(0)
    X = rng.random((n, n_in))                      # "pixels" in [0, 1)
    # labels from a random linear teacher on centred pixels: every class occurs
    # (sklearn sizes its output layer by the classes present)
    y = np.argmax((X - 0.5) @ rng.standard_normal((n_in, n_out)), axis=1)
    assert len(np.unique(y)) == n_out
    return X, y.astype(np.int64)


def digits():
    X, y = sklearn.datasets.load_digits(return_X_y=True)
    return np.ascontiguousarray(X / 16.0), y.astype(np.int64)


def regression(n=5000, n_features=20):
    X, y = sklearn.datasets.make_regression(n, n_features, random_state=0)
    return np.ascontiguousarray(X), y / y.std()


def grid(X, step=0.005, pad=0.7):
    """The visualize_preds grid: step over the data's range plus padding."""
    x0, x1 = X[:, 0].min() - pad, X[:, 0].max() + pad
    y0, y1 = X[:, 1].min() - pad, X[:, 1].max() + pad
    xx, yy = np.meshgrid(np.arange(x0, x1, step), np.arange(y0, y1, step))
    return np.ascontiguousarray(np.c_[xx.ravel(), yy.ravel()])


def init_weights(sizes, dtype=np.float64, seed=0):
    """mlnn's own initialisation (random_state=seed), shared by every peer."""
    net = peers._mlnn_net(sizes, dtype, "numpy", 1)
    net._model.init_weights(seed)
    return [(W.copy(), b.copy()) for W, b in net._model.layers()]


def macs(sizes):
    return sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))


def train_flops(sizes, n):
    """The arithmetic a training pass needs: forward 2*N*sum(n_in*n_out);
    backward 2*N*n_in*n_out for every dW and the same for every delta but
    the input layer's, which no implementation computes."""
    return 2.0 * n * (2 * macs(sizes) + macs(sizes[1:]))


def rel_err(ws, ref):
    """max over parameters of |w - w_ref|, relative to the largest |w_ref|."""
    num = max(float(np.max(np.abs(np.asarray(a, np.float64) - b)))
              for (Wa, ba), (Wb, bb) in zip(ws, ref) for a, b in ((Wa, Wb), (ba, bb)))
    den = max(float(np.max(np.abs(b))) for W, bb in ref for b in (W, bb))
    return num / den


# -- timing helpers ------------------------------------------------------------------

@contextmanager
def torch_threads(n):
    if peers.torch is None:
        yield
        return
    old = peers.torch.get_num_threads()
    peers.torch.set_num_threads(n)
    try:
        yield
    finally:
        peers.torch.set_num_threads(old)


def timed_train(trainer, timed, total, threads=None):
    """A measure(): reset (untimed), run `timed` passes, scale to `total`."""
    def measure():
        trainer.reset()
        with torch_threads(threads) if threads else _null():
            t0 = time.perf_counter()
            trainer.run(timed)
            dt = time.perf_counter() - t0
        return dt * total / timed
    return measure


@contextmanager
def _null():
    yield


def jax_train(trainer, total):
    """Fresh compile every repetition, then the full run: two rows."""
    def measure():
        compile_s = trainer.compile()
        trainer.reset()
        t0 = time.perf_counter()
        trainer.run(total)
        run_s = time.perf_counter() - t0
        return {JAX: run_s, JAX_C: compile_s + run_s}
    return measure


def timed_predict(predictor, threads=None):
    def measure():
        with torch_threads(threads) if threads else _null():
            t0 = time.perf_counter()
            predictor.run()
            return time.perf_counter() - t0
    return measure


def jax_predict(predictor):
    def measure():
        compile_s = predictor.compile()
        t0 = time.perf_counter()
        predictor.run()
        run_s = time.perf_counter() - t0
        return {JAX: run_s, JAX_C: compile_s + run_s}
    return measure


# Pause before every timed repetition.  After a call, OpenBLAS's worker
# threads spin-wait for about 2^28 cycles (0.1 s here) and OpenMP / XLA pools
# for a while too; on 2 cores they take a core from whatever runs next.
# Measured on W4 (7 interleaved repetitions): mlnn's 2-thread predict took
# 15.0 ms right after the other implementations and 12.4 ms after a 0.3 s
# pause.
SETTLE_S = 0.3

# The plots' timed runs are at least this many passes, so that what a call
# costs once (mlnn's notebook API records the loss after pass 0, a forward
# pass over every row) is spread over several passes also at the widest
# points, where min_time alone would stop at 2-3 passes.
SWEEP_MIN_PASSES = 8


def interleave(measures, reps, warm_up=False):
    """measures: {label: measure()}; measure returns seconds or {label: seconds}.

    Repetition r of every implementation runs before repetition r+1 of any,
    in the listed order on even repetitions and reversed on odd ones, so that
    no implementation always runs in the same place (right after the same
    other one).  Each timed call starts after a pause of SETTLE_S, so that no other
    implementation's idle threads are still spinning; with warm_up (for calls
    of milliseconds, W4), an untimed call right before it also wakes the
    implementation's own threads and warms its caches, as in repeated use.
    """
    times = {}
    for r in range(reps):
        order = list(measures.items())
        for label, measure in (order[::-1] if r % 2 else order):
            time.sleep(SETTLE_S)
            if warm_up:
                measure()
            out = measure()
            if not isinstance(out, dict):
                out = {label: out}
            for k, v in out.items():
                times.setdefault(k, []).append(v)
        log(f"    rep {r + 1}/{reps}: " + ", ".join(
            f"{k} {v[-1]:.3g}s" for k, v in times.items()))
    return times


# -- the roofline -------------------------------------------------------------------

def gemm_gflops(dtype, threads, n=1024, reps=3):
    rng = np.random.default_rng(0)
    a = rng.random((n, n)).astype(dtype)
    b = rng.random((n, n)).astype(dtype)
    best = np.inf
    with threadpool_limits(limits=threads, user_api="blas"):
        a @ b  # warm up
        for _ in range(reps):
            t0 = time.perf_counter()
            a @ b
            best = min(best, time.perf_counter() - t0)
    return 2.0 * n ** 3 / best / 1e9


def roofline(all_threads):
    out = {}
    for name, dt in (("dgemm", np.float64), ("sgemm", np.float32)):
        for t in sorted({1, all_threads}):
            out[f"{name}_{t}t"] = gemm_gflops(dt, t)
    return out


# -- one training workload -----------------------------------------------------------

class Bench:
    def __init__(self, args):
        self.args = args
        self.cfg = QUICK if args.quick else FULL
        self.all_threads = args.threads or _threads.cpu_count()
        self.rows = []          # one per (workload, implementation)
        self.checks = {}        # accuracy, threads, W5, agreement
        self.extra = {}
        self.w1_weights = None

    def row(self, workload, label, times, flops=None, timed=None, total=None,
            threads=None, note=None, ref=MLNN):
        med = statistics.median(times)
        r = dict(workload=workload, implementation=label, times_s=times, median_s=med,
                 min_s=min(times), max_s=max(times), ref=ref)
        if flops:
            r["gflops"] = flops / med / 1e9
        if timed and total and timed != total:
            r["scaled"] = f"timed {timed} of {total} passes, scaled"
        if threads is not None:
            r["threads"] = threads
        if note:
            r["note"] = note
        self.rows.append(r)
        return r

    def finish_ratios(self):
        med = {(r["workload"], r["implementation"]): r["median_s"] for r in self.rows}
        for r in self.rows:
            key = (r["workload"], r["ref"])
            if key in med:
                r["ratio_vs_mlnn"] = r["median_s"] / med[key]

    def train_workload(self, name, sizes, X, y, reg, eps, cfg, dtype_note=""):
        """Time every implementation on one training workload (interleaved)."""
        init = init_weights(sizes, X.dtype)
        total, pp = cfg["passes"], cfg["peer_passes"]
        mlnn_1 = peers.MlnnTrainer(sizes, X, y, init, reg, eps, n_threads=1)
        mlnn = peers.MlnnTrainer(sizes, X, y, init, reg, eps, n_threads=self.args.threads)
        auto = mlnn.threads_used
        timed = {NUMPY: pp["numpy"], SKLEARN: pp["sklearn"], TORCH: pp["torch"],
                 MLNN_1: pp.get("mlnn_1", total)}
        timed = {k: min(v, total) for k, v in timed.items()}
        measures = {MLNN_1: timed_train(mlnn_1, timed[MLNN_1], total),
                    MLNN: timed_train(mlnn, total, total)}
        peer = {NUMPY: peers.MlnnTrainer(sizes, X, y, init, reg, eps, backend="numpy"),
                SKLEARN: peers.SklearnTrainer(sizes, X, y, init, reg, eps)}
        measures[NUMPY] = timed_train(peer[NUMPY], timed[NUMPY], total)
        measures[SKLEARN] = timed_train(peer[SKLEARN], timed[SKLEARN], total)
        if peers.TORCH:
            peer[TORCH] = peers.TorchTrainer(sizes, X, y, init, reg, eps)
            # torch gets mlnn's automatic thread count: on tiny tensors its
            # thread pool only adds barrier waits (100x slower on a busy machine)
            measures[TORCH] = timed_train(peer[TORCH], timed[TORCH], total,
                                          threads=auto)
        if peers.JAX:
            peer[JAX] = peers.JaxTrainer(sizes, X, y, init, reg, eps)
            measures[JAX] = jax_train(peer[JAX], total)
        log(f"  {name}{dtype_note}: {sizes}, N={X.shape[0]}, {total} passes; "
            f"mlnn auto uses {auto} thread(s)")
        times = interleave(measures, cfg["reps"])
        flops = train_flops(sizes, X.shape[0]) * total
        for label, ts in times.items():
            threads = {MLNN_1: 1, MLNN: auto, TORCH: auto}.get(label)
            note = None
            if label == SKLEARN and sizes[-1] == 2:
                note = "binary: one logistic output unit"
            if label == JAX_C:
                note = "fresh jit compile every repetition"
            self.row(name, label, ts, flops, timed.get(label, total), total,
                     threads=threads, note=note)
        # same maths: JAX ran the full count from the same init as mlnn
        if peers.JAX:
            self.checks.setdefault("jax_vs_mlnn_rel_err", {})[name] = rel_err(
                peer[JAX].weights(), mlnn.weights())
        return mlnn

    # -- workloads -------------------------------------------------------------------

    def w1(self):
        cfg = self.cfg["W1"]
        X, y = moons(300)
        sizes = [2, 4, 4, 2]
        mlnn = self.train_workload("W1", sizes, X, y, REG, EPS, cfg)
        self.w1_weights = mlnn.weights()
        # float32 rows: the same workload in single precision (no target)
        self.train_workload("W1 float32", sizes, X.astype(np.float32), y, REG, EPS, cfg)
        # accuracy: the full run once on each backend, from the same init
        n = cfg["acc_passes"]
        init = init_weights(sizes)
        res, secs = {}, {}
        for backend in ("cython", "numpy"):
            t = peers.MlnnTrainer(sizes, X, y, init, REG, EPS, backend=backend)
            t.reset()
            t0 = time.perf_counter()
            t.run(n)
            secs[backend] = time.perf_counter() - t0
            res[backend] = t.weights()
        err = rel_err(res["cython"], res["numpy"])
        self.checks["accuracy"] = dict(
            passes=n, rel_err=err, target=1e-9, met=err <= 1e-9,
            seconds_once=secs,
            definition="max |W_cython - W_numpy| / max |W_numpy| over all parameters")
        log(f"  W1 accuracy after {n} passes: rel err {err:.2e} "
            f"(numpy backend ran once in full: {secs['numpy']:.1f}s)")

    def w2(self):
        X, y = moons(10000)
        self.train_workload("W2", [2, 64, 64, 2], X, y, REG, 1e-5, self.cfg["W2"])
        self.train_workload("W2 float32", [2, 64, 64, 2], X.astype(np.float32), y, REG,
                            1e-5, self.cfg["W2"])

    def w3(self):
        X, y = synthetic_images()
        for dt, tag in ((np.float64, "W3 float64"), (np.float32, "W3 float32")):
            mlnn = self.train_workload(tag, [784, 128, 128, 10], X.astype(dt), y, REG, 1e-6,
                                       self.cfg["W3"])
            # W3's roofline target compares with gemm at mlnn's own thread count;
            # the run's roofline has 1 and all threads, measure any other count now
            roof = self.extra.setdefault("roofline", {})
            key = f"{'d' if dt == np.float64 else 's'}gemm_{mlnn.threads_used}t"
            if key not in roof:
                roof[key] = gemm_gflops(dt, mlnn.threads_used)
                log(f"    roofline {key}: {roof[key]:.1f} GFLOP/s")

    def w4(self):
        cfg = self.cfg["W4"]
        Xm, ym = moons(300)
        sizes = [2, 4, 4, 2]
        weights = self.w1_weights
        if weights is None:
            t = peers.MlnnTrainer(sizes, Xm, ym, init_weights(sizes), REG, EPS)
            t.reset()
            t.run(2000)
            weights = t.weights()
        G = grid(Xm)
        log(f"  W4: predict on a {G.shape[0]}-point grid")
        m1 = peers.MlnnPredictor(sizes, weights, G, n_threads=1)
        m = peers.MlnnPredictor(sizes, weights, G, n_threads=self.args.threads)
        auto = m.threads_used
        preds = {NUMPY: peers.MlnnPredictor(sizes, weights, G, backend="numpy"),
                 SKLEARN: peers.SklearnPredictor(sizes, weights, G, Xm, ym)}
        measures = {MLNN_1: timed_predict(m1), MLNN: timed_predict(m),
                    NUMPY: timed_predict(preds[NUMPY]),
                    SKLEARN: timed_predict(preds[SKLEARN])}
        if peers.TORCH:
            preds[TORCH] = peers.TorchPredictor(sizes, weights, G)
            measures[TORCH] = timed_predict(preds[TORCH], threads=auto)
        if peers.JAX:
            preds[JAX] = peers.JaxPredictor(sizes, weights, G)
            measures[JAX] = jax_predict(preds[JAX])
        times = interleave(measures, cfg["reps"], warm_up=True)
        flops = 2.0 * G.shape[0] * macs(sizes)
        for label, ts in times.items():
            self.row("W4", label, ts, flops,
                     threads={MLNN_1: 1, MLNN: auto, TORCH: auto}.get(label))
        labels = m.run()
        self.checks["W4_agreement"] = {
            label: float(np.mean(p.run() == labels)) for label, p in preds.items()}
        self.extra["W4_points"] = int(G.shape[0])

    def w5(self):
        cfg = self.cfg["W5"]
        X, y = moons(300)
        sizes = [2, 4, 4, 2]
        trainers = [peers.MlnnTrainer(sizes, X, y, init_weights(sizes, seed=k), REG, EPS)
                    for k in range(cfg["models"])]
        n = cfg["passes"]
        log(f"  W5: {cfg['models']} trainings of {n} passes, serial vs 2 Python threads")
        results = {}

        def serial():
            for t in trainers:
                t.reset()
            t0 = time.perf_counter()
            for t in trainers:
                t.run(n)
            dt = time.perf_counter() - t0
            results["serial"] = [t.weights() for t in trainers]
            return dt

        def threaded():
            for t in trainers:
                t.reset()
            t0 = time.perf_counter()
            with ThreadPoolExecutor(max_workers=2) as pool:
                list(pool.map(lambda t: t.run(n), trainers))
            dt = time.perf_counter() - t0
            results["threaded"] = [t.weights() for t in trainers]
            return dt

        labels = ("mlnn, serial (1 Python thread)", "mlnn, 2 Python threads")
        times = interleave({labels[0]: serial, labels[1]: threaded}, cfg["reps"])
        for label, ts in times.items():
            self.row("W5", label, ts, train_flops(sizes, 300) * n * cfg["models"],
                     ref=labels[0], threads=1)
        same = all(rel_err(a, b) == 0.0 for a, b in zip(results["serial"],
                                                          results["threaded"]))
        self.checks["W5_threaded_equals_serial"] = same

    def same_maths(self):
        """Every trainer from one init on a 3-class problem (softmax everywhere)."""
        X, y = sklearn.datasets.make_blobs(300, centers=3, random_state=0)
        X, y = np.ascontiguousarray(X), y.astype(np.int64)
        sizes = [2, 4, 4, 3]
        init = init_weights(sizes)
        n = self.cfg["check_passes"]
        classes = {NUMPY: lambda *a: peers.MlnnTrainer(*a, backend="numpy"),
                   SKLEARN: peers.SklearnTrainer}
        if peers.TORCH:
            classes[TORCH] = peers.TorchTrainer
        if peers.JAX:
            classes[JAX] = peers.JaxTrainer
        ref = peers.MlnnTrainer(sizes, X, y, init, REG, EPS)
        ref.reset()
        ref.run(n)
        out = {}
        for label, cls in classes.items():
            t = cls(sizes, X, y, init, REG, EPS)
            t.reset()
            with torch_threads(1):
                t.run(n)
            out[label] = rel_err(t.weights(), ref.weights())
        self.checks["same_maths_rel_err"] = dict(
            problem=f"{sizes} on make_blobs(300, centers=3), {n} passes from one init",
            **out)
        log(f"  same maths ({n} passes, 3 classes): " +
            ", ".join(f"{k} {v:.1e}" for k, v in out.items()))

    # -- workload E: time per epoch through the estimators ------------------------------

    def epoch_problem(self, name):
        """(title, X, y, kind, head, sklearn/mlnn params, layer sizes) of E1-E4."""
        cfg = self.cfg["E"]
        k = cfg["epochs"]
        # tol=0 with n_iter_no_change > max_iter: every fit runs max_iter epochs
        stochastic = dict(batch_size=200, max_iter=k, tol=0.0, n_iter_no_change=k + 1,
                          shuffle=True, random_state=0)
        if name == "E1":
            X, y = digits()
            return ("digits, (100,) relu, Adam, batch 200", X, y, "classifier", "softmax",
                    dict(hidden_layer_sizes=(100,), activation="relu", solver="adam",
                         alpha=1e-4, learning_rate_init=1e-3, **stochastic), [64, 100, 10])
        if name == "E2":
            X, y = moons(5000, noise=0.2)
            return ("make_moons(5000), (64, 64) tanh, SGD Nesterov 0.9, batch 200",
                    X, y, "classifier", "logistic",
                    dict(hidden_layer_sizes=(64, 64), activation="tanh", solver="sgd",
                         learning_rate="constant", learning_rate_init=0.01, momentum=0.9,
                         nesterovs_momentum=True, alpha=1e-4, **stochastic),
                    [2, 64, 64, 1])
        if name == "E3":
            X, y = regression()
            return ("make_regression(5000, 20), y/std, (100,) relu, Adam, batch 200",
                    X, y, "regressor", "identity",
                    dict(hidden_layer_sizes=(100,), activation="relu", solver="adam",
                         alpha=1e-4, learning_rate_init=1e-3, **stochastic), [20, 100, 1])
        X, y = digits()
        # tol=0: both run all max_iter L-BFGS iterations (the same work), not
        # whichever reaches tol first
        return (f"digits, (100,) relu, L-BFGS, max_iter {cfg['lbfgs_iter']}, whole fit",
                X, y, "classifier", "softmax",
                dict(hidden_layer_sizes=(100,), activation="relu", solver="lbfgs",
                     alpha=1e-4, max_iter=cfg["lbfgs_iter"], tol=0.0, random_state=0),
                [64, 100, 10])

    def epochs(self, name):
        """E1-E4: fit() through the estimators, 1 thread and automatic threads.

        A repetition builds a fresh estimator (the same random_state every time)
        and times ``fit``; E1-E3 report fit time / n_iter_ (time per epoch),
        E4 the whole L-BFGS fit.  1 thread: mlnn ``n_threads=1``, scikit-learn
        under ``threadpool_limits(1, 'blas')``, torch ``set_num_threads(1)``;
        auto: mlnn ``n_threads=None`` (or --threads), scikit-learn's BLAS
        default, torch's own default thread count.
        """
        cfg = self.cfg["E"]
        title, X, y, kind, head, params, sizes = self.epoch_problem(name)
        lbfgs = params["solver"] == "lbfgs"
        sk_name = SK_NAME[kind]
        sk_1, sk_auto = f"{sk_name}, 1 thread", f"{sk_name}, auto threads"
        mlnn_cls = peers.MLNNClassifier if kind == "classifier" else peers.MLNNRegressor
        sk_cls = MLPClassifier if kind == "classifier" else MLPRegressor
        mlnn_threads = self.args.threads     # None: mlnn's automatic choice

        def make_mlnn(n_threads):
            return lambda **kw: mlnn_cls(**{**params, **kw}, n_threads=n_threads)

        def make_sklearn(**kw):
            return sk_cls(**{**params, **kw})

        def make_torch(**kw):
            p = {k: v for k, v in {**params, **kw}.items()
                 if k not in ("tol", "n_iter_no_change", "learning_rate")}
            return peers.TorchMLP(head=head, **p)

        # label: (estimator factory, context that sets the threads, ratio reference)
        impls = {}
        skipped = {}
        if mlnn_cls is None:
            skipped[MLNN] = skipped[MLNN_1] = (
                f"mlnn.{'MLNNClassifier' if kind == 'classifier' else 'MLNNRegressor'} "
                "cannot be imported")
        else:
            impls[MLNN_1] = (make_mlnn(1), _null, MLNN)
            impls[MLNN] = (make_mlnn(mlnn_threads), _null, MLNN)
        impls[sk_1] = (make_sklearn, lambda: threadpool_limits(limits=1, user_api="blas"),
                       MLNN_1)
        impls[sk_auto] = (make_sklearn, _null, MLNN)
        if peers.TORCH and not lbfgs:
            impls[TORCH_1] = (make_torch, lambda: torch_threads(1), MLNN_1)
            impls[TORCH_AUTO] = (make_torch, lambda: torch_threads(peers.TORCH_DEFAULT_THREADS),
                                 MLNN)

        def fit(make, ctx, **kw):
            est = make(**kw)
            with ctx(), warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                t0 = time.perf_counter()
                est.fit(X, y)
                dt = time.perf_counter() - t0
            return est, dt

        # untimed warm-up fit of each (2 epochs / iterations): first-call costs
        # (imports, thread pools) stay out of the timings, and an implementation
        # that cannot run this problem is skipped (and said so) instead of
        # stopping the whole bench
        warm = dict(max_iter=2) if lbfgs else dict(max_iter=2, n_iter_no_change=3)
        threads = {}
        for label, (make, ctx, _) in list(impls.items()):
            try:
                est, _ = fit(make, ctx, **warm)
            except Exception as e:  # noqa: BLE001 - reported in the results
                skipped[label] = f"{type(e).__name__}: {e}"
                del impls[label]
                log(f"    {label}: skipped ({skipped[label]})")
                continue
            if label == MLNN:
                threads[label] = _mlnn_threads(est, min(200, X.shape[0]) if not lbfgs
                                               else X.shape[0])
        threads[MLNN_1] = threads[sk_1] = threads[TORCH_1] = 1
        threads[TORCH_AUTO] = peers.TORCH_DEFAULT_THREADS
        threads[sk_auto] = _blas_threads()

        n_iter, final_loss = {}, {}

        def measure_of(label, make, ctx):
            def measure():
                est, dt = fit(make, ctx)
                n_iter.setdefault(label, []).append(int(est.n_iter_))
                final_loss[label] = _final_loss(est)
                return dt if lbfgs else dt / est.n_iter_
            return measure

        measures = {label: measure_of(label, make, ctx)
                    for label, (make, ctx, _) in impls.items()}
        reps = cfg["lbfgs_reps"] if lbfgs else cfg["reps"]
        what = (f"whole fit, max_iter={params['max_iter']}" if lbfgs
                else f"{params['max_iter']} epochs per fit, time per epoch")
        log(f"  {name}: {title}, N={X.shape[0]}; {what}; mlnn auto uses "
            f"{threads.get(MLNN, '?')} thread(s), torch auto "
            f"{peers.TORCH_DEFAULT_THREADS}, BLAS auto {threads[sk_auto]}")
        times = interleave(measures, reps)
        unit = (f"whole fit() with L-BFGS, max_iter={params['max_iter']}, tol=0" if lbfgs
                else f"time per epoch: fit(max_iter={params['max_iter']}, tol=0) / n_iter_")
        for label, ts in times.items():
            note = unit
            if label == sk_1:
                note += "; BLAS held to 1 thread by threadpoolctl"
            if label.startswith(SK_NAME["classifier"]) and head == "logistic":
                note += "; binary: one logistic output unit"
            if label in (TORCH_1, TORCH_AUTO):
                note += (f"; eager loop, the same steps (peers.TorchMLP, "
                         f"{'Adam' if params['solver'] == 'adam' else 'SGD nesterov'})")
            flops = None if lbfgs else train_flops(sizes, X.shape[0])
            self.row(name, label, ts, flops, threads=threads.get(label), note=note,
                     ref=impls[label][2])
        self.checks.setdefault("E", {})[name] = dict(
            problem=title, n_samples=int(X.shape[0]), params=_jsonable(params),
            n_iter=n_iter, final_training_loss=final_loss, skipped=skipped,
            auto_over_1_thread_paired=_paired(times.get(MLNN), times.get(MLNN_1)),
            same_steps=self.same_steps(impls, fit, sk_1, params["solver"]))

    def same_steps(self, impls, fit, sk_1, solver):
        """Untimed: 2 epochs (iterations) of each 1-thread row from its random_state;
        the final weights relative to scikit-learn's (rel_err).  Adam's epsilon is
        1e-30 here, so that where each library adds it (torch: to sqrt(v_hat),
        scikit-learn: to sqrt(v)) does not matter.  torch starts from
        scikit-learn's initial weights and batches (peers.TorchMLP), so it must
        agree to rounding; mlnn agrees only if it draws the same initial weights
        and shuffles as scikit-learn does (None: the shapes differ)."""
        kw = dict(max_iter=2) if solver == "lbfgs" else dict(max_iter=2, n_iter_no_change=3)
        if solver == "adam":
            kw["epsilon"] = 1e-30
        sk, _ = fit(*impls[sk_1][:2], **kw)
        ref = list(zip(sk.coefs_, sk.intercepts_))
        out = {}
        for label in (TORCH_1, MLNN_1):
            if label not in impls:
                continue
            try:
                est, _ = fit(*impls[label][:2], **kw)
                ws = list(zip(est.coefs_, est.intercepts_))
            except Exception as e:  # noqa: BLE001 - reported in the results
                out[label] = f"{type(e).__name__}: {e}"
                continue
            same_shapes = len(ws) == len(ref) and all(
                np.shape(a) == np.shape(c) and np.shape(b) == np.shape(d)
                for (a, b), (c, d) in zip(ws, ref))
            out[label] = rel_err(ws, ref) if same_shapes else None
        return dict(epochs=2, rel_err_vs_sklearn=out)

    # -- plots ------------------------------------------------------------------------

    def per_pass(self, trainer, min_time, threads=None):
        """Seconds per pass: grow the pass count (from SWEEP_MIN_PASSES) until a
        run takes min_time; best of 2.  Every timed run starts after SETTLE_S,
        as in interleave()."""
        k, best = SWEEP_MIN_PASSES, np.inf
        with torch_threads(threads) if threads else _null():
            while True:
                trainer.reset()
                time.sleep(SETTLE_S)
                t0 = time.perf_counter()
                trainer.run(k)
                dt = time.perf_counter() - t0
                if dt >= min_time or k >= 1 << 20:
                    break
                k = max(2 * k, int(k * 1.2 * min_time / max(dt, 1e-9)))
            best = dt / k
            trainer.reset()
            time.sleep(SETTLE_S)
            t0 = time.perf_counter()
            trainer.run(k)
            best = min(best, (time.perf_counter() - t0) / k)
        return best

    def sweep(self, points, make, min_time):
        """points: list of (x, sizes, X, y) -> {label: [seconds per pass]}."""
        out = {}
        for x, sizes, X, y in points:
            init = init_weights(sizes)
            mlnn = peers.MlnnTrainer(sizes, X, y, init, REG, 1e-6,
                                     n_threads=self.args.threads)
            auto = mlnn.threads_used
            impls = {MLNN_1: peers.MlnnTrainer(sizes, X, y, init, REG, 1e-6, n_threads=1),
                     MLNN: mlnn,
                     NUMPY: peers.MlnnTrainer(sizes, X, y, init, REG, 1e-6, backend="numpy"),
                     SKLEARN: peers.SklearnTrainer(sizes, X, y, init, REG, 1e-6)}
            if peers.TORCH:
                impls[TORCH] = peers.TorchTrainer(sizes, X, y, init, REG, 1e-6)
            if peers.JAX:
                impls[JAX] = peers.JaxTrainer(sizes, X, y, init, REG, 1e-6)
            for label, t in impls.items():
                s = self.per_pass(t, min_time, threads=auto if label == TORCH else None)
                out.setdefault(label, []).append(s)
            log(f"    {make}={x}: " + ", ".join(
                f"{k} {v[-1] * 1e6:.0f}us" for k, v in out.items()))
        return out

    def plots(self):
        cfg = self.cfg["plots"]
        sizes = [2, 4, 4, 2]
        log(f"  plots: time per pass vs N ({sizes})")
        pts = [(n, sizes) + moons(n) for n in cfg["ns"]]
        by_n = self.sweep(pts, "N", cfg["min_time"])
        log(f"  plots: time per pass vs width (N={cfg['width_n']})")
        X, y = moons(cfg["width_n"])
        pts = [(w, [2, w, w, 2], X, y) for w in cfg["widths"]]
        by_w = self.sweep(pts, "width", cfg["min_time"])
        self.extra["time_vs_n"] = dict(sizes=sizes, n=cfg["ns"], seconds_per_pass=by_n)
        self.extra["time_vs_width"] = dict(n=cfg["width_n"], width=cfg["widths"],
                                           seconds_per_pass=by_w)
        self.draw("time_vs_n.png", cfg["ns"], by_n, [train_flops(sizes, n) for n in cfg["ns"]],
                  "N (samples), network [2,4,4,2]", "time per pass against N")
        self.draw("time_vs_width.png", cfg["widths"], by_w,
                  [train_flops([2, w, w, 2], cfg["width_n"]) for w in cfg["widths"]],
                  f"hidden width w, network [2,w,w,2], N={cfg['width_n']}",
                  "time per pass against width")

    def draw(self, fname, xs, series, flops, xlabel, title):
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, (ax, ax2) = plt.subplots(1, 2, figsize=(12, 5.4))
        styles = {MLNN: ("C0", "-", "o"), MLNN_1: ("C0", "--", "s"),
                  NUMPY: ("C1", "-", "^"), SKLEARN: ("C2", "-", "v"),
                  TORCH: ("C3", "-", "D"), JAX: ("C4", "-", "x")}
        for label, secs in series.items():
            c, ls, m = styles[label]
            ax.loglog(xs, np.array(secs) * 1e6, color=c, ls=ls, marker=m, label=label)
            ax2.semilogx(xs, np.array(flops) / np.array(secs) / 1e9, color=c, ls=ls,
                         marker=m, label=label)
        roof = self.extra.get("roofline", {})
        for key, ls in ((f"dgemm_{self.all_threads}t", ":"), ("dgemm_1t", "-.")):
            if key in roof:
                ax2.axhline(roof[key], color="k", ls=ls, lw=1,
                            label=f"roofline: numpy dgemm {key.split('_')[1]} "
                                  f"({roof[key]:.0f} GFLOP/s)")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("time per pass (µs, log)")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
        ax2.set_xlabel(xlabel)
        ax2.set_ylabel("achieved GFLOP/s (the flops a pass needs)")
        ax2.set_yscale("log")
        ax2.set_title("achieved GFLOP/s vs the dgemm roofline")
        ax2.grid(True, which="both", alpha=0.3)
        # one legend under both panels, so that no line is hidden behind it
        fig.legend(*ax2.get_legend_handles_labels(), loc="lower center", ncol=4,
                   fontsize=8, frameon=False)
        kind = "--quick" if self.args.quick else "full run"
        fig.suptitle(f"mlnn bench ({kind}, {platform.node()}, "
                     f"load avg at start {self.extra['loadavg_start'][0]:.1f})", fontsize=9)
        fig.tight_layout(rect=(0, 0.12, 1, 1))
        os.makedirs(RESULTS, exist_ok=True)
        fig.savefig(os.path.join(RESULTS, fname), dpi=100)
        plt.close(fig)

    # -- targets ----------------------------------------------------------------------

    def targets(self):
        """Issue #14's targets (and E4's L-BFGS ones from an earlier issue).

        Each: the median ratio, its range from the extremes of the two rows'
        repetitions (slowest/fastest combinations), and whether the median
        meets it.  ``implementation`` is the row the target is shown on.
        """
        med = {(r["workload"], r["implementation"]): r for r in self.rows}
        roof = self.extra.get("roofline", {})
        level = _cpu_levels().get("selected") or "unknown"
        out = []

        def ratio(w, slow, fast=MLNN):
            if (w, slow) in med and (w, fast) in med:
                return med[(w, slow)]["median_s"] / med[(w, fast)]["median_s"], \
                    med[(w, slow)], med[(w, fast)]
            return None, None, None

        def add(w, row_label, what, r, op, thr, slow=None, fast=None, **extra):
            if r is None:
                return
            lo = hi = None
            if slow is not None:
                # the spread of the ratio from the extremes of the two rows
                lo, hi = slow["min_s"] / fast["max_s"], slow["max_s"] / fast["min_s"]
            met = r >= thr if op == ">=" else r <= thr
            t = dict(workload=w, implementation=row_label, target=what, ratio=r,
                     ratio_min=lo, ratio_max=hi, met=bool(met), threshold=thr, op=op,
                     **extra)
            out.append(t)

        def fastest_peer(w, peers_):
            """The peer row with the smallest median in workload w (None if none ran)."""
            rows = [med[(w, p)] for p in peers_ if (w, p) in med]
            return min(rows, key=lambda r: r["median_s"]) if rows else None

        def thread_target(w):
            # auto threads at most 5% slower than 1 thread: auto / 1-thread <= 1.05
            r, s, f = ratio(w, MLNN, MLNN_1)
            add(w, MLNN, "auto threads ≤1.05× the 1-thread time", r, "<=", 1.05, s, f)
            return r

        # W1, W2: against the NumPy reference and JAX jit (compile excluded)
        for w, thr_np, thr_jax in (("W1", 30, 5), ("W2", 5, 2)):
            for slow, thr in ((NUMPY, thr_np), (JAX, thr_jax)):
                r, s, f = ratio(w, slow)
                add(w, slow, f"mlnn ≥{thr}× faster", r, ">=", thr, s, f)
        # W3: at least as fast as the fastest peer, and >=80% of the gemm roofline
        # at mlnn's own (auto) thread count, same dtype
        for w, gemm in (("W3 float64", "dgemm"), ("W3 float32", "sgemm")):
            p = fastest_peer(w, (SKLEARN, TORCH, JAX, NUMPY))
            if p is not None:
                r, s, f = ratio(w, p["implementation"])
                add(w, p["implementation"],
                    "mlnn at least as fast as the fastest peer", r, ">=", 1.0, s, f,
                    fastest_peer=p["implementation"])
            m = med.get((w, MLNN))
            if m is not None and "gflops" in m:
                t = m.get("threads")
                key = f"{gemm}_{t}t"
                if key in roof:
                    g = roof[key]
                    flops = m["gflops"] * m["median_s"]           # GFLOP of the workload
                    add(w, MLNN, f"≥80% of the {gemm} roofline at {t} thread(s) "
                        f"(mlnn {m['gflops']:.1f} / {gemm} {g:.1f} GFLOP/s)",
                        m["gflops"] / g, ">=", 0.8, roofline_key=key, roofline_gflops=g)
                    out[-1]["ratio_min"] = flops / m["max_s"] / g
                    out[-1]["ratio_max"] = flops / m["min_s"] / g
        # W4: >=3x the fastest peer
        p = fastest_peer("W4", (NUMPY, SKLEARN, TORCH, JAX))
        if p is not None:
            r, s, f = ratio("W4", p["implementation"])
            add("W4", p["implementation"], "mlnn ≥3× faster than the fastest peer", r, ">=",
                3, s, f, fastest_peer=p["implementation"])
        # W5: is the GIL released?
        serial, par = "mlnn, serial (1 Python thread)", "mlnn, 2 Python threads"
        r, s, f = ratio("W5", par, serial)
        add("W5", par, "2 Python threads ≤0.6× serial wall time", r, "<=", 0.6, s, f)
        # threads: auto never more than 5% slower than 1 thread
        for w in ("W1", "W2", "W3 float64", "W3 float32", "W4"):
            thread_target(w)
        # extra, not in issue 14 (an earlier target): W2 gains from threads
        r, s, f = ratio("W2", MLNN_1)
        add("W2", MLNN_1, "auto threads ≥1.6× faster than 1 thread (extra, not in issue 14)",
            r, ">=", 1.6, s, f)
        # E: the estimators against scikit-learn and PyTorch, at this run's CPU level
        for w in E_PARTS:
            lbfgs = w == "E4"
            for peer in (*SK_NAME.values(), "PyTorch eager"):
                for th, fast in (("auto threads", MLNN), ("1 thread", MLNN_1)):
                    slow = f"{peer}, {th}"
                    if lbfgs:
                        # mlnn's whole fit at most half the peer's: mlnn / peer <= 0.5
                        r, s, f = ratio(w, fast, slow)
                        add(w, slow, f"mlnn ≤0.5× the time ({th} each) at the {level} level",
                            r, "<=", 0.5, s, f, cpu_level=level)
                    else:
                        r, s, f = ratio(w, slow, fast)
                        add(w, slow, f"mlnn ≥3× faster ({th} each) at the {level} level",
                            r, ">=", 3, s, f, cpu_level=level)
            if thread_target(w) is not None:
                out[-1]["paired"] = self.checks["E"][w]["auto_over_1_thread_paired"]
        acc = self.checks.get("accuracy")
        if acc:
            out.append(dict(workload="W1", implementation=NUMPY,
                            target="final weights match to ≤1e-9 relative",
                            ratio=acc["rel_err"], met=acc["met"]))
        return out

    # -- output ---------------------------------------------------------------------

    def machine(self):
        cpu = platform.processor()
        try:
            with open("/proc/cpuinfo") as f:
                cpu = next(line.split(":", 1)[1].strip() for line in f
                           if line.startswith("model name"))
        except (OSError, StopIteration):
            pass
        try:
            root = os.path.dirname(HERE)
            commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root,
                                    capture_output=True, text=True).stdout.strip()
            dirty = bool(subprocess.run(["git", "status", "--porcelain", "--", "mlnn", "csrc"],
                                        cwd=root, capture_output=True, text=True).stdout)
        except OSError:
            commit, dirty = None, None
        try:
            from mlnn import _kernels
            path = _kernels.cpu_path()
        except Exception:  # noqa: BLE001 - informational only
            path = None
        levels = _cpu_levels()
        from threadpoolctl import threadpool_info
        blas = [dict(library=i.get("internal_api"), version=i.get("version"),
                     kernel=i.get("architecture"), file=os.path.basename(i.get("filepath", "")))
                for i in threadpool_info() if i.get("user_api") == "blas"]
        return dict(host=platform.node(), cpu=cpu, cpus=_threads.cpu_count(),
                    all_threads=self.all_threads, python=platform.python_version(),
                    versions=peers.versions(), mlnn_cpu_path=path, blas=blas,
                    # the level mlnn's kernels run at, and the cap asked for
                    # (MLNN_CPU_LEVEL, set by --cpu-level or found in the environment)
                    mlnn_cpu_levels=levels, mlnn_cpu_level=levels.get("selected"),
                    mlnn_cpu_level_requested=os.environ.get("MLNN_CPU_LEVEL"),
                    mlnn_cpu_level_source=CPU_LEVEL_SOURCE,
                    removed_env=REMOVED_ENV,
                    git_commit=commit, mlnn_dirty=dirty,
                    # thread settings change multi-threaded timings a lot on a busy machine
                    env={k: os.environ.get(k) for k in (
                        "OMP_NUM_THREADS", "OMP_WAIT_POLICY", "GOMP_SPINCOUNT",
                        "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "XLA_FLAGS",
                        "MLNN_CPU_LEVEL")})

    def write(self, name, started, wall):
        self.finish_ratios()
        targets = self.targets()
        data = dict(name=name, quick=self.args.quick, date=started.isoformat(
            timespec="seconds"), wall_s=wall, workloads=self.args.workload,
            machine=self.machine(), rows=self.rows, targets=targets,
            checks=self.checks, **self.extra)
        os.makedirs(RESULTS, exist_ok=True)
        with open(os.path.join(RESULTS, f"{name}.json"), "w") as f:
            json.dump(data, f, indent=1, default=float)
        md = self.markdown(data)
        with open(os.path.join(RESULTS, f"{name}.md"), "w") as f:
            f.write(md)
        return md

    def markdown(self, d):
        tgt = {}     # (workload, row) -> the targets shown on that row
        for t in d["targets"]:
            if "ratio_min" in t:
                tgt.setdefault((t["workload"], t["implementation"]), []).append(t)
        m = d["machine"]
        lines = [
            f"Run `{d['name']}` ({'--quick' if d['quick'] else 'full'}), {d['date']}, "
            f"{m['host']}: {m['cpu']}, {m['cpus']} CPUs; mlnn {m['versions']['mlnn']} "
            f"(git {m['git_commit']}{', mlnn/ modified' if m['mlnn_dirty'] else ''}), "
            f"load average {d['loadavg_start'][0]:.1f} at start, "
            f"{d['loadavg_end'][0]:.1f} at end; whole run {d['wall_s']:.0f} s.",
            "",
            f"mlnn CPU level: **{m.get('mlnn_cpu_level')}** "
            f"({(m.get('mlnn_cpu_levels') or {}).get('isa', {}).get(m.get('mlnn_cpu_level'))}"
            f"; {_level_request(m)}). BLAS: " + "; ".join(
                f"{b['library']} {b['version']} ({b['kernel']} kernels, {b['file']})"
                for b in m.get("blas", [])) + ". Removed from this process's environment "
            "before NumPy loaded: " + (", ".join(f"{k}={v}" for k, v in
                                                 m.get("removed_env", {}).items()) or "nothing")
            + ".",
            "",
            "| workload | implementation | median | min–max | × mlnn | GFLOP/s | target | met? |",
            "|---|---|---:|---:|---:|---:|---|---|",
        ]
        notes = []
        for r in d["rows"]:
            label = r["implementation"]
            if r.get("threads") is not None and (label in (MLNN, TORCH) or
                                                 label.endswith(", auto threads")):
                label += f" ({r['threads']})"
            foot = []
            for key in ("scaled", "note"):
                if key in r:
                    if r[key] not in notes:
                        notes.append(r[key])
                    foot.append(str(notes.index(r[key]) + 1))
            if foot:
                label += " [" + ",".join(foot) + "]"
            ts = tgt.get((r["workload"], r["implementation"]), [])
            target = "; ".join(t["target"] for t in ts)
            met = "; ".join("yes" if t["met"] else "**no**" for t in ts)
            ratio = r.get("ratio_vs_mlnn")
            ratio = "" if ratio is None else f"{ratio:.2f}×"
            gflops = "" if "gflops" not in r else f"{r['gflops']:.2f}"
            lines.append(
                f"| {r['workload']} | {label} | {_fmt(r['median_s'])} | "
                f"{_fmt(r['min_s'])}–{_fmt(r['max_s'])} | "
                f"{ratio} | {gflops} | {target} | {met} |")
        lines.append("")
        for i, n in enumerate(notes, 1):
            lines.append(f"[{i}] {n}  ")
        lines.append("")
        lines.append("× mlnn: this row's median time over the median of `mlnn cython, auto "
                     "threads` in the same workload (W5: over the serial row; E: a peer's "
                     "1-thread row over mlnn's 1-thread row); above 1 means mlnn is faster. "
                     "(n) after a name: threads it used.")
        lines.append("")
        roof = d.get("roofline", {})
        if roof:
            lines.append("Roofline (numpy matmul 1024×1024, best of 3, this run): " +
                         ", ".join(f"{k.replace('_', ' ')} {v:.1f} GFLOP/s"
                                   for k, v in roof.items()) + ".")
            lines.append("")
        if d["targets"]:
            lines.append("Targets of issue 14 (E4's L-BFGS ones from an earlier issue). Ratio: "
                         "for \"≥k× faster\" the other row's median time over mlnn's; for the "
                         "≤ targets the first-named time over the second (W5: 2 Python threads "
                         "/ serial, E4: mlnn / scikit-learn, threads: auto / 1 thread); for "
                         "the roofline, mlnn's GFLOP/s over gemm's at the same thread count. "
                         "Fastest peer: the smallest median of scikit-learn, PyTorch, JAX jit "
                         "(compile excluded) and the NumPy reference. Range: from the extremes "
                         "of the two rows' repetitions.")
            lines.append("")
            lines.append("| target | ratio (median) | ratio range (min–max) | met? |")
            lines.append("|---|---:|---:|---|")
            for t in d["targets"]:
                rng = ("" if t.get("ratio_min") is None else
                       f"{t['ratio_min']:.2f}–{t['ratio_max']:.2f}")
                val = (f"{t['ratio']:.2e}" if "≤1e-9" in t["target"]
                       else f"{t['ratio']:.2f}")
                row = (f"fastest peer: {t['implementation']}" if t.get("fastest_peer")
                       else t["implementation"])
                lines.append(f"| {t['workload']}: {t['target']} ({row}) | "
                             f"{val} | {rng} | {'yes' if t['met'] else '**no**'} |")
            lines.append("")
        c = d["checks"]
        if "accuracy" in c:
            a = c["accuracy"]
            lines.append(f"Accuracy: after {a['passes']} W1 passes, cython vs numpy "
                         f"weights differ by {a['rel_err']:.2e} relative (target ≤1e-9); "
                         f"the numpy backend ran that once in {a['seconds_once']['numpy']:.1f} s.")
        if "same_maths_rel_err" in c:
            s = dict(c["same_maths_rel_err"])
            prob = s.pop("problem")
            lines.append(f"Same maths ({prob}): max relative weight difference vs mlnn: " +
                         ", ".join(f"{k} {v:.1e}" for k, v in s.items()) + ".")
        if "jax_vs_mlnn_rel_err" in c:
            lines.append("JAX final weights vs mlnn after each full workload: " + ", ".join(
                f"{k} {v:.1e}" for k, v in c["jax_vs_mlnn_rel_err"].items()) + ".")
        if "W4_agreement" in c:
            lines.append(f"W4 ({d.get('W4_points')} points): fraction of labels equal to "
                         "mlnn's: " + ", ".join(f"{k} {v:.6f}"
                                                for k, v in c["W4_agreement"].items()) + ".")
        for w, e in c.get("E", {}).items():
            counts = {n for v in e["n_iter"].values() for n in v}
            iters = (f"every fit ran {counts.pop()}" if len(counts) == 1 else
                     ", ".join(f"{k} {sorted(set(v))}" for k, v in e["n_iter"].items()))
            loss = ", ".join(f"{k} {v:.4g}" for k, v in e["final_training_loss"].items()
                             if v is not None)
            line = (f"{w} ({e['problem']}, N={e['n_samples']}): epochs/iterations per fit: "
                    f"{iters}; final training loss: {loss}.")
            ss = e.get("same_steps")
            if ss and ss["rel_err_vs_sklearn"]:
                eps = ", Adam's epsilon 1e-30" if e["params"]["solver"] == "adam" else ""
                line += (f" Same steps ({ss['epochs']} epochs/iterations from random_state=0"
                         f"{eps}): final weights vs scikit-learn's, relative: "
                         + ", ".join(f"{k} " + ("shapes differ" if v is None else
                                                v if isinstance(v, str) else f"{v:.1e}")
                                     for k, v in ss["rel_err_vs_sklearn"].items()) + ".")
            pr = e.get("auto_over_1_thread_paired")
            if pr:
                line += (f" mlnn auto / 1 thread, paired by repetition: median "
                         f"{pr['median']:.3f} ({pr['min']:.3f}–{pr['max']:.3f}).")
            for k, v in e.get("skipped", {}).items():
                line += f" **Skipped** {k}: {v}."
            lines.append(line + "  ")
        if "W5_threaded_equals_serial" in c:
            lines.append(f"W5: weights from the threaded run identical to the serial run: "
                         f"{c['W5_threaded_equals_serial']}.")
        lines.append("")
        return "\n".join(lines)


def _jsonable(d):
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in d.items()}


def _final_loss(est):
    """The training loss at the end of fit: loss_, else the last of loss_curve_."""
    loss = getattr(est, "loss_", None)
    if loss is None and getattr(est, "loss_curve_", None):
        loss = est.loss_curve_[-1]
    return None if loss is None else float(loss)


def _paired(auto, one):
    """auto / 1-thread per repetition (the two ran back to back): median, min, max."""
    if not auto or not one:
        return None
    r = [a / b for a, b in zip(auto, one)]
    return dict(median=statistics.median(r), min=min(r), max=max(r))


def _mlnn_threads(est, n_samples):
    """Threads mlnn's automatic choice gives a batch of n_samples (None if unknown)."""
    try:
        return int(est._model.n_threads_for(n_samples))
    except Exception:  # noqa: BLE001 - informational only
        return None


def _cpu_levels():
    """mlnn._kernels.cpu_levels(): compiled, supported, selected, requested ({} if unknown)."""
    try:
        from mlnn import _kernels
        return dict(_kernels.cpu_levels())
    except Exception:  # noqa: BLE001 - informational only
        return {}


def _level_request(m):
    """Words for the cap asked of mlnn's level: where it came from and what it gave."""
    req, src = m.get("mlnn_cpu_level_requested"), m.get("mlnn_cpu_level_source")
    if not req:
        return "no cap requested: the best level this CPU supports"
    levels = m.get("mlnn_cpu_levels") or {}
    words = f"requested cap MLNN_CPU_LEVEL={req}" + (f" (from {src})" if src else "")
    if levels and not levels.get("requested_known", True):
        words += ", not a known level: ignored"
    elif levels.get("selected") and levels["selected"] != req:
        words += (f"; this CPU supports only {', '.join(levels.get('supported', []))}, "
                  f"so {levels['selected']} runs")
    return words


def _blas_threads():
    from threadpoolctl import threadpool_info
    n = [i["num_threads"] for i in threadpool_info() if i.get("user_api") == "blas"]
    return max(n) if n else None



def _fmt(s):
    if s >= 1:
        return f"{s:.2f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.1f} ms"
    return f"{s * 1e6:.0f} µs"


def main(args):
    started = datetime.datetime.now()
    t_start = time.perf_counter()
    b = Bench(args)
    b.extra["loadavg_start"] = os.getloadavg()
    name = args.out or ("quick" if args.quick else "latest")
    log(f"mlnn bench ({'quick' if args.quick else 'full'}), all threads = "
        f"{b.all_threads}; peers: torch {peers.TORCH}, jax {peers.JAX}")
    log("  roofline: numpy matmul 1024x1024")
    b.extra["roofline"] = roofline(b.all_threads)
    log("    " + ", ".join(f"{k} {v:.1f}" for k, v in b.extra["roofline"].items()))
    b.same_maths()
    steps = {"W1": b.w1, "W2": b.w2, "W3": b.w3, "W4": b.w4, "W5": b.w5, "plots": b.plots}
    steps.update({e: (lambda e=e: b.epochs(e)) for e in E_PARTS})
    for w in WORKLOADS:
        if w in args.workload:
            t0 = time.perf_counter()
            steps[w]()
            b.extra.setdefault("section_s", {})[w] = time.perf_counter() - t0
    b.extra["loadavg_end"] = os.getloadavg()
    md = b.write(name, started, time.perf_counter() - t_start)
    print(md)
    log(f"wrote {os.path.relpath(os.path.join(RESULTS, name + '.json'))} and .md "
        f"in {time.perf_counter() - t_start:.0f} s")


if __name__ == "__main__":
    main(ARGS)

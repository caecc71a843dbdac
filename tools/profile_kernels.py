"""Drive one kernel workload for profiling or A/B timing.

    python tools/profile_kernels.py WORKLOAD [--threads N] [--seconds S]
    python tools/profile_kernels.py WORKLOAD --ab SO[:ROWS] SO[:ROWS] ... [--reps R]

WORKLOAD:
  w1    the notebook's [2,4,4,2] tanh on make_moons(300, noise=0.22): kernels.train,
        1000 full-batch passes per call (bench/run.py's W1)
  w4    kernels.predict with W1's shape (mlnn's initial weights) on the
        visualize_preds grid around make_moons(300) (bench/run.py's W4)
  w2    [2,64,64,2] tanh on make_moons(10000, noise=0.22): kernels.train, one
        full-batch pass per call (bench/run.py's W2)
  w512  [2,512,512,2] tanh on make_moons(2000): the width sweep's widest point
  w3    [784,128,128,10] tanh on 10000 standard-normal samples (bench/run.py's W3
        shape)
  e1    MLNNClassifier's Adam epoch on load_digits / 16 (bench/run.py's E1):
        kernels.epoch, (100,) relu, softmax head, batch 200, a fixed order
  e2    MLNNClassifier's SGD epoch on make_moons(5000, noise=0.2) (bench/run.py's
        E2): kernels.epoch, (64, 64) tanh, logistic head, Nesterov momentum
        0.9, batch 200, a fixed order
  e4    MLNNClassifier's L-BFGS evaluation on load_digits: kernels.loss_grad,
        (100,) relu, softmax head, alpha 1e-4

Without --ab, runs the workload for about --seconds (for ``perf record``)
and prints the time per call.  With --ab, loads builds of the extension
(copies of _kernels*.so files) side by side in this process and times the
variants interleaved: --reps rounds, each timing every variant once (order
reversed every other round) on the same inputs, and prints medians with
min-max.  SO:ROWS cuts the rows as the chunk rule before the small-product
one did with CHUNK_ROWS = ROWS (n // ROWS chunks); a bare SO uses
mlnn._core.n_chunks.  --clock cpu (the default at one thread) times this
thread's CPU time, steadier than wall time on a shared machine.

BLAS is limited to one thread, as mlnn's own guard does.  For timing that
matches users, run with ``env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE``.
"""

import argparse
import importlib.util
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import sklearn.datasets
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mlnn import _core, _solvers, _spec  # noqa: E402


def _load_so(path, tag):
    spec = importlib.util.spec_from_file_location(f"mlnn_ab_{tag}._kernels", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _chunks(n, sizes, chunk_rows):
    """mlnn._core.n_chunks, or with chunk_rows: n // chunk_rows chunks under
    the same caps (the rule before the small-product one)."""
    if not chunk_rows:
        return _core.n_chunks(n, sizes)
    cap = max(1, _core.MAX_SCRATCH // _spec.n_params(sizes))
    return max(1, min(n // chunk_rows, _core.MAX_CHUNKS, cap))


def _epoch_workload(name, X, Y, model, head, solver, threads):
    """kernels.epoch over (X, Y) in batches of 200 in a fixed order, from
    model's initial weights and a zeroed solver state, as setup returns it."""
    init = model.params.copy()
    params = init.copy()
    act = _spec.ACTIVATIONS[model.activation]
    order = np.random.RandomState(0).permutation(X.shape[0]).astype(np.int64)
    hyper = solver.hyper()
    chunks = _chunks(200, model.sizes, 0)

    def call(k, passes=1, chunk_rows=0):
        c = _chunks(200, model.sizes, chunk_rows)
        params[:] = init
        solver.state[...] = 0
        for _ in range(passes):
            k.epoch(X, Y, None, order, 200, params, model.lay, act, head, 1e-4, solver.code,
                    hyper, solver.state, 0, c, threads)
    flops = 6 * X.shape[0] * _core.macs_per_sample(model.sizes)
    return call, flops, (f"{name}: {model.sizes} N={X.shape[0]} batch 200 chunks={chunks} "
                         f"threads={threads}")


def setup(workload, threads, dtype=np.float64):
    """(call(kernels, passes, chunk_rows), flops, description): call runs the
    workload ``passes`` times on the kernel module ``kernels``; chunk_rows, if
    not 0, sets how the rows are cut, as mlnn._core.n_chunks would with it
    (ignored by w4, which has no chunks)."""
    if workload == "w4":
        from mlnn.plotting import _grid_axes, _grid_points
        Xm, _ = sklearn.datasets.make_moons(300, noise=0.22, random_state=0)
        G = _grid_points(*_grid_axes(Xm, resolution=0.005), dtype)
        sizes = [2, 4, 4, 2]
        model = _core.Model(sizes, "tanh", dtype)
        model.init_weights(0)
        labels = np.empty(G.shape[0], dtype=np.int64)
        act = _spec.ACTIVATIONS["tanh"]

        def call(k, passes=1, chunk_rows=0):
            for _ in range(passes):
                k.predict(G, model.params, model.lay, act, labels, threads)
        flops = 2 * G.shape[0] * _core.macs_per_sample(sizes)
        return call, flops, f"w4: {sizes} predict on {G.shape[0]} points threads={threads}"
    if workload in ("w1", "w2", "w512", "w3"):
        passes_per_call = 1000 if workload == "w1" else 1
        if workload == "w3":
            n, sizes = 10000, [784, 128, 128, 10]
            rng = np.random.RandomState(0)
            X = rng.standard_normal((n, sizes[0])).astype(dtype)
            y = rng.randint(0, sizes[-1], n).astype(np.int64)
        else:
            n, width = {"w1": (300, 4), "w2": (10000, 64), "w512": (2000, 512)}[workload]
            X, y = sklearn.datasets.make_moons(n, noise=0.22, random_state=0)
            X = np.ascontiguousarray(X, dtype=dtype)
            y = y.astype(np.int64)
            sizes = [2, width, width, 2]
        model = _core.Model(sizes, "tanh", dtype)
        model.init_weights(0)
        init = model.params.copy()
        lay = model.lay
        chunks = _chunks(n, sizes, 0)
        act = _spec.ACTIVATIONS["tanh"]
        params = init.copy()
        grads = np.zeros_like(params)
        ws_by_mod = {}

        def call(k, passes=1, chunk_rows=0):
            # as Model.train's slices: the first call on a ws copies X into
            # it, the later ones reuse that copy (x_loaded)
            c = _chunks(n, sizes, chunk_rows)
            ws = ws_by_mod.get((id(k), c))
            loaded = ws is not None
            if ws is None:
                try:
                    ws = k.workspace(n, lay, c, dtype, threads)
                except TypeError:  # a build from before the per-thread scratch
                    ws = k.workspace(n, lay, c, dtype)
                ws_by_mod[(id(k), c)] = ws
            params[:] = init
            args = (X, y, params, lay, act, 0.001, 1e-6, passes * passes_per_call, grads, c,
                    threads, ws)
            try:
                k.train(*args, x_loaded=loaded)
            except TypeError:  # a build from before x_loaded
                k.train(*args)
        flops = 6 * n * _core.macs_per_sample(sizes) * passes_per_call
        return call, flops, (f"{workload}: {sizes} N={n} chunks={chunks} threads={threads} "
                             f"{np.dtype(dtype).name}, {passes_per_call} pass(es) per call")
    if workload in ("e1", "e4"):
        # digits, (100,) relu, softmax head; E1 scales X as bench/run.py does
        X, yl = sklearn.datasets.load_digits(return_X_y=True)
        X = np.ascontiguousarray(X / 16.0 if workload == "e1" else X, dtype=dtype)
        Y = np.zeros((X.shape[0], 10), dtype=dtype)
        Y[np.arange(X.shape[0]), yl] = 1
        sizes = [64, 100, 10]
        model = _core.Model(sizes, "relu", dtype)
        model.init_weights(0)
        init = model.params.copy()
        params = init.copy()
        lay = model.lay
        act = _spec.ACTIVATIONS["relu"]
        head = _spec.HEADS["softmax"]
    if workload == "e1":
        return _epoch_workload("e1", X, Y, model, head, _solvers.Adam(model.params.size, dtype,
                                                                      1e-3), threads)
    if workload == "e4":
        grads = np.zeros_like(params)
        chunks = _chunks(X.shape[0], sizes, 0)

        def call(k, passes=1, chunk_rows=0):
            c = _chunks(X.shape[0], sizes, chunk_rows)
            for _ in range(passes):
                k.loss_grad(X, Y, None, params, lay, act, head, 1e-4, grads, c, threads)
        flops = 6 * X.shape[0] * _core.macs_per_sample(sizes)
        return call, flops, f"e4: {sizes} N={X.shape[0]} chunks={chunks} threads={threads}"
    if workload == "e2":
        X, yl = sklearn.datasets.make_moons(5000, noise=0.2, random_state=0)
        X = np.ascontiguousarray(X, dtype=dtype)
        Y = np.ascontiguousarray(yl.reshape(-1, 1), dtype=dtype)
        model = _core.Model([2, 64, 64, 1], "tanh", dtype)
        model.init_weights(0)
        sgd = _solvers.SGD(model.params.size, dtype, 0.01, momentum=0.9, nesterov=True)
        return _epoch_workload("e2", X, Y, model, _spec.HEADS["logistic"], sgd, threads)
    raise SystemExit(f"unknown workload {workload}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("workload")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--ab", nargs="+", metavar="SO[:CHUNK_ROWS]",
                   help="variants to time interleaved: a built _kernels .so, "
                        "optionally with the chunk rows to cut by")
    p.add_argument("--reps", type=int, default=15)
    p.add_argument("--clock", choices=["wall", "cpu"], default=None,
                   help="cpu: this thread's CPU time (robust on a shared machine, "
                        "right for --threads 1 only); default cpu at 1 thread, else wall")
    p.add_argument("--calls", type=int, default=0, help="calls per timed sample")
    args = p.parse_args()
    call, flops, desc = setup(args.workload, args.threads, np.dtype(args.dtype))
    clock = args.clock or ("cpu" if args.threads == 1 else "wall")
    now = time.thread_time if clock == "cpu" else time.perf_counter
    with threadpool_limits(1, user_api="blas"):
        if args.ab:
            loaded, variants = {}, []
            for v in args.ab:
                path, _, rows = v.partition(":")
                if path not in loaded:
                    loaded[path] = _load_so(path, len(loaded))
                variants.append((v, loaded[path], int(rows or 0)))
            for _, m, rows in variants:
                call(m, 1, rows)
            t0 = time.perf_counter()
            call(variants[0][1], 1, variants[0][2])
            one = time.perf_counter() - t0
            calls = args.calls or max(1, int(0.2 / one))
            times = [[] for _ in variants]
            for r in range(args.reps):
                order = list(range(len(variants)))
                if r % 2:
                    order.reverse()
                for i in order:
                    _, m, rows = variants[i]
                    t0 = now()
                    call(m, calls, rows)
                    times[i].append((now() - t0) / calls)
            print(desc, f"calls/sample={calls} reps={args.reps} clock={clock}")
            base = statistics.median(times[0])
            for (name, _, _), ts in zip(variants, times):
                med = statistics.median(ts)
                print(f"  {name}: median {med * 1e3:.3f} ms  (min {min(ts) * 1e3:.3f}, "
                      f"max {max(ts) * 1e3:.3f})  {flops / med / 1e9:.1f} GFLOP/s  "
                      f"x{base / med:.3f} vs first")
        else:
            from mlnn import _kernels as k
            call(k)
            t0 = time.perf_counter()
            n = 0
            while time.perf_counter() - t0 < args.seconds:
                call(k)
                n += 1
            dt = (time.perf_counter() - t0) / n
            print(desc, f"{n} calls, {dt * 1e3:.3f} ms/call, {flops / dt / 1e9:.1f} GFLOP/s")


if __name__ == "__main__":
    main()

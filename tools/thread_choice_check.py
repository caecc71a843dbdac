"""The automatic thread count against 1 and 2 threads on small and mid-sized
full-batch training (the cases that mlnn._threads.choose decides from a
measurement; passes of 2^24 multiply-adds and more always take every thread).

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python tools/thread_choice_check.py

Prints, per network and N: the chunks, the 1-thread time per pass, the
2-thread and automatic times relative to it (medians of 7 interleaved
repetitions), the automatic choice, and the timing it rests on (seconds per
row on one thread, team overhead).  Run it on a quiet machine: a busy one
makes every team slow, and the measurement then (rightly) picks 1 thread.
"""

import time

import numpy as np

from mlnn import _core
from mlnn._core import Model, n_chunks

NETS = ([2, 4, 4, 2], [2, 16, 16, 2], [10, 32, 3], [2, 64, 64, 2])
NS = (512, 2048, 8192, 32768)
REPS = 7


def per_pass(model, X, y, passes):
    t0 = time.perf_counter()
    model.train(X, y, 1e-3, 1e-6, passes)
    return (time.perf_counter() - t0) / passes


def main():
    rng = np.random.RandomState(0)
    for sizes in NETS:
        for n in NS:
            X = rng.randn(n, sizes[0])
            y = rng.randint(0, sizes[-1], n).astype(np.int64)
            models = {t: Model(sizes, "tanh", np.float64, "cython", t) for t in (1, 2, None)}
            for m in models.values():
                m.init_weights(0)
            work = n * _core.macs_per_sample(sizes)
            passes = max(5, int(2e7 / work))
            times = {t: [] for t in models}
            for _ in range(REPS):
                for t, m in models.items():
                    times[t].append(per_pass(m, X, y, passes))
            one, two, auto = (np.median(times[t]) for t in (1, 2, None))
            timing = [v for k, v in _core._team_timings.items()
                      if k[0] == "train" and k[1] == tuple(sizes)]
            shown = ", ".join(f"{r * 1e9:.1f} ns/row, overhead {o * 1e6:.1f} us"
                              for r, o in timing) or "not measured"
            print(f"{str(sizes):15s} N={n:6d} chunks={n_chunks(n, sizes):2d} "
                  f"1 thread {one * 1e6:9.1f} us  2/1 {two / one:4.2f}  auto/1 {auto / one:4.2f}"
                  f"  auto={models[None].n_threads_for(n)}  ({shown})", flush=True)


if __name__ == "__main__":
    main()

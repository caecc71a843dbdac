"""A/B of a training workload between two built trees, alternated subprocesses.

    python tools/ab_train.py /path/to/ref/tree /path/to/cur/tree [--rounds 8]

Each subprocess imports mlnn from the tree given (PYTHONPATH), trains
W1 ([2,4,4,2] tanh on make_moons(300), 2500 passes) and W2 ([2,64,64,2] on
make_moons(10000), 10 passes) in float64 and float32 at 1 thread, and
prints the best of 3 timings of each; the trees alternate round by round.
Prints the median (min-max) per workload and tree, in ms.
"""
import json
import os
import subprocess
import sys

CHILD = r"""
import json, time
import numpy as np
import sklearn.datasets
import mlnn
out = {}
for name, sizes, n, passes in (("W1", [2, 4, 4, 2], 300, 2500), ("W2", [2, 64, 64, 2], 10000, 10)):
    X, y = sklearn.datasets.make_moons(n, noise=0.22, random_state=0)
    for dt in (np.float64, np.float32):
        Xd = X.astype(dt)
        best = float("inf")
        for _ in range(3):
            net = mlnn.neural_net(sizes, activation="tanh", dtype=dt, n_threads=1,
                                  random_state=0)
            t0 = time.perf_counter()
            net.train(Xd, y, 1e-4, 1e-3, num_pass=passes, print_loss=False)
            best = min(best, time.perf_counter() - t0)
        out[f"{name} {np.dtype(dt).name}"] = best * 1e3
print(json.dumps(out))
"""


def main():
    trees = sys.argv[1:3]
    rounds = int(sys.argv[sys.argv.index("--rounds") + 1]) if "--rounds" in sys.argv else 8
    env = {k: v for k, v in os.environ.items()
           if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "MLNN_CPU_LEVEL")}
    res = {t: [] for t in trees}
    for r in range(rounds):
        for t in (trees if r % 2 == 0 else trees[::-1]):
            p = subprocess.run([sys.executable, "-c", CHILD], env=dict(env, PYTHONPATH=t),
                               capture_output=True, text=True, check=True, cwd="/")
            res[t].append(json.loads(p.stdout))
    for key in res[trees[0]][0]:
        cells = []
        for t in trees:
            v = sorted(x[key] for x in res[t])
            cells.append(f"{v[len(v) // 2]:.2f} ({v[0]:.2f}-{v[-1]:.2f})")
        print(f"{key}: " + "  vs  ".join(cells))


if __name__ == "__main__":
    main()

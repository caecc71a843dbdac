"""MLNNClassifier against scikit-learn's MLPClassifier at the same configuration.

Two tables:

1. time per epoch: both estimators fit the same data with the same
   hyperparameters (tol=0, so every epoch runs); the fits are interleaved
   (mlnn, sklearn, mlnn, sklearn, ...) so that load on the machine hits both
   alike.  Reported: median and min-max over the repeats, and the ratio of
   medians (sklearn / mlnn, > 1 means mlnn is faster).
2. accuracy: test accuracy, mean ± sd over 5 seeds (seed = split and
   random_state) on moons, circles and load_digits.

Each repeat runs four fits in turn: mlnn with its default n_threads=None
(OpenMP threads chosen by mlnn._threads), MLPClassifier with NumPy's default
BLAS threads, then both restricted to one thread (mlnn n_threads=1,
MLPClassifier under threadpool_limits(1)).

    python bench/bench_estimator.py            # both tables
    python bench/bench_estimator.py --quick    # fewer repeats / epochs
"""

import argparse
import time
import warnings
from contextlib import nullcontext

import numpy as np
from sklearn.base import clone
from sklearn.datasets import load_digits, make_circles, make_moons
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from mlnn import MLNNClassifier

warnings.simplefilter("ignore", ConvergenceWarning)

# the benchmark's solver names -> the estimators' (both take the same parameters)
SOLVER_MAP = {"adam": {"solver": "adam"},
              "momentum": {"solver": "sgd", "momentum": 0.9, "nesterovs_momentum": True,
                           "learning_rate": "constant"},
              "gd": {"solver": "sgd", "momentum": 0.0, "learning_rate": "constant"}}


def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


def moons(n=1000, seed=0):
    return make_moons(n, noise=0.25, random_state=seed)


def circles(n=1000, seed=0):
    return make_circles(n, noise=0.1, factor=0.5, random_state=seed)


def pair(solver, n_samples=None, **common):
    """(MLNNClassifier, MLPClassifier) at the same configuration."""
    common = {**common, **SOLVER_MAP[solver]}
    if common.get("batch_size", "auto") is None:
        common["batch_size"] = n_samples  # both spell full batch as n_samples
    sk_common = {k: v for k, v in common.items() if k != "n_threads"}
    return MLNNClassifier(**common), MLPClassifier(**sk_common)


TIMING = [
    ("digits 1797x64, (100,), adam, batch 200", digits,
     dict(hidden_layer_sizes=(100,), solver="adam")),
    ("moons 5000x2, (64, 64), momentum, batch 200", lambda: moons(5000),
     dict(hidden_layer_sizes=(64, 64), solver="momentum", learning_rate_init=0.01)),
    ("digits 1797x64, (100,), gd, full batch", digits,
     dict(hidden_layer_sizes=(100,), solver="gd", batch_size=None, learning_rate_init=0.1)),
]


def time_per_epoch(repeats, epochs):
    print(f"\n## Time per epoch ({epochs} epochs per fit, {repeats} interleaved repeats)\n")
    print("| workload | mlnn ms/epoch | sklearn ms/epoch | sklearn / mlnn "
          "| mlnn n_threads=1 | sklearn 1 BLAS thread | ratio, 1 thread each |")
    print("|---|---|---|---|---|---|---|")
    for name, load, cfg in TIMING:
        X, y = load()
        X = StandardScaler().fit_transform(X)
        cfg = dict(cfg)
        solver = cfg.pop("solver")
        times = {"mlnn": [], "sklearn": [], "mlnn1": [], "sklearn1": []}
        for r in range(repeats):
            ours, theirs = pair(solver, len(X), max_iter=epochs, tol=0.0,
                                n_iter_no_change=10**6, random_state=r, **cfg)
            ours1 = clone(ours).set_params(n_threads=1)
            theirs1 = clone(theirs)
            for label, est in (("mlnn", ours), ("sklearn", theirs), ("mlnn1", ours1),
                               ("sklearn1", theirs1)):
                limit = threadpool_limits(1) if label == "sklearn1" else nullcontext()
                with limit:
                    t0 = time.perf_counter()
                    est.fit(X, y)
                    elapsed = time.perf_counter() - t0
                times[label].append(elapsed / est.n_iter_ * 1e3)
        med = {k: np.median(v) for k, v in times.items()}
        cell = {k: f"{med[k]:.2f} ({min(v):.2f}-{max(v):.2f})" for k, v in times.items()}
        print(f"| {name} | {cell['mlnn']} | {cell['sklearn']} "
              f"| {med['sklearn'] / med['mlnn']:.2f}x | {cell['mlnn1']} | {cell['sklearn1']} "
              f"| {med['sklearn1'] / med['mlnn1']:.2f}x |", flush=True)


ACCURACY = [
    ("moons (1000, noise 0.25)", lambda seed: moons(1000, seed)),
    ("circles (1000, noise 0.1)", lambda seed: circles(1000, seed)),
    ("load_digits", lambda seed: digits()),
]


def accuracy(seeds, max_iter):
    print(f"\n## Test accuracy, mean ± sd over {len(seeds)} seeds "
          f"(hidden (100,), relu, adam, lr 1e-3, alpha 1e-4, batch 'auto', "
          f"max_iter {max_iter}; 25% test split)\n")
    print("| data | MLNNClassifier | MLPClassifier |")
    print("|---|---|---|")
    for name, load in ACCURACY:
        acc = {"mlnn": [], "sklearn": []}
        for seed in seeds:
            X, y = load(seed)
            X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25,
                                                      random_state=seed, stratify=y)
            scaler = StandardScaler().fit(X_tr)
            X_tr, X_te = scaler.transform(X_tr), scaler.transform(X_te)
            ours, theirs = pair("adam", max_iter=max_iter, random_state=seed)
            acc["mlnn"].append(ours.fit(X_tr, y_tr).score(X_te, y_te))
            acc["sklearn"].append(theirs.fit(X_tr, y_tr).score(X_te, y_te))
        cells = [f"{np.mean(a):.4f} ± {np.std(a, ddof=1):.4f}" for a in acc.values()]
        print(f"| {name} | {cells[0]} | {cells[1]} |", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", choices=["time", "accuracy"])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--epochs", type=int, default=10)
    args = parser.parse_args()
    if args.only != "accuracy":
        time_per_epoch(repeats=3 if args.quick else args.repeats,
                       epochs=3 if args.quick else args.epochs)
    if args.only != "time":
        accuracy(seeds=range(5), max_iter=50 if args.quick else 200)


if __name__ == "__main__":
    main()

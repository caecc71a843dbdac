"""
Speed on a small problem
========================

How long does the same training take with mlnn's compiled kernels, with mlnn's
pure-NumPy reference (``backend="numpy"``, the same maths written as a plain
NumPy loop) and with scikit-learn? Two small problems, timed on whatever
machine built this page:

* **the notebook's network**: ``neural_net([2, 4, 2])`` on 300 points,
  full-batch gradient descent. Every pass is tiny, so Python and NumPy
  overheads dominate the reference, and the compiled loop runs all the passes
  without returning to Python.
* **the estimator**: ``MLNNClassifier`` against ``MLPClassifier`` with the same
  arguments, Adam on mini-batches of 200.

Everything runs on one thread (``threadpoolctl`` limits OpenMP and BLAS), so
that a busy machine disturbs the numbers less. This is a quick look, best of
five runs; ``bench/run.py`` measures carefully
(interleaved repetitions, several workloads, PyTorch and JAX too), and the
:doc:`/bench` page shows its results.
"""

import time
import warnings

import matplotlib.pyplot as plt
import sklearn.datasets
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from threadpoolctl import threadpool_limits

from mlnn import MLNNClassifier, neural_net


def best_of(fit, repeat=5):
    times = []
    with threadpool_limits(limits=1):
        for _ in range(repeat):
            start = time.perf_counter()
            fit()
            times.append(time.perf_counter() - start)
    return min(times)


X, y = sklearn.datasets.make_moons(300, noise=0.22, random_state=0)
n_pass = 1000


def notebook(backend):
    nn = neural_net([2, 4, 2], backend=backend, random_state=0)
    return lambda: nn.train(X, y, 0.001, 0.0001, num_pass=n_pass, print_loss=False)


notebook_times = {
    "mlnn (compiled)": best_of(notebook(None)),
    "mlnn NumPy reference": best_of(notebook("numpy")),
}

# %%
# The estimators: 20 epochs of Adam on 1000 points, hidden layers (64, 64).

Xe, ye = sklearn.datasets.make_moons(1000, noise=0.22, random_state=0)
params = dict(hidden_layer_sizes=(64, 64), max_iter=20, tol=0, random_state=0)


def estimator(cls, **extra):
    def fit():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter is small
            cls(**params, **extra).fit(Xe, ye)
    return fit


estimator(MLNNClassifier)(), estimator(MLPClassifier)()  # warm-up
estimator_times = {
    "mlnn (compiled)": best_of(estimator(MLNNClassifier)),
    "mlnn NumPy reference": best_of(estimator(MLNNClassifier, backend="numpy")),
    "scikit-learn": best_of(estimator(MLPClassifier)),
}

for title, times in [(f"neural_net.train, {n_pass} passes", notebook_times),
                     ("fit, 20 epochs", estimator_times)]:
    print(title)
    fastest = times["mlnn (compiled)"]
    for name, t in times.items():
        print(f"  {name:22s} {t * 1e3:8.1f} ms   {t / fastest:5.1f}x mlnn")

# %%
# The bar chart; each bar is labelled with its time and its ratio to mlnn's
# compiled time:

colors = {"mlnn (compiled)": "C0", "mlnn NumPy reference": "C1", "scikit-learn": "C2"}
fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
for ax, (title, times) in zip(axes, [
        (f"neural_net([2, 4, 2]).train\n{n_pass} passes, N=300", notebook_times),
        ("MLNNClassifier / MLPClassifier .fit\n(64, 64), Adam, 20 epochs, N=1000",
         estimator_times)]):
    names = list(times)
    values = [times[n] * 1e3 for n in names]
    bars = ax.barh(names, values, color=[colors[n] for n in names])
    ax.bar_label(bars, [f"{v:.1f} ms ({v / values[0]:.1f}x)" for v in values],
                 padding=3)
    ax.set_xlim(0, max(values) * 1.45)
    ax.invert_yaxis()
    ax.set_xlabel("wall time (ms, 1 thread, best of 5)")
    ax.set_title(title)

"""
A drop-in for scikit-learn's MLPClassifier
==========================================

:class:`mlnn.MLNNClassifier` takes the installed scikit-learn's
``MLPClassifier`` arguments with the same defaults. With the same data,
parameters and ``random_state`` it draws the same initial weights, visits the
same mini-batches and takes the same Adam steps, so it ends at the same
``coefs_`` (to rounding), only computed by mlnn's compiled kernels: one kernel
call per epoch instead of a Python loop over mini-batches.
"""

import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

from threadpoolctl import threadpool_limits

from mlnn import MLNNClassifier

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X / 16, y, random_state=0)

params = dict(hidden_layer_sizes=(100,), max_iter=30, random_state=0)


def fit_best_of_3(make_estimator):
    """Fit three fresh estimators; return the last and the fastest fit time."""
    times = []
    for _ in range(3):
        estimator = make_estimator()
        start = time.perf_counter()
        estimator.fit(X_train, y_train)
        times.append(time.perf_counter() - start)
    return estimator, min(times)


# One thread each (BLAS for scikit-learn, OpenMP and BLAS for mlnn): on a busy
# machine multi-threaded timings swing widely.  30 epochs do not converge,
# which is fine for a comparison.
with threadpool_limits(limits=1), warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    sk, sk_time = fit_best_of_3(lambda: MLPClassifier(**params))
    ml, ml_time = fit_best_of_3(lambda: MLNNClassifier(**params))

# %%
# Same weights, same predictions
# ------------------------------

max_diff = max(np.abs(a - b).max() for a, b in zip(sk.coefs_, ml.coefs_))
max_coef = max(np.abs(a).max() for a in sk.coefs_)
print(f"max |coefs_ difference|: {max_diff:.2e} (largest weight {max_coef:.2f})")
print("same predictions on the test set:",
      bool(np.array_equal(sk.predict(X_test), ml.predict(X_test))))
print(f"test accuracy: scikit-learn {sk.score(X_test, y_test):.4f}, "
      f"mlnn {ml.score(X_test, y_test):.4f}")

# %%
# Timing
# ------
#
# Wall time of ``fit`` for the 30 epochs on one thread, best of three, on
# whatever machine built this page, so expect some noise;
# ``bench/run.py --workload E`` measures this properly (see :doc:`/bench`).

print(f"scikit-learn MLPClassifier.fit: {sk_time * 1e3:7.1f} ms")
print(f"mlnn MLNNClassifier.fit:        {ml_time * 1e3:7.1f} ms"
      f"  ({sk_time / ml_time:.1f}x faster)")

# %%
# The loss curves lie on top of each other:

fig, ax = plt.subplots(figsize=(7, 4))
ax.plot(sk.loss_curve_, linewidth=4, alpha=0.5, label="scikit-learn MLPClassifier")
ax.plot(ml.loss_curve_, "k--", label="mlnn MLNNClassifier")
ax.set_xlabel("epoch")
ax.set_ylabel("training loss")
ax.set_yscale("log")
ax.legend()
ax.set_title("loss_curve_ of the two estimators")

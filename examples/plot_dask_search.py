"""
A grid search on a Dask cluster
===============================

A hyperparameter search is many independent fits. joblib spreads them over
processes, or, with its ``"dask"`` backend, over the workers of a Dask cluster:
here a ``LocalCluster`` of two worker processes with one thread each, which is
what a laptop or a CI machine can hold. On a real cluster only the cluster line
changes (``Client("scheduler-address:8786")``).

Dask's nannies start every worker with ``OMP_NUM_THREADS=1``, so mlnn runs each
fit on one thread and the parallelism comes from the workers. With fixed
``random_state`` values the results equal those of a serial search: every fit is
deterministic and does not depend on the thread count.
"""

import os

import joblib
import matplotlib.pyplot as plt
import pandas as pd
from dask.distributed import Client, LocalCluster
from sklearn.datasets import make_moons
from sklearn.model_selection import GridSearchCV

from mlnn import MLNNClassifier

X, y = make_moons(400, noise=0.25, random_state=0)
grid = {"hidden_layer_sizes": [(8,), (32,)], "alpha": [1e-4, 1e-1]}
search = GridSearchCV(
    MLNNClassifier(learning_rate_init=0.02, max_iter=500, random_state=0),
    grid, cv=3, n_jobs=-1)


def omp_threads():
    return os.environ.get("OMP_NUM_THREADS")


# %%
# The ``__main__`` guard matters when this runs as a script: the worker
# processes start fresh and import this file, and must not start clusters of
# their own. Leaving the ``with`` block shuts the workers down.

if __name__ == "__main__":
    with (LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                       dashboard_address=None) as cluster,
          Client(cluster) as client):
        print("OMP_NUM_THREADS in the workers:", client.run(omp_threads))
        with joblib.parallel_backend("dask"):
            search.fit(X, y)

    print("best:", search.best_params_, f"score {search.best_score_:.3f}")

    # every candidate's cross-validated accuracy
    results = pd.DataFrame(search.cv_results_)
    labels = [f"{p['hidden_layer_sizes']}, alpha={p['alpha']:g}"
              for p in results["params"]]
    fig, ax = plt.subplots(figsize=(7, 3), layout="constrained")
    ax.barh(labels, results["mean_test_score"], xerr=results["std_test_score"])
    ax.set_xlim(0.5, 1.0)
    ax.invert_yaxis()
    ax.set_xlabel("mean accuracy over 3 folds")
    ax.set_title("GridSearchCV(MLNNClassifier) on 2 Dask workers")

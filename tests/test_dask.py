"""Hyperparameter searches over MLNNClassifier and MLNNRegressor fits on a
dask.distributed cluster.

Dask's nannies start each worker process with OMP_NUM_THREADS=1 (the
``distributed.nanny.pre-spawn-environ`` setting), so ``omp_get_max_threads()``
is 1 there and mlnn's thread choice (``mlnn._threads.max_threads``) gives each
fit one thread: two workers on two cores do not oversubscribe them.
"""

import warnings

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")
joblib = pytest.importorskip("joblib")

from sklearn.datasets import make_moons, make_regression  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402

from mlnn import MLNNClassifier, MLNNRegressor  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
    with cluster, distributed.Client(cluster) as c:
        yield c


def test_workers_limit_mlnn_threads(client):
    def report():
        # nested, so that it is pickled by value and runs in the worker
        import os

        from mlnn import _threads
        from mlnn._core import Model
        big = Model([64, 256, 10], "tanh", np.float64)
        return (os.environ.get("OMP_NUM_THREADS"), _threads.max_threads(),
                big.n_threads_for(100_000))

    reports = client.run(report)
    assert len(reports) == 2
    for env, max_threads, chosen in reports.values():
        assert env == "1"
        assert max_threads == 1
        assert chosen == 1  # even a pass big enough for threads stays on one


def _classification():
    X, y = make_moons(240, noise=0.25, random_state=3)
    y = np.array(["a", "b"])[y]
    return MLNNClassifier(learning_rate_init=0.02, max_iter=60), X, y


def _regression():
    X, y = make_regression(240, n_features=4, noise=5.0, random_state=3)
    return MLNNRegressor(learning_rate_init=0.02, max_iter=60), X, y / np.std(y)


@pytest.mark.parametrize("problem", [_classification, _regression],
                         ids=["classifier", "regressor"])
def test_search_on_dask_equals_serial_search(client, problem):
    estimator, X, y = problem()
    grid = {"hidden_layer_sizes": [(8,), (32,)], "alpha": [1e-4, 1e-1],
            "solver": ["adam", "sgd"], "random_state": [0, 1]}

    def search(n_jobs):
        return GridSearchCV(estimator, grid, cv=3, n_jobs=n_jobs)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with distributed.get_task_stream(client) as stream:
            with joblib.parallel_backend("dask"):
                on_dask = search(-1).fit(X, y)
        serial = search(1).fit(X, y)

    # the fits really ran on the cluster (joblib may batch several per task)
    assert len(stream.data) > 0
    assert on_dask.cv_results_["params"] == serial.cv_results_["params"]
    np.testing.assert_array_equal(on_dask.cv_results_["mean_test_score"],
                                  serial.cv_results_["mean_test_score"])
    np.testing.assert_array_equal(on_dask.cv_results_["split0_test_score"],
                                  serial.cv_results_["split0_test_score"])
    assert on_dask.best_params_ == serial.best_params_
    np.testing.assert_array_equal(on_dask.best_estimator_._model.params,
                                  serial.best_estimator_._model.params)
    np.testing.assert_array_equal(on_dask.predict(X), serial.predict(X))
    if hasattr(serial, "predict_proba"):
        np.testing.assert_array_equal(on_dask.predict_proba(X), serial.predict_proba(X))

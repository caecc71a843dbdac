"""MLNNClassifier: scikit-learn's estimator checks, MLPClassifier equivalence,
labels, dtypes, solvers, stopping rules and the meta-estimator tools."""

import io
import pickle
import warnings
from contextlib import redirect_stderr

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_blobs, make_moons
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from mlnn import DivergenceError, MLNNClassifier
from mlnn._core import Model

from conftest import BACKENDS

# Short fits on purpose; test_convergence_warning_at_max_iter checks the warning.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


# Every check passes; none is listed as an expected failure.  The three
# instances cover adam / Nesterov momentum with early stopping / full-batch
# gd on the NumPy backend, with small networks and max_iter so they run fast.
@parametrize_with_checks([
    MLNNClassifier(hidden_layer_sizes=(16,), max_iter=50, learning_rate_init=0.01,
                   random_state=0),
    MLNNClassifier(hidden_layer_sizes=(8, 8), solver="momentum", activation="tanh",
                   max_iter=60, learning_rate_init=0.05, early_stopping=True,
                   validation_fraction=0.2, random_state=0),
    MLNNClassifier(hidden_layer_sizes=(16,), solver="gd", batch_size=None,
                   activation="logistic", max_iter=100, learning_rate_init=1.0,
                   backend="numpy", random_state=0),
])
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def _blobs(n=120, centers=3, seed=0):
    X, y = make_blobs(n, centers=centers, n_features=4, cluster_std=2.0, random_state=seed)
    return StandardScaler().fit_transform(X), y


# -- the same maths as MLPClassifier ------------------------------------------------
@pytest.mark.parametrize("solver, sk_kwargs", [
    ("gd", dict(solver="sgd", momentum=0.0)),
    ("momentum", dict(solver="sgd", momentum=0.9, nesterovs_momentum=True)),
    ("adam", dict(solver="adam")),
])
@pytest.mark.parametrize("batch_size", [None, 32])
@pytest.mark.parametrize("activation", ["tanh", "relu", "logistic"])
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_matches_mlpclassifier_step_for_step(solver, sk_kwargs, batch_size, activation):
    """From the same weights, 3 epochs give MLPClassifier's weights (shuffle off).

    Three classes, so MLPClassifier also has a softmax output layer.
    """
    X, y = _blobs()
    common = dict(hidden_layer_sizes=(7, 5), activation=activation, alpha=0.01,
                  learning_rate_init=0.05, shuffle=False, tol=0.0,
                  n_iter_no_change=1000, random_state=0)
    sk_batch = X.shape[0] if batch_size is None else batch_size
    sk = MLPClassifier(batch_size=sk_batch, learning_rate="constant", max_iter=1,
                       **common, **sk_kwargs)
    ours = MLNNClassifier(solver=solver, batch_size=batch_size, max_iter=1, **common)
    sk.partial_fit(X, y, classes=np.unique(y))
    ours.partial_fit(X, y, classes=np.unique(y))
    for W, W_sk in zip(ours.coefs_, sk.coefs_):
        W[...] = W_sk
    for b, b_sk in zip(ours.intercepts_, sk.intercepts_):
        b[...] = b_sk
    # warm-start fits reset the optimizer state in both
    sk.set_params(warm_start=True, max_iter=3).fit(X, y)
    ours.set_params(warm_start=True, max_iter=3).fit(X, y)
    for W, W_sk in zip(ours.coefs_ + ours.intercepts_, sk.coefs_ + sk.intercepts_):
        np.testing.assert_allclose(W, W_sk, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours.predict_proba(X), sk.predict_proba(X), rtol=1e-9)
    assert ours.n_iter_ == sk.n_iter_ == 3


def test_loss_curve_is_mean_loss_with_sklearn_penalty():
    X, y = _blobs()
    alpha = 0.3
    clf = MLNNClassifier((6,), alpha=alpha, max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    p = clf.predict_proba(X)[np.arange(len(y)), np.searchsorted(clf.classes_, y)]
    expected = (np.mean(-np.log(p))
                + alpha / (2 * len(y)) * sum(np.sum(W ** 2) for W in clf.coefs_))
    assert len(clf.loss_curve_) == clf.n_iter_ == 5
    assert clf.loss_curve_[-1] == pytest.approx(expected, rel=1e-10)
    assert clf.best_loss_ == min(clf.loss_curve_)
    assert clf.validation_scores_ is None


def test_stopping_rule_matches_mlpclassifier():
    X, y = _blobs()
    kw = dict(hidden_layer_sizes=(5,), tol=1e9, n_iter_no_change=3, max_iter=50,
              random_state=0)
    ours = MLNNClassifier(**kw).fit(X, y)
    sk = MLPClassifier(**kw).fit(X, y)
    assert ours.n_iter_ == sk.n_iter_ == 3 + 2


def test_convergence_warning_at_max_iter():
    X, y = _blobs()
    with pytest.warns(ConvergenceWarning, match="Maximum iterations"):
        MLNNClassifier((4,), max_iter=2, random_state=0).fit(X, y)


# -- labels ----------------------------------------------------------------------
@pytest.mark.parametrize("labels", [
    np.array(["cat", "dog", "emu"]),
    np.array([-7, 3, 1000]),
    np.array([1.0, 3.0, 8.0]),
    np.array(["no", "yes"]),
    np.array([0, 1]),
    np.array([True, False]),
])
def test_any_label_type(labels):
    X, y_idx = _blobs(150, centers=len(labels))
    y = labels[y_idx]
    clf = MLNNClassifier((16,), learning_rate_init=0.05, max_iter=100,
                         random_state=0).fit(X, y)
    np.testing.assert_array_equal(clf.classes_, np.unique(labels))
    pred = clf.predict(X)
    assert pred.dtype == y.dtype
    assert set(pred) <= set(labels)
    assert clf.score(X, y) > 0.9
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), len(labels))
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-12)
    # columns follow classes_
    np.testing.assert_array_equal(clf.classes_[proba.argmax(axis=1)], pred)
    np.testing.assert_allclose(clf.predict_log_proba(X), np.log(proba))


def test_one_class_is_an_error():
    X, _ = _blobs()
    with pytest.raises(ValueError, match="at least 2 classes"):
        MLNNClassifier().fit(X, np.zeros(len(X)))


def test_partial_fit():
    X, y = _blobs()
    y = np.array(["a", "b", "c"])[y]
    clf = MLNNClassifier((8,), learning_rate_init=0.05, random_state=0)
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(X, y)
    # the first batch need not hold every class
    first = y != "c"
    clf.partial_fit(X[first], y[first], classes=["c", "a", "b"])
    np.testing.assert_array_equal(clf.classes_, ["a", "b", "c"])
    for _ in range(30):
        clf.partial_fit(X, y)
    assert clf.n_iter_ == 31 and len(clf.loss_curve_) == 31
    assert clf.score(X, y) > 0.9
    with pytest.raises(ValueError, match="not in `self.classes_`"):
        clf.partial_fit(X[:3], np.array(["a", "b", "zebra"]))
    with pytest.raises(ValueError, match="not the same"):
        clf.partial_fit(X, y, classes=["a", "b"])
    with pytest.raises(ValueError, match="4 features"):
        clf.partial_fit(np.c_[X, X[:, 0]], y)
    assert not hasattr(MLNNClassifier(early_stopping=True), "partial_fit")


def test_partial_fit_equals_fit_epochs():
    """max_iter epochs of fit == the same number of partial_fit calls (no shuffle)."""
    X, y = _blobs()
    kw = dict(hidden_layer_sizes=(6,), shuffle=False, tol=0.0, n_iter_no_change=99,
              random_state=0, batch_size=25)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = MLNNClassifier(max_iter=4, **kw).fit(X, y)
    b = MLNNClassifier(**kw)
    for _ in range(4):
        b.partial_fit(X, y, classes=np.unique(y))
    np.testing.assert_array_equal(a._model.params, b._model.params)
    assert a.loss_curve_ == b.loss_curve_


def test_warm_start_continues():
    X, y = _blobs()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = MLNNClassifier((6,), max_iter=3, warm_start=True, random_state=0).fit(X, y)
        before = clf._model.params.copy()
        clf.fit(X, y)
    assert len(clf.loss_curve_) == 6 and clf.n_iter_ == 3
    assert not np.array_equal(before, clf._model.params)
    with pytest.raises(ValueError, match="same classes"):
        clf.fit(X, np.where(y == 2, 1, y))


# -- solvers, stopping and divergence ----------------------------------------------
@pytest.mark.parametrize("solver, lr", [("gd", 0.5), ("momentum", 0.05), ("adam", 0.01)])
@pytest.mark.parametrize("batch_size", ["auto", None, 16])
def test_solvers_learn_moons(solver, lr, batch_size):
    X, y = make_moons(200, noise=0.15, random_state=0)
    clf = MLNNClassifier((16,), activation="tanh", solver=solver, batch_size=batch_size,
                         learning_rate_init=lr, max_iter=300, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    assert clf.score(X, y) > 0.93
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]


def test_early_stopping_keeps_best_weights():
    X, y = _blobs(300)
    clf = MLNNClassifier((16,), early_stopping=True, n_iter_no_change=4, max_iter=200,
                         learning_rate_init=0.05, random_state=0).fit(X, y)
    assert clf.best_loss_ is None
    assert len(clf.validation_scores_) == clf.n_iter_ < 200
    assert clf.best_validation_score_ == max(clf.validation_scores_)


def test_divergence_is_reported():
    X, y = _blobs()
    clf = MLNNClassifier((8,), solver="gd", learning_rate_init=1e30, random_state=0)
    with pytest.raises(DivergenceError, match="learning_rate_init"):
        clf.fit(X * 1e3, y)


@pytest.mark.parametrize("param, value", [
    ("hidden_layer_sizes", (4, 0)), ("hidden_layer_sizes", "wide"),
    ("activation", "sigmoid"), ("solver", "lbfgs"), ("alpha", -1.0),
    ("learning_rate_init", 0.0), ("max_iter", 0), ("batch_size", 0),
    ("batch_size", "big"), ("validation_fraction", 1.0), ("n_threads", 0),
    ("dtype", np.int32), ("backend", "torch"), ("momentum", 1.5), ("beta_2", 1.0),
])
def test_bad_parameters_fail_in_fit(param, value):
    X, y = _blobs()
    clf = MLNNClassifier(**{param: value})  # __init__ only stores
    with pytest.raises((ValueError, TypeError), match=param):
        clf.fit(X, y)


# -- dtypes, backends, threads ---------------------------------------------------------
@pytest.mark.parametrize("X_dtype, dtype, expected", [
    (np.float32, None, np.float32), (np.float64, None, np.float64),
    (np.int64, None, np.float64), (np.float32, np.float64, np.float64),
    (np.float64, np.float32, np.float32),
])
def test_dtype(X_dtype, dtype, expected):
    X, y = _blobs()
    X = (X * 10).astype(X_dtype)
    clf = MLNNClassifier((8,), max_iter=5, dtype=dtype, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    assert all(W.dtype == expected for W in clf.coefs_ + clf.intercepts_)
    assert clf.predict_proba(X.astype(np.float64)).dtype == expected


def test_float32_close_to_float64():
    X, y = _blobs()
    kw = dict(hidden_layer_sizes=(8,), max_iter=20, random_state=0, shuffle=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = MLNNClassifier(dtype=np.float64, **kw).fit(X, y)
        b = MLNNClassifier(dtype=np.float32, **kw).fit(X, y)
    np.testing.assert_allclose(b.predict_proba(X), a.predict_proba(X), atol=1e-3)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("solver", ["gd", "adam"])
def test_backends_agree(solver):
    if len(BACKENDS) < 2:
        pytest.skip("the compiled extension is not built")
    X, y = _blobs()
    fits = [MLNNClassifier((8, 4), solver=solver, batch_size=None if solver == "gd" else 30,
                           learning_rate_init=0.1, max_iter=10, backend=b,
                           random_state=0).fit(X, y) for b in BACKENDS]
    np.testing.assert_allclose(fits[0]._model.params, fits[1]._model.params, rtol=1e-8,
                               atol=1e-12)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_thread_count_does_not_change_results():
    X, y = _blobs(600)
    fits = [MLNNClassifier((64,), batch_size=300, max_iter=3, n_threads=t,
                           random_state=0).fit(X, y) for t in (1, 2)]
    np.testing.assert_array_equal(fits[0]._model.params, fits[1]._model.params)


# -- the shared core ----------------------------------------------------------------
def test_runs_on_the_shared_core(monkeypatch):
    X, y = _blobs()
    calls = {"gradients": 0, "train": 0}
    for name in calls:
        orig = getattr(Model, name)

        def counted(self, *a, _orig=orig, _name=name, **k):
            calls[_name] += 1
            return _orig(self, *a, **k)
        monkeypatch.setattr(Model, name, counted)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = MLNNClassifier((5,), batch_size=40, max_iter=2, random_state=0).fit(X, y)
        MLNNClassifier((5,), solver="gd", batch_size=None, max_iter=2).fit(X, y)
    assert isinstance(clf._model, Model)
    assert calls == {"gradients": 2 * 3, "train": 2}


def test_coefs_are_views_of_the_weights():
    X, y = _blobs()
    clf = MLNNClassifier((5, 3), max_iter=1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    assert [W.shape for W in clf.coefs_] == [(4, 5), (5, 3), (3, 3)]
    assert [b.shape for b in clf.intercepts_] == [(5,), (3,), (3,)]
    clf.coefs_[-1][...] = 0
    clf.intercepts_[-1][...] = [0, 0, 5]
    assert np.all(clf.predict(X) == clf.classes_[2])
    assert not hasattr(MLNNClassifier(), "coefs_")


def test_verbose_shows_a_progress_bar_with_the_loss():
    X, y = _blobs()
    err = io.StringIO()
    with redirect_stderr(err), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        MLNNClassifier((4,), max_iter=3, verbose=True, random_state=0).fit(X, y)
    assert "loss=" in err.getvalue() and "3/3" in err.getvalue()


# -- scikit-learn tools ----------------------------------------------------------------
def test_pipeline_gridsearch_cross_val_clone_pickle():
    X, y = make_moons(200, noise=0.2, random_state=1)
    y = np.array(["left", "right"])[y]
    pipe = make_pipeline(StandardScaler(), MLNNClassifier(
        (16,), learning_rate_init=0.02, max_iter=150, random_state=0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        scores = cross_val_score(pipe, X, y, cv=3)
        assert scores.mean() > 0.9
        search = GridSearchCV(pipe, {"mlnnclassifier__alpha": [1e-4, 1e-1],
                                     "mlnnclassifier__solver": ["adam", "momentum"]},
                              cv=3, n_jobs=2).fit(X, y)
    assert search.best_score_ > 0.9
    serial = GridSearchCV(pipe, search.param_grid, cv=3, n_jobs=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        serial.fit(X, y)
    np.testing.assert_array_equal(search.cv_results_["mean_test_score"],
                                  serial.cv_results_["mean_test_score"])

    clf = search.best_estimator_[-1]
    fresh = clone(clf)
    assert fresh.get_params() == clf.get_params() and not hasattr(fresh, "classes_")

    restored = pickle.loads(pickle.dumps(search.best_estimator_))
    np.testing.assert_array_equal(restored.predict(X), search.best_estimator_.predict(X))
    np.testing.assert_array_equal(restored.predict_proba(X),
                                  search.best_estimator_.predict_proba(X))
    # an unpickled model keeps training exactly like the original
    a, b = search.best_estimator_[-1], restored[-1]
    Xs = search.best_estimator_[0].transform(X)
    a.partial_fit(Xs, y)
    b.partial_fit(Xs, y)
    np.testing.assert_array_equal(a._model.params, b._model.params)


def test_dataframe_feature_names():
    pd = pytest.importorskip("pandas")
    X, y = _blobs()
    df = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = MLNNClassifier((4,), max_iter=2, random_state=0).fit(df, y)
    np.testing.assert_array_equal(clf.feature_names_in_, ["a", "b", "c", "d"])
    assert clf.n_features_in_ == 4
    with pytest.warns(UserWarning, match="feature names"):
        clf.predict(X)

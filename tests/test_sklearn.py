"""MLNNClassifier and MLNNRegressor: scikit-learn's estimator checks, the same
model as MLPClassifier / MLPRegressor, bad input, and the meta-estimator tools.

The exactness tests fit both libraries with the same data, parameters and
random_state and compare everything a user can read: coefs_, intercepts_,
loss_curve_, validation_scores_, n_iter_, best_loss_ and the predictions.
Tolerances (norm-wise relative error): 1e-8 in float64, 1e-6 for L-BFGS in
float64, 1e-4 in float32.  The fits are short on purpose: over long runs
training amplifies rounding (MLPClassifier itself, with one sum taken in
another precision or its gradient changed by an ulp, drifts 1e-6 .. 1e-2
away after some tens of L-BFGS iterations or float32 Adam epochs), so two
implementations that round differently can only agree that closely early on.
"""

import inspect
import io
import pickle
import warnings
from contextlib import redirect_stdout

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone, is_classifier
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

import mlnn
from mlnn import MLNNClassifier, MLNNRegressor
from mlnn._core import Model

from conftest import BACKENDS, rel_err

# Short fits on purpose (test_warnings_match_sklearn checks the warnings).
pytestmark = pytest.mark.filterwarnings(
    "ignore::sklearn.exceptions.ConvergenceWarning",
    "ignore:Got `batch_size`:UserWarning")

OURS = {MLPClassifier: MLNNClassifier, MLPRegressor: MLNNRegressor}


# -- scikit-learn's estimator checks --------------------------------------------------
# Every check passes; none is listed as an expected failure.  Adam with a
# larger step than the default (so the small networks learn the checks' data
# in 100 epochs) and L-BFGS, for both estimators and both backends.  (With
# mini-batches smaller than the data, check_sample_weight_equivalence could
# not pass: weighting a sample is not repeating it when batches are drawn at
# random.  batch_size='auto' is the full data set for every check's data.)
def _check_instances():
    out = []
    for backend in BACKENDS:
        small = dict(hidden_layer_sizes=(8,), random_state=0, backend=backend)
        out += [MLNNClassifier(learning_rate_init=0.05, max_iter=100, **small),
                MLNNClassifier(solver="lbfgs", max_iter=40, **small),
                MLNNRegressor(learning_rate_init=0.05, max_iter=100, **small),
                MLNNRegressor(solver="lbfgs", max_iter=40, **small)]
    return out


@parametrize_with_checks(_check_instances())
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


# -- data -------------------------------------------------------------------------------
def _data(kind, n=90, seed=0):
    """X (n, 4) and targets of one kind: multiclass, binary, multilabel,
    regression, multioutput or poisson."""
    rng = np.random.RandomState(seed)
    X = rng.randn(n, 4)
    noise = 0.5 * rng.randn(n, 3)
    if kind == "multiclass":
        y = np.argmax(X[:, :3] + noise, axis=1)
    elif kind == "binary":
        y = (X[:, 0] + X[:, 1] + noise[:, 0] > 0).astype(int)
    elif kind == "multilabel":
        y = (X[:, :3] + noise > 0).astype(int)
    elif kind == "regression":
        y = X @ [1.0, -2.0, 0.5, 0.0] + 0.1 * noise[:, 0]
    elif kind == "multioutput":
        y = X @ rng.randn(4, 2) + 0.1 * noise[:, :2]
    elif kind == "poisson":
        y = rng.poisson(np.exp(0.4 * X @ [1.0, -0.5, 0.3, 0.0])).astype(float)
    else:
        raise ValueError(kind)
    return X, y


def _sparsify(X):
    return np.where(np.abs(X) < 0.6, 0.0, X)


SK_ESTIMATOR = {"multiclass": MLPClassifier, "binary": MLPClassifier,
                "multilabel": MLPClassifier, "regression": MLPRegressor,
                "multioutput": MLPRegressor, "poisson": MLPRegressor}

COMMON = dict(hidden_layer_sizes=(6, 5), alpha=1e-3, batch_size=32, random_state=0)

# 90 samples in batches of 32: the last batch (26 rows) is short.
# L-BFGS is run for 15 iterations: later, its path is chaotic on these
# problems (MLPClassifier itself, with its gradient changed by one ulp, ends
# 5e-7 away after 30 iterations and 3e-4 away after 40), so no two
# implementations that round differently can agree to 1e-6 there.
SOLVER_CONFIGS = {
    "lbfgs": dict(solver="lbfgs", max_iter=15),
    "sgd-nesterov": dict(solver="sgd", learning_rate_init=0.05, max_iter=12),
    "sgd-momentum": dict(solver="sgd", nesterovs_momentum=False, learning_rate_init=0.05,
                         max_iter=12),
    "sgd-plain": dict(solver="sgd", momentum=0.0, learning_rate_init=0.1, max_iter=12),
    "sgd-invscaling": dict(solver="sgd", learning_rate="invscaling",
                           learning_rate_init=0.3, power_t=0.3, max_iter=12),
    "sgd-adaptive": dict(solver="sgd", learning_rate="adaptive", learning_rate_init=0.05,
                         tol=0.05, n_iter_no_change=2, max_iter=30),
    "adam": dict(solver="adam", learning_rate_init=0.02, max_iter=12),
}
ACTIVATIONS = ["identity", "logistic", "tanh", "relu"]


def _tolerance(est, dtype):
    if dtype == np.float32:
        return 1e-4
    return 1e-6 if est.solver == "lbfgs" else 1e-8


def _close(a, b, rtol, what):
    if b is None or isinstance(b, str):
        assert a == b, what
        return
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape, what
    if b.size:
        assert rel_err(a, b) <= rtol, f"{what}: relative error {rel_err(a, b):.3g}"


def assert_same_model(ours, theirs, X, dtype=np.float64):
    """Everything fitted equal to rounding, and the same predictions on X."""
    rtol = _tolerance(theirs, dtype)
    assert ours.n_iter_ == theirs.n_iter_
    assert ours.t_ == theirs.t_
    for name in ("n_layers_", "n_outputs_", "out_activation_", "n_features_in_"):
        assert getattr(ours, name) == getattr(theirs, name), name
    for name in ("loss_", "loss_curve_", "best_loss_", "validation_scores_",
                 "best_validation_score_"):
        assert hasattr(ours, name) == hasattr(theirs, name), name
        if hasattr(theirs, name):
            _close(getattr(ours, name), getattr(theirs, name), rtol, name)
    assert len(ours.coefs_) == len(theirs.coefs_) == ours.n_layers_ - 1
    for i, (a, b) in enumerate(zip(ours.coefs_, theirs.coefs_)):
        _close(a, b, rtol, f"coefs_[{i}]")
    for i, (a, b) in enumerate(zip(ours.intercepts_, theirs.intercepts_)):
        _close(a, b, rtol, f"intercepts_[{i}]")
    if hasattr(theirs, "_optimizer"):  # the schedules' current learning rate
        _close(ours._optimizer.learning_rate, theirs._optimizer.learning_rate, rtol,
               "learning_rate")
    if is_classifier(theirs):
        np.testing.assert_array_equal(ours.classes_, theirs.classes_)
        np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))
        _close(ours.predict_proba(X), theirs.predict_proba(X), rtol, "predict_proba")
    else:
        _close(ours.predict(X), theirs.predict(X), rtol, "predict")


def _pair(sk_class, backend, **params):
    return OURS[sk_class](backend=backend, **params), sk_class(**params)


def _fit_pair(kind, backend, params, X=None, y=None, **fit_kw):
    if X is None:
        X, y = _data(kind)
    ours, theirs = _pair(SK_ESTIMATOR[kind], backend, **params)
    ours.fit(X, y, **fit_kw)
    theirs.fit(X, y, **fit_kw)
    return ours, theirs, X


# -- the same model as scikit-learn ---------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("config", list(SOLVER_CONFIGS))
def test_same_model_every_solver_and_activation(config, activation, backend):
    params = {**COMMON, **SOLVER_CONFIGS[config], "activation": activation}
    ours, theirs, X = _fit_pair("multiclass", backend, params)
    assert_same_model(ours, theirs, X)
    if config == "sgd-adaptive":  # the schedule really changed the rate
        assert ours._optimizer.learning_rate < params["learning_rate_init"]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("solver", ["lbfgs", "sgd-nesterov", "adam"])
@pytest.mark.parametrize("kind", ["binary", "multilabel", "regression", "multioutput",
                                  "poisson"])
def test_same_model_every_output_head(kind, solver, backend):
    params = {**COMMON, **SOLVER_CONFIGS[solver], "activation": "tanh"}
    if kind == "poisson" and solver != "lbfgs":
        params["learning_rate_init"] = 0.01
    ours, theirs, X = _fit_pair(kind, backend, params)
    assert_same_model(ours, theirs, X)
    if kind in ("binary", "multilabel"):
        assert ours.out_activation_ == "logistic"
        assert ours.coefs_[-1].shape == (5, 1 if kind == "binary" else 3)


def _weights(n, seed=1):
    w = np.random.RandomState(seed).uniform(0, 3, n)
    w[::7] = 0.0
    return w


# (id, kind, solver config, extra parameters, how X changes, with sample weights)
SCENARIOS = [
    ("early-stopping-multiclass", "multiclass", "adam",
     dict(early_stopping=True, validation_fraction=0.2, n_iter_no_change=3, max_iter=40),
     None, False),
    ("early-stopping-binary-stratified", "binary", "sgd-nesterov",
     dict(early_stopping=True, n_iter_no_change=2, max_iter=40), None, False),
    ("early-stopping-multilabel", "multilabel", "adam",
     dict(early_stopping=True, n_iter_no_change=2, max_iter=40), None, False),
    ("early-stopping-regression", "regression", "adam",
     dict(early_stopping=True, n_iter_no_change=2, max_iter=40), None, False),
    ("early-stopping-adaptive", "multiclass", "sgd-adaptive",
     dict(early_stopping=True, validation_fraction=0.3), None, False),
    ("early-stopping-weights", "binary", "adam",
     dict(early_stopping=True, n_iter_no_change=2, max_iter=40), None, True),
    ("weights-multiclass-adam", "multiclass", "adam", {}, None, True),
    ("weights-multiclass-sgd", "multiclass", "sgd-nesterov", {}, None, True),
    ("weights-binary-lbfgs", "binary", "lbfgs", {}, None, True),
    ("weights-multilabel", "multilabel", "adam", {}, None, True),
    ("weights-regression-sgd", "regression", "sgd-invscaling", {}, None, True),
    ("weights-poisson-lbfgs", "poisson", "lbfgs", {}, None, True),
    ("full-batch-adam", "multiclass", "adam", dict(batch_size=500), None, False),
    ("full-batch-sgd", "regression", "sgd-nesterov", dict(batch_size=90), None, False),
    ("batch-7", "binary", "adam", dict(batch_size=7, max_iter=4), None, False),
    ("batch-auto", "multiclass", "adam", dict(batch_size="auto"), None, False),
    ("no-shuffle", "multiclass", "sgd-nesterov", dict(shuffle=False), None, False),
    ("no-hidden-layer", "multiclass", "adam", dict(hidden_layer_sizes=()), None, False),
    ("three-hidden-layers", "regression", "adam", dict(hidden_layer_sizes=(5, 4, 3)),
     None, False),
    ("int-hidden-layer-sizes", "binary", "lbfgs", dict(hidden_layer_sizes=7), None,
     False),
    ("alpha-0", "multiclass", "adam", dict(alpha=0.0), None, False),
    ("n-iter-no-change-inf", "multiclass", "adam",
     dict(n_iter_no_change=np.inf, tol=10.0), None, False),
    ("stops-on-tol", "multiclass", "adam", dict(tol=1.0, n_iter_no_change=2), None,
     False),
    ("csr", "multiclass", "adam", {}, sp.csr_matrix, False),
    ("csc", "multiclass", "sgd-nesterov", {}, sp.csc_matrix, False),
    ("csr-array-lbfgs", "regression", "lbfgs", {}, sp.csr_array, False),
    ("csr-weights-early-stopping", "binary", "adam",
     dict(early_stopping=True, n_iter_no_change=2), sp.csr_matrix, True),
    ("int-X", "multiclass", "adam", {}, lambda X: np.round(3 * X).astype(np.int64),
     False),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind, solver, extra, make_X, weighted",
                         [s[1:] for s in SCENARIOS], ids=[s[0] for s in SCENARIOS])
def test_same_model_scenarios(kind, solver, extra, make_X, weighted, backend):
    X, y = _data(kind)
    if make_X is not None:
        X = make_X(_sparsify(X)) if make_X in (sp.csr_matrix, sp.csc_matrix,
                                                sp.csr_array) else make_X(X)
    params = {**COMMON, **SOLVER_CONFIGS[solver], **extra}
    fit_kw = {"sample_weight": _weights(len(y))} if weighted else {}
    ours, theirs, X = _fit_pair(kind, backend, params, X, y, **fit_kw)
    assert_same_model(ours, theirs, X)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("labels", [["cat", "dog", "emu"], ["no", "yes"], [-7, 3, 1000],
                                    [1.0, 3.0], [True, False]], ids=str)
def test_same_model_any_labels(labels, backend):
    X, y_idx = _data("multiclass" if len(labels) == 3 else "binary")
    y = np.array(labels)[y_idx]
    params = {**COMMON, **SOLVER_CONFIGS["adam"]}
    ours, theirs, X = _fit_pair("multiclass", backend, params, X, y)
    assert_same_model(ours, theirs, X)
    assert ours.predict(X).dtype == theirs.predict(X).dtype


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind, solver", [
    ("multiclass", "lbfgs"), ("multiclass", "sgd-nesterov"), ("multiclass", "adam"),
    ("binary", "sgd-adaptive"), ("multilabel", "adam"), ("regression", "lbfgs"),
    ("multioutput", "adam"), ("poisson", "sgd-nesterov"), ("regression", "early-stop"),
])
def test_same_model_float32(kind, solver, backend):
    """float32 X gives a float32 model, 1e-4 from scikit-learn."""
    X, y = _data(kind)
    X = X.astype(np.float32)
    if solver == "early-stop":
        params = {**COMMON, **SOLVER_CONFIGS["adam"], "early_stopping": True,
                  "n_iter_no_change": 2}
    else:
        params = {**COMMON, **SOLVER_CONFIGS[solver]}
    if kind == "poisson":
        params["learning_rate_init"] = 0.01
    ours, theirs, X = _fit_pair(kind, backend, params, X, y)
    assert ours.coefs_[0].dtype == np.float32
    assert_same_model(ours, theirs, X, dtype=np.float32)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("sparse", [False, True])
def test_dtype_parameter(sparse, backend):
    """dtype=np.float32 on float64 X: scikit-learn's model on float32 X."""
    X, y = _data("multiclass")
    if sparse:
        X = sp.csr_matrix(_sparsify(X))
    params = {**COMMON, **SOLVER_CONFIGS["adam"]}
    ours = MLNNClassifier(dtype=np.float32, backend=backend, **params).fit(X, y)
    theirs = MLPClassifier(**params).fit(X.astype(np.float32), y)
    assert all(W.dtype == np.float32 for W in ours.coefs_ + ours.intercepts_)
    assert_same_model(ours, theirs, X.astype(np.float32), dtype=np.float32)
    ours64 = MLNNClassifier(dtype=np.float64, backend=backend, **params)
    ours64.fit(X.astype(np.float32), y)
    assert ours64.coefs_[0].dtype == np.float64


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind, solver, extra", [
    ("multiclass", "adam", {}),
    ("regression", "sgd-invscaling", {}),
    ("binary", "lbfgs", {}),
    # after an early-stopping fit, the restored best weights are the live
    # ones: a warm fit that never improves ends on its last epoch
    ("multiclass", "adam", dict(early_stopping=True, n_iter_no_change=2,
                                validation_fraction=0.3)),
    ("regression", "adam", dict(early_stopping=True, n_iter_no_change=2)),
])
def test_same_model_warm_start(kind, solver, extra, backend):
    X, y = _data(kind)
    params = {**COMMON, **SOLVER_CONFIGS[solver], "max_iter": 6, **extra}
    ours, theirs = _pair(SK_ESTIMATOR[kind], backend, **params)
    for est in (ours, theirs):
        est.fit(X, y)
        est.set_params(warm_start=True)
    assert_same_model(ours, theirs, X)
    for seed in (1, 2):  # new data, the same network
        X2, y2 = _data(kind, seed=seed)
        ours.fit(X2, y2)
        theirs.fit(X2, y2)
        assert_same_model(ours, theirs, X2)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind, solver", [
    ("multiclass", "adam"), ("binary", "sgd-nesterov"), ("multilabel", "adam"),
    ("regression", "sgd-adaptive"), ("multioutput", "adam"),
])
def test_same_model_partial_fit(kind, solver, backend):
    """A sequence of partial_fit calls (optimizer state carried over), one
    with sample weights, then a fit and partial_fit after it."""
    X, y = _data(kind, n=150)
    params = {**COMMON, **SOLVER_CONFIGS[solver]}
    ours, theirs = _pair(SK_ESTIMATOR[kind], backend, **params)
    first = {"classes": np.unique(y)} if kind in ("multiclass", "binary") else {}
    if kind == "multilabel":
        first = {"classes": [0, 1, 2]}
    w = _weights(50)
    steps = [(slice(0, 50), first), (slice(50, 100), {"sample_weight": w}),
             (slice(100, 150), {}), (slice(0, 150), {})]
    for rows, kw in steps:
        for est in (ours, theirs):
            est.partial_fit(X[rows], y[rows], **kw)
        assert_same_model(ours, theirs, X)
    assert ours.n_iter_ == 1
    for est in (ours, theirs):
        est.fit(X, y)
        est.partial_fit(X[:40], y[:40])
    assert_same_model(ours, theirs, X)


@pytest.mark.parametrize("backend", BACKENDS)
def test_partial_fit_first_batch_without_every_class(backend):
    X, y = _data("multiclass")
    y = np.array(["a", "b", "c"])[y]
    ours, theirs = _pair(MLPClassifier, backend, **COMMON, **SOLVER_CONFIGS["adam"])
    keep = y != "c"
    for est in (ours, theirs):
        est.partial_fit(X[keep], y[keep], classes=["c", "a", "b"])
        est.partial_fit(X, y)
    np.testing.assert_array_equal(ours.classes_, ["a", "b", "c"])
    assert_same_model(ours, theirs, X)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind, solver, extra", [
    ("multiclass", "sgd-adaptive", dict(early_stopping=True, validation_fraction=0.3)),
    ("regression", "sgd-adaptive", {}),
    ("binary", "adam", dict(tol=0.5, n_iter_no_change=1)),
])
def test_verbose_prints_sklearns_lines(kind, solver, extra, backend):
    X, y = _data(kind)
    params = {**COMMON, **SOLVER_CONFIGS[solver], **extra, "verbose": True}
    printed = []
    for est in _pair(SK_ESTIMATOR[kind], backend, **params):
        out = io.StringIO()
        with redirect_stdout(out):
            est.fit(X, y)
        printed.append(out.getvalue())
    assert printed[0] == printed[1]
    assert "Iteration 1, loss = " in printed[0]
    assert "did not improve more than tol" in printed[0]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("params", [
    dict(solver="adam", max_iter=3),
    dict(solver="lbfgs", max_iter=3),
    dict(solver="lbfgs", max_iter=50, max_fun=10),
    dict(solver="sgd", max_iter=2, batch_size=500),
], ids=["adam", "lbfgs-max-iter", "lbfgs-max-fun", "batch-clipped"])
def test_warnings_match_sklearn(params, backend):
    X, y = _data("multiclass")
    caught = []
    for est in _pair(MLPClassifier, backend, hidden_layer_sizes=(6,), random_state=0,
                     **params):
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            est.fit(X, y)
        caught.append([(w.category, str(w.message)) for w in record])
    assert caught[0] == caught[1]
    assert caught[0]


# -- attributes and the API ----------------------------------------------------------
@pytest.mark.parametrize("sk_class", [MLPClassifier, MLPRegressor])
def test_signature_is_sklearns_plus_mlnn_parameters(sk_class):
    ours = inspect.signature(OURS[sk_class].__init__).parameters
    theirs = inspect.signature(sk_class.__init__).parameters
    extra = ["n_threads", "dtype", "backend"]
    assert list(ours) == list(theirs) + extra
    for name, p in theirs.items():
        assert ours[name].kind == p.kind and ours[name].default == p.default, name
    for name in extra:
        assert ours[name].kind == inspect.Parameter.KEYWORD_ONLY
        assert ours[name].default is None


@pytest.mark.parametrize("sk_class", [MLPClassifier, MLPRegressor])
def test_tags_are_sklearns(sk_class):
    assert OURS[sk_class]().__sklearn_tags__() == sk_class().__sklearn_tags__()


@pytest.mark.parametrize("solver", ["lbfgs", "sgd", "adam"])
@pytest.mark.parametrize("sk_class", [MLPClassifier, MLPRegressor])
def test_partial_fit_exists_only_for_stochastic_solvers(sk_class, solver):
    est = OURS[sk_class](solver=solver)
    assert hasattr(est, "partial_fit") == (solver != "lbfgs")
    if solver == "lbfgs":
        with pytest.raises(AttributeError,
                           match="has no attribute 'partial_fit'") as exc:
            est.partial_fit
        assert "lbfgs is not stochastic" in str(exc.value.__cause__)


def test_fitted_attributes_are_sklearns():
    X, y = _data("binary")
    for solver in ("lbfgs", "adam"):
        for early in (False, True):
            params = dict(hidden_layer_sizes=(4,), solver=solver, max_iter=5,
                          early_stopping=early, random_state=0)
            ours, theirs = MLNNClassifier(**params), MLPClassifier(**params)
            for est in (ours, theirs):
                est.fit(X, y)
            public = {n for n in dir(theirs)
                      if n.endswith("_") and not n.startswith("_")}
            assert {n for n in public if hasattr(ours, n)} == public
            for name in ("loss_curve_", "best_loss_", "validation_scores_"):
                assert hasattr(ours, name) == hasattr(theirs, name)


def test_refit_with_lbfgs_drops_stochastic_attributes():
    X, y = _data("regression")
    reg = MLNNRegressor(hidden_layer_sizes=(4,), max_iter=3, random_state=0).fit(X, y)
    assert hasattr(reg, "loss_curve_")
    reg.set_params(solver="lbfgs").fit(X, y)
    assert not hasattr(reg, "loss_curve_") and not hasattr(reg, "best_loss_")


def test_warm_start_from_lbfgs_with_a_stochastic_solver():
    # MLPClassifier fails here (it has no loss_curve_ to append to); the
    # stochastic bookkeeping starts afresh, the weights go on from L-BFGS's
    X, y = _data("multiclass")
    clf = MLNNClassifier((4,), solver="lbfgs", max_iter=5, random_state=0).fit(X, y)
    start = np.concatenate([W.ravel() for W in clf.coefs_])
    clf.set_params(solver="adam", warm_start=True, max_iter=3, early_stopping=True)
    clf.fit(X, y)
    assert len(clf.loss_curve_) == len(clf.validation_scores_) == 3
    assert rel_err(np.concatenate([W.ravel() for W in clf.coefs_]), start) < 0.5
    clf.set_params(early_stopping=False).fit(X, y)  # and switched off again
    assert len(clf.loss_curve_) == 3 and clf.validation_scores_ is None
    assert clf.best_loss_ == min(clf.loss_curve_)


def test_coefs_are_live_and_assignable():
    X, y = _data("multiclass")
    clf = MLNNClassifier((5, 3), max_iter=2, random_state=0, backend="numpy").fit(X, y)
    assert [W.shape for W in clf.coefs_] == [(4, 5), (5, 3), (3, 3)]
    assert [b.shape for b in clf.intercepts_] == [(5,), (3,), (3,)]
    # write through a view
    clf.coefs_[-1][...] = 0
    clf.intercepts_[-1][...] = [0, 0, 5]
    assert np.all(clf.predict(X) == clf.classes_[2])
    # assign whole lists (as one would on MLPClassifier)
    sk = MLPClassifier((5, 3), max_iter=2, random_state=1).fit(X, y)
    clf.set_params(random_state=1)
    clf.coefs_ = [W.copy() for W in sk.coefs_]
    clf.intercepts_ = [b.copy() for b in sk.intercepts_]
    np.testing.assert_allclose(clf.predict_proba(X), sk.predict_proba(X), rtol=1e-12)
    # assign one layer
    clf.intercepts_[2] = [0, 0, 5]
    np.testing.assert_array_equal(clf.intercepts_[2], [0, 0, 5])
    # a warm-started fit starts from the assigned weights, like scikit-learn's
    start = [W * 0.5 for W in sk.coefs_], [b.copy() for b in sk.intercepts_]
    for est in (clf, sk):
        est.coefs_, est.intercepts_ = start
        est.set_params(warm_start=True, max_iter=3).fit(X, y)
    np.testing.assert_allclose(np.concatenate([W.ravel() for W in clf.coefs_]),
                               np.concatenate([W.ravel() for W in sk.coefs_]), rtol=1e-8)
    with pytest.raises(ValueError, match=r"coefs_\[0\] must have shape \(4, 5\)"):
        clf.coefs_ = [np.zeros((5, 4)), *clf.coefs_[1:]]
    with pytest.raises(ValueError, match="list of 3 arrays"):
        clf.intercepts_ = clf.intercepts_[:2]
    assert not hasattr(MLNNClassifier(), "coefs_")
    with pytest.raises(AttributeError):
        MLNNClassifier().coefs_ = []


def test_predict_shapes_and_proba():
    X, y = _data("binary")
    clf = MLNNClassifier((4,), max_iter=5, random_state=0)
    clf.fit(X, np.array(["n", "y"])[y])
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1)
    np.testing.assert_allclose(clf.predict_log_proba(X), np.log(proba))
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[(proba[:, 1] > 0.5) * 1])
    X, Y = _data("multilabel")
    clf = MLNNClassifier((4,), max_iter=5, random_state=0).fit(X, Y)
    assert clf.predict(X).shape == Y.shape and clf.predict_proba(X).shape == Y.shape
    X, Y = _data("multioutput")
    reg = MLNNRegressor(hidden_layer_sizes=(4,), max_iter=5, random_state=0).fit(X, Y)
    assert reg.predict(X).shape == Y.shape
    reg.fit(X, Y[:, 0])
    assert reg.predict(X).shape == (len(X),)


def test_keyboard_interrupt_keeps_the_model(monkeypatch):
    X, y = _data("multiclass")
    calls = {"n": 0}
    original = Model.epoch

    def interrupted(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Model, "epoch", interrupted)
    clf = MLNNClassifier((4,), max_iter=10, random_state=0)
    with pytest.warns(UserWarning, match="Training interrupted by user."):
        clf.fit(X, y)
    assert clf.n_iter_ == 2 and len(clf.loss_curve_) == 2
    assert clf.predict(X).shape == (len(X),)


@pytest.mark.parametrize("sk_class", [MLPClassifier, MLPRegressor])
def test_non_finite_weights_are_an_error_like_sklearns(sk_class):
    X, y = _data("binary" if sk_class is MLPClassifier else "regression")
    params = dict(hidden_layer_sizes=(4,), solver="sgd", learning_rate_init=1e12,
                  max_iter=30, n_iter_no_change=1000, random_state=0)
    msg = "Solver produced non-finite parameter weights"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for est in (sk_class(**params), OURS[sk_class](**params)):
            with pytest.raises(ValueError, match=msg):
                est.fit(X * 1e3, y * 1e3 if sk_class is MLPRegressor else y)


def test_the_fit_runs_on_the_shared_core(monkeypatch):
    """One Model.epoch call per epoch; L-BFGS through Model.loss_grad."""
    X, y = _data("multiclass")
    calls = {"epoch": 0, "loss_grad": 0}
    for name in calls:
        original = getattr(Model, name)

        def counted(self, *a, _original=original, _name=name, **k):
            calls[_name] += 1
            return _original(self, *a, **k)
        monkeypatch.setattr(Model, name, counted)
    clf = MLNNClassifier((5,), max_iter=4, random_state=0).fit(X, y)
    assert isinstance(clf._model, Model) and calls == {"epoch": 4, "loss_grad": 0}
    MLNNClassifier((5,), solver="lbfgs", max_iter=4, random_state=0).fit(X, y)
    assert calls["epoch"] == 4 and calls["loss_grad"] > 0


@pytest.mark.parametrize("backend", BACKENDS)
def test_thread_count_does_not_change_results(backend):
    X, y = _data("multiclass", n=600)
    fits = [MLNNClassifier((64,), batch_size=300, max_iter=3, n_threads=t,
                           backend=backend, random_state=0).fit(X, y) for t in (1, 2)]
    np.testing.assert_array_equal(fits[0]._model.params, fits[1]._model.params)


# -- bad input --------------------------------------------------------------------------
@pytest.mark.parametrize("param, value", [
    ("hidden_layer_sizes", (4, 0)), ("hidden_layer_sizes", "wide"),
    ("hidden_layer_sizes", (4.5,)), ("activation", "sigmoid"), ("solver", "gd"),
    ("solver", "momentum"), ("alpha", -1.0), ("learning_rate", "optimal"),
    ("learning_rate_init", 0.0), ("power_t", -0.5), ("max_iter", 0), ("max_iter", 2.5),
    ("batch_size", 0), ("batch_size", None), ("batch_size", "big"), ("tol", -1.0),
    ("shuffle", "yes"), ("random_state", -1), ("random_state", "seed"),
    ("verbose", -1), ("warm_start", 1), ("momentum", 1.5), ("nesterovs_momentum", None),
    ("early_stopping", "no"), ("validation_fraction", 1.0), ("beta_1", 1.0),
    ("beta_2", -0.1), ("epsilon", 0.0), ("n_iter_no_change", 0),
    ("n_iter_no_change", 2.5), ("max_fun", 0), ("n_threads", 0), ("n_threads", 1.5),
    ("dtype", np.int32), ("backend", "torch"), ("alpha", float("nan")),
])
@pytest.mark.parametrize("est_class", [MLNNClassifier, MLNNRegressor])
def test_bad_parameters_fail_in_fit(est_class, param, value):
    X, y = _data("binary")
    est = est_class(**{param: value})  # __init__ only stores
    with pytest.raises(ValueError, match=param):
        est.fit(X, y)


def test_bad_loss():
    X, y = _data("regression")
    with pytest.raises(ValueError, match="loss"):
        MLNNRegressor(loss="absolute_error").fit(X, y)


@pytest.mark.parametrize("sample_weight, match", [
    (np.ones(5), r"sample_weight.shape == \(5,\), expected \(90,\)"),
    (-np.ones(90), "Negative values in data passed to `sample_weight`"),
    (np.r_[np.nan, np.ones(89)], "sample_weight contains NaN"),
    (np.r_[np.inf, np.ones(89)], "sample_weight contains infinity"),
    (np.zeros(90), "`sample_weight` is all zero"),
    (np.ones((90, 2)), "sample_weight"),
    (float("nan"), "sample_weight contains NaN"),
])
@pytest.mark.parametrize("est_class", [MLNNClassifier, MLNNRegressor])
def test_bad_sample_weight(est_class, sample_weight, match):
    X, y = _data("binary")
    with pytest.raises(ValueError, match=match):
        est_class(hidden_layer_sizes=(4,), max_iter=2).fit(
            X, y, sample_weight=sample_weight)


def test_scalar_sample_weight_is_sklearns():
    # not the same as no weights: the penalty is divided by the summed weights
    X, y = _data("multiclass")
    params = {**COMMON, **SOLVER_CONFIGS["adam"]}
    ours, theirs, X = _fit_pair("multiclass", None, params, X, y, sample_weight=2.0)
    assert_same_model(ours, theirs, X)


def test_bad_targets():
    X, _ = _data("multilabel")
    bad_multilabel = np.tile([0, 2, 1], (90, 1))
    with pytest.raises(ValueError, match="Multioutput target data is not supported"):
        MLNNClassifier().fit(X, bad_multilabel)
    with pytest.raises(ValueError, match="Unknown label type"):
        MLNNClassifier().fit(X, np.linspace(0, 1, 90))
    for bad in (np.nan, np.inf):
        y = np.ones(90)
        y[3] = bad
        with pytest.raises(ValueError, match="Input y contains"):
            MLNNRegressor().fit(X, y)
    y = np.ones(90)
    y[0] = -1
    with pytest.raises(ValueError, match="negative"):
        MLNNRegressor(loss="poisson").fit(X, y)
    MLNNRegressor(max_iter=1).fit(X, y)  # squared error takes negative y


def test_non_finite_X():
    X, y = _data("multiclass")
    Xs = sp.csr_matrix(_sparsify(X))
    Xs.data[0] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        MLNNClassifier().fit(Xs, y)
    clf = MLNNClassifier((4,), max_iter=2, random_state=0).fit(X, y)
    reg = MLNNRegressor(hidden_layer_sizes=(4,), max_iter=2, random_state=0)
    reg.fit(X, y.astype(float))
    X_bad = X.copy()
    X_bad[1, 2] = np.inf
    for est in (clf, reg):
        with pytest.raises(ValueError, match="Input X contains infinity"):
            est.predict(X_bad)
        with pytest.raises(ValueError, match="Input X contains NaN"):
            est.predict(Xs)


def test_partial_fit_class_checks():
    X, y = _data("multiclass")
    clf = MLNNClassifier((4,), random_state=0)
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        clf.partial_fit(X, y)
    clf.partial_fit(X, y, classes=[0, 1, 2])
    with pytest.raises(ValueError, match="is not the same as on last call"):
        clf.partial_fit(X, y, classes=[0, 1, 2, 3])
    with pytest.raises(ValueError, match="`y` has classes not in `self.classes_`"):
        clf.partial_fit(X, np.where(y == 2, 7, y))
    with pytest.raises(ValueError, match="X has 3 features"):
        clf.partial_fit(X[:, :3], y)
    for est in (MLNNClassifier(early_stopping=True), MLNNRegressor(early_stopping=True)):
        kw = {"classes": [0, 1, 2]} if is_classifier(est) else {}
        with pytest.raises(ValueError, match="partial_fit does not support early_st"):
            est.partial_fit(X, y, **kw)
        assert not hasattr(est, "classes_") and not hasattr(est, "n_iter_")


def test_warm_start_checks():
    X, y = _data("multiclass")
    clf = MLNNClassifier((4,), max_iter=2, warm_start=True, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="same classes"):
        clf.fit(X, np.where(y == 2, 1, y))
    with pytest.raises(ValueError, match="layer sizes"):
        clf.set_params(hidden_layer_sizes=(5,)).fit(X, y)
    reg = MLNNRegressor(hidden_layer_sizes=(4,), max_iter=2, warm_start=True,
                        random_state=0)
    reg.fit(X, y.astype(float))
    with pytest.raises(ValueError, match="layer sizes"):
        reg.fit(X, np.c_[y, y].astype(float))


def test_early_stopping_validation_set_too_small():
    X, y = _data("regression", n=12)
    with pytest.raises(ValueError, match="validation set is too small"):
        MLNNRegressor(early_stopping=True, validation_fraction=0.05).fit(X, y)


# -- scikit-learn's tools ---------------------------------------------------------------
def test_pipeline_gridsearch_cross_val_clone_classifier():
    X, y = _data("binary", n=150)
    y = np.array(["left", "right"])[y]
    pipe = make_pipeline(StandardScaler(), MLNNClassifier(
        (8,), learning_rate_init=0.02, max_iter=60, random_state=0))
    assert cross_val_score(pipe, X, y, cv=3).mean() > 0.8
    grid = {"mlnnclassifier__alpha": [1e-4, 1e-1],
            "mlnnclassifier__solver": ["adam", "sgd", "lbfgs"]}
    search = GridSearchCV(pipe, grid, cv=3, n_jobs=2).fit(X, y)
    serial = GridSearchCV(pipe, grid, cv=3, n_jobs=1).fit(X, y)
    np.testing.assert_array_equal(search.cv_results_["mean_test_score"],
                                  serial.cv_results_["mean_test_score"])
    assert search.best_score_ > 0.8
    clf = search.best_estimator_[-1]
    fresh = clone(clf)
    assert fresh.get_params() == clf.get_params() and not hasattr(fresh, "classes_")


def test_pipeline_gridsearch_regressor():
    X, y = _data("regression", n=150)
    params = dict(hidden_layer_sizes=(8,), learning_rate_init=0.01, max_iter=60,
                  random_state=0)
    pipe = make_pipeline(StandardScaler(), MLNNRegressor(**params))
    grid = {"mlnnregressor__alpha": [1e-4, 1e-1],
            "mlnnregressor__solver": ["adam", "sgd"]}
    search = GridSearchCV(pipe, grid, cv=3).fit(X, y)
    assert search.best_score_ > 0.9
    sk_pipe = make_pipeline(StandardScaler(), MLPRegressor(**params))
    sk_search = GridSearchCV(sk_pipe, {k.replace("mlnn", "mlp"): v
                                       for k, v in grid.items()}, cv=3).fit(X, y)
    np.testing.assert_allclose(search.cv_results_["mean_test_score"],
                               sk_search.cv_results_["mean_test_score"], rtol=1e-8)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind, solver", [("multiclass", "adam"), ("regression", "sgd"),
                                          ("binary", "lbfgs")])
def test_pickle_round_trip(kind, solver, backend):
    X, y = _data(kind)
    est = OURS[SK_ESTIMATOR[kind]](hidden_layer_sizes=(6,), solver=solver, max_iter=5,
                                   random_state=0, backend=backend).fit(X, y)
    back = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(back.predict(X), est.predict(X))
    if is_classifier(est):
        np.testing.assert_array_equal(back.predict_proba(X), est.predict_proba(X))
    if solver != "lbfgs":  # an unpickled model keeps training exactly like the original
        est.partial_fit(X, y)
        back.partial_fit(X, y)
        np.testing.assert_array_equal(back._model.params, est._model.params)
        assert back.loss_curve_ == est.loss_curve_


def test_dataframe_feature_names():
    pd = pytest.importorskip("pandas")
    X, y = _data("regression")
    df = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    reg = MLNNRegressor(hidden_layer_sizes=(4,), max_iter=2, random_state=0).fit(df, y)
    np.testing.assert_array_equal(reg.feature_names_in_, ["a", "b", "c", "d"])
    assert reg.n_features_in_ == 4
    with pytest.warns(UserWarning, match="feature names"):
        reg.predict(X)


def test_exported_from_the_package():
    assert mlnn.MLNNClassifier is MLNNClassifier and mlnn.MLNNRegressor is MLNNRegressor
    assert {"MLNNClassifier", "MLNNRegressor"} <= set(mlnn.__all__)

"""Property tests (hypothesis): the compiled kernels against the NumPy
reference on random shapes and values, and extreme inputs that must give a
finite result or a clear error, never a crash or garbage."""

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mlnn
from mlnn import _core
from conftest import RTOL, rel_err, requires_compiled

# The reference reports overflows on extreme inputs as numpy RuntimeWarnings;
# what reaches the caller (a finite value or a clear error) is checked below.
pytestmark = pytest.mark.filterwarnings("ignore:.*encountered in:RuntimeWarning")

SETTINGS = settings(max_examples=50, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])
ACTIVATIONS = ["tanh", "relu", "sigmoid"]


@st.composite
def problems(draw):
    n_in = draw(st.integers(1, 6))
    hidden = draw(st.lists(st.integers(1, 20), min_size=0, max_size=3))
    n_out = draw(st.integers(2, 5))
    sizes = [n_in] + hidden + [n_out]
    n = draw(st.integers(1, 300))
    seed = draw(st.integers(0, 2**31 - 1))
    scale = draw(st.sampled_from([1e-3, 1.0, 10.0]))
    rng = np.random.RandomState(seed)
    X = rng.randn(n, n_in) * scale
    y = rng.randint(0, n_out, size=n)
    return (sizes, X, y, draw(st.sampled_from(ACTIVATIONS)),
            draw(st.sampled_from([np.float64, np.float32])), seed)


def _models(sizes, activation, dtype, seed):
    out = []
    for backend in ("cython", "numpy"):
        m = _core.Model(sizes, activation, dtype, backend=backend)
        m.init_weights(seed)
        out.append(m)
    return out


@requires_compiled
@SETTINGS
@given(problems(), st.sampled_from([0.0, 0.01, 1.0]))
def test_compiled_matches_reference(problem, reg_lambda):
    sizes, X, y, activation, dtype, seed = problem
    fast, ref = _models(sizes, activation, dtype, seed)
    Xd = np.ascontiguousarray(X, dtype=dtype)
    tol = RTOL[dtype]

    pa, pb = fast.predict_proba(Xd), ref.predict_proba(Xd)
    assert pa.dtype == dtype and pa.shape == (len(X), sizes[-1])
    assert rel_err(pa, pb) <= tol
    np.testing.assert_allclose(pa.sum(axis=1), 1, rtol=10 * tol)
    # labels agree wherever the top two probabilities are not a near-tie
    top2 = np.sort(pb, axis=1)[:, -2:]
    clear = top2[:, 1] - top2[:, 0] > 100 * tol
    np.testing.assert_array_equal(fast.predict(Xd)[clear], ref.predict(Xd)[clear])

    la, lb = fast.loss(Xd, y, reg_lambda), ref.loss(Xd, y, reg_lambda)
    assert abs(la - lb) <= 10 * tol * max(abs(lb), 1e-12)

    ga, bad_a = fast.gradients(Xd, y, reg_lambda)
    gb, bad_b = ref.gradients(Xd, y, reg_lambda)
    assert bad_a == bad_b == 0
    # float32 gradients are sums of up to 300 samples' terms; compare with a
    # tolerance that grows with n (each sum is accumulated in double)
    assert rel_err(ga, gb) <= tol * (1 if dtype == np.float64 else 10)

    # a few passes of training (short enough that ReLU kinks do not let
    # float32 rounding differences separate the trajectories)
    eps = 0.01 / len(X)
    ra = fast.train(Xd, y, reg_lambda, eps, 3)
    rb = ref.train(Xd, y, reg_lambda, eps, 3)
    assert ra == rb == 3
    assert rel_err(fast.params, ref.params) <= tol * (1 if dtype == np.float64 else 10)


@requires_compiled
@SETTINGS
@given(problems(), st.integers(1, 2))
def test_thread_count_does_not_change_the_result(problem, n_threads):
    sizes, X, y, activation, dtype, seed = problem
    Xd = np.ascontiguousarray(X, dtype=dtype)
    outs = []
    for nt in (1, n_threads):
        m = _core.Model(sizes, activation, dtype, backend="cython", n_threads=nt)
        m.init_weights(seed)
        m.train(Xd, y, 0.01, 0.01 / len(X), 3)
        outs.append((m.params.copy(), m.predict_proba(Xd)))
    np.testing.assert_array_equal(outs[0][0], outs[1][0])
    np.testing.assert_array_equal(outs[0][1], outs[1][1])


# -- extreme inputs: finite, or a clear error ---------------------------------------

def _extreme_values(dtype):
    info = np.finfo(dtype)
    huge = 1e300 if dtype == np.float64 else 3e38
    return st.sampled_from([
        huge, -huge, float(info.max), -float(info.max),
        float(info.smallest_subnormal), -float(info.smallest_subnormal),
        float(info.tiny), 0.0, -0.0, 1.0, -1.0, 1e-300 if dtype == np.float64 else 1e-40,
    ])


@st.composite
def extreme_problems(draw):
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    n_in = draw(st.integers(1, 4))
    n = draw(st.integers(1, 12))
    vals = draw(st.lists(_extreme_values(dtype), min_size=n * n_in, max_size=n * n_in))
    X = np.array(vals, dtype=dtype).reshape(n, n_in)
    hidden = draw(st.lists(st.integers(1, 8), min_size=0, max_size=2))
    n_out = draw(st.integers(2, 3))
    y = np.arange(n) % n_out
    return ([n_in] + hidden + [n_out], X, y, dtype,
            draw(st.sampled_from(ACTIVATIONS)), draw(st.sampled_from(["cython", "numpy"])),
            draw(st.sampled_from([0.0, 1e-3, 1e10, 1e300])))


def _finite_or_clear(fn):
    """Run fn(); return its result if finite, None after a clear error."""
    try:
        with warnings.catch_warnings():
            # the reference reports overflows as numpy RuntimeWarnings; what
            # matters here is what reaches the caller
            warnings.simplefilter("ignore", RuntimeWarning)
            out = fn()
    except mlnn.DivergenceError as exc:
        assert "smaller epsilon" in str(exc) and "diverged at pass" in str(exc)
        return None
    except ValueError as exc:
        assert str(exc).startswith("X must"), str(exc)
        return None
    if isinstance(out, dict):
        for v in out.values():
            assert np.all(np.isfinite(v))
    else:
        assert np.all(np.isfinite(out)), out
    return out


@SETTINGS
@given(extreme_problems())
def test_extreme_inputs_give_finite_results_or_clear_errors(problem):
    sizes, X, y, dtype, activation, backend, reg_lambda = problem
    if backend == "cython" and not mlnn._backend.COMPILED:
        backend = "numpy"
    before = X.copy()
    nn = mlnn.neural_net(sizes, activation=activation, dtype=dtype, backend=backend,
                         random_state=0)
    proba = _finite_or_clear(lambda: nn.predict_proba(X))
    if proba is not None:
        np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-4)
        labels = nn.predict(X)
        assert labels.min() >= 0 and labels.max() < sizes[-1]
    _finite_or_clear(lambda: nn.crossentropy_loss(X, y, reg_lambda))
    _finite_or_clear(lambda: nn.train(X, y, reg_lambda, 1e-3, num_pass=5,
                                      print_loss=False, print_every=1))
    # whatever happened, the model holds finite weights and X is untouched
    assert np.all(np.isfinite(nn._model.params))
    np.testing.assert_array_equal(X, before)


@SETTINGS
@given(st.sampled_from([np.float64, np.float32]),
       st.sampled_from(["cython", "numpy"]),
       st.floats(1e6, 1e300))
def test_huge_reg_lambda_is_a_clear_divergence(dtype, backend, reg_lambda):
    if backend == "cython" and not mlnn._backend.COMPILED:
        backend = "numpy"
    rng = np.random.RandomState(0)
    X = rng.randn(30, 2)
    y = (X[:, 0] > 0).astype(int)
    nn = mlnn.neural_net([2, 4, 2], dtype=dtype, backend=backend, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        # epsilon * reg_lambda > 2: weight decay overshoots and grows every pass
        with pytest.raises(mlnn.DivergenceError, match="smaller epsilon"):
            nn.train(X, y, reg_lambda, 1e-3, num_pass=2000, print_loss=False,
                     print_every=1)
    assert np.all(np.isfinite(nn._model.params))

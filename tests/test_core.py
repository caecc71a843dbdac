"""The compiled kernels against the NumPy reference, and the notebook's API."""

import contextlib
import io
import os
import platform
import re

import numpy as np
import pytest
import sklearn.datasets

import mlnn
from mlnn import _backend, _core, _reference
from mlnn._spec import weights
from conftest import RTOL, rel_err, requires_compiled


def _problem(seed):
    """A random architecture and data set, as the core issue asks."""
    rng = np.random.RandomState(seed)
    n_hidden = rng.randint(1, 5)
    sizes = ([int(rng.randint(1, 9))] + [int(rng.randint(1, 65)) for _ in range(n_hidden)]
             + [int(rng.randint(2, 6))])
    n = int(rng.choice([1, 2, 7, 255, 256, 257, 600, 2000]))
    X = rng.randn(n, sizes[0]) * 2
    y = rng.randint(0, sizes[-1], size=n)
    activation = ["tanh", "relu", "sigmoid"][seed % 3]
    return sizes, X, y, activation


def _pair(sizes, activation, dtype, seed):
    nets = [mlnn.neural_net(sizes, activation=activation, dtype=dtype, backend=b,
                            random_state=seed) for b in ("cython", "numpy")]
    assert nets[0].backend_ == "cython" and nets[1].backend_ == "numpy"
    return nets


@requires_compiled
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("seed", range(10))
def test_cython_matches_reference(seed, dtype):
    sizes, X, y, activation = _problem(seed)
    fast, ref = _pair(sizes, activation, dtype, seed)
    # A step size at which gradient descent is stable on every drawn problem:
    # with 0.05 / N, seed 9 ([5, 63, 54, 55, 2], tanh) is chaotic, and a 1e-15
    # nudge to one weight of the *reference* grows to 1e-3 in 1000 passes.
    eps = 0.01 / len(X)

    # forward outputs: every pre_act and act
    for a, b in zip(fast.fprop(X), ref.fprop(X)):
        assert a.dtype == dtype and a.shape == b.shape
        assert rel_err(a, b) <= RTOL[dtype]
    assert rel_err(fast.predict_proba(X), ref.predict_proba(X)) <= RTOL[dtype]
    assert abs(fast.crossentropy_loss(X, y, 0.01) - ref.crossentropy_loss(X, y, 0.01)) \
        <= RTOL[dtype] * abs(ref.crossentropy_loss(X, y, 0.01))

    # weights after 1 pass, then after 1000 passes
    for num_pass, rtol in ((1, RTOL[dtype]), (999, 1e-8 if dtype == np.float64 else 1e-4)):
        wa = fast.train(X, y, 0.01, eps, num_pass=num_pass, print_loss=False)
        wb = ref.train(X, y, 0.01, eps, num_pass=num_pass, print_loss=False)
        assert wa.keys() == wb.keys()
        if activation == "relu" and dtype == np.float32 and num_pass > 1:
            # ReLU's gradient jumps at 0: over 1000 float32 passes, rounding
            # differences of 1 ulp move samples across the kink, and the two
            # float32 weight trajectories separate (both by ~1e-3 from the
            # float64 one; measured on seed 4).  Weights are compared in
            # float64 above/below; in float32 the loss stays comparable.
            la = fast.crossentropy_loss(X, y, 0.01)
            lb = ref.crossentropy_loss(X, y, 0.01)
            assert abs(la - lb) <= 1e-4 * abs(lb)
            continue
        for k in wa:
            assert wa[k].dtype == dtype
            assert rel_err(wa[k], wb[k]) <= rtol, (k, num_pass)


@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid"])
def test_reference_gradient_matches_finite_differences(activation):
    rng = np.random.RandomState(3)
    sizes = [3, 5, 4, 3]
    X = rng.randn(20, 3)
    y = rng.randint(0, 3, size=20)
    model = _core.Model(sizes, activation, np.float64, backend="numpy")
    model.init_weights(rng)
    for _, b in model.layers():
        b[...] = rng.randn(*b.shape) * 0.1   # non-zero biases exercise db
    reg = 0.1
    grads, bad = model.gradients(X, y, reg)
    assert bad == 0
    h = 1e-6
    numeric = np.empty_like(grads)
    for p in range(model.params.size):
        old = model.params[p]
        model.params[p] = old + h
        up = model.loss(X, y, reg)
        model.params[p] = old - h
        down = model.loss(X, y, reg)
        model.params[p] = old
        numeric[p] = (up - down) / (2 * h) * len(X)   # grads are of N * loss
    assert rel_err(grads, numeric) < 1e-6


@requires_compiled
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_compiled_gradient_matches_reference(dtype):
    sizes, X, y, activation = _problem(11)
    m_fast = _core.Model(sizes, activation, dtype, backend="cython")
    m_ref = _core.Model(sizes, activation, dtype, backend="numpy")
    m_fast.init_weights(0)
    m_ref.params[...] = m_fast.params
    g_fast, _ = m_fast.gradients(X.astype(dtype), y, 0.01)
    g_ref, _ = m_ref.gradients(X.astype(dtype), y, 0.01)
    assert rel_err(g_fast, g_ref) <= RTOL[dtype] * 10


@requires_compiled
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("sizes,n", [([40, 24, 3], 600), ([64, 32, 16, 5], 1000),
                                     ([300, 64, 5], 1000)])
def test_wide_input_training_matches_reference(sizes, n, dtype):
    # A first layer that calls BLAS reads X's rows where they are (no
    # transposed copy); the first _problem()s have at most 8 inputs, so this
    # path needs its own comparison.  [300, 64, 5] has chunks large enough
    # that float64 computes the first dW as its transpose.
    rows = -(-n // _core.n_chunks(n, sizes))
    assert _backend._kernels.uses_blas(rows, sizes[0], sizes[1])
    assert _backend._kernels.dw_transposed(rows, sizes[0], sizes[1], dtype) == (
        sizes[0] == 300 and dtype == np.float64)
    rng = np.random.RandomState(5)
    X = rng.randn(n, sizes[0]).astype(dtype)
    y = rng.randint(0, sizes[-1], size=n)
    fast, ref = _pair(sizes, "tanh", dtype, 5)
    g_fast, g_ref = (net._model.gradients(X, y.astype(np.int64), 0.01)[0]
                     for net in (fast, ref))
    assert rel_err(g_fast, g_ref) <= RTOL[dtype] * 10
    wa = fast.train(X, y, 0.01, 0.01 / n, num_pass=50, print_loss=False)
    wb = ref.train(X, y, 0.01, 0.01 / n, num_pass=50, print_loss=False)
    for k in wa:
        assert rel_err(wa[k], wb[k]) <= RTOL[dtype] * 10, k


@requires_compiled
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("sizes", [[2, 4, 4, 2], [40, 24, 3]])
def test_train_x_loaded_reuses_the_copy_in_ws(sizes, dtype):
    # x_loaded: ws keeps the chunks of X that the previous call copied in.
    # A first layer that does not call BLAS reads that copy, and so does
    # float32's BLAS first layer (keep_xt); float64's BLAS first layer reads
    # X's rows where they are.  Shown by a second call on other X: with
    # x_loaded it trains on the first X wherever the copy is read.
    from mlnn import _kernels
    rng = np.random.RandomState(0)
    n = 600
    X1 = rng.randn(n, sizes[0]).astype(dtype)
    X2 = rng.randn(n, sizes[0]).astype(dtype)
    y = rng.randint(0, sizes[-1], n).astype(np.int64)
    lay = _core.layout(sizes)
    p0 = (rng.randn(_core.n_params(sizes)) * 0.3).astype(dtype)
    chunks = _core.n_chunks(n, sizes)
    reads_copy = not (_kernels.uses_blas(-(-n // chunks), sizes[0], sizes[1])
                      and dtype == np.float64)

    def run(X, ws=None, x_loaded=False):
        p, g = p0.copy(), np.empty_like(p0)
        _kernels.train(X, y, p, lay, 0, 1e-3, 1e-3, 3, g, chunks, 2, ws, x_loaded)
        return p

    ws = _kernels.workspace(n, lay, chunks, dtype, 2)
    on_x1, on_x2 = run(X1), run(X2)
    np.testing.assert_array_equal(run(X1, ws), on_x1)     # loads X1 into ws
    again = run(X2, ws, x_loaded=True)
    np.testing.assert_array_equal(again, on_x1 if reads_copy else on_x2)
    np.testing.assert_array_equal(run(X2, ws), on_x2)       # no x_loaded: copied again
    with pytest.raises(ValueError, match="x_loaded"):
        run(X1, None, x_loaded=True)


@requires_compiled
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_wide_input_loss_grad_matches_reference(dtype):
    # L-BFGS's evaluation runs the epoch's chunk code on all rows; with 334-row
    # chunks of 300 inputs, float64 computes the first dW transposed
    from mlnn import _kernels
    from mlnn._spec import ACTIVATIONS, HEADS, layout, n_params
    sizes, n = [300, 64, 5], 1000
    chunks = _core.n_chunks(n, sizes)
    assert _kernels.dw_transposed(-(-n // chunks), 300, 64, dtype) == (dtype == np.float64)
    rng = np.random.RandomState(4)
    X = rng.randn(n, sizes[0]).astype(dtype)
    Y = np.eye(sizes[-1], dtype=dtype)[rng.randint(0, sizes[-1], n)]
    lay = layout(sizes)
    params = (rng.randn(n_params(sizes)) * 0.1).astype(dtype)
    args = (ACTIVATIONS["tanh"], HEADS["softmax"], 1e-3)
    g_ref = np.empty_like(params)
    l_ref = _reference.loss_grad(X, Y, None, params, lay, *args, g_ref, chunks, 1)
    for n_threads in (1, 2):
        g = np.empty_like(params)
        loss = _kernels.loss_grad(X, Y, None, params, lay, *args, g, chunks, n_threads)
        assert loss == pytest.approx(l_ref, rel=RTOL[dtype] * 10)
        assert rel_err(g, g_ref) <= RTOL[dtype] * 10


@requires_compiled
@pytest.mark.parametrize("sizes,n", [([2, 64, 2], 3000), ([5, 7, 3], 1000), ([30, 200, 4], 700)])
def test_thread_count_does_not_change_result(sizes, n):
    rng = np.random.RandomState(0)
    X = rng.randn(n, sizes[0])
    y = rng.randint(0, sizes[-1], size=n)
    out = []
    for n_threads in (1, 2):
        nn = mlnn.neural_net(sizes, n_threads=n_threads, random_state=0)
        out.append(nn.train(X, y, 0.01, 1e-4, num_pass=50, print_loss=False))
        out.append(nn.predict_proba(X))
        out.append(nn.crossentropy_loss(X, y, 0.01))
    w1, p1, l1, w2, p2, l2 = out
    for k in w1:
        assert rel_err(w1[k], w2[k]) <= 1e-12
    assert rel_err(p1, p2) <= 1e-12
    assert l1 == pytest.approx(l2, rel=1e-12)


@requires_compiled
@pytest.mark.parametrize("n_classes", [2, 3])
def test_softmax_non_finite_logits_match_reference(n_classes):
    # relu with huge weights overflows the logits to +-inf.  The kernels'
    # softmax (one exp per sample for two classes) must give the reference's
    # pattern: NaN for a NaN logit or an infinite maximum, else finite values.
    from mlnn import _kernels
    sizes = [2, 3, n_classes]
    lay = _core.layout(sizes)
    params = np.zeros(lay[3 * (len(sizes) - 1)] + n_classes)
    (W1, _), (W2, _) = weights(params, lay)
    W1[...] = [[1e300, 0, 1], [0, 1e300, 1]]
    W2[:, :2] = [[1e300, 0], [0, -1e300], [1, 2]]
    X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.0, 0.0], [-1.0, -1.0], [np.nan, 0]])
    act = _core.ACTIVATIONS["relu"]
    out = [np.empty((len(X), n_classes)) for _ in range(2)]
    with np.errstate(over="ignore", invalid="ignore"):
        for mod, p in zip((_kernels, _reference), out):
            mod.predict_proba(X, params, lay, act, p, 1)
    np.testing.assert_array_equal(np.isnan(out[0]), np.isnan(out[1]))
    assert np.isnan(out[0]).any() and (~np.isnan(out[0])).any()
    np.testing.assert_allclose(out[0][~np.isnan(out[0])], out[1][~np.isnan(out[1])],
                               rtol=1e-15)


@requires_compiled
@pytest.mark.parametrize("n_classes", [2, 3, 5])
def test_predict_ties_go_to_the_lowest_class(n_classes):
    # equal outputs (zero output weights, tied biases) -> the lowest index, as
    # numpy.argmax; the last class is tied with class 1 but not the highest
    from mlnn import _kernels
    sizes = [2, 3, n_classes]
    lay = _core.layout(sizes)
    params = np.random.RandomState(0).randn(lay[3 * 2] + n_classes)
    (_, _), (W2, b2) = weights(params, lay)
    W2[...] = 0
    b2[...] = 0.0
    X = np.random.RandomState(1).randn(40, 2)
    for tied in ([0, 1], [1, n_classes - 1]):
        b2[...] = -1.0
        b2[tied] = 0.5
        labels = [np.empty(len(X), dtype=np.int64) for _ in range(2)]
        for mod, lab in zip((_kernels, _reference), labels):
            mod.predict(X, params, lay, _core.ACTIVATIONS["tanh"], lab, 1)
        np.testing.assert_array_equal(labels[0], min(tied))
        np.testing.assert_array_equal(labels[1], min(tied))


@requires_compiled
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_two_class_labels_are_those_of_the_probabilities(dtype, n_threads):
    # Two-class predict takes a label straight from the logits where they are
    # far enough apart, and otherwise the block's probabilities decide: ties
    # after rounding (logits within ~1e-16) to class 0, overflow (an infinite
    # logit, NaN probabilities) -1.  [1, 1, 2] identity network with logits
    # (x, 0), so each x is the logit difference; near-ties sit among clear
    # samples in some blocks (whole blocks then take the probabilities) and
    # not in others.
    from mlnn import _kernels
    sizes = [1, 1, 2]
    lay = _core.layout(sizes)
    tie = 2.0 ** -12
    special = [0.0, 1e-300, -1e-300, 1e-17, -1e-17, 1e-13, -1e-13, 1e-9, -1e-9,
               tie, -tie, tie * (1 + 1e-6), -tie * (1 + 1e-6), tie * (1 - 1e-6),
               -tie * (1 - 1e-6), 1e30, -1e30, 3e38, -3e38, 1e308, -1e308]
    special = [v for v in special if abs(v) <= float(np.finfo(dtype).max)]  # finite inputs
    rng = np.random.RandomState(0)
    clear = rng.choice([-1, 1], 3000) * rng.uniform(1e-3, 50, 3000)
    x = clear.copy()
    x[5:5 + len(special)] = special          # block 0: mixed
    x[1200:1200 + len(special)] = special    # block 4: mixed, mid-block
    unequal = [v for v in special if dtype(v) != 0]
    x[2100:2100 + len(unequal)] = unequal    # block 8: no exactly equal logits
    x[2900:2906] = [-1e-9, 1e-9, -1e-7, 1e-7, -1e-5, 1e-5]  # block 11: float32 ties
    X = np.ascontiguousarray(x[:, None], dtype=dtype)
    for W2_00 in (1.0, 10.0, -10.0):         # x10: overflow to +inf / -inf logits
        params = np.zeros(_core.n_params(sizes), dtype=dtype)
        (W1, b1), (W2, b2) = weights(params, lay)
        W1[...] = 1.0
        W2[0, 0] = W2_00
        act = _core.ACTIVATIONS["identity"]
        got, ref = np.empty(len(X), np.int64), np.empty(len(X), np.int64)
        with np.errstate(over="ignore", invalid="ignore"):
            assert _kernels.predict(X, params, lay, act, got, n_threads) == 0
            _reference.predict(X, params, lay, act, ref, 1)
            proba = np.empty((len(X), 2), dtype=dtype)
            _kernels.predict_proba(X, params, lay, act, proba, n_threads)
        want = np.where(np.isnan(proba).any(axis=1), -1, np.argmax(proba, axis=1))
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(got, ref)
        with np.errstate(over="ignore"):
            z0 = X[:, 0] * dtype(W2_00)
        # the cases that matter were there: ties of unequal logits, overflow
        assert np.any((got == 0) & (z0 < 0)) and np.any((got == 1) & (z0 < 0))
        if W2_00 == 10.0:
            assert np.any(got == -1)


@pytest.mark.parametrize("n_threads", [1, 2])
@pytest.mark.parametrize("n_in, n_out", [(2, 2), (3, 3)])
def test_predict_counts_non_finite_inputs(backend, n_threads, n_in, n_out):
    # predict/predict_proba check X for NaN/inf while they read it (no
    # separate pass); the count is exact and the API raises the usual
    # message.  Two columns in or out have their own transposing loops.
    from mlnn import _kernels
    mod = _kernels if backend == "cython" else _reference
    sizes = [n_in, 5, n_out]
    lay = _core.layout(sizes)
    params = np.random.RandomState(0).randn(lay[6] + n_out)
    X = np.random.RandomState(1).randn(3000, n_in)
    labels, proba = np.empty(3000, dtype=np.int64), np.empty((3000, n_out))
    assert mod.predict(X, params, lay, 0, labels, n_threads) == 0
    assert mod.predict_proba(X, params, lay, 0, proba, n_threads) == 0
    want = np.empty_like(proba)
    _reference.predict_proba(X, params, lay, 0, want, 1)
    np.testing.assert_allclose(proba, want, rtol=1e-12)
    X[[0, 1500, 2999], [0, n_in - 1, 1]] = [np.nan, np.inf, -np.inf]
    assert mod.predict(X, params, lay, 0, labels, n_threads) == 3
    assert mod.predict_proba(X, params, lay, 0, proba, n_threads) == 3
    nn = mlnn.neural_net(sizes, backend=backend, n_threads=n_threads, random_state=0)
    for method in (nn.predict, nn.predict_proba):
        with pytest.raises(ValueError, match=r"X must be .*finite.*contains NaN"):
            method(X)
        X2 = X.copy()
        X2[0, 0] = 0.0
        with pytest.raises(ValueError, match=r"X must be .*finite.*contains infinity"):
            method(X2)


def test_notebook_cells_run_as_written(capsys):
    # Cells 2, 3 and 5 of the seed notebook, verbatim (plt.show is a no-op on Agg).
    import matplotlib.pyplot as plt
    X, y = sklearn.datasets.make_moons(300, noise=0.22)
    plt.figure(figsize=(7, 5))
    plt.scatter(X[:, 0], X[:, 1], s=15, c=y, cmap=plt.cm.Spectral)
    plt.show()
    from mlnn import neural_net
    my_nn = neural_net([2, 4, 2])
    model = my_nn.train(X, y, 0.001, 0.0001)

    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 25
    pattern = re.compile(r"^Loss after iteration (\d+): (\d+\.\d{6})$")
    matches = [pattern.match(line) for line in lines]
    assert all(matches), lines
    assert [int(m.group(1)) for m in matches] == list(range(0, 25000, 1000))
    losses = [float(m.group(2)) for m in matches]
    assert losses[-1] < losses[0] and losses[-1] < losses[1]

    shapes = {k: v.shape for k, v in model.items()}
    assert shapes == {"W1": (2, 4), "W2": (4, 4), "W3": (4, 2),
                      "b1": (1, 4), "b2": (1, 4), "b3": (1, 2)}
    # W2 is the hidden-to-hidden matrix (the original returned W3 as "W2")
    assert np.array_equal(model["W2"], my_nn.model["W2"])
    assert not np.array_equal(model["W2"][:, :2], model["W3"])
    # returned values are copies
    model["W1"][...] = 0
    assert np.any(my_nn.model["W1"] != 0)


def test_main_job_accuracy(backend):
    X, y = sklearn.datasets.make_moons(300, noise=0.22, random_state=0)
    nn = mlnn.neural_net([2, 4, 2], backend=backend, random_state=0)
    passes = 25000 if backend == "cython" else 25000
    nn.train(X, y, 0.001, 0.0001, num_pass=passes, print_loss=False)
    assert np.mean(nn.predict(X) == y) >= 0.85


def test_initialization_matches_randn_order():
    np.random.seed(1)
    nn = mlnn.neural_net([2, 4, 2])
    np.random.seed(1)
    W1 = np.random.randn(2, 4) / np.sqrt(2)
    W2 = np.random.randn(4, 4) / np.sqrt(4)
    W3 = np.random.randn(4, 2) / np.sqrt(4)
    assert np.array_equal(nn.model["W1"], W1)
    assert np.array_equal(nn.model["W2"], W2)
    assert np.array_equal(nn.model["W3"], W3)
    for b in ("b1", "b2", "b3"):
        assert not np.any(nn.model[b])


def test_random_state_overrides_global_state():
    np.random.seed(5)
    a = mlnn.neural_net([2, 4, 2], random_state=7).model["W1"].copy()
    np.random.seed(6)
    b = mlnn.neural_net([2, 4, 2], random_state=7).model["W1"].copy()
    c = mlnn.neural_net([2, 4, 2], random_state=np.random.default_rng(7)).model["W1"]
    assert np.array_equal(a, b)
    assert c.shape == a.shape and not np.array_equal(a, c)


@pytest.mark.parametrize("layers,hidden_layers,expected", [
    ([2, 4, 2], 2, [2, 4, 4, 2]),
    ([2, 4, 2], 1, [2, 4, 2]),
    ([2, 4, 2], 3, [2, 4, 4, 4, 2]),
    ([2, 16, 8, 3], 2, [2, 16, 8, 3]),
    ([3, 2], 2, [3, 2]),
])
def test_layer_rule(layers, hidden_layers, expected):
    nn = mlnn.neural_net(layers, hidden_layers=hidden_layers)
    assert nn.sizes == expected
    assert len(nn.fprop(np.zeros((1, layers[0])))) == 2 * (len(expected) - 1)


def test_repeated_train_continues(backend):
    X, y = sklearn.datasets.make_moons(100, noise=0.2, random_state=0)
    a = mlnn.neural_net([2, 4, 2], backend=backend, random_state=0)
    b = mlnn.neural_net([2, 4, 2], backend=backend, random_state=0)
    a.train(X, y, 0.001, 0.001, num_pass=300, print_loss=False)
    a.train(X, y, 0.001, 0.001, num_pass=200, print_loss=False)
    b.train(X, y, 0.001, 0.001, num_pass=500, print_loss=False)
    for k in a.model:
        np.testing.assert_array_equal(a.model[k], b.model[k])


def test_bprop_is_one_pass(backend):
    X, y = sklearn.datasets.make_moons(50, noise=0.2, random_state=0)
    a = mlnn.neural_net([2, 3, 2], backend=backend, random_state=0)
    before = {k: v.copy() for k, v in a.model.items()}
    grads, _ = a._model.gradients(np.ascontiguousarray(X), y.astype(np.int64), 0.1)
    a.bprop(X, y, 0.1, 0.01)
    for (W, b), (dW, db), k in zip(a._model.layers(), _reference.weights(grads, a._model.lay),
                                   range(1, 4)):
        np.testing.assert_allclose(W, before[f"W{k}"] - 0.01 * dW, rtol=1e-14, atol=1e-15)
        np.testing.assert_allclose(b, before[f"b{k}"].ravel() - 0.01 * db, rtol=1e-14,
                                   atol=1e-15)


def test_softmax_is_stable_and_tanh_matches():
    nn = mlnn.neural_net([2, 4, 3])
    z = np.array([[1000.0, 1001.0, 999.0], [-1000.0, -1000.0, -1000.0]])
    s = nn.softmax(z)
    assert np.all(np.isfinite(s))
    np.testing.assert_allclose(s.sum(axis=1), 1.0)
    np.testing.assert_allclose(s[1], 1 / 3)
    np.testing.assert_array_equal(nn.tanh(z), np.tanh(z))


def test_predict_matches_argmax_of_proba(backend):
    X, y = sklearn.datasets.make_moons(500, noise=0.3, random_state=2)
    nn = mlnn.neural_net([2, 6, 2], backend=backend, random_state=0)
    nn.train(X, y, 0.001, 0.001, num_pass=500, print_loss=False)
    np.testing.assert_array_equal(nn.predict(X), np.argmax(nn.predict_proba(X), axis=1))
    np.testing.assert_allclose(nn.predict_proba(X).sum(axis=1), 1.0, rtol=1e-12)


@requires_compiled
@pytest.mark.parametrize("sizes,n", [([2, 4, 4, 2], 300), ([3, 40, 40, 3], 700)])
def test_train_workspace_reuse_and_checks(sizes, n):
    # train(..., ws=) reuses scratch between calls; whatever it holds on entry
    # (NaN here) must not matter, and a wrong ws is refused before any work
    from mlnn import _kernels
    rng = np.random.RandomState(0)
    X, y = rng.randn(n, sizes[0]), rng.randint(0, sizes[-1], n)
    lay = _core.layout(sizes)
    p0 = rng.randn(_core.n_params(sizes)) * 0.3
    chunks = _core.n_chunks(n, sizes)
    fresh, reused = p0.copy(), p0.copy()
    g1, g2 = np.empty_like(p0), np.empty_like(p0)
    for _ in range(3):
        _kernels.train(X, y, fresh, lay, 0, 0.001, 0.01, 5, g1, chunks, 1)
    ws = _kernels.workspace(n, lay, chunks, np.float64, 1)
    ws[...] = np.nan
    for _ in range(3):
        _kernels.train(X, y, reused, lay, 0, 0.001, 0.01, 5, g2, chunks, 1, ws)
    np.testing.assert_array_equal(reused, fresh)
    np.testing.assert_array_equal(g2, g1)
    bad = {"too short": ws[:-1], "float32": ws.astype(np.float32),
           "misaligned": _kernels.workspace(n + 8, lay, chunks, np.float64, 1)[1:],
           "a list": list(ws[:4])}
    for what, w in bad.items():
        with pytest.raises(ValueError, match="ws must be an array from workspace"):
            _kernels.train(X, y, p0.copy(), lay, 0, 0.001, 0.01, 1, g1, chunks, 1, w)
    with pytest.raises(ValueError, match="ws must not overlap"):
        _kernels.train(X, y, ws[:p0.size], lay, 0, 0.001, 0.01, 1, g1, chunks, 1, ws)
    # every thread computes in its own area of ws: where there are chunks for
    # two, one sized for 1 thread is too short for 2
    if chunks >= 2:
        with pytest.raises(ValueError, match="ws must be an array from workspace"):
            _kernels.train(X, y, p0.copy(), lay, 0, 0.001, 0.01, 1, g1, chunks, 2, ws)


def test_model_keeps_its_workspace_out_of_pickles(backend):
    import pickle
    X, y = sklearn.datasets.make_moons(300, noise=0.2, random_state=0)
    nn = mlnn.neural_net([2, 4, 2], backend=backend, random_state=0)
    nn.train(X, y, 0.001, 0.001, num_pass=10, print_loss=False)
    assert ("_ws" in nn._model.__dict__) == (backend == "cython")
    state = nn._model.__getstate__()
    assert "_ws" not in state
    copy = pickle.loads(pickle.dumps(nn))
    copy.train(X, y, 0.001, 0.001, num_pass=10, print_loss=False)
    nn.train(X, y, 0.001, 0.001, num_pass=10, print_loss=False)
    np.testing.assert_array_equal(copy._model.params, nn._model.params)


def test_loss_labels_are_predict_labels(backend):
    # a training record takes the loss and the accuracy from one forward pass
    X, y = sklearn.datasets.make_blobs(700, centers=3, random_state=0)
    nn = mlnn.neural_net([2, 5, 3], backend=backend, random_state=0)
    nn.train(X, y, 0.001, 0.001, num_pass=200, print_loss=False, print_every=50)
    Xc, yc = np.ascontiguousarray(X), y.astype(np.int64)
    labels = np.full(len(X), -7, dtype=np.int64)
    loss = nn._model.loss(Xc, yc, 0.001, labels)
    assert loss == nn._model.loss(Xc, yc, 0.001)
    np.testing.assert_array_equal(labels, nn.predict(X))
    with pytest.raises(ValueError, match="labels"):
        nn._model.loss(Xc, yc, 0.001, labels[:-1])
    # one pass: its record (after pass 0) holds the final weights' accuracy
    nn.train(X, y, 0.001, 0.001, num_pass=1, print_loss=False)
    assert nn.history_["pass"] == [0]
    assert nn.history_["accuracy"] == [np.mean(nn.predict(X) == y)]
    assert nn.history_["loss"] == [nn.crossentropy_loss(X, y, 0.001)]


@pytest.mark.parametrize("sizes,n,dtype", [
    ([2, 4, 4, 2], 300, np.float64),       # the notebook's net: C loops only
    ([2, 64, 64, 3], 3000, np.float32),    # BLAS hidden layers, several chunks
    ([40, 300, 5], 2000, np.float64),      # a first layer that calls BLAS on X's rows
])
def test_train_entry_loss_is_the_loss_of_the_entry_weights(backend, sizes, n, dtype):
    # entry_loss / entry_labels: the loss and predict labels of the weights
    # as they were on entry, from the first pass's forward; for every
    # backend, thread count and chunk layout within rounding of loss()
    kernels = _backend.get_backend(backend)
    rng = np.random.RandomState(1)
    X = rng.randn(n, sizes[0]).astype(dtype)
    y = rng.randint(0, sizes[-1], n).astype(np.int64)
    lay = _core.layout(sizes)
    p0 = (rng.randn(_core.n_params(sizes)) * 0.3).astype(dtype)
    want_labels = np.empty(n, dtype=np.int64)
    want = kernels.loss(X, y, p0, lay, 0, 0.01, 1, want_labels)
    for threads in (1, 2):
        p, g = p0.copy(), np.empty_like(p0)
        loss, labels = np.full(1, np.nan), np.full(n, -7, dtype=np.int64)
        done, bad = kernels.train(X, y, p, lay, 0, 0.01, 1e-4, 3, g,
                                  _core.n_chunks(n, sizes), threads, None,
                                  entry_loss=loss, entry_labels=labels)
        assert (done, bad) == (3, 0)
        assert loss[0] == pytest.approx(want, rel=1e-12)
        np.testing.assert_array_equal(labels, want_labels)
        # the passes themselves are those of a call without the records
        q = p0.copy()
        kernels.train(X, y, q, lay, 0, 0.01, 1e-4, 3, g, _core.n_chunks(n, sizes), threads)
        np.testing.assert_array_equal(p, q)
    with pytest.raises(ValueError, match="num_pass >= 1"):
        kernels.train(X, y, p0.copy(), lay, 0, 0.01, 1e-4, 0, g, 1, 1, None,
                      entry_loss=loss)
    with pytest.raises(ValueError, match="entry_labels needs entry_loss"):
        kernels.train(X, y, p0.copy(), lay, 0, 0.01, 1e-4, 1, g, 1, 1, None,
                      entry_labels=labels)
    with pytest.raises(ValueError, match="entry_loss must have shape"):
        kernels.train(X, y, p0.copy(), lay, 0, 0.01, 1e-4, 1, g, 1, 1, None,
                      entry_loss=np.zeros(2))
    with pytest.raises(ValueError, match="entry_labels must have shape"):
        kernels.train(X, y, p0.copy(), lay, 0, 0.01, 1e-4, 1, g, 1, 1, None,
                      entry_loss=loss, entry_labels=labels[:-1])
    with pytest.raises(ValueError, match="must not overlap"):   # written while y is read
        kernels.train(X, y, p0.copy(), lay, 0, 0.01, 1e-4, 1, g, 1, 1, None,
                      entry_loss=loss, entry_labels=y)


def test_train_entry_loss_on_a_diverging_first_pass(backend):
    # a first pass that is not applied (non-finite gradient) still reports
    # the entry weights' loss: a training record must see the NaN
    kernels = _backend.get_backend(backend)
    sizes = [2, 4, 2]
    X, y = sklearn.datasets.make_moons(50, noise=0.2, random_state=0)
    X, y = np.ascontiguousarray(X), y.astype(np.int64)
    lay = _core.layout(sizes)
    p = np.full(_core.n_params(sizes), np.nan)
    loss, labels = np.zeros(1), np.zeros(50, dtype=np.int64)
    done, bad = kernels.train(X, y, p, lay, 0, 0.01, 1e-4, 2, np.empty_like(p), 1, 1,
                              None, entry_loss=loss, entry_labels=labels)
    assert done == 0 and bad > 0
    assert np.isnan(loss[0]) and (labels == -1).all()


def test_records_take_their_loss_from_the_next_pass(backend, monkeypatch):
    # A record after pass i gets the loss and labels of the weights after
    # pass i from the forward of pass i + 1 (the kernels' entry_loss): only
    # a record after the last pass evaluates the loss on its own.  Each
    # record matches a training stopped right there.
    X, y = sklearn.datasets.make_moons(200, noise=0.2, random_state=0)
    nn = mlnn.neural_net([2, 6, 2], backend=backend, random_state=0)
    calls = []
    loss = nn._model.loss
    monkeypatch.setattr(nn._model, "loss", lambda *a, **k: calls.append(1) or loss(*a, **k))
    nn.train(X, y, 0.01, 0.001, num_pass=10, print_loss=False, print_every=3)
    assert nn.history_["pass"] == [0, 3, 6, 9]
    assert len(calls) == 1                      # the record after pass 9
    for j, i in enumerate(nn.history_["pass"]):
        ref = mlnn.neural_net([2, 6, 2], backend=backend, random_state=0)
        ref.train(X, y, 0.01, 0.001, num_pass=i + 1, print_loss=False, print_every=max(i, 1))
        assert nn.history_["loss"][j] == pytest.approx(ref.history_["loss"][-1], rel=1e-12)
        assert nn.history_["accuracy"][j] == ref.history_["accuracy"][-1]
        np.testing.assert_array_equal(nn.history_["grad_norms"][j],
                                      ref.history_["grad_norms"][-1])
    # a record that is the last pass of one call and not of the whole run
    nn.train(X, y, 0.01, 0.001, num_pass=4, print_loss=False, print_every=4)
    assert nn.history_["pass"] == [0]


def test_ctrl_c_delivers_a_waiting_record(backend, monkeypatch):
    # Ctrl-C right after the kernel call that follows a record: the record,
    # still waiting for that call's loss, is delivered (from a forward pass
    # of its own) before KeyboardInterrupt propagates
    X, y = sklearn.datasets.make_moons(200, noise=0.2, random_state=0)
    nn = mlnn.neural_net([2, 6, 2], backend=backend, random_state=0)
    train = nn._model.kernels.train
    n_calls = []

    def interrupting(*a, **k):
        out = train(*a, **k)
        n_calls.append(1)
        if len(n_calls) == 2:     # the call after the record at pass 0
            raise KeyboardInterrupt
        return out

    monkeypatch.setattr(nn._model.kernels, "train", interrupting)
    with pytest.raises(KeyboardInterrupt):
        nn.train(X, y, 0.01, 0.001, num_pass=50, print_loss=False, print_every=10)
    assert nn.history_["pass"] == [0]
    assert nn._model.passes_done == 1           # the interrupted call is undone
    ref = mlnn.neural_net([2, 6, 2], backend=backend, random_state=0)
    ref.train(X, y, 0.01, 0.001, num_pass=1, print_loss=False)
    assert nn.history_["loss"] == ref.history_["loss"]


def test_print_every_and_history(capsys):
    X, y = sklearn.datasets.make_moons(100, noise=0.2, random_state=0)
    nn = mlnn.neural_net([2, 4, 2], random_state=0)
    nn.train(X, y, 0.001, 0.001, num_pass=1000, print_every=250)
    out = capsys.readouterr().out.splitlines()
    assert [int(l.split()[3][:-1]) for l in out] == [0, 250, 500, 750]
    h = nn.history_
    assert h["pass"] == [0, 250, 500, 750]
    assert len(h["grad_norms"][0]) == 3 and all(g > 0 for g in h["grad_norms"][0])
    assert nn.crossentropy_loss(X, y, 0.001) < h["loss"][0]


def test_main_job_cli(capsys, tmp_path):
    from PIL import Image
    from mlnn.__main__ import main
    out_dir = tmp_path / "pics"
    assert main(["--passes", "2000", "--layers", "2,5,2", "--seed", "1",
                 "--out", str(out_dir), "--animate", "--frames", "4"]) == 0
    out = capsys.readouterr().out
    assert out.count("Loss after iteration") == 2
    assert "Training accuracy" in out and "Wall time" in out
    for name in ("boundary.png", "loss.png", "gradients.png", "training.gif"):
        path = out_dir / name
        assert f"Wrote {path}" in out
        with Image.open(path) as im:
            assert im.size[0] > 100
    with Image.open(out_dir / "training.gif") as im:
        assert im.n_frames == 4


def test_main_job_cli_data_choices_and_csv_errors(capsys, tmp_path):
    from mlnn.__main__ import main
    good = tmp_path / "good.csv"
    rng = np.random.RandomState(0)
    X = rng.randn(60, 3)
    labels = np.where(X[:, 0] > 0, "yes", "no")
    good.write_text("a,b,c,label\n" + "".join(
        f"{r[0]},{r[1]},{r[2]},{lab}\n" for r, lab in zip(X, labels)))
    assert main(["--data", f"csv:{good}", "--passes", "10", "--out", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    assert "60 rows, 3 features" in out and "Skipped boundary.png" in out
    assert (tmp_path / "o" / "loss.png").exists()
    assert main(["--data", "circles", "--passes", "5", "--out", str(tmp_path / "c")]) == 0

    bad_cases = {
        "ragged.csv": ("1,2,0\n3,4\n", "line 2: expected 3 columns"),
        "text.csv": ("x,y,label\n1,2,0\n1,oops,1\n", "line 3, column 2"),
        "oneclass.csv": ("1,2,0\n3,4,0\n", "single class"),
        "fraction.csv": ("1,2,0\n3,4,0.5\n", "must be a class"),
        "short.csv": ("x,label\n1,0\n", "at least 2 data rows"),
    }
    for name, (text, message) in bad_cases.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(SystemExit):
            main(["--data", f"csv:{tmp_path / name}", "--out", str(tmp_path / "x")])
        assert message in capsys.readouterr().err, name
    for argv, message in [(["--data", f"csv:{tmp_path / 'missing.csv'}"], "cannot read CSV"),
                          (["--data", "spirals"], "moons, circles or csv:PATH"),
                          (["--layers", "3,4,2"], "n_in must be 2")]:
        with pytest.raises(SystemExit):
            main(argv + ["--out", str(tmp_path / "x")])
        assert message in capsys.readouterr().err


@requires_compiled
@pytest.mark.skipif(not os.path.exists("/proc/cpuinfo") or platform.machine() != "x86_64",
                    reason="reads the CPU flags from /proc/cpuinfo (x86-64 Linux)")
def test_narrow_layers_call_blas_where_blas_has_avx512():
    # The sample loops are built for 2-4 unit layers: a 10-wide layer goes to
    # BLAS only on a CPU whose BLAS runs AVX-512 kernels (there BLAS beats
    # even the loops' own AVX-512 level: bench/README.md); a 4-wide one never
    # does.  The rule follows the CPU, whatever level MLNN_CPU_LEVEL selects
    # (test_fastmath.test_cpu_level_choice_follows_mlnn_cpu_level).
    from mlnn import _kernels
    with open("/proc/cpuinfo") as f:
        flags = next(line for line in f if line.startswith("flags")).split()
    avx512 = all(f in flags for f in ("avx512f", "avx512vl", "avx512dq"))
    assert _kernels.blas_min_side() == (8 if avx512 else 16)
    assert bool(_kernels.uses_blas(200, 100, 10)) == avx512
    assert bool(_kernels.uses_blas(200, 10, 100)) == avx512
    assert _kernels.uses_blas(200, 100, 16)
    assert not _kernels.uses_blas(200, 100, 4)
    assert not _kernels.uses_blas(2, 100, 100)  # too little work


@pytest.mark.parametrize("sizes,n,expected", [
    ([2, 64, 64, 2], 10000, 44),    # 64 x 64: at most 244 rows, 41 chunks, 44 shares
    ([64, 100, 10], 1797, 12),      # 64 x 100: at most 156 rows
    ([64, 100, 10], 200, 2),        # a mini-batch: 2 chunks of 100 rows
    ([64, 100, 10], 150, 1),        # fits in one small product
    ([64, 20, 10], 200, 1),         # 64 x 20: room for 781 rows
    ([2, 64, 64, 2], 300, 2),
    ([2, 4, 4, 2], 10000, 36),      # no layer 8 wide on both sides: CHUNK_ROWS, 39 -> 36
    ([2, 64, 2], 3000, 8),          # 11 -> 8 shares
    ([784, 128, 128, 10], 10000, 16),  # too wide for the small path; the scratch cap, 17 -> 16
    ([2, 512, 512, 2], 2000, 7),    # the scratch cap
    ([2, 32, 32, 2], 2000, 7),      # 286-row chunks are small products already
    ([2, 64, 64, 2], 2000, 12),     # 9 -> 12 shares
])
def test_chunks_keep_blas_products_small(sizes, n, expected):
    # n_chunks depends on n and the model alone; where the widest layer that
    # can call BLAS leaves room for SMALL_GEMM_MIN_ROWS rows, every chunk's
    # products stay within SMALL_GEMM_WORK multiply-adds
    c = _core.n_chunks(n, sizes)
    assert c == expected
    rows = -(-n // c)
    widest = max(a * b for a, b in zip(sizes[:-1], sizes[1:]) if min(a, b) >= 8) \
        if any(min(a, b) >= 8 for a, b in zip(sizes[:-1], sizes[1:])) else 0
    if widest and _core.SMALL_GEMM_WORK // widest >= _core.SMALL_GEMM_MIN_ROWS:
        assert rows * widest <= _core.SMALL_GEMM_WORK


@pytest.mark.parametrize("sizes", [[2, 4, 4, 2], [2, 64, 64, 2], [64, 100, 10],
                                   [784, 128, 128, 10], [20, 64, 64, 3], [10, 32, 3]])
def test_chunk_counts_split_evenly_over_two_and_four_threads(sizes):
    # from 2 * CHUNK_SHARE chunks on, the kernels' real chunk count (rows =
    # ceil(n / count), then ceil(n / rows) chunks) is a multiple of
    # CHUNK_SHARE, so teams of 2 and 4 threads get equal shares; CHUNK_ROWS
    # stays a floor where the small-product rule does not apply
    assert _core.MAX_CHUNKS % _core.CHUNK_SHARE == 0
    assert _core.CHUNK_SHARE % 4 == 0
    seen = set()
    for n in range(1, 40000, 37):
        c = _core.n_chunks(n, sizes)
        rows = -(-n // c)
        real = -(-n // rows)
        if real >= 2 * _core.CHUNK_SHARE:
            assert real % _core.CHUNK_SHARE == 0, (n, c, real)
            seen.add(real)
        assert c <= _core.MAX_CHUNKS
        assert c * _core.n_params(sizes) <= max(_core.MAX_SCRATCH, _core.n_params(sizes))
    assert seen   # the rule was exercised


@requires_compiled
def test_small_gemm_work_agrees_with_kernels():
    # the chunk rule (Python, so that backend="numpy" cuts the same chunks)
    # and the kernels' dW blocks aim at the same small-matrix path
    assert _core.SMALL_GEMM_WORK == _backend.get_backend("cython").SMALL_GEMM_WORK


@requires_compiled
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("sizes", [[2, 64, 64, 2], [5, 40, 90, 3]])
def test_blocked_dw_matches_reference(sizes, dtype):
    # chunks of small products, whose wide dW the kernels compute in column
    # blocks on AVX-512 CPUs (_dense_dweight): same gradient as the reference
    rng = np.random.RandomState(1)
    n = 1000
    X = (rng.randn(n, sizes[0]) * 2).astype(dtype)
    y = rng.randint(0, sizes[-1], size=n)
    assert _core.n_chunks(n, sizes) > n // _core.CHUNK_ROWS
    m_fast = _core.Model(sizes, "tanh", dtype, backend="cython")
    m_ref = _core.Model(sizes, "tanh", dtype, backend="numpy")
    m_fast.init_weights(0)
    m_ref.params[...] = m_fast.params
    g_fast, _ = m_fast.gradients(X, y, 0.01)
    g_ref, _ = m_ref.gradients(X, y, 0.01)
    assert rel_err(g_fast, g_ref) <= RTOL[dtype] * 10


@requires_compiled
@pytest.mark.parametrize("sizes,batch,n", [
    ([20, 64, 64, 3], 300, 1000),   # last batch of 100 rows (1 chunk)
    ([20, 64, 64, 3], 300, 1190),   # last batch of 290 rows (2 chunks)
    ([300, 64, 5], 700, 1000),      # the first dW transposed, in the last batch too
    ([300, 64, 5], 700, 1440),      # ... but not in its last batch of 40 rows
])
def test_epoch_threads_share_scratch_areas(sizes, batch, n):
    # A batch's chunks run on threads that each compute in their own area of
    # ws, reused from chunk to chunk; a shorter last batch is laid out in the
    # same areas (with the transposed first dW's scratch, where a full
    # batch has it).  Whatever ws holds on entry, 1 and 2 threads give
    # identical weights, and both match the reference.
    from mlnn import _kernels
    from mlnn._spec import ACTIVATIONS, HEADS, SOLVERS, layout, n_params
    if sizes[0] == 300:
        rows = -(-batch // _core.n_chunks(batch, sizes))
        assert _kernels.dw_transposed(rows, 300, 64, np.float64)
        assert _kernels.dw_transposed(n % batch, 300, 64, np.float64) == (n == 1000)
    rng = np.random.RandomState(3)
    X = rng.randn(n, sizes[0])
    Y = np.eye(sizes[-1])[rng.randint(0, sizes[-1], n)]
    order = rng.permutation(n).astype(np.int64)
    lay = layout(sizes)
    p0 = rng.randn(n_params(sizes)) * 0.3
    chunks = _core.n_chunks(batch, sizes)
    assert chunks >= 2
    hyper = np.array([1e-3, 0.9, 0.999, 1e-8])

    def run(mod, n_threads, ws=None):
        params, state = p0.copy(), np.zeros((2, p0.size))
        step = 0
        for _ in range(2):
            _, step = mod.epoch(X, Y, None, order, batch, params, lay, ACTIVATIONS["relu"],
                                HEADS["softmax"], 1e-4, SOLVERS["adam"], hyper, state,
                                step, chunks, n_threads, ws)
        return params

    one = run(_kernels, 1)
    ws = _kernels.workspace(batch, lay, chunks, np.float64, 2)
    ws[...] = np.nan
    two = run(_kernels, 2, ws)
    np.testing.assert_array_equal(two, one)
    assert rel_err(one, run(_reference, 1)) <= RTOL[np.float64] * 10

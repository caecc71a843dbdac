"""Every bad input gets a clear error; accepted inputs are converted, never mutated.

The table below lists (call, exception type, words the message must contain):
the argument's name and the form it expected.  Each case runs the public API
(``neural_net(...)``, ``train``, ``predict``, ...), so it also proves that the
check happens before any kernel sees the memory.
"""

import re

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import mlnn
from conftest import BACKENDS

RNG = np.random.RandomState(0)
X_OK = RNG.randn(20, 2)
Y_OK = RNG.randint(0, 3, size=20)


def _net(**kw):
    return mlnn.neural_net([2, 4, 3], random_state=0, **kw)


def _train(X=X_OK, y=Y_OK, reg_lambda=0.01, epsilon=0.01, **kw):
    kw.setdefault("num_pass", 2)
    kw.setdefault("print_loss", False)
    return _net().train(X, y, reg_lambda, epsilon, **kw)


X_FORM = "2-D array of finite real numbers of shape (n_samples, 2)"
Y_FORM = "1-D array of class labels: int labels in [0, 3)"

# (id, thunk, exception, substrings the message must contain)
BAD = [
    # -- constructor ---------------------------------------------------------
    ("layers_dim-None", lambda: mlnn.neural_net(None), TypeError,
     ["layers_dim", "list of positive ints"]),
    ("layers_dim-int", lambda: mlnn.neural_net(3), TypeError,
     ["layers_dim", "list of positive ints"]),
    ("layers_dim-one", lambda: mlnn.neural_net([2]), ValueError,
     ["layers_dim", "at least two positive ints"]),
    ("layers_dim-zero", lambda: mlnn.neural_net([2, 0, 2]), ValueError,
     ["layers_dim", "positive ints"]),
    ("layers_dim-negative", lambda: mlnn.neural_net([2, -4, 2]), ValueError,
     ["layers_dim", "positive ints"]),
    ("layers_dim-float", lambda: mlnn.neural_net([2, 4.5, 2]), ValueError,
     ["layers_dim", "positive ints"]),
    ("layers_dim-bool", lambda: mlnn.neural_net([2, True, 2]), ValueError,
     ["layers_dim", "positive ints"]),
    ("layers_dim-str", lambda: mlnn.neural_net(["2", "4", "2"]), ValueError,
     ["layers_dim", "positive ints"]),
    ("layers_dim-one-class", lambda: mlnn.neural_net([2, 4, 1]), ValueError,
     ["layers_dim", "n_out >= 2"]),
    ("layers_dim-huge", lambda: mlnn.neural_net([2, 2**40, 2]), ValueError,
     ["layers_dim", "<= 2147483647"]),
    ("hidden_layers-negative", lambda: mlnn.neural_net([2, 4, 2], hidden_layers=-1),
     ValueError, ["hidden_layers", "int >= 0"]),
    ("hidden_layers-float", lambda: mlnn.neural_net([2, 4, 2], hidden_layers=2.0),
     TypeError, ["hidden_layers", "int >= 0"]),
    ("activation-unknown", lambda: _net(activation="softmax"), ValueError,
     ["activation", "'tanh', 'relu', 'sigmoid'"]),
    ("activation-case", lambda: _net(activation="TANH"), ValueError,
     ["activation", "'tanh', 'relu', 'sigmoid'"]),
    ("activation-None", lambda: _net(activation=None), ValueError,
     ["activation", "'tanh', 'relu', 'sigmoid'"]),
    ("dtype-int", lambda: _net(dtype=np.int32), ValueError,
     ["dtype", "np.float64 or np.float32"]),
    ("dtype-float16", lambda: _net(dtype="float16"), ValueError,
     ["dtype", "np.float64 or np.float32"]),
    ("dtype-garbage", lambda: _net(dtype="double-ish"), ValueError,
     ["dtype", "np.float64 or np.float32"]),
    ("dtype-None", lambda: _net(dtype=None), ValueError,
     ["dtype", "np.float64 or np.float32"]),
    ("n_threads-zero", lambda: _net(n_threads=0), ValueError,
     ["n_threads", "int >= 1"]),
    ("n_threads-float", lambda: _net(n_threads=1.5), TypeError,
     ["n_threads", "int >= 1"]),
    ("n_threads-str", lambda: _net(n_threads="2"), TypeError,
     ["n_threads", "int >= 1"]),
    ("n_threads-bool", lambda: _net(n_threads=True), TypeError,
     ["n_threads", "int >= 1"]),
    ("backend-unknown", lambda: _net(backend="torch"), ValueError,
     ["backend", "None, 'cython' or 'numpy'"]),
    ("random_state-str", lambda: mlnn.neural_net([2, 4, 3], random_state="seed"),
     TypeError,
     ["random_state", "int in [0, 2**32)"]),
    ("random_state-negative", lambda: mlnn.neural_net([2, 4, 3], random_state=-1),
     ValueError, ["random_state", "int in [0, 2**32)"]),
    # -- X ------------------------------------------------------------------
    ("X-None", lambda: _train(X=None), TypeError, ["X", X_FORM]),
    ("X-str", lambda: _train(X="data.csv"), TypeError, ["X", X_FORM]),
    ("X-scalar", lambda: _train(X=3.0), ValueError, ["X", X_FORM, "0-D"]),
    ("X-1d", lambda: _train(X=np.ones(20)), ValueError, ["X", X_FORM, "1-D"]),
    ("X-3d", lambda: _train(X=np.ones((20, 2, 1))), ValueError, ["X", X_FORM, "3-D"]),
    ("X-ragged", lambda: _train(X=[[1.0, 2.0], [3.0]], y=[0, 1]), ValueError,
     ["X", X_FORM, "rows of equal length"]),
    ("X-strings", lambda: _train(X=np.full((20, 2), "a")), TypeError,
     ["X", X_FORM, "<U1"]),
    ("X-object-strings", lambda: _train(X=np.array([["a", 1]] * 20, dtype=object)),
     TypeError, ["X", X_FORM, "could not convert"]),
    ("X-complex", lambda: _train(X=X_OK + 1j), TypeError, ["X", X_FORM, "complex"]),
    ("X-datetime", lambda: _train(X=np.zeros((20, 2), dtype="datetime64[D]")),
     TypeError, ["X", X_FORM, "datetime64"]),
    ("X-sparse", lambda: _train(X=sp.csr_matrix(X_OK)), TypeError,
     ["X", X_FORM, "sparse"]),
    ("X-nan", lambda: _train(X=np.where(X_OK > 1, np.nan, X_OK)), ValueError,
     ["X", X_FORM, "NaN"]),
    ("X-inf", lambda: _train(X=np.where(X_OK > 1, np.inf, X_OK)), ValueError,
     ["X", X_FORM, "infinity"]),
    ("X-overflows-float32", lambda: mlnn.neural_net([2, 4, 3], dtype=np.float32)
     .predict(np.full((3, 2), 1e300)), ValueError, ["X", "shape (n_samples, 2)",
                                                    "infinity"]),
    ("X-empty", lambda: _train(X=np.zeros((0, 2)), y=[]), ValueError,
     ["X", X_FORM, "0 sample"]),
    ("X-no-features", lambda: _net().predict(np.zeros((3, 0))), ValueError,
     ["X", X_FORM, "0 feature"]),
    ("X-wrong-features", lambda: _train(X=np.ones((20, 3))), ValueError,
     ["X", "shape (n_samples, 2)", "input layer", "(20, 3)"]),
    ("X-dataframe-NA", lambda: _train(X=pd.DataFrame(
        {"a": [1, None] * 10, "b": range(20)}, dtype="Int64")), ValueError,
     ["X", X_FORM, "NaN"]),
    ("predict-X-1d", lambda: _net().predict([1.0, 2.0]), ValueError, ["X", X_FORM]),
    # -- y ------------------------------------------------------------------
    ("y-None", lambda: _train(y=None), TypeError, ["y", "1-D array", Y_FORM]),
    ("y-2d", lambda: _train(y=np.zeros((20, 2), dtype=int)), ValueError,
     ["y", "1-D array", Y_FORM, "(20, 2)"]),
    ("y-too-short", lambda: _train(y=Y_OK[:-1]), ValueError,
     ["y", "one label per row of X (20)", "19"]),
    ("y-too-long", lambda: _train(y=np.r_[Y_OK, 0]), ValueError,
     ["y", "one label per row of X (20)", "21"]),
    ("y-negative", lambda: _train(y=np.r_[Y_OK[:-1], -1]), ValueError,
     ["y", "labels in [0, 3)", "-1"]),
    ("y-too-big", lambda: _train(y=np.r_[Y_OK[:-1], 3]), ValueError,
     ["y", "labels in [0, 3)", "3 outputs"]),
    ("y-uint64-huge", lambda: _train(y=np.r_[Y_OK[:-1].astype(np.uint64), np.uint64(2**63)]),
     ValueError, ["y", "labels in [0, 3)"]),
    ("y-fraction", lambda: _train(y=np.r_[Y_OK[:-1], 0.5]), ValueError,
     ["y", Y_FORM, "whole-number"]),
    ("y-nan", lambda: _train(y=np.r_[Y_OK[:-1], np.nan]), ValueError,
     ["y", Y_FORM, "whole-number"]),
    ("y-None-inside", lambda: _train(y=list(Y_OK[:-1]) + [None]), ValueError,
     ["y", Y_FORM, "whole-number"]),
    # labels of any type are accepted when there are exactly n_out of them
    ("y-one-string", lambda: _train(y=["a"] * 20), ValueError,
     ["y", "single label ['a']", "at least 2 classes"]),
    ("y-bool-for-3-outputs", lambda: _train(y=Y_OK > 0), ValueError,
     ["y", "2 distinct labels [False, True]", "3 outputs", "exactly 3", "last layer 2"]),
    ("y-too-many-strings", lambda: _train(y=list("abcd") * 5), ValueError,
     ["y", "4 distinct labels ['a', 'b', 'c', 'd']", "3 outputs",
      "int labels in [0, 3) or exactly 3 distinct labels", "last layer 4 wide"]),
    ("y-mixed-types", lambda: _train(y=["a", 1] * 10), TypeError,
     ["y", Y_FORM, "mixes labels of the types ['int', 'str']"]),
    ("y-unsortable", lambda: _train(y=np.array([None, "a", "b"] * 6 + ["c", "a"],
                                              dtype=object)),
     TypeError, ["y", Y_FORM, "cannot be sorted", "one type"]),
    ("y-complex", lambda: _train(y=Y_OK + 0j), TypeError, ["y", Y_FORM, "complex128"]),
    ("y-datetime", lambda: _train(y=np.zeros(20, dtype="datetime64[D]")), TypeError,
     ["y", Y_FORM, "datetime64"]),
    ("y-not-in-classes", lambda: _trained_on(list("abc") * 6 + ["a", "b"]).train(
        X_OK, list("abd") * 6 + ["a", "b"], 0.01, 0.01, num_pass=1), ValueError,
     ["y", "not among this network's classes_ ['a', 'b', 'c']", "first train()",
      "got ['d']"]),
    ("loss-y-not-in-classes", lambda: _trained_on(Y_OK).crossentropy_loss(
        X_OK, np.full(20, "a"), 0.01), ValueError,
     ["y", "classes_ [0, 1, 2]", "got ['a']"]),
    # numpy scalars show as plain numbers in messages (not np.int64(-1))
    ("num_pass-np-negative", lambda: _train(num_pass=np.int64(-1)), ValueError,
     ["num_pass", "int >= 0", "got -1"]),
    ("n_threads-np-zero", lambda: _net(n_threads=np.int64(0)), ValueError,
     ["n_threads", "got 0"]),
    ("layers_dim-np-array", lambda: mlnn.neural_net(np.array([2, 0, 2])), ValueError,
     ["layers_dim", "got [2, 0, 2]"]),
    ("layers_dim-np-scalars", lambda: mlnn.neural_net([np.int64(2), np.int64(-4), 2]),
     ValueError, ["layers_dim", "got [2, -4, 2]"]),
    ("random_state-np-negative", lambda: mlnn.neural_net([2, 4, 3],
                                                        random_state=np.int64(-1)),
     ValueError, ["random_state", "got -1"]),
    ("epsilon-np-complex", lambda: _train(epsilon=np.complex128(1e-3)), TypeError,
     ["epsilon", "got (0.001+0j)"]),
    ("y-ragged", lambda: _train(y=[[0], [1, 2]] * 10), ValueError,
     ["y", "1-D array", Y_FORM]),
    # -- training parameters -----------------------------------------------------
    ("reg_lambda-negative", lambda: _train(reg_lambda=-0.1), ValueError,
     ["reg_lambda", "finite float >= 0"]),
    ("reg_lambda-nan", lambda: _train(reg_lambda=float("nan")), ValueError,
     ["reg_lambda", "finite float >= 0"]),
    ("reg_lambda-inf", lambda: _train(reg_lambda=np.inf), ValueError,
     ["reg_lambda", "finite float >= 0"]),
    ("reg_lambda-str", lambda: _train(reg_lambda="0.01"), TypeError,
     ["reg_lambda", "finite float >= 0"]),
    ("reg_lambda-None", lambda: _train(reg_lambda=None), TypeError,
     ["reg_lambda", "finite float >= 0"]),
    ("epsilon-zero", lambda: _train(epsilon=0), ValueError,
     ["epsilon", "finite float > 0"]),
    ("epsilon-negative", lambda: _train(epsilon=-1e-3), ValueError,
     ["epsilon", "finite float > 0"]),
    ("epsilon-inf", lambda: _train(epsilon=float("inf")), ValueError,
     ["epsilon", "finite float > 0"]),
    ("epsilon-complex", lambda: _train(epsilon=1e-3 + 0j), TypeError,
     ["epsilon", "finite float > 0"]),
    ("epsilon-bool", lambda: _train(epsilon=True), TypeError,
     ["epsilon", "finite float > 0"]),
    ("num_pass-negative", lambda: _train(num_pass=-1), ValueError,
     ["num_pass", "int >= 0"]),
    ("num_pass-float", lambda: _train(num_pass=10.0), TypeError,
     ["num_pass", "int >= 0"]),
    ("num_pass-str", lambda: _train(num_pass="10"), TypeError,
     ["num_pass", "int >= 0"]),
    ("print_every-zero", lambda: _train(print_every=0), ValueError,
     ["print_every", "int >= 1"]),
    ("on_divergence-unknown", lambda: _train(on_divergence="ignore"), ValueError,
     ["on_divergence", "'raise' or 'warn'"]),
    ("loss-reg_lambda", lambda: _net().crossentropy_loss(X_OK, Y_OK, -1), ValueError,
     ["reg_lambda", "finite float >= 0"]),
]


def _trained_on(y):
    nn = _net()
    nn.train(X_OK, y, 0.01, 0.01, num_pass=1, print_loss=False)
    return nn


def test_table_is_big_enough():
    assert len(BAD) >= 30
    assert len({case[0] for case in BAD}) == len(BAD)


@pytest.mark.parametrize("thunk, exc, words", [c[1:] for c in BAD],
                         ids=[c[0] for c in BAD])
def test_bad_input_raises_clear_error(thunk, exc, words):
    with pytest.raises(exc) as info:
        thunk()
    assert type(info.value) is exc  # not a subclass that happens to match
    msg = str(info.value)
    for w in words:
        assert w in msg, f"{w!r} missing from: {msg}"
    # plain values only: no np.int64(0), np.str_('a') or array([...]) reprs
    assert not re.search(r"\bnp\.\w+\(|\barray\(", msg), msg


def test_bad_train_leaves_model_untouched():
    nn = _net()
    before = nn._model.params.copy()
    with pytest.raises(ValueError):
        nn.train(X_OK, np.r_[Y_OK[:-1], 7], 0.01, 0.01, num_pass=5, print_loss=False)
    np.testing.assert_array_equal(nn._model.params, before)


# -- accepted inputs: converted, identical results, never mutated -----------------

def _variants(X, y):
    """(id, X-like, y-like) that must all give the float64 C-contiguous result."""
    big = np.empty((X.shape[0], 2 * X.shape[1]))
    big[:, ::2] = X
    ro = X.copy()
    ro.flags.writeable = False
    ro_y = y.copy()
    ro_y.flags.writeable = False
    Xint = np.round(X * 4)  # exact in every int/float type below
    return [
        ("list", X.tolist(), y.tolist(), X),
        ("dataframe-series", pd.DataFrame(X, columns=["a", "b"]),
         pd.Series(y, name="label"), X),
        ("non-contiguous", big[:, ::2], y[::1], X),
        ("fortran", np.asfortranarray(X), y, X),
        ("read-only", ro, ro_y, X),
        ("big-endian", X.astype(">f8"), y.astype(">i8"), X),
        ("int-X", Xint.astype(np.int32), y, Xint),
        ("float32-X", X.astype(np.float32), y, X.astype(np.float32).astype(np.float64)),
        ("float-y", X, y.astype(np.float64), X),
        ("uint8-y", X, y.astype(np.uint8), X),
        ("column-y", X, y.reshape(-1, 1), X),
        ("strided-y", X, np.repeat(y, 2)[::2], X),
    ]


def _snapshot(obj):
    """Bytes + dtype + flags of the user's data, to prove it was not touched."""
    if isinstance(obj, (pd.DataFrame, pd.Series)):
        return ("pandas", obj.to_numpy().tobytes(), str(obj.to_numpy().dtype))
    if isinstance(obj, list):
        return ("list", repr(obj))
    return ("array", obj.tobytes(order="A"), obj.dtype.str, obj.shape, obj.strides,
            obj.flags.writeable)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", range(12))
def test_accepted_inputs_are_converted_and_never_mutated(case, backend):
    X = RNG.randn(40, 2)
    y = (X[:, 0] > 0).astype(np.int64) + (X[:, 1] > 1)
    name, Xv, yv, X_equiv = _variants(X, y)[case]
    before = (_snapshot(Xv), _snapshot(yv))

    ref = mlnn.neural_net([2, 4, 3], backend=backend, random_state=1)
    got = mlnn.neural_net([2, 4, 3], backend=backend, random_state=1)
    w_ref = ref.train(np.ascontiguousarray(X_equiv), y, 0.01, 0.01, num_pass=20,
                      print_loss=False)
    w_got = got.train(Xv, yv, 0.01, 0.01, num_pass=20, print_loss=False)
    for k in w_ref:
        np.testing.assert_array_equal(w_got[k], w_ref[k], err_msg=f"{name}: {k}")
    np.testing.assert_array_equal(got.predict(Xv), ref.predict(X_equiv))
    np.testing.assert_array_equal(got.predict_proba(Xv), ref.predict_proba(X_equiv))
    assert got.crossentropy_loss(Xv, yv, 0.01) == ref.crossentropy_loss(X_equiv, y, 0.01)
    got.fprop(Xv)

    assert (_snapshot(Xv), _snapshot(yv)) == before, f"{name}: user data was modified"


@pytest.mark.parametrize("backend", BACKENDS)
def test_float32_model_accepts_float64_and_int_input(backend):
    X = np.round(RNG.randn(30, 2) * 4)
    y = (X[:, 0] > 0).astype(int)
    variants = [X, X.astype(np.float32), X.astype(np.int64), X.astype(">f4")]
    before = [v.tobytes() for v in variants]
    outs = [mlnn.neural_net([2, 4, 2], dtype=np.float32, backend=backend, random_state=0)
            .train(v, y, 0.01, 0.01, num_pass=10, print_loss=False) for v in variants]
    for o in outs[1:]:
        for k in o:
            assert o[k].dtype == np.float32
            np.testing.assert_array_equal(o[k], outs[0][k])
    assert [v.tobytes() for v in variants] == before


def test_whole_number_float_labels_equal_int_labels():
    a = _net().train(X_OK, Y_OK, 0.01, 0.01, num_pass=5, print_loss=False)
    b = _net().train(X_OK, Y_OK.astype(np.float32), 0.01, 0.01, num_pass=5,
                     print_loss=False)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])


@pytest.mark.parametrize("spec, sizes", [
    ([2, 4, 3], [2, 4, 4, 3]),
    ((2, 4, 3), [2, 4, 4, 3]),
    (np.array([2, 4, 3]), [2, 4, 4, 3]),
    ([np.int32(2), np.int64(4), 3], [2, 4, 4, 3]),
    ([2, 3], [2, 3]),
])
def test_layers_dim_spellings(spec, sizes):
    assert mlnn.neural_net(spec, random_state=0).sizes == sizes


@pytest.mark.parametrize("value", [0.01, np.float32(0.01), np.float64(0.01), 1, np.int64(1)])
def test_numeric_parameter_spellings(value):
    _train(reg_lambda=value, epsilon=value, num_pass=np.int64(2))


# -- labels of any type -----------------------------------------------------------

def _moons(n=120):
    import sklearn.datasets
    return sklearn.datasets.make_moons(n, noise=0.2, random_state=0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_string_labels_end_to_end(backend):
    X, y = _moons()
    names = np.array(["left moon", "right moon"])
    by_name = mlnn.neural_net([2, 4, 2], backend=backend, random_state=0)
    by_index = mlnn.neural_net([2, 4, 2], backend=backend, random_state=0)
    assert by_name.classes_ is None
    w_name = by_name.train(X, names[y], 0.01, 0.001, num_pass=300, print_loss=False,
                           print_every=100)
    w_index = by_index.train(X, y, 0.01, 0.001, num_pass=300, print_loss=False,
                             print_every=100)
    # the labels only change what predict returns, never the arithmetic
    for k in w_index:
        np.testing.assert_array_equal(w_name[k], w_index[k])
    assert by_name.history_ == by_index.history_
    np.testing.assert_array_equal(by_name.classes_, names)
    pred = by_name.predict(X)
    assert pred.dtype.kind == "U" and pred.shape == (len(X),)
    np.testing.assert_array_equal(pred, names[by_index.predict(X)])
    np.testing.assert_array_equal(by_name.predict_proba(X), by_index.predict_proba(X))
    assert (by_name.crossentropy_loss(X, names[y], 0.01)
            == by_index.crossentropy_loss(X, y, 0.01))
    w_name = by_name.bprop(X, names[y], 0.01, 0.001)
    w_index = by_index.bprop(X, y, 0.01, 0.001)
    for k in w_index:
        np.testing.assert_array_equal(w_name[k], w_index[k])
    assert np.mean(by_name.predict(X) == names[y]) > 0.8


def test_int_labels_are_the_output_indices_as_before():
    X, y = _moons()
    nn = mlnn.neural_net([2, 4, 3], random_state=0)
    # class 1 never appears: the labels are still the output indices
    y02 = np.where(y == 1, 2, 0)
    nn.train(X, y02, 0.01, 0.001, num_pass=50, print_loss=False)
    assert nn.classes_.dtype == np.int64 and nn.classes_.tolist() == [0, 1, 2]
    out = nn.predict(X)
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out, nn._model.predict(np.ascontiguousarray(X)))
    # float labels 0.0 / 2.0 are the same labels
    nn.train(X, y02.astype(np.float32), 0.01, 0.001, num_pass=5, print_loss=False)
    assert nn.classes_.tolist() == [0, 1, 2]


@pytest.mark.parametrize("labels, classes", [
    (np.array([1, 2]), [1, 2]),                     # ints outside [0, n_out)
    (np.array([-1, 1]), [-1, 1]),
    (np.array([False, True]), [False, True]),
    (np.array([10.0, 20.0]), [10.0, 20.0]),
    (pd.Series(["no", "yes"], dtype="category").to_numpy(), ["no", "yes"]),
    (np.array(["b", "a"], dtype=object), ["a", "b"]),
])
def test_labels_of_other_types(labels, classes):
    X, y = _moons()
    nn = mlnn.neural_net([2, 4, 2], random_state=0)
    ref = mlnn.neural_net([2, 4, 2], random_state=0)
    ordered = np.asarray(sorted(labels.tolist()), dtype=object)
    y_labels = ordered[y] if labels.dtype == object else np.sort(labels)[y]
    nn.train(X, y_labels, 0.01, 0.001, num_pass=100, print_loss=False)
    ref.train(X, y, 0.01, 0.001, num_pass=100, print_loss=False)
    assert nn.classes_.tolist() == classes
    assert nn.predict(X).tolist() == [classes[k] for k in ref.predict(X)]


def test_classes_are_fixed_by_the_first_successful_train():
    X, y = _moons()
    names = np.array(["a", "b"])[y]
    nn = mlnn.neural_net([2, 4, 2], random_state=0)
    with pytest.raises(ValueError, match="epsilon"):
        nn.train(X, names, 0.01, -1.0)
    assert nn.classes_ is None  # a refused call fixes nothing
    nn.crossentropy_loss(X, names, 0.01)
    nn.visualize_preds(X, names)
    assert nn.classes_ is None  # nor do calls that do not train
    nn.train(X, names, 0.01, 0.001, num_pass=2, print_loss=False)
    assert nn.classes_.tolist() == ["a", "b"]
    # later calls may hold some of the classes only
    nn.train(X[y == 1], names[y == 1], 0.01, 0.001, num_pass=2, print_loss=False)
    assert nn.crossentropy_loss(X[y == 0], names[y == 0], 0.01) > 0


def test_pictures_take_string_labels(tmp_path):
    X, y = _moons()
    names = np.array(["left", "right"])[y]
    nn = mlnn.neural_net([2, 4, 2], random_state=0)
    nn.train(X, names, 0.01, 0.001, num_pass=100, print_loss=False)
    assert nn.visualize_preds(X, names, resolution=0.05) is not None
    fresh = mlnn.neural_net([2, 4, 2], random_state=0)
    anim = fresh.animate_preds(X, names, 0.01, 0.001, num_pass=100, frames=3)
    assert len(anim.passes) == 3
    anim.save(tmp_path / "strings.gif", writer="pillow")
    for k, v in nn.model.items():
        np.testing.assert_array_equal(fresh.model[k], v)

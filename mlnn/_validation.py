"""Input validation at the Python boundary, shared by neural_net and MLNNClassifier.

Nothing reaches a kernel without passing through here: arrays come out
C-contiguous, native-endian, of the model's dtype, finite and of the right
shape.  User arrays are never modified (a copy is made whenever conversion is
needed, and kernels only read X and y).  Every error names the argument and
the form that was expected.
"""

import numbers

import numpy as np
import scipy.sparse as sp
from sklearn.utils import check_array

DTYPES = {np.dtype(np.float64): "float64", np.dtype(np.float32): "float32"}
ACTIVATION_NAMES = ("tanh", "relu", "sigmoid")
BACKENDS = ("cython", "numpy")
MAX_WIDTH = 2**31 - 1


def plain(value):
    """``value`` with NumPy scalars and arrays made plain Python, for messages.

    ``repr(np.int64(0))`` is ``'np.int64(0)'`` under NumPy 2, and arrays show
    as ``array([...])``; a message should show ``0`` and ``[...]``.  Lists,
    tuples and dicts are converted element by element.

    >>> import numpy as np
    >>> plain(np.int64(3)), plain(np.array([1, 2])), plain([np.str_("a"), 2.5])
    (3, [1, 2], ['a', 2.5])
    """
    if isinstance(value, (np.generic, np.ndarray)):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return type(value)(plain(v) for v in value)
    if isinstance(value, dict):
        return {plain(k): plain(v) for k, v in value.items()}
    return value


def _show(value):
    """repr of ``value`` as plain Python (no np.int64(...)); used in messages."""
    return repr(plain(value))


def check_dtype(dtype):
    """np.float64 or np.float32 (any spelling numpy accepts) -> np.dtype."""
    try:
        dt = None if dtype is None else np.dtype(dtype)
    except (TypeError, ValueError):
        dt = None
    if dt not in DTYPES:
        raise ValueError(f"dtype must be np.float64 or np.float32, got {_show(dtype)}")
    return dt


def check_activation(activation):
    if not isinstance(activation, str) or activation not in ACTIVATION_NAMES:
        raise ValueError(
            f"activation must be one of {ACTIVATION_NAMES}, got {_show(activation)}")
    return activation


def check_int(value, name, minimum=0):
    """A Python or NumPy integer (not bool) >= minimum."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int >= {minimum}, got {_show(value)}")
    if value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {_show(value)}")
    return int(value)


def check_float(value, name, minimum=0.0, strict=False):
    """A finite real number >= minimum (> minimum if strict)."""
    bound = f"> {minimum}" if strict else f">= {minimum}"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a finite float {bound}, got {_show(value)}")
    value = float(value)
    if not np.isfinite(value) or value < minimum or (strict and value == minimum):
        raise ValueError(f"{name} must be a finite float {bound}, got {_show(value)}")
    return value


def check_n_threads(n_threads):
    if n_threads is None:
        return None
    return check_int(n_threads, "n_threads", minimum=1)


def check_layers_dim(layers_dim, hidden_layers):
    """Expand the notebook's layer spec into the full list of layer sizes.

    ``[n_in, n_hidden, n_out]`` means ``hidden_layers`` hidden layers of width
    n_hidden (the notebook's network is hidden_layers=2).  A list of more than
    three sizes spells out every layer and ignores ``hidden_layers``.
    """
    try:
        dims = list(layers_dim)
    except TypeError:
        raise TypeError(
            f"layers_dim must be a list of positive ints like [2, 4, 2], "
            f"got {_show(layers_dim)}") from None
    if len(dims) < 2:
        raise ValueError(
            f"layers_dim must hold at least two positive ints [n_in, ..., n_out], "
            f"got {_show(layers_dim)}")
    for d in dims:
        if isinstance(d, (bool, np.bool_)) or not isinstance(d, numbers.Integral) or d < 1:
            raise ValueError(
                f"layers_dim must hold positive ints like [2, 4, 2], got {_show(layers_dim)}")
        if d > MAX_WIDTH:
            # kernels index one layer with C ints (BLAS)
            raise ValueError(
                f"layers_dim must hold positive ints <= {MAX_WIDTH}, got {_show(layers_dim)}")
    dims = [int(d) for d in dims]
    if len(dims) == 3:
        k = check_int(hidden_layers, "hidden_layers", minimum=0)
        dims = [dims[0]] + [dims[1]] * k + [dims[2]]
    if dims[-1] < 2:
        raise ValueError(
            f"layers_dim must end with n_out >= 2 classes for the softmax, "
            f"got {_show(layers_dim)}")
    return dims


def check_X(X, n_features, dtype, name="X", finite=True):
    """2-D, numeric, finite, >= 1 row, n_features columns -> C-contiguous array.

    finite=False skips only the finiteness check, for callers whose kernel
    counts NaN/inf while it reads X (predict, predict_proba) and which call
    again with finite=True to raise the message below when it finds some.

    Lists, pandas DataFrames, strided, Fortran-ordered, read-only,
    big-endian, int or other-precision arrays are converted (into a copy;
    an array that already has the right form is returned as it is, and
    kernels only read it).
    """
    shape = f"(n_samples, {n_features})" if n_features is not None else "(n_samples, n_features)"
    expected = f"a 2-D array of finite real numbers of shape {shape}"
    if X is None or isinstance(X, (str, bytes, dict)):
        raise TypeError(f"{name} must be {expected}, got {type(X).__name__}")
    if sp.issparse(X):
        raise TypeError(
            f"{name} must be {expected}, got a sparse matrix; use X.toarray()")
    if not isinstance(X, np.ndarray) and not hasattr(X, "dtypes"):
        # lists and other sequences (pandas objects go to check_array as they are)
        try:
            X = np.asarray(X)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"{name} must be {expected} (rows of equal length): {exc}") from None
    if isinstance(X, np.ndarray):
        if X.dtype.kind in "USVMmc":
            raise TypeError(f"{name} must be {expected}, got dtype {X.dtype}")
        if X.ndim != 2:
            raise ValueError(
                f"{name} must be {expected}, got a {X.ndim}-D array of shape {X.shape}")
    try:
        # a value too large for float32 becomes inf and is reported below,
        # so numpy's overflow warning would only repeat it (and the invalid
        # one from summing +inf and -inf in the finiteness check)
        with np.errstate(over="ignore", invalid="ignore"):
            X = check_array(X, dtype=dtype, order="C", ensure_all_finite=finite,
                            input_name=name, ensure_min_samples=1,
                            ensure_min_features=1)
    except ValueError as exc:
        if "could not convert" in str(exc) or "argument must be" in str(exc):
            raise TypeError(f"{name} must be {expected}: {exc}") from None
        raise ValueError(f"{name} must be {expected}: {exc}") from None
    except TypeError as exc:
        raise TypeError(f"{name} must be {expected}: {exc}") from None
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(
            f"{name} must have shape {shape} to match the network's input "
            f"layer, got {X.shape}")
    if X.shape[0] > MAX_WIDTH:
        raise ValueError(f"{name} must have at most 2**31 - 1 rows, got {X.shape[0]}")
    return X


def labels_form(n_out, name="y"):
    """The form class labels take, for messages."""
    return (f"a 1-D array of class labels: int labels in [0, {n_out}) (the output "
            f"indices), or {n_out} distinct labels of one type (strings, other "
            f"numbers...; they map to the outputs in sorted order)")


def _shown_labels(labels, limit=10):
    labels = plain(np.asarray(labels)[:limit + 1].tolist())
    more = len(labels) > limit
    text = ", ".join(repr(v) for v in labels[:limit])
    return f"[{text}, ...]" if more else f"[{text}]"


def labels_are_indices(classes, n_out):
    """True when ``classes`` is arange(n_out): the labels are the output indices."""
    return (classes is not None and classes.dtype.kind in "iu"
            and classes.shape == (n_out,)
            and bool(np.array_equal(classes, np.arange(n_out))))


def encode_labels(y, n_samples, n_out, classes=None, name="y"):
    """Class labels -> ``(codes, classes)``: int64 codes in [0, n_out) and the
    labels ``classes[code]`` they stand for (sorted, one per output).

    With ``classes=None`` (a network's first training) they are found from y:

    * ints, or whole-number floats, all in [0, n_out): the labels are the
      output indices themselves and ``classes`` is ``arange(n_out)`` (the
      notebook's case; some classes may be absent from y);
    * any other labels (strings, bools, ints outside [0, n_out)...): exactly
      n_out distinct labels of one sortable type, mapped to the outputs in
      sorted order (``np.unique``), as scikit-learn classifiers do.

    With ``classes`` (set by an earlier training) every label must be one of
    them.  ``n_samples``, unless None, is the length y must have.  Raises
    TypeError / ValueError naming ``name`` and the form expected;
    values in messages are plain Python (no ``np.int64(...)``).

    >>> codes, classes = encode_labels(["b", "a", "b"], 3, 2)
    >>> codes.tolist(), classes.tolist()
    ([1, 0, 1], ['a', 'b'])
    >>> encode_labels([0, 1, 1], 3, 3)[1].tolist()
    [0, 1, 2]
    """
    form = labels_form(n_out)
    if y is None or isinstance(y, (str, bytes, dict)):
        raise TypeError(f"{name} must be {form}, got {type(y).__name__}")
    try:
        y_arr = np.asarray(y)
    except (TypeError, ValueError) as exc:  # ragged sequences
        raise ValueError(f"{name} must be {form}: {exc}") from None
    if y_arr.ndim == 2 and y_arr.shape[1] == 1:
        y_arr = y_arr.ravel()
    if y_arr.ndim != 1:
        raise ValueError(f"{name} must be {form}, got shape {y_arr.shape}")
    if y_arr.dtype.kind in "US" and not isinstance(y, np.ndarray):
        # np.asarray(["a", 1]) silently makes the 1 a string '1'
        kinds = {"str" if isinstance(v, str) else type(v).__name__
                 for v in np.asarray(y, dtype=object).ravel().tolist()}
        if len(kinds) > 1:
            raise TypeError(
                f"{name} must be {form}: it mixes labels of the types "
                f"{sorted(kinds)}; use labels of one type")
    if n_samples is not None and y_arr.shape[0] != n_samples:
        raise ValueError(
            f"{name} must have one label per row of X ({n_samples}), "
            f"got {y_arr.shape[0]}")
    if y_arr.dtype.kind == "O":
        # numbers (or None) in an object array: compare them as floats, so
        # None becomes NaN and is refused below; strings stay as they are
        try:
            y_arr = y_arr.astype(np.float64)
        except (TypeError, ValueError):
            pass
    if y_arr.dtype.kind not in "iufbUSO":
        raise TypeError(f"{name} must be {form}, got dtype {y_arr.dtype}")
    if y_arr.dtype.kind == "f":
        if not np.all(np.isfinite(y_arr)) or np.any(y_arr != np.round(y_arr)):
            raise ValueError(
                f"{name} must be {form} (whole-number floats are accepted as "
                f"labels), got non-integer or non-finite floats")
    # the notebook's case: the labels are the output indices themselves
    in_range = y_arr.dtype.kind in "iuf" and (
        y_arr.size == 0 or (y_arr.min() >= 0 and y_arr.max() < n_out))

    if classes is None:
        if in_range:
            return (np.ascontiguousarray(y_arr, dtype=np.int64),
                    np.arange(n_out, dtype=np.int64))
        try:
            found, codes = np.unique(y_arr, return_inverse=True)
        except TypeError as exc:  # e.g. strings mixed with numbers
            raise TypeError(
                f"{name} must be {form}: its labels cannot be sorted ({exc}); "
                f"use labels of one type") from None
        k = found.size
        if k > n_out:
            raise ValueError(
                f"{name} has {k} distinct labels {_shown_labels(found)} but the "
                f"network has {n_out} outputs: give int labels in [0, {n_out}) or "
                f"exactly {n_out} distinct labels, or make the last layer {k} wide")
        if k < 2:
            raise ValueError(
                f"{name} holds a single label {_shown_labels(found)}; a classifier "
                f"needs at least 2 classes")
        if k < n_out:
            raise ValueError(
                f"{name} has {k} distinct labels {_shown_labels(found)} for a network "
                f"with {n_out} outputs: labels other than int labels in [0, {n_out}) "
                f"map to the outputs in sorted order, so there must be exactly "
                f"{n_out} of them, or make the last layer {k} wide")
        return np.ascontiguousarray(codes.reshape(-1), dtype=np.int64), found

    # -- labels of a network that has been trained: classes_ is fixed -----------
    if labels_are_indices(classes, n_out) and in_range:
        return np.ascontiguousarray(y_arr, dtype=np.int64), classes
    codes = np.zeros(y_arr.shape[0], dtype=np.int64)
    known = np.zeros(y_arr.shape[0], dtype=bool)
    # numbers match numbers, strings strings (comparing across fails or warns)
    if (y_arr.dtype.kind in "iufb") == (classes.dtype.kind in "iufb") and y_arr.size:
        try:
            pos = np.minimum(np.searchsorted(classes, y_arr), classes.size - 1)
            known = np.asarray(classes[pos] == y_arr, dtype=bool)
            codes = pos.astype(np.int64)
        except TypeError:
            pass
    if not known.all():
        unknown = np.unique(y_arr[~known]) if y_arr.dtype.kind != "O" else y_arr[~known]
        raise ValueError(
            f"{name} holds labels that are not among this network's classes_ "
            f"{_shown_labels(classes)} (fixed by its first train()): got "
            f"{_shown_labels(unknown)}")
    return codes, classes


def check_random_state(random_state):
    """None, an int in [0, 2**32), a RandomState or a Generator."""
    if random_state is None or isinstance(
            random_state, (np.random.RandomState, np.random.Generator)):
        return random_state
    if (isinstance(random_state, (bool, np.bool_))
            or not isinstance(random_state, numbers.Integral)):
        raise TypeError(
            f"random_state must be None, an int in [0, 2**32), a "
            f"np.random.RandomState or a np.random.Generator, got {_show(random_state)}")
    if not 0 <= random_state < 2**32:
        raise ValueError(
            f"random_state must be None, an int in [0, 2**32), a "
            f"np.random.RandomState or a np.random.Generator, got {_show(random_state)}")
    return random_state


def check_finite_output(values, X, what, name="X"):
    """Raise a clear error instead of returning NaN/inf computed from ``X``.

    Finite weights and finite X can still overflow inside the network (e.g.
    ReLU layers fed values near the dtype's maximum), and a softmax of
    infinite logits is NaN: garbage that must not reach the user.
    """
    values = np.asarray(values)
    if np.all(np.isfinite(values)):
        return values
    big = float(np.max(np.abs(X))) if X.size else 0.0
    raise ValueError(
        f"{name} must hold values of moderate size for this network: its {what} "
        f"overflowed to NaN or inf (largest |{name}| is {big:.3g}, dtype "
        f"{X.dtype}). Scale {name} (e.g. with sklearn's StandardScaler), or "
        f"check the model's weights.")

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


def check_dtype(dtype):
    """np.float64 or np.float32 (any spelling numpy accepts) -> np.dtype."""
    try:
        dt = None if dtype is None else np.dtype(dtype)
    except (TypeError, ValueError):
        dt = None
    if dt not in DTYPES:
        raise ValueError(f"dtype must be np.float64 or np.float32, got {dtype!r}")
    return dt


def check_activation(activation):
    if not isinstance(activation, str) or activation not in ACTIVATION_NAMES:
        raise ValueError(
            f"activation must be one of {ACTIVATION_NAMES}, got {activation!r}")
    return activation


def check_int(value, name, minimum=0):
    """A Python or NumPy integer (not bool) >= minimum."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def check_float(value, name, minimum=0.0, strict=False):
    """A finite real number >= minimum (> minimum if strict)."""
    bound = f"> {minimum}" if strict else f">= {minimum}"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a finite float {bound}, got {value!r}")
    value = float(value)
    if not np.isfinite(value) or value < minimum or (strict and value == minimum):
        raise ValueError(f"{name} must be a finite float {bound}, got {value!r}")
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
            f"got {layers_dim!r}") from None
    if len(dims) < 2:
        raise ValueError(
            f"layers_dim must hold at least two positive ints [n_in, ..., n_out], "
            f"got {layers_dim!r}")
    for d in dims:
        if isinstance(d, (bool, np.bool_)) or not isinstance(d, numbers.Integral) or d < 1:
            raise ValueError(
                f"layers_dim must hold positive ints like [2, 4, 2], got {layers_dim!r}")
        if d > MAX_WIDTH:
            # kernels index one layer with C ints (BLAS)
            raise ValueError(
                f"layers_dim must hold positive ints <= {MAX_WIDTH}, got {layers_dim!r}")
    dims = [int(d) for d in dims]
    if len(dims) == 3:
        k = check_int(hidden_layers, "hidden_layers", minimum=0)
        dims = [dims[0]] + [dims[1]] * k + [dims[2]]
    if dims[-1] < 2:
        raise ValueError(
            f"layers_dim must end with n_out >= 2 classes for the softmax, "
            f"got {layers_dim!r}")
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


def check_labels(y, n_samples, n_classes, name="y"):
    """Integer class labels in [0, n_classes) of length n_samples -> int64 array.

    Whole-number floats (e.g. 1.0) are accepted.
    """
    if y is None or isinstance(y, (str, bytes, dict)):
        raise TypeError(
            f"{name} must be a 1-D array of int labels in [0, {n_classes}), "
            f"got {type(y).__name__}")
    try:
        y_arr = np.asarray(y)
    except (TypeError, ValueError) as exc:  # ragged sequences
        raise ValueError(
            f"{name} must be a 1-D array of int labels in [0, {n_classes}): {exc}") from None
    if y_arr.ndim == 2 and y_arr.shape[1] == 1:
        y_arr = y_arr.ravel()
    if y_arr.ndim != 1:
        raise ValueError(
            f"{name} must be a 1-D array of int labels in [0, {n_classes}), "
            f"got shape {y_arr.shape}")
    if y_arr.shape[0] != n_samples:
        raise ValueError(
            f"{name} must have one label per row of X ({n_samples}), "
            f"got {y_arr.shape[0]}")
    if y_arr.dtype.kind == "O":
        # e.g. a list mixing ints and floats with None: convertible or not
        try:
            y_arr = y_arr.astype(np.float64)
        except (TypeError, ValueError):
            pass
    if y_arr.dtype.kind not in "iuf":
        raise TypeError(
            f"{name} must be a 1-D array of int labels in [0, {n_classes}), "
            f"got dtype {y_arr.dtype}")
    if y_arr.dtype.kind == "f":
        if not np.all(np.isfinite(y_arr)) or np.any(y_arr != np.round(y_arr)):
            raise ValueError(
                f"{name} must be a 1-D array of int labels in [0, {n_classes}) "
                f"(whole-number floats are accepted), got non-integer or "
                f"non-finite floats")
    if y_arr.size and (y_arr.min() < 0 or y_arr.max() >= n_classes):
        raise ValueError(
            f"{name} must be a 1-D array of int labels in [0, {n_classes}) (the network has "
            f"{n_classes} outputs), got values in [{y_arr.min()}, {y_arr.max()}]")
    return np.ascontiguousarray(y_arr, dtype=np.int64)


def check_random_state(random_state):
    """None, an int in [0, 2**32), a RandomState or a Generator."""
    if random_state is None or isinstance(
            random_state, (np.random.RandomState, np.random.Generator)):
        return random_state
    if (isinstance(random_state, (bool, np.bool_))
            or not isinstance(random_state, numbers.Integral)):
        raise TypeError(
            f"random_state must be None, an int in [0, 2**32), a "
            f"np.random.RandomState or a np.random.Generator, got {random_state!r}")
    if not 0 <= random_state < 2**32:
        raise ValueError(
            f"random_state must be None, an int in [0, 2**32), a "
            f"np.random.RandomState or a np.random.Generator, got {random_state!r}")
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

"""Input validation at the Python boundary, shared by neural_net and MLNNClassifier.

Nothing reaches a kernel without passing through here: arrays come out
C-contiguous, native-endian, of the model's dtype, finite and of the right
shape.  User arrays are never modified (a copy is made whenever conversion is
needed, and kernels only read X and y).  Every error names the argument and
the form that was expected.
"""

import numbers

import numpy as np
from sklearn.utils import check_array

DTYPES = {np.dtype(np.float64): "float64", np.dtype(np.float32): "float32"}
ACTIVATION_NAMES = ("tanh", "relu", "sigmoid")
BACKENDS = ("cython", "numpy")


def check_dtype(dtype):
    """np.float64 or np.float32 (any spelling numpy accepts) -> np.dtype."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
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
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a finite float, got {value!r}")
    value = float(value)
    bound = f"> {minimum}" if strict else f">= {minimum}"
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
                f"layers_dim must hold positive ints, got {layers_dim!r}")
    dims = [int(d) for d in dims]
    if len(dims) == 3:
        k = check_int(hidden_layers, "hidden_layers", minimum=0)
        dims = [dims[0]] + [dims[1]] * k + [dims[2]]
    if dims[-1] < 2:
        raise ValueError(
            f"layers_dim must end with n_out >= 2 classes for the softmax, "
            f"got {layers_dim!r}")
    return dims


def check_X(X, n_features, dtype, name="X"):
    """2-D, numeric, finite, >= 1 row, n_features columns -> C-contiguous copy if needed."""
    if isinstance(X, np.ndarray) and X.dtype.kind in "OUSV":
        raise TypeError(f"{name} must be a numeric 2-D array, got dtype {X.dtype}")
    try:
        X = check_array(X, dtype=dtype, order="C", ensure_all_finite=True,
                        input_name=name, ensure_min_samples=1)
    except ValueError as exc:
        raise ValueError(
            f"{name} must be a finite numeric 2-D array of shape "
            f"(n_samples, {n_features}): {exc}") from None
    except TypeError as exc:
        raise TypeError(f"{name} must be a numeric 2-D array: {exc}") from None
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(
            f"{name} must have shape (n_samples, {n_features}) to match the "
            f"network's input layer, got {X.shape}")
    if X.shape[0] >= 2**31:
        raise ValueError(f"{name} has too many rows ({X.shape[0]}); at most 2**31 - 1")
    return X


def check_labels(y, n_samples, n_classes, name="y"):
    """Integer class labels in [0, n_classes) of length n_samples -> int64 array.

    Whole-number floats (e.g. 1.0) are accepted.
    """
    try:
        y_arr = np.asarray(y)
    except Exception as exc:  # pragma: no cover - exotic sequences
        raise TypeError(f"{name} must be a 1-D array of int labels: {exc}") from None
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
    if y_arr.dtype.kind == "b" or y_arr.dtype.kind not in "iuf":
        raise TypeError(
            f"{name} must hold int class labels in [0, {n_classes}), "
            f"got dtype {y_arr.dtype}")
    if y_arr.dtype.kind == "f":
        if not np.all(np.isfinite(y_arr)) or np.any(y_arr != np.round(y_arr)):
            raise ValueError(
                f"{name} must hold whole-number labels in [0, {n_classes}); "
                f"got non-integer or non-finite floats")
    if y_arr.size and (y_arr.min() < 0 or y_arr.max() >= n_classes):
        raise ValueError(
            f"{name} must hold labels in [0, {n_classes}) (the network has "
            f"{n_classes} outputs), got values in [{y_arr.min()}, {y_arr.max()}]")
    return np.ascontiguousarray(y_arr, dtype=np.int64)

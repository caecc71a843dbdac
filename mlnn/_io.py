"""Saving and loading ``neural_net`` models as ``.npz`` files, without pickle.

File format (version 1), one array per key, written with ``np.savez``
(nothing in it needs ``allow_pickle``):

========================  ==================================================
``format``                the string ``"mlnn.neural_net"``
``format_version``        int64 scalar, ``FORMAT_VERSION``
``sizes``                 int64 (L+1,): every layer's width [n_in, ..., n_out]
``layers_dim``            int64: the ``layers_dim`` the network was built with
``hidden_layers``         int64 scalar
``activation``            string: 'tanh', 'relu' or 'sigmoid'
``dtype``                 string: 'float64' or 'float32'
``W1`` .. ``WL``          (sizes[l-1], sizes[l]) of ``dtype``
``b1`` .. ``bL``          (1, sizes[l]) of ``dtype``
========================  ==================================================

``load`` trusts nothing in the file: it checks the set of keys, every
array's type, shape and dtype, that the weights are finite and that the
layer spec rebuilds the same sizes, and raises ``ModelFileError`` (a
``ValueError``) naming the file and what was wrong.
"""

import os

import numpy as np

from mlnn import _validation as V

FORMAT = "mlnn.neural_net"
FORMAT_VERSION = 1
_META_KEYS = ("format", "format_version", "sizes", "layers_dim", "hidden_layers",
              "activation", "dtype")


class ModelFileError(ValueError):
    """A file given to ``mlnn.load`` is not a valid, intact mlnn model file."""


def save(net, path):
    """Write ``net`` to ``path`` as an .npz file (no pickle inside).

    ``.npz`` is appended to a path without it, as ``np.savez`` does.  The file
    is written next to its destination and then renamed, so an interrupted
    save never leaves a truncated model behind.  Returns the path written.
    """
    sizes = net.sizes
    arrays = {
        "format": np.array(FORMAT),
        "format_version": np.array(FORMAT_VERSION, dtype=np.int64),
        "sizes": np.array(sizes, dtype=np.int64),
        "layers_dim": np.array(net.layers_dim, dtype=np.int64),
        "hidden_layers": np.array(net.hidden_layers, dtype=np.int64),
        "activation": np.array(net.activation),
        "dtype": np.array(net.dtype.name),
    }
    for name, value in net.model.items():
        arrays[name] = np.ascontiguousarray(value)
    if hasattr(path, "write"):
        np.savez(path, **arrays)
        return path
    path = os.fspath(path)
    if not path.endswith(".npz"):
        path += ".npz"
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def read(path):
    """Read and check a model file written by ``neural_net.save``.

    Returns ``(spec, layers)``: spec has the keys layers_dim, hidden_layers,
    activation and dtype (``neural_net``'s arguments); layers is
    [(W_l (n_in, n_out), b_l (n_out,)), ...].  Every key, type, shape, dtype
    and value is checked; a truncated, tampered, foreign or newer-version
    file raises ``ModelFileError``.  ``mlnn.load`` builds the network from
    them (this module never imports the facade).
    """
    name = repr(os.fspath(path)) if isinstance(path, (str, os.PathLike)) else "the file"
    arrays = _read(path, name)

    def fail(what):
        raise ModelFileError(f"{name} is not a valid mlnn model file: {what}")

    # -- metadata ------------------------------------------------------------
    missing = [k for k in _META_KEYS if k not in arrays]
    if missing:
        fail(f"missing the key(s) {missing}; expected the keys {list(_META_KEYS)} "
             f"and W1..WL, b1..bL")
    fmt = _string(arrays["format"], "format", fail)
    if fmt != FORMAT:
        fail(f"'format' must be {FORMAT!r}, got {fmt!r}")
    version = _int_scalar(arrays["format_version"], "format_version", fail)
    if version != FORMAT_VERSION:
        newer = " (written by a newer mlnn; upgrade mlnn)" if version > FORMAT_VERSION else ""
        fail(f"'format_version' must be {FORMAT_VERSION}, got {version}{newer}")
    activation = _string(arrays["activation"], "activation", fail)
    if activation not in V.ACTIVATION_NAMES:
        fail(f"'activation' must be one of {V.ACTIVATION_NAMES}, got {activation!r}")
    dtype_name = _string(arrays["dtype"], "dtype", fail)
    if dtype_name not in ("float64", "float32"):
        fail(f"'dtype' must be 'float64' or 'float32', got {dtype_name!r}")
    dtype = np.dtype(dtype_name)
    sizes = _int_vector(arrays["sizes"], "sizes", fail)
    layers_dim = _int_vector(arrays["layers_dim"], "layers_dim", fail)
    hidden_layers = _int_scalar(arrays["hidden_layers"], "hidden_layers", fail)
    try:
        rebuilt = V.check_layers_dim(layers_dim, hidden_layers)
    except (TypeError, ValueError) as exc:
        fail(f"'layers_dim'/'hidden_layers' are not a valid layer spec: {exc}")
    if rebuilt != sizes:
        fail(f"'sizes' {sizes} does not match 'layers_dim' {layers_dim} with "
             f"hidden_layers={hidden_layers} (which give {rebuilt})")

    # -- parameters --------------------------------------------------------------
    n_layers = len(sizes) - 1
    param_keys = [f"{p}{l}" for l in range(1, n_layers + 1) for p in "Wb"]
    expected = set(_META_KEYS) | set(param_keys)
    extra = sorted(set(arrays) - expected)
    missing = [k for k in param_keys if k not in arrays]
    if extra or missing:
        fail(f"for sizes {sizes} the parameters must be exactly "
             f"{param_keys}; missing {missing}, unexpected {extra}")
    for l in range(1, n_layers + 1):
        for key, shape in ((f"W{l}", (sizes[l - 1], sizes[l])), (f"b{l}", (1, sizes[l]))):
            a = arrays[key]
            if a.dtype != dtype:
                fail(f"{key!r} must have dtype {dtype_name} like the model, got {a.dtype}")
            if a.shape != shape:
                fail(f"{key!r} must have shape {shape} for sizes {sizes}, got {a.shape}")
            if not np.all(np.isfinite(a)):
                fail(f"{key!r} must hold finite numbers, found NaN or inf")

    spec = {"layers_dim": [int(d) for d in layers_dim], "hidden_layers": hidden_layers,
            "activation": activation, "dtype": dtype}
    layers = [(arrays[f"W{l}"], arrays[f"b{l}"].reshape(-1)) for l in range(1, n_layers + 1)]
    return spec, layers


def _read(path, name):
    """Every array of the .npz, read eagerly, with read errors made clear."""
    bad = (f"{name} is not a valid mlnn model file (an .npz archive written by "
           f"neural_net.save)")
    try:
        data = np.load(path, allow_pickle=False)
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        raise
    except Exception as exc:  # pickled data, random bytes, an empty file...
        raise ModelFileError(f"{bad}: {type(exc).__name__}: {exc}") from exc
    if not isinstance(data, np.lib.npyio.NpzFile):
        raise ModelFileError(f"{bad}: it holds a single .npy array")
    try:
        # reading each member decompresses and CRC-checks it, so truncation
        # and corruption show up here (BadZipFile, zlib.error, EOFError, ...)
        return {k: data[k] for k in data.files}
    except Exception as exc:
        raise ModelFileError(f"{bad}: {type(exc).__name__}: {exc}") from exc
    finally:
        data.close()


def _string(a, key, fail):
    if a.shape != () or a.dtype.kind != "U":
        fail(f"{key!r} must be a string scalar, got an array of dtype {a.dtype} "
             f"and shape {a.shape}")
    return str(a[()])


def _int_scalar(a, key, fail):
    if a.shape != () or a.dtype.kind not in "iu":
        fail(f"{key!r} must be an integer scalar, got an array of dtype {a.dtype} "
             f"and shape {a.shape}")
    return int(a[()])


def _int_vector(a, key, fail):
    if a.ndim != 1 or a.dtype.kind not in "iu":
        fail(f"{key!r} must be a 1-D integer array, got dtype {a.dtype} and "
             f"shape {a.shape}")
    return [int(v) for v in a]

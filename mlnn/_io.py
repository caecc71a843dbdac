"""Saving and loading ``neural_net`` models as ``.npz`` files, without pickle.

File format (version 2), one array per key, written with ``np.savez``
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
``classes``               (sizes[-1],) numbers, bools or strings, strictly
                          increasing: ``classes_``; absent while it is None
========================  ==================================================

Version 1 (mlnn before labels of any type) had no ``classes``; such files
are still read, with ``classes_ = None``.

``load`` trusts nothing in the file: it checks the set of keys, every
array's type, shape and dtype, that the weights are finite and that the
layer spec rebuilds the same sizes, and raises ``ModelFileError`` (a
``ValueError``) naming the file and what was wrong: "is not an mlnn model
file" for a file of another kind (a pickle, a lone .npy array, an .npz or
zip of something else, an empty file), "is not a valid mlnn model file" for
a damaged, truncated or tampered one.
"""

import os

import numpy as np

from mlnn import _validation as V

FORMAT = "mlnn.neural_net"
FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)
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
    classes = getattr(net, "classes_", None)
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
    if classes is not None:
        arrays["classes"] = _storable_classes(classes)
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


def _storable_classes(classes):
    """classes_ as an array np.savez stores without pickle (numbers, bools, str)."""
    c = np.asarray(classes)
    if c.dtype.kind == "O":
        try:
            c = np.array(c.tolist())
        except (TypeError, ValueError):
            pass
    if c.ndim != 1 or c.dtype.kind not in "iufbUS":
        raise ValueError(
            f"cannot save classes_ {V.plain(classes)!r}: mlnn model files hold no "
            f"pickled objects, so the labels must be numbers, bools or strings")
    return np.ascontiguousarray(c)


def _resolve(path):
    """The file ``path`` names: as given, else with ``.npz`` appended (the
    name ``save`` writes for a path without it)."""
    if not isinstance(path, (str, os.PathLike)):
        return path
    path = os.fspath(path)
    if os.path.exists(path) or path.endswith(".npz"):
        return path
    if os.path.exists(path + ".npz"):
        return path + ".npz"
    raise FileNotFoundError(f"no mlnn model file {path!r} (nor {path + '.npz'!r})")


def read(path):
    """Read and check a model file written by ``neural_net.save``.

    Returns ``(spec, layers, classes)``: spec has the keys layers_dim,
    hidden_layers, activation and dtype (``neural_net``'s arguments); layers
    is [(W_l (n_in, n_out), b_l (n_out,)), ...]; classes is ``classes_`` (None
    if not stored).  A path without a file there is tried with ``.npz``
    appended, as ``save`` names its file.  Every key, type, shape, dtype and
    value is checked; a truncated, tampered, foreign or newer-version file
    raises ``ModelFileError``.  ``mlnn.load`` builds the network from them
    (this module never imports the facade).
    """
    path = _resolve(path)
    name = repr(os.fspath(path)) if isinstance(path, (str, os.PathLike)) else "the file"
    arrays = _read(path, name)

    def fail(what):
        raise ModelFileError(f"{name} is not a valid mlnn model file: {what}")

    # -- metadata ------------------------------------------------------------
    if "format" not in arrays:
        keys = ", ".join(sorted(arrays)[:8]) + (", ..." if len(arrays) > 8 else "")
        raise ModelFileError(
            f"{name} is not an mlnn model file: an .npz archive without the "
            f"'format' entry that neural_net.save writes (it holds: {keys or 'nothing'})")
    missing = [k for k in _META_KEYS if k not in arrays]
    if missing:
        fail(f"missing the key(s) {missing}; expected the keys {list(_META_KEYS)} "
             f"and W1..WL, b1..bL")
    fmt = _string(arrays["format"], "format", fail)
    if fmt != FORMAT:
        fail(f"'format' must be {FORMAT!r}, got {fmt!r}")
    version = _int_scalar(arrays["format_version"], "format_version", fail)
    if version not in READABLE_VERSIONS:
        newer = " (written by a newer mlnn; upgrade mlnn)" if version > FORMAT_VERSION else ""
        fail(f"'format_version' must be one of {list(READABLE_VERSIONS)}, got "
             f"{version}{newer}")
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
    expected = set(_META_KEYS) | set(param_keys) | ({"classes"} if version >= 2 else set())
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

    classes = arrays.get("classes")
    if classes is not None:
        _check_classes(classes, sizes[-1], fail)

    spec = {"layers_dim": [int(d) for d in layers_dim], "hidden_layers": hidden_layers,
            "activation": activation, "dtype": dtype}
    layers = [(arrays[f"W{l}"], arrays[f"b{l}"].reshape(-1)) for l in range(1, n_layers + 1)]
    return spec, layers, classes


def _check_classes(c, n_out, fail):
    if c.ndim != 1 or c.dtype.kind not in "iufbUS":
        fail(f"'classes' must be a 1-D array of numbers, bools or strings, got "
             f"dtype {c.dtype} and shape {c.shape}")
    if c.shape[0] != n_out:
        fail(f"'classes' must hold one label per output ({n_out}), got {c.shape[0]}")
    if c.dtype.kind == "f" and not np.all(np.isfinite(c)):
        fail("'classes' must hold finite numbers, found NaN or inf")
    if c.size > 1 and not np.all(c[1:] > c[:-1]):
        fail("'classes' must be sorted and distinct (as np.unique gives them)")


# How files of other kinds begin (the first bytes a sniff reads).
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_NPY_MAGIC = b"\x93NUMPY"


def _head(path, n=8):
    """The first n bytes of a path or seekable file object (None if unseekable)."""
    if isinstance(path, (str, os.PathLike)):
        with open(path, "rb") as f:
            return f.read(n)
    try:
        pos = path.tell()
        head = path.read(n)
        path.seek(pos)
    except (AttributeError, OSError, ValueError):
        return None
    return head


def _foreign_kind(head):
    """What a file that is not a zip archive holds, in words; None for a zip."""
    if head is None or head.startswith(_ZIP_MAGIC):
        return None
    if not head:
        return "the file is empty"
    if head.startswith(_NPY_MAGIC):
        return "it holds a single NumPy array (.npy), not a model archive"
    if head[:1] == b"\x80" or head[:1] in (b"(", b"]", b"}"):
        return "it holds pickled Python objects, which mlnn never loads"
    return "it is not an .npz (zip) archive"


def _read(path, name):
    """Every array of the .npz, read eagerly, with read errors made clear."""
    expected = "an .npz archive written by neural_net.save"
    kind = _foreign_kind(_head(path))
    if kind is not None:
        raise ModelFileError(f"{name} is not an mlnn model file ({expected}): {kind}")
    try:
        data = np.load(path, allow_pickle=False)
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        raise
    except Exception as exc:  # a damaged zip (truncated, bad central directory...)
        raise ModelFileError(
            f"{name} is not a valid mlnn model file ({expected}): a damaged or "
            f"truncated zip archive ({type(exc).__name__}: {exc})") from exc
    if not isinstance(data, np.lib.npyio.NpzFile):  # pragma: no cover - sniffed above
        raise ModelFileError(f"{name} is not an mlnn model file: it holds a single array")
    # an archive without mlnn's 'format' member is something else altogether
    verdict = ("is not a valid mlnn model file" if "format" in data.files
               else "is not an mlnn model file")
    try:
        # reading each member decompresses and CRC-checks it, so truncation
        # and corruption show up here (BadZipFile, zlib.error, EOFError, ...)
        arrays = {k: data[k] for k in data.files}
    except ValueError as exc:
        if "allow_pickle" in str(exc):  # an object array: pickled objects inside
            raise ModelFileError(
                f"{name} {verdict} ({expected}): a member holds pickled Python "
                f"objects, which mlnn never loads") from exc
        raise ModelFileError(
            f"{name} is not a valid mlnn model file ({expected}): "
            f"{type(exc).__name__}: {exc}") from exc
    except Exception as exc:  # BadZipFile, zlib.error, EOFError...
        raise ModelFileError(
            f"{name} is not a valid mlnn model file ({expected}): a damaged or "
            f"truncated archive ({type(exc).__name__}: {exc})") from exc
    finally:
        data.close()
    others = sorted(k for k, v in arrays.items() if not isinstance(v, np.ndarray))
    if others:
        raise ModelFileError(
            f"{name} {verdict} ({expected}): a zip archive whose member(s) "
            f"{others[:8]} are not NumPy arrays")
    return arrays


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

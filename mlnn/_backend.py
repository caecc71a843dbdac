"""Which kernel module runs the maths: the compiled one, or the NumPy reference.

If the compiled extension is missing (a source checkout that was never built,
or an sdist whose build failed), ``import mlnn`` still works: the NumPy
reference takes over and a single warning says so.
"""

import warnings

from mlnn import _reference
from mlnn._validation import BACKENDS

try:
    from mlnn import _kernels
    IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - exercised by the wheel tests
    _kernels = None
    IMPORT_ERROR = exc
    warnings.warn(
        "mlnn's compiled extension could not be imported "
        f"({exc}); falling back to the slow NumPy backend. "
        "Reinstall mlnn with a C compiler available (pip install .) to fix this.",
        # stacklevel=1 attributes the warning to this module, so the test
        # suite's filter "error::RuntimeWarning:mlnn._backend" turns it into
        # an error and tests never run on the fallback by accident.
        RuntimeWarning, stacklevel=1)

COMPILED = _kernels is not None


def get_backend(name):
    """None (the compiled kernels if built), 'cython' or 'numpy' -> kernel module."""
    if name is None:
        return _kernels if COMPILED else _reference
    if name not in BACKENDS:
        raise ValueError(f"backend must be None, 'cython' or 'numpy', got {name!r}")
    if name == "numpy":
        return _reference
    if not COMPILED:
        raise ImportError(
            f"backend='cython' needs mlnn's compiled extension, which failed to "
            f"import ({IMPORT_ERROR}); use backend='numpy' or rebuild mlnn")
    return _kernels


def backend_name(module):
    return "cython" if module is _kernels and COMPILED else "numpy"

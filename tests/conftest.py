"""Shared test plumbing: headless matplotlib, backends, tolerances."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")

import matplotlib  # noqa: E402

matplotlib.use("Agg", force=True)

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from mlnn import _backend  # noqa: E402

BACKENDS = ["cython", "numpy"] if _backend.COMPILED else ["numpy"]

# Per-dtype relative tolerances between the compiled kernels and the reference.
RTOL = {np.float64: 1e-10, np.float32: 1e-4}


def rel_err(a, b):
    """Norm-wise relative error max|a - b| / max(max|b|, tiny)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt
    plt.close("all")


requires_compiled = pytest.mark.skipif(
    not _backend.COMPILED, reason="the compiled extension is not built")

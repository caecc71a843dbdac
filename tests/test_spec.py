"""mlnn._spec is the one list of layout and codes; the kernels must agree."""

import numpy as np
import pytest

from mlnn import _spec
from conftest import requires_compiled


@requires_compiled
def test_kernel_codes_match_spec():
    from mlnn import _kernels
    codes = _kernels.codes()
    assert codes["activations"] == _spec.ACTIVATIONS
    assert codes["heads"] == _spec.HEADS
    assert codes["solvers"] == _spec.SOLVERS


@pytest.mark.parametrize("sizes", [[2, 3], [4, 5, 3], [3, 7, 6, 1]])
def test_layout_is_scikit_learns_packing(sizes):
    # every weight matrix, then every bias: the order scikit-learn packs its
    # coefs_ and intercepts_ for L-BFGS
    lay = _spec.layout(sizes)
    params = np.arange(_spec.n_params(sizes), dtype=float)
    layers = _spec.weights(params, lay)
    packed = np.hstack([W.ravel() for W, _ in layers] + [b for _, b in layers])
    np.testing.assert_array_equal(packed, params)
    for (W, b), n_in, n_out in zip(layers, sizes[:-1], sizes[1:]):
        assert W.shape == (n_in, n_out) and b.shape == (n_out,)
        assert np.shares_memory(W, params) and np.shares_memory(b, params)

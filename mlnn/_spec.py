"""What a network is: its sizes, hidden activation and output head.

This module is the one source of the parameter layout and of the integer
codes that Python hands to the kernels.  ``mlnn/_kernels.pyx`` and csrc/
read the same numbers (csrc/mlnn_spec.h); ``tests/test_spec.py`` checks
that the header agrees with this file.

Layout.  ``params`` is one flat vector ``[W1, W2, ..., WL, b1, b2, ..., bL]``
-- every weight matrix (row-major, ``(n_in, n_out)``), then every bias --
which is also the order scikit-learn's MLP packs its parameters for
L-BFGS, so the optimizer sees the same vector.  ``lay`` (int64) is
``[sizes (L+1) | w_off (L) | b_off (L) | prefix (L+1)]``, where
``prefix[l]`` is the summed width of the layers below layer l (the offset of
layer l's activations in a per-layer stack).
"""

import numpy as np

# Hidden-layer activations.  'sigmoid' is the notebook's name for scikit-learn's
# 'logistic'.
ACTIVATIONS = {"tanh": 0, "relu": 1, "sigmoid": 2, "identity": 3}
ACTIVATION_ALIASES = {"logistic": "sigmoid"}

# Output heads: the output non-linearity with the loss that makes the
# output error ``delta_L = act_L - Y`` (weighted by sample_weight).
#   softmax   + multiclass log-loss     (labels one-hot in Y)
#   logistic  + binary log-loss         (two classes: one unit; multilabel)
#   identity  + half squared error      (regression)
#   exp       + half Poisson deviance   (regression, loss='poisson')
HEADS = {"softmax": 0, "logistic": 1, "identity": 2, "exp": 3}

# Stochastic solvers run by the compiled epoch.
SOLVERS = {"sgd": 0, "adam": 1}


def layout(sizes):
    """The int64 ``lay`` vector for layer sizes [n_in, hidden..., n_out]."""
    sizes = [int(s) for s in sizes]
    n_layers = len(sizes) - 1
    w_off, b_off, prefix = [], [], [0]
    off = 0
    for l in range(n_layers):
        w_off.append(off)
        off += sizes[l] * sizes[l + 1]
    for l in range(n_layers):
        b_off.append(off)
        off += sizes[l + 1]
        prefix.append(prefix[-1] + sizes[l + 1])
    return np.array(sizes + w_off + b_off + prefix, dtype=np.int64)


def unpack_layout(lay):
    """sizes, w_off, b_off, prefix from the ``lay`` vector."""
    n_layers = (len(lay) - 1) // 4
    sizes = lay[: n_layers + 1]
    w_off = lay[n_layers + 1: 2 * n_layers + 1]
    b_off = lay[2 * n_layers + 1: 3 * n_layers + 1]
    prefix = lay[3 * n_layers + 1:]
    return sizes, w_off, b_off, prefix


def n_params(sizes):
    return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))


def weights(params, lay):
    """Views (W_l, b_l) into params; W_l (n_in, n_out), b_l (n_out,)."""
    sizes, w_off, b_off, _ = unpack_layout(lay)
    out = []
    for l in range(len(sizes) - 1):
        n_in, n_out = sizes[l], sizes[l + 1]
        W = params[w_off[l]: w_off[l] + n_in * n_out].reshape(n_in, n_out)
        b = params[b_off[l]: b_off[l] + n_out]
        out.append((W, b))
    return out

"""Pure-NumPy reference: the same maths as ``mlnn/_kernels.pyx``, readably.

Every function here has the same name and arguments as its compiled twin, so
either module can serve as a backend (``backend="numpy"`` selects this one).
Arguments a kernel writes into (marked OUT) are written here too.  The thread
and chunk arguments, and the compiled train's scratch ``ws``, are accepted and
ignored: NumPy decides its own threads and allocates its own temporaries.

Layout (shared with the kernels, built by ``mlnn._core.layout``): ``params``
is one flat vector ``[W1, b1, W2, b2, ...]``; ``lay`` holds the sizes and the
offsets of each W and b in it.  Activations are stored per layer as
(n_samples, width) blocks, one after the other.

The backward pass reads like the notebook's equations: for the notebook's
3-layer network, ``delta[3]`` is its delta4 (the softmax error), ``delta[2]``
its delta3, ``delta[1]`` its delta2, and ``dW[l]`` its dW(l+1).
"""

import numpy as np

ACTIVATIONS = {"tanh": 0, "relu": 1, "sigmoid": 2}


def unpack_layout(lay):
    """sizes, w_off, b_off, prefix from the ``lay`` vector."""
    n_layers = (len(lay) - 1) // 4
    sizes = lay[: n_layers + 1]
    w_off = lay[n_layers + 1: 2 * n_layers + 1]
    b_off = lay[2 * n_layers + 1: 3 * n_layers + 1]
    prefix = lay[3 * n_layers + 1:]
    return sizes, w_off, b_off, prefix


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


def activate(pre_act, activation):
    """act = f(pre_act)."""
    if activation == ACTIVATIONS["tanh"]:
        return np.tanh(pre_act)
    if activation == ACTIVATIONS["sigmoid"]:
        return 1 / (1 + np.exp(-pre_act))
    # relu; np.where keeps NaN as NaN, like the kernel
    return np.where(pre_act < 0, 0, pre_act).astype(pre_act.dtype)


def activation_grad(act, activation):
    """f'(pre_act), written in terms of act = f(pre_act)."""
    if activation == ACTIVATIONS["tanh"]:
        return 1 - act * act
    if activation == ACTIVATIONS["sigmoid"]:
        return act * (1 - act)
    return (act > 0).astype(act.dtype)


def softmax(pre_act):
    """Row-wise softmax, made stable by subtracting each row's max."""
    z = pre_act - pre_act.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _forward_layers(X, params, lay, activation):
    # -> lists pre_act[l], act[l] for l = 0..L-1 (the notebook's pre_act1.., act1..)
    pre_act, act = [], []
    a = X
    layers = weights(params, lay)
    for l, (W, b) in enumerate(layers):
        z = a @ W + b                       # a (n, n_in) @ W (n_in, n_out) + b
        a = softmax(z) if l == len(layers) - 1 else activate(z, activation)
        pre_act.append(z)
        act.append(a)
    return pre_act, act


def forward(X, params, lay, activation, pre_acts, acts, n_threads):
    """Forward pass storing every layer into pre_acts, acts (OUT, flat)."""
    n_samples = X.shape[0]
    pre_act, act = _forward_layers(X, params, lay, activation)
    _, _, _, prefix = unpack_layout(lay)
    for l in range(len(pre_act)):
        start, stop = n_samples * prefix[l], n_samples * prefix[l + 1]
        pre_acts[start:stop] = pre_act[l].ravel()
        acts[start:stop] = act[l].ravel()


def predict_proba(X, params, lay, activation, proba, n_threads):
    """Softmax output into proba (n_samples, n_out) (OUT).

    Returns how many entries of X are NaN or inf.
    """
    with np.errstate(invalid="ignore", over="ignore"):
        proba[...] = _forward_layers(X, params, lay, activation)[1][-1]
    return int(np.count_nonzero(~np.isfinite(X)))


def _argmax_into(probs, labels):
    labels[...] = np.argmax(probs, axis=1)
    labels[np.isnan(probs).any(axis=1)] = -1   # overflowed rows have no class


def predict(X, params, lay, activation, labels, n_threads):
    """argmax of the output layer into labels (OUT); -1 for rows with NaN outputs.

    Returns how many entries of X are NaN or inf.
    """
    with np.errstate(invalid="ignore", over="ignore"):
        _argmax_into(_forward_layers(X, params, lay, activation)[1][-1], labels)
    return int(np.count_nonzero(~np.isfinite(X)))


def loss(X, y, params, lay, activation, reg_lambda, n_threads, labels=None):
    """(sum_i -log p_i[y_i] + reg_lambda / 2 * sum_l ||W_l||^2) / n_samples.

    labels (OUT, optional): the ``predict`` labels from the same forward pass.
    """
    if labels is not None and labels.shape != (X.shape[0],):
        raise ValueError("labels must have shape (n_samples,)")
    probs = _forward_layers(X, params, lay, activation)[1][-1]
    if labels is not None:
        _argmax_into(probs, labels)
    data_loss = -np.sum(np.log(probs[np.arange(len(y)), y]), dtype=np.float64)
    data_loss += reg_lambda / 2 * sum(
        np.sum(np.square(W), dtype=np.float64) for W, _ in weights(params, lay))
    return float(data_loss / X.shape[0])


def gradients(X, y, params, lay, activation, reg_lambda, grads, n_chunks, n_threads):
    """Full-batch gradient of n_samples * loss into grads (OUT, params layout).

    Returns the number of non-finite gradient entries.
    """
    _, act = _forward_layers(X, params, lay, activation)
    layers = weights(params, lay)
    dgrads = weights(grads, lay)
    n_layers = len(layers)

    # delta for the top layer (the notebook's delta4): softmax minus one-hot
    delta = act[-1].copy()
    delta[np.arange(len(y)), y] -= 1
    for l in range(n_layers - 1, -1, -1):
        a_in = X if l == 0 else act[l - 1]
        W, _ = layers[l]
        dW, db = dgrads[l]
        # sums over samples are accumulated in double, as in the kernels
        dW[...] = (a_in.T.astype(np.float64, copy=False)
                   @ delta.astype(np.float64, copy=False) + reg_lambda * W)
        db[...] = delta.sum(axis=0, dtype=np.float64)
        if l > 0:
            # delta_{l} = (delta_{l+1} @ W^T) * f'(pre_act_l)
            delta = (delta @ W.T) * activation_grad(a_in, activation)
    return int(np.count_nonzero(~np.isfinite(grads)))


def workspace(n_samples, lay, n_chunks, dtype):
    """The compiled train's scratch; NumPy allocates its own temporaries."""
    return None


def train(X, y, params, lay, activation, reg_lambda, epsilon, num_pass, grads,
          n_chunks, n_threads, ws=None):
    """num_pass gradient-descent passes on params (IN/OUT), in place.

    Returns (passes_done, n_bad); a pass whose gradient or result would be
    non-finite is not applied and training stops there.
    """
    for done in range(num_pass):
        bad = gradients(X, y, params, lay, activation, reg_lambda, grads,
                        n_chunks, n_threads)
        new = params - params.dtype.type(epsilon) * grads
        bad += int(np.count_nonzero(~np.isfinite(new)))
        if bad:
            return done, bad
        params[...] = new
    return num_pass, 0

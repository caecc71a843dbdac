"""Pure-NumPy reference: the same maths as ``mlnn/_kernels.pyx``, readably.

Every function here has the same name and arguments as its compiled twin, so
either module can serve as a backend (``backend="numpy"`` selects this one).
Arguments a kernel writes into (marked OUT) are written here too.  The thread
and chunk arguments, and the compiled train's scratch ``ws``, are accepted and
ignored: NumPy decides its own threads and allocates its own temporaries.

Layout (shared with the kernels, built by ``mlnn._spec.layout``): ``params``
is one flat vector ``[W1, ..., WL, b1, ..., bL]``; ``lay`` holds the sizes and
the offsets of each W and b in it.  Activations are stored per layer as
(n_samples, width) blocks, one after the other.

The backward pass reads like the notebook's equations: for the notebook's
3-layer network, ``delta[3]`` is its delta4 (the softmax error), ``delta[2]``
its delta3, ``delta[1]`` its delta2, and ``dW[l]`` its dW(l+1).
"""

import numpy as np

from mlnn._spec import ACTIVATIONS, HEADS, SOLVERS, unpack_layout, weights  # noqa: F401

HEAD_SOFTMAX = HEADS["softmax"]


def activate(pre_act, activation):
    """act = f(pre_act)."""
    if activation == ACTIVATIONS["tanh"]:
        return np.tanh(pre_act)
    if activation == ACTIVATIONS["sigmoid"]:
        return 1 / (1 + np.exp(-pre_act))
    if activation == ACTIVATIONS["identity"]:
        return pre_act
    # relu; np.where keeps NaN as NaN, like the kernel
    return np.where(pre_act < 0, 0, pre_act).astype(pre_act.dtype)


def activation_grad(act, activation):
    """f'(pre_act), written in terms of act = f(pre_act)."""
    if activation == ACTIVATIONS["tanh"]:
        return 1 - act * act
    if activation == ACTIVATIONS["sigmoid"]:
        return act * (1 - act)
    if activation == ACTIVATIONS["identity"]:
        return np.ones_like(act)
    return (act > 0).astype(act.dtype)


def softmax(pre_act):
    """Row-wise softmax, made stable by subtracting each row's max."""
    z = pre_act - pre_act.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def output(pre_act, head):
    """The output layer's act from its pre_act, for an output head."""
    if head == HEADS["softmax"]:
        return softmax(pre_act)
    if head == HEADS["logistic"]:
        return 1 / (1 + np.exp(-pre_act))
    if head == HEADS["exp"]:
        return np.exp(pre_act)
    return pre_act


def _forward_layers(X, params, lay, activation, head=HEAD_SOFTMAX):
    # -> lists pre_act[l], act[l] for l = 0..L-1 (the notebook's pre_act1.., act1..)
    # X may be a scipy.sparse CSR matrix: X @ W is then a sparse product
    pre_act, act = [], []
    a = X
    layers = weights(params, lay)
    for l, (W, b) in enumerate(layers):
        z = np.asarray(a @ W) + b           # a (n, n_in) @ W (n_in, n_out) + b
        a = output(z, head) if l == len(layers) - 1 else activate(z, activation)
        pre_act.append(z)
        act.append(a)
    return pre_act, act


def forward(X, params, lay, activation, pre_acts, acts, n_threads, head=HEAD_SOFTMAX):
    """Forward pass storing every layer into pre_acts, acts (OUT, flat)."""
    n_samples = X.shape[0]
    pre_act, act = _forward_layers(X, params, lay, activation, head)
    _, _, _, prefix = unpack_layout(lay)
    for l in range(len(pre_act)):
        start, stop = n_samples * prefix[l], n_samples * prefix[l + 1]
        pre_acts[start:stop] = pre_act[l].ravel()
        acts[start:stop] = act[l].ravel()


def predict_proba(X, params, lay, activation, proba, n_threads, head=HEAD_SOFTMAX):
    """The output layer's act (softmax by default) into proba (n_samples, n_out) (OUT).

    Returns how many entries of X are NaN or inf.
    """
    with np.errstate(invalid="ignore", over="ignore"):
        proba[...] = _forward_layers(X, params, lay, activation, head)[1][-1]
    return _count_nonfinite(X)


def _count_nonfinite(X):
    data = X.data if hasattr(X, "tocsr") else X
    return int(np.count_nonzero(~np.isfinite(data)))


def _argmax_into(probs, labels):
    labels[...] = np.argmax(probs, axis=1)
    labels[np.isnan(probs).any(axis=1)] = -1   # overflowed rows have no class


def predict(X, params, lay, activation, labels, n_threads):
    """argmax of the output layer into labels (OUT); -1 for rows with NaN outputs.

    Returns how many entries of X are NaN or inf.
    """
    with np.errstate(invalid="ignore", over="ignore"):
        _argmax_into(_forward_layers(X, params, lay, activation)[1][-1], labels)
    return _count_nonfinite(X)


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


def workspace(n_samples, lay, n_chunks, dtype, n_threads):
    """The compiled train's scratch; NumPy allocates its own temporaries."""
    return None


def train(X, y, params, lay, activation, reg_lambda, epsilon, num_pass, grads,
          n_chunks, n_threads, ws=None, x_loaded=False, entry_loss=None,
          entry_labels=None):
    """num_pass gradient-descent passes on params (IN/OUT), in place.
    (ws and x_loaded: the compiled train's scratch, none here.)
    entry_loss (1,) OUT, optional: the loss of params on entry; entry_labels
    (n_samples,) OUT, optional (with entry_loss): their predict labels.

    Returns (passes_done, n_bad); a pass whose gradient or result would be
    non-finite is not applied and training stops there.
    """
    if entry_loss is not None:
        if entry_loss.shape != (1,):
            raise ValueError("entry_loss must have shape (1,)")
        if num_pass < 1:
            raise ValueError("entry_loss needs num_pass >= 1 (the first pass's forward)")
        if entry_labels is not None and entry_labels.shape != (X.shape[0],):
            raise ValueError("entry_labels must have shape (n_samples,)")
        outs = [a for a in (entry_loss, entry_labels) if a is not None]
        if any(np.may_share_memory(o, a) for o in outs for a in (X, y, params, grads)):
            raise ValueError("entry_loss and entry_labels must not overlap X, y, params, "
                             "grads or ws")
        entry_loss[0] = loss(X, y, params, lay, activation, reg_lambda, n_threads,
                             labels=entry_labels)
    elif entry_labels is not None:
        raise ValueError("entry_labels needs entry_loss")
    for done in range(num_pass):
        bad = gradients(X, y, params, lay, activation, reg_lambda, grads,
                        n_chunks, n_threads)
        new = params - params.dtype.type(epsilon) * grads
        bad += int(np.count_nonzero(~np.isfinite(new)))
        if bad:
            return done, bad
        params[...] = new
    return num_pass, 0


# ---------------------------------------------------------------------------
# The estimators' maths: output heads, sample weights, mean gradients
# ---------------------------------------------------------------------------

def head_loss(act_out, Y, sample_weight, head):
    """The data term of the loss: a (weighted) mean over samples.

    act_out, Y (n_samples, n_out); sample_weight (n_samples,) or None.
    Probabilities are clipped to [eps, 1 - eps] (eps of their dtype) before
    the log, as scikit-learn does.
    """
    w = np.ones(len(Y)) if sample_weight is None else np.asarray(sample_weight, np.float64)
    Y = Y.astype(np.float64)
    p = act_out.astype(np.float64)
    if head in (HEADS["softmax"], HEADS["logistic"]):
        eps = np.finfo(act_out.dtype).eps
        p = np.clip(p, eps, 1 - eps)
        with np.errstate(divide="ignore", invalid="ignore"):
            per = np.where(Y != 0, Y * np.log(p), 0.0)
            if head == HEADS["logistic"]:
                per += np.where(Y != 1, (1 - Y) * np.log(1 - p), 0.0)
        return float(-(w @ per).sum() / w.sum())
    if head == HEADS["identity"]:
        return float(0.5 * (w @ (Y - p) ** 2).mean() / w.sum())
    # exp: half Poisson deviance, y log(y / p) - y + p (y log y = 0 at y = 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        per = np.where(Y > 0, Y * np.log(Y / p), 0.0) - Y + p
    return float((w @ per).sum() / w.sum())


def loss_grad(X, Y, sample_weight, params, lay, activation, head, alpha, grads,
              n_chunks, n_threads):
    """The estimators' loss and its gradient (scikit-learn's ``_backprop``).

    X (n_samples, n_in), dense or CSR, IN; Y (n_samples, n_out) IN: one-hot
    labels, a label indicator or regression targets; sample_weight
    (n_samples,) or None IN.  With s = sum of sample weights (n_samples
    without them):

        loss = head_loss + alpha / 2 * sum_l ||W_l||^2 / s
        delta_L = (act_L - Y) * sample_weight
        dW_l = (act_{l-1}^T delta_l + alpha * W_l) / s,  db_l = sum_i delta_l / s

    grads (OUT, params layout).  Returns the loss.
    """
    _, act = _forward_layers(X, params, lay, activation, head)
    layers = weights(params, lay)
    dgrads = weights(grads, lay)
    s = X.shape[0] if sample_weight is None else float(np.sum(sample_weight, dtype=np.float64))
    sq = sum(np.sum(np.square(W), dtype=np.float64) for W, _ in layers)
    loss = head_loss(act[-1], Y, sample_weight, head) + 0.5 * alpha * sq / s
    delta = act[-1] - Y
    if sample_weight is not None:
        delta = delta * sample_weight[:, None]
    for l in range(len(layers) - 1, -1, -1):
        a_in = X if l == 0 else act[l - 1]
        W, _ = layers[l]
        dW, db = dgrads[l]
        dW[...] = (np.asarray(a_in.T @ delta) + alpha * W) / s
        db[...] = delta.sum(axis=0, dtype=np.float64) / s
        if l > 0:
            delta = (delta @ W.T) * activation_grad(a_in, activation)
    return loss


def epoch(X, Y, sample_weight, order, batch_size, params, lay, activation, head, alpha,
          solver, hyper, state, step, n_chunks, n_threads, ws=None):
    """One epoch of mini-batch training, in place (scikit-learn's inner loop).

    Batches are consecutive slices of ``order`` (the epoch's permutation of
    the sample indices), ``batch_size`` rows each, the last one shorter.
    Each batch: ``loss_grad`` on its rows, then one optimizer step on params
    (IN/OUT) and ``state`` (IN/OUT):

    solver SOLVERS['sgd'], state (1, n_params) the velocity v; hyper =
    [learning_rate, momentum, nesterov]:
        v = momentum * v - learning_rate * g;  params += v, or with nesterov
        params += momentum * v - learning_rate * g
    solver SOLVERS['adam'], state (2, n_params) the moments m, v; hyper =
    [learning_rate_init, beta_1, beta_2, epsilon]; ``step`` counts the
    batches seen before this epoch (Adam's t):
        m = beta_1 m + (1 - beta_1) g;  v = beta_2 v + (1 - beta_2) g^2
        lr_t = learning_rate_init * sqrt(1 - beta_2^t) / (1 - beta_1^t)
        params += -lr_t * m / (sqrt(v) + epsilon)

    Returns (sum over batches of batch_loss * batch_rows, step after the epoch).
    """
    n_samples = len(order)
    grads = np.empty_like(params)
    total = 0.0
    for start in range(0, n_samples, batch_size):
        idx = order[start:start + batch_size]
        sw = None if sample_weight is None else sample_weight[idx]
        batch_loss = loss_grad(X[idx], Y[idx], sw, params, lay, activation, head, alpha,
                               grads, 1, n_threads)
        total += batch_loss * len(idx)
        step += 1
        if solver == SOLVERS["sgd"]:
            lr, momentum, nesterov = float(hyper[0]), float(hyper[1]), bool(hyper[2])
            v = state[0]
            v[...] = momentum * v - lr * grads
            update = momentum * v - lr * grads if nesterov else v
        else:
            lr, beta_1, beta_2, eps = (float(h) for h in hyper[:4])
            m, v = state[0], state[1]
            m[...] = beta_1 * m + (1 - beta_1) * grads
            v[...] = beta_2 * v + (1 - beta_2) * grads ** 2
            lr_t = lr * np.sqrt(1 - beta_2 ** step) / (1 - beta_1 ** step)
            update = -lr_t * m / (np.sqrt(v) + eps)
        params += update.astype(params.dtype, copy=False)
    return total, step

"""The implementations bench/run.py times, behind one small interface.

Every implementation does the same maths as mlnn: tanh hidden layers, a
softmax output, full-batch gradient descent on *summed* gradients plus
reg * W (biases are not decayed):

    W -= eps * (sum_i dL_i/dW + reg * W),   b -= eps * sum_i dL_i/db

Trainers (untimed set-up in ``__init__`` and ``reset``, timed work in ``run``):

    t = Trainer(sizes, X, y, init, reg, eps)   # init: [(W (n_in, n_out), b (n_out,)), ...]
    t.reset()                                  # back to init, untimed
    t.run(n_pass)                              # timed by the caller
    t.weights()                                # [(W, b), ...] as NumPy arrays

Predictors (``Predictor(sizes, weights, X)``, then ``run()`` -> labels) do the
forward pass and argmax only.

JAX trainers and predictors compile in ``compile()`` (timed separately, so
run.py can report JAX both with and without its compile time).

Workload E (mini-batch ``fit`` through estimators) uses another interface, at
the end of this file: ``TorchMLP(...).fit(X, y)``, an eager PyTorch loop that
takes scikit-learn's MLP steps, and the mlnn estimators when importable.
"""

import os
import time
import warnings

import numpy as np

# -- which peers are importable ---------------------------------------------

try:
    import torch
    TORCH = torch.__version__
except ImportError:  # pragma: no cover - optional peer
    torch = None
    TORCH = None

try:
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    import jax
    import jax.numpy as jnp
    from jax import lax
    jax.config.update("jax_enable_x64", True)  # W1-W3 are float64
    JAX = jax.__version__
except ImportError:  # pragma: no cover - optional peer
    jax = None
    JAX = None

import sklearn
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

import mlnn
from mlnn import neural_net


def versions():
    return {"mlnn": mlnn.__version__, "numpy": np.__version__,
            "scikit-learn": sklearn.__version__, "torch": TORCH, "jax": JAX}


# -- mlnn (cython with 1 or all threads, and the numpy backend) ---------------

def _mlnn_net(sizes, dtype, backend, n_threads):
    # sizes spells out every layer, e.g. [2, 4, 4, 2]
    return neural_net(list(sizes), activation="tanh", dtype=dtype, backend=backend,
                      n_threads=n_threads, random_state=0)


def _set_mlnn_weights(net, weights):
    params = net.model
    for l, (W, b) in enumerate(weights, start=1):
        params[f"W{l}"][...] = W
        params[f"b{l}"][...] = b


class MlnnTrainer:
    """mlnn's public API: ``neural_net(...).train(...)``, without printing."""

    def __init__(self, sizes, X, y, init, reg, eps, backend="cython", n_threads=None):
        self.X, self.y, self.init, self.reg, self.eps = X, y, init, reg, eps
        self.net = _mlnn_net(sizes, X.dtype, backend, n_threads)

    @property
    def threads_used(self):
        return self.net._model.n_threads_for(self.X.shape[0])

    def reset(self):
        _set_mlnn_weights(self.net, self.init)

    def run(self, n_pass):
        # print_every=n_pass: the loss is computed once (after pass 0) only
        self.net.train(self.X, self.y, self.reg, self.eps, num_pass=n_pass,
                       print_loss=False, print_every=max(n_pass, 1))

    def weights(self):
        return [(W.copy(), b.ravel().copy()) for W, b in self.net._model.layers()]


class MlnnPredictor:
    def __init__(self, sizes, weights, X, backend="cython", n_threads=None):
        self.X = X
        self.net = _mlnn_net(sizes, X.dtype, backend, n_threads)
        _set_mlnn_weights(self.net, weights)

    @property
    def threads_used(self):
        return self.net._model.n_threads_for(self.X.shape[0])

    def run(self):
        return self.net.predict(self.X)


# -- scikit-learn --------------------------------------------------------------

def _mlp(sizes, n_samples, reg, eps, n_pass):
    """MLPClassifier set to mlnn's maths.

    sklearn minimises  mean_i L_i + alpha / (2 N) * sum ||W||^2,  so its
    gradient is (sum_i dL_i/dW + alpha * W) / N and its SGD step is
    learning_rate_init * that.  With batch_size=N (one batch = the full batch),
    momentum=0, a constant learning_rate_init = eps * N and alpha = reg, the
    step is eps * (sum_i dL_i/dW + reg * W): exactly mlnn's pass.  shuffle=False
    keeps the batch in order; tol=0 with a huge n_iter_no_change and
    early_stopping=False stop it from ending early, so max_iter = passes.
    Differences that remain: sklearn draws its own (Glorot-uniform) initial
    weights (run.py overwrites them through warm_start where it compares
    weights), and for two classes its output is one logistic unit instead of a
    two-unit softmax (the same predictions, slightly less output-layer work,
    not the same trajectory).
    """
    return MLPClassifier(
        hidden_layer_sizes=tuple(sizes[1:-1]), activation="tanh", solver="sgd",
        alpha=reg, batch_size=n_samples, learning_rate="constant",
        learning_rate_init=eps * n_samples, momentum=0.0, nesterovs_momentum=False,
        shuffle=False, tol=0.0, n_iter_no_change=2**31 - 1, early_stopping=False,
        max_iter=n_pass, warm_start=True, random_state=0)


def _sklearn_weights(sizes, weights):
    """mlnn weights -> (coefs_, intercepts_) of the matching MLPClassifier."""
    coefs = [W.copy() for W, _ in weights]
    intercepts = [b.copy() for _, b in weights]
    if sizes[-1] == 2:
        # binary: one logistic unit on z1 - z0 gives the softmax's p1
        W, b = weights[-1]
        coefs[-1] = (W[:, 1] - W[:, 0]).reshape(-1, 1).copy()
        intercepts[-1] = np.array([b[1] - b[0]], dtype=b.dtype)
    return coefs, intercepts


def _fitted_mlp(sizes, X, y, reg, eps):
    # one untimed pass sets up sklearn's attributes; warm_start keeps them
    clf = _mlp(sizes, X.shape[0], reg, eps, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    return clf


class SklearnTrainer:
    """MLPClassifier.fit with max_iter = passes, warm-started from ``init``."""

    def __init__(self, sizes, X, y, init, reg, eps):
        self.sizes, self.X, self.y, self.init = sizes, X, y, init
        self.clf = _fitted_mlp(sizes, X, y, reg, eps)

    def reset(self):
        self.clf.coefs_, self.clf.intercepts_ = _sklearn_weights(self.sizes, self.init)
        self.clf.coefs_ = [c.astype(self.X.dtype) for c in self.clf.coefs_]
        self.clf.intercepts_ = [c.astype(self.X.dtype) for c in self.clf.intercepts_]

    def run(self, n_pass):
        self.clf.set_params(max_iter=n_pass)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.clf.fit(self.X, self.y)

    def weights(self):
        return list(zip(self.clf.coefs_, self.clf.intercepts_))


class SklearnPredictor:
    def __init__(self, sizes, weights, X, fit_X, fit_y):
        self.X = X
        self.clf = _fitted_mlp(sizes, fit_X, fit_y, 0.0, 1e-9)
        coefs, intercepts = _sklearn_weights(sizes, weights)
        self.clf.coefs_ = [c.astype(X.dtype) for c in coefs]
        self.clf.intercepts_ = [c.astype(X.dtype) for c in intercepts]

    def run(self):
        return self.clf.predict(self.X)


# -- PyTorch (eager, CPU) ------------------------------------------------------

class TorchTrainer:
    """Eager PyTorch: autograd of sum_i CE_i + reg/2 sum ||W||^2, then W -= eps*dW."""

    def __init__(self, sizes, X, y, init, reg, eps):
        self.X = torch.from_numpy(X)
        self.y = torch.from_numpy(np.asarray(y, dtype=np.int64))
        self.init, self.reg, self.eps = init, reg, eps
        self.reset()

    def reset(self):
        self.params = []
        for W, b in self.init:
            self.params += [torch.tensor(W, requires_grad=True),
                            torch.tensor(b, requires_grad=True)]

    def run(self, n_pass):
        Ws, bs = self.params[0::2], self.params[1::2]
        F = torch.nn.functional
        for _ in range(n_pass):
            act = self.X
            for W, b in zip(Ws[:-1], bs[:-1]):
                act = torch.tanh(torch.addmm(b, act, W))
            logits = torch.addmm(bs[-1], act, Ws[-1])
            loss = F.cross_entropy(logits, self.y, reduction="sum")
            loss = loss + 0.5 * self.reg * sum((W * W).sum() for W in Ws)
            grads = torch.autograd.grad(loss, self.params)
            with torch.no_grad():
                for p, g in zip(self.params, grads):
                    p.sub_(self.eps * g)

    def weights(self):
        p = [t.detach().numpy().copy() for t in self.params]
        return list(zip(p[0::2], p[1::2]))


class TorchPredictor:
    def __init__(self, sizes, weights, X):
        self.X = torch.from_numpy(X)
        self.params = [(torch.from_numpy(W), torch.from_numpy(b)) for W, b in weights]

    def run(self):
        with torch.no_grad():
            act = self.X
            for W, b in self.params[:-1]:
                act = torch.tanh(torch.addmm(b, act, W))
            W, b = self.params[-1]
            return torch.argmax(torch.addmm(b, act, W), dim=1).numpy()


# -- JAX (jit of the whole training: lax.fori_loop over passes) ---------------

def _jax_logits(params, X):
    act = X
    for W, b in params[:-1]:
        act = jnp.tanh(act @ W + b)
    W, b = params[-1]
    return act @ W + b


def _jax_train_fn():
    """A fresh function object each call, so jax.jit really compiles again."""

    def loss(params, X, onehot, reg):
        logp = jax.nn.log_softmax(_jax_logits(params, X))
        data = -jnp.sum(onehot * logp)
        return data + 0.5 * reg * sum(jnp.sum(W * W) for W, _ in params)

    grad = jax.grad(loss)

    def train(params, X, onehot, reg, eps, n_pass):
        def one_pass(i, p):
            g = grad(p, X, onehot, reg)
            return jax.tree_util.tree_map(lambda w, dw: w - eps * dw, p, g)
        # n_pass is traced: one compile serves any number of passes
        return lax.fori_loop(0, n_pass, one_pass, params)

    return train


class JaxTrainer:
    def __init__(self, sizes, X, y, init, reg, eps):
        dt = X.dtype
        self.X = jnp.asarray(X)
        self.onehot = jnp.asarray(np.eye(sizes[-1], dtype=dt)[y])
        self.reg, self.eps = jnp.asarray(reg, dtype=dt), jnp.asarray(eps, dtype=dt)
        self.init = [(jnp.asarray(W), jnp.asarray(b)) for W, b in init]
        self.compiled = None
        self.out = None

    def compile(self):
        """Trace + compile a fresh jit; returns the seconds it took."""
        t0 = time.perf_counter()
        self.compiled = jax.jit(_jax_train_fn()).lower(
            self.init, self.X, self.onehot, self.reg, self.eps,
            jnp.asarray(1, dtype=jnp.int32)).compile()
        return time.perf_counter() - t0

    def reset(self):
        if self.compiled is None:
            self.compile()
        self.out = None

    def run(self, n_pass):
        self.out = self.compiled(self.init, self.X, self.onehot, self.reg, self.eps,
                                 jnp.asarray(n_pass, dtype=jnp.int32))
        jax.block_until_ready(self.out)

    def weights(self):
        return [(np.asarray(W), np.asarray(b)) for W, b in self.out]


class JaxPredictor:
    def __init__(self, sizes, weights, X):
        self.X = jnp.asarray(X)
        self.params = [(jnp.asarray(W), jnp.asarray(b)) for W, b in weights]
        self.compiled = None

    def compile(self):
        t0 = time.perf_counter()
        fn = lambda params, X: jnp.argmax(_jax_logits(params, X), axis=1)  # noqa: E731
        self.compiled = jax.jit(fn).lower(self.params, self.X).compile()
        return time.perf_counter() - t0

    def run(self):
        if self.compiled is None:
            self.compile()
        return np.asarray(jax.block_until_ready(self.compiled(self.params, self.X)))


# -- mini-batch estimators (workload E) ------------------------------------------
#
# Workload E times whole ``fit`` calls through the estimators' public API:
# mlnn's MLNNClassifier / MLNNRegressor, scikit-learn's MLPClassifier /
# MLPRegressor (same constructor arguments) and TorchMLP below, an eager
# PyTorch loop that takes the same mini-batch steps.  MLNNRegressor is newer
# than the rest of mlnn; run.py skips its rows when it cannot be imported.

try:
    from mlnn import MLNNClassifier
except ImportError:  # pragma: no cover - depends on the mlnn being benched
    MLNNClassifier = None
try:
    from mlnn import MLNNRegressor
except ImportError:  # pragma: no cover
    MLNNRegressor = None

# torch's own default, read before run.py changes anything: the "auto" rows
TORCH_DEFAULT_THREADS = torch.get_num_threads() if torch is not None else None


class TorchMLP:
    """An eager PyTorch mini-batch loop that takes MLPClassifier's/MLPRegressor's steps.

    head: 'softmax' (multiclass log-loss), 'logistic' (two classes: ONE
    logistic output unit and binary log-loss, as scikit-learn does) or
    'identity' (regression, half squared error).  With the same random_state
    it starts where scikit-learn starts and visits the same batches: its
    Glorot-uniform weights are drawn from ``np.random.RandomState(random_state)``
    in scikit-learn's order, and each epoch reshuffles the sample order with
    ``sklearn.utils.shuffle`` on that same generator, then cuts it into
    batches of ``batch_size``.  The loss of a batch of m samples is
    scikit-learn's,

        mean_i L_i + alpha / (2 m) * sum_l ||W_l||^2   (biases not penalised),

    minimised by ``torch.optim.Adam`` (lr, betas, eps as given) or
    ``torch.optim.SGD`` (momentum, nesterov, constant lr).  SGD with
    nesterov=True is scikit-learn's Nesterov step written with the velocity
    scaled by -lr (the same update at a constant lr); torch's Adam adds eps to
    sqrt(v_hat) where scikit-learn adds it to sqrt(v) (a difference of order
    eps).  The layers are ``nn.Linear`` in X's dtype.  Like scikit-learn, it
    keeps each epoch's mean training loss (``loss_curve_``, ``loss_``); it
    never stops early: ``n_iter_ == max_iter``.
    """

    _ACT = {"relu": "ReLU", "tanh": "Tanh", "logistic": "Sigmoid", "identity": "Identity"}

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", head="softmax",
                 solver="adam", alpha=1e-4, batch_size=200, learning_rate_init=1e-3,
                 max_iter=200, momentum=0.9, nesterovs_momentum=True, beta_1=0.9,
                 beta_2=0.999, epsilon=1e-8, shuffle=True, random_state=0):
        if solver not in ("adam", "sgd"):
            raise ValueError(f"TorchMLP: solver must be 'adam' or 'sgd', got {solver!r}")
        if head not in ("softmax", "logistic", "identity"):
            raise ValueError(f"TorchMLP: unknown head {head!r}")
        self.hidden_layer_sizes = tuple(hidden_layer_sizes)
        self.activation, self.head, self.solver = activation, head, solver
        self.alpha, self.batch_size, self.lr = alpha, batch_size, learning_rate_init
        self.max_iter, self.momentum, self.nesterov = max_iter, momentum, nesterovs_momentum
        self.betas, self.eps = (beta_1, beta_2), epsilon
        self.shuffle, self.random_state = shuffle, random_state

    def _targets(self, y, dtype):
        if self.head == "identity":
            t = np.asarray(y, dtype=dtype)
            return torch.from_numpy(t.reshape(len(t), -1).copy())
        classes, codes = np.unique(y, return_inverse=True)
        self.classes_ = classes
        if self.head == "logistic":
            if len(classes) != 2:
                raise ValueError("TorchMLP: head='logistic' needs exactly two classes")
            return torch.from_numpy(codes.astype(dtype).reshape(-1, 1))
        return torch.from_numpy(codes.astype(np.int64))

    def _model(self, sizes, dtype, rng):
        """nn.Sequential with scikit-learn's initial weights (Glorot uniform)."""
        nn = torch.nn
        factor = 2.0 if self.activation == "logistic" else 6.0
        layers = []
        for a, b in zip(sizes[:-1], sizes[1:]):
            bound = np.sqrt(factor / (a + b))
            W = rng.uniform(-bound, bound, (a, b)).astype(dtype, copy=False)
            c = rng.uniform(-bound, bound, b).astype(dtype, copy=False)
            lin = nn.Linear(a, b, dtype=torch.from_numpy(W).dtype)
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(W.T))
                lin.bias.copy_(torch.from_numpy(c))
            layers += [lin, getattr(nn, self._ACT[self.activation])()]
        return nn.Sequential(*layers[:-1])        # no activation after the output layer

    def fit(self, X, y):
        from sklearn.utils import shuffle as sk_shuffle
        F = torch.nn.functional
        X = np.ascontiguousarray(X)
        rng = np.random.RandomState(self.random_state)
        Xt = torch.from_numpy(X)
        T = self._targets(y, X.dtype)
        n_out = len(self.classes_) if self.head == "softmax" else T.shape[1]
        model = self._model([X.shape[1], *self.hidden_layer_sizes, n_out], X.dtype, rng)
        weights = [m.weight for m in model if isinstance(m, torch.nn.Linear)]
        if self.solver == "adam":
            opt = torch.optim.Adam(model.parameters(), lr=self.lr, betas=self.betas,
                                   eps=self.eps)
        else:
            opt = torch.optim.SGD(model.parameters(), lr=self.lr, momentum=self.momentum,
                                  nesterov=self.nesterov)
        data_loss = {"softmax": F.cross_entropy,
                     "logistic": F.binary_cross_entropy_with_logits,
                     "identity": lambda out, t: 0.5 * F.mse_loss(out, t)}[self.head]
        n = X.shape[0]
        bs = min(self.batch_size, n)
        sample_idx = np.arange(n)
        self.loss_curve_ = []
        for _ in range(self.max_iter):
            if self.shuffle:
                sample_idx = sk_shuffle(sample_idx, random_state=rng)
            order = torch.from_numpy(sample_idx)
            total = 0.0
            for start in range(0, n, bs):
                idx = order[start:start + bs]
                m = len(idx)
                loss = data_loss(model(Xt[idx]), T[idx])
                loss = loss + (0.5 * self.alpha / m) * sum((W * W).sum() for W in weights)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                total += loss.item() * m
            self.loss_curve_.append(total / n)
        self.n_iter_ = self.max_iter
        self.loss_ = self.loss_curve_[-1] if self.loss_curve_ else None
        self.model_ = model
        return self

    @property
    def coefs_(self):
        return [m.weight.detach().numpy().T.copy() for m in self.model_
                if isinstance(m, torch.nn.Linear)]

    @property
    def intercepts_(self):
        return [m.bias.detach().numpy().copy() for m in self.model_
                if isinstance(m, torch.nn.Linear)]

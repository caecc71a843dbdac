"""``neural_net``: the notebook's class, on the compiled training core.

This is the API layer: it validates input, allocates outputs and prints; all
arithmetic happens in ``mlnn._core.Model`` and its kernels.
"""

import re

import numpy as np

from mlnn import _io
from mlnn import _validation as V
from mlnn._callbacks import History, empty_history
from mlnn._core import Model, NonFiniteInputError
from mlnn._reference import softmax as _softmax


class neural_net:  # noqa: N801 - the notebook's name
    """A fully connected network: tanh hidden layers and a softmax output,
    trained by full-batch gradient descent with L2 weight decay.

    Parameters
    ----------
    layers_dim : list of int
        ``[n_in, n_hidden, n_out]`` gives the notebook's network:
        ``hidden_layers`` hidden layers of width ``n_hidden`` (default 2), so
        ``[2, 4, 2]`` has W1 (2, 4), W2 (4, 4), W3 (4, 2).  A list of more than
        three sizes spells out every layer: ``[2, 16, 8, 3]`` has hidden
        layers of 16 and 8 (``hidden_layers`` is then ignored).
    hidden_layers : int, default 2
        How many times a three-size ``layers_dim`` repeats the hidden width.
    activation : {'tanh', 'relu', 'sigmoid'}, default 'tanh'
    dtype : np.float64 or np.float32
    backend : None, 'cython' or 'numpy'
        None picks the compiled kernels when they are built; 'numpy' is the
        readable reference implementation.
    n_threads : None or int
        None chooses automatically (OMP_NUM_THREADS, threadpoolctl limits and
        available cores are honoured; small problems run serially).
    random_state : None, int, RandomState or Generator
        None draws the initial weights from NumPy's global random state, as
        the notebook did, so ``np.random.seed(0)`` reproduces its numbers.

    Attributes
    ----------
    classes_ : ndarray (n_out,) or None
        The label of each output, set by the first ``train`` (None before).
        Int labels in [0, n_out) are the output indices themselves
        (``classes_ = arange(n_out)``, as in the notebook); any other labels
        (strings, bools, other numbers) must be exactly n_out distinct values
        of one type, and map to the outputs in sorted order.  ``predict``
        returns labels from ``classes_``; ``predict_proba``'s columns are in
        its order.
    history_ : dict
        The records of the last ``train``: 'pass', 'loss', 'accuracy',
        'grad_norms'.

    Examples
    --------
    >>> import numpy as np, sklearn.datasets
    >>> from mlnn import neural_net
    >>> X, y = sklearn.datasets.make_moons(300, noise=0.22, random_state=0)
    >>> nn = neural_net([2, 4, 2], random_state=0)
    >>> model = nn.train(X, y, 0.001, 0.0001, num_pass=2000, print_loss=False)
    >>> model["W2"].shape
    (4, 4)
    """

    # networks pickled before labels of any type were accepted have no classes_
    classes_ = None

    def __init__(self, layers_dim, hidden_layers=2, activation="tanh",
                 dtype=np.float64, backend=None, n_threads=None, random_state=None):
        sizes = V.check_layers_dim(layers_dim, hidden_layers)
        self.layers_dim = list(layers_dim)
        self.hidden_layers = hidden_layers
        self.activation = V.check_activation(activation)
        self.dtype = V.check_dtype(dtype)
        self.backend = backend
        self.n_threads = V.check_n_threads(n_threads)
        self.random_state = V.check_random_state(random_state)
        self._model = Model(sizes, self.activation, self.dtype, backend, self.n_threads)
        self._model.init_weights(random_state)
        self.history_ = empty_history()
        self.classes_ = None

    # -- parameters ------------------------------------------------------------
    @property
    def sizes(self):
        """Every layer's width, [n_in, hidden..., n_out]."""
        return list(self._model.sizes)

    @property
    def backend_(self):
        """The backend in use: 'cython' or 'numpy'."""
        return self._model.backend_name

    @property
    def model(self):
        """Live parameters {'W1': (n_in, n_1), 'b1': (1, n_1), ...} (views)."""
        out = {}
        for l, (W, b) in enumerate(self._model.layers(), start=1):
            out[f"W{l}"] = W
            out[f"b{l}"] = b.reshape(1, -1)
        return dict(sorted(out.items()))

    def __getattr__(self, name):
        # nn.W1, nn.b3, ... as in the notebook's attribute-style access
        if re.fullmatch(r"[Wb][1-9][0-9]*", name) and "_model" in self.__dict__:
            params = self.model
            if name in params:
                return params[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def _check_X(self, X, name="X", finite=True):
        return V.check_X(X, self._model.sizes[0], self.dtype, name=name, finite=finite)

    def _outputs(self, method, X):
        # X is checked for NaN/inf by the kernel while it reads it; on a find,
        # the full validation raises its usual message about the user's X
        Xc = self._check_X(X, finite=False)
        try:
            return Xc, method(Xc)
        except NonFiniteInputError as exc:
            found = exc
        self._check_X(X)  # raises the usual "X must be ... finite" error
        raise found

    def _check_Xy(self, X, y, fit=False):
        """Validated X and y's int64 codes in [0, n_out); see ``_encode_labels``."""
        X = self._check_X(X)
        return X, self._encode_labels(y, X.shape[0], fit=fit)

    def _encode_labels(self, y, n_samples=None, fit=False):
        """Labels of any type -> int64 output indices in [0, n_out), shape (n_samples,).

        Every method that takes labels (train, crossentropy_loss and the
        pictures) passes them through here, so the kernels, the history and
        the class colours only ever see output indices.  After the first
        training the labels must be among ``classes_``; before it, the
        mapping is the one that training would fix (int labels in [0, n_out)
        are the indices themselves; other labels map in sorted order).
        ``fit=True`` also stores that mapping in ``classes_`` when it is
        unset: pass it from code that trains the network (``train`` does,
        after checking all its other arguments; so should
        ``plotting.animate_preds``).  ``n_samples`` checks the length.
        """
        codes, classes = V.encode_labels(y, n_samples, self._model.sizes[-1],
                                         self.classes_)
        if fit and self.classes_ is None:
            self.classes_ = classes
        return codes

    def _labels_of(self, indices):
        """Output indices -> labels from ``classes_`` (indices as they are when
        the labels are the indices, or before the first training)."""
        if self.classes_ is None or V.labels_are_indices(self.classes_,
                                                         self._model.sizes[-1]):
            return indices
        return self.classes_.take(indices)

    # -- the notebook's methods -------------------------------------------------
    def softmax(self, x):
        """Row-wise softmax of x (n_samples, n_out), stabilized by the row max."""
        return _softmax(np.asarray(x, dtype=self.dtype))

    def tanh(self, x):
        return np.tanh(x)

    def fprop(self, X):
        """Forward pass: (pre_act1, ..., pre_actL, act1, ..., actL).

        For the notebook's network L = 3 and act3 is the softmax output.
        """
        X = self._check_X(X)
        pre_acts, acts = self._model.forward(X)
        V.check_finite_output(acts[-1], X, "output probabilities")
        return tuple(pre_acts) + tuple(acts)

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_out); columns in ``classes_`` order."""
        X, proba = self._outputs(self._model.predict_proba, X)
        return V.check_finite_output(proba, X, "output probabilities")

    def predict(self, X):
        """Predicted labels, shape (n_samples,): ``classes_[argmax of the output]``.

        Ties go to the lowest index.  With int labels in [0, n_out) (or before
        the first training) these are the output indices themselves; with
        other labels they have the type of ``classes_`` (e.g. strings).  If the
        network overflows on some row (NaN outputs), a ValueError says so
        instead of returning a class.
        """
        return self._labels_of(self._outputs(self._model.predict, X)[1])

    def crossentropy_loss(self, X, y, reg_lambda):
        """(sum_i -log p_i[y_i] + reg_lambda / 2 * sum_l ||W_l||^2) / n_samples."""
        X, y = self._check_Xy(X, y)
        reg_lambda = V.check_float(reg_lambda, "reg_lambda")
        return float(V.check_finite_output(self._model.loss(X, y, reg_lambda), X, "loss"))

    def bprop(self, X, y, reg_lambda, epsilon):
        """One gradient-descent pass (backprop + update); returns the parameters."""
        return self.train(X, y, reg_lambda, epsilon, num_pass=1, print_loss=False)

    def train(self, X, y, reg_lambda, epsilon, num_pass=25000, print_loss=True,
              print_every=1000, progress=False, on_divergence="raise"):
        """Full-batch gradient descent with L2 weight decay.

        Each pass: ``W -= epsilon * (sum_i dL_i/dW + reg_lambda * W)`` for every
        weight matrix and ``b -= epsilon * sum_i dL_i/db`` for every bias
        (gradients are summed over samples, not averaged).  Calling ``train``
        again continues from the current weights.

        Parameters
        ----------
        X : array-like (n_samples, n_in)
        y : array-like (n_samples,) of labels
            Int labels in [0, n_out) (the output indices), or exactly n_out
            distinct labels of any one type (strings...), which map to the
            outputs in sorted order.  The first call fixes ``classes_``; later
            calls must use labels among them.
        reg_lambda : float >= 0, L2 weight decay
        epsilon : float > 0, learning rate
        num_pass : int >= 0
        print_loss : bool
            Print ``Loss after iteration i: x`` after passes 0, print_every, ...
        print_every : int
            Also the interval at which ``history_`` records the loss, the
            training accuracy and the per-layer gradient norms ||dW_l||.
            The loss and accuracy of a record come from the next pass's
            forward (no extra pass), so each line is printed about one
            kernel call (30 ms) after its pass.
        progress : bool
            Show a tqdm progress bar.
        on_divergence : {'raise', 'warn'}
            What to do when the loss or weights become non-finite: the last
            finite weights are kept, then DivergenceError is raised or a
            RuntimeWarning issued.

        Warns
        -----
        LossRiseWarning (a RuntimeWarning)
            When the loss at a record point is more than 10 times the lowest
            recorded so far in this call: training is making the model worse,
            usually because epsilon is too large.  Issued once per call.

        Returns
        -------
        dict of copies {'W1': ..., 'b1': ..., ...}; b_l has shape (1, n_l).
        (The original notebook returned W3 under the name W2; here W2 is the
        hidden-to-hidden matrix.)
        """
        X = self._check_X(X)
        y, classes = V.encode_labels(y, X.shape[0], self._model.sizes[-1], self.classes_)
        reg_lambda = V.check_float(reg_lambda, "reg_lambda")
        epsilon = V.check_float(epsilon, "epsilon", strict=True)
        num_pass = V.check_int(num_pass, "num_pass")
        print_every = V.check_int(print_every, "print_every", minimum=1)
        if on_divergence not in ("raise", "warn"):
            raise ValueError(
                f"on_divergence must be 'raise' or 'warn', got {V.plain(on_divergence)!r}")
        if self.classes_ is None:
            self.classes_ = classes
        history = History(self._model, X, y, reg_lambda, epsilon=epsilon)
        self.history_ = history.data
        bar = _progress_bar(num_pass) if progress else None
        # The weights at the last record point with a finite loss, and how
        # many passes they had: put back if the loss becomes non-finite.
        last_good = [self._model.params.copy(), 0]

        def on_record(i, grads, params, loss, labels):
            loss = history.record(i, grads, loss, labels)
            if bar is not None:
                bar.update(i + 1 - bar.n)
                bar.set_postfix(loss=f"{loss:.6f}")
            if print_loss:
                line = "Loss after iteration %i: %f" % (i, loss)
                # through the bar, so the lines do not break it
                print(line) if bar is None else bar.write(line)
            if not np.isfinite(loss):
                good, passes = last_good
                self._model.params[...] = good
                self._model.passes_done = passes
                self._model._diverged(
                    i, epsilon, on_divergence, "loss",
                    kept=(f"The weights were restored to those after {passes} "
                          f"pass(es), the last recorded with a finite loss"))
                return False
            last_good[0][...] = params
            last_good[1] = i + 1
            return True

        try:
            self._model.train(X, y, reg_lambda, epsilon, num_pass,
                              record_every=print_every, on_record=on_record,
                              on_divergence=on_divergence)
            if bar is not None:
                bar.update(self._model.passes_done - bar.n)
        finally:
            if bar is not None:
                bar.close()
        return {k: v.copy() for k, v in self.model.items()}

    # -- pictures (mlnn.plotting) ------------------------------------------------
    def visualize_preds(self, X, y, ax=None, resolution=0.005, proba=False, title=None,
                        data_name=None, feature_names=None, class_names=None):
        """Decision regions over the data, with title, axis labels and a class
        legend; see mlnn.plotting.visualize_preds."""
        from mlnn import plotting
        return plotting.visualize_preds(self, X, y, ax=ax, resolution=resolution,
                                        proba=proba, title=title, data_name=data_name,
                                        feature_names=feature_names,
                                        class_names=class_names)

    def animate_preds(self, X, y, reg_lambda, epsilon, num_pass=35000, frames=120,
                      interval=50, save=None):
        """Animate training; see mlnn.plotting.animate_preds."""
        from mlnn import plotting
        return plotting.animate_preds(self, X, y, reg_lambda, epsilon,
                                      num_pass=num_pass, frames=frames,
                                      interval=interval, save=save)

    def plot_loss(self, ax=None, log=None):
        """Loss against pass from ``history_`` (log axis when it spans > 2 decades);
        see mlnn.plotting.plot_loss."""
        from mlnn import plotting
        return plotting.plot_loss(self, ax=ax, log=log)

    def plot_gradients(self, ax=None):
        """Per-layer ||dW_l|| against pass (log scale); see mlnn.plotting."""
        from mlnn import plotting
        return plotting.plot_gradients(self, ax=ax)

    # -- persistence (mlnn._io) --------------------------------------------------
    def save(self, path):
        """Write the model to an .npz file (no pickle); read it with mlnn.load."""
        return _io.save(self, path)

    def __repr__(self):
        return (f"neural_net(sizes={self.sizes}, activation={self.activation!r}, "
                f"dtype={self.dtype.name}, backend={self.backend_!r})")


def _progress_bar(total):
    from tqdm.auto import tqdm
    return tqdm(total=total, unit="pass", desc="training")


def load(path, backend=None, n_threads=None):
    """Read a model written by ``neural_net.save``; returns a ``neural_net``.

    Parameters
    ----------
    path : str, os.PathLike or binary file object
        The path given to ``save`` works too: ``save("m")`` writes
        ``m.npz``, and ``load("m")`` reads it when there is no file ``m``.
    backend, n_threads : as for ``neural_net`` (not stored in the file)

    Every key, type, shape, dtype and value is checked; a truncated,
    tampered, foreign or newer-version file raises ``ModelFileError``
    (a ValueError).  ``classes_`` comes back as saved (files of format
    version 1, from before labels were stored, load with ``classes_ = None``).
    The initial random state is not stored: ``random_state`` is None.

    Examples
    --------
    >>> import mlnn, numpy as np, tempfile, os
    >>> nn = mlnn.neural_net([2, 4, 2], random_state=0)
    >>> path = nn.save(os.path.join(tempfile.mkdtemp(), "moons"))
    >>> nn2 = mlnn.load(path)
    >>> X = np.random.RandomState(0).randn(5, 2)
    >>> bool(np.array_equal(nn.predict_proba(X), nn2.predict_proba(X)))
    True
    """
    spec, layers, classes = _io.read(path)
    # random_state=0 so that loading never draws from NumPy's global state
    net = neural_net(spec["layers_dim"], hidden_layers=spec["hidden_layers"],
                     activation=spec["activation"], dtype=spec["dtype"], backend=backend,
                     n_threads=n_threads, random_state=0)
    net.random_state = None
    net.classes_ = classes
    for (W, b), (W_file, b_file) in zip(net._model.layers(), layers):
        W[...] = W_file
        b[...] = b_file
    return net

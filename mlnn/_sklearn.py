"""``MLNNClassifier``: a scikit-learn estimator on the shared training core.

This is an API layer only.  It validates input with scikit-learn's own
helpers, encodes labels, cuts epochs into mini-batches and keeps the optimizer
state; every forward pass, loss and gradient is computed by
``mlnn._core.Model`` (the same object ``neural_net`` uses), and full-batch
plain gradient descent runs through ``Model.train``, the package's one
gradient-descent loop.

Gradient scaling.  ``Model.gradients(X_b, y_b, alpha)`` returns the gradient
of ``n_b * loss_b`` with ``loss_b = (sum_i -log p_i + alpha/2 sum ||W||^2) / n_b``,
i.e. ``sum_i dL_i/dW + alpha * W``.  Divided by ``n_b`` it is exactly
MLPClassifier's mini-batch gradient (its penalty is ``alpha / (2 n_b)``), so
``learning_rate_init`` and ``alpha`` mean what they mean in scikit-learn.

Optimizer state (velocity, Adam moments) lives in flat vectors with the
layout of ``Model.params`` and is updated in place with vectorised NumPy.
"""

import numbers
import warnings
from contextlib import contextmanager

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import check_random_state
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from mlnn import _validation as V
from mlnn._core import DivergenceError, Model

# MLPClassifier's activation names -> the core's.
_ACTIVATIONS = {"tanh": "tanh", "relu": "relu", "logistic": "sigmoid"}
_SOLVERS = ("gd", "momentum", "adam")


class MLNNClassifier(ClassifierMixin, BaseEstimator):
    """Multi-layer perceptron classifier on mlnn's compiled core.

    A drop-in for :class:`sklearn.neural_network.MLPClassifier` (stochastic
    solvers): the same parameter names wherever the meaning is the same, the
    same mini-batch loop, stopping rule and fitted attributes, with the
    forward and backward passes in mlnn's Cython + OpenMP kernels.

    Parameters
    ----------
    hidden_layer_sizes : int or tuple of int, default=(100,)
        Width of each hidden layer.
    activation : {'relu', 'tanh', 'logistic'}, default='relu'
        Hidden-layer activation (the output layer is always a softmax).
    solver : {'adam', 'momentum', 'gd'}, default='adam'
        'gd' is plain (mini-batch or full-batch) gradient descent,
        'momentum' is Nesterov momentum (MLPClassifier's solver='sgd' with
        nesterovs_momentum=True and learning_rate='constant'), 'adam' is Adam
        exactly as in MLPClassifier.
    alpha : float, default=1e-4
        L2 penalty; a batch of n samples is penalised by
        ``alpha / (2 n) * sum ||W||^2`` as in MLPClassifier (biases are not
        penalised).
    batch_size : 'auto', int or None, default='auto'
        'auto' is ``min(200, n_samples)``; None is full batch.
    learning_rate_init : float, default=1e-3
        Constant step size (Adam's base step size).
    max_iter : int, default=200
        Maximum number of epochs.
    shuffle : bool, default=True
        Shuffle the samples before each epoch.
    random_state : None, int or RandomState, default=None
        Initial weights, shuffling and the early-stopping split.
    tol : float, default=1e-4
    n_iter_no_change : int, default=10
        Training stops when the training loss (or, with early_stopping, the
        validation accuracy) has not improved by ``tol`` for more than
        ``n_iter_no_change`` consecutive epochs.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data (stratified), track its
        accuracy, stop on no improvement and keep the best weights.
    validation_fraction : float, default=0.1
    momentum : float, default=0.9
        For solver='momentum'.
    beta_1, beta_2, epsilon : float, default=0.9, 0.999, 1e-8
        For solver='adam'.
    warm_start : bool, default=False
        Start ``fit`` from the previous weights (the optimizer state is
        reset, as in MLPClassifier).
    verbose : bool, default=False
        Show a tqdm progress bar with the loss during ``fit``.
    n_threads : None or int, default=None
        Threads for the kernels; None honours OMP_NUM_THREADS, threadpoolctl
        limits and the available cores, and runs small batches serially.
        Results do not depend on it.
    dtype : None, np.float32 or np.float64, default=None
        None keeps float32 input in float32 and turns anything else into
        float64.
    backend : None, 'cython' or 'numpy', default=None
        None uses the compiled kernels when they are built; 'numpy' runs the
        readable NumPy reference.

    Attributes
    ----------
    classes_ : ndarray (n_classes,)
    coefs_ : list of ndarray, coefs_[i] (n_in_i, n_out_i)
        Live views of the weights (the last one has n_classes columns, also
        for two classes).
    intercepts_ : list of ndarray, intercepts_[i] (n_out_i,)
    loss_curve_ : list of float
        Training loss after each epoch.
    validation_scores_ : list of float or None
        Validation accuracy after each epoch (early_stopping only).
    best_validation_score_ : float or None
    best_loss_ : float or None
        Lowest training loss (None with early_stopping).
    n_iter_ : int
        Epochs run by the last ``fit`` (``partial_fit`` adds one per call).
    t_ : int
        Training samples seen.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when X had string column names.
    n_layers_, n_outputs_, out_activation_
        As in MLPClassifier (``n_outputs_`` is n_classes, the output is a
        softmax).

    Examples
    --------
    >>> from sklearn.datasets import make_moons
    >>> from mlnn import MLNNClassifier
    >>> X, y = make_moons(200, noise=0.2, random_state=0)
    >>> clf = MLNNClassifier(hidden_layer_sizes=(16,), max_iter=300,
    ...                      learning_rate_init=0.01, random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:2]).shape
    (2, 2)
    """

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=1e-4, batch_size="auto", learning_rate_init=1e-3, max_iter=200,
                 shuffle=True, random_state=None, tol=1e-4, n_iter_no_change=10,
                 early_stopping=False, validation_fraction=0.1, momentum=0.9,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, warm_start=False,
                 verbose=False, n_threads=None, dtype=None, backend=None):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.momentum = momentum
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.warm_start = warm_start
        self.verbose = verbose
        self.n_threads = n_threads
        self.dtype = dtype
        self.backend = backend

    # -- fitted weights: views into the core's flat parameter vector ----------
    @property
    def coefs_(self):
        self._require_model("coefs_")
        return [W for W, _ in self._model.layers()]

    @property
    def intercepts_(self):
        self._require_model("intercepts_")
        return [b for _, b in self._model.layers()]

    def _require_model(self, name):
        if "_model" not in self.__dict__:
            raise AttributeError(
                f"{type(self).__name__!r} object has no attribute {name!r} (not fitted yet)")

    # -- public API --------------------------------------------------------------
    def fit(self, X, y):
        """Fit the network to X (n_samples, n_features) and labels y (n_samples,).

        Returns self.
        """
        return self._fit(X, y, incremental=False)

    @available_if(lambda est: est._check_partial_fit_available())
    def partial_fit(self, X, y, classes=None):
        """One epoch over X, y, continuing from the current weights.

        Not available with early_stopping=True (there is no held-out set to
        stop on); ``hasattr(clf, "partial_fit")`` is then False.

        classes : array-like, required on the first call
            All labels that will ever be seen (y need not contain them all).

        Returns self.
        """
        first = "_model" not in self.__dict__
        if first:
            if classes is None:
                raise ValueError(
                    "classes must be passed on the first call to partial_fit.")
            classes = np.unique(np.asarray(classes))
        elif classes is not None:
            classes = np.unique(np.asarray(classes))
            if not np.array_equal(classes, self.classes_):
                raise ValueError(
                    f"`classes={classes!r}` is not the same as on the last call to "
                    f"partial_fit, was: {self.classes_!r}")
        return self._fit(X, y, incremental=True, classes=classes if first else None)

    def _check_partial_fit_available(self):
        if self.early_stopping:
            raise AttributeError("partial_fit does not support early_stopping=True")
        return True

    def predict(self, X):
        """Predicted labels (n_samples,), taken from classes_."""
        X = self._check_predict_X(X)
        return self.classes_[self._model.predict(X)]

    def predict_proba(self, X):
        """Class probabilities (n_samples, n_classes), columns in classes_ order."""
        X = self._check_predict_X(X)
        return self._model.predict_proba(X)

    def predict_log_proba(self, X):
        """log of predict_proba (n_samples, n_classes)."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    # -- validation ---------------------------------------------------------------
    def _check_predict_X(self, X):
        check_is_fitted(self)
        return validate_data(self, X, reset=False, dtype=self._model.dtype, order="C")

    def _check_params(self):
        """Resolve and check the hyperparameters (done in fit, not __init__)."""
        p = {}
        sizes = self.hidden_layer_sizes
        if isinstance(sizes, numbers.Integral) and not isinstance(sizes, bool):
            sizes = [sizes]
        try:
            sizes = [V.check_int(s, "hidden_layer_sizes", minimum=1) for s in sizes]
        except TypeError:
            raise ValueError(
                f"hidden_layer_sizes must be a positive int or a tuple of positive "
                f"ints, got {self.hidden_layer_sizes!r}") from None
        p["hidden"] = sizes
        if self.activation not in _ACTIVATIONS:
            raise ValueError(
                f"activation must be one of {tuple(_ACTIVATIONS)}, got {self.activation!r}")
        if self.solver not in _SOLVERS:
            raise ValueError(f"solver must be one of {_SOLVERS}, got {self.solver!r}")
        p["alpha"] = V.check_float(self.alpha, "alpha")
        p["lr"] = V.check_float(self.learning_rate_init, "learning_rate_init", strict=True)
        p["max_iter"] = V.check_int(self.max_iter, "max_iter", minimum=1)
        p["tol"] = V.check_float(self.tol, "tol")
        p["n_iter_no_change"] = V.check_int(self.n_iter_no_change, "n_iter_no_change",
                                            minimum=1)
        vf = V.check_float(self.validation_fraction, "validation_fraction")
        if not 0 < vf < 1:
            raise ValueError(
                f"validation_fraction must be in (0, 1), got {self.validation_fraction!r}")
        p["momentum"] = V.check_float(self.momentum, "momentum")
        if p["momentum"] > 1:
            raise ValueError(f"momentum must be in [0, 1], got {self.momentum!r}")
        for name in ("beta_1", "beta_2"):
            value = V.check_float(getattr(self, name), name)
            if value >= 1:
                raise ValueError(f"{name} must be in [0, 1), got {value!r}")
            p[name] = value
        p["epsilon"] = V.check_float(self.epsilon, "epsilon", strict=True)
        if not (self.batch_size is None or self.batch_size == "auto"):
            V.check_int(self.batch_size, "batch_size", minimum=1)
        p["n_threads"] = V.check_n_threads(self.n_threads)
        p["dtype"] = None if self.dtype is None else V.check_dtype(self.dtype)
        if self.backend not in (None, *V.BACKENDS):
            raise ValueError(
                f"backend must be None, 'cython' or 'numpy', got {self.backend!r}")
        return p

    def _encode_labels(self, y, first_pass, incremental, classes):
        """(classes, y as int64 indices into classes); classes_ is set by the caller."""
        check_classification_targets(y)
        if first_pass:
            if not incremental:
                classes = np.unique(y)
            if len(classes) < 2:
                raise ValueError(
                    f"{type(self).__name__} needs samples of at least 2 classes in "
                    f"the data, but the data contains only one class: {classes[0]!r}")
        else:
            classes = self.classes_
            if not incremental and set(np.unique(y)) != set(classes):  # warm_start
                raise ValueError(
                    "warm_start can only be used where `y` has the same classes as "
                    f"in the previous call to fit. Previously got {classes}, "
                    f"`y` has {np.unique(y)}")
        encoder = LabelEncoder()
        encoder.classes_ = classes
        try:
            return classes, encoder.transform(y).astype(np.int64)
        except ValueError:
            raise ValueError(
                f"`y` has classes not in `self.classes_`. `self.classes_` has "
                f"{classes}. 'y' has {np.unique(y)}.") from None

    # -- training -----------------------------------------------------------------
    def _fit(self, X, y, incremental, classes=None):
        p = self._check_params()
        first_pass = "_model" not in self.__dict__ or (
            not self.warm_start and not incremental)
        if first_pass:
            dtype = p["dtype"] if p["dtype"] is not None else (np.float64, np.float32)
        else:
            dtype = self._model.dtype
        X, y = validate_data(self, X, y, reset=first_pass, dtype=dtype, order="C")
        classes, y = self._encode_labels(y, first_pass, incremental, classes)
        rng = check_random_state(self.random_state)
        activation = _ACTIVATIONS[self.activation]
        sizes = [X.shape[1], *p["hidden"], len(classes)]

        if first_pass:
            model = Model(sizes, activation, X.dtype, self.backend, p["n_threads"])
            model.init_weights(rng)
            self.classes_ = classes
            self._model = model
            self._optimizer = None
            self.n_iter_ = 0
            self.t_ = 0
            self.n_layers_ = len(sizes)
            self.n_outputs_ = len(self.classes_)
            self.out_activation_ = "softmax"
            self.loss_curve_ = []
            self._no_improvement_count = 0
            if self.early_stopping:
                self.validation_scores_ = []
                self.best_validation_score_ = -np.inf
                self.best_loss_ = None
            else:
                self.validation_scores_ = None
                self.best_validation_score_ = None
                self.best_loss_ = np.inf
        else:
            model = self._model
            if model.sizes != sizes or model.activation != activation:
                raise ValueError(
                    f"warm_start/partial_fit needs the same network as before "
                    f"(sizes {model.sizes}, activation {model.activation!r}); "
                    f"got sizes {sizes}, activation {activation!r}")
            model.n_threads = p["n_threads"]
        if (not incremental or self._optimizer is None
                or self._optimizer.solver != self.solver):
            self._optimizer = _make_optimizer(self.solver, model.params, p)

        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        if self.early_stopping:
            X, X_val, y, y_val = train_test_split(
                X, y, random_state=rng, test_size=self.validation_fraction, stratify=y)
            if X_val.shape[0] < 2:
                raise ValueError(
                    "The validation set is too small. Increase 'validation_fraction' "
                    "or the size of your dataset.")
            best_params = model.params.copy()
        n_samples = X.shape[0]
        if self.batch_size is None:
            batch_size = n_samples
        elif self.batch_size == "auto":
            batch_size = min(200, n_samples)
        else:
            if self.batch_size > n_samples:
                warnings.warn("Got `batch_size` larger than sample size. It is going "
                              "to be clipped", UserWarning, stacklevel=3)
            batch_size = min(int(self.batch_size), n_samples)

        n_epochs = 1 if incremental else p["max_iter"]
        if not incremental:
            self.n_iter_ = 0
        bar = _progress_bar(n_epochs) if self.verbose else None
        grads = np.empty_like(model.params)
        alpha = p["alpha"]
        try:
            with _blas_limit_per_run(model, n_samples, batch_size):
                for epoch in range(n_epochs):
                    self._run_epoch(model, X, y, alpha, batch_size, rng, grads, p)
                    loss = model.loss(X, y, alpha)
                    if not np.isfinite(loss):
                        _diverged(p["lr"], "loss")
                    self.n_iter_ += 1
                    self.t_ += n_samples
                    self.loss_curve_.append(loss)
                    if self.early_stopping:
                        score = float(np.mean(model.predict(X_val) == y_val))
                        self.validation_scores_.append(score)
                        improved = score >= self.best_validation_score_ + p["tol"]
                        if score > self.best_validation_score_:
                            self.best_validation_score_ = score
                            best_params[...] = model.params
                    else:
                        improved = loss <= self.best_loss_ - p["tol"]
                        self.best_loss_ = min(self.best_loss_, loss)
                    self._no_improvement_count = 0 if improved else (
                        self._no_improvement_count + 1)
                    if bar is not None:
                        post = {"loss": f"{loss:.6f}"}
                        if self.early_stopping:
                            post["val_acc"] = f"{self.validation_scores_[-1]:.4f}"
                        bar.set_postfix(post, refresh=False)
                        bar.update(1)
                    if self._no_improvement_count > p["n_iter_no_change"]:
                        if bar is not None:
                            what = ("Validation score" if self.early_stopping
                                    else "Training loss")
                            bar.write(f"{what} did not improve more than tol={p['tol']:f} "
                                      f"for {p['n_iter_no_change']} consecutive epochs. "
                                      "Stopping.")
                        break
                else:
                    if not incremental:
                        warnings.warn(
                            f"Stochastic Optimizer: Maximum iterations ({p['max_iter']}) "
                            "reached and the optimization hasn't converged yet.",
                            ConvergenceWarning, stacklevel=3)
        except KeyboardInterrupt:
            warnings.warn("Training interrupted by user.", stacklevel=3)
        finally:
            if bar is not None:
                bar.close()
        if self.early_stopping:
            model.params[...] = best_params
        return self

    def _run_epoch(self, model, X, y, alpha, batch_size, rng, grads, p):
        """One pass over the data: mini-batch gradients from the core, then a step."""
        n_samples = X.shape[0]
        opt = self._optimizer
        if batch_size == n_samples:
            # Full batch: the order of the samples does not change the gradient.
            if opt.solver == "gd":
                # The core's own gradient-descent loop, one pass; epsilon is
                # divided by n because Model.train steps along the summed gradient.
                try:
                    model.train(X, y, alpha, p["lr"] / n_samples, 1)
                except DivergenceError:
                    _diverged(p["lr"], "gradient")
                return
            _, bad = model.gradients(X, y, alpha, grads)
            if bad:
                _diverged(p["lr"], "gradient")
            opt.step(model.params, grads, n_samples)
            return
        order = rng.permutation(n_samples) if self.shuffle else None
        for start in range(0, n_samples, batch_size):
            stop = min(start + batch_size, n_samples)
            if order is None:
                X_b, y_b = X[start:stop], y[start:stop]
            else:
                idx = order[start:stop]
                X_b, y_b = X[idx], y[idx]
            _, bad = model.gradients(X_b, y_b, alpha, grads)
            if bad:
                _diverged(p["lr"], "gradient")
            opt.step(model.params, grads, stop - start)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        tags.input_tags.allow_nan = False
        return tags


# -- optimizers on the flat parameter vector ----------------------------------------
class _GD:
    """params -= lr * g, with g = summed gradient / n_b (MLPClassifier's gradient)."""

    solver = "gd"

    def __init__(self, params, p):
        self.lr = p["lr"]

    def step(self, params, grads, n_b):
        grads *= params.dtype.type(self.lr / n_b)
        params -= grads


class _Nesterov:
    """MLPClassifier's Nesterov update: v = mu v - lr g; params += mu v - lr g."""

    solver = "momentum"

    def __init__(self, params, p):
        self.lr = p["lr"]
        self.mu = params.dtype.type(p["momentum"])
        self.velocity = np.zeros_like(params)

    def step(self, params, grads, n_b):
        grads *= params.dtype.type(self.lr / n_b)     # lr * g
        self.velocity *= self.mu
        self.velocity -= grads                        # v = mu v - lr g
        params += self.mu * self.velocity
        params -= grads


class _Adam:
    """Adam as in MLPClassifier (bias correction folded into the step size)."""

    solver = "adam"

    def __init__(self, params, p):
        self.lr = p["lr"]
        self.beta_1, self.beta_2, self.eps = p["beta_1"], p["beta_2"], p["epsilon"]
        self.t = 0
        self.m = np.zeros_like(params)
        self.v = np.zeros_like(params)
        self.scratch = np.zeros_like(params)

    def step(self, params, grads, n_b):
        t = params.dtype.type
        self.t += 1
        grads *= t(1 / n_b)                           # g
        self.m *= t(self.beta_1)
        self.m += t(1 - self.beta_1) * grads          # m = b1 m + (1 - b1) g
        np.square(grads, out=self.scratch)
        self.v *= t(self.beta_2)
        self.scratch *= t(1 - self.beta_2)
        self.v += self.scratch                        # v = b2 v + (1 - b2) g^2
        lr_t = self.lr * np.sqrt(1 - self.beta_2 ** self.t) / (1 - self.beta_1 ** self.t)
        np.sqrt(self.v, out=self.scratch)
        self.scratch += t(self.eps)
        np.divide(self.m, self.scratch, out=self.scratch)
        self.scratch *= t(lr_t)
        params -= self.scratch


def _make_optimizer(solver, params, p):
    return {"gd": _GD, "momentum": _Nesterov, "adam": _Adam}[solver](params, p)


# -- helpers --------------------------------------------------------------------------
@contextmanager
def _blas_limit_per_run(model, n_samples, batch_size):
    """Take the core's BLAS limit once for a whole training run.

    Taking it costs about a millisecond, more than a mini-batch of gradient
    work; ``Model.blas_guard`` is reentrant per thread, so the guards of the
    kernel calls inside the run are then free.  Both sizes are asked because
    a smaller call can need the limit when the full-data one does not.
    """
    with model.blas_guard(n_samples), model.blas_guard(batch_size):
        yield


def _diverged(lr, what):
    raise DivergenceError(
        f"training diverged: the {what} became non-finite (NaN or inf). "
        f"Try a smaller learning_rate_init (got {lr:g}) or scale the features.")


def _progress_bar(total):
    from tqdm.auto import tqdm
    return tqdm(total=total, unit="epoch", desc="MLNNClassifier")

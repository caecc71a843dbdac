"""scikit-learn drop-ins: ``MLNNClassifier`` and ``MLNNRegressor``.

Same data, same parameters and the same ``random_state`` give the model that
:class:`sklearn.neural_network.MLPClassifier` / ``MLPRegressor`` give: the
same weights, loss curve, validation scores, iteration count and
predictions (to rounding), with the arithmetic in mlnn's kernels.

Who does what:

* this module is the API layer.  It validates parameters and data with
  scikit-learn's public helpers, encodes targets (``LabelBinarizer`` for
  classes, a 2-D float array for regression), draws the random numbers in
  scikit-learn's order (Glorot initial weights, the early-stopping split,
  each epoch's shuffle), and runs scikit-learn's epoch loop: the stopping
  rule, the adaptive / inverse-scaling learning rate, verbose lines,
  warnings and best-weight bookkeeping;
* ``mlnn._core.Model`` owns the weights (one flat vector in scikit-learn's
  packing order, ``mlnn._spec``) and computes: one whole epoch of
  mini-batch steps per kernel call (``Model.epoch``), the full-data loss and
  gradient for L-BFGS (``Model.loss_grad``) and the output layer
  (``Model.predict_proba``);
* ``mlnn._solvers`` holds the SGD / Adam state and their between-epoch
  rules, and drives scipy's L-BFGS-B.

``coefs_`` and ``intercepts_`` are properties: lists of live views into the
model's flat parameter vector, so reading them costs nothing and writing
into them (or assigning new arrays) changes the model that ``predict`` and
a warm-started ``fit`` use.
"""

import numbers
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_array, check_random_state
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import type_of_target, unique_labels
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from mlnn import _validation as V
from mlnn._core import Model, NonFiniteInputError
from mlnn._solvers import SGD, Adam, lbfgs
from mlnn._spec import ACTIVATION_ALIASES

_STOCHASTIC_SOLVERS = ("sgd", "adam")

# Parameter constraints, as scikit-learn's MLP declares them.
# name -> (type, low, high, closed side(s) of the interval)
_INTERVALS = {
    "alpha": (numbers.Real, 0, None, "left"),
    "learning_rate_init": (numbers.Real, 0, None, "neither"),
    "power_t": (numbers.Real, 0, None, "left"),
    "max_iter": (numbers.Integral, 1, None, "left"),
    "tol": (numbers.Real, 0, None, "left"),
    "momentum": (numbers.Real, 0, 1, "both"),
    "validation_fraction": (numbers.Real, 0, 1, "left"),
    "beta_1": (numbers.Real, 0, 1, "left"),
    "beta_2": (numbers.Real, 0, 1, "left"),
    "epsilon": (numbers.Real, 0, None, "neither"),
    "max_fun": (numbers.Integral, 1, None, "left"),
}
_OPTIONS = {
    "activation": ("identity", "logistic", "tanh", "relu"),
    "solver": ("lbfgs", "sgd", "adam"),
    "learning_rate": ("constant", "invscaling", "adaptive"),
}
_BOOLEANS = ("shuffle", "warm_start", "nesterovs_momentum", "early_stopping")

# Attributes only the stochastic solvers have (L-BFGS fits have none of them).
_STOCHASTIC_ATTRIBUTES = ("loss_curve_", "best_loss_", "validation_scores_",
                          "best_validation_score_")


class InvalidParameterError(ValueError, TypeError):
    """A constructor parameter has a bad type or value (raised by ``fit``).

    Both a ValueError and a TypeError, like scikit-learn's exception of the
    same name, so code written for either estimator catches it.
    """


# -- parameter validation -------------------------------------------------------------
def _bad_param(est, name, expected):
    value = getattr(est, name)
    return InvalidParameterError(
        f"The {name!r} parameter of {type(est).__name__} must be {expected}. "
        f"Got {value!r} instead.")


def _is_number(value, kind):
    return isinstance(value, kind) and not isinstance(value, (bool, np.bool_))


def _check_interval(est, name, kind, low, high, closed):
    value = getattr(est, name)
    low_in, high_in = closed in ("left", "both"), closed in ("right", "both")
    ok = _is_number(value, kind) and not np.isnan(value)
    ok = ok and (value >= low if low_in else value > low)
    ok = ok and (high is None or (value <= high if high_in else value < high))
    if not ok:
        what = "an int" if kind is numbers.Integral else "a float"
        interval = (f"{'[' if low_in else '('}{low}, "
                    f"{'inf' if high is None else high}{']' if high_in else ')'}")
        raise _bad_param(est, name, f"{what} in the range {interval}")


def _check_hidden_layer_sizes(est):
    """The hidden widths as a list of ints (() is allowed: no hidden layer)."""
    sizes = est.hidden_layer_sizes
    if _is_number(sizes, numbers.Integral):
        sizes = [sizes]
    elif isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__iter__"):
        raise _bad_param(est, "hidden_layer_sizes",
                         "an int >= 1 or an array-like of ints >= 1")
    sizes = list(sizes)
    if not all(_is_number(s, numbers.Integral) for s in sizes):
        raise _bad_param(est, "hidden_layer_sizes",
                         "an int >= 1 or an array-like of ints >= 1")
    if any(s <= 0 for s in sizes):
        raise ValueError(f"hidden_layer_sizes must be > 0, got {sizes}.")
    return [int(s) for s in sizes]


def _check_misc_params(est):
    """random_state, verbose, n_iter_no_change and batch_size."""
    rs = est.random_state
    if not (rs is None or isinstance(rs, np.random.RandomState)
            or (_is_number(rs, numbers.Integral) and 0 <= rs <= 2**32 - 1)):
        raise _bad_param(est, "random_state", "an int in the range [0, 4294967295], "
                         "an instance of 'numpy.random.mtrand.RandomState' or None")
    if not (isinstance(est.verbose, (bool, np.bool_))
            or (_is_number(est.verbose, numbers.Integral) and est.verbose >= 0)):
        raise _bad_param(est, "verbose", "an int in the range [0, inf) or a bool")
    n = est.n_iter_no_change
    if not ((_is_number(n, numbers.Integral) and n >= 1)
            or (_is_number(n, numbers.Real) and n == np.inf)):
        raise _bad_param(est, "n_iter_no_change",
                         "an int in the range [1, inf) or a float among {inf}")
    b = est.batch_size
    if not (isinstance(b, str) and b == "auto") and not (
            _is_number(b, numbers.Integral) and b >= 1):
        raise _bad_param(est, "batch_size", "a str among {'auto'} or an int in the "
                         "range [1, inf)")


def _check_mlnn_params(est):
    """mlnn's own n_threads, dtype and backend -> (n_threads, dtype or None)."""
    try:
        n_threads = V.check_n_threads(est.n_threads)
    except (TypeError, ValueError):
        raise _bad_param(est, "n_threads", "None or an int >= 1") from None
    dtype = None
    if est.dtype is not None:
        try:
            dtype = V.check_dtype(est.dtype)
        except ValueError:
            raise _bad_param(est, "dtype", "None, np.float64 or np.float32") from None
    if est.backend is not None and est.backend not in V.BACKENDS:
        raise _bad_param(est, "backend", "None, 'cython' or 'numpy'")
    return n_threads, dtype


# -- data validation ----------------------------------------------------------------
def _as_csr(X):
    """The kernels read dense C arrays or CSR; CSC becomes a new CSR matrix."""
    if sp.issparse(X) and X.format != "csr":
        return X.tocsr()
    return X


def _check_sample_weight(sample_weight, n_samples, dtype):
    """None, or a finite, non-negative, not all zero (n_samples,) array."""
    if sample_weight is None:
        return None
    if isinstance(sample_weight, numbers.Number):
        sw = np.full(n_samples, sample_weight, dtype=dtype)
    else:
        sw = check_array(sample_weight, accept_sparse=False, ensure_2d=False,
                         dtype=dtype, order="C", input_name="sample_weight")
        if sw.ndim != 1:
            raise ValueError(
                f"Sample weights must be 1D array or scalar, got {sw.ndim}D array. "
                f"Expected either a scalar value or a 1D array of length {n_samples} "
                f"for sample_weight.")
        if sw.shape != (n_samples,):
            raise ValueError(
                f"sample_weight.shape == {sw.shape}, expected {(n_samples,)}!")
    if not np.isfinite(sw).all():  # a scalar NaN / inf (check_array sees arrays)
        raise ValueError("Input sample_weight contains NaN or infinity.")
    if np.any(sw < 0):
        raise ValueError("Negative values in data passed to `sample_weight`.")
    if np.all(sw == 0):
        raise ValueError("Sample weights must contain at least one non-zero number "
                         "(`sample_weight` is all zero).")
    return sw


def _shuffled(order, rng):
    """order permuted as ``sklearn.utils.shuffle(order, random_state=rng)``
    permutes it: one ``rng.shuffle`` of ``arange(n)``, then a take.  Its
    input checks cost about 0.3 ms, a fifth of a small epoch; the exactness
    tests compare the resulting fits with scikit-learn's."""
    perm = np.arange(order.shape[0])
    rng.shuffle(perm)
    return order[perm]


def _non_finite_weights_error():
    return ValueError(
        "Solver produced non-finite parameter weights. The input data may contain "
        "large values and need to be preprocessed.")


def _lbfgs_iterations(result, max_iter):
    """Iterations of an L-BFGS run; a ConvergenceWarning if it did not converge.

    The warning text is scikit-learn's, so filters written for MLPClassifier
    keep working.
    """
    n_iter = min(result.nit, max_iter)
    if result.status != 0:
        msg = (f"lbfgs failed to converge after {n_iter} iteration(s) "
               f"(status={result.status}):\n{result.message}\n")
        if n_iter == max_iter:
            msg += ("\nIncrease the number of iterations to improve the convergence "
                    f"(max_iter={max_iter}).")
        msg += ("\nYou might also want to scale the data as shown in:\n"
                "    https://scikit-learn.org/stable/modules/preprocessing.html")
        warnings.warn(msg, ConvergenceWarning, stacklevel=5)
    return n_iter


class _ParamList(list):
    """``coefs_`` / ``intercepts_``: views into the weights, writable per layer.

    ``est.coefs_[i] = array`` copies the array into layer i (same shape);
    ``est.coefs_[i][...] = x`` writes through the view.  The list itself is
    built on each access, so changing its length changes nothing.
    """

    def __init__(self, views, name):
        super().__init__(views)
        self._name = name

    def __setitem__(self, index, value):
        if not isinstance(index, numbers.Integral):
            raise TypeError(f"{self._name} is assigned one layer at a time: "
                            f"{self._name}[i] = array")
        _copy_layer(self[index], value, f"{self._name}[{index}]")


def _copy_layer(view, value, name):
    value = np.asarray(value)
    if value.shape != view.shape:
        raise ValueError(f"{name} must have shape {view.shape}, got {value.shape}")
    view[...] = value


class _BaseMLNN(BaseEstimator):
    """What MLNNClassifier and MLNNRegressor share: validation, the solvers'
    loops, the weights and the output layer.

    Subclasses provide ``_validate_input`` (X and encoded targets),
    ``_output_head`` (the output layer's activation), ``_val_targets`` and
    ``_score_function`` (the early-stopping score) and ``_predict_from``.
    """

    def __init__(self, hidden_layer_sizes, activation, solver, alpha, batch_size,
                 learning_rate, learning_rate_init, power_t, max_iter, shuffle,
                 random_state, tol, verbose, warm_start, momentum, nesterovs_momentum,
                 early_stopping, validation_fraction, beta_1, beta_2, epsilon,
                 n_iter_no_change, max_fun, n_threads, dtype, backend):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.n_threads = n_threads
        self.dtype = dtype
        self.backend = backend

    # -- the weights: views into the model's flat parameter vector ----------------
    @property
    def coefs_(self):
        """list of ndarray: the weight matrices, ``coefs_[i]`` (n_in_i, n_out_i)."""
        model = self._fitted_model("coefs_")
        return _ParamList([W for W, _ in model.layers()], "coefs_")

    @coefs_.setter
    def coefs_(self, arrays):
        self._assign_layers(arrays, 0, "coefs_")

    @property
    def intercepts_(self):
        """list of ndarray: the bias vectors, ``intercepts_[i]`` (n_out_i,)."""
        model = self._fitted_model("intercepts_")
        return _ParamList([b for _, b in model.layers()], "intercepts_")

    @intercepts_.setter
    def intercepts_(self, arrays):
        self._assign_layers(arrays, 1, "intercepts_")

    def _fitted_model(self, name):
        model = self.__dict__.get("_model")
        if model is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute "
                                 f"{name!r} (it is set by fit)")
        return model

    def _assign_layers(self, arrays, which, name):
        views = [layer[which] for layer in self._fitted_model(name).layers()]
        arrays = list(arrays)
        if len(arrays) != len(views):
            raise ValueError(f"{name} must be a list of {len(views)} arrays, "
                             f"got {len(arrays)}")
        for i, (view, value) in enumerate(zip(views, arrays)):
            _copy_layer(view, value, f"{name}[{i}]")

    def __sklearn_is_fitted__(self):
        return "_model" in self.__dict__

    # -- public API ------------------------------------------------------------------
    def fit(self, X, y, sample_weight=None):
        """Fit the model to data matrix X and target(s) y.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The target values (class labels in classification, real numbers in
            regression).
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit(X, y, sample_weight, incremental=False)

    def _check_solver(self):
        if self.solver not in _STOCHASTIC_SOLVERS:
            raise AttributeError(
                "partial_fit is only available for stochastic optimizers. "
                f"{self.solver} is not stochastic.")
        return True

    def _check_partial_fit(self):
        # before anything is touched, so a refused call leaves no state behind
        self._check_params()
        if self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True")

    # -- fit ---------------------------------------------------------------------------
    def _check_params(self):
        """Check every parameter, as scikit-learn does at the start of fit.

        Returns (hidden layer widths, n_threads, dtype or None).
        """
        for name, options in _OPTIONS.items():
            value = getattr(self, name)
            if not (isinstance(value, str) and value in options):
                raise _bad_param(self, name, f"a str among {set(options)}")
        for name, spec in _INTERVALS.items():
            _check_interval(self, name, *spec)
        for name in _BOOLEANS:
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise _bad_param(self, name, "an instance of 'bool'")
        _check_misc_params(self)
        hidden = _check_hidden_layer_sizes(self)
        return (hidden, *_check_mlnn_params(self))

    def _fit(self, X, y, sample_weight, incremental):
        hidden, n_threads, dtype = self._check_params()
        first_pass = "_model" not in self.__dict__ or (
            not self.warm_start and not incremental)
        if not first_pass:
            dtype = self._model.dtype
        if dtype is None:  # scikit-learn's rule: keep float32, else float64
            dtype = (np.float64, np.float32)
        X, Y, y = self._validate_input(X, y, incremental, first_pass, dtype)
        sample_weight = _check_sample_weight(sample_weight, X.shape[0], X.dtype)
        rng = check_random_state(self.random_state)
        sizes = [X.shape[1], *hidden, Y.shape[1]]
        if first_pass:
            self._initialize(sizes, X.dtype, n_threads, rng)
        else:
            self._reuse_model(sizes, n_threads)
        if self.solver == "lbfgs":
            self._fit_lbfgs(X, Y, sample_weight)
        else:
            self._fit_stochastic(X, Y, y, sample_weight, rng, incremental)
        if not np.isfinite(self._model.params).all():
            raise _non_finite_weights_error()
        return self

    def _initialize(self, sizes, dtype, n_threads, rng):
        """A new model with Glorot-uniform weights, and fresh fitted attributes."""
        model = Model(sizes, ACTIVATION_ALIASES.get(self.activation, self.activation),
                      dtype, self.backend, n_threads, head=self._output_head())
        # Glorot et al.'s bound, drawn as scikit-learn draws it: each layer's
        # weights, then its biases, in float64, then cast to the model dtype
        factor = 2.0 if self.activation == "logistic" else 6.0
        for W, b in model.layers():
            bound = np.sqrt(factor / (W.shape[0] + W.shape[1]))
            W[...] = rng.uniform(-bound, bound, W.shape)
            b[...] = rng.uniform(-bound, bound, b.shape[0])
        self._model = model
        self._optimizer = None
        self._best_params = model.params.copy()
        self.n_iter_ = 0
        self.t_ = 0
        self.n_outputs_ = sizes[-1]
        self.n_layers_ = len(sizes)
        self.out_activation_ = model.head
        for name in _STOCHASTIC_ATTRIBUTES:  # left over from a fit with another solver
            self.__dict__.pop(name, None)
        if self.solver in _STOCHASTIC_SOLVERS:
            self._reset_stopping_state()

    def _reset_stopping_state(self):
        self.loss_curve_ = []
        self._no_improvement_count = 0
        if self.early_stopping:
            self.validation_scores_ = []
            self.best_validation_score_ = -np.inf
            self.best_loss_ = None
        else:
            self.best_loss_ = np.inf
            self.validation_scores_ = None
            self.best_validation_score_ = None

    def _reuse_model(self, sizes, n_threads):
        """warm_start / partial_fit: the fitted network, with today's threads."""
        model = self._model
        if model.sizes != sizes:
            raise ValueError(
                f"warm_start and partial_fit continue the fitted network, whose layer "
                f"sizes are {model.sizes}; these data and hidden_layer_sizes give "
                f"{sizes}. Set warm_start=False (or refit) to start a new network.")
        model.n_threads = n_threads
        # like MLPClassifier, a changed hidden activation applies from now on
        model.activation = ACTIVATION_ALIASES.get(self.activation, self.activation)

    def _fit_lbfgs(self, X, Y, sample_weight):
        model = self._model
        with model.blas_guard(X.shape[0]):
            result = lbfgs(model, X, Y, sample_weight, self.alpha, self.max_iter,
                           self.max_fun, self.tol, self.verbose)
        self.n_iter_ = _lbfgs_iterations(result, self.max_iter)
        self.loss_ = result.fun

    # -- the stochastic solvers ---------------------------------------------------------
    def _new_optimizer(self):
        n_params, dtype = self._model.params.shape[0], self._model.dtype
        if self.solver == "sgd":
            return SGD(n_params, dtype, self.learning_rate_init, self.learning_rate,
                       self.momentum, self.nesterovs_momentum, self.power_t)
        return Adam(n_params, dtype, self.learning_rate_init, self.beta_1, self.beta_2,
                    self.epsilon)

    def _fit_stochastic(self, X, Y, y, sample_weight, rng, incremental):
        if not incremental or self._optimizer is None:
            # a fit (warm or not) starts a new optimizer; partial_fit keeps its state
            self._optimizer = self._new_optimizer()
        if not self._has_stopping_state():
            self._reset_stopping_state()
        train, val = self._validation_split(X, Y, y, sample_weight, rng)
        batch_size = self._batch_size(train[0].shape[0])
        with self._model.blas_guard(X.shape[0]), self._model.blas_guard(batch_size):
            self._run_epochs(*train, val, batch_size, rng, incremental)
        if self.early_stopping:
            # Restore the best weights.  As in MLPClassifier they then *are*
            # the best weights (the same array), so a warm-started fit that
            # never beats best_validation_score_ ends on its last epoch.
            self._model.params[...] = self._best_params
            self._best_params = self._model.params

    def _has_stopping_state(self):
        """False when a warm start follows an L-BFGS fit, or switches early
        stopping on or off: the stopping rule then starts afresh (where
        MLPClassifier fails with an AttributeError or TypeError)."""
        if "loss_curve_" not in self.__dict__:
            return False
        if self.early_stopping:
            return self.validation_scores_ is not None
        return self.best_loss_ is not None

    def _validation_split(self, X, Y, y, sample_weight, rng):
        """((X, Y, sw) to train on, (X, targets, sw) to score, or None).

        The split is scikit-learn's own call on the same random state; only
        binary targets are stratified, as in MLPClassifier.
        """
        if not self.early_stopping:
            return (X, Y, sample_weight), None
        stratify = Y.astype(bool) if is_classifier(self) and Y.shape[1] == 1 else None
        train, val = train_test_split(np.arange(X.shape[0]), random_state=rng,
                                      test_size=self.validation_fraction,
                                      stratify=stratify)
        if val.shape[0] < 2:
            raise ValueError("The validation set is too small. Increase "
                             "'validation_fraction' or the size of your dataset.")
        sw_train, sw_val = (None, None) if sample_weight is None else (
            sample_weight[train], sample_weight[val])
        return ((X[train], Y[train], sw_train),
                (X[val], self._val_targets(Y[val], y[val]), sw_val))

    def _batch_size(self, n_samples):
        if self.batch_size == "auto":
            return min(200, n_samples)
        if self.batch_size > n_samples:
            warnings.warn("Got `batch_size` less than 1 or larger than sample size. "
                          "It is going to be clipped", stacklevel=5)
        return int(np.clip(self.batch_size, 1, n_samples))

    def _run_epochs(self, X, Y, sample_weight, val, batch_size, rng, incremental):
        """scikit-learn's epoch loop; each epoch is one kernel call."""
        n_samples = X.shape[0]
        order = np.arange(n_samples, dtype=np.int64)
        try:
            self.n_iter_ = 0
            for _ in range(self.max_iter):
                if self.shuffle:
                    order = _shuffled(order, rng)
                total = self._model.epoch(X, Y, sample_weight, order, batch_size,
                                          self.alpha, self._optimizer)
                if self._end_epoch(total / n_samples, n_samples, val) or incremental:
                    break
                if self.n_iter_ == self.max_iter:
                    warnings.warn(
                        f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) "
                        "reached and the optimization hasn't converged yet.",
                        ConvergenceWarning, stacklevel=5)
        except KeyboardInterrupt:
            warnings.warn("Training interrupted by user.", stacklevel=5)

    def _end_epoch(self, loss, n_samples, val):
        """Record an epoch; True to stop training."""
        self.n_iter_ += 1
        self.loss_ = loss
        self.t_ += n_samples
        self.loss_curve_.append(loss)
        if self.verbose:
            print("Iteration %d, loss = %.8f" % (self.n_iter_, self.loss_))
        self._check_diverged(loss)
        self._update_no_improvement_count(val)
        self._optimizer.iteration_ends(self.t_)
        return self._stalled()

    def _check_diverged(self, loss):
        # Non-finite weights stay non-finite, so without early stopping (whose
        # best weights may still be finite) the final check would fail anyway:
        # raise now instead of running the remaining epochs.
        if (not np.isfinite(loss) and not self.early_stopping
                and not np.isfinite(self._model.params).all()):
            raise _non_finite_weights_error()

    def _update_no_improvement_count(self, val):
        # "not x > y" rather than "x <= y": a NaN loss or score counts as an
        # improvement, as in scikit-learn's comparisons
        if val is None:
            loss = self.loss_curve_[-1]
            improved = not loss > self.best_loss_ - self.tol
            if loss < self.best_loss_:
                self.best_loss_ = loss
        else:
            score = self._validation_score(*val)
            self.validation_scores_.append(score)
            if self.verbose:
                print("Validation score: %f" % score)
            improved = not score < self.best_validation_score_ + self.tol
            if score > self.best_validation_score_:
                self.best_validation_score_ = score
                self._best_params = self._model.params.copy()
        self._no_improvement_count = 0 if improved else self._no_improvement_count + 1

    def _stalled(self):
        """After n_iter_no_change epochs without improvement: stop, or (adaptive
        learning rate) divide the rate by 5 and go on."""
        if self._no_improvement_count <= self.n_iter_no_change:
            return False
        what = "Validation score" if self.early_stopping else "Training loss"
        msg = (f"{what} did not improve more than tol={self.tol:f} for "
               f"{self.n_iter_no_change:d} consecutive epochs.")
        if self._optimizer.trigger_stopping(msg, self.verbose):
            return True
        self._no_improvement_count = 0
        return False

    def _validation_score(self, X, y, sample_weight):
        y_pred = self._predict_from(self._model.predict_proba(X))
        if np.issubdtype(y_pred.dtype, np.floating) and not np.isfinite(y_pred).all():
            return np.nan
        return self._score_function(y, y_pred, sample_weight=sample_weight)

    # -- predict ------------------------------------------------------------------------
    def _output(self, X):
        """The output layer (n_samples, n_outputs_) for X, validated."""
        check_is_fitted(self)
        # The kernels count NaN / inf while they read X, so the finiteness
        # pass is skipped here and only rerun (for scikit-learn's message)
        # when they found some.
        X = _as_csr(validate_data(self, X, accept_sparse=["csr", "csc"], reset=False,
                                  dtype=self._model.dtype, order="C",
                                  ensure_all_finite=False))
        try:
            return self._model.predict_proba(X)
        except NonFiniteInputError:
            check_array(X, accept_sparse=["csr"], dtype=None, input_name="X",
                        estimator=self)
            raise

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


_COMMON_PARAMETERS_DOC = """\
    hidden_layer_sizes : array-like of shape (n_layers - 2,), default=(100,)
        The ith element is the number of neurons in the ith hidden layer.
    activation : {'identity', 'logistic', 'tanh', 'relu'}, default='relu'
        Activation function of the hidden layers.
    solver : {'lbfgs', 'sgd', 'adam'}, default='adam'
        'lbfgs' is scipy's L-BFGS-B on the full data; 'sgd' is mini-batch
        stochastic gradient descent (with momentum); 'adam' is Adam.
    alpha : float, default=0.0001
        Strength of the L2 penalty, ``alpha / (2 * sum of sample weights) *
        sum ||W||^2`` (biases are not penalised).
    batch_size : int or 'auto', default='auto'
        Mini-batch size of the stochastic solvers; 'auto' is
        ``min(200, n_samples)``.  Larger than the data means full batch.
    learning_rate : {'constant', 'invscaling', 'adaptive'}, default='constant'
        Step-size schedule of solver='sgd': 'invscaling' uses
        ``learning_rate_init / (t + 1) ** power_t`` with t the samples seen;
        'adaptive' divides the step size by 5 when the loss (or validation
        score) stops improving, until it is 1e-6 or less.
    learning_rate_init : float, default=0.001
        Initial step size (solver='sgd' or 'adam').
    power_t : float, default=0.5
        Exponent of 'invscaling'.
    max_iter : int, default=200
        Maximum epochs (stochastic solvers) or iterations (L-BFGS).
    shuffle : bool, default=True
        Shuffle the samples before each epoch (stochastic solvers).
    random_state : int, RandomState instance or None, default=None
        Draws the initial weights, the early-stopping split and the epochs'
        shuffles, in that order, exactly as scikit-learn draws them.
    tol : float, default=1e-4
        Training stops when the loss (or validation score) has not improved by
        tol for n_iter_no_change consecutive epochs; L-BFGS's gradient
        tolerance.
    verbose : bool or int, default=False
        Print the loss after each epoch (scikit-learn's lines).
    warm_start : bool, default=False
        Start ``fit`` from the fitted weights (the optimizer state is new).
    momentum : float, default=0.9
        Momentum of solver='sgd', in [0, 1].
    nesterovs_momentum : bool, default=True
        Nesterov's momentum for solver='sgd' with momentum > 0.
    early_stopping : bool, default=False
        Hold out validation_fraction of the training data, stop when its
        score stops improving and keep the best weights (stochastic solvers).
    validation_fraction : float, default=0.1
        Share of the data held out for early stopping, in [0, 1).
    beta_1, beta_2 : float, default=0.9, 0.999
        Decay rates of Adam's moment estimates, in [0, 1).
    epsilon : float, default=1e-8
        Adam's numerical-stability term.
    n_iter_no_change : int, default=10
        Epochs without an improvement of tol before stopping.
    max_fun : int, default=15000
        Maximum loss evaluations of solver='lbfgs'.
    n_threads : int or None, default=None
        Threads for mlnn's kernels; None honours OMP_NUM_THREADS,
        threadpoolctl limits and the available cores.  Results do not depend
        on it.
    dtype : None, np.float32 or np.float64, default=None
        Precision of the model; None keeps float32 X in float32 and turns
        anything else into float64.
    backend : None, 'cython' or 'numpy', default=None
        None uses the compiled kernels when they are built; 'numpy' runs the
        readable NumPy reference.
"""

_NOTES_DOC = """    Notes
    -----
    Where this estimator differs from scikit-learn's on purpose:

    * ``partial_fit`` does not exist with solver='lbfgs', as documented
      (scikit-learn's regressor has one, which runs a whole L-BFGS fit);
    * ``sample_weight`` must be finite, non-negative and not all zero, and
      loss='poisson' refuses negative y (ValueError);
    * with float32 X and solver='lbfgs' the model stays float32
      (scikit-learn's weights become scipy's float64 vector);
    * a warm start after an L-BFGS fit, or one that switches early_stopping
      on or off, starts the stopping rule afresh (scikit-learn raises).
"""

_COMMON_ATTRIBUTES_DOC = """\
    loss_ : float
        The loss at the end of training (mean over samples, with the penalty).
    best_loss_ : float or None
        Lowest training loss (stochastic solvers without early stopping).
    loss_curve_ : list of float
        Training loss after each epoch (stochastic solvers).
    validation_scores_ : list of float or None
        Validation score after each epoch (early_stopping only).
    best_validation_score_ : float or None
        Best validation score (early_stopping only).
    t_ : int
        Training samples seen by the solver.
    coefs_ : list of ndarray
        ``coefs_[i]`` (n_in_i, n_out_i) is the weight matrix of layer i+1:
        live views of the model's weights, which may be written into or
        assigned (same shapes); predict and warm-started fits use them.
    intercepts_ : list of ndarray
        ``intercepts_[i]`` (n_out_i,), likewise.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of str
        Feature names seen during fit (when X had string column names).
    n_iter_ : int
        Epochs (or L-BFGS iterations) the last fit ran; 1 after partial_fit.
    n_layers_ : int
        Number of layers, input and output included.
    n_outputs_ : int
        Number of output units.
"""


class MLNNClassifier(ClassifierMixin, _BaseMLNN):
    __doc__ = f"""Multi-layer perceptron classifier on mlnn's kernels.

    A drop-in for :class:`sklearn.neural_network.MLPClassifier`: the same
    parameters, methods and fitted attributes, and with the same data,
    parameters and ``random_state`` the same model (weights, loss curve,
    iterations and predictions equal to rounding), computed by mlnn's
    compiled kernels.

    The output layer is a softmax for three or more classes and a single
    logistic unit for two classes and for multilabel targets (a label
    indicator matrix y).

    Parameters
    ----------
{_COMMON_PARAMETERS_DOC}
    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels (the label columns for multilabel y).
{_COMMON_ATTRIBUTES_DOC}\
    out_activation_ : str
        'softmax' (multiclass) or 'logistic' (binary, multilabel).

    See Also
    --------
    MLNNRegressor : The regressor.
    sklearn.neural_network.MLPClassifier : The estimator this one reproduces.

{_NOTES_DOC}
    Examples
    --------
    >>> from sklearn.datasets import make_moons
    >>> from mlnn import MLNNClassifier
    >>> X, y = make_moons(200, noise=0.2, random_state=0)
    >>> clf = MLNNClassifier(hidden_layer_sizes=(16,), learning_rate_init=0.05,
    ...                      max_iter=500, random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:2]).shape
    (2, 2)
    >>> clf.score(X, y) > 0.9
    True
    """

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 momentum=0.9, nesterovs_momentum=True, early_stopping=False,
                 validation_fraction=0.1, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 n_iter_no_change=10, max_fun=15000, n_threads=None, dtype=None,
                 backend=None):
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes, activation=activation, solver=solver,
            alpha=alpha, batch_size=batch_size, learning_rate=learning_rate,
            learning_rate_init=learning_rate_init, power_t=power_t, max_iter=max_iter,
            shuffle=shuffle, random_state=random_state, tol=tol, verbose=verbose,
            warm_start=warm_start, momentum=momentum,
            nesterovs_momentum=nesterovs_momentum, early_stopping=early_stopping,
            validation_fraction=validation_fraction, beta_1=beta_1, beta_2=beta_2,
            epsilon=epsilon, n_iter_no_change=n_iter_no_change, max_fun=max_fun,
            n_threads=n_threads, dtype=dtype, backend=backend)

    @available_if(lambda est: est._check_solver())
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """Update the model with a single epoch over the given data.

        Only for the stochastic solvers: with solver='lbfgs' the method does
        not exist (``hasattr(clf, "partial_fit")`` is False).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            The target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.
        classes : array of shape (n_classes,), default=None
            Every class of all calls to partial_fit; required on the first
            call (y need not hold them all), optional afterwards.

        Returns
        -------
        self : object
            The updated estimator.
        """
        self._check_partial_fit()
        if self._first_partial_fit(classes):
            self._label_binarizer = LabelBinarizer()
            if type_of_target(y).startswith("multilabel"):
                self._label_binarizer.fit(y)
            else:
                self._label_binarizer.fit(classes)
        return self._fit(X, y, sample_weight, incremental=True)

    def _first_partial_fit(self, classes):
        """True on the first call to partial_fit (sets classes_); checks classes."""
        fitted_classes = getattr(self, "classes_", None)
        if fitted_classes is None and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        if classes is None:
            return False
        if fitted_classes is not None:
            if not np.array_equal(fitted_classes, unique_labels(classes)):
                raise ValueError(
                    f"`classes={classes!r}` is not the same as on last call to "
                    f"partial_fit, was: {fitted_classes!r}")
            return False
        self.classes_ = unique_labels(classes)
        return True

    def _validate_input(self, X, y, incremental, reset, dtype):
        """(X, Y, y): X for the kernels, Y the binarized targets in X's dtype,
        y the validated labels."""
        X, y = validate_data(self, X, y, accept_sparse=["csr", "csc"], multi_output=True,
                             dtype=dtype, order="C", reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        self._check_classes(y, incremental)
        Y = self._label_binarizer.transform(y).astype(X.dtype, copy=False)
        return _as_csr(X), np.ascontiguousarray(Y), y

    def _check_classes(self, y, incremental):
        """Fit the label binarizer, or check y against the fitted classes."""
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer().fit(y)
            self.classes_ = self._label_binarizer.classes_
            return
        classes = unique_labels(y)
        if self.warm_start:
            if set(classes) != set(self.classes_):
                raise ValueError(
                    "warm_start can only be used where `y` has the same classes as in "
                    f"the previous call to fit. Previously got {self.classes_}, `y` "
                    f"has {classes}")
        elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
            raise ValueError(
                f"`y` has classes not in `self.classes_`. `self.classes_` has "
                f"{self.classes_}. 'y' has {classes}.")

    def _output_head(self):
        return "softmax" if self._label_binarizer.y_type_ == "multiclass" else "logistic"

    def _val_targets(self, Y_val, y_val):
        return self._label_binarizer.inverse_transform(Y_val)

    _score_function = staticmethod(accuracy_score)

    def _predict_from(self, output):
        if self.n_outputs_ == 1:
            output = output.ravel()
        return self._label_binarizer.inverse_transform(output)

    def predict(self, X):
        """Predict using the multi-layer perceptron classifier.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_classes)
            The predicted classes (a label indicator matrix for multilabel y).
        """
        return self._predict_from(self._output(X))

    def predict_proba(self, X):
        """Probability estimates.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y_prob : ndarray of shape (n_samples, n_classes)
            The probability of each class, columns in ``classes_`` order.
        """
        output = self._output(X)
        if self.n_outputs_ == 1:
            p = output.ravel()
            return np.column_stack([1 - p, p])
        return output

    def predict_log_proba(self, X):
        """Log of the probability estimates.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        log_y_prob : ndarray of shape (n_samples, n_classes)
            ``log(predict_proba(X))``.
        """
        y_prob = self.predict_proba(X)
        return np.log(y_prob, out=y_prob)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class MLNNRegressor(RegressorMixin, _BaseMLNN):
    __doc__ = f"""Multi-layer perceptron regressor on mlnn's kernels.

    A drop-in for :class:`sklearn.neural_network.MLPRegressor`: the same
    parameters, methods and fitted attributes, and with the same data,
    parameters and ``random_state`` the same model (weights, loss curve,
    iterations and predictions equal to rounding), computed by mlnn's
    compiled kernels.  The output layer is the identity (squared error) or
    the exponential (loss='poisson'); y may have several columns.

    Parameters
    ----------
    loss : {{'squared_error', 'poisson'}}, default='squared_error'
        Half the squared error, or half the Poisson deviance (y >= 0, an
        exponential output layer).
{_COMMON_PARAMETERS_DOC}
    Attributes
    ----------
{_COMMON_ATTRIBUTES_DOC}\
    out_activation_ : str
        'identity', or 'exp' for loss='poisson'.

    See Also
    --------
    MLNNClassifier : The classifier.
    sklearn.neural_network.MLPRegressor : The estimator this one reproduces.

{_NOTES_DOC}
    Examples
    --------
    >>> import numpy as np
    >>> from mlnn import MLNNRegressor
    >>> rng = np.random.RandomState(0)
    >>> X = rng.uniform(-1, 1, (200, 3))
    >>> y = X @ [1.0, -2.0, 0.5] + 0.1 * rng.randn(200)
    >>> reg = MLNNRegressor(hidden_layer_sizes=(16,), learning_rate_init=0.01,
    ...                     max_iter=500, random_state=0).fit(X, y)
    >>> reg.predict(X[:3]).shape
    (3,)
    >>> reg.score(X, y) > 0.95
    True
    """

    def __init__(self, loss="squared_error", hidden_layer_sizes=(100,),
                 activation="relu", *, solver="adam", alpha=0.0001, batch_size="auto",
                 learning_rate="constant", learning_rate_init=0.001, power_t=0.5,
                 max_iter=200, shuffle=True, random_state=None, tol=1e-4, verbose=False,
                 warm_start=False, momentum=0.9, nesterovs_momentum=True,
                 early_stopping=False, validation_fraction=0.1, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-8, n_iter_no_change=10, max_fun=15000, n_threads=None,
                 dtype=None, backend=None):
        self.loss = loss
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes, activation=activation, solver=solver,
            alpha=alpha, batch_size=batch_size, learning_rate=learning_rate,
            learning_rate_init=learning_rate_init, power_t=power_t, max_iter=max_iter,
            shuffle=shuffle, random_state=random_state, tol=tol, verbose=verbose,
            warm_start=warm_start, momentum=momentum,
            nesterovs_momentum=nesterovs_momentum, early_stopping=early_stopping,
            validation_fraction=validation_fraction, beta_1=beta_1, beta_2=beta_2,
            epsilon=epsilon, n_iter_no_change=n_iter_no_change, max_fun=max_fun,
            n_threads=n_threads, dtype=dtype, backend=backend)

    @available_if(lambda est: est._check_solver())
    def partial_fit(self, X, y, sample_weight=None):
        """Update the model with a single epoch over the given data.

        Only for the stochastic solvers: with solver='lbfgs' the method does
        not exist (``hasattr(reg, "partial_fit")`` is False).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        self : object
            The updated estimator.
        """
        self._check_partial_fit()
        return self._fit(X, y, sample_weight, incremental=True)

    def _check_params(self):
        if not (isinstance(self.loss, str)
                and self.loss in ("squared_error", "poisson")):
            raise _bad_param(self, "loss", "a str among {'squared_error', 'poisson'}")
        return super()._check_params()

    def _validate_input(self, X, y, incremental, reset, dtype):
        """(X, Y, y): X for the kernels, Y the 2-D targets in X's dtype, y the
        validated 2-D targets (scored as they are)."""
        X, y = validate_data(self, X, y, accept_sparse=["csr", "csc"], multi_output=True,
                             y_numeric=True, dtype=dtype, order="C", reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if self.loss == "poisson" and np.any(y < 0):
            raise ValueError("Some value(s) of y are negative which is not allowed for "
                             "Poisson regression (loss='poisson').")
        y = y.reshape(-1, 1) if y.ndim == 1 else y
        return _as_csr(X), np.ascontiguousarray(y, dtype=X.dtype), y

    def _output_head(self):
        return "exp" if self.loss == "poisson" else "identity"

    def _val_targets(self, Y_val, y_val):
        return y_val

    _score_function = staticmethod(r2_score)

    def _predict_from(self, output):
        return output.ravel() if output.shape[1] == 1 else output

    def predict(self, X):
        """Predict using the multi-layer perceptron model.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The predicted values.
        """
        return self._predict_from(self._output(X))

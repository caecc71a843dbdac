"""How the estimators train: SGD and Adam state, and L-BFGS.

The stochastic solvers are state only: the compiled epoch
(``Model.epoch``, one kernel call per epoch) applies their step after every
mini-batch, reading ``hyper()`` and updating ``state`` (and Adam's ``step``)
in place.  What changes between epochs -- the learning-rate schedule and
what happens when the loss stops improving -- lives here, with
scikit-learn's ``SGDOptimizer`` / ``AdamOptimizer`` semantics:

* 'invscaling': after each epoch, lr = learning_rate_init / (t + 1) ** power_t,
  where t counts the training samples seen (``t_``);
* 'adaptive': when the loss (or validation score) stalls, lr /= 5 and training
  goes on, until lr <= 1e-6.

L-BFGS is scipy's L-BFGS-B over the model's loss and gradient on the flat
parameter vector, which has scikit-learn's packing order (all weights, then
all biases; mlnn._spec), so the optimizer walks the same path.
"""

import numpy as np
import scipy.optimize

from mlnn._spec import SOLVERS


class SGD:
    """Mini-batch SGD with momentum (optionally Nesterov's)."""

    code = SOLVERS["sgd"]

    def __init__(self, n_params, dtype, learning_rate_init, schedule="constant",
                 momentum=0.9, nesterov=True, power_t=0.5):
        self.learning_rate_init = float(learning_rate_init)
        self.learning_rate = float(learning_rate_init)
        self.schedule = schedule
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)
        self.power_t = float(power_t)
        self.state = np.zeros((1, n_params), dtype=dtype)  # the velocity
        self.step = 0

    def hyper(self):
        return np.array([self.learning_rate, self.momentum, float(self.nesterov)])

    def iteration_ends(self, time_step):
        if self.schedule == "invscaling":
            self.learning_rate = self.learning_rate_init / (time_step + 1) ** self.power_t

    def trigger_stopping(self, msg, verbose):
        """True to stop; 'adaptive' lowers the learning rate instead while it can."""
        if self.schedule != "adaptive":
            if verbose:
                print(msg + " Stopping.")
            return True
        if self.learning_rate <= 1e-6:
            if verbose:
                print(msg + " Learning rate too small. Stopping.")
            return True
        self.learning_rate /= 5.0
        if verbose:
            print(msg + " Setting learning rate to %f" % self.learning_rate)
        return False


class Adam:
    """Adam, with the bias correction folded into the step size."""

    code = SOLVERS["adam"]

    def __init__(self, n_params, dtype, learning_rate_init, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-8):
        self.learning_rate_init = float(learning_rate_init)
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)
        self.state = np.zeros((2, n_params), dtype=dtype)  # first and second moments
        self.step = 0  # batches seen (Adam's t)

    @property
    def learning_rate(self):
        """The bias-corrected step size of the last batch."""
        if self.step == 0:
            return self.learning_rate_init
        t = self.step
        return (self.learning_rate_init * np.sqrt(1 - self.beta_2 ** t)
                / (1 - self.beta_1 ** t))

    def hyper(self):
        return np.array([self.learning_rate_init, self.beta_1, self.beta_2, self.epsilon])

    def iteration_ends(self, time_step):
        pass

    def trigger_stopping(self, msg, verbose):
        if verbose:
            print(msg + " Stopping.")
        return True


def lbfgs(model, X, Y, sample_weight, alpha, max_iter, max_fun, tol, verbose):
    """Minimise the model's loss with scipy's L-BFGS-B from model.params.

    The loss and gradient come from one kernel call on the flat vector x
    that scipy owns (no packing); the result is copied into model.params.
    Returns scipy's OptimizeResult.
    """
    def fun(x):
        # scipy keeps the gradient it is handed (to form its y = g_new - g_old
        # pairs), so every call returns a new array
        grads = np.empty(x.shape[0], dtype=model.params.dtype)
        if model.params.dtype == np.float64:
            loss = model.loss_grad(X, Y, sample_weight, alpha, grads, params=x)
        else:  # float32 model: evaluate in its own precision
            loss = model.loss_grad(X, Y, sample_weight, alpha, grads,
                                   params=x.astype(model.params.dtype))
        return loss, grads

    options = {"maxfun": max_fun, "maxiter": max_iter, "gtol": tol}
    if verbose and tuple(int(v) for v in scipy.__version__.split(".")[:2]) < (1, 15):
        options["iprint"] = 1
    result = scipy.optimize.minimize(fun, model.params.astype(np.float64), method="L-BFGS-B",
                                     jac=True, options=options)
    model.params[...] = result.x
    return result

"""What happens at a training record point, shared by ``neural_net.train``
and ``plotting.animate_preds``.

A record holds the pass count, the loss, the training accuracy and the
per-layer gradient norms ||dW_l||.  The loss and the predicted labels come
from one forward pass (``Model.loss(labels=)``).

A record also watches the loss: when it climbs far above the lowest value
recorded so far, training is making the model worse (usually epsilon is too
large) and a ``LossRiseWarning`` says so, once per run.  Non-finite losses
are the divergence guard's business (``DivergenceError``), not this one's.
"""

import os
import sys
import warnings

import numpy as np

# A record more than RISE_FACTOR times the lowest loss so far warns.  Measured
# on moons, circles and 3 blobs (hidden widths 4 and 16, tanh/relu/sigmoid,
# epsilon 1e-4..0.1, 25000 passes): runs that end well (accuracy >= 0.92)
# peak at 6.1x their running minimum, while epsilon=1 on the notebook's
# moons jumps from 15.7 to 7272 (463x).  "Rising for several records" did not
# tell good runs from bad: healthy runs rose for up to 9 records in a row.
RISE_FACTOR = 10.0
# Below this the loss is near zero and ratios mean nothing (1e-6 -> 1e-5).
RISE_FLOOR = 0.01

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


class LossRiseWarning(RuntimeWarning):
    """Training made the loss much worse than it already was (epsilon too large?)."""


def empty_history():
    return {"pass": [], "loss": [], "accuracy": [], "grad_norms": []}


class History:
    """Records of one training run of ``model`` on validated X, y.

    ``epsilon``, when given, is quoted by the loss-rise warning.
    """

    def __init__(self, model, X, y, reg_lambda, epsilon=None):
        self.model, self.X, self.y, self.reg_lambda = model, X, y, reg_lambda
        self.epsilon = epsilon
        self.labels = np.empty(X.shape[0], dtype=np.int64)
        self.data = empty_history()
        self._lowest = None  # (loss, passes) of the lowest finite record
        self._warned = False

    def record(self, passes, grads, loss=None, labels=None):
        """Append a record; returns its loss.

        grads: the gradient vector whose per-layer norms are recorded.
        loss, labels: the recorded weights' loss and predict labels, where
        the caller has them (Model.train's records); None: those of the
        model's current weights, from a forward pass here.
        """
        if loss is None:
            labels = self.labels
            loss = self.model.loss(self.X, self.y, self.reg_lambda, labels)
        # with a non-finite loss the outputs may be NaN: no accuracy then
        acc = float(np.mean(labels == self.y)) if np.isfinite(loss) else np.nan
        self.data["pass"].append(int(passes))
        self.data["loss"].append(float(loss))
        self.data["accuracy"].append(acc)
        self.data["grad_norms"].append(self.model.grad_norms(grads))
        self._watch(float(loss), int(passes))
        return loss

    def _watch(self, loss, passes):
        if not np.isfinite(loss):
            return
        if self._lowest is None or loss < self._lowest[0]:
            self._lowest = (loss, passes)
            return
        low, low_pass = self._lowest
        if self._warned or loss <= RISE_FACTOR * max(low, RISE_FLOOR):
            return
        self._warned = True
        hint = ("the learning rate is probably too large: try a smaller epsilon"
                + (f" (got {self.epsilon:g})" if self.epsilon is not None else ""))
        warnings.warn(
            f"training is making the model worse: the loss rose to {loss:.6g} at "
            f"pass {passes}, more than {RISE_FACTOR:g} times its lowest value so "
            f"far ({low:.6g} at pass {low_pass}); {hint}.",
            LossRiseWarning, stacklevel=_user_stacklevel())


def _user_stacklevel():
    """stacklevel for warnings.warn called here that points at the first
    caller outside the mlnn package (whichever mlnn function trained)."""
    frame, level = sys._getframe(1), 1
    while frame is not None and os.path.dirname(
            os.path.abspath(frame.f_code.co_filename)) == _PACKAGE_DIR:
        frame, level = frame.f_back, level + 1
    return level

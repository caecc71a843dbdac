"""What happens at a training record point, shared by ``neural_net.train``
and ``plotting.animate_preds``.

A record holds the pass count, the loss, the training accuracy and the
per-layer gradient norms ||dW_l||.  The loss and the predicted labels come
from one forward pass (``Model.loss(labels=)``).
"""

import numpy as np


def empty_history():
    return {"pass": [], "loss": [], "accuracy": [], "grad_norms": []}


class History:
    """Records of one training run of ``model`` on validated X, y."""

    def __init__(self, model, X, y, reg_lambda):
        self.model, self.X, self.y, self.reg_lambda = model, X, y, reg_lambda
        self.labels = np.empty(X.shape[0], dtype=np.int64)
        self.data = empty_history()

    def record(self, passes, grads):
        """Append a record for the current weights; returns its loss.

        grads: the gradient vector whose per-layer norms are recorded.
        """
        loss = self.model.loss(self.X, self.y, self.reg_lambda, self.labels)
        # with a non-finite loss the outputs may be NaN: no accuracy then
        acc = float(np.mean(self.labels == self.y)) if np.isfinite(loss) else np.nan
        self.data["pass"].append(int(passes))
        self.data["loss"].append(float(loss))
        self.data["accuracy"].append(acc)
        self.data["grad_norms"].append(self.model.grad_norms(grads))
        return loss

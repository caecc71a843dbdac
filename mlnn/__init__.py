"""mlnn: a small, fast and honest neural-network library.

The notebook's ``neural_net`` class (tanh hidden layers, softmax output,
full-batch gradient descent with L2 weight decay) on Cython + OpenMP kernels,
checked against a pure-NumPy reference.
"""

from mlnn._version import __version__
from mlnn._core import DivergenceError
from mlnn._network import load, neural_net
from mlnn._estimators import MLNNClassifier, MLNNRegressor
from mlnn._config import show_config

__all__ = ["__version__", "neural_net", "MLNNClassifier", "MLNNRegressor",
           "DivergenceError", "load", "show_config"]

"""MLNNClassifier: scikit-learn estimator on the shared training core (issue #5; to be written)."""

from sklearn.base import BaseEstimator, ClassifierMixin


class MLNNClassifier(ClassifierMixin, BaseEstimator):
    """Placeholder: see issue #5."""

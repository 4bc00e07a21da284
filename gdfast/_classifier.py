"""GDClassifier: a logistic model trained by gradient descent."""
import numpy as np
from scipy.special import expit
from sklearn.base import ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from gdfast._base import BaseGD


class GDClassifier(ClassifierMixin, BaseGD):
    """Binary logistic regression by gradient descent, compiled for every batch mode.

    Parameters are those of GDRegressor, with loss {'log_loss'}: log(1 + e^p) - y·p with
    y ∈ {0, 1} for classes_[0] and classes_[1].

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
    coef_ : ndarray of shape (1, n_features)
    intercept_ : ndarray of shape (1,)
    n_iter_, t_, loss_curve_ : as GDRegressor.
    """

    _losses = ("log_loss",)

    def __init__(self, loss="log_loss", *, learning_rate=0.01, batch_size=1, max_iter=1000,
                 tol=1e-3, n_iter_no_change=5, shuffle=True, random_state=None,
                 fit_intercept=True, engine="cython"):
        super().__init__(loss, learning_rate=learning_rate, batch_size=batch_size,
                         max_iter=max_iter, tol=tol, n_iter_no_change=n_iter_no_change,
                         shuffle=shuffle, random_state=random_state,
                         fit_intercept=fit_intercept, engine=engine)

    def fit(self, X, y, sample_weight=None):
        """Fit the model from zero coefficients; return self."""
        self._check_params()
        X, y, sample_weight = self._validate_fit_data(X, y, sample_weight, y_numeric=False)
        check_classification_targets(y)
        classes = np.unique(y)
        if classes.shape[0] < 2:
            raise ValueError("The number of classes has to be greater than one; got 1 class "
                             f"({classes[0]!r}).")
        if classes.shape[0] > 2:
            raise ValueError(f"GDClassifier handles two classes for now; got "
                             f"{classes.shape[0]}. Multi-class training is not built yet.")
        self.classes_ = classes
        self._fit_encoded(X, np.ascontiguousarray(y == classes[1], dtype=X.dtype), sample_weight)
        return self

    def _set_fitted_coef(self, weights, intercept):
        self.coef_ = weights.reshape(1, -1).copy()
        self.intercept_ = intercept.copy()

    def decision_function(self, X):
        """Score p = X·w + b; positive means classes_[1]."""
        check_is_fitted(self)
        X = self._validate_predict_data(X)
        return X @ self.coef_[0].astype(X.dtype, copy=False) + self.intercept_[0]

    def predict_proba(self, X):
        """Columns: probability of classes_[0], of classes_[1]."""
        p1 = expit(self.decision_function(X))
        return np.column_stack([1.0 - p1, p1])

    def predict_log_proba(self, X):
        return np.log(self.predict_proba(X))

    def predict(self, X):
        return self.classes_[(self.decision_function(X) > 0).astype(np.intp)]

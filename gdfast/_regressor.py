"""GDRegressor: a linear model y ≈ X·w + b trained by gradient descent."""
import numpy as np
from sklearn.base import RegressorMixin
from sklearn.utils.validation import check_is_fitted

from gdfast._base import BaseGD


class GDRegressor(RegressorMixin, BaseGD):
    """Linear regression by gradient descent, one compiled epoch loop for every batch mode.

    Parameters
    ----------
    loss : {'squared_error'}
        Per-sample loss (p - y)²; the objective is its (weighted) mean over the rows.
    learning_rate : float, default=0.01
        Step size γ of every update.
    batch_size : int or None, default=1
        Rows per update: 1 is stochastic gradient descent, k a mini-batch of k rows, None
        the full batch (one update per epoch). Values above n_samples mean the full batch.
    max_iter : int, default=1000
        Maximum number of epochs (passes over the training rows).
    tol : float or None, default=1e-3
        Stop when the epoch's mean training loss has not improved by tol for
        n_iter_no_change epochs in a row. None runs all max_iter epochs.
    n_iter_no_change : int, default=5
    shuffle : bool, default=True
        Visit rows in a new random order each epoch (seeded by random_state).
    random_state : int, RandomState or None, default=None
    fit_intercept : bool, default=True
    engine : {'cython', 'numpy'}, default='cython'
        'numpy' runs the pure-NumPy reference implementation: same steps, slower.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
    intercept_ : ndarray of shape (1,)
    n_iter_ : int, epochs run.
    t_ : int, updates (optimizer steps) taken.
    loss_curve_ : list of float, mean training loss of each epoch, measured on each batch
        before its update (as scikit-learn's MLP does).
    """

    _losses = ("squared_error",)

    def __init__(self, loss="squared_error", *, learning_rate=0.01, batch_size=1,
                 max_iter=1000, tol=1e-3, n_iter_no_change=5, shuffle=True,
                 random_state=None, fit_intercept=True, engine="cython"):
        super().__init__(loss, learning_rate=learning_rate, batch_size=batch_size,
                         max_iter=max_iter, tol=tol, n_iter_no_change=n_iter_no_change,
                         shuffle=shuffle, random_state=random_state,
                         fit_intercept=fit_intercept, engine=engine)

    def fit(self, X, y, sample_weight=None):
        """Fit the model from zero coefficients; return self."""
        self._check_params()
        X, y, sample_weight = self._validate_fit_data(X, y, sample_weight, y_numeric=True)
        self._fit_encoded(X, np.ascontiguousarray(y, dtype=X.dtype), sample_weight)
        return self

    def _set_fitted_coef(self, weights, intercept):
        self.coef_ = weights.copy()
        self.intercept_ = intercept.copy()

    def predict(self, X):
        """Predicted targets X·coef_ + intercept_."""
        check_is_fitted(self)
        X = self._validate_predict_data(X)
        return X @ self.coef_.astype(X.dtype, copy=False) + self.intercept_[0]

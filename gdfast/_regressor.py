"""GDRegressor: a linear model y ≈ X·w + b trained by gradient descent."""
import numpy as np
from sklearn.base import RegressorMixin
from sklearn.utils.validation import check_is_fitted

from gdfast._base import BaseGD

PARAMETERS_DOC = """
    optimizer : str or gdfast.optim.Optimizer, default='sgd'
        Update rule: 'sgd', 'momentum', 'nesterov', 'adagrad', 'rmsprop', 'adadelta', 'adam',
        'adamw', 'nadam', 'adamax', or an instance of the class of that name in gdfast.optim
        carrying its hyper-parameters (e.g. Adam(beta1=0.9, beta2=0.99)).
    learning_rate : float or 'auto', default='auto'
        Base step size γ₀. 'auto' takes the optimizer's standard default (PyTorch's: 1e-3 for
        Adam and AdamW, 2e-3 for NAdam and Adamax, 1.0 for AdaDelta, 1e-2 otherwise).
    lr_schedule : str or gdfast.schedules.Schedule, default='constant'
        'constant', 'invscaling', 'optimal', 'adaptive', 'step', 'exponential', 'cosine', or
        an instance from gdfast.schedules with its parameters.
    warmup_steps : int, default=0
        Ramp the rate linearly, γ·t/warmup_steps, over the first updates (0: no warm-up).
    penalty : {None, 'l2'}, default=None
        Regularisation added to the mean loss: 'l2' adds alpha·½‖w‖² (never the intercept).
    alpha : float, default=1e-4
        Strength of the penalty; also sets the 'optimal' schedule.
    batch_size : int or None, default=1
        Rows per update: 1 is stochastic gradient descent, k a mini-batch of k rows, None
        the full batch (one update per epoch). Values above n_samples mean the full batch.
    max_iter : int, default=1000
        Maximum number of epochs (passes over the training rows).
    tol : float or None, default=1e-3
        Stop when the epoch's training objective has not improved by tol for
        n_iter_no_change epochs in a row. None runs all max_iter epochs.
    n_iter_no_change : int, default=5
    shuffle : bool, default=True
        Visit rows in a new random order each epoch (seeded by random_state).
    random_state : int, RandomState or None, default=None
    fit_intercept : bool, default=True
    warm_start : bool, default=False
        fit() continues from the fitted coefficients and optimizer state.
    engine : {'cython', 'numpy'}, default='cython'
        'numpy' runs the pure-NumPy reference implementation: same steps, slower.
"""

ATTRIBUTES_DOC = """
    n_iter_ : int, epochs run by the last fit (partial_fit adds one).
    t_ : int, updates (optimizer steps) taken since the state was created.
    loss_curve_ : list of float, the training objective of each epoch: the mean loss of the
        epoch's batches, each measured just before its update (as scikit-learn's MLP does),
        plus the penalty at the end of the epoch.
    learning_rates_ : list of float, the learning rate of each epoch's last update.
"""


class GDRegressor(RegressorMixin, BaseGD):
    __doc__ = f"""Linear regression by gradient descent, compiled for every batch mode.

    Parameters
    ----------
    loss : {{'squared_error'}}
        Per-sample loss (p - y)²; the objective is its (weighted) mean over the rows.
    {PARAMETERS_DOC}
    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
    intercept_ : ndarray of shape (1,)
    {ATTRIBUTES_DOC}"""

    _losses = ("squared_error",)

    def __init__(self, loss="squared_error", *, optimizer="sgd", learning_rate="auto",
                 lr_schedule="constant", warmup_steps=0, penalty=None, alpha=1e-4,
                 batch_size=1, max_iter=1000, tol=1e-3, n_iter_no_change=5, shuffle=True,
                 random_state=None, fit_intercept=True, warm_start=False, engine="cython"):
        super().__init__(loss, optimizer=optimizer, learning_rate=learning_rate,
                         lr_schedule=lr_schedule, warmup_steps=warmup_steps, penalty=penalty,
                         alpha=alpha, batch_size=batch_size, max_iter=max_iter, tol=tol,
                         n_iter_no_change=n_iter_no_change, shuffle=shuffle,
                         random_state=random_state, fit_intercept=fit_intercept,
                         warm_start=warm_start, engine=engine)

    def fit(self, X, y, sample_weight=None):
        """Fit the model (from zero coefficients unless warm_start); return self."""
        optimizer, schedule = self._check_params()
        X, y, sample_weight = self._validate_fit_data(X, y, sample_weight, y_numeric=True)
        self._fit_encoded(X, np.ascontiguousarray(y, dtype=X.dtype), sample_weight, optimizer,
                          schedule, partial=False)
        return self

    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over these rows, continuing the fitted coefficients and optimizer state."""
        optimizer, schedule = self._check_params()
        first_call = not hasattr(self, "_state")
        X, y, sample_weight = self._validate_fit_data(X, y, sample_weight, y_numeric=True,
                                                      reset=first_call)
        self._fit_encoded(X, np.ascontiguousarray(y, dtype=X.dtype), sample_weight, optimizer,
                          schedule, partial=True)
        return self

    def _set_fitted_coef(self, weights, intercept):
        self.coef_ = weights.copy()
        self.intercept_ = intercept.copy()

    def predict(self, X):
        """Predicted targets X·coef_ + intercept_."""
        check_is_fitted(self)
        X = self._validate_predict_data(X)
        return X @ self.coef_.astype(X.dtype, copy=False) + self.intercept_[0]

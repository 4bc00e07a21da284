"""GDRegressor: a linear model y ≈ X·w + b trained by gradient descent."""
import numpy as np
from sklearn.base import RegressorMixin, _fit_context
from sklearn.utils.validation import check_is_fitted

from gdfast._constraints import NON_NEGATIVE, one_of
from gdfast.linear_model._base import BaseGD

PARAMETERS_DOC = """
    optimizer : str or gdfast.optim.Optimizer, default='sgd'
        Update rule: 'sgd', 'momentum', 'nesterov', 'adagrad', 'rmsprop', 'adadelta', 'adam',
        'adamw', 'nadam', 'adamax', or an instance of the class of that name in gdfast.optim
        carrying its hyper-parameters (e.g. Adam(beta1=0.9, beta2=0.99)). Nested names such
        as optimizer__beta1 work with either; a name then becomes its class's instance.
    learning_rate : float or 'auto', default='auto'
        Base step size γ₀ (scikit-learn's eta0; its learning_rate is lr_schedule here).
        'auto': for sgd, momentum and nesterov the step 1/L from the data, L = c·max over
        rows of ‖(z, 1)‖² (the mean over rows for a full batch), z the features as the
        model sees them (centred and scaled per center and scale), with c the loss's
        curvature bound (as scikit-learn's SAG solver),
        which does not diverge on unscaled data (with momentum and nesterov, below a full
        batch, (1 − μ)/L: a gradient kept in the buffer moves θ by 1/(1 − μ) times its step
        in all); for the adaptive optimizers
        their standard default (PyTorch's: 1e-3 for Adam and AdamW, 2e-3 for NAdam and
        Adamax, 1.0 for AdaDelta, 1e-2 for AdaGrad and RMSprop).
    lr_schedule : str or gdfast.schedules.Schedule, default='adaptive'
        'constant', 'invscaling', 'optimal', 'adaptive', 'step', 'exponential', 'cosine', or
        an instance from gdfast.schedules with its parameters. The default, 'adaptive',
        keeps γ₀ until the objective stops improving by tol, then divides it by 5, and stops
        once below γ₀/10⁴, or (with average) at a plateau where the last division improved
        the averaged model by less than tol: stochastic steps settle at the optimum instead
        of around it. In partial_fit it decays as γ₀/t^(1/3) over the updates t.
    warmup_steps : int, default=0
        Ramp the rate linearly, γ·t/warmup_steps, over the first updates (0: no warm-up).
    penalty : {None, 'l2', 'l1', 'elasticnet'}, default=None
        Regularisation added to the mean loss, never on the intercept: 'l2' alpha·½‖w‖²,
        'l1' alpha·‖w‖₁ (a proximal step after each update, so weights reach exactly 0),
        'elasticnet' alpha·((1 − l1_ratio)·½‖w‖² + l1_ratio·‖w‖₁).
    alpha : float, default=1e-4
        Strength of the penalty; also sets the 'optimal' schedule.
    l1_ratio : float in [0, 1], default=0.15
    batch_size : int or None, default=1
        Rows per update: 1 is stochastic gradient descent, k a mini-batch of k rows, None
        the full batch (one update per epoch). Values above n_samples mean the full batch.
    max_iter : int, default=1000
        Maximum number of epochs (passes over the training rows).
    tol : float or None, default=1e-3
        Stop when the epoch's training objective (or, with early_stopping, the validation
        score) has not improved by tol for n_iter_no_change epochs in a row, unless it fell in
        each of them at a pace that would gain more than tol (slow descent, not a plateau).
        None runs all max_iter epochs. A ConvergenceWarning says when max_iter ran out first.
    n_iter_no_change : int, default=5
    early_stopping : bool, default=False
        Hold out validation_fraction of the rows, watch their score (R² or accuracy) after
        each epoch, and restore the coefficients of the best one at the end (scikit-learn's
        SGD keeps the last ones; the optimizer's state stays that of the last epoch).
    validation_fraction : float in (0, 1), default=0.1
    shuffle : bool, default=True
        Visit rows in a new random order each epoch (seeded by random_state).
    random_state : int, RandomState or None, default=None
    fit_intercept : bool, default=True
    center : bool, default=True
        Train in the centred parametrisation p = w·(x − mean) + c, with the rows' weighted
        feature means (computed once; X is not copied), starting the intercept at the best
        constant model (mean target, median for the robust losses, the classes' log-odds).
        The model, objective and optimum are unchanged; descent is far better conditioned
        when features sit far from zero, so defaults converge on unscaled data. False (with
        scale=False, which 'auto' then is) runs the textbook iteration from all-zero
        parameters. Sparse X (scipy.sparse; CSR is read as it is, other formats are
        converted to CSR) is never centred, as scikit-learn's
        StandardScaler(with_mean=False) leaves it: centring would make every row dense, and
        the intercept absorbs the mean. center still decides what scale='auto' and
        average='auto' mean.
    scale : bool, 'maxabs' or 'auto', default='auto'
        True: train on features divided by their weighted standard deviations,
        z = (x − mean)/std (x/std with center=False, and for sparse X), as after
        StandardScaler with the same sample_weight (a constant feature keeps scale 1).
        'maxabs': divided by their largest absolute value over the rows of positive weight,
        z = x/max|x| (a feature that is zero throughout keeps scale 1), as after
        MaxAbsScaler. 'auto': True for dense X and 'maxabs' for sparse X when center is on
        (the default), False when it is off (the textbook iteration). Sparse columns are
        scaled by their largest value because the standard deviation of a rare column is
        tiny: dividing by it makes a word seen in a handful of rows weigh as much as the
        whole row, which the model then memorises. For sparse X the statistics take one
        pass over the stored values, and an update still reads only a row's stored values;
        X is never copied. coef_ and intercept_ are always in the original units. The
        penalty applies to the weights of z, so alpha means what it means after the scaler:
        with the same random state and max_iter, predictions equal make_pipeline(scaler,
        the same estimator with scale=False) up to rounding, the scaler StandardScaler
        (StandardScaler(with_mean=False) for sparse X) or MaxAbsScaler. In partial_fit the
        means and scales follow the stream: after each call they are those of every row
        seen so far (as the scalers' partial_fit's), the model carried over unchanged.
    warm_start : bool, default=False
        fit() continues from the fitted coefficients and optimizer state.
    average : bool, int or 'auto', default='auto'
        True: coef_ and intercept_ are the average of the parameters after every update
        (Polyak–Ruppert averaging), which cancels most of the noise of stochastic steps, so
        that the default fit is within 1% of the optimum after one or two epochs where the
        last iterate still wanders around it; False: the last iterate (scikit-learn's
        default); 'auto': for plain SGD ('sgd') at learning_rate='auto' on batches smaller
        than the data with center on (sparse X too, which is never centred), the average
        after the first half epoch's updates
        (the way in from the starting point left out), restarted whenever the 'adaptive'
        schedule lowers the rate, else False (a full batch's exact steps
        and the adaptive rules' shrinking ones are only slowed by an average, and
        center=False is the textbook iteration);
        an integer m >= 1: the average of the parameters after update m (the
        averaging starts once the update count t exceeds m; an update is one batch, so one
        row with batch_size=1). The optimizer goes on from the last iterate, which the state
        keeps beside the average, so partial_fit and warm_start resume both exactly.
        loss_curve_ and the stopping rule follow the iterates; early stopping scores and
        keeps the averaged model. On sparse X, plain SGD without l1 keeps the average in
        closed form (an update stays O(non-zeros)); any other update then costs
        O(n_features), as on dense X.
    n_jobs : int or None, default=None
        Threads that share the gradient of a batch of 2**20 values (rows × features) or more
        (full batches and large mini-batches of big data sets). None or -1: every core this process may use. The result depends on
        the number of threads only through the order of a sum (rounding), never on timing.
    verbose : int, default=0
        1 prints a line per epoch: loss, norm of w, learning rate, elapsed time.
    engine : {'cython', 'numpy'}, default='cython'
        'numpy' runs the pure-NumPy reference implementation: same steps, slower.
"""

ATTRIBUTES_DOC = """
    n_iter_ : int, epochs run by the last fit (partial_fit adds one); after Ctrl-C, those
        that finished, whose model the estimator keeps.
    t_ : int, updates (optimizer steps) taken since the state was created.
    loss_curve_ : list of float, the training objective of each epoch: the mean loss of the
        epoch's batches, each measured just before its update (as scikit-learn's MLP does),
        plus the penalty at the end of the epoch (with average, the iterates' objective,
        not the averaged model's).
    learning_rates_ : list of float, the learning rate of each epoch's last update.
    best_loss_ : float, the lowest training objective (None with early_stopping).
    validation_scores_ : list of float, the validation score of each epoch (early_stopping).
    best_validation_score_ : float (early_stopping; otherwise None).
"""


def _weighted_median(values, weights):
    order = np.argsort(values, kind="stable")
    cumulative = (np.arange(1.0, values.shape[0] + 1) if weights is None
                  else np.cumsum(weights[order], dtype=np.float64))
    return float(values[order][np.searchsorted(cumulative, 0.5 * cumulative[-1])])


class GDRegressor(RegressorMixin, BaseGD):
    __doc__ = f"""Linear regression by gradient descent, compiled for every batch mode.

    Parameters
    ----------
    loss : {{'squared_error', 'huber', 'epsilon_insensitive'}}
        Per-sample loss, r = p − y: r²; huber r² within epsilon and 2·epsilon·|r| − epsilon²
        beyond; epsilon_insensitive max(0, |r| − epsilon). The objective is its (weighted)
        mean over the rows plus the penalty.
    epsilon : float, default=0.1
        huber's threshold and epsilon_insensitive's band.
    {PARAMETERS_DOC}
    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
    intercept_ : ndarray of shape (1,)
    {ATTRIBUTES_DOC}"""

    _losses = ("squared_error", "huber", "epsilon_insensitive")
    _parameter_constraints = {**BaseGD._parameter_constraints,
                              "loss": [one_of(_losses)], "epsilon": [NON_NEGATIVE]}

    def __init__(self, loss="squared_error", *, epsilon=0.1, optimizer="sgd",
                 learning_rate="auto", lr_schedule="adaptive", warmup_steps=0, penalty=None,
                 alpha=1e-4, l1_ratio=0.15, batch_size=1, max_iter=1000, tol=1e-3,
                 n_iter_no_change=5, early_stopping=False, validation_fraction=0.1,
                 shuffle=True, random_state=None, fit_intercept=True, center=True,
                 scale="auto", warm_start=False, average="auto", n_jobs=None, verbose=0,
                 engine="cython"):
        self.epsilon = epsilon
        super().__init__(loss, optimizer=optimizer, learning_rate=learning_rate,
                         lr_schedule=lr_schedule, warmup_steps=warmup_steps, penalty=penalty,
                         alpha=alpha, l1_ratio=l1_ratio, batch_size=batch_size,
                         max_iter=max_iter, tol=tol, n_iter_no_change=n_iter_no_change,
                         early_stopping=early_stopping,
                         validation_fraction=validation_fraction, shuffle=shuffle,
                         random_state=random_state, fit_intercept=fit_intercept,
                         center=center, scale=scale, warm_start=warm_start, average=average,
                         n_jobs=n_jobs,
                         verbose=verbose, engine=engine)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model (from zero coefficients unless warm_start); return self."""
        optimizer, schedule = self._options(partial=False)
        X, y, sample_weight = self._validate_fit_data(X, y, sample_weight, y_numeric=True)
        self._fit_encoded(X, np.ascontiguousarray(y, dtype=X.dtype), sample_weight, optimizer,
                          schedule, partial=False, y_original=y)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over these rows, continuing the fitted coefficients and optimizer state.

        The first call fixes the starting intercept and the 'auto' rate from its rows; the
        feature means and scales (center, scale) are those of every row seen so far; with
        lr_schedule='adaptive' the rate decays as γ₀/t^(1/3) over the updates t."""
        optimizer, schedule = self._options(partial=True)
        first_call = not hasattr(self, "_state")
        X, y, sample_weight = self._validate_fit_data(X, y, sample_weight, y_numeric=True,
                                                      reset=first_call)
        self._fit_encoded(X, np.ascontiguousarray(y, dtype=X.dtype), sample_weight, optimizer,
                          schedule, partial=True)
        return self

    def _initial_intercepts(self, y, sample_weight):
        if self.loss == "squared_error":
            return np.array([np.average(y, weights=sample_weight)])
        return np.array([_weighted_median(y, sample_weight)])

    def _set_fitted_coef(self, weights, intercept):
        self.coef_ = weights[0].copy()
        self.intercept_ = intercept.copy()

    def predict(self, X):
        """Predicted targets X·coef_ + intercept_."""
        check_is_fitted(self)
        X = self._validate_predict_data(X)
        return X @ self.coef_.astype(X.dtype, copy=False) + self.intercept_[0]

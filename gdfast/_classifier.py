"""GDClassifier: a logistic model trained by gradient descent."""
import numpy as np
from scipy.special import expit
from sklearn.base import ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from gdfast._base import BaseGD
from gdfast._regressor import ATTRIBUTES_DOC, PARAMETERS_DOC


class GDClassifier(ClassifierMixin, BaseGD):
    __doc__ = f"""Binary logistic regression by gradient descent, compiled for every batch mode.

    Parameters
    ----------
    loss : {{'log_loss'}}
        log(1 + e^p) - y·p with y ∈ {{0, 1}} standing for classes_[0] and classes_[1].
    {PARAMETERS_DOC}
    Attributes
    ----------
    classes_ : ndarray of shape (2,)
    coef_ : ndarray of shape (1, n_features)
    intercept_ : ndarray of shape (1,)
    {ATTRIBUTES_DOC}"""

    _losses = ("log_loss",)

    def __init__(self, loss="log_loss", *, optimizer="sgd", learning_rate="auto",
                 lr_schedule="constant", warmup_steps=0, penalty=None, alpha=1e-4,
                 batch_size=1, max_iter=1000, tol=1e-3, n_iter_no_change=5, shuffle=True,
                 random_state=None, fit_intercept=True, warm_start=False, engine="cython"):
        super().__init__(loss, optimizer=optimizer, learning_rate=learning_rate,
                         lr_schedule=lr_schedule, warmup_steps=warmup_steps, penalty=penalty,
                         alpha=alpha, batch_size=batch_size, max_iter=max_iter, tol=tol,
                         n_iter_no_change=n_iter_no_change, shuffle=shuffle,
                         random_state=random_state, fit_intercept=fit_intercept,
                         warm_start=warm_start, engine=engine)

    @staticmethod
    def _check_classes(classes):
        if classes.shape[0] < 2:
            raise ValueError("The number of classes has to be greater than one; got 1 class "
                             f"({classes[0]!r}).")
        if classes.shape[0] > 2:
            raise ValueError(f"GDClassifier handles two classes for now; got "
                             f"{classes.shape[0]}. Multi-class training is not built yet.")

    def _encode(self, X, y):
        return np.ascontiguousarray(y == self.classes_[1], dtype=X.dtype)

    def fit(self, X, y, sample_weight=None):
        """Fit the model (from zero coefficients unless warm_start); return self."""
        optimizer, schedule = self._check_params()
        X, y, sample_weight = self._validate_fit_data(X, y, sample_weight, y_numeric=False)
        check_classification_targets(y)
        classes = np.unique(y)
        self._check_classes(classes)
        if self.warm_start and hasattr(self, "classes_") and not np.array_equal(classes, self.classes_):
            raise ValueError(f"warm_start: the classes {classes} differ from those of the "
                             f"previous fit, {self.classes_}.")
        self.classes_ = classes
        self._fit_encoded(X, self._encode(X, y), sample_weight, optimizer, schedule,
                          partial=False)
        return self

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One epoch over these rows, continuing the fitted state. The first call needs
        `classes`, all the labels that will ever be seen."""
        optimizer, schedule = self._check_params()
        first_call = not hasattr(self, "_state")
        if first_call:
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit.")
            classes = np.unique(np.asarray(classes))
            self._check_classes(classes)
        elif classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise ValueError(f"`classes={classes!r}` is not the same as on the first call to "
                             f"partial_fit, was: {self.classes_!r}")
        X, y, sample_weight = self._validate_fit_data(X, y, sample_weight, y_numeric=False,
                                                      reset=first_call)
        check_classification_targets(y)
        known = classes if first_call else self.classes_
        unseen = np.setdiff1d(np.unique(y), known)
        if unseen.size:
            raise ValueError(f"y contains labels {unseen!r} that are not in classes {known!r}.")
        self.classes_ = known
        self._fit_encoded(X, self._encode(X, y), sample_weight, optimizer, schedule,
                          partial=True)
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

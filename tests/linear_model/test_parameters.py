"""How parameters are given: scikit-learn users' habits get hints, names work in nested
grid searches, flags accept NumPy booleans, and every call validates what it uses."""
import re

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV
from sklearn.utils._param_validation import InvalidParameterError

from gdfast import GDClassifier, GDRegressor
from gdfast.optim import SGD, Adam, RMSprop
from gdfast.schedules import StepLR
from helpers import make_classification, make_regression


@pytest.mark.parametrize("Estimator", [GDRegressor, GDClassifier])
@pytest.mark.parametrize("keyword, hint", [
    ("eta0", r"got an unexpected keyword argument 'eta0': gdfast calls the base step "
             r"learning_rate .* and the schedule lr_schedule; write learning_rate=0.01"),
    ("power_t", r"got an unexpected keyword argument 'power_t': the 'invscaling' schedule "
                r"holds its exponent.* lr_schedule=InvScaling\(power_t=0.25\)"),
])
def test_scikit_learns_keywords_get_a_type_error_with_gdfasts_spelling(Estimator, keyword,
                                                                      hint):
    with pytest.raises(TypeError, match=f"{Estimator.__name__}\\(\\) {hint}"):
        Estimator(**{keyword: 0.5})
    with pytest.raises(ValueError, match=f"Invalid parameter '{keyword}' for "
                                         f"{Estimator.__name__}: "):
        Estimator().set_params(**{keyword: 0.5})


@pytest.mark.parametrize("schedule", ["constant", "invscaling", "optimal", "adaptive"])
def test_a_schedule_name_as_learning_rate_says_where_it_goes(schedule):
    X, y = make_regression(20, 2, seed=81)
    with pytest.raises(InvalidParameterError,
                       match=f"learning_rate='{schedule}' names a schedule: gdfast calls the "
                             "schedule lr_schedule and the base step learning_rate "
                             rf"\(scikit-learn's eta0\). Write lr_schedule='{schedule}' and "
                             r"learning_rate=0.01 \(a float\) or 'auto'."):
        GDRegressor(learning_rate=schedule).fit(X, y)


def test_grid_search_over_a_named_optimizers_hyper_parameter():
    X, y = make_regression(120, 3, seed=82)
    model = GDRegressor(optimizer="adam", learning_rate=0.05, max_iter=5, tol=None,
                        random_state=0)
    search = GridSearchCV(model, {"optimizer__beta1": [0.5, 0.8]}, cv=3).fit(X, y)
    assert model.optimizer == "adam"                         # the searched copies changed
    best = search.best_params_["optimizer__beta1"]
    assert isinstance(search.best_estimator_.optimizer, Adam)
    assert search.best_estimator_.optimizer.get_params() == Adam(beta1=best).get_params()
    # The name became Adam() with its defaults, so the fit is that of Adam(beta1=...).
    direct = GDRegressor(optimizer=Adam(beta1=best), learning_rate=0.05, max_iter=5, tol=None,
                         random_state=0).fit(X, y)
    np.testing.assert_array_equal(search.best_estimator_.coef_, direct.coef_)


def test_nested_names_of_named_optimizers_and_schedules_in_set_params():
    model = GDClassifier(optimizer="rmsprop", lr_schedule="step")
    model.set_params(optimizer__centered=True, lr_schedule__gamma=0.5)
    assert model.optimizer.get_params() == RMSprop(centered=True).get_params()
    assert model.lr_schedule.get_params() == StepLR(gamma=0.5).get_params()
    # a name and its hyper-parameter in one call, as a grid over both gives them
    model.set_params(optimizer="adam", optimizer__beta2=0.9)
    assert model.optimizer.get_params() == Adam(beta2=0.9).get_params()
    with pytest.raises(ValueError, match="Invalid parameter 'beta1' for estimator SGD"):
        GDClassifier(optimizer="sgd").set_params(optimizer__beta1=0.5)
    with pytest.raises(ValueError, match=r"optimizer__beta1 needs optimizer to be an instance "
                                         r"such as optimizer=Adam\(\), or one of the names "
                                         r"'sgd', .*; got optimizer='adamz'."):
        GDClassifier(optimizer="adamz").set_params(optimizer__beta1=0.5)


@pytest.mark.parametrize("class_weight, shown", [
    ({0: -1.0, 1: 1.0}, "{0: -1.0}"), ({0: 1.0, 1: np.nan}, "{1: nan}"),
    ({0: "heavy"}, "{0: 'heavy'}"), ({0: np.inf}, "{0: inf}")])
def test_a_negative_or_non_finite_class_weight_is_refused(class_weight, shown):
    X, y = make_classification(40, 2, seed=83)
    model = GDClassifier(class_weight=class_weight)
    with pytest.raises(ValueError, match="class_weight has weights that are not finite "
                                         f"numbers >= 0: {re.escape(shown)}. A class's weight "
                                         "multiplies its rows' sample_weight"):
        model.fit(X, y)
    assert not hasattr(model, "coef_")


def test_a_zero_class_weight_is_allowed_and_ignores_the_class():
    X, y = make_classification(60, 2, seed=84)
    weighted = GDClassifier(class_weight={0: 0.0, 1: 1.0}, max_iter=3, tol=None,
                            random_state=0).fit(X, y)
    ones = np.where(y == 1, 1.0, 0.0)
    direct = GDClassifier(max_iter=3, tol=None, random_state=0).fit(X, y, sample_weight=ones)
    np.testing.assert_array_equal(weighted.coef_, direct.coef_)


def test_numpy_booleans_are_flags_for_estimators_and_optimizers():
    X, y = make_regression(30, 2, seed=85)
    flags = dict(shuffle=np.True_, fit_intercept=np.True_, center=np.False_,
                 warm_start=np.False_, early_stopping=np.False_)
    numpy_flags = GDRegressor(optimizer=RMSprop(centered=np.True_), max_iter=3, tol=None,
                              random_state=0, **flags).fit(X, y)
    python_flags = GDRegressor(optimizer=RMSprop(centered=True), max_iter=3, tol=None,
                               random_state=0, **{k: bool(v) for k, v in flags.items()}).fit(X, y)
    np.testing.assert_array_equal(numpy_flags.coef_, python_flags.coef_)


def test_partial_fit_validates_parameters_changed_since_the_first_call():
    X, y = make_regression(30, 2, seed=86)
    model = GDRegressor(learning_rate=0.01).partial_fit(X, y)
    before = model.coef_.copy()
    for params in ({"learning_rate": -1.0}, {"optimizer": SGD(weight_decay=-1.0)}):
        with pytest.raises(InvalidParameterError):
            model.set_params(**params).partial_fit(X, y)
        np.testing.assert_array_equal(model.coef_, before)
        model.set_params(learning_rate=0.01, optimizer="sgd")

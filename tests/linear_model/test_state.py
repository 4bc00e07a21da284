"""The optimizer's state belongs to the fitted model: partial_fit and warm_start resume it."""
import pickle

import numpy as np
import pytest

from gdfast import GDClassifier, GDRegressor
from gdfast.optim import OPTIMIZER_CLASSES
from helpers import make_classification, make_regression

RATES = {"adadelta": 1.0, "adagrad": 0.05}


@pytest.mark.parametrize("optimizer", OPTIMIZER_CLASSES)
@pytest.mark.parametrize("batch_size", [1, 16])
@pytest.mark.parametrize("schedule", ["invscaling", "adaptive"])
def test_two_partial_fits_on_halves_equal_one_pass(optimizer, batch_size, schedule):
    X, y = make_regression(64, 3, seed=41)
    # What the README states: the first call's rows must not fix the start nor the
    # statistics (center=False, scale=False, a number as learning_rate), nor each call
    # shuffle its own rows (shuffle=False).
    params = dict(optimizer=optimizer, learning_rate=RATES.get(optimizer, 0.01),
                  batch_size=batch_size, shuffle=False, lr_schedule=schedule, center=False,
                  scale=False)
    halves = GDRegressor(**params).partial_fit(X[:32], y[:32]).partial_fit(X[32:], y[32:])
    if schedule == "adaptive":          # a stream's rate decays with t, not per epoch
        whole = GDRegressor(**params).partial_fit(X, y)
    else:
        whole = GDRegressor(**params, max_iter=1, tol=None).fit(X, y)
    np.testing.assert_allclose(halves.coef_, whole.coef_, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(halves.intercept_, whole.intercept_, rtol=1e-13, atol=1e-15)
    assert halves.t_ == whole.t_ == 64 // batch_size
    np.testing.assert_allclose(halves._state.buffers, whole._state.buffers, rtol=1e-13, atol=1e-15)
    assert halves.n_iter_ == 2 and len(halves.loss_curve_) == 2
    np.testing.assert_allclose(halves.learning_rates_[-1], whole.learning_rates_[-1],
                               rtol=1e-15)


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "nadam", "rmsprop"])
@pytest.mark.parametrize("engine", ["cython", "numpy"])
def test_warm_start_continues_the_same_run(optimizer, engine):
    X, y = make_regression(50, 3, seed=42)
    params = dict(optimizer=optimizer, lr_schedule="step", batch_size=8, tol=None,
                  random_state=5, engine=engine)
    once = GDRegressor(max_iter=10, **params).fit(X, y)
    twice = GDRegressor(max_iter=4, **params).fit(X, y)
    twice.set_params(max_iter=6, warm_start=True).fit(X, y)
    assert np.array_equal(once.coef_, twice.coef_)
    assert twice.t_ == once.t_ and twice.n_iter_ == 6
    assert np.array_equal(once.learning_rates_[4:], twice.learning_rates_)


def test_without_warm_start_fit_starts_over():
    X, y = make_regression(50, 3, seed=43)
    model = GDRegressor(optimizer="adam", max_iter=3, tol=None, random_state=0)
    first = model.fit(X, y).coef_.copy()
    assert np.array_equal(model.fit(X, y).coef_, first)


def test_partial_fit_after_pickling_continues_the_same_run():
    X, y = make_classification(80, 3, seed=44)
    model = GDClassifier(optimizer="adam", random_state=0).partial_fit(X, y, classes=[0, 1])
    restored = pickle.loads(pickle.dumps(model))
    model.partial_fit(X, y)
    restored.partial_fit(X, y)
    assert np.array_equal(model.coef_, restored.coef_)


def test_partial_fit_uses_coefficients_set_by_hand():
    X, y = make_regression(30, 2, seed=45)
    model = GDRegressor(learning_rate=1e-12).partial_fit(X, y)
    model.coef_ = np.array([5.0, -5.0])
    model.partial_fit(X, y)
    np.testing.assert_allclose(model.coef_, [5.0, -5.0], atol=1e-9)


def test_classifier_partial_fit_needs_classes_first_and_checks_them():
    X, y = make_classification(40, 2, seed=46)
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        GDClassifier().partial_fit(X, y)
    model = GDClassifier().partial_fit(X[:20], np.zeros(20, dtype=int), classes=[0, 1])
    assert list(model.classes_) == [0, 1]
    with pytest.raises(ValueError, match="not in classes"):
        model.partial_fit(X, y + 5)
    with pytest.raises(ValueError, match="X has 3 features, but GDClassifier is expecting 2"):
        model.partial_fit(np.ones((4, 3)), [0, 1, 0, 1])


def test_changing_optimizer_between_partial_fits_is_refused():
    X, y = make_regression(30, 2, seed=47)
    model = GDRegressor(optimizer="sgd").partial_fit(X, y)
    with pytest.raises(ValueError, match="optimizer changed"):
        model.set_params(optimizer="adam").partial_fit(X, y)

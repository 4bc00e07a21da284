"""average: the estimators' model is the mean of the iterates (docs/mathematics.md, section
"Averaging"), the optimizer goes on from the last iterate, and a run resumes exactly."""
import warnings

import numpy as np
import pytest
from sklearn.utils._param_validation import InvalidParameterError

from gdfast import GDClassifier, GDRegressor
from gdfast.linear_model._state import TrainingState
from helpers import make_classification, make_regression, relative_error

CONSTANT = dict(lr_schedule="constant", tol=None, center=False, shuffle=False)


@pytest.mark.parametrize("engine", ["cython", "numpy"])
def test_two_updates_by_hand(engine):
    """Rows (x, y) = (1, 1), (2, 3), squared error, rate 0.1 from zero: the iterates
    (w, b) are (0.2, 0.2) then (1.16, 0.68) (tests/_kernels/test_averaging.py)."""
    X, y = np.array([[1.0], [2.0]]), np.array([1.0, 3.0])
    model = GDRegressor(learning_rate=0.1, max_iter=1, average=True, engine=engine,
                        **CONSTANT).fit(X, y)
    np.testing.assert_allclose(model.coef_, [(0.2 + 1.16) / 2], rtol=1e-14)
    np.testing.assert_allclose(model.intercept_, [(0.2 + 0.68) / 2], rtol=1e-14)
    np.testing.assert_allclose(model._state.coef, [1.16, 0.68], rtol=1e-14)   # last iterate
    later = GDRegressor(learning_rate=0.1, max_iter=1, average=1, engine=engine,
                        **CONSTANT).fit(X, y)
    np.testing.assert_allclose(later.coef_, [1.16], rtol=1e-14)       # θ2 alone


@pytest.mark.parametrize("estimator, data", [
    (GDRegressor, make_regression(120, 4, seed=1)),
    (GDClassifier, make_classification(120, 4, seed=2)),
])
@pytest.mark.parametrize("batch_size", [1, 16, None])
def test_average_false_and_an_unreached_start_are_the_last_iterate(estimator, data,
                                                                   batch_size):
    """Averaging leaves the iterates alone: an average that has not started yet gives,
    bit for bit, the model of average=False."""
    X, y = data
    params = dict(batch_size=batch_size, max_iter=3, tol=None, random_state=0)
    plain = estimator(average=False, **params).fit(X, y)
    unreached = estimator(average=10**6, **params).fit(X, y)
    averaged = estimator(average=True, **params).fit(X, y)
    np.testing.assert_array_equal(unreached.coef_, plain.coef_)
    np.testing.assert_array_equal(unreached.intercept_, plain.intercept_)
    np.testing.assert_array_equal(averaged._state.coef, plain._state.coef)
    assert not np.allclose(averaged.coef_, plain.coef_, rtol=1e-6)
    assert averaged.loss_curve_ == plain.loss_curve_      # the iterates' objective


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "momentum"])
@pytest.mark.parametrize("batch_size", [1, 16])
@pytest.mark.parametrize("average", [True, 70])
def test_two_partial_fits_equal_one_fit_of_two_epochs(optimizer, batch_size, average):
    """average=70 starts inside the second epoch with batch_size=1, never with 16 (8 updates
    per epoch): both the average and the iterate carry over exactly."""
    X, y = make_regression(64, 3, seed=41)
    params = dict(optimizer=optimizer, learning_rate=0.01, batch_size=batch_size,
                  lr_schedule="constant", average=average, random_state=3)
    stream = GDRegressor(**params).partial_fit(X, y).partial_fit(X, y)
    whole = GDRegressor(max_iter=2, tol=None, **params).fit(X, y)
    np.testing.assert_array_equal(stream.coef_, whole.coef_)
    np.testing.assert_array_equal(stream.intercept_, whole.intercept_)
    np.testing.assert_array_equal(stream._state.coef, whole._state.coef)
    np.testing.assert_array_equal(stream._state.average, whole._state.average)
    assert stream.t_ == whole.t_ == 2 * (64 // batch_size)
    warm = GDRegressor(max_iter=1, tol=None, warm_start=True, **params).fit(X, y).fit(X, y)
    np.testing.assert_array_equal(warm.coef_, whole.coef_)
    np.testing.assert_array_equal(warm._state.coef, whole._state.coef)


def test_classifier_partial_fits_resume_the_average():
    X, y = make_classification(90, 4, seed=5)
    y = y + (X[:, 0] > 1)                               # three classes
    params = dict(learning_rate=0.05, lr_schedule="constant", average=True, random_state=1)
    stream = GDClassifier(**params).partial_fit(X, y, classes=[0, 1, 2]).partial_fit(X, y)
    whole = GDClassifier(max_iter=2, tol=None, **params).fit(X, y)
    np.testing.assert_array_equal(stream.coef_, whole.coef_)
    np.testing.assert_array_equal(stream.intercept_, whole.intercept_)
    assert stream.coef_.shape == (3, 4)
    assert stream._state.n_averaged == whole._state.n_averaged == 180
    last_iterate = stream._state.coef.reshape(3, 5)[:, :4]      # center=True: same weights
    assert not np.allclose(stream.coef_, last_iterate, rtol=1e-6)


@pytest.mark.parametrize("engine", ["cython", "numpy"])
def test_coefficients_set_by_hand_restart_the_average(engine):
    X, y = make_regression(50, 2, seed=7)
    model = GDRegressor(learning_rate=0.01, average=True, engine=engine, **CONSTANT)
    model.partial_fit(X, y)
    model.coef_ = np.array([1.0, -1.0])
    model.intercept_ = np.array([0.5])
    model.partial_fit(X[:1], y[:1])                      # one update from the hand-set model
    residual = X[0] @ [1.0, -1.0] + 0.5 - y[0]
    step = 0.01 * 2 * residual * np.append(X[0], 1.0)
    np.testing.assert_allclose(model.coef_, np.array([1.0, -1.0]) - step[:2], rtol=1e-13)
    np.testing.assert_allclose(model.intercept_, [0.5 - step[2]], rtol=1e-13)
    assert model._state.n_averaged == 1


def test_switching_average_on_and_off_between_partial_fits():
    X, y = make_regression(40, 2, seed=8)
    model = GDRegressor(learning_rate=0.01, **CONSTANT).partial_fit(X, y)
    assert model._state.average is None
    model.set_params(average=True).partial_fit(X, y)     # averages the second pass only
    plain = GDRegressor(learning_rate=0.01, **CONSTANT).partial_fit(X, y).partial_fit(X, y)
    np.testing.assert_array_equal(model._state.coef, plain._state.coef)
    assert model._state.n_averaged == 40
    assert not np.array_equal(model.coef_, plain.coef_)
    model.set_params(average=False).partial_fit(X, y)    # back to the last iterate
    plain.partial_fit(X, y)
    np.testing.assert_array_equal(model.coef_, plain.coef_)
    np.testing.assert_array_equal(model.intercept_, plain.intercept_)


def test_early_stopping_scores_and_keeps_the_averaged_model():
    X, y = make_regression(300, 4, seed=9, noise=1.0)
    model = GDRegressor(average=True, early_stopping=True, learning_rate=0.05,
                        lr_schedule="constant", tol=None, max_iter=6, random_state=2)
    model.fit(X, y)
    # The same held-out rows as the fit's.
    _, X_val, _, _, _, _, _, y_val = model._split_validation(X, y, np.ones(len(y)), y)
    best = int(np.argmax(model.validation_scores_))
    assert model.score(X_val, y_val) == pytest.approx(model.best_validation_score_,
                                                      rel=1e-12, abs=0)
    assert model.validation_scores_[best] == model.best_validation_score_
    np.testing.assert_array_equal(model._state.average, model._state.coef)


def test_averaging_beats_the_last_iterate_of_constant_step_sgd():
    """20,000 × 20 standardised least squares, a constant step: after two epochs the last
    iterate rattles around the optimum at a distance set by the step; the average of the
    iterates sits much closer."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20000, 20))
    y = X @ rng.standard_normal(20) + 1.0 + rng.standard_normal(20000)
    design = np.column_stack([X, np.ones(len(X))])
    optimum = np.linalg.lstsq(design, y, rcond=None)[0]
    params = dict(learning_rate=0.01, lr_schedule="constant", max_iter=2, tol=None,
                  random_state=0)
    distances = {}
    for average in (False, True):
        model = GDRegressor(average=average, **params).fit(X, y)
        fitted = np.append(model.coef_, model.intercept_)
        distances[average] = np.linalg.norm(fitted - optimum)
    assert distances[True] < 0.2 * distances[False], distances


@pytest.mark.parametrize("value", [0, -3, 1.5, "yes", None, [1]])
def test_bad_average_values_are_refused(value):
    X, y = make_regression(20, 2, seed=1)
    with pytest.raises(InvalidParameterError, match="'average' parameter"):
        GDRegressor(average=value).fit(X, y)


@pytest.mark.parametrize("value", [True, np.bool_(True), 1, np.int64(5)])
def test_good_average_values_are_taken(value):
    X, y = make_classification(30, 2, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = GDClassifier(average=value, max_iter=2).fit(X, y)
    assert model._state.average is not None


def test_state_copy_copies_the_average():
    X, y = make_regression(20, 2, seed=1)
    state = GDRegressor(average=True, max_iter=1, tol=None).fit(X, y)._state
    copy = state.copy()
    assert isinstance(copy, TrainingState)
    copy.average += 1.0
    copy.t += 5
    assert not np.array_equal(copy.average, state.average)
    assert copy.n_averaged == state.n_averaged + 5

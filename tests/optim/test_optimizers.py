"""Every optimizer, in the kernel and in the reference, and through the estimators."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from gdfast import GDClassifier, GDRegressor
from gdfast.linear_model import _engine
from gdfast.optim import (SGD, AdaDelta, AdaGrad, Adam, Adamax, AdamW, Momentum, NAdam,
                          Nesterov, OPTIMIZER_CLASSES, RMSprop)
from helpers import make_regression, relative_error
from twin_cases import BATCH_MODES, OPTIMIZER_CASES, problem, run_both, tolerance

@pytest.mark.usefixtures("each_kernel_build")
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("loss", _engine.LOSS_NAMES)
@pytest.mark.parametrize("mode", BATCH_MODES)
@pytest.mark.parametrize("case", OPTIMIZER_CASES)
def test_every_optimizer_matches_reference(case, mode, loss, dtype):
    name, lr, hyper, initial = OPTIMIZER_CASES[case]
    X, y, weights = problem(loss, dtype)
    n = X.shape[0]
    config = dict(hyper, loss=loss, optimizer=name, batch_size=BATCH_MODES[mode] or n,
                  shuffle=True, fit_intercept=True, learning_rate=lr)
    orders = [np.arange(n, dtype=np.intp)] * 5
    kernel, reference = run_both(X, y, weights, config, orders, rng_state=3, initial_buffer=initial)
    rel = tolerance(dtype, loss)
    assert relative_error(kernel[0], reference[0]) < rel                  # coefficients
    assert relative_error(kernel[1], reference[1]) < rel                  # losses
    assert kernel[2] == reference[2]                                      # updates
    for k_buffer, r_buffer in zip(kernel[4], reference[4]):               # optimizer state
        assert relative_error(k_buffer, r_buffer) < 10 * rel
    assert relative_error(kernel[5], reference[5]) < 1e-12                # scalar state
    assert relative_error(kernel[6], reference[6]) < 1e-12                # learning rates
    assert not np.allclose(kernel[0], 0)


@pytest.mark.usefixtures("each_kernel_build")
@settings(derandomize=True, deadline=None, max_examples=80)
@given(optimizer=st.sampled_from(_engine.OPTIMIZER_NAMES), loss=st.sampled_from(_engine.LOSS_NAMES),
       n_samples=st.integers(1, 30), n_features=st.integers(1, 6), batch_size=st.integers(1, 40),
       learning_rate=st.floats(1e-4, 0.05), momentum=st.floats(0.0, 0.95),
       beta1=st.floats(0.0, 0.95), beta2=st.floats(0.5, 0.9999), rho=st.floats(0.0, 0.99),
       eps=st.floats(1e-10, 1e-3), weight_decay=st.floats(0.0, 0.1),
       centered=st.booleans(), amsgrad=st.booleans(), seed=st.integers(0, 999))
def test_random_hyper_parameters_match_reference(optimizer, loss, n_samples, n_features,
                                                 batch_size, learning_rate, momentum, beta1,
                                                 beta2, rho, eps, weight_decay, centered,
                                                 amsgrad, seed):
    X, y, weights = problem(loss, np.float64, n_samples, n_features, seed=seed)
    if optimizer == "nesterov":
        momentum = max(momentum, 0.1)
    config = {"loss": loss, "optimizer": optimizer, "batch_size": batch_size, "shuffle": True,
              "fit_intercept": True, "learning_rate": learning_rate, "momentum": momentum,
              "beta1": beta1, "beta2": beta2, "rho": rho, "eps": eps,
              "weight_decay": weight_decay, "centered": centered, "amsgrad": amsgrad,
              "rmsprop_alpha": beta2, "lr_decay": weight_decay}
    orders = [np.arange(n_samples, dtype=np.intp)] * 3
    kernel, reference = run_both(X, y, weights, config, orders, rng_state=seed)
    assert relative_error(kernel[0], reference[0]) < 1e-9
    assert kernel[2] == reference[2]


# Learning rates that reach the optimum of the small problem below within max_iter full-batch
# epochs; cosine annealing takes the adaptive rules' last steps down to zero.
CONVERGENCE = {
    "sgd": (0.2, "constant"), "momentum": (0.05, "constant"), "nesterov": (0.05, "constant"),
    "adagrad": (0.5, "constant"), "rmsprop": (0.01, "cosine"), "adadelta": (5.0, "cosine"),
    "adam": (0.05, "cosine"), "adamw": (0.05, "cosine"), "nadam": (0.05, "cosine"),
    "adamax": (0.05, "cosine"),
}


@pytest.mark.parametrize("optimizer", OPTIMIZER_CLASSES)
def test_every_optimizer_reaches_the_least_squares_optimum(optimizer):
    X, y = make_regression(200, 3, seed=21)
    Xb = np.column_stack([X, np.ones(len(X))])
    solution = np.linalg.lstsq(Xb, y, rcond=None)[0]
    learning_rate, schedule = CONVERGENCE[optimizer]
    instance = OPTIMIZER_CLASSES[optimizer]()
    if optimizer == "adamw":
        instance.set_params(weight_decay=0.0)   # decay would move the optimum
    model = GDRegressor(optimizer=instance, learning_rate=learning_rate, lr_schedule=schedule,
                        batch_size=None, max_iter=3000, tol=None).fit(X, y)
    assert relative_error(np.r_[model.coef_, model.intercept_], solution) < 1e-3


def test_adagrad_starts_from_its_initial_accumulator():
    X, y = make_regression(50, 2, seed=22)
    fits = [GDRegressor(optimizer=AdaGrad(initial_accumulator_value=v), learning_rate=0.1,
                        max_iter=1, tol=None, batch_size=None).fit(X, y) for v in (0.0, 10.0)]
    # One full-batch step: θ = −γ g/(√(v + g²) + eps); a larger accumulator takes a shorter step.
    assert np.all(np.abs(fits[1].coef_) < np.abs(fits[0].coef_))
    assert np.allclose(fits[1]._state.buffers[0] - fits[0]._state.buffers[0], 10.0)


def test_names_and_instances_give_the_same_fit():
    X, y = make_regression(100, 3, seed=23)
    for name, cls in OPTIMIZER_CLASSES.items():
        a = GDRegressor(optimizer=name, max_iter=3, tol=None, random_state=0).fit(X, y)
        b = GDRegressor(optimizer=cls(), max_iter=3, tol=None, random_state=0).fit(X, y)
        assert np.array_equal(a.coef_, b.coef_), name


def test_auto_learning_rate_is_the_optimizers_standard_default_or_one_over_l():
    X, y = make_regression(20, 2, seed=24)
    standardised = (X - X.mean(axis=0)) / X.std(axis=0)              # center, scale
    one_over_l = 1.0 / (2.0 * np.max(np.sum(standardised ** 2, axis=1) + 1.0))  # squared: c = 2
    # Momentum carries each gradient on in its buffer: (1 − μ)/L per update, μ = 0.9.
    expected = {"sgd": one_over_l, "momentum": 0.1 * one_over_l, "nesterov": 0.1 * one_over_l,
                "adagrad": 1e-2, "rmsprop": 1e-2, "adadelta": 1.0, "adam": 1e-3, "adamw": 1e-3,
                "nadam": 2e-3, "adamax": 2e-3}
    for name, rate in expected.items():
        model = GDRegressor(optimizer=name, max_iter=2, tol=None).fit(X, y)
        np.testing.assert_allclose(model.learning_rates_, [rate, rate], rtol=1e-12, err_msg=name)


def test_nested_parameters_clone_and_grid_search():
    model = GDRegressor(optimizer=Adam(beta1=0.8), max_iter=5, tol=None, random_state=0)
    params = model.get_params(deep=True)
    assert params["optimizer__beta1"] == 0.8 and params["optimizer__amsgrad"] is False
    copy = clone(model)
    assert copy.optimizer is not model.optimizer and copy.optimizer.beta1 == 0.8
    copy.set_params(optimizer__beta1=0.5)
    assert copy.optimizer.beta1 == 0.5 and model.optimizer.beta1 == 0.8
    X, y = make_regression(120, 3, seed=25)
    search = GridSearchCV(model, {"optimizer__beta1": [0.5, 0.9],
                                  "learning_rate": [0.01, 0.1]}, cv=3).fit(X, y)
    assert set(search.best_params_) == {"optimizer__beta1", "learning_rate"}
    search = GridSearchCV(GDClassifier(max_iter=3, tol=None, random_state=0),
                          {"optimizer": ["sgd", Momentum(), Adam(amsgrad=True)]}, cv=3)
    X, y01 = make_regression(120, 3, seed=26)
    search.fit(X, (y01 > np.median(y01)).astype(int))
    assert len(search.cv_results_["params"]) == 3


@pytest.mark.parametrize("optimizer, message", [
    (Adam(beta1=1.0), r"The 'beta1' parameter of the optimizer Adam must be a float in the "
                      r"range \[0.0, 1.0\). Got 1.0 instead."),
    (Adam(beta2=-0.1), r"'beta2' parameter of the optimizer Adam .* Got -0.1 instead"),
    (NAdam(beta1=1.5), r"'beta1' parameter of the optimizer NAdam .* Got 1.5 instead"),
    (Adamax(beta2=1.0), r"'beta2' parameter of the optimizer Adamax .* Got 1.0 instead"),
    (AdamW(eps=0.0), r"The 'eps' parameter of the optimizer AdamW must be a float in the range "
                     r"\(0.0, inf\). Got 0.0 instead."),
    (AdaDelta(rho=1.5), r"'rho' parameter of the optimizer AdaDelta must be a float in the "
                        r"range \[0.0, 1.0\]. Got 1.5 instead."),
    (AdaDelta(eps=-1.0), r"'eps' parameter of the optimizer AdaDelta .* Got -1.0 instead"),
    (RMSprop(alpha=1.0), r"'alpha' parameter of the optimizer RMSprop .* Got 1.0 instead"),
    (RMSprop(centered="yes"), r"'centered' parameter of the optimizer RMSprop must be an "
                              r"instance of 'bool' or an instance of 'numpy.bool.?'. Got 'yes'"),
    (AdaGrad(lr_decay=-0.1), r"'lr_decay' parameter of the optimizer AdaGrad .* Got -0.1"),
    (Nesterov(momentum=0.0), r"'momentum' parameter of the optimizer Nesterov must be a float "
                             r"in the range \(0.0, 1.0\). Got 0.0 instead."),
    (Momentum(momentum=1.0), r"'momentum' parameter of the optimizer Momentum .* Got 1.0"),
    (SGD(weight_decay=-1.0), r"'weight_decay' parameter of the optimizer SGD .* Got -1.0"),
    (SGD(weight_decay=float("inf")), r"'weight_decay' .* Got inf instead"),
    ("adamz", r"The 'optimizer' parameter of GDRegressor must be a str among {'sgd', "
              r"'momentum', .*'adamax'} or an instance of 'gdfast.optim.Optimizer'. Got 'adamz'"),
    (42, r"The 'optimizer' parameter of GDRegressor .* Got 42 instead"),
])
def test_bad_optimizer_hyper_parameters_raise_at_fit(optimizer, message):
    X, y = make_regression(20, 2, seed=27)
    with pytest.raises(ValueError, match=message):
        GDRegressor(optimizer=optimizer).fit(X, y)

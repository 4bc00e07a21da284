"""The check where the stopping rule stops: a lower bound on how far the model is above the
optimum of its training objective, and the warning when it is more than tol."""
import warnings

import numpy as np
import pytest
import scipy.optimize
import scipy.sparse
from scipy.special import logsumexp
from sklearn.exceptions import ConvergenceWarning

from gdfast import GDClassifier, GDRegressor
from helpers import make_classification, make_regression


def objective_in_original_units(model, X, y, sample_weight):
    """F(w, b) of `model`'s fit, written out independently of the package: the weighted mean
    loss plus α₂/2·‖w/s‖² (the penalty on the weights the scaled model sees), as a function
    of the flat (weights, intercepts) in the original units, with its gradient."""
    n_samples, n_features = X.shape
    weights = np.ones(n_samples) if sample_weight is None else sample_weight
    weights = weights * (n_samples / weights.sum())
    inv_scale = model._state.inv_scale.astype(np.float64)
    l2 = model._penalty_strengths()[0]
    n_outputs = model._n_outputs()
    if n_outputs > 1:
        classes = np.searchsorted(model.classes_, y)
    elif model.loss == "log_loss":
        target = (y == model.classes_[1]).astype(np.float64)

    def value_and_gradient(flat):
        W = flat[:n_outputs * n_features].reshape(n_outputs, n_features)
        b = flat[n_outputs * n_features:]
        P = X @ W.T + b
        if n_outputs > 1:
            norm = logsumexp(P, axis=1)
            losses = norm - P[np.arange(n_samples), classes]
            dP = np.exp(P - norm[:, None])
            dP[np.arange(n_samples), classes] -= 1.0
        elif model.loss == "log_loss":
            p = P[:, 0]
            losses = np.logaddexp(0.0, p) - target * p
            dP = (1.0 / (1.0 + np.exp(-p)) - target)[:, None]
        else:
            r = P[:, 0] - y
            losses, dP = r * r, (2.0 * r)[:, None]
        A = weights[:, None] * dP / n_samples
        unscaled = W / inv_scale
        value = weights @ losses / n_samples + 0.5 * l2 * np.sum(unscaled ** 2)
        gradient = np.concatenate([(A.T @ X + l2 * unscaled / inv_scale).ravel(),
                                   A.sum(axis=0) if model.fit_intercept else 0.0 * b])
        return value, gradient
    return value_and_gradient


def optimum(model, X, y, sample_weight):
    value_and_gradient = objective_in_original_units(model, X, y, sample_weight)
    n_parameters = model._n_outputs() * (X.shape[1] + 1)
    result = scipy.optimize.minimize(value_and_gradient, np.zeros(n_parameters), jac=True,
                                     method="L-BFGS-B",
                                     options={"gtol": 1e-12, "ftol": 1e-15, "maxiter": 10_000})
    return result.fun


def certificate(model, X, y, sample_weight):
    encoded = model._encode(X, y) if hasattr(model, "_encode") else y
    weights = model._normalise_weights(sample_weight)
    return model._optimality_gap(model._passes_over(X, encoded, weights))(model._state)


CASES = {
    "squared error": (GDRegressor, {}),
    "squared error, l2, not centred": (GDRegressor, {"penalty": "l2", "alpha": 0.05,
                                                     "center": False, "scale": True}),
    "log loss, scaled": (GDClassifier, {}),
    "log loss, l2": (GDClassifier, {"penalty": "l2", "alpha": 0.01}),
    "multinomial": (GDClassifier, {}),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("sparse", [False, True])
def test_the_certified_gap_is_never_more_than_the_true_one(case, weighted, sparse):
    """A model two epochs in (short of its optimum): the certificate is positive and at most
    F(model) - F*, F* found by L-BFGS on the objective written out in the test."""
    Estimator, params = CASES[case]
    rng = np.random.default_rng(3)
    if Estimator is GDRegressor:
        X, y = make_regression(3_000, 6, seed=3, noise=1.0)
    else:
        X, y = make_classification(3_000, 6, seed=3)
        if case == "multinomial":
            y = np.digitize(X @ rng.normal(size=6) + rng.normal(size=3_000), [-1.0, 1.0])
    X = X * rng.uniform(0.2, 5.0, X.shape[1]) + rng.uniform(-2.0, 2.0, X.shape[1])
    weights = rng.uniform(0.2, 2.0, len(y)) if weighted else None
    data = scipy.sparse.csr_matrix(X) if sparse else X
    model = Estimator(optimizer="adagrad", max_iter=2, tol=None, random_state=0, **params)
    model.fit(data, y, sample_weight=weights)
    gap, value = certificate(model, data, y, weights)
    value_and_gradient = objective_in_original_units(model, X, y, weights)
    coef = np.atleast_2d(model.coef_)
    flat = np.concatenate([coef.ravel(), np.atleast_1d(model.intercept_)])
    np.testing.assert_allclose(value, value_and_gradient(flat)[0], rtol=1e-10)
    true_gap = value - optimum(model, X, y, weights)
    assert true_gap > 1e-4                      # two epochs of AdaGrad: short of it
    assert 0 < gap <= true_gap + 1e-10
    assert gap > 0.05 * true_gap                # and not a vacuous bound


def test_a_model_at_its_optimum_has_no_gap_to_certify():
    X, y = make_regression(2_000, 4, seed=4, noise=1.0)
    model = GDRegressor(batch_size=None, center=False, tol=None, max_iter=1).fit(X, y)
    solution = np.linalg.lstsq(np.c_[X, np.ones(len(y))], y, rcond=None)[0]
    model._state.set_model_coef(solution[None, :-1], solution[-1:])
    gap, _ = certificate(model, X, y, None)
    assert 0 <= gap < 1e-12


def test_a_fit_whose_steps_shrank_short_of_the_optimum_warns():
    """Full-batch RMSprop's epoch losses flatten about 0.35% above the optimum (3.5e-3 in
    units of the loss, more than tol): the rule stops, and the check says so."""
    from gdfast._cli.bench_quality import Problem
    problem = Problem(50_000, 20)
    X, y = problem.X["standard"], problem.y["squared_error"]
    with pytest.warns(ConvergenceWarning, match="still at least .* above its optimum"):
        model = GDRegressor(optimizer="rmsprop", batch_size=None, random_state=0).fit(X, y)
    assert model.n_iter_ < model.max_iter
    excess = np.mean((model.predict(X) - y) ** 2) - problem.optimum["squared_error"]
    assert excess > model.tol


def test_a_fit_stopped_far_from_the_optimum_on_an_ill_conditioned_problem_warns():
    """Features with offsets of thousands of standard deviations and no intercept to absorb
    them (no centring without one): one steep direction, along which the gradient itself
    points, so a step along it gains almost nothing; the second conjugate-gradient step sees
    past it and certifies nearly the whole gap (the fit stops at 6.8 times the optimum)."""
    from gdfast._cli.bench_quality import Problem
    problem = Problem(50_000, 20)
    X, y = problem.X["raw"], problem.y["squared_error"]
    with pytest.warns(ConvergenceWarning, match="still at least .* above its optimum"):
        model = GDRegressor(fit_intercept=False, random_state=0).fit(X, y)
    solution = np.linalg.lstsq(X, y, rcond=None)[0]
    optimal = np.mean((X @ solution - y) ** 2)
    gap, value = certificate(model, X, y, None)
    true_gap = value - optimal
    assert model.n_iter_ < model.max_iter and true_gap > 1.0
    assert 0.99 * true_gap < gap <= true_gap * (1 + 1e-9)


@pytest.mark.parametrize("Estimator, make", [(GDRegressor, make_regression),
                                             (GDClassifier, make_classification)])
def test_the_default_fit_stops_at_the_optimum_without_a_warning(Estimator, make):
    X, y = make(20_000, 8, seed=9)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model = Estimator(random_state=0).fit(X, y)
    assert model.n_iter_ < model.max_iter


@pytest.mark.parametrize("optimizer", ["momentum", "nesterov"])
@pytest.mark.parametrize("batch_size", [1, 32])
def test_momentum_on_small_batches_takes_the_automatic_step_divided_by_its_gain(
        optimizer, batch_size):
    """Each gradient stays in the momentum buffer and moves θ by γ·g/(1 − μ) in all: the
    automatic rate is (1 − μ)/L, a tenth of plain SGD's at μ = 0.9, and the fit converges
    (at 1/L per-row momentum diverged in its first epoch)."""
    from gdfast._cli.bench_quality import Problem
    from gdfast.optim import Momentum, Nesterov
    problem = Problem(20_000, 20)
    X, y = problem.X["raw"], problem.y["squared_error"]
    rule = (Momentum if optimizer == "momentum" else Nesterov)(momentum=0.8)
    model = GDRegressor(optimizer=rule, batch_size=batch_size, random_state=0).fit(X, y)
    plain = GDRegressor(batch_size=batch_size, max_iter=1, tol=None).fit(X, y)
    np.testing.assert_allclose(model._state.base_rate, 0.2 * plain._state.base_rate, rtol=1e-12)
    assert np.mean((model.predict(X) - y) ** 2) < 1.001 * problem.optimum["squared_error"]


def test_a_full_batch_with_momentum_keeps_the_step_one_over_l():
    X, y = make_regression(2_000, 4, seed=4)
    momentum = GDRegressor(optimizer="momentum", batch_size=None, max_iter=1, tol=None).fit(X, y)
    plain = GDRegressor(batch_size=None, max_iter=1, tol=None).fit(X, y)
    assert momentum._state.base_rate == plain._state.base_rate


def test_the_warning_names_only_remedies_the_fit_has_not_tried():
    """Wine's classes are separable: the unpenalised log loss has no minimum and the
    default fit stops short of where it keeps falling. The warning says so, offers the
    penalty, and suggests the defaults only to a fit that left them."""
    from sklearn.datasets import load_wine
    X, y = load_wine(return_X_y=True)
    with pytest.warns(ConvergenceWarning, match="still at least .* above its optimum") as caught:
        GDClassifier(random_state=0).fit(X, y)
    message = str(caught[0].message)
    assert "penalty='l2' gives it one" in message and "A smaller tol" in message
    assert "defaults" not in message
    with pytest.warns(ConvergenceWarning, match="above its optimum") as caught:
        GDClassifier(lr_schedule="constant", random_state=0).fit(X, y)
    message = str(caught[-1].message)
    assert "The defaults (lr_schedule='adaptive') may get closer" in message
    penalised = GDClassifier(penalty="l2", random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        penalised.fit(X, y)
    assert penalised.score(X, y) == 1.0

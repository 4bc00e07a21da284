"""Learning-rate schedules against their closed forms, and their bad parameters."""
import math

import numpy as np
import pytest

from gdfast import GDRegressor
from gdfast.schedules import CosineAnnealingLR, ExponentialLR, InvScaling, StepLR
from helpers import make_regression

GAMMA0 = 0.05
EPOCHS = 12


def full_batch_rates(schedule, **params):
    """Rates of a full-batch fit: one update per epoch, so t = e + 1. The features are
    small, unscaled and without an intercept, so that even 'optimal''s first rates (up to
    10) do not diverge, which would stop the fit with an error."""
    X, y = make_regression(40, 2, seed=31)
    model = GDRegressor(learning_rate=GAMMA0, lr_schedule=schedule, batch_size=None,
                        max_iter=EPOCHS, tol=None, fit_intercept=False, center=False,
                        **params).fit(X * 1e-2, y)
    return np.array(model.learning_rates_)


EPOCH = np.arange(EPOCHS)          # e, 0-based
T = EPOCH + 1                      # t, 1-based

CLOSED_FORMS = {
    "constant": ("constant", {}, np.full(EPOCHS, GAMMA0)),
    "invscaling": (InvScaling(power_t=0.5), {}, GAMMA0 / T ** 0.5),
    "optimal": ("optimal", {"alpha": 0.01}, 1 / (0.01 * (0.01 ** -0.75 + T - 1))),
    "step": (StepLR(step_size=5, gamma=0.5), {}, GAMMA0 * 0.5 ** (EPOCH // 5)),
    "exponential": (ExponentialLR(gamma=0.8), {}, GAMMA0 * 0.8 ** EPOCH),
    "cosine": (CosineAnnealingLR(T_max=10, eta_min=0.001), {},
               0.001 + (GAMMA0 - 0.001) * (1 + np.cos(np.pi * EPOCH / 10)) / 2),
    "cosine-default-period": ("cosine", {}, GAMMA0 * (1 + np.cos(np.pi * EPOCH / EPOCHS)) / 2),
    "warmup-constant": ("constant", {"warmup_steps": 4}, GAMMA0 * np.minimum(1, T / 4)),
    "warmup-step": (StepLR(step_size=3, gamma=0.1), {"warmup_steps": 5},
                    GAMMA0 * 0.1 ** (EPOCH // 3) * np.minimum(1, T / 5)),
}


@pytest.mark.parametrize("case", CLOSED_FORMS)
@pytest.mark.parametrize("engine", ["cython", "numpy"])
def test_schedule_rates_follow_their_closed_forms(case, engine):
    schedule, params, expected = CLOSED_FORMS[case]
    np.testing.assert_allclose(full_batch_rates(schedule, engine=engine, **params), expected,
                               rtol=1e-12)


def test_optimal_schedule_starts_at_alpha_to_the_minus_quarter():
    rates = full_batch_rates("optimal", alpha=1e-4)
    assert rates[0] == pytest.approx(1e-4 ** -0.25, rel=1e-12)


def test_per_update_schedules_change_within_an_epoch():
    X, y = make_regression(40, 2, seed=32)
    model = GDRegressor(learning_rate=GAMMA0, lr_schedule=InvScaling(power_t=0.5),
                        batch_size=8, max_iter=3, tol=None).fit(X, y)
    # 5 updates per epoch; the recorded rate is that of each epoch's last update.
    np.testing.assert_allclose(model.learning_rates_, GAMMA0 / np.array([5, 10, 15]) ** 0.5)


def test_adaptive_divides_by_five_on_each_plateau_and_stops_below_1e_6():
    # A tol small enough that every division gains it: the floor ends the fit.
    X, y = make_regression(60, 2, seed=33, noise=1.0)
    model = GDRegressor(learning_rate=0.01, lr_schedule="adaptive", tol=1e-6, n_iter_no_change=2,
                        max_iter=500, random_state=0).fit(X, y)
    rates = np.array(model.learning_rates_)
    levels = np.unique(rates)[::-1]
    np.testing.assert_allclose(levels, 0.01 / 5.0 ** np.arange(len(levels)))
    assert np.all(np.diff(rates) <= 0)
    assert levels[-1] <= 1e-6 < levels[-2]        # it stopped once the rate fell below 1e-6
    assert model.n_iter_ < 500


@pytest.mark.parametrize("params, message", [
    ({"lr_schedule": "optimal", "alpha": 0.0}, r"lr_schedule='optimal' needs alpha > 0; got alpha=0.0"),
    ({"lr_schedule": "bogus"}, r"The 'lr_schedule' parameter of GDRegressor must be a str "
                               r"among {'constant', 'invscaling', .*'cosine'} or an instance of "
                               r"'gdfast.optim.schedules.Schedule'. Got 'bogus' instead."),
    ({"lr_schedule": StepLR(step_size=0)}, r"The 'step_size' parameter of the schedule StepLR "
                                           r"must be an int in the range \[1, inf\). Got 0"),
    ({"lr_schedule": ExponentialLR(gamma=-1.0)}, r"'gamma' parameter of the schedule "
                                                 r"ExponentialLR .* Got -1.0 instead"),
    ({"lr_schedule": CosineAnnealingLR(T_max=0)}, r"'T_max' parameter of the schedule "
                                                  r"CosineAnnealingLR .* or None. Got 0"),
    ({"lr_schedule": InvScaling(power_t=math.nan)}, r"'power_t' parameter of the schedule "
                                                    r"InvScaling .* Got nan instead"),
    ({"warmup_steps": -1}, r"The 'warmup_steps' parameter of GDRegressor must be an int in the "
                           r"range \[0, inf\). Got -1 instead."),
    ({"learning_rate": 0.0}, r"'learning_rate' .* Got 0.0 instead"),
    ({"learning_rate": "fast"}, r"The 'learning_rate' parameter of GDRegressor must be a float "
                                r"in the range \(0.0, inf\) or a str among {'auto'}. Got 'fast'"),
    ({"penalty": "l3"}, r"The 'penalty' parameter of GDRegressor must be a str among {'l2', "
                        r"'l1', 'elasticnet'} or None. Got 'l3' instead."),
    ({"alpha": -1.0}, r"'alpha' .* Got -1.0 instead"),
])
def test_bad_schedule_parameters_raise_at_fit(params, message):
    X, y = make_regression(20, 2, seed=34)
    with pytest.raises(ValueError, match=message):
        GDRegressor(**params).fit(X, y)

"""The training loop's promises: a fitted model's size does not depend on the rows, no stop
short of the optimum is silent, a stream of partial_fit calls reaches the optimum, and
Ctrl-C keeps the epochs that finished."""
import _thread
import pickle
import sys
import threading
import time
import traceback
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import SGDRegressor

from gdfast import GDClassifier, GDRegressor
from gdfast.linear_model import _engine
from helpers import make_classification, make_regression


def optimal_mse(X, y):
    """The least-squares optimum (with intercept), in closed form."""
    A = np.c_[X, np.ones(X.shape[0])]
    solution = np.linalg.lstsq(A, y, rcond=None)[0]
    return float(np.mean((A @ solution - y) ** 2))


def mse(model, X, y):
    return float(np.mean((model.predict(X) - y) ** 2))


def fit_quietly(model, X, y):
    """Fit, failing the test on any ConvergenceWarning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        return model.fit(X, y)


def ill_conditioned(n_samples, n_features, *, seed, spread):
    """Features on scales e^U(0, spread), off-centre: far from what descent likes."""
    rng = np.random.default_rng(seed)
    scales = np.exp(rng.uniform(0, spread, n_features))
    X = rng.normal(size=(n_samples, n_features)) * scales + rng.uniform(-50, 50, n_features)
    y = X @ (rng.normal(size=n_features) / scales) + rng.normal(size=n_samples)
    return X, y


# --- the fitted model's size ---------------------------------------------------------------

@pytest.mark.parametrize("params", [{}, {"shuffle": False}, {"batch_size": None},
                                    {"batch_size": 16, "optimizer": "adam"}])
def test_a_pickled_model_does_not_grow_with_the_training_rows(params):
    sizes = []
    for n_samples in (1_000, 100_000):
        X, y = make_regression(n_samples, 5, seed=1)
        model = GDRegressor(max_iter=3, tol=None, random_state=0, **params).fit(X, y)
        sizes.append(len(pickle.dumps(model)))
    # 100 times the rows: the same size up to the digits of a few integers (t_, ...).
    assert abs(sizes[1] - sizes[0]) <= 16, sizes
    assert sizes[0] < 4_000, sizes


def test_a_streamed_model_does_not_grow_with_the_rows_seen():
    X, y = make_regression(20_000, 4, seed=2)
    model = GDRegressor(random_state=0).partial_fit(X[:1_000], y[:1_000])
    small = len(pickle.dumps(model))
    model.partial_fit(X[1_000:], y[1_000:])
    # Each call adds its entry to loss_curve_ and learning_rates_, nothing per row.
    assert len(pickle.dumps(model)) - small < 100


@pytest.mark.parametrize("engine", ["cython", "numpy"])
def test_resuming_after_pickling_continues_the_shuffled_run_exactly(engine):
    X, y = make_regression(300, 3, seed=3)
    params = dict(batch_size=4, tol=None, random_state=7, engine=engine)
    once = GDRegressor(max_iter=6, **params).fit(X, y)
    half = GDRegressor(max_iter=3, **params).fit(X, y)
    resumed = pickle.loads(pickle.dumps(half)).set_params(warm_start=True).fit(X, y)
    assert np.array_equal(resumed.coef_, once.coef_)
    assert np.array_equal(resumed.intercept_, once.intercept_)


@pytest.mark.parametrize("Estimator, make", [(GDRegressor, make_regression),
                                            (GDClassifier, make_classification)])
def test_partial_fit_continues_bit_for_bit_after_a_joblib_round_trip(Estimator, make, tmp_path):
    joblib = pytest.importorskip("joblib")
    X, y = make(400, 3, seed=12)
    first = {"classes": [0, 1]} if Estimator is GDClassifier else {}
    model = Estimator(random_state=0).partial_fit(X[:200], y[:200], **first)
    joblib.dump(model, tmp_path / "model.joblib")
    restored = joblib.load(tmp_path / "model.joblib")
    for _ in range(3):
        model.partial_fit(X[200:], y[200:])
        restored.partial_fit(X[200:], y[200:])
    assert np.array_equal(restored.coef_, model.coef_)
    assert np.array_equal(restored.intercept_, model.intercept_)
    assert restored.t_ == model.t_ == 800


# --- no silent early stop ------------------------------------------------------------------

def test_the_adaptive_floor_is_relative_to_the_starting_rate():
    """Unscaled features make the data-derived rate tiny (here ~1e-8, below scikit-learn's
    fixed floor of 1e-6); the schedule still divides it until the fit settles (tol=0: as
    long as a division gains anything, down to the floor)."""
    X, y = ill_conditioned(5_000, 5, seed=4, spread=4)
    X = X * 1_000
    assert mse(fit_quietly(GDRegressor(scale=False, random_state=0), X, y), X, y) \
        < 1.01 * optimal_mse(X, y)
    model = fit_quietly(GDRegressor(scale=False, random_state=0, tol=0.0), X, y)
    assert model._state.base_rate < 1e-6
    assert min(model.learning_rates_) < 1e-4 * model._state.base_rate
    assert mse(model, X, y) < 1.01 * optimal_mse(X, y)


def test_a_slow_full_batch_descent_is_not_taken_for_convergence():
    """An ill-conditioned full batch improves by less than tol per epoch long before the
    optimum (dividing the rate at such plateaus would stop this fit at 1.37 times the
    optimal loss); it goes on while it still descends steadily."""
    X, y = ill_conditioned(2_000, 10, seed=0, spread=3)
    model = fit_quietly(GDRegressor(batch_size=None, max_iter=5_000, scale=False,
                                    random_state=0), X, y)
    assert model.n_iter_ < 5_000
    assert mse(model, X, y) < 1.01 * optimal_mse(X, y)
    with pytest.warns(ConvergenceWarning, match=r"Maximum number of epochs \(1000\)"):
        GDRegressor(batch_size=None, scale=False, random_state=0).fit(X, y)


def test_running_out_of_epochs_warns_and_says_what_to_do():
    X, y = ill_conditioned(2_000, 10, seed=0, spread=3)
    with pytest.warns(ConvergenceWarning, match=r"Maximum number of epochs \(50\).*"
                                                r"Increase max_iter, or scale the features "
                                                r"\(scale=True\)"):
        GDRegressor(batch_size=None, max_iter=50, scale=False, random_state=0).fit(X, y)
    with pytest.warns(ConvergenceWarning, match=r"Maximum number of epochs \(3\).*"
                                                r"Increase max_iter\.$"):
        GDRegressor(batch_size=None, max_iter=3, random_state=0).fit(X, y)


@pytest.mark.parametrize("schedule", ["adaptive", "constant"])
def test_a_settled_fit_stops_by_the_rule_without_a_warning(schedule):
    X, y = make_regression(2_000, 5, seed=5)
    model = fit_quietly(GDRegressor(lr_schedule=schedule, random_state=0), X, y)
    assert model.n_iter_ < model.max_iter
    if schedule == "adaptive":              # a constant step settles around the optimum
        assert mse(model, X, y) < 1.001 * optimal_mse(X, y)


def rate_levels(model):
    """The epochs at which the adaptive rate was divided (the first epoch at each smaller
    rate) and the number of distinct rates."""
    rates = np.asarray(model.learning_rates_)
    return np.flatnonzero(rates[1:] < rates[:-1]) + 1, len(np.unique(rates))


def test_an_averaged_fit_stops_once_a_smaller_rate_no_longer_improves_the_average():
    """The default fit reports the average of the iterates, which reaches the optimum long
    before the iterates' own epoch losses stop falling at each smaller rate: the plateaus
    weigh the average's objective, and the fit ends at the first whose division of the rate
    gained less than tol, at the optimum."""
    X, y = make_regression(20_000, 5, seed=6, noise=1.0)
    model = fit_quietly(GDRegressor(random_state=0), X, y)
    assert model._state.n_averaged > 0
    cuts, n_levels = rate_levels(model)
    assert n_levels <= 3            # dividing down to the floor would take 7 rates
    assert mse(model, X, y) < 1.001 * optimal_mse(X, y)
    # A fit that goes down to the floor ends no better by tol.
    floor = fit_quietly(GDRegressor(random_state=0, tol=0.0), X, y)
    assert rate_levels(floor)[1] > n_levels
    assert mse(model, X, y) - mse(floor, X, y) < model.tol


@pytest.mark.parametrize("weighted", [False, True])
def test_the_plateaus_objective_is_the_reported_models_training_loss(weighted):
    """The objective the plateaus weigh is taken a block of rows at a time: over 70,000 rows
    (two whole blocks and a part) it is the reported model's weighted mean loss."""
    from gdfast.linear_model import _passes
    X, y = make_regression(70_000, 4, seed=8, noise=1.0)
    weights = np.random.default_rng(8).uniform(0.5, 1.5, len(y)) if weighted else None
    model = GDRegressor(max_iter=2, tol=None, random_state=0).fit(X, y, sample_weight=weights)
    assert model._state.n_averaged > 0 and len(y) > 2 * _passes.BLOCK_ROWS
    if weighted:
        weights = weights * (len(y) / weights.sum())     # as the fit normalises them
    objective = model._model_objective(model._passes_over(X, y, weights))(model._state)
    squares = (model.predict(X) - y) ** 2
    expected = np.mean(squares) if weights is None else np.mean(weights * squares)
    np.testing.assert_allclose(objective, expected, rtol=1e-12)


def test_without_averaging_the_rate_is_divided_down_to_its_floor():
    """A full batch with momentum overshoots and climbs back: its epoch losses stall at a
    plateau and may gain little after a division, far from the optimum (4.8 times it after
    19 epochs, stopping at the first division that gained less than tol). Without an
    average to weigh, the schedule divides on down to its floor and ends at the optimum."""
    from gdfast._cli.bench_quality import Problem
    problem = Problem(50_000, 20)
    X, y = problem.X["standard"], problem.y["squared_error"]
    model = fit_quietly(GDRegressor(optimizer="momentum", batch_size=None, random_state=0),
                        X, y)
    assert model._state.average is None
    assert min(model.learning_rates_) < 1e-4 * model.learning_rates_[0]
    assert mse(model, X, y) < 1.001 * problem.optimum["squared_error"]


# --- partial_fit with the defaults ---------------------------------------------------------

def test_streaming_chunks_with_the_defaults_reach_the_optimum_as_sgdregressor_does():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100_000, 20))
    y = X @ rng.normal(size=20) + 3 + 0.5 * rng.normal(size=100_000)
    chunks = np.array_split(np.arange(100_000), 10)
    ours, theirs = GDRegressor(random_state=0), SGDRegressor(random_state=0)
    for rows in chunks:
        ours.partial_fit(X[rows], y[rows])
        theirs.partial_fit(X[rows], y[rows])
    optimum = optimal_mse(X, y)
    assert mse(ours, X, y) - optimum <= mse(theirs, X, y) - optimum
    # the rate decays over the stream: the last call's is below the first's by (t)^(1/3)
    assert ours.learning_rates_[-1] == pytest.approx(
        ours._state.base_rate / ours.t_ ** (1 / 3), rel=1e-12)


def test_two_halves_with_the_defaults_are_close_to_one_pass():
    """With the defaults the first call fixes the feature means and the rate from its rows,
    and each call shuffles its own rows: close to one pass over both, not equal."""
    X, y = make_regression(4_000, 5, seed=6)
    halves = GDRegressor(random_state=0).partial_fit(X[:2_000], y[:2_000])
    halves.partial_fit(X[2_000:], y[2_000:])
    whole = GDRegressor(random_state=0).partial_fit(X, y)
    np.testing.assert_allclose(halves.coef_, whole.coef_, atol=0.05)


# --- Ctrl-C --------------------------------------------------------------------------------

def interrupt_on_call(monkeypatch, number, *, after=False):
    """Make the `number`-th epoch raise KeyboardInterrupt as Ctrl-C would: before its kernel
    call, or (after=True) just after it returned, in the loop's own bookkeeping."""
    real, calls = _engine.run_epoch, []

    def run_epoch(*args, **kwargs):
        calls.append(None)
        if len(calls) == number and not after:
            raise KeyboardInterrupt
        result = real(*args, **kwargs)
        if len(calls) == number:
            raise KeyboardInterrupt
        return result

    monkeypatch.setattr(_engine, "run_epoch", run_epoch)


@pytest.mark.parametrize("after", [False, True])
@pytest.mark.parametrize("engine", ["cython", "numpy"])
def test_ctrl_c_keeps_the_last_finished_epoch(monkeypatch, engine, after):
    X, y = make_regression(500, 4, seed=7)
    params = dict(random_state=0, engine=engine, tol=None, max_iter=10)
    expected = GDRegressor(**dict(params, max_iter=3)).fit(X, y)
    interrupt_on_call(monkeypatch, 4, after=after)
    model = GDRegressor(**params)
    with pytest.raises(KeyboardInterrupt):
        model.fit(X, y)
    assert model.n_iter_ == 3 and len(model.loss_curve_) == 3
    assert np.array_equal(model.coef_, expected.coef_)
    assert np.array_equal(model.intercept_, expected.intercept_)
    assert model.t_ == expected.t_
    np.testing.assert_allclose(model.predict(X), expected.predict(X), rtol=0, atol=0)


def test_ctrl_c_with_early_stopping_keeps_the_best_epoch_so_far(monkeypatch):
    X, y = make_classification(600, 4, seed=8)
    params = dict(random_state=0, early_stopping=True, tol=None, max_iter=10)
    expected = GDClassifier(**dict(params, max_iter=4)).fit(X, y)
    interrupt_on_call(monkeypatch, 5)
    model = GDClassifier(**params)
    with pytest.raises(KeyboardInterrupt):
        model.fit(X, y)
    assert model.n_iter_ == 4 and len(model.validation_scores_) == 4
    assert np.array_equal(model.coef_, expected.coef_)
    assert np.array_equal(model.predict(X), expected.predict(X))


def test_ctrl_c_in_the_first_epoch_leaves_an_unfitted_model_unfitted(monkeypatch):
    X, y = make_regression(200, 3, seed=9)
    interrupt_on_call(monkeypatch, 1, after=True)
    model = GDRegressor(early_stopping=True, random_state=0)
    with pytest.raises(KeyboardInterrupt):
        model.fit(X, y)
    assert not hasattr(model, "coef_")
    with pytest.raises(NotFittedError):
        model.predict(X)


@pytest.mark.parametrize("how", ["warm_start", "partial_fit"])
def test_ctrl_c_in_the_first_epoch_keeps_the_previous_model(monkeypatch, how):
    X, y = make_regression(200, 3, seed=10)
    model = GDRegressor(random_state=0, max_iter=5, tol=None).fit(X, y)
    before = pickle.dumps(model)
    coef, n_iter = model.coef_.copy(), model.n_iter_
    interrupt_on_call(monkeypatch, 1, after=True)
    with pytest.raises(KeyboardInterrupt):
        if how == "warm_start":
            model.set_params(warm_start=True).fit(X, y)
        else:
            model.partial_fit(X, y)
    assert np.array_equal(model.coef_, coef) and model.n_iter_ == n_iter
    monkeypatch.undo()
    # and it continues exactly as an uninterrupted copy does
    other = pickle.loads(before).set_params(warm_start=model.warm_start)
    if how == "warm_start":
        model.fit(X, y)
        other.fit(X, y)
    else:
        model.partial_fit(X, y)
        other.partial_fit(X, y)
    assert np.array_equal(model.coef_, other.coef_)


def test_ctrl_c_inside_a_compiled_epoch_stops_it_and_keeps_the_finished_ones(monkeypatch):
    """A real (simulated) SIGINT while the kernel runs an epoch without the GIL: the kernel
    looks at signals every few milliseconds of work and stops the epoch."""
    # 200,000 rows × 64 parameters: three looks at signals per epoch; Adam makes the epoch
    # long (tens of milliseconds) next to the wait for the interrupting thread to run.
    X, y = make_regression(200_000, 63, seed=11, dtype=np.float32)
    params = dict(optimizer="adam", random_state=0, tol=None, max_iter=10)
    expected = GDRegressor(**dict(params, max_iter=2)).fit(X, y)
    real, calls = _engine.run_epoch, []
    main = threading.main_thread()

    def interrupt_once_inside_the_kernel():
        # With a long switch interval the main thread only lets this one run once it has
        # released the GIL: inside the kernel's epoch.
        while True:
            frame = sys._current_frames()[main.ident]
            if frame.f_code.co_name == "run_epoch" and frame.f_code.co_filename == \
                    _engine.__file__:
                break
            time.sleep(0.0005)
        _thread.interrupt_main()

    def run_epoch(*args, **kwargs):
        calls.append(None)
        if len(calls) == 3:
            threading.Thread(target=interrupt_once_inside_the_kernel, daemon=True).start()
        return real(*args, **kwargs)

    monkeypatch.setattr(_engine, "run_epoch", run_epoch)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(10.0)
    # On a loaded machine the interrupting thread may only get a core after the third epoch
    # has ended, and the interrupt then lands between epochs, in Python: that too must keep
    # the finished epochs, but the point here is the kernel's own check, so try again.
    places = []
    try:
        for attempt in range(4):
            calls.clear()
            model = GDRegressor(**params)
            with pytest.raises(KeyboardInterrupt) as raised:
                model.fit(X, y)
            finished = model.n_iter_
            reference = expected if finished == 2 else GDRegressor(
                **dict(params, max_iter=finished)).fit(X, y)
            assert np.array_equal(model.coef_, reference.coef_)
            assert np.array_equal(model.predict(X[:50]), reference.predict(X[:50]))
            places.append(traceback.extract_tb(raised.value.__traceback__)[-1].filename)
            if places[-1].endswith("linear.pyx"):
                break
    finally:
        sys.setswitchinterval(interval)
    # raised by the kernel itself, inside the third epoch, not by Python code around it
    assert places[-1].endswith("linear.pyx"), places
    assert model.n_iter_ == 2

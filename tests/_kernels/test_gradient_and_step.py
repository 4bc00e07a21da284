"""batch_gradient and optimizer_step, the two halves of run_epoch's step, called alone: each
against the reference, and composed against the fused epoch loop."""
import numpy as np
import pytest

from gdfast.linear_model import _engine
from helpers import relative_error
from twin_cases import OPTIMIZER_CASES, TOLERANCE, problem, tolerance

# (loss, multiclass): every single-output loss and every multiclass model.
MODELS = [(loss, "none") for loss in _engine.LOSS_NAMES] + [
    ("log_loss", "multinomial"), ("log_loss", "ovr"), ("hinge", "ovr"),
    ("modified_huber", "ovr")]
# (center, fit_intercept): centring needs an intercept.
PARAMETRISATIONS = [(False, False), (False, True), (True, True)]
# Penalties on top of each optimizer's own hyper-parameters, so that every step below
# decays some entries and shrinks others to zero.
PENALTIES = {"l2": 0.05, "l1": 0.002}


def model_problem(loss, multiclass, dtype, n_samples=97, n_features=7, seed=0):
    """X shifted off zero (centring matters), targets for the model, weights, and random
    parameters; None for the mean, filled in by the caller when centring."""
    X, y, weights = problem(loss if multiclass == "none" else "squared_error", dtype,
                            n_samples, n_features, seed)
    X = X + np.arange(1, n_features + 1, dtype=dtype)
    n_outputs = 1
    if multiclass != "none":
        y = np.digitize(y, np.quantile(y, [0.33, 0.66])).astype(dtype)   # 3 classes
        n_outputs = 3
    coef = np.random.default_rng(seed + 1).standard_normal(n_outputs * (n_features + 1))
    return X, y, weights, (0.3 * coef).astype(dtype)


def gradients(X, y, weights, coef, rows, config, mean):
    """batch_gradient with both engines, checking neither touches its inputs."""
    results = {}
    for engine in _engine.ENGINES:
        before = coef.copy(), rows.copy()
        results[engine] = _engine.batch_gradient(engine, X, y, weights, coef, rows, config,
                                                 mean=mean)
        np.testing.assert_array_equal(coef, before[0])
        np.testing.assert_array_equal(rows, before[1])
        assert results[engine][0].dtype == coef.dtype
        assert results[engine][0].shape == coef.shape
    return results["cython"], results["numpy"]


@pytest.mark.usefixtures("each_kernel_build")
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("loss, multiclass", MODELS)
@pytest.mark.parametrize("center, fit_intercept", PARAMETRISATIONS)
@pytest.mark.parametrize("n_threads", [1, 2])
def test_gradient_matches_reference(loss, multiclass, center, fit_intercept, n_threads, dtype):
    X, y, weights, coef = model_problem(loss, multiclass, dtype)
    mean = X.mean(axis=0) if center else None
    # Rows out of order, some twice: the sum is over the rows given, as given.
    rows = np.random.default_rng(3).integers(0, X.shape[0], 60)
    config = {"loss": loss, "multiclass": multiclass, "center": center,
              "fit_intercept": fit_intercept, "n_threads": n_threads}
    (k_grad, k_loss), (r_grad, r_loss) = gradients(X, y, weights, coef, rows, config, mean)
    rel = tolerance(dtype, loss)
    assert relative_error(k_grad, r_grad) < rel
    assert relative_error(k_loss, r_loss) < rel
    assert np.any(k_grad != 0) and k_loss > 0
    intercepts = k_grad.reshape(-1, X.shape[1] + 1)[:, -1]
    assert np.all(intercepts == 0) != fit_intercept


@pytest.mark.usefixtures("each_kernel_build")
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("loss, multiclass", [("squared_error", "none"),
                                              ("log_loss", "multinomial")])
def test_large_gradient_on_threads_matches_reference(loss, multiclass, dtype):
    """81,000 rows of 13 features are just over the size from which a batch is split over
    threads; the order of the sum is the only change."""
    X, y, weights, coef = model_problem(loss, multiclass, dtype, n_samples=81000,
                                        n_features=13, seed=8)
    mean = X.mean(axis=0)
    rows = np.arange(X.shape[0])
    results = {}
    for n_threads in (1, 2):
        config = {"loss": loss, "multiclass": multiclass, "center": True,
                  "fit_intercept": True, "n_threads": n_threads}
        kernel, reference = gradients(X, y, weights, coef, rows, config, mean)
        assert relative_error(kernel[0], reference[0]) < tolerance(dtype, loss)
        assert relative_error(kernel[1], reference[1]) < tolerance(dtype, loss)
        results[n_threads] = kernel[0]
    if dtype == np.float64:       # two threads did run: the sum's order changed its last bits
        assert not np.array_equal(results[1], results[2])


@pytest.mark.parametrize("engine", _engine.ENGINES)
@pytest.mark.parametrize("loss, multiclass", [("huber", "none"), ("log_loss", "multinomial")])
def test_chunk_gradients_add_up_to_the_whole(engine, loss, multiclass):
    X, y, weights, coef = model_problem(loss, multiclass, np.float64)
    config = {"loss": loss, "multiclass": multiclass, "center": True, "fit_intercept": True}
    mean = X.mean(axis=0)
    whole = _engine.batch_gradient(engine, X, y, weights, coef, np.arange(97), config, mean)
    chunks = np.split(np.arange(97), [30, 30, 64])          # the second chunk is empty
    parts = [_engine.batch_gradient(engine, X, y, weights, coef, rows, config, mean)
             for rows in chunks]
    assert np.all(parts[1][0] == 0) and parts[1][1] == 0.0
    assert relative_error(sum(part[0] for part in parts), whole[0]) < 1e-12
    assert relative_error(sum(part[1] for part in parts), whole[1]) < 1e-12


def mlp_decay_mask():
    """A network's layout, 3 inputs -> 4 hidden -> 2 outputs: weight matrix, biases, weight
    matrix, biases. Its decayed runs are not a linear model's rows."""
    return np.concatenate([np.ones(12, bool), np.zeros(4, bool), np.ones(8, bool),
                           np.zeros(2, bool)])


def steps(engine, name, hyper, initial, dtype, decay_mask, n_steps=6, seed=0):
    """n_steps optimizer_steps with random gradients; return (coef, state, scalars, ts, lrs)."""
    rng = np.random.default_rng(seed)
    n = decay_mask.size
    coef = rng.standard_normal(n).astype(dtype)
    state = np.full((_engine.state_rows(name), n), initial, dtype=dtype)
    scalars = np.ones(_engine.SCALAR_STATE_SIZE)
    config = dict(hyper, optimizer=name, learning_rate=OPTIMIZER_CASES_LR[name], **PENALTIES)
    t, ts, lrs = 0, [], []
    for _ in range(n_steps):
        gradient = rng.standard_normal(n).astype(dtype)
        given = gradient.copy()
        t, lr = _engine.optimizer_step(engine, coef, gradient, state, scalars, decay_mask,
                                       config, t)
        np.testing.assert_array_equal(gradient, given)       # the gradient is not modified
        ts.append(t)
        lrs.append(lr)
    return coef, state, scalars, ts, lrs


OPTIMIZER_CASES_LR = {name: lr for name, lr, _, _ in OPTIMIZER_CASES.values()}


@pytest.mark.usefixtures("each_kernel_build")
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", OPTIMIZER_CASES)
def test_step_matches_reference_on_any_layout(case, dtype):
    name, _, hyper, initial = OPTIMIZER_CASES[case]
    kernel = steps("cython", name, hyper, initial, dtype, mlp_decay_mask())
    reference = steps("numpy", name, hyper, initial, dtype, mlp_decay_mask())
    rel = 1e-12 if dtype == np.float64 else TOLERANCE[np.float32]
    assert kernel[0].dtype == dtype
    assert relative_error(kernel[0], reference[0]) < rel                    # parameters
    for k_buffer, r_buffer in zip(kernel[1], reference[1]):                  # buffers
        assert relative_error(k_buffer, r_buffer) < rel
    assert relative_error(kernel[2], reference[2]) < 1e-12                   # scalar state
    assert kernel[3] == reference[3] == [1, 2, 3, 4, 5, 6]                    # t
    assert relative_error(kernel[4], reference[4]) < 1e-12                   # rates


# Masks whose runs of decayed entries start and end at the vector's ends, or not at all.
MASKS = {"network": mlp_decay_mask(), "none": np.zeros(26, bool), "all": np.ones(26, bool),
         "alternating": np.arange(26) % 2 == 1, "last-only": np.arange(26) == 25}


@pytest.mark.usefixtures("each_kernel_build")
@pytest.mark.parametrize("engine", _engine.ENGINES)
@pytest.mark.parametrize("mask_name", MASKS)
@pytest.mark.parametrize("optimizer, config", [
    ("sgd", {"l2": 0.5, "l1": 0.01}), ("sgd", {"weight_decay": 0.5}),
    ("adamw", {"weight_decay": 0.5})])
def test_penalties_act_only_where_the_mask_is_true(engine, mask_name, optimizer, config):
    """With a zero gradient only the penalties move the parameters: the weights shrink
    towards zero by their exact amounts, the biases stay where they are."""
    mask = MASKS[mask_name]
    coef = np.linspace(-1.0, 1.0, mask.size) + 0.05
    start = coef.copy()
    state = np.zeros((_engine.state_rows(optimizer), coef.size))
    t, lr = _engine.optimizer_step(engine, coef, np.zeros_like(coef), state, np.ones(4), mask,
                                   dict(config, optimizer=optimizer, learning_rate=0.1), 0)
    assert (t, lr) == (1, 0.1)
    np.testing.assert_array_equal(coef[~mask], start[~mask])
    decay = config.get("l2", 0.0) + config.get("weight_decay", 0.0)
    shrunk = start[mask] * (1 - lr * decay)
    expected = np.sign(shrunk) * np.maximum(np.abs(shrunk) - lr * config.get("l1", 0.0), 0.0)
    np.testing.assert_allclose(coef[mask], expected, rtol=1e-14, atol=1e-15)


def fused_and_composed(engine, name, hyper, initial, loss, multiclass, center, n_epochs=3):
    """n_epochs full-batch epochs of run_epoch, and the same steps as batch_gradient then
    optimizer_step; return both runs' (coef, state, scalars, losses, ts, lrs)."""
    X, y, weights, start = model_problem(loss, multiclass, np.float64)
    n, d = X.shape
    mean = X.mean(axis=0)
    config = dict(hyper, loss=loss, multiclass=multiclass, optimizer=name, batch_size=n,
                  center=center, fit_intercept=True, learning_rate=OPTIMIZER_CASES_LR[name],
                  **PENALTIES)
    runs = []
    for composed in (False, True):
        coef = start.copy()
        state = np.full((_engine.state_rows(name), coef.size), initial)
        scalars, t, record = np.ones(_engine.SCALAR_STATE_SIZE), 0, []
        mask = _engine.linear_decay_mask(d, coef.size // (d + 1))
        for _ in range(n_epochs):
            if composed:
                gradient, loss_sum = _engine.batch_gradient(engine, X, y, weights, coef,
                                                            np.arange(n), config, mean)
                t, lr = _engine.optimizer_step(engine, coef, gradient / n, state, scalars,
                                               mask, config, t)
            else:
                status, loss_sum, t, _, lr = _engine.run_epoch(
                    engine, X, y, weights, coef, state, scalars, np.arange(n), config, t, 0,
                    mean=mean)
                assert status == _engine.STATUS_OK
            record.append((loss_sum, t, lr))
        runs.append((coef, state, scalars, *map(np.array, zip(*record))))
    return runs


@pytest.mark.usefixtures("each_kernel_build")
@pytest.mark.parametrize("engine", _engine.ENGINES)
@pytest.mark.parametrize("case", OPTIMIZER_CASES)
@pytest.mark.parametrize("loss, multiclass, center", [("squared_error", "none", False),
                                                      ("log_loss", "multinomial", True)])
def test_gradient_then_step_is_a_full_batch_epoch(engine, case, loss, multiclass, center):
    name, _, hyper, initial = OPTIMIZER_CASES[case]
    fused, composed = fused_and_composed(engine, name, hyper, initial, loss, multiclass,
                                         center)
    for fused_value, composed_value in zip(fused, composed):
        if fused_value.size:                                # plain SGD keeps no buffers
            assert relative_error(composed_value, fused_value) < 1e-12
    assert list(composed[4]) == [1, 2, 3]                               # t
    assert not np.allclose(composed[0], model_problem(loss, multiclass, np.float64)[3])


def test_linear_decay_mask_marks_the_weights_of_each_output():
    np.testing.assert_array_equal(_engine.linear_decay_mask(2, 2),
                                  [True, True, False, True, True, False])


# --- bad input: clear errors from both engines, nothing modified ---------------------------


def gradient_arguments():
    X, y, weights, coef = model_problem("squared_error", "none", np.float64)
    return dict(X=X, y=y, sample_weight=weights, coef=coef, rows=np.arange(10),
                config={"loss": "squared_error"})


@pytest.mark.parametrize("engine", _engine.ENGINES)
@pytest.mark.parametrize("change, message", [
    ({"X": np.zeros((97, 7), np.float32)}, "X must be a contiguous 2-d array of coef's dtype"),
    ({"X": np.zeros((97, 14))[:, ::2]}, "X must be a contiguous"),
    ({"y": np.zeros(96)}, "X has 97 rows but y has 96"),
    ({"coef": np.zeros(9)}, "coef has 9 entries"),
    ({"coef": np.zeros((1, 8))}, "coef must be a contiguous 1-d"),
    ({"rows": np.array([0, 97])}, r"rows must hold indices in \[0, 97\)"),
    ({"rows": np.array([-1])}, r"rows must hold indices in \[0, 97\)"),
    ({"rows": np.array([0.0, 1.0])}, "rows must be a 1-d array of integer row indices"),
    ({"config": {"loss": "squared"}}, "config\\['loss'\\] is 'squared'"),
    ({"config": {"loss": "log_loss", "multiclass": "multinomial"}, "coef": np.zeros(24)},
     r"y must hold class indices 0 \.\. 2"),
])
def test_gradient_rejects_bad_input(engine, change, message):
    args = dict(gradient_arguments(), **change)
    with pytest.raises(ValueError, match=message):
        _engine.batch_gradient(engine, args["X"], args["y"], args["sample_weight"],
                               args["coef"], args["rows"], args["config"])


def test_gradient_accepts_any_integer_rows():
    args = gradient_arguments()
    expected = _engine.batch_gradient("cython", **args)
    for rows in (args["rows"].astype(np.int32), list(range(10))):
        result = _engine.batch_gradient("cython", **dict(args, rows=rows))
        np.testing.assert_array_equal(result[0], expected[0])


@pytest.mark.parametrize("engine", _engine.ENGINES)
def test_gradient_reads_read_only_arrays(engine):
    """A worker's data and parameters may be read-only (memory maps, broadcast arrays)."""
    args = gradient_arguments()
    expected = _engine.batch_gradient(engine, **args)
    for name in ("X", "y", "sample_weight", "coef", "rows"):
        args[name] = args[name].copy()
        args[name].flags.writeable = False
    result = _engine.batch_gradient(engine, **args)
    np.testing.assert_array_equal(result[0], expected[0])
    assert result[1] == expected[1]


def read_only(array):
    array.flags.writeable = False
    return array


def step_arguments():
    n = mlp_decay_mask().size
    return dict(coef=np.ones(n), gradient=np.ones(n), state=np.zeros((3, n)),
                scalars=np.ones(4), decay_mask=mlp_decay_mask(),
                config={"optimizer": "adam"}, t=0)


@pytest.mark.parametrize("engine", _engine.ENGINES)
@pytest.mark.parametrize("change, message", [
    ({"gradient": np.ones(25)}, r"gradient must be a float vector of coef's shape \(26,\)"),
    ({"decay_mask": np.ones(26)}, "decay_mask must be a boolean vector"),
    ({"decay_mask": np.ones(25, bool)}, "decay_mask must be a boolean vector"),
    ({"state": np.zeros((2, 26))}, r"adam keeps 3 buffers"),
    ({"state": np.zeros((3, 26), np.float32)}, "state must be a float64 array"),
    ({"scalars": np.ones(3)}, r"scalars must be a float64 array of shape \(4,\)"),
    ({"coef": np.ones(26, np.float32)}, "state must be a float32 array"),
    ({"coef": np.ones(26, np.int64)}, "coef must be a writable, contiguous 1-d float32"),
    ({"coef": read_only(np.ones(26))}, "coef must be a writable"),
    ({"t": -1}, "t must be the number of updates taken so far"),
    ({"t": 1.5}, "t must be the number of updates taken so far"),
    ({"config": {"optimizer": "adamm"}}, "config\\['optimizer'\\] is 'adamm'"),
])
def test_step_rejects_bad_input_and_changes_nothing(engine, change, message):
    args = dict(step_arguments(), **change)
    before = {name: np.copy(value) for name, value in args.items()
              if isinstance(value, np.ndarray)}
    with pytest.raises(ValueError, match=message):
        _engine.optimizer_step(engine, **args)
    for name, value in before.items():
        np.testing.assert_array_equal(args[name], value)


def test_kernel_entry_points_check_what_protects_memory():
    """Called directly, the compiled entry points still refuse what would read or write out
    of bounds."""
    kernel = _engine.kernel
    args = gradient_arguments()
    config = _engine._kernel_codes(_engine._full_config(args["config"]))
    X, y, weights, coef = args["X"], args["y"], args["sample_weight"], args["coef"]
    mean = np.zeros(X.shape[1])
    with pytest.raises(ValueError, match="rows must hold row indices"):
        kernel.batch_gradient(X, y, weights, mean, coef, np.array([97], np.intp), config)
    with pytest.raises(ValueError, match="X, y and sample_weight"):
        kernel.batch_gradient(X, y[:-1], weights, mean, coef, np.arange(3), config)
    step = step_arguments()
    config = _engine._kernel_codes(_engine._full_config(step["config"]))
    with pytest.raises(ValueError, match="gradient and decay_mask"):
        kernel.optimizer_step(step["coef"], step["gradient"], step["state"], step["scalars"],
                              np.ones(25, np.uint8), config, 0)
    with pytest.raises(ValueError, match="state must have one row per optimizer buffer"):
        kernel.optimizer_step(step["coef"], step["gradient"], np.zeros((3, 25)),
                              step["scalars"], step["decay_mask"].view(np.uint8), config, 0)

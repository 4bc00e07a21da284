"""The two engines behind one call: the compiled kernel and its NumPy reference.

Both take the same arrays and a config naming the loss, optimizer and schedule by string;
only the kernel needs those names turned into its integer codes.

The compiled kernel comes in two builds of one source: gdfast._kernels.linear (baseline
instruction set) and, on x86-64, gdfast._kernels.linear_avx2 (AVX2 + FMA), used when the CPU
has both.
GDFAST_KERNEL=baseline or =avx2 forces one (avx2 fails loudly where it cannot run).
"""
import importlib
import os

import numpy as np

from gdfast import _layout, optim
from gdfast.linear_model import _sparse
from gdfast.optim import schedules
from gdfast._kernels import linear as _kernel
from gdfast._slow import linear as _reference


def available_kernels():
    """The compiled builds that can run on this machine, baseline first."""
    builds = [_kernel]
    try:
        avx2 = importlib.import_module("gdfast._kernels.linear_avx2")
    except ImportError:
        return builds
    if _kernel.cpu_supports_avx2_fma():
        builds.append(avx2)
    return builds


def _select_kernel():
    choice = os.environ.get("GDFAST_KERNEL", "auto")
    builds = {module.__name__.rsplit(".", 1)[1]: module for module in available_kernels()}
    if choice == "auto":
        return builds.get("linear_avx2", _kernel)
    if choice in ("baseline", "avx2"):
        name = "linear" if choice == "baseline" else "linear_avx2"
        if name not in builds:
            raise ImportError(f"GDFAST_KERNEL={choice}: that build is not installed or this "
                              "CPU cannot run it.")
        return builds[name]
    raise ImportError(f"GDFAST_KERNEL={choice!r}; expected 'auto', 'baseline' or 'avx2'.")


# The build every 'cython' engine call goes through (tests swap it to cover each build).
kernel = _select_kernel()

ENGINES = ("cython", "numpy")
LOSS_NAMES = tuple(_kernel.LOSSES)
OPTIMIZER_NAMES = tuple(optim.OPTIMIZER_CLASSES)
STATUS_OK = _kernel.STATUS_OK
SCALAR_STATE_SIZE = _kernel.SCALAR_STATE_SIZE

# Every field of the kernel's EpochConfig, with values that leave a feature switched off;
# the optimizers' and the schedules' fields come from their classes' declarations.
NEUTRAL_CONFIG = {
    "loss": "squared_error", "multiclass": "none", "epsilon": 0.1, "optimizer": "sgd",
    "batch_size": 1, "n_threads": 1, "shuffle": False,
    "fit_intercept": True, "center": False, "scale": False, "unit_weights": False,
    "learning_rate": 0.01,
    "schedule": "constant", "warmup_steps": 0.0, "l2": 0.0, "l1": 0.0,
    **optim.NEUTRAL_CONFIG, **schedules.NEUTRAL_CONFIG,
}


def state_rows(optimizer):
    """How many parameter-sized buffers `optimizer` (a name) keeps between steps."""
    return optim.OPTIMIZER_CLASSES[optimizer].n_buffers


def run_epoch(engine, X, y, sample_weight, coef, state, scalars, order, config, t, rng_state,
              mean=None, inv_scale=None, average=None, average_start=0):
    """One epoch with the chosen engine; see gdfast._kernels.linear.run_epoch. `mean` (the feature
    means of the centred parametrisation, used with config["center"]) defaults to zeros,
    `inv_scale` (the features' scales s of z = (x − mean)∘s, used with config["scale"]) to
    ones. `average`, if given, is the running mean of the iterates after the updates
    t > average_start, updated in place (see docs/mathematics.md, section "Averaging");
    None averages nothing. sample_weight None weighs every row 1."""
    config = dict(NEUTRAL_CONFIG, **config)
    if inv_scale is None:
        inv_scale = np.ones(X.shape[1], dtype=X.dtype)
    average = _checked_average(average, average_start, coef)
    if _sparse.is_sparse(X):
        return _run_sparse_epoch(engine, X, y, sample_weight, coef, state, scalars, order,
                                 config, t, rng_state, inv_scale, average, average_start)
    if mean is None:
        mean = np.zeros(X.shape[1], dtype=X.dtype)
    if engine == "cython":
        return kernel.run_epoch(X, y, sample_weight, mean, coef, state, scalars, order,
                                _kernel_codes(config), t, rng_state, average, average_start,
                                inv_scale)
    return _reference.run_epoch(X, y, sample_weight, mean, coef, state, scalars, order, config,
                                t, rng_state, average, average_start, inv_scale)


def _checked_average(average, average_start, coef):
    """run_epoch's average buffer as the engines take it (empty: none), checked."""
    if isinstance(average_start, bool) or not isinstance(average_start, (int, np.integer)) \
            or average_start < 0:
        raise ValueError("average_start must be the number of updates after which averaging "
                         f"starts, an integer >= 0; got {average_start!r}.")
    dtype = getattr(coef, "dtype", np.float64)
    if average is None:
        return np.empty(0, dtype=dtype)
    if not (isinstance(average, np.ndarray) and average.ndim == 1
            and average.shape == np.shape(coef) and average.dtype == dtype
            and average.flags.c_contiguous and average.flags.writeable):
        raise ValueError(f"average must be a writable contiguous 1-d {dtype} array of coef's "
                         f"shape {np.shape(coef)} (the running mean of the parameters), or "
                         f"None; got {_describe(average)}.")
    return average


def _run_sparse_epoch(engine, X, y, sample_weight, coef, state, scalars, order, config, t,
                      rng_state, inv_scale, average, average_start):
    """run_epoch on a CSR X (a scipy.sparse matrix or array, or a prepared KernelCSR),
    trained uncentred (scaled with config["scale"])."""
    config = dict(config, center=False)
    if engine == "cython":
        return kernel.run_epoch_csr(prepare_sparse(X).rows, y, sample_weight, coef, state,
                                    scalars, order, _kernel_codes(config), t, rng_state,
                                    average, average_start, inv_scale)
    X = _sparse.matrix_of(X)
    return _reference.run_epoch(X, y, sample_weight, np.zeros(X.shape[1], dtype=X.dtype), coef,
                                state, scalars, order, config, t, rng_state, average,
                                average_start, inv_scale)


def prepare_sparse(X):
    """A KernelCSR of a scipy.sparse CSR X: the kernel's arrays, checked once (O(nnz)), to
    be passed to run_epoch in place of X for every epoch of a fit."""
    if isinstance(X, _sparse.KernelCSR):
        return X
    return _sparse.KernelCSR(X, kernel.CSRRows(*_sparse.kernel_arrays(X), X.shape[1]))


def sparse_update_kind(config):
    """How the kernel updates on CSR rows under `config`: 'lazy sgd' and 'lazy compact'
    in O(nnz of the batch) per update, 'dense step' in O(n_features) (the exact update of
    the rules whose skipped steps cannot be caught up late)."""
    return kernel.sparse_update_kind(_kernel_codes(_full_config(config)))


def sparse_column_records(config, n_samples, n_features, nnz, n_outputs=1, itemsize=8):
    """(bytes of a column record, 'stamped' / 'scaled' / None: how skipped steps' state
    decay is caught up) of a compact mini-batch under `config` on CSR rows of that shape;
    (0, None) without records."""
    return kernel.csr_column_records(_kernel_codes(_full_config(config)), n_samples,
                                     n_features, nnz, n_outputs, itemsize)


def _kernel_codes(config):
    """A full config with the names of the loss, optimizer and schedule as kernel codes."""
    return dict(config, loss=_kernel.LOSSES[config["loss"]],
                multiclass=_kernel.MULTICLASS[config["multiclass"]],
                optimizer=_kernel.OPTIMIZERS[config["optimizer"]],
                schedule=_kernel.STEP_SCHEDULES[config["schedule"]])


# --- the two halves of a step, for callers that assemble their own ------------------------
# run_epoch takes, for each batch, the batch's gradient and then one optimizer step. The two
# are also available alone, on the same code: batch_gradient for a set of rows (a worker's
# chunk: the sums of several chunks add up), optimizer_step for any flat parameter vector
# (a network's weights and biases) with a mask of the entries that are penalised and decayed.


def linear_decay_mask(n_features, n_outputs=1):
    """The decay mask of a linear model's parameters: True on each output's n_features
    weights, False on the intercept that ends its row (the mask run_epoch uses)."""
    return _layout.is_weight(n_outputs, n_features)


def batch_gradient(engine, X, y, sample_weight, coef, rows, config, mean=None,
                   inv_scale=None):
    """The gradient sum and loss sum of the rows X[rows] at the parameters coef.

    Return (gradient, loss_sum). gradient has coef's shape and dtype and holds, for each
    output k, the sum over the rows i of sample_weight[i] · dL/dp_k · (z_i, 1), where p_k is
    output k's prediction and z_i = x_i − mean (x_i without config["center"]), times
    inv_scale with config["scale"] (0 in the intercept's entry without
    config["fit_intercept"]). loss_sum is the sum of
    sample_weight[i] · L over the same rows. Neither includes the penalty or weight decay,
    which optimizer_step applies, and neither is divided by the number of rows: sums over
    disjoint chunks of rows add up to the sum over all of them, and run_epoch steps with
    the batch's gradient sum divided by its row count. An empty `rows` gives zeros.
    config, mean and inv_scale are as for run_epoch; config["n_threads"] splits a large set of rows
    over threads as run_epoch splits a large batch.
    """
    config = _full_config(config)
    mean, inv_scale, rows = _check_gradient_arguments(X, y, sample_weight, mean, inv_scale,
                                                      coef, rows, config)
    if engine == "cython":
        return kernel.batch_gradient(X, y, sample_weight, mean, coef, rows,
                                     _kernel_codes(config), inv_scale)
    with np.errstate(over="ignore", invalid="ignore"):
        gradient, loss_sum = _reference.batch_gradient(X, y, sample_weight, mean, coef, rows,
                                                       config, inv_scale)
    return gradient.astype(coef.dtype), loss_sum


def optimizer_step(engine, coef, gradient, state, scalars, decay_mask, config, t):
    """Take update t + 1 of config["optimizer"] in place on coef, state and scalars, as
    run_epoch does after each batch; return (t + 1, the update's learning rate).

    coef is a flat parameter vector of any layout and gradient the gradient of the
    objective at coef, without the penalty (for a batch: batch_gradient's sum divided by
    the number of rows); it is not modified. decay_mask is a boolean vector the size of
    coef: the l2 penalty, weight decay and the l1 proximal step act where it is True
    (weights) and never where it is False (intercepts, biases); linear_decay_mask gives a
    linear model's. state and scalars are the optimizer's buffers and scalar state, as for
    run_epoch, and t the number of updates taken so far: it drives the schedule's rate and
    the bias corrections.
    """
    config = _full_config(config)
    gradient, decay_mask = _check_step_arguments(coef, gradient, state, scalars, decay_mask,
                                                 config, t)
    if engine == "cython":
        return kernel.optimizer_step(coef, gradient, state, scalars, decay_mask.view(np.uint8),
                                     _kernel_codes(config), t)
    with np.errstate(over="ignore", invalid="ignore"):
        return _reference.optimizer_step(coef, gradient, state, scalars, decay_mask, config, t)


def _full_config(config):
    """config completed from NEUTRAL_CONFIG, its option names checked."""
    config = dict(NEUTRAL_CONFIG, **config)
    for key, names in [("loss", _kernel.LOSSES), ("multiclass", _kernel.MULTICLASS),
                       ("optimizer", _kernel.OPTIMIZERS), ("schedule", _kernel.STEP_SCHEDULES)]:
        if config[key] not in names:
            raise ValueError(f"config[{key!r}] is {config[key]!r}; expected one of "
                             f"{', '.join(map(repr, names))}.")
    return config


def _check_parameters(coef, updated):
    """coef is read by batch_gradient (a read-only array will do) and updated in place by
    optimizer_step."""
    if not (isinstance(coef, np.ndarray) and coef.ndim == 1
            and coef.dtype in (np.float32, np.float64) and coef.flags.c_contiguous
            and (coef.flags.writeable or not updated)):
        raise ValueError(f"coef must be a {'writable, ' if updated else ''}contiguous 1-d "
                         "float32 or float64 array (the flat parameter vector); got "
                         f"{_describe(coef)}.")


def _describe(value):
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    return f"a {type(value).__name__}"


def _check_gradient_arguments(X, y, sample_weight, mean, inv_scale, coef, rows, config):
    """Check batch_gradient's arrays; return mean (zeros if None), inv_scale (ones if None)
    and rows as intp."""
    _check_parameters(coef, updated=False)
    if mean is None and isinstance(X, np.ndarray) and X.ndim == 2:
        mean = np.zeros(X.shape[1], dtype=X.dtype)
    if inv_scale is None and isinstance(X, np.ndarray) and X.ndim == 2:
        inv_scale = np.ones(X.shape[1], dtype=X.dtype)
    for name, value, ndim in [("X", X, 2), ("y", y, 1), ("sample_weight", sample_weight, 1),
                              ("mean", mean, 1), ("inv_scale", inv_scale, 1)]:
        if not (isinstance(value, np.ndarray) and value.ndim == ndim
                and value.dtype == coef.dtype and value.flags.c_contiguous):
            raise ValueError(f"{name} must be a contiguous {ndim}-d array of coef's dtype "
                             f"({coef.dtype}); got {_describe(value)}. Convert it with "
                             f"np.ascontiguousarray({name}, dtype=coef.dtype).")
    n_samples, n_features = X.shape
    if len(y) != n_samples or len(sample_weight) != n_samples:
        raise ValueError(f"X has {n_samples} rows but y has {len(y)} and sample_weight "
                         f"{len(sample_weight)}; give one target and one weight per row.")
    if len(mean) != n_features or len(inv_scale) != n_features:
        raise ValueError(f"mean has {len(mean)} values and inv_scale {len(inv_scale)} for "
                         f"{n_features} features; give one value per feature.")
    if not _layout.holds_whole_outputs(coef.size, n_features):
        raise ValueError(f"coef has {coef.size} entries; a model of {n_features} features "
                         f"needs n_features + 1 = {_layout.output_len(n_features)} per output.")
    rows = np.asarray(rows)
    if rows.ndim != 1 or not (rows.dtype.kind in "iu" or rows.size == 0):
        raise ValueError("rows must be a 1-d array of integer row indices into X; got "
                         f"{_describe(rows)}.")
    if rows.size and (rows.min() < 0 or rows.max() >= n_samples):
        raise ValueError(f"rows must hold indices in [0, {n_samples}) (X has {n_samples} "
                         f"rows); got values from {rows.min()} to {rows.max()}.")
    n_outputs = _layout.n_outputs(coef.size, n_features)
    if config["multiclass"] != "none":
        labels = y[rows]
        if not np.all((labels >= 0) & (labels < n_outputs) & (labels == np.floor(labels))):
            raise ValueError(f"With {n_outputs} outputs, y must hold class indices 0 .. "
                             f"{n_outputs - 1} at the given rows.")
    return mean, inv_scale, rows.astype(np.intp, copy=False)


def _check_step_arguments(coef, gradient, state, scalars, decay_mask, config, t):
    """Check optimizer_step's arrays; return the gradient in coef's dtype and the mask."""
    _check_parameters(coef, updated=True)
    if coef.size == 0:
        raise ValueError("coef must hold at least one parameter.")
    gradient, decay_mask = np.asarray(gradient), np.asarray(decay_mask)
    if gradient.shape != coef.shape or gradient.dtype.kind != "f":
        raise ValueError(f"gradient must be a float vector of coef's shape {coef.shape}; "
                         f"got {_describe(gradient)}.")
    if decay_mask.shape != coef.shape or decay_mask.dtype != np.bool_:
        raise ValueError(f"decay_mask must be a boolean vector of coef's shape {coef.shape} "
                         "(True where the penalty and weight decay apply); got "
                         f"{_describe(decay_mask)}.")
    rows = state_rows(config["optimizer"])
    if not (isinstance(state, np.ndarray) and state.shape == (rows, coef.size)
            and state.dtype == coef.dtype):
        raise ValueError(f"state must be a {coef.dtype} array of shape {(rows, coef.size)} "
                         f"({config['optimizer']} keeps {rows} buffers the size of coef); got "
                         f"{_describe(state)}.")
    if not (isinstance(scalars, np.ndarray) and scalars.shape == (SCALAR_STATE_SIZE,)
            and scalars.dtype == np.float64):
        raise ValueError(f"scalars must be a float64 array of shape ({SCALAR_STATE_SIZE},) "
                         f"(all 1.0 before the first step); got {_describe(scalars)}.")
    if isinstance(t, bool) or not isinstance(t, (int, np.integer)) or t < 0:
        raise ValueError(f"t must be the number of updates taken so far, an integer >= 0; "
                         f"got {t!r}.")
    return (np.ascontiguousarray(gradient, dtype=coef.dtype),
            np.ascontiguousarray(decay_mask))

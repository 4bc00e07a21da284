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

from gdfast import optim
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
    "fit_intercept": True, "center": False, "unit_weights": False, "learning_rate": 0.01,
    "schedule": "constant", "warmup_steps": 0.0, "l2": 0.0, "l1": 0.0,
    **optim.NEUTRAL_CONFIG, **schedules.NEUTRAL_CONFIG,
}


def state_rows(optimizer):
    """How many parameter-sized buffers `optimizer` (a name) keeps between steps."""
    return optim.OPTIMIZER_CLASSES[optimizer].n_buffers


def run_epoch(engine, X, y, sample_weight, coef, state, scalars, order, config, t, rng_state,
              mean=None):
    """One epoch with the chosen engine; see gdfast._kernels.linear.run_epoch. `mean` (the feature
    means of the centred parametrisation) defaults to zeros."""
    config = dict(NEUTRAL_CONFIG, **config)
    if mean is None:
        mean = np.zeros(X.shape[1], dtype=X.dtype)
    if engine == "cython":
        codes = dict(config, loss=_kernel.LOSSES[config["loss"]],
                     multiclass=_kernel.MULTICLASS[config["multiclass"]],
                     optimizer=_kernel.OPTIMIZERS[config["optimizer"]],
                     schedule=_kernel.STEP_SCHEDULES[config["schedule"]])
        return kernel.run_epoch(X, y, sample_weight, mean, coef, state, scalars, order, codes,
                                t, rng_state)
    return _reference.run_epoch(X, y, sample_weight, mean, coef, state, scalars, order, config,
                                t, rng_state)

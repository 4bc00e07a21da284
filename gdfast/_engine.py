"""The two engines behind one call: the compiled kernel and its NumPy reference.

Both take the same arrays and a config naming the loss, optimizer and schedule by string;
only the kernel needs those names turned into its integer codes.
"""
from gdfast import _kernel, _reference

ENGINES = ("cython", "numpy")
LOSS_NAMES = tuple(_kernel.LOSSES)
OPTIMIZER_NAMES = tuple(_kernel.OPTIMIZERS)
STATUS_OK = _kernel.STATUS_OK
SCALAR_STATE_SIZE = _kernel.SCALAR_STATE_SIZE

# Every field of the kernel's EpochConfig, with values that leave a feature switched off.
NEUTRAL_CONFIG = {
    "loss": "squared_error", "optimizer": "sgd", "batch_size": 1, "shuffle": False,
    "fit_intercept": True, "learning_rate": 0.01, "schedule": "constant", "power_t": 0.0,
    "optimal_t0": 1.0, "optimal_alpha": 1.0, "warmup_steps": 0.0, "l2": 0.0,
    "weight_decay": 0.0, "momentum": 0.0, "lr_decay": 0.0, "eps": 1e-8, "rmsprop_alpha": 0.99,
    "centered": False, "rho": 0.9, "beta1": 0.9, "beta2": 0.999, "amsgrad": False,
    "momentum_decay": 4e-3,
}


def state_rows(optimizer):
    """How many parameter-sized buffers `optimizer` keeps between steps."""
    return _kernel.OPTIMIZER_STATE_ROWS[optimizer]


def run_epoch(engine, X, y, sample_weight, coef, state, scalars, order, config, t, rng_state):
    """One epoch with the chosen engine; see gdfast._kernel.run_epoch."""
    config = dict(NEUTRAL_CONFIG, **config)
    if engine == "cython":
        codes = dict(config, loss=_kernel.LOSSES[config["loss"]],
                     optimizer=_kernel.OPTIMIZERS[config["optimizer"]],
                     schedule=_kernel.STEP_SCHEDULES[config["schedule"]])
        return _kernel.run_epoch(X, y, sample_weight, coef, state, scalars, order, codes, t,
                                 rng_state)
    return _reference.run_epoch(X, y, sample_weight, coef, state, scalars, order, config, t,
                                rng_state)

"""The two engines behind one call: the compiled kernel and its NumPy reference.

Both take the same arrays and a config naming the loss and the optimizer by string; only
the kernel needs those names turned into its integer codes.
"""
from gdfast import _kernel, _reference

ENGINES = ("cython", "numpy")
LOSS_NAMES = tuple(_kernel.LOSSES)
OPTIMIZER_NAMES = tuple(_kernel.OPTIMIZERS)
STATUS_OK = _kernel.STATUS_OK


def state_rows(optimizer):
    """How many parameter-sized buffers `optimizer` keeps between steps."""
    return _kernel.OPTIMIZER_STATE_ROWS[optimizer]


def run_epoch(engine, X, y, sample_weight, coef, state, order, config, t, rng_state):
    """One epoch with the chosen engine; see gdfast._kernel.run_epoch."""
    if engine == "cython":
        codes = dict(config, loss=_kernel.LOSSES[config["loss"]],
                     optimizer=_kernel.OPTIMIZERS[config["optimizer"]])
        return _kernel.run_epoch(X, y, sample_weight, coef, state, order, codes, t, rng_state)
    return _reference.run_epoch(X, y, sample_weight, coef, state, order, config, t, rng_state)

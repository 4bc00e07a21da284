"""The two engines of a network's epoch: the compiled kernel and its NumPy twin.

Both take the same arrays; the config names the optimizer and schedule by string, as for
the linear models (gdfast.linear_model._engine), and only the kernel needs them as codes.
"""
import numpy as np

from gdfast._kernels import mlp as _kernel
from gdfast._slow import mlp as _reference
from gdfast.linear_model import _engine as _linear_engine

ENGINES = _linear_engine.ENGINES
ACTIVATION_NAMES = tuple(_kernel.ACTIVATIONS)
STATUS_OK = _kernel.STATUS_OK
parameter_layout = _reference.parameter_layout
unpack = _reference.unpack
forward = _reference.forward


def run_epoch(engine, X, Y, sample_weight, coef, state, scalars, order, layer_sizes,
              activation, output, config, t, rng_state):
    """One epoch with the chosen engine; see gdfast._kernels.mlp.run_epoch. config is
    completed from the linear engine's neutral config (l2 is the network's α)."""
    config = _linear_engine._full_config(config)
    if engine == "cython":
        return _kernel.run_epoch(X, Y, sample_weight, coef, state, scalars, order,
                                 np.asarray(layer_sizes, dtype=np.intp),
                                 _kernel.ACTIVATIONS[activation], _kernel.OUTPUTS[output],
                                 _linear_engine._kernel_codes(config), t, rng_state)
    return _reference.run_epoch(X, Y, sample_weight, coef, state, scalars, order, layer_sizes,
                                activation, output, config, t, rng_state)

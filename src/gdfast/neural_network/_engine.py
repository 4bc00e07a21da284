"""The two engines of a network's epoch: the compiled kernel and its NumPy twin.

Both take the same arrays; the config names the optimizer and schedule by string, as for
the linear models (gdfast.linear_model._engine), and only the kernel needs them as codes.
"""
import functools
import importlib

import numpy as np
from threadpoolctl import ThreadpoolController

from gdfast._kernels import mlp as _kernel
from gdfast._slow import mlp as _reference
from gdfast.linear_model import _engine as _linear_engine


def available_kernels():
    """The compiled builds of the network kernel that can run here, baseline first: the
    AVX2 build wherever the linear models' AVX2 build can run."""
    builds = [_kernel]
    if len(_linear_engine.available_kernels()) > 1:
        try:
            builds.append(importlib.import_module("gdfast._kernels.mlp_avx2"))
        except ImportError:
            pass
    return builds


# The build every 'cython' engine call goes through: the one GDFAST_KERNEL selects for the
# linear models (tests swap it to cover each build).
kernel = {module.__name__.rsplit(".", 1)[1]: module for module in available_kernels()}.get(
    "mlp_avx2" if _linear_engine.kernel.__name__.endswith("_avx2") else "mlp", _kernel)

ENGINES = _linear_engine.ENGINES
ACTIVATION_NAMES = tuple(_kernel.ACTIVATIONS)
STATUS_OK = _kernel.STATUS_OK
parameter_layout = _reference.parameter_layout
unpack = _reference.unpack
forward = _reference.forward


def run_epoch(engine, X, Y, sample_weight, coef, state, scalars, order, layer_sizes,
              activation, output, config, t, rng_state, mean=None):
    """One epoch with the chosen engine; see gdfast._kernels.mlp.run_epoch. config is
    completed from the linear engine's neutral config (l2 is the network's α); `mean`, the
    feature means of the centred parametrisation (config["center"]), defaults to zeros."""
    config = _linear_engine._full_config(config)
    if mean is None:
        mean = np.zeros(X.shape[1], dtype=X.dtype)
    if engine == "cython":
        with _blas_controller().limit(limits=1, user_api="blas"):
            return kernel.run_epoch(X, mean, Y, sample_weight, coef, state, scalars, order,
                                     np.asarray(layer_sizes, dtype=np.intp),
                                     _kernel.ACTIVATIONS[activation], _kernel.OUTPUTS[output],
                                     _linear_engine._kernel_codes(config), t, rng_state)
    return _reference.run_epoch(X, mean, Y, sample_weight, coef, state, scalars, order,
                                layer_sizes, activation, output, config, t, rng_state)


@functools.cache
def _blas_controller():
    """The BLAS libraries loaded (scipy's, which the kernel calls, among them). The kernel
    runs them on one thread: a batch's products are small (hundreds of rows), and OpenBLAS
    splitting each over threads costs more than it gains; on a busy machine, whose other
    processes keep its waiting threads from their cores, an epoch ran 30 times slower."""
    return ThreadpoolController()

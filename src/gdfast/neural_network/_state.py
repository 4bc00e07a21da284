"""What a network's fit carries from one epoch (or one partial_fit call) to the next."""
from dataclasses import dataclass, replace

import numpy as np

from gdfast.linear_model import _engine as _linear_engine
from gdfast.neural_network import _engine


@dataclass
class NetworkState:
    coef: np.ndarray        # flat: per layer, its weights (fan_in × fan_out) then its biases
    layer_sizes: tuple      # units per layer, input first, output last
    mean: np.ndarray        # the feature means of the centred parametrisation (zeros: none);
                            # the first layer's biases in coef are then c = b + mean·W₁
    buffers: np.ndarray     # the optimizer's state, one parameter-sized row per buffer
    scalars: np.ndarray     # the optimizer's scalar state (running products), float64
    t: int                  # optimizer updates taken so far
    epoch: int              # epochs (or partial_fit calls) run so far
    rng_state: int          # the in-kernel shuffle generator's state
    adaptive_rate: float    # the current rate of the 'adaptive' schedule

    @classmethod
    def new(cls, layer_sizes, activation, optimizer, dtype, random_state, base_rate,
            mean=None):
        """Glorot-uniform weights and biases, each layer's drawn from U(−b, b) with
        b = √(6 / (fan_in + fan_out)) (√(2 / (fan_in + fan_out)) for the logistic
        activation), drawn in float64 from random_state (a RandomState), which then seeds
        the shuffle. With `mean`, the drawn first biases are those of the centred inputs."""
        _, n_params = _engine.parameter_layout(layer_sizes)
        coef = np.empty(n_params, dtype=dtype)
        weights, biases = _engine.unpack(coef, layer_sizes)
        factor = 2.0 if activation == "logistic" else 6.0
        for W, b in zip(weights, biases):
            bound = np.sqrt(factor / (W.shape[0] + W.shape[1]))
            W[:] = random_state.uniform(-bound, bound, W.shape)
            b[:] = random_state.uniform(-bound, bound, b.shape)
        buffers = np.zeros((_linear_engine.state_rows(optimizer.name), n_params), dtype=dtype)
        for row, value in zip(buffers, optimizer.initial_buffer_values()):
            row[:] = value
        seed = random_state.randint(np.iinfo(np.int32).max)
        mean = np.zeros(layer_sizes[0], dtype=dtype) if mean is None else mean.astype(dtype)
        return cls(coef=coef, layer_sizes=tuple(int(s) for s in layer_sizes), mean=mean,
                   buffers=buffers,
                   scalars=np.ones(_linear_engine.SCALAR_STATE_SIZE), t=0, epoch=0,
                   rng_state=int(seed), adaptive_rate=float(base_rate))

    def layers(self):
        """(weight matrices, bias vectors) as trained: views of coef (the first biases are
        those of the centred inputs)."""
        return _engine.unpack(self.coef, self.layer_sizes)

    def model_layers(self):
        """(weight matrices, bias vectors) of the network on the raw inputs, copies: the
        first biases b = c − mean·W₁."""
        weights, biases = self.layers()
        weights, biases = [W.copy() for W in weights], [b.copy() for b in biases]
        biases[0] -= self.mean @ weights[0]
        return weights, biases

    def copy(self):
        return replace(self, coef=self.coef.copy(), mean=self.mean.copy(),
                       buffers=self.buffers.copy(),
                       scalars=self.scalars.copy())

"""What a fit carries from one epoch (or one partial_fit call) to the next."""
from dataclasses import dataclass, replace

import numpy as np

from gdfast import _engine


@dataclass
class TrainingState:
    coef: np.ndarray        # flat: n_features weights then the intercept, per output
    buffers: np.ndarray     # the optimizer's state, one parameter-sized row per buffer
    scalars: np.ndarray     # the optimizer's scalar state (running products), float64
    t: int                  # optimizer updates taken so far
    epoch: int              # epochs (or partial_fit calls) run so far
    rng_state: int          # the in-kernel shuffle generator's state
    order: np.ndarray       # the row order of the last epoch
    base_rate: float        # γ₀ of learning_rate="auto", fixed when the state is created
    adaptive_rate: float    # the current rate of the 'adaptive' schedule

    @classmethod
    def new(cls, n_params, optimizer, dtype, seed, base_rate):
        buffers = np.zeros((_engine.state_rows(optimizer.name), n_params), dtype=dtype)
        for row, value in zip(buffers, optimizer.initial_buffer_values()):
            row[:] = value
        return cls(coef=np.zeros(n_params, dtype=dtype), buffers=buffers,
                   scalars=np.ones(_engine.SCALAR_STATE_SIZE), t=0, epoch=0,
                   rng_state=int(seed), order=np.empty(0, dtype=np.intp),
                   base_rate=float(base_rate), adaptive_rate=float(base_rate))

    def copy(self):
        """A copy to train on, so that a failed epoch leaves the fitted state untouched."""
        return replace(self, coef=self.coef.copy(), buffers=self.buffers.copy(),
                       scalars=self.scalars.copy(), order=self.order.copy())

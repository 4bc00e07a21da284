"""What a fit carries from one epoch (or one partial_fit call) to the next."""
from dataclasses import dataclass, replace

import numpy as np


@dataclass
class TrainingState:
    coef: np.ndarray        # flat: n_features weights then the intercept, per output
    buffers: np.ndarray     # the optimizer's state, one parameter-sized row per buffer
    t: int                  # optimizer updates taken so far
    rng_state: int          # the in-kernel shuffle generator's state
    order: np.ndarray       # the row order of the last epoch

    @classmethod
    def new(cls, n_params, n_buffers, dtype, seed):
        return cls(coef=np.zeros(n_params, dtype=dtype),
                   buffers=np.zeros((n_buffers, n_params), dtype=dtype),
                   t=0, rng_state=int(seed), order=np.empty(0, dtype=np.intp))

    def copy(self):
        """A copy to train on, so that a failed epoch leaves the fitted state untouched."""
        return replace(self, coef=self.coef.copy(), buffers=self.buffers.copy(),
                       order=self.order.copy())

"""What a fit carries from one epoch (or one partial_fit call) to the next."""
from dataclasses import dataclass, replace

import numpy as np

from gdfast import _layout
from gdfast.linear_model import _engine


@dataclass
class TrainingState:
    coef: np.ndarray        # flat: n_features weights then the intercept, per output (in the
                            # centred parametrisation, the intercept is c = b + w·mean)
    mean: np.ndarray        # the feature means of the centred parametrisation (zeros: none)
    buffers: np.ndarray     # the optimizer's state, one parameter-sized row per buffer
    scalars: np.ndarray     # the optimizer's scalar state (running products), float64
    t: int                  # optimizer updates taken so far
    epoch: int              # epochs (or partial_fit calls) run so far
    rng_state: int          # the in-kernel shuffle generator's state: with it alone the
                            # next epoch draws the same row order (no per-row data is kept)
    base_rate: float        # γ₀ of learning_rate="auto", fixed when the state is created
    adaptive_rate: float    # the current rate of the 'adaptive' schedule
    # Averaging (docs/mathematics.md, section "Averaging"): the running mean of coef over the
    # updates t > average_start, or None without averaging. coef stays the last iterate,
    # which the optimizer continues from; the model is the average once it holds one.
    average: np.ndarray = None
    average_start: int = 0

    @classmethod
    def new(cls, mean, intercepts, optimizer, seed, base_rate, average_start=None):
        """A fresh state: weights 0, intercepts as given, the optimizer's initial buffers;
        averaging the iterates after update average_start (None: no averaging)."""
        dtype, n_features = mean.dtype, mean.shape[0]
        coef = _layout.zeros(len(intercepts), n_features, dtype)
        _layout.by_output(coef, n_features)[:, n_features] = intercepts
        n_params = coef.size
        buffers = np.zeros((_engine.state_rows(optimizer.name), n_params), dtype=dtype)
        for row, value in zip(buffers, optimizer.initial_buffer_values()):
            row[:] = value
        state = cls(coef=coef, mean=mean, buffers=buffers,
                    scalars=np.ones(_engine.SCALAR_STATE_SIZE), t=0, epoch=0,
                    rng_state=int(seed),
                    base_rate=float(base_rate), adaptive_rate=float(base_rate))
        state.set_averaging(average_start)
        return state

    def set_averaging(self, average_start):
        """Average the iterates after update average_start (None: no averaging). An
        average already running is kept unless average_start is later than its start (the
        iterates before it cannot be revisited); a new one starts at the next update at the
        earliest."""
        if average_start is None:
            self.average, self.average_start = None, 0
        elif self.n_averaged == 0 or average_start > self.average_start:
            if self.average is None:
                self.average = np.zeros_like(self.coef)
            self.average_start = max(int(average_start), self.t)

    @property
    def n_averaged(self):
        """How many iterates the average holds (0 without averaging or before its start)."""
        return 0 if self.average is None else max(0, self.t - self.average_start)

    def model_vector(self):
        """The model's flat parameters: the average once it holds an iterate, else coef."""
        return self.average if self.n_averaged > 0 else self.coef

    def restore_model(self, vector):
        """Make `vector` (flat parameters) the model and the iterate to continue from."""
        self.coef = vector.copy()
        if self.n_averaged > 0:
            self.average = vector.copy()

    def model_coef(self):
        """The model's (weights of shape (n_outputs, n_features), intercepts b = c − w·mean):
        the averaged one when averaging has started."""
        rows = _layout.by_output(self.model_vector(), self.mean.shape[0])
        weights = rows[:, :-1]
        return weights.copy(), rows[:, -1] - weights @ self.mean

    def set_model_coef(self, weights, intercepts):
        """Store a model's weights and intercepts b in this state's parametrisation."""
        rows = _layout.by_output(self.coef, self.mean.shape[0])
        rows[:, :-1] = weights
        rows[:, -1] = intercepts + rows[:, :-1] @ self.mean

    def copy(self):
        """A copy to train on, so that a failed epoch leaves the fitted state untouched:
        O(parameters), nothing per row."""
        return replace(self, coef=self.coef.copy(), mean=self.mean.copy(),
                       buffers=self.buffers.copy(), scalars=self.scalars.copy(),
                       average=None if self.average is None else self.average.copy())

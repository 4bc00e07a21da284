"""What a fit carries from one epoch (or one partial_fit call) to the next."""
from dataclasses import dataclass, replace

import numpy as np

from gdfast import _layout
from gdfast.linear_model import _engine
from gdfast.linear_model._statistics import Moments


@dataclass
class TrainingState:
    coef: np.ndarray        # flat: n_features weights then the intercept, per output, of the
                            # model p = w·z + c on z = (x − mean)∘inv_scale: the weights of
                            # the original features are w∘inv_scale, and b = c − (w∘s)·mean
    mean: np.ndarray        # the feature means of the centred parametrisation (zeros: none)
    buffers: np.ndarray     # the optimizer's state, one parameter-sized row per buffer
    scalars: np.ndarray     # the optimizer's scalar state (running products), float64
    t: int                  # optimizer updates taken so far
    epoch: int              # epochs (or partial_fit calls) run so far
    rng_state: int          # the in-kernel shuffle generator's state: with it alone the
                            # next epoch draws the same row order (no per-row data is kept)
    base_rate: float        # γ₀ of learning_rate="auto", fixed when the state is created
    adaptive_rate: float    # the current rate of the 'adaptive' schedule
    inv_scale: np.ndarray = None   # the features' scales s (ones: none)
    moments: Moments | None = None     # of every row trained on so far, for a stream
                                       # (partial_fit) whose statistics follow its chunks
    # Averaging (docs/mathematics.md, section "Averaging"): the running mean of coef over the
    # updates t > average_start, or None without averaging. coef stays the last iterate,
    # which the optimizer continues from; the model is the average once it holds one.
    average: np.ndarray = None
    average_start: int = 0

    @classmethod
    def new(cls, mean, intercepts, optimizer, seed, base_rate, inv_scale=None, moments=None,
            average_start=None):
        """A fresh state: weights 0, intercepts as given, the optimizer's initial buffers;
        inv_scale None: every scale 1; averaging the iterates after update average_start
        (None: no averaging)."""
        dtype, n_features = mean.dtype, mean.shape[0]
        coef = _layout.zeros(len(intercepts), n_features, dtype)
        _layout.by_output(coef, n_features)[:, n_features] = intercepts
        n_params = coef.size
        buffers = np.zeros((_engine.state_rows(optimizer.name), n_params), dtype=dtype)
        for row, value in zip(buffers, optimizer.initial_buffer_values()):
            row[:] = value
        if inv_scale is None:
            inv_scale = np.ones(n_features, dtype=dtype)
        state = cls(coef=coef, mean=mean, buffers=buffers,
                    scalars=np.ones(_engine.SCALAR_STATE_SIZE), t=0, epoch=0,
                    rng_state=int(seed),
                    base_rate=float(base_rate), adaptive_rate=float(base_rate),
                    inv_scale=inv_scale, moments=moments)
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
        """The model in the original units, the averaged one once averaging has started:
        (weights w∘s of shape (n_outputs, n_features), intercepts b = c − (w∘s)·mean)."""
        rows = _layout.by_output(self.model_vector(), self.mean.shape[0])
        weights = rows[:, :-1] * self.inv_scale
        return weights, rows[:, -1] - weights @ self.mean

    def set_model_coef(self, weights, intercepts):
        """Store a model's weights and intercepts b in this state's parametrisation."""
        rows = _layout.by_output(self.coef, self.mean.shape[0])
        rows[:, :-1] = weights / self.inv_scale
        rows[:, -1] = intercepts + np.asarray(weights, dtype=rows.dtype) @ self.mean

    def restandardise(self, mean, inv_scale, buffer_units):
        """Move to the statistics (mean, inv_scale), the model p(x) unchanged: each weight
        becomes w' = w·s/s', each intercept c' = c + (w∘s)·(mean' − mean), and each
        feature's entries of the optimizer's buffers change as its gradients do, by
        r = s'/s to the power of the buffer's units (buffer_units, the optimizer's). The
        intercepts' buffer entries are kept: a shift of the mean moves part of the weights'
        gradient into the intercept's, which the buffers do not follow. Statistics that did
        not change leave the state exactly as it is (w·s/s' would round)."""
        if np.array_equal(mean, self.mean) and np.array_equal(inv_scale, self.inv_scale):
            return
        n_features = self.mean.shape[0]
        old_mean, old_scale = self.mean.astype(np.float64), self.inv_scale.astype(np.float64)
        new_mean, new_scale = mean.astype(np.float64), inv_scale.astype(np.float64)
        # The iterate and the average of the iterates are both models: each moves alike.
        for vector in (self.coef, self.average):
            if vector is None:
                continue
            rows = _layout.by_output(vector, n_features)
            weights = rows[:, :-1].astype(np.float64) * old_scale       # the model's w∘s
            intercepts = rows[:, -1].astype(np.float64) + weights @ (new_mean - old_mean)
            rows[:, :-1] = weights / new_scale
            rows[:, -1] = intercepts
        ratio = new_scale / old_scale
        for buffer, units in zip(self.buffers, buffer_units):
            if units != 0:
                entries = _layout.by_output(buffer, n_features)[:, :-1]
                entries *= (ratio ** units).astype(buffer.dtype)
        self.mean, self.inv_scale = mean, inv_scale

    def copy(self):
        """A copy to train on, so that a failed epoch leaves the fitted state untouched:
        O(parameters), nothing per row. The statistics (mean, inv_scale) are shared, not
        copied: nothing changes them in place (an epoch reads them, restandardise replaces
        them), and on sparse X each is an n_features vector a copy would double."""
        return replace(self, coef=self.coef.copy(), buffers=self.buffers.copy(),
                       scalars=self.scalars.copy(),
                       average=None if self.average is None else self.average.copy())

"""Passes over X, a block of rows at a time, for a linear model in its own parametrisation:
rows of n_features weights and an intercept per output, on the features the model sees,
z = (x − mean)∘inv_scale, computed from the raw rows (dense or sparse) without a copy of X.
Each pass returns sums over its rows (a dict of floats and arrays), so that the sums of a
data set's parts add up to the whole's: in memory one object covers every row, on a Dask
cluster one covers each chunk and the chunks' sums are added (gdfast.dask). The fit
evaluates its model's objective with them (the stopping rule of an averaged model) and the
certificate at a stop its gradient and curvature (_optimality); both use the slow twin's
losses, which define the objective, in float64.
"""
import numpy as np

from gdfast._slow import linear as _reference

# Rows per block: a few MB of float64 temporaries, and no per-row memory of a fit's own.
BLOCK_ROWS = 1 << 15


def objective_config(estimator):
    """What the slow twin's row_losses needs of an estimator's loss."""
    return {"loss": estimator.loss, "multiclass": estimator._multiclass(),
            "epsilon": float(getattr(estimator, "epsilon", 0.1))}


class LinearModelPasses:
    """Blocked passes over the rows of X, y (encoded as the kernel takes them) and weights
    (None: every weight 1), for parameters of shape (outputs, n_features + 1); config as
    objective_config gives it."""

    def __init__(self, X, y, sample_weight, mean, inv_scale, fit_intercept, config):
        self.X, self.y, self.sample_weight = X, y, sample_weight
        self.mean, self.inv_scale = mean.astype(np.float64), inv_scale.astype(np.float64)
        self.fit_intercept, self.config = fit_intercept, config
        self.n_samples = X.shape[0]
        self.blocks = [slice(start, start + BLOCK_ROWS)
                       for start in range(0, X.shape[0], BLOCK_ROWS)]

    def scores(self, rows, parameters):
        """z·w + b for the block `rows`, each output a column."""
        weights = parameters[:, :-1] * self.inv_scale                # original units
        offsets = parameters[:, -1] - weights @ self.mean
        return (np.asarray(self.X[rows] @ weights.T.astype(self.X.dtype, copy=False),
                           dtype=np.float64) + offsets)

    def _weighted_sum(self, values, rows):
        return float(values.sum() if self.sample_weight is None
                     else self.sample_weight[rows] @ values)

    def _accumulate(self, sums, rows, slopes):
        """Add Σ z·a (and Σ a, the intercepts' share) over the block to sums, for the
        weighted slopes a (rows × outputs)."""
        if self.sample_weight is not None:
            slopes = slopes * self.sample_weight[rows, None]
        sums["x_slope"] += np.asarray(self.X[rows].T @ slopes, dtype=np.float64)
        sums["slope"] += slopes.sum(axis=0)

    def _new_gradient_sums(self, n_outputs):
        return {"x_slope": np.zeros((self.mean.shape[0], n_outputs)),
                "slope": np.zeros(n_outputs)}

    def loss_sums(self, parameters, direction=None, multipliers=(0.0,)):
        """{"loss": Σ s·L} of the models parameters + m·direction, one per multiplier m
        (an array): one pass."""
        losses_at = np.zeros(len(multipliers))
        for rows in self.blocks:
            scores = self.scores(rows, parameters)
            changes = None if direction is None else self.scores(rows, direction)
            for k, multiplier in enumerate(multipliers):
                moved = scores if changes is None else scores + multiplier * changes
                losses, _ = _reference.row_losses(moved, self.y[rows], self.config)
                losses_at[k] += self._weighted_sum(losses, rows)
        return {"loss": losses_at}

    def loss_and_gradient_sums(self, parameters):
        """{"loss": Σ s·L (an array of one)} and the loss gradient's sums (see
        parameter_mean) at the model `parameters`: one pass."""
        sums = self._new_gradient_sums(parameters.shape[0])
        sums["loss"] = np.zeros(1)
        for rows in self.blocks:
            losses, slopes = _reference.row_losses(self.scores(rows, parameters),
                                                   self.y[rows], self.config)
            sums["loss"] += self._weighted_sum(losses, rows)
            self._accumulate(sums, rows, slopes)
        return sums

    def curvature_sums(self, direction, curvature):
        """The sums (see parameter_mean) of c·Σ s·z·(z·direction): the product with
        c·ZᵀSZ (Z the rows with a 1 for the intercept): one pass."""
        sums = self._new_gradient_sums(direction.shape[0])
        for rows in self.blocks:
            self._accumulate(sums, rows, curvature * self.scores(rows, direction))
        return sums

    def parameter_mean(self, sums):
        """Gradient-like sums over the rows (Σ x·a, Σ a) as a parameter-shaped mean in the
        model's parametrisation: with z = (x − mean)∘inv_scale,
        Σ z·a = (Σ x·a − mean·Σ a)∘inv_scale."""
        n_samples = self.n_samples
        x_slope, slope = sums["x_slope"], sums["slope"]
        result = np.empty((slope.shape[0], self.mean.shape[0] + 1))
        result[:, :-1] = (x_slope - np.outer(self.mean, slope)).T * self.inv_scale / n_samples
        result[:, -1] = slope / n_samples if self.fit_intercept else 0.0
        return result

"""Passes over X, a block of rows at a time, for a linear model in its own parametrisation:
rows of n_features weights and an intercept per output, on the features the model sees,
z = (x − mean)∘inv_scale, computed from the raw rows (dense or sparse) without a copy of X.
The fit evaluates its model's objective with them (the stopping rule of an averaged model)
and the certificate at a stop (_optimality) its gradient and curvature; both use the slow
twin's losses, which define the objective, in float64.
"""
import numpy as np

from gdfast._slow import linear as _reference

# Rows per block: a few MB of float64 temporaries, and no per-row memory of a fit's own.
BLOCK_ROWS = 1 << 15


class LinearModelPasses:
    """Blocked passes over the rows of X (weights averaging 1, or None) for parameters of
    shape (outputs, n_features + 1)."""

    def __init__(self, X, sample_weight, mean, inv_scale, fit_intercept):
        self.X, self.sample_weight = X, sample_weight
        self.mean, self.inv_scale = mean.astype(np.float64), inv_scale.astype(np.float64)
        self.fit_intercept = fit_intercept
        self.blocks = [slice(start, start + BLOCK_ROWS)
                       for start in range(0, X.shape[0], BLOCK_ROWS)]

    def scores(self, rows, parameters):
        """z·w + b for the block `rows`, each output a column."""
        weights = parameters[:, :-1] * self.inv_scale                # original units
        offsets = parameters[:, -1] - weights @ self.mean
        return (np.asarray(self.X[rows] @ weights.T.astype(self.X.dtype, copy=False),
                           dtype=np.float64) + offsets)

    def weighted_sum(self, values, rows):
        """Σ s·values over the block."""
        return float(values.sum() if self.sample_weight is None
                     else self.sample_weight[rows] @ values)

    def mean_loss(self, parameters, y, config):
        """The weighted mean loss of the model `parameters` under `config` (the slow twin's
        loss, multiclass and epsilon fields), y the encoded targets: one pass."""
        total = 0.0
        for rows in self.blocks:
            losses, _ = _reference.row_losses(self.scores(rows, parameters), y[rows], config)
            total += self.weighted_sum(losses, rows)
        return total / self.X.shape[0]

    def new_totals(self, n_outputs):
        return [np.zeros((self.mean.shape[0], n_outputs)), np.zeros(n_outputs)]

    def accumulate(self, totals, rows, slopes):
        """Add Σ z·a (and Σ a, the intercepts' share) over the block to totals, for the
        weighted slopes a (rows × outputs)."""
        if self.sample_weight is not None:
            slopes = slopes * self.sample_weight[rows, None]
        totals[0] += np.asarray(self.X[rows].T @ slopes, dtype=np.float64)
        totals[1] += slopes.sum(axis=0)

    def finish(self, totals):
        """The accumulated sums as a parameter-shaped mean, in the model's parametrisation."""
        x_a, sum_a = totals
        result = np.empty((sum_a.shape[0], self.mean.shape[0] + 1))
        result[:, :-1] = (x_a - np.outer(self.mean, sum_a)).T * self.inv_scale / self.X.shape[0]
        result[:, -1] = sum_a / self.X.shape[0] if self.fit_intercept else 0.0
        return result

"""A certificate that a model is not yet at the optimum: how far its training objective is
at least above the smallest one, from steps along its full gradient.

On the line θ − t·g through the model, along the full gradient g of the objective F, any
point's objective bounds F* from above, so F(θ) − min_t F(θ − t·g) is a lower bound on
F(θ) − F*. The slope there is −‖g‖² and the second derivative at most
M = c·mean s·(u_i)² + α₂·‖g_w‖² (u_i: row i's score change per unit of t, c the loss's
curvature bound), so the step t₀ = ‖g‖²/M gains at least ‖g‖⁴/(2M): exactly that for
squared error, whose curvature is c. The log loss curves far less than its c = ¼ away from
the decision boundary, so there longer steps t₀·8^k are tried as well, one more pass over X.
Unlike the epoch losses, which flatten whenever the steps become small, this cannot say
"converged" of a model that is not; it can only miss part of a gap (it sees one direction).
"""
import numpy as np

from gdfast import _layout
from gdfast._slow import linear as _reference

# Rows per block of the passes over X: a few MB of float64 temporaries.
BLOCK_ROWS = 1 << 15
# The log loss's steps tried: t₀·8^k.
LOG_LOSS_STEP_MULTIPLIERS = 8.0 ** np.arange(4)


def _blocks(n_samples):
    return [slice(start, start + BLOCK_ROWS) for start in range(0, n_samples, BLOCK_ROWS)]


def _scores(X, rows, weights, intercepts):
    """X[rows]·Wᵀ + b in float64, W in the original units."""
    return (np.asarray(X[rows] @ weights.T.astype(X.dtype, copy=False), dtype=np.float64)
            + intercepts)


def _weighted_sum(values, sample_weight, rows):
    return float(values.sum() if sample_weight is None else sample_weight[rows] @ values)


def gap_lower_bound(X, y, sample_weight, state, config, curvature, l2):
    """(gap, F(θ)): gap a lower bound on F(θ) − F* for state's model (the one the estimator reports), with
    F the mean weighted loss under `config` (the kernel's loss, multiclass, epsilon and
    fit_intercept fields) plus l2·½‖w‖² on the weights of the model's own
    parametrisation, and `curvature` a bound on the loss's second derivative in the
    scores. Two passes over X (three for the log loss), a block of rows at a time, in float64; X dense or sparse,
    y the encoded targets, sample_weight averaging 1 or None."""
    n_samples, n_features = X.shape
    theta = _layout.by_output(state.model_vector(), n_features).astype(np.float64)
    inv_scale = state.inv_scale.astype(np.float64)
    mean = state.mean.astype(np.float64)
    weights, intercepts = state.model_coef()
    weights = weights.astype(np.float64)

    def penalised(w):
        return 0.5 * l2 * float(np.sum(w * w))

    # Pass 1: F(θ) and the gradient: Xᵀ·A and ΣA for A = s·dL/dP, then in the model's
    # parametrisation z = (x − mean)∘inv_scale.
    x_a = np.zeros((n_features, theta.shape[0]))
    sum_a = np.zeros(theta.shape[0])
    objective = 0.0
    for rows in _blocks(n_samples):
        losses, slopes = _reference.row_losses(_scores(X, rows, weights, intercepts), y[rows],
                                               config)
        objective += _weighted_sum(losses, sample_weight, rows)
        if sample_weight is not None:
            slopes = slopes * sample_weight[rows, None]
        x_a += np.asarray(X[rows].T @ slopes, dtype=np.float64)
        sum_a += slopes.sum(axis=0)
    objective = objective / n_samples + penalised(theta[:, :-1])
    grad_w = (x_a - np.outer(mean, sum_a)).T * inv_scale / n_samples + l2 * theta[:, :-1]
    grad_b = sum_a / n_samples if config["fit_intercept"] else np.zeros_like(sum_a)
    squared_norm = float(np.sum(grad_w * grad_w) + np.sum(grad_b * grad_b))
    if squared_norm == 0.0:
        return 0.0, objective
    # The score changes per unit of t, u = X·D + d in the original units.
    direction_w = grad_w * inv_scale
    direction_b = grad_b - direction_w @ mean

    # Pass 2: the curvature bound M along g, hence t₀.
    squared_changes = 0.0
    for rows in _blocks(n_samples):
        changes = _scores(X, rows, direction_w, direction_b)
        squared_changes += _weighted_sum(np.einsum("ij,ij->i", changes, changes),
                                         sample_weight, rows)
    bound = curvature * squared_changes / n_samples + 2.0 * penalised(grad_w)
    if not bound > 0.0:
        return 0.0, objective
    gap = squared_norm * squared_norm / (2.0 * bound)
    if config["loss"] != "log_loss":
        return gap, objective
    steps = LOG_LOSS_STEP_MULTIPLIERS * (squared_norm / bound)

    # Pass 3: F along the line at each step.
    along = np.zeros(len(steps))
    for rows in _blocks(n_samples):
        scores = _scores(X, rows, weights, intercepts)
        changes = _scores(X, rows, direction_w, direction_b)
        for k, step in enumerate(steps):
            losses, _ = _reference.row_losses(scores - step * changes, y[rows], config)
            along[k] += _weighted_sum(losses, sample_weight, rows)
    along = along / n_samples + [penalised(theta[:, :-1] - step * grad_w) for step in steps]
    return max(gap, objective - float(np.min(along))), objective

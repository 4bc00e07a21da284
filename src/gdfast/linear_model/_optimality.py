"""A certificate that a model is not yet at the optimum: how far its training objective is
at least above the smallest one.

Every loss with a curvature bound c (its second derivative in the scores is at most c) has,
at every θ, a Hessian below Ĥ = c·Zᵀ·S·Z/n + α₂·I_w (Z the rows the model sees, with a 1
for the intercept; S the weights; I_w the identity on the weights, not the intercepts). So
F(θ + v) ≤ F(θ) + gᵀv + ½·vᵀĤv for every step v, and since F* ≤ F(θ + v), the decrease
that quadratic promises for any v is a lower bound on F(θ) − F*. A few conjugate-gradient
steps on it, from v = 0 (each one pass over X for a product Ĥ·p), give the best v in the
span of g and Ĥg: exactly the objective's own minimum there for squared error (c is its
curvature), and enough to see past one steep direction, such as the one that features far
from zero add without centring, which leaves the gradient itself pointing nearly along it.
The log loss curves far less than its c = ¼ away from its decision boundary, so its
objective is also evaluated at longer steps along v (one more pass). Unlike the epoch
losses, which flatten whenever the steps become small, this cannot say "converged" of a
model that is not; it can only miss part of a gap.
"""
import numpy as np

# Conjugate-gradient steps on the quadratic upper bound (a pass over X each).
CONJUGATE_GRADIENT_STEPS = 2
# The log loss's steps tried along the conjugate-gradient step v: 8^k·v.
LOG_LOSS_STEP_MULTIPLIERS = 8.0 ** np.arange(4)


def gap_lower_bound(passes, theta, curvature, l2):
    """(gap, F(θ)): gap a lower bound on F(θ) − F* for the model theta (outputs ×
    (n_features + 1), in the model's own parametrisation), F the mean weighted loss of
    `passes` (_passes.LinearModelPasses, or its chunked form on a cluster) plus l2·½‖w‖² on
    the weights, `curvature` the bound c on the loss's second derivative in the scores.
    1 + CONJUGATE_GRADIENT_STEPS passes over X (one more for the log loss), in float64."""
    n_samples = passes.n_samples

    def penalty(parameters):
        return 0.5 * l2 * float(np.sum(parameters[:, :-1] ** 2))

    def upper_hessian_product(direction):
        """Ĥ·direction, one pass."""
        product = passes.parameter_mean(passes.curvature_sums(direction, curvature))
        product[:, :-1] += l2 * direction[:, :-1]
        return product

    # Pass 1: F(θ) and its gradient g.
    sums = passes.loss_and_gradient_sums(theta)
    objective = float(sums["loss"][0]) / n_samples + penalty(theta)
    gradient = passes.parameter_mean(sums)
    gradient[:, :-1] += l2 * theta[:, :-1]

    # Conjugate gradients on min_v gᵀv + ½·vᵀĤv from v = 0; each step's decrease of the
    # quadratic is ½·a·‖r‖².
    step, residual = np.zeros_like(theta), -gradient
    search = residual.copy()
    gain, residual_norm = 0.0, float(np.sum(residual * residual))
    for _ in range(CONJUGATE_GRADIENT_STEPS):
        if residual_norm == 0.0:
            break
        product = upper_hessian_product(search)
        curvature_along = float(np.sum(search * product))
        if not curvature_along > 0.0:
            break
        length = residual_norm / curvature_along
        gain += 0.5 * length * residual_norm
        step += length * search
        residual -= length * product
        previous, residual_norm = residual_norm, float(np.sum(residual * residual))
        search = residual + (residual_norm / previous) * search
    if passes.config["loss"] != "log_loss" or gain == 0.0:
        return gain, objective
    along = (passes.loss_sums(theta, step, LOG_LOSS_STEP_MULTIPLIERS)["loss"] / n_samples
             + [penalty(theta + m * step) for m in LOG_LOSS_STEP_MULTIPLIERS])
    return max(gain, objective - float(np.min(along))), objective

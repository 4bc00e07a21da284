"""Learning-rate schedules: the rate γ of each update from the base rate γ₀.

Pass a name (`lr_schedule="cosine"`) for the defaults or an instance for its parameters
(`lr_schedule=StepLR(step_size=5, gamma=0.5)`). Schedules that change the rate at every update
(invscaling, optimal) run inside the kernel; those that change it once per epoch (step,
exponential, cosine, adaptive) set the base rate of each epoch. The estimator's
`warmup_steps` multiplies any of them by min(1, t / warmup_steps) over the first updates.
Epochs e count from 0 and updates t from 1, both since the model's state was created.
"""
import math

from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import InvalidParameterError, validate_parameter_constraints

from gdfast._constraints import NON_NEGATIVE, POSITIVE, POSITIVE_INTEGER
from gdfast.optim._base import merged_neutral_config

__all__ = ["Constant", "InvScaling", "Optimal", "Adaptive", "StepLR", "ExponentialLR",
           "CosineAnnealingLR", "get_schedule", "SCHEDULE_CLASSES"]


class Schedule(BaseEstimator):
    """Base of the schedules: `name` (the estimator's), `step_schedule` (the kernel's
    per-update schedule), `_parameter_constraints` (each parameter's allowed values),
    `neutral_config` (the kernel config fields of a per-update schedule, with the value of
    each when a direct call of the engine leaves it out)."""

    name = None
    step_schedule = "constant"
    _parameter_constraints = {}
    neutral_config = {}

    def validate(self, alpha):
        """Raise InvalidParameterError for a parameter outside its constraints, or one that
        the estimator's `alpha` rules out."""
        validate_parameter_constraints(self._parameter_constraints,
                                       self.get_params(deep=False),
                                       caller_name=f"the schedule {type(self).__name__}")

    def epoch_rate(self, base_rate, epoch, max_iter):
        """The base rate of epoch `epoch` (0-based)."""
        return base_rate

    def kernel_config(self, alpha):
        return {"schedule": self.step_schedule}


class Constant(Schedule):
    """γ = γ₀."""

    name = "constant"


class InvScaling(Schedule):
    """γ_t = γ₀ / t^power_t (scikit-learn's 'invscaling')."""

    name = "invscaling"
    step_schedule = "invscaling"
    _parameter_constraints = {"power_t": [NON_NEGATIVE]}
    neutral_config = {"power_t": 0.0}

    def __init__(self, power_t=0.25):
        self.power_t = power_t

    def kernel_config(self, alpha):
        return {"schedule": "invscaling", "power_t": float(self.power_t)}


class Optimal(Schedule):
    """γ_t = 1 / (α (t₀ + t − 1)) with t₀ = α^(−3/4), so γ₁ = α^(−1/4) (Bottou's heuristic as
    scikit-learn applies it; docs/mathematics.md, section "Learning-rate schedules").
    The base learning_rate is not used; α is the estimator's `alpha`, which must be > 0."""

    name = "optimal"
    step_schedule = "optimal"
    neutral_config = {"optimal_t0": 1.0, "optimal_alpha": 1.0}

    def validate(self, alpha):
        super().validate(alpha)
        if not alpha > 0:
            raise InvalidParameterError(f"lr_schedule='optimal' needs alpha > 0; got "
                                        f"alpha={alpha!r}. Set alpha (e.g. 1e-4) or choose "
                                        "another schedule.")

    def kernel_config(self, alpha):
        return {"schedule": "optimal", "optimal_alpha": float(alpha),
                "optimal_t0": float(alpha) ** -0.75}


class Adaptive(Schedule):
    """γ₀ until n_iter_no_change epochs pass without improving by tol, then γ/5 each time;
    training stops at the next such plateau once γ is below γ₀/10⁴, or, when the model is
    an average of the iterates, as soon as a plateau finds that average no better by tol
    than at the plateau that last divided the rate (scikit-learn's 'adaptive', with a floor relative to the starting rate where
    scikit-learn's is 1e-6: a data-derived γ₀ can start below any fixed floor).
    partial_fit has no epochs to watch: there the rate decays with the updates t since
    the first call, γ/t^(1/3)."""

    name = "adaptive"
    factor = 0.2
    min_rate_fraction = 1e-4
    stream_power_t = 1 / 3


class StepLR(Schedule):
    """γ_e = γ₀ · gamma^⌊e / step_size⌋ (torch.optim.lr_scheduler.StepLR)."""

    name = "step"
    _parameter_constraints = {"step_size": [POSITIVE_INTEGER], "gamma": [POSITIVE]}

    def __init__(self, step_size=10, gamma=0.1):
        self.step_size = step_size
        self.gamma = gamma

    def epoch_rate(self, base_rate, epoch, max_iter):
        return base_rate * self.gamma ** (epoch // self.step_size)


class ExponentialLR(Schedule):
    """γ_e = γ₀ · gamma^e (torch.optim.lr_scheduler.ExponentialLR)."""

    name = "exponential"
    _parameter_constraints = {"gamma": [POSITIVE]}

    def __init__(self, gamma=0.95):
        self.gamma = gamma

    def epoch_rate(self, base_rate, epoch, max_iter):
        return base_rate * self.gamma ** epoch


class CosineAnnealingLR(Schedule):
    """γ_e = η_min + (γ₀ − η_min)(1 + cos(π e / T_max)) / 2; T_max=None means max_iter
    (torch.optim.lr_scheduler.CosineAnnealingLR)."""

    name = "cosine"
    _parameter_constraints = {"T_max": [POSITIVE_INTEGER, None], "eta_min": [NON_NEGATIVE]}

    def __init__(self, T_max=None, eta_min=0.0):
        self.T_max = T_max
        self.eta_min = eta_min

    def epoch_rate(self, base_rate, epoch, max_iter):
        period = self.T_max or max_iter
        return self.eta_min + (base_rate - self.eta_min) * (1 + math.cos(math.pi * epoch / period)) / 2


SCHEDULE_CLASSES = {cls.name: cls for cls in
                    (Constant, InvScaling, Optimal, Adaptive, StepLR, ExponentialLR,
                     CosineAnnealingLR)}
# The schedules' fields of the kernel config, each with its neutral value.
NEUTRAL_CONFIG = merged_neutral_config(SCHEDULE_CLASSES.values())


def get_schedule(schedule):
    """A Schedule instance from a name (its defaults) or an instance (returned as is)."""
    return SCHEDULE_CLASSES[schedule]() if isinstance(schedule, str) else schedule

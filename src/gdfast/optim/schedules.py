"""Learning-rate schedules: the rate γ of each update from the base rate γ₀.

Pass a name (`lr_schedule="cosine"`) for the defaults or an instance for its parameters
(`lr_schedule=StepLR(step_size=5, gamma=0.5)`). Schedules that change the rate at every update
(invscaling, optimal) run inside the kernel; those that change it once per epoch (step,
exponential, cosine, adaptive) set the base rate of each epoch. The estimator's
`warmup_steps` multiplies any of them by min(1, t / warmup_steps) over the first updates.
Epochs e count from 0 and updates t from 1, both since the model's state was created.
"""
import math
import numbers

from sklearn.base import BaseEstimator

__all__ = ["Constant", "InvScaling", "Optimal", "Adaptive", "StepLR", "ExponentialLR",
           "CosineAnnealingLR", "get_schedule", "SCHEDULE_CLASSES"]


def _check_positive(name, value, *, integer=False, allow_zero=False, allow_none=False):
    if value is None and allow_none:
        return
    kind = numbers.Integral if integer else numbers.Real
    ok = isinstance(value, kind) and not isinstance(value, bool) and math.isfinite(value) \
        and (value >= 0 if allow_zero else value > 0)
    if not ok:
        what = "an integer" if integer else "a finite real number"
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name}={value!r} is out of range; expected {what} {bound}"
                         f"{' or None' if allow_none else ''}.")


class Schedule(BaseEstimator):
    name = None
    step_schedule = "constant"      # the kernel's per-update schedule

    def validate(self, alpha):
        """Raise ValueError for a parameter out of range; alpha is the estimator's."""

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

    def __init__(self, power_t=0.25):
        self.power_t = power_t

    def validate(self, alpha):
        _check_positive("lr_schedule.power_t", self.power_t, allow_zero=True)

    def kernel_config(self, alpha):
        return {"schedule": "invscaling", "power_t": float(self.power_t)}


class Optimal(Schedule):
    """γ_t = 1 / (α (t₀ + t − 1)) with t₀ = α^(−3/4), so γ₁ = α^(−1/4) (Bottou's heuristic as
    written in optimizers.md; scikit-learn's 'optimal' also divides γ₁ by the loss's slope).
    The base learning_rate is not used; α is the estimator's `alpha`, which must be > 0."""

    name = "optimal"
    step_schedule = "optimal"

    def validate(self, alpha):
        if not alpha > 0:
            raise ValueError(f"lr_schedule='optimal' needs alpha > 0; got alpha={alpha!r}. "
                             "Set alpha (e.g. 1e-4) or choose another schedule.")

    def kernel_config(self, alpha):
        return {"schedule": "optimal", "optimal_alpha": float(alpha),
                "optimal_t0": float(alpha) ** -0.75}


class Adaptive(Schedule):
    """γ₀ until n_iter_no_change epochs pass without improving by tol, then γ/5 each time;
    training stops at the next such plateau once γ is below γ₀/10⁴ (scikit-learn's
    'adaptive', with a floor relative to the starting rate where scikit-learn's is 1e-6:
    a data-derived γ₀ can start below any fixed floor). partial_fit has no epochs to watch:
    there the rate decays with the updates t since the first call, γ/t^(1/3)."""

    name = "adaptive"
    factor = 0.2
    min_rate_fraction = 1e-4
    stream_power_t = 1 / 3


class StepLR(Schedule):
    """γ_e = γ₀ · gamma^⌊e / step_size⌋ (torch.optim.lr_scheduler.StepLR)."""

    name = "step"

    def __init__(self, step_size=10, gamma=0.1):
        self.step_size = step_size
        self.gamma = gamma

    def validate(self, alpha):
        _check_positive("lr_schedule.step_size", self.step_size, integer=True)
        _check_positive("lr_schedule.gamma", self.gamma)

    def epoch_rate(self, base_rate, epoch, max_iter):
        return base_rate * self.gamma ** (epoch // self.step_size)


class ExponentialLR(Schedule):
    """γ_e = γ₀ · gamma^e (torch.optim.lr_scheduler.ExponentialLR)."""

    name = "exponential"

    def __init__(self, gamma=0.95):
        self.gamma = gamma

    def validate(self, alpha):
        _check_positive("lr_schedule.gamma", self.gamma)

    def epoch_rate(self, base_rate, epoch, max_iter):
        return base_rate * self.gamma ** epoch


class CosineAnnealingLR(Schedule):
    """γ_e = η_min + (γ₀ − η_min)(1 + cos(π e / T_max)) / 2; T_max=None means max_iter
    (torch.optim.lr_scheduler.CosineAnnealingLR)."""

    name = "cosine"

    def __init__(self, T_max=None, eta_min=0.0):
        self.T_max = T_max
        self.eta_min = eta_min

    def validate(self, alpha):
        _check_positive("lr_schedule.T_max", self.T_max, integer=True, allow_none=True)
        _check_positive("lr_schedule.eta_min", self.eta_min, allow_zero=True)

    def epoch_rate(self, base_rate, epoch, max_iter):
        period = self.T_max or max_iter
        return self.eta_min + (base_rate - self.eta_min) * (1 + math.cos(math.pi * epoch / period)) / 2


SCHEDULE_CLASSES = {cls.name: cls for cls in
                    (Constant, InvScaling, Optimal, Adaptive, StepLR, ExponentialLR,
                     CosineAnnealingLR)}


def get_schedule(schedule, alpha):
    """A validated Schedule instance from a name or an instance."""
    if isinstance(schedule, str):
        if schedule not in SCHEDULE_CLASSES:
            raise ValueError(f"lr_schedule={schedule!r} is not supported; expected one of "
                             f"{', '.join(repr(n) for n in SCHEDULE_CLASSES)} or an instance "
                             "of a gdfast.schedules class.")
        schedule = SCHEDULE_CLASSES[schedule]()
    elif not isinstance(schedule, Schedule):
        raise ValueError(f"lr_schedule={schedule!r} is not supported; expected a name such as "
                         "'cosine' or an instance of a gdfast.schedules class.")
    schedule.validate(alpha)
    return schedule

"""What the kernel-vs-twin tests share: the batch modes, the tolerances, a small problem per
loss, running the same epochs in both engines, and every optimizer variant's settings."""
import numpy as np

from gdfast.linear_model import _engine

BATCH_MODES = {"stochastic": 1, "mini-batch": 32, "full": None}
# The kernel's own config: integer codes, every field present.
KERNEL_CONFIG = dict(_engine.NEUTRAL_CONFIG, loss=0, multiclass=0, optimizer=0, schedule=0)
# Targets each loss expects: real values, {0, 1} for log loss, {-1, +1} for the margins.
LABELS = {"log_loss": (0.0, 1.0), "hinge": (-1.0, 1.0), "modified_huber": (-1.0, 1.0)}
TOLERANCE = {np.float64: 1e-10, np.float32: 2e-4}
# In float32 a residual near a kink of a piecewise loss (huber's |r| = δ, the hinge) can land
# on the other side than in the float64 reference and take the other branch's gradient. One
# such flip early in five epochs of momentum moves the coefficients by up to ~2% (the worst of
# 20 shuffle seeds in float32 momentum/huber; the median was 0.2%), so the bound is 3e-2 and
# the float64 runs, where no flip happens, carry the precise comparison.
PIECEWISE = {"huber", "epsilon_insensitive", "hinge", "modified_huber"}


def tolerance(dtype, loss):
    return 3e-2 if dtype == np.float32 and loss in PIECEWISE else TOLERANCE[dtype]


def problem(loss, dtype, n_samples=97, n_features=7, seed=0):
    """97 rows leave a partial last mini-batch; 7 features exercise the dot product's tail."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, n_features)).astype(dtype)
    y = X @ rng.standard_normal(n_features) + 0.3 * rng.standard_normal(n_samples)
    if loss in LABELS:
        y = np.where(y > 0, *LABELS[loss][::-1])
    weights = rng.uniform(0.5, 2.0, n_samples).astype(dtype)
    return X, y.astype(dtype), weights


def run_both(X, y, weights, config, orders, rng_state=0, initial_buffer=0.0,
             average_start=None):
    """Run the same epochs with both engines; return (coef, loss sums, t, rng, buffers,
    scalars, learning rates, average) for each. The iterates after update average_start
    are averaged (None: none, and average is None)."""
    results = {}
    for engine in _engine.ENGINES:
        coef = np.zeros(X.shape[1] + 1, dtype=X.dtype)
        state = np.full((_engine.state_rows(config["optimizer"]), coef.size), initial_buffer,
                        dtype=X.dtype)
        scalars = np.ones(_engine.SCALAR_STATE_SIZE)
        t, rng, losses, rates = 0, rng_state, [], []
        average = None if average_start is None else np.full_like(coef, np.nan)
        for order in orders:
            order = order.copy()
            status, loss_sum, t, rng, rate = _engine.run_epoch(
                engine, X, y, weights, coef, state, scalars, order, config, t, rng,
                average=average, average_start=average_start or 0)
            assert status == _engine.STATUS_OK
            losses.append(loss_sum)
            rates.append(rate)
        results[engine] = (coef, np.array(losses), t, rng, state, scalars, np.array(rates),
                           average)
    return results["cython"], results["numpy"]


# (optimizer, learning rate, kernel hyper-parameters, initial buffer value): each variant of
# each rule, since variants are separate loops in the kernel.
OPTIMIZER_CASES = {
    "sgd": ("sgd", 0.05, {}, 0.0),
    "sgd-weight-decay": ("sgd", 0.05, {"weight_decay": 0.1}, 0.0),
    "momentum": ("momentum", 0.02, {"momentum": 0.9}, 0.0),
    "nesterov": ("nesterov", 0.02, {"momentum": 0.8, "weight_decay": 0.01}, 0.0),
    # Without weight decay, one row at a time: the fused loop, not the batch of one.
    "nesterov-plain": ("nesterov", 0.02, {"momentum": 0.8}, 0.0),
    "adagrad": ("adagrad", 0.1, {"lr_decay": 0.01, "eps": 1e-10}, 0.1),
    "rmsprop": ("rmsprop", 0.01, {"rmsprop_alpha": 0.99, "eps": 1e-8}, 0.0),
    "rmsprop-centered": ("rmsprop", 0.01, {"rmsprop_alpha": 0.9, "centered": True}, 0.0),
    "rmsprop-momentum": ("rmsprop", 0.005, {"momentum": 0.5}, 0.0),
    "rmsprop-centered-momentum": ("rmsprop", 0.005, {"centered": True, "momentum": 0.5}, 0.0),
    "adadelta": ("adadelta", 1.0, {"rho": 0.9, "eps": 1e-6}, 0.0),
    "adam": ("adam", 0.01, {"beta1": 0.9, "beta2": 0.999}, 0.0),
    "adam-amsgrad": ("adam", 0.01, {"amsgrad": True, "beta2": 0.99}, 0.0),
    "adamw": ("adamw", 0.01, {"weight_decay": 0.05}, 0.0),
    "nadam": ("nadam", 0.01, {"momentum_decay": 4e-3}, 0.0),
    "adamax": ("adamax", 0.01, {"beta1": 0.8, "beta2": 0.99}, 0.0),
    "adam-l2-invscaling-warmup": ("adam", 0.02, {"l2": 0.1, "schedule": "invscaling",
                                                 "power_t": 0.5, "warmup_steps": 7.0}, 0.0),
}

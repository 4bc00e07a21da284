"""The slow, obvious twin of the compiled kernel (src_c/_kernel.pyx).

Every function here implements a definition of shared/design/optimizers.md in plain NumPy,
one batch at a time. The tests hold the kernel to it, and `engine="numpy"` on the estimators
runs it, so the two engines can be compared through one API. Given the same sample order (or
the same shuffle seed: the generator below is the kernel's), both take the same steps.
"""
import numpy as np

# --- losses: L(p, y) per sample and dL/dp, vectorised over a batch ---------------------


def squared_error(p, y):
    r = p - y
    return r * r, 2.0 * r


def log_loss(p, y):
    """Binary log loss with y in {0, 1}: log(1 + e^p) - y p, computed without overflow."""
    e = np.exp(-np.abs(p))
    sigmoid = np.where(p >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    log1pexp = np.maximum(p, 0.0) + np.log1p(e)
    return log1pexp - y * p, sigmoid - y


LOSSES = {"squared_error": squared_error, "log_loss": log_loss}

# --- optimizers: one update of the flat parameter vector theta, in place -----------------


def sgd(theta, grad, state, t, config):
    theta -= config["learning_rate"] * grad


OPTIMIZERS = {"sgd": sgd}

# --- the shuffle generator: SplitMix64 driving Fisher-Yates, as in src_c/_random.pxd ------

_MASK64 = (1 << 64) - 1


def splitmix64(state):
    """Return the generator's next state and its 64-bit output."""
    state = (state + 0x9E3779B97F4A7C15) & _MASK64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return state, z ^ (z >> 31)


def shuffle(order, state):
    """Fisher-Yates shuffle of `order` in place; return the generator's new state."""
    rows = order.tolist()
    for i in range(len(rows) - 1, 0, -1):
        state, r = splitmix64(state)
        j = ((r >> 32) * (i + 1)) >> 32
        rows[i], rows[j] = rows[j], rows[i]
    order[:] = rows
    return state


# --- one epoch ------------------------------------------------------------------------


STATUS_OK, STATUS_NONFINITE = 0, 1


def batch_gradient(X, y, sample_weight, theta, rows, loss, fit_intercept):
    """Mean over `rows` of the weighted loss gradient, and the sum of the weighted losses."""
    n_features = X.shape[1]
    w, b = theta[:n_features], theta[n_features]
    Xb = X[rows].astype(np.float64)
    p = Xb @ w.astype(np.float64) + float(b)
    losses, dloss = LOSSES[loss](p, y[rows].astype(np.float64))
    weights = sample_weight[rows].astype(np.float64)
    a = weights * dloss / len(rows)
    grad = np.empty(n_features + 1)
    grad[:n_features] = a @ Xb
    grad[n_features] = a.sum() if fit_intercept else 0.0
    return grad, float(weights @ losses)


def run_epoch(X, y, sample_weight, coef, state, order, config, t, rng_state):
    """One pass over the rows of X in `order`, updating coef, state and order in place.

    Same arguments and result as gdfast._kernel.run_epoch, but `config` names the loss and
    the optimizer by their strings. Returns (status, sum of weighted losses, t, rng_state).
    """
    # Divergence is reported through the status, as the kernel does, not as warnings.
    with np.errstate(over="ignore", invalid="ignore"):
        return _epoch(X, y, sample_weight, coef, state, order, config, t, rng_state)


def _epoch(X, y, sample_weight, coef, state, order, config, t, rng_state):
    n_samples = X.shape[0]
    if config["shuffle"]:
        rng_state = shuffle(order, rng_state)
    step = OPTIMIZERS[config["optimizer"]]
    loss_sum = 0.0
    for start in range(0, n_samples, config["batch_size"]):
        rows = order[start:start + config["batch_size"]]
        grad, batch_loss = batch_gradient(X, y, sample_weight, coef, rows, config["loss"],
                                          config["fit_intercept"])
        if not np.isfinite(batch_loss):
            return STATUS_NONFINITE, loss_sum, t, rng_state
        loss_sum += batch_loss
        t += 1
        step(coef, grad.astype(coef.dtype), state, t, config)
    if not np.all(np.isfinite(coef)):
        return STATUS_NONFINITE, loss_sum, t, rng_state
    return STATUS_OK, loss_sum, t, rng_state

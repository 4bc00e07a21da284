"""The slow, obvious twin of the compiled kernel (gdfast/_kernels/linear.pyx).

Every function here implements a definition of docs/mathematics.md in plain NumPy,
one batch at a time. The tests hold the kernel to it, and `engine="numpy"` on the estimators
runs it, so the two engines can be compared through one API. Given the same sample order (or
the same shuffle seed: the generator below is the kernel's), both take the same steps.
"""
import numpy as np
from scipy import sparse

from gdfast import _layout

# --- losses: L(p, y) per sample and dL/dp, vectorised over a batch ---------------------
# Each takes predictions p, targets y and the loss's epsilon (huber's δ, the insensitive
# band's ε; ignored by the others) and returns (losses, dL/dp).


def squared_error(p, y, epsilon):
    r = p - y
    return r * r, 2.0 * r


def huber(p, y, epsilon):
    r = p - y
    inside = np.abs(r) <= epsilon
    losses = np.where(inside, r * r, 2.0 * epsilon * np.abs(r) - epsilon * epsilon)
    return losses, np.clip(2.0 * r, -2.0 * epsilon, 2.0 * epsilon)


def epsilon_insensitive(p, y, epsilon):
    r = p - y
    outside = np.abs(r) > epsilon
    return np.maximum(0.0, np.abs(r) - epsilon), np.where(outside, np.sign(r), 0.0)


def log_loss(p, y, epsilon):
    """Binary log loss with y in {0, 1}: log(1 + e^p) - y p, computed without overflow."""
    e = np.exp(-np.abs(p))
    sigmoid = np.where(p >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    log1pexp = np.maximum(p, 0.0) + np.log1p(e)
    return log1pexp - y * p, sigmoid - y


def hinge(p, y, epsilon):
    """y in {-1, +1}."""
    z = y * p
    return np.maximum(0.0, 1.0 - z), np.where(z < 1.0, -y, 0.0)


def modified_huber(p, y, epsilon):
    """y in {-1, +1}: squared hinge near the margin, linear far on the wrong side."""
    z = y * p
    losses = np.where(z >= 1.0, 0.0, np.where(z >= -1.0, (1.0 - z) ** 2, -4.0 * z))
    dloss = np.where(z >= 1.0, 0.0, np.where(z >= -1.0, -2.0 * y * (1.0 - z), -4.0 * y))
    return losses, dloss


LOSSES = {"squared_error": squared_error, "huber": huber,
          "epsilon_insensitive": epsilon_insensitive, "log_loss": log_loss, "hinge": hinge,
          "modified_huber": modified_huber}


def multinomial_log_loss(P, classes):
    """Softmax cross-entropy of scores P (rows × K) for class indices; (losses, dL/dP)."""
    shifted = P - P.max(axis=1, keepdims=True)
    log_normaliser = np.log(np.exp(shifted).sum(axis=1))
    rows = np.arange(P.shape[0])
    losses = log_normaliser - shifted[rows, classes]
    dP = np.exp(shifted - log_normaliser[:, None])
    dP[rows, classes] -= 1.0
    return losses, dP


def one_vs_rest_targets(classes, n_classes, loss):
    """Binary targets of each class's own model: 1 for its class, 0 or -1 for the rest."""
    negative = 0.0 if loss == "log_loss" else -1.0
    return np.where(classes[:, None] == np.arange(n_classes), 1.0, negative)


# --- optimizers: one update of the flat parameter vector theta, in place -----------------
# Each takes (theta, g, buffers, t, lr, config, scalars): buffers are the optimizer's state
# rows, t the 1-based update count, lr this update's learning rate, scalars a dict of
# running products that persist between steps (NAdam's mu product).


def sgd(theta, g, buffers, t, lr, config, scalars):
    theta -= lr * g


def momentum(theta, g, buffers, t, lr, config, scalars):
    b = buffers[0]
    b[:] = config["momentum"] * b + g          # b_1 = g: the buffer starts at zero
    theta -= lr * b


def nesterov(theta, g, buffers, t, lr, config, scalars):
    b = buffers[0]
    b[:] = config["momentum"] * b + g
    theta -= lr * (g + config["momentum"] * b)


def adagrad(theta, g, buffers, t, lr, config, scalars):
    s = buffers[0]
    decayed_lr = lr / (1 + (t - 1) * config["lr_decay"])
    s += g * g
    theta -= decayed_lr * g / (np.sqrt(s) + config["eps"])


def rmsprop(theta, g, buffers, t, lr, config, scalars):
    v, g_mean, b = buffers
    alpha, eps, mu = config["rmsprop_alpha"], config["eps"], config["momentum"]
    v[:] = alpha * v + (1 - alpha) * g * g
    if config["centered"]:
        g_mean[:] = alpha * g_mean + (1 - alpha) * g
        scale = np.sqrt(v - g_mean * g_mean) + eps
    else:
        scale = np.sqrt(v) + eps
    if mu > 0:
        b[:] = mu * b + g / scale
        theta -= lr * b
    else:
        theta -= lr * g / scale


def adadelta(theta, g, buffers, t, lr, config, scalars):
    v, u = buffers
    rho, eps = config["rho"], config["eps"]
    v[:] = rho * v + (1 - rho) * g * g
    delta = np.sqrt(u + eps) / np.sqrt(v + eps) * g
    u[:] = rho * u + (1 - rho) * delta * delta
    theta -= lr * delta


def adam(theta, g, buffers, t, lr, config, scalars):
    m, v, v_max = buffers
    beta1, beta2 = config["beta1"], config["beta2"]
    m[:] = beta1 * m + (1 - beta1) * g
    v[:] = beta2 * v + (1 - beta2) * g * g
    m_hat = m / (1 - beta1 ** t)
    if config["amsgrad"]:
        np.maximum(v_max, v, out=v_max)
        v_hat = v_max / (1 - beta2 ** t)
    else:
        v_hat = v / (1 - beta2 ** t)
    theta -= lr * m_hat / (np.sqrt(v_hat) + config["eps"])


adamw = adam     # the decoupled decay is applied before the step, in `step`


def nadam(theta, g, buffers, t, lr, config, scalars):
    m, v = buffers
    beta1, beta2, psi = config["beta1"], config["beta2"], config["momentum_decay"]
    mu = beta1 * (1 - 0.5 * 0.96 ** (t * psi))
    mu_next = beta1 * (1 - 0.5 * 0.96 ** ((t + 1) * psi))
    scalars["mu_product"] *= mu
    mu_product = scalars["mu_product"]
    m[:] = beta1 * m + (1 - beta1) * g
    v[:] = beta2 * v + (1 - beta2) * g * g
    m_hat = mu_next * m / (1 - mu_product * mu_next) + (1 - mu) * g / (1 - mu_product)
    v_hat = v / (1 - beta2 ** t)
    theta -= lr * m_hat / (np.sqrt(v_hat) + config["eps"])


def adamax(theta, g, buffers, t, lr, config, scalars):
    m, u = buffers
    beta1, beta2 = config["beta1"], config["beta2"]
    m[:] = beta1 * m + (1 - beta1) * g
    u[:] = np.maximum(beta2 * u, np.abs(g) + config["eps"])
    theta -= lr / (1 - beta1 ** t) * m / u


OPTIMIZERS = {"sgd": sgd, "momentum": momentum, "nesterov": nesterov, "adagrad": adagrad,
              "rmsprop": rmsprop, "adadelta": adadelta, "adam": adam, "adamw": adamw,
              "nadam": nadam, "adamax": adamax}


def step(theta, g, buffers, t, lr, config, scalars, decay_mask):
    """Penalty and weight decay, then the optimizer's rule; the first two act only where
    decay_mask is True (weights), never on the other entries (intercepts, biases)."""
    coupled = config["l2"] + (0.0 if config["optimizer"] == "adamw" else config["weight_decay"])
    g = g + coupled * theta * decay_mask
    if config["optimizer"] == "adamw":
        theta *= np.where(decay_mask, 1 - lr * config["weight_decay"], 1.0)
    OPTIMIZERS[config["optimizer"]](theta, g, buffers, t, lr, config, scalars)


def record_running_products(scalars, running, config, t):
    """Keep the kernel's scalar state (see ScalarState in gdfast/_kernels/config.pxd) in step, so a
    run can continue with either engine."""
    if config["optimizer"] in ("adam", "adamw", "nadam", "adamax"):
        scalars[0], scalars[1] = config["beta1"] ** t, config["beta2"] ** t
    if config["optimizer"] == "nadam":
        scalars[2], scalars[3] = running["mu_product"], 0.96 ** (t * config["momentum_decay"])


def update_average(average, coef, k):
    """Fold the k-th averaged iterate coef into the mean `average` of the k − 1 before it,
    in place: ā ← ā + (θ − ā)/k; the first (k = 1) sets ā = θ."""
    if k == 1:
        average[:] = coef
    else:
        average += coef.dtype.type(1.0 / k) * (coef - average)


# --- learning rate of one update ---------------------------------------------------------


def step_learning_rate(config, t):
    """The rate of update t (1-based): the per-update schedule, then the linear warm-up."""
    if config["schedule"] == "invscaling":
        lr = config["learning_rate"] / t ** config["power_t"]
    elif config["schedule"] == "optimal":
        lr = 1.0 / (config["optimal_alpha"] * (config["optimal_t0"] + t - 1))
    else:
        lr = config["learning_rate"]
    if t < config["warmup_steps"]:
        lr *= t / config["warmup_steps"]
    return lr


# --- the shuffle generator: SplitMix64 driving Fisher-Yates, as in gdfast/_kernels/shuffle.pxd ------

_MASK64 = (1 << 64) - 1


def splitmix64(state):
    """Return the generator's next state and its 64-bit output."""
    state = (state + 0x9E3779B97F4A7C15) & _MASK64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return state, z ^ (z >> 31)


def random_permutation(order, state):
    """Fill `order` with a random permutation of 0 .. len(order)-1 drawn from `state`, whatever
    it held (inside-out Fisher-Yates); return the generator's new state."""
    rows = [0] * len(order)
    for i in range(1, len(rows)):
        state, r = splitmix64(state)
        j = ((r >> 32) * (i + 1)) >> 32
        rows[i] = rows[j]
        rows[j] = i
    order[:] = rows
    return state


# --- one epoch ------------------------------------------------------------------------


STATUS_OK, STATUS_NONFINITE = 0, 1


def mapped_features(Xb, mean, config, inv_scale=None):
    """The rows Xb as the model sees them, in float64: z = x − mean with config["center"],
    else x itself, times inv_scale with config["scale"] (the kernel's FeatureMap, which
    folds the same map into its sums). Sparse rows are made dense here: this is the obvious
    version."""
    Z = Xb.toarray() if sparse.issparse(Xb) else Xb
    Z = Z.astype(np.float64)
    if config["center"]:
        Z = Z - mean.astype(np.float64)
    if config["scale"]:
        Z = Z * inv_scale.astype(np.float64)
    return Z


def row_losses(P, y, config):
    """Each row's loss (summed over its outputs) and dL/dP for predictions P (rows ×
    outputs, float64) and targets y as the kernel takes them: the loss's own target with
    one output, class indices with several."""
    targets = np.asarray(y, dtype=np.float64)
    if config["multiclass"] == "multinomial":
        return multinomial_log_loss(P, targets.astype(np.intp))
    if config["multiclass"] == "ovr":
        targets = one_vs_rest_targets(targets.astype(np.intp), P.shape[1], config["loss"])
    else:
        targets = targets[:, None]
    losses, dP = LOSSES[config["loss"]](P, targets, config["epsilon"])
    return losses.sum(axis=1), dP


def batch_gradient(X, y, sample_weight, mean, theta, rows, config, inv_scale=None):
    """Sum over `rows` of the weighted loss gradient, and of the weighted losses (float64).

    theta holds one row of n_features weights and an intercept per output. With one output,
    y is the target of the loss; with several, y holds class indices (0 .. K-1) and the
    outputs are either K one-vs-rest models or one multinomial (softmax) model. With
    config["center"] the model is p = w·(x − mean) + c: the same model, recentred; with
    config["scale"], p = w·((x − mean)∘inv_scale) + c (x∘inv_scale without centring).
    Neither sum includes a penalty, and neither is divided by the number of rows.
    """
    n_features = X.shape[1]
    W = _layout.by_output(theta, n_features).astype(np.float64)
    n_outputs = W.shape[0]
    Z = mapped_features(X[rows], mean, config, inv_scale)
    P = Z @ W[:, :n_features].T + W[:, n_features]
    losses, dP = row_losses(P, y[rows], config)
    # config["unit_weights"], or no weights at all: every weight is 1 (the kernel then
    # skips reading them).
    weights = (np.ones(len(rows)) if config["unit_weights"] or sample_weight is None
               else sample_weight[rows].astype(np.float64))
    A = weights[:, None] * dP
    grad = _layout.zeros(n_outputs, n_features, np.float64)
    by_output = _layout.by_output(grad, n_features)
    by_output[:, :n_features] = A.T @ Z
    by_output[:, n_features] = A.sum(axis=0) if config["fit_intercept"] else 0.0
    return grad, float(weights @ losses)


def soft_threshold(theta, threshold, decay_mask):
    """The l1 penalty's proximal step: shrink each entry where decay_mask is True towards 0
    by `threshold`, stopping at 0 (never crossing it); the others are left alone."""
    shrunk = np.sign(theta) * np.maximum(np.abs(theta) - threshold, 0.0)
    theta[:] = np.where(decay_mask, shrunk, theta)


def optimizer_step(coef, gradient, state, scalars, decay_mask, config, t):
    """Update t + 1 in place on coef, state and scalars: the rate of the schedule, the
    penalties and weight decay where decay_mask is True, the optimizer's rule, the l1
    proximal step. Same arguments and result as gdfast._kernels.linear.optimizer_step:
    (t + 1, the update's learning rate)."""
    # scalars[2] is NAdam's running product of mu_t (the kernel's ScalarState.mu_product).
    running = {"mu_product": scalars[2]}
    t += 1
    lr = step_learning_rate(config, t)
    step(coef, np.asarray(gradient).astype(coef.dtype), state, t, lr, config, running,
         decay_mask)
    if config["l1"] > 0:
        soft_threshold(coef, lr * config["l1"], decay_mask)
    record_running_products(scalars, running, config, t)
    return t, lr


LAZY_RULES = ("adam", "adamw", "nadam", "adamax")


def lazy_step(X, config):
    """Whether this epoch's steps are lazy: the Adam family with config["lazy"], on CSR rows
    (a dense row holds every column, so there the two are the same)."""
    return bool(config.get("lazy")) and sparse.issparse(X) and config["optimizer"] in LAZY_RULES


def lazy_optimizer_step(coef, gradient, state, scalars, decay_mask, config, t, columns,
                        n_features):
    """optimizer_step on the batch's columns and the intercepts only (the lazy update,
    PyTorch's SparseAdam): the other entries and their state stay as they are. The l1
    proximal step still acts on every weight."""
    n_outputs = _layout.n_outputs(coef.size, n_features)
    positions = (np.arange(n_outputs)[:, None] * _layout.output_len(n_features)
                 + np.append(columns, n_features)[None, :]).ravel()
    part, part_state = coef[positions], state[:, positions]
    t, lr = optimizer_step(part, gradient[positions], part_state, scalars,
                           decay_mask[positions], dict(config, l1=0.0), t)
    coef[positions], state[:, positions] = part, part_state
    if config["l1"] > 0:
        soft_threshold(coef, lr * config["l1"], decay_mask)
    return t, lr


def run_epoch(X, y, sample_weight, mean, coef, state, scalars, order, config, t, rng_state,
              average, average_start, inv_scale=None):
    """One pass over the rows of X in `order` (a fresh random permutation if shuffling),
    updating coef, state, scalars, order in place, and the running mean `average` of the
    iterates after the updates t > average_start (unless it is empty).

    Same arguments and result as gdfast._kernel.run_epoch, but `config` names the loss, the
    optimizer and the schedule by their strings. Returns
    (status, sum of weighted losses, t, rng_state, learning rate of the last update).
    """
    # Divergence is reported through the status, as the kernel does, not as warnings.
    with np.errstate(over="ignore", invalid="ignore"):
        return _epoch(X, y, sample_weight, mean, coef, state, scalars, order, config, t,
                      rng_state, average, average_start, inv_scale)


def _epoch(X, y, sample_weight, mean, coef, state, scalars, order, config, t, rng_state,
           average, average_start, inv_scale):
    n_samples = X.shape[0]
    # A full batch sums over every row whatever their order: shuffling it would only cost time.
    if config["shuffle"] and config["batch_size"] < n_samples:
        rng_state = random_permutation(order, rng_state)
    decay_mask = _layout.is_weight(_layout.n_outputs(coef.size, X.shape[1]), X.shape[1])
    loss_sum, lr = 0.0, 0.0
    for start in range(0, n_samples, config["batch_size"]):
        rows = order[start:start + config["batch_size"]]
        grad, batch_loss = batch_gradient(X, y, sample_weight, mean, coef, rows, config,
                                          inv_scale)
        if not np.isfinite(batch_loss):
            return STATUS_NONFINITE, loss_sum, t, rng_state, lr
        loss_sum += batch_loss
        if lazy_step(X, config):
            t, lr = lazy_optimizer_step(coef, grad / len(rows), state, scalars, decay_mask,
                                        config, t, np.unique(X[rows].indices), X.shape[1])
        else:
            t, lr = optimizer_step(coef, grad / len(rows), state, scalars, decay_mask, config,
                                   t)
        if average.size and t > average_start:
            update_average(average, coef, t - average_start)
    averaged = average.size and t > average_start
    if not (np.all(np.isfinite(coef)) and (not averaged or np.all(np.isfinite(average)))):
        return STATUS_NONFINITE, loss_sum, t, rng_state, lr
    return STATUS_OK, loss_sum, t, rng_state, lr

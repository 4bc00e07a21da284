# The compiled core of gdfast: one epoch of gradient descent, for every batch mode.
#
# An epoch walks the rows in `order` (shuffled here first if asked), cuts them into batches of
# `batch_size` rows (1 = stochastic, k = mini-batch, n_samples = full batch), and for each
# batch accumulates the mean gradient of the weighted losses, then takes one optimizer step.
# The parameters are one flat vector of n_outputs rows of (n_features + 1) entries, the
# intercept last in each row. gdfast/_reference.py is the slow, obvious twin of this file.

import numpy as np

from cython cimport floating
from libc.math cimport isfinite
from libc.stdint cimport uint64_t

from _config cimport (EpochConfig, Loss, SQUARED_ERROR, LOG_LOSS, Optimizer, SGD,
                      Status, OK, NONFINITE)
from _losses cimport loss_and_derivative
from _optimizers cimport sgd_step
from _random cimport shuffle
from _rows cimport dot, axpy, scale_into


# The option names Python accepts, mapped to the kernel's codes. The estimators and the
# reference take their lists of valid names from here.
LOSSES = {"squared_error": SQUARED_ERROR, "log_loss": LOG_LOSS}
OPTIMIZERS = {"sgd": SGD}


cdef Py_ssize_t state_rows(int optimizer) noexcept nogil:
    """How many buffers, each the size of the parameter vector, the optimizer keeps."""
    if optimizer == SGD:
        return 0
    return -1


# Number of state buffers per optimizer name, for Python to allocate.
OPTIMIZER_STATE_ROWS = {name: state_rows(code) for name, code in OPTIMIZERS.items()}
STATUS_OK = OK
STATUS_NONFINITE = NONFINITE


cdef double accumulate_batch(
    const floating[:, ::1] X, const floating[::1] y, const floating[::1] sample_weight,
    const floating[::1] theta, floating[::1] grad, const Py_ssize_t* rows,
    Py_ssize_t n_rows, int loss, bint fit_intercept,
) noexcept nogil:
    """grad = mean over `rows` of sample_weight * dL/dtheta; return the sum of weighted losses.

    The first row writes the gradient instead of adding to it, so no separate zeroing pass
    is needed (this matters for the stochastic mode, where every batch is one row).
    """
    cdef Py_ssize_t n_features = X.shape[1]
    cdef Py_ssize_t i, row
    cdef const floating* x
    cdef double p, dloss, weight, loss_sum = 0.0
    cdef floating a
    cdef double inv_n_rows = 1.0 / n_rows
    for i in range(n_rows):
        row = rows[i]
        x = &X[row, 0]
        p = dot(x, &theta[0], n_features) + theta[n_features]
        weight = sample_weight[row]
        loss_sum += weight * loss_and_derivative(loss, p, y[row], &dloss)
        a = <floating>(weight * dloss * inv_n_rows)
        if i == 0:
            scale_into(a, x, &grad[0], n_features)
            grad[n_features] = a if fit_intercept else 0
        else:
            axpy(a, x, &grad[0], n_features)
            if fit_intercept:
                grad[n_features] += a
    return loss_sum


cdef void optimizer_step(
    const EpochConfig* cfg, floating[::1] theta, const floating[::1] grad,
    floating[:, ::1] state, long long t,
) noexcept nogil:
    """Apply one update of cfg.optimizer; the only place the optimizer is branched on."""
    cdef Py_ssize_t n_params = theta.shape[0]
    cdef floating lr = <floating>cfg.learning_rate
    if cfg.optimizer == SGD:
        sgd_step(&theta[0], &grad[0], n_params, lr)


cdef bint all_finite(const floating[::1] v) noexcept nogil:
    cdef Py_ssize_t j
    for j in range(v.shape[0]):
        if not isfinite(v[j]):
            return False
    return True


cdef int epoch_loop(
    const floating[:, ::1] X, const floating[::1] y, const floating[::1] sample_weight,
    floating[::1] theta, floating[::1] grad, floating[:, ::1] state, Py_ssize_t[::1] order,
    const EpochConfig* cfg, long long* t, uint64_t* rng, double* loss_sum,
) noexcept nogil:
    cdef Py_ssize_t n_samples = X.shape[0]
    cdef Py_ssize_t start, n_rows
    cdef double batch_loss
    if cfg.shuffle:
        shuffle(&order[0], n_samples, rng)
    loss_sum[0] = 0.0
    start = 0
    while start < n_samples:
        n_rows = min(cfg.batch_size, n_samples - start)
        batch_loss = accumulate_batch(X, y, sample_weight, theta, grad, &order[start],
                                      n_rows, cfg.loss, cfg.fit_intercept)
        if not isfinite(batch_loss):
            return NONFINITE
        loss_sum[0] += batch_loss
        t[0] += 1
        optimizer_step(cfg, theta, grad, state, t[0])
        start += n_rows
    if not all_finite(theta):
        return NONFINITE
    return OK


def run_epoch(
    const floating[:, ::1] X, const floating[::1] y, const floating[::1] sample_weight,
    floating[::1] coef, floating[:, ::1] state, Py_ssize_t[::1] order, dict config,
    long long t, uint64_t rng_state,
):
    """Run one epoch in place on `coef`, `state` and `order`.

    coef: flat parameters (n_features + 1 per output, intercept last); state: the optimizer's
    buffers, one row each; order: the row order (shuffled in place first if
    config["shuffle"]); t: updates taken so far; rng_state: the shuffle generator's state.
    Return (status, sum of weighted per-sample losses, t, rng_state).
    """
    cdef EpochConfig cfg = config
    cdef Py_ssize_t n_samples = X.shape[0], n_features = X.shape[1]
    cdef double loss_sum = 0.0
    cdef int status
    cdef bint order_ok
    # Bounds checks are compiled out, so every shape the loop relies on is checked here.
    if n_samples < 1 or y.shape[0] != n_samples or sample_weight.shape[0] != n_samples:
        raise ValueError("X, y and sample_weight must have the same, non-zero, number of rows")
    if order.shape[0] != n_samples:
        raise ValueError("order must hold one index per row")
    if coef.shape[0] != n_features + 1:
        raise ValueError(f"coef must have n_features + 1 = {n_features + 1} entries")
    if cfg.loss not in LOSSES.values() or cfg.optimizer not in OPTIMIZERS.values():
        raise ValueError(f"unknown loss code {cfg.loss} or optimizer code {cfg.optimizer}")
    if state.shape[0] != state_rows(cfg.optimizer) or state.shape[1] != coef.shape[0]:
        raise ValueError("state must have one row per optimizer buffer, each the size of coef")
    if cfg.batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    with nogil:
        order_ok = indices_in_range(order, n_samples)
    if not order_ok:
        raise ValueError("order must hold row indices in [0, n_samples)")
    grad = np.empty_like(coef)
    cdef floating[::1] grad_view = grad
    with nogil:
        status = epoch_loop(X, y, sample_weight, coef, grad_view, state, order, &cfg, &t,
                            &rng_state, &loss_sum)
    return status, loss_sum, t, rng_state


cdef bint indices_in_range(const Py_ssize_t[::1] order, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(order.shape[0]):
        if order[i] < 0 or order[i] >= n:
            return False
    return True

# One optimizer step on a flat parameter vector: the schedule's rate of update t, the
# penalties and weight decay on the entries a decay mask marks, and the optimizer's rule.
# Every kernel that trains a flat parameter vector (linear.pyx, mlp.pyx) takes its steps
# through update_parameters, so each model is updated by the same code.

from cython cimport floating
from libc.math cimport pow

from gdfast._kernels.config cimport *
from gdfast._kernels.optimizers cimport (sgd_step, momentum_step, nesterov_step, adagrad_step,
                                         rmsprop_step, adadelta_step, adam_step, nadam_step,
                                         adamax_step)


cdef inline double step_learning_rate(const EpochConfig* cfg, long long t) noexcept nogil:
    """The schedule's rate for update t (1-based), warm-up included."""
    cdef double lr
    if cfg.schedule == INVSCALING:
        lr = cfg.learning_rate / pow(<double>t, cfg.power_t)
    elif cfg.schedule == OPTIMAL:
        lr = 1.0 / (cfg.optimal_alpha * (cfg.optimal_t0 + t - 1))
    else:
        lr = cfg.learning_rate
    if t < cfg.warmup_steps:
        lr *= t / cfg.warmup_steps
    return lr


# The penalties and weight decay act on the entries a decay mask marks (the weights, not the
# intercepts). The loops below take the mask as its runs of consecutive marked entries: a
# contiguous loop per run vectorises as a loop over a whole vector does, where a test of the
# mask at every entry would not. The runs come in one of two forms, a fused type, so that
# each form gets its own compiled copy of the update: a linear model's (each output's row
# of weights; the epoch loop's, which the compiler then inlines into the loop, its only
# caller there) and a list of runs (any other layout: a network's weight matrices).

cdef struct LinearLayout:
    Py_ssize_t n_outputs
    Py_ssize_t row_len          # n_features + 1: the weights, then the intercept

cdef struct RunList:
    const Py_ssize_t* bounds    # (start, stop) of each run
    Py_ssize_t count

ctypedef fused DecayedRuns:
    LinearLayout
    RunList


cdef inline Py_ssize_t run_count(DecayedRuns runs) noexcept nogil:
    if DecayedRuns is LinearLayout:
        return runs.n_outputs
    else:
        return runs.count


cdef inline Py_ssize_t run_start(DecayedRuns runs, Py_ssize_t r) noexcept nogil:
    if DecayedRuns is LinearLayout:
        return r * runs.row_len
    else:
        return runs.bounds[2 * r]


cdef inline Py_ssize_t run_stop(DecayedRuns runs, Py_ssize_t r) noexcept nogil:
    if DecayedRuns is LinearLayout:
        return (r + 1) * runs.row_len - 1
    else:
        return runs.bounds[2 * r + 1]


cdef inline Py_ssize_t decayed_runs(const unsigned char* decay_mask, Py_ssize_t n,
                             Py_ssize_t* runs) noexcept nogil:
    """Write the (start, stop) of each run of non-zero entries of decay_mask[0:n] into runs,
    unless it is NULL; return the number of runs."""
    cdef Py_ssize_t j = 0, start, count = 0
    while j < n:
        if not decay_mask[j]:
            j += 1
            continue
        start = j
        while j < n and decay_mask[j]:
            j += 1
        if runs != NULL:
            runs[2 * count] = start
            runs[2 * count + 1] = j
        count += 1
    return count


cdef inline void decay_weights(floating* v, const floating* theta, double factor,
                        DecayedRuns runs) noexcept nogil:
    """v += factor * theta on the entries of the decayed runs, none of the others."""
    cdef Py_ssize_t r, j
    cdef floating f = <floating>factor
    for r in range(run_count(runs)):
        for j in range(run_start(runs, r), run_stop(runs, r)):
            v[j] += f * theta[j]


cdef inline floating towards_zero(floating value, floating c) noexcept nogil:
    """value moved c towards 0, stopping at 0 rather than crossing it: the l1 penalty's
    proximal step on one entry, which is what makes l1 produce exact zeros. Two such steps
    make one of their thresholds' sum, which lets sparse loops apply skipped ones late."""
    if value > c:
        return value - c
    if value < -c:
        return value + c
    return 0


cdef inline void soft_threshold(floating* theta, double threshold, DecayedRuns runs) noexcept nogil:
    """The l1 penalty's proximal step on every entry of the decayed runs."""
    cdef Py_ssize_t r, j
    cdef floating c = <floating>threshold
    for r in range(run_count(runs)):
        for j in range(run_start(runs, r), run_stop(runs, r)):
            theta[j] = towards_zero(theta[j], c)


cdef inline void update_parameters(
    const EpochConfig* cfg, floating* th, floating* g, floating* state, Py_ssize_t n,
    ScalarState* sc, long long t, double lr, DecayedRuns decayed,
) noexcept nogil:
    """Apply update t of cfg.optimizer at rate lr to the n parameters th, with gradient g and
    the optimizer's buffers state[0:n], state[n:2n], ...; the only branch on the optimizer.
    The penalties and weight decay act on the decayed runs only; g is overwritten."""
    cdef double coupled = cfg.l2 + (0.0 if cfg.optimizer == ADAMW else cfg.weight_decay)
    cdef double mu, mu_next
    if coupled != 0:
        decay_weights(g, th, coupled, decayed)
    if cfg.optimizer == ADAM or cfg.optimizer == ADAMW or cfg.optimizer == NADAM \
            or cfg.optimizer == ADAMAX:
        sc.beta1_power *= cfg.beta1
        sc.beta2_power *= cfg.beta2

    if cfg.optimizer == SGD:
        sgd_step(th, g, n, <floating>lr)
    elif cfg.optimizer == MOMENTUM:
        momentum_step(th, g, state, n, <floating>lr, <floating>cfg.momentum)
    elif cfg.optimizer == NESTEROV:
        nesterov_step(th, g, state, n, <floating>lr, <floating>cfg.momentum)
    elif cfg.optimizer == ADAGRAD:
        adagrad_step(th, g, state, n, <floating>(lr / (1 + (t - 1) * cfg.lr_decay)),
                     <floating>cfg.eps)
    elif cfg.optimizer == RMSPROP:
        rmsprop_step(th, g, state, state + 1 * n, state + 2 * n, n, <floating>lr,
                     <floating>cfg.rmsprop_alpha, <floating>cfg.eps, cfg.centered,
                     <floating>cfg.momentum)
    elif cfg.optimizer == ADADELTA:
        adadelta_step(th, g, state, state + 1 * n, n, <floating>lr, <floating>cfg.rho,
                      <floating>cfg.eps)
    elif cfg.optimizer == ADAM or cfg.optimizer == ADAMW:
        if cfg.optimizer == ADAMW and cfg.weight_decay != 0:
            decay_weights(th, th, -lr * cfg.weight_decay, decayed)
        adam_step(th, g, state, state + 1 * n, state + 2 * n, n, <floating>lr,
                  <floating>cfg.beta1, <floating>cfg.beta2, <floating>cfg.eps, cfg.amsgrad,
                  1 - sc.beta1_power, 1 - sc.beta2_power)
    elif cfg.optimizer == NADAM:
        sc.decay_power *= pow(0.96, cfg.momentum_decay)
        mu = cfg.beta1 * (1 - 0.5 * sc.decay_power)
        mu_next = cfg.beta1 * (1 - 0.5 * sc.decay_power * pow(0.96, cfg.momentum_decay))
        sc.mu_product *= mu
        nadam_step(th, g, state, state + 1 * n, n, <floating>lr, <floating>cfg.beta1,
                   <floating>cfg.beta2, <floating>cfg.eps, mu, mu_next, sc.mu_product,
                   1 - sc.beta2_power)
    elif cfg.optimizer == ADAMAX:
        adamax_step(th, g, state, state + 1 * n, n, <floating>lr, <floating>cfg.beta1,
                    <floating>cfg.beta2, <floating>cfg.eps, 1 - sc.beta1_power)
    if cfg.l1 > 0:
        soft_threshold(th, lr * cfg.l1, decayed)

# One update step per optimizer: PyTorch's torch.optim rules, defined in docs/mathematics.md
# (section "Optimizers"). The epoch loop picks the function once per step; each body is a
# straight loop over the flat parameter vector that the compiler can vectorise. Variants
# (centered, amsgrad, momentum on or off) are separate loops, never a branch per parameter.
# Bias corrections and other per-step scalars are computed by the caller, once per step.

from cython cimport floating
from libc.math cimport sqrt, fabs


cdef inline void sgd_step(floating* theta, const floating* g, Py_ssize_t n,
                          floating lr) noexcept nogil:
    cdef Py_ssize_t j
    for j in range(n):
        theta[j] -= lr * g[j]


cdef inline void momentum_step(floating* theta, const floating* g, floating* buf, Py_ssize_t n,
                               floating lr, floating mu) noexcept nogil:
    # b_1 = g holds because the buffer starts at zero and dampening is 0.
    cdef Py_ssize_t j
    for j in range(n):
        buf[j] = mu * buf[j] + g[j]
        theta[j] -= lr * buf[j]


cdef inline void nesterov_step(floating* theta, const floating* g, floating* buf, Py_ssize_t n,
                               floating lr, floating mu) noexcept nogil:
    cdef Py_ssize_t j
    for j in range(n):
        buf[j] = mu * buf[j] + g[j]
        theta[j] -= lr * (g[j] + mu * buf[j])


cdef inline void adagrad_step(floating* theta, const floating* g, floating* s, Py_ssize_t n,
                              floating lr, floating eps) noexcept nogil:
    # lr arrives already divided by 1 + (t - 1) lr_decay.
    cdef Py_ssize_t j
    for j in range(n):
        s[j] += g[j] * g[j]
        theta[j] -= lr * g[j] / (sqrt(s[j]) + eps)


cdef inline void rmsprop_step(floating* theta, const floating* g, floating* v, floating* gbar,
                              floating* buf, Py_ssize_t n, floating lr, floating alpha,
                              floating eps, bint centered, floating mu) noexcept nogil:
    cdef Py_ssize_t j
    cdef floating one_minus_alpha = 1 - alpha
    if centered and mu > 0:
        for j in range(n):
            v[j] = alpha * v[j] + one_minus_alpha * g[j] * g[j]
            gbar[j] = alpha * gbar[j] + one_minus_alpha * g[j]
            buf[j] = mu * buf[j] + g[j] / (sqrt(v[j] - gbar[j] * gbar[j]) + eps)
            theta[j] -= lr * buf[j]
    elif centered:
        for j in range(n):
            v[j] = alpha * v[j] + one_minus_alpha * g[j] * g[j]
            gbar[j] = alpha * gbar[j] + one_minus_alpha * g[j]
            theta[j] -= lr * g[j] / (sqrt(v[j] - gbar[j] * gbar[j]) + eps)
    elif mu > 0:
        for j in range(n):
            v[j] = alpha * v[j] + one_minus_alpha * g[j] * g[j]
            buf[j] = mu * buf[j] + g[j] / (sqrt(v[j]) + eps)
            theta[j] -= lr * buf[j]
    else:
        for j in range(n):
            v[j] = alpha * v[j] + one_minus_alpha * g[j] * g[j]
            theta[j] -= lr * g[j] / (sqrt(v[j]) + eps)


cdef inline void adadelta_step(floating* theta, const floating* g, floating* v, floating* u,
                               Py_ssize_t n, floating lr, floating rho,
                               floating eps) noexcept nogil:
    cdef Py_ssize_t j
    cdef floating delta
    for j in range(n):
        v[j] = rho * v[j] + (1 - rho) * g[j] * g[j]
        delta = sqrt(u[j] + eps) / sqrt(v[j] + eps) * g[j]
        u[j] = rho * u[j] + (1 - rho) * delta * delta
        theta[j] -= lr * delta


cdef inline void adam_step(floating* theta, const floating* g, floating* m, floating* v,
                           floating* vmax, Py_ssize_t n, floating lr, floating beta1,
                           floating beta2, floating eps, bint amsgrad,
                           double bias1, double bias2) noexcept nogil:
    """bias1 = 1 - beta1**t, bias2 = 1 - beta2**t."""
    cdef Py_ssize_t j
    cdef floating step = <floating>(lr / bias1)
    cdef floating inv_sqrt_bias2 = <floating>(1.0 / sqrt(bias2))
    if amsgrad:
        for j in range(n):
            m[j] = beta1 * m[j] + (1 - beta1) * g[j]
            v[j] = beta2 * v[j] + (1 - beta2) * g[j] * g[j]
            if v[j] > vmax[j]:
                vmax[j] = v[j]
            theta[j] -= step * m[j] / (sqrt(vmax[j]) * inv_sqrt_bias2 + eps)
    else:
        for j in range(n):
            m[j] = beta1 * m[j] + (1 - beta1) * g[j]
            v[j] = beta2 * v[j] + (1 - beta2) * g[j] * g[j]
            theta[j] -= step * m[j] / (sqrt(v[j]) * inv_sqrt_bias2 + eps)


cdef inline void nadam_step(floating* theta, const floating* g, floating* m, floating* v,
                            Py_ssize_t n, floating lr, floating beta1, floating beta2,
                            floating eps, double mu, double mu_next, double mu_product,
                            double bias2) noexcept nogil:
    """mu_product = prod of mu_i for i <= t (this step's mu included)."""
    cdef Py_ssize_t j
    cdef floating gradient_weight = <floating>(lr * (1 - mu) / (1 - mu_product))
    cdef floating momentum_weight = <floating>(lr * mu_next / (1 - mu_product * mu_next))
    cdef floating inv_sqrt_bias2 = <floating>(1.0 / sqrt(bias2))
    cdef floating denom
    for j in range(n):
        m[j] = beta1 * m[j] + (1 - beta1) * g[j]
        v[j] = beta2 * v[j] + (1 - beta2) * g[j] * g[j]
        denom = sqrt(v[j]) * inv_sqrt_bias2 + eps
        theta[j] -= (gradient_weight * g[j] + momentum_weight * m[j]) / denom


cdef inline void adamax_step(floating* theta, const floating* g, floating* m, floating* u,
                             Py_ssize_t n, floating lr, floating beta1, floating beta2,
                             floating eps, double bias1) noexcept nogil:
    cdef Py_ssize_t j
    cdef floating step = <floating>(lr / bias1)
    cdef floating scaled
    for j in range(n):
        m[j] = beta1 * m[j] + (1 - beta1) * g[j]
        scaled = beta2 * u[j]
        u[j] = fabs(g[j]) + eps
        if scaled > u[j]:
            u[j] = scaled
        theta[j] -= step * m[j] / u[j]

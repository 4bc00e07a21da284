# One update step per optimizer: theta <- rule(theta, grad, state, t). The epoch loop picks
# the function once per step; each body is a straight loop over the parameters that the
# compiler can vectorise. All rules treat theta as one flat vector: the intercepts are
# ordinary entries (last of each output row), so no rule needs a special case.

from cython cimport floating


cdef inline void sgd_step(floating* theta, const floating* grad, Py_ssize_t n_params,
                          floating lr) noexcept nogil:
    cdef Py_ssize_t j
    for j in range(n_params):
        theta[j] = theta[j] - lr * grad[j]

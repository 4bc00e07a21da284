# Per-sample losses L(p, y) and their derivatives dL/dp, as defined in
# shared/design/optimizers.md. Computed in double whatever the data's dtype: the cost is one
# call per sample, not per feature. Branched once per sample on the loss code.

from libc.math cimport exp, log1p, fabs

from _config cimport Loss, SQUARED_ERROR, LOG_LOSS


cdef inline double log1pexp(double p) noexcept nogil:
    """log(1 + e^p) without overflow for large p or loss of precision for small."""
    if p > 0:
        return p + log1p(exp(-p))
    return log1p(exp(p))


cdef inline double sigmoid(double p) noexcept nogil:
    cdef double e
    if p >= 0:
        return 1.0 / (1.0 + exp(-p))
    e = exp(p)
    return e / (1.0 + e)


cdef inline double loss_and_derivative(int loss, double p, double y, double* dloss) noexcept nogil:
    """Return L(p, y) and store dL/dp in dloss[0]."""
    cdef double r
    if loss == SQUARED_ERROR:
        r = p - y
        dloss[0] = 2.0 * r
        return r * r
    else:  # LOG_LOSS, binary, y in {0, 1}
        dloss[0] = sigmoid(p) - y
        return log1pexp(p) - y * p

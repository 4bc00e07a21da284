# Per-sample losses L(p, y) and their derivatives dL/dp, as defined in
# shared/design/optimizers.md. Computed in double whatever the data's dtype: the cost is one
# call per sample, not per feature. Branched once per sample on the loss code.

from libc.math cimport exp, log1p, fabs

from _config cimport Loss, SQUARED_ERROR, LOG_LOSS


cdef inline double loss_and_derivative(int loss, double p, double y, double* dloss) noexcept nogil:
    """Return L(p, y) and store dL/dp in dloss[0]."""
    cdef double r, e
    if loss == SQUARED_ERROR:
        r = p - y
        dloss[0] = 2.0 * r
        return r * r
    else:  # LOG_LOSS, binary, y in {0, 1}
        # One exponential serves both: with e = exp(-|p|), which never overflows,
        # sigmoid(p) = 1/(1+e) for p >= 0 and e/(1+e) otherwise, and
        # log(1 + exp(p)) = max(p, 0) + log1p(e).
        e = exp(-fabs(p))
        if p >= 0:
            dloss[0] = 1.0 / (1.0 + e) - y
            return p + log1p(e) - y * p
        dloss[0] = e / (1.0 + e) - y
        return log1p(e) - y * p

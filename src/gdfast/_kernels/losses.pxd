# Per-sample losses L(p, y) and their derivatives dL/dp, as defined in docs/mathematics.md
# (section "Losses"). Computed in double whatever the data's dtype: the cost is one
# call per sample, not per feature. Branched once per sample on the loss code.

from libc.math cimport log, fabs

from gdfast._kernels.config cimport *


cdef extern from "fastmath.h":
    # exp on x <= 0, log1p on [0, 1] and the binary log loss, inline and branch-free
    # (see fastmath.h).
    double gd_exp_nonpositive(double x) noexcept nogil
    double gd_exp_nonpositive_scalar(double x) noexcept nogil
    double gd_log1p_unit(double e) noexcept nogil
    double gd_log_loss(double p, double y, double* dloss) noexcept nogil
    void gd_log_loss_rows(const double* p, const double* y, double* loss, double* dloss,
                          int n) noexcept nogil
    # The same for rows of weight 1 whose losses are summed, the logarithm taken once for
    # GD_LOG_PRODUCT_ROWS rows (gd_take_log_loss_sum).
    int GD_LOG_PRODUCT_ROWS
    void gd_log_loss_rows_unit(const double* p, const double* y, double* dloss,
                               double* product, double* rest, int n) noexcept nogil
    double gd_take_log_loss_sum(double* product, double* rest, int n,
                                int factors) noexcept nogil
    double gd_log_loss_unit(double p, double y, double* dloss, double* product) noexcept nogil
    # The softmax cross-entropy of a block of rows, scores stored by class, and the split of
    # its normalisers' logarithms into exponent and mantissa.
    void gd_softmax_rows(const double* s, int n_classes, int stride, int n, double* d,
                         double* top, double* normaliser, double* inverse) noexcept nogil
    double gd_log_split(double x, double* mantissa) noexcept nogil
    # The same, given p = q - t with |t| <= GD_SMALL_SHIFT and exp(-|q|) (the per-sample
    # look-ahead), and the sigmoid it computes its dloss with.
    double GD_SMALL_SHIFT
    double gd_expm1_small(double t) noexcept nogil
    double gd_sigmoid_shifted(double q, double e, double t) noexcept nogil
    double gd_log_loss_unit_shifted(double p, double q, double e_q, double t, double y,
                                    double* dloss, double* product) noexcept nogil


cdef inline double loss_and_derivative(int loss, double p, double y, double epsilon,
                                       double* dloss) noexcept nogil:
    """Return L(p, y) and store dL/dp in dloss[0].

    The two most common losses here, the others in other_loss_and_derivative: small enough
    for the compiler to inline into the one-row loop, where a call would put the call, its
    return and dloss's trip through memory on the chain from one update to the next."""
    cdef double r
    if loss == SQUARED_ERROR:
        r = p - y
        dloss[0] = 2.0 * r
        return r * r
    if loss == LOG_LOSS:  # binary, y in {0, 1}
        return gd_log_loss(p, y, dloss)
    return other_loss_and_derivative(loss, p, y, epsilon, dloss)


cdef inline double other_loss_and_derivative(int loss, double p, double y, double epsilon,
                                             double* dloss) noexcept nogil:
    """loss_and_derivative for the losses other than squared error and log loss."""
    cdef double r, z
    if loss == HUBER:
        r = p - y
        if fabs(r) <= epsilon:
            dloss[0] = 2.0 * r
            return r * r
        dloss[0] = 2.0 * epsilon if r > 0 else -2.0 * epsilon
        return 2.0 * epsilon * fabs(r) - epsilon * epsilon
    if loss == EPSILON_INSENSITIVE:
        r = p - y
        if fabs(r) > epsilon:
            dloss[0] = 1.0 if r > 0 else -1.0
            return fabs(r) - epsilon
        dloss[0] = 0.0
        return 0.0
    z = y * p                 # HINGE, MODIFIED_HUBER: y in {-1, +1}
    if loss == HINGE:
        if z < 1.0:
            dloss[0] = -y
            return 1.0 - z
        dloss[0] = 0.0
        return 0.0
    if z >= 1.0:              # MODIFIED_HUBER
        dloss[0] = 0.0
        return 0.0
    if z >= -1.0:
        dloss[0] = -2.0 * y * (1.0 - z)
        return (1.0 - z) * (1.0 - z)
    dloss[0] = -4.0 * y
    return -4.0 * z


cdef inline double sample_loss(const EpochConfig* cfg, const double* scores, Py_ssize_t n_outputs,
                               double y, double* dscores) noexcept nogil:
    """Loss of one sample with scores[0:n_outputs]; store dL/dscore_k in dscores[k].

    With several outputs y is a class index: one-vs-rest sums one binary loss per class
    (target 1 for the sample's class, 0 or -1 for the others); multinomial is the softmax
    cross-entropy."""
    cdef Py_ssize_t k, label
    cdef double total, top, normaliser, inverse, negative
    if cfg.multiclass == SINGLE_OUTPUT:
        return loss_and_derivative(cfg.loss, scores[0], y, cfg.epsilon, dscores)
    label = <Py_ssize_t>y
    if cfg.multiclass == ONE_VS_REST:
        negative = 0.0 if cfg.loss == LOG_LOSS else -1.0
        total = 0.0
        for k in range(n_outputs):
            total += loss_and_derivative(cfg.loss, scores[k], 1.0 if k == label else negative,
                                         cfg.epsilon, &dscores[k])
        return total
    top = scores[0]                       # MULTINOMIAL: shift by the largest score
    for k in range(1, n_outputs):
        if scores[k] > top:
            top = scores[k]
    normaliser = 0.0
    for k in range(n_outputs):        # no sum in this loop, so that it vectorises
        dscores[k] = gd_exp_nonpositive(scores[k] - top)
    for k in range(n_outputs):
        normaliser += dscores[k]
    inverse = 1.0 / normaliser        # one division, as gd_softmax_rows
    for k in range(n_outputs):
        dscores[k] *= inverse
    dscores[label] -= 1.0
    return log(normaliser) + top - scores[label]

# The per-sample log loss's one-row loop on rows of the identity map, in C (see log_rows.h):
# sgd_rows' common case for logistic regression on rows of a few features.

cdef extern from "log_rows.h" nogil:
    ctypedef struct gd_log_run:
        const void* x
        double base
        double base_exp
        double shift
        double total
        double product
        int stopped
    Py_ssize_t gd_log_rows_f32(const float* X, Py_ssize_t n_features, const float* y,
                               const Py_ssize_t* order, Py_ssize_t n_samples, Py_ssize_t start,
                               Py_ssize_t stop, float* theta, int fit_intercept, float step,
                               Py_ssize_t distance, int tail, gd_log_run* run)
    Py_ssize_t gd_log_rows_f64(const double* X, Py_ssize_t n_features, const double* y,
                               const Py_ssize_t* order, Py_ssize_t n_samples, Py_ssize_t start,
                               Py_ssize_t stop, double* theta, int fit_intercept, double step,
                               Py_ssize_t distance, int tail, gd_log_run* run)

# The parameter layout of a linear model, declared once: one flat vector holding, for each
# output, a row of n_features weights followed by its intercept. gdfast/_layout.py is the
# same rule for the Python side (the estimators, their state, the engines, the twin).


cdef inline Py_ssize_t output_len(Py_ssize_t n_features) noexcept nogil:
    """Entries per output: the weights, then the intercept."""
    return n_features + 1


cdef inline Py_ssize_t n_outputs_of(Py_ssize_t n_params, Py_ssize_t n_features) noexcept nogil:
    return n_params // output_len(n_features)


cdef inline Py_ssize_t weights_start(Py_ssize_t k, Py_ssize_t n_features) noexcept nogil:
    """Where output k's weights start; its intercept is at weights_start + n_features."""
    return k * output_len(n_features)

# The option codes and the per-call configuration of the epoch loop.
# Python reads the names from the tables in _kernel.pyx (LOSSES, OPTIMIZERS), so each
# option is defined exactly once: here.

cdef enum Loss:
    SQUARED_ERROR = 0
    LOG_LOSS = 1

cdef enum Optimizer:
    SGD = 0

cdef enum Status:
    OK = 0
    NONFINITE = 1        # a loss or a parameter became NaN or infinite


# Hyper-parameters arrive from Python as a dict, converted by Cython into this struct.
# They are doubles whatever the data's dtype; the kernel casts once per step.
cdef struct EpochConfig:
    int loss
    int optimizer
    Py_ssize_t batch_size   # 1 = stochastic, k = mini-batch, n_samples = full batch
    bint shuffle
    bint fit_intercept
    double learning_rate

# What every epoch loop checks between batches: that the parameters stayed finite, that the
# row indices it was given lie inside X, and whether a signal (Ctrl-C) asked it to stop.

from cython cimport floating
from libc.math cimport isfinite


cdef extern from "Python.h":
    # Declared without an exception value: the exception a handler raises stays pending for
    # the entry point to raise once the loop has returned.
    int PyErr_CheckSignals()


cdef enum:
    # Work (rows × parameters) between two looks at pending signals: a few milliseconds of
    # any update rule, so Ctrl-C is answered at once, and each look (taking the GIL, when no
    # other thread holds it, for a flag test) costs a negligible share of it.
    SIGNAL_CHECK_WORK = 1 << 22


cdef inline bint signal_handler_raised() noexcept nogil:
    """Run the Python handlers of any signal that arrived (Ctrl-C's raises
    KeyboardInterrupt); whether one raised."""
    with gil:
        return PyErr_CheckSignals() != 0


cdef inline bint interrupted(Py_ssize_t done, Py_ssize_t* next_check,
                             Py_ssize_t check_rows) noexcept nogil:
    """Whether a signal handler raised, looked at only once `done` rows reach *next_check,
    which then moves check_rows on: an epoch loop's look at Ctrl-C between its updates."""
    if done < next_check[0]:
        return False
    next_check[0] = done + check_rows
    return signal_handler_raised()


cdef inline int raise_pending() except -1:
    """Raise the exception a signal handler left pending."""
    return -1


cdef inline bint all_finite(const floating* v, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t j
    for j in range(n):
        if not isfinite(v[j]):
            return False
    return True


cdef inline bint indices_in_range(const Py_ssize_t[::1] order, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(order.shape[0]):
        if order[i] < 0 or order[i] >= n:
            return False
    return True

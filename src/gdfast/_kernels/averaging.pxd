# Polyak–Ruppert averaging: the running mean of the iterates of the flat parameter vector,
# kept in O(1) per parameter per update (docs/mathematics.md, section "Averaging").

from cython cimport floating


# Whether a one-row loop folds its iterates into an average, as a type: a loop specialised
# on Averaging (a fused type) holds, for NoAverage, no test for it at every row.
cdef struct NoAverage:
    char unused             # nothing to carry (C structs may not be empty)

cdef struct RunningAverage:
    void* values            # the average, the parameter vector's length and element type
    long long start         # iterates after this update are averaged

ctypedef fused Averaging:
    NoAverage
    RunningAverage


cdef inline void update_average(floating* average, const floating* theta, Py_ssize_t n,
                                long long k) noexcept nogil:
    """Fold the k-th averaged iterate theta[0:n] into the mean of the k − 1 before it:
    ā ← ā + (θ − ā)/k. The first (k = 1) sets ā = θ exactly, whatever ā held before."""
    cdef Py_ssize_t j
    cdef floating weight = <floating>(1.0 / k)
    if k == 1:
        for j in range(n):
            average[j] = theta[j]
        return
    for j in range(n):
        average[j] += weight * (theta[j] - average[j])


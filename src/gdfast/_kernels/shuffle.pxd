# The in-kernel shuffle: SplitMix64 feeding an inside-out Fisher-Yates pass.
# gdfast/_slow/linear.py implements the same generator, so both engines visit rows in the same
# order for the same seed. The bounded draw takes the high 32 bits times the range (Lemire),
# so it needs n < 2**32 rows; Python checks that before calling.

from libc.stdint cimport uint64_t


cdef extern from "cpu.h":
    void gd_prefetch(const void* p) noexcept nogil


cdef enum:
    # Steps whose far slot is requested ahead of time. Each step's far slot is a random
    # entry of an order array as long as X has rows (8 MB for 1M rows): a cache miss that
    # the loop would otherwise wait for, one step after another (perf: about a tenth of a
    # 1M x 10 per-sample epoch).
    SHUFFLE_LOOKAHEAD = 16


cdef inline uint64_t splitmix64_mix(uint64_t z) noexcept nogil:
    z = (z ^ (z >> 30)) * <uint64_t>0xBF58476D1CE4E5B9ULL
    z = (z ^ (z >> 27)) * <uint64_t>0x94D049BB133111EBULL
    return z ^ (z >> 31)


cdef inline uint64_t splitmix64(uint64_t* state) noexcept nogil:
    state[0] += <uint64_t>0x9E3779B97F4A7C15ULL
    return splitmix64_mix(state[0])


cdef inline Py_ssize_t draw_below(uint64_t value, Py_ssize_t bound) noexcept nogil:
    """A draw in [0, bound) from one generator output."""
    return <Py_ssize_t>(((value >> 32) * <uint64_t>bound) >> 32)


cdef inline void random_permutation(Py_ssize_t* order, Py_ssize_t n,
                                    uint64_t* state) noexcept nogil:
    """Fill order[0:n] with a uniformly random permutation of 0 .. n-1 drawn from `state`,
    whatever it held before (the inside-out form of Fisher-Yates): an epoch's order then
    depends on the generator's state alone, so a fitted model need not keep one."""
    cdef Py_ssize_t i, j, ahead
    # SplitMix64's state only ever grows by its constant, so the draw SHUFFLE_LOOKAHEAD steps
    # ahead is known now without advancing the generator: the same draws, in the same order.
    cdef uint64_t gamma = <uint64_t>0x9E3779B97F4A7C15ULL
    if n < 1:
        return
    order[0] = 0
    for i in range(1, n):
        ahead = i + SHUFFLE_LOOKAHEAD
        if ahead < n:
            gd_prefetch(order + draw_below(
                splitmix64_mix(state[0] + <uint64_t>(SHUFFLE_LOOKAHEAD + 1) * gamma), ahead + 1))
        j = draw_below(splitmix64(state), i + 1)
        order[i] = order[j]
        order[j] = i

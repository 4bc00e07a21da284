# The in-kernel shuffle: SplitMix64 feeding a Fisher-Yates pass. gdfast/_reference.py
# implements the same generator, so both engines visit rows in the same order for the same
# seed. The bounded draw takes the high 32 bits times the range (Lemire), so it needs
# n < 2**32 rows; Python checks that before calling.

from libc.stdint cimport uint64_t


cdef inline uint64_t splitmix64(uint64_t* state) noexcept nogil:
    state[0] += <uint64_t>0x9E3779B97F4A7C15ULL
    cdef uint64_t z = state[0]
    z = (z ^ (z >> 30)) * <uint64_t>0xBF58476D1CE4E5B9ULL
    z = (z ^ (z >> 27)) * <uint64_t>0x94D049BB133111EBULL
    return z ^ (z >> 31)


cdef inline void shuffle(Py_ssize_t* order, Py_ssize_t n, uint64_t* state) noexcept nogil:
    cdef Py_ssize_t i, j, tmp
    i = n - 1
    while i > 0:
        j = <Py_ssize_t>(((splitmix64(state) >> 32) * <uint64_t>(i + 1)) >> 32)
        tmp = order[i]
        order[i] = order[j]
        order[j] = tmp
        i -= 1

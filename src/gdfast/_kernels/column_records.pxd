# The compact mini-batch's column records (csr.pxd's LAZY_COMPACT): each column's weights,
# live state and stamp side by side, one cache line per column for an epoch.

from cython cimport floating
from libc.math cimport INFINITY, log

from gdfast._kernels.layout cimport weights_start
from gdfast._kernels.sparse_work cimport SparseWork


# Column records. A LAZY_COMPACT mini-batch reads, for each column of its rows, the column's
# `seen` stamp, its weights and its state: three arrays, three cache lines for one column,
# each a miss for all but the most frequent columns, and the misses, not the arithmetic, set
# the epoch's pace. So for the epoch (pack_records, unpack_records: O(n_features) each) each
# column's weights (one per output), live state rows and stamp are kept together in one
# record of record_size bytes: output k's weight at k, live row r's entry at
# n_outputs · (1 + r) + k, the stamp at stamp_offset. Only a rule whose state decays over
# skipped steps needs the stamp (the lag it catches up); AdaGrad's or lazy Adam's skipped
# columns do not change, so their records hold no stamp: 16 bytes for AdaGrad's weight and
# accumulator. Records of at most 64 bytes are a power of two in size and start on a cache
# line, so a column is one line. The intercepts stay where they are (every update steps
# them). Not with averaging, which reads every weight after each update, nor for one row of
# distinct columns, which reads no stamps.
# A rule whose state decays over skipped steps (momentum, RMSprop, AdaDelta) needs no stamp
# either when the records keep that state in units of the common decay D = μ^n of the n
# updates since they were packed (scaled_idle): a buffer b is stored as b/D, which a skipped
# step leaves alone, and is b = D·(stored) whenever it is read. A momentum weight drifts
# along its velocity by d·b per skipped step (idle_buffers); θ − K·b with K = d/(1 − μ) does
# not change over such a step (θ − d·b − K·μ·b = θ − K·b), so the record stores it in the
# weight's place and θ = (stored) + K·b. Gathering a column is then two multiplications,
# whatever its lag: no stamp, no table of powers. When D falls below idle_scale_min
# (underflow would follow) every record is rescaled to D = 1, O(n_features); the epoch
# takes this form when the updates between two rescalings read more columns than a
# rescaling does (linear.pyx).
# While a batch holds a column, the first 4 bytes of its record (of output 0's weight, whose
# value is in the gathered vector then) hold its slot s there: the column is held iff
# s < n_touched and touched[s] is the column, an exact test whatever bytes a record that is
# not held starts with. compact_step writes every weight back, and release_marks does on a
# batch that stops before its step.

cdef inline floating* column_record(SparseWork* work, Py_ssize_t j,
                                    const floating* of_type) noexcept nogil:
    return <floating*>(work.records + j * work.record_size)


cdef inline long long* record_stamp(SparseWork* work, Py_ssize_t j) noexcept nogil:
    return <long long*>(work.records + j * work.record_size + work.stamp_offset)


cdef inline void pack_records(SparseWork* work, const floating* theta, const floating* state,
                              long long now) noexcept nogil:
    """Every column's weights and live state into its record, its stamp `now` (scaled_idle:
    D = 1, the weight stored as θ − K·b)."""
    cdef Py_ssize_t j, k, r, n_outputs = work.n_outputs
    cdef floating* rec
    cdef floating offset = <floating>work.idle_offset
    cdef bint drifting = work.scaled_idle and work.idle_offset != 0.0
    work.idle_scale = 1.0
    for j in range(work.n_features):
        rec = column_record(work, j, theta)
        for k in range(n_outputs):
            rec[k] = theta[weights_start(k, work.n_features) + j]
            for r in range(work.n_live):
                rec[n_outputs * (1 + r) + k] = \
                    state[work.live_rows[r] * work.n_params + weights_start(k, work.n_features) + j]
            if drifting:
                rec[k] -= offset * rec[n_outputs + k]
        if work.record_stamps:
            record_stamp(work, j)[0] = now


cdef inline void rescale_records(SparseWork* work, const floating* of_type) noexcept nogil:
    """scaled_idle: every record's idle buffers to D = 1 (the weights' stored part does not
    change)."""
    cdef Py_ssize_t j, e, first = work.n_outputs, stop = work.n_outputs * (1 + work.n_idle)
    cdef floating d = <floating>work.idle_scale
    cdef floating* rec
    for j in range(work.n_features):
        rec = column_record(work, j, of_type)
        for e in range(first, stop):
            rec[e] *= d
    work.idle_scale = 1.0


cdef inline Py_ssize_t choose_column_records(SparseWork* work, bint use_records,
                                             Py_ssize_t n_samples, Py_ssize_t nnz,
                                             Py_ssize_t batch,
                                             Py_ssize_t itemsize) noexcept nogil:
    """Set how the idle state is caught up (stamped_idle or scaled_idle; scaled only in
    records, and when the updates between two rescalings read more columns than the
    n_features a rescaling does) and the records' layout; return a record's size: a power
    of two of bytes up to a cache line (whole lines beyond), a stamp only if stamped_idle.
    work's n_features, n_outputs, n_live, n_idle, idle_factor and idle_drift are set."""
    cdef double mean_row_nnz = nnz / <double>max(n_samples, 1), rescaled_every
    cdef Py_ssize_t record_bytes, size = 8
    work.idle_scale = 1.0
    # Above the dtype's underflow, with room for the buffers' values divided by it.
    work.idle_scale_min = 1e-150 if itemsize == 8 else 1e-10
    work.idle_offset = (work.idle_drift / (1.0 - work.idle_factor)
                        if work.idle_drift != 0.0 else 0.0)
    if work.idle_factor >= 1.0:
        rescaled_every = INFINITY
    elif work.idle_factor > 0.0:
        rescaled_every = log(work.idle_scale_min) / log(work.idle_factor)
    else:
        rescaled_every = 0.0
    work.scaled_idle = (use_records and work.n_idle > 0
                        and rescaled_every * batch * mean_row_nnz >= work.n_features)
    work.stamped_idle = work.n_idle > 0 and not work.scaled_idle
    work.stamp_offset = 8 * ((work.n_outputs * (1 + work.n_live) * itemsize + 7) // 8)
    work.record_stamps = work.stamped_idle
    record_bytes = work.stamp_offset + (8 if work.stamped_idle else 0)
    while size < record_bytes and size < 64:
        size *= 2
    if size < record_bytes:
        size = 64 * ((record_bytes + 63) // 64)
    work.record_size = size
    return size


cdef inline unsigned int* record_mark(char* rec) noexcept nogil:
    """Where a held column's record keeps its slot (see column records)."""
    return <unsigned int*>rec


cdef inline void release_marks(SparseWork* work, const floating* of_type) noexcept nogil:
    """The weights of output 0 the batch's slot marks cover, back from the gathered vector
    (compact_batch_gradient's layout): for a batch that stops before its step."""
    cdef const floating* th_c = <const floating*>work.compact
    cdef const floating* first = th_c + (2 + work.live_rows[0]) * work.compact_len
    cdef floating offset = <floating>work.idle_offset
    cdef bint drifting = work.scaled_idle and work.idle_offset != 0.0
    cdef Py_ssize_t i
    for i in range(work.n_touched):
        column_record(work, work.touched[i], of_type)[0] = \
            th_c[i] - offset * first[i] if drifting else th_c[i]


cdef inline void unpack_records(SparseWork* work, floating* theta,
                                floating* state) noexcept nogil:
    """Every column's record back into the weights and state."""
    cdef Py_ssize_t j, k, r, n_outputs = work.n_outputs
    cdef const floating* rec
    cdef floating d = <floating>work.idle_scale, offset = <floating>work.idle_offset
    cdef bint scaled = work.scaled_idle, drifting = work.scaled_idle and work.idle_offset != 0.0
    cdef floating value
    for j in range(work.n_features):
        rec = column_record(work, j, theta)
        for k in range(n_outputs):
            theta[weights_start(k, work.n_features) + j] = rec[k]
            for r in range(work.n_live):
                value = rec[n_outputs * (1 + r) + k]
                if scaled and r < work.n_idle:
                    value = d * value
                state[work.live_rows[r] * work.n_params + weights_start(k, work.n_features) + j] \
                    = value
            if drifting:
                theta[weights_start(k, work.n_features) + j] += \
                    offset * state[work.live_rows[0] * work.n_params
                                   + weights_start(k, work.n_features) + j]

# The compiled core of gdfast: one epoch of gradient descent, for every batch mode.
#
# An epoch walks the rows in `order` (a fresh random permutation drawn here, if asked), cuts
# them into batches of `batch_size` rows (1 = stochastic, k = mini-batch, n_samples = full
# batch), and for each batch accumulates the mean gradient of the weighted losses, then takes
# one optimizer step, then (if asked) folds the new parameters into their running average
# (averaging.pxd).
# The parameters are one flat vector of n_outputs rows of (n_features + 1) entries, the
# intercept last in each row (layout.pxd); the rows are read through a RowSource
# (rowsource.pxd) and seen by the model through a FeatureMap (features.pxd). Dense rows are
# read as contiguous runs, not as (index, value) pairs: the four-row groups and the prefetch
# of spans depend on it. CSR rows get loops of their own (csr.pxd), chosen once per epoch
# by the entry point run_epoch_csr.
# gdfast/_slow/linear.py is the slow, obvious twin of this file.
# The two halves of a step are also entry points of their own (batch_gradient,
# optimizer_step), running the same code, for callers that sum gradients over chunks of rows
# or update parameter vectors of other shapes.

import threading

import numpy as np

from cython cimport floating
from cython.parallel cimport parallel
from libc.math cimport isfinite, fabs, log, pow
from libc.stdint cimport uint64_t

from gdfast._kernels.config cimport *
from gdfast._kernels.losses cimport (loss_and_derivative, sample_loss, gd_log_loss_rows,
                                     gd_log_loss_rows_unit, gd_take_log_loss_sum,
                                     GD_LOG_PRODUCT_ROWS, gd_log_loss_unit, GD_SMALL_SHIFT,
                                     gd_log_loss_unit_shifted, gd_expm1_small,
                                     gd_sigmoid_shifted, gd_softmax_rows, gd_log_split,
                                     gd_exp_nonpositive, gd_exp_nonpositive_scalar,
                                     gd_log1p_unit)
from gdfast._kernels.step cimport (step_learning_rate, LinearLayout, RunList, decayed_runs,
                                   update_parameters)
from gdfast._kernels.shuffle cimport random_permutation
from gdfast._kernels.guards cimport (SIGNAL_CHECK_WORK, all_finite, indices_in_range,
                                    raise_pending, interrupted)
from gdfast._kernels.rows cimport (dot, dot4, axpy, axpy4, scale_into, prefetch_row,
                   prefetch_sample, tail_line_needed, gd_cpu_has_avx2_fma)
from gdfast._kernels.rowsource cimport RowSource, dense_rows, dense_row, csr_rows, csr_row
from gdfast._kernels.csr cimport (sparse_step_kind, idle_buffers, live_state_rows,
                                  fill_idle_tables, csr_epoch_loop, prefetch_ahead, LAZY_SGD,
                                  LAZY_COMPACT, DENSE_STEP, IDLE_TABLE_MAX)
from gdfast._kernels.sparse_work cimport SparseWork
from gdfast._kernels.column_records cimport choose_column_records
from gdfast._kernels.features cimport (FeatureMap, IdentityMap, RowMap, feature_map,
                                       is_identity, mapped_weights, mapped_dot, mapped_step,
                                       mapped_overlap, mapped_offset, map_gradient,
                                       mapped_entry)
from gdfast._kernels.layout cimport output_len, n_outputs_of, weights_start
from gdfast._kernels.log_rows cimport gd_log_run, gd_log_rows_f32, gd_log_rows_f64
from gdfast._kernels.weights cimport (ScaledVector, scaled_vector, shrink, add_scaled,
                                      scaled_dot, materialise)
from gdfast._kernels.averaging cimport (update_average, Averaging, NoAverage,
                                        RunningAverage)


# The option names Python uses, mapped to the kernel's codes. The optimizers' names are
# declared by their classes in gdfast.optim; a test checks that these tables agree with them.
LOSSES = {"squared_error": SQUARED_ERROR, "huber": HUBER,
          "epsilon_insensitive": EPSILON_INSENSITIVE, "log_loss": LOG_LOSS, "hinge": HINGE,
          "modified_huber": MODIFIED_HUBER}
MULTICLASS = {"none": SINGLE_OUTPUT, "ovr": ONE_VS_REST, "multinomial": MULTINOMIAL}
OPTIMIZERS = {"sgd": SGD, "momentum": MOMENTUM, "nesterov": NESTEROV, "adagrad": ADAGRAD,
              "rmsprop": RMSPROP, "adadelta": ADADELTA, "adam": ADAM, "adamw": ADAMW,
              "nadam": NADAM, "adamax": ADAMAX}
STEP_SCHEDULES = {"constant": CONSTANT, "invscaling": INVSCALING, "optimal": OPTIMAL}
STATUS_OK = OK
STATUS_NONFINITE = NONFINITE
STATUS_INTERRUPTED = INTERRUPTED
SCALAR_STATE_SIZE = N_SCALARS


cdef Py_ssize_t state_rows(int optimizer) noexcept nogil:
    """How many buffers, each the size of the parameter vector, the optimizer keeps."""
    if optimizer == SGD:
        return 0
    if optimizer == MOMENTUM or optimizer == NESTEROV or optimizer == ADAGRAD:
        return 1       # momentum buffer / sum of squared gradients
    if optimizer == RMSPROP:
        return 3       # mean square, mean gradient (centered), momentum buffer
    if optimizer == ADADELTA or optimizer == NADAM or optimizer == ADAMAX:
        return 2       # square averages / first and second moments / moment and inf-norm
    if optimizer == ADAM or optimizer == ADAMW:
        return 3       # first moment, second moment, its running maximum (amsgrad)
    return -1


# Number of state buffers per optimizer name; the run_epoch check below guards memory with it,
# and a test holds it equal to each optimizer class's n_buffers, which Python allocates.
OPTIMIZER_STATE_ROWS = {name: state_rows(code) for name, code in OPTIMIZERS.items()}


# Rows further ahead than this are prefetched: about 4 KiB of upcoming data, at least two rows
# (wide rows) and at most 32 (narrow rows, whose latency needs more rows in flight).
cdef Py_ssize_t prefetch_distance(Py_ssize_t row_bytes) noexcept nogil:
    return max(2, min(32, 4096 // max(row_bytes, 1)))


cdef enum:
    # Log loss rows, and the rows of a model of several outputs, are taken a block at a
    # time: the block's scores first (dot4, four rows at a time), then its losses in one
    # loop, then its gradient (axpy4). The loop over a block's losses vectorises into
    # independent exponentials (the softmax's by class), where one group of four rows makes
    # one exponential whose chain of dependent operations the core waits out before that
    # group's gradient. A block's rows stay in the first-level cache between
    # the two passes: at most LOSS_BLOCK_ROWS rows, and at most LOSS_BLOCK_BYTES of them.
    LOSS_BLOCK_ROWS = 32
    LOSS_BLOCK_BYTES = 16384
    # Models of several outputs go through blocks too (their scores four rows at a time,
    # dot4, and their gradients axpy4) when they have at most this many outputs.
    BLOCK_MAX_OUTPUTS = 16


cdef inline Py_ssize_t loss_block_rows(Py_ssize_t row_bytes, Py_ssize_t n_rows) noexcept nogil:
    """Rows in a block of log loss rows: a multiple of 4, from 4 to LOSS_BLOCK_ROWS, and at
    most a quarter of the batch's rows. A mini-batch's step waits on its last block: in
    blocks of a quarter of it the core overlaps one block's losses with the next block's
    scores, where one block of the whole batch left it nothing to overlap them with."""
    return max(4, min(LOSS_BLOCK_ROWS, LOSS_BLOCK_BYTES // max(row_bytes, 1),
                      n_rows // 4) // 4 * 4)


cdef inline void prefetch_after_four(
    const RowSource* source, const Py_ssize_t* rows, Py_ssize_t i, Py_ssize_t n_rows_ahead,
    Py_ssize_t distance, const floating* theta, const floating* y,
    const floating* sample_weight, bint weighted, bint row_tail, bint span_tail,
) noexcept nogil:
    """Request the rows `distance` after rows[i:i + 4] (those before n_rows_ahead)."""
    cdef Py_ssize_t r
    cdef Py_ssize_t n_features = source.n_features
    if i + 3 + distance < n_rows_ahead and rows[i + 3 + distance] == rows[i + distance] + 3:
        # Four rows in sequence (always, in a full batch): one span, each of its
        # cache lines requested once rather than once per row it holds part of.
        prefetch_row(dense_row(source[0], rows[i + distance], theta), 4 * n_features,
                     span_tail)
    else:
        for r in range(4):
            if i + r + distance < n_rows_ahead:
                prefetch_sample(dense_row(source[0], rows[i + r + distance], theta),
                                n_features, y, sample_weight, rows[i + r + distance],
                                weighted, row_tail)


cdef inline void add_four_rows(const floating** xs, const floating* a, floating* g,
                               Py_ssize_t n_features, bint fit_intercept,
                               bint first) noexcept nogil:
    """g += Σ_r a[r]·(xs[r], 1) over four rows, the 1 in the intercept's entry (0 there
    without an intercept); the batch's first four rows write g instead of adding to it."""
    cdef int r
    axpy4(a[0], xs[0], a[1], xs[1], a[2], xs[2], a[3], xs[3], g, n_features, first)
    if fit_intercept:
        if first:
            g[n_features] = a[0]
        else:
            g[n_features] += a[0]
        for r in range(1, 4):
            g[n_features] += a[r]
    elif first:
        g[n_features] = 0


cdef double accumulate_batch(
    const EpochConfig* cfg, const RowSource* row_source, const FeatureMap* feature_map,
    Py_ssize_t n_outputs, const floating* y, const floating* sample_weight,
    const floating* theta, floating* grad, double* scores, double* dscores, double* offsets,
    const Py_ssize_t* rows, Py_ssize_t n_rows, Py_ssize_t n_rows_ahead, Py_ssize_t distance,
    double scale,
) noexcept nogil:
    """grad = scale · Σ over `rows` of sample_weight · dL/dtheta (scale = 1/n_rows gives the
    batch mean; a thread's share of a batch uses the whole batch's); return the sum of the
    weighted losses.

    theta and grad hold n_outputs rows of (n_features weights, intercept), theta those the
    raw rows are multiplied by (with scales, w∘s: mapped_weights); scores, dscores
    and offsets are scratch space of n_outputs values. The rows are read raw and the
    feature map folded in (features.pxd): its offset once per batch, its gradient correction
    once at the end.
    rows[n_rows:n_rows_ahead] are the rows that follow this batch; they are prefetched.
    The first row writes the gradient instead of adding to it, so no separate zeroing pass
    is needed (this matters for the stochastic mode, where every batch is one row).
    """
    # Dense rows only: CSR rows have an epoch loop of their own (csr.pxd, run_epoch_csr).
    cdef RowSource source = row_source[0]
    cdef FeatureMap features = feature_map[0]
    cdef Py_ssize_t n_features = source.n_features
    cdef Py_ssize_t i = 0, k, r, row
    cdef const floating* x
    cdef const floating* xs[4]
    cdef floating dots[4]
    cdef floating a4[4]
    # A block of log loss rows (LOSS_BLOCK_ROWS): scores, targets, losses, derivatives, and
    # for unit weights each lane's product of 1 + exp(-|p|) and the rest of its losses
    # (gd_log_loss_rows_unit).
    cdef double pb[LOSS_BLOCK_ROWS]
    cdef double yb[LOSS_BLOCK_ROWS]
    cdef double lossb[LOSS_BLOCK_ROWS]
    cdef double dlossb[LOSS_BLOCK_ROWS]
    cdef double productb[LOSS_BLOCK_ROWS]
    cdef double restb[LOSS_BLOCK_ROWS]
    cdef Py_ssize_t blocks_in_product = 0, block, n_block, j, label
    # A block of rows of a model of several outputs: scores and derivatives by output
    # (output k's of row r at k·LOSS_BLOCK_ROWS + r), the softmax's top scores and normalisers.
    cdef double sb[BLOCK_MAX_OUTPUTS * LOSS_BLOCK_ROWS]
    cdef double db[BLOCK_MAX_OUTPUTS * LOSS_BLOCK_ROWS]
    cdef double inverseb[LOSS_BLOCK_ROWS]
    cdef double mantissa
    cdef floating* g
    cdef double weight, loss_sum = 0.0, offset, dscore
    cdef floating a
    # Read once into locals: through cfg or offsets, each would be loaded again after every
    # write to grad, which the compiler (without strict aliasing) must assume may change it.
    cdef int loss = cfg.loss
    cdef double epsilon = cfg.epsilon
    cdef bint unit_weights = cfg.unit_weights, fit_intercept = cfg.fit_intercept
    cdef Py_ssize_t row_bytes = n_features * sizeof(floating)
    cdef bint row_tail = tail_line_needed(source.values, row_bytes, row_bytes)
    cdef bint span_tail = tail_line_needed(source.values, row_bytes, 4 * row_bytes)
    for k in range(n_outputs):
        offsets[k] = mapped_offset(features, theta + weights_start(k, n_features),
                                   theta[weights_start(k, n_features) + n_features],
                                   n_features)
    offset = offsets[0]
    if n_outputs == 1 and loss == LOG_LOSS and n_rows >= 4:
        block = loss_block_rows(row_bytes, n_rows)
        for r in range(block):
            productb[r] = 1.0
            restb[r] = 0.0
        while i + 4 <= n_rows:
            n_block = min(block, (n_rows - i) // 4 * 4)
            for j in range(i, i + n_block, 4):
                for r in range(4):
                    xs[r] = dense_row(source, rows[j + r], theta)
                prefetch_after_four(row_source, rows, j, n_rows_ahead, distance, theta, y,
                                    sample_weight, not unit_weights, row_tail, span_tail)
                dot4(xs[0], xs[1], xs[2], xs[3], theta, n_features, dots)
                for r in range(4):
                    pb[j - i + r] = dots[r] + offset
                    yb[j - i + r] = y[rows[j + r]]
            if unit_weights:
                # The block's exponentials in one vectorised loop, their logarithms gathered
                # in a product per lane taken once every GD_LOG_PRODUCT_ROWS blocks.
                if n_block == 4:
                    gd_log_loss_rows_unit(pb, yb, dlossb, productb, restb, 4)
                else:
                    gd_log_loss_rows_unit(pb, yb, dlossb, productb, restb, n_block)
                blocks_in_product += 1
                if blocks_in_product == GD_LOG_PRODUCT_ROWS:
                    loss_sum += gd_take_log_loss_sum(productb, restb, block,
                                                     GD_LOG_PRODUCT_ROWS)
                    blocks_in_product = 0
            else:
                # Each row's result the same as sample_loss's.
                gd_log_loss_rows(pb, yb, lossb, dlossb, n_block)
                for j in range(n_block):
                    weight = sample_weight[rows[i + j]]
                    loss_sum += weight * lossb[j]
                    dlossb[j] = weight * dlossb[j]
            for j in range(i, i + n_block, 4):
                for r in range(4):
                    xs[r] = dense_row(source, rows[j + r], theta)
                    a4[r] = <floating>(dlossb[j - i + r] * scale)
                add_four_rows(xs, a4, grad, n_features, fit_intercept, j == 0)
            i += n_block
        if unit_weights and blocks_in_product > 0:
            loss_sum += gd_take_log_loss_sum(productb, restb, block, blocks_in_product)
    elif 1 < n_outputs <= BLOCK_MAX_OUTPUTS and n_rows >= 4:
        block = loss_block_rows(row_bytes, n_rows)
        for r in range(block):
            productb[r] = 1.0
            restb[r] = 0.0
        while i + 4 <= n_rows:
            n_block = min(block, (n_rows - i) // 4 * 4)
            for j in range(i, i + n_block, 4):
                for r in range(4):
                    xs[r] = dense_row(source, rows[j + r], theta)
                prefetch_after_four(row_source, rows, j, n_rows_ahead, distance, theta, y,
                                    sample_weight, not unit_weights, row_tail, span_tail)
                for k in range(n_outputs):
                    dot4(xs[0], xs[1], xs[2], xs[3], theta + weights_start(k, n_features),
                         n_features, dots)
                    for r in range(4):
                        sb[k * LOSS_BLOCK_ROWS + j - i + r] = dots[r] + offsets[k]
            if cfg.multiclass == MULTINOMIAL:
                # The block's exponentials in one vectorised loop per class (sample_loss's
                # arithmetic), with unit weights the logarithms of the normalisers gathered
                # in a product per lane as the binary log loss's.
                gd_softmax_rows(sb, <int>n_outputs, LOSS_BLOCK_ROWS, <int>n_block, db, pb,
                                lossb, inverseb)
                for r in range(n_block):
                    label = <Py_ssize_t>y[rows[i + r]]
                    db[label * LOSS_BLOCK_ROWS + r] -= 1.0
                    if unit_weights:
                        restb[r] += gd_log_split(lossb[r], &mantissa) + (
                            pb[r] - sb[label * LOSS_BLOCK_ROWS + r])
                        productb[r] *= mantissa
                    else:
                        weight = sample_weight[rows[i + r]]
                        loss_sum += weight * (log(lossb[r]) + pb[r]
                                              - sb[label * LOSS_BLOCK_ROWS + r])
                        for k in range(n_outputs):
                            db[k * LOSS_BLOCK_ROWS + r] = weight * db[k * LOSS_BLOCK_ROWS + r]
                if unit_weights:
                    blocks_in_product += 1
                    if blocks_in_product == GD_LOG_PRODUCT_ROWS:
                        loss_sum += gd_take_log_loss_sum(productb, restb, block,
                                                         GD_LOG_PRODUCT_ROWS)
                        blocks_in_product = 0
            else:
                for r in range(n_block):
                    for k in range(n_outputs):
                        scores[k] = sb[k * LOSS_BLOCK_ROWS + r]
                    weight = 1.0 if unit_weights else sample_weight[rows[i + r]]
                    loss_sum += weight * sample_loss(cfg, scores, n_outputs, y[rows[i + r]],
                                                     dscores)
                    for k in range(n_outputs):
                        db[k * LOSS_BLOCK_ROWS + r] = weight * dscores[k]
            for j in range(i, i + n_block, 4):
                for r in range(4):
                    xs[r] = dense_row(source, rows[j + r], theta)
                for k in range(n_outputs):
                    g = grad + weights_start(k, n_features)
                    for r in range(4):
                        a4[r] = <floating>(db[k * LOSS_BLOCK_ROWS + j - i + r] * scale)
                    add_four_rows(xs, a4, g, n_features, fit_intercept, j == 0)
            i += n_block
        if blocks_in_product > 0:
            loss_sum += gd_take_log_loss_sum(productb, restb, block, blocks_in_product)
    elif n_outputs == 1:
        # One output: the model is single-output (check_model_shapes), whose sample_loss is
        # loss_and_derivative, called here directly.
        # Four rows at a time (see dot4, axpy4): the same operations in the same order as
        # the row-at-a-time loop below, which takes the rows left over. Where GCC fuses a
        # multiply with an add is its choice, though: it vectorises the four rows' weight ×
        # loss products without fusing them into the loss sum, so the loss sum's last bits
        # can differ from the row loop's (the tests' tolerances allow for it).
        while i + 4 <= n_rows:
            for r in range(4):
                xs[r] = dense_row(source, rows[i + r], theta)
            prefetch_after_four(row_source, rows, i, n_rows_ahead, distance, theta, y,
                                sample_weight, not unit_weights, row_tail, span_tail)
            dot4(xs[0], xs[1], xs[2], xs[3], theta, n_features, dots)
            for r in range(4):
                row = rows[i + r]
                weight = 1.0 if unit_weights else sample_weight[row]
                loss_sum += weight * loss_and_derivative(loss, dots[r] + offset, y[row],
                                                         epsilon, &dscore)
                a4[r] = <floating>(weight * dscore * scale)
            add_four_rows(xs, a4, grad, n_features, fit_intercept, i == 0)
            i += 4
    while i < n_rows:
        if i + distance < n_rows_ahead:
            prefetch_sample(dense_row(source, rows[i + distance], theta), n_features, y,
                            sample_weight, rows[i + distance], not cfg.unit_weights, row_tail)
        row = rows[i]
        x = dense_row(source, row, theta)
        for k in range(n_outputs):
            scores[k] = dot(x, theta + weights_start(k, n_features), n_features) + offsets[k]
        weight = 1.0 if cfg.unit_weights else sample_weight[row]
        loss_sum += weight * sample_loss(cfg, scores, n_outputs, y[row], dscores)
        for k in range(n_outputs):
            g = grad + weights_start(k, n_features)
            a = <floating>(weight * dscores[k] * scale)
            if i == 0:
                scale_into(a, x, g, n_features)
                g[n_features] = a if cfg.fit_intercept else 0
            else:
                axpy(a, x, g, n_features)
                if cfg.fit_intercept:
                    g[n_features] += a
        i += 1
    for k in range(n_outputs):
        map_gradient(features, grad + weights_start(k, n_features), n_features)
    return loss_sum


cdef enum:
    # A batch's gradient is split over threads only from this many values (rows × features,
    # 8 MiB of float64): below it the work per batch is under a few hundred microseconds,
    # and a thread barrier that waits on a busy core (another process, a BLAS pool) can cost
    # a scheduler time slice, milliseconds: on small batches two threads lose badly to one
    # whenever the other core is busy.
    PARALLEL_MIN_VALUES = 1 << 20
    # A split batch is cut into chunks of at least this many values (1 MiB of float64, tens
    # of microseconds of work), at most MAX_CHUNKS of them and at most CHUNK_BUFFER_VALUES
    # values of chunk gradients in all, but at least one per thread. Many more chunks than
    # threads, taken one at a time by whichever thread is free: a thread slowed down by
    # another process on its core takes fewer of them, instead of making the others wait
    # for its fixed share.
    CHUNK_MIN_VALUES = 1 << 17
    MAX_CHUNKS = 64
    CHUNK_BUFFER_VALUES = 1 << 22


cdef extern from "chunks.h":
    Py_ssize_t gd_claim(Py_ssize_t* counter) noexcept nogil
    Py_ssize_t gd_count(Py_ssize_t* counter) noexcept nogil
    void gd_nap() noexcept nogil
    long long gd_now_ns() noexcept nogil
    long long gd_read(long long* value) noexcept nogil
    void gd_write(long long* value, long long new_value) noexcept nogil


# When another process keeps a core busy, a thread there shares it: it wakes late, runs in
# turns with that process, and the others may wait for its last chunk for a scheduler time
# slice, milliseconds. A split batch can then take longer than on one thread, and not only
# through that last wait: a thread sharing its core with the caller's costs the caller's
# time without a wait at the end. So a split batch is judged by its time against the time
# one thread would have taken, its median chunk's time per row times its rows
# (threads_verdict): longer, the threads lost; shorter by 1/PAID_SHARE or more, they paid.
# SLOW_BATCHES_TO_SWITCH lost batches with none that paid in between (one alone happens on
# a free machine too, and switching on it cost the next batches twice their time) make the
# split batches of the next while (SLOW_BATCHES_BEFORE_RETRY batch durations, doubled at
# each further lost batch, at most MAX_ONE_THREAD_NS) run their chunks on one thread, then
# threads are tried again. A batch between the two (a saving under 1/PAID_SHARE) leaves
# the count as it is: on a busy core the threads now and then come out just ahead, and
# starting the count over on each such batch would keep them on while they lose on average.
# The chunks and their summation order stay the same: only the speed changes.
cdef enum:
    PAID_SHARE = 10
    SLOW_BATCHES_TO_SWITCH = 2
    SLOW_BATCHES_BEFORE_RETRY = 16
    MAX_SLOW_STREAK = 10
    MAX_ONE_THREAD_NS = 1000000000
cdef long long one_thread_until_ns = 0
cdef long long slow_streak = 0


cdef inline bint split_over_threads(const EpochConfig* cfg, Py_ssize_t n_rows,
                                    Py_ssize_t n_features) noexcept nogil:
    return cfg.n_threads > 1 and n_rows * n_features >= PARALLEL_MIN_VALUES


cdef inline Py_ssize_t chunk_count(Py_ssize_t n_rows, Py_ssize_t n_features,
                                   Py_ssize_t n_params, int n_threads) noexcept nogil:
    """How many chunks a batch of n_rows split over n_threads is cut into (no more than
    that for fewer rows): it depends on nothing else, so neither does the gradient's sum."""
    cdef Py_ssize_t n_chunks = min(n_rows * n_features // CHUNK_MIN_VALUES, MAX_CHUNKS,
                                   CHUNK_BUFFER_VALUES // (n_params + 16))
    return max(1, min(max(n_chunks, n_threads), n_rows))


cdef void work_on_chunks(
    const EpochConfig* cfg, const RowSource* source, const FeatureMap* features,
    Py_ssize_t n_outputs, const floating* y, const floating* sample_weight,
    const floating* theta, floating* chunk_grads, Py_ssize_t grads_stride,
    double* chunk_scratch, Py_ssize_t scratch_stride, double* chunk_losses,
    const Py_ssize_t* rows, Py_ssize_t n_rows, Py_ssize_t chunk_rows, Py_ssize_t n_chunks,
    Py_ssize_t distance, double scale, Py_ssize_t* next_chunk, Py_ssize_t* chunks_done,
    long long* chunk_ns,
) noexcept nogil:
    """One thread's part of accumulate_batch_in_threads: take the next chunk not yet taken
    until none is left, then wait, asleep, until every chunk is done. Chunk c's time goes
    into chunk_ns[c] (the first MAX_CHUNKS chunks')."""
    cdef Py_ssize_t c = gd_claim(next_chunk), start, count
    cdef double* scratch
    cdef long long begin = gd_now_ns(), end
    while c < n_chunks:
        start = c * chunk_rows
        count = min(chunk_rows, n_rows - start)
        scratch = chunk_scratch + c * scratch_stride
        chunk_losses[c] = accumulate_batch(cfg, source, features, n_outputs, y,
                                           sample_weight, theta, chunk_grads + c * grads_stride,
                                           scratch, scratch + n_outputs,
                                           scratch + 2 * n_outputs, rows + start, count, count,
                                           distance, scale)
        end = gd_now_ns()
        if c < MAX_CHUNKS:
            chunk_ns[c] = end - begin
        begin = end
        gd_claim(chunks_done)
        c = gd_claim(next_chunk)
    # OpenMP's own barrier would spin, holding its core, while the thread it waits for may
    # be queued behind another process: sleeping frees the core for that thread.
    while gd_count(chunks_done) < n_chunks:
        gd_nap()


cdef int threads_verdict(long long batch_ns, const long long* chunk_ns, Py_ssize_t chunk_rows,
                        Py_ssize_t n_rows, Py_ssize_t n_chunks) noexcept nogil:
    """Whether the threads of a split batch that took batch_ns, its chunk c of chunk_rows
    rows (the last one the rest) chunk_ns[c], paid against one thread: -1 lost (longer than
    the median chunk's time per row times n_rows), 1 paid (shorter by 1/PAID_SHARE or more),
    0 neither. The median of the chunks, because a chunk during which its thread was
    descheduled takes a time slice longer, which one thread alone would not have waited."""
    cdef double rates[MAX_CHUNKS]
    cdef double rate, one_thread_ns
    cdef Py_ssize_t c, i, n = min(n_chunks, MAX_CHUNKS)
    for c in range(n):                                    # insertion sort: a few dozen
        rate = chunk_ns[c] / <double>min(chunk_rows, n_rows - c * chunk_rows)
        i = c
        while i > 0 and rates[i - 1] > rate:
            rates[i] = rates[i - 1]
            i -= 1
        rates[i] = rate
    one_thread_ns = rates[n // 2] * n_rows
    if batch_ns > one_thread_ns:
        return -1
    return 1 if batch_ns * PAID_SHARE <= one_thread_ns * (PAID_SHARE - 1) else 0


cdef void judge_threads(long long start_ns, long long end_ns, const long long* chunk_ns,
                        Py_ssize_t chunk_rows, Py_ssize_t n_rows,
                        Py_ssize_t n_chunks) noexcept nogil:
    """After a split batch that ran from start_ns to end_ns, its chunks' times in chunk_ns:
    whether the next split batches run on one thread, and how long."""
    cdef long long streak, pause, batch_ns = end_ns - start_ns
    cdef int verdict = threads_verdict(batch_ns, chunk_ns, chunk_rows, n_rows, n_chunks)
    if verdict == 1:
        gd_write(&slow_streak, 0)
    if verdict >= 0:
        return
    streak = min(gd_read(&slow_streak) + 1, MAX_SLOW_STREAK)
    gd_write(&slow_streak, streak)
    if streak < SLOW_BATCHES_TO_SWITCH:
        return
    pause = min(batch_ns * SLOW_BATCHES_BEFORE_RETRY << (streak - SLOW_BATCHES_TO_SWITCH),
                MAX_ONE_THREAD_NS)
    gd_write(&one_thread_until_ns, end_ns + pause)


cdef double accumulate_batch_in_threads(
    const EpochConfig* cfg, const RowSource* source, const FeatureMap* features,
    Py_ssize_t n_outputs, const floating* y, const floating* sample_weight,
    const floating* theta, floating* grad, floating* chunk_grads, Py_ssize_t grads_stride,
    double* chunk_scratch, Py_ssize_t scratch_stride, double* chunk_losses,
    const Py_ssize_t* rows, Py_ssize_t n_rows, Py_ssize_t distance, double scale,
) noexcept nogil:
    """accumulate_batch over chunk_count chunks of contiguous rows, shared by cfg.n_threads
    threads, each chunk into its own gradient buffer, summed afterwards in chunk order: the
    result depends on the number of chunks (summation order) but never on which thread did
    which chunk. Each chunk's buffers start `*_stride` values apart, whole cache lines, so no
    two threads ever write the same line."""
    cdef Py_ssize_t n_params = n_outputs * output_len(source.n_features)
    cdef Py_ssize_t n_chunks = chunk_count(n_rows, source.n_features, n_params, cfg.n_threads)
    cdef Py_ssize_t chunk_rows = (n_rows + n_chunks - 1) // n_chunks
    cdef Py_ssize_t next_chunk = 0, chunks_done = 0, c, j
    cdef floating* g
    cdef double loss_sum = 0.0
    cdef long long start_ns = gd_now_ns()
    cdef long long chunk_ns[MAX_CHUNKS]
    n_chunks = (n_rows + chunk_rows - 1) // chunk_rows       # none of them empty
    if start_ns < gd_read(&one_thread_until_ns):
        work_on_chunks(cfg, source, features, n_outputs, y, sample_weight, theta, chunk_grads,
                       grads_stride, chunk_scratch, scratch_stride, chunk_losses, rows, n_rows,
                       chunk_rows, n_chunks, distance, scale, &next_chunk, &chunks_done,
                       chunk_ns)
    else:
        with parallel(num_threads=cfg.n_threads):
            work_on_chunks(cfg, source, features, n_outputs, y, sample_weight, theta,
                           chunk_grads, grads_stride, chunk_scratch, scratch_stride,
                           chunk_losses, rows, n_rows, chunk_rows, n_chunks, distance, scale,
                           &next_chunk, &chunks_done, chunk_ns)
        judge_threads(start_ns, gd_now_ns(), chunk_ns, chunk_rows, n_rows, n_chunks)
    for j in range(n_params):
        grad[j] = chunk_grads[j]
    for c in range(1, n_chunks):
        g = chunk_grads + c * grads_stride
        for j in range(n_params):
            grad[j] += g[j]
    for c in range(n_chunks):
        loss_sum += chunk_losses[c]
    return loss_sum


cdef struct AheadScore:
    # A row's score, computed ahead of the previous row's step (sgd_rows): base - shift.
    double base             # z·w + b with the parameters before that step
    double shift            # the step's effect on the score, s·a·(z·z_previous + 1)
    double base_exp         # exp(-|base|), for the log loss of weight 1 (else unset)


cdef inline AheadScore score_ahead(RowMap features, const floating* x, const floating* theta,
                                   Py_ssize_t n_features, bint log_ahead) noexcept nogil:
    """Row x's score with the parameters theta, shift 0 until the step is known; with
    log_ahead (OneRowRun), the exp the shifted log loss starts from."""
    cdef AheadScore score
    score.base = mapped_dot(features, x, theta, n_features) + theta[n_features]
    score.shift = 0.0
    if log_ahead:
        score.base_exp = gd_exp_nonpositive_scalar(-fabs(score.base))
    return score


cdef inline double sgd_on_scored_row(
    RowMap features, const floating* x, AheadScore score, double target, double weight,
    floating* theta, Py_ssize_t n_features, int loss, double epsilon, bint fit_intercept,
    bint unit_weights, floating step, double* log_product, floating* slope,
    bint log_unit, bint log_ahead,
) noexcept nogil:
    """Plain SGD on one row x whose score is p = score.base - score.shift, in a single
    pass, θ -= lr·(a·z) (step = lr): the stochastic mode's common case, where materialising
    the gradient first would read and write it twice more. Same arithmetic, in the same
    order, as accumulate_batch followed by sgd_step; return the row's weighted loss, and
    its weighted slope a in *slope. With unit weights (weight 1) the products by the
    weight, exact, are left out; and the log loss multiplies its 1 + exp(-|p|) into
    log_product instead of taking its logarithm (gd_log_loss_unit), returning the rest of
    the loss: the caller adds log(log_product) to the sum every GD_LOG_PRODUCT_ROWS rows.
    With log_ahead, its sigmoid comes from exp(-|base|) and the shift when the shift is
    small (gd_sigmoid_shifted): the exp is then off the chain from one row's slope to the
    next. log_unit and log_ahead are OneRowRun's."""
    cdef double dloss, loss_value
    cdef double p = score.base - score.shift
    cdef floating a
    if log_ahead and fabs(score.shift) <= GD_SMALL_SHIFT:
        loss_value = gd_log_loss_unit_shifted(p, score.base, score.base_exp, score.shift,
                                              target, &dloss, log_product)
    elif log_unit:
        loss_value = gd_log_loss_unit(p, target, &dloss, log_product)
    else:
        loss_value = loss_and_derivative(loss, p, target, epsilon, &dloss)
    if unit_weights:
        a = <floating>dloss
    else:
        a = <floating>(weight * dloss)
        loss_value = weight * loss_value
    mapped_step(features, step, a, x, theta, n_features)
    if fit_intercept:
        theta[n_features] -= step * a
    slope[0] = a
    return loss_value


cdef inline double sgd_on_row_ahead(
    RowMap features, const floating* x, const floating* x_next, AheadScore* score,
    double target, double weight, floating* theta, Py_ssize_t n_features, int loss,
    double epsilon, bint fit_intercept, bint unit_weights, floating step, double* log_product,
    bint look_ahead, bint log_unit, bint log_ahead,
) noexcept nogil:
    """sgd_on_scored_row for row x, whose score is *score, computed ahead; with look_ahead,
    *score becomes the next row x_next's score after this step, by the look-ahead of
    sgd_rows: its dot product with the parameters before the step, shifted by the step.
    Without, the caller computes each row's score itself (score_ahead, shift 0)."""
    cdef AheadScore next_score = score[0]
    cdef double overlap = 0.0
    cdef floating a
    cdef double row_loss
    if look_ahead:
        next_score = score_ahead(features, x_next, theta, n_features, log_ahead)
        overlap = mapped_overlap(features, x_next, x, n_features) + (1.0 if fit_intercept
                                                                    else 0.0)
    row_loss = sgd_on_scored_row(features, x, score[0], target, weight, theta, n_features,
                                 loss, epsilon, fit_intercept, unit_weights, step,
                                 log_product, &a, log_unit, log_ahead)
    if look_ahead:
        next_score.shift = (<double>step * <double>a) * overlap
        score[0] = next_score
    return row_loss


# Log loss rows of at most this many features take the look-ahead of sgd_rows: its extra
# dot product per row costs less than the chain it takes off only while rows are short (on
# 100 features the one-row epoch took 1.3x as long with it). The other losses' slopes are
# a few operations from the score, and the extra dot product costs them more than their
# chain (without it, squared error, hinge and Huber ran 5-15% faster on 1,000,000 rows of
# 2 to 16 features).
cdef enum:
    LOOK_AHEAD_MAX_FEATURES = 16


cdef struct OneRowRun:
    # What a one-row plain-SGD loop needs, read once per epoch into locals of its own: read
    # through cfg, each field would be loaded again after every write to theta, which the
    # compiler (without strict aliasing) must assume may change it.
    int loss
    double epsilon
    bint fit_intercept
    bint unit_weights
    # The score look-ahead (log loss, rows of at most LOOK_AHEAD_MAX_FEATURES), and the log
    # loss's two one-row forms (weight 1, sgd_on_scored_row), each one test a row.
    bint look_ahead
    bint log_unit
    bint log_ahead
    # The schedule's rate is the same for every update of the epoch (constant, warm-up
    # over): computed once, not per row.
    bint constant_rate


cdef inline OneRowRun one_row_run(const EpochConfig* cfg, long long t,
                                  Py_ssize_t n_features) noexcept nogil:
    """The settings of an epoch of one-row updates that start after update t."""
    cdef OneRowRun run
    run.loss = cfg.loss
    run.epsilon = cfg.epsilon
    run.fit_intercept = cfg.fit_intercept
    run.unit_weights = cfg.unit_weights
    run.look_ahead = n_features <= LOOK_AHEAD_MAX_FEATURES and cfg.loss == LOG_LOSS
    run.log_unit = cfg.loss == LOG_LOSS and cfg.unit_weights
    run.log_ahead = run.log_unit and run.look_ahead
    run.constant_rate = cfg.schedule == CONSTANT and t + 1 >= cfg.warmup_steps
    return run


cdef inline void momentum_row(RowMap features, const floating* x, floating a, floating* w,
                              floating* v, Py_ssize_t n, floating step, floating mu,
                              bint nesterov) noexcept nogil:
    """One row's momentum (or Nesterov) update of the n weights w and their velocities v,
    with gradient a·z: the arithmetic of momentum_step and nesterov_step, entry by entry,
    g = a·z_j never stored."""
    cdef const floating* mean = NULL
    cdef const floating* s = NULL
    cdef floating g
    cdef Py_ssize_t j
    if RowMap is FeatureMap:
        mean = <const floating*>features.mean if features.center else NULL
        s = <const floating*>features.inv_scale
    if nesterov:
        for j in range(n):
            g = a * (x[j] if RowMap is IdentityMap else mapped_entry(x, mean, s, j))
            v[j] = mu * v[j] + g
            w[j] -= step * (g + mu * v[j])
    else:
        for j in range(n):
            g = a * (x[j] if RowMap is IdentityMap else mapped_entry(x, mean, s, j))
            v[j] = mu * v[j] + g
            w[j] -= step * v[j]


cdef int momentum_rows(
    const EpochConfig* cfg, RowSource rows, RowMap row_features, const floating* y,
    const floating* sample_weight, floating* theta, floating* velocity,
    const Py_ssize_t* order, Py_ssize_t n_samples, Py_ssize_t distance, Py_ssize_t check_rows,
    Py_ssize_t next_check, long long* t, double* loss_sum, double* lr, Averaging averaging,
) noexcept nogil:
    """sgd_rows for momentum and Nesterov: one update per row, the row's gradient a·(z, 1)
    applied to the velocities and the parameters as the row is read (momentum_row), where a
    batch of one would sum it into a zeroed gradient and read it back. A row whose loss is
    not finite stops the epoch before its update, as in a batch."""
    cdef Py_ssize_t n_features = rows.n_features, n_params = output_len(n_features)
    cdef Py_ssize_t i, row, ahead
    cdef OneRowRun run = one_row_run(cfg, t[0], n_features)
    cdef Py_ssize_t row_bytes = n_features * sizeof(floating)
    cdef bint row_tail = tail_line_needed(rows.values, row_bytes, row_bytes)
    cdef bint nesterov = cfg.optimizer == NESTEROV
    cdef floating mu = <floating>cfg.momentum
    cdef floating intercept_feature = 1 if run.fit_intercept else 0
    cdef long long update = t[0]
    cdef double rate = step_learning_rate(cfg, update + 1) if run.constant_rate else lr[0]
    cdef double total = loss_sum[0], row_loss, dloss, weight, p
    cdef const floating* x
    cdef floating a, step
    cdef int status = OK
    for i in range(n_samples):
        if i + distance < n_samples:
            ahead = order[i + distance]
            prefetch_sample(dense_row(rows, ahead, theta), n_features, y, sample_weight,
                            ahead, not run.unit_weights, row_tail)
        row = order[i]
        x = dense_row(rows, row, theta)
        p = mapped_dot(row_features, x, theta, n_features) + theta[n_features]
        row_loss = loss_and_derivative(run.loss, p, y[row], run.epsilon, &dloss)
        if not run.unit_weights:
            weight = sample_weight[row]
            row_loss = weight * row_loss
            dloss = weight * dloss
        if not isfinite(row_loss):
            status = NONFINITE
            break
        update += 1
        if not run.constant_rate:
            rate = step_learning_rate(cfg, update)
        step = <floating>rate
        a = <floating>dloss
        momentum_row(row_features, x, a, theta, velocity, n_features, step, mu, nesterov)
        # The intercept's feature is 1, or 0 without one (its velocity still decays).
        momentum_row(IdentityMap(0), &intercept_feature, a, theta + n_features,
                     velocity + n_features, 1, step, mu, nesterov)
        if Averaging is RunningAverage:
            if update > averaging.start:
                update_average(<floating*>averaging.values, theta, n_params,
                               update - averaging.start)
        total += row_loss
        if interrupted(i + 1, &next_check, check_rows):
            status = INTERRUPTED
            break
    t[0] = update
    lr[0] = rate
    loss_sum[0] = total
    return status


cdef int log_rows(
    const EpochConfig* cfg, RowSource rows, const floating* y, floating* theta,
    const Py_ssize_t* order, Py_ssize_t n_samples, Py_ssize_t distance, Py_ssize_t check_rows,
    Py_ssize_t next_check, long long* t, double* loss_sum, double* lr, double rate,
) noexcept nogil:
    """sgd_rows for the log loss with its score look-ahead on rows of the identity map,
    weight 1 and one rate for the whole epoch, without averaging: the same loop and
    arithmetic, in C (log_rows.h; on rows of 4 to 16 float64 or 8 to 16 float32 features,
    with the parameters held in vector registers), run from one look at Ctrl-C to the next."""
    cdef Py_ssize_t n_features = rows.n_features, done = 0, stop
    cdef Py_ssize_t row_bytes = n_features * sizeof(floating)
    cdef bint tail = tail_line_needed(rows.values, row_bytes, row_bytes)
    cdef gd_log_run run
    cdef AheadScore score
    cdef int status = OK
    run.x = NULL
    run.base = run.base_exp = run.shift = 0.0
    run.total = loss_sum[0]
    run.product = 1.0
    run.stopped = 0
    if n_samples > 0:
        run.x = dense_row(rows, order[0], theta)
        score = score_ahead(IdentityMap(0), <const floating*>run.x, theta, n_features, True)
        run.base = score.base
        run.base_exp = score.base_exp
    while done < n_samples:
        stop = min(n_samples, next_check)
        if floating is float:
            done = gd_log_rows_f32(<const float*>rows.values, n_features, y, order, n_samples,
                                   done, stop, theta, cfg.fit_intercept, <float>rate, distance,
                                   tail, &run)
        else:
            done = gd_log_rows_f64(<const double*>rows.values, n_features, y, order, n_samples,
                                   done, stop, theta, cfg.fit_intercept, rate, distance, tail,
                                   &run)
        if run.stopped:
            status = NONFINITE
            break
        if interrupted(done, &next_check, check_rows):
            status = INTERRUPTED
            break
    t[0] += done
    lr[0] = rate
    loss_sum[0] = run.total + log(run.product)
    return status


cdef int sgd_rows(
    const EpochConfig* cfg, RowSource rows, RowMap row_features, const floating* y,
    const floating* sample_weight, floating* theta, const Py_ssize_t* order,
    Py_ssize_t n_samples, Py_ssize_t distance, Py_ssize_t check_rows, Py_ssize_t next_check,
    long long* t, double* loss_sum, double* lr, Averaging averaging,
) noexcept nogil:
    """epoch_loop's stochastic plain-SGD epoch: one update per row, fused (sgd_on_scored_row).
    Specialised on the feature map (RowMap): with the identity, the row's work is the dot
    products, the loss and the step, inlined; and on the averaging (Averaging): with
    RunningAverage, each new iterate after update averaging.start is folded into the
    average.

    The score look-ahead (log loss, rows of at most LOOK_AHEAD_MAX_FEATURES features): each
    row's score is computed ahead of the previous row's step. Row i+1's
    score after row i's step w -= s·a·z_i (b -= s·a) is
    z_(i+1)·w_new + b_new = (z_(i+1)·w_old + b_old) - s·a·(z_(i+1)·z_i + 1), the same
    number up to rounding (a few ulps of the terms). Both dot products read only what is
    known before row i's slope a, so the chain from one row's slope to the next row's is
    one multiply-add long, not a dot product, a step and the store-to-load of the
    parameters between them. The log loss's sigmoid, which sits on that chain too, is then
    taken from exp(-|base|), known early, and the small shift (AheadScore,
    gd_sigmoid_shifted)."""
    cdef Py_ssize_t n_features = rows.n_features, i, row, ahead
    cdef Py_ssize_t n_params = output_len(n_features)
    cdef OneRowRun run = one_row_run(cfg, t[0], n_features)
    cdef Py_ssize_t row_bytes = n_features * sizeof(floating)
    cdef bint row_tail = tail_line_needed(rows.values, row_bytes, row_bytes)
    cdef long long update = t[0]
    cdef double rate = step_learning_rate(cfg, update + 1) if run.constant_rate else lr[0]
    cdef double total = loss_sum[0], row_loss, weight, log_product = 1.0
    cdef AheadScore score
    cdef const floating* x = NULL
    cdef const floating* x_next
    cdef floating step
    cdef int status = OK
    # The log loss's common case runs the same loop in C, where the shift stays in a
    # register (log_rows.h).
    if RowMap is IdentityMap and Averaging is NoAverage:
        if run.log_ahead and run.constant_rate:
            return log_rows(cfg, rows, y, theta, order, n_samples, distance, check_rows,
                            next_check, t, loss_sum, lr, rate)
    if n_samples > 0:
        x = dense_row(rows, order[0], theta)
        score = score_ahead(row_features, x, theta, n_features, run.log_ahead)
    for i in range(n_samples):
        if i + distance < n_samples:
            ahead = order[i + distance]
            prefetch_sample(dense_row(rows, ahead, theta), n_features, y, sample_weight,
                            ahead, not run.unit_weights, row_tail)
        update += 1
        if not run.constant_rate:
            rate = step_learning_rate(cfg, update)
        row = order[i]
        weight = 1.0 if run.unit_weights else sample_weight[row]
        step = <floating>rate
        # The last row looks ahead at itself: a score nobody uses, but no branch.
        x_next = dense_row(rows, order[i + 1 if i + 1 < n_samples else i], theta)
        if not run.look_ahead:
            score = score_ahead(row_features, x, theta, n_features, False)
        row_loss = sgd_on_row_ahead(row_features, x, x_next, &score, y[row], weight, theta,
                                    n_features, run.loss, run.epsilon, run.fit_intercept,
                                    run.unit_weights, step, &log_product, run.look_ahead,
                                    run.log_unit, run.log_ahead)
        x = x_next
        if Averaging is RunningAverage:
            if update > averaging.start:
                update_average(<floating*>averaging.values, theta, n_params,
                               update - averaging.start)
        if not isfinite(row_loss):
            status = NONFINITE
            break
        total += row_loss
        if (i + 1) % GD_LOG_PRODUCT_ROWS == 0:
            total += log(log_product)
            log_product = 1.0
        if interrupted(i + 1, &next_check, check_rows):
            status = INTERRUPTED
            break
    t[0] = update
    lr[0] = rate
    loss_sum[0] = total + log(log_product)
    return status


cdef int epoch_loop(
    const RowSource* source, const FeatureMap* features, const floating[::1] y,
    const floating[::1] sample_weight, floating[::1] theta, floating[::1] grad,
    floating[:, ::1] state, double[::1] scalars,
    double[::1] scratch, floating[:, ::1] chunk_grads, double[:, ::1] chunk_scratch,
    double[::1] chunk_losses, Py_ssize_t[::1] order, const EpochConfig* cfg, long long* t,
    uint64_t* rng, bint check_signals,
    double* loss_sum, double* lr, floating* scaled, floating* average,
    long long average_start,
) noexcept nogil:
    cdef Py_ssize_t n_samples = order.shape[0], n_features = source.n_features
    # Copies of the row source and the feature map for the one-row path (see dense_row).
    cdef RowSource rows = source[0]
    cdef FeatureMap row_features = features[0]
    cdef Py_ssize_t n_outputs = n_outputs_of(theta.shape[0], n_features)
    cdef Py_ssize_t n_params = theta.shape[0]
    cdef Py_ssize_t distance = prefetch_distance(n_features * sizeof(floating))
    cdef Py_ssize_t start, n_rows
    cdef double batch_loss
    cdef const floating* model
    cdef int status
    # Raw pointers from here on: passing memoryviews to the per-batch functions would copy
    # their descriptors (hundreds of bytes each) at every step.
    cdef floating* state_ptr = &state[0, 0] if state.shape[0] > 0 else NULL
    # Plain SGD, momentum and Nesterov one row at a time, with nothing added to the gradient,
    # take a fused loop: sgd_rows, or momentum_rows with their buffer as the velocity.
    cdef bint fused_sgd = (cfg.batch_size == 1 and n_outputs == 1
                           and (cfg.optimizer == SGD or cfg.optimizer == MOMENTUM
                                or cfg.optimizer == NESTEROV)
                           and cfg.l2 == 0 and cfg.l1 == 0 and cfg.weight_decay == 0)
    cdef floating* velocity = state_ptr if cfg.optimizer != SGD else NULL
    # Signals are looked at after the batch that reaches row `next_check`.
    cdef Py_ssize_t check_rows = max(1, SIGNAL_CHECK_WORK // n_params)
    cdef Py_ssize_t next_check = check_rows if check_signals else n_samples + 1
    # A full batch sums over every row whatever their order: shuffling it would only cost time.
    if cfg.shuffle and cfg.batch_size < n_samples:
        random_permutation(&order[0], n_samples, rng)
    loss_sum[0] = 0.0
    start = 0
    if fused_sgd:
        # One loop per optimizer, feature map kind and averaging, chosen here once per epoch.
        if velocity != NULL and average != NULL and is_identity(row_features):
            status = momentum_rows(cfg, rows, IdentityMap(0), &y[0], &sample_weight[0],
                                   &theta[0], velocity, &order[0], n_samples, distance,
                                   check_rows, next_check, t, loss_sum, lr,
                                   RunningAverage(<void*>average, average_start))
        elif velocity != NULL and average != NULL:
            status = momentum_rows(cfg, rows, row_features, &y[0], &sample_weight[0],
                                   &theta[0], velocity, &order[0], n_samples, distance,
                                   check_rows, next_check, t, loss_sum, lr,
                                   RunningAverage(<void*>average, average_start))
        elif velocity != NULL and is_identity(row_features):
            status = momentum_rows(cfg, rows, IdentityMap(0), &y[0], &sample_weight[0],
                                   &theta[0], velocity, &order[0], n_samples, distance,
                                   check_rows, next_check, t, loss_sum, lr, NoAverage(0))
        elif velocity != NULL:
            status = momentum_rows(cfg, rows, row_features, &y[0], &sample_weight[0],
                                   &theta[0], velocity, &order[0], n_samples, distance,
                                   check_rows, next_check, t, loss_sum, lr, NoAverage(0))
        elif average != NULL and is_identity(row_features):
            status = sgd_rows(cfg, rows, IdentityMap(0), &y[0], &sample_weight[0], &theta[0],
                              &order[0], n_samples, distance, check_rows, next_check, t,
                              loss_sum, lr, RunningAverage(<void*>average, average_start))
        elif average != NULL:
            status = sgd_rows(cfg, rows, row_features, &y[0], &sample_weight[0], &theta[0],
                              &order[0], n_samples, distance, check_rows, next_check, t,
                              loss_sum, lr, RunningAverage(<void*>average, average_start))
        elif is_identity(row_features):
            status = sgd_rows(cfg, rows, IdentityMap(0), &y[0], &sample_weight[0], &theta[0],
                              &order[0], n_samples, distance, check_rows, next_check, t,
                              loss_sum, lr, NoAverage(0))
        else:
            status = sgd_rows(cfg, rows, row_features, &y[0], &sample_weight[0], &theta[0],
                              &order[0], n_samples, distance, check_rows, next_check, t,
                              loss_sum, lr, NoAverage(0))
        if status != OK:
            return status
        start = n_samples
    while start < n_samples:
        n_rows = min(cfg.batch_size, n_samples - start)
        # What the raw rows are multiplied by: theta, or with scales w∘s (into `scaled`).
        model = mapped_weights(row_features, &theta[0], scaled, n_outputs, n_features)
        if split_over_threads(cfg, n_rows, n_features):
            batch_loss = accumulate_batch_in_threads(
                cfg, source, features, n_outputs, &y[0], &sample_weight[0], model,
                &grad[0], &chunk_grads[0, 0], chunk_grads.shape[1],
                &chunk_scratch[0, 0], chunk_scratch.shape[1], &chunk_losses[0],
                &order[start], n_rows, distance, 1.0 / n_rows)
        else:
            batch_loss = accumulate_batch(cfg, source, features, n_outputs, &y[0],
                                          &sample_weight[0], model, &grad[0],
                                          &scratch[0], &scratch[n_outputs],
                                          &scratch[2 * n_outputs], &order[start], n_rows,
                                          n_samples - start, distance, 1.0 / n_rows)
        if not isfinite(batch_loss):
            return NONFINITE
        loss_sum[0] += batch_loss
        t[0] += 1
        lr[0] = step_learning_rate(cfg, t[0])
        update_parameters(cfg, &theta[0], &grad[0], state_ptr, n_params,
                          <ScalarState*>&scalars[0], t[0], lr[0],
                          LinearLayout(n_outputs, output_len(n_features)))
        if average != NULL and t[0] > average_start:
            update_average(average, &theta[0], n_params, t[0] - average_start)
        start += n_rows
        if interrupted(start, &next_check, check_rows):
            return INTERRUPTED
    if not all_finite(&theta[0], n_params):
        return NONFINITE
    if average != NULL and t[0] > average_start and not all_finite(average, n_params):
        return NONFINITE
    return OK


def run_epoch(
    const floating[:, ::1] X, const floating[::1] y, const floating[::1] sample_weight,
    const floating[::1] mean, floating[::1] coef, floating[:, ::1] state, double[::1] scalars,
    Py_ssize_t[::1] order,
    dict config, long long t, uint64_t rng_state, floating[::1] average,
    long long average_start, const floating[::1] inv_scale=None,
):
    """Run one epoch in place on `coef`, `state`, `scalars`, `order` and `average`.

    sample_weight: one weight per row, or None: every row weighs 1 (config["unit_weights"]
    then holds whatever it says, and no array of ones is needed);
    mean: the feature means of the centred parametrisation (used when config["center"]);
    inv_scale: the features' scales s, the model seeing z = (x − mean)∘s (used, and needed,
    when config["scale"]);
    coef: flat parameters (n_features + 1 per output, intercept last); state: the optimizer's
    buffers, one parameter-sized row each; scalars: its scalar state (SCALAR_STATE_SIZE
    doubles, all 1.0 when new); order: the rows' visiting order, overwritten first with a
    fresh random permutation drawn from rng_state if config["shuffle"] (and batches are
    smaller than the data), else used as given; t: updates taken so far; rng_state: the
    shuffle generator's state; average: empty (no averaging), or the running mean of the
    iterates coef after the updates t > average_start, which each update from there on
    folds in as the (t − average_start)-th (its content before the first is not read).
    Return (status, sum of weighted per-sample losses, t, rng_state, last learning rate).
    Called from the main thread, the epoch runs the handlers of signals that arrive (every
    few milliseconds of work); if one raises, as Ctrl-C's does, the epoch stops where it is
    (coef, state and scalars part-way through it) and its exception propagates from here.
    """
    cdef EpochConfig cfg = config
    cdef Py_ssize_t n_samples = X.shape[0], n_features = X.shape[1]
    cdef double loss_sum = 0.0, lr = 0.0
    cdef int status
    cdef bint order_ok
    cdef Py_ssize_t n_outputs
    # Bounds checks are compiled out, so every shape the loop relies on is checked here.
    if n_samples < 1:
        raise ValueError("X, y and sample_weight must have the same, non-zero, number of rows")
    if order.shape[0] != n_samples:
        raise ValueError("order must hold one index per row")
    with nogil:
        order_ok = indices_in_range(order, n_samples)
    if not order_ok:
        raise ValueError("order must hold row indices in [0, n_samples)")
    n_outputs = check_model(X, y, sample_weight, mean, coef, order, &cfg)
    sample_weight = weights_or_unit(sample_weight, y, &cfg)
    check_inv_scale(inv_scale, n_features, &cfg)
    check_optimizer_state(coef, state, scalars, &cfg)
    if cfg.batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    if average.shape[0] != 0 and average.shape[0] != coef.shape[0]:
        raise ValueError("average must be empty (no averaging) or the size of coef")
    if average_start < 0:
        raise ValueError("average_start must be at least 0")
    cdef floating* average_ptr = &average[0] if average.shape[0] > 0 else NULL
    grad = np.empty_like(coef)
    cdef floating[::1] grad_view = grad
    cdef double[::1] scratch = np.empty(3 * n_outputs)   # scores, dL/dscore, offsets
    chunk_buffers = gradient_chunk_buffers(&cfg, min(cfg.batch_size, n_samples), n_features,
                                            coef.shape[0], n_outputs, np.asarray(coef).dtype)
    cdef floating[:, ::1] chunk_grads = chunk_buffers[0]
    cdef double[:, ::1] chunk_scratch = chunk_buffers[1]
    cdef double[::1] chunk_losses = chunk_buffers[2]
    # Python runs signal handlers in the main thread only.
    cdef bint check_signals = threading.current_thread() is threading.main_thread()
    cdef RowSource source = dense_rows(&X[0, 0], n_features)
    cdef const floating* scales = NULL
    cdef floating* scaled_ptr = NULL
    # With scales, the scaled weights w∘s of each batch (mapped_weights) go in `scaled`.
    cdef floating[::1] scaled
    if cfg.scale:
        scales = &inv_scale[0]
        scaled = np.empty_like(coef)
        scaled_ptr = &scaled[0]
    cdef FeatureMap features = feature_map(&mean[0], cfg.center, scales)
    with nogil:
        status = epoch_loop(&source, &features, y, sample_weight, coef, grad_view, state,
                            scalars, scratch, chunk_grads, chunk_scratch, chunk_losses,
                            order, &cfg, &t, &rng_state, check_signals, &loss_sum, &lr,
                            scaled_ptr, average_ptr, average_start)
    if status == INTERRUPTED:
        raise_pending()
    return status, loss_sum, t, rng_state, lr


cdef Py_ssize_t check_model(
    const floating[:, ::1] X, const floating[::1] y, const floating[::1] sample_weight,
    const floating[::1] mean, const floating[::1] coef, const Py_ssize_t[::1] rows,
    const EpochConfig* cfg,
) except -1:
    """Check what the gradient of `rows` (indices already checked) reads; return n_outputs."""
    if mean.shape[0] != X.shape[1]:
        raise ValueError("mean must hold one value per feature")
    return check_model_shapes(X.shape[0], X.shape[1], y, sample_weight, coef, rows, cfg)


cdef Py_ssize_t check_model_shapes(
    Py_ssize_t n_samples, Py_ssize_t n_features, const floating[::1] y,
    const floating[::1] sample_weight, const floating[::1] coef, const Py_ssize_t[::1] rows,
    const EpochConfig* cfg,
) except -1:
    """check_model for rows of any kind, given their shape."""
    cdef Py_ssize_t n_outputs
    cdef bint labels_ok
    if y.shape[0] != n_samples or (sample_weight is not None
                                   and sample_weight.shape[0] != n_samples):
        raise ValueError("X, y and sample_weight must have the same number of rows")
    if cfg.center and not cfg.fit_intercept:
        raise ValueError("center needs fit_intercept")
    if coef.shape[0] == 0 or coef.shape[0] % output_len(n_features) != 0:
        raise ValueError(f"coef must hold n_features + 1 = {output_len(n_features)} entries "
                         "per output")
    n_outputs = n_outputs_of(coef.shape[0], n_features)
    if cfg.loss not in LOSSES.values():
        raise ValueError(f"unknown loss code {cfg.loss}")
    if cfg.multiclass not in MULTICLASS.values():
        raise ValueError(f"unknown multiclass code {cfg.multiclass}")
    if (cfg.multiclass == SINGLE_OUTPUT) != (n_outputs == 1):
        raise ValueError("one output needs multiclass 'none'; several need 'ovr' or "
                         "'multinomial'")
    if cfg.multiclass == MULTINOMIAL and cfg.loss != LOG_LOSS:
        raise ValueError("the multinomial model needs loss 'log_loss'")
    if cfg.multiclass == ONE_VS_REST and cfg.loss not in (LOG_LOSS, HINGE, MODIFIED_HUBER):
        raise ValueError("one-vs-rest needs a classification loss")
    if cfg.multiclass != SINGLE_OUTPUT:
        with nogil:
            labels_ok = class_indices_in_range(y, rows, n_outputs)
        if not labels_ok:
            raise ValueError(f"y must hold class indices 0 .. {n_outputs - 1}")
    if cfg.n_threads < 1:
        raise ValueError("n_threads must be at least 1")
    return n_outputs


cdef const floating[::1] weights_or_unit(const floating[::1] sample_weight,
                                         const floating[::1] y, EpochConfig* cfg):
    """The weights the loops are given: sample_weight, or for None (every row weighs 1,
    with no array of ones to make) one value, never read, for cfg.unit_weights is set."""
    if sample_weight is not None:
        return sample_weight
    cfg.unit_weights = True
    return np.ones(1, dtype=np.asarray(y).dtype)


cdef int check_inv_scale(const floating[::1] inv_scale, Py_ssize_t n_features,
                         const EpochConfig* cfg) except -1:
    """Check the scales the feature map reads when cfg.scale."""
    if cfg.scale and (inv_scale is None or inv_scale.shape[0] != n_features):
        raise ValueError("scale needs inv_scale, one value per feature")
    return 0


cdef int check_optimizer_state(
    const floating[::1] coef, const floating[:, ::1] state, const double[::1] scalars,
    const EpochConfig* cfg,
) except -1:
    """Check what a step of cfg.optimizer on `coef` reads and writes besides coef itself."""
    if cfg.optimizer not in OPTIMIZERS.values():
        raise ValueError(f"unknown optimizer code {cfg.optimizer}")
    if state.shape[0] != state_rows(cfg.optimizer) or state.shape[1] != coef.shape[0]:
        raise ValueError("state must have one row per optimizer buffer, each the size of coef")
    if scalars.shape[0] != N_SCALARS:
        raise ValueError(f"scalars must hold {N_SCALARS} values")
    return 0


cdef tuple gradient_chunk_buffers(const EpochConfig* cfg, Py_ssize_t n_rows,
                                  Py_ssize_t n_features, Py_ssize_t n_params,
                                  Py_ssize_t n_outputs, dtype):
    """accumulate_batch_in_threads' buffers for batches of up to n_rows rows: per chunk, a
    gradient and its scores, derivatives and offsets, written at every row, so each row is
    padded by a cache line (16 values cover 64 bytes in either dtype); and a loss, written
    once. One unused row each when no such batch is split over threads."""
    cdef Py_ssize_t n_chunks = 1
    if split_over_threads(cfg, n_rows, n_features):
        n_chunks = chunk_count(n_rows, n_features, n_params, cfg.n_threads)
    return (np.empty((n_chunks, n_params + 16), dtype=dtype),
            np.empty((n_chunks, 3 * n_outputs + 8)), np.empty(n_chunks))


cdef Py_ssize_t[::1] decayed_runs_of(const unsigned char[::1] decay_mask):
    """decayed_runs of decay_mask, as a new array of (start, stop) pairs; when there are
    none, one unused entry, so that its first entry's address can still be taken (the count
    is its size // 2 either way)."""
    cdef Py_ssize_t n_runs
    with nogil:
        n_runs = decayed_runs(&decay_mask[0], decay_mask.shape[0], NULL)
    cdef Py_ssize_t[::1] runs = np.empty(max(2 * n_runs, 1), dtype=np.intp)
    with nogil:
        decayed_runs(&decay_mask[0], decay_mask.shape[0], &runs[0])
    return runs


cdef bint class_indices_in_range(const floating[::1] y, const Py_ssize_t[::1] rows,
                                 Py_ssize_t n_classes) noexcept nogil:
    """Whether y holds a class index at every row in `rows` (indices already checked)."""
    cdef Py_ssize_t i
    cdef floating label
    for i in range(rows.shape[0]):
        label = y[rows[i]]
        if not (label >= 0 and label < n_classes and label == <Py_ssize_t>label):
            return False
    return True


# The most lags a sparse epoch tabulates the state's decay for (csr.pxd, fill_idle_tables).
IDLE_TABLE_LIMIT = IDLE_TABLE_MAX

SPARSE_STEP_KINDS = {LAZY_SGD: "lazy sgd", LAZY_COMPACT: "lazy compact",
                     DENSE_STEP: "dense step"}


def sparse_update_kind(dict config):
    """How run_epoch_csr takes an update under `config` (kernel codes): 'lazy sgd' and
    'lazy compact' cost O(nnz of the batch), 'dense step' O(n_features) (csr.pxd)."""
    cdef EpochConfig cfg = config
    return SPARSE_STEP_KINDS[sparse_step_kind(&cfg)]


def csr_column_records(dict config, Py_ssize_t n_samples, Py_ssize_t n_features,
                       Py_ssize_t nnz, Py_ssize_t n_outputs=1, Py_ssize_t itemsize=8):
    """(bytes of a column record, how the rule's idle state is caught up: 'stamped',
    'scaled' or None) for a compact mini-batch under `config` (kernel codes) on CSR rows
    of that shape (csr.pxd, column records); (0, None) where the epoch keeps no records.
    For the tests and the bench."""
    cdef EpochConfig cfg = config
    cdef SparseWork work
    cdef Py_ssize_t size
    work.n_features, work.n_outputs = n_features, n_outputs
    work.kind = sparse_step_kind(&cfg)
    work.idle_drift, work.idle_factor = 0.0, 1.0
    work.n_idle = (idle_buffers(&cfg, &work.idle_factor, &work.idle_drift)
                   if work.kind == LAZY_COMPACT else 0)
    work.n_live = live_state_rows(&cfg, work.live_rows)
    if work.kind != LAZY_COMPACT or cfg.batch_size == 1:
        return 0, None
    size = choose_column_records(&work, True, n_samples, nnz, min(cfg.batch_size, n_samples),
                                 itemsize)
    return size, "scaled" if work.scaled_idle else "stamped" if work.stamped_idle else None


cdef int check_csr(const Py_ssize_t[::1] indptr, const int[::1] indices, Py_ssize_t nnz,
                   Py_ssize_t n_features, bint* increasing) except -1:
    """What the CSR loops read without bounds checks: indptr non-decreasing from 0 to nnz,
    every column index in [0, n_features). O(nnz). Sets *increasing to whether every row's
    indices strictly increase (so none repeats)."""
    cdef Py_ssize_t n_rows = indptr.shape[0] - 1, i, r
    cdef bint ok = True
    if n_rows < 1:
        raise ValueError("a CSR matrix needs at least one row")
    if indices.shape[0] != nnz or indptr[0] != 0 or indptr[n_rows] != nnz:
        raise ValueError(f"the CSR arrays disagree: indptr must run from 0 to len(data) = "
                         f"{nnz} = len(indices) ({indices.shape[0]}); got {indptr[0]} to "
                         f"{indptr[n_rows]}")
    with nogil:
        for i in range(n_rows):
            if indptr[i + 1] < indptr[i]:
                ok = False
                break
    if not ok:
        raise ValueError("the CSR indptr must be non-decreasing")
    with nogil:
        for i in range(nnz):
            if indices[i] < 0 or indices[i] >= n_features:
                ok = False
                break
    if not ok:
        raise ValueError(f"the CSR column indices must lie in [0, {n_features})")
    increasing[0] = True
    with nogil:
        for r in range(n_rows):
            for i in range(indptr[r] + 1, indptr[r + 1]):
                if indices[i] <= indices[i - 1]:
                    increasing[0] = False
                    break
            if not increasing[0]:
                break
    return 0


cdef bint columns_distinct(const Py_ssize_t[::1] indptr, const int[::1] indices,
                           Py_ssize_t n_features) except -1:
    """Whether no row repeats a column (indices checked), whatever their order: O(nnz)."""
    cdef Py_ssize_t[::1] last_row = np.full(max(n_features, 1), -1, dtype=np.intp)
    cdef Py_ssize_t r, i
    with nogil:
        for r in range(indptr.shape[0] - 1):
            for i in range(indptr[r], indptr[r + 1]):
                if last_row[indices[i]] == r:
                    return False
                last_row[indices[i]] = r
    return True


cdef class CSRRows:
    """The arrays of a CSR matrix as the CSR loops read them, checked once when made (the
    loops run without bounds checks): data (float32 or float64), int32 column indices, and
    indptr (intp), with n_features columns. Also knows each row's largest count of values
    and whether no row repeats a column (`distinct`)."""
    cdef readonly object data, indices, indptr
    cdef readonly Py_ssize_t n_features, max_row_nnz
    cdef readonly bint distinct

    def __init__(self, data, indices, indptr, Py_ssize_t n_features):
        data, indices, indptr = np.asarray(data), np.asarray(indices), np.asarray(indptr)
        if not (data.ndim == indices.ndim == indptr.ndim == 1
                and data.dtype in (np.float32, np.float64) and indices.dtype == np.int32
                and indptr.dtype == np.intp and data.flags.c_contiguous
                and indices.flags.c_contiguous and indptr.flags.c_contiguous):
            raise ValueError("CSRRows needs contiguous 1-d arrays: float32 or float64 data, "
                             "int32 indices, intp indptr")
        cdef bint increasing
        check_csr(indptr, indices, data.shape[0], n_features, &increasing)
        cdef const Py_ssize_t[::1] offsets = indptr
        cdef Py_ssize_t i, largest = 0
        for i in range(offsets.shape[0] - 1):
            largest = max(largest, offsets[i + 1] - offsets[i])
        self.data, self.indices, self.indptr = data, indices, indptr
        self.n_features, self.max_row_nnz = n_features, largest
        self.distinct = increasing or columns_distinct(indptr, indices, n_features)

    @property
    def n_samples(self):
        return self.indptr.shape[0] - 1


def run_epoch_csr(
    CSRRows rows, const floating[::1] y, const floating[::1] sample_weight,
    floating[::1] coef, floating[:, ::1] state, double[::1] scalars, Py_ssize_t[::1] order,
    dict config, long long t, uint64_t rng_state, floating[::1] average,
    long long average_start, const floating[::1] inv_scale=None,
):
    """run_epoch over the rows of a CSR matrix (CSRRows): the same arguments and result but
    mean (CSR rows are trained uncentred: config["center"] must be false; with
    config["scale"] the model sees x∘inv_scale). Duplicate column indices in a row add up,
    as in scipy; their order does not matter. One thread. With averaging, plain SGD without
    l1 keeps the average in closed form (O(nnz) per update); any other update is followed
    by bringing every parameter up to date and folding it into the average, O(n_features)
    (csr.pxd)."""
    cdef EpochConfig cfg = config
    cdef Py_ssize_t n_samples = rows.n_samples, n_features = rows.n_features, n_outputs
    cdef Py_ssize_t max_nnz = rows.max_row_nnz, capacity
    cdef double loss_sum = 0.0, lr = 0.0
    cdef int status
    cdef bint order_ok
    if rows.data.dtype != np.asarray(coef).dtype:
        raise ValueError(f"the CSR values are {rows.data.dtype} and coef {np.asarray(coef).dtype}; "
                         "they must agree")
    cdef const floating[::1] data = rows.data
    cdef const int[::1] indices = rows.indices
    cdef const Py_ssize_t[::1] indptr = rows.indptr
    if order.shape[0] != n_samples:
        raise ValueError("order must hold one index per row")
    with nogil:
        order_ok = indices_in_range(order, n_samples)
    if not order_ok:
        raise ValueError("order must hold row indices in [0, n_samples)")
    if cfg.center:
        raise ValueError("center is not available for CSR rows: centring would make every "
                         "row dense; train without it")
    n_outputs = check_model_shapes(n_samples, n_features, y, sample_weight, coef, order, &cfg)
    sample_weight = weights_or_unit(sample_weight, y, &cfg)
    check_inv_scale(inv_scale, n_features, &cfg)
    check_optimizer_state(coef, state, scalars, &cfg)
    if cfg.batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    if average.shape[0] != 0 and average.shape[0] != coef.shape[0]:
        raise ValueError("average must be empty (no averaging) or the size of coef")
    if average_start < 0:
        raise ValueError("average_start must be at least 0")
    cdef floating* average_ptr = &average[0] if average.shape[0] > 0 else NULL
    cdef SparseWork work
    work.n_features = n_features
    work.n_outputs = n_outputs
    work.n_params = coef.shape[0]
    work.kind = sparse_step_kind(&cfg)
    if average_ptr != NULL and work.kind == LAZY_SGD and cfg.l1 > 0:
        # Averaging reads every weight after each update, which the late l1 steps would
        # first have to catch up column by column: the plain update of every weight is the
        # same update at less cost.
        work.kind = DENSE_STEP
    work.lazy_l1 = cfg.l1 > 0 and work.kind != DENSE_STEP
    work.lazy_average = average_ptr != NULL and work.kind == LAZY_SGD and not work.lazy_l1
    work.average = average_ptr
    work.average_start = average_start
    work.average_scale_sum = 0.0
    work.idle_drift = 0.0
    work.idle_factor = 1.0
    work.n_idle = (idle_buffers(&cfg, &work.idle_factor, &work.idle_drift)
                   if work.kind == LAZY_COMPACT else 0)
    work.n_live = live_state_rows(&cfg, work.live_rows)
    dtype = np.asarray(coef).dtype
    # Per column: the l1 part applied (only with lazy l1) and the update it is at; the
    # batch's columns; for DENSE_STEP the gradient buffer; for LAZY_COMPACT, gathered
    # vectors that hold every column a batch can touch, with each output's intercept, a
    # row's places in them, and the tables of the state's decay over the epoch's lags (an
    # epoch of n updates meets lags up to n). LAZY_SGD needs only the first.
    cdef bint buffered = work.kind != LAZY_SGD
    cdef bint compact_kind = work.kind == LAZY_COMPACT
    cdef Py_ssize_t batch = min(cfg.batch_size, n_samples)
    applied = np.zeros(n_features if work.lazy_l1 else 1)
    seen = np.empty(max(n_features, 1) if buffered else 1, dtype=np.int64)
    grad = np.zeros(coef.shape[0] if work.kind == DENSE_STEP else 1, dtype=dtype)
    touched = np.empty(max(n_features, 1) if buffered else 1, dtype=np.intp)
    capacity = n_outputs * (min(n_features, batch * max_nnz) + 1)
    compact = np.empty((2 + state.shape[0]) * capacity if compact_kind else 1, dtype=dtype)
    row_slots = np.empty(max(max_nnz, 1) if compact_kind else 1, dtype=np.intc)
    # Column records (csr.pxd) for a compact mini-batch without averaging.
    cdef bint use_records = (compact_kind and average_ptr == NULL
                             and not (cfg.batch_size == 1 and rows.distinct))
    cdef Py_ssize_t record_size = choose_column_records(&work, use_records, n_samples,
                                                        indptr[n_samples], batch,
                                                        dtype.itemsize)
    work.idle_table_len = (min((n_samples + batch - 1) // batch + 1, IDLE_TABLE_MAX)
                           if work.stamped_idle else 0)
    idle_tables = np.empty((2, max(work.idle_table_len, 1)))
    records = np.empty(n_features * record_size + 64 if use_records else 1, dtype=np.uint8)
    cdef unsigned char[::1] records_view = records
    cdef Py_ssize_t records_start = (64 - <size_t>&records_view[0] % 64) % 64
    cdef double[::1] applied_view = applied
    cdef long long[::1] seen_view = seen
    cdef floating[::1] grad_view = grad
    cdef Py_ssize_t[::1] touched_view = touched
    cdef floating[::1] compact_view = compact
    cdef int[::1] row_slots_view = row_slots
    cdef double[:, ::1] idle_tables_view = idle_tables
    cdef double[::1] scratch = np.empty(2 * n_outputs)   # scores, dL/dscore
    cdef double[::1] slopes = np.empty(min(cfg.batch_size, n_samples) * n_outputs)
    work.applied = &applied_view[0]
    work.seen = &seen_view[0]
    work.grad = &grad_view[0]
    work.touched = &touched_view[0]
    work.compact = &compact_view[0]
    work.compact_len = capacity
    work.row_slots = &row_slots_view[0]
    work.records = <char*>&records_view[records_start] if use_records else NULL
    work.idle_power = &idle_tables_view[0, 0]
    work.idle_move = &idle_tables_view[1, 0]
    fill_idle_tables(&work)
    work.distinct_columns = rows.distinct
    work.compact_cfg = cfg
    # With scales, each row's values times their scales go in `scaled_row` (scaled_csr_row).
    scaled_row = np.empty(max(max_nnz, 1) if cfg.scale else 1, dtype=dtype)
    cdef floating[::1] scaled_row_view = scaled_row
    work.inv_scale = &inv_scale[0] if cfg.scale else NULL
    work.scaled_row = &scaled_row_view[0]
    work.compact_cfg.l1 = 0.0
    work.slopes = &slopes[0]
    cdef bint check_signals = threading.current_thread() is threading.main_thread()
    cdef RowSource source = csr_rows(&data[0] if data.shape[0] > 0 else <const floating*>NULL,
                                     &indices[0] if indices.shape[0] > 0 else <const int*>NULL,
                                     &indptr[0], n_features)
    cdef floating* state_ptr = &state[0, 0] if state.shape[0] > 0 else NULL
    with nogil:
        status = csr_epoch_loop(source, &y[0], &sample_weight[0], &coef[0], state_ptr,
                                state.shape[0], <ScalarState*>&scalars[0], &order[0],
                                n_samples, &work, &cfg, &t, &rng_state, check_signals,
                                &scratch[0], &scratch[n_outputs], &loss_sum, &lr,
                                average_ptr, average_start)
    if status == INTERRUPTED:
        raise_pending()
    return status, loss_sum, t, rng_state, lr


def read_csr_rows_in_order(CSRRows rows, const Py_ssize_t[::1] order, const double[::1] w):
    """Σ x_order[i]·w over every i for float64 CSRRows, on one core, requesting rows ahead as
    the CSR epochs do (csr.pxd, prefetch_ahead): the cost of reading an epoch's rows in its
    (shuffled) order and nothing else, which `python -m gdfast bench --sparse` reports beside
    the floor. Not used in training."""
    if w.shape[0] != rows.n_features or rows.data.dtype != np.float64:
        raise ValueError("w must hold one value per column, and the rows float64 values")
    if not indices_in_range(order, rows.n_samples):
        raise ValueError("order holds a row index outside the rows")
    cdef const double[::1] data = rows.data
    cdef const int[::1] indices = rows.indices
    cdef const Py_ssize_t[::1] indptr = rows.indptr
    cdef RowSource source = csr_rows(&data[0] if data.shape[0] > 0 else <const double*>NULL,
                                     &indices[0] if indices.shape[0] > 0 else <const int*>NULL,
                                     &indptr[0], rows.n_features)
    cdef Py_ssize_t n_rows = order.shape[0], i, nnz
    cdef const int* columns
    cdef const double* x
    cdef ScaledVector v = scaled_vector(<double*>&w[0], w.shape[0])
    cdef double total = 0.0
    with nogil:
        for i in range(n_rows):
            prefetch_ahead(source, &w[0], &w[0], &w[0], False, <double*>NULL, <int*>NULL, 0, 0,
                           <long long*>NULL, <char*>NULL, 0, <double*>NULL, <double*>NULL,
                           &order[0], i, n_rows)
            x = csr_row(source, order[i], &w[0], &columns, &nnz)
            total += scaled_dot(&v, x, columns, nnz)
    return total


def update_csr_records_in_order(CSRRows rows, const Py_ssize_t[::1] order,
                                Py_ssize_t record_bytes):
    """For float64 CSRRows, the rows in `order` each read, and for each of its non-zeros
    one record of record_bytes (one per column, the first on a cache line's start, as the
    compact mini-batch keeps them, csr.pxd) read and written (x added to its first value),
    on one core, rows and records requested ahead as the epochs do: the least memory
    traffic of a compact mini-batch epoch whose rule keeps records of that size, which
    `python -m gdfast bench --sparse` reports beside the floor. Returns Σ of the records'
    first values. Not used in training."""
    if rows.data.dtype != np.float64 or record_bytes < 8 or record_bytes % 8:
        raise ValueError("the rows must be float64 and record_bytes a multiple of 8")
    if not indices_in_range(order, rows.n_samples):
        raise ValueError("order holds a row index outside the rows")
    cdef const double[::1] data = rows.data
    cdef const int[::1] indices = rows.indices
    cdef const Py_ssize_t[::1] indptr = rows.indptr
    cdef RowSource source = csr_rows(&data[0] if data.shape[0] > 0 else <const double*>NULL,
                                     &indices[0] if indices.shape[0] > 0 else <const int*>NULL,
                                     &indptr[0], rows.n_features)
    storage = np.zeros(rows.n_features * record_bytes + 64, dtype=np.uint8)
    cdef unsigned char[::1] storage_view = storage
    cdef char* records = <char*>&storage_view[(64 - <size_t>&storage_view[0] % 64) % 64]
    cdef Py_ssize_t n_rows = order.shape[0], i, p, nnz
    cdef const int* columns
    cdef const double* x
    cdef double total = 0.0, unused = 0.0
    with nogil:
        for i in range(n_rows):
            prefetch_ahead(source, &unused, &unused, &unused, False, <double*>NULL,
                           <int*>NULL, 0, 0, <long long*>NULL, records, record_bytes,
                           <double*>NULL, <double*>NULL, &order[0], i, n_rows)
            x = csr_row(source, order[i], &unused, &columns, &nnz)
            for p in range(nnz):
                (<double*>(records + columns[p] * record_bytes))[0] += x[p]
        for i in range(rows.n_features):
            total += (<double*>(records + i * record_bytes))[0]
    return total


def repeat_optimizer_steps(dict config, Py_ssize_t n, Py_ssize_t repeats):
    """`repeats` updates of config's rule (kernel codes) on the same float64 vector of n
    parameters (small enough to stay in cache): the rule's arithmetic for an epoch of that
    many updates of n columns each, without their memory traffic, which `python -m gdfast
    bench --sparse` reports beside the floor. Not used in training."""
    cdef EpochConfig cfg = config
    cdef Py_ssize_t r, j
    cdef double[::1] coef = np.zeros(n)
    cdef double[::1] grad = np.empty(n)
    cdef double[:, ::1] state = np.zeros((4, n))        # more rows than any rule keeps
    cdef double[::1] scalars = np.ones(SCALAR_STATE_SIZE)
    with nogil:
        for r in range(repeats):
            for j in range(n):          # a new gradient each update, as a batch gives
                grad[j] = 1e-3 * ((j + r) % 7 - 3)
            update_parameters(&cfg, &coef[0], &grad[0], &state[0, 0], n,
                              <ScalarState*>&scalars[0], r + 1, cfg.learning_rate,
                              LinearLayout(1, n))
    return np.asarray(coef)


def _exp_nonpositive(const double[::1] x, bint one_at_a_time=False):
    """exp(x) for each x <= 0 (or NaN) as the logistic losses compute it (fastmath.h): in a
    loop over the values, or with one_at_a_time as the per-sample path does. For the tests
    that hold it to libm's. Not used in training."""
    out = np.empty(x.shape[0])
    cdef double[::1] result = out
    cdef Py_ssize_t i
    if np.any(np.asarray(x) > 0):
        raise ValueError("x must be at most 0")
    with nogil:
        if one_at_a_time:
            for i in range(x.shape[0]):
                result[i] = gd_exp_nonpositive_scalar(x[i])
        else:
            for i in range(x.shape[0]):
                result[i] = gd_exp_nonpositive(x[i])
    return out


def _log1p_unit(const double[::1] e):
    """log1p(e) for each e in [0, 1] (or NaN) as the binary log loss computes it
    (fastmath.h), for the tests that hold it to libm's. Not used in training."""
    out = np.empty(e.shape[0])
    cdef double[::1] result = out
    cdef Py_ssize_t i
    if np.any((np.asarray(e) < 0) | (np.asarray(e) > 1)):
        raise ValueError("e must lie in [0, 1]")
    with nogil:
        for i in range(e.shape[0]):
            result[i] = gd_log1p_unit(e[i])
    return out


def _expm1_small(const double[::1] t):
    """expm1(t) for each |t| <= 2^-7 (or NaN) as the per-sample log loss computes it
    (fastmath.h, gd_expm1_small), for the tests that hold it to libm's. Not used in
    training."""
    out = np.empty(t.shape[0])
    cdef double[::1] result = out
    cdef Py_ssize_t i
    if np.any(np.abs(np.asarray(t)) > GD_SMALL_SHIFT):
        raise ValueError("t must lie in [-2^-7, 2^-7]")
    with nogil:
        for i in range(t.shape[0]):
            result[i] = gd_expm1_small(t[i])
    return out


def _sigmoid_shifted(const double[::1] q, const double[::1] t):
    """sigmoid(q - t) for each q and |t| <= 2^-7 as the per-sample log loss computes its
    slope from a score computed ahead and its shift (fastmath.h, gd_sigmoid_shifted), for
    the tests. Not used in training."""
    out = np.empty(q.shape[0])
    cdef double[::1] result = out
    cdef Py_ssize_t i
    if t.shape[0] != q.shape[0] or np.any(np.abs(np.asarray(t)) > GD_SMALL_SHIFT):
        raise ValueError("t must hold one value in [-2^-7, 2^-7] per q")
    with nogil:
        for i in range(q.shape[0]):
            result[i] = gd_sigmoid_shifted(q[i], gd_exp_nonpositive_scalar(-fabs(q[i])), t[i])
    return out


def cpu_supports_avx2_fma():
    """Whether this CPU can run the AVX2+FMA build of the kernel (gdfast._kernel_avx2)."""
    return bool(gd_cpu_has_avx2_fma())


def logistic_chain(const double[::1] scores, double coupling):
    """Σ a_i over the chain a_i = sigmoid(scores[i] + coupling·a_(i-1)), a_(-1) = 0, each
    sigmoid computed as the per-sample log loss computes its derivative (an exp and a
    division, gd_log_loss_unit), each waiting on the last.

    What the per-sample log loss adds to the chain from one update to the next, timed alone:
    `python -m gdfast bench` reports it beside per-sample squared error, whose chain it
    lengthens. Not used in training."""
    cdef Py_ssize_t i
    cdef double a = 0.0, total = 0.0, product = 1.0
    with nogil:
        for i in range(scores.shape[0]):
            gd_log_loss_unit(scores[i] + coupling * a, 0.0, &a, &product)
            total += a
            if (i + 1) % GD_LOG_PRODUCT_ROWS == 0:
                product = 1.0
    return total


def read_rows_in_order(const floating[:, ::1] X, const Py_ssize_t[::1] order,
                       const floating[::1] w, const floating[::1] y=None):
    """Σ X[order[i]]·w over every i (plus y[order[i]] when y is given), on one core,
    prefetching rows (and targets) as the epoch loop does.

    The cost of reading an epoch's rows in its (shuffled) order and nothing else: a lower
    bound for every one-row-at-a-time path, which `python -m gdfast bench` reports beside
    the floor. With y, the rows and their targets: what every shuffled epoch reads, a target
    being as scattered as its row (prefetch_sample). Not used in training."""
    if w.shape[0] != X.shape[1]:
        raise ValueError(f"w has {w.shape[0]} values for {X.shape[1]} features")
    if y is not None and y.shape[0] != X.shape[0]:
        raise ValueError(f"y has {y.shape[0]} values for {X.shape[0]} rows")
    if not indices_in_range(order, X.shape[0]):
        raise ValueError("order holds a row index outside X")
    cdef Py_ssize_t n_features = X.shape[1], n_rows = order.shape[0], i, row
    cdef Py_ssize_t distance = prefetch_distance(n_features * sizeof(floating))
    cdef double total = 0.0
    cdef const floating* targets = &y[0] if y is not None and y.shape[0] > 0 else NULL
    cdef Py_ssize_t row_bytes = n_features * sizeof(floating)
    cdef bint row_tail
    if n_rows == 0 or n_features == 0:
        return total
    row_tail = tail_line_needed(&X[0, 0], row_bytes, row_bytes)
    with nogil:
        if targets == NULL:
            for i in range(n_rows):
                if i + distance < n_rows:
                    prefetch_row(&X[order[i + distance], 0], n_features, row_tail)
                total += dot(&X[order[i], 0], &w[0], n_features)
        else:
            for i in range(n_rows):
                if i + distance < n_rows:
                    row = order[i + distance]
                    prefetch_sample(&X[row, 0], n_features, targets, NULL, row, False,
                                    row_tail)
                row = order[i]
                total += dot(&X[row, 0], &w[0], n_features) + targets[row]
    return total


def batch_gradient(
    const floating[:, ::1] X, const floating[::1] y, const floating[::1] sample_weight,
    const floating[::1] mean, const floating[::1] coef, const Py_ssize_t[::1] rows,
    dict config, const floating[::1] inv_scale=None,
):
    """The gradient sum and loss sum of `rows` at `coef`, with the epoch loop's own code.

    Return (gradient, loss_sum): gradient, shaped and typed like coef, holds for each output
    k the sum over the rows i of sample_weight[i] · dL/dp_k(x_i, y_i) · (z_i, 1), z_i = x_i −
    mean (x_i alone without config["center"]), times inv_scale with config["scale"]; the
    intercept's entry is 0 without
    config["fit_intercept"]); loss_sum is the sum of sample_weight[i] · L(x_i, y_i). Neither
    includes a penalty or weight decay (optimizer_step adds those), and neither is divided by
    the number of rows: sums over disjoint sets of rows add up to the sum over their union,
    and the epoch loop steps with the gradient sum divided by the batch's row count. Rows are
    summed in the order given, over config["n_threads"] threads when the epoch loop would.
    An empty `rows` gives zeros. sample_weight None weighs every row 1.
    """
    cdef EpochConfig cfg = config
    cdef Py_ssize_t n_samples = X.shape[0], n_features = X.shape[1], n_rows = rows.shape[0]
    cdef Py_ssize_t n_outputs, distance = prefetch_distance(n_features * sizeof(floating))
    cdef double loss_sum = 0.0
    cdef bint rows_ok
    with nogil:
        rows_ok = indices_in_range(rows, n_samples)
    if not rows_ok:
        raise ValueError("rows must hold row indices in [0, n_samples)")
    n_outputs = check_model(X, y, sample_weight, mean, coef, rows, &cfg)
    sample_weight = weights_or_unit(sample_weight, y, &cfg)
    check_inv_scale(inv_scale, n_features, &cfg)
    gradient = np.zeros(coef.shape[0], dtype=np.asarray(coef).dtype)
    if n_rows == 0:
        return gradient, loss_sum
    cdef floating[::1] grad = gradient
    cdef double[::1] scratch = np.empty(3 * n_outputs)   # scores, dL/dscore, offsets
    chunk_buffers = gradient_chunk_buffers(&cfg, n_rows, n_features, coef.shape[0],
                                            n_outputs, gradient.dtype)
    cdef floating[:, ::1] chunk_grads = chunk_buffers[0]
    cdef double[:, ::1] chunk_scratch = chunk_buffers[1]
    cdef double[::1] chunk_losses = chunk_buffers[2]
    cdef RowSource source = dense_rows(&X[0, 0], n_features)
    cdef const floating* scales = NULL
    cdef floating* scaled_ptr = NULL
    cdef floating[::1] scaled
    if cfg.scale:
        scales = &inv_scale[0]
        scaled = np.empty_like(gradient)
        scaled_ptr = &scaled[0]
    cdef FeatureMap features = feature_map(&mean[0], cfg.center, scales)
    cdef const floating* model
    with nogil:
        model = mapped_weights(features, &coef[0], scaled_ptr, n_outputs, n_features)
        if split_over_threads(&cfg, n_rows, n_features):
            loss_sum = accumulate_batch_in_threads(
                &cfg, &source, &features, n_outputs, &y[0], &sample_weight[0],
                model, &grad[0], &chunk_grads[0, 0], chunk_grads.shape[1],
                &chunk_scratch[0, 0], chunk_scratch.shape[1], &chunk_losses[0],
                &rows[0], n_rows, distance, 1.0)
        else:
            loss_sum = accumulate_batch(&cfg, &source, &features, n_outputs, &y[0],
                                        &sample_weight[0], model, &grad[0],
                                        &scratch[0], &scratch[n_outputs],
                                        &scratch[2 * n_outputs], &rows[0], n_rows, n_rows,
                                        distance, 1.0)
    return gradient, loss_sum


def optimizer_step(
    floating[::1] coef, const floating[::1] gradient, floating[:, ::1] state,
    double[::1] scalars, const unsigned char[::1] decay_mask, dict config, long long t,
):
    """Take update t + 1 of config["optimizer"] in place on coef, state and scalars, as the
    epoch loop does after each batch; return (t + 1, the update's learning rate).

    coef is any flat parameter vector and gradient the gradient of the objective at it (the
    epoch loop's is a batch's gradient sum divided by its row count; `gradient` itself is
    not modified). decay_mask holds one byte per entry of coef: the l2 penalty, weight decay
    and the l1 proximal step act on the entries where it is non-zero (a linear model's
    weights, a network's weight matrices), never on the others (intercepts, biases). state
    and scalars are the optimizer's buffers and scalar state, as for run_epoch.
    """
    cdef EpochConfig cfg = config
    cdef Py_ssize_t n = coef.shape[0]
    cdef double lr
    if gradient.shape[0] != n or decay_mask.shape[0] != n:
        raise ValueError("gradient and decay_mask must hold one value per entry of coef")
    check_optimizer_state(coef, state, scalars, &cfg)
    if n == 0:
        raise ValueError("coef must hold at least one parameter")
    # The update adds the penalty's gradient into its gradient argument: work on a copy.
    cdef floating[::1] g = np.array(gradient, copy=True)
    cdef floating* state_ptr = &state[0, 0] if state.shape[0] > 0 else NULL
    cdef Py_ssize_t[::1] decayed = decayed_runs_of(decay_mask)
    with nogil:
        t += 1
        lr = step_learning_rate(&cfg, t)
        update_parameters(&cfg, &coef[0], &g[0], state_ptr, n, <ScalarState*>&scalars[0], t,
                          lr, RunList(&decayed[0], decayed.shape[0] // 2))
    return t, lr


def _scaled_vector_steps(floating[::1] v, const floating[::1] data, const int[::1] indices,
                         const double[::1] factors, const double[::1] steps):
    """For tests of weights.pxd, which the epoch loop does not use yet: starting from w = v,
    for each i take w ← factors[i]·w, then w ← w + steps[i]·x, x the sparse row of the given
    values at the given feature indices, in the lazy form w = scale·v. Return (w·x and the
    scale after the last step, before folding it in); v ends holding w."""
    if data.shape[0] != indices.shape[0] or factors.shape[0] != steps.shape[0]:
        raise ValueError("data and indices, factors and steps must have equal lengths")
    cdef Py_ssize_t k, i
    for k in range(indices.shape[0]):
        if indices[k] < 0 or indices[k] >= v.shape[0]:
            raise ValueError("indices must lie in [0, len(v))")
    cdef ScaledVector w = scaled_vector(&v[0], v.shape[0])
    cdef double product
    with nogil:
        for i in range(factors.shape[0]):
            shrink(&w, factors[i], &data[0])
            add_scaled(&w, steps[i], &data[0], &indices[0], data.shape[0])
        product = scaled_dot(&w, &data[0], &indices[0], data.shape[0])
    scale = w.scale
    with nogil:
        materialise(&w, &data[0])
    return product, scale


def optimizer_steps(
    floating[::1] coef, const floating[::1] gradient, floating[:, ::1] state,
    double[::1] scalars, dict config, long long t, Py_ssize_t n_steps,
):
    """Take updates t + 1 .. t + n_steps of config["optimizer"] in place on coef (one output
    of a linear model: the weights, then the intercept), state and scalars, each from a
    fresh copy of `gradient`, with the epoch loop's code and no row read: what the updates
    of an epoch of n_steps batches cost on their own. Return (t + n_steps, the last
    update's learning rate)."""
    cdef EpochConfig cfg = config
    cdef Py_ssize_t n = coef.shape[0], i, j
    cdef double lr = 0.0
    if gradient.shape[0] != n:
        raise ValueError("gradient must hold one value per entry of coef")
    if n < 2:
        raise ValueError("coef must hold at least one weight and the intercept")
    if n_steps < 0:
        raise ValueError("n_steps must be at least 0")
    check_optimizer_state(coef, state, scalars, &cfg)
    cdef floating[::1] g = np.empty_like(np.asarray(coef))
    cdef floating* state_ptr = &state[0, 0] if state.shape[0] > 0 else NULL
    with nogil:
        for i in range(n_steps):
            for j in range(n):
                g[j] = gradient[j]
            t += 1
            lr = step_learning_rate(&cfg, t)
            update_parameters(&cfg, &coef[0], &g[0], state_ptr, n, <ScalarState*>&scalars[0],
                              t, lr, LinearLayout(1, n))
    return t, lr


def _split_batches_on_one_thread(double seconds):
    """For tests: the next `seconds` of split batches run their chunks on one thread, as
    after batches that waited on a slowed thread (0: threads again, at once)."""
    gd_write(&slow_streak, 0)
    gd_write(&one_thread_until_ns, gd_now_ns() + <long long>(seconds * 1e9) if seconds > 0
             else 0)


def _threads_verdict(long long batch_ns, long long[::1] chunk_ns, Py_ssize_t n_rows):
    """For tests: threads_verdict of a split batch of n_rows rows in chunk_ns.shape[0] chunks
    (at most MAX_CHUNKS) of equal rows but the last, which took batch_ns."""
    cdef Py_ssize_t n_chunks = chunk_ns.shape[0]
    if not 0 < n_chunks <= min(MAX_CHUNKS, n_rows):
        raise ValueError(f"between 1 and {min(MAX_CHUNKS, n_rows)} chunks")
    cdef Py_ssize_t chunk_rows = (n_rows + n_chunks - 1) // n_chunks
    if (n_rows + chunk_rows - 1) // chunk_rows != n_chunks:
        raise ValueError(f"{n_rows} rows are not cut into {n_chunks} chunks")
    return threads_verdict(batch_ns, &chunk_ns[0], chunk_rows, n_rows, n_chunks)

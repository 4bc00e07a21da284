# Epochs over CSR rows (rowsource.pxd), at O(nnz of the batch) per update wherever the
# update of the coordinates a batch does not touch can be caught up exactly later.
#
# A batch is two phases, as in the dense loop:
#   gradient  every row's columns are first brought up to date (catch_up), then its scores
#             are gathered dots, and a·x is added into the batch's gradient (DENSE_STEP: a
#             dense buffer that is zero outside the batch's columns; LAZY_COMPACT: the
#             gathered vectors below); `touched` lists those columns, each once (a column's
#             `seen` stamp is the update that last touched it).
#   step      one of three forms, chosen once per epoch (sparse_step_kind):
#     LAZY_SGD      plain SGD. Weights are kept as scale · v (weights.pxd): the l2 penalty
#                   and weight decay shrink `scale` in O(1), the loss part moves v on the
#                   row's columns only. Its step is a sum of one term per row, so it skips
#                   the buffer: each row's a·x is added straight to v (sgd_on_csr_rows).
#     LAZY_COMPACT  an optimizer whose rule leaves a coordinate with a zero gradient alone,
#                   or changes only its state by a known factor (AdaGrad: nothing; RMSprop
#                   without momentum: the mean square (and mean) times alpha; AdaDelta: both
#                   averages times rho), or moves it along its own buffer by a geometric
#                   sum (momentum and Nesterov at a constant rate, below), and the Adam
#                   family with `lazy` (which by definition leaves the other coordinates
#                   alone, PyTorch's SparseAdam).
#                   A column's parameters and the state its rule uses (live_state_rows)
#                   are gathered into short vectors the first time a row of the batch reads
#                   it, caught up on the way; the rows' dots read the gathered parameters
#                   and add their gradients into a gathered gradient (compact_batch_gradient:
#                   no gradient buffer; while the batch holds a column, its record, or
#                   without records its `seen` entry, marks its slot). update_parameters (step.pxd: the one copy of every rule)
#                   steps the short vectors, and they are scattered back. The state decay of
#                   skipped steps is applied when a column is next touched, in one power read
#                   from a table of the epoch's lags (fill_idle_tables), or kept scaled
#                   in the column records (column_records.pxd). One row whose
#                   columns are distinct is its own touched list and gradient
#                   (compact_on_one_csr_row): no stamps.
#     DENSE_STEP    anything else (momentum, exact Adam, adaptive rules with l2): the
#                   gradient buffer (csr_batch_gradient) is a whole gradient and
#                   update_parameters steps every parameter, O(n_features) per update, the
#                   same update as for dense rows.
# Momentum over k steps with a zero gradient at a constant rate γ: b ← μ^k·b, and θ moves
# by −γ·b·(μ + … + μ^k) = −γ·b·μ·(1 − μ^k)/(1 − μ); Nesterov's step γ·(g + μ·b) adds one
# more factor μ. A schedule whose rate changes from step to step, a warm-up, l2 (whose
# gradient is never zero) or l1 (a threshold at each step) leave them on DENSE_STEP.
# The l1 proximal step (in the lazy forms) is applied late too: two soft-thresholdings are
# one of the sum of their thresholds, and a shrink by f > 0 commutes with one as
# S_c(f·v) = f·S_{c/f}(v), so a running sum of every step's threshold in units of v
# (`threshold`) and, per column, the part already applied (`applied`) catch a column up in
# one step. Before the epoch ends (and when the scale nears underflow) `settle` brings every
# column up to date and folds the scale in, so what the epoch returns is plain parameters
# and state, the same as the dense loop's.
# CSR rows are trained uncentred (centring would make every row dense); a per-feature
# scale multiplies each value as the row is read (scaled_csr_row).
# Averaging (averaging.pxd). LAZY_SGD without l1 keeps the sum of the averaged weights in
# closed form, O(nnz) per update: with w_i = σ_i·v_i after update i, c_m = Σ_{i≤m} σ_i and
# U_m = Σ_{i≤m} c_{i−1}·Δv_i (Δv_i the change of v at update i, on the batch's columns),
# Σ_{i≤m} w_i = c_m·v_m − U_m. U lives in the average buffer itself (its weight entries),
# c in work.average_scale_sum; the intercepts, updated every step, are averaged directly;
# folding σ into v first moves c·v into U (settle), and the epoch's end (or an interrupt)
# turns U back into the mean. Every other update is followed by `settle` and the fold of
# every parameter into the mean, both O(n_features), the cost of the dense loop's
# averaging; plain SGD with l1 (whose thresholds are not linear) then takes DENSE_STEP
# (run_epoch_csr), which has nothing to settle.

from cython cimport floating
from libc.math cimport expm1, fabs, isfinite, log, pow
from libc.stdint cimport uint64_t

from gdfast._kernels.config cimport *
from gdfast._kernels.guards cimport SIGNAL_CHECK_WORK, all_finite, signal_handler_raised
from gdfast._kernels.shuffle cimport random_permutation
from gdfast._kernels.step cimport step_learning_rate
from gdfast._kernels.losses cimport sample_loss
from gdfast._kernels.step cimport LinearLayout, update_parameters, towards_zero
from gdfast._kernels.layout cimport output_len, weights_start
from gdfast._kernels.rowsource cimport RowSource, csr_row
from gdfast._kernels.weights cimport ScaledVector, scaled_dot, add_scaled
from gdfast._kernels.rows cimport gd_prefetch
from gdfast._kernels.averaging cimport update_average
from gdfast._kernels.sparse_work cimport SparseWork, MAX_STATE_ROWS
from gdfast._kernels.column_records cimport (column_record, record_stamp, record_mark,
                                            pack_records, unpack_records, rescale_records,
                                            release_marks)


cdef enum SparseStep:
    LAZY_SGD = 0
    LAZY_COMPACT = 1
    DENSE_STEP = 2


cdef inline bint moving_moments(int optimizer) noexcept nogil:
    return optimizer == ADAM or optimizer == ADAMW or optimizer == NADAM or optimizer == ADAMAX


cdef inline int sparse_step_kind(const EpochConfig* cfg) noexcept nogil:
    """How an update on CSR rows is taken (see the header)."""
    cdef double coupled = cfg.l2 + (0.0 if cfg.optimizer == ADAMW else cfg.weight_decay)
    if cfg.optimizer == SGD:
        return LAZY_SGD
    if cfg.lazy and moving_moments(cfg.optimizer):
        return LAZY_COMPACT
    if coupled == 0 and (cfg.optimizer == ADAGRAD or cfg.optimizer == ADADELTA
                         or (cfg.optimizer == RMSPROP and cfg.momentum == 0)):
        return LAZY_COMPACT
    if (coupled == 0 and cfg.l1 == 0 and cfg.schedule == CONSTANT and cfg.warmup_steps == 0
            and cfg.momentum < 1 and (cfg.optimizer == MOMENTUM or cfg.optimizer == NESTEROV)):
        return LAZY_COMPACT
    return DENSE_STEP


cdef inline int idle_buffers(const EpochConfig* cfg, double* factor,
                             double* drift) noexcept nogil:
    """How many of the optimizer's first buffers decay, each by *factor, over a step that
    gives a coordinate a zero gradient (LAZY_COMPACT's exact rules); *drift: the parameter
    moves by −drift·(1 − factor^k)/(1 − factor)·(first buffer) over k such steps (0: it
    stays)."""
    drift[0] = 0.0
    if cfg.lazy and moving_moments(cfg.optimizer):
        return 0
    if cfg.optimizer == MOMENTUM or cfg.optimizer == NESTEROV:
        factor[0] = cfg.momentum
        drift[0] = cfg.learning_rate * cfg.momentum
        if cfg.optimizer == NESTEROV:
            drift[0] *= cfg.momentum
        return 1        # the velocity
    if cfg.optimizer == RMSPROP:
        factor[0] = cfg.rmsprop_alpha
        return 2 if cfg.centered else 1     # mean square, mean gradient (read if centered)
    if cfg.optimizer == ADADELTA:
        factor[0] = cfg.rho
        return 2        # square averages of the gradient and of the update
    return 0


cdef enum:
    # The longest table of idle powers (fill_idle_tables): an epoch of more updates than this
    # computes the powers of longer lags when it meets them.
    IDLE_TABLE_MAX = 1 << 16


cdef inline int live_state_rows(const EpochConfig* cfg, int* rows) noexcept nogil:
    """Write into rows the state rows cfg's rule reads or writes (optimizers.pxd), in order,
    and return their count: the compact step gathers and scatters only these."""
    cdef int n = 0
    if cfg.optimizer == MOMENTUM or cfg.optimizer == NESTEROV or cfg.optimizer == ADAGRAD:
        rows[0] = 0
        n = 1
    elif cfg.optimizer == RMSPROP:
        rows[0] = 0                 # mean square
        n = 1
        if cfg.centered:
            rows[n] = 1             # mean gradient
            n += 1
        if cfg.momentum > 0:
            rows[n] = 2             # momentum buffer
            n += 1
    elif cfg.optimizer == ADAM or cfg.optimizer == ADAMW:
        rows[0], rows[1] = 0, 1     # first and second moments
        n = 2
        if cfg.amsgrad:
            rows[2] = 2             # the second moment's maximum
            n = 3
    elif cfg.optimizer == ADADELTA or cfg.optimizer == NADAM or cfg.optimizer == ADAMAX:
        rows[0], rows[1] = 0, 1
        n = 2
    return n


cdef inline const floating* scaled_csr_row(RowSource source, SparseWork* work, Py_ssize_t i,
                                           const floating* of_type, const int** columns,
                                           Py_ssize_t* nnz) noexcept nogil:
    """CSR row i as the model sees it (csr_row's arguments): every loop reads its rows here,
    so that a per-feature scale s enters as x_j·s_j, one multiplication per non-zero, into
    the row's copy in work.scaled_row (of max_row_nnz values). Without scales (NULL), the
    row itself."""
    cdef const floating* x = csr_row(source, i, of_type, columns, nnz)
    cdef const floating* s = <const floating*>work.inv_scale
    cdef floating* scaled = <floating*>work.scaled_row
    cdef Py_ssize_t p
    if s == NULL:
        return x
    for p in range(nnz[0]):
        scaled[p] = x[p] * s[columns[0][p]]
    return scaled


cdef inline double idle_power(double mu, long long lag) noexcept nogil:
    """μ^k: what an idle buffer is multiplied by over k skipped steps."""
    return pow(mu, <double>lag)


cdef inline double idle_move(double drift, double mu, double log_mu,
                             long long lag) noexcept nogil:
    """drift·(1 − μ^k)/(1 − μ) (log_mu = log μ): the parameter's move along its first buffer
    over k skipped steps, in units of the buffer; 1 − μ^k as −expm1(k·log μ), without its
    cancellation for μ near 1. 0 without a drift."""
    if drift == 0.0:
        return 0.0
    return drift * -expm1(lag * log_mu) / (1.0 - mu)


cdef inline void fill_idle_tables(SparseWork* work) noexcept nogil:
    """idle_power and idle_move of every lag k < idle_table_len, so that catch_up, run for
    each column a batch touches, reads two numbers rather than computing a power and an
    exponential: the same values, computed once per epoch."""
    cdef double mu = work.idle_factor, log_mu = log(mu) if work.idle_factor > 0 else 0.0
    cdef Py_ssize_t k
    for k in range(work.idle_table_len):
        work.idle_power[k] = idle_power(mu, k)
        work.idle_move[k] = idle_move(work.idle_drift, mu, log_mu, k)




cdef inline void catch_up_column(SparseWork* work, floating* w, Py_ssize_t output_step,
                                 floating* s, Py_ssize_t row_step, long long* stamp,
                                 Py_ssize_t j, long long now) noexcept nogil:
    """catch_up on column j's weights w[k · output_step] and their idle state
    s[r · row_step + k · output_step] (the idle rows are the first live ones), stamp its
    update."""
    cdef Py_ssize_t k, r
    cdef long long lag
    cdef floating c, f, move
    cdef double mu = work.idle_factor
    if work.lazy_l1:
        c = <floating>(work.threshold - work.applied[j])
        if c > 0:
            for k in range(work.n_outputs):
                w[k * output_step] = towards_zero(w[k * output_step], c)
        work.applied[j] = work.threshold
    if work.stamped_idle:
        lag = now - stamp[0]
        if lag > 0:
            if lag < work.idle_table_len:
                f = <floating>work.idle_power[lag]
                move = <floating>work.idle_move[lag]
            else:
                f = <floating>idle_power(mu, lag)
                move = <floating>idle_move(work.idle_drift, mu, log(mu), lag)
            if work.idle_drift != 0.0:
                for k in range(work.n_outputs):
                    w[k * output_step] -= move * s[k * output_step]
            for r in range(work.n_idle):
                for k in range(work.n_outputs):
                    s[r * row_step + k * output_step] *= f
        stamp[0] = now


cdef inline void catch_up(SparseWork* work, floating* theta, floating* state, Py_ssize_t j,
                          long long now) noexcept nogil:
    """Bring column j up to update `now`: the l1 thresholds and state decay it skipped."""
    cdef floating* rec
    if work.records != NULL:
        rec = column_record(work, j, theta)
        catch_up_column(work, rec, 1, rec + work.n_outputs, work.n_outputs,
                        record_stamp(work, j), j, now)
    else:
        catch_up_column(work, theta + j, output_len(work.n_features),
                        state + j if state != NULL else <floating*>NULL, work.n_params,
                        work.seen + j, j, now)


cdef inline void settle(SparseWork* work, floating* theta, floating* state,
                        long long now) noexcept nogil:
    """Bring every column up to update `now` and fold the scale into the weights: O(n)."""
    cdef Py_ssize_t j, k
    cdef floating s = <floating>work.scale
    cdef floating* offsets = <floating*>work.average
    cdef floating c = <floating>work.average_scale_sum
    if work.lazy_l1 or work.stamped_idle:
        for j in range(work.n_features):
            catch_up(work, theta, state, j, now)
    if work.lazy_average and work.average_scale_sum != 0.0:
        # Σ w_i = c·v − U stays the same sum with c = 0 and U − c·v.
        for k in range(work.n_outputs):
            for j in range(weights_start(k, work.n_features),
                           weights_start(k, work.n_features) + work.n_features):
                offsets[j] -= c * theta[j]
        work.average_scale_sum = 0.0
    if work.scale != 1.0:
        for k in range(work.n_outputs):
            for j in range(weights_start(k, work.n_features),
                           weights_start(k, work.n_features) + work.n_features):
                theta[j] = s * theta[j]
    work.scale = 1.0
    work.threshold = 0.0
    if work.lazy_l1:
        for j in range(work.n_features):
            work.applied[j] = 0.0


cdef inline void begin_lazy_average(SparseWork* work, const floating* of_type,
                                    long long now) noexcept nogil:
    """Turn the mean ā of the k = now − average_start updates averaged so far into the
    closed form's U = −k·ā (c = 0); with none yet, U = 0 (the buffer's content is not
    read before the first averaged update)."""
    cdef floating* offsets = <floating*>work.average
    cdef long long k = now - work.average_start
    cdef Py_ssize_t j, o
    work.average_scale_sum = 0.0
    for o in range(work.n_outputs):
        for j in range(weights_start(o, work.n_features),
                       weights_start(o, work.n_features) + work.n_features):
            offsets[j] = <floating>(-k) * offsets[j] if k > 0 else 0


cdef inline void end_lazy_average(SparseWork* work, const floating* theta,
                                  long long now) noexcept nogil:
    """After settle (c = 0, so the sum is −U): the weights' mean ā = −U/k."""
    cdef floating* offsets = <floating*>work.average
    cdef long long k = now - work.average_start
    cdef Py_ssize_t j, o
    if not work.lazy_average or k <= 0:
        return
    for o in range(work.n_outputs):
        for j in range(weights_start(o, work.n_features),
                       weights_start(o, work.n_features) + work.n_features):
            offsets[j] = -offsets[j] / <floating>k


cdef inline void shrink_weights(SparseWork* work, floating* theta, floating* state,
                                double factor, long long now) noexcept nogil:
    """weights ← factor · weights in O(1); settled once |scale| falls below 1e-9, before
    the next step divides by it (weights.pxd, shrink)."""
    work.scale *= factor
    # With a lazy average, c·v − U loses about 1/scale of its digits: folded sooner.
    if fabs(work.scale) < (1e-3 if work.lazy_average else 1e-9):
        settle(work, theta, state, now)


cdef inline double csr_batch_gradient(
    const EpochConfig* cfg, SparseWork* work, RowSource source, const floating* y,
    const floating* sample_weight, floating* theta, floating* state, const Py_ssize_t* rows,
    Py_ssize_t n_rows, double scale, long long t, double* scores, double* dscores,
) noexcept nogil:
    """DENSE_STEP's phase one of update t: catch the rows' columns up to update t − 1, then
    add scale · Σ sample_weight · dL/dθ over `rows` into the gradient buffer; return the
    sum of the weighted losses."""
    cdef Py_ssize_t nf = work.n_features, i, p, k, nnz, j, row
    cdef floating* grad = <floating*>work.grad
    cdef floating* g
    cdef const floating* x
    cdef const int* columns
    cdef ScaledVector w
    cdef double weight, loss_sum = 0.0
    cdef floating a
    w.n = nf
    w.scale = work.scale
    for i in range(n_rows):
        row = rows[i]
        x = scaled_csr_row(source, work, row, theta, &columns, &nnz)
        for p in range(nnz):
            j = columns[p]
            if work.seen[j] != t:
                catch_up(work, theta, state, j, t - 1)
                work.seen[j] = t
                work.touched[work.n_touched] = j
                work.n_touched += 1
        for k in range(work.n_outputs):
            w.values = theta + weights_start(k, nf)
            scores[k] = scaled_dot(&w, x, columns, nnz) + theta[weights_start(k, nf) + nf]
        weight = 1.0 if cfg.unit_weights else sample_weight[row]
        loss_sum += weight * sample_loss(cfg, scores, work.n_outputs, y[row], dscores)
        for k in range(work.n_outputs):
            a = <floating>(weight * dscores[k] * scale)
            g = grad + weights_start(k, nf)
            for p in range(nnz):
                g[columns[p]] += a * x[p]
            if cfg.fit_intercept:
                g[nf] += a
    return loss_sum


# LAZY_COMPACT's gathered vectors: work.compact holds 2 + n_state vectors of compact_len
# entries (the parameters, the gradient, then each state row), each output's entries of a
# vector from k · stride, every touched column at the same place (its slot) in each. While a
# batch's rows are read its columns are not counted yet, so the gradient phase gathers at
# the widest stride, compact_len / n_outputs; the step first packs them (pack_compact) to
# the layout update_parameters reads, of m + 1 entries per output (the m columns, then the
# intercept) and state row r from r · n_outputs · (m + 1).

cdef inline void gather_column(SparseWork* work, const floating* theta, const floating* state,
                               Py_ssize_t j, Py_ssize_t slot, Py_ssize_t stride,
                               Py_ssize_t row_stride, bint with_gradient) noexcept nogil:
    """Column j's parameters (and, with_gradient, a zero gradient) and live state into the
    gathered vectors at `slot`; state row r's vector from r · row_stride."""
    cdef Py_ssize_t k, r, at, cap = work.compact_len
    cdef floating* th_c = <floating*>work.compact
    cdef floating* state_c = th_c + 2 * cap
    for k in range(work.n_outputs):
        at = weights_start(k, work.n_features) + j
        th_c[k * stride + slot] = theta[at]
        if with_gradient:
            th_c[cap + k * stride + slot] = 0
        for r in range(work.n_live):
            state_c[work.live_rows[r] * row_stride + k * stride + slot] = \
                state[work.live_rows[r] * work.n_params + at]


cdef inline double compact_batch_gradient(
    const EpochConfig* cfg, SparseWork* work, RowSource source, const floating* y,
    const floating* sample_weight, floating* theta, floating* state, const Py_ssize_t* order,
    Py_ssize_t position, Py_ssize_t n_rows, Py_ssize_t n_samples, double scale, long long t,
    double* scores, double* dscores,
) noexcept nogil:
    """LAZY_COMPACT's phase one of update t on the rows order[position:position + n_rows]
    (and the requests for the rows after them): each column the rows read is caught up to
    update t − 1 and gathered the first time (then held until the step: its record's mark
    is its slot (column_records.pxd), or without records its `seen` entry −1 − the slot),
    the rows' scores are dots with the gathered parameters, and scale · sample_weight ·
    dL/dscore (kept in work.slopes for the intercepts) times each row is added into the
    gathered gradient; return the sum of the weighted losses."""
    cdef Py_ssize_t nf = work.n_features, n_outputs = work.n_outputs
    cdef Py_ssize_t cap = work.compact_len, stride = cap // n_outputs
    cdef floating* th_c = <floating*>work.compact
    cdef floating* g_c = th_c + cap
    cdef long long* seen = work.seen
    cdef Py_ssize_t* touched = work.touched
    cdef int* slots = work.row_slots
    cdef double* slopes = work.slopes
    cdef floating* state_c = g_c + cap
    cdef char* records = work.records
    cdef Py_ssize_t record_size = work.record_size, stamp_offset = work.stamp_offset
    cdef int n_live = work.n_live, r
    cdef int live[MAX_STATE_ROWS]
    cdef bint nothing_to_catch_up = not work.lazy_l1 and not work.stamped_idle
    cdef bint scaled = work.scaled_idle, drifting = work.scaled_idle and work.idle_offset != 0.0
    cdef int n_idle = work.n_idle
    cdef floating d = <floating>work.idle_scale, offset = <floating>work.idle_offset
    cdef floating value
    cdef Py_ssize_t m = 0, i, p, k, j, row, nnz
    cdef long long mark
    cdef unsigned int held
    cdef floating* rec
    cdef const floating* x
    cdef const int* columns
    cdef ScaledVector w
    cdef double weight, loss_sum = 0.0
    cdef floating a
    cdef floating* g
    for r in range(n_live):
        live[r] = work.live_rows[r]
    # The common records: one output, one live state row (momentum, AdaGrad, RMSprop).
    cdef bint single = n_outputs == 1 and n_live == 1
    cdef floating* first_c = state_c + live[0] * cap if n_live > 0 else state_c
    cdef floating d_first = d if scaled and n_idle > 0 else 1
    w.n = stride
    w.scale = 1.0
    for i in range(n_rows):
        prefetch_ahead(source, theta, y, sample_weight, not cfg.unit_weights, state,
                       work.live_rows, work.n_live, work.n_params, seen, work.records,
                       work.record_size, <const floating*>work.inv_scale, <floating*>NULL,
                       order, position + i, n_samples)
        row = order[position + i]
        x = scaled_csr_row(source, work, row, theta, &columns, &nnz)
        if records != NULL:
            # the gather (as gather_column, from the record) on locals: the stores to the
            # gathered vectors would otherwise reload every field of `work` they read.
            for p in range(nnz):
                j = columns[p]
                rec = <floating*>(records + j * record_size)
                held = record_mark(<char*>rec)[0]
                if held < m and touched[held] == j:
                    slots[p] = <int>held
                    continue
                if not nothing_to_catch_up:
                    catch_up_column(work, rec, 1, rec + n_outputs, n_outputs,
                                    <long long*>(records + j * record_size + stamp_offset), j,
                                    t - 1)
                if single:
                    # one output, one live state row: the loops below, unrolled
                    g_c[m] = 0
                    value = rec[1] * d_first
                    first_c[m] = value
                    th_c[m] = rec[0] + offset * value if drifting else rec[0]
                else:
                    for k in range(n_outputs):
                        g_c[k * stride + m] = 0
                        for r in range(n_live):
                            value = rec[n_outputs * (1 + r) + k]
                            if scaled and r < n_idle:
                                value = d * value
                            state_c[live[r] * cap + k * stride + m] = value
                        if drifting:
                            th_c[k * stride + m] = rec[k] + offset * state_c[live[0] * cap
                                                                             + k * stride + m]
                        else:
                            th_c[k * stride + m] = rec[k]
                touched[m] = j
                record_mark(<char*>rec)[0] = <unsigned int>m
                slots[p] = <int>m
                m += 1
        else:
            for p in range(nnz):
                j = columns[p]
                mark = seen[j]
                if mark >= 0:
                    catch_up(work, theta, state, j, t - 1)
                    gather_column(work, theta, state, j, m, stride, cap, True)
                    touched[m] = j
                    seen[j] = -1 - m
                    slots[p] = <int>m
                    m += 1
                else:
                    slots[p] = <int>(-1 - mark)
        for k in range(n_outputs):
            w.values = th_c + k * stride
            scores[k] = scaled_dot(&w, x, slots, nnz) + theta[weights_start(k, nf) + nf]
        weight = 1.0 if cfg.unit_weights else sample_weight[row]
        loss_sum += weight * sample_loss(cfg, scores, n_outputs, y[row], dscores)
        for k in range(n_outputs):
            a = <floating>(weight * dscores[k] * scale)
            slopes[i * n_outputs + k] = a
            g = g_c + k * stride
            for p in range(nnz):
                g[slots[p]] += a * x[p]
    work.n_touched = m
    return loss_sum


cdef inline void pack_vector(floating* packed, const floating* gathered, Py_ssize_t n_outputs,
                             Py_ssize_t stride, Py_ssize_t length, Py_ssize_t m) noexcept nogil:
    """Output k's m entries from gathered + k · stride to packed + k · length, where packed
    is at or before gathered and length ≤ stride: a forward copy, each entry moving to a
    place at or before its own. Blocks already in place are left alone."""
    cdef Py_ssize_t k, i
    for k in range(n_outputs):
        if packed + k * length != gathered + k * stride:
            for i in range(m):
                packed[k * length + i] = gathered[k * stride + i]


cdef inline void scatter_vector(floating* values, const floating* gathered,
                                const Py_ssize_t* columns, Py_ssize_t m) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(m):
        values[columns[i]] = gathered[i]


cdef inline void compact_step(
    const EpochConfig* cfg, SparseWork* work, floating* theta, floating* state,
    ScalarState* scalars, long long t, double lr, Py_ssize_t n_rows, Py_ssize_t stride,
    Py_ssize_t row_stride, bint mark_seen,
) noexcept nogil:
    """LAZY_COMPACT's step on the m = n_touched gathered columns (output k's entries from
    k · stride, state row r's from r · row_stride): packed, with each output's intercept
    appended (its gradient the sum of the n_rows slopes), stepped by update_parameters
    (the l1 step is left to catch_up: work.compact_cfg has none), and scattered back (to
    the column records, if the epoch keeps them, stamped t); with mark_seen, each column's
    `seen` entry becomes t. The fields the loops read are copied
    to locals first: read through `work`, they would be loaded again after every store
    (the compiler must assume aliasing)."""
    cdef Py_ssize_t nf = work.n_features, m = work.n_touched, length = m + 1
    cdef Py_ssize_t n_outputs = work.n_outputs, n_params = work.n_params
    cdef Py_ssize_t n = n_outputs * length, cap = work.compact_len, k, i, j, r, at
    cdef int n_live = work.n_live
    cdef const int* live = work.live_rows
    cdef const Py_ssize_t* touched = work.touched
    cdef long long* seen = work.seen
    cdef floating* th_c = <floating*>work.compact
    cdef floating* g_c = th_c + cap
    cdef floating* state_c = g_c + cap
    cdef floating intercept_grad
    cdef floating* rec
    cdef char* records = work.records
    cdef Py_ssize_t record_size = work.record_size, stamp_offset = work.stamp_offset
    cdef bint stamped = work.record_stamps
    cdef bint scaled = work.scaled_idle, drifting = work.scaled_idle and work.idle_offset != 0.0
    cdef int n_idle = work.n_idle
    cdef floating offset = <floating>work.idle_offset, inverse = 1, value, first_inverse
    cdef floating* first_c
    cdef int live_rows[MAX_STATE_ROWS]
    for r in range(n_live):
        live_rows[r] = live[r]
    pack_vector(th_c, th_c, n_outputs, stride, length, m)
    pack_vector(g_c, g_c, n_outputs, stride, length, m)
    for r in range(n_live):        # increasing rows: each packs below the next's entries
        pack_vector(state_c + live[r] * n, state_c + live[r] * row_stride, n_outputs, stride,
                    length, m)
    for k in range(n_outputs):
        at = weights_start(k, nf) + nf
        th_c[k * length + m] = theta[at]
        intercept_grad = 0
        if cfg.fit_intercept:
            for i in range(n_rows):
                intercept_grad += <floating>work.slopes[i * n_outputs + k]
        g_c[k * length + m] = intercept_grad
        for r in range(n_live):
            state_c[live[r] * n + k * length + m] = state[live[r] * n_params + at]
    update_parameters(&work.compact_cfg, th_c, g_c, state_c, n, scalars, t, lr,
                      LinearLayout(n_outputs, length))
    if records != NULL:
        if scaled:
            work.idle_scale *= work.idle_factor         # D after update t
            inverse = <floating>(1.0 / work.idle_scale)
        if n_outputs == 1 and n_live == 1 and not stamped:
            # one output, one live state row (momentum, AdaGrad, RMSprop): the loop below,
            # unrolled, on locals
            first_c = state_c + live_rows[0] * n
            first_inverse = inverse if scaled and n_idle > 0 else 1
            if drifting:
                for i in range(m):
                    rec = <floating*>(records + touched[i] * record_size)
                    rec[0] = th_c[i] - offset * first_c[i]
                    rec[1] = first_c[i] * first_inverse
            else:
                for i in range(m):
                    rec = <floating*>(records + touched[i] * record_size)
                    rec[0] = th_c[i]
                    rec[1] = first_c[i] * first_inverse
        for i in range(0 if n_outputs == 1 and n_live == 1 and not stamped else m):
            rec = <floating*>(records + touched[i] * record_size)
            for k in range(n_outputs):
                rec[k] = th_c[k * length + i]
                if drifting:
                    rec[k] -= offset * state_c[live_rows[0] * n + k * length + i]
                for r in range(n_live):
                    value = state_c[live_rows[r] * n + k * length + i]
                    if scaled and r < n_idle:
                        value = value * inverse
                    rec[n_outputs * (1 + r) + k] = value
            if stamped:
                (<long long*>(records + touched[i] * record_size + stamp_offset))[0] = t
        if scaled and work.idle_scale < work.idle_scale_min:
            rescale_records(work, theta)
    for k in range(n_outputs):
        if work.records == NULL:
            scatter_vector(theta + weights_start(k, nf), th_c + k * length, touched, m)
        theta[weights_start(k, nf) + nf] = th_c[k * length + m]
        for r in range(n_live):
            at = live[r] * n_params + weights_start(k, nf)
            if work.records == NULL:
                scatter_vector(state + at, state_c + live[r] * n + k * length, touched, m)
            state[at + nf] = state_c[live[r] * n + k * length + m]
    if mark_seen and work.records == NULL:
        for i in range(m):
            seen[touched[i]] = t


cdef inline void dense_step(
    const EpochConfig* cfg, SparseWork* work, floating* theta, floating* state,
    Py_ssize_t n_state, ScalarState* scalars, long long t, double lr,
) noexcept nogil:
    """DENSE_STEP's phase two of update t: step every parameter with the gradient buffer,
    and leave it zero."""
    cdef Py_ssize_t j
    cdef floating* grad = <floating*>work.grad
    update_parameters(cfg, theta, grad, state, work.n_params, scalars, t, lr,
                      LinearLayout(work.n_outputs, work.n_features + 1))
    for j in range(work.n_params):
        grad[j] = 0
    work.n_touched = 0


cdef enum:
    # Requests run this many rows ahead of the reads: enough to cover a miss, few enough
    # that a row's ~50 columns' requests (lines of records) do not outrun the core's
    # line-fill buffers and evict each other from L1 before they are read.
    PREFETCH_ROWS = 8


cdef inline void prefetch_span(const void* first, Py_ssize_t n_bytes) noexcept nogil:
    """Request every cache line of n_bytes > 0 from first, the last byte's line included."""
    cdef const char* p = <const char*>first
    cdef Py_ssize_t offset = 0
    while offset < n_bytes:
        gd_prefetch(p + offset)
        offset += 64
    gd_prefetch(p + n_bytes - 1)


cdef inline void prefetch_ahead(RowSource source, const floating* theta, const floating* y,
                                const floating* sample_weight, bint weighted,
                                const floating* state, const int* state_rows, int n_state,
                                Py_ssize_t n_params, const long long* seen,
                                const char* records, Py_ssize_t record_size,
                                const floating* inv_scale, const floating* average,
                                const Py_ssize_t* order, Py_ssize_t position,
                                Py_ssize_t n_samples) noexcept nogil:
    """Request what the row PREFETCH_ROWS positions ahead will read, in three stages, each
    needing the previous one's data: its indptr entry (3 steps ahead), its values and
    indices (2), then its target, weight, its columns' scales and running average (unless
    NULL) and first output's weights, their state in the n_state rows state_rows, and their
    `seen` stamps unless seen is NULL, or instead of the last three their column records
    (1). In a shuffled order every one of those is a cache miss, and waiting on them one row
    at a time would cost more than the row's arithmetic."""
    cdef Py_ssize_t row, p, start, stop, r
    cdef const int* columns
    if position + 3 * PREFETCH_ROWS < n_samples:
        gd_prefetch(source.indptr + order[position + 3 * PREFETCH_ROWS])
    if position + 2 * PREFETCH_ROWS < n_samples:
        row = order[position + 2 * PREFETCH_ROWS]
        start, stop = source.indptr[row], source.indptr[row + 1]
        if stop > start:
            prefetch_span(source.indices + start, (stop - start) * sizeof(int))
            prefetch_span(<const floating*>source.values + start,
                          (stop - start) * sizeof(floating))
    if position + PREFETCH_ROWS < n_samples:
        row = order[position + PREFETCH_ROWS]
        gd_prefetch(y + row)
        if weighted:
            gd_prefetch(sample_weight + row)
        columns = source.indices
        if inv_scale != NULL:
            for p in range(source.indptr[row], source.indptr[row + 1]):
                gd_prefetch(inv_scale + columns[p])
        if average != NULL:
            for p in range(source.indptr[row], source.indptr[row + 1]):
                gd_prefetch(average + columns[p])
        if records != NULL:
            for p in range(source.indptr[row], source.indptr[row + 1]):
                gd_prefetch(records + columns[p] * record_size)
            return
        for p in range(source.indptr[row], source.indptr[row + 1]):
            gd_prefetch(theta + columns[p])
            for r in range(n_state):
                gd_prefetch(state + state_rows[r] * n_params + columns[p])
            if seen != NULL:
                gd_prefetch(seen + columns[p])


cdef inline double sgd_on_csr_rows(
    const EpochConfig* cfg, SparseWork* work, RowSource source, const floating* y,
    const floating* sample_weight, floating* theta, const Py_ssize_t* order,
    Py_ssize_t position, Py_ssize_t n_rows, Py_ssize_t n_samples, long long t, double lr,
    double* scores, double* dscores,
) noexcept nogil:
    """LAZY_SGD's update t on the rows order[position:position + n_rows], without the
    gradient buffer: each row's scores and slopes a = weight · dL/dscore / n_rows first (at
    the parameters before the update), then the shrink, then each row's a · x added to the
    scaled weights (a second pass over rows still in cache) and Σ a to the intercepts. The
    same update as csr_batch_gradient then csr_step."""
    cdef Py_ssize_t nf = work.n_features, i, p, k, nnz, row
    cdef const int* columns
    cdef const floating* x
    cdef double coupled = cfg.l2 + cfg.weight_decay
    cdef double weight, loss_sum = 0.0, intercept_step
    cdef ScaledVector w
    cdef bint averaging = work.lazy_average and t > work.average_start
    cdef floating* offsets = <floating*>work.average
    cdef floating* u
    cdef floating step, c_step
    w.n = nf
    for i in range(n_rows):
        prefetch_ahead(source, theta, y, sample_weight, not cfg.unit_weights,
                       <floating*>NULL, <int*>NULL, 0, work.n_params, <long long*>NULL,
                       <char*>NULL, 0, <const floating*>work.inv_scale,
                       offsets if averaging else <floating*>NULL, order, position + i,
                       n_samples)
        row = order[position + i]
        x = scaled_csr_row(source, work, row, theta, &columns, &nnz)
        if work.lazy_l1:
            for p in range(nnz):
                catch_up(work, theta, <floating*>NULL, columns[p], t - 1)
        w.scale = work.scale
        for k in range(work.n_outputs):
            w.values = theta + weights_start(k, nf)
            scores[k] = scaled_dot(&w, x, columns, nnz) + theta[weights_start(k, nf) + nf]
        weight = 1.0 if cfg.unit_weights else sample_weight[row]
        loss_sum += weight * sample_loss(cfg, scores, work.n_outputs, y[row], dscores)
        for k in range(work.n_outputs):
            work.slopes[i * work.n_outputs + k] = weight * dscores[k] / n_rows
    if coupled != 0:
        shrink_weights(work, theta, <floating*>NULL, 1.0 - lr * coupled, t)
    w.scale = work.scale
    for i in range(n_rows):
        x = scaled_csr_row(source, work, order[position + i], theta, &columns, &nnz)
        for k in range(work.n_outputs):
            w.values = theta + weights_start(k, nf)
            add_scaled(&w, -lr * work.slopes[i * work.n_outputs + k], x, columns, nnz)
            if averaging and work.average_scale_sum != 0.0:
                # U += c_{t−1}·Δv, Δv on the row's columns as add_scaled moved v.
                step = <floating>(-lr * work.slopes[i * work.n_outputs + k] / w.scale)
                c_step = <floating>work.average_scale_sum * step
                u = offsets + weights_start(k, nf)
                for p in range(nnz):
                    u[columns[p]] += c_step * x[p]
    if cfg.fit_intercept:
        for k in range(work.n_outputs):
            intercept_step = 0.0
            for i in range(n_rows):
                intercept_step += work.slopes[i * work.n_outputs + k]
            theta[weights_start(k, nf) + nf] -= <floating>lr * <floating>intercept_step
    if averaging:
        work.average_scale_sum += work.scale
        for k in range(work.n_outputs):
            update_average(offsets + weights_start(k, nf) + nf,
                           theta + weights_start(k, nf) + nf, 1, t - work.average_start)
    if work.lazy_l1:
        work.threshold += lr * cfg.l1 / fabs(work.scale)
    return loss_sum


cdef inline double compact_on_one_csr_row(
    const EpochConfig* cfg, SparseWork* work, RowSource source, const floating* y,
    const floating* sample_weight, floating* theta, floating* state, ScalarState* scalars,
    const Py_ssize_t* order, Py_ssize_t position, Py_ssize_t n_samples, long long t, double lr,
    double* scores, double* dscores,
) noexcept nogil:
    """LAZY_COMPACT's update t on one row of distinct columns, without the seen stamps
    (unless state decays or l1 is lazy): the row's columns are the touched ones, gathered
    in its order, and its gradient slope · x."""
    cdef Py_ssize_t nf = work.n_features, n_outputs = work.n_outputs, p, k, r, nnz
    cdef Py_ssize_t length, n
    cdef const int* columns
    cdef Py_ssize_t row = order[position]
    cdef const floating* x
    cdef double weight, loss_value
    cdef ScaledVector w
    cdef floating* th_c = <floating*>work.compact
    cdef floating* g_c = th_c + work.compact_len
    cdef floating* state_c = g_c + work.compact_len
    cdef const floating* source_values
    cdef floating* gathered
    cdef floating slope
    prefetch_ahead(source, theta, y, sample_weight, not cfg.unit_weights, state,
                   work.live_rows, work.n_live, work.n_params,
                   work.seen if work.lazy_l1 or work.n_idle > 0 else <long long*>NULL,
                   <char*>NULL, 0, <const floating*>work.inv_scale, <floating*>NULL, order,
                   position, n_samples)
    x = scaled_csr_row(source, work, row, theta, &columns, &nnz)
    for p in range(nnz):
        work.touched[p] = columns[p]
    work.n_touched = nnz
    if work.lazy_l1 or work.n_idle > 0:
        for p in range(nnz):
            catch_up(work, theta, state, columns[p], t - 1)
            work.seen[columns[p]] = t          # current once this update is taken
    w.n = nf
    w.scale = 1.0
    for k in range(work.n_outputs):
        w.values = theta + weights_start(k, nf)
        scores[k] = scaled_dot(&w, x, columns, nnz) + theta[weights_start(k, nf) + nf]
    weight = 1.0 if cfg.unit_weights else sample_weight[row]
    loss_value = weight * sample_loss(cfg, scores, work.n_outputs, y[row], dscores)
    length = nnz + 1
    n = n_outputs * length
    for k in range(n_outputs):
        work.slopes[k] = weight * dscores[k]
        slope = <floating>work.slopes[k]
        source_values, gathered = theta + weights_start(k, nf), th_c + k * length
        for p in range(nnz):
            gathered[p] = source_values[columns[p]]
        gathered = g_c + k * length
        for p in range(nnz):
            gathered[p] = slope * x[p]
        for r in range(work.n_live):
            source_values = state + work.live_rows[r] * work.n_params + weights_start(k, nf)
            gathered = state_c + work.live_rows[r] * n + k * length
            for p in range(nnz):
                gathered[p] = source_values[columns[p]]
    compact_step(cfg, work, theta, state, scalars, t, lr, 1, length, n, False)
    if work.lazy_l1:
        work.threshold += lr * cfg.l1
    work.n_touched = 0
    return loss_value


cdef inline int csr_epoch_loop(
    RowSource source, const floating* y, const floating* sample_weight, floating* theta,
    floating* state, Py_ssize_t n_state, ScalarState* scalars, Py_ssize_t* order,
    Py_ssize_t n_samples, SparseWork* work, const EpochConfig* cfg, long long* t,
    uint64_t* rng, bint check_signals, double* scores, double* dscores,
    double* loss_sum, double* lr, floating* average, long long average_start,
) noexcept nogil:
    """One epoch over CSR rows (the dense epoch_loop's counterpart); work's buffers are
    allocated by the caller, and settled here at the end. average: NULL, or the running
    mean of the iterates after the updates t > average_start (see run_epoch)."""
    cdef Py_ssize_t start = 0, n_rows, j
    cdef double batch_loss
    # Signals are looked at every few milliseconds of work: rows × their mean non-zeros per
    # output, and a whole parameter vector per update for DENSE_STEP.
    cdef Py_ssize_t row_work = max(1, work.n_outputs * (source.indptr[n_samples] // n_samples))
    if work.kind == DENSE_STEP:
        row_work += max(1, work.n_params // cfg.batch_size)
    if average != NULL:
        row_work += max(1, 2 * work.n_params // cfg.batch_size)
    cdef Py_ssize_t check_rows = max(1, SIGNAL_CHECK_WORK // row_work)
    cdef Py_ssize_t next_check = check_rows if check_signals else n_samples + 1
    cdef bint one_compact_row = (work.kind == LAZY_COMPACT and cfg.batch_size == 1
                                 and work.distinct_columns)
    if cfg.shuffle and cfg.batch_size < n_samples:
        random_permutation(order, n_samples, rng)
    work.scale = 1.0
    work.threshold = 0.0
    work.n_touched = 0
    if work.records != NULL:
        pack_records(work, theta, state, t[0])
    elif work.kind != LAZY_SGD:       # LAZY_SGD reads no stamps
        for j in range(work.n_features):
            work.seen[j] = t[0]
    if work.lazy_l1:
        for j in range(work.n_features):
            work.applied[j] = 0.0
    if work.lazy_average:
        begin_lazy_average(work, theta, t[0])
    loss_sum[0] = 0.0
    while start < n_samples:
        n_rows = min(cfg.batch_size, n_samples - start)
        t[0] += 1
        lr[0] = step_learning_rate(cfg, t[0])
        if work.kind == LAZY_SGD:
            batch_loss = sgd_on_csr_rows(cfg, work, source, y, sample_weight, theta, order,
                                         start, n_rows, n_samples, t[0], lr[0], scores,
                                         dscores)
        elif one_compact_row:
            batch_loss = compact_on_one_csr_row(cfg, work, source, y, sample_weight, theta,
                                                state, scalars, order, start, n_samples, t[0],
                                                lr[0], scores, dscores)
        elif work.kind == LAZY_COMPACT:
            batch_loss = compact_batch_gradient(cfg, work, source, y, sample_weight, theta,
                                                state, order, start, n_rows, n_samples,
                                                1.0 / n_rows, t[0], scores, dscores)
            if isfinite(batch_loss):
                compact_step(cfg, work, theta, state, scalars, t[0], lr[0], n_rows,
                             work.compact_len // work.n_outputs, work.compact_len, True)
                if work.lazy_l1:
                    work.threshold += lr[0] * cfg.l1
                work.n_touched = 0
        else:
            batch_loss = csr_batch_gradient(cfg, work, source, y, sample_weight, theta, state,
                                            order + start, n_rows, 1.0 / n_rows, t[0],
                                            scores, dscores)
            if isfinite(batch_loss):
                dense_step(cfg, work, theta, state, n_state, scalars, t[0], lr[0])
        if not isfinite(batch_loss):
            t[0] -= 1
            if work.records != NULL:
                if work.kind == LAZY_COMPACT and not one_compact_row:
                    release_marks(work, theta)
                unpack_records(work, theta, state)
            return NONFINITE
        loss_sum[0] += batch_loss
        if average != NULL and t[0] > average_start and not work.lazy_average:
            settle(work, theta, state, t[0])
            update_average(average, theta, work.n_params, t[0] - average_start)
        start += n_rows
        if start >= next_check:
            if signal_handler_raised():
                settle(work, theta, state, t[0])
                if work.records != NULL:
                    unpack_records(work, theta, state)
                end_lazy_average(work, theta, t[0])
                return INTERRUPTED
            next_check = start + check_rows
    settle(work, theta, state, t[0])
    if work.records != NULL:
        unpack_records(work, theta, state)
    end_lazy_average(work, theta, t[0])
    if not all_finite(theta, work.n_params):
        return NONFINITE
    if average != NULL and t[0] > average_start and not all_finite(average, work.n_params):
        return NONFINITE
    return OK

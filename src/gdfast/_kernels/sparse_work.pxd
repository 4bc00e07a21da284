# The workspace of an epoch over CSR rows (csr.pxd), which every part of the sparse loops
# reads: their options for the epoch, the late penalty's and the state decay's bookkeeping,
# the batch's buffers, the column records (column_records.pxd).

from gdfast._kernels.config cimport EpochConfig


cdef enum:
    MAX_STATE_ROWS = 4          # more than any rule keeps


cdef struct SparseWork:
    Py_ssize_t n_features
    Py_ssize_t n_outputs
    Py_ssize_t n_params
    int kind                    # SparseStep
    double scale                # weights = scale · stored values (1 unless LAZY_SGD)
    bint lazy_l1                # the l1 step is applied late (LAZY_SGD, LAZY_COMPACT)
    double threshold            # sum of the l1 thresholds so far, in stored-value units
    double* applied             # per column: the part of `threshold` already applied
    long long* seen             # per column: the update its parameters and state are at
    int n_idle                  # buffers that decay over a skipped step ...
    double idle_factor          # ... by this factor
    double idle_drift           # and the parameter's move along the first (idle_buffers)
    double* idle_power          # idle_factor^k for the lags k < idle_table_len ...
    double* idle_move           # ... and the move's factor (fill_idle_tables)
    Py_ssize_t idle_table_len
    void* grad                  # DENSE_STEP: n_params, zero outside the batch's columns
                                # between steps
    Py_ssize_t* touched         # the batch's columns, each once
    Py_ssize_t n_touched
    void* compact               # LAZY_COMPACT: gathered parameters, gradient and state
    Py_ssize_t compact_len      # entries of each gathered vector it can hold
    int* row_slots              # a row's columns' places in the gathered vectors
    char* records               # NULL, or each column's record (see column records)
    Py_ssize_t record_size      # bytes of a record
    bint record_stamps          # records hold a `seen` stamp (stamped_idle)
    Py_ssize_t stamp_offset     # where it is in them
    bint stamped_idle           # idle decay caught up per column from its stamp's lag
    bint scaled_idle            # ... or kept in the records in units of idle_scale
    double idle_scale           # idle_factor^(updates since the records were last scaled)
    double idle_scale_min       # below it, the records are rescaled (rescale_records)
    double idle_offset          # idle_drift / (1 − idle_factor): see column records
    int n_live                  # the state rows the rule uses (live_state_rows)
    int live_rows[MAX_STATE_ROWS]
    bint distinct_columns       # no row repeats a column (its indices strictly increase)
    double* slopes              # each batch row's weight · dL/dscore per output
    const void* inv_scale       # per-feature scale of the values (NULL: all ones;
                                # features.pxd's inv_scale)
    void* scaled_row            # a row's values times their scales, when there are scales
    EpochConfig compact_cfg     # LAZY_COMPACT's step: the epoch's, without the l1 step
    bint lazy_average           # LAZY_SGD without l1, averaging: the sum in closed form
    void* average               # its U (weight entries) and the intercepts' running mean
    long long average_start     # updates after which averaging starts
    double average_scale_sum    # c: the sum of the scales of the averaged updates


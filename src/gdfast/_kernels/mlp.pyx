# The compiled core of gdfast's neural networks: one epoch of gradient descent on a
# multilayer perceptron, for every batch mode.
#
# The parameters are one flat vector: for each layer, its weight matrix (fan_in × fan_out,
# row-major) followed by its bias vector (fan_out). For each batch the loop gathers the
# batch's rows, runs the forward pass (activations kept per layer), the loss and its
# derivative at the output, the backward pass (the gradient of every weight and bias) and one
# optimizer step through update_parameters, the code every gdfast model is updated with; all
# of it without the GIL, the matrix products through BLAS.
# gdfast/_slow/mlp.py is the slow, obvious twin of this file.

import threading

import numpy as np

from cython cimport floating
from libc.math cimport exp, log, log1p, fabs, tanh, isfinite
from libc.string cimport memcpy
from libc.stdint cimport uint64_t
from scipy.linalg.cython_blas cimport dgemm, sgemm

from gdfast._kernels.config cimport *
from gdfast._kernels.step cimport step_learning_rate, RunList, update_parameters
from gdfast._kernels.shuffle cimport random_permutation
from gdfast._kernels.guards cimport (SIGNAL_CHECK_WORK, all_finite, indices_in_range,
                                    raise_pending, signal_handler_raised)


cdef enum Activation:
    IDENTITY = 0
    RELU = 1
    TANH = 2
    LOGISTIC = 3

# The output layer and the loss it is trained with; for all three, the loss's derivative in
# the output's pre-activation z is p − y.
cdef enum Output:
    SQUARED_ERROR_OUTPUT = 0    # p = z, loss ½ Σ_k (p_k − y_k)²
    LOGISTIC_OUTPUT = 1         # p = σ(z), one unit, binary log loss
    SOFTMAX_OUTPUT = 2          # p = softmax(z), cross-entropy with a one-hot y

ACTIVATIONS = {"identity": IDENTITY, "relu": RELU, "tanh": TANH, "logistic": LOGISTIC}
OUTPUTS = {"identity": SQUARED_ERROR_OUTPUT, "logistic": LOGISTIC_OUTPUT,
           "softmax": SOFTMAX_OUTPUT}
# The optimizer's buffers, as gdfast.optim declares them (checked here: the loop writes them).
STATE_ROWS = {SGD: 0, MOMENTUM: 1, NESTEROV: 1, ADAGRAD: 1, RMSPROP: 3, ADADELTA: 2, ADAM: 3,
              ADAMW: 3, NADAM: 2, ADAMAX: 2}
STATUS_OK = OK
STATUS_NONFINITE = NONFINITE


cdef struct Network:
    Py_ssize_t n_layers             # weight layers: len(sizes) − 1
    const Py_ssize_t* sizes         # units per layer, input first, output last
    const Py_ssize_t* param_offset  # where each layer's weights start in the flat vector
    const Py_ssize_t* unit_offset   # where each layer's activations start, per row of a batch
    int activation
    int output


cdef inline void gemm(char* transa, char* transb, int m, int n, int k, const floating* a,
                      int lda, const floating* b, int ldb, floating* c,
                      int ldc) noexcept nogil:
    """c = op(a) · op(b) in BLAS's column-major terms (beta = 0)."""
    cdef floating one = 1, zero = 0
    if floating is double:
        dgemm(transa, transb, &m, &n, &k, &one, <double*>a, &lda, <double*>b, &ldb, &zero,
              c, &ldc)
    else:
        sgemm(transa, transb, &m, &n, &k, &one, <float*>a, &lda, <float*>b, &ldb, &zero,
              c, &ldc)


cdef inline void activate(floating* z, Py_ssize_t n, int activation) noexcept nogil:
    cdef Py_ssize_t j
    if activation == RELU:
        for j in range(n):
            if z[j] < 0:        # a NaN stays NaN, to be reported
                z[j] = 0
    elif activation == TANH:
        for j in range(n):
            z[j] = tanh(z[j])
    elif activation == LOGISTIC:
        for j in range(n):
            z[j] = 1.0 / (1.0 + exp(-z[j]))


cdef inline void times_derivative(floating* delta, const floating* a, Py_ssize_t n,
                                  int activation) noexcept nogil:
    """delta *= the activation's derivative, written in terms of its output a."""
    cdef Py_ssize_t j
    if activation == RELU:
        for j in range(n):
            if not a[j] > 0:
                delta[j] = 0
    elif activation == TANH:
        for j in range(n):
            delta[j] *= 1 - a[j] * a[j]
    elif activation == LOGISTIC:
        for j in range(n):
            delta[j] *= a[j] * (1 - a[j])


cdef double output_loss(const Network* net, const floating* z, const floating* Y,
                        const floating* sample_weight, bint unit_weights, const Py_ssize_t* rows,
                        Py_ssize_t n_rows, double scale, floating* delta) noexcept nogil:
    """Σ_i s_i ℓ_i over the batch from the output pre-activations z (n_rows × K); write
    delta = scale · s_i · (p_i − y_i), the derivative of the scaled sum in z."""
    cdef Py_ssize_t K = net.sizes[net.n_layers], i, k
    cdef const floating* zi
    cdef const floating* yi
    cdef floating* di
    cdef double s, loss, total = 0.0, top, norm, r, p
    for i in range(n_rows):
        zi = z + i * K
        yi = Y + rows[i] * K
        di = delta + i * K
        s = 1.0 if unit_weights else sample_weight[rows[i]]
        loss = 0.0
        if net.output == SQUARED_ERROR_OUTPUT:
            for k in range(K):
                r = zi[k] - yi[k]
                loss += 0.5 * r * r
                di[k] = <floating>(scale * s * r)
        elif net.output == LOGISTIC_OUTPUT:
            for k in range(K):
                loss += (zi[k] if zi[k] > 0 else 0.0) + log1p(exp(-fabs(zi[k]))) - yi[k] * zi[k]
                if zi[k] >= 0:
                    p = 1.0 / (1.0 + exp(-zi[k]))
                else:
                    p = exp(zi[k]) / (1.0 + exp(zi[k]))
                di[k] = <floating>(scale * s * (p - yi[k]))
        else:
            top = zi[0]
            for k in range(1, K):
                if zi[k] > top:
                    top = zi[k]
            norm = 0.0
            for k in range(K):
                norm += exp(zi[k] - top)
            for k in range(K):
                loss += yi[k] * (log(norm) - (zi[k] - top))
                di[k] = <floating>(scale * s * (exp(zi[k] - top) / norm - yi[k]))
        total += s * loss
    return total


cdef double batch_gradient_into(
    const Network* net, const floating* X, const floating* mean, bint center,
    const floating* Y, const floating* sample_weight, bint unit_weights, const floating* theta,
    floating* grad, floating* acts,
    floating* delta, floating* delta_prev, const Py_ssize_t* rows, Py_ssize_t n_rows,
    double scale,
) noexcept nogil:
    """Forward and backward pass of `rows`: grad = scale · Σ s_i ∂ℓ_i/∂θ (no penalty);
    return Σ s_i ℓ_i. acts holds every layer's activations of the batch (row-major, the
    input's first: x − mean with center); delta and delta_prev are scratch of n_rows × (the
    widest layer)."""
    cdef Py_ssize_t L = net.n_layers, l, i, j, fin, fout, n_in = net.sizes[0]
    cdef const floating* x
    cdef floating* a
    cdef floating* z
    cdef const floating* W
    cdef floating* gW
    cdef floating* swap
    cdef double loss
    for i in range(n_rows):
        if center:
            x = X + rows[i] * n_in
            for j in range(n_in):
                acts[i * n_in + j] = x[j] - mean[j]
        else:
            memcpy(acts + i * n_in, X + rows[i] * n_in, n_in * sizeof(floating))
    for l in range(L):
        fin, fout = net.sizes[l], net.sizes[l + 1]
        W = theta + net.param_offset[l]
        a = acts + n_rows * net.unit_offset[l]
        z = acts + n_rows * net.unit_offset[l + 1]
        gemm(b"N", b"N", <int>fout, <int>n_rows, <int>fin, W, <int>fout, a, <int>fin, z,
             <int>fout)
        for i in range(n_rows):
            for j in range(fout):
                z[i * fout + j] += W[fin * fout + j]
        if l < L - 1:
            activate(z, n_rows * fout, net.activation)
    loss = output_loss(net, acts + n_rows * net.unit_offset[L], Y, sample_weight, unit_weights,
                       rows, n_rows, scale, delta)
    for l in range(L - 1, -1, -1):
        fin, fout = net.sizes[l], net.sizes[l + 1]
        W = theta + net.param_offset[l]
        gW = grad + net.param_offset[l]
        a = acts + n_rows * net.unit_offset[l]
        gemm(b"N", b"T", <int>fout, <int>fin, <int>n_rows, delta, <int>fout, a, <int>fin, gW,
             <int>fout)
        for j in range(fout):
            gW[fin * fout + j] = 0
        for i in range(n_rows):
            for j in range(fout):
                gW[fin * fout + j] += delta[i * fout + j]
        if l > 0:
            gemm(b"T", b"N", <int>fin, <int>n_rows, <int>fout, W, <int>fout, delta, <int>fout,
                 delta_prev, <int>fin)
            times_derivative(delta_prev, a, n_rows * fin, net.activation)
            swap = delta
            delta = delta_prev
            delta_prev = swap
    return loss


cdef int epoch_loop(
    const Network* net, const floating* X, const floating* mean, Py_ssize_t n_samples,
    const floating* Y,
    const floating* sample_weight, floating* theta, Py_ssize_t n_params, floating* grad,
    floating* state, ScalarState* scalars, floating* acts, floating* delta,
    floating* delta_prev, Py_ssize_t* order, const EpochConfig* cfg, const RunList* weights,
    long long* t, uint64_t* rng, bint check_signals, double* loss_sum, double* lr,
) noexcept nogil:
    cdef EpochConfig step_cfg = cfg[0]
    cdef Py_ssize_t start = 0, n_rows, work = 0
    cdef double batch_loss
    if cfg.shuffle and cfg.batch_size < n_samples:
        random_permutation(order, n_samples, rng)
    loss_sum[0] = 0.0
    while start < n_samples:
        n_rows = min(cfg.batch_size, n_samples - start)
        batch_loss = batch_gradient_into(net, X, mean, cfg.center, Y, sample_weight,
                                         cfg.unit_weights, theta,
                                         grad, acts, delta, delta_prev, order + start, n_rows,
                                         1.0 / n_rows)
        if not isfinite(batch_loss):
            return NONFINITE
        loss_sum[0] += batch_loss
        # The l2 penalty α·½‖W‖² of a batch is divided by its row count, as the batch's
        # loss is (scikit-learn's MLP scaling).
        step_cfg.l2 = cfg.l2 / n_rows
        t[0] += 1
        lr[0] = step_learning_rate(&step_cfg, t[0])
        update_parameters(&step_cfg, theta, grad, state, n_params, scalars, t[0], lr[0],
                          weights[0])
        start += n_rows
        work += n_rows * n_params
        if check_signals and work >= SIGNAL_CHECK_WORK:
            work = 0
            if signal_handler_raised():
                return INTERRUPTED
    if not all_finite(theta, n_params):
        return NONFINITE
    return OK


def parameter_layout(layer_sizes):
    """(offset of each layer's weights in the flat vector, total parameter count)."""
    offsets, total = [], 0
    sizes = list(layer_sizes)
    for fin, fout in zip(sizes[:len(sizes) - 1], sizes[1:]):
        offsets.append(total)
        total += (fin + 1) * fout
    return offsets, total


def run_epoch(
    const floating[:, ::1] X, const floating[::1] mean, const floating[:, ::1] Y,
    const floating[::1] sample_weight,
    floating[::1] coef, floating[:, ::1] state, double[::1] scalars, Py_ssize_t[::1] order,
    layer_sizes, int activation, int output, dict config, long long t, uint64_t rng_state,
):
    """Run one epoch in place on `coef`, `state`, `scalars` and `order`.

    mean: the feature means the first layer subtracts (config["center"]: the centred
    parametrisation, whose first biases are c = b + mean·W₁); Y: the targets, one row of
    layer_sizes[-1] values per sample (one-hot rows for softmax, 0/1 for logistic);
    layer_sizes: units per layer, input first; activation, output: codes of ACTIVATIONS and
    OUTPUTS; config: the linear kernel's EpochConfig (l2 is α, divided by each batch's row
    count here). Other arguments as gdfast._kernels.linear.run_epoch.
    Return (status, sum of weighted per-sample losses, t, rng_state, last learning rate).
    """
    cdef EpochConfig cfg = config
    cdef Py_ssize_t n_samples = X.shape[0], i
    sizes_array = np.ascontiguousarray(layer_sizes, dtype=np.intp)
    if sizes_array.ndim != 1 or sizes_array.shape[0] < 2 or np.any(sizes_array < 1):
        raise ValueError("layer_sizes must hold at least two positive sizes")
    offsets, total = parameter_layout([int(s) for s in sizes_array])
    cdef Py_ssize_t n_params = total
    if sizes_array[0] != X.shape[1] or Y.shape[1] != sizes_array[sizes_array.shape[0] - 1]:
        raise ValueError("X and Y must have as many columns as the input and output layers")
    if n_samples < 1 or Y.shape[0] != n_samples or sample_weight.shape[0] != n_samples:
        raise ValueError("X, Y and sample_weight must have the same, non-zero, number of rows")
    if mean.shape[0] != X.shape[1]:
        raise ValueError("mean must hold one value per feature")
    if coef.shape[0] != n_params:
        raise ValueError(f"coef must hold {n_params} parameters for these layers")
    if order.shape[0] != n_samples:
        raise ValueError("order must hold one row index in [0, n_samples) per row")
    if activation not in ACTIVATIONS.values() or output not in OUTPUTS.values():
        raise ValueError("unknown activation or output code")
    if output == LOGISTIC_OUTPUT and sizes_array[sizes_array.shape[0] - 1] != 1:
        raise ValueError("the logistic output has one unit")
    if cfg.optimizer < SGD or cfg.optimizer > ADAMAX:
        raise ValueError(f"unknown optimizer code {cfg.optimizer}")
    if scalars.shape[0] != N_SCALARS or state.shape[1] != n_params \
            or state.shape[0] != STATE_ROWS[cfg.optimizer]:
        raise ValueError("state must have one row the size of coef per optimizer buffer; "
                         "scalars N_SCALARS values")
    if cfg.batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    cdef Py_ssize_t batch = min(cfg.batch_size, n_samples)
    units = np.concatenate([[0], np.cumsum(sizes_array)]).astype(np.intp)
    cdef Py_ssize_t[::1] sizes = sizes_array
    cdef Py_ssize_t[::1] param_offset = np.asarray(offsets, dtype=np.intp)
    cdef Py_ssize_t[::1] unit_offset = units
    cdef Py_ssize_t[::1] runs = np.asarray(
        [bound for o, fin, fout in zip(offsets, sizes_array[:sizes_array.shape[0] - 1],
                                       sizes_array[1:])
         for bound in (o, o + fin * fout)], dtype=np.intp)
    dtype = np.asarray(coef).dtype
    cdef floating[::1] grad = np.empty(n_params, dtype=dtype)
    cdef floating[::1] acts = np.empty(batch * units[units.shape[0] - 1], dtype=dtype)
    widest = int(sizes_array.max())
    cdef floating[::1] delta = np.empty(batch * widest, dtype=dtype)
    cdef floating[::1] delta_prev = np.empty(batch * widest, dtype=dtype)
    cdef Network net = Network(sizes_array.shape[0] - 1, &sizes[0], &param_offset[0],
                               &unit_offset[0], activation, output)
    cdef RunList weights = RunList(&runs[0], runs.shape[0] // 2)
    cdef floating* state_ptr = &state[0, 0] if state.shape[0] > 0 else NULL
    cdef double loss_sum = 0.0, lr = 0.0
    cdef int status
    cdef bint check_signals = threading.current_thread() is threading.main_thread()
    cdef bint order_ok
    # The indices are checked in the loop's own GIL-free section: a signal that arrives
    # meanwhile is then answered by the loop, and not by whatever Python code would run next.
    with nogil:
        order_ok = indices_in_range(order, n_samples)
        if order_ok:
            status = epoch_loop(&net, &X[0, 0], &mean[0], n_samples, &Y[0, 0],
                                &sample_weight[0], &coef[0], n_params, &grad[0], state_ptr,
                                <ScalarState*>&scalars[0], &acts[0], &delta[0], &delta_prev[0],
                                &order[0], &cfg, &weights, &t, &rng_state, check_signals,
                                &loss_sum, &lr)
    if not order_ok:
        raise ValueError("order must hold one row index in [0, n_samples) per row")
    if status == INTERRUPTED:
        raise_pending()
    return status, loss_sum, t, rng_state, lr

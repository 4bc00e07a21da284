# The option codes and the per-call configuration of the epoch loop.
# linear.pyx maps the names Python uses to these codes (LOSSES, OPTIMIZERS, STEP_SCHEDULES).
# An optimizer is declared by its class in gdfast.optim (hyper-parameters, constraints, fields
# of EpochConfig it fills, number of buffers); tests/test_declarations.py checks that the
# kernel's tables and EpochConfig agree with those declarations and with the NumPy twin.

cdef enum Loss:
    SQUARED_ERROR = 0
    LOG_LOSS = 1
    HUBER = 2
    EPSILON_INSENSITIVE = 3
    HINGE = 4
    MODIFIED_HUBER = 5

# How the outputs of a model with several of them relate to y (which then holds class
# indices 0 .. K-1): K independent one-vs-rest models, or one softmax (multinomial) model.
cdef enum Multiclass:
    SINGLE_OUTPUT = 0
    ONE_VS_REST = 1
    MULTINOMIAL = 2

cdef enum Optimizer:
    SGD = 0
    MOMENTUM = 1
    NESTEROV = 2
    ADAGRAD = 3
    RMSPROP = 4
    ADADELTA = 5
    ADAM = 6
    ADAMW = 7
    NADAM = 8
    ADAMAX = 9

# Schedules that change the rate at every update. Those that change it once per epoch (step,
# exponential, cosine, adaptive) are computed by Python and arrive as learning_rate.
cdef enum StepSchedule:
    CONSTANT = 0
    INVSCALING = 1
    OPTIMAL = 2

cdef enum Status:
    OK = 0
    NONFINITE = 1        # a loss or a parameter became NaN or infinite
    INTERRUPTED = 2      # a signal handler raised (Ctrl-C): the exception is pending

# Scalar optimizer state, carried between calls like the buffers. Python holds it as an array
# of N_SCALARS doubles (all 1.0 when new) that the kernel reads through this struct.
cdef struct ScalarState:
    double beta1_power      # beta1**t
    double beta2_power      # beta2**t
    double mu_product       # NAdam: product of mu_i for i <= t
    double decay_power      # NAdam: 0.96**(t * momentum_decay)

cdef enum:
    N_SCALARS = 4


# Hyper-parameters arrive from Python as a dict, converted by Cython into this struct.
# They are doubles whatever the data's dtype; the kernel casts once per step.
cdef struct EpochConfig:
    int loss
    int multiclass
    double epsilon          # huber's delta, epsilon_insensitive's band
    int optimizer
    Py_ssize_t batch_size   # 1 = stochastic, k = mini-batch, n_samples = full batch
    int n_threads           # threads for the gradient of a large batch (1: none)
    bint shuffle
    bint fit_intercept
    # Train in the centred parametrisation p = w·(x − mean) + c (an exact reparametrisation
    # of p = w·x + b with b = c − w·mean, much better conditioned when features are far
    # from zero); needs fit_intercept.
    bint center
    # Train on features scaled by inv_scale, z = (x − mean)∘inv_scale (x∘inv_scale without
    # center): the model's weights are those of standardised features, the same model in
    # the original units being w∘inv_scale (features.pxd).
    bint scale
    # Every sample weight is 1 (none were given), so the kernel neither reads nor prefetches
    # them: in a shuffled order each is a cache line of its own, like the row's.
    bint unit_weights
    # learning rate: learning_rate * schedule(t) * min(1, t / warmup_steps)
    double learning_rate
    int schedule
    double power_t          # invscaling
    double optimal_t0       # optimal: rate 1 / (alpha (optimal_t0 + t - 1))
    double optimal_alpha
    double warmup_steps     # 0: no warm-up
    # coupled decay added to the gradient of the weights (L2 penalty + weight_decay);
    # for adamw, weight_decay is decoupled instead
    double l2
    double l1               # l1 strength: a proximal step shrinks weights by lr * l1
    double weight_decay
    # optimizer hyper-parameters (those an optimizer does not use are ignored)
    double momentum
    double lr_decay
    double eps
    double rmsprop_alpha
    bint centered
    double rho
    double beta1
    double beta2
    bint amsgrad
    double momentum_decay
    # Adam family on CSR rows: update only the coordinates a batch's rows hold (and the
    # intercepts), as PyTorch's SparseAdam; else every coordinate, as for dense rows.
    bint lazy

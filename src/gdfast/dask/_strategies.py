"""The two ways a Dask fit runs an epoch, each a callable for the estimators' training loop
(epoch(state, config) -> (status, loss sum, last learning rate), updating the state in
place), and what they run on each chunk of rows.

"gradient": each chunk returns its rows' gradient sum and loss sum at the current
    parameters (the compiled batch_gradient); the sums are added in the chunks' order
    (_chunks.reduce_chunks) and the client takes one optimizer step with their mean (and,
    with average, folds the new parameters into their running mean). A full-batch epoch is
    one round trip; a mini-batch epoch one per batch.
"local_sgd": each chunk runs local_epochs epochs of the compiled epoch loop over its
    own rows (shuffled), from the current parameters and optimizer state (and running average
    of the iterates, which each chunk continues with its own); the models, optimizer states
    and averages are averaged, weighted by rows. A round (an epoch of the training loop) is
    one round trip.
"""
import numpy as np

from gdfast import _layout
from gdfast.dask._chunks import reduce_chunks
from gdfast._kernels.linear import STATUS_NONFINITE
from gdfast._slow.linear import random_permutation, update_average
from gdfast.linear_model import _engine

STRATEGIES = ("gradient", "local_sgd")


def _empty_like(coef):
    return np.zeros(coef.shape, dtype=np.float64)


# --- tasks on one chunk ----------------------------------------------------------------


def chunk_gradient(X, y, sample_weight, prepare, engine, coef, mean, inv_scale, config,
                   rows=None):
    """The gradient sum and loss sum at coef of a chunk's rows (all of them, or those of
    `rows`, indices into the chunk): the compiled batch_gradient."""
    X, y, sample_weight = prepare(X, y, sample_weight)
    rows = np.arange(X.shape[0]) if rows is None else rows
    if len(rows) == 0:
        return {"gradient": _empty_like(coef), "loss": 0.0}
    gradient, loss_sum = _engine.batch_gradient(engine, X, y, sample_weight, coef, rows,
                                                config, mean=mean, inv_scale=inv_scale)
    return {"gradient": gradient.astype(np.float64), "loss": float(loss_sum)}


def chunk_local_epochs(X, y, sample_weight, prepare, engine, coef, buffers, scalars, t, mean,
                       inv_scale, average, average_start, config, n_epochs, seed):
    """n_epochs epochs of the compiled loop over a chunk's rows from the given model and
    optimizer state (and running average of the iterates, unless None); the result times the
    chunk's row count, for a row-weighted mean."""
    X, y, sample_weight = prepare(X, y, sample_weight)
    n_rows = X.shape[0]
    if n_rows == 0:
        return {"rows": 0, "coef": _empty_like(coef), "buffers": np.zeros(buffers.shape),
                "scalars": np.zeros(scalars.shape), "steps": 0, "loss": 0.0, "rate": 0.0,
                "max_status": _engine.STATUS_OK,
                "average": None if average is None else _empty_like(coef)}
    coef, buffers, scalars = coef.copy(), buffers.copy(), scalars.copy()
    average = None if average is None else average.copy()
    config = dict(config, batch_size=min(config["batch_size"], n_rows))
    order = np.arange(n_rows, dtype=np.intp)
    start, status, loss_sum, rate = t, _engine.STATUS_OK, 0.0, 0.0
    for _ in range(n_epochs):
        status, loss_sum, t, seed, rate = _engine.run_epoch(
            engine, X, y, sample_weight, coef, buffers, scalars, order, config, t, seed,
            mean=mean, inv_scale=inv_scale, average=average, average_start=average_start)
        if status != _engine.STATUS_OK:
            break
    return {"rows": n_rows, "coef": n_rows * coef.astype(np.float64),
            "buffers": n_rows * buffers.astype(np.float64), "scalars": n_rows * scalars,
            "steps": n_rows * (t - start), "loss": float(loss_sum), "rate": n_rows * rate,
            "max_status": status,
            "average": None if average is None else n_rows * average.astype(np.float64)}


# --- epochs on the client ----------------------------------------------------------------


def gradient_epoch(model, X, y, sample_weight, prepare, n_samples):
    """The synchronous strategy's epoch: the in-memory epoch's steps, each from the
    gradient of its batch summed over the chunks. A full batch is one step (one round trip);
    a mini-batch epoch visits the rows in the in-memory estimator's order (the same
    generator, carried in the state), one round trip per batch."""
    n_features = X.shape[1]
    # Where each chunk's rows start in the row order of the whole array.
    starts = np.concatenate([[0], np.cumsum(X.chunks[0])])

    def epoch(state, config):
        decay_mask = _engine.linear_decay_mask(n_features,
                                               _layout.n_outputs(state.coef.size, n_features))
        batch_size = config["batch_size"]
        if batch_size >= n_samples:
            batches = [None]
        else:
            order = np.arange(n_samples, dtype=np.intp)
            if config["shuffle"]:
                state.rng_state = random_permutation(order, state.rng_state)
            batches = [order[start:start + batch_size]
                       for start in range(0, n_samples, batch_size)]
        loss_sum, rate = 0.0, 0.0
        for rows in batches:
            sums = reduce_chunks(chunk_gradient, X, y, sample_weight, prepare, model.engine,
                                 state.coef, state.mean, state.inv_scale, config,
                                 per_chunk=None if rows is None else _by_chunk(rows, starts))
            if not np.isfinite(sums["loss"]):
                return STATUS_NONFINITE, loss_sum, rate
            loss_sum += sums["loss"]
            state.t, rate = _engine.optimizer_step(
                model.engine, state.coef,
                sums["gradient"] / (n_samples if rows is None else len(rows)), state.buffers,
                state.scalars, decay_mask, config, state.t)
            if state.average is not None and state.t > state.average_start:
                update_average(state.average, state.coef, state.t - state.average_start)
        status = (_engine.STATUS_OK if np.all(np.isfinite(state.coef))
                  else STATUS_NONFINITE)
        return status, loss_sum, rate
    return epoch


def _by_chunk(rows, starts):
    """The batch's rows (indices into the whole array) split by chunk, as indices into each
    chunk, in the batch's order."""
    chunk = np.searchsorted(starts, rows, side="right") - 1
    return [rows[chunk == index] - starts[index] for index in range(len(starts) - 1)]


def local_sgd_epoch(model, X, y, sample_weight, prepare, n_samples):
    """The local-SGD strategy's round: local_epochs epochs on every chunk from the current
    model, then the row-weighted mean of the chunks' models and optimizer states. The loss
    sum is that of every chunk's last local epoch."""
    n_chunks = len(X.chunks[0])
    unit_weights = prepare.unit_weights

    def epoch(state, config):
        # With every weight 1 the kernel need not read them.
        config = dict(config, unit_weights=unit_weights)
        # A generator per chunk and round, all drawn from the state's: the round's row
        # orders depend only on random_state.
        seeds = np.random.SeedSequence(state.rng_state).generate_state(n_chunks + 1,
                                                                       np.uint64)
        sums = reduce_chunks(chunk_local_epochs, X, y, sample_weight, prepare, model.engine,
                             state.coef, state.buffers, state.scalars, state.t, state.mean,
                             state.inv_scale, state.average, state.average_start, config,
                             model.local_epochs,
                             per_chunk=[int(seed) for seed in seeds[1:]])
        state.rng_state = int(seeds[0])
        rows = sums["rows"]
        if sums["max_status"] != _engine.STATUS_OK or not np.isfinite(sums["loss"]):
            return STATUS_NONFINITE, sums["loss"], 0.0
        state.coef[:] = sums["coef"] / rows
        state.buffers[:] = sums["buffers"] / rows
        state.scalars[:] = sums["scalars"] / rows
        if state.average is not None:
            state.average[:] = sums["average"] / rows
        state.t += int(round(sums["steps"] / rows))
        status = (_engine.STATUS_OK if np.all(np.isfinite(state.coef))
                  else STATUS_NONFINITE)
        return status, sums["loss"], sums["rate"] / rows
    return epoch


EPOCHS = {"gradient": gradient_epoch, "local_sgd": local_sgd_epoch}

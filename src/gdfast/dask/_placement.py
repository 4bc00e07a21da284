"""Which worker thread reads which row chunk, for data already in the workers' memory
(persisted): each worker's chunks, split among its threads. A pass over such data runs one
task per worker thread, over its chunks in turn, instead of one task per chunk: each task
costs the scheduler and the worker about a millisecond, a good part of a pass that reads a
chunk in ten."""
import dask
from distributed import Client, futures_of


def reader_groups(X):
    """The indices of X's row chunks, grouped by the worker thread that holds them (each
    worker's in their order, dealt in turn to its threads); None when the computation does
    not run on a Dask cluster, or some chunk of X is not in a worker's memory (still to be
    loaded or computed: a task per chunk then lets a worker hold only what it reads)."""
    client = getattr(dask.base.get_scheduler(collections=[X]), "__self__", None)
    if not isinstance(client, Client):
        return None
    futures = futures_of(X)
    if not futures:
        return None
    keys = [row[0] for row in X.__dask_keys__()]
    holders = client.who_has(futures)
    if not all(holders.get(key) for key in keys):
        return None
    threads = client.nthreads()
    by_worker = {}
    for index, key in enumerate(keys):
        # A chunk held by several workers is read by the first of them, in address order.
        by_worker.setdefault(min(holders[key]), []).append(index)
    groups = []
    for worker, indices in by_worker.items():
        n_groups = max(1, min(threads.get(worker, 1), len(indices)))
        groups += [indices[start::n_groups] for start in range(n_groups)]
    return groups

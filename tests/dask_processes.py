"""What the Dask tests that start worker processes share: a time limit on every wait, a
cluster of worker processes that are checked to be up and to import these helpers, and the
functions those workers run.

A function a test sends to a worker process is pickled by reference (module and name) and
imported again there. A test module is not importable in the workers (pytest imports it by
file path), but this module is: tests/ is on the import path (pyproject's pythonpath) and
worker processes started by spawn or forkserver inherit the path of the process that starts
them. A function that cannot be imported in a worker kills that worker's connection to the
scheduler, and a computation then waits for workers that never come back: hence the check
when the cluster starts, and the time limits.
"""
import contextlib
import importlib
import os
import signal
import threading
import time

import dask
from distributed import Client, LocalCluster

# Seconds a cluster of worker processes may take to start (a worker process imports
# gdfast, NumPy, SciPy and scikit-learn: a few seconds on a loaded machine).
START_SECONDS = 120
CLOSE_SECONDS = 60


class TimeLimitExceeded(BaseException):
    """A block of a test ran out of time. Raised wherever the main thread happens to be, so
    not an Exception: no `except Exception` (or `except TimeoutError`) of the code it
    interrupts may take it for an error of its own and carry on."""


@contextlib.contextmanager
def time_limit(seconds, what):
    """Raise TimeLimitExceeded in the main thread if the block takes longer than `seconds`,
    so that a computation waiting for workers that are gone fails the test instead of
    hanging it (SIGALRM interrupts the client's wait). Nests: an enclosing limit still
    holds."""
    def expire(signum, frame):
        raise TimeLimitExceeded(f"{what} did not finish within {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    enclosing, _ = signal.getitimer(signal.ITIMER_REAL)
    signal.setitimer(signal.ITIMER_REAL, min(seconds, enclosing) if enclosing else seconds)
    start = time.monotonic()
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if enclosing:
            left = enclosing - (time.monotonic() - start)
            signal.setitimer(signal.ITIMER_REAL, max(left, 1e-3))


@contextlib.contextmanager
def worker_processes(n_workers=2, *, config=None, **options):
    """A client of a cluster of `n_workers` one-thread worker processes, each up and able to
    import this module (and gdfast: the same one as this process) before the test starts."""
    import gdfast
    with dask.config.set(config or {}):
        with time_limit(START_SECONDS, "starting the worker processes"):
            cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                                   dashboard_address="127.0.0.1:0", **options)
        try:
            with time_limit(START_SECONDS, "connecting to the worker processes"):
                client = Client(cluster, timeout=START_SECONDS)
            try:
                with time_limit(START_SECONDS, "checking the worker processes"):
                    client.wait_for_workers(n_workers, timeout=START_SECONDS)
                    helpers = client.run(_module_file, __name__)
                    packages = client.run(_module_file, "gdfast")
                assert len(helpers) == n_workers, helpers
                assert set(packages.values()) == {gdfast.__file__}, packages
                # The current client, even inside another client's `with` (the session's
                # threads-only cluster): computations go to these workers.
                with client.as_current():
                    yield client
            finally:
                with time_limit(CLOSE_SECONDS, "closing the client"):
                    client.close()
        finally:
            with time_limit(CLOSE_SECONDS, "closing the cluster"):
                cluster.close()


def _module_file(name):
    return importlib.import_module(name).__file__


def worker_pids(client):
    """The process id of each worker, by address."""
    return client.run(os.getpid)


def peak_resident_bytes(pid):
    """The peak resident memory of process `pid` so far (Linux's VmHWM: anonymous memory
    and the pages of mapped files alike), read from this process."""
    with open(f"/proc/{pid}/status") as status:
        line = next(line for line in status if line.startswith("VmHWM:"))
    return int(line.split()[1]) * 1024                                  # given in kB


# --- run by the workers ------------------------------------------------------------------


def numbered_chunk(block, marks, victim, sleep):
    """The chunk as it is, after numbering its load (an empty file in the folder `marks`,
    numbers taken in order across processes by exclusive creation). The load numbered
    `victim` writes its worker's process id to marks/victim and sleeps `sleep` seconds: it
    is still running when the test kills that process."""
    number = 0
    while True:
        try:
            os.close(os.open(os.path.join(marks, str(number)), os.O_CREAT | os.O_EXCL))
            break
        except FileExistsError:
            number += 1
    if number == victim:
        with open(os.path.join(marks, "victim.part"), "w") as file:
            file.write(str(os.getpid()))
        os.replace(os.path.join(marks, "victim.part"), os.path.join(marks, "victim"))
        time.sleep(sleep)
    return block


# --- killing a worker ----------------------------------------------------------------------


def kill_the_victim(marks, workers, killed, fit_ended, give_up_after):
    """In a thread: wait for the victim load to start (at most `give_up_after` seconds),
    then kill its worker process (SIGKILL: no clean-up, as when a machine is lost) if it is
    one of the process ids `workers`; `killed` gets the process id that ran the load."""
    path = os.path.join(marks, "victim")
    deadline = time.monotonic() + give_up_after
    while not os.path.exists(path):
        if fit_ended.wait(0.01) or time.monotonic() > deadline:
            return
    with open(path) as file:
        pid = int(file.read())
    if pid in workers:
        os.kill(pid, signal.SIGKILL)
    killed.append(pid)


def fit_while_a_worker_is_killed(model, X, y, marks, client, seconds):
    """model.fit(X, y), within `seconds`, while a thread kills the worker of `client`'s
    cluster running the victim load; the process id it killed (the fit's exception, if
    any, propagates)."""
    workers = set(worker_pids(client).values())
    assert os.getpid() not in workers
    killed, fit_ended = [], threading.Event()
    killer = threading.Thread(target=kill_the_victim,
                              args=(marks, workers, killed, fit_ended, seconds), daemon=True)
    killer.start()
    try:
        with time_limit(seconds, "the fit with a worker killed"):
            model.fit(X, y)
    finally:
        fit_ended.set()
        killer.join(timeout=10)
    assert not killer.is_alive()
    assert killed, "the victim load never started"
    assert killed[0] in workers, "the victim load ran outside the cluster's workers"
    return killed[0]

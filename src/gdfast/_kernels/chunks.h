/* What the threads sharing a batch's chunks of rows (linear.pyx, work_on_chunks) ask of the
 * CPU and the system: counters shared between threads, and a short sleep.
 *
 * gd_claim: the counter's value before adding one, atomically (the next chunk to take, or
 * the number of chunks finished before this one).
 * gd_count: the counter's value, seeing every write made before the gd_claim that set it.
 * gd_nap: give the core away for a few tens of microseconds. A thread with nothing left to
 * do sleeps instead of spinning, so that its core goes idle and the system can move a thread
 * still working there, waiting behind another process on a busy core, onto it.
 * Without OpenMP (setup.py) one thread runs the chunks: plain reads and writes suffice. */
#ifndef GDFAST_CHUNKS_H
#define GDFAST_CHUNKS_H

#if defined(_WIN32)
#  include <windows.h>
static void gd_nap(void) { Sleep(0); }
#else
#  include <time.h>
static void gd_nap(void)
{
    struct timespec pause = {0, 20000};
    nanosleep(&pause, NULL);
}
#endif

#if defined(__GNUC__) || defined(__clang__)
static Py_ssize_t gd_claim(Py_ssize_t *counter)
{
    return __atomic_fetch_add(counter, 1, __ATOMIC_ACQ_REL);
}
static Py_ssize_t gd_count(Py_ssize_t *counter)
{
    return __atomic_load_n(counter, __ATOMIC_ACQUIRE);
}
#else
static Py_ssize_t gd_claim(Py_ssize_t *counter) { return (*counter)++; }
static Py_ssize_t gd_count(Py_ssize_t *counter) { return *counter; }
#endif

#endif

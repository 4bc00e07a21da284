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

/* gd_now_ns: a monotonic clock in nanoseconds (0 where there is none: no OpenMP there). */
#if defined(_WIN32)
static long long gd_now_ns(void) { return 0; }
#else
static long long gd_now_ns(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long long)now.tv_sec * 1000000000LL + now.tv_nsec;
}
#endif

/* gd_read, gd_write: a value shared by the threads of every fit in the process. */
#if defined(__GNUC__) || defined(__clang__)
static long long gd_read(long long *value) { return __atomic_load_n(value, __ATOMIC_RELAXED); }
static void gd_write(long long *value, long long new_value)
{
    __atomic_store_n(value, new_value, __ATOMIC_RELAXED);
}
#else
static long long gd_read(long long *value) { return *value; }
static void gd_write(long long *value, long long new_value) { *value = new_value; }
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

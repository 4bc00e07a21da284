/* The per-sample log loss on dense rows of a few features, one row at a time: plain SGD
 * with one step for the whole run, weight 1 on every row, the features as they are. The
 * loop of sgd_rows (linear.pyx) for that case, with its arithmetic, operation for
 * operation: each row's score is computed ahead of the previous row's step and shifted by
 * it, and its sigmoid taken from exp(-|base|) and the shift (gd_log_loss_unit_shifted).
 *
 * Why the same loop twice: what the row waits on is the chain from one row's slope to the
 * next row's shift, and in sgd_rows, among the branches of every loss, feature map and
 * averaging, GCC keeps the shift in memory, a store and a load on that chain every row.
 * Here, with nothing else live, it stays in a register and the row costs 10-15% less
 * (1,000,000 x 10 float64). Both loops take their steps from the same helpers (row_ops.h,
 * fastmath.h), so they compute the same numbers, but where the compiler fuses a multiply
 * and an add in one loop and not in the other (the intercept's step, with FMA). */
#ifndef GDFAST_LOG_ROWS_H
#define GDFAST_LOG_ROWS_H

#include <math.h>
#include <stddef.h>

#include "cpu.h"
#include "fastmath.h"
#include "row_ops.h"

/* Where a run of rows stands between two calls: the next row to step on and its score
 * base - shift, with base_exp = exp(-|base|); the loss summed so far but for the pending
 * product of 1 + exp(-|p|) factors (gd_log_loss_unit_shifted), whose log is added every
 * GD_LOG_PRODUCT_ROWS rows. stopped: set when a row's loss came out non-finite. */
typedef struct {
    const void *x;
    double base;
    double base_exp;
    double shift;
    double total;
    double product;
    int stopped;
} gd_log_run;

/* Rows order[start:stop] of X (n_features columns, C order, rows of at most 128 bytes),
 * from the state in *run; returns the index after the last row stepped on. A row whose
 * loss is not finite stops the run after its step, as sgd_rows does. The row `distance`
 * places ahead is requested from memory by the lines of its first and last bytes, and of
 * its 64th when it may span three lines (tail, from tail_line_needed): with a loop over
 * its lines instead (prefetch_row's), shuffled epochs of 1,000,000 x 10 float64 took
 * 10-15% longer. The row after the last one is order[n_samples - 1] itself: a score
 * nobody uses, but no branch. */
#define GD_LOG_ROWS(T, NAME, DOT, STEP)                                                    \
    static Py_ssize_t NAME(const T *X, Py_ssize_t n_features, const T *y,                  \
                           const Py_ssize_t *order, Py_ssize_t n_samples,                  \
                           Py_ssize_t start, Py_ssize_t stop, T *theta, int fit_intercept, \
                           T step, Py_ssize_t distance, int tail, gd_log_run *run)         \
    {                                                                                      \
        const T *x = (const T *)run->x;                                                    \
        double base = run->base, base_exp = run->base_exp, shift = run->shift;             \
        double total = run->total, product = run->product;                                 \
        double one = fit_intercept ? 1.0 : 0.0;                                            \
        Py_ssize_t i, row_bytes = n_features * (Py_ssize_t)sizeof(T);                      \
        int middle = tail && row_bytes > 64;                                               \
        for (i = start; i < stop; i++) {                                                   \
            const T *x_next;                                                               \
            double next_base, next_exp, overlap, row_loss, dloss, target;                  \
            T a;                                                                           \
            if (i + distance < n_samples) {                                                \
                const char *ahead = (const char *)(X + order[i + distance] * n_features);  \
                gd_prefetch(ahead);                                                        \
                if (middle)                                                                \
                    gd_prefetch(ahead + 64);                                               \
                gd_prefetch(ahead + row_bytes - 1);                                        \
                gd_prefetch(y + order[i + distance]);                                      \
            }                                                                              \
            x_next = X + order[i + 1 < n_samples ? i + 1 : i] * n_features;                \
            next_base = (double)(DOT(x_next, theta, n_features) + theta[n_features]);      \
            overlap = (double)DOT(x_next, x, n_features) + one;                            \
            next_exp = gd_exp_nonpositive_scalar(-fabs(next_base));                        \
            target = (double)y[order[i]];                                                  \
            if (fabs(shift) <= GD_SMALL_SHIFT)                                             \
                row_loss = gd_log_loss_unit_shifted(base - shift, base, base_exp, shift,   \
                                                    target, &dloss, &product);             \
            else                                                                           \
                row_loss = gd_log_loss_unit(base - shift, target, &dloss, &product);       \
            a = (T)dloss;                                                                  \
            STEP(theta, x, step, a, n_features);                                           \
            if (fit_intercept)                                                             \
                theta[n_features] -= step * a;                                             \
            shift = ((double)step * (double)a) * overlap;                                  \
            base = next_base;                                                              \
            base_exp = next_exp;                                                           \
            x = x_next;                                                                    \
            if (!isfinite(row_loss)) {                                                     \
                run->stopped = 1;                                                          \
                i++;                                                                       \
                break;                                                                     \
            }                                                                              \
            total += row_loss;                                                             \
            if ((i + 1) % GD_LOG_PRODUCT_ROWS == 0) {                                      \
                total += log(product);                                                     \
                product = 1.0;                                                             \
            }                                                                              \
        }                                                                                  \
        run->x = x;                                                                        \
        run->base = base;                                                                  \
        run->base_exp = base_exp;                                                          \
        run->shift = shift;                                                                \
        run->total = total;                                                                \
        run->product = product;                                                            \
        return i;                                                                          \
    }

GD_LOG_ROWS(float, gd_log_rows_f32, gd_dot_row_f32, gd_sgd_row_f32)
GD_LOG_ROWS(double, gd_log_rows_f64, gd_dot_row_f64, gd_sgd_row_f64)
#undef GD_LOG_ROWS

#endif

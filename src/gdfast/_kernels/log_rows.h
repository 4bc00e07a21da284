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
 * (1,000,000 x 10 float64). The loop in memory takes its steps from the same helpers as
 * sgd_rows (row_ops.h, fastmath.h), so they compute the same numbers, but where the compiler
 * fuses a multiply and an add in one loop and not in the other (the intercept's step, with
 * FMA); the loop in registers (below) adds the dot products' terms in another order.
 * gd_log_rows_f32 / _f64 at the end pick the loop. */
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

/* The row whose score is base - shift (base_exp = exp(-|base|)): its loss, split as
 * gd_log_loss_unit splits it, and its slope in *dloss. */
static inline double gd_log_row(double base, double base_exp, double shift, double target,
                                double *dloss, double *product)
{
    if (fabs(shift) <= GD_SMALL_SHIFT)
        return gd_log_loss_unit_shifted(base - shift, base, base_exp, shift, target, dloss,
                                        product);
    return gd_log_loss_unit(base - shift, target, dloss, product);
}

/* Asks memory for the row at `ahead`, row_bytes long, by the lines of its first and last
 * bytes, and of its 64th when it may span three lines (middle), and for its target. */
static inline void gd_log_prefetch(const char *ahead, Py_ssize_t row_bytes, int middle,
                                   const void *target)
{
    gd_prefetch(ahead);
    if (middle)
        gd_prefetch(ahead + 64);
    gd_prefetch(ahead + row_bytes - 1);
    gd_prefetch(target);
}

/* Adds the loss of row i to *total, and the logarithm of the pending product every
 * GD_LOG_PRODUCT_ROWS rows; 0 if the loss is not finite, where the run stops. */
static inline int gd_log_add(double row_loss, Py_ssize_t i, double *total, double *product)
{
    if (!isfinite(row_loss))
        return 0;
    *total += row_loss;
    if ((i + 1) % GD_LOG_PRODUCT_ROWS == 0) {
        *total += log(*product);
        *product = 1.0;
    }
    return 1;
}

static inline void gd_log_save(gd_log_run *run, const void *x, double base, double base_exp,
                               double shift, double total, double product)
{
    run->x = x;
    run->base = base;
    run->base_exp = base_exp;
    run->shift = shift;
    run->total = total;
    run->product = product;
}

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
            if (i + distance < n_samples)                                                  \
                gd_log_prefetch((const char *)(X + order[i + distance] * n_features),      \
                                row_bytes, middle, y + order[i + distance]);               \
            x_next = X + order[i + 1 < n_samples ? i + 1 : i] * n_features;                \
            next_base = (double)(DOT(x_next, theta, n_features) + theta[n_features]);      \
            overlap = (double)DOT(x_next, x, n_features) + one;                            \
            next_exp = gd_exp_nonpositive_scalar(-fabs(next_base));                        \
            target = (double)y[order[i]];                                                  \
            row_loss = gd_log_row(base, base_exp, shift, target, &dloss, &product);        \
            a = (T)dloss;                                                                  \
            STEP(theta, x, step, a, n_features);                                           \
            if (fit_intercept)                                                             \
                theta[n_features] -= step * a;                                             \
            shift = ((double)step * (double)a) * overlap;                                  \
            base = next_base;                                                              \
            base_exp = next_exp;                                                           \
            x = x_next;                                                                    \
            if (!gd_log_add(row_loss, i, &total, &product)) {                              \
                run->stopped = 1;                                                          \
                i++;                                                                       \
                break;                                                                     \
            }                                                                              \
        }                                                                                  \
        gd_log_save(run, x, base, base_exp, shift, total, product);                        \
        return i;                                                                          \
    }

GD_LOG_ROWS(float, gd_log_rows_f32_in_memory, gd_dot_row_f32, gd_sgd_row_f32)
GD_LOG_ROWS(double, gd_log_rows_f64_in_memory, gd_dot_row_f64, gd_sgd_row_f64)
#undef GD_LOG_ROWS

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>

/* The same loop for rows of at most 16 features (4 to 16 in float64, 8 to 16 in float32),
 * with the parameters held in vector registers for the whole run instead of read and
 * written every row. Why: with the parameters in memory, each row's step is stored and the
 * next row's score reloads it, and on rows this short the loop itself is what a row costs;
 * in registers, a shuffled epoch of 1,000,000 x 10 took about a fifth less time in float32
 * (see README's speed section for float64).
 *
 * A row (and the parameters) is V vectors: entries 0, 4, 8, ... (8 in float32) in the first
 * V - 1, and the last vector the row's last 4 (8) entries, with the lanes that repeat the
 * earlier vectors' entries zeroed (`high`), so that every load stays inside the row whatever
 * its width. The parameters' repeated lanes start at zero and stay there, the rows' being
 * zero. The intercept is a register of its own. Same steps, same loss and slope
 * (gd_log_row); the dot products add their terms in another order, so results agree with
 * the loop above to a few roundings, not bit for bit. */
typedef struct { __m256 v[2]; } gd_vrow_f32;
typedef struct { __m256d v[4]; } gd_vrow_f64;

#define GD_INLINE static inline __attribute__((always_inline))

GD_INLINE __m256 gd_high_f32(Py_ssize_t n, int V)
{
    (void)V;
    return _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
                                                  _mm256_set1_epi32(15 - (int)n)));
}

GD_INLINE __m256d gd_high_f64(Py_ssize_t n, int V)
{
    return _mm256_castsi256_pd(_mm256_cmpgt_epi64(_mm256_setr_epi64x(0, 1, 2, 3),
                                                  _mm256_set1_epi64x(4 * V - 1 - n)));
}

GD_INLINE gd_vrow_f32 gd_load_vrow_f32(const float *x, Py_ssize_t n, __m256 high, int V)
{
    gd_vrow_f32 r;
    (void)V;
    r.v[0] = _mm256_loadu_ps(x);
    r.v[1] = _mm256_and_ps(_mm256_loadu_ps(x + n - 8), high);
    return r;
}

GD_INLINE gd_vrow_f64 gd_load_vrow_f64(const double *x, Py_ssize_t n, __m256d high, int V)
{
    gd_vrow_f64 r = {{_mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd(),
                      _mm256_setzero_pd()}};
    int k;
    for (k = 0; k < V - 1; k++)
        r.v[k] = _mm256_loadu_pd(x + 4 * k);
    r.v[V - 1] = _mm256_and_pd(_mm256_loadu_pd(x + n - 4), high);
    return r;
}

GD_INLINE void gd_store_vrow_f32(float *theta, Py_ssize_t n, gd_vrow_f32 w, int V)
{
    (void)V;
    _mm256_storeu_ps(theta + n - 8, w.v[1]);     /* then the first vector's lanes over it */
    _mm256_storeu_ps(theta, w.v[0]);
}

GD_INLINE void gd_store_vrow_f64(double *theta, Py_ssize_t n, gd_vrow_f64 w, int V)
{
    int k;
    _mm256_storeu_pd(theta + n - 4, w.v[V - 1]);
    for (k = 0; k < V - 1; k++)
        _mm256_storeu_pd(theta + 4 * k, w.v[k]);
}

GD_INLINE float gd_vdot_f32(gd_vrow_f32 a, gd_vrow_f32 b, int V)
{
    __m256 p = _mm256_fmadd_ps(a.v[1], b.v[1], _mm256_mul_ps(a.v[0], b.v[0]));
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(p), _mm256_extractf128_ps(p, 1));
    (void)V;
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}

GD_INLINE double gd_vdot_f64(gd_vrow_f64 a, gd_vrow_f64 b, int V)
{
    __m256d even = _mm256_mul_pd(a.v[0], b.v[0]), odd = _mm256_setzero_pd();
    __m128d s;
    if (V > 1)
        odd = _mm256_mul_pd(a.v[1], b.v[1]);
    if (V > 2)
        even = _mm256_fmadd_pd(a.v[2], b.v[2], even);
    if (V > 3)
        odd = _mm256_fmadd_pd(a.v[3], b.v[3], odd);
    even = _mm256_add_pd(even, odd);
    s = _mm_add_pd(_mm256_castpd256_pd128(even), _mm256_extractf128_pd(even, 1));
    return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
}

/* w = w − step·(a·x), as gd_sgd_row_* computes each entry. */
GD_INLINE void gd_vstep_f32(gd_vrow_f32 *w, gd_vrow_f32 x, float step, float a, int V)
{
    const __m256 steps = _mm256_set1_ps(step), slope = _mm256_set1_ps(a);
    (void)V;
    w->v[0] = _mm256_fnmadd_ps(steps, _mm256_mul_ps(slope, x.v[0]), w->v[0]);
    w->v[1] = _mm256_fnmadd_ps(steps, _mm256_mul_ps(slope, x.v[1]), w->v[1]);
}

GD_INLINE void gd_vstep_f64(gd_vrow_f64 *w, gd_vrow_f64 x, double step, double a, int V)
{
    const __m256d steps = _mm256_set1_pd(step), slope = _mm256_set1_pd(a);
    int k;
    for (k = 0; k < V; k++)
        w->v[k] = _mm256_fnmadd_pd(steps, _mm256_mul_pd(slope, x.v[k]), w->v[k]);
}

#define GD_LOG_ROWS_IN_REGISTERS(T, SUFFIX, HIGH_T)                                         \
    GD_INLINE Py_ssize_t gd_log_rows_in_registers_##SUFFIX(                                 \
        int V, const T *X, Py_ssize_t n_features, const T *y, const Py_ssize_t *order,      \
        Py_ssize_t n_samples, Py_ssize_t start, Py_ssize_t stop, T *theta,                  \
        int fit_intercept, T step, Py_ssize_t distance, int tail, gd_log_run *run)          \
    {                                                                                       \
        const HIGH_T high = gd_high_##SUFFIX(n_features, V);                                \
        const Py_ssize_t row_bytes = n_features * (Py_ssize_t)sizeof(T);                    \
        const int middle = tail && row_bytes > 64;                                          \
        const T *x = (const T *)run->x;                                                     \
        gd_vrow_##SUFFIX w = gd_load_vrow_##SUFFIX(theta, n_features, high, V);             \
        gd_vrow_##SUFFIX xv = gd_load_vrow_##SUFFIX(x, n_features, high, V);                \
        T intercept = theta[n_features];                                                    \
        double base = run->base, base_exp = run->base_exp, shift = run->shift;              \
        double total = run->total, product = run->product;                                  \
        double one = fit_intercept ? 1.0 : 0.0;                                             \
        Py_ssize_t i;                                                                       \
        for (i = start; i < stop; i++) {                                                    \
            const T *x_next;                                                                \
            gd_vrow_##SUFFIX next;                                                          \
            double next_base, next_exp, overlap, row_loss, dloss;                           \
            T a;                                                                            \
            if (i + distance < n_samples)                                                   \
                gd_log_prefetch((const char *)(X + order[i + distance] * n_features),       \
                                row_bytes, middle, y + order[i + distance]);                \
            x_next = X + order[i + 1 < n_samples ? i + 1 : i] * n_features;                 \
            next = gd_load_vrow_##SUFFIX(x_next, n_features, high, V);                      \
            next_base = (double)(gd_vdot_##SUFFIX(next, w, V) + intercept);                 \
            overlap = (double)gd_vdot_##SUFFIX(next, xv, V) + one;                          \
            next_exp = gd_exp_nonpositive_scalar(-fabs(next_base));                         \
            row_loss = gd_log_row(base, base_exp, shift, (double)y[order[i]], &dloss,       \
                                  &product);                                                \
            a = (T)dloss;                                                                   \
            gd_vstep_##SUFFIX(&w, xv, step, a, V);                                          \
            if (fit_intercept)                                                              \
                intercept -= step * a;                                                      \
            shift = ((double)step * (double)a) * overlap;                                   \
            base = next_base;                                                               \
            base_exp = next_exp;                                                            \
            x = x_next;                                                                     \
            xv = next;                                                                      \
            if (!gd_log_add(row_loss, i, &total, &product)) {                               \
                run->stopped = 1;                                                           \
                i++;                                                                        \
                break;                                                                      \
            }                                                                               \
        }                                                                                   \
        gd_store_vrow_##SUFFIX(theta, n_features, w, V);                                    \
        theta[n_features] = intercept;                                                      \
        gd_log_save(run, x, base, base_exp, shift, total, product);                         \
        return i;                                                                           \
    }

GD_LOG_ROWS_IN_REGISTERS(float, f32, __m256)
GD_LOG_ROWS_IN_REGISTERS(double, f64, __m256d)
#undef GD_LOG_ROWS_IN_REGISTERS
#undef GD_INLINE
#endif

#define GD_LOG_ROWS_ARGS X, n_features, y, order, n_samples, start, stop, theta, \
                         fit_intercept, step, distance, tail, run

/* The loops above for one run of rows: in registers where the row fits and the CPU has
 * the vectors (each width of float64 row its own copy, the number of vectors a constant). */
static Py_ssize_t gd_log_rows_f32(const float *X, Py_ssize_t n_features, const float *y,
                                  const Py_ssize_t *order, Py_ssize_t n_samples,
                                  Py_ssize_t start, Py_ssize_t stop, float *theta,
                                  int fit_intercept, float step, Py_ssize_t distance, int tail,
                                  gd_log_run *run)
{
#if defined(__AVX2__) && defined(__FMA__)
    if (n_features >= 8 && n_features <= 16)
        return gd_log_rows_in_registers_f32(2, GD_LOG_ROWS_ARGS);
#endif
    return gd_log_rows_f32_in_memory(GD_LOG_ROWS_ARGS);
}

static Py_ssize_t gd_log_rows_f64(const double *X, Py_ssize_t n_features, const double *y,
                                  const Py_ssize_t *order, Py_ssize_t n_samples,
                                  Py_ssize_t start, Py_ssize_t stop, double *theta,
                                  int fit_intercept, double step, Py_ssize_t distance,
                                  int tail, gd_log_run *run)
{
#if defined(__AVX2__) && defined(__FMA__)
    switch (n_features >= 4 && n_features <= 16 ? (int)(n_features + 3) / 4 : 0) {
    case 1: return gd_log_rows_in_registers_f64(1, GD_LOG_ROWS_ARGS);
    case 2: return gd_log_rows_in_registers_f64(2, GD_LOG_ROWS_ARGS);
    case 3: return gd_log_rows_in_registers_f64(3, GD_LOG_ROWS_ARGS);
    case 4: return gd_log_rows_in_registers_f64(4, GD_LOG_ROWS_ARGS);
    }
#endif
    return gd_log_rows_f64_in_memory(GD_LOG_ROWS_ARGS);
}
#undef GD_LOG_ROWS_ARGS

#endif

/* One row's dot product and plain SGD step in vector registers (see dot_row and
 * sgd_row_step in rows.pxd).
 *
 * Each computes exactly what the scalar loop of rows.pxd it stands for computes: the same
 * operations on each entry, in the same order (the dot product's eight partial sums are
 * the lanes of the vectors, as in dot4.h). Written with vector extensions because GCC
 * leaves these loops scalar on rows of a few features: it cannot prove that the row and
 * the parameters do not overlap, and on ten features the run-time overlap check and the
 * scalar remainder it would add cost more than the vector loop saves. On a narrow row the
 * per-row work of a one-row-at-a-time epoch is these loops' length. The horizontal sum
 * stays lane by lane (dot4.h's gd_finish_*): one row's update waits on the previous one's,
 * so its latency, not its instruction count, is what the loop runs at.
 * Other compilers get the plain loops, with the same arithmetic. */
#ifndef GDFAST_ROW_OPS_H
#define GDFAST_ROW_OPS_H

#include <stddef.h>
#include <string.h>

#include "dot4.h"

#if defined(__GNUC__) || defined(__clang__)

static inline void gd_store_f32x8(float *p, gd_f32x8 v) { memcpy(p, &v, sizeof v); }
static inline void gd_store_f64x4(double *p, gd_f64x4 v) { memcpy(p, &v, sizeof v); }

typedef float gd_f32x2 __attribute__((vector_size(8)));
typedef double gd_f64x2 __attribute__((vector_size(16)));

#define GD_VECTOR_IO(V, T, NAME)                                                      \
    static inline V gd_load_##NAME(const T *p) { V v; memcpy(&v, p, sizeof v); return v; } \
    static inline void gd_store_##NAME(T *p, V v) { memcpy(p, &v, sizeof v); }
GD_VECTOR_IO(gd_f32x4, float, f32x4)
GD_VECTOR_IO(gd_f32x2, float, f32x2)
GD_VECTOR_IO(gd_f64x2, double, f64x2)
#undef GD_VECTOR_IO

static inline float gd_dot_row_f32(const float *x, const float *w, ptrdiff_t n)
{
    gd_f32x8 s = {0};
    ptrdiff_t j = 0, n8 = n - n % 8;
    for (; j < n8; j += 8)
        s = s + gd_load_f32x8(x + j) * gd_load_f32x8(w + j);
    if (j < n)
        gd_tail_f32(&s, x, w, j, n);
    return gd_finish_f32(s);
}

static inline double gd_dot_row_f64(const double *x, const double *w, ptrdiff_t n)
{
    gd_f64x4 lo = {0}, hi = {0};
    ptrdiff_t j = 0, n8 = n - n % 8;
    for (; j < n8; j += 8) {
        lo = lo + gd_load_f64x4(x + j) * gd_load_f64x4(w + j);
        hi = hi + gd_load_f64x4(x + j + 4) * gd_load_f64x4(w + j + 4);
    }
    if (j < n)
        gd_tail_f64(&lo, x, w, j, n);
    return gd_finish_f64(lo, hi);
}

/* w[j] = w[j] − step·(a·x[j]). The entries past the last whole vector go in narrower
 * vectors, then one alone: a scalar loop there cost more than the vector loop on ten
 * features (the compiler vectorises it again, behind checks of length and overlap). */
static inline void gd_sgd_row_f32(float *w, const float *x, float step, float a, ptrdiff_t n)
{
    gd_f32x8 s = {step, step, step, step, step, step, step, step};
    gd_f32x8 c = {a, a, a, a, a, a, a, a};
    ptrdiff_t j = 0;
    for (; j + 8 <= n; j += 8)
        gd_store_f32x8(w + j, gd_load_f32x8(w + j) - s * (c * gd_load_f32x8(x + j)));
    if (j + 4 <= n) {
        gd_f32x4 s4 = {step, step, step, step}, c4 = {a, a, a, a};
        gd_store_f32x4(w + j, gd_load_f32x4(w + j) - s4 * (c4 * gd_load_f32x4(x + j)));
        j += 4;
    }
    if (j + 2 <= n) {
        gd_f32x2 s2 = {step, step}, c2 = {a, a};
        gd_store_f32x2(w + j, gd_load_f32x2(w + j) - s2 * (c2 * gd_load_f32x2(x + j)));
        j += 2;
    }
    if (j < n)
        w[j] = w[j] - step * (a * x[j]);
}

static inline void gd_sgd_row_f64(double *w, const double *x, double step, double a,
                                  ptrdiff_t n)
{
    gd_f64x4 s = {step, step, step, step}, c = {a, a, a, a};
    ptrdiff_t j = 0;
    for (; j + 4 <= n; j += 4)
        gd_store_f64x4(w + j, gd_load_f64x4(w + j) - s * (c * gd_load_f64x4(x + j)));
    if (j + 2 <= n) {
        gd_f64x2 s2 = {step, step}, c2 = {a, a};
        gd_store_f64x2(w + j, gd_load_f64x2(w + j) - s2 * (c2 * gd_load_f64x2(x + j)));
        j += 2;
    }
    if (j < n)
        w[j] = w[j] - step * (a * x[j]);
}

#else  /* no vector extensions: the loops of rows.pxd */

#define GD_DOT_ROW_PLAIN(T, NAME)                                                     \
    static T NAME(const T *x, const T *w, ptrdiff_t n)                                \
    {                                                                                 \
        T s_[8] = {0, 0, 0, 0, 0, 0, 0, 0};                                           \
        ptrdiff_t j_ = 0, l_, n8_ = n - n % 8;                                        \
        for (; j_ < n8_; j_ += 8)                                                     \
            for (l_ = 0; l_ < 8; l_++)                                                \
                s_[l_] = s_[l_] + x[j_ + l_] * w[j_ + l_];                            \
        for (; j_ < n; j_++)                                                          \
            s_[0] = s_[0] + x[j_] * w[j_];                                            \
        return ((s_[0] + s_[1]) + (s_[2] + s_[3])) + ((s_[4] + s_[5]) + (s_[6] + s_[7])); \
    }
GD_DOT_ROW_PLAIN(float, gd_dot_row_f32)
GD_DOT_ROW_PLAIN(double, gd_dot_row_f64)

#define GD_SGD_ROW_PLAIN(T, NAME)                                                     \
    static void NAME(T *w, const T *x, T step, T a, ptrdiff_t n)                      \
    {                                                                                 \
        ptrdiff_t j;                                                                  \
        for (j = 0; j < n; j++)                                                       \
            w[j] = w[j] - step * (a * x[j]);                                          \
    }
GD_SGD_ROW_PLAIN(float, gd_sgd_row_f32)
GD_SGD_ROW_PLAIN(double, gd_sgd_row_f64)

#endif
#endif

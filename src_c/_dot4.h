/* Dot products of four rows with one vector w, interleaved (see dot4 in _rows.pxd).
 *
 * Each row's result is computed exactly as dot() in _rows.pxd computes it: eight partial
 * sums, partial sum l taking x[j]·w[j] for j ≡ l (mod 8), the n % 8 leftover entries added
 * to partial sum 0, then ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7)). Here the eight
 * sums are the lanes of vectors (GCC/Clang vector extensions: one 8-float vector, or two
 * 4-double vectors), written out so that the compiler keeps the four rows' accumulators in
 * registers; left to vectorise 32 scalar sums itself, GCC spilled and shuffled them.
 * Other compilers get the plain loops, with the same arithmetic. */
#ifndef GDFAST_DOT4_H
#define GDFAST_DOT4_H

#include <stddef.h>
#include <string.h>

#if defined(__GNUC__) || defined(__clang__)

typedef float gd_f32x8 __attribute__((vector_size(32)));
typedef double gd_f64x4 __attribute__((vector_size(32)));

static inline gd_f32x8 gd_load_f32x8(const float *p)
{
    gd_f32x8 v;
    memcpy(&v, p, sizeof v);          /* unaligned load */
    return v;
}

static inline gd_f64x4 gd_load_f64x4(const double *p)
{
    gd_f64x4 v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline float gd_finish_f32(gd_f32x8 s, const float *x, const float *w,
                                  ptrdiff_t j, ptrdiff_t n)
{
    float s0 = s[0];
    for (; j < n; j++)
        s0 = s0 + x[j] * w[j];
    return ((s0 + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

static inline double gd_finish_f64(gd_f64x4 lo, gd_f64x4 hi, const double *x, const double *w,
                                   ptrdiff_t j, ptrdiff_t n)
{
    double s0 = lo[0];
    for (; j < n; j++)
        s0 = s0 + x[j] * w[j];
    return ((s0 + lo[1]) + (lo[2] + lo[3])) + ((hi[0] + hi[1]) + (hi[2] + hi[3]));
}

static inline void gd_dot4_f32(const float *x0, const float *x1, const float *x2,
                               const float *x3, const float *w, ptrdiff_t n, float *out)
{
    gd_f32x8 a = {0}, b = {0}, c = {0}, d = {0};
    ptrdiff_t j = 0, n8 = n - n % 8;
    for (; j < n8; j += 8) {
        gd_f32x8 v = gd_load_f32x8(w + j);
        a = a + gd_load_f32x8(x0 + j) * v;
        b = b + gd_load_f32x8(x1 + j) * v;
        c = c + gd_load_f32x8(x2 + j) * v;
        d = d + gd_load_f32x8(x3 + j) * v;
    }
    out[0] = gd_finish_f32(a, x0, w, j, n);
    out[1] = gd_finish_f32(b, x1, w, j, n);
    out[2] = gd_finish_f32(c, x2, w, j, n);
    out[3] = gd_finish_f32(d, x3, w, j, n);
}

static inline void gd_dot4_f64(const double *x0, const double *x1, const double *x2,
                               const double *x3, const double *w, ptrdiff_t n, double *out)
{
    gd_f64x4 a0 = {0}, a1 = {0}, b0 = {0}, b1 = {0}, c0 = {0}, c1 = {0}, d0 = {0}, d1 = {0};
    ptrdiff_t j = 0, n8 = n - n % 8;
    for (; j < n8; j += 8) {
        gd_f64x4 v0 = gd_load_f64x4(w + j), v1 = gd_load_f64x4(w + j + 4);
        a0 = a0 + gd_load_f64x4(x0 + j) * v0;
        a1 = a1 + gd_load_f64x4(x0 + j + 4) * v1;
        b0 = b0 + gd_load_f64x4(x1 + j) * v0;
        b1 = b1 + gd_load_f64x4(x1 + j + 4) * v1;
        c0 = c0 + gd_load_f64x4(x2 + j) * v0;
        c1 = c1 + gd_load_f64x4(x2 + j + 4) * v1;
        d0 = d0 + gd_load_f64x4(x3 + j) * v0;
        d1 = d1 + gd_load_f64x4(x3 + j + 4) * v1;
    }
    out[0] = gd_finish_f64(a0, a1, x0, w, j, n);
    out[1] = gd_finish_f64(b0, b1, x1, w, j, n);
    out[2] = gd_finish_f64(c0, c1, x2, w, j, n);
    out[3] = gd_finish_f64(d0, d1, x3, w, j, n);
}

#else  /* no vector extensions: the same sums, one row after another */

#define GD_DOT_ROW(T, x, w, n, result)                                            \
    do {                                                                          \
        T s_[8] = {0, 0, 0, 0, 0, 0, 0, 0};                                       \
        ptrdiff_t j_ = 0, l_, n8_ = (n) - (n) % 8;                                \
        for (; j_ < n8_; j_ += 8)                                                 \
            for (l_ = 0; l_ < 8; l_++)                                            \
                s_[l_] = s_[l_] + (x)[j_ + l_] * (w)[j_ + l_];                    \
        for (; j_ < (n); j_++)                                                    \
            s_[0] = s_[0] + (x)[j_] * (w)[j_];                                    \
        (result) = ((s_[0] + s_[1]) + (s_[2] + s_[3])) + ((s_[4] + s_[5]) + (s_[6] + s_[7])); \
    } while (0)

static void gd_dot4_f32(const float *x0, const float *x1, const float *x2,
                        const float *x3, const float *w, ptrdiff_t n, float *out)
{
    GD_DOT_ROW(float, x0, w, n, out[0]);
    GD_DOT_ROW(float, x1, w, n, out[1]);
    GD_DOT_ROW(float, x2, w, n, out[2]);
    GD_DOT_ROW(float, x3, w, n, out[3]);
}

static void gd_dot4_f64(const double *x0, const double *x1, const double *x2,
                        const double *x3, const double *w, ptrdiff_t n, double *out)
{
    GD_DOT_ROW(double, x0, w, n, out[0]);
    GD_DOT_ROW(double, x1, w, n, out[1]);
    GD_DOT_ROW(double, x2, w, n, out[2]);
    GD_DOT_ROW(double, x3, w, n, out[3]);
}

#endif
#endif

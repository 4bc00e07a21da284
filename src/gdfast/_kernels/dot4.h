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

/* The four rows' horizontal sums. With AVX2, one vector tree rather than four scalar
 * chains: with ten features the per-row sums cost about as much as the products. Without
 * it (the baseline SSE2 build) the shuffles of 32-byte vectors are emulated and cost more
 * than they save, so the lanes are summed row by row. Either way the pairs summed are those of dot():
 * ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7)), each row's leftover entries first
 * added to its s0, in order. */
static inline float gd_finish_f32(gd_f32x8 s)
{
    return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

static inline double gd_finish_f64(gd_f64x4 lo, gd_f64x4 hi)
{
    return ((lo[0] + lo[1]) + (lo[2] + lo[3])) + ((hi[0] + hi[1]) + (hi[2] + hi[3]));
}

typedef int gd_i32x8 __attribute__((vector_size(32)));
typedef long long gd_i64x4 __attribute__((vector_size(32)));
typedef float gd_f32x4 __attribute__((vector_size(16)));

#if defined(__clang__)
#  define GD_SHUFFLE_F32(a, b, ...) __builtin_shufflevector(a, b, __VA_ARGS__)
#  define GD_SHUFFLE_F64(a, b, ...) __builtin_shufflevector(a, b, __VA_ARGS__)
#else
#  define GD_SHUFFLE_F32(a, b, ...) __builtin_shuffle(a, b, (gd_i32x8){__VA_ARGS__})
#  define GD_SHUFFLE_F64(a, b, ...) __builtin_shuffle(a, b, (gd_i64x4){__VA_ARGS__})
#endif

/* [a0+a1, a2+a3, b0+b1, b2+b3, a4+a5, a6+a7, b4+b5, b6+b7] */
static inline gd_f32x8 gd_pairs_f32(gd_f32x8 a, gd_f32x8 b)
{
    return GD_SHUFFLE_F32(a, b, 0, 2, 8, 10, 4, 6, 12, 14)
         + GD_SHUFFLE_F32(a, b, 1, 3, 9, 11, 5, 7, 13, 15);
}

static inline void gd_tail_f32(gd_f32x8 *s, const float *x, const float *w, ptrdiff_t j,
                               ptrdiff_t n)
{
    float s0 = (*s)[0];
    for (; j < n; j++)
        s0 = s0 + x[j] * w[j];
    (*s)[0] = s0;
}

static inline void gd_finish4_f32(gd_f32x8 a, gd_f32x8 b, gd_f32x8 c, gd_f32x8 d,
                                  float *out)
{
    /* [A03, B03, C03, D03, A47, B47, C47, D47], A03 = (a0+a1)+(a2+a3) */
    gd_f32x8 t = gd_pairs_f32(gd_pairs_f32(a, b), gd_pairs_f32(c, d));
    gd_f32x4 lo = {t[0], t[1], t[2], t[3]}, hi = {t[4], t[5], t[6], t[7]};
    gd_f32x4 sums = lo + hi;
    memcpy(out, &sums, sizeof sums);
}

static inline void gd_tail_f64(gd_f64x4 *s, const double *x, const double *w, ptrdiff_t j,
                               ptrdiff_t n)
{
    double s0 = (*s)[0];
    for (; j < n; j++)
        s0 = s0 + x[j] * w[j];
    (*s)[0] = s0;
}

/* One row's partial sums s0..s3 (lo), s4..s7 (hi) → [s01, s45, s23, s67] */
static inline gd_f64x4 gd_pairs_f64(gd_f64x4 lo, gd_f64x4 hi)
{
    return GD_SHUFFLE_F64(lo, hi, 0, 4, 2, 6) + GD_SHUFFLE_F64(lo, hi, 1, 5, 3, 7);
}

/* Two rows' pairs → [A03, B03, A47, B47] */
static inline gd_f64x4 gd_quads_f64(gd_f64x4 u, gd_f64x4 v)
{
    return GD_SHUFFLE_F64(u, v, 0, 4, 1, 5) + GD_SHUFFLE_F64(u, v, 2, 6, 3, 7);
}

static inline void gd_finish4_f64(gd_f64x4 a0, gd_f64x4 a1, gd_f64x4 b0, gd_f64x4 b1,
                                  gd_f64x4 c0, gd_f64x4 c1, gd_f64x4 d0, gd_f64x4 d1,
                                  double *out)
{
    gd_f64x4 ab = gd_quads_f64(gd_pairs_f64(a0, a1), gd_pairs_f64(b0, b1));
    gd_f64x4 cd = gd_quads_f64(gd_pairs_f64(c0, c1), gd_pairs_f64(d0, d1));
    gd_f64x4 sums = GD_SHUFFLE_F64(ab, cd, 0, 1, 4, 5) + GD_SHUFFLE_F64(ab, cd, 2, 3, 6, 7);
    memcpy(out, &sums, sizeof sums);
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
    if (j < n) {
        gd_tail_f32(&a, x0, w, j, n);
        gd_tail_f32(&b, x1, w, j, n);
        gd_tail_f32(&c, x2, w, j, n);
        gd_tail_f32(&d, x3, w, j, n);
    }
#if defined(__AVX2__)
    gd_finish4_f32(a, b, c, d, out);
#else
    out[0] = gd_finish_f32(a);
    out[1] = gd_finish_f32(b);
    out[2] = gd_finish_f32(c);
    out[3] = gd_finish_f32(d);
#endif
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
    if (j < n) {
        gd_tail_f64(&a0, x0, w, j, n);
        gd_tail_f64(&b0, x1, w, j, n);
        gd_tail_f64(&c0, x2, w, j, n);
        gd_tail_f64(&d0, x3, w, j, n);
    }
#if defined(__AVX2__)
    gd_finish4_f64(a0, a1, b0, b1, c0, c1, d0, d1, out);
#else
    out[0] = gd_finish_f64(a0, a1);
    out[1] = gd_finish_f64(b0, b1);
    out[2] = gd_finish_f64(c0, c1);
    out[3] = gd_finish_f64(d0, d1);
#endif
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

/* One block of rows' contribution to the features' shifted sums (statistics.pyx):
 * Σ s·e and Σ s·e² per column, e = x − shift, and, when asked, each row's Σ (q·e)².
 *
 * The block is read a group of columns at a time, down its rows: each group's sums then
 * stay in registers for the whole block, and a value of X costs a subtraction, an addition
 * and a fused multiply-add (one more multiplication with weights), which keeps the pass
 * as fast as reading X. Going along the rows instead, the sums of every column would
 * be loaded and stored for each row, and the pass would take half again the time of a
 * read of X. The block (BLOCK_ROWS rows of X) stays in the near caches while its
 * column groups go down it, and the caller's next block is prefetched meanwhile, a cache
 * line at a time, spread over the groups.
 *
 * Each column's block sums run down the rows in order; the caller adds them to its
 * segment's sums block after block. With `q` (a scale per column), lanes[4·r + l] holds
 * row r's partial sums of (q·e)² (columns of each group's l-th quarter), summed by the
 * caller: a multiplication and a fused multiply-add per value, the group's four products
 * chained before they meet the row's lanes, so no row waits on its lanes' last update.
 * A NaN or infinity in a row makes its column's sums NaN or infinite, even with a zero
 * weight (0·∞ is NaN), which is how the caller finds them.
 *
 * With GCC or Clang the groups are written in vector extensions (four doubles, float32 X
 * converted on load); other compilers get the same sums column by column. */
#ifndef GDFAST_MOMENTS_H
#define GDFAST_MOMENTS_H

#include <math.h>
#include <stddef.h>
#include <string.h>

#include "cpu.h"

#if defined(__FMA__)
#  include <immintrin.h>
#endif

/* Rows read as one block while the next is prefetched: on 200k x 100 float64, blocks of 64
 * rows (50 KB) read X in 0.85-0.9x the time of X @ w on two threads, blocks of 16, 32 or
 * 128 in 1.0-1.1x; without the prefetch, twice that. */
#define GD_BLOCK_ROWS 64

/* Σ s·e² takes e² through one fused multiply-add wherever the CPU has one, written out:
 * left to the compiler, whether it fuses the product depends on what else uses it (the
 * row distances do), and the sums would change in their last bit when distances are
 * asked for. */
#if defined(__FMA__) || defined(__ARM_FEATURE_FMA)
#  define GD_FMA(a, b, c) __builtin_fma((a), (b), (c))
#else
#  define GD_FMA(a, b, c) ((a) * (b) + (c))
#endif

#if defined(__GNUC__) || defined(__clang__)
#  define GD_INLINE static inline __attribute__((always_inline))
#else
#  define GD_INLINE static inline
#endif

/* The next block's cache lines under one column group of one row: the group's bytes, the
 * line after them (a row need not start on a line) included. */
#define GD_PREFETCH_GROUP(row, bytes)                                          \
    do {                                                                       \
        const char *gd_line_ = (const char *)(row);                            \
        ptrdiff_t gd_k_;                                                       \
        for (gd_k_ = 0; gd_k_ < (ptrdiff_t)(bytes); gd_k_ += 64)               \
            gd_prefetch(gd_line_ + gd_k_);                                     \
    } while (0)

#if defined(__GNUC__) || defined(__clang__)

/* The helpers below are always inlined: the ABI of a 32-byte vector argument, which the
 * baseline build warns about, never comes into play. */
#if defined(__GNUC__) && !defined(__clang__)
#  pragma GCC diagnostic ignored "-Wpsabi"
#endif

typedef double gd_m_f64x4 __attribute__((vector_size(32)));
typedef float gd_m_f32x4 __attribute__((vector_size(16)));

GD_INLINE gd_m_f64x4 gd_m_load_f64(const double *p)
{
    gd_m_f64x4 v;
    memcpy(&v, p, sizeof v);
    return v;
}

GD_INLINE gd_m_f64x4 gd_m_load_f32(const float *p)
{
    gd_m_f32x4 v;
    memcpy(&v, p, sizeof v);
    return __builtin_convertvector(v, gd_m_f64x4);
}

GD_INLINE gd_m_f64x4 gd_m_fma(gd_m_f64x4 a, gd_m_f64x4 b, gd_m_f64x4 c)
{
#if defined(__FMA__)
    return (gd_m_f64x4)_mm256_fmadd_pd((__m256d)a, (__m256d)b, (__m256d)c);
#else
    gd_m_f64x4 out;
    int l;
    for (l = 0; l < 4; l++)
        out[l] = GD_FMA(a[l], b[l], c[l]);
    return out;
#endif
}

GD_INLINE void gd_m_add_to(double *p, gd_m_f64x4 v)
{
    gd_m_f64x4 old = gd_m_load_f64(p);
    old += v;
    memcpy(p, &old, sizeof old);
}

/* The body, for X of element type T read by LOAD. unit: every weight is 1 (w unread).
 * distances: lanes are filled from q. Both are constants where the body is inlined, so
 * each of the four versions runs without a branch in its loops. */
#define GD_BLOCK_MOMENTS_BODY(T, LOAD)                                                    \
    ptrdiff_t j = 0, r;                                                                   \
    const gd_m_f64x4 zero = {0.0, 0.0, 0.0, 0.0};                                         \
    if (distances)                                                                        \
        for (r = 0; r < 4 * rows; r++)                                                    \
            lanes[r] = 0.0;                                                               \
    for (; j + 16 <= d; j += 16) {                                                        \
        const gd_m_f64x4 c0 = gd_m_load_f64(shift + j), c1 = gd_m_load_f64(shift + j + 4), \
                         c2 = gd_m_load_f64(shift + j + 8), c3 = gd_m_load_f64(shift + j + 12); \
        gd_m_f64x4 q0 = zero, q1 = zero, q2 = zero, q3 = zero;                            \
        gd_m_f64x4 a0 = zero, a1 = zero, a2 = zero, a3 = zero;                            \
        gd_m_f64x4 b0 = zero, b1 = zero, b2 = zero, b3 = zero;                            \
        if (distances) {                                                                  \
            q0 = gd_m_load_f64(q + j);                                                    \
            q1 = gd_m_load_f64(q + j + 4);                                                \
            q2 = gd_m_load_f64(q + j + 8);                                                \
            q3 = gd_m_load_f64(q + j + 12);                                               \
        }                                                                                 \
        for (r = 0; r < rows; r++) {                                                      \
            const T *p = x + r * d + j;                                                   \
            gd_m_f64x4 e0 = LOAD(p) - c0, e1 = LOAD(p + 4) - c1,                          \
                       e2 = LOAD(p + 8) - c2, e3 = LOAD(p + 12) - c3;                     \
            if (next != NULL)                                                             \
                GD_PREFETCH_GROUP(next + r * d + j, 16 * sizeof(T));                      \
            if (unit) {                                                                   \
                a0 += e0; a1 += e1; a2 += e2; a3 += e3;                                   \
                b0 = gd_m_fma(e0, e0, b0); b1 = gd_m_fma(e1, e1, b1);                     \
                b2 = gd_m_fma(e2, e2, b2); b3 = gd_m_fma(e3, e3, b3);                     \
            } else {                                                                      \
                const double s = (double)w[r];                                            \
                const gd_m_f64x4 f0 = s * e0, f1 = s * e1, f2 = s * e2, f3 = s * e3;      \
                a0 += f0; a1 += f1; a2 += f2; a3 += f3;                                   \
                b0 = gd_m_fma(f0, e0, b0); b1 = gd_m_fma(f1, e1, b1);                     \
                b2 = gd_m_fma(f2, e2, b2); b3 = gd_m_fma(f3, e3, b3);                     \
            }                                                                             \
            if (distances) {                                                              \
                const gd_m_f64x4 u0 = e0 * q0, u1 = e1 * q1, u2 = e2 * q2, u3 = e3 * q3;  \
                gd_m_f64x4 l = gd_m_load_f64(lanes + 4 * r);                              \
                l += gd_m_fma(u3, u3, gd_m_fma(u2, u2, gd_m_fma(u1, u1, u0 * u0)));       \
                memcpy(lanes + 4 * r, &l, sizeof l);                                      \
            }                                                                             \
        }                                                                                 \
        gd_m_add_to(first + j, a0); gd_m_add_to(first + j + 4, a1);                       \
        gd_m_add_to(first + j + 8, a2); gd_m_add_to(first + j + 12, a3);                  \
        gd_m_add_to(second + j, b0); gd_m_add_to(second + j + 4, b1);                     \
        gd_m_add_to(second + j + 8, b2); gd_m_add_to(second + j + 12, b3);                \
    }                                                                                     \
    for (; j + 4 <= d; j += 4) {                                                          \
        const gd_m_f64x4 c0 = gd_m_load_f64(shift + j);                                   \
        const gd_m_f64x4 q0 = distances ? gd_m_load_f64(q + j) : zero;                    \
        gd_m_f64x4 a0 = zero, b0 = zero;                                                  \
        for (r = 0; r < rows; r++) {                                                      \
            const T *p = x + r * d + j;                                                   \
            gd_m_f64x4 e0 = LOAD(p) - c0;                                                 \
            if (next != NULL)                                                             \
                GD_PREFETCH_GROUP(next + r * d + j, 4 * sizeof(T));                       \
            if (unit) {                                                                   \
                a0 += e0;                                                                 \
                b0 = gd_m_fma(e0, e0, b0);                                                \
            } else {                                                                      \
                const gd_m_f64x4 f0 = (double)w[r] * e0;                                  \
                a0 += f0;                                                                 \
                b0 = gd_m_fma(f0, e0, b0);                                                \
            }                                                                             \
            if (distances) {                                                              \
                const gd_m_f64x4 u0 = e0 * q0;                                            \
                gd_m_f64x4 l = gd_m_load_f64(lanes + 4 * r);                              \
                l += u0 * u0;                                                             \
                memcpy(lanes + 4 * r, &l, sizeof l);                                      \
            }                                                                             \
        }                                                                                 \
        gd_m_add_to(first + j, a0);                                                       \
        gd_m_add_to(second + j, b0);                                                      \
    }                                                                                     \
    GD_BLOCK_MOMENTS_COLUMNS(T)

#else   /* no vector extensions: every column on its own */

#define GD_BLOCK_MOMENTS_BODY(T, LOAD)                                                    \
    ptrdiff_t j = 0, r;                                                                   \
    if (distances)                                                                        \
        for (r = 0; r < 4 * rows; r++)                                                    \
            lanes[r] = 0.0;                                                               \
    GD_BLOCK_MOMENTS_COLUMNS(T)

#endif

/* Columns j..d−1 one at a time (the last few, or all without vector extensions); a column
 * k's share of a row's distance goes to lane k mod 4. */
#define GD_BLOCK_MOMENTS_COLUMNS(T)                                                       \
    for (; j < d; j++) {                                                                  \
        const double c = shift[j], u = distances ? q[j] : 0.0;                            \
        double a = 0.0, b = 0.0;                                                          \
        for (r = 0; r < rows; r++) {                                                      \
            const double e = (double)x[r * d + j] - c;                                    \
            if (next != NULL && (j & 7) == 0)                                             \
                GD_PREFETCH_GROUP(next + r * d + j, sizeof(T));                           \
            if (unit) {                                                                   \
                a += e;                                                                   \
                b = GD_FMA(e, e, b);                                                      \
            } else {                                                                      \
                const double f = (double)w[r] * e;                                        \
                a += f;                                                                   \
                b = GD_FMA(f, e, b);                                                      \
            }                                                                             \
            if (distances)                                                                \
                lanes[4 * r + (j & 3)] += (u * e) * (u * e);                              \
        }                                                                                 \
        first[j] += a;                                                                    \
        second[j] += b;                                                                   \
    }

GD_INLINE void gd_block_moments_f64_body(
    const double *x, ptrdiff_t rows, ptrdiff_t d, const double *w, const int unit,
    const double *shift, const int distances, const double *q, double *lanes,
    const double *next, double *first, double *second)
{
    GD_BLOCK_MOMENTS_BODY(double, gd_m_load_f64)
}

GD_INLINE void gd_block_moments_f32_body(
    const float *x, ptrdiff_t rows, ptrdiff_t d, const float *w, const int unit,
    const double *shift, const int distances, const double *q, double *lanes,
    const float *next, double *first, double *second)
{
    GD_BLOCK_MOMENTS_BODY(float, gd_m_load_f32)
}

/* Add rows 0..rows−1 of the C-ordered block x (d columns) to first (Σ s·e) and second
 * (Σ s·e²), e = x − shift, s = w[r] (1 if unit); with q (not NULL), fill lanes[4·rows]
 * with each row's partial sums of (q·e)². next: the block to prefetch (its first rows
 * lined up with these), or NULL. Each call passes its flags as constants, so each
 * inlined copy of the body is compiled without their branches. */
#define GD_BLOCK_MOMENTS(NAME, T, BODY)                                                   \
    static void NAME(const T *x, ptrdiff_t rows, ptrdiff_t d, const T *w, int unit,       \
                     const double *shift, const double *q, double *lanes, const T *next,  \
                     double *first, double *second)                                       \
    {                                                                                     \
        if (unit && q != NULL)                                                           \
            BODY(x, rows, d, w, 1, shift, 1, q, lanes, next, first, second);             \
        else if (unit)                                                                    \
            BODY(x, rows, d, w, 1, shift, 0, q, lanes, next, first, second);             \
        else if (q != NULL)                                                              \
            BODY(x, rows, d, w, 0, shift, 1, q, lanes, next, first, second);             \
        else                                                                              \
            BODY(x, rows, d, w, 0, shift, 0, q, lanes, next, first, second);             \
    }

/* out[r] = √(lanes[4r] + lanes[4r+1] + lanes[4r+2] + lanes[4r+3]) as float32, for the
 * rows < rows ≤ GD_BLOCK_ROWS of a block: the sums first, then the square roots in a loop
 * of their own, which the compiler can turn into vector square roots. */
static void gd_row_distances(const double *lanes, ptrdiff_t rows, float *out)
{
    double sums[GD_BLOCK_ROWS];
    ptrdiff_t r;
    for (r = 0; r < rows; r++)
        sums[r] = (lanes[4 * r] + lanes[4 * r + 1]) + (lanes[4 * r + 2] + lanes[4 * r + 3]);
    for (r = 0; r < rows; r++)
        out[r] = (float)sqrt(sums[r]);
}

GD_BLOCK_MOMENTS(gd_block_moments_f64, double, gd_block_moments_f64_body)
GD_BLOCK_MOMENTS(gd_block_moments_f32, float, gd_block_moments_f32_body)

#endif

/* exp and log1p on the ranges the logistic losses need, inline.
 *
 * The binary log loss takes exp(-|p|) and log1p of it once per row, the softmax exp(s - max)
 * once per class: libm's exp and log1p are calls the compiler can neither inline nor
 * vectorise. The batched paths' functions are straight-line code (selects, no branches), so
 * a loop over rows or classes vectorises; the per-sample path, one row at a time, has an exp
 * of its own with fewer instructions (a table, and a branch for the subnormal range).
 *
 * Accuracy: within a couple of ulps of the exact value over the whole range, subnormal
 * results included (tests/_kernels/test_fastmath.py measures the error against NumPy's libm
 * and states the bound). NaN in gives NaN out.
 * The series are Taylor series of the reduced argument, the coefficients 1/n! and
 * 2/(2n+1) rounded to double, truncated where the next term is far below an ulp.
 */
#ifndef GD_FASTMATH_H
#define GD_FASTMATH_H

#include <math.h>
#include <stdint.h>
#include <stddef.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "exp_table.h"

static inline uint64_t gd_bits(double x) { uint64_t u; memcpy(&u, &x, sizeof u); return u; }
static inline double gd_double(uint64_t u) { double x; memcpy(&x, &u, sizeof x); return x; }

/* a where mask is all ones, b where it is 0. The selects below are written as bit masks,
 * not `?:`: given a `?:`, GCC specialises the code on each side of the condition (a constant
 * result below the underflow threshold, say) and a loop of them no longer vectorises. */
static inline uint64_t gd_mask(int condition) { return (uint64_t)0 - (uint64_t)condition; }
static inline double gd_select(uint64_t mask, double a, double b)
{
    return gd_double((gd_bits(a) & mask) | (gd_bits(b) & ~mask));
}

/* 1.0 where q < 0, 0.0 where q >= 0 (and for NaN): a compare and a mask, not a trip through
 * the integer registers, where SSE2 has them. */
static inline double gd_negative_indicator(double q)
{
#if defined(__SSE2__)
    return _mm_cvtsd_f64(_mm_and_pd(_mm_cmplt_pd(_mm_set1_pd(q), _mm_setzero_pd()),
                                    _mm_set1_pd(1.0)));
#else
    return q < 0.0 ? 1.0 : 0.0;
#endif
}

/* exp(x) for x <= 0 (or NaN): every x the losses pass, which keeps it free of overflow.
 * x = k·ln2 + r, |r| <= ln2/2 (Cody-Waite: k·LN2_HI is exact for |k| < 2^13); exp(r) by its
 * Taylor series to r^13 (the first term left out is below 2^-60 of the result); then
 * 2^k applied as two factors 2^k1·2^k2, k1 + k2 = k, each a normal number down to
 * k = -1077, so a subnormal result is rounded once, in the last multiplication, as libm
 * rounds it. Below ln(2^-1075) the result rounds to 0, and -inf gives 0. */
static inline double gd_exp_nonpositive(double x)
{
    const double shifter = 0x1.8p52;            /* adding it rounds to an integer k */
    const double inv_ln2 = 0x1.71547652b82fep+0;
    const double ln2_hi = 0x1.62e42fefa4000p-1; /* 40 significant bits */
    const double ln2_lo = -0x1.8432a1b0e2634p-43;
    double kd, r, r2, r4, q;
    uint64_t minus_k, half;
    x = gd_select(gd_mask(x < -746.0), -746.0, x);  /* exp(-746) already rounds to 0 */
    kd = x * inv_ln2 + shifter;
    minus_k = gd_bits(shifter) - gd_bits(kd);   /* -k, in [0, 1077] (k <= 0) */
    kd -= shifter;
    r = (x - kd * ln2_hi) - kd * ln2_lo;
    /* Q(r) = Σ r^(n-2)/n!, n = 2..13, by Estrin's scheme: on the per-sample path this exp
     * is on the chain from one update to the next, and Estrin's depth is 4 multiply-adds
     * where Horner's is 11. */
    r2 = r * r;
    r4 = r2 * r2;
    q = (0.5 + 0x1.5555555555555p-3 * r)                        /* 1/2!, 1/3! */
        + (0x1.5555555555555p-5 + 0x1.1111111111111p-7 * r) * r2
        + ((0x1.6c16c16c16c17p-10 + 0x1.a01a01a01a01ap-13 * r)
           + (0x1.a01a01a01a01ap-16 + 0x1.71de3a556c734p-19 * r) * r2) * r4
        + ((0x1.27e4fb7789f5cp-22 + 0x1.ae64567f544e4p-26 * r)
           + (0x1.1eed8eff8d898p-29 + 0x1.6124613a86d09p-33 * r) * r2) * (r4 * r4);
    q = 1.0 + (r + r2 * q);                     /* exp(r), in [0.7, 1.5] */
    half = minus_k >> 1;                        /* 2^k = 2^-half · 2^-(minus_k - half) */
    return (q * gd_double((1023 - half) << 52)) * gd_double((1023 - (minus_k - half)) << 52);
}

/* exp(x) for one x <= 0 (or NaN) at a time, for the per-sample path, where it is taken for
 * every row's score and its instructions, not its latency, are what the row pays. The
 * reduction is finer: x = (128·k + j)·ln2/128 + r with |r| <= ln2/256 ((128·k + j)·step_hi
 * is exact below 2^17), so that scale = 2^k·2^(j/128) comes from a table (exp_table.h) with
 * its rounding's remainder, and exp(r) - 1 from five terms of its series (the first left
 * out is below 2^-60 of the result). Within 0.51 ulp of the exact value with FMA, 0.76
 * without (the last multiply-add rounded twice). Results near or below the subnormal range
 * (x < -708, and NaN) take gd_exp_nonpositive, through a branch that is rarely taken and
 * so well predicted. */
static inline double gd_exp_nonpositive_scalar(double x)
{
    const double shifter = 0x1.8p52;
    const double inv_step = 0x1.71547652b82fep+7;   /* 128/ln2 */
    const double step_hi = 0x1.62e42fefc0000p-8;    /* ln2/128 to 35 significant bits */
    const double step_lo = -0x1.c610ca86c3899p-44;  /* ln2/128 - step_hi */
    double kd, r, r2, series, scale;
    uint64_t k, j;
    if (!(x >= -708.0))
        return gd_exp_nonpositive(x);
    kd = x * inv_step + shifter;
    k = gd_bits(kd);                            /* 128·k + j in the low bits */
    kd -= shifter;
    r = (x - kd * step_hi) - kd * step_lo;
    j = k & (GD_EXP_TABLE_SIZE - 1);
    scale = gd_double(gd_exp_table_bits[j] + (k << (52 - GD_EXP_TABLE_BITS)));
    r2 = r * r;                                 /* 1/2!, 1/3!, 1/4!, 1/5! */
    series = (r + r2 * ((0.5 + r * 0x1.5555555555555p-3)
                        + r2 * (0x1.5555555555555p-5 + r * 0x1.1111111111111p-7)));
    return scale + scale * (gd_exp_table_tail[j] + series);
}

/* log1p(e) for 0 <= e <= 1 (or NaN): the binary log loss's log1p(exp(-|p|)).
 * u = 1 + e rounded, plus the correction (e - (u - 1))/u for that rounding; u = 2^k·m with
 * m in [sqrt(2)/2, sqrt(2)]; with f = m - 1 (exact) and s = f/(2 + f),
 * log(m) = 2·atanh(s) = f - (f²/2 - s·(f²/2 + R)), R = Σ 2s^2n/(2n+1), n = 1..10
 * (|s| <= 0.172: the first term left out is below 2^-60 of the result). Written so, the
 * rounding of s only touches terms a few hundred times smaller than f. */
static inline double gd_log1p_unit(double e)
{
    const double ln2_hi = 0x1.62e42fefa39efp-1;
    const double ln2_lo = 0x1.abc9e3b39803fp-56;
    const double sqrt2 = 0x1.6a09e667f3bcdp+0;
    double u = 1.0 + e;
    double correction = (e - (u - 1.0)) / u;
    uint64_t above = gd_mask(u > sqrt2);
    double k = gd_select(above, 1.0, 0.0);
    double m = u * gd_select(above, 0.5, 1.0);
    double f = m - 1.0;
    double s = f / (2.0 + f);
    double z = s * s;
    double half_f2 = 0.5 * f * f;
    double R = 0x1.8618618618618p-4;            /* 2/21 */
    R = R * z + 0x1.af286bca1af28p-4;
    R = R * z + 0x1.e1e1e1e1e1e1ep-4;
    R = R * z + 0x1.1111111111111p-3;
    R = R * z + 0x1.3b13b13b13b14p-3;
    R = R * z + 0x1.745d1745d1746p-3;
    R = R * z + 0x1.c71c71c71c71cp-3;
    R = R * z + 0x1.2492492492492p-2;
    R = R * z + 0x1.999999999999ap-2;
    R = R * z + 0x1.5555555555555p-1;           /* 2/3 */
    R = R * z;
    return k * ln2_hi + (f - (half_f2 - (s * (half_f2 + R) + (k * ln2_lo + correction))));
}

/* The binary log loss L = log(1 + exp(p)) - y·p and its derivative sigmoid(p) - y, given
 * e = exp(-|p|), which never overflows: sigmoid(p) = 1/(1+e) for p >= 0 and e/(1+e)
 * otherwise, and log(1 + exp(p)) = max(p, 0) + log1p(e). Selects, no branches. */
static inline double gd_log_loss_of(double p, double y, double e, double* dloss)
{
    uint64_t positive = gd_mask(p >= 0);
    *dloss = gd_select(positive, 1.0, e) / (1.0 + e) - y;
    return (gd_select(positive, p, 0.0) + gd_log1p_unit(e)) - y * p;
}

/* The binary log loss of one row (the per-sample and one-row paths). */
static inline double gd_log_loss(double p, double y, double* dloss)
{
    return gd_log_loss_of(p, y, gd_exp_nonpositive_scalar(-fabs(p)), dloss);
}

/* gd_log_loss of n rows at once: a loop the compiler vectorises (4 rows to a 256-bit vector
 * in the AVX2 build), each row's result the same as gd_log_loss's. */
static inline void gd_log_loss_rows(const double* p, const double* y, double* loss,
                                    double* dloss, int n)
{
    int r;
    for (r = 0; r < n; r++)
        loss[r] = gd_log_loss_of(p[r], y[r], gd_exp_nonpositive(-fabs(p[r])), &dloss[r]);
}

/* The binary log loss of n rows of weight 1 whose losses are only ever summed (a batch's
 * gradient pass): dloss as gd_log_loss_of's up to rounding, and the loss split so that no
 * row takes a logarithm. With u = 1 + e rounded and c = (e - (u - 1))/u the correction for
 * that rounding, log(1 + e) = log(u) + c (to c²/2 <= 2^-107); each row multiplies its u into
 * product[r] and adds max(p, 0) - y·p + c to rest[r], and gd_take_log_loss_sum takes the
 * logarithm of the products once for many rows. One division a row, 1/u, which the sigmoid
 * shares (gd_log_loss_of takes three: the sigmoid's and log1p's two), and no polynomial but
 * exp's: about half of gd_log_loss_rows's time. Each u is in [1, 2]; the caller takes the
 * logarithms (gd_take_log_loss_sum) before any lane has gathered more than
 * GD_LOG_PRODUCT_ROWS of them. */
#define GD_LOG_PRODUCT_ROWS 256

static inline void gd_log_loss_rows_unit(const double* p, const double* y, double* dloss,
                                         double* product, double* rest, int n)
{
    int r;
    for (r = 0; r < n; r++) {
        double e = gd_exp_nonpositive(-fabs(p[r]));
        uint64_t positive = gd_mask(p[r] >= 0);
        double u = 1.0 + e;
        double inverse = 1.0 / u;
        dloss[r] = gd_select(positive, 1.0, e) * inverse - y[r];
        product[r] *= u;
        rest[r] += (gd_select(positive, p[r], 0.0) - y[r] * p[r]) + (e - (u - 1.0)) * inverse;
    }
}

/* The sum of the losses gd_log_loss_rows_unit gathered in n lanes' product and rest, each
 * lane's product of at most `factors` values in [1, 2], which it sets back to 1 and 0. The
 * lanes' products are multiplied together as far as the result stays below 2^1022, and one
 * logarithm taken per such product: a mini-batch of 32 rows takes one, not one per lane. */
static inline double gd_take_log_loss_sum(double* product, double* rest, int n, int factors)
{
    int per_log = factors > 0 ? 1022 / factors : n;  /* lanes whose product stays finite */
    double logs = 0.0, rests = 0.0, gathered = 1.0;
    int r, in_gathered = 0;
    if (per_log < 1)
        per_log = 1;
    for (r = 0; r < n; r++) {
        gathered *= product[r];
        rests += rest[r];
        product[r] = 1.0;
        rest[r] = 0.0;
        if (++in_gathered == per_log) {
            logs += log(gathered);
            gathered = 1.0;
            in_gathered = 0;
        }
    }
    return (logs + log(gathered)) + rests;
}

/* The softmax cross-entropy of n rows and their derivatives, n_classes scores a row, stored
 * by class (row r's score of class k at s[k·stride + r]), so that each loop below runs over
 * rows and vectorises: d[k·stride + r] = exp(s - top)·inverse with top[r] the row's
 * largest score, normaliser[r] = Σ_k exp(s - top) in [1, n_classes] and inverse[r] its
 * reciprocal (one division a row, not one a class), each the same as sample_loss computes
 * it for one row. The caller subtracts 1 at each row's class and
 * takes the loss, log(normaliser) + top - s[class] (gd_log_split).
 * Each class's rows are reached through a pointer of their own: Python's extensions are
 * built with -fwrapv, under which an int index k·stride + r may wrap, and GCC then leaves
 * the loops scalar. */
static inline void gd_softmax_rows(const double* s, int n_classes, int stride, int n,
                                   double* d, double* top, double* normaliser,
                                   double* inverse)
{
    int k, r;
    for (r = 0; r < n; r++) {
        top[r] = s[r];
        normaliser[r] = 0.0;
    }
    for (k = 1; k < n_classes; k++) {
        const double* sk = s + (ptrdiff_t)k * stride;
        for (r = 0; r < n; r++)
            top[r] = sk[r] > top[r] ? sk[r] : top[r];
    }
    for (k = 0; k < n_classes; k++) {
        const double* sk = s + (ptrdiff_t)k * stride;
        double* dk = d + (ptrdiff_t)k * stride;
        for (r = 0; r < n; r++) {
            double e = gd_exp_nonpositive(sk[r] - top[r]);
            dk[r] = e;
            normaliser[r] += e;
        }
    }
    for (r = 0; r < n; r++)
        inverse[r] = 1.0 / normaliser[r];
    for (k = 0; k < n_classes; k++) {
        double* dk = d + (ptrdiff_t)k * stride;
        for (r = 0; r < n; r++)
            dk[r] *= inverse[r];
    }
}

/* x = 2^k·m, m in [1, 2), for a positive normal x: stores m and returns k·ln2, so that
 * log(x) = k·ln2 + log(m), the logarithms of many m taken at once as of the log loss's
 * products (gd_take_log_loss_sum). */
static inline double gd_log_split(double x, double* mantissa)
{
    const double ln2 = 0x1.62e42fefa39efp-1;
    uint64_t bits = gd_bits(x);
    *mantissa = gd_double((bits & 0x000fffffffffffffULL) | 0x3ff0000000000000ULL);
    return (double)((int64_t)(bits >> 52) - 1023) * ln2;
}

/* gd_log_loss for one row of weight 1 whose loss is only summed (the per-sample path): the
 * same dloss, bit for bit, and the loss split as gd_log_loss_rows_unit splits it, u
 * multiplied into *product and the rest returned; no log1p, whose polynomial and two
 * divisions took the core's time from the chain of updates. */
static inline double gd_log_loss_unit(double p, double y, double* dloss, double* product)
{
    double e = gd_exp_nonpositive_scalar(-fabs(p));
    uint64_t positive = gd_mask(p >= 0);
    double u = 1.0 + e;
    *dloss = gd_select(positive, 1.0, e) / u - y;
    *product *= u;
    return (gd_select(positive, p, 0.0) - y * p) + (e - (u - 1.0)) / u;
}

/* expm1(t) = exp(t) - 1 for |t| <= GD_SMALL_SHIFT (or NaN): t + t²·Q(t), Q the Taylor
 * series Σ t^(n-2)/n!, n = 2..7 (the first term left out, t^8/8!, is below 2^-64 of t),
 * t² underflowing harmlessly for tiny t, Q evaluated as its even and odd parts,
 * Q(t) = E(t²) + t·O(t²): three multiply-adds deep after t². */
#define GD_SMALL_SHIFT 0x1p-7

static inline double gd_expm1_small(double t)
{
    double t2 = t * t;
    double even = 0.5 + t2 * (0x1.5555555555555p-5 + t2 * 0x1.6c16c16c16c17p-10); /* 2!,4!,6! */
    double odd = 0x1.5555555555555p-3 + t2 * (0x1.1111111111111p-7 + t2 * 0x1.a01a01a01a01ap-13);
    return t + t2 * (even + t * odd);                                           /* 3!,5!,7! */
}

/* exp(-|q - t|) as seen from q's side, for |t| <= GD_SMALL_SHIFT, given e = exp(-|q|)
 * (computed before t is known) and n = gd_negative_indicator(q):
 * x = e·exp(t) = exp(-(q - t)) where q >= 0 (n = 0), x = e·exp(-t) = exp(q - t) where q < 0
 * (n = 1). Then sigmoid(q - t) = (n·x + (1 - n))/(1 + x), that is 1/(1 + x) or x/(1 + x),
 * each term exact, and the row's log loss is log(1 + x) + (1 - n - y)·(q - t): one exp on
 * either side, neither overflows, and the tails keep their relative accuracy. On the
 * per-sample path q is the next row's score before the previous step (known early) and t
 * that step's correction (known late): from t to the sigmoid there are the short expm1,
 * one multiply-add and the division. */
static inline double gd_exp_shifted(double e, double t, double n)
{
    return e + e * gd_expm1_small(t * (1.0 - 2.0 * n));
}

static inline double gd_sigmoid_shifted(double q, double e, double t)
{
    double n = gd_negative_indicator(q);
    double x = gd_exp_shifted(e, t, n);
    return (n * x + (1.0 - n)) / (1.0 + x);
}

/* gd_log_loss_unit of the row whose score is p = q - t (q, e and t as for gd_exp_shifted):
 * dloss from gd_sigmoid_shifted's sigmoid, bit for bit, and the loss split as
 * gd_log_loss_unit splits it, u = 1 + x into *product and the rest returned. u is in
 * [1, 2.02], and log(u) is corrected for u's rounding by c = δ/u, δ = x - (u - 1), as
 * gd_log_loss_unit does, but with 1/u taken as 2 - u (exact): |δ| is below an ulp of u, so
 * the error, |δ|·(u - 1)²/u, stays below 2^-51 of the row's loss, at least
 * log(u) >= (u - 1)/u, where a division would cost more than the rest of the loss. */
static inline double gd_log_loss_unit_shifted(double p, double q, double e, double t,
                                              double y, double* dloss, double* product)
{
    double n = gd_negative_indicator(q);
    double x = gd_exp_shifted(e, t, n);
    double u = 1.0 + x;
    *dloss = (n * x + (1.0 - n)) / u - y;
    *product *= u;
    return ((1.0 - n) - y) * p + (x - (u - 1.0)) * (2.0 - u);
}

#endif

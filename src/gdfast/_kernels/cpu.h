/* What the kernel asks of the CPU and compiler, kept out of the Cython sources.
 *
 * gd_prefetch: ask for a cache line we will read soon (the rows of an epoch come in a known,
 * shuffled order, so the hardware prefetcher cannot guess them). The empty volatile asm
 * beside it tells the compiler that the request has an effect: GCC counts a function whose
 * only effects are prefetches as free of side effects, and when it does not inline such a
 * function (the CSR loops' prefetch_ahead, with its loops, is too large to be) it deletes
 * every call to it, and the requests with them.
 * gd_cpu_has_avx2_fma: whether the AVX2+FMA build of the kernel may run on this CPU; checked
 * at run time, so wheels never assume more than the baseline instruction set. */
#ifndef GDFAST_CPU_H
#define GDFAST_CPU_H

#if defined(__GNUC__) || defined(__clang__)
#  define gd_prefetch(p) do { \
        __builtin_prefetch((const void *)(p), 0, 3); \
        __asm__ __volatile__("" : : "r"((const void *)(p))); \
    } while (0)
#else
#  define gd_prefetch(p) ((void)(p))
#endif

static int gd_cpu_has_avx2_fma(void)
{
#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

#endif

/*
 * The few atomic operations the core shares between processes, on 64-bit
 * words in shared memory (lock-free on every supported target, so they work
 * across address spaces). Compiler intrinsics rather than <stdatomic.h>,
 * which MSVC's C mode lacks.
 */
#ifndef MPROC_ATOMIC_H
#define MPROC_ATOMIC_H

#include <stdint.h>

#if defined(_MSC_VER) && !defined(__clang__)
#include <intrin.h>
static __inline int64_t mproc__load(const volatile int64_t *p)
{
    /* A plain volatile read is atomic on x64; the barrier orders it like the others. */
    int64_t v = *p;
    _ReadWriteBarrier();
    return v;
}
static __inline void mproc__store(volatile int64_t *p, int64_t v)
{
    _InterlockedExchange64((volatile __int64 *)p, v);
}
/* x64 stores are release stores; the barrier keeps the compiler from moving them. */
static __inline void mproc__store_release(volatile int64_t *p, int64_t v)
{
    _ReadWriteBarrier();
    *p = v;
}
static __inline int64_t mproc__add(volatile int64_t *p, int64_t v)
{
    return _InterlockedExchangeAdd64((volatile __int64 *)p, v) + v;
}
static __inline int64_t mproc__exchange(volatile int64_t *p, int64_t v)
{
    return _InterlockedExchange64((volatile __int64 *)p, v);
}
static __inline int mproc__cas(volatile int64_t *p, int64_t expected, int64_t desired)
{
    return _InterlockedCompareExchange64((volatile __int64 *)p, desired, expected) == expected;
}
#else
/* Sequentially consistent throughout: the sleep/wake handshakes rely on it. */
static inline int64_t mproc__load(const volatile int64_t *p)
{
    return __atomic_load_n(p, __ATOMIC_SEQ_CST);
}
static inline void mproc__store(volatile int64_t *p, int64_t v)
{
    __atomic_store_n(p, v, __ATOMIC_SEQ_CST);
}
/* Only where a heavy fence on the other side supplies the store-load order. */
static inline void mproc__store_release(volatile int64_t *p, int64_t v)
{
    __atomic_store_n(p, v, __ATOMIC_RELEASE);
}
static inline int64_t mproc__add(volatile int64_t *p, int64_t v)
{
    return __atomic_add_fetch(p, v, __ATOMIC_SEQ_CST);
}
static inline int64_t mproc__exchange(volatile int64_t *p, int64_t v)
{
    return __atomic_exchange_n(p, v, __ATOMIC_SEQ_CST);
}
static inline int mproc__cas(volatile int64_t *p, int64_t expected, int64_t desired)
{
    return __atomic_compare_exchange_n(p, &expected, desired, 0, __ATOMIC_SEQ_CST,
                                       __ATOMIC_SEQ_CST);
}
#endif

/* Keeps the compiler from moving memory accesses across it; the CPU may. */
#if defined(_MSC_VER) && !defined(__clang__)
#define mproc__compiler_fence() _ReadWriteBarrier()
#else
#define mproc__compiler_fence() __atomic_signal_fence(__ATOMIC_SEQ_CST)
#endif

/* A hint inside a spin loop: let the sibling hyper-thread run, save power. */
#if defined(_MSC_VER) && !defined(__clang__) && (defined(_M_X64) || defined(_M_IX86))
#define mproc__cpu_relax() _mm_pause()
#elif defined(__x86_64__) || defined(__i386__)
#define mproc__cpu_relax() __builtin_ia32_pause()
#elif defined(__aarch64__)
#define mproc__cpu_relax() __asm__ __volatile__("yield")
#else
#define mproc__cpu_relax() ((void)0)
#endif

#endif

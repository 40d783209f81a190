/*
 * The few atomic operations the core shares between processes, on 64-bit
 * words in shared memory (lock-free on every supported target, so they work
 * across address spaces). Compiler intrinsics rather than <stdatomic.h>,
 * which MSVC's C mode lacks.
 */
#ifndef MPROC_ATOMIC_H
#define MPROC_ATOMIC_H

#include <stdint.h>

#if defined(_MSC_VER)
/* MSVC's C mode (and clang-cl's): the _Interlocked intrinsics are full
 * barriers on every target; plain loads and stores differ per target. A
 * target not named here stops the build rather than tear or reorder. */
#include <intrin.h>
#if defined(_M_X64) && !defined(_M_ARM64EC)
/* x64 loads are acquire and stores release (TSO); a volatile 64-bit access is
 * atomic. The barrier keeps the compiler from moving accesses across them. */
static __inline int64_t mproc__load(const volatile int64_t *p)
{
    int64_t v = *p;
    _ReadWriteBarrier();
    return v;
}
static __inline void mproc__store_release(volatile int64_t *p, int64_t v)
{
    _ReadWriteBarrier();
    *p = v;
}
#elif defined(_M_ARM64) || defined(_M_ARM64EC)
/* ARM64 reorders plain accesses: a volatile read is not an acquire. A full
 * barrier (dmb ish) after the load and before the store makes them acquire
 * and release; with the full-barrier _Interlocked writes that is the
 * sequential consistency the sleep/wake handshakes rely on. */
static __inline int64_t mproc__load(const volatile int64_t *p)
{
    int64_t v = __iso_volatile_load64((const volatile __int64 *)p);
    __dmb(_ARM64_BARRIER_ISH);
    return v;
}
static __inline void mproc__store_release(volatile int64_t *p, int64_t v)
{
    __dmb(_ARM64_BARRIER_ISH);
    __iso_volatile_store64((volatile __int64 *)p, v);
}
#elif defined(_M_IX86)
/* 32-bit x86 splits a plain 64-bit access in two (a torn read); cmpxchg8b
 * reads all 8 bytes at once. */
static __inline int64_t mproc__load(const volatile int64_t *p)
{
    return _InterlockedCompareExchange64((volatile __int64 *)p, 0, 0);
}
#else
#error "mproc: unsupported MSVC target (x64, ARM64 and x86 are supported)"
#endif

#if defined(_M_IX86)
/* No 64-bit exchange or add instruction either: compare-and-swap loops. */
static __inline int64_t mproc__exchange(volatile int64_t *p, int64_t v)
{
    int64_t seen = mproc__load(p), was;
    while ((was = _InterlockedCompareExchange64((volatile __int64 *)p, v, seen)) != seen)
        seen = was;
    return seen;
}
static __inline int64_t mproc__add(volatile int64_t *p, int64_t v)
{
    int64_t seen = mproc__load(p), was;
    while ((was = _InterlockedCompareExchange64((volatile __int64 *)p, seen + v, seen)) != seen)
        seen = was;
    return seen + v;
}
static __inline void mproc__store_release(volatile int64_t *p, int64_t v)
{
    (void)mproc__exchange(p, v);
}
#else
static __inline int64_t mproc__exchange(volatile int64_t *p, int64_t v)
{
    return _InterlockedExchange64((volatile __int64 *)p, v);
}
static __inline int64_t mproc__add(volatile int64_t *p, int64_t v)
{
    return _InterlockedExchangeAdd64((volatile __int64 *)p, v) + v;
}
#endif
static __inline void mproc__store(volatile int64_t *p, int64_t v)
{
    (void)mproc__exchange(p, v);
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
#if defined(_MSC_VER)
#define mproc__compiler_fence() _ReadWriteBarrier()
#else
#define mproc__compiler_fence() __atomic_signal_fence(__ATOMIC_SEQ_CST)
#endif

/* A hint inside a spin loop: let the sibling hyper-thread run, save power. */
#if defined(_MSC_VER) && (defined(_M_X64) || defined(_M_IX86)) && !defined(_M_ARM64EC)
#define mproc__cpu_relax() _mm_pause()
#elif defined(_MSC_VER) && (defined(_M_ARM64) || defined(_M_ARM64EC))
#define mproc__cpu_relax() __yield()
#elif defined(__x86_64__) || defined(__i386__)
#define mproc__cpu_relax() __builtin_ia32_pause()
#elif defined(__aarch64__)
#define mproc__cpu_relax() __asm__ __volatile__("yield")
#else
#define mproc__cpu_relax() ((void)0)
#endif

#endif

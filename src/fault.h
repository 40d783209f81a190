/*
 * Fault injection: named kill points, in the manner of SQLite's test hooks.
 *
 * A kill point marks a step after which a process may die and others must
 * still be right: `MPROC_KILL_POINT("queue.put.after_claim")`. In a build with
 * MPROC_FAULT_INJECTION (the CMake option of that name, on by default in Debug
 * builds with tests, off in Release) a process armed for a point ends at once,
 * as if SIGKILLed (Windows: TerminateProcess), the nth time it passes that
 * point. Unarmed, a point costs one load of a flag; without the option it is
 * no code at all.
 *
 * A process is armed by mproc__fault_arm() (a test's child target calls it
 * first, which works under fork, spawn and on Windows alike) or, from
 * mproc_init(), by the environment variable MPROC_FAULT="point:nth". Arming
 * with nth 0 only counts passes (mproc__fault_passes()), so a test can check
 * that a point it relies on is reached at all.
 *
 * Naming: "<object>.<operation>.<step>", the step saying what has happened
 * just before the point ("after_claim"). The queue's and the lock's points are
 * listed in tests/test_queue_faults.c, which kills a producer and a consumer
 * at each (`matrix`) and at random ones (`role_points`); the pool worker's in
 * tests/test_pool_faults.c; the synchronization objects' (sync_*.c, lock.c's
 * waits) in tests/test_sync_faults.c. An object that adds points adds them
 * to a test of the same kind. To add a point: include this
 * header and write MPROC_KILL_POINT("object.operation.step") where a death
 * must leave the shared state repairable.
 */
#ifndef MPROC_FAULT_H
#define MPROC_FAULT_H

#ifdef MPROC_FAULT_INJECTION
extern volatile int mproc__fault_armed;
/* Die at `point` the nth time (from 1) this process passes it; nth 0 counts
 * passes only; point NULL disarms. Not thread-safe: arm before using objects. */
void mproc__fault_arm(const char *point, long nth);
/* How many times this process passed the armed point. */
long mproc__fault_passes(void);
/* Arm from MPROC_FAULT="point:nth", if set (mproc_init calls it). */
void mproc__fault_arm_from_env(void);
void mproc__fault_pass(const char *point);
#define MPROC_KILL_POINT(name) (mproc__fault_armed ? mproc__fault_pass(name) : (void)0)
#else
#define MPROC_KILL_POINT(name) ((void)0)
#endif

#endif

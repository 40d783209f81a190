/* The tracker of the shared-memory names this process created (os_shm_tracker.c). */
#ifndef MPROC_POSIX_OS_SHM_TRACKER_H
#define MPROC_POSIX_OS_SHM_TRACKER_H

/* Tell the tracker that this process created (1) or removed (0) the OS name
 * `name` ("/..."), starting the tracker first if needed. A name the tracker
 * cannot take (it could not start, or holds too many) is not tracked. */
void mproc__os_shm_track(const char *name, int created);

#endif

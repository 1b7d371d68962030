/* The libc's internal locks (LOCK/UNLOCK: malloc's, atexit's, the environment's...), which do nothing until a
 * second thread exists (libc.need_locks). A lock word is 0 (free), 1 (held) or 2 (held, and a thread may wait on
 * its futex).
 *
 * They also count, for module thread, how many of them the running thread holds (uf_libc_locks_held, which the
 * scheduler saves and restores with each thread): a thread that holds one is not preempted until it lets go.
 * The library OS calls malloc from its own code, where it cannot wait for a preempted thread to release malloc's
 * lock; and no thread waits long for one of these. */
#include "pthread_impl.h"

int uf_libc_locks_held;

void __lock(volatile int *l)
{
	int need = libc.need_locks;
	if (!need)
		return;
	if (a_cas(l, 0, 1))             /* held: on one CPU its holder must run before it is free, so no spinning */
		while (a_swap(l, 2))
			__futexwait(l, 2, 1);
	/* The last other thread exited (need_locks -1): this lock was taken as one, and the next are not. */
	if (need < 0)
		libc.need_locks = 0;
	uf_libc_locks_held++;
}

void __unlock(volatile int *l)
{
	if (!*l)
		return;         /* taken while locking was off */
	uf_libc_locks_held--;
	if (a_swap(l, 0) == 2)
		__wake(l, 1, 1);
}

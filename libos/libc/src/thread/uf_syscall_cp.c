/* Cancellation points: the libc's calls of the library OS that pthread_cancel may end (read, write, accept,
 * nanosleep, the futex waits of sem_wait, pthread_cond_wait and pthread_join...). The generated syscall_arch.h
 * makes each a call of uf_cp_NAME: the library OS's function itself in an image that cannot be cancelled, and, in
 * one that links pthread_cancel, a generated wrapper that calls __uf_syscall_cp with uf_sys_NAME.
 *
 * musl's own pthread_cancel.c does the rest (the cancel flag, SIGCANCEL and its handler, __cancel): it needs only
 * the call between __cp_begin and __cp_end (syscall_cp.s, .S on ARM). Its generic __syscall_cp_c, which takes a
 * syscall number, is never called (musl.py compiles it so that it names no syscall). Here, with the function instead:
 * a pending cancellation acts before the call, and after a call that SIGCANCEL ended with EINTR (module process
 * ends a blocked cancellation point so, without running the handler), except close, whose descriptor is gone by
 * then. In musl's masked state a cancellation makes the call fail with ECANCELED instead of ending the thread, and
 * close is no cancellation point. */
#include "pthread_impl.h"

hidden long __cancel(void);
hidden long __syscall_cp_asm(volatile int *cancel, long (*call)(long, long, long, long, long, long), long a,
			     long b, long c, long d, long e, long f);

long __uf_syscall_cp(long (*call)(long, long, long, long, long, long), int is_close, long a, long b, long c, long d,
		     long e, long f)
{
	pthread_t self = __pthread_self();
	int state = self->canceldisable;
	/* Disabled; or masked (musl's own use), where close is never a cancellation point */
	if (state == PTHREAD_CANCEL_DISABLE || (state && is_close))
		return call(a, b, c, d, e, f);
	long r = __syscall_cp_asm(&self->cancel, call, a, b, c, d, e, f);
	if (r == -EINTR && !is_close && self->cancel && self->canceldisable != PTHREAD_CANCEL_DISABLE)
		r = __cancel();
	return r;
}

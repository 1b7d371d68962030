/* __clone(func, stack, flags, arg, ptid, tls, ctid) starts func(arg) in a new thread or process: musl's arch
 * assembly makes the raw clone syscall. Here a thread (CLONE_THREAD: pthread_create, SIGEV_THREAD timers) is
 * module thread's, whose function the call names, so that only what creates threads links the scheduler; a
 * process (posix_spawn, system and popen ask for one) is refused by module process (uf_sys_clone) with the errno
 * a Linux process gets where making processes is not allowed. */
#define _GNU_SOURCE
#include <sched.h>
#include <stdarg.h>
#include "syscall.h"

long uf_thread_clone(int (*fn)(void *), void *arg, void *stack, unsigned long flags, int *ptid, void *tls,
		     int *ctid);

int __clone(int (*func)(void *), void *stack, int flags, void *arg, ...)
{
	if (!(flags & CLONE_THREAD))
		return __syscall(SYS_clone, flags, stack, 0, 0, 0);
	va_list ap;
	va_start(ap, arg);
	int *ptid = va_arg(ap, int *);
	void *tls = va_arg(ap, void *);
	int *ctid = va_arg(ap, int *);
	va_end(ap);
	return uf_thread_clone(func, arg, stack, (unsigned)flags, ptid, tls, ctid);
}

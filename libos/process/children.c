/* The calls that make, replace or wait for processes, on a machine that runs exactly one: each fails the way Linux
 * fails it for a process that may not create processes or run programs, as under a seccomp filter that denies
 * them (systemd's SystemCallFilter, container runtimes' profiles), with EPERM. Not EAGAIN, which is what
 * RLIMIT_NPROC gives and what programs retry (shells loop on a failed fork); not ENOSYS, which says the kernel lacks
 * the call. There are never children to wait for (ECHILD). Debug builds name each refused call once per site. */
#include <errno.h>
#include <sched.h>
#include <uf/console.h>

/* vfork too: musl's comes here (libos/libc has no vfork of its own to replace musl's raw-syscall one). */
long uf_sys_fork(void)
{
	return uf_unsupported(-EPERM, "a second process (fork)");
}

/* posix_spawn, system and popen come here for a new process (libos/libc/src/process/posix_spawn.c, and musl's
 * __clone without CLONE_THREAD: libos/libc/src/thread/clone.c); threads are module thread's, through __clone. */
long uf_sys_clone(unsigned long flags)
{
	if (flags & CLONE_THREAD)
		return uf_unsupported(-EPERM, "a thread through the raw clone syscall (pthread_create makes them)");
	return uf_unsupported(-EPERM, "a second process (posix_spawn, system, popen)");
}

long uf_sys_execve(const char *path)
{
	return uf_unsupported(-EPERM, "running another program (%s)", path ? path : "NULL");
}

long uf_sys_execveat(int dirfd, const char *path)
{
	(void)dirfd;
	return uf_unsupported(-EPERM, "running another program (%s)", path ? path : "NULL");
}

long uf_sys_wait4(void)
{
	return -ECHILD;
}

long uf_sys_waitid(void)
{
	return -ECHILD;
}

/* pthread_setname_np: the calling thread's name through prctl, another's through module thread directly (musl
 * writes /proc/self/task/TID/comm, which would link the VFS into every app that names a thread). Module thread is
 * linked wherever another thread exists: a weak reference. */
#define _GNU_SOURCE
#include <string.h>
#include <sys/prctl.h>
#include "pthread_impl.h"

weak char *uf_thread_name(int tid);

int pthread_setname_np(pthread_t thread, const char *name)
{
	size_t len = strnlen(name, 16);
	if (len > 15)
		return ERANGE;
	if (thread == pthread_self())
		return prctl(PR_SET_NAME, (unsigned long)name, 0UL, 0UL, 0UL) ? errno : 0;
	char *to = uf_thread_name && thread->tid > 0 ? uf_thread_name(thread->tid) : 0;
	if (!to)
		return ESRCH;
	memcpy(to, name, len + 1);
	return 0;
}

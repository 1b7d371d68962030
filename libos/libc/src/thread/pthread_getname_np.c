/* pthread_getname_np: as pthread_setname_np.c says, without /proc. */
#define _GNU_SOURCE
#include <string.h>
#include <sys/prctl.h>
#include "pthread_impl.h"

weak char *uf_thread_name(int tid);

int pthread_getname_np(pthread_t thread, char *name, size_t len)
{
	if (len < 16)
		return ERANGE;
	if (thread == pthread_self())
		return prctl(PR_GET_NAME, (unsigned long)name, 0UL, 0UL, 0UL) ? errno : 0;
	const char *from = uf_thread_name && thread->tid > 0 ? uf_thread_name(thread->tid) : 0;
	if (!from)
		return ESRCH;
	memcpy(name, from, 16);
	return 0;
}

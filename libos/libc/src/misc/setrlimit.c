/* setrlimit is prlimit64 on the calling process. musl's own falls back, on kernels without prlimit64, to setting
 * the limit in every thread with __synccall, which pulls in signals, semaphores and the thread list; the library
 * OS has prlimit64 (module process), so the fallback is dead code. Limits belong to the process, not to a
 * thread, on Linux and here, so threads do not bring it back. */
#include <sys/resource.h>
#include "syscall.h"

int setrlimit(int resource, const struct rlimit *rlim)
{
	return syscall(SYS_prlimit64, 0, resource, rlim, 0);
}

weak_alias(setrlimit, setrlimit64);

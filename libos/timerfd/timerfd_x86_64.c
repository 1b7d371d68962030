/* The x86_64 timerfd syscalls: struct itimerspec as musl lays it out is the kernel's. */
#include "timerfd_io.h"

long uf_sys_timerfd_settime(int fd, int flags, const struct itimerspec *new, struct itimerspec *old)
{
	return uf_timerfd_settime(fd, flags, new, old);
}

long uf_sys_timerfd_gettime(int fd, struct itimerspec *cur)
{
	return uf_timerfd_gettime(fd, cur);
}

/* Replaces musl's src/linux/setgroups.c: one call, not one per thread (__synccall, which links the signal
 * machinery): the library OS keeps the groups per process. */
#define _GNU_SOURCE
#include <unistd.h>
#include <grp.h>
#include "syscall.h"

int setgroups(size_t count, const gid_t list[])
{
	return syscall(SYS_setgroups, count, list);
}

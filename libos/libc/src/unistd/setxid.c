/* Replaces musl's src/unistd/setxid.c. musl runs the set*id syscall on every thread (__synccall) and names it by a
 * number known only at run time, so its call reaches every syscall the library OS has: an app that calls setuid
 * would link every module. The library OS keeps one identity per process (module process), so one call does;
 * and naming each syscall by its constant keeps the call to the one it is. */
#include <unistd.h>
#include "syscall.h"

int __setxid(int nr, int id, int eid, int sid)
{
	long r;
	switch (nr) {
	case SYS_setuid: r = __syscall(SYS_setuid, id); break;
	case SYS_setgid: r = __syscall(SYS_setgid, id); break;
	case SYS_setreuid: r = __syscall(SYS_setreuid, id, eid); break;
	case SYS_setregid: r = __syscall(SYS_setregid, id, eid); break;
	case SYS_setresuid: r = __syscall(SYS_setresuid, id, eid, sid); break;
	case SYS_setresgid: r = __syscall(SYS_setresgid, id, eid, sid); break;
	default: r = -ENOSYS;
	}
	return __syscall_ret(r);
}

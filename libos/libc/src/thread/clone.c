/* __clone(func, stack, flags, arg, ...) starts func(arg) in a new process or thread: musl's arch assembly makes the
 * raw clone syscall. Here the library OS answers the clone (module process: uf_sys_clone), which it refuses, with
 * the errno a Linux process gets where making processes is not allowed; posix_spawn, system and popen return it. */
#include "syscall.h"

int __clone(int (*func)(void *), void *stack, int flags, void *arg, ...)
{
	(void)func, (void)arg;
	return __syscall(SYS_clone, flags, stack, 0, 0, 0);
}

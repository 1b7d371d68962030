/* musl's x86_64 __set_thread_area is a raw `syscall`; here it is the arch_prctl the library OS implements. */
#include "syscall.h"

#define ARCH_SET_FS 0x1002

int __set_thread_area(void *p)
{
	return __syscall(SYS_arch_prctl, ARCH_SET_FS, p);
}

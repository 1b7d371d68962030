/* musl's __syscall_ret (a syscall's result to errno), and the library OS's delivery point at a syscall's return
 * to the app: a signal that became pending while the app ran (a timer's) is delivered here, as Linux delivers it
 * on the way back to user mode. Nearly every libc call that makes a syscall returns through here. The hook stays
 * NULL, one test, until module timer arms a timer (uf/signal.h). */
#include <errno.h>
#include "syscall.h"

extern void (*uf_signal_syscall_return)(void);

long __syscall_ret(unsigned long r)
{
	if (uf_signal_syscall_return)
		uf_signal_syscall_return();
	if (r > -4096UL) {
		errno = -r;
		return -1;
	}
	return r;
}

/* Thread cancellation over the library OS's direct calls (musl's own pthread_cancel.c expects raw syscalls).
 * pthread_cancel sets the thread's cancel flag and sends it SIGCANCEL. Deferred cancellation acts at a
 * cancellation point (uf_syscall_cp.c): before its call if the flag is set, or after a call that SIGCANCEL ended
 * with EINTR (module process ends a blocked cancellation point so, without running the handler). Where SIGCANCEL
 * finds the thread elsewhere, its handler acts at once if cancellation is asynchronous, or if the thread is about
 * to make a cancellation point's call (between __cp_begin and __cp_end); otherwise it sends SIGCANCEL again and
 * leaves it blocked: from then on the flag alone tells the next cancellation point. */
#define _GNU_SOURCE
#include <signal.h>
#include <string.h>
#include "pthread_impl.h"
#include "syscall.h"

hidden long __cancel(void);
extern hidden const char __cp_begin[1], __cp_end[1], __cp_cancel[1];

long __cancel(void)
{
	pthread_t self = __pthread_self();
	if (self->canceldisable == PTHREAD_CANCEL_ENABLE || self->cancelasync)
		pthread_exit(PTHREAD_CANCELED);
	/* Masked (musl's own state, in calls that report cancellation themselves): reported once, then off. */
	self->canceldisable = PTHREAD_CANCEL_DISABLE;
	return -ECANCELED;
}

void __testcancel(void)
{
	pthread_t self = __pthread_self();
	if (self->cancel && self->canceldisable == PTHREAD_CANCEL_ENABLE)
		__cancel();
}

static void on_cancel(int sig, siginfo_t *info, void *context)
{
	pthread_t self = __pthread_self();
	ucontext_t *uc = context;
	uintptr_t pc = uc->uc_mcontext.MC_PC;
	(void)sig, (void)info;
	if (!self->cancel || self->canceldisable == PTHREAD_CANCEL_DISABLE)
		return;
	unsigned bit = SIGCANCEL - 1;
	uc->uc_sigmask.__bits[bit / (8 * sizeof(long))] |= 1UL << bit % (8 * sizeof(long));
	if (self->cancelasync || (pc >= (uintptr_t)__cp_begin && pc < (uintptr_t)__cp_end)) {
		uc->uc_mcontext.MC_PC = (uintptr_t)__cp_cancel;
		return;
	}
	__syscall(SYS_tkill, self->tid, SIGCANCEL);
}

int pthread_cancel(pthread_t t)
{
	static int handler_set;
	if (!handler_set) {
		struct sigaction sa = { .sa_flags = SA_SIGINFO | SA_RESTART, .sa_sigaction = on_cancel };
		memset(&sa.sa_mask, -1, sizeof sa.sa_mask);
		__libc_sigaction(SIGCANCEL, &sa, 0);
		handler_set = 1;
	}
	a_store(&t->cancel, 1);
	if (t != pthread_self())
		return pthread_kill(t, SIGCANCEL);
	if (t->canceldisable == PTHREAD_CANCEL_ENABLE && t->cancelasync)
		pthread_exit(PTHREAD_CANCELED);
	return 0;
}

/* The calls that wait for a signal. They block like any other call (halting until an interrupt or the next timer)
 * and are never restarted: a handler that runs ends them with EINTR. */
#include <errno.h>
#include <signal.h>
#include <uf/signal.h>
#include <uf/time.h>

#include "timers.h"

#define SIGSET_SIZE 8           /* the kernel's sigset_t */

long uf_sys_pause(void)
{
	long r;
	while (!(r = uf_signal_wait_point_norestart()))
		uf_time_wait_until(UINT64_MAX);
	return r;
}

/* The mask is the call's until a handler runs; the handler's frame keeps the caller's for its return. */
long uf_sys_rt_sigsuspend(const uint64_t *mask, unsigned long size)
{
	if (size != SIGSET_SIZE)
		return -EINVAL;
	uf_signal_mask_swap(mask);
	while (!uf_signal_wait_point_norestart())
		uf_time_wait_until(UINT64_MAX);
	uf_signal_mask_restore();
	return -EINTR;
}

long uf_timer_sigtimedwait(const uint64_t *set, siginfo_t *info, unsigned long size, const uint64_t *timeout)
{
	if (size != SIGSET_SIZE)
		return -EINVAL;
	uint64_t now = uf_time_monotonic_ns(), deadline = UINT64_MAX;
	if (timeout)
		deadline = *timeout > UINT64_MAX - now ? UINT64_MAX : now + *timeout;
	for (;;) {
		siginfo_t si;
		int sig = uf_signal_take(set, &si);
		if (sig) {
			if (info)
				*info = si;
			return sig;
		}
		long r = uf_signal_wait_point_norestart();
		if (r)
			return r;
		if (uf_time_monotonic_ns() >= deadline)
			return -EAGAIN;
		uf_signal_wait_for(set);        /* a signal of set for the process comes to this thread */
		uf_time_wait_until(deadline);
		uf_signal_wait_for(0);
	}
}

/* Module timer's bodies of its syscalls, in nanoseconds (private to the module): the per-arch syscalls
 * (syscalls_x86_64.c, syscalls_armv7.c) convert to and from their own layouts. */
#ifndef TIMER_TIMERS_H
#define TIMER_TIMERS_H

#include <errno.h>
#include <signal.h>
#include <stdint.h>

/* A timer's setting: the time left until it fires (0: disarmed) and its period (0: it fires once). */
struct uf_timer_value {
	uint64_t value, interval;
};

/* setitimer and getitimer: ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF. */
long uf_itimer_set(int which, const struct uf_timer_value *new, struct uf_timer_value *old);
long uf_itimer_get(int which, struct uf_timer_value *cur);

/* timer_settime and timer_gettime of timer id (timer_create's). value is absolute with TIMER_ABSTIME, in the
 * timer's clock. */
long uf_timer_set(int id, int flags, const struct uf_timer_value *new, struct uf_timer_value *old);
long uf_timer_get(int id, struct uf_timer_value *cur);

/* rt_sigtimedwait: timeout in ns, or NULL to wait as long as it takes. */
long uf_timer_sigtimedwait(const uint64_t *set, siginfo_t *info, unsigned long size, const uint64_t *timeout);

#define UF_NSEC_PER_SEC 1000000000ull

/* sec seconds and frac 1/per_sec-ths (a timeval's or a timespec's) in ns, saturating below UINT64_MAX: 0, or
 * -EINVAL when out of range. */
static inline long uf_timer_ns(long long sec, long long frac, uint64_t per_sec, uint64_t *ns)
{
	if (sec < 0 || frac < 0 || (uint64_t)frac >= per_sec)
		return -EINVAL;
	uint64_t max = (UINT64_MAX - 1) / UF_NSEC_PER_SEC - 1;
	*ns = (uint64_t)sec > max ? UINT64_MAX - 1 : (uint64_t)sec * UF_NSEC_PER_SEC + (uint64_t)frac * (UF_NSEC_PER_SEC / per_sec);
	return 0;
}

/* ns as seconds and 1/per_sec-ths, rounded up: time left on a timer never reads 0 before it fires. */
static inline void uf_timer_split(uint64_t ns, uint64_t per_sec, long long *sec, long long *frac)
{
	uint64_t unit = UF_NSEC_PER_SEC / per_sec, units = ns / unit + (ns % unit != 0);
	*sec = (long long)(units / per_sec);
	*frac = (long long)(units % per_sec);
}

#endif

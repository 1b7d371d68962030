/* Module timer's syscalls on x86_64: the kernel's timeval, timespec, itimerval and itimerspec are musl's. */
#include <errno.h>
#include <signal.h>
#include <sys/time.h>
#include <time.h>

#include "timers.h"

static long from_timeval(const struct timeval *tv, uint64_t *ns)
{
	return uf_timer_ns(tv->tv_sec, tv->tv_usec, 1000000, ns);
}

static long from_timespec(const struct timespec *ts, uint64_t *ns)
{
	return uf_timer_ns(ts->tv_sec, ts->tv_nsec, UF_NSEC_PER_SEC, ns);
}

static struct timeval timeval_of(uint64_t ns)
{
	long long sec, usec;
	uf_timer_split(ns, 1000000, &sec, &usec);
	return (struct timeval){ .tv_sec = sec, .tv_usec = usec };
}

static struct timespec timespec_of(uint64_t ns)
{
	long long sec, nsec;
	uf_timer_split(ns, UF_NSEC_PER_SEC, &sec, &nsec);
	return (struct timespec){ .tv_sec = sec, .tv_nsec = nsec };
}

/* A NULL new value disarms, as Linux still allows. */
long uf_sys_setitimer(int which, const struct itimerval *new, struct itimerval *old)
{
	struct uf_timer_value n = { 0 }, o;
	if (new && (from_timeval(&new->it_value, &n.value) || from_timeval(&new->it_interval, &n.interval)))
		return -EINVAL;
	long r = uf_itimer_set(which, &n, &o);
	if (!r && old)
		*old = (struct itimerval){ .it_interval = timeval_of(o.interval), .it_value = timeval_of(o.value) };
	return r;
}

long uf_sys_getitimer(int which, struct itimerval *cur)
{
	struct uf_timer_value c;
	long r = uf_itimer_get(which, &c);
	if (!r)
		*cur = (struct itimerval){ .it_interval = timeval_of(c.interval), .it_value = timeval_of(c.value) };
	return r;
}

long uf_sys_timer_settime(int id, int flags, const struct itimerspec *new, struct itimerspec *old)
{
	struct uf_timer_value n, o;
	if (from_timespec(&new->it_value, &n.value) || from_timespec(&new->it_interval, &n.interval))
		return -EINVAL;
	long r = uf_timer_set(id, flags, &n, &o);
	if (!r && old)
		*old = (struct itimerspec){ .it_interval = timespec_of(o.interval), .it_value = timespec_of(o.value) };
	return r;
}

long uf_sys_timer_gettime(int id, struct itimerspec *cur)
{
	struct uf_timer_value c;
	long r = uf_timer_get(id, &c);
	if (!r)
		*cur = (struct itimerspec){ .it_interval = timespec_of(c.interval), .it_value = timespec_of(c.value) };
	return r;
}

long uf_sys_rt_sigtimedwait(const uint64_t *set, siginfo_t *info, const struct timespec *ts, unsigned long size)
{
	uint64_t timeout;
	if (ts && from_timespec(ts, &timeout))
		return -EINVAL;
	return uf_timer_sigtimedwait(set, info, size, ts ? &timeout : 0);
}

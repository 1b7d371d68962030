/* Module timer's syscalls on 32-bit ARM. musl passes the interval timers' values as four longs (interval then
 * value, seconds then microseconds), and calls the *_time64 timer and sigtimedwait syscalls with long long pairs
 * when a time needs more than 32 bits (or, for timer_settime, when it wants the old value back), the old names
 * with long pairs otherwise: both exist. */
#include <errno.h>
#include <signal.h>
#include <time.h>

#include "timers.h"

static void to_longs(const struct uf_timer_value *v, uint64_t per_sec, long out[4])
{
	long long s, f;
	uf_timer_split(v->interval, per_sec, &s, &f);
	out[0] = (long)s, out[1] = (long)f;
	uf_timer_split(v->value, per_sec, &s, &f);
	out[2] = (long)s, out[3] = (long)f;
}

static long from_longs(const long in[4], uint64_t per_sec, struct uf_timer_value *v)
{
	return uf_timer_ns(in[0], in[1], per_sec, &v->interval) ? -EINVAL : uf_timer_ns(in[2], in[3], per_sec, &v->value);
}

long uf_sys_setitimer(int which, const long new[4], long old[4])
{
	struct uf_timer_value n = { 0 }, o;
	if (new && from_longs(new, 1000000, &n))
		return -EINVAL;
	long r = uf_itimer_set(which, &n, &o);
	if (!r && old)
		to_longs(&o, 1000000, old);
	return r;
}

long uf_sys_getitimer(int which, long cur[4])
{
	struct uf_timer_value c;
	long r = uf_itimer_get(which, &c);
	if (!r)
		to_longs(&c, 1000000, cur);
	return r;
}

long uf_sys_timer_settime32(int id, int flags, const long new[4], long old[4])
{
	struct uf_timer_value n, o;
	if (from_longs(new, UF_NSEC_PER_SEC, &n))
		return -EINVAL;
	long r = uf_timer_set(id, flags, &n, &o);
	if (!r && old)
		to_longs(&o, UF_NSEC_PER_SEC, old);
	return r;
}

static struct timespec timespec_of(uint64_t ns)
{
	long long sec, nsec;
	uf_timer_split(ns, UF_NSEC_PER_SEC, &sec, &nsec);
	return (struct timespec){ .tv_sec = sec, .tv_nsec = (long)nsec };
}

long uf_sys_timer_settime64(int id, int flags, const long long new[4], struct itimerspec *old)
{
	struct uf_timer_value n, o;
	if (uf_timer_ns(new[0], new[1], UF_NSEC_PER_SEC, &n.interval) ||
	    uf_timer_ns(new[2], new[3], UF_NSEC_PER_SEC, &n.value))
		return -EINVAL;
	long r = uf_timer_set(id, flags, &n, &o);
	if (!r && old)
		*old = (struct itimerspec){ .it_interval = timespec_of(o.interval), .it_value = timespec_of(o.value) };
	return r;
}

long uf_sys_timer_gettime64(int id, struct itimerspec *cur)
{
	struct uf_timer_value c;
	long r = uf_timer_get(id, &c);
	if (!r)
		*cur = (struct itimerspec){ .it_interval = timespec_of(c.interval), .it_value = timespec_of(c.value) };
	return r;
}

long uf_sys_rt_sigtimedwait(const uint64_t *set, siginfo_t *info, const long ts[2], unsigned long size)
{
	uint64_t timeout;
	if (ts && uf_timer_ns(ts[0], ts[1], UF_NSEC_PER_SEC, &timeout))
		return -EINVAL;
	return uf_timer_sigtimedwait(set, info, size, ts ? &timeout : 0);
}

long uf_sys_rt_sigtimedwait_time64(const uint64_t *set, siginfo_t *info, const long long ts[2], unsigned long size)
{
	uint64_t timeout;
	if (ts && uf_timer_ns(ts[0], ts[1], UF_NSEC_PER_SEC, &timeout))
		return -EINVAL;
	return uf_timer_sigtimedwait(set, info, size, ts ? &timeout : 0);
}

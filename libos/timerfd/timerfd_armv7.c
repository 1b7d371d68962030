/* The 32-bit ARM timerfd syscalls. musl passes {interval sec, interval ns, value sec, value ns} as four longs
 * (timerfd_settime32/gettime32, when the times fit) or four long longs (the time64 calls). */
#include <errno.h>
#include <limits.h>
#include "timerfd_io.h"

/* A nanosecond count out of range stays out of range in a long (-1), so settime says EINVAL. */
static long nsec(long long ns)
{
	return ns >= 0 && ns < 1000000000 ? (long)ns : -1;
}

static struct itimerspec from_words(long long is, long long ins, long long vs, long long vns)
{
	return (struct itimerspec){ .it_interval = { .tv_sec = is, .tv_nsec = nsec(ins) },
				    .it_value = { .tv_sec = vs, .tv_nsec = nsec(vns) } };
}

static long put_longs(const struct itimerspec *t, long *out)
{
	if (t->it_interval.tv_sec > LONG_MAX || t->it_value.tv_sec > LONG_MAX)
		return -EOVERFLOW;
	out[0] = (long)t->it_interval.tv_sec;
	out[1] = t->it_interval.tv_nsec;
	out[2] = (long)t->it_value.tv_sec;
	out[3] = t->it_value.tv_nsec;
	return 0;
}

static void put_long_longs(const struct itimerspec *t, long long *out)
{
	out[0] = t->it_interval.tv_sec;
	out[1] = t->it_interval.tv_nsec;
	out[2] = t->it_value.tv_sec;
	out[3] = t->it_value.tv_nsec;
}

long uf_sys_timerfd_settime32(int fd, int flags, const long *new, long *old)
{
	struct itimerspec n = from_words(new[0], new[1], new[2], new[3]), o;
	long r = uf_timerfd_settime(fd, flags, &n, old ? &o : 0);
	return r < 0 || !old ? r : put_longs(&o, old);
}

long uf_sys_timerfd_gettime32(int fd, long *cur)
{
	struct itimerspec c;
	long r = uf_timerfd_gettime(fd, &c);
	return r < 0 ? r : put_longs(&c, cur);
}

long uf_sys_timerfd_settime64(int fd, int flags, const long long *new, long long *old)
{
	struct itimerspec n = from_words(new[0], new[1], new[2], new[3]), o;
	long r = uf_timerfd_settime(fd, flags, &n, old ? &o : 0);
	if (r == 0 && old)
		put_long_longs(&o, old);
	return r;
}

long uf_sys_timerfd_gettime64(int fd, long long *cur)
{
	struct itimerspec c;
	long r = uf_timerfd_gettime(fd, &c);
	if (r == 0)
		put_long_longs(&c, cur);
	return r;
}

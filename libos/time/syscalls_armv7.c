/* The time syscalls on 32-bit ARM. musl calls the *_time64 ones, whose struct timespec is its own (64-bit
 * time_t), but when the seconds fit 32 bits it calls the old names (nanosleep, clock_nanosleep, clock_getres)
 * with the kernel's old {long, long} timespec: both sets exist, the old one converting. */
#include <errno.h>
#include <time.h>
#include <uf/time.h>

struct timespec32 {
	long sec, nsec;
};

long uf_sys_clock_gettime64(int clockid, struct timespec *ts) { return uf_time_clock_gettime(clockid, ts); }
long uf_sys_clock_getres_time64(int clockid, struct timespec *res) { return uf_time_clock_getres(clockid, res); }

long uf_sys_clock_nanosleep_time64(int clockid, int flags, const struct timespec *req, struct timespec *rem)
{
	return uf_time_clock_nanosleep(clockid, flags, req, rem);
}

static const struct timespec *widen(const struct timespec32 *in, struct timespec *out)
{
	if (!in)
		return 0;
	*out = (struct timespec){ .tv_sec = in->sec, .tv_nsec = in->nsec };
	return out;
}

long uf_sys_clock_getres(int clockid, struct timespec32 *res)
{
	struct timespec wide;
	long r = uf_time_clock_getres(clockid, res ? &wide : 0);
	if (r == 0 && res)
		*res = (struct timespec32){ .sec = (long)wide.tv_sec, .nsec = wide.tv_nsec };
	return r;
}

static void narrow(const struct timespec *in, struct timespec32 *out)
{
	if (out)
		*out = (struct timespec32){ .sec = (long)in->tv_sec, .nsec = in->tv_nsec };
}

long uf_sys_nanosleep(const struct timespec32 *req, struct timespec32 *rem)
{
	struct timespec wide, left;
	long r = uf_time_nanosleep(widen(req, &wide), &left);
	if (r == -EINTR)
		narrow(&left, rem);
	return r;
}

long uf_sys_clock_nanosleep(int clockid, int flags, const struct timespec32 *req, struct timespec32 *rem)
{
	struct timespec wide, left = { 0 };
	long r = uf_time_clock_nanosleep(clockid, flags, widen(req, &wide), &left);
	if (r == -EINTR && !(flags & TIMER_ABSTIME))
		narrow(&left, rem);
	return r;
}

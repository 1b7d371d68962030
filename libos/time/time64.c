/* 32-bit ARM: musl calls the 64-bit-time syscalls, whose struct timespec is musl's own (64-bit time_t), so they
 * are the same functions under the names musl uses there. */
#include <time.h>
#include <uf/time.h>

long uf_sys_clock_gettime64(int clockid, struct timespec *ts)
{
	return uf_sys_clock_gettime(clockid, ts);
}

long uf_sys_clock_getres_time64(int clockid, struct timespec *res)
{
	return uf_sys_clock_getres(clockid, res);
}

long uf_sys_clock_nanosleep_time64(int clockid, int flags, const struct timespec *req, struct timespec *rem)
{
	return uf_sys_clock_nanosleep(clockid, flags, req, rem);
}

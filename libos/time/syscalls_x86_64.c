/* The time syscalls on x86_64: the kernel's struct timespec and timeval are musl's, so each is the shared
 * implementation under its Linux name. */
#include <sys/time.h>
#include <time.h>
#include <uf/time.h>

long uf_sys_clock_gettime(int clockid, struct timespec *ts) { return uf_time_clock_gettime(clockid, ts); }
long uf_sys_clock_getres(int clockid, struct timespec *res) { return uf_time_clock_getres(clockid, res); }
long uf_sys_gettimeofday(struct timeval *tv, struct timezone *tz) { return uf_time_gettimeofday(tv, tz); }
long uf_sys_nanosleep(const struct timespec *req, struct timespec *rem) { return uf_time_nanosleep(req, rem); }

long uf_sys_clock_nanosleep(int clockid, int flags, const struct timespec *req, struct timespec *rem)
{
	return uf_time_clock_nanosleep(clockid, flags, req, rem);
}

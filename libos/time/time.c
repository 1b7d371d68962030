/* Arch-neutral part of module time: the wall-clock offset, sleeping, and the syscalls, over the arch layer
 * in arch.h.
 *
 * One process, one CPU: without threads, every CPU-time clock is the monotonic clock (the process is all that
 * runs); with threads, module thread counts each thread's time on the CPU. Nothing can set the clocks
 * (clock_settime stays ENOSYS). A sleep is a blocking call like any other: a signal handler interrupts it with
 * EINTR and the time left (module process's wait point), and it wakes up for module timer's timers. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/times.h>
#include <time.h>

#include <uf/signal.h>
#include <uf/thread.h>
#include <uf/time.h>

#include "arch.h"

#include <uf/console.h>

#define NSEC_PER_SEC 1000000000ull
#define USER_HZ 100     /* the unit of times(), as musl's sysconf(_SC_CLK_TCK) says */

void uf_time_init(void)
{
	uf_arch_clock_boot();
}

uint64_t uf_time_monotonic_ns(void)
{
	return uf_arch_clock_ns();
}

/* realtime = monotonic + this (mod 2^64), from the wall clock the first time someone asks. */
static uint64_t realtime_offset(void)
{
	static uint64_t offset;
	static int known;

	if (!known) {
		known = 1;
		if (uf_arch_wall_offset(&offset)) {
			offset = 0;
#ifdef UF_DEBUG
			uf_printk("time: no RTC; CLOCK_REALTIME counts from boot\n");
#endif
		}
	}
	return offset;
}

uint64_t uf_time_realtime_ns(void)
{
	uint64_t offset = realtime_offset();
	return uf_arch_clock_ns() + offset;
}

static uint64_t wake_at = UINT64_MAX, alarm_at = UINT64_MAX;

/* The timer interrupt for module thread's alarm or module timer's next timer, whichever comes first. */
static void rearm(void)
{
	uf_arch_alarm(alarm_at < wake_at ? alarm_at : wake_at);
}

void uf_time_alarm(uint64_t monotonic_ns)
{
	alarm_at = monotonic_ns;
	rearm();
}

/* Both are spent: module thread asks again for what it still needs (uf_thread_alarm), and module timer's next
 * time comes again with the timers that the interrupt fires. */
void uf_time_alarm_fired(void)
{
	alarm_at = wake_at = UINT64_MAX;
#ifdef UF_THREADS
	uf_thread_alarm();
#endif
}

void uf_time_wake_at(uint64_t monotonic_ns)
{
	wake_at = monotonic_ns;
	if (UF_THREADED)
		rearm();
}

static int (*arm_source)(void);

void uf_time_on_wait(int (*arm)(void))
{
	arm_source = arm;
}

void uf_time_wait_until(uint64_t monotonic_ns)
{
	if (wake_at < monotonic_ns)
		monotonic_ns = wake_at;
	if (arm_source && arm_source())
		return;                 /* its event came before its interrupt was on: the caller looks again now */
#ifdef UF_THREADS
	uf_thread_wait_until(monotonic_ns);
#else
	if (uf_arch_clock_ns() < monotonic_ns)
		uf_arch_clock_wait(monotonic_ns);
#endif
}

const char *uf_time_source(void)
{
	return uf_arch_clock_source();
}

/* What a clock id reads: the monotonic clock, the wall clock, CPU time, or nothing (-EINVAL). */
enum clock { NONE, MONO, REAL, CPU };

static enum clock clock_of(clockid_t id)
{
	switch (id) {
	case CLOCK_REALTIME:
	case CLOCK_REALTIME_COARSE:
	case CLOCK_TAI:         /* Linux's TAI offset is 0 until NTP sets it */
		return REAL;
	case CLOCK_MONOTONIC:
	case CLOCK_MONOTONIC_RAW:
	case CLOCK_MONOTONIC_COARSE:
	case CLOCK_BOOTTIME:
		return MONO;
	case CLOCK_PROCESS_CPUTIME_ID:
	case CLOCK_THREAD_CPUTIME_ID:
		return CPU;
	default:
		return UF_THREADED && id < 0 ? CPU : NONE;     /* a thread's or the process's (pthread_getcpuclockid) */
	}
}

/* CPU time: the thread's or the process's, module thread's count; without threads, all the time there is. */
static long cpu_ns(clockid_t id, uint64_t *ns)
{
#ifdef UF_THREADS
	return uf_thread_cpu_ns(id, ns);
#else
	(void)id;
	*ns = uf_arch_clock_ns();
	return 0;
#endif
}

/* The clocks Linux can sleep on (the others it knows give -EOPNOTSUPP). */
static int can_sleep_on(clockid_t id)
{
	return id == CLOCK_REALTIME || id == CLOCK_MONOTONIC || id == CLOCK_BOOTTIME || id == CLOCK_TAI ||
	       id == CLOCK_PROCESS_CPUTIME_ID;
}

static uint64_t read_clock(enum clock c)
{
	return c == REAL ? uf_time_realtime_ns() : uf_arch_clock_ns();
}

/* A caller's timespec in ns, saturating (a sleep until 2554 or later is a sleep forever). */
static long from_timespec(const struct timespec *ts, uint64_t *ns)
{
	if (!ts)
		return -EFAULT;
	if (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= (long)NSEC_PER_SEC)
		return -EINVAL;
	if ((uint64_t)ts->tv_sec > (UINT64_MAX - (uint64_t)ts->tv_nsec) / NSEC_PER_SEC)
		*ns = UINT64_MAX;
	else
		*ns = (uint64_t)ts->tv_sec * NSEC_PER_SEC + (uint64_t)ts->tv_nsec;
	return 0;
}

static void to_timespec(uint64_t ns, struct timespec *ts)
{
	ts->tv_sec = (time_t)(ns / NSEC_PER_SEC);
	ts->tv_nsec = (long)(ns % NSEC_PER_SEC);
}

static uint64_t add_saturating(uint64_t a, uint64_t b)
{
	return a + b < a ? UINT64_MAX : a + b;
}

long uf_time_clock_gettime(clockid_t id, struct timespec *ts)
{
	enum clock c = clock_of(id);
	if (c == NONE)
		return -EINVAL;
	if (!ts)
		return -EFAULT;
	uint64_t ns;
	if (c != CPU)
		ns = read_clock(c);
	else if (cpu_ns(id, &ns))
		return -EINVAL;
	to_timespec(ns, ts);
	return 0;
}

/* 1 ns for every clock, COARSE ones included: they read the same TSC-based clock as the others. */
long uf_time_clock_getres(clockid_t id, struct timespec *res)
{
	if (clock_of(id) == NONE)
		return -EINVAL;
	if (res) {
		res->tv_sec = 0;
		res->tv_nsec = 1;
	}
	return 0;
}

/* musl's gettimeofday() calls clock_gettime; this is for code that makes the syscall itself. */
long uf_time_gettimeofday(struct timeval *tv, struct timezone *tz)
{
	if (tv) {
		uint64_t ns = uf_time_realtime_ns();
		tv->tv_sec = (time_t)(ns / NSEC_PER_SEC);
		tv->tv_usec = (suseconds_t)(ns % NSEC_PER_SEC / 1000);
	}
	if (tz) {               /* UTC, no DST: what Linux reports unless settimeofday changed it */
		tz->tz_minuteswest = 0;
		tz->tz_dsttime = 0;
	}
	return 0;
}

/* Sleeps until monotonic time `until`: 0, or -EINTR when a signal handler ran, with the time left in *left. */
static long sleep_until(uint64_t until, uint64_t *left)
{
	for (;;) {
		if (uf_arch_clock_ns() >= until)
			return 0;
		uf_time_wait_until(until);
		if (uf_signal_wait_point_norestart()) {
			uint64_t now = uf_arch_clock_ns();
			*left = until > now ? until - now : 0;
			return -EINTR;
		}
	}
}

/* Linux sleeps on CLOCK_MONOTONIC here. musl's nanosleep() reaches it as clock_nanosleep(REALTIME, 0). */
long uf_time_nanosleep(const struct timespec *req, struct timespec *rem)
{
	uint64_t ns, left;
	long err = from_timespec(req, &ns);
	if (err)
		return err;
	err = sleep_until(add_saturating(uf_arch_clock_ns(), ns), &left);
	if (err && rem)
		to_timespec(left, rem);
	return err;
}

long uf_time_clock_nanosleep(clockid_t id, int flags, const struct timespec *req, struct timespec *rem)
{
	enum clock c = clock_of(id);
	uint64_t ns, now, until, left;
	long err;

	if (c == NONE)
		return -EINVAL;
	if (!can_sleep_on(id))
		return uf_unsupported(-EOPNOTSUPP, "sleeping on clock %d", id);
	if ((err = from_timespec(req, &ns)))
		return err;
	now = uf_arch_clock_ns();
	if (!(flags & TIMER_ABSTIME))
		until = add_saturating(now, ns);
	else if (c != REAL)     /* the process's CPU time is slept on as monotonic time: near enough on one CPU */
		until = ns;
	else {  /* a wall-clock deadline, turned into a monotonic one (nothing moves the wall clock meanwhile) */
		uint64_t real = now + realtime_offset();
		if (ns <= real)
			return 0;
		until = add_saturating(now, ns - real);
	}
	err = sleep_until(until, &left);
	if (err && rem && !(flags & TIMER_ABSTIME))     /* an absolute sleep is restarted as it is */
		to_timespec(left, rem);
	return err;
}

/* The process's CPU time is user time (the library OS's is not told apart); children never ran. */
long uf_sys_times(struct tms *buf)
{
	uint64_t cpu;
	cpu_ns(CLOCK_PROCESS_CPUTIME_ID, &cpu);
	if (buf) {
		buf->tms_utime = (clock_t)(cpu / (NSEC_PER_SEC / USER_HZ));
		buf->tms_stime = 0;
		buf->tms_cutime = 0;
		buf->tms_cstime = 0;
	}
	return (clock_t)(uf_arch_clock_ns() / (NSEC_PER_SEC / USER_HZ));
}

/* The kernel's struct rusage: longs, the times as {seconds, microseconds} (musl widens them on 32-bit ARM). */
struct krusage {
	long utime[2], stime[2];
	long rest[14];          /* maxrss ... nivcsw: nothing counted */
};

long uf_sys_getrusage(int who, struct krusage *usage)
{
	uint64_t cpu = 0;
	if (who != RUSAGE_SELF && who != RUSAGE_CHILDREN && who != RUSAGE_THREAD)
		return -EINVAL;
	if (who != RUSAGE_CHILDREN)
		cpu_ns(who == RUSAGE_THREAD ? CLOCK_THREAD_CPUTIME_ID : CLOCK_PROCESS_CPUTIME_ID, &cpu);
	memset(usage, 0, sizeof *usage);
	usage->utime[0] = (long)(cpu / NSEC_PER_SEC);
	usage->utime[1] = (long)(cpu % NSEC_PER_SEC / 1000);
	return 0;
}

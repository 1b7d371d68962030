/* Timers that generate signals: the interval timers (setitimer; musl's alarm is setitimer on ITIMER_REAL) and
 * POSIX timers (timer_create with SIGEV_SIGNAL, SIGEV_NONE or SIGEV_THREAD_ID; musl makes SIGEV_THREAD ones with
 * a thread of its own that waits for the timer's SIGEV_THREAD_ID signal).
 *
 * All of them count monotonic time. The process's CPU time is all the time there is (module time's CPU-time
 * clocks say the same), so ITIMER_VIRTUAL and ITIMER_PROF run as ITIMER_REAL does, with their own signals, and
 * so do timers on CLOCK_PROCESS_CPUTIME_ID; a CLOCK_REALTIME deadline is turned into a monotonic one when set
 * (nothing moves the wall clock). Module process checks the timers at each delivery point (uf_signal_use_timers),
 * and every blocking wait ends when the next one is due (uf_time_wake_at), so a timer's signal arrives on time in
 * a blocking call, and, while the app runs with interrupts off (no threads), at its next syscall; with threads,
 * the timer's interrupt fires it on time wherever the app is. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <uf/signal.h>
#include <uf/thread.h>
#include <uf/time.h>

#include "timers.h"

#define TIMER_MAX 32            /* POSIX timers at once (Linux allows thousands; timer_create says EAGAIN) */
#define DISARMED UINT64_MAX

/* The kernel's struct sigevent, as musl's timer_create passes it. */
struct ksigevent {
	union sigval value;
	int signo;
	int notify;
	int tid;
};

struct timer {
	int used;
	clockid_t clock;
	int notify;             /* SIGEV_SIGNAL, SIGEV_NONE or SIGEV_THREAD_ID */
	int tid;                /* SIGEV_THREAD_ID's thread */
	int signo;
	union sigval value;
	uint64_t deadline;      /* monotonic ns; DISARMED */
	uint64_t interval;
	int queued;             /* its siginfo waits for delivery: expirations meanwhile are overruns */
	int overrun, last_overrun;
};

static struct timer itimers[3] = {      /* ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF */
	{ .used = 1, .signo = SIGALRM, .deadline = DISARMED },
	{ .used = 1, .signo = SIGVTALRM, .deadline = DISARMED },
	{ .used = 1, .signo = SIGPROF, .deadline = DISARMED },
};
static struct timer timers[TIMER_MAX];

/* Fires t, due at or before now: its signal, or an overrun while the last one waits; then its next deadline. */
static void fire(struct timer *t, uint64_t now)
{
	int expirations = 1;
	if (t->interval) {
		uint64_t late = (now - t->deadline) / t->interval;
		expirations += late > INT32_MAX ? INT32_MAX : (int)late;
		t->deadline += (late + 1) * t->interval;
	} else {
		t->deadline = DISARMED;
	}
	if (t >= itimers && t < itimers + 3) {  /* interval timers count no overruns */
		siginfo_t info = { .si_signo = t->signo, .si_code = SI_KERNEL };
		uf_signal_queue(t->signo, &info, 0);
		return;
	}
	if (t->notify == SIGEV_NONE)
		return;
	if (t->queued) {
		t->overrun = t->overrun > INT32_MAX - expirations ? INT32_MAX : t->overrun + expirations;
		return;
	}
	siginfo_t info = { .si_signo = t->signo, .si_code = SI_TIMER };
	info.si_timerid = (int)(t - timers);
	info.si_value = t->value;
	t->overrun = expirations - 1;
	t->queued = (t->notify == SIGEV_THREAD_ID ? uf_signal_queue_thread(t->tid, t->signo, &info) :
		     uf_signal_queue(t->signo, &info, 0)) > 0;
}

static int check(void)
{
	uint64_t now = uf_time_monotonic_ns(), next = DISARMED;
	for (struct timer *t = itimers; t < itimers + 3; t++) {
		if (t->deadline <= now)
			fire(t, now);
		if (t->deadline < next)
			next = t->deadline;
	}
	for (struct timer *t = timers; t < timers + TIMER_MAX; t++) {
		if (!t->used)
			continue;
		if (t->deadline <= now)
			fire(t, now);
		if (t->deadline < next)
			next = t->deadline;
	}
	uf_time_wake_at(next);
	return next != DISARMED;
}

/* A SI_TIMER siginfo is being delivered (or discarded): it says the overruns counted until now. */
static void delivered(siginfo_t *info)
{
	int id = info->si_timerid;
	if (id < 0 || id >= TIMER_MAX || !timers[id].used || !timers[id].queued)
		return;
	struct timer *t = &timers[id];
	info->si_overrun = t->overrun;
	t->last_overrun = t->overrun;
	t->overrun = 0;
	t->queued = 0;
}

static const struct uf_signal_timers hooks = { check, delivered };

static void get(const struct timer *t, struct uf_timer_value *cur)
{
	uint64_t now = uf_time_monotonic_ns();
	cur->interval = t->interval;
	cur->value = t->deadline == DISARMED ? 0 : t->deadline > now ? t->deadline - now : 1;
}

/* Arms t to fire after value ns (monotonic deadline `at` when absolute), then every interval ns. */
static void arm(struct timer *t, uint64_t at, uint64_t interval)
{
	t->deadline = at;
	t->interval = interval;
	uf_signal_use_timers(&hooks);   /* which fires it if it is due already */
}

static uint64_t after(uint64_t ns)
{
	uint64_t now = uf_time_monotonic_ns();
	return ns > DISARMED - 1 - now ? DISARMED - 1 : now + ns;
}

long uf_itimer_set(int which, const struct uf_timer_value *new, struct uf_timer_value *old)
{
	if (which < ITIMER_REAL || which > ITIMER_PROF)
		return -EINVAL;
	struct timer *t = &itimers[which];
	if (old)
		get(t, old);
	if (new)
		arm(t, new->value ? after(new->value) : DISARMED, new->value ? new->interval : 0);
	return 0;
}

long uf_itimer_get(int which, struct uf_timer_value *cur)
{
	if (which < ITIMER_REAL || which > ITIMER_PROF)
		return -EINVAL;
	get(&itimers[which], cur);
	return 0;
}

static struct timer *timer_of(int id)
{
	return id >= 0 && id < TIMER_MAX && timers[id].used ? &timers[id] : 0;
}

static int thread_exists(int tid)
{
#ifdef UF_THREADS
	return tid > 0 && uf_thread_signals(tid);
#else
	return tid == 1;
#endif
}

long uf_sys_timer_create(clockid_t clock, const struct ksigevent *ev, int *id)
{
	switch (clock) {
	case CLOCK_REALTIME: case CLOCK_MONOTONIC: case CLOCK_BOOTTIME: case CLOCK_TAI:
	case CLOCK_PROCESS_CPUTIME_ID: case CLOCK_THREAD_CPUTIME_ID:
	case CLOCK_REALTIME_ALARM: case CLOCK_BOOTTIME_ALARM:  /* the machine never suspends: plain timers */
		break;
	case CLOCK_MONOTONIC_RAW: case CLOCK_REALTIME_COARSE: case CLOCK_MONOTONIC_COARSE:
		return -EOPNOTSUPP;     /* as Linux: no timers on these */
	default:
		return -EINVAL;
	}
	struct ksigevent e = { .signo = SIGALRM, .notify = SIGEV_SIGNAL };
	if (ev)
		e = *ev;
	if (e.notify == SIGEV_THREAD_ID && !thread_exists(e.tid))
		return -EINVAL;
	if (e.notify != SIGEV_SIGNAL && e.notify != SIGEV_NONE && e.notify != SIGEV_THREAD_ID)
		return -EINVAL;
	if (e.notify != SIGEV_NONE && (e.signo < 1 || e.signo >= _NSIG))
		return -EINVAL;
	int n = 0;
	while (n < TIMER_MAX && timers[n].used)
		n++;
	if (n == TIMER_MAX)
		return -EAGAIN;
	if (!ev)
		e.value.sival_int = n;
	timers[n] = (struct timer){ .used = 1, .clock = clock, .notify = e.notify, .tid = e.tid, .signo = e.signo,
				    .value = e.value, .deadline = DISARMED };
	*id = n;
	return 0;
}

long uf_timer_set(int id, int flags, const struct uf_timer_value *new, struct uf_timer_value *old)
{
	struct timer *t = timer_of(id);
	if (!t)
		return -EINVAL;
	if (old)
		get(t, old);
	uint64_t at = DISARMED;
	if (new->value && !(flags & TIMER_ABSTIME)) {
		at = after(new->value);
	} else if (new->value) {        /* absolute, in the timer's clock: the wall clock's or the monotonic one */
		uint64_t now = uf_time_monotonic_ns();
		int wall = t->clock == CLOCK_REALTIME || t->clock == CLOCK_TAI || t->clock == CLOCK_REALTIME_ALARM;
		uint64_t clock_now = wall ? uf_time_realtime_ns() : now;
		at = new->value <= clock_now ? now : after(new->value - clock_now);
	}
	arm(t, at, new->value ? new->interval : 0);
	return 0;
}

long uf_timer_get(int id, struct uf_timer_value *cur)
{
	struct timer *t = timer_of(id);
	if (!t)
		return -EINVAL;
	check();                /* one that is due fires first: then it is disarmed, or armed for its next time */
	get(t, cur);
	return 0;
}

long uf_sys_timer_getoverrun(int id)
{
	struct timer *t = timer_of(id);
	return t ? t->last_overrun : -EINVAL;
}

/* A signal it queued is still delivered (as on Linux), without its overrun count. */
long uf_sys_timer_delete(int id)
{
	struct timer *t = timer_of(id);
	if (!t)
		return -EINVAL;
	*t = (struct timer){ 0 };
	check();
	return 0;
}

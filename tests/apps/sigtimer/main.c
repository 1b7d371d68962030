/* POSIX timers with SIGEV_SIGNAL, as tests/integration/test_signals.py's "timer" behaviour checks them (its lines
 * as sigprobe's: "timer: ...", "FAIL" where a check did not hold). timer_create links module thread, for its
 * SIGEV_THREAD kind (tests/apps/threadprobe checks that one): sigprobe stays a single-threaded image. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static void check(const char *name, int ok, const char *what)
{
	printf("%s: %s%s\n", name, ok ? "" : "FAIL ", what);
}

static const char *code_name(int code)
{
	return code == SI_TIMER ? "SI_TIMER" : "?";
}

int main(void)
{
	int value;
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN + 1);
	sigprocmask(SIG_BLOCK, &set, 0);
	timer_t t;
	struct sigevent ev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGRTMIN + 1,
			       .sigev_value.sival_ptr = &value };
	if (timer_create(CLOCK_MONOTONIC, &ev, &t)) {
		printf("timer: FAIL timer_create: %s\n", strerror(errno));
		return 1;
	}
	struct itimerspec once = { .it_value = { 0, 50000000 } };
	timer_settime(t, 0, &once, 0);
	siginfo_t si;
	int sig = sigwaitinfo(&set, &si);
	printf("timer: signo=%d code=%s value=%s\n", sig == SIGRTMIN + 1 ? si.si_signo - SIGRTMIN : -1,
	       code_name(si.si_code), si.si_value.sival_ptr == &value ? "ok" : "wrong");
	/* Periodic, 10 ms, while its signal stays blocked for 300 ms: one signal, the rest overruns. */
	struct itimerspec every = { .it_interval = { 0, 10000000 }, .it_value = { 0, 10000000 } }, cur;
	timer_settime(t, 0, &every, 0);
	struct timespec nap = { 0, 300000000 };
	nanosleep(&nap, 0);
	sigwaitinfo(&set, &si);
	int overrun = timer_getoverrun(t);
	timer_gettime(t, &cur);
	printf("timer: overrun=%d getoverrun=%d interval=%ldns\n", si.si_overrun, overrun, cur.it_interval.tv_nsec);
	check("timer", si.si_overrun >= 10 && overrun == si.si_overrun && cur.it_interval.tv_nsec == 10000000,
	      "overruns counted while the signal waited");
	check("timer", timer_delete(t) == 0, "timer_delete");
	return 0;
}


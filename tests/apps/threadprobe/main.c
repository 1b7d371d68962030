/* Threads, one behaviour per argument (tests/integration/test_threads.py boots this image with each). Every check
 * is made here and printed as "NAME: ..." lines the test compares; "FAIL" marks a check that did not hold. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <fenv.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/times.h>
#include <time.h>
#include <unistd.h>

static void check(const char *name, int ok, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void check(const char *name, int ok, const char *fmt, ...)
{
	va_list ap;
	printf("%s: %s", name, ok ? "" : "FAIL ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void start(pthread_t *t, void *(*fn)(void *), void *arg)
{
	int r = pthread_create(t, 0, fn, arg);
	if (r) {
		printf("FAIL pthread_create: %s\n", strerror(r));
		exit(1);
	}
}

/* ---- a mutex-protected counter, hammered by N threads ---- */

#define ROUNDS 2000
static pthread_mutex_t counter_lock = PTHREAD_MUTEX_INITIALIZER;
static long counter;

static void *hammer(void *arg)
{
	(void)arg;
	for (int i = 0; i < ROUNDS; i++) {
		pthread_mutex_lock(&counter_lock);
		long v = counter;
		if (i % 64 == 0)
			sched_yield();          /* hand the CPU over while holding the lock */
		counter = v + 1;
		pthread_mutex_unlock(&counter_lock);
	}
	return 0;
}

static void t_counter(void)
{
	static const int sizes[] = { 2, 8, 64 };
	for (unsigned s = 0; s < sizeof sizes / sizeof *sizes; s++) {
		int n = sizes[s];
		pthread_t t[64];
		counter = 0;
		for (int i = 0; i < n; i++)
			start(&t[i], hammer, 0);
		for (int i = 0; i < n; i++)
			pthread_join(t[i], 0);
		check("counter", counter == (long)n * ROUNDS, "%d threads: %ld of %ld", n, counter, (long)n * ROUNDS);
	}
}

/* ---- condition variable ping-pong ---- */

static pthread_mutex_t pp_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pp_cond = PTHREAD_COND_INITIALIZER;
static int pp_turn, pp_rounds = 1000;

static void *pong(void *arg)
{
	int me = (int)(intptr_t)arg;
	for (int i = 0; i < pp_rounds; i++) {
		pthread_mutex_lock(&pp_lock);
		while (pp_turn != me)
			pthread_cond_wait(&pp_cond, &pp_lock);
		pp_turn = !me;
		pthread_cond_signal(&pp_cond);
		pthread_mutex_unlock(&pp_lock);
	}
	return 0;
}

static void t_pingpong(void)
{
	pthread_t a, b;
	double t0 = now();
	start(&a, pong, (void *)0);
	start(&b, pong, (void *)1);
	pthread_join(a, 0);
	pthread_join(b, 0);
	check("pingpong", pp_turn == 0, "%d round trips through a condition variable", pp_rounds);
	(void)t0;
}

/* ---- producer and consumer over a pipe and a socketpair ---- */

#define ITEMS 20000

static void *produce(void *arg)
{
	int fd = (int)(intptr_t)arg;
	for (uint32_t i = 0; i < ITEMS; i++)
		if (write(fd, &i, sizeof i) != sizeof i) {
			printf("FAIL write: %s\n", strerror(errno));
			break;
		}
	close(fd);
	return 0;
}

static void consume(const char *what, int fd)
{
	uint32_t expect = 0, v;
	ssize_t n;
	int order = 1;
	while ((n = read(fd, &v, sizeof v)) == sizeof v) {
		order &= v == expect;
		expect++;
	}
	check("producer", order && expect == ITEMS && n == 0, "%s: %u items in order, then EOF", what, expect);
}

static void t_producer(void)
{
	int p[2], s[2];
	pthread_t t;
	pipe(p);
	start(&t, produce, (void *)(intptr_t)p[1]);
	consume("pipe", p[0]);
	pthread_join(t, 0);
	close(p[0]);
	socketpair(AF_UNIX, SOCK_STREAM, 0, s);
	start(&t, produce, (void *)(intptr_t)s[1]);
	consume("socketpair", s[0]);
	pthread_join(t, 0);
}

/* ---- pthread_join's values, detached threads, TLS ---- */

static __thread int tls_value = 7;
static __thread char tls_buffer[64];

static void *tls_thread(void *arg)
{
	int me = (int)(intptr_t)arg;
	int fresh = tls_value == 7 && !tls_buffer[0];
	tls_value = 100 + me;
	snprintf(tls_buffer, sizeof tls_buffer, "thread %d", me);
	for (int i = 0; i < 50; i++)
		sched_yield();          /* the others write theirs meanwhile */
	char want[64];
	snprintf(want, sizeof want, "thread %d", me);
	return (void *)(intptr_t)(fresh && tls_value == 100 + me && !strcmp(tls_buffer, want) ? 1000 + me : -1);
}

static atomic_int detached_ran;

static void *detached(void *arg)
{
	(void)arg;
	detached_ran++;
	return 0;
}

static void t_join(void)
{
	pthread_t t[8];
	int ok = 1;
	tls_value = 1;
	for (int i = 0; i < 8; i++)
		start(&t[i], tls_thread, (void *)(intptr_t)i);
	for (int i = 0; i < 8; i++) {
		void *r;
		pthread_join(t[i], &r);
		ok &= (intptr_t)r == 1000 + i;
	}
	check("join", ok, "8 threads returned their own values");
	check("tls", ok && tls_value == 1, "each thread saw its own __thread values, the first thread kept its own");
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	for (int i = 0; i < 20; i++) {
		pthread_t d;
		pthread_create(&d, &attr, detached, 0);
	}
	for (int i = 0; i < 100 && detached_ran < 20; i++)
		usleep(1000);
	check("detach", detached_ran == 20, "20 detached threads ran and went");
}

/* ---- preemption: a thread spinning forever does not starve the others ---- */

static volatile int spin_stop;
static volatile long spins;

static void *spinner(void *arg)
{
	(void)arg;
	while (!spin_stop)
		spins++;
	return 0;
}

static void *sleeper(void *arg)
{
	double *late = arg, t0 = now();
	usleep(50000);
	*late = now() - t0 - 0.05;
	return 0;
}

static void t_preempt(void)
{
	pthread_t s, z;
	double late = -1;
	start(&s, spinner, 0);
	start(&z, sleeper, &late);
	pthread_join(z, 0);
	long seen = spins;
	for (volatile long i = 0; i < 1000000; i++)     /* the main thread computes too */
		;
	spin_stop = 1;
	pthread_join(s, 0);
	check("preempt", late >= 0 && late < 0.1 && seen > 0, "a sleeper woke %.0f ms late beside a spinning thread",
	      late * 1000);
	check("preempt", 1, "the main thread ran while another spun");
}

/* ---- read/write locks, barriers, semaphores, once ---- */

static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static atomic_int readers_in, max_readers, writer_saw_readers;
static pthread_barrier_t barrier;
static sem_t sem;
static atomic_int once_calls, sem_taken;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void once_fn(void)
{
	once_calls++;
}

static void *sync_thread(void *arg)
{
	int me = (int)(intptr_t)arg;
	pthread_once(&once, once_fn);
	pthread_rwlock_rdlock(&rw);
	int in = ++readers_in;
	if (in > max_readers)
		max_readers = in;
	usleep(5000);
	readers_in--;
	pthread_rwlock_unlock(&rw);
	if (me == 0) {
		pthread_rwlock_wrlock(&rw);
		writer_saw_readers = readers_in;
		pthread_rwlock_unlock(&rw);
	}
	pthread_barrier_wait(&barrier);
	if (sem_wait(&sem) == 0)
		sem_taken++;
	return 0;
}

static void t_sync(void)
{
	pthread_t t[4];
	pthread_barrier_init(&barrier, 0, 4);
	sem_init(&sem, 0, 0);
	for (int i = 0; i < 4; i++)
		start(&t[i], sync_thread, (void *)(intptr_t)i);
	usleep(20000);
	int before = sem_taken;
	for (int i = 0; i < 4; i++)
		sem_post(&sem);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], 0);
	check("rwlock", max_readers > 1 && !writer_saw_readers, "%d readers at once, none beside the writer",
	      (int)max_readers);
	check("barrier", 1, "4 threads met");
	check("sem", before == 0 && sem_taken == 4, "4 waits, each ended by a post");
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += 20000000;
	if (ts.tv_nsec >= 1000000000)
		ts.tv_sec++, ts.tv_nsec -= 1000000000;
	int r = sem_timedwait(&sem, &ts);
	check("sem", r == -1 && errno == ETIMEDOUT, "sem_timedwait timed out");
	check("once", once_calls == 1, "pthread_once ran once");
}

/* ---- cancellation ---- */

static atomic_int cleaned;

static void cleanup(void *arg)
{
	(void)arg;
	cleaned++;
}

static void *cancel_read(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char c;
	pthread_cleanup_push(cleanup, 0);
	read(fd, &c, 1);                /* blocks until cancelled */
	pthread_cleanup_pop(0);
	return (void *)1;
}

static void *cancel_sleep(void *arg)
{
	(void)arg;
	pthread_cleanup_push(cleanup, 0);
	sleep(100);
	pthread_cleanup_pop(0);
	return (void *)1;
}

static pthread_mutex_t cw_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cw_cond = PTHREAD_COND_INITIALIZER;

static void unlock_cw(void *arg)
{
	(void)arg;
	pthread_mutex_unlock(&cw_lock);
	cleaned++;
}

static void *cancel_condwait(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&cw_lock);
	pthread_cleanup_push(unlock_cw, 0);
	for (;;)
		pthread_cond_wait(&cw_cond, &cw_lock);
	pthread_cleanup_pop(0);
	return (void *)1;
}

static void *cancel_disabled(void *arg)
{
	(void)arg;
	int old;
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
	usleep(30000);                  /* not cancelled here */
	pthread_setcancelstate(old, 0);
	pthread_testcancel();           /* but here */
	return (void *)1;
}

static volatile long async_spins;

static void *cancel_async(void *arg)
{
	(void)arg;
	pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, 0);
	for (;;)
		async_spins++;          /* no cancellation point: only an asynchronous cancellation ends it */
	return (void *)1;
}

static void cancel_one(const char *what, void *(*fn)(void *), void *arg, int cleanups)
{
	pthread_t t;
	void *r;
	int before = cleaned;
	start(&t, fn, arg);
	usleep(20000);
	pthread_cancel(t);
	pthread_join(t, &r);
	check("cancel", r == PTHREAD_CANCELED && cleaned - before == cleanups, "%s: PTHREAD_CANCELED%s", what,
	      cleanups ? ", cleanup ran" : "");
}

static void t_cancel(void)
{
	int p[2];
	pipe(p);
	cancel_one("blocked in read", cancel_read, (void *)(intptr_t)p[0], 1);
	cancel_one("blocked in sleep", cancel_sleep, 0, 1);
	cancel_one("blocked in pthread_cond_wait", cancel_condwait, 0, 1);
	check("cancel", pthread_mutex_trylock(&cw_lock) == 0, "the condition variable's mutex came back");
	pthread_mutex_unlock(&cw_lock);
	cancel_one("disabled, then pthread_testcancel", cancel_disabled, 0, 0);
	cancel_one("asynchronous, spinning", cancel_async, 0, 0);
}

/* ---- a thread's stack overflow hits its guard page ---- */

static int deep(int n)
{
	volatile char buf[1024];
	buf[0] = (char)n;
	return n ? deep(n - 1) + buf[0] : 0;
}

static void *overflow(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "deep-diver");
	return (void *)(intptr_t)deep(1 << 20);
}

static void t_overflow(void)
{
	pthread_t t;
	start(&t, overflow, 0);
	pthread_join(t, 0);
	printf("overflow: FAIL the thread returned\n");
}

/* ---- identity: ids, names, CPU, affinity ---- */

static int64_t worker_cpu_ns;           /* the identity thread's CPU time at its end */

static int64_t ns_of(const struct timespec *ts)
{
	return ts->tv_sec * 1000000000ll + ts->tv_nsec;
}

static int64_t cpu_clock_ns(clockid_t id)
{
	struct timespec ts;
	return clock_gettime(id, &ts) ? -1 : ns_of(&ts);
}

static int64_t rusage_ns(int who)
{
	struct rusage ru;
	return getrusage(who, &ru) ? -1 : (ru.ru_utime.tv_sec * 1000000ll + ru.ru_utime.tv_usec) * 1000;
}

static void *identity(void *arg)
{
	pid_t *tid = arg;
	*tid = gettid();
	char name[16];
	pthread_getname_np(pthread_self(), name, sizeof name);
	check("identity", !strcmp(name, "threadprobe"), "a new thread has its creator's name: %s", name);
	prctl(PR_SET_NAME, "worker-1");
	char got[16] = "";
	prctl(PR_GET_NAME, got);
	check("identity", !strcmp(got, "worker-1"), "PR_SET_NAME, then PR_GET_NAME: %s", got);
	volatile double x = 0;
	for (int i = 0; i < 3000000; i++)
		x += i;
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	check("identity", ts.tv_sec > 0 || ts.tv_nsec > 1000000, "its CPU time counts");
	usleep(50000);                  /* asleep: its CPU time does not grow */
	struct timespec after;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &after);
	double slept = (after.tv_sec - ts.tv_sec) + (after.tv_nsec - ts.tv_nsec) / 1e9;
	check("identity", slept < 0.02, "asleep for 50 ms, it used %.1f ms of CPU", slept * 1000);
	worker_cpu_ns = ns_of(&after);
	return 0;
}

static void t_identity(void)
{
	pthread_t t;
	pid_t tid = 0;
	check("identity", gettid() == getpid() && getpid() == 1, "the first thread's id is the pid (%d)", gettid());
	start(&t, identity, &tid);
	usleep(20000);
	char name[16];
	int r = pthread_getname_np(t, name, sizeof name);
	check("identity", r == 0 && !strcmp(name, "worker-1"), "another thread's name: %s", r ? strerror(r) : name);
	pthread_setname_np(t, "renamed");
	pthread_getname_np(t, name, sizeof name);
	check("identity", !strcmp(name, "renamed"), "pthread_setname_np of another thread");
	clockid_t cid;
	struct timespec ts;
	check("identity", pthread_getcpuclockid(t, &cid) == 0 && clock_gettime(cid, &ts) == 0,
	      "pthread_getcpuclockid and clock_gettime on it");
	pthread_join(t, 0);
	check("identity", tid > 1 && tid != gettid(), "its own id (%d)", tid);
	cpu_set_t set;
	CPU_ZERO(&set);
	check("identity", sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) == 1 && CPU_ISSET(0, &set),
	      "affinity: CPU 0 alone");
	check("identity", sysconf(_SC_NPROCESSORS_ONLN) == 1, "sysconf(_SC_NPROCESSORS_ONLN) = %ld",
	      sysconf(_SC_NPROCESSORS_ONLN));
	/* The process's CPU time is its threads', the gone one's included; the main thread's is its own. */
	int64_t main_ns = cpu_clock_ns(CLOCK_THREAD_CPUTIME_ID), process_ns = cpu_clock_ns(CLOCK_PROCESS_CPUTIME_ID);
	check("identity", worker_cpu_ns > 1000000 && main_ns > 0 &&
	      process_ns >= main_ns + worker_cpu_ns, "CLOCK_PROCESS_CPUTIME_ID counts the ended thread's time: %s",
	      process_ns >= main_ns + worker_cpu_ns ? "yes" : "no");
	int64_t thread_ru = rusage_ns(RUSAGE_THREAD), self_ru = rusage_ns(RUSAGE_SELF);
	check("identity", thread_ru >= main_ns - 1000 &&
	      self_ru + 2000 >= thread_ru + worker_cpu_ns, "getrusage: RUSAGE_THREAD the main thread's, RUSAGE_SELF "
	      "the threads' time");
	/* times(): the process's CPU time in clock ticks, beside the elapsed ticks it returns. */
	long hz = sysconf(_SC_CLK_TCK);
	int64_t before = cpu_clock_ns(CLOCK_PROCESS_CPUTIME_ID);
	struct tms tm;
	clock_t elapsed = times(&tm);
	int64_t after = cpu_clock_ns(CLOCK_PROCESS_CPUTIME_ID), tick = 1000000000 / hz;
	check("identity", tm.tms_utime >= before / tick && tm.tms_utime <= after / tick + 1 && elapsed >= tm.tms_utime &&
	      !tm.tms_cutime, "times: the threads' CPU time in clock ticks");
	/* The idle CPU is nobody's time: a process that sleeps uses none. */
	usleep(100000);
	int64_t idle = cpu_clock_ns(CLOCK_PROCESS_CPUTIME_ID) - after;
	check("identity", idle >= 0 && idle < 20000000, "asleep for 100 ms, the process used %.1f ms of CPU",
	      idle / 1e6);
}

/* ---- signals with threads ---- */

static volatile sig_atomic_t handled_by;

static void record(int sig)
{
	(void)sig;
	handled_by = gettid();
}

static void *mask_thread(void *arg)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_UNBLOCK, &set, 0);
	*(pid_t *)arg = gettid();
	sleep(2);                       /* a signal for the process interrupts this */
	return 0;
}

static void *sigwaiter(void *arg)
{
	sigset_t set;
	int sig;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	sigaddset(&set, SIGTERM);
	for (int n = 0; n < 3; n++) {
		sigwait(&set, &sig);
		(*(int *)arg)++;
	}
	return 0;
}

static void *reader(void *arg)
{
	char c;
	return (void *)(intptr_t)read((int)(intptr_t)arg, &c, 1);
}

static volatile sig_atomic_t kills;

static void on_kill(int sig)
{
	(void)sig;
	kills++;
}

static void *spin_until(void *arg)
{
	(void)arg;
	while (!kills)
		;
	return 0;
}

static void t_signals(void)
{
	struct sigaction sa = { .sa_handler = record };
	sigaction(SIGUSR1, &sa, 0);
	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, &old);         /* threads made now start with this mask */

	pthread_t t;
	pid_t taker = 0;
	start(&t, mask_thread, &taker);
	usleep(20000);
	kill(getpid(), SIGUSR1);        /* the main thread blocks it: the thread that does not takes it */
	pthread_join(t, 0);
	check("masks", handled_by == taker && taker > 1, "SIGUSR1 for the process ran in the thread that unblocks it");

	int got = 0, p[2];
	pthread_t w, r[3];
	pipe(p);
	for (int i = 0; i < 3; i++)
		start(&r[i], reader, (void *)(intptr_t)p[0]);
	start(&w, sigwaiter, &got);
	usleep(20000);
	kill(getpid(), SIGUSR2);
	usleep(20000);
	raise(SIGTERM);                 /* thread-directed to the main thread, which blocks it: stays pending */
	sigset_t pending;
	sigpending(&pending);
	check("sigwait", sigismember(&pending, SIGTERM), "a signal raised in a thread that blocks it stays its own");
	int sig;
	sigwait(&set, &sig);
	kill(getpid(), SIGTERM);
	usleep(20000);
	kill(getpid(), SIGUSR2);
	pthread_join(w, 0);
	check("sigwait", got == 3 && sig == SIGTERM, "a dedicated thread took 3 signals while 3 others were blocked "
	      "in read");
	write(p[1], "abc", 3);
	for (int i = 0; i < 3; i++) {
		void *n;
		pthread_join(r[i], &n);
		if ((intptr_t)n != 1)
			printf("sigwait: FAIL a reader got %ld\n", (long)(intptr_t)n);
	}
	check("sigwait", 1, "the readers read, undisturbed");

	struct sigaction k = { .sa_handler = on_kill };
	sigaction(SIGUSR2, &k, 0);
	pthread_sigmask(SIG_SETMASK, &old, 0);
	pthread_t s;
	start(&s, spin_until, 0);
	usleep(20000);
	pthread_kill(s, SIGUSR2);       /* it spins with no syscall: the signal interrupts its loop */
	pthread_join(s, 0);
	check("pthread_kill", kills == 1, "the handler ran in a thread spinning without syscalls");
}

/* ---- poll, select and epoll_wait block only their thread, and use no CPU while they wait ---- */

static int64_t own_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

/* Each returns the CPU time its wait used if it ended with its descriptor readable, else -1. */
static void *wait_in_poll(void *arg)
{
	struct pollfd p = { .fd = (int)(intptr_t)arg, .events = POLLIN };
	int64_t before = own_cpu_ns();
	int r = poll(&p, 1, -1);
	return (void *)(intptr_t)(r == 1 && (p.revents & POLLIN) ? own_cpu_ns() - before : -1);
}

static void *wait_in_select(void *arg)
{
	int fd = (int)(intptr_t)arg;
	fd_set in;
	FD_ZERO(&in);
	FD_SET(fd, &in);
	int64_t before = own_cpu_ns();
	int r = select(fd + 1, &in, 0, 0, 0);
	return (void *)(intptr_t)(r == 1 && FD_ISSET(fd, &in) ? own_cpu_ns() - before : -1);
}

static void *wait_in_epoll(void *arg)
{
	int fd = (int)(intptr_t)arg, ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };
	epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	int64_t before = own_cpu_ns();
	int r = epoll_wait(ep, &ev, 1, -1);
	int64_t used = own_cpu_ns() - before;
	close(ep);
	return (void *)(intptr_t)(r == 1 && ev.data.fd == fd ? used : -1);
}

static void t_waits(void)
{
	static const struct {
		const char *name;
		void *(*fn)(void *);
	} waits[] = { { "poll", wait_in_poll }, { "select", wait_in_select }, { "epoll_wait", wait_in_epoll } };
	enum { WAITS = sizeof waits / sizeof *waits };
	int p[WAITS][2];
	pthread_t t[WAITS];
	for (int i = 0; i < WAITS; i++) {
		pipe(p[i]);
		start(&t[i], waits[i].fn, (void *)(intptr_t)p[i][0]);
	}
	usleep(10000);                  /* they block, with no timeout */
	int64_t cpu0 = own_cpu_ns();
	double t0 = now();
	while (now() - t0 < 0.1)
		;                       /* the main thread spins: it has the CPU to itself */
	int64_t mine = own_cpu_ns() - cpu0;
	check("waits", mine > 90000000, "the main thread had the CPU while 3 threads waited: %s",
	      mine > 90000000 ? "yes" : "no");
	for (int i = 0; i < WAITS; i++) {
		void *used;
		write(p[i][1], "x", 1);
		pthread_join(t[i], &used);
		/* A thread that polled instead of blocking would have had its share of those 110 ms, 25 ms or more; one
		 * that blocks runs only to look again when an interrupt comes (and TCG's host may stall it meanwhile). */
		int idle = (intptr_t)used >= 0 && (intptr_t)used < 20000000;
		check("waits", idle, "%s: woken by a write, it used %s CPU while it waited", waits[i].name,
		      idle ? "no" : "the");
		if (!idle)
			printf("waits: %s used %ld ns\n", waits[i].name, (long)(intptr_t)used);
		close(p[i][0]);
		close(p[i][1]);
	}
}

/* ---- FP/SIMD state per thread: each thread's rounding mode and registers survive preemption ---- */

#define FP_THREADS 4
#define FP_ROUNDS 400000                /* at least, and until it was preempted twice */
#define FP_MOST (1l << 25)              /* its sums stay exact in a double */
static const int fp_modes[FP_THREADS] = { FE_TONEAREST, FE_UPWARD, FE_DOWNWARD, FE_TOWARDZERO };
static atomic_long fp_progress[FP_THREADS];
static atomic_int fp_start;
static volatile double fp_one = 1.0, fp_three = 3.0;

/* 1/3 in the current rounding mode. A call: the compiler, which assumes the default mode, moves a division of
 * its own past fesetround. */
__attribute__((noinline)) static double third(void)
{
	return fp_one / fp_three;
}

struct fp_result {
	int mode_kept, quotient_kept, sums_exact, preempted;
};

/* Spins (no syscall: only preemption lets the others run) dividing in its rounding mode and summing in
 * registers; another thread's mode or registers leaking in would change a quotient's last bit or a sum. It sees
 * that it was preempted when another thread's progress moved between two of its own looks. */
static void *fp_thread(void *arg)
{
	int me = (int)(intptr_t)arg;
	struct fp_result *r = calloc(1, sizeof *r);
	fesetround(fp_modes[me]);
	double quotient = third();
	double sum = 0;
	long double wide = 0;           /* x87 registers on x86_64 */
	long last[FP_THREADS], i;
	int kept = 1, same = 1, preempted = 0;
	while (!fp_start)
		;
	for (int t = 0; t < FP_THREADS; t++)
		last[t] = fp_progress[t];
	for (i = 1;; i++) {
		sum += (double)i;
		wide += (long double)i;
		if (i % 1024)
			continue;
		same &= third() == quotient;
		kept &= fegetround() == fp_modes[me];
		fp_progress[me] = i;
		int moved = 0;
		for (int t = 0; t < FP_THREADS; t++)
			if (t != me && fp_progress[t] != last[t]) {
				moved = 1;
				last[t] = fp_progress[t];
			}
		preempted += moved;
		if ((preempted >= 2 && i >= FP_ROUNDS) || i >= FP_MOST)
			break;
	}
	double want = (double)i * (i + 1) / 2;
	*r = (struct fp_result){ kept && fegetround() == fp_modes[me], same, sum == want && wide == want,
				 preempted >= 2 };
	return r;
}

static void t_fpstate(void)
{
	pthread_t t[FP_THREADS];
	for (int i = 0; i < FP_THREADS; i++)
		start(&t[i], fp_thread, (void *)(intptr_t)i);
	usleep(10000);
	fp_start = 1;
	int ok[4] = { 1, 1, 1, 1 }, preempted = 0;
	double quotients[FP_THREADS];
	for (int i = 0; i < FP_THREADS; i++) {
		struct fp_result *r;
		pthread_join(t[i], (void **)&r);
		ok[0] &= r->mode_kept;
		ok[1] &= r->quotient_kept;
		ok[2] &= r->sums_exact;
		preempted += r->preempted;
		free(r);
		fesetround(fp_modes[i]);
		quotients[i] = third();
	}
	fesetround(FE_TONEAREST);
	int differ = quotients[1] != quotients[2];  /* the modes do tell apart: 1/3 rounded up is not 1/3 rounded down */
	check("fpstate", preempted == FP_THREADS, "%d threads spinning in FP code, each preempted and resumed",
	      FP_THREADS);
	check("fpstate", ok[0], "each kept its own rounding mode");
	check("fpstate", ok[1] && differ, "each thread's 1/3 kept its last bit");
	check("fpstate", ok[2], "sums held in SSE/VFP and x87 registers came out exact");
#if defined(__x86_64__)
	/* A switch saves x87/SSE (FXSAVE). CPUID's OSXSAVE says whether the OS would save AVX's registers: clear, so
	 * a program that picks its code by CPU features (AVX when present) takes its SSE code. */
	unsigned eax = 1, ebx, ecx = 0, edx;
	__asm__ volatile("cpuid" : "+a"(eax), "=b"(ebx), "+c"(ecx), "=d"(edx));
	check("fpstate", !(ecx & (1u << 27)), "CPUID: OSXSAVE clear, so no AVX state to save");
#endif
}

/* ---- sigaltstack per thread ---- */

#define ALT_SIZE (64 * 1024)
static __thread char *alt_base;         /* this thread's sigaltstack, or NULL */
static __thread volatile int alt_seen;  /* the handler ran on it (1), elsewhere (2) */
static __thread sigjmp_buf alt_escape;

static void on_usr1_where(int sig)
{
	(void)sig;
	char here;
	stack_t now;
	sigaltstack(0, &now);
	alt_seen = alt_base && &here >= alt_base && &here < alt_base + ALT_SIZE && (now.ss_flags & SS_ONSTACK) ? 1 : 2;
}

static int install_altstack(void)
{
	alt_base = malloc(ALT_SIZE);
	stack_t ss = { .ss_sp = alt_base, .ss_size = ALT_SIZE };
	return sigaltstack(&ss, 0);
}

static void *alt_child(void *arg)
{
	(void)arg;
	stack_t old;
	sigaltstack(0, &old);
	return (void *)(intptr_t)(old.ss_flags & SS_DISABLE);
}

static sem_t alt_ready, alt_go;

static void *alt_thread(void *arg)
{
	(void)arg;
	int r = install_altstack();
	pthread_t child;
	void *disabled;
	start(&child, alt_child, 0);
	pthread_join(child, &disabled);
	sem_post(&alt_ready);
	while (!alt_seen)
		sem_wait(&alt_go);
	return (void *)(intptr_t)(!r && disabled && alt_seen == 1);
}

/* The guard page of a thread's stack, then a SIGSEGV handler on its sigaltstack that reports it and jumps out
 * (what Rust's runtime does on every thread to say "thread X has overflowed its stack"). */
static char *guard_low, *guard_high;

static void on_overflow(int sig, siginfo_t *info, void *ctx)
{
	(void)sig, (void)ctx;
	char here;
	int on_alt = &here >= alt_base && &here < alt_base + ALT_SIZE;
	int in_guard = (char *)info->si_addr >= guard_low && (char *)info->si_addr < guard_high;
	alt_seen = on_alt && in_guard ? 1 : 2;
	siglongjmp(alt_escape, 1);
}

static void *alt_overflow(void *arg)
{
	(void)arg;
	pthread_attr_t a;
	void *low;
	size_t size, guard;
	pthread_getattr_np(pthread_self(), &a);
	pthread_attr_getstack(&a, &low, &size);
	pthread_attr_getguardsize(&a, &guard);
	guard_low = (char *)low - guard;
	guard_high = (char *)low;
	install_altstack();
	if (!sigsetjmp(alt_escape, 1))
		deep(1 << 20);
	return (void *)(intptr_t)(alt_seen == 1);
}

static void t_altstack(void)
{
	struct sigaction sa = { .sa_handler = on_usr1_where, .sa_flags = SA_ONSTACK };
	sigaction(SIGUSR1, &sa, 0);
	sem_init(&alt_ready, 0, 0);
	sem_init(&alt_go, 0, 0);
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		start(&t[i], alt_thread, 0);
	for (int i = 0; i < 2; i++)
		sem_wait(&alt_ready);
	int ok = 1;
	for (int i = 0; i < 2; i++) {
		void *r;
		pthread_kill(t[i], SIGUSR1);
		sem_post(&alt_go);
		sem_post(&alt_go);
		pthread_join(t[i], &r);
		ok &= (intptr_t)r == 1;
	}
	check("altstack", ok, "2 threads' handlers ran each on its own sigaltstack; their new threads had none");
	raise(SIGUSR1);
	check("altstack", alt_seen == 2, "the main thread, which set none, ran its handler on its own stack");
	struct sigaction so = { .sa_sigaction = on_overflow, .sa_flags = SA_SIGINFO | SA_ONSTACK };
	sigaction(SIGSEGV, &so, 0);
	pthread_t o;
	void *r;
	start(&o, alt_overflow, 0);
	pthread_join(o, &r);
	check("altstack", (intptr_t)r == 1, "a thread's stack overflow: SIGSEGV at its guard page, handled on its "
	      "sigaltstack, then siglongjmp out");
}

/* ---- a SIGEV_THREAD timer ---- */

static atomic_int timer_calls;
static pid_t timer_tid;

static void on_timer(union sigval v)
{
	if (v.sival_int == 42 && ++timer_calls == 1)
		timer_tid = gettid();
}

static void t_timer(void)
{
	struct sigevent ev = { .sigev_notify = SIGEV_THREAD, .sigev_notify_function = on_timer,
			       .sigev_value.sival_int = 42 };
	timer_t id;
	int r = timer_create(CLOCK_MONOTONIC, &ev, &id);
	check("timer", r == 0, "timer_create with SIGEV_THREAD: %s", r ? strerror(errno) : "ok");
	struct itimerspec its = { .it_value.tv_nsec = 10000000, .it_interval.tv_nsec = 10000000 };
	timer_settime(id, 0, &its, 0);
	usleep(100000);
	timer_delete(id);
	check("timer", timer_calls >= 3 && timer_tid > 1 && timer_tid != gettid(),
	      "its function ran %s times in a thread of its own", timer_calls >= 3 ? "several" : "too few");
}

/* ---- an alarm in a loop that makes no syscall ---- */

static volatile sig_atomic_t alarmed;

static void on_alarm(int sig)
{
	(void)sig;
	alarmed = 1;
}

static void t_async(void)
{
	pthread_t t;
	start(&t, detached, 0);         /* threads exist: the app runs with interrupts on */
	pthread_join(t, 0);
	signal(SIGALRM, on_alarm);
	struct itimerval it = { .it_value.tv_usec = 20000 };
	setitimer(ITIMER_REAL, &it, 0);
	double t0 = now();
	while (!alarmed && now() - t0 < 5)
		;
	check("async", alarmed, "SIGALRM interrupted a loop without syscalls after %.0f ms", (now() - t0) * 1000);
}

/* ---- file calls with 64-bit offsets from a thread (the calls SQLite's WAL mode makes) ---- */

#define FAR ((off_t)5 << 30)            /* past 4 GiB: the offset's high word matters on ARMv7 */

static void *file_calls(void *arg)
{
	(void)arg;
	int fd = open("/tmp/threadprobe-shm", O_RDWR | O_CREAT | O_TRUNC, 0644);
	check("files", fd >= 0 && ftruncate(fd, 3 * 4096) == 0, "a file in /tmp, 3 pages long");
	char *p = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	char *q = mmap(0, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 4096);
	check("files", p != MAP_FAILED && q != MAP_FAILED, "mmap MAP_SHARED at offsets 0 and 4096: %s",
	      p == MAP_FAILED || q == MAP_FAILED ? strerror(errno) : "mapped");
	if (p == MAP_FAILED || q == MAP_FAILED)
		return 0;
	strcpy(p, "first page");
	strcpy(q + 4096, "third page");
	char back[16] = "";
	check("files", munmap(p, 4096) == 0 && munmap(q, 8192) == 0 && pread(fd, back, 11, 2 * 4096) == 11 &&
	      !strcmp(back, "third page") && pread(fd, back, 11, 0) == 11 && !strcmp(back, "first page"),
	      "what was written through the mappings is in the file");
	struct stat st;
	check("files", pwrite(fd, "far", 3, FAR) == 3 && fstat(fd, &st) == 0 && st.st_size == FAR + 3 &&
	      pread(fd, back, 3, FAR) == 3 && !memcmp(back, "far", 3), "pwrite and pread at 5 GiB");
	off_t end = lseek(fd, 0, SEEK_END);
	check("files", end == FAR + 3, "lseek to the end: %lld", (long long)end);
	struct flock lock = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = FAR, .l_len = 1 };
	int other = open("/tmp/threadprobe-shm", O_RDWR);
	struct flock probe = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0 };
	check("files", fcntl(fd, F_OFD_SETLK, &lock) == 0 && fcntl(other, F_OFD_GETLK, &probe) == 0 &&
	      probe.l_type == F_WRLCK && probe.l_start == FAR && probe.l_len == 1,
	      "a lock at 5 GiB, seen from another open: type %d at %lld", probe.l_type, (long long)probe.l_start);
	close(other);
	close(fd);
	unlink("/tmp/threadprobe-shm");
	return 0;
}

static void t_files(void)
{
	pthread_t t;
	start(&t, file_calls, 0);
	pthread_join(t, 0);
}

/* ---- robust and priority-inheritance mutexes ---- */

/* Takes the mutex and ends holding it, once the main thread waits for it (a robust mutex's owner dies). */
static void *die_holding(void *arg)
{
	pthread_mutex_t *m = arg;
	pthread_mutex_lock(m);
	usleep(20000);          /* the main thread blocks in pthread_mutex_lock meanwhile */
	return 0;
}

static void owner_dies(const char *what, int protocol)
{
	pthread_mutexattr_t a;
	pthread_mutex_t m;
	pthread_t t;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	int r = pthread_mutexattr_setprotocol(&a, protocol);
	pthread_mutex_init(&m, &a);
	start(&t, die_holding, &m);
	usleep(5000);
	int got = pthread_mutex_lock(&m);
	int consistent = got == EOWNERDEAD ? pthread_mutex_consistent(&m) : -1;
	pthread_mutex_unlock(&m);
	int again = pthread_mutex_lock(&m);
	pthread_mutex_unlock(&m);
	pthread_join(t, 0);
	check("robust", !r && got == EOWNERDEAD && !consistent && !again,
	      "%s: the owner ended holding it: %s, consistent, then locked again: %s", what, strerror(got),
	      strerror(again));
	pthread_mutex_destroy(&m);
}

static pthread_mutex_t pi_lock;
static long pi_counter;

static void *pi_hammer(void *arg)
{
	(void)arg;
	for (int i = 0; i < ROUNDS; i++) {
		pthread_mutex_lock(&pi_lock);
		long v = pi_counter;
		if (i % 64 == 0)
			sched_yield();  /* another thread comes while the lock is held: it waits in FUTEX_LOCK_PI */
		pi_counter = v + 1;
		pthread_mutex_unlock(&pi_lock);
	}
	return 0;
}

static void *pi_timed(void *arg)
{
	return (void *)(intptr_t)pthread_mutex_timedlock(&pi_lock, arg);
}

static void *pi_try(void *arg)
{
	return (void *)(intptr_t)pthread_mutex_trylock(arg);
}

static void t_robust(void)
{
	owner_dies("PTHREAD_PRIO_NONE", PTHREAD_PRIO_NONE);
	owner_dies("PTHREAD_PRIO_INHERIT", PTHREAD_PRIO_INHERIT);
}

static void t_pi(void)
{
	enum { PI_THREADS = 4 };
	pthread_mutexattr_t a;
	pthread_t t[PI_THREADS];
	pthread_mutexattr_init(&a);
	int r = pthread_mutexattr_setprotocol(&a, PTHREAD_PRIO_INHERIT);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK);
	pthread_mutex_init(&pi_lock, &a);
	check("pi", !r, "pthread_mutexattr_setprotocol(PTHREAD_PRIO_INHERIT): %s", strerror(r));
	for (int i = 0; i < PI_THREADS; i++)
		start(&t[i], pi_hammer, 0);
	for (int i = 0; i < PI_THREADS; i++)
		pthread_join(t[i], 0);
	check("pi", pi_counter == PI_THREADS * ROUNDS, "%d threads: %ld of %d", PI_THREADS, pi_counter,
	      PI_THREADS * ROUNDS);
	pthread_mutex_lock(&pi_lock);
	int relock = pthread_mutex_lock(&pi_lock);
	void *tried;
	pthread_t other;
	start(&other, pi_try, &pi_lock);
	pthread_join(other, &tried);
	pthread_mutex_unlock(&pi_lock);
	check("pi", relock == EDEADLK && (intptr_t)tried == EBUSY,
	      "held: relocked by its owner: %s; trylock by another: %s", strerror(relock), strerror((intptr_t)tried));
	struct timespec at;
	clock_gettime(CLOCK_REALTIME, &at);
	at.tv_nsec += 30000000;
	if (at.tv_nsec >= 1000000000)
		at.tv_sec++, at.tv_nsec -= 1000000000;
	pthread_mutex_lock(&pi_lock);
	start(&other, pi_timed, &at);
	pthread_join(other, &tried);
	pthread_mutex_unlock(&pi_lock);
	check("pi", (intptr_t)tried == ETIMEDOUT, "pthread_mutex_timedlock while another holds it: %s",
	      strerror((intptr_t)tried));
}

/* ---- exit from a thread while the others run, sleep and block ---- */

static void said_bye(void)
{
	printf("exit: the atexit handler ran in thread %d, the one that called exit\n", gettid());
}

static void *quitter(void *arg)
{
	(void)arg;
	usleep(20000);
	exit(7);
}

static void t_exit(void)
{
	pthread_t t;
	int p[2];
	char c;
	atexit(said_bye);
	start(&t, spinner, 0);          /* spins until the end */
	start(&t, cancel_sleep, 0);     /* asleep for 100 s */
	start(&t, quitter, 0);
	pipe(p);
	read(p[0], &c, 1);              /* blocked for good: the process ends under it */
	printf("exit: FAIL the main thread's read returned\n");
}

/* Figures for bench/threads.py: the guest times itself (CLOCK_MONOTONIC), nanoseconds per operation. */
static void *nothing(void *arg)
{
	return arg;
}

/* Futex ping-pong through two semaphores (sem_wait blocks in a futex wait, sem_post wakes with a futex wake; the
 * syscall() function would link every module). */
static sem_t bench_ping, bench_pong;

static void *futex_partner(void *arg)
{
	for (long i = 0; i < (long)arg; i++) {
		sem_wait(&bench_ping);
		sem_post(&bench_pong);
	}
	return 0;
}

static void *yielder(void *arg)
{
	for (long i = 0; i < (long)arg; i++)
		sched_yield();
	return 0;
}

static void t_bench(void)
{
	enum { BENCH_CREATES = 500, BENCH_ROUNDS = 5000, BENCH_YIELDS = 5000 };
	double t0 = now();
	for (int i = 0; i < BENCH_CREATES; i++) {
		pthread_t t;
		pthread_create(&t, 0, nothing, 0);
		pthread_join(t, 0);
	}
	double create = (now() - t0) / BENCH_CREATES;
	pthread_t partner;
	sem_init(&bench_ping, 0, 0);
	sem_init(&bench_pong, 0, 0);
	pthread_create(&partner, 0, futex_partner, (void *)(long)BENCH_ROUNDS);
	t0 = now();
	for (int i = 0; i < BENCH_ROUNDS; i++) {
		sem_post(&bench_ping);
		sem_wait(&bench_pong);
	}
	double round_trip = (now() - t0) / BENCH_ROUNDS;
	pthread_join(partner, 0);
	pthread_create(&partner, 0, yielder, (void *)(long)BENCH_YIELDS);
	t0 = now();
	yielder((void *)(long)BENCH_YIELDS);
	double yield = (now() - t0) / (2 * BENCH_YIELDS);     /* two threads: each yield is one switch */
	pthread_join(partner, 0);
	printf("bench: create_join_ns=%.0f futex_round_trip_ns=%.0f yield_switch_ns=%.0f\n", create * 1e9,
	       round_trip * 1e9, yield * 1e9);
}

static const struct {
	const char *name;
	void (*fn)(void);
} behaviours[] = {
	{ "counter", t_counter }, { "pingpong", t_pingpong }, { "producer", t_producer }, { "join", t_join },
	{ "preempt", t_preempt }, { "sync", t_sync }, { "cancel", t_cancel }, { "overflow", t_overflow },
	{ "identity", t_identity }, { "signals", t_signals }, { "timer", t_timer }, { "async", t_async },
	{ "files", t_files }, { "robust", t_robust }, { "pi", t_pi }, { "bench", t_bench },
	{ "fpstate", t_fpstate }, { "altstack", t_altstack }, { "waits", t_waits },
	{ "exit", t_exit },
};

int main(int argc, char **argv)
{
	setvbuf(stdout, 0, _IONBF, 0);
	for (int i = 1; i < argc; i++)
		for (unsigned b = 0; b < sizeof behaviours / sizeof *behaviours; b++)
			if (!strcmp(argv[i], behaviours[b].name))
				behaviours[b].fn();
	return 0;
}

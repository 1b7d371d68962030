/* Signals and process operations, one behaviour per argument (tests/integration/test_signals.py boots this image
 * with each). Every check is made here and printed as "NAME: ..." lines the test compares; "FAIL" marks a
 * check that did not hold. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

extern char **environ;

static volatile sig_atomic_t count, depth, max_depth, order;
static volatile sig_atomic_t seen_usr2_in_usr1;
static siginfo_t last;
static uintptr_t last_pc;
static sigjmp_buf env;
static char *altstack;

static void check(const char *name, int ok, const char *what)
{
	printf("%s: %s%s\n", name, ok ? "" : "FAIL ", what);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void on(int sig, void (*fn)(int), int flags)
{
	struct sigaction sa = { .sa_handler = fn, .sa_flags = flags };
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, 0);
}

static void on_info(int sig, void (*fn)(int, siginfo_t *, void *), int flags)
{
	struct sigaction sa = { .sa_sigaction = fn, .sa_flags = flags | SA_SIGINFO };
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, 0);
}

static void block(int sig, int how)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(how, &set, 0);
}

static uintptr_t pc_of(void *ucv)
{
	ucontext_t *uc = ucv;
#if defined(__x86_64__)
	return uc->uc_mcontext.gregs[REG_RIP];
#else
	return uc->uc_mcontext.arm_pc;
#endif
}

static void counter(int sig)
{
	(void)sig;
	count++;
}

static void recorder(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	count++;
	last = *si;
	last_pc = pc_of(uc);
}

static void jumper(int sig, siginfo_t *si, void *uc)
{
	recorder(sig, si, uc);
	siglongjmp(env, 1);
}

static const char *code_name(int code)
{
	switch (code) {
	case SI_USER: return "SI_USER";
	case SI_QUEUE: return "SI_QUEUE";
	case SI_TKILL: return "SI_TKILL";
	case SI_TIMER: return "SI_TIMER";
	case SI_KERNEL: return "SI_KERNEL";
	default: return "?";
	}
}

/* ---- delivery ---- */

static int t_raise(void)
{
	on(SIGUSR1, counter, 0);
	raise(SIGUSR1);
	check("raise", count == 1, count == 1 ? "handler ran before raise returned" : "handler did not run");
	return 0;
}

static int t_pending(void)
{
	on(SIGUSR1, counter, 0);
	block(SIGUSR1, SIG_BLOCK);
	raise(SIGUSR1);
	raise(SIGUSR1);         /* a standard signal is pending once */
	sigset_t p;
	sigpending(&p);
	int was = count, pending = sigismember(&p, SIGUSR1);
	block(SIGUSR1, SIG_UNBLOCK);
	printf("pending: blocked ran=%d pending=%d unblocked ran=%d\n", was, pending, (int)count);
	sigpending(&p);
	check("pending", !was && pending && count == 1 && !sigismember(&p, SIGUSR1), "delivered once on unblock");
	return 0;
}

__attribute__((noinline)) static int poke(volatile int *p)
{
	return *p;
}

static int t_siginfo(void)
{
	on_info(SIGUSR2, recorder, 0);
	sigqueue(getpid(), SIGUSR2, (union sigval){ .sival_int = 42 });
	printf("siginfo: sigqueue signo=%d code=%s pid=%d uid=%d value=%d\n", last.si_signo, code_name(last.si_code),
	       last.si_pid, last.si_uid, last.si_value.sival_int);
	kill(getpid(), SIGUSR2);
	printf("siginfo: kill signo=%d code=%s pid=%d\n", last.si_signo, code_name(last.si_code), last.si_pid);
	raise(SIGUSR2);
	printf("siginfo: raise code=%s\n", code_name(last.si_code));
	/* The interrupted pc: at a fault, the faulting instruction's. */
	on_info(SIGSEGV, jumper, 0);
	if (!sigsetjmp(env, 1))
		poke((int *)16);
	uintptr_t off = last_pc - (uintptr_t)poke;
	check("siginfo", off < 64, "ucontext pc is the faulting instruction's");
	return 0;
}

static void nested(int sig)
{
	depth++;
	if (depth > max_depth)
		max_depth = depth;
	if (count++ == 0)
		raise(sig);     /* again from its own handler */
	depth--;
}

static void usr1_raises_usr2(int sig)
{
	(void)sig;
	raise(SIGUSR2);
	seen_usr2_in_usr1 = count;      /* 0 if SIGUSR2 (in sa_mask) waited */
}

static int t_flags(void)
{
	on(SIGUSR1, counter, SA_RESETHAND);
	raise(SIGUSR1);
	struct sigaction sa;
	sigaction(SIGUSR1, 0, &sa);
	check("flags", count == 1 && sa.sa_handler == SIG_DFL, "SA_RESETHAND: back to SIG_DFL after one delivery");

	count = max_depth = 0;
	on(SIGUSR1, nested, SA_NODEFER);
	raise(SIGUSR1);
	check("flags", max_depth == 2, "SA_NODEFER: the handler interrupted itself");
	count = max_depth = 0;
	on(SIGUSR1, nested, 0);
	raise(SIGUSR1);
	check("flags", max_depth == 1 && count == 2, "without SA_NODEFER: the second ran after the first");

	count = 0;
	struct sigaction m = { .sa_handler = usr1_raises_usr2 };
	sigemptyset(&m.sa_mask);
	sigaddset(&m.sa_mask, SIGUSR2);
	sigaction(SIGUSR1, &m, 0);
	on(SIGUSR2, counter, 0);
	raise(SIGUSR1);
	check("flags", seen_usr2_in_usr1 == 0 && count == 1, "sa_mask: SIGUSR2 waited for the SIGUSR1 handler's end");
	return 0;
}

/* ---- timers and blocking calls ---- */

static int t_alarm_sleep(void)
{
	on(SIGALRM, counter, 0);
	alarm(1);
	double t0 = now();
	struct timespec req = { 5, 0 }, rem = { 0, 0 };
	int r = nanosleep(&req, &rem);
	int e = errno;
	double took = now() - t0, left = rem.tv_sec + rem.tv_nsec / 1e9;
	printf("alarm: nanosleep=%d %s after %.2fs, %.2fs left, handler ran %d\n", r, strerror(e), took, left,
	       (int)count);
	check("alarm", r == -1 && e == EINTR && count == 1 && took > 0.9 && took < 4 && left > 1 && left < 4.2,
	      "nanosleep interrupted by SIGALRM");
	return 0;
}

static int t_alarm_poll(void)
{
	on(SIGALRM, counter, SA_RESTART);       /* poll is never restarted, SA_RESTART or not */
	alarm(1);
	double t0 = now();
	int r = poll(0, 0, 5000);
	int e = errno;
	double took = now() - t0;
	printf("alarm: poll=%d %s after %.2fs\n", r, strerror(e), took);
	check("alarm", r == -1 && e == EINTR && count == 1 && took > 0.9 && took < 4, "poll interrupted by SIGALRM");
	return 0;
}

static int t_ppoll(void)
{
	on(SIGALRM, counter, 0);
	block(SIGALRM, SIG_BLOCK);
	alarm(1);
	sigset_t none, after;
	sigemptyset(&none);
	struct timespec limit = { 5, 0 };
	double t0 = now();
	int r = ppoll(0, 0, &limit, &none);
	int e = errno;
	double took = now() - t0;
	sigprocmask(SIG_BLOCK, 0, &after);
	printf("ppoll: %d %s after %.2fs, handler ran %d, SIGALRM blocked after: %d\n", r, strerror(e), took,
	       (int)count, sigismember(&after, SIGALRM));
	check("ppoll", r == -1 && e == EINTR && count == 1 && took < 4 && sigismember(&after, SIGALRM),
	      "its mask let SIGALRM in, then the caller's came back");
	return 0;
}

/* No blocking call: the timer's signal comes at the return of a syscall (close's EBADF). */
static int t_alarm_syscall(void)
{
	on(SIGALRM, counter, 0);
	alarm(1);
	double t0 = now(), took;
	long calls = 0;
	while (!count && (took = now() - t0) < 5)
		calls += close(-1) == -1;
	printf("alarm: delivered at a syscall's return after %.2fs\n", took);
	check("alarm", count == 1 && took > 0.9 && took < 2 && calls > 0, "SIGALRM while the app ran");
	return 0;
}

static int t_setitimer(void)
{
	on(SIGALRM, counter, 0);
	struct itimerval it = { { 0, 50000 }, { 0, 50000 } }, got;
	double t0 = now();
	setitimer(ITIMER_REAL, &it, 0);
	while (count < 5)
		pause();
	double took = now() - t0;
	getitimer(ITIMER_REAL, &got);
	it = (struct itimerval){ 0 };
	setitimer(ITIMER_REAL, &it, 0);
	printf("setitimer: %d ticks in %.2fs, interval %ldus\n", (int)count, took, (long)got.it_interval.tv_usec);
	check("setitimer", count == 5 && took >= 0.24 && got.it_interval.tv_usec == 50000, "5 periodic SIGALRMs");
	return 0;
}

static int t_pause(void)
{
	on(SIGALRM, counter, 0);
	alarm(1);
	int r = pause();
	printf("pause: %d %s, handler ran %d\n", r, strerror(errno), (int)count);
	check("pause", r == -1 && errno == EINTR && count == 1, "woken by alarm");
	return 0;
}

static int t_sigsuspend(void)
{
	on(SIGALRM, counter, 0);
	block(SIGALRM, SIG_BLOCK);
	alarm(1);
	sigset_t none, after;
	sigemptyset(&none);
	int r = sigsuspend(&none);
	int e = errno;
	sigprocmask(SIG_BLOCK, 0, &after);
	printf("sigsuspend: %d %s, handler ran %d, SIGALRM blocked after: %d\n", r, strerror(e), (int)count,
	       sigismember(&after, SIGALRM));
	check("sigsuspend", r == -1 && e == EINTR && count == 1 && sigismember(&after, SIGALRM),
	      "woken by alarm, mask restored");
	return 0;
}

static int t_sigwaitinfo(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, 0);
	raise(SIGUSR1);
	siginfo_t si;
	int sig = sigwaitinfo(&set, &si);
	printf("sigwaitinfo: %d code=%s\n", sig, code_name(si.si_code));
	struct timespec t = { 0, 100000000 };
	double t0 = now();
	int r = sigtimedwait(&set, &si, &t);
	int e = errno;
	printf("sigwaitinfo: sigtimedwait=%d %s after %.2fs\n", r, strerror(e), now() - t0);
	check("sigwaitinfo", sig == SIGUSR1 && si.si_code != SI_QUEUE && r == -1 && e == EAGAIN, "took it, then timed out");
	return 0;
}

/* ---- CPU exceptions ---- */

static int t_segv(void)
{
	on_info(SIGSEGV, jumper, 0);
	if (!sigsetjmp(env, 1))
		poke((int *)16);
	printf("segv: addr=%p code=%s\n", last.si_addr, last.si_code == SEGV_MAPERR ? "SEGV_MAPERR" : "?");
	static const int constant = 1;
	volatile int *ro = (volatile int *)&constant;
	if (!sigsetjmp(env, 1))
		*ro = 2;
	printf("segv: read-only addr=%s code=%s\n", last.si_addr == &constant ? "ok" : "wrong",
	       last.si_code == SEGV_ACCERR ? "SEGV_ACCERR" : "?");
	void (*volatile nowhere)(void) = 0;
	if (!sigsetjmp(env, 1))
		nowhere();
	printf("segv: call through NULL addr=%p\n", last.si_addr);
	check("segv", count == 3, "recovered three times with siglongjmp");
	return 0;
}

/* SIGILL and SIGTRAP everywhere; SIGBUS on ARMv7 (an unaligned ldrd; x86_64 checks alignment only in user mode). */
static int t_traps(void)
{
	on_info(SIGILL, jumper, 0);
	on_info(SIGTRAP, jumper, 0);
	on_info(SIGBUS, jumper, 0);
	if (!sigsetjmp(env, 1))
		__builtin_trap();
	printf("traps: trap instruction: %s at the pc: %s\n", last.si_signo == SIGILL ? "SIGILL" : "?",
	       last.si_addr == (void *)last_pc ? "yes" : "no");
	last.si_signo = 0;
	if (!sigsetjmp(env, 1)) {
#if defined(__x86_64__)
		__asm__ volatile("int3");
#else
		__asm__ volatile("bkpt #0");
#endif
	}
	printf("traps: breakpoint: %s\n", last.si_signo == SIGTRAP ? "SIGTRAP" : "?");
#if defined(__arm__)
	static char buf[16] __attribute__((aligned(8)));
	if (!sigsetjmp(env, 1)) {
		register unsigned lo __asm__("r2"), hi __asm__("r3");
		__asm__ volatile("ldrd %0, %1, [%2]" : "=r"(lo), "=r"(hi) : "r"(buf + 1));
	}
	printf("traps: unaligned ldrd: %s %s\n", last.si_signo == SIGBUS ? "SIGBUS" : "?",
	       last.si_code == BUS_ADRALN ? "BUS_ADRALN" : "?");
#endif
	return 0;
}

static char *page;

static void unprotect(int sig, siginfo_t *si, void *uc)
{
	recorder(sig, si, uc);
	mprotect(page, 4096, PROT_READ | PROT_WRITE);   /* returning retries the access, which now succeeds */
}

static int t_retry(void)
{
	page = mmap(0, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	on_info(SIGSEGV, unprotect, 0);
	volatile char *p = page;        /* the store happens here, before count is read */
	p[100] = 7;
	check("retry", count == 1 && p[100] == 7 && last.si_addr == page + 100,
	      "the handler returned and the faulting write was done again");
	return 0;
}

static int t_fpe(int argc, char **argv)
{
	on_info(SIGFPE, jumper, 0);
	volatile int zero = argc - 2, x = 7;    /* argc is 2: "fpe" */
	int q = 0;
	(void)argv;
	if (!sigsetjmp(env, 1))
		q = x / zero;
	if (count)
		printf("fpe: SIGFPE %s at %s\n", last.si_code == FPE_INTDIV ? "FPE_INTDIV" : "?",
		       last.si_addr == (void *)last_pc ? "the divide" : "?");
	else
		printf("fpe: no trap, 7 / 0 = %d\n", q);
	return 0;
}

static void on_altstack(int sig, siginfo_t *si, void *uc)
{
	char here;
	recorder(sig, si, uc);
	order = &here > altstack && &here < altstack + SIGSTKSZ;
	siglongjmp(env, 1);
}

__attribute__((noinline)) static int recurse(volatile char *p, int n)
{
	volatile char buf[512];
	buf[0] = (char)n;
	return recurse(buf, n + 1) + p[0];
}

static int t_overflow(void)
{
	altstack = malloc(SIGSTKSZ);
	stack_t ss = { .ss_sp = altstack, .ss_size = SIGSTKSZ };
	sigaltstack(&ss, 0);
	on_info(SIGSEGV, on_altstack, SA_ONSTACK);
	if (!sigsetjmp(env, 1))
		recurse(0, 0);
	stack_t cur;
	sigaltstack(0, &cur);
	printf("overflow: SIGSEGV %s, handler on the altstack: %s\n",
	       last.si_code == SEGV_MAPERR ? "SEGV_MAPERR" : last.si_code == SEGV_ACCERR ? "SEGV_ACCERR" : "?",
	       order ? "yes" : "no");
	check("overflow", count == 1 && order && !(cur.ss_flags & SS_ONSTACK), "caught on the sigaltstack");
	return 0;
}

static int t_libos_fault(void)
{
	on_info(SIGSEGV, jumper, 0);
	if (!sigsetjmp(env, 1))
		write(1, (void *)16, 8);        /* the library OS reads the bad buffer: its fault, a crash */
	printf("libos-fault: FAIL the library OS's fault reached the app's handler\n");
	return 0;
}

/* ---- default actions ---- */

static int t_abort(void)
{
	abort();
}

static int t_term(void)
{
	raise(SIGTERM);
	printf("term: FAIL still running\n");
	return 0;
}

/* ---- what a unikernel cannot do ---- */

static int t_spawn(void)
{
	errno = 0;
	int r = system("true");
	printf("spawn: system=%d %s\n", r, strerror(errno));
	pid_t pid;
	r = posix_spawn(&pid, "/bin/true", 0, 0, (char *[]){ "true", 0 }, environ);
	printf("spawn: posix_spawn=%s\n", strerror(r));
	int p[2], pipes = pipe(p) == 0;
	errno = 0;
	FILE *f = popen("true", "r");
	printf("spawn: popen=%s %s (pipes %s)\n", f ? "FILE" : "NULL", strerror(errno), pipes ? "work" : "do not");
	errno = 0;
	r = fork();
	printf("spawn: fork=%d %s\n", r, strerror(errno));
	errno = 0;
	r = vfork();
	printf("spawn: vfork=%d %s\n", r, strerror(errno));
	errno = 0;
	r = execv("/bin/true", (char *[]){ "true", 0 });
	printf("spawn: execv=%d %s\n", r, strerror(errno));
	errno = 0;
	r = waitpid(-1, 0, 0);
	printf("spawn: waitpid=%d %s\n", r, strerror(errno));
	return 0;
}

static int t_dl(void)
{
	void *h = dlopen("libz.so.1", RTLD_NOW);
	const char *why = dlerror();
	printf("dl: dlopen=%s dlerror=%s\n", h ? "handle" : "NULL", why ? why : "NULL");
	void *sym = dlsym(RTLD_DEFAULT, "deflate");
	why = dlerror();
	printf("dl: dlsym=%s dlerror=%s\n", sym ? "found" : "NULL", why ? why : "NULL");
	return 0;
}

static int t_rlimit(void)
{
	struct rlimit core = { 0, 0 }, nofile = { 1 << 20, 1 << 20 }, got;
	int r = setrlimit(RLIMIT_CORE, &core);
	getrlimit(RLIMIT_CORE, &got);
	printf("rlimit: core set=%d now=%ld\n", r, (long)got.rlim_cur);
	r = setrlimit(RLIMIT_NOFILE, &nofile);
	printf("rlimit: nofile 1048576=%d %s\n", r, strerror(errno));
	return 0;
}

int main(int argc, char **argv)
{
	static const struct { const char *name; int (*fn)(void); } tests[] = {
		{ "raise", t_raise }, { "pending", t_pending }, { "siginfo", t_siginfo }, { "flags", t_flags },
		{ "alarm-sleep", t_alarm_sleep }, { "alarm-poll", t_alarm_poll }, { "alarm-syscall", t_alarm_syscall }, { "ppoll", t_ppoll },
		{ "setitimer", t_setitimer }, { "pause", t_pause },
		{ "sigsuspend", t_sigsuspend }, { "sigwaitinfo", t_sigwaitinfo }, { "segv", t_segv }, { "traps", t_traps },
		{ "retry", t_retry }, { "overflow", t_overflow }, { "libos-fault", t_libos_fault },
		{ "abort", t_abort }, { "term", t_term }, { "spawn", t_spawn }, { "dl", t_dl }, { "rlimit", t_rlimit },
	};
	setvbuf(stdout, 0, _IONBF, 0);
	if (argc < 2)
		return 2;
	if (!strcmp(argv[1], "fpe"))
		return t_fpe(argc, argv);
	for (size_t i = 0; i < sizeof tests / sizeof *tests; i++)
		if (!strcmp(argv[1], tests[i].name))
			return tests[i].fn();
	printf("unknown test %s\n", argv[1]);
	return 2;
}

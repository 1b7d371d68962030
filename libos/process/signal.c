/* Signals of the one process: dispositions, masks, pending signals with their siginfo, and delivery into handlers
 * through Linux signal frames (built by the arch layer: signal_x86_64.c, signal_armv7.c).
 *
 * Delivery points. Interrupts are off while the app runs, so nothing interrupts it asynchronously; a signal that
 * becomes pending is delivered at the next of:
 * - the end of the signal syscalls (kill, tkill/raise, sigqueue, sigprocmask or sigreturn unblocking it,
 *   sigsuspend), and of a syscall that generated it for the process (uf_signal_raise: SIGPIPE);
 * - the wait points of blocking calls (uf_signal_wait_point: nanosleep, poll/select/epoll, sockets, pause,
 *   sigsuspend, sigtimedwait), which then fail with EINTR or go on waiting (SA_RESTART);
 * - a CPU exception in the app's own code (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP), delivered at once;
 * - once a timer is armed, the return of nearly every syscall to the app (musl's __syscall_ret).
 * Timers are checked at each of these points, and a blocking call wakes up when one is due (uf_time_wake_at): a
 * timer's signal arrives on time in a blocking call, and at the next syscall otherwise (never in a loop that makes
 * none: that needs interrupts in the app's code).
 * Entering a handler and returning from one are traps (x86_64 int $0x80, ARMv7 svc #0, through module trap):
 * the trap frame is the interrupted context, the signal frame is built from it, and sigreturn restores it.
 *
 * With threads (module thread), the mask, the thread-directed pending signals, the sigaltstack and the wait
 * points' state are per thread (struct uf_signal_thread, uf/signal.h; self() is the running thread's), and
 * process-directed signals stay in `shared`, taken by whichever thread that does not block them comes first to a
 * delivery point: module thread wakes one such thread if all are blocked in waits. The app then runs with
 * interrupts on, so one more delivery point comes in: the end of an interrupt that came while the app ran, and
 * a switch back to a thread that was running the app (uf_signal_resume): a signal reaches a loop that makes no
 * syscall, as on Linux; and timers are fired by their own interrupt rather than at syscalls' returns. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <uf/boot.h>
#include <uf/console.h>
#include <uf/exit.h>
#include <uf/signal.h>
#include <uf/thread.h>
#include <uf/trap.h>

#include "signals.h"

#define UNBLOCKABLE (UF_SIGBIT(SIGKILL) | UF_SIGBIT(SIGSTOP))
/* Delivered before the others when several are pending, as Linux does: they report the app's own faults. */
#define SYNCHRONOUS (UF_SIGBIT(SIGSEGV) | UF_SIGBIT(SIGBUS) | UF_SIGBIT(SIGILL) | UF_SIGBIT(SIGTRAP) | \
		     UF_SIGBIT(SIGFPE) | UF_SIGBIT(SIGSYS))
/* Default actions: ignore these (there is no job control: the stop signals too), dump core with these, and
 * terminate with every other. */
#define DEFAULT_IGNORE (UF_SIGBIT(SIGCHLD) | UF_SIGBIT(SIGURG) | UF_SIGBIT(SIGWINCH) | UF_SIGBIT(SIGCONT) | \
			UF_SIGBIT(SIGSTOP) | UF_SIGBIT(SIGTSTP) | UF_SIGBIT(SIGTTIN) | UF_SIGBIT(SIGTTOU))
#define DEFAULT_CORE (UF_SIGBIT(SIGQUIT) | UF_SIGBIT(SIGILL) | UF_SIGBIT(SIGTRAP) | UF_SIGBIT(SIGABRT) | \
		      UF_SIGBIT(SIGBUS) | UF_SIGBIT(SIGFPE) | UF_SIGBIT(SIGSEGV) | UF_SIGBIT(SIGXCPU) | \
		      UF_SIGBIT(SIGXFSZ) | UF_SIGBIT(SIGSYS))
#define SIGSET_SIZE 8           /* the kernel's sigset_t, which musl passes as _NSIG / 8 */
#define QUEUE_MAX 64            /* siginfos pending at once (Linux's RLIMIT_SIGPENDING is larger and per user) */
#define PROCESS_ID 1            /* getpid() */
#define SIGCANCEL 33            /* musl's thread cancellation signal (pthread_cancel) */

/* What a wait point learns from the handlers run meanwhile (a thread's `handled`). */
enum { HANDLED = 1, INTERRUPTED = 2 };

/* A pending signal's siginfo, in arrival order. */
struct queued {
	siginfo_t info;
	struct uf_signal_thread *to;      /* NULL: the process */
	struct queued *next;
};

static struct k_sigaction actions[_NSIG];
static uf_sigset shared;        /* process-directed pending signals */
static struct queued pool[QUEUE_MAX], *queue, *free_list;
static int pool_ready;
static const struct uf_signal_timers *timers;
static int hooked;              /* module trap calls uf_signal_trap */
/* The restorers handlers return through (musl's __restore, __restore_rt): a frame-pointer chain ends there. */
static void (*restorers[4])(void);

static struct uf_signal_thread *self(void)
{
#ifdef UF_THREADS
	return uf_thread_signals(0);
#else
	static struct uf_signal_thread only_thread = { .altstack.ss_flags = SS_DISABLE };
	return &only_thread;
#endif
}

/* Thread tid (gettid's), or NULL. */
static struct uf_signal_thread *thread_of(int tid)
{
#ifdef UF_THREADS
	return tid > 0 ? uf_thread_signals(tid) : 0;
#else
	return tid == 1 ? self() : 0;
#endif
}

void uf_signal_thread_init(struct uf_signal_thread *t, const struct uf_signal_thread *creator)
{
	*t = (struct uf_signal_thread){ .blocked = creator->blocked, .altstack.ss_flags = SS_DISABLE };
}

static const char *const names[32] = {
	0, "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE", "SIGKILL", "SIGUSR1",
	"SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM", "SIGSTKFLT", "SIGCHLD", "SIGCONT", "SIGSTOP",
	"SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGURG", "SIGXCPU", "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH",
	"SIGIO", "SIGPWR", "SIGSYS",
};

static int valid(int sig)
{
	return sig >= 1 && sig < _NSIG;
}

/* ---- pending signals ---- */

static struct queued *alloc_queued(void)
{
	if (!pool_ready) {
		pool_ready = 1;
		for (int i = 0; i < QUEUE_MAX; i++) {
			pool[i].next = free_list;
			free_list = &pool[i];
		}
	}
	struct queued *q = free_list;
	if (q)
		free_list = q->next;
	return q;
}

static int ignored(int sig)
{
	void (*h)(int) = actions[sig].handler;
	return h == SIG_IGN || (h == SIG_DFL && (DEFAULT_IGNORE & UF_SIGBIT(sig)));
}

/* Makes sig pending for t (NULL: the process). Standard signals are pending once at most; real-time ones queue
 * each siginfo (a full queue keeps the signal pending without its siginfo, unless must_queue: -EAGAIN). Returns 1
 * when info was queued (it will be delivered or taken), 0 when it was not (merged into a pending instance,
 * ignored, no room). SIGKILL too is delivered at the next delivery point (where nothing blocks it). */
static int generate(int sig, const siginfo_t *info, struct uf_signal_thread *t, int must_queue)
{
	/* An ignored signal is dropped, unless it is blocked: the disposition may change before it is unblocked. */
	if (ignored(sig) && !((t ? t : self())->blocked & UF_SIGBIT(sig)))
		return 0;
	uf_sigset *pending = t ? &t->pending : &shared;
	if (sig < SIGRTMIN && (*pending & UF_SIGBIT(sig)))
		return 0;
	struct queued *q = alloc_queued();
	if (!q && must_queue)
		return -EAGAIN;
	*pending |= UF_SIGBIT(sig);
#ifdef UF_THREADS
	if (t)
		uf_thread_signal_kick(t);
	else
		uf_thread_signal_wake(sig);
#endif
	if (q) {
		q->info = *info;
		q->info.si_signo = sig;
		q->to = t;
		q->next = 0;
		struct queued **end = &queue;
		while (*end)
			end = &(*end)->next;
		*end = q;
	}
	return !!q;
}

/* Takes sig's first siginfo for t (thread-directed first, then the process's) off the queue. */
static void take(int sig, struct uf_signal_thread *t, siginfo_t *info)
{
	struct uf_signal_thread *to = t->pending & UF_SIGBIT(sig) ? t : 0;
	uf_sigset *pending = to ? &t->pending : &shared;
	int found = 0, more = 0;
	for (struct queued **p = &queue; *p;) {
		struct queued *q = *p;
		if (q->info.si_signo != sig || q->to != to) {
			p = &q->next;
		} else if (found) {
			more = 1;
			break;
		} else {
			found = 1;
			*info = q->info;
			*p = q->next;
			q->next = free_list;
			free_list = q;
		}
	}
	if (!found) {
		memset(info, 0, sizeof *info);
		info->si_signo = sig;
		info->si_code = SI_KERNEL;
	}
	if (!more)
		*pending &= ~UF_SIGBIT(sig);
	if (info->si_code == SI_TIMER && timers)
		timers->delivered(info);
}

/* Forgets every pending sig (its disposition became "ignore"). */
static void discard(int sig)
{
	siginfo_t info;
	struct uf_signal_thread *t = self();
	while ((t->pending | shared) & UF_SIGBIT(sig))
		take(sig, t, &info);
}

/* The signal to deliver next to t, or 0: synchronous ones first, then the lowest number. */
static int next_signal(struct uf_signal_thread *t)
{
	uf_sigset ready = (t->pending | shared) & ~t->blocked;
	if (ready & SYNCHRONOUS)
		ready &= SYNCHRONOUS;
	return ready ? __builtin_ctzll(ready) + 1 : 0;
}

/* ---- default actions ---- */

static void say_signal(int sig)
{
	if (sig < 32)
		uf_printk("signal %d (%s)", sig, names[sig]);
	else
		uf_printk("signal %d (SIGRTMIN+%d)", sig, sig - SIGRTMIN);
}

static _Noreturn void exit_after_trap(int status)
{
	uf_process_exit(status);
}

/* The end of the process by a signal's default action, from code at pc with frame pointer fp. Terminating
 * signals end it with status 128 + sig, as a shell reports a child killed by one; core-dumping ones with the
 * crash status and a crash report (the runner symbolizes its backtrace). From a trap (f), the exit, which may
 * wait for disks, happens once the trap is over, in the thread's own context. */
static void die(int sig, struct uf_trap_frame *f, uintptr_t pc, uintptr_t fp)
{
	int core = DEFAULT_CORE & UF_SIGBIT(sig);
	uf_printk(core ? "uniforge: crash: killed by " : "uniforge: killed by ");
	say_signal(sig);
	uf_printk("\n");
	if (core)
		uf_backtrace(pc, fp);
	int status = core ? UF_EXIT_CRASH : 128 + sig;
	if (!f)
		uf_process_exit(status);
	uf_arch_signal_call(f, exit_after_trap, status);
}

/* ---- delivery ---- */

static int on_altstack(const struct uf_signal_thread *t, uintptr_t sp)
{
	uintptr_t base = (uintptr_t)t->altstack.ss_sp;
	return !(t->altstack.ss_flags & SS_DISABLE) && sp > base && sp - base <= t->altstack.ss_size;
}

/* Enters sig's handler from f: its frame on the sigaltstack or the interrupted stack, then the handler's mask.
 * Returns 0 when the frame cannot be written. */
static int enter(struct uf_trap_frame *f, int sig, const siginfo_t *info)
{
	struct uf_signal_thread *t = self();
	struct k_sigaction *a = &actions[sig];
	int on_alt = on_altstack(t, uf_arch_signal_sp(f));
	struct uf_signal_entry e = {
		.sig = sig, .info = info, .action = a, .uc_stack = t->altstack,
		.uc_mask = t->restore_mask ? t->saved_mask : t->blocked,
	};
	if (on_alt)
		e.uc_stack.ss_flags |= SS_ONSTACK;
	if ((a->flags & SA_ONSTACK) && !(t->altstack.ss_flags & SS_DISABLE) && !on_alt)
		e.stack = (uintptr_t)t->altstack.ss_sp + t->altstack.ss_size;
	if (!uf_arch_signal_enter(f, &e))
		return 0;
	t->restore_mask = 0;
	if (e.stack && (t->altstack.ss_flags & SS_AUTODISARM))
		t->altstack = (stack_t){ .ss_flags = SS_DISABLE };
	uf_sigset mask = a->mask[0] | (uf_sigset)a->mask[1] << 32;
	t->blocked |= mask | (a->flags & SA_NODEFER ? 0 : UF_SIGBIT(sig));
	t->blocked &= ~UNBLOCKABLE;
	t->handled |= HANDLED | (a->flags & SA_RESTART ? 0 : INTERRUPTED);
	if (a->flags & SA_RESETHAND)
		a->handler = SIG_DFL;
	return 1;
}

/* Delivers the first deliverable signal that has a handler into f (its sigreturn comes back for the next):
 * those ignored are dropped on the way, and one whose default action ends the process ends it. */
static void deliver(struct uf_trap_frame *f)
{
	struct uf_signal_thread *t = self();
	siginfo_t info;
	for (int sig; (sig = next_signal(t));) {
		take(sig, t, &info);
		if (ignored(sig))
			continue;
		if (actions[sig].handler == SIG_DFL) {
			die(sig, f, uf_arch_signal_pc(f), uf_arch_signal_fp(f));
			return;
		}
		if (enter(f, sig, &info))
			return;
		uf_printk("uniforge: crash: no room for the frame of ");
		say_signal(sig);
		uf_printk(" below sp=%p\n", (void *)uf_arch_signal_sp(f));
		uf_backtrace(uf_arch_signal_pc(f), uf_arch_signal_fp(f));
		uf_process_exit(UF_EXIT_CRASH);
	}
}

/* In a frame-pointer chain: 1 once the library OS's code called back into the app's (the library OS is busy),
 * 2 at a handler's frame (what it interrupted does not matter). The outermost library-OS frames, which start the
 * app, are followed by nothing else. */
static int libos_caller(uintptr_t ret, void *seen_libos)
{
	for (unsigned i = 0; i < sizeof restorers / sizeof *restorers; i++)
		if (restorers[i] && ret == (uintptr_t)restorers[i])
			return 2;
	int libos = ret < (uintptr_t)__uf_app_text_start || ret >= (uintptr_t)uf_libos_text_start;
	if (libos)
		*(int *)seen_libos = 1;
	return !libos && *(int *)seen_libos;
}

/* Whether f was running the app's code (the app, the libc, compiler-rt) on the app's behalf: its pc is there (or,
 * after a call to an address outside the code, its caller is), and no library-OS function is among its callers,
 * except the outermost ones that start the app. (A libc leaf function called by the library OS without a frame
 * of its own, as memcpy, is taken for the app's.) */
static int in_app(const struct uf_trap_frame *f)
{
	uintptr_t pc = uf_arch_signal_pc(f);
	if (pc < (uintptr_t)__uf_text_start || pc >= (uintptr_t)__uf_text_end)
		pc = uf_arch_signal_caller(f);
	if (pc < (uintptr_t)__uf_app_text_start || pc >= (uintptr_t)uf_libos_text_start)
		return 0;
	int seen_libos = 0;
	return uf_trap_walk(uf_arch_signal_fp(f), libos_caller, &seen_libos) != 1;
}

static void deliver_pending(void);
static void at_syscall_return(void);

/* Fires the timers that are due; the hook at syscalls' returns is on while one is armed (not with threads: there
 * the timer's interrupt fires them). */
static void check_timers(void)
{
	if (timers && timers->check() && !UF_THREADED)
		uf_signal_syscall_return = at_syscall_return;
	else if (!UF_THREADED)
		uf_signal_syscall_return = 0;
}

/* The hook at a syscall's return to the app (libos/libc/src/internal/syscall_ret.c): the timers that are due
 * fire, and what is deliverable is delivered, unless this is a libc call the library OS made (malloc's mmap). */
void (*uf_signal_syscall_return)(void);

static void at_syscall_return(void)
{
	int seen_libos = 0;
	check_timers();
	if (next_signal(self()) && uf_trap_walk((uintptr_t)__builtin_frame_address(0), libos_caller, &seen_libos) != 1)
		deliver_pending();
}

/* A CPU exception: to the app's handler when it has one and does not block the signal; otherwise (as Linux then
 * forces the default action) the crash report. */
static int fault(struct uf_trap_frame *f, siginfo_t *info)
{
	int sig = info->si_signo;
	void (*h)(int) = actions[sig].handler;
	if (!in_app(f) || h == SIG_DFL || h == SIG_IGN || (self()->blocked & UF_SIGBIT(sig)))
		return 0;
	return enter(f, sig, info);
}

static void sigreturn(struct uf_trap_frame *f, int rt)
{
	struct uf_signal_thread *t = self();
	uf_sigset mask;
	stack_t stack;
	if (!uf_arch_signal_return(f, rt, &mask, &stack)) {
		uf_printk("uniforge: crash: sigreturn without a readable signal frame at sp=%p\n",
			  (void *)uf_arch_signal_sp(f));
		uf_backtrace(uf_arch_signal_pc(f), uf_arch_signal_fp(f));
		uf_process_exit(UF_EXIT_CRASH);
	}
	t->blocked = mask & ~UNBLOCKABLE;
	if (stack.ss_flags & SS_AUTODISARM)     /* the handler's entry disarmed it: as it was */
		t->altstack = (stack_t){ .ss_sp = stack.ss_sp, .ss_size = stack.ss_size, .ss_flags = SS_AUTODISARM };
}

int uf_signal_trap(struct uf_trap_frame *f)
{
	siginfo_t info;
	enum uf_signal_trap_kind kind = uf_arch_signal_kind(f, &info);
	switch (kind) {
	case UF_SIGNAL_FAULT:
		return fault(f, &info);
	case UF_SIGNAL_RETURN:
	case UF_SIGNAL_RT_RETURN:
		sigreturn(f, kind == UF_SIGNAL_RT_RETURN);
		/* fall through: what its mask blocked may be deliverable now */
	case UF_SIGNAL_DELIVER:
		check_timers();
		deliver(f);
		return 1;
	default:
		return 0;
	}
}

/* A delivery point in a syscall: runs what is deliverable now. Without a handler installed, no trap is needed:
 * every signal is ignored or ends the process. */
static void deliver_pending(void)
{
	struct uf_signal_thread *t = self();
	if (!next_signal(t))
		return;
	if (hooked) {
		uf_arch_signal_trap();
		return;
	}
	siginfo_t info;
	for (int sig; (sig = next_signal(t));) {
		take(sig, t, &info);
		if (!ignored(sig))
			die(sig, 0, (uintptr_t)__builtin_return_address(0), (uintptr_t)__builtin_frame_address(0));
	}
}

static void deliver_here(void)
{
	check_timers();
	deliver_pending();
}

#ifdef UF_THREADS
/* The return address of the libc's cancellation points' call into the library OS (libos/libc/src/thread/<arch>/
 * syscall_cp.[sS]): a frame that returns there is the call of a cancellation point. A return into Thumb code
 * (ARMv7's libc) has bit 0 set, the label's address does not; no other return address lies one byte past it. */
extern const char __cp_end[] __attribute__((weak));

static int returns_to_cancellation_point(uintptr_t ret, void *arg)
{
	(void)arg;
	return __cp_end && (ret & ~(uintptr_t)1) == (uintptr_t)__cp_end;
}

/* pthread_cancel's signal reached a blocked cancellation point: the call ends with EINTR (its handler does not
 * run: the libc acts on the cancellation when the call returns, as after Linux's EINTR). */
static int cancelled(struct uf_signal_thread *t)
{
	uf_sigset bit = UF_SIGBIT(SIGCANCEL);
	if (!((t->pending | shared) & bit & ~t->blocked) ||
	    !uf_trap_walk((uintptr_t)__builtin_frame_address(0), returns_to_cancellation_point, 0))
		return 0;
	siginfo_t info;
	take(SIGCANCEL, t, &info);
	return 1;
}
#endif

static long wait_point(int restarts)
{
	struct uf_signal_thread *t = self();
#ifdef UF_THREADS
	if (cancelled(t))
		return -EINTR;
#endif
	unsigned before = t->handled;
	t->handled = 0;
	deliver_here();
	unsigned now = t->handled;
	t->handled = before | now;      /* a wait point in a handler must not hide the handler from the one outside */
	return (now & INTERRUPTED) || (!restarts && now) ? -EINTR : 0;
}

long uf_signal_wait_point(void)
{
	return wait_point(1);
}

long uf_signal_wait_point_norestart(void)
{
	return wait_point(0);
}

/* Linux sends SIGPIPE and its kin to the thread that made the call. */
void uf_signal_raise(int sig)
{
	siginfo_t info = { .si_signo = sig, .si_code = SI_KERNEL };
	generate(sig, &info, self(), 0);
	deliver_here();
}

int uf_signal_queue(int sig, const siginfo_t *info, int must_queue)
{
	return generate(sig, info, 0, must_queue);
}

int uf_signal_queue_thread(int tid, int sig, const siginfo_t *info)
{
	struct uf_signal_thread *t = thread_of(tid);
	return t ? generate(sig, info, t, 0) : -ESRCH;
}

void uf_signal_resume(struct uf_trap_frame *f)
{
	if (next_signal(self()))
		deliver(f);
}

void uf_signal_timers_due(void)
{
	check_timers();
}

void uf_signal_use_timers(const struct uf_signal_timers *t)
{
	timers = t;
	check_timers();
}

/* ---- temporary masks: sigsuspend, ppoll, pselect, epoll_pwait ---- */

void uf_signal_mask_swap(const void *mask)
{
	struct uf_signal_thread *t = self();
	uf_sigset m;
	memcpy(&m, mask, sizeof m);
	t->saved_mask = t->blocked;
	t->restore_mask = 1;
	t->blocked = m & ~UNBLOCKABLE;
}

void uf_signal_mask_restore(void)
{
	struct uf_signal_thread *t = self();
	if (t->restore_mask) {          /* unless a handler's frame took it (its sigreturn restored it) */
		t->restore_mask = 0;
		t->blocked = t->saved_mask;
	}
	deliver_here();
}

/* ---- the syscalls ---- */

long uf_sys_rt_sigaction(int sig, const struct k_sigaction *act, struct k_sigaction *old, size_t size)
{
	if (size != SIGSET_SIZE || !valid(sig) || ((sig == SIGKILL || sig == SIGSTOP) && act))
		return -EINVAL;
	if (old)
		*old = actions[sig];
	if (!act)
		return 0;
	actions[sig] = *act;
	if (act->handler != SIG_DFL && act->handler != SIG_IGN) {
		for (unsigned i = 0; i < sizeof restorers / sizeof *restorers; i++)
			if (!restorers[i] || restorers[i] == act->restorer) {
				restorers[i] = act->restorer;
				break;
			}
		if (!hooked) {
			hooked = 1;
			uf_arch_signal_hook();
		}
	}
	if (ignored(sig))       /* POSIX: pending instances go, blocked or not */
		discard(sig);
	return 0;
}

long uf_sys_rt_sigprocmask(int how, const uf_sigset *set, uf_sigset *old, size_t size)
{
	struct uf_signal_thread *t = self();
	if (size != SIGSET_SIZE)
		return -EINVAL;
	uf_sigset before = t->blocked;
	if (set) {
		switch (how) {
		case SIG_BLOCK: t->blocked |= *set; break;
		case SIG_UNBLOCK: t->blocked &= ~*set; break;
		case SIG_SETMASK: t->blocked = *set; break;
		default: return -EINVAL;
		}
		t->blocked &= ~UNBLOCKABLE;
	}
	if (old)
		*old = before;
	deliver_here();
	return 0;
}

long uf_sys_rt_sigpending(uf_sigset *set, size_t size)
{
	struct uf_signal_thread *t = self();
	if (size > SIGSET_SIZE)
		return -EINVAL;
	uf_sigset pending = (t->pending | shared) & t->blocked;
	memcpy(set, &pending, size);
	return 0;
}

void uf_signal_wait_for(const uint64_t *set)
{
	self()->waiting = set ? *set : 0;
}

int uf_signal_take(const uint64_t *set, siginfo_t *info)
{
	struct uf_signal_thread *t = self();
	check_timers();
	uf_sigset ready = (t->pending | shared) & *set & ~UNBLOCKABLE;
	if (!ready)
		return 0;
	if (ready & SYNCHRONOUS)
		ready &= SYNCHRONOUS;
	int sig = __builtin_ctzll(ready) + 1;
	take(sig, t, info);
	return sig;
}

/* kill and friends aim at the process (pid 1, its group 0 or 1, or every process: -1) or its thread (tid 1). */
static long send(int sig, struct uf_signal_thread *t, int code, const siginfo_t *given)
{
	if (sig == 0)
		return 0;
	if (!valid(sig))
		return -EINVAL;
	siginfo_t info = { .si_signo = sig, .si_code = code };
	info.si_pid = PROCESS_ID;
	info.si_uid = 0;
	long r = generate(sig, given ? given : &info, t, !!given);
	if (r < 0)
		return r;
	deliver_here();
	return 0;
}

long uf_sys_kill(int pid, int sig)
{
	if (pid != PROCESS_ID && pid != 0 && pid != -1 && pid != -PROCESS_ID)
		return -ESRCH;
	return send(sig, 0, SI_USER, 0);
}

long uf_sys_tkill(int tid, int sig)
{
	if (tid <= 0)
		return -EINVAL;
	struct uf_signal_thread *t = thread_of(tid);
	return t ? send(sig, t, SI_TKILL, 0) : -ESRCH;
}

long uf_sys_tgkill(int pid, int tid, int sig)
{
	if (pid <= 0 || tid <= 0)
		return -EINVAL;
	struct uf_signal_thread *t = thread_of(tid);
	return pid == PROCESS_ID && t ? send(sig, t, SI_TKILL, 0) : -ESRCH;
}

/* sigqueue: the sender's own siginfo (musl fills si_code SI_QUEUE, si_pid, si_uid, si_value), queued. */
long uf_sys_rt_sigqueueinfo(int pid, int sig, const siginfo_t *info)
{
	if (pid != PROCESS_ID)
		return -ESRCH;
	return send(sig, 0, 0, info);
}

long uf_sys_rt_tgsigqueueinfo(int pid, int tid, int sig, const siginfo_t *info)
{
	struct uf_signal_thread *t = thread_of(tid);
	if (pid != PROCESS_ID || !t)
		return -ESRCH;
	return send(sig, t, 0, info);
}

long uf_sys_sigaltstack(const stack_t *ss, stack_t *old)
{
	struct uf_signal_thread *t = self();
	int on = on_altstack(t, (uintptr_t)__builtin_frame_address(0));
	stack_t before = t->altstack;
	if (on)
		before.ss_flags |= SS_ONSTACK;
	if (ss) {
		int flags = ss->ss_flags & ~SS_AUTODISARM;
		if (flags != 0 && flags != SS_ONSTACK && flags != SS_DISABLE)
			return -EINVAL;
		if (on)
			return -EPERM;
		if (flags == SS_DISABLE)
			t->altstack = (stack_t){ .ss_flags = SS_DISABLE };
		else if (ss->ss_size < MINSIGSTKSZ)
			return -ENOMEM;
		else
			t->altstack = (stack_t){ .ss_sp = ss->ss_sp, .ss_size = ss->ss_size,
						 .ss_flags = ss->ss_flags & SS_AUTODISARM };
	}
	if (old)
		*old = before;
	return 0;
}

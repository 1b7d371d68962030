/* Signals as the rest of the library OS sees them (module process). The libc's own signal calls are the
 * uf_sys_rt_sig* syscalls; this is the kernel side: drivers that generate signals, blocking calls that must let
 * them in, and module timer. Where signals are delivered, and how: libos/process/signal.c. */
#ifndef UF_SIGNAL_H
#define UF_SIGNAL_H

#include <signal.h>
#include <stdint.h>

struct uf_trap_frame;

/* A thread's signal state, module process's. Module thread keeps one for each thread it makes (and for the
 * first, which the app starts on); a single-threaded image has only module process's own. */
struct uf_signal_thread {
	uint64_t blocked;               /* its mask (bit sig - 1) */
	uint64_t pending;               /* thread-directed: tkill, tgkill, faults, timers with SIGEV_THREAD_ID */
	uint64_t waiting;               /* what sigtimedwait waits for: taken by it while blocked */
	uint64_t saved_mask;            /* sigsuspend's, ppoll's...: the mask to restore once the call ends */
	int restore_mask;
	unsigned handled;               /* what handlers ran since the wait point that looks (signal.c) */
	stack_t altstack;               /* ss_flags: SS_DISABLE, or 0 and SS_AUTODISARM */
};

/* Whether the thread whose state is t would take sig now: it does not block it, or sigtimedwait waits for it. */
static inline int uf_signal_takes(const struct uf_signal_thread *t, int sig)
{
	uint64_t bit = 1ull << (sig - 1);
	return !(t->blocked & bit) || (t->waiting & bit);
}

/* A new thread's signal state (module thread): its creator's mask, nothing pending, no sigaltstack (Linux's clone
 * with CLONE_VM). */
void uf_signal_thread_init(struct uf_signal_thread *t, const struct uf_signal_thread *creator);

/* Module thread, at the end of an interrupt or a switch, when the running thread resumes in the app's code (f
 * is its frame): delivers the signals it can take into f, as Linux does on the way back to user mode. */
void uf_signal_resume(struct uf_trap_frame *f);
/* Module thread, when the timer interrupt comes: fires module timer's timers that are due. */
void uf_signal_timers_due(void);

/* Generates a process-directed signal from the kernel (SIGPIPE after a write to a broken pipe or socket, ...),
 * with si_code SI_KERNEL, and delivers it before returning if the app does not block it: its handler runs
 * (nested in the caller, which must be in a state the handler may leave with siglongjmp: say, right before
 * returning its error), or its default action ends the process. Blocked, it stays pending. */
void uf_signal_raise(int sig);

/* The delivery point of blocking calls: call it after every wake-up of a blocking loop (after
 * uf_time_wait_until), in a state the handlers may leave with siglongjmp. Runs the handlers of pending signals
 * the caller does not block (and fires the signal timers that are due). Returns 0 to go on waiting (nothing was
 * delivered, or every handler that ran was installed with SA_RESTART), or -EINTR: the blocking call must return
 * -EINTR now (or the count it transferred, if any). */
long uf_signal_wait_point(void);

/* The same, for the calls Linux never restarts (poll, select, epoll_wait, nanosleep, sigsuspend, pause,
 * sigtimedwait, a socket call with a timeout: signal(7)): -EINTR once any handler ran. */
long uf_signal_wait_point_norestart(void);

/* ppoll, pselect6, epoll_pwait, sigsuspend: mask (the kernel's 8-byte sigset) replaces the caller's mask for
 * the call; restore puts the caller's back (unless a handler's frame took it along: its return restored it)
 * and delivers what that unblocks. */
void uf_signal_mask_swap(const void *mask);
void uf_signal_mask_restore(void);

/* Makes sig pending for the process with info (a timer's SI_TIMER, ...), to be delivered at the next delivery
 * point. Returns 1 when info was queued (a handler or sigtimedwait will see it), 0 when not: sig was ignored, or
 * already pending (a standard signal is pending once), or too many siginfos are queued; must_queue makes the
 * last case fail with -EAGAIN instead, leaving sig alone. */
int uf_signal_queue(int sig, const siginfo_t *info, int must_queue);

/* Makes sig pending for thread tid (a timer's SIGEV_THREAD_ID), as uf_signal_queue does for the process; -ESRCH
 * if there is no such thread. */
int uf_signal_queue_thread(int tid, int sig, const siginfo_t *info);

/* sigtimedwait: takes the first pending signal of set (a 64-bit sigset), with its siginfo, and returns it; 0 if
 * none is pending. */
int uf_signal_take(const uint64_t *set, siginfo_t *info);
/* sigtimedwait while it waits: set (NULL when it stops) is taken by this thread even where its mask blocks it, so
 * a process-directed signal of set wakes it (the dedicated signal thread of many servers). */
void uf_signal_wait_for(const uint64_t *set);

/* The delivery point at a syscall's return to the app, which the libc's __syscall_ret calls when it is set (while
 * a timer is armed: libos/libc/src/internal/syscall_ret.c). */
extern void (*uf_signal_syscall_return)(void);

/* Module timer, when it arms a timer: check fires the timers that are due (called at every delivery point) and
 * says whether one is still armed; delivered completes a SI_TIMER siginfo as its signal is taken for delivery
 * (si_overrun). */
struct uf_signal_timers {
	int (*check)(void);
	void (*delivered)(siginfo_t *info);
};
void uf_signal_use_timers(const struct uf_signal_timers *timers);

#endif

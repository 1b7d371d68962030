/* Signals as the rest of the library OS sees them (module process). The libc's own signal calls are the
 * uf_sys_rt_sig* syscalls; this is the kernel side: drivers that generate signals, blocking calls that must let
 * them in, and module timer. Where signals are delivered, and how: libos/process/signal.c. */
#ifndef UF_SIGNAL_H
#define UF_SIGNAL_H

#include <signal.h>
#include <stdint.h>

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

/* sigtimedwait: takes the first pending signal of set (a 64-bit sigset), with its siginfo, and returns it; 0 if
 * none is pending. */
int uf_signal_take(const uint64_t *set, siginfo_t *info);

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

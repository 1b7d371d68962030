/* Signals within one process: handlers are kept and run synchronously when the process signals itself (raise,
 * abort); the default action of a fatal signal ends the machine with a crash report. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <uf/signal.h>
#include <uf/trap.h>

/* The kernel's view of struct sigaction, as musl passes it (handler, flags, restorer, mask). */
struct k_sigaction {
	void (*handler)(int);
	unsigned long flags;
	void (*restorer)(void);
	unsigned mask[2];
};

static struct k_sigaction actions[_NSIG];
static unsigned long long blocked;

long uf_sys_rt_sigaction(int sig, const struct k_sigaction *act, struct k_sigaction *old, size_t size)
{
	(void)size;
	if (sig < 1 || sig >= _NSIG || ((sig == SIGKILL || sig == SIGSTOP) && act))
		return -EINVAL;
	if (old)
		*old = actions[sig];
	if (act)
		actions[sig] = *act;
	return 0;
}

long uf_sys_rt_sigprocmask(int how, const unsigned long long *set, unsigned long long *old, size_t size)
{
	(void)size;
	if (old)
		*old = blocked;
	if (!set)
		return 0;
	switch (how) {
	case SIG_BLOCK: blocked |= *set; break;
	case SIG_UNBLOCK: blocked &= ~*set; break;
	case SIG_SETMASK: blocked = *set; break;
	default: return -EINVAL;
	}
	return 0;
}

static int ignored_by_default(int sig)
{
	return sig == SIGCHLD || sig == SIGURG || sig == SIGWINCH || sig == SIGCONT;
}

static long deliver(int sig)
{
	if (sig == 0)
		return 0;
	if (sig < 1 || sig >= _NSIG)
		return -EINVAL;
	void (*handler)(int) = actions[sig].handler;
	if (handler == SIG_IGN || (handler == SIG_DFL && ignored_by_default(sig)))
		return 0;
	if (handler == SIG_DFL || sig == SIGKILL)
		uf_panic("killed by signal %d (%s)", sig, sig == SIGABRT ? "SIGABRT: abort()" : "default action");
	if (blocked & (1ULL << (sig - 1)))
		return 0;       /* stays pending forever: nothing will unblock it and deliver it later */
	handler(sig);
	return 0;
}

long uf_sys_tkill(int tid, int sig)
{
	return tid == 1 ? deliver(sig) : -ESRCH;
}

long uf_sys_tgkill(int pid, int tid, int sig)
{
	return pid == 1 && tid == 1 ? deliver(sig) : -ESRCH;
}

long uf_sys_kill(int pid, int sig)
{
	return pid == 1 || pid == 0 || pid == -1 ? deliver(sig) : -ESRCH;
}

/* Until signals are kept pending (issue: real programs build unmodified), a kernel-generated signal is delivered
 * at once, and blocking calls have nothing to let in. */
void uf_signal_raise(int sig)
{
	deliver(sig);
}

long uf_signal_wait_point(void)
{
	return 0;
}

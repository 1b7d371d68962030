/* The process-level syscalls of a single-process machine: one process, pid 1, root, nothing to wait for, one CPU.
 * The thread syscalls answer for the one thread there is, or ask module thread in a threaded image. */
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <uf/boot.h>
#include <uf/console.h>
#include <uf/exit.h>
#include <uf/fd.h>
#include <uf/process.h>
#include <uf/thread.h>

#include "signals.h"

#if defined(__x86_64__)
#define UF_ARCH_NAME "x86_64"
#elif defined(__arm__)
#define UF_ARCH_NAME "armv7l"
#endif

/* The linked modules finish what the machine's end would lose (module socket delivers what the app's sockets hold,
 * module vfs writes back what the file systems hold in memory: their unmount), then the machine ends. */
_Noreturn void uf_process_exit(int status)
{
#ifdef UF_THREADS
	uf_thread_stop_others();
#endif
	if (uf_modules_exit)
		uf_modules_exit();
	uf_exit(status);
}

_Noreturn long uf_sys_exit_group(int status)
{
	uf_process_exit(status & 0xff);
}

/* The exit of the last thread is the exit of the process. */
long uf_sys_exit(int status)
{
#ifdef UF_THREADS
	uf_thread_exit(status);
#endif
	return uf_sys_exit_group(status);
}

long uf_sys_set_tid_address(int *tidptr)
{
#ifdef UF_THREADS
	return uf_thread_set_tid_address(tidptr);
#else
	(void)tidptr;
	return 1;
#endif
}

long uf_sys_gettid(void)
{
#ifdef UF_THREADS
	return uf_thread_tid();
#else
	return 1;
#endif
}

/* Robust futex lists: module thread's. A single thread's list is never walked (its end is the process's), so
 * set_robust_list is only checked, and get_robust_list answers an empty list. */
long uf_sys_set_robust_list(void *head, size_t len)
{
#ifdef UF_THREADS
	return uf_thread_set_robust_list(head, len);
#else
	(void)head;
	return len == 3 * sizeof(long) ? 0 : -EINVAL;
#endif
}

long uf_sys_get_robust_list(int tid, void **head, size_t *len)
{
#ifdef UF_THREADS
	return uf_thread_get_robust_list(tid, head, len);
#else
	if (tid && tid != 1)
		return -ESRCH;
	*head = 0;
	*len = 3 * sizeof(long);
	return 0;
#endif
}

long uf_sys_sched_yield(void)
{
#ifdef UF_THREADS
	uf_thread_yield();
#endif
	return 0;
}

/* futex(2): module thread's. A single thread never waits on a futex (nothing else could wake it), and the libc's
 * locks never do without a second thread: -EAGAIN. Never -ENOSYS: the libc is built to rely on futexes
 * (templates/syscall_arch.h.j2). */
long uf_sys_futex(volatile int *addr, int op, int val, const void *timeout, volatile int *addr2, int val3)
{
#ifdef UF_THREADS
	return uf_thread_sys_futex(addr, op, val, timeout, addr2, val3);
#else
	(void)addr, (void)op, (void)val, (void)timeout, (void)addr2, (void)val3;
	return -EAGAIN;
#endif
}

#if defined(__arm__)
long uf_sys_futex_time64(volatile int *addr, int op, int val, const void *timeout, volatile int *addr2, int val3)
{
#ifdef UF_THREADS
	return uf_thread_sys_futex_time64(addr, op, val, timeout, addr2, val3);
#else
	(void)addr, (void)op, (void)val, (void)timeout, (void)addr2, (void)val3;
	return -EAGAIN;
#endif
}
#endif

long uf_sys_getpid(void) { return 1; }
long uf_sys_getppid(void) { return 0; }

/* The name of the calling thread (16 bytes with its NUL, as Linux's comm): the app's, unless it changed it. */
static char *thread_name(void)
{
#ifdef UF_THREADS
	return uf_thread_name(0);
#else
	extern const char uf_app_name[];
	static char name[16];
	if (!name[0]) {
		const char *base = strrchr(uf_app_name, '/');
		strncpy(name, base ? base + 1 : uf_app_name, sizeof name - 1);
	}
	return name;
#endif
}

long uf_sys_prctl(int option, unsigned long arg2)
{
	char *name;
	switch (option) {
	case PR_SET_NAME:
		name = thread_name();
		strncpy(name, (const char *)arg2, 15);
		name[15] = 0;
		return 0;
	case PR_GET_NAME:
		memcpy((char *)arg2, thread_name(), 16);
		return 0;
	default:
		return uf_unsupported(-EINVAL, "prctl option %d", option);
	}
}

/* One CPU: every thread's affinity is CPU 0 (sched_getaffinity and sysconf(_SC_NPROCESSORS_ONLN) say 1). */
long uf_sys_sched_getaffinity(int tid, size_t size, unsigned char *mask)
{
	(void)tid;
	if (size < sizeof(long) || size % sizeof(long))
		return -EINVAL;
	memset(mask, 0, size);
	mask[0] = 1;
	return sizeof(long);
}

long uf_sys_sched_setaffinity(int tid, size_t size, const unsigned char *mask)
{
	(void)tid;
	return size && (mask[0] & 1) ? 0 : -EINVAL;
}

long uf_sys_getcpu(unsigned *cpu, unsigned *node)
{
	if (cpu)
		*cpu = 0;
	if (node)
		*node = 0;
	return 0;
}

/* Scheduling policies: everything runs as SCHED_OTHER, round robin; real-time policies are refused as for a
 * process without CAP_SYS_NICE (RLIMIT_RTPRIO 0). */
long uf_sys_sched_getscheduler(int tid)
{
	(void)tid;
	return SCHED_OTHER;
}

long uf_sys_sched_setscheduler(int tid, int policy, const struct sched_param *param)
{
	(void)tid;
	if (!param || param->sched_priority)
		return -EINVAL;
	return policy == SCHED_OTHER || policy == SCHED_BATCH || policy == SCHED_IDLE ? 0 : -EPERM;
}

long uf_sys_sched_getparam(int tid, struct sched_param *param)
{
	(void)tid;
	param->sched_priority = 0;
	return 0;
}

long uf_sys_sched_setparam(int tid, const struct sched_param *param)
{
	(void)tid;
	return param && !param->sched_priority ? 0 : -EINVAL;
}

long uf_sys_sched_get_priority_max(int policy)
{
	return policy == SCHED_FIFO || policy == SCHED_RR ? 99 : 0;
}

long uf_sys_sched_get_priority_min(int policy)
{
	return policy == SCHED_FIFO || policy == SCHED_RR ? 1 : 0;
}

long uf_sys_uname(struct utsname *u)
{
	if (!u)
		return -EFAULT;
	memset(u, 0, sizeof *u);
	strcpy(u->sysname, "Uniforge");
	strcpy(u->nodename, "uniforge");
	strcpy(u->release, "0.1.0");
	strcpy(u->version, "uniforge library OS");
	strcpy(u->machine, UF_ARCH_NAME);
	return 0;
}

long uf_sys_getrandom(void *buf, size_t len, unsigned flags)
{
	(void)flags;
	uf_arch_entropy(buf, len);
	return len;
}

/* Module demand: main's stack, when main runs on one of its (weak: without it, main keeps the boot stack). */
size_t uf_demand_main_stack(void) __attribute__((weak));

/* Limits. The process is root, so it may raise them as well as lower them, except where the machine has a fixed
 * size (Linux's nr_open for NOFILE): the stack is main's (the boot stack, or module demand's) and the descriptor
 * table has uf_fd_max slots (the image's: uf/fd.h), so their hard limits cannot go past that (EPERM). Module fd
 * enforces NOFILE's soft limit (uf_process_limit), module demand DATA's on brk; nothing else is counted, so nothing
 * else is enforced. */
static struct rlimit limits[RLIM_NLIMITS];

static rlim_t fixed_max(int resource)
{
	if (resource == RLIMIT_STACK)
		return uf_demand_main_stack ? uf_demand_main_stack() : UF_BOOT_STACK_SIZE;
	return resource == RLIMIT_NOFILE ? (rlim_t)uf_fd_max : RLIM_INFINITY;
}

static struct rlimit *limit(int resource)
{
	static int known;
	if (!known) {
		known = 1;
		for (int r = 0; r < RLIM_NLIMITS; r++)
			limits[r].rlim_cur = limits[r].rlim_max = fixed_max(r);
	}
	return &limits[resource];
}

rlim_t uf_process_limit(int resource)
{
	return limit(resource)->rlim_cur;
}

long uf_sys_prlimit64(int pid, int resource, const struct rlimit *new, struct rlimit *old)
{
	if (pid && pid != 1)
		return -ESRCH;
	if (resource < 0 || resource >= RLIM_NLIMITS)
		return -EINVAL;
	struct rlimit *l = limit(resource), want = new ? *new : *l;
	if (want.rlim_cur > want.rlim_max)
		return -EINVAL;
	if (want.rlim_max > fixed_max(resource))
		return -EPERM;
	if (old)
		*old = *l;
	*l = want;
	return 0;
}

/* Generated with the init table: syscall names by number in debug builds, none otherwise. */
extern const char *const uf_syscall_names[];
extern const unsigned uf_syscall_name_count;

/* Every syscall no module implements: -ENOSYS, said once per number in debug builds. */
long uf_sys_enosys(long n)
{
#ifdef UF_DEBUG
	static unsigned char said[1024];
	if (n >= 0 && n < (long)sizeof said && !said[n]) {
		said[n] = 1;
		const char *name = (unsigned long)n < uf_syscall_name_count ? uf_syscall_names[n] : "";
		uf_printk("uniforge: syscall %s (%ld) is not implemented: ENOSYS\n", *name ? name : "?", n);
	}
#else
	(void)n;
#endif
	return -ENOSYS;
}

/* The process-level syscalls of a single-process machine: one process, pid 1, root, nothing to wait for. */
#include <errno.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <uf/boot.h>
#include <uf/console.h>
#include <uf/exit.h>
#include <uf/fd.h>
#include <uf/process.h>

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
	if (uf_modules_exit)
		uf_modules_exit();
	uf_exit(status);
}

long uf_sys_exit_group(int status)
{
	uf_process_exit(status & 0xff);
}

/* Without threads, the exit of the only thread is the exit of the process. */
long uf_sys_exit(int status)
{
	return uf_sys_exit_group(status);
}

long uf_sys_set_tid_address(int *tidptr)
{
	(void)tidptr;
	return 1;
}

long uf_sys_getpid(void) { return 1; }
long uf_sys_gettid(void) { return 1; }
long uf_sys_getppid(void) { return 0; }
long uf_sys_sched_yield(void) { return 0; }

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

/* Limits. The process is root, so it may raise them as well as lower them, except where the machine has a fixed
 * size (Linux's nr_open for NOFILE): the stack is the boot stack and the descriptor table has UF_FD_MAX slots, so
 * their hard limits cannot go past that (EPERM). Module fd enforces NOFILE's soft limit (uf_process_limit); nothing
 * else is counted, so nothing else is enforced. */
static struct rlimit limits[RLIM_NLIMITS];
static const struct { int resource; rlim_t max; } fixed[] = {
	{ RLIMIT_STACK, UF_BOOT_STACK_SIZE }, { RLIMIT_NOFILE, UF_FD_MAX },
};

static rlim_t fixed_max(int resource)
{
	for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
		if (fixed[i].resource == resource)
			return fixed[i].max;
	return RLIM_INFINITY;
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

/* Threads as musl's pthreads make them: clone with the flags pthread_create passes, exit of one thread, the thread
 * ids, names and CPU time. The first thread is the one the app starts on (tid 1, the boot stack); its name is the
 * app's. Thread ids are not reused. */
#include "threads.h"

#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <uf/boot.h>
#include <uf/console.h>
#include <uf/mem.h>
#include <uf/process.h>
#include <uf/thread.h>


#define NEEDED (CLONE_VM | CLONE_THREAD | CLONE_SIGHAND)     /* what makes a thread (a process is refused) */
#define KNOWN (NEEDED | CLONE_FS | CLONE_FILES | CLONE_SYSVSEM | CLONE_SETTLS | CLONE_PARENT_SETTID | \
	       CLONE_CHILD_CLEARTID | CLONE_CHILD_SETTID | CLONE_DETACHED)
#define PAGES ((sizeof(struct uf_thread) + UF_PAGE_SIZE - 1) / UF_PAGE_SIZE)
/* Linux's CPU-time clock ids (clock_getcpuclockid, pthread_getcpuclockid): ~pid << 3 | kind, bit 2 per thread. */
#define CPUCLOCK_PER_THREAD 4
#define CPUCLOCK_KIND 3
#define CPUCLOCK_INVALID 3

/* The Linux name of a process's first thread: its program's name, cut to 15 bytes. */
extern const char uf_app_name[];

static struct uf_thread main_thread = {
	.tid = 1, .state = RUNNING, .deadline = UINT64_MAX, .signals.altstack.ss_flags = SS_DISABLE,
};
static int next_tid = 2;

/* The first thread runs from the start, before any module's init: module process may ask for its signals. */
struct cpu uf_thread_cpu = { .current = &main_thread };

void uf_thread_init(void)
{
	const char *name = strrchr(uf_app_name, '/');
	strncpy(main_thread.name, name ? name + 1 : uf_app_name, UF_THREAD_NAME_MAX - 1);
	uf_thread_sched_init(&main_thread);
}

/* The word at p can be written (a CLONE_CHILD_CLEARTID word): a bad one is left alone, as Linux does. */
static int writable(int *p)
{
	int prot = uf_mmu_prot((uintptr_t)p);
	return p && !((uintptr_t)p & 3) && prot > 0 && (prot & PROT_WRITE);
}

long uf_thread_clone(int (*fn)(void *), void *arg, void *stack, unsigned long flags, int *ptid, void *tls,
		     int *ctid)
{
	unsigned long irq = uf_thread_enter();
	long r;
	struct uf_thread *t = 0, *me = self();
	if ((flags & NEEDED) != NEEDED || (flags & ~(KNOWN | 0xff)))    /* the low byte: the exit signal, unused */
		r = uf_unsupported(-EINVAL, "clone with flags 0x%lx", flags);
	else if (!stack || !(t = uf_page_alloc(PAGES)))
		r = -EAGAIN;
	else {
		t->tid = next_tid++;
		t->deadline = UINT64_MAX;
		t->stack_top = (uintptr_t)stack;
		memcpy(t->name, me->name, sizeof t->name);     /* Linux: a new thread has its creator's name */
		uf_signal_thread_init(&t->signals, &me->signals);
		uf_arch_thread_new(t, fn, arg, (uintptr_t)stack, flags & CLONE_SETTLS ? (uintptr_t)tls : 0);
		if (flags & CLONE_CHILD_CLEARTID)
			t->clear_tid = ctid;
		if ((flags & CLONE_PARENT_SETTID) && writable(ptid))
			*ptid = t->tid;
		if ((flags & CLONE_CHILD_SETTID) && writable(ctid))
			*ctid = t->tid;
		uf_thread_list_add(t);
		uf_thread_start(t);
		r = t->tid;
	}
	uf_thread_leave(irq);
	return r;
}

void uf_thread_free(struct uf_thread *t)
{
	if (t->unmap_base)
		uf_sys_munmap(t->unmap_base, t->unmap_size);
	if (t != &main_thread)
		uf_page_free(t, PAGES);
}

void uf_thread_exit(int status)
{
	(void)status;           /* a thread's status is seen by nobody: musl passes its result through memory */
	unsigned long irq = uf_thread_enter();
	struct uf_thread *t = self();
	if (uf_thread_all == t && !t->all_next) {
		uf_thread_leave(irq);
		return;                 /* the last thread: its exit is the process's */
	}
	uf_thread_futex_exit(t);
	if (t->clear_tid && writable(t->clear_tid)) {
		*t->clear_tid = 0;
		uf_thread_futex_wake(t->clear_tid, 1, ~0u);
	}
	t->state = DEAD;
	uf_thread_list_remove(t);
	uf_trap_yield();
	uf_panic("thread: %d ran after its exit", t->tid);
}

_Noreturn void uf_thread_returned(int status)
{
	uf_thread_exit(status);
	uf_sys_exit_group(status);
}

_Noreturn void uf_thread_unmap_exit(void *base, size_t size)
{
	uf_thread_enter();
	struct uf_thread *t = self();
	t->unmap_base = base;
	t->unmap_size = size;
	uf_thread_exit(0);
	t->unmap_base = 0;      /* the last thread: the process exits, on the stack it was about to unmap */
	uf_sys_exit_group(0);
}

long uf_thread_set_robust_list(void *head, size_t len)
{
	if (len != 3 * sizeof(long))
		return -EINVAL;
	self()->robust_list = head;
	return 0;
}

long uf_thread_get_robust_list(int tid, void **head, size_t *len)
{
	struct uf_thread *t = uf_thread_find(tid);
	if (!t)
		return -ESRCH;
	*head = t->robust_list;
	*len = 3 * sizeof(long);
	return 0;
}

long uf_thread_set_tid_address(int *tidptr)
{
	struct uf_thread *t = self();
	t->clear_tid = tidptr;
	return t->tid;
}

int uf_thread_tid(void)
{
	return self()->tid;
}

struct uf_thread *uf_thread_find(int tid)
{
	if (!tid)
		return self();
	for (struct uf_thread *t = uf_thread_all; t; t = t->all_next)
		if (t->tid == tid)
			return t;
	return 0;
}

struct uf_signal_thread *uf_thread_signals(int tid)
{
	struct uf_thread *t = uf_thread_find(tid);
	return t ? &t->signals : 0;
}

char *uf_thread_name(int tid)
{
	unsigned long irq = uf_thread_enter();      /* the libc's pthread_getname_np calls this directly */
	struct uf_thread *t = uf_thread_find(tid);
	uf_thread_leave(irq);
	return t ? t->name : 0;
}

long uf_thread_cpu_ns(clockid_t id, uint64_t *ns)
{
	struct uf_thread *t = 0;
	int per_thread;
	if (id == CLOCK_THREAD_CPUTIME_ID || id == CLOCK_PROCESS_CPUTIME_ID) {
		per_thread = id == CLOCK_THREAD_CPUTIME_ID;
		t = self();
	} else if (id < 0 && (id & CPUCLOCK_KIND) != CPUCLOCK_INVALID) {
		int pid = ~(id >> 3);
		per_thread = id & CPUCLOCK_PER_THREAD;
		if (per_thread ? !(t = uf_thread_find(pid)) || !pid : pid != 0 && pid != 1)
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	if (per_thread) {
		*ns = uf_thread_cpu_now(t);
		return 0;
	}
	*ns = uf_thread_gone_ns;
	for (t = uf_thread_all; t; t = t->all_next)
		*ns += uf_thread_cpu_now(t);
	return 0;
}

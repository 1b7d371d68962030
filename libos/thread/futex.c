/* futex(2), what musl's locks, condition variables, semaphores, barriers and joins wait with: WAIT and
 * WAIT_BITSET (relative and absolute timeouts, CLOCK_MONOTONIC or, with FUTEX_CLOCK_REALTIME, the wall clock),
 * WAKE and WAKE_BITSET, REQUEUE and CMP_REQUEUE; the priority-inheritance locks of PTHREAD_PRIO_INHERIT mutexes
 * (LOCK_PI, TRYLOCK_PI, UNLOCK_PI), and the robust lists of the locks a thread holds, released at its end. One
 * address space, so private and shared futexes are the same thing. Waiters are kept in a few queues hashed by address. The timeout's struct timespec is the arch's: two
 * longs, or two long longs for ARMv7's futex_time64. */
#include "threads.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <sys/mman.h>
#include <uf/boot.h>
#include <uf/console.h>
#include <uf/signal.h>
#include <uf/time.h>


#define QUEUES 64
#define NSEC_PER_SEC 1000000000ll
/* A PI or robust futex word: its owner's id, and two flags (Linux's uapi values). */
#define FUTEX_WAITERS 0x80000000u       /* a thread may wait for it: unlocking needs FUTEX_UNLOCK_PI */
#define FUTEX_OWNER_DIED 0x40000000u    /* its owner ended holding it */
#define FUTEX_TID_MASK 0x3fffffffu
#define ROBUST_LIST_LIMIT 2048          /* a longer list is a loop (Linux's bound) */

static struct uf_thread_queue queues[QUEUES];

static struct uf_thread_queue *queue_of(volatile int *addr)
{
	return &queues[((uintptr_t)addr >> 2) * 0x9e3779b1u >> 26 & (QUEUES - 1)];
}

/* A futex word: aligned, and readable where it is. */
static int word_ok(volatile int *addr)
{
	int prot = uf_mmu_prot((uintptr_t)addr);
	return !((uintptr_t)addr & 3) && prot > 0 && (prot & PROT_READ);
}

/* A futex word that can be written (a PI futex, a robust list's). */
static int word_writable(volatile int *addr)
{
	int prot = uf_mmu_prot((uintptr_t)addr);
	return !((uintptr_t)addr & 3) && prot > 0 && (prot & PROT_WRITE);
}

static long wait(volatile int *addr, int val, uint64_t deadline, uint32_t bitset)
{
	struct uf_thread *t = self();
	for (;;) {
		if (*addr != val)
			return -EAGAIN;
		t->futex = addr;
		t->bitset = bitset;
		enum wake why = uf_thread_block(queue_of(addr), deadline, 1);
		if (why == WOKEN)
			return 0;
		if (why == TIMED_OUT)
			return -ETIMEDOUT;
		long r = uf_signal_wait_point();        /* restarted after an SA_RESTART handler, as on Linux */
		if (r)
			return r;
		if (uf_time_monotonic_ns() >= deadline)
			return -ETIMEDOUT;
	}
}

int uf_thread_futex_wake(volatile int *addr, int n, uint32_t bitset)
{
	struct uf_thread_queue *q = queue_of(addr);
	int woken = 0;
	for (struct uf_thread *t = q->first, *next; t && woken < n; t = next) {
		next = t->next;
		if (t->futex == addr && (t->bitset & bitset)) {
			uf_thread_wake(t, WOKEN);
			woken++;
		}
	}
	return woken;
}

/* Wakes n waiters on addr and moves up to `more` of the others to addr2: how many woke, and how many moved. */
static long requeue(volatile int *addr, int n, int more, volatile int *addr2, long *moved_out)
{
	long woken = uf_thread_futex_wake(addr, n, ~0u), moved = 0;
	struct uf_thread_queue *from = queue_of(addr), *to = queue_of(addr2);
	for (struct uf_thread *t = from->first, *next; t && moved < more; t = next) {
		next = t->next;
		if (t->futex != addr)
			continue;
		t->futex = addr2;
		if (from != to) {
			uf_thread_unqueue(from, t);
			uf_thread_enqueue(to, t);
			t->queue = to;
		}
		moved++;
	}
	*moved_out = moved;
	return woken;
}

/* futex(2)'s fourth argument: a timeout (given: sec, nsec), or val2 (REQUEUE). */
struct futex_timeout {
	int given;
	long long sec, nsec;
	long val2;
};

/* ---- priority inheritance ----
 * All threads have one priority here (uf_sys_sched_setscheduler refuses real-time policies), so an owner has
 * nothing to inherit: what remains of a PI futex is its protocol, which the libc relies on. The word holds its
 * owner's id; a thread that finds it owned sets FUTEX_WAITERS and waits; UNLOCK_PI hands it to the first waiter,
 * whose id it writes; a word whose owner is gone (id 0, FUTEX_OWNER_DIED kept) goes to whoever comes. */

/* Another thread than t waits in LOCK_PI for addr. */
static int pi_waited(volatile int *addr, struct uf_thread *t)
{
	for (struct uf_thread *w = queue_of(addr)->first; w; w = w->next)
		if (w != t && w->pi && w->futex == addr)
			return 1;
	return 0;
}

static long lock_pi(volatile int *addr, uint64_t deadline, int try)
{
	struct uf_thread *t = self();
	if (!word_writable(addr))
		return -EFAULT;
	for (;;) {
		uint32_t word = (uint32_t)*addr, owner = word & FUTEX_TID_MASK;
		if (!owner) {
			*addr = (int)((uint32_t)t->tid | (word & FUTEX_OWNER_DIED) | (pi_waited(addr, t) ? FUTEX_WAITERS : 0));
			return 0;
		}
		if (owner == (uint32_t)t->tid)
			return -EDEADLK;
		if (try)
			return -EAGAIN;
		if (!uf_thread_find((int)owner))
			return -ESRCH;          /* as Linux: an owner that never was, or ended without the robust list */
		*addr = (int)(word | FUTEX_WAITERS);
		t->futex = addr;
		t->bitset = ~0u;
		t->pi = 1;
		enum wake why = uf_thread_block(queue_of(addr), deadline, 1);
		t->pi = 0;
		if (((uint32_t)*addr & FUTEX_TID_MASK) == (uint32_t)t->tid)
			return 0;               /* handed over by UNLOCK_PI */
		if (why == TIMED_OUT)
			return -ETIMEDOUT;
		if (why == INTERRUPTED)
			uf_signal_wait_point(); /* its handler runs; the lock is waited for again (Linux restarts it) */
	}
}

static long unlock_pi(volatile int *addr)
{
	struct uf_thread *t = self(), *next = 0;
	if (!word_writable(addr))
		return -EFAULT;
	if (((uint32_t)*addr & FUTEX_TID_MASK) != (uint32_t)t->tid)
		return -EPERM;
	for (struct uf_thread *w = queue_of(addr)->first; w && !next; w = w->next)
		if (w->pi && w->futex == addr)
			next = w;
	if (!next) {
		*addr = 0;
		return 0;
	}
	*addr = (int)((uint32_t)next->tid | FUTEX_WAITERS);    /* the others, if any, still wait */
	uf_thread_wake(next, WOKEN);
	return 0;
}

/* ---- robust lists ----
 * set_robust_list's head: the first entry, the offset from an entry to its futex word, and the entry being
 * taken or released (Linux's struct robust_list_head). An entry's address has the PI flag in its bit 0. */
struct robust_head {
	uintptr_t next;
	long offset;
	uintptr_t pending;
};

static int readable(const void *p, size_t n)
{
	uintptr_t a = (uintptr_t)p;
	int first = uf_mmu_prot(a), last = uf_mmu_prot(a + n - 1);
	return !(a & (sizeof(long) - 1)) && first > 0 && (first & PROT_READ) && last > 0 && (last & PROT_READ);
}

/* The lock at entry, which t held as it ended: marked for the next owner to see, and a waiter woken. */
static void owner_died(struct uf_thread *t, uintptr_t entry, long offset, int pending)
{
	volatile int *word = (volatile int *)((entry & ~(uintptr_t)1) + offset);
	if (!word_writable(word))
		return;
	uint32_t v = (uint32_t)*word;
	if ((v & FUTEX_TID_MASK) == (uint32_t)t->tid) {
		*word = (int)((v & FUTEX_WAITERS) | FUTEX_OWNER_DIED);
		if (v & FUTEX_WAITERS)
			uf_thread_futex_wake(word, 1, ~0u);
	} else if (pending && !v) {
		uf_thread_futex_wake(word, 1, ~0u);     /* released as it ended: a waiter may not know yet */
	}
}

void uf_thread_futex_exit(struct uf_thread *t)
{
	const struct robust_head *head = t->robust_list;
	if (head && readable(head, sizeof *head)) {
		uintptr_t entry = head->next, pending = head->pending;
		for (int n = 0; entry != (uintptr_t)head && n < ROBUST_LIST_LIMIT; n++) {
			const uintptr_t *at = (const uintptr_t *)(entry & ~(uintptr_t)1);
			if (!readable(at, sizeof *at))
				break;
			uintptr_t next = *at;           /* read first: the word may share the entry's memory */
			if (entry != pending)
				owner_died(t, entry, head->offset, 0);
			entry = next;
		}
		if (pending)
			owner_died(t, pending, head->offset, 1);
	}
	/* The PI futexes it still owns go to their waiters, as Linux's exit does: the id goes, the flags stay. */
	for (struct uf_thread *w = uf_thread_all; w; w = w->all_next)
		if (w->state == BLOCKED && w->pi && ((uint32_t)*w->futex & FUTEX_TID_MASK) == (uint32_t)t->tid) {
			*w->futex = (int)((uint32_t)*w->futex & ~FUTEX_TID_MASK);
			uf_thread_wake(w, WOKEN);
		}
}

/* The deadline of a wait: a relative timeout on the monotonic clock (WAIT), or an absolute time on the monotonic
 * or the wall clock (WAIT_BITSET): 0 or -EINVAL. */
static long deadline_of(const struct futex_timeout *to, int absolute, int realtime, uint64_t *deadline)
{
	*deadline = UINT64_MAX;
	if (!to->given)
		return 0;
	if (to->sec < 0 || to->nsec < 0 || to->nsec >= NSEC_PER_SEC)
		return -EINVAL;
	uint64_t ns = (uint64_t)to->sec > (UINT64_MAX - NSEC_PER_SEC) / NSEC_PER_SEC ? UINT64_MAX - NSEC_PER_SEC :
		      (uint64_t)to->sec * NSEC_PER_SEC + (uint64_t)to->nsec;
	uint64_t now = uf_time_monotonic_ns();
	if (!absolute)
		*deadline = ns > UINT64_MAX - now ? UINT64_MAX - 1 : now + ns;
	else if (!realtime)
		*deadline = ns;
	else {
		uint64_t wall = uf_time_realtime_ns();
		*deadline = ns <= wall ? now : ns - wall > UINT64_MAX - now ? UINT64_MAX - 1 : now + (ns - wall);
	}
	return 0;
}

static long futex(volatile int *addr, int op, int val, const struct futex_timeout *to, volatile int *addr2,
		  int val3)
{
	int cmd = op & FUTEX_CMD_MASK, realtime = op & FUTEX_CLOCK_REALTIME;
	uint64_t deadline;
	long r, moved;
	/* What is not done answers ENOTSUP, never Linux's ENOSYS: the libc is built to take futexes as there
	 * (templates/syscall_arch.h.j2); musl's PTHREAD_PRIO_INHERIT mutexes then say ENOTSUP, as POSIX has it. */
	if (realtime && cmd != FUTEX_WAIT_BITSET && cmd != FUTEX_WAIT)
		return -ENOTSUP;        /* LOCK_PI's timeout is on the wall clock without it */
	if (!word_ok(addr))
		return -EFAULT;
	switch (cmd) {
	case FUTEX_WAIT:
	case FUTEX_WAIT_BITSET:
		if (cmd == FUTEX_WAIT_BITSET && !val3)
			return -EINVAL;
		if ((r = deadline_of(to, cmd == FUTEX_WAIT_BITSET, realtime, &deadline)))
			return r;
		return wait(addr, val, deadline, cmd == FUTEX_WAIT ? ~0u : (uint32_t)val3);
	case FUTEX_WAKE:
	case FUTEX_WAKE_BITSET:
		if (cmd == FUTEX_WAKE_BITSET && !val3)
			return -EINVAL;
		return uf_thread_futex_wake(addr, val < 0 ? INT_MAX : val, cmd == FUTEX_WAKE ? ~0u : (uint32_t)val3);
	case FUTEX_CMP_REQUEUE:
		if (*addr != val3)
			return -EAGAIN;
		/* fall through */
	case FUTEX_REQUEUE:
		if (!word_ok(addr2))
			return -EFAULT;
		if (val < 0 || to->val2 < 0)
			return -EINVAL;
		r = requeue(addr, val, to->val2, addr2, &moved);
		return cmd == FUTEX_REQUEUE ? r : r + moved;
	case FUTEX_LOCK_PI:
		if ((r = deadline_of(to, 1, 1, &deadline)))
			return r;
		return lock_pi(addr, deadline, 0);
	case FUTEX_TRYLOCK_PI:
		return lock_pi(addr, 0, 1);
	case FUTEX_UNLOCK_PI:
		return unlock_pi(addr);
	default:
		return uf_unsupported(-ENOTSUP, "futex operation %d", cmd);
	}
}

/* futex(2) with its fourth argument as the caller passed it: a struct timespec of two longs, or of two long longs
 * (time64: ARMv7's futex_time64; the same thing on x86_64) for the operations that wait or lock, else val2. */
static long futex_call(volatile int *addr, int op, int val, const void *arg4, int time64, volatile int *addr2,
		       int val3)
{
	struct futex_timeout to = { .val2 = (long)(uintptr_t)arg4 };
	int cmd = op & FUTEX_CMD_MASK;
	if ((cmd == FUTEX_WAIT || cmd == FUTEX_WAIT_BITSET || cmd == FUTEX_LOCK_PI) && arg4) {
		int prot = uf_mmu_prot((uintptr_t)arg4);
		if (prot <= 0 || !(prot & PROT_READ))
			return -EFAULT;
		to.given = 1;
		if (time64) {
			const long long *ts = arg4;
			to.sec = ts[0], to.nsec = ts[1];
		} else {
			const long *ts = arg4;
			to.sec = ts[0], to.nsec = ts[1];
		}
	}
	return futex(addr, op, val, &to, addr2, val3);
}

long uf_thread_sys_futex(volatile int *addr, int op, int val, const void *timeout, volatile int *addr2, int val3)
{
	return futex_call(addr, op, val, timeout, 0, addr2, val3);
}

#if defined(__arm__)
long uf_thread_sys_futex_time64(volatile int *addr, int op, int val, const void *timeout, volatile int *addr2,
				int val3)
{
	return futex_call(addr, op, val, timeout, 1, addr2, val3);
}
#endif

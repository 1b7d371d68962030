/* futex(2), what musl's locks, condition variables, semaphores, barriers and joins wait with: WAIT and
 * WAIT_BITSET (relative and absolute timeouts, CLOCK_MONOTONIC or, with FUTEX_CLOCK_REALTIME, the wall clock),
 * WAKE and WAKE_BITSET, REQUEUE and CMP_REQUEUE. One address space, so private and shared futexes are the same
 * thing. Waiters are kept in a few queues hashed by address. The timeout's struct timespec is the arch's: two
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
		return -ENOTSUP;
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
	default:
		return uf_unsupported(-ENOTSUP, "futex operation %d", cmd);
	}
}

/* futex(2) with its fourth argument as the caller passed it: a struct timespec of two longs, or of two long longs
 * (time64: ARMv7's futex_time64; the same thing on x86_64) for the operations that wait, else val2. */
static long futex_call(volatile int *addr, int op, int val, const void *arg4, int time64, volatile int *addr2,
		       int val3)
{
	struct futex_timeout to = { .val2 = (long)(uintptr_t)arg4 };
	int cmd = op & FUTEX_CMD_MASK;
	if ((cmd == FUTEX_WAIT || cmd == FUTEX_WAIT_BITSET) && arg4) {
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

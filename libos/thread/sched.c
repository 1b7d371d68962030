/* The scheduler: one run queue per CPU (one CPU), round robin with 10 ms time slices, blocking and waking, and the
 * resume hook of module trap, where every context switch happens.
 *
 * Safe points. The hook runs at the end of every interrupt that came while interrupts were on, which in a
 * threaded image means while the app (or the idle thread) ran: library-OS code runs with interrupts off (the
 * driver's wrappers, uf/thread.h). There it fires what is due (sleepers' deadlines, module timer's timers), may
 * preempt the running thread (its slice ended, or an interrupt woke another), and delivers the signals the
 * resuming thread can take into its frame: asynchronous delivery, in the app's own code. It also runs for
 * uf_trap_yield, which the library OS calls where it blocks.
 *
 * Device interrupts wake every thread blocked in uf_time_wait_until (module time), as they woke the halted CPU
 * before threads: each looks at its device or state again and blocks again if nothing changed for it. The timer
 * interrupt wakes only the sleepers whose deadline passed.
 *
 * A thread that holds one of the libc's internal locks (malloc's...) is not preempted: the library OS calls
 * malloc, and must not find its lock held by a thread that cannot run before it. The preemption is tried again
 * a millisecond later. */
#include "threads.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <uf/boot.h>
#include <uf/console.h>
#include <uf/mem.h>
#include <uf/signal.h>
#include <uf/time.h>
#include <uf/trap.h>


#define SLICE_NS 10000000ull            /* a thread's turn while others wait for the CPU */
#define RETRY_NS 1000000ull             /* a preemption put off (a libc lock is held) is tried again this soon */
#define IDLE_STACK_PAGES 1              /* the idle thread halts; interrupts run on the exception stack */

struct uf_thread *uf_thread_all;
uint64_t uf_thread_gone_ns;

static struct uf_thread *sleepers;              /* blocked with a deadline, earliest first */
static struct uf_thread_queue waiters;          /* in uf_time_wait_until */
static int started;

/* ---- queues ---- */

void uf_thread_enqueue(struct uf_thread_queue *q, struct uf_thread *t)
{
	t->next = 0;
	if (q->last)
		q->last->next = t;
	else
		q->first = t;
	q->last = t;
}

static struct uf_thread *queue_pop(struct uf_thread_queue *q)
{
	struct uf_thread *t = q->first;
	if (t && !(q->first = t->next))
		q->last = 0;
	return t;
}

void uf_thread_unqueue(struct uf_thread_queue *q, struct uf_thread *t)
{
	struct uf_thread *prev = 0;
	for (struct uf_thread *i = q->first; i; prev = i, i = i->next) {
		if (i != t)
			continue;
		if (prev)
			prev->next = t->next;
		else
			q->first = t->next;
		if (q->last == t)
			q->last = prev;
		return;
	}
}

static void sleeper_add(struct uf_thread *t)
{
	struct uf_thread **at = &sleepers, *prev = 0;
	while (*at && (*at)->deadline <= t->deadline) {
		prev = *at;
		at = &(*at)->sleep_next;
	}
	t->sleep_prev = prev;
	t->sleep_next = *at;
	if (*at)
		(*at)->sleep_prev = t;
	*at = t;
}

static void sleeper_remove(struct uf_thread *t)
{
	if (t->sleep_prev)
		t->sleep_prev->sleep_next = t->sleep_next;
	else
		sleepers = t->sleep_next;
	if (t->sleep_next)
		t->sleep_next->sleep_prev = t->sleep_prev;
	t->deadline = UINT64_MAX;
}

void uf_thread_list_add(struct uf_thread *t)
{
	t->all_prev = 0;
	t->all_next = uf_thread_all;
	if (uf_thread_all)
		uf_thread_all->all_prev = t;
	uf_thread_all = t;
}

void uf_thread_list_remove(struct uf_thread *t)
{
	if (t->all_prev)
		t->all_prev->all_next = t->all_next;
	else
		uf_thread_all = t->all_next;
	if (t->all_next)
		t->all_next->all_prev = t->all_prev;
	uf_thread_gone_ns += uf_thread_cpu_now(t);
}

uint64_t uf_thread_cpu_now(struct uf_thread *t)
{
	struct cpu *c = this_cpu();
	return t->cpu_ns + (t == c->current ? uf_time_monotonic_ns() - c->since : 0);
}

/* ---- the timer interrupt ---- */

/* Asks module time for the next timer interrupt: the first sleeper's deadline, the end of the running thread's
 * slice if another waits for the CPU, or soon if a preemption was put off. A later one than already asked for is
 * asked for only when that one has come (a timer interrupt too early costs one look). */
static void arm(struct cpu *c, uint64_t now)
{
	uint64_t at = sleepers ? sleepers->deadline : UINT64_MAX;
	/* A preemption put off is tried again after RETRY_NS, never at the slice's end, which has passed: that
	 * interrupt would come at once, again and again, and the thread would never run on to release its lock. */
	uint64_t turn = c->need_resched ? now + RETRY_NS : c->slice_end;
	if (c->run.first && c->current != c->idle && turn < at)
		at = turn;
	if (at < c->armed || c->armed <= now) {
		c->armed = at;
		uf_time_alarm(at);
	}
}

void uf_thread_alarm(void)
{
	this_cpu()->alarm = 1;
}

/* ---- blocking and waking ---- */

void uf_thread_start(struct uf_thread *t)
{
	struct cpu *c = this_cpu();
	uint64_t now = uf_time_monotonic_ns();
	t->state = RUNNABLE;
	if (!c->run.first && c->slice_end < now)
		c->slice_end = now + SLICE_NS;         /* the running thread had the CPU alone: its slice starts now */
	uf_thread_enqueue(&c->run, t);
	if (c->current == c->idle || c->in_interrupt)
		c->need_resched = 1;                    /* woken by an interrupt: runs at its end */
	arm(c, now);
}

void uf_thread_wake(struct uf_thread *t, enum wake reason)
{
	if (t->state != BLOCKED)
		return;
	if (t->queue) {
		uf_thread_unqueue(t->queue, t);
		t->queue = 0;
	}
	if (t->deadline != UINT64_MAX)
		sleeper_remove(t);
	t->woke = reason;
	uf_thread_start(t);
}

enum wake uf_thread_block(struct uf_thread_queue *q, uint64_t deadline, int interruptible)
{
	struct uf_thread *t = self();
	t->state = BLOCKED;
	t->interruptible = interruptible;
	t->woke = WOKEN;
	t->queue = q;
	if (q)
		uf_thread_enqueue(q, t);
	t->deadline = deadline;
	if (deadline != UINT64_MAX)
		sleeper_add(t);
	uf_trap_yield();
	return t->woke;
}

static void wake_all(struct uf_thread_queue *q)
{
	struct uf_thread *t;
	while ((t = q->first))
		uf_thread_wake(t, WOKEN);
}

void uf_thread_wake_waiters(void)
{
	wake_all(&waiters);
}

void uf_thread_wait_until(uint64_t monotonic_ns)
{
	if (!started || uf_time_monotonic_ns() >= monotonic_ns)
		return;                 /* before module init: the caller's loop spins */
	uf_thread_block(&waiters, monotonic_ns, 1);
}

void uf_thread_yield(void)
{
	if (this_cpu()->run.first)
		uf_trap_yield();
}

void uf_thread_signal_kick(struct uf_signal_thread *s)
{
	struct uf_thread *t = (struct uf_thread *)((char *)s - offsetof(struct uf_thread, signals));
	if (t->state == BLOCKED && t->interruptible)
		uf_thread_wake(t, INTERRUPTED);
}

void uf_thread_signal_wake(int sig)
{
	if (uf_signal_takes(&self()->signals, sig))
		return;                 /* the running thread takes it at its next delivery point */
	for (struct uf_thread *t = uf_thread_all; t; t = t->all_next)
		if (uf_signal_takes(&t->signals, sig)) {
			uf_thread_signal_kick(&t->signals);
			return;
		}
}

void uf_thread_stop_others(void)
{
	struct uf_thread *me = self(), *next;
	for (struct uf_thread *t = uf_thread_all; t; t = next) {
		next = t->all_next;
		if (t == me)
			continue;
		if (t->mutexes) {
			t->doomed = 1;
			continue;
		}
		if (t->state == RUNNABLE)
			uf_thread_unqueue(&this_cpu()->run, t);
		if (t->state == BLOCKED && t->queue)
			uf_thread_unqueue(t->queue, t);
		if (t->deadline != UINT64_MAX)
			sleeper_remove(t);
		t->state = DEAD;
		uf_thread_list_remove(t);
	}
}

/* ---- mutexes ---- */

void uf_mutex_lock(struct uf_mutex *m)
{
	struct uf_thread *t = self();
	if (!m->owner)
		m->owner = t;
	else
		uf_thread_block(&m->waiting, UINT64_MAX, 0);    /* the unlock makes it ours */
	t->mutexes++;
}

void uf_mutex_unlock(struct uf_mutex *m)
{
	struct uf_thread *t = self(), *next = m->waiting.first;
	m->owner = next;
	if (next)
		uf_thread_wake(next, WOKEN);
	if (!--t->mutexes && t->doomed)
		uf_thread_exit(0);      /* exit_group waited for its state to be whole */
}

/* ---- switching ---- */

static void switch_to(struct cpu *c, struct uf_trap_frame *f, struct uf_thread *prev, struct uf_thread *next,
		      uint64_t now)
{
	prev->cpu_ns += now - c->since;
	c->since = now;
	if (prev->state != DEAD) {
		prev->frame = *f;
		prev->libc_locks = uf_libc_locks_held;
		if (prev != c->idle)            /* the idle thread touches no FP register and no thread pointer */
			uf_arch_thread_save(prev);
	}
	*f = next->frame;
	uf_libc_locks_held = next->libc_locks;
	if (next != c->idle)
		uf_arch_thread_load(next);
	next->state = RUNNING;
	c->current = next;
	c->need_resched = 0;
	c->slice_end = now + SLICE_NS;
	if (prev->state == DEAD)
		uf_thread_free(prev);
}

/* The next thread to run instead of the current one (which goes to the back of the run queue if it can run). */
static void schedule(struct cpu *c, struct uf_trap_frame *f, uint64_t now)
{
	struct uf_thread *prev = c->current, *next = queue_pop(&c->run);
	if (prev->state == RUNNING) {
		if (!next) {
			c->need_resched = 0;
			return;
		}
		prev->state = RUNNABLE;
		if (prev != c->idle)
			uf_thread_enqueue(&c->run, prev);
	}
	switch_to(c, f, prev, next ? next : c->idle, now);
}

static void expire(uint64_t now)
{
	while (sleepers && sleepers->deadline <= now)
		uf_thread_wake(sleepers, TIMED_OUT);
}

static void resume(struct uf_trap_frame *f, int yield)
{
	struct cpu *c = this_cpu();
	uint64_t now = uf_time_monotonic_ns();
	if (!yield) {
		c->in_interrupt = 1;
		if (c->alarm) {
			c->alarm = 0;
			c->armed = UINT64_MAX;
			expire(now);
			uf_signal_timers_due();
			if (c->run.first && now >= c->slice_end)
				c->need_resched = 1;
		} else {
			wake_all(&waiters);     /* a device's interrupt */
		}
		c->in_interrupt = 0;
	}
	if (c->current->state != RUNNING || (c->need_resched && !uf_libc_locks_held))
		schedule(c, f, now);
	if (c->current != c->idle && uf_arch_frame_interruptible(f))
		uf_signal_resume(f);
	arm(c, now);
}

static int crashed(uintptr_t addr)
{
	struct uf_thread *t = self();
	uf_printk("uniforge: in thread %d (%s):\n", t->tid, t->name);
	if (!addr || !t->stack_top)
		return 0;
	/* Its stack's mapping ends below in the guard musl made (PROT_NONE pages, which in module demand's range have
	 * no entry at all: prot -1): find it under the stack top. */
	uintptr_t page = (t->stack_top - 1) & ~(UF_PAGE_SIZE - 1);
	int n = 0;
	for (; n < 16384 && uf_mmu_prot(page) > 0; n++)
		page -= UF_PAGE_SIZE;
	for (; n < 32768 && uf_mmu_prot(page) <= 0; n++, page -= UF_PAGE_SIZE)
		if (addr >= page && addr < page + UF_PAGE_SIZE)
			return 1;
	return 0;
}

static int idle(void *unused)
{
	(void)unused;
	for (;;)
		uf_arch_thread_halt();
}

void uf_thread_sched_init(struct uf_thread *main)
{
	struct cpu *c = this_cpu();
	struct uf_thread *t = uf_page_alloc((sizeof *t + UF_PAGE_SIZE - 1) / UF_PAGE_SIZE);
	void *stack = uf_page_alloc(IDLE_STACK_PAGES);
	if (!t || !stack)
		uf_panic("thread: no memory for the idle thread");
	t->tid = 0;
	t->state = RUNNABLE;
	t->deadline = UINT64_MAX;
	t->signals.blocked = ~0ull;     /* never takes a signal */
	strcpy(t->name, "idle");
	uf_arch_thread_new(t, idle, 0, (uintptr_t)stack + IDLE_STACK_PAGES * UF_PAGE_SIZE, 0);
	c->idle = t;
	c->current = main;
	/* The first thread has run since the clock's 0. No clock is read here: the first read picks the clock source,
	 * which on Xen needs module xen's init, which may come after this one. */
	c->since = 0;
	c->armed = UINT64_MAX;
	uf_thread_list_add(main);
	uf_trap_set_resume_hook(resume);
	uf_trap_set_crash_hook(crashed);
	started = 1;
}

/* What module thread's files share (private to the module): the thread, the CPU it runs on, and the arch layer.
 *
 * A thread that does not run is a saved trap frame: whether it was interrupted (preempted while running the app)
 * or gave the CPU away itself (uf_trap_yield, from the library OS), it resumes through module trap's exit path.
 * So a context switch is one thing on both arches: module trap's resume hook (sched.c) saves the frame it was
 * given in the thread going out and puts the frame of the thread coming in in its place, with their FP/SIMD
 * state and thread pointer. */
#ifndef THREAD_THREADS_H
#define THREAD_THREADS_H

/* This module exists only in threaded images: it is always its threaded variant. Included first. */
#define UF_THREADS 1

#include <signal.h>
#include <stdint.h>
#include <uf/signal.h>
#include <uf/thread.h>
#include <uf/trap.h>

#define UF_THREAD_NAME_MAX 16

enum thread_state { RUNNING, RUNNABLE, BLOCKED, DEAD };

/* Why a blocked thread woke up. */
enum wake { WOKEN, TIMED_OUT, INTERRUPTED };

struct uf_thread {
	struct uf_trap_frame frame;     /* where it resumes, while it is not running */
#if defined(__x86_64__)
	uint8_t fxsave[512] __attribute__((aligned(16)));  /* its x87/SSE state (FXSAVE: what CR4 enables) */
#endif
	uintptr_t tls;                  /* its thread pointer: FS base, TPIDRURO */
	int tid;
	enum thread_state state;
	enum wake woke;
	int interruptible;              /* a signal for it ends its wait */
	struct uf_thread *next;         /* in the run queue, or in the queue it waits in */
	struct uf_thread_queue *queue;  /* what it waits in (NULL: only its deadline can end the wait) */
	uint64_t deadline;              /* when its wait ends by itself (UINT64_MAX: never) */
	struct uf_thread *sleep_next, *sleep_prev;      /* the sleepers, by deadline */
	struct uf_thread *all_next, *all_prev;          /* every thread */
	volatile int *futex;            /* the futex word it waits on */
	uint32_t bitset;
	int pi;                         /* it waits in FUTEX_LOCK_PI: to own the word, not for a wake */
	void *robust_list;              /* set_robust_list: the locks it holds, released if it ends without */
	int *clear_tid;                 /* CLONE_CHILD_CLEARTID / set_tid_address */
	void *unmap_base;               /* uf_thread_unmap_exit: its stack, unmapped once it is gone */
	size_t unmap_size;
	uintptr_t stack_top;            /* the top of the stack clone gave it (crash reports look for its guard) */
	int mutexes;                    /* uf_mutex locks it holds */
	int doomed;                     /* exit_group came while it held some: it ends when it releases the last */
	int libc_locks;                 /* the libc's internal locks it holds (uf_libc_locks_held while it runs) */
	uint64_t cpu_ns;                /* CPU time, up to its last switch out */
	struct uf_signal_thread signals;
	char name[UF_THREAD_NAME_MAX];
};

/* One CPU's scheduling state. Per CPU: SMP would have one each (and a lock for what threads on two CPUs share:
 * the thread list, the futex and sleeper queues). */
struct cpu {
	struct uf_thread *current;
	struct uf_thread *idle;         /* runs when nothing else can: the halt-until-interrupt wait */
	struct uf_thread_queue run;     /* runnable threads, in turn (not current, never idle) */
	uint64_t since;                 /* when current started running (CPU time) */
	uint64_t slice_end;             /* when current's time slice ends, if another thread is runnable */
	uint64_t armed;                 /* the timer interrupt asked of module time (UINT64_MAX: none) */
	int need_resched;               /* switch at the next safe point (the end of an interrupt in the app) */
	int alarm;                      /* the interrupt being handled is the timer's */
	int in_interrupt;               /* an interrupt is being handled: a thread it wakes runs at its end */
};

extern struct cpu uf_thread_cpu;
static inline struct cpu *this_cpu(void)
{
	return &uf_thread_cpu;
}

static inline struct uf_thread *self(void)
{
	return this_cpu()->current;
}

/* The libc's count of its internal locks held (libos/libc/src/thread/__lock.c): a thread that holds one is not
 * preempted, so that the library OS, whose code calls malloc, never finds malloc's lock held by a thread that
 * cannot run. Saved and restored with each thread. */
extern int uf_libc_locks_held;

/* ---- sched.c ---- */
/* Queues of threads: add at the end, remove (where it is, if it is there). */
void uf_thread_enqueue(struct uf_thread_queue *q, struct uf_thread *t);
void uf_thread_unqueue(struct uf_thread_queue *q, struct uf_thread *t);
/* Blocks the calling thread (interrupts off) in queue q (NULL: none) until it is woken, until deadline
 * (UINT64_MAX: none), or, if interruptible, until a signal is sent to it: which of these. */
enum wake uf_thread_block(struct uf_thread_queue *q, uint64_t deadline, int interruptible);
/* Makes t (blocked) runnable, for reason. */
void uf_thread_wake(struct uf_thread *t, enum wake reason);
/* Puts t in the run queue (a new thread). */
void uf_thread_start(struct uf_thread *t);
/* The first thread (module init): the scheduler's hooks, the idle thread. */
void uf_thread_sched_init(struct uf_thread *main);
/* Every thread, for lookups: the first (then ->all_next). */
extern struct uf_thread *uf_thread_all;
/* Adds t to / removes t from the thread list; the CPU time of threads gone stays counted for the process. */
void uf_thread_list_add(struct uf_thread *t);
void uf_thread_list_remove(struct uf_thread *t);
extern uint64_t uf_thread_gone_ns;
/* The CPU time of t until now. */
uint64_t uf_thread_cpu_now(struct uf_thread *t);
/* Thread tid (0: the calling thread), NULL if there is none. */
struct uf_thread *uf_thread_find(int tid);
/* t's resources go (a thread gone, switched away from for the last time). */
void uf_thread_free(struct uf_thread *t);

/* ---- thread.c ---- */
/* A thread's end by the return of its function: fn's value is its status. */
_Noreturn void uf_thread_returned(int status);

/* ---- futex.c ---- */
/* futex(2)'s operations (Linux's uapi values) */
#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#define FUTEX_REQUEUE 3
#define FUTEX_CMP_REQUEUE 4
#define FUTEX_LOCK_PI 6
#define FUTEX_UNLOCK_PI 7
#define FUTEX_TRYLOCK_PI 8
#define FUTEX_WAIT_BITSET 9
#define FUTEX_WAKE_BITSET 10
#define FUTEX_PRIVATE_FLAG 128
#define FUTEX_CLOCK_REALTIME 256
#define FUTEX_CMD_MASK (~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME))

/* Wakes at most n threads waiting on the futex word at addr whose bitset meets bitset: how many. */
int uf_thread_futex_wake(volatile int *addr, int n, uint32_t bitset);
/* The locks t still holds as it ends: those in its robust list are marked FUTEX_OWNER_DIED, and a PI futex it owns
 * goes to a waiter. */
void uf_thread_futex_exit(struct uf_thread *t);

/* ---- the arch layer: x86_64.c, armv7.c ---- */
/* A new thread's frame and FP state: fn(arg) on stack with interrupts on and thread pointer tls (0: the calling
 * thread's); fn's return ends the thread with its value. */
void uf_arch_thread_new(struct uf_thread *t, int (*fn)(void *), void *arg, uintptr_t stack, uintptr_t tls);
/* Waits for an interrupt (interrupts on: the idle thread). */
void uf_arch_thread_halt(void);
/* Saves the running thread's FP/SIMD state and thread pointer in t / loads them from t (the frame itself is
 * copied by sched.c). */
void uf_arch_thread_save(struct uf_thread *t);
void uf_arch_thread_load(struct uf_thread *t);
/* Whether f was interrupted with interrupts on (the app, or the idle thread, was running). */
int uf_arch_frame_interruptible(const struct uf_trap_frame *f);

#endif

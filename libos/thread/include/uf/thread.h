/* Threads (module thread): musl's pthreads over clone and futex, on a preemptive scheduler for one CPU.
 *
 * Only images that create threads link this module (pthread_create reaches it through the libc's __clone). The
 * driver then compiles every module of the image in its threaded variant, with UF_THREADS defined: the calls in
 * the first part of this header are real there, and nothing (no code, no data) in a single-threaded image.
 *
 * How the library OS stays correct with threads: the app runs with interrupts on and is preempted at the end of
 * a time slice; every call into the library OS turns interrupts off for its duration (the driver wraps each
 * uf_sys_* function of a threaded image), so library-OS code is never preempted and needs no lock between two
 * waits. A thread gives the CPU away only where it blocks: uf_time_wait_until (which blocks only the calling
 * thread), a futex, a mutex below, or its exit. Blocking loops already look at their state again after every
 * wait; what a wait leaves half done (a disk transfer in the middle of a FAT update) is kept by a uf_mutex. */
#ifndef UF_THREAD_H
#define UF_THREAD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef UF_THREADS
#define UF_THREADED 1
#else
#define UF_THREADED 0
#endif

/* ---- for every module: what compiles to nothing in a single-threaded image ---- */

#ifdef UF_THREADS
/* Threads waiting for something, in arrival order. */
struct uf_thread_queue {
	struct uf_thread *first, *last;
};

/* A lock held across waits: a thread that wants it while another holds it blocks (neither signals nor timeouts
 * end that wait), and gets it when the holder unlocks. Zero-initialized is unlocked. Not recursive. */
struct uf_mutex {
	struct uf_thread *owner;
	struct uf_thread_queue waiting;
};
void uf_mutex_lock(struct uf_mutex *m);
void uf_mutex_unlock(struct uf_mutex *m);

/* Something that a blocked call may be waiting for has changed (bytes arrived, room was made, a peer went): the
 * threads blocked in uf_time_wait_until look again. Device interrupts do this by themselves, and so does
 * uf_fd_wake (uf/fd.h). */
void uf_thread_wake_waiters(void);
#else
struct uf_mutex {
};
static inline void uf_mutex_lock(struct uf_mutex *m) { (void)m; }
static inline void uf_mutex_unlock(struct uf_mutex *m) { (void)m; }
static inline void uf_thread_wake_waiters(void) {}
#endif

/* Interrupts off for a call into the library OS from the app (the driver's wrappers of a threaded image, and the
 * entry points below that the libc calls directly); uf_thread_leave puts them back as they were. */
static inline unsigned long uf_thread_enter(void)
{
	unsigned long flags;
#if defined(__x86_64__)
	__asm__ volatile("pushfq; popq %0; cli" : "=r"(flags) :: "memory");
#elif defined(__arm__)
	__asm__ volatile("mrs %0, cpsr; cpsid i" : "=r"(flags) :: "memory");
#endif
	return flags;
}

static inline void uf_thread_leave(unsigned long flags)
{
#if defined(__x86_64__)
	__asm__ volatile("pushq %0; popfq" :: "r"(flags) : "memory", "cc");
#elif defined(__arm__)
	__asm__ volatile("msr cpsr_c, %0" :: "r"(flags) : "memory");
#endif
}

/* The app's code runs with interrupts on (module process, as it starts the app). */
static inline void uf_thread_interrupts_on(void)
{
#if defined(__x86_64__)
	__asm__ volatile("sti" ::: "memory");
#elif defined(__arm__)
	__asm__ volatile("cpsie i" ::: "memory");
#endif
}

/* ---- module thread's services to modules process and time (their threaded variants) ---- */

struct uf_signal_thread;

/* The libc's __clone (libos/libc/src/thread/clone.c) for a new thread (CLONE_THREAD | CLONE_VM | CLONE_SIGHAND;
 * CLONE_SETTLS, CLONE_PARENT_SETTID, CLONE_CHILD_SETTID and CLONE_CHILD_CLEARTID as Linux does them): fn(arg)
 * runs on stack, and its return ends the thread with that status. Returns the new thread's id, or -errno. */
long uf_thread_clone(int (*fn)(void *), void *arg, void *stack, unsigned long flags, int *ptid, void *tls,
		     int *ctid);
/* The libc's __unmapself: the thread ends (status 0) and the mapping [base, base + size), its stack, is unmapped
 * once nothing runs on it. */
_Noreturn void uf_thread_unmap_exit(void *base, size_t size);

/* exit(2): ends the calling thread (its CLONE_CHILD_CLEARTID word is cleared and woken), unless it is the last
 * one: then it returns, and the process exits. */
void uf_thread_exit(int status);
/* exit_group(2): no other thread runs again, except one holding a uf_mutex, which goes on until it releases the
 * last one (state it leaves half done would be lost). */
void uf_thread_stop_others(void);
/* set_robust_list(2) and get_robust_list(2) (tid 0: the calling thread): the list of robust futexes a thread holds,
 * which its end without releasing them (exit(2) without pthread_exit) marks FUTEX_OWNER_DIED, waking a waiter. */
long uf_thread_set_robust_list(void *head, size_t len);
long uf_thread_get_robust_list(int tid, void **head, size_t *len);
/* set_tid_address(2): the calling thread's CLONE_CHILD_CLEARTID word; returns its id. */
long uf_thread_set_tid_address(int *tidptr);
/* sched_yield(2): the other runnable threads run first. */
void uf_thread_yield(void);

/* futex(2), as module process's syscalls pass it on (ARMv7: also futex_time64, whose timespec is 64-bit): the
 * waits and wakes, and the priority-inheritance locks (LOCK_PI, TRYLOCK_PI, UNLOCK_PI). */
long uf_thread_sys_futex(volatile int *addr, int op, int val, const void *timeout, volatile int *addr2, int val3);
#if defined(__arm__)
long uf_thread_sys_futex_time64(volatile int *addr, int op, int val, const void *timeout, volatile int *addr2,
				int val3);
#endif

/* The calling thread's id (gettid). */
int uf_thread_tid(void);
/* The signal state (module process's) of thread tid, 0 for the calling thread; NULL if there is no such thread. */
struct uf_signal_thread *uf_thread_signals(int tid);
/* Thread tid's name (prctl PR_SET_NAME, pthread_setname_np: 16 bytes, NUL-terminated), 0 for the calling
 * thread; NULL if there is no such thread. */
char *uf_thread_name(int tid);

/* Module process: a process-directed signal sig became pending: a thread that would take it and is blocked in
 * an interruptible wait (uf_time_wait_until, a futex) wakes up to let it in at its wait point. */
void uf_thread_signal_wake(int sig);
/* A signal became pending for the thread whose signal state is s: it wakes up as above. */
void uf_thread_signal_kick(struct uf_signal_thread *s);

/* Module time: what uf_time_wait_until becomes: blocks the calling thread until monotonic_ns, or until a device
 * interrupt, uf_thread_wake_waiters or a signal for it; the other threads run meanwhile. */
void uf_thread_wait_until(uint64_t monotonic_ns);
/* Module time's timer interrupt (uf_time_alarm's), with interrupts off. */
void uf_thread_alarm(void);
/* The CPU time of clock id (CLOCK_THREAD_CPUTIME_ID, CLOCK_PROCESS_CPUTIME_ID, or one of a thread's or the
 * process's clocks as clock_getcpuclockid and pthread_getcpuclockid make them) in ns: 0, or -EINVAL (no such
 * clock or thread). */
long uf_thread_cpu_ns(clockid_t id, uint64_t *ns);

#endif

/* Module time: clocks, sleeping, and the Linux time syscalls.
 *
 * Monotonic time is nanoseconds since this module's init (early boot); it never goes back and keeps counting
 * while the guest sleeps. Boot only reads the TSC: the first clock read picks the clock source (on x86_64:
 * kvmclock, a hypervisor's or the CPU's published TSC frequency, else a ~9 ms calibration against the PIT), and
 * the first wall-clock read asks kvmclock or the RTC. Single CPU, interrupts off (the library OS runs with them off
 * even with threads): none of this is reentrant. */
#ifndef UF_TIME_H
#define UF_TIME_H

#include <stdint.h>

/* Interrupt vectors this module asks the trap module for, on x86_64: the local APIC timer's (TSC-deadline
 * mode, only while sleeping) and, if nobody enabled the local APIC before, its spurious-interrupt vector. */
#define UF_TIME_VECTOR 0xec
#define UF_TIME_SPURIOUS_VECTOR 0xff

/* Module init: marks boot as the monotonic clock's 0. */
void uf_time_init(void);

uint64_t uf_time_monotonic_ns(void);

/* Nanoseconds since 1970-01-01 UTC: the wall clock's time when first read (kvmclock's, to the ns; the RTC's, in
 * whole seconds), advanced by the monotonic clock. Without either it equals the monotonic clock. */
uint64_t uf_time_realtime_ns(void);

/* Halts until an interrupt (a device's: a driver's handler wakes the CPU this way) or until monotonic_ns,
 * whichever comes first; may also return early for no reason. Returns at once if monotonic_ns has passed.
 * Blocking calls loop: while (!ready) { poll the device; uf_time_wait_until(deadline); then let signals in:
 * if ((r = uf_signal_wait_point())) return r; } (uf/signal.h). With threads, only the calling thread waits
 * (uf_thread_wait_until: also woken by uf_thread_wake_waiters and by a signal for it). */
void uf_time_wait_until(uint64_t monotonic_ns);

/* Every uf_time_wait_until also returns by monotonic_ns (UINT64_MAX: never), for what is due at a time rather
 * than announced by an interrupt: module timer's timers (alarm, setitimer, timer_create), which the wait point
 * after the wait fires. One user. */
void uf_time_wake_at(uint64_t monotonic_ns);

/* What must happen before any wait: every uf_time_wait_until first calls arm. For an event source whose interrupt
 * stays off while the CPU is busy (each one costs a trap, and the busy code polls anyway), arm turns it on and
 * handles what came while it was off (nonzero: it did, so the wait returns at once and the caller looks again).
 * One user: module net (TCP's owed delayed ACKs go out, then the NIC's receive interrupt goes on). */
void uf_time_on_wait(int (*arm)(void));

/* Module thread: the timer interrupt, which calls uf_thread_alarm, at about monotonic_ns (or earlier, for
 * uf_time_wake_at's time; UINT64_MAX: none), while the app runs. */
void uf_time_alarm(uint64_t monotonic_ns);

/* What the monotonic clock is derived from, e.g. "kvmclock", "cpuid-0x15", "pit"; picks it if not done yet. */
const char *uf_time_source(void);

/* The time syscalls over musl's own types (64-bit time_t everywhere), Linux semantics and errors (see time.c
 * for what this kernel does differently); the sleeps fail with -EINTR, the time left in *rem, when a signal
 * handler interrupts them. The syscalls themselves are per arch (syscalls_x86_64.c,
 * syscalls_armv7.c): each arch names them, and lays out their arguments, its own way. */
struct timespec;
struct timeval;
struct timezone;
struct tms;
struct krusage;
long uf_time_clock_gettime(int clockid, struct timespec *ts);
long uf_time_clock_getres(int clockid, struct timespec *res);
long uf_time_gettimeofday(struct timeval *tv, struct timezone *tz);
long uf_time_nanosleep(const struct timespec *req, struct timespec *rem);
long uf_time_clock_nanosleep(int clockid, int flags, const struct timespec *req, struct timespec *rem);
long uf_sys_times(struct tms *buf);
long uf_sys_getrusage(int who, struct krusage *usage);

#endif

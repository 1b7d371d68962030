/* Signals as the rest of the library OS sees them (module process). The libc's own signal calls are the
 * uf_sys_rt_sig* syscalls; this is the kernel side: drivers that generate signals, and blocking calls that must
 * let them in. */
#ifndef UF_SIGNAL_H
#define UF_SIGNAL_H

/* Generates a process-directed signal from the kernel (SIGPIPE after a write to a broken pipe or socket,
 * SIGALRM when a timer expires, ...). It is made pending and delivered at the next delivery point: before the
 * current syscall returns to the app, or at a blocking call's wait point. */
void uf_signal_raise(int sig);

/* The delivery point of blocking calls: call it after every wake-up of a blocking loop (after
 * uf_time_wait_until). Runs the handlers of pending signals the caller does not block. Returns 0 to go on
 * waiting (nothing was delivered, or every handler that ran was installed with SA_RESTART), or -EINTR: the
 * blocking call must return -EINTR now. */
long uf_signal_wait_point(void);

#endif

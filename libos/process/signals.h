/* What module process's signal files share (private to the module): signal.c (dispositions, masks, pending
 * signals, delivery) and the arch layer's signal frames (signal_x86_64.c, signal_armv7.c). */
#ifndef PROCESS_SIGNALS_H
#define PROCESS_SIGNALS_H

#include <signal.h>
#include <stdint.h>
#include <uf/trap.h>

/* A set of signals 1-64, the kernel's sigset_t: bit sig - 1. */
typedef uint64_t uf_sigset;
#define UF_SIGBIT(sig) (1ULL << ((sig) - 1))

/* The kernel's struct sigaction, as musl passes it (handler, flags, restorer, mask). */
struct k_sigaction {
	void (*handler)(int);
	unsigned long flags;
	void (*restorer)(void);
	unsigned mask[2];
};

/* Ends the machine as the process's exit would, with status (sys.c): file systems are written back first. */
_Noreturn void uf_process_exit(int status);

/* The trap hook's body (module trap calls it through the arch's hook). The interrupted code's FP/SIMD state is in
 * the frame (ARMv7: module trap's entry saved the VFP registers) or still in the CPU (x86_64). */
int uf_signal_trap(struct uf_trap_frame *f);

/* ---- the arch layer: signal_x86_64.c, signal_armv7.c ---- */

enum uf_signal_trap_kind {
	UF_SIGNAL_OTHER,        /* not for signals: the crash report */
	UF_SIGNAL_FAULT,        /* a CPU exception; its siginfo is filled in */
	UF_SIGNAL_DELIVER,      /* the software trap of a delivery point (uf_arch_signal_trap) */
	UF_SIGNAL_RETURN,       /* a handler without SA_SIGINFO returned (ARMv7's sigreturn) */
	UF_SIGNAL_RT_RETURN,    /* a handler returned (rt_sigreturn) */
};

/* What f is. A software trap is resumed after its instruction from here on. */
enum uf_signal_trap_kind uf_arch_signal_kind(struct uf_trap_frame *f, siginfo_t *info);

uintptr_t uf_arch_signal_pc(const struct uf_trap_frame *f);
uintptr_t uf_arch_signal_sp(const struct uf_trap_frame *f);
uintptr_t uf_arch_signal_fp(const struct uf_trap_frame *f);
/* Where the code at f's pc was called from, as far as can be told right at a function's entry (x86_64: the word
 * at the stack pointer; ARMv7: lr); 0 if unreadable. */
uintptr_t uf_arch_signal_caller(const struct uf_trap_frame *f);

/* A handler to enter from f. */
struct uf_signal_entry {
	int sig;
	const siginfo_t *info;
	const struct k_sigaction *action;
	uintptr_t stack;        /* the top of the sigaltstack to build the frame on; 0: below f's stack pointer */
	stack_t uc_stack;       /* what the frame's uc_stack says */
	uf_sigset uc_mask;      /* what the frame's uc_sigmask says: the mask its sigreturn restores */
};

/* Builds the signal frame (siginfo, ucontext with f's registers and FP state) and changes f to enter the
 * handler (with interrupts on in a threaded image: the handler is the app's code). Returns 0 when the frame
 * cannot be written (its stack is not mapped writable). */
int uf_arch_signal_enter(struct uf_trap_frame *f, const struct uf_signal_entry *e);

/* A handler returned: resumes the context its frame (at f's stack pointer) holds, in f (and the FP state), and
 * gives back the frame's mask and uc_stack. Returns 0 when the frame cannot be read. */
int uf_arch_signal_return(struct uf_trap_frame *f, int rt, uf_sigset *mask, stack_t *uc_stack);

/* Changes f to call fn(arg) with interrupts off, below f's stack pointer, instead of resuming: what a trap hands
 * over to code that may wait (the exit a signal's default action makes). */
void uf_arch_signal_call(struct uf_trap_frame *f, void (*fn)(int), int arg);

/* The software trap: delivers what is pending through uf_signal_trap, then returns (x86_64: %eax, ARMv7: r7 says
 * what a software trap is for; this value asks for delivery, the syscall numbers of sigreturn for a return). */
#define UF_SIGNAL_TRAP_DELIVER (-1)
void uf_arch_signal_trap(void);

/* Makes module trap call uf_signal_trap. */
void uf_arch_signal_hook(void);

#endif

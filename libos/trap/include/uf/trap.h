/* Traps: CPU exceptions end the machine with a crash report; uf_panic() does the same for software errors.
 * Report lines start with "uniforge: "; the host runner symbolizes the "uniforge: backtrace: 0x..." lines. */
#ifndef UF_TRAP_H
#define UF_TRAP_H

#include <stdint.h>

#if defined(__x86_64__)
/* What trap_entry.S pushes (lowest address first): the GPRs, vector, error code, then the CPU's frame. */
struct uf_trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, err;
	uint64_t rip, cs, rflags, rsp, ss;
};

/* Called by trap_entry.S for every exception and interrupt; returning resumes the (possibly changed) frame. The
 * interrupted code's x87/SSE state is still in the CPU: library-OS code never touches it. */
void uf_trap_handler(struct uf_trap_frame *f);
#define UF_TRAP_FLAG_IF (1ul << 9)      /* rflags: interrupts were on where f was interrupted */
#elif defined(__arm__)
enum { UF_TRAP_UND = 1, UF_TRAP_SVC, UF_TRAP_PABT, UF_TRAP_DABT, UF_TRAP_FIQ, UF_TRAP_OTHER, UF_TRAP_IRQ };

/* What vectors_armv7.S saves (lowest address first) on the exception stack, in ABT mode, for every exception and
 * interrupt: the interrupted code's VFP registers (the library OS's C code uses them), then its core registers. */
struct uf_trap_frame {
	uint64_t d[32];
	uint32_t fpscr, pad;
	uint32_t kind;                  /* UF_TRAP_* */
	uint32_t sp, lr;                /* of the interrupted mode (banked): written back when it resumes */
	uint32_t r[13];
	uint32_t pc, cpsr;              /* the faulting instruction, the interrupted CPSR: resumed from here */
};

/* Called by vectors_armv7.S for every exception and interrupt; returning resumes the (possibly changed) frame
 * at f->pc with f->cpsr, f->sp and f->lr. */
void uf_trap_handler(struct uf_trap_frame *f);
/* The interrupt controller's IRQ routine (module gic): acknowledges, runs the handler, ends the interrupt. */
void uf_trap_set_irq_dispatch(void (*dispatch)(void));
#define UF_TRAP_FLAG_I (1u << 7)        /* CPSR: interrupts were masked where f was interrupted */
#endif

/* Installs the exception handlers (called by boot before the page tables are built). */
void uf_trap_init(void);

/* Routes an interrupt to fn, which runs with interrupts off on the exception stack; when it returns, the
 * interrupt controller gets its end-of-interrupt and the interrupted code resumes (or, with module thread,
 * another thread: uf_trap_set_resume_hook).
 * x86_64 (module trap): vector is an IDT vector (32-255); fn must not touch FP/SIMD state (library-OS code is
 * built without it); the local APIC's xAPIC/x2APIC mode is read here, so set the APIC up first.
 * ARMv7 (module gic): vector is a GIC interrupt ID (16-31: this CPU's PPIs, e.g. 27 = virtual timer; 32 and up:
 * SPIs), which is enabled in the GIC; fn may use VFP/NEON (the entry saves that state). */
void uf_trap_set_handler(int vector, void (*fn)(void));

/* Module process's signals (the only user): fn is offered every trap (x86_64: interrupts too) before anything
 * else. It runs with interrupts off on the exception stack and returns nonzero when it dealt with the trap: the
 * frame, which it may have changed, is resumed; zero: an interrupt goes to its handler, an exception to the crash
 * report. The software trap is a way into fn on purpose, as a system call: x86_64 `int $0x80`
 * (UF_TRAP_SOFT_VECTOR, whose gate this call installs; fn must take it), ARMv7 `svc #0`. */
void uf_trap_set_signal_hook(int (*fn)(struct uf_trap_frame *f));
#if defined(__x86_64__)
#define UF_TRAP_SOFT_VECTOR 0x80
#endif

/* Module thread's scheduler (the only user): fn runs with interrupts off on the exception stack after every
 * interrupt that came while interrupts were on (the app, or the idle thread, was running: a safe point), and for
 * every uf_trap_yield (yield = 1). f is what will resume: fn may save it and put another thread's saved frame in
 * its place (a context switch), or change it to enter a signal handler. */
void uf_trap_set_resume_hook(void (*fn)(struct uf_trap_frame *f, int yield));
/* Traps into the resume hook from the library OS (interrupts off), which resumes this thread after it when the
 * scheduler picks it again: every register comes back as it was. */
void uf_trap_yield(void);

/* Module demand's page faults (the only user): a page fault (x86_64 #PF; ARMv7 data and prefetch aborts) at an
 * address in [from, to) goes to fn(address, write) first, with interrupts off on the exception stack: it returns 1
 * when it made the page (resume), 0 when the fault is not its own (signals, then the crash report), negative when no
 * RAM is left for the page: it has printed the crash line that says so, the crash report follows (no signal handler
 * runs: there is nothing it could do). uf_trap_walk follows frames in [from, to) too (stacks there); trap's
 * uf_backtrace walks frames in RAM only, and module demand's (a strong definition) those of its stacks too. */
void uf_trap_set_fault_hook(int (*fn)(uintptr_t addr, int write), uintptr_t from, uintptr_t to);

/* Module thread's part of a crash report, called first: fn prints which thread crashed, and returns whether addr
 * (the faulting address, 0 if none) lies in that thread's stack guard. */
void uf_trap_set_crash_hook(int (*fn)(uintptr_t addr));

/* Calls fn with each return address of the frame-pointer chain from fp (innermost first; the frames uf_backtrace
 * prints, at most 32, each checked to be readable) until fn returns nonzero; returns that, or 0. */
int uf_trap_walk(uintptr_t fp, int (*fn)(uintptr_t ret, void *arg), void *arg);

/* Prints "uniforge: panic: <message>" and the caller's backtrace, then exits with UF_EXIT_CRASH. */
_Noreturn void uf_panic(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints "uniforge: backtrace: " lines: pc, then the return addresses of the frame-pointer chain from fp. */
void uf_backtrace(uintptr_t pc, uintptr_t fp);

#endif

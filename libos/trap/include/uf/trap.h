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

/* Called by trap_entry.S for every exception; returning resumes the interrupted code. */
void uf_trap_handler(struct uf_trap_frame *f);
#endif

/* Installs the exception handlers (called by boot before the page tables are built). */
void uf_trap_init(void);

#if defined(__x86_64__)
/* Routes interrupt vector (32-255) to fn, which runs with interrupts off on the interrupted stack and must not
 * touch FP/SIMD state (library-OS code is built with -mgeneral-regs-only). When fn returns, the local APIC gets
 * its EOI (its xAPIC/x2APIC mode is read here, so set the APIC up first) and the interrupted code resumes. */
void uf_trap_set_handler(int vector, void (*fn)(void));
#endif

/* Prints "uniforge: panic: <message>" and the caller's backtrace, then exits with UF_EXIT_CRASH. */
_Noreturn void uf_panic(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints "uniforge: backtrace: " lines: pc, then the return addresses of the frame-pointer chain from fp. */
void uf_backtrace(uintptr_t pc, uintptr_t fp);

#endif

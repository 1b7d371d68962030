/* CPU exceptions on ARMv7: the vector base, the exception-mode stacks, interrupts to the interrupt controller's
 * dispatch, the hooks of module process (signals) and module thread (the scheduler), and the crash report (the
 * fault decoded from DFSR/DFAR or IFSR/IFAR, the registers, a backtrace). Without hooks, the one exception that
 * resumes is the semihosting call of uf_exit when QEMU runs without semihosting (the svc then really traps),
 * which returns -1. */
#include <sys/mman.h>
#include <uf/armv7.h>
#include <uf/boot.h>
#include <uf/console.h>
#include <uf/exit.h>
#include <uf/thread.h>
#include <uf/trap.h>
#include "fault_range.h"

/* Run once (or on a crash): under an emulator that translates each instruction before its first run, small code is
 * fast code. */
#pragma clang attribute push(__attribute__((minsize)), apply_to = function)

#define PSR_T (1u << 5)
#define FSR_WNR (1u << 11)                      /* DFSR: the access was a write */
#define SVC_SEMIHOSTING 0x0f123456u             /* svc 0x123456, any condition */
#define SVC_YIELD 0xef000081u                   /* uf_trap_yield: svc #0x81, condition always */

extern char uf_trap_vectors[];
void uf_trap_init_stacks(void);

static void (*irq_dispatch)(void);
static int (*signal_hook)(struct uf_trap_frame *f);
static void (*resume_hook)(struct uf_trap_frame *f, int yield);
static int (*crash_hook)(uintptr_t addr);
static int (*fault_hook)(uintptr_t addr, int write);    /* with it, signal_hook is fault_first ... */
static int (*later_hook)(struct uf_trap_frame *f);      /* ... and this module process's signal hook */

void uf_trap_init(void)
{
	uf_trap_init_stacks();
	uf_write_vbar((uintptr_t)uf_trap_vectors);
	uf_isb();
}

void uf_trap_set_irq_dispatch(void (*dispatch)(void))
{
	irq_dispatch = dispatch;
}

void uf_trap_set_signal_hook(int (*fn)(struct uf_trap_frame *f))
{
	*(fault_hook ? &later_hook : &signal_hook) = fn;
}

/* The fault hook sits in the signal hook's place (the slot every trap consults first), so an image without it has
 * no code for it there: a page fault goes to it first; what it does not take goes on to signals. */
static int fault_first(struct uf_trap_frame *f)
{
	int r = f->kind == UF_TRAP_DABT ? fault_hook(uf_read_dfar(), uf_read_dfsr() & FSR_WNR) :
		f->kind == UF_TRAP_PABT ? fault_hook(uf_read_ifar(), 0) : 0;
	return r > 0 || (!r && later_hook && later_hook(f));
}

void uf_trap_set_fault_hook(int (*fn)(uintptr_t addr, int write), uintptr_t from, uintptr_t to)
{
	later_hook = signal_hook;
	fault_hook = fn;
	signal_hook = fault_first;
	uf_trap_fault_from = from;
	uf_trap_fault_to = to;
}

void uf_trap_set_resume_hook(void (*fn)(struct uf_trap_frame *f, int yield))
{
	resume_hook = fn;
}

void uf_trap_yield(void)
{
	/* The svc exception from SVC mode overwrites lr; every other register comes back as it was. */
	__asm__ volatile("svc #0x81" ::: "lr", "memory", "cc");
}

void uf_trap_set_crash_hook(int (*fn)(uintptr_t addr))
{
	crash_hook = fn;
}

/* The short-descriptor fault status (B3.13.6): FS[4] is bit 10, FS[3:0] bits 3-0. */
static const char *fault_reason(uint32_t fsr)
{
	switch ((fsr >> 6 & 0x10) | (fsr & 0xf)) {
	case 0x01: return "alignment fault";
	case 0x02: return "debug event";
	case 0x03: case 0x06: return "access flag fault";
	case 0x04: return "cache maintenance fault";
	case 0x05: case 0x07: return "translation fault";
	case 0x08: return "external abort";
	case 0x09: case 0x0b: return "domain fault";
	case 0x0c: case 0x0e: return "external abort on a table walk";
	case 0x0d: case 0x0f: return "permission fault";
	case 0x16: return "asynchronous external abort";
	case 0x18: case 0x19: return "parity error";
	case 0x1c: case 0x1e: return "parity error on a table walk";
	default: return "unknown fault";
	}
}

static int readable(uintptr_t a)
{
	if (!(uf_read_sctlr() & UF_SCTLR_M))
		return 1;               /* before the MMU is on (an early panic): the address is the instruction's */
	int prot = uf_mmu_prot(a);
	return prot > 0 && (prot & PROT_READ);
}

static int is_semihosting_call(const struct uf_trap_frame *f)
{
	return f->kind == UF_TRAP_SVC && !(f->cpsr & PSR_T) && readable(f->pc) &&
	       (*(const uint32_t *)f->pc & 0x0fffffff) == SVC_SEMIHOSTING;
}

void uf_trap_handler(struct uf_trap_frame *f)
{
	static int reporting;
	if (f->kind == UF_TRAP_IRQ && irq_dispatch) {
		irq_dispatch();
		if (UF_THREADED && resume_hook && !(f->cpsr & UF_TRAP_FLAG_I))
			resume_hook(f, 0);
		return;
	}
	if (UF_THREADED && resume_hook && f->kind == UF_TRAP_SVC && *(const uint32_t *)f->pc == SVC_YIELD) {
		f->pc += 4;
		resume_hook(f, 1);
		return;
	}
	if (is_semihosting_call(f)) {
		f->r[0] = (uint32_t)-1;         /* no debugger/QEMU answered: the caller falls back */
		f->pc += 4;
		return;
	}
	if (f->cpsr & PSR_T && (f->kind == UF_TRAP_UND || f->kind == UF_TRAP_SVC))
		f->pc += 2;                     /* Thumb: these return addresses are 2 bytes past the instruction */
	if (signal_hook && signal_hook(f))
		return;
	if (reporting++) {                      /* a fault while reporting: say where, don't recurse */
		uf_printk("uniforge: crash: exception %u at pc=0x%08x while reporting a crash\n", f->kind, f->pc);
		uf_exit(UF_EXIT_CRASH);
	}

	uint32_t addr = f->kind == UF_TRAP_DABT ? uf_read_dfar() : f->kind == UF_TRAP_PABT ? uf_read_ifar() : 0, fsr = 0;
	int in_guard = UF_THREADED && crash_hook && crash_hook(addr);
	const char *what;
	switch (f->kind) {
	case UF_TRAP_DABT: {
		fsr = uf_read_dfsr();
		uintptr_t guard = (uintptr_t)uf_boot_stack_guard;
		const char *access = fsr & FSR_WNR ? "write" : "read";
		if (in_guard || (addr >= guard && addr - guard < UF_BOOT_STACK_GUARD))
			uf_printk("uniforge: crash: stack overflow (guard page) (data abort, %s, %s)", fault_reason(fsr),
				  access);
		else
			uf_printk("uniforge: crash: data abort (%s, %s)", fault_reason(fsr), access);
		uf_printk(" at pc=0x%08x addr=0x%08x fsr=0x%x\n", f->pc, addr, fsr);
		break;
	}
	case UF_TRAP_PABT:
		fsr = uf_read_ifsr();
		uf_printk("uniforge: crash: prefetch abort (%s) at pc=0x%08x addr=0x%08x fsr=0x%x\n", fault_reason(fsr),
			  f->pc, addr, fsr);
		break;
	case UF_TRAP_UND:
		if (readable(f->pc) && !(f->cpsr & PSR_T)) {
			uf_printk("uniforge: crash: undefined instruction at pc=0x%08x insn=0x%08x\n", f->pc,
				  *(const uint32_t *)f->pc);
			break;
		}
		/* fall through */
	default:
		what = f->kind == UF_TRAP_UND ? "undefined instruction" :
		       f->kind == UF_TRAP_SVC ? "unexpected supervisor call (svc)" :
		       f->kind == UF_TRAP_FIQ ? "unexpected FIQ" :
		       f->kind == UF_TRAP_IRQ ? "interrupt without an interrupt controller" : "unexpected exception";
		uf_printk("uniforge: crash: %s at pc=0x%08x\n", what, f->pc);
		break;
	}
	const uint32_t *r = f->r;
	uf_printk("uniforge: r0=0x%08x r1=0x%08x r2=0x%08x r3=0x%08x\n", r[0], r[1], r[2], r[3]);
	uf_printk("uniforge: r4=0x%08x r5=0x%08x r6=0x%08x r7=0x%08x\n", r[4], r[5], r[6], r[7]);
	uf_printk("uniforge: r8=0x%08x r9=0x%08x r10=0x%08x r11=0x%08x\n", r[8], r[9], r[10], r[11]);
	uf_printk("uniforge: r12=0x%08x sp=0x%08x lr=0x%08x pc=0x%08x\n", r[12], f->sp, f->lr, f->pc);
	uf_printk("uniforge: cpsr=0x%08x sctlr=0x%08x ttbr0=0x%08x\n", f->cpsr, uf_read_sctlr(), uf_read_ttbr0());
	uintptr_t text = (uintptr_t)__uf_text_start, text_end = (uintptr_t)__uf_text_end;
	if (f->kind == UF_TRAP_PABT && (f->pc < text || f->pc >= text_end) && f->lr >= text && f->lr < text_end) {
		/* A call to a bad address: lr returns into the caller, which r11's chain would skip. */
		uf_printk("uniforge: backtrace: 0x%08x\n", f->pc - uf_boot_load_offset);
		uf_backtrace(f->lr, r[11]);
	} else {
		uf_backtrace(f->pc, r[11]);
	}
	uf_exit(UF_EXIT_CRASH);
}

#pragma clang attribute pop

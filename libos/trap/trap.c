/* CPU exceptions on x86_64: the IDT, a crash report with the registers, interrupt routing to the local APIC, and
 * the hooks of module process (signals) and module thread (the scheduler). Every exception, interrupt and
 * software trap runs on IST1 with interrupts off. (The backtrace and uf_panic are arch-neutral: backtrace.c.) */
#include <uf/boot.h>
#include <uf/console.h>
#include <uf/exit.h>
#include <uf/thread.h>
#include <uf/trap.h>
#include "fault_range.h"
#include <uf/x86_64.h>

#define VEC_PF 14
#define YIELD_VECTOR 0x81               /* uf_trap_yield's software trap */
#define MSR_APIC_BASE 0x1b
#define APIC_BASE_X2APIC (1u << 10)
#define MSR_X2APIC_EOI 0x80b
#define XAPIC_EOI 0xb0

struct tss {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
} __attribute__((packed));

struct gate {
	uint16_t offset_low, selector;
	uint8_t ist, type;
	uint16_t offset_mid;
	uint32_t offset_high, reserved;
};

extern void (*const uf_trap_stubs[32])(void);
extern char uf_trap_irq_stubs[], uf_trap_stack_top[];

static struct tss tss;
static struct gate idt[256];            /* vectors without a handler are not present: #NP reports them */
static void (*irq_handlers[256])(void);
static volatile uint32_t *xapic_eoi;    /* NULL: x2APIC, EOI through its MSR */
static int (*signal_hook)(struct uf_trap_frame *f);
static void (*resume_hook)(struct uf_trap_frame *f, int yield);
static int (*crash_hook)(uintptr_t addr);
static int (*fault_hook)(uintptr_t addr, int write);    /* with it, signal_hook is fault_first ... */
static int (*later_hook)(struct uf_trap_frame *f);      /* ... and this module process's signal hook */

static const char *const names[32] = {
	"divide error (#DE)", "debug (#DB)", "non-maskable interrupt (NMI)", "breakpoint (#BP)", "overflow (#OF)",
	"bound range exceeded (#BR)", "invalid opcode (#UD)", "device not available (#NM)", "double fault (#DF)",
	"coprocessor segment overrun", "invalid TSS (#TS)", "segment not present (#NP)", "stack-segment fault (#SS)",
	"general protection fault (#GP)", "page fault (#PF)", "reserved exception 15", "x87 floating-point error (#MF)",
	"alignment check (#AC)", "machine check (#MC)", "SIMD floating-point exception (#XM)",
	"virtualization exception (#VE)", "control protection (#CP)", [28] = "hypervisor injection (#HV)",
	"VMM communication (#VC)", "security exception (#SX)",
};

/* An interrupt gate (0x8e: present, DPL 0; IF is cleared on entry). */
static void set_gate(int vector, uintptr_t a, int ist)
{
	idt[vector] = (struct gate){ .offset_low = a, .selector = 0x08, .ist = ist, .type = 0x8e, .offset_mid = a >> 16,
				     .offset_high = a >> 32 };
}

void uf_trap_init(void)
{
	tss.ist[0] = (uintptr_t)uf_trap_stack_top;
	tss.iomap_base = sizeof tss;            /* no I/O permission bitmap */
	uf_x86_load_tss(&tss, sizeof tss);
	for (int i = 0; i < 32; i++)
		set_gate(i, (uintptr_t)uf_trap_stubs[i], 1);   /* IST1: a good stack even when %rsp hit the guard */
	struct __attribute__((packed)) { uint16_t limit; uint64_t base; } idtr = { sizeof idt - 1, (uintptr_t)idt };
	__asm__ volatile("lidt %0" : : "m"(idtr));
}

void uf_trap_set_handler(int vector, void (*fn)(void))
{
	if (vector < 32 || vector > 255)
		uf_panic("trap: vector %d is not an interrupt", vector);
	/* The APIC's mode is read once: whoever routes interrupts has set it up by now. */
	uint64_t base = uf_rdmsr(MSR_APIC_BASE);
	xapic_eoi = base & APIC_BASE_X2APIC ? NULL : (volatile uint32_t *)(uintptr_t)((base & ~0xfffULL) + XAPIC_EOI);
	irq_handlers[vector] = fn;
	/* IST1 as exceptions: the interrupted stack is left alone (an app may keep a red zone below its %rsp), and
	 * the frame is always in one place, where the resume hook can exchange it for another thread's. */
	set_gate(vector, (uintptr_t)uf_trap_irq_stubs + 8 * (vector - 32), UF_THREADED);
}

void uf_trap_set_signal_hook(int (*fn)(struct uf_trap_frame *f))
{
	*(fault_hook ? &later_hook : &signal_hook) = fn;
	/* The interrupt stubs serve: this one pushes the vector like the others and runs on IST1 like exceptions. */
	set_gate(UF_TRAP_SOFT_VECTOR, (uintptr_t)uf_trap_irq_stubs + 8 * (UF_TRAP_SOFT_VECTOR - 32), 1);
}

/* The fault hook sits in the signal hook's place (the slot every trap consults first), so an image without it has
 * no code for it there: a page fault goes to it first; what it does not take goes on to signals. */
static int fault_first(struct uf_trap_frame *f)
{
	int r = f->vector == VEC_PF ? fault_hook(uf_read_cr2(), f->err & 2) : 0;
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
	set_gate(YIELD_VECTOR, (uintptr_t)uf_trap_irq_stubs + 8 * (YIELD_VECTOR - 32), 1);
}

void uf_trap_yield(void)
{
	__asm__ volatile("int %0" :: "i"(YIELD_VECTOR) : "memory");
}

void uf_trap_set_crash_hook(int (*fn)(uintptr_t addr))
{
	crash_hook = fn;
}

static void interrupt(unsigned vector)
{
	irq_handlers[vector]();
	if (xapic_eoi)
		*xapic_eoi = 0;
	else
		uf_wrmsr(MSR_X2APIC_EOI, 0);
}

void uf_trap_handler(struct uf_trap_frame *f)
{
	static int reporting;
	if (signal_hook && signal_hook(f))
		return;
	unsigned vector = f->vector & 0xff;     /* interrupt stubs push an 8-bit vector, sign-extended */
	if (vector >= 32) {
		int yield = UF_THREADED && vector == YIELD_VECTOR;
		if (!yield)
			interrupt(vector);
		if (UF_THREADED && resume_hook && (yield || (f->rflags & UF_TRAP_FLAG_IF)))
			resume_hook(f, yield);
		return;
	}
	uint64_t cr2 = uf_read_cr2();
	if (reporting++) {      /* a fault while reporting: say where, don't recurse */
		uf_printk("uniforge: crash: exception %lu at rip=0x%016lx while reporting a crash\n", f->vector, f->rip);
		uf_exit(UF_EXIT_CRASH);
	}

	const char *what = f->vector < 32 && names[f->vector] ? names[f->vector] : "reserved exception";
	int in_guard = UF_THREADED && crash_hook && crash_hook(f->vector == VEC_PF ? cr2 : 0);
	if (f->vector == VEC_PF) {
		/* The address in the guard, or the stack pointer: a stack probe or a push faults at rsp (and a Xen HVM
		 * guest under QEMU reads CR2 = 0). */
		uintptr_t guard = (uintptr_t)uf_boot_stack_guard;
		if (in_guard || cr2 - guard < UF_BOOT_STACK_GUARD || f->rsp - guard < UF_BOOT_STACK_GUARD)
			what = "stack overflow (guard page) (#PF)";
		uf_printk("uniforge: crash: %s at rip=0x%016lx addr=0x%016lx err=0x%lx\n", what, f->rip, cr2, f->err);
	} else {
		uf_printk("uniforge: crash: %s at rip=0x%016lx err=0x%lx\n", what, f->rip, f->err);
	}
	uf_printk("uniforge: rax=0x%016lx rbx=0x%016lx rcx=0x%016lx rdx=0x%016lx\n", f->rax, f->rbx, f->rcx, f->rdx);
	uf_printk("uniforge: rsi=0x%016lx rdi=0x%016lx rbp=0x%016lx rsp=0x%016lx\n", f->rsi, f->rdi, f->rbp, f->rsp);
	uf_printk("uniforge: r8=0x%016lx r9=0x%016lx r10=0x%016lx r11=0x%016lx\n", f->r8, f->r9, f->r10, f->r11);
	uf_printk("uniforge: r12=0x%016lx r13=0x%016lx r14=0x%016lx r15=0x%016lx\n", f->r12, f->r13, f->r14, f->r15);
	uf_printk("uniforge: rip=0x%016lx rflags=0x%016lx cr2=0x%016lx cr3=0x%016lx\n", f->rip, f->rflags, cr2,
		  uf_read_cr3());
	uf_backtrace(f->rip, f->rbp);
	uf_exit(UF_EXIT_CRASH);
}

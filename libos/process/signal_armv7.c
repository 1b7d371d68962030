/* Signal frames on ARMv7, as Linux lays them out for an EABI process: 8-byte aligned below the interrupted sp or on
 * the sigaltstack, a ucontext_t (its VFP registers in uc_regspace as Linux's VFP record) preceded, for an
 * SA_SIGINFO handler, by the siginfo_t. The handler starts with r0-r2 = signal, &info, &uc (SA_SIGINFO), sp at
 * the frame and lr at sa_restorer: __restore (sigreturn, the ucontext at sp) or __restore_rt (rt_sigreturn, the
 * siginfo at sp), libos/libc/src/signal/arm/restore.s, whose svc #0 comes back here with the number in r7.
 *
 * Traps come from module trap in ABT mode on the exception stack, whose frame holds the interrupted code's VFP
 * registers (the library OS's C code uses them) and its banked sp and lr, all resumed from the frame. */
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <uf/armv7.h>
#include <uf/boot.h>
#include <uf/thread.h>

#include "signals.h"

#define PSR_T (1u << 5)
#define PSR_IT 0x0600fc00u              /* If-Then state: a handler starts outside any IT block */
#define PSR_I (1u << 7)
/* What a context's CPSR may change on sigreturn: flags, GE, IT, E, T, and I (a handler entered from a wait point
 * returns into the library OS, which runs with interrupts masked, while the app's own code runs with them on in a
 * threaded image); not the mode or the other masks. */
#define USER_BITS (0xfe0ffe20u | PSR_I)
#define SVC_0 0xef000000u               /* svc #0, condition always (ARM state) */
#define VFP_MAGIC 0x56465001u           /* Linux's record of the VFP registers in uc_regspace */
#define FPEXC_EN (1u << 30)
#define FSR_WNR (1u << 11)

/* Linux's struct vfp_sigframe (VFP_STORAGE_SIZE bytes), then a 0 word ending uc_regspace's records. */
struct vfp_record {
	uint32_t magic, size;
	uint64_t d[32];
	uint32_t fpscr, pad;
	uint32_t fpexc, fpinst, fpinst2, pad2;
	uint32_t end;
};
_Static_assert(offsetof(struct vfp_record, end) == 288, "Linux's VFP_STORAGE_SIZE");
_Static_assert(sizeof(struct vfp_record) <= sizeof(((ucontext_t *)0)->uc_regspace), "uc_regspace holds it");

void uf_arch_signal_hook(void)
{
	uf_trap_set_signal_hook(uf_signal_trap);
}

void uf_arch_signal_trap(void)
{
	/* The svc exception from SVC mode overwrites lr; every other register comes back as it was. */
	register long r7 __asm__("r7") = UF_SIGNAL_TRAP_DELIVER;
	__asm__ volatile("svc #0" : "+r"(r7) :: "lr", "memory", "cc");
}

uintptr_t uf_arch_signal_pc(const struct uf_trap_frame *f) { return f->pc; }
uintptr_t uf_arch_signal_sp(const struct uf_trap_frame *f) { return f->sp; }
uintptr_t uf_arch_signal_fp(const struct uf_trap_frame *f) { return f->r[11]; }
uintptr_t uf_arch_signal_caller(const struct uf_trap_frame *f) { return f->lr; }

/* The fault status (short descriptors, B3.13.6) as Linux's signal: SIGSEGV for a missing or forbidden page,
 * SIGBUS for alignment and external aborts, SIGTRAP for a debug event. */
static int abort_signal(uint32_t fsr, siginfo_t *info)
{
	switch ((fsr >> 6 & 0x10) | (fsr & 0xf)) {
	case 0x01:
		info->si_signo = SIGBUS, info->si_code = BUS_ADRALN;
		break;
	case 0x02:
		info->si_signo = SIGTRAP, info->si_code = TRAP_BRKPT;
		break;
	case 0x05: case 0x07:                           /* translation fault */
		info->si_signo = SIGSEGV, info->si_code = SEGV_MAPERR;
		break;
	case 0x03: case 0x06:                           /* access flag, domain and permission faults */
	case 0x09: case 0x0b: case 0x0d: case 0x0f:
		info->si_signo = SIGSEGV, info->si_code = SEGV_ACCERR;
		break;
	case 0x08: case 0x16:                           /* external aborts */
		info->si_signo = SIGBUS, info->si_code = BUS_OBJERR;
		break;
	default:
		return 0;
	}
	return 1;
}

enum uf_signal_trap_kind uf_arch_signal_kind(struct uf_trap_frame *f, siginfo_t *info)
{
	switch (f->kind) {
	case UF_TRAP_SVC:
		if ((f->cpsr & PSR_T) || *(const uint32_t *)f->pc != SVC_0)
			return UF_SIGNAL_OTHER;
		switch (f->r[7]) {
		case SYS_sigreturn: f->pc += 4; return UF_SIGNAL_RETURN;
		case SYS_rt_sigreturn: f->pc += 4; return UF_SIGNAL_RT_RETURN;
		case (uint32_t)UF_SIGNAL_TRAP_DELIVER: f->pc += 4; return UF_SIGNAL_DELIVER;
		default: return UF_SIGNAL_OTHER;
		}
	case UF_TRAP_UND:
		memset(info, 0, sizeof *info);
		info->si_signo = SIGILL, info->si_code = ILL_ILLOPC, info->si_addr = (void *)f->pc;
		return UF_SIGNAL_FAULT;
	case UF_TRAP_PABT:
		memset(info, 0, sizeof *info);
		info->si_addr = (void *)uf_read_ifar();
		return abort_signal(uf_read_ifsr(), info) ? UF_SIGNAL_FAULT : UF_SIGNAL_OTHER;
	case UF_TRAP_DABT:
		memset(info, 0, sizeof *info);
		info->si_addr = (void *)uf_read_dfar();
		return abort_signal(uf_read_dfsr(), info) ? UF_SIGNAL_FAULT : UF_SIGNAL_OTHER;
	default:
		return UF_SIGNAL_OTHER;
	}
}

static int mapped(uintptr_t from, uintptr_t to, int prot)
{
	if (to < from)
		return 0;
	for (uintptr_t page = from & ~(UF_PAGE_SIZE - 1); page < to; page += UF_PAGE_SIZE) {
		/* A demand-zero page is backed first: a page fault on the exception stack would overwrite this frame. */
		int p = uf_mmu_fill(page, prot & PROT_WRITE) < 0 ? -1 : uf_mmu_prot(page);
		if (p < 0 || !(p & prot))
			return 0;
	}
	return 1;
}

static void mcontext_from(mcontext_t *m, const struct uf_trap_frame *f)
{
	unsigned long *r = &m->arm_r0;          /* arm_r0 ... arm_r10, arm_fp, arm_ip: r0-r12 in order */
	for (int i = 0; i < 13; i++)
		r[i] = f->r[i];
	m->arm_sp = f->sp;
	m->arm_lr = f->lr;
	m->arm_pc = f->pc;
	m->arm_cpsr = f->cpsr;
}

int uf_arch_signal_enter(struct uf_trap_frame *f, const struct uf_signal_entry *e)
{
	int rt = e->action->flags & SA_SIGINFO;
	size_t size = (rt ? sizeof(siginfo_t) : 0) + sizeof(ucontext_t);
	uintptr_t sp = ((e->stack ? e->stack : f->sp) - size) & ~(uintptr_t)7;
	if (!mapped(sp, sp + size, PROT_WRITE))
		return 0;
	memset((void *)sp, 0, size);
	siginfo_t *info = rt ? (siginfo_t *)sp : 0;
	ucontext_t *uc = (ucontext_t *)(sp + (rt ? sizeof(siginfo_t) : 0));
	if (info)
		*info = *e->info;
	uc->uc_stack = e->uc_stack;
	mcontext_from(&uc->uc_mcontext, f);
	if (f->kind == UF_TRAP_DABT || f->kind == UF_TRAP_PABT) {       /* a fault: what Linux adds for it */
		uc->uc_mcontext.trap_no = f->kind == UF_TRAP_DABT ? 14 : 12;
		uc->uc_mcontext.error_code = f->kind == UF_TRAP_DABT ? uf_read_dfsr() : uf_read_ifsr();
		uc->uc_mcontext.fault_address = (uintptr_t)e->info->si_addr;
	}
	uc->uc_mcontext.oldmask = (uint32_t)e->uc_mask;
	memcpy(&uc->uc_sigmask, &e->uc_mask, sizeof e->uc_mask);
	struct vfp_record *rec = (struct vfp_record *)uc->uc_regspace;
	rec->magic = VFP_MAGIC;
	rec->size = offsetof(struct vfp_record, end);
	memcpy(rec->d, f->d, sizeof rec->d);
	rec->fpscr = f->fpscr;
	rec->fpexc = FPEXC_EN;

	uintptr_t handler = (uintptr_t)e->action->handler;
	f->r[0] = e->sig;
	f->r[1] = (uintptr_t)info;
	f->r[2] = rt ? (uintptr_t)uc : 0;
	f->pc = handler & ~(uintptr_t)1;
	f->cpsr = (f->cpsr & ~(PSR_T | PSR_IT | PSR_I)) | (handler & 1 ? PSR_T : 0) | (UF_THREADED ? 0 : PSR_I);
	f->sp = sp;
	f->lr = (uintptr_t)e->action->restorer;
	return 1;
}

void uf_arch_signal_call(struct uf_trap_frame *f, void (*fn)(int), int arg)
{
	f->sp = (f->sp - 8) & ~(uintptr_t)7;
	f->pc = (uintptr_t)fn;
	f->r[0] = (uint32_t)arg;
	f->cpsr = (f->cpsr & ~(PSR_T | PSR_IT)) | PSR_I;
}

int uf_arch_signal_return(struct uf_trap_frame *f, int rt, uf_sigset *mask, stack_t *uc_stack)
{
	const ucontext_t *uc = (const ucontext_t *)(f->sp + (rt ? sizeof(siginfo_t) : 0));
	if (!mapped((uintptr_t)uc, (uintptr_t)(uc + 1), PROT_READ))
		return 0;
	const mcontext_t *m = &uc->uc_mcontext;
	const unsigned long *r = &m->arm_r0;
	for (int i = 0; i < 13; i++)
		f->r[i] = r[i];
	f->sp = m->arm_sp;
	f->lr = m->arm_lr;
	f->pc = m->arm_pc;
	f->cpsr = (f->cpsr & ~USER_BITS) | (m->arm_cpsr & USER_BITS);
	const struct vfp_record *rec = (const struct vfp_record *)uc->uc_regspace;
	if (rec->magic == VFP_MAGIC && rec->size == offsetof(struct vfp_record, end)) {
		memcpy(f->d, rec->d, sizeof f->d);
		f->fpscr = rec->fpscr;
	}
	memcpy(mask, &uc->uc_sigmask, sizeof *mask);
	*uc_stack = uc->uc_stack;
	return 1;
}

/* Signal frames on x86_64, as Linux lays them out for a process: below the interrupted stack pointer (past the
 * 128-byte red zone) or on the sigaltstack, the handler's return address (sa_restorer), a ucontext_t with the
 * interrupted registers, the siginfo_t, and the FXSAVE image of the x87/SSE state that uc_mcontext.fpregs points
 * to. The handler starts with %rsp as after a call, rdi/rsi/rdx = signal, &info, &uc, a clean FP state and DF clear.
 * Its return runs __restore_rt (libos/libc/src/signal/x86_64/restore.s): `int $0x80` with %eax = SYS_rt_sigreturn,
 * and %rsp at the ucontext. Traps come from module trap on the exception stack (IST1). The library OS is built
 * without SSE, so the interrupted code's x87/SSE registers are still in the CPU here. */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <uf/boot.h>
#include <uf/console.h>
#include <uf/exit.h>
#include <uf/thread.h>
#include <uf/x86_64.h>

#include "signals.h"

#define RED_ZONE 128
#define FXSAVE_SIZE 512
#define MXCSR_DEFAULT 0x1f80
#define MXCSR_MASK_DEFAULT 0xffbf       /* when FXSAVE's MXCSR_MASK field is 0 */
#define FLAG_TF (1ul << 8)
#define FLAG_IF (1ul << 9)
#define FLAG_DF (1ul << 10)
#define FLAG_RF (1ul << 16)
/* What a context's rflags may change on sigreturn (Linux's FIX_EFLAGS, not IOPL...), and IF: a handler entered
 * from a wait point returns into the library OS, which runs with interrupts off, while the app's own code runs
 * with them on in a threaded image. */
#define USER_FLAGS (0x50dd5ul | FLAG_IF)
#define PF_PRESENT 1ul                  /* page-fault error code: a protection fault, not a missing page */
#define VEC_DE 0
#define VEC_DB 1
#define VEC_BP 3
#define VEC_OF 4
#define VEC_BR 5
#define VEC_UD 6
#define VEC_NP 11
#define VEC_SS 12
#define VEC_GP 13
#define VEC_PF 14
#define VEC_MF 16
#define VEC_AC 17
#define VEC_XM 19

struct rt_frame {
	void (*restorer)(void);         /* where the handler returns */
	ucontext_t uc;
	siginfo_t info;
};

/* Module trap offers interrupts too, and has no handler for the software trap's vector. */
static int hook(struct uf_trap_frame *f)
{
	if (uf_signal_trap(f))
		return 1;
	if ((f->vector & 0xff) != UF_TRAP_SOFT_VECTOR)
		return 0;
	uf_printk("uniforge: crash: int $0x80 with eax=%u at rip=0x%016lx: not a system call here\n", (uint32_t)f->rax,
		  f->rip);
	uf_backtrace(f->rip, f->rbp);
	uf_exit(UF_EXIT_CRASH);
}

void uf_arch_signal_hook(void)
{
	uf_trap_set_signal_hook(hook);
}

void uf_arch_signal_trap(void)
{
	/* Every register comes back as it was: the trap resumes the context it saved. */
	__asm__ volatile("int %0" :: "i"(UF_TRAP_SOFT_VECTOR), "a"(UF_SIGNAL_TRAP_DELIVER) : "memory", "cc");
}

uintptr_t uf_arch_signal_pc(const struct uf_trap_frame *f) { return f->rip; }
uintptr_t uf_arch_signal_sp(const struct uf_trap_frame *f) { return f->rsp; }
uintptr_t uf_arch_signal_fp(const struct uf_trap_frame *f) { return f->rbp; }

static int mapped(uintptr_t from, uintptr_t to, int prot);

uintptr_t uf_arch_signal_caller(const struct uf_trap_frame *f)
{
	return mapped(f->rsp, f->rsp + 8, PROT_READ) ? *(const uint64_t *)f->rsp : 0;
}

/* SIGFPE's si_code from the exception flags (x87 status word or MXCSR: IE DE ZE OE UE PE in bits 0-5) that the
 * control bits (7-12 in MXCSR, 0-5 in the x87 control word) do not mask. */
static int fpe_code(unsigned flags)
{
	if (flags & 0x01) return FPE_FLTINV;
	if (flags & 0x04) return FPE_FLTDIV;
	if (flags & 0x08) return FPE_FLTOVF;
	if (flags & 0x10) return FPE_FLTUND;
	if (flags & 0x20) return FPE_FLTRES;
	return 0;
}

enum uf_signal_trap_kind uf_arch_signal_kind(struct uf_trap_frame *f, siginfo_t *info)
{
	unsigned vector = f->vector & 0xff;
	uint32_t nr = (uint32_t)f->rax;         /* %eax, as both callers set it */
	if (vector == UF_TRAP_SOFT_VECTOR)
		return nr == SYS_rt_sigreturn ? UF_SIGNAL_RT_RETURN :
		       nr == (uint32_t)UF_SIGNAL_TRAP_DELIVER ? UF_SIGNAL_DELIVER : UF_SIGNAL_OTHER;
	if (vector >= 32)                       /* an interrupt (module trap offers those too) */
		return UF_SIGNAL_OTHER;
	memset(info, 0, sizeof *info);
	info->si_addr = (void *)f->rip;
	switch (vector) {
	case VEC_DE:
		info->si_signo = SIGFPE;
		info->si_code = FPE_INTDIV;     /* also INT_MIN / -1: the CPU does not tell them apart */
		break;
	case VEC_DB:
		info->si_signo = SIGTRAP;
		info->si_code = TRAP_TRACE;
		break;
	case VEC_BP:                            /* int3 (rip is past it), into, bound: as Linux, no detail */
	case VEC_OF:
	case VEC_BR:
		info->si_signo = vector == VEC_BP ? SIGTRAP : SIGSEGV;
		info->si_code = SI_KERNEL;
		info->si_addr = 0;
		break;
	case VEC_UD:
		info->si_signo = SIGILL;
		info->si_code = ILL_ILLOPN;
		break;
	case VEC_NP:
	case VEC_SS:
		info->si_signo = SIGBUS;
		info->si_code = SI_KERNEL;
		info->si_addr = 0;
		break;
	case VEC_GP:                            /* a non-canonical address, a privileged instruction...: no address */
		info->si_signo = SIGSEGV;
		info->si_code = SI_KERNEL;
		info->si_addr = 0;
		break;
	case VEC_PF:
		info->si_signo = SIGSEGV;
		info->si_code = f->err & PF_PRESENT ? SEGV_ACCERR : SEGV_MAPERR;
		info->si_addr = (void *)uf_read_cr2();
		break;
	case VEC_MF: {
		uint16_t status, control;
		__asm__ volatile("fnstsw %0; fnstcw %1" : "=m"(status), "=m"(control));
		info->si_signo = SIGFPE;
		info->si_code = fpe_code(status & ~control);
		break;
	}
	case VEC_AC:
		info->si_signo = SIGBUS;
		info->si_code = BUS_ADRALN;
		break;
	case VEC_XM: {
		uint32_t mxcsr;
		__asm__ volatile("stmxcsr %0" : "=m"(mxcsr));
		info->si_signo = SIGFPE;
		info->si_code = fpe_code(mxcsr & ~(mxcsr >> 7));
		break;
	}
	default:
		return UF_SIGNAL_OTHER;
	}
	return UF_SIGNAL_FAULT;
}

/* [from, to) is mapped with prot (PROT_WRITE for a frame to build, PROT_READ for one to read back). */
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

static void gregs_from(greg_t *g, const struct uf_trap_frame *f)
{
	g[REG_R8] = f->r8, g[REG_R9] = f->r9, g[REG_R10] = f->r10, g[REG_R11] = f->r11;
	g[REG_R12] = f->r12, g[REG_R13] = f->r13, g[REG_R14] = f->r14, g[REG_R15] = f->r15;
	g[REG_RDI] = f->rdi, g[REG_RSI] = f->rsi, g[REG_RBP] = f->rbp, g[REG_RBX] = f->rbx;
	g[REG_RDX] = f->rdx, g[REG_RAX] = f->rax, g[REG_RCX] = f->rcx, g[REG_RSP] = f->rsp;
	g[REG_RIP] = f->rip, g[REG_EFL] = f->rflags, g[REG_CSGSFS] = f->cs;
}

static void gregs_to(struct uf_trap_frame *f, const greg_t *g)
{
	f->r8 = g[REG_R8], f->r9 = g[REG_R9], f->r10 = g[REG_R10], f->r11 = g[REG_R11];
	f->r12 = g[REG_R12], f->r13 = g[REG_R13], f->r14 = g[REG_R14], f->r15 = g[REG_R15];
	f->rdi = g[REG_RDI], f->rsi = g[REG_RSI], f->rbp = g[REG_RBP], f->rbx = g[REG_RBX];
	f->rdx = g[REG_RDX], f->rax = g[REG_RAX], f->rcx = g[REG_RCX], f->rsp = g[REG_RSP];
	f->rip = g[REG_RIP];
	f->rflags = (f->rflags & ~USER_FLAGS) | (g[REG_EFL] & USER_FLAGS);
}

/* The state a handler starts with: x87 initialized, SSE exceptions masked, as after exec. */
static void fp_clean(void)
{
	uint32_t mxcsr = MXCSR_DEFAULT;
	__asm__ volatile("fninit; ldmxcsr %0" :: "m"(mxcsr));
}

int uf_arch_signal_enter(struct uf_trap_frame *f, const struct uf_signal_entry *e)
{
	uintptr_t top = e->stack ? e->stack : f->rsp - RED_ZONE;
	uintptr_t fpstate = (top - FXSAVE_SIZE) & ~(uintptr_t)63;
	uintptr_t sp = ((fpstate - sizeof(struct rt_frame)) & ~(uintptr_t)15) - 8;   /* as after a call */
	if (!mapped(sp, fpstate + FXSAVE_SIZE, PROT_WRITE))
		return 0;
	struct rt_frame *frame = (struct rt_frame *)sp;
	memset(frame, 0, sizeof *frame);
	__asm__ volatile("fxsave64 %0" : "=m"(*(char (*)[FXSAVE_SIZE])fpstate));
	frame->restorer = e->action->restorer;
	frame->info = *e->info;
	frame->uc.uc_stack = e->uc_stack;
	gregs_from(frame->uc.uc_mcontext.gregs, f);
	if ((f->vector & 0xff) < 32) {          /* a fault: what Linux adds for it */
		frame->uc.uc_mcontext.gregs[REG_TRAPNO] = f->vector & 0xff;
		frame->uc.uc_mcontext.gregs[REG_ERR] = f->err;
		frame->uc.uc_mcontext.gregs[REG_CR2] = (greg_t)e->info->si_addr;
	}
	frame->uc.uc_mcontext.fpregs = (fpregset_t)fpstate;
	memcpy(&frame->uc.uc_sigmask, &e->uc_mask, sizeof e->uc_mask);

	f->rip = (uintptr_t)e->action->handler;
	f->rsp = sp;
	f->rdi = e->sig;
	f->rsi = (uintptr_t)&frame->info;
	f->rdx = (uintptr_t)&frame->uc;
	f->rax = 0;
	f->rflags &= ~(FLAG_DF | FLAG_TF | FLAG_RF | FLAG_IF);
	f->rflags |= UF_THREADED ? FLAG_IF : 0;
	fp_clean();
	return 1;
}

void uf_arch_signal_call(struct uf_trap_frame *f, void (*fn)(int), int arg)
{
	f->rsp = ((f->rsp - RED_ZONE) & ~(uintptr_t)15) - 8;   /* as after a call */
	f->rip = (uintptr_t)fn;
	f->rdi = (unsigned)arg;
	f->rflags &= ~(FLAG_DF | FLAG_TF | FLAG_IF);
}

int uf_arch_signal_return(struct uf_trap_frame *f, int rt, uf_sigset *mask, stack_t *uc_stack)
{
	(void)rt;
	const ucontext_t *uc = (const ucontext_t *)f->rsp;    /* the handler's ret took the restorer's address */
	if (!mapped((uintptr_t)uc, (uintptr_t)(uc + 1), PROT_READ))
		return 0;
	gregs_to(f, uc->uc_mcontext.gregs);
	memcpy(mask, &uc->uc_sigmask, sizeof *mask);
	*uc_stack = uc->uc_stack;
	/* The FP state as the frame has it, through a copy whose MXCSR cannot make FXRSTOR fault. */
	uintptr_t saved = (uintptr_t)uc->uc_mcontext.fpregs;
	if (!saved || !mapped(saved, saved + FXSAVE_SIZE, PROT_READ)) {
		fp_clean();
		return 1;
	}
	char image[FXSAVE_SIZE] __attribute__((aligned(16)));
	memcpy(image, (const void *)saved, FXSAVE_SIZE);
	uint32_t mxcsr, mxcsr_mask;
	memcpy(&mxcsr, image + 24, 4);
	memcpy(&mxcsr_mask, image + 28, 4);
	mxcsr &= mxcsr_mask ? mxcsr_mask : MXCSR_MASK_DEFAULT;
	memcpy(image + 24, &mxcsr, 4);
	__asm__ volatile("fxrstor64 %0" :: "m"(*(const char (*)[FXSAVE_SIZE])image));
	return 1;
}

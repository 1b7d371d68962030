/* x86_64 parts of module thread: a new thread's frame, the x87/SSE state (FXSAVE: CR4 enables x87/SSE and no
 * XSAVE component, so FXSAVE is the whole state) and the thread pointer (FS base) saved and loaded at a switch,
 * and the idle halt. */
#include "threads.h"

#include <string.h>
#include <uf/boot.h>
#include <uf/x86_64.h>


#define FLAGS_RESERVED 0x2ul            /* rflags bit 1 reads as 1 */
#define FCW_DEFAULT 0x037f              /* x87 control word after fninit */
#define MXCSR_DEFAULT 0x1f80            /* every SSE exception masked, round to nearest */

/* Where a new thread's function returns to: its value (%eax) is the thread's status. */
void uf_thread_return_stub(void);
__asm__(".pushsection .text.uf_thread_return_stub, \"ax\", @progbits\n"
	".globl uf_thread_return_stub\n"
	"uf_thread_return_stub:\n"
	"	mov %eax, %edi\n"
	"	call uf_thread_returned\n"
	".popsection");

void uf_arch_thread_new(struct uf_thread *t, int (*fn)(void *), void *arg, uintptr_t stack, uintptr_t tls)
{
	uint64_t cs, ss;
	__asm__("mov %%cs, %0; mov %%ss, %1" : "=r"(cs), "=r"(ss));
	uintptr_t sp = (stack & ~(uintptr_t)15) - 8;    /* as after a call */
	*(uintptr_t *)sp = (uintptr_t)uf_thread_return_stub;
	t->frame = (struct uf_trap_frame){ .rip = (uintptr_t)fn, .rdi = (uintptr_t)arg, .rsp = sp, .cs = cs, .ss = ss,
					   .rflags = UF_TRAP_FLAG_IF | FLAGS_RESERVED };
	memset(t->fxsave, 0, sizeof t->fxsave);
	uint16_t fcw = FCW_DEFAULT;
	uint32_t mxcsr = MXCSR_DEFAULT;
	memcpy(t->fxsave, &fcw, sizeof fcw);
	memcpy(t->fxsave + 24, &mxcsr, sizeof mxcsr);
	t->tls = tls ? tls : uf_rdmsr(UF_MSR_FS_BASE);
}

void uf_arch_thread_save(struct uf_thread *t)
{
	__asm__ volatile("fxsave64 %0" : "=m"(t->fxsave));
	t->tls = uf_rdmsr(UF_MSR_FS_BASE);
}

void uf_arch_thread_load(struct uf_thread *t)
{
	__asm__ volatile("fxrstor64 %0" :: "m"(t->fxsave));
	uf_wrmsr(UF_MSR_FS_BASE, t->tls);
}

void uf_arch_thread_halt(void)
{
	__asm__ volatile("hlt" ::: "memory");
}

int uf_arch_frame_interruptible(const struct uf_trap_frame *f)
{
	return !!(f->rflags & UF_TRAP_FLAG_IF);
}

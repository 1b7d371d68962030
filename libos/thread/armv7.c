/* ARMv7 parts of module thread: a new thread's frame (the VFP registers are in the frame: module trap's entry
 * saves them), the thread pointer (TPIDRURO) saved and loaded at a switch, and the idle halt. */
#include "threads.h"

#include <string.h>
#include <uf/boot.h>


#define MODE_MASK 0x1f
#define MODE_SVC 0x13
#define PSR_T (1u << 5)
#define PSR_IT 0x0600fc00u

static uint32_t thread_pointer(void)
{
	uint32_t tp;
	__asm__ volatile("mrc p15, 0, %0, c13, c0, 3" : "=r"(tp));
	return tp;
}

void uf_arch_thread_new(struct uf_thread *t, int (*fn)(void *), void *arg, uintptr_t stack, uintptr_t tls)
{
	uint32_t cpsr, fpscr;
	__asm__ volatile("mrs %0, cpsr; vmrs %1, fpscr" : "=r"(cpsr), "=r"(fpscr));
	memset(&t->frame, 0, sizeof t->frame);
	t->frame.fpscr = fpscr;                 /* Linux: a new thread has its creator's FP settings */
	t->frame.pc = (uintptr_t)fn & ~(uintptr_t)1;
	t->frame.cpsr = ((cpsr & ~(MODE_MASK | PSR_T | PSR_IT | UF_TRAP_FLAG_I)) | MODE_SVC) |
			((uintptr_t)fn & 1 ? PSR_T : 0);
	t->frame.r[0] = (uintptr_t)arg;
	t->frame.sp = stack & ~(uintptr_t)7;
	t->frame.lr = (uintptr_t)uf_thread_returned;    /* its return value is in r0 */
	t->tls = tls ? tls : thread_pointer();
}

void uf_arch_thread_save(struct uf_thread *t)
{
	t->tls = thread_pointer();
}

void uf_arch_thread_load(struct uf_thread *t)
{
	__asm__ volatile("mcr p15, 0, %0, c13, c0, 3" :: "r"(t->tls));
}

void uf_arch_thread_halt(void)
{
	__asm__ volatile("wfi" ::: "memory");
}

int uf_arch_frame_interruptible(const struct uf_trap_frame *f)
{
	return !(f->cpsr & UF_TRAP_FLAG_I);
}

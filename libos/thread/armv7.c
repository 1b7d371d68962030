/* ARMv7 parts of module thread: a new thread's frame (the VFP registers are in the frame: module trap's entry
 * saves them), the thread pointer (TPIDRURO) saved and loaded at a switch, the idle halt, and futex(2) in its two
 * forms: the old one with a 32-bit timespec, and futex_time64, which musl calls when the seconds need more. */
#include "threads.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
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

static long futex(volatile int *addr, int op, int val, const void *ts, int wide, volatile int *addr2, int val3)
{
	struct futex_timeout to = { .val2 = (long)(uintptr_t)ts };
	int cmd = op & FUTEX_CMD_MASK;
	if ((cmd == FUTEX_WAIT || cmd == FUTEX_WAIT_BITSET) && ts) {
		int prot = uf_mmu_prot((uintptr_t)ts);
		if (prot <= 0 || !(prot & PROT_READ))
			return -EFAULT;
		to.given = 1;
		if (wide) {
			const long long *w = ts;
			to.sec = w[0], to.nsec = w[1];
		} else {
			const long *n = ts;
			to.sec = n[0], to.nsec = n[1];
		}
	}
	return uf_thread_futex(addr, op, val, &to, addr2, val3);
}

long uf_thread_sys_futex(volatile int *addr, int op, int val, const void *ts, volatile int *addr2, int val3)
{
	return futex(addr, op, val, ts, 0, addr2, val3);
}

long uf_thread_sys_futex_time64(volatile int *addr, int op, int val, const void *ts, volatile int *addr2,
				 int val3)
{
	return futex(addr, op, val, ts, 1, addr2, val3);
}

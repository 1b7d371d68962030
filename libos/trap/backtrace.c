/* Frame-pointer backtraces and uf_panic, the same on every arch: clang's frame record (everything is built with
 * -fno-omit-frame-pointer) is two words at the frame pointer, [0] = the caller's frame pointer, [1] = the return
 * address (x86_64: push %rbp; mov %rsp, %rbp. ARM: push {r11, lr}; mov r11, sp). */
#include <stdarg.h>
#include <sys/mman.h>
#include <uf/boot.h>
#include <uf/console.h>
#include <uf/exit.h>
#include <uf/trap.h>
#include "fault_range.h"

#define MAX_FRAMES 32
#if __SIZEOF_POINTER__ == 8
#define ADDR "0x%016lx"
#else
#define ADDR "0x%08lx"
#endif

static int page_readable(uintptr_t a)
{
	int prot = uf_mmu_prot(a);
	return prot > 0 && (prot & PROT_READ);
}

/* A frame record can be read if it lies in RAM and is mapped readable (no fault while reporting). */
static int readable(uintptr_t a)
{
	const size_t n = 2 * sizeof(uintptr_t);
	int in_ram = 0;
	for (size_t i = 0; i < uf_boot_info.nram; i++) {
		const struct uf_ram_region *r = &uf_boot_info.ram[i];
		in_ram |= a >= r->base && a + n <= r->base + r->length;
	}
	return in_ram && page_readable(a) && page_readable(a + n - 1);
}

static int in_text(uintptr_t a)
{
	return a >= (uintptr_t)__uf_text_start && a < (uintptr_t)__uf_text_end;
}

/* The frame chain from fp, frame records where ok says they can be read. */
static inline __attribute__((always_inline)) int walk(uintptr_t fp, int (*fn)(uintptr_t ret, void *arg), void *arg,
						     int (*ok)(uintptr_t a))
{
	for (int i = 0; i < MAX_FRAMES && fp && !(fp & (sizeof(uintptr_t) - 1)) && ok(fp); i++) {
		const uintptr_t *frame = (const uintptr_t *)fp;
		if (!in_text(frame[1]))     /* the end of the chain (0), or not a frame record after all */
			break;
		int r = fn(frame[1], arg);
		if (r)
			return r;
		if (frame[0] <= fp)     /* the stack grows down: callers' frames are higher; this also stops loops */
			break;
		fp = frame[0];
	}
	return 0;
}

uintptr_t uf_trap_fault_from, uf_trap_fault_to;

/* Threads' stacks may lie in the fault hook's range (module demand): the walks of module process (signals,
 * cancellation) follow frames there. The crash report's walk stays in RAM, as in an image without the hook. */
static int walkable(uintptr_t a)
{
	const size_t n = 2 * sizeof(uintptr_t);
	if (a - uf_trap_fault_from < uf_trap_fault_to - uf_trap_fault_from && a + n <= uf_trap_fault_to)
		return page_readable(a) && page_readable(a + n - 1);
	return readable(a);
}

int uf_trap_walk(uintptr_t fp, int (*fn)(uintptr_t ret, void *arg), void *arg)
{
	return walk(fp, fn, arg, walkable);
}

static int print_frame(uintptr_t ret, void *arg)
{
	(void)arg;
	uf_printk("uniforge: backtrace: " ADDR "\n", (unsigned long)(ret - uf_boot_load_offset));
	return 0;
}

/* Weak: module demand's walks its stacks too (uf_trap_walk), at no cost to an image without it. */
__attribute__((weak)) void uf_backtrace(uintptr_t pc, uintptr_t fp)
{
	uf_printk("uniforge: backtrace: " ADDR "\n", (unsigned long)(pc - uf_boot_load_offset));
	walk(fp, print_frame, 0, readable);
}

_Noreturn void uf_panic(const char *fmt, ...)
{
	static int panicking;
	va_list ap;
	if (panicking++)        /* panicking while printing a panic: stop here */
		uf_exit(UF_EXIT_CRASH);
	uf_printk("uniforge: panic: ");
	va_start(ap, fmt);
	uf_vprintk(fmt, ap);
	va_end(ap);
	uf_printk("\n");
	/* Our own frame record: the caller's frame pointer and the return address into the caller. */
	const uintptr_t *frame = __builtin_frame_address(0);
	uf_backtrace(frame[1], frame[0]);
	uf_exit(UF_EXIT_CRASH);
}

/* x86_64 (PVH) hypercalls: Xen writes one 32-byte stub per hypercall into a page we name through the MSR its
 * CPUID leaves give (base + 2: EBX); each stub issues the instruction this CPU's Xen expects (vmcall/vmmcall).
 * Arguments in rdi, rsi, rdx, r10, r8 (the 64-bit hypercall ABI); the result in rax. */
#include <errno.h>
#include <sys/mman.h>
#include <uf/boot.h>
#include <uf/x86_64.h>
#include <uf/xen.h>

#define CPUID_HYPERVISOR (1u << 31)     /* CPUID.1:ECX */

/* In .bss (no file bytes): the final page tables map it non-executable until uf_xen_init makes it read+execute.
 * Before them the early map executes anything, so an early panic can use it too. */
static uint8_t hypercall_page[UF_PAGE_SIZE] __attribute__((aligned(UF_PAGE_SIZE)));
static int state;                       /* 0 unknown, 1 ready, -1 not on Xen */

/* The CPUID base of Xen's leaves (0x40000000, or 0x40000100 when Viridian leaves come first), or 0. */
static uint32_t xen_base(void)
{
	uint32_t r[4];
	uf_cpuid(1, 0, r);
	if (!(r[2] & CPUID_HYPERVISOR))
		return 0;
	for (uint32_t base = 0x40000000; base < 0x40010000; base += 0x100) {
		uf_cpuid(base, 0, r);
		/* "XenVMMXenVMM" in EBX, ECX, EDX */
		if (r[1] == 0x566e6558 && r[2] == 0x65584d4d && r[3] == 0x4d4d566e && r[0] >= base + 2)
			return base;
	}
	return 0;
}

static int setup(void)
{
	uint32_t r[4], base = xen_base();
	if (!base)
		return -1;
	uf_cpuid(base + 2, 0, r);       /* EAX: number of hypercall pages, EBX: the MSR that installs them */
	if (r[0] < 1)
		return -1;
	uf_wrmsr(r[1], (uint64_t)(uintptr_t)hypercall_page);
	return 1;
}

int uf_xen_present(void)
{
	if (!state)
		state = setup();
	return state > 0;
}

void uf_xen_init(void)
{
	if (uf_xen_present())
		uf_mmu_protect((uintptr_t)hypercall_page, UF_PAGE_SIZE, PROT_READ | PROT_EXEC);
}

long uf_xen_hypercall(unsigned op, unsigned long a1, unsigned long a2, unsigned long a3, unsigned long a4,
		      unsigned long a5)
{
	if (!uf_xen_present())
		return -ENOSYS;
	register unsigned long r10 __asm__("r10") = a4;
	register unsigned long r8 __asm__("r8") = a5;
	long ret;
	/* The stub clobbers nothing else; a debug Xen may overwrite the argument registers. */
	__asm__ volatile("call *%[stub]"
			 : "=a"(ret), "+D"(a1), "+S"(a2), "+d"(a3), "+r"(r10), "+r"(r8)
			 : [stub] "r"(hypercall_page + op * 32)
			 : "memory");
	return ret;
}

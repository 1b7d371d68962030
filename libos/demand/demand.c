/* Demand-zero anonymous memory: module mem's large anonymous mappings, backed page by page by the page-fault handler
 * (the page tables' demand-zero pages, uf/boot.h). Linux does this for all anonymous memory; here the small ones keep
 * the identity map (no fault per page) and only what would tie up RAM that is never touched waits: thread stacks
 * (Redis asks for 4 MiB each), big buffers. */
#include <errno.h>
#include <uf/boot.h>
#include <uf/console.h>
#include <uf/demand.h>
#include <uf/mem.h>
#include <uf/trap.h>

/* A page fault: a demand-zero page made (1), or not one (0: the app's fault). With no RAM left, the crash line says so
 * (the runner takes the first as the reason); module trap's report follows, registers and backtrace. */
static int fault(uintptr_t addr, int write)
{
	int made = uf_mmu_fill(addr, write);
	if (made < 0)
		uf_printk("uniforge: crash: out of memory for a demand-zero page (%s at %p)\n", write ? "write" : "read",
			  (void *)addr);
	return made;
}

void uf_demand_init(void)
{
	uintptr_t base, end;
	uf_mmu_demand_range(&base, &end);
	uf_trap_set_fault_hook(fault, base, end);
}

static int ours(uintptr_t a)
{
	uintptr_t base, end;
	uf_mmu_demand_range(&base, &end);
	return a >= base && a < end;
}

uintptr_t uf_demand_mmap(size_t len, int prot)
{
	uintptr_t base, end;
	uf_mmu_demand_range(&base, &end);
	uintptr_t a = base < end ? uf_mem_gap(base, end, len) : 0;
	if (a && (uf_mmu_demand(a, len, prot) || uf_mem_track(a, a + len))) {
		uf_mmu_release(a, len, uf_page_free);
		return 0;
	}
	return a;
}

int uf_demand_munmap(uintptr_t a, uintptr_t end)
{
	if (!ours(a))
		return 1;
	if (uf_mem_untrack(a, end))
		return -ENOMEM;
	uf_mmu_release(a, end - a, uf_page_free);
	return 0;
}

int uf_demand_mprotect(uintptr_t a, uintptr_t end, int prot)
{
	return ours(a) && !uf_mmu_demand(a, end - a, prot);
}

/* Demand-zero anonymous memory: large anonymous mappings, backed page by page by the page-fault handler (the page
 * tables' demand-zero pages, uf/boot.h). Linux does this for all anonymous memory; here the small ones keep the
 * identity map (no fault per page) and only what would tie up RAM that is never touched waits: thread stacks (Redis
 * asks for 4 MiB each), big buffers, and PROT_NONE reservations. This module defines brk, mmap, munmap, mprotect and
 * madvise (module mem's are weak aliases of uf_mem_brk and co.): it keeps its own range (where MADV_DONTNEED gives
 * the RAM back) and hands everything else to mem. */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <uf/boot.h>
#include <uf/console.h>
#include <uf/demand.h>
#include <uf/process.h>
#include <uf/mem.h>
#include <uf/trap.h>

#define PAGE UF_PAGE_SIZE

static uintptr_t base, end;     /* the demand range, uf_mmu_demand_range's (empty: mem backs every mapping) */
static size_t main_stack = UF_BOOT_STACK_SIZE;  /* main's: ours, or the boot stack if there was no room */

/* Module vfs: file mappings (weak: an image that opens no files has none). vfs maps a file into anonymous memory,
 * which may be ours: munmap here must let it write a shared mapping back and free its slot, as mem's does. */
void uf_vfs_unmap(uintptr_t a, uintptr_t end) __attribute__((weak));
int uf_vfs_shared(uintptr_t a, uintptr_t end) __attribute__((weak));

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
	uf_mmu_demand_range(&base, &end);
	uf_trap_set_fault_hook(fault, base, end);
}

/* [a, a + len) page-aligned and all in the demand range: the calls below are ours; anything else is mem's. */
static int ours(void *addr, size_t len)
{
	uintptr_t a = (uintptr_t)addr;
	return !(a & (PAGE - 1)) && len && a >= base && a < end && len <= end - a;
}

static size_t page_up(size_t len)
{
	return (len + PAGE - 1) & ~(size_t)(PAGE - 1);
}

/* [a, a + len) as fresh demand-zero pages with prot, recorded as an mmap range: 0 or -ENOMEM. */
static long map(uintptr_t a, size_t len, int prot)
{
	if ((prot != PROT_NONE && uf_mmu_demand(a, len, prot)) || uf_mem_track(a, a + len)) {
		uf_mmu_release(a, len, uf_page_free);
		return -ENOMEM;
	}
	return 0;
}

/* The pages kept back from the app's writable mappings: a thirty-second of the RAM, for the library OS's own
 * allocations (uf_demand_populate) and page tables. */
static size_t reserve_pages(void)
{
	static size_t pages;
	if (!pages) {
		uint64_t ram = 0;
		for (size_t i = 0; i < uf_boot_info.nram; i++)
			ram += uf_boot_info.ram[i].length;
		pages = ram / 32 / PAGE;
	}
	return pages;
}

/* Whether a mapping the app asks for may have its pages on first touch: not when it is writable and larger than the
 * free RAM less the reserve (as Linux's heuristic overcommit refuses what it cannot hope to back): malloc, whose heap
 * is such mappings, then returns NULL when the memory is gone, and the one operation fails, where a later touch would
 * end the guest. A touch can still find no page when many mappings were granted and are touched later, as on Linux
 * (whose OOM killer then ends the process): the crash report says so. MAP_NORESERVE mappings and memory opened later
 * by mprotect (how the libc makes thread stacks) are not refused. */
static int overcommits(size_t len, int prot, int flags)
{
	size_t free = uf_page_free_count();
	return (prot & PROT_WRITE) && !(flags & MAP_NORESERVE) && len / PAGE + reserve_pages() > free;
}

/* The demand range is the app's address space. A PROT_NONE anonymous mapping of any size only reserves some of it
 * (thread stacks before their guard is cut, malloc's metadata, JIT and runtime arenas): it is ours, without
 * page-table entries (uf_mmu_demand), and never backed by RAM. Smaller mappings are backed at once by mem, but only
 * while the range has room for them: when it is full every anonymous mmap fails with ENOMEM, as on Linux when the
 * address space is (libc-test's malloc-brk-fail fills it, then expects malloc to fail). */
long uf_sys_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	int fixed = flags & (MAP_FIXED | MAP_FIXED_NOREPLACE);
	if (!(flags & MAP_ANONYMOUS) || (off & (PAGE - 1)) || (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC)) ||
	    !len || len > SIZE_MAX - PAGE || (fixed && !ours(addr, len)) || base == end)
		return uf_mem_mmap(addr, len, prot, flags, fd, off);
	size_t size = page_up(len);
	uintptr_t a = (uintptr_t)addr;
	if (fixed) {
		/* Replacing our own memory (only that: mem says no to the rest of the range): fresh zero pages. */
		if (!uf_mem_owned(a, a + size))
			return -EINVAL;
		if (flags & MAP_FIXED_NOREPLACE)
			return -EEXIST;
		long rc = uf_sys_munmap(addr, size);
		return rc ? rc : map(a, size, prot) ? -ENOMEM : (long)a;
	}
	if (!(a = uf_mem_gap(base, end, size)))
		return -ENOMEM;
	if (prot != PROT_NONE && size < UF_DEMAND_MIN_PAGES * PAGE)
		return uf_mem_mmap(addr, len, prot, flags, fd, off);
	if (overcommits(size, prot, flags))
		return -ENOMEM;
	if (map(a, size, prot))         /* no RAM for page tables: a reservation fails, the rest is backed at once */
		return prot == PROT_NONE ? -ENOMEM : uf_mem_mmap(addr, len, prot, flags, fd, off);
	return (long)a;
}

/* The main thread's stack: Linux's default 8 MiB (RLIMIT_STACK), demand-zero, above 1 MiB of PROT_NONE pages. The
 * boot stack (UF_BOOT_STACK_SIZE) is far smaller: a frame larger than it (Redis's LZF compressor keeps a 256 KiB
 * table on the stack) would be a stack-overflow crash there. Without room here the app stays on the boot stack.
 * Overrides module process's weak alias. */
_Noreturn void uf_app_main(void)
{
	uintptr_t a = base < end ? uf_mem_gap(base, end, UF_DEMAND_MAIN_GUARD + UF_DEMAND_MAIN_STACK) : 0;
	if (a && !map(a, UF_DEMAND_MAIN_GUARD + UF_DEMAND_MAIN_STACK, PROT_READ | PROT_WRITE) &&
	    !uf_mmu_demand(a, UF_DEMAND_MAIN_GUARD, PROT_NONE)) {
		uintptr_t top = a + UF_DEMAND_MAIN_GUARD + UF_DEMAND_MAIN_STACK;
		main_stack = UF_DEMAND_MAIN_STACK;
		/* The frame pointer cleared last (it may hold an operand): backtraces end at uf_process_main. */
#if defined(__x86_64__)
		__asm__ volatile("mov %0, %%rsp\n\tmov %1, %%rax\n\txor %%ebp, %%ebp\n\tcall *%%rax\n\tud2"
				 : : "r"(top), "r"(uf_process_main) : "rax", "memory");
#elif defined(__arm__)
		__asm__ volatile("mov sp, %0\n\tmov r2, %1\n\tmov fp, #0\n\tblx r2\n\tudf #0"
				 : : "r"(top), "r"(uf_process_main) : "r2", "memory");
#else
#error "uf_app_main: no stack switch for this architecture"
#endif
	}
	uf_process_main();
}

size_t uf_demand_main_stack(void)
{
	return main_stack;
}

#if __SIZEOF_POINTER__ == 8
#define ADDR "0x%016lx"
#else
#define ADDR "0x%08lx"
#endif

static int print_frame(uintptr_t ret, void *arg)
{
	(void)arg;
	uf_printk("uniforge: backtrace: " ADDR "\n", (unsigned long)(ret - uf_boot_load_offset));
	return 0;
}

/* Module trap's uf_backtrace (weak) walks frames in RAM only; main's and threads' stacks are ours (pages not yet
 * backed are not read: uf_trap_walk checks). */
void uf_backtrace(uintptr_t pc, uintptr_t fp)
{
	print_frame(pc, 0);
	uf_trap_walk(fp, print_frame, 0);
}

long uf_demand_dma(const void *buf, size_t len, int device_writes, uintptr_t *pa)
{
	uintptr_t a = (uintptr_t)buf;
	if (len > LONG_MAX)
		len = LONG_MAX;
	if (base == end || a < base || a >= end) {      /* RAM, identity mapped: up to the demand range */
		*pa = a;
		return (long)(a < base && len > base - a ? base - a : len);
	}
	int rc = uf_mmu_backing(a, device_writes, pa);
	if (rc)
		return rc;
	/* The page, and the next ones as long as their pages follow in physical memory (the allocator often hands
	 * out consecutive pages): fewer descriptors. */
	size_t run = PAGE - (a & (PAGE - 1));
	uintptr_t next;
	while (run < len && run < end - a && !uf_mmu_backing(a + run, device_writes, &next) && next == *pa + run)
		run += PAGE;
	return (long)(run < len ? run : len);
}

int uf_demand_populate(void *buf, size_t len)
{
	uintptr_t a = (uintptr_t)buf & ~(uintptr_t)(PAGE - 1), to = (uintptr_t)buf + len, pa;
	for (; a < to && a >= base && a < end; a += PAGE)
		if (uf_mmu_backing(a, 1, &pa))
			return -ENOMEM;
	return 0;
}

/* brk within RLIMIT_DATA, as on Linux: a program that lowers it (libc-test's malloc-brk-fail, to 0) has malloc take
 * its memory from mmap. Here, not in mem: hello, which has mem but maps nothing, keeps its bytes. Every brk call comes
 * here, so the first one's answer is where the heap starts. */
long uf_sys_brk(unsigned long addr)
{
	static uintptr_t start;
	if (!start)
		start = (uintptr_t)uf_mem_brk(0);
	if (addr > start && addr - start > uf_process_limit(RLIMIT_DATA))
		return uf_mem_brk(0);   /* the current break: a failure */
	return uf_mem_brk(addr);
}

long uf_sys_munmap(void *addr, size_t len)
{
	if (!ours(addr, len))
		return uf_mem_munmap(addr, len);
	uintptr_t a = (uintptr_t)addr, to = a + page_up(len);
	if (!uf_mem_owned(a, to))
		return -EINVAL;
	if (uf_mem_untrack(a, to))
		return -ENOMEM;
	if (uf_vfs_unmap)
		uf_vfs_unmap(a, to);    /* while the pages are still there: a shared mapping is written back from them */
	uf_mmu_release(a, to - a, uf_page_free);
	return 0;
}

long uf_sys_mprotect(void *addr, size_t len, int prot)
{
	if (!ours(addr, len))
		return uf_mem_mprotect(addr, len, prot);
	uintptr_t a = (uintptr_t)addr, to = a + page_up(len);
	if (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC))
		return -EINVAL;
	if (!uf_mem_owned(a, to))
		return -ENOMEM;
	return uf_mmu_demand(a, to - a, prot);
}

/* The prot of our page at a; one without an entry faults as PROT_NONE does. */
static int prot_of(uintptr_t a)
{
	int prot = uf_mmu_demand_prot(a);
	return prot < 0 ? PROT_NONE : prot;
}

/* MADV_DONTNEED gives RAM back, as Linux's does (allocators return memory this way): each run of pages with one prot
 * becomes fresh demand-zero pages with that prot again, as MAP_FIXED over our memory makes them, their pages back to
 * the allocator, so the next touch gets a zeroed page, a read-only page stays read-only and a PROT_NONE one
 * inaccessible. A shared file mapping keeps its bytes, which are its file's (mem's rule, uf_vfs_shared). Other
 * advice, and ranges not all ours, are mem's. */
long uf_sys_madvise(void *addr, size_t len, int advice)
{
	if (advice != MADV_DONTNEED || !ours(addr, len))
		return uf_mem_madvise(addr, len, advice);
	uintptr_t a = (uintptr_t)addr, to = a + page_up(len);
	if (!uf_mem_owned(a, to))
		return -ENOMEM;
	int files = uf_vfs_shared && uf_vfs_shared(a, to);
	while (a < to) {
		int prot = prot_of(a);
		uintptr_t run = a + PAGE;
		if (!(files && uf_vfs_shared(a, run))) {
			while (run < to && prot_of(run) == prot && !(files && uf_vfs_shared(run, run + PAGE)))
				run += PAGE;
			uf_mmu_release(a, run - a, uf_page_free);      /* its TLB flush drops the old translations */
			if (prot != PROT_NONE)
				uf_mmu_demand(a, run - a, prot);       /* the tables that held pages stay: no -ENOMEM */
		}
		a = run;
	}
	return 0;
}

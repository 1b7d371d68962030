/* The physical page allocator: a list of free extents sorted by address, each described by a header in its
 * own first page (so the list needs no memory of its own). Allocation and free cost O(number of extents),
 * never O(pages) beyond zeroing. Allocations are carved from the top of the highest fitting extent, so the
 * low end of the largest extent stays free for brk to grow into. */
#include <stdint.h>
#include <string.h>
#include <uf/boot.h>
#include <uf/mem.h>
#include <uf/trap.h>

#define PAGE UF_PAGE_SIZE
#define LOW_MEMORY (1UL << 20)          /* BIOS data, the loader's start_info and command line: never handed out */

struct extent {
	struct extent *next;
	size_t npages;
};

static struct extent *free_list;

static uintptr_t end_of(const struct extent *e)
{
	return (uintptr_t)e + e->npages * PAGE;
}

/* Adds [base, base + npages pages) to the list, merging with its neighbours. */
static void release(uintptr_t base, size_t npages)
{
	struct extent **pp = &free_list, *prev = NULL;
	uintptr_t end = base + npages * PAGE;
	for (; *pp && (uintptr_t)*pp < base; pp = &(*pp)->next)
		prev = *pp;
	struct extent *next = *pp;
	if ((prev && end_of(prev) > base) || (next && (uintptr_t)next < end))
		uf_panic("mem: freeing %p (%zu pages): already free", (void *)base, npages);
	if (next && (uintptr_t)next == end) {
		npages += next->npages;
		next = next->next;
	}
	if (prev && end_of(prev) == base) {
		prev->npages += npages;
		prev->next = next;
		return;
	}
	struct extent *e = (struct extent *)base;
	e->npages = npages;
	e->next = next;
	*pp = e;
}

void *uf_page_alloc(size_t npages)
{
	struct extent **best = NULL;
	if (!npages || npages > SIZE_MAX / PAGE)
		return NULL;
	for (struct extent **pp = &free_list; *pp; pp = &(*pp)->next)
		if ((*pp)->npages >= npages)
			best = pp;
	if (!best)
		return NULL;
	struct extent *e = *best;
	e->npages -= npages;
	void *p = (void *)end_of(e);
	if (!e->npages)
		*best = e->next;
	return memset(p, 0, npages * PAGE);
}

void uf_page_free(void *p, size_t npages)
{
	if (((uintptr_t)p & (PAGE - 1)) || (uintptr_t)p < LOW_MEMORY)
		uf_panic("mem: freeing bad address %p", p);
	if (npages)
		release((uintptr_t)p, npages);
}

int uf_page_claim(void *p, size_t npages)
{
	uintptr_t base = (uintptr_t)p, end = base + npages * PAGE;
	if ((base & (PAGE - 1)) || !npages || npages > SIZE_MAX / PAGE || end < base)
		return -1;
	for (struct extent **pp = &free_list; *pp && (uintptr_t)*pp <= base; pp = &(*pp)->next) {
		struct extent *e = *pp;
		uintptr_t e_end = end_of(e);
		if (e_end < end)
			continue;
		/* [base, end) lies inside e: the part after it gets its own header, the part before keeps e. */
		if (e_end > end) {
			struct extent *tail = (struct extent *)end;
			tail->npages = (e_end - end) / PAGE;
			tail->next = e->next;
			e->next = tail;
		}
		if (base > (uintptr_t)e)
			e->npages = (base - (uintptr_t)e) / PAGE;
		else
			*pp = e->next;
		memset(p, 0, npages * PAGE);
		return 0;
	}
	return -1;
}

void *uf_page_largest_free(void)
{
	struct extent *best = NULL;
	for (struct extent *e = free_list; e; e = e->next)
		if (!best || e->npages > best->npages)
			best = e;
	return best;
}

size_t uf_page_free_count(void)
{
	size_t n = 0;
	for (struct extent *e = free_list; e; e = e->next)
		n += e->npages;
	return n;
}

static void add_free(uintptr_t base, uintptr_t end)
{
	if (end > base)
		release(base, (end - base) / PAGE);
}

/* Run once per boot: small code is fast code under an emulator that translates each instruction first. */
__attribute__((minsize)) void uf_mem_init(void)
{
	uintptr_t image = (uintptr_t)__uf_image_start & ~(PAGE - 1);
	uintptr_t reserved = uf_mmu_handoff(uf_page_alloc);        /* image end + boot's page tables */
	for (size_t i = 0; i < uf_boot_info.nram; i++) {
		const struct uf_ram_region *r = &uf_boot_info.ram[i];
		uint64_t top = r->base + r->length;
		uintptr_t base = (r->base + PAGE - 1) & ~(PAGE - 1);
		uintptr_t end = (top > UINTPTR_MAX ? UINTPTR_MAX : top) & ~(PAGE - 1);
		if (base < LOW_MEMORY)
			base = LOW_MEMORY;
		add_free(base, end < image ? end : image);
		add_free(base > reserved ? base : reserved, end);
	}
}

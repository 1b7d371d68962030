/* The page tables on ARMv7: short-descriptor format (ARM ARM B3.5), one level-1 table for all 4 GiB (TTBCR.N =
 * 0), identity mapped, domain 0 as client (the descriptors' permissions apply). RAM is Normal write-back memory,
 * read-write and execute-never, in 1 MiB sections; the MMIO space below RAM is Device memory, execute-never; the
 * first MiB stays unmapped (NULL dereferences fault). Sections the image lies in are split into 4 KiB pages: text
 * R+X, rodata R, data and bss RW, the stack guard not present.
 *
 * Level-2 tables (1 KiB, four to a page) and the level-1 table come from the RAM after the image before the page
 * allocator exists, from the allocator after uf_mmu_handoff() (see mmu.c on x86_64 for why a callback).
 *
 * PROT_NONE keeps a page mapped for uf_mmu_prot(): its descriptor keeps the address and attributes with the type
 * bits cleared, which the MMU treats as a fault; 0 means never mapped. A demand-zero page (uf_mmu_demand), above RAM,
 * is a faulting descriptor too, with P_DEMAND and its prot, until uf_mmu_fill backs it. */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <uf/armv7.h>
#include <uf/boot.h>
#include <uf/trap.h>
#include "boot_armv7.h"

/* Run once (or on a crash): under an emulator that translates each instruction before its first run, small code is
 * fast code. */
#pragma clang attribute push(__attribute__((minsize)), apply_to = function)

#define PAGE    UF_PAGE_SIZE
#define SECTION (1UL << 20)
#define L1_SIZE (4096 * 4)              /* also its alignment (TTBCR.N = 0) */
#define L2_SIZE (256 * 4)

/* Level 1: section and page-table descriptors */
#define L1_TYPE      0x3u
#define L1_PAGETABLE 0x1u
#define L1_SECTION   0x2u
#define S_B    (1u << 2)
#define S_C    (1u << 3)
#define S_XN   (1u << 4)
#define S_AP0  (1u << 10)               /* AP[1:0] = 01: privileged access only */
#define S_TEX0 (1u << 12)               /* TEX = 001 */
#define S_APX  (1u << 15)               /* AP[2]: read-only */
#define S_S    (1u << 16)               /* shareable */
#define S_ADDR 0xfff00000u
#define L1_TABLE_ADDR 0xfffffc00u
/* Level 2: small-page descriptors */
#define P_TYPE  0x3u
#define P_XN    (1u << 0)
#define P_SMALL (1u << 1)
#define P_B     (1u << 2)
#define P_C     (1u << 3)
#define P_AP0   (1u << 4)
#define P_TEX0  (1u << 6)
#define P_APX   (1u << 9)
#define P_S     (1u << 10)
#define P_ADDR  0xfffff000u
#define P_DEMAND (1u << 11)             /* with type 0 (a fault): a demand-zero page, its prot in bits 2-4 */
#define DEMAND_PROT_SHIFT 2
#define DEMAND_END 0xfff00000u          /* the demand range: from the end of RAM up to here */

/* Memory types (TEX remap off): Normal, inner and outer write-back write-allocate, shareable; shareable Device. */
#define S_NORMAL (S_TEX0 | S_C | S_B | S_S)
#define S_DEVICE S_B
#define P_NORMAL (P_TEX0 | P_C | P_B | P_S)
#define P_DEVICE P_B
/* TTBR0: table walks cacheable as Normal write-back write-allocate (IRGN = RGN = 01), shareable. */
#define TTBR_WALK ((1u << 6) | (1u << 3) | (1u << 1))

static uint32_t *l1;                    /* NULL until uf_mmu_init */
static int mmu_on;
static uintptr_t bump, bump_end;
static void *(*page_alloc)(size_t);
static uint32_t *l2_pool;               /* the unused level-2 slots of the last page taken for them */
static size_t l2_left;

static uintptr_t align_up(uintptr_t a, uintptr_t to)
{
	return (a + to - 1) & ~(to - 1);
}

void *uf_armv7_early_alloc(size_t size, size_t align)
{
	if (!bump) {
		bump = bump_end = align_up((uintptr_t)__uf_image_end, PAGE);
		for (size_t i = 0; i < uf_boot_info.nram; i++) {
			const struct uf_ram_region *r = &uf_boot_info.ram[i];
			uint64_t top = r->base + r->length;
			if (r->base <= bump && bump < top)
				bump_end = top > UINTPTR_MAX ? UINTPTR_MAX : (uintptr_t)top;
		}
	}
	uintptr_t p = align_up(bump, align);
	if (p < bump || p > bump_end || size > bump_end - p)
		return NULL;
	bump = p + size;
	return memset((void *)p, 0, size);
}

static uint32_t *l2_alloc(void)
{
	if (!l2_left) {
		l2_pool = page_alloc ? page_alloc(1) : uf_armv7_early_alloc(PAGE, PAGE);
		if (!l2_pool)
			return NULL;
		l2_left = PAGE / L2_SIZE;
	}
	l2_left--;
	uint32_t *t = l2_pool;
	l2_pool += L2_SIZE / 4;
	return t;
}

/* A descriptor the table walk may read: cleaned to the point of unification (walks need not snoop the cache). */
static void set(uint32_t *e, uint32_t v)
{
	*e = v;
	if (mmu_on)
		uf_dccmvau((uintptr_t)e);
}

static void flush_tlb(void)
{
	uf_dsb();
	uf_tlbiall(0);
	uf_bpiall(0);
	uf_dsb();
	uf_isb();
}

/* Permission bits for prot, and back. Writable implies readable; there is no write-only or execute-only. */
static uint32_t section_bits(int prot)
{
	if (!(prot & (PROT_READ | PROT_WRITE | PROT_EXEC)))
		return 0;
	return L1_SECTION | (prot & PROT_WRITE ? 0 : S_APX) | (prot & PROT_EXEC ? 0 : S_XN);
}

static uint32_t page_bits(int prot)
{
	if (!(prot & (PROT_READ | PROT_WRITE | PROT_EXEC)))
		return 0;
	return P_SMALL | (prot & PROT_WRITE ? 0 : P_APX) | (prot & PROT_EXEC ? 0 : P_XN);
}

static int section_prot(uint32_t e)
{
	if (!(e & L1_TYPE))
		return PROT_NONE;
	return PROT_READ | (e & S_APX ? 0 : PROT_WRITE) | (e & S_XN ? 0 : PROT_EXEC);
}

static int page_prot(uint32_t e)
{
	if (!(e & P_TYPE))
		return PROT_NONE;
	return PROT_READ | (e & P_APX ? 0 : PROT_WRITE) | (e & P_XN ? 0 : PROT_EXEC);
}

#define SECTION_PROT_MASK (L1_TYPE | S_APX | S_XN)
#define PAGE_PROT_MASK    (P_TYPE | P_APX)          /* P_XN is bit 0 of the type field */

/* The level-2 table that section entry e points to, splitting a section into 256 pages with its attributes
 * first. NULL when out of memory. */
static uint32_t *split(uint32_t *e)
{
	if ((*e & L1_TYPE) == L1_PAGETABLE)
		return (uint32_t *)(uintptr_t)(*e & L1_TABLE_ADDR);
	uint32_t *t = l2_alloc();
	if (!t)
		return NULL;
	uint32_t attrs = (*e & S_B ? P_B : 0) | (*e & S_C ? P_C : 0) | (*e & S_S ? P_S : 0) |
			 (*e >> 12 & 7) << 6 | P_AP0 | page_bits(section_prot(*e));
	for (uint32_t i = 0; i < 256; i++)
		set(&t[i], ((*e & S_ADDR) + i * PAGE) | attrs);
	set(e, (uintptr_t)t | L1_PAGETABLE);            /* domain 0 */
	return t;
}

int uf_mmu_protect(uintptr_t va, size_t len, int prot)
{
	if ((va & (PAGE - 1)) || (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC)) || !l1)
		return -EINVAL;
	uintptr_t end = va + align_up(len, PAGE);
	if (end < va || (len && end == va))
		return -EINVAL;
	uint32_t want_s = section_bits(prot), want_p = page_bits(prot);
	int changed = 0, rc = 0;
	while (va < end) {
		uint32_t *e = &l1[va >> 20];
		uintptr_t sec = va & ~(SECTION - 1), stop = end - sec < SECTION ? end : sec + SECTION;
		if (!*e) {              /* an entry is never 0 once mapped: PROT_NONE keeps the address */
			rc = -ENOMEM;
			break;
		}
		if ((*e & L1_TYPE) != L1_PAGETABLE) {
			if ((*e & SECTION_PROT_MASK) == want_s || (va == sec && stop - sec == SECTION)) {
				changed |= (*e & SECTION_PROT_MASK) != want_s;
				set(e, (*e & ~SECTION_PROT_MASK) | want_s);
				va = stop;
				continue;
			}
			changed = 1;
		}
		uint32_t *t = split(e);
		if (!t) {
			rc = -ENOMEM;
			break;
		}
		for (; va < stop; va += PAGE) {
			uint32_t *p = &t[va >> 12 & 255];
			if (!*p) {
				rc = -ENOMEM;
				goto out;
			}
			if ((*p & PAGE_PROT_MASK) != want_p) {
				set(p, (*p & ~PAGE_PROT_MASK) | want_p);
				changed = 1;
			}
		}
	}
out:
	if (changed && mmu_on)
		flush_tlb();
	return rc;
}

int uf_mmu_prot(uintptr_t va)
{
	uint32_t e = l1 ? l1[va >> 20] : 0;
	if (!e)
		return -1;
	if ((e & L1_TYPE) != L1_PAGETABLE)
		return section_prot(e);
	e = ((uint32_t *)(uintptr_t)(e & L1_TABLE_ADDR))[va >> 12 & 255];
	return e ? page_prot(e) : -1;
}

void uf_mmu_demand_range(uintptr_t *base, uintptr_t *end)
{
	const struct uf_ram_region *last = &uf_boot_info.ram[uf_boot_info.nram - 1];
	uint64_t top = (last->base + last->length + SECTION - 1) & ~(uint64_t)(SECTION - 1);     /* may be 4 GiB */
	*base = top < DEMAND_END ? (uintptr_t)top : DEMAND_END;
	*end = DEMAND_END;
}

/* The level-2 entry for va in the demand range, with create its table allocated: NULL if there is none. */
static uint32_t *demand_pte(uintptr_t va, int create)
{
	uint32_t *e = &l1[va >> 20];
	if (!*e && create) {
		uint32_t *t = l2_alloc();
		if (t)
			set(e, (uintptr_t)t | L1_PAGETABLE);
	}
	if ((*e & L1_TYPE) != L1_PAGETABLE)
		return NULL;
	return &((uint32_t *)(uintptr_t)(*e & L1_TABLE_ADDR))[va >> 12 & 255];
}

/* PROT_NONE makes no level-2 tables: an absent entry faults as PROT_NONE does, so address space reserved that way
 * costs no RAM; a section without a table under such a range is skipped whole. */
int uf_mmu_demand(uintptr_t va, size_t len, int prot)
{
	int rc = 0;
	for (uintptr_t end = va + len; va < end && !rc; va += PAGE) {
		uint32_t *p = demand_pte(va, prot != PROT_NONE);
		if (!p && prot == PROT_NONE)
			va |= SECTION - PAGE;
		else if (!p)
			rc = -ENOMEM;
		else if (!*p || (*p & P_DEMAND))
			set(p, P_DEMAND | prot << DEMAND_PROT_SHIFT);
		else                    /* backed: PROT_NONE keeps the address */
			set(p, (*p & ~PAGE_PROT_MASK) | page_bits(prot));
	}
	flush_tlb();
	return rc;
}

int uf_mmu_fill(uintptr_t va, int write)
{
	uintptr_t base, end;
	uf_mmu_demand_range(&base, &end);
	uint32_t *p = va >= base && va < end ? demand_pte(va, 0) : NULL;
	int prot = p && (*p & P_DEMAND) ? (int)(*p >> DEMAND_PROT_SHIFT & 7) : 0;
	if (!prot || (write && !(prot & PROT_WRITE)))
		return 0;
	void *page = page_alloc(1);
	if (!page)
		return -ENOMEM;
	set(p, (uintptr_t)page | P_NORMAL | P_AP0 | page_bits(prot));  /* a fault before: no TLB entry to flush */
	uf_dsb();
	uf_isb();
	return 1;
}

int uf_mmu_backing(uintptr_t va, int write, uintptr_t *pa)
{
	uintptr_t base, end;
	uf_mmu_demand_range(&base, &end);
	uint32_t *p = va >= base && va < end ? demand_pte(va, 0) : NULL;
	int made = p && (*p & P_DEMAND) ? uf_mmu_fill(va, write) : 0;
	if (made < 0)
		return made;
	if (!p || !(*p & P_TYPE) || (write && (*p & P_APX)))
		return -EFAULT;
	*pa = (*p & P_ADDR) | (va & (PAGE - 1));
	return 0;
}

int uf_mmu_demand_prot(uintptr_t va)
{
	uint32_t *p = demand_pte(va, 0);
	if (!p || !*p)
		return -1;
	return *p & P_DEMAND ? (int)(*p >> DEMAND_PROT_SHIFT & 7) : page_prot(*p);
}

void uf_mmu_release(uintptr_t va, size_t len, void (*free)(void *page, size_t npages))
{
	for (uintptr_t end = va + len; va < end; va += PAGE) {
		uint32_t *p = demand_pte(va, 0);
		if (!p) {
			va |= SECTION - PAGE; /* no table here (a PROT_NONE reservation): none of its pages */
			continue;
		}
		if (*p && !(*p & P_DEMAND))
			free((void *)(uintptr_t)(*p & P_ADDR), 1);
		set(p, 0);
	}
	flush_tlb();
}

/* Identity-maps [pa, end) read-write and execute-never: sections where whole ones fit, 4 KiB pages elsewhere.
 * What is mapped already stays. */
static void map_range(uint64_t pa, uint64_t end, int normal)
{
	uint32_t s = (normal ? S_NORMAL : S_DEVICE) | S_AP0 | section_bits(PROT_READ | PROT_WRITE);
	uint32_t p = (normal ? P_NORMAL : P_DEVICE) | P_AP0 | page_bits(PROT_READ | PROT_WRITE);
	for (pa = align_up(pa, PAGE), end &= ~(uint64_t)(PAGE - 1); pa < end;) {
		uint32_t *e = &l1[pa >> 20];
		if (!(pa & (SECTION - 1)) && end - pa >= SECTION) {
			for (uint32_t n = (end - pa) >> 20; n; n--, e++, pa += SECTION)
				if (!*e)
					*e = (uint32_t)pa | s;
			continue;
		}
		if (!*e) {
			uint32_t *t = l2_alloc();
			if (!t)
				uf_panic("mmu: out of RAM for page tables");
			*e = (uintptr_t)t | L1_PAGETABLE;
		}
		if ((*e & L1_TYPE) == L1_PAGETABLE) {
			uint32_t *pte = &((uint32_t *)(uintptr_t)(*e & L1_TABLE_ADDR))[pa >> 12 & 255];
			if (!*pte)
				*pte = (uint32_t)pa | p;
		}
		pa += PAGE;
	}
}

/* The image's pages, from its text to its stack's guard: text R+X, rodata R, the guard not present, the rest as
 * mapped (read-write). What uf_mmu_protect would make of them, page by page, in one loop. */
static void protect_image(void)
{
	uintptr_t text = (uintptr_t)__uf_text_start & ~(PAGE - 1), text_end = align_up((uintptr_t)__uf_text_end, PAGE);
	uintptr_t ro = (uintptr_t)__uf_rodata_start & ~(PAGE - 1), ro_end = align_up((uintptr_t)__uf_rodata_end, PAGE);
	uintptr_t guard = (uintptr_t)uf_boot_stack_guard, guard_end = guard + UF_BOOT_STACK_GUARD;
	uint32_t rx = page_bits(PROT_READ | PROT_EXEC), r = page_bits(PROT_READ);
	for (uintptr_t va = text; va < guard_end; va += PAGE) {
		uint32_t *e = &l1[va >> 20], *t = *e ? split(e) : NULL, *p = t ? &t[va >> 12 & 255] : NULL;
		if (!p || !*p)
			uf_panic("mmu: cannot protect the image at %p", (void *)va);
		uint32_t bits = va >= guard ? 0 : va >= text && va < text_end ? rx : va >= ro && va < ro_end ? r : 0;
		if (bits | (va >= guard))
			*p = (*p & ~PAGE_PROT_MASK) | bits;
	}
}

void uf_mmu_init(void)
{
	l1 = uf_armv7_early_alloc(L1_SIZE, L1_SIZE);
	if (!l1)
		uf_panic("mmu: no RAM after the image for page tables");

	/* Device memory: the MMIO space below the first RAM region, from 1 MiB (virt: GIC, UART, virtio-mmio,
	 * PCIe windows and ECAM). Above RAM nothing is mapped. */
	const struct uf_ram_region *ram = uf_boot_info.ram;
	if (ram[0].base > SECTION)
		map_range(SECTION, ram[0].base, 0);
	for (size_t i = 0; i < uf_boot_info.nram; i++)
		map_range(ram[i].base < SECTION ? SECTION : ram[i].base, ram[i].base + ram[i].length, 1);

	protect_image();

	/* The caches and the MMU are on already, with zimage_entry.S's flat map (which also set ACTLR.SMP and
	 * invalidated the data cache first): the new tables, written through the cache, are cleaned to the point of
	 * unification for the table walk, then replace the flat map (the same identity mapping, finer). */
	uint32_t ctr;
	__asm__ volatile("mrc p15, 0, %0, c0, c0, 1" : "=r"(ctr));          /* CTR: DminLine, in words */
	for (uintptr_t a = (uintptr_t)l1, line = 4u << (ctr >> 16 & 0xf); a < bump; a += line)
		uf_dccmvau(a);
	uf_dsb();
	uf_write_ttbr0((uintptr_t)l1 | TTBR_WALK);
	flush_tlb();
	mmu_on = 1;
}

uintptr_t uf_mmu_handoff(void *(*alloc)(size_t npages))
{
	page_alloc = alloc;
	l2_left = 0;            /* the rest of an early page stays with boot's RAM, which the allocator skips */
	return bump;
}

#pragma clang attribute pop

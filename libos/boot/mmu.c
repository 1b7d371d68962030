/* The final page tables: 4-level x86_64 paging, identity mapped. RAM and the MMIO hole below 4 GiB use 2 MiB
 * pages, read-write and no-execute; the image's text (R+X), headers and rodata (R) and the not-present pages
 * (page 0, the stack guard) are split into 4 KiB pages. Demand-zero pages (uf_mmu_demand) lie above all RAM, in 4 KiB
 * pages: not present, with PTE_DEMAND and their prot in the bits the MMU ignores then, until uf_mmu_fill backs one.
 *
 * Page-table pages: before the page allocator exists they are taken from the RAM right after the image (a bump
 * pointer); module mem then calls uf_mmu_handoff() with its allocator and skips that RAM. A registered callback
 * rather than a (weak) reference to uf_page_alloc: the switch must happen exactly when mem builds its free list,
 * which a link-time reference cannot tell, and boot stays free of references to mem (mem depends on boot). */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <uf/boot.h>
#include <uf/trap.h>
#include <uf/x86_64.h>

#define PTE_P    0x1ULL
#define PTE_W    0x2ULL
#define PTE_PS   0x80ULL                 /* in a PD entry: 2 MiB page */
#define PTE_NX   (1ULL << 63)
#define PTE_ADDR 0x000ffffffffff000ULL
#define PDE_ADDR_2M 0x000fffffffe00000ULL
#define PTE_CACHE 0x18ULL               /* PWT | PCD: kept when splitting */
#define PAGE     UF_PAGE_SIZE
#define BIG      (2UL << 20)
#define GIB      (1UL << 30)
#define EARLY_MAP_END GIB       /* what pvh_entry.S maps: bump pages must lie below it */
#define PTE_DEMAND (1ULL << 9)  /* not present: a demand-zero page, its prot in bits 1-3 */
#define DEMAND_PROT_SHIFT 1
/* The demand range: from 256 GiB (or the end of RAM, if that is higher) to 512 GiB. */
#define DEMAND_BASE (1ULL << 38)
#define DEMAND_END  (1ULL << 39)

static uint64_t nx;                     /* PTE_NX if EFER.NXE is on; the bit is reserved otherwise */
static uint64_t *root;                  /* the PML4 being built or in use; NULL: the early one (CR3) */
static uintptr_t bump, bump_end;
static void *(*page_alloc)(size_t);

static uintptr_t align_up(uintptr_t a, uintptr_t to)
{
	return (a + to - 1) & ~(to - 1);
}

static uint64_t *table_alloc(void)
{
	if (page_alloc)
		return page_alloc(1);
	if (bump + PAGE > bump_end)
		return NULL;
	uint64_t *t = (uint64_t *)bump;
	bump += PAGE;
	memset(t, 0, PAGE);
	return t;
}

static uint64_t *live_root(void)
{
	return (uint64_t *)(uintptr_t)(uf_read_cr3() & PTE_ADDR);
}

/* The PD entry (2 MiB level) for va; with create, missing upper tables are allocated. NULL if unmapped. */
static uint64_t *pde_of(uintptr_t va, int create)
{
	uint64_t *t = root ? root : live_root();
	for (int shift = 39; shift > 21; shift -= 9) {
		uint64_t *e = &t[va >> shift & 511];
		if (!(*e & PTE_P)) {
			uint64_t *n = create ? table_alloc() : NULL;
			if (!n)
				return NULL;
			*e = (uintptr_t)n | PTE_P | PTE_W;      /* upper levels allow everything; leaves decide */
		}
		if (*e & PTE_PS)
			return NULL;                            /* 1 GiB pages: never created here */
		t = (uint64_t *)(uintptr_t)(*e & PTE_ADDR);
	}
	return &t[va >> 21 & 511];
}

static uint64_t prot_bits(int prot)
{
	uint64_t f = prot & PROT_EXEC ? 0 : nx;
	if (prot & (PROT_READ | PROT_WRITE | PROT_EXEC))
		f |= PTE_P;
	if (prot & PROT_WRITE)
		f |= PTE_W;
	return f;
}

#define PROT_MASK (PTE_P | PTE_W | PTE_NX)

int uf_mmu_protect(uintptr_t va, size_t len, int prot)
{
	if ((va & (PAGE - 1)) || (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC)))
		return -EINVAL;
	uintptr_t end = va + align_up(len, PAGE);
	if (end < va)
		return -EINVAL;
	uint64_t want = prot_bits(prot);
	int changed = 0, rc = 0;
	while (va < end) {
		uint64_t *pde = pde_of(va, 0);
		uintptr_t big = va & ~(BIG - 1), stop = end - big < BIG ? end : big + BIG;
		if (!pde || !*pde) {            /* an entry is never 0 once mapped: PROT_NONE keeps the address */
			rc = -ENOMEM;
			break;
		}
		if (*pde & PTE_PS) {
			if ((*pde & PROT_MASK) == want || (va == big && stop == big + BIG)) {
				changed |= (*pde & PROT_MASK) != want;
				*pde = (*pde & ~PROT_MASK) | want;
				va = stop;
				continue;
			}
			/* Part of a 2 MiB page changes: split it into 512 4 KiB pages with the same attributes. */
			uint64_t *pt = table_alloc();
			if (!pt) {
				rc = -ENOMEM;
				break;
			}
			uint64_t attrs = *pde & (PROT_MASK | PTE_CACHE), pa = *pde & PDE_ADDR_2M;
			for (int i = 0; i < 512; i++)
				pt[i] = (pa + i * PAGE) | attrs;
			*pde = (uintptr_t)pt | PTE_P | PTE_W;
			changed = 1;
		}
		uint64_t *pt = (uint64_t *)(uintptr_t)(*pde & PTE_ADDR);
		for (; va < stop; va += PAGE) {
			uint64_t *pte = &pt[va >> 12 & 511];
			if (!*pte) {
				rc = -ENOMEM;
				goto out;
			}
			if ((*pte & PROT_MASK) != want) {
				*pte = (*pte & ~PROT_MASK) | want;
				changed = 1;
			}
		}
	}
out:
	if (changed && (!root || root == live_root()))
		uf_write_cr3(uf_read_cr3());    /* flush the TLB (no global pages are used) */
	return rc;
}

int uf_mmu_prot(uintptr_t va)
{
	uint64_t *pde = pde_of(va, 0), e;
	if (!pde || !(e = *pde))
		return -1;
	if ((e & PTE_P) && !(e & PTE_PS) && !(e = ((uint64_t *)(uintptr_t)(e & PTE_ADDR))[va >> 12 & 511]))
		return -1;
	if (!(e & PTE_P))
		return PROT_NONE;
	return PROT_READ | (e & PTE_W ? PROT_WRITE : 0) | (e & nx ? 0 : PROT_EXEC);
}

/* The 4 KiB entry for va in the demand range, with create its tables allocated: NULL if there is none. Its own walk,
 * not pde_of's: a third caller would change how the compiler inlines that into uf_mmu_protect, in every image. */
static uint64_t *demand_pte(uintptr_t va, int create)
{
	uint64_t *t = root ? root : live_root();
	for (int shift = 39; shift > 12; shift -= 9) {
		uint64_t *e = &t[va >> shift & 511];
		if (!(*e & PTE_P)) {
			uint64_t *n = create ? table_alloc() : NULL;
			if (!n)
				return NULL;
			*e = (uintptr_t)n | PTE_P | PTE_W;
		}
		if (*e & PTE_PS)
			return NULL;
		t = (uint64_t *)(uintptr_t)(*e & PTE_ADDR);
	}
	return &t[va >> 12 & 511];
}

void uf_mmu_demand_range(uintptr_t *base, uintptr_t *end)
{
	const struct uf_ram_region *last = &uf_boot_info.ram[uf_boot_info.nram - 1];
	uint64_t top = align_up(last->base + last->length, GIB);
	*base = top > DEMAND_BASE ? (top < DEMAND_END ? top : DEMAND_END) : DEMAND_BASE;
	*end = DEMAND_END;
}

/* PROT_NONE makes no tables: an absent entry faults as PROT_NONE does, so address space reserved that way (JITs,
 * runtimes) costs no RAM; a table missing under such a range is skipped whole (up to the next 2 MiB). */
int uf_mmu_demand(uintptr_t va, size_t len, int prot)
{
	int rc = 0;
	for (uintptr_t end = va + len; va < end && !rc; va += PAGE) {
		uint64_t *pte = demand_pte(va, prot != PROT_NONE);
		if (!pte && prot == PROT_NONE)
			va |= BIG - PAGE;
		else if (!pte)
			rc = -ENOMEM;
		else if (!*pte || (*pte & PTE_DEMAND))
			*pte = PTE_DEMAND | (uint64_t)prot << DEMAND_PROT_SHIFT;
		else
			*pte = (*pte & PTE_ADDR) | prot_bits(prot);     /* backed: PROT_NONE keeps the address */
	}
	uf_write_cr3(uf_read_cr3());
	return rc;
}

int uf_mmu_fill(uintptr_t va, int write)
{
	uintptr_t base, end;
	uf_mmu_demand_range(&base, &end);
	uint64_t *pte = va >= base && va < end ? demand_pte(va, 0) : NULL;
	int prot = pte && (*pte & PTE_DEMAND) ? (int)(*pte >> DEMAND_PROT_SHIFT & 7) : 0;
	if (!prot || (write && !(prot & PROT_WRITE)))
		return 0;
	void *page = page_alloc(1);
	if (!page)
		return -ENOMEM;
	*pte = (uintptr_t)page | prot_bits(prot);       /* not present before: no TLB entry to flush */
	return 1;
}

int uf_mmu_backing(uintptr_t va, int write, uintptr_t *pa)
{
	uintptr_t base, end;
	uf_mmu_demand_range(&base, &end);
	uint64_t *pte = va >= base && va < end ? demand_pte(va, 0) : NULL;
	int made = pte && (*pte & PTE_DEMAND) ? uf_mmu_fill(va, write) : 0;
	if (made < 0)
		return made;
	if (!pte || !(*pte & PTE_P) || (write && !(*pte & PTE_W)))
		return -EFAULT;
	*pa = (*pte & PTE_ADDR) | (va & (PAGE - 1));
	return 0;
}

int uf_mmu_demand_prot(uintptr_t va)
{
	uint64_t *pte = demand_pte(va, 0);
	if (!pte || !*pte)
		return -1;
	return *pte & PTE_DEMAND ? (int)(*pte >> DEMAND_PROT_SHIFT & 7) : uf_mmu_prot(va);
}

void uf_mmu_release(uintptr_t va, size_t len, void (*free)(void *page, size_t npages))
{
	for (uintptr_t end = va + len; va < end; va += PAGE) {
		uint64_t *pte = demand_pte(va, 0);
		if (!pte) {
			va |= BIG - PAGE; /* no table here (a PROT_NONE reservation): none of its pages */
			continue;
		}
		if (*pte && !(*pte & PTE_DEMAND))
			free((void *)(uintptr_t)(*pte & PTE_ADDR), 1);
		*pte = 0;
	}
	uf_write_cr3(uf_read_cr3());
}

/* Identity-maps [pa, end) with 2 MiB pages, read-write and no-execute: one table walk per GiB. */
static void map_range(uintptr_t pa, uintptr_t end)
{
	for (pa &= ~(BIG - 1); pa < end;) {
		uint64_t *pde = pde_of(pa, 1);
		if (!pde)
			uf_panic("mmu: out of RAM for page tables");
		do
			*pde++ = pa | PTE_P | PTE_W | PTE_PS | nx;
		while ((pa += BIG) < end && (pa & (GIB - 1)));
	}
}

static void protect(uintptr_t start, uintptr_t end, int prot)
{
	start &= ~(PAGE - 1);
	if (uf_mmu_protect(start, align_up(end, PAGE) - start, prot))
		uf_panic("mmu: cannot protect [%p, %p)", (void *)start, (void *)end);
}

void uf_mmu_init(void)
{
	nx = uf_rdmsr(UF_MSR_EFER) & UF_EFER_NXE ? PTE_NX : 0;

	/* Page-table pages come from the RAM region holding the end of the image, up to the early map's end. */
	bump = align_up((uintptr_t)__uf_image_end, PAGE);
	for (size_t i = 0; i < uf_boot_info.nram; i++) {
		const struct uf_ram_region *r = &uf_boot_info.ram[i];
		if (r->base <= bump && bump < r->base + r->length)
			bump_end = r->base + r->length < EARLY_MAP_END ? r->base + r->length : EARLY_MAP_END;
	}

	uint64_t *pml4 = table_alloc();
	if (!pml4)
		uf_panic("mmu: no RAM after the image for page tables");
	root = pml4;        /* build the new tables while the early ones stay loaded */

	/* Below 4 GiB: RAM, firmware, ACPI tables and the MMIO hole (LAPIC, IOAPIC, virtio-mmio, PCI BARs). */
	map_range(0, 4 * GIB);
	for (size_t i = 0; i < uf_boot_info.nram; i++) {
		const struct uf_ram_region *r = &uf_boot_info.ram[i];
		if (r->base + r->length > 4 * GIB)
			map_range(r->base > 4 * GIB ? r->base : 4 * GIB, r->base + r->length);
	}

	protect(0, PAGE, PROT_NONE);                                   /* NULL dereferences fault */
	protect((uintptr_t)__uf_image_start, (uintptr_t)__uf_rodata_end, PROT_READ);  /* headers, notes, rodata */
	protect((uintptr_t)__uf_text_start, (uintptr_t)__uf_text_end, PROT_READ | PROT_EXEC);
	protect((uintptr_t)uf_boot_stack_guard, (uintptr_t)uf_boot_stack_guard + UF_BOOT_STACK_GUARD, PROT_NONE);

	uf_write_cr3((uintptr_t)pml4);             /* CR0.WP is on since pvh_entry.S: read-only binds the kernel too */
}

uintptr_t uf_mmu_handoff(void *(*alloc)(size_t npages))
{
	page_alloc = alloc;
	return bump;
}

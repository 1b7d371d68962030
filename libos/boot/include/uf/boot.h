/* Boot: what the loader told us (neutral across boot protocols), the image layout, and the page tables. */
#ifndef UF_BOOT_H
#define UF_BOOT_H

#include <stddef.h>
#include <stdint.h>

#define UF_PAGE_SIZE 4096UL
#define UF_BOOT_STACK_SIZE (128 * 1024)     /* boot (and main thread) stack; a not-present guard lies below */
/* The guard: a frame larger than what is left of the stack must fault in it, never write below it. x86_64 code
 * probes every page of a frame larger than one (clang's -fstack-clash-protection, the targets' cflags), so one page
 * is enough there; clang cannot probe on 32-bit ARM, whose guard is 1 MiB (RAM the image keeps unmapped): larger
 * frames would still jump it (libos/README.md, Stacks). */
#if defined(__arm__)
#define UF_BOOT_STACK_GUARD (1024 * 1024)
#else
#define UF_BOOT_STACK_GUARD UF_PAGE_SIZE
#endif
#define UF_BOOT_MAX_RAM 32

struct uf_ram_region {
	uint64_t base, length;
};

struct uf_boot_info {
	const char *cmdline;                        /* kernel command line; "" when there is none */
	size_t nram;
	struct uf_ram_region ram[UF_BOOT_MAX_RAM];  /* usable RAM, sorted by base (may include the image) */
	uint64_t rsdp;                              /* physical address of the ACPI RSDP, 0 if unknown (ARM) */
};
extern struct uf_boot_info uf_boot_info;
/* The CPU's counter (x86_64 TSC, ARMv7 CNTVCT) at the image's first instructions, for `uniforge bench`. */
extern uint64_t uf_boot_entry_ticks;
/* Adds a RAM region to uf_boot_info (kept sorted; empty regions and those past UF_BOOT_MAX_RAM are dropped). */
void uf_boot_add_ram(uint64_t base, uint64_t length);

/* Defined by the linker script. Segments are not page-aligned in the file: round when protecting. */
extern char __uf_image_start[], __uf_image_end[];
extern char __uf_text_start[], __uf_text_end[];
/* The text from __uf_app_text_start to uf_libos_text_start (generated) is the app's with the libc's; the library
 * OS's follows up to __uf_text_end (the boot entry comes before both). */
extern char __uf_app_text_start[], uf_libos_text_start[];
extern char __uf_rodata_start[], __uf_rodata_end[];
extern char __uf_data_start[], __uf_bss_start[], __uf_bss_end[];

/* The program headers musl reads (AT_PHDR/AT_PHNUM), loaded: after the ELF header on x86_64; on ARMv7, written
 * into rodata by the linker script, since the image's first byte is the zImage entry (templates/armv7-virt.ld.j2).
 * Declared with their type by module process, their user. */

/* How far from its link address the image runs: 0, except for a position-independent image (ARMv7 as a Xen dom0)
 * that the loader put elsewhere. Backtraces print link addresses, which the runner symbolizes. */
extern uintptr_t uf_boot_load_offset;

extern char uf_boot_stack_guard[];          /* the guard (UF_BOOT_STACK_GUARD, not present) */

/* The image's entry points, named by the targets' linker scripts (ENTRY): x86_64's PVH entry (32-bit, %ebx =
 * struct hvm_start_info; other entries, module multiboot2, go on there once they have made a start_info), ARMv7's
 * zImage entry. Never called from C. */
void uf_pvh_start(void);
void uf_zimage_start(void);

/* Defined elsewhere: the generated init table, and the app's start (module process). */
void uf_modules_init(void);
void uf_app_main(void);

/* Page tables. Everything is identity mapped (virtual == physical), except demand-zero pages (below: devices reach
 * those through uf_mem_dma, uf/mem.h). prot:
 * PROT_READ/WRITE/EXEC of <sys/mman.h>, PROT_NONE = not present. Changes mapped pages only (-ENOMEM when some page in
 * the range is not mapped at all), splitting 2 MiB pages as needed. va must be page-aligned; len is rounded up.
 * Returns 0 or -errno. Not for the demand range (uf_mmu_demand changes its pages' prot). */
int uf_mmu_protect(uintptr_t va, size_t len, int prot);
/* The PROT_* bits of the page holding va: 0 if present-but-PROT_NONE (or a demand-zero page not backed yet), -1 if
 * not mapped at all. */
int uf_mmu_prot(uintptr_t va);

/* Demand-zero pages (module demand's anonymous mappings): in a range of virtual addresses where no RAM or device
 * is, [*base, *end) (empty when RAM leaves none), a page is mapped with its prot but backed only when first touched:
 * uf_mmu_fill, from the page-fault handler, maps a zeroed page from the allocator (uf_mmu_handoff's) at it. */
void uf_mmu_demand_range(uintptr_t *base, uintptr_t *end);
/* Maps [va, va + len) of that range as demand-zero pages with prot, or gives its pages prot (those backed already
 * keep their page): 0, or -ENOMEM (page tables; what was mapped stays for uf_mmu_release). PROT_NONE allocates no
 * page tables: where there are none the pages stay absent, which faults the same. */
int uf_mmu_demand(uintptr_t va, size_t len, int prot);
/* Backs the demand-zero page holding va if prot allows the access (write: a write): 1; 0 if va is no such page or
 * the access is not allowed (a fault of the app's); -ENOMEM when no page is free. */
int uf_mmu_fill(uintptr_t va, int write);
/* For a device's access to the demand-zero page holding va (write: the device writes it): backs the page first if
 * it is not yet, as a touch would, and puts va's physical address in *pa. 0; -EFAULT if va is no such page or its
 * prot does not allow the access; -ENOMEM when no page is free. */
int uf_mmu_backing(uintptr_t va, int write, uintptr_t *pa);
/* The prot of the page at va of the demand range, backed or not (uf_mmu_prot says PROT_NONE for one not backed): -1
 * if it has no entry (never mapped, or a PROT_NONE reservation's, which faults the same). */
int uf_mmu_demand_prot(uintptr_t va);
/* Unmaps [va, va + len) of the demand range; the pages that backed it go to give_back(page, 1). */
void uf_mmu_release(uintptr_t va, size_t len, void (*give_back)(void *page, size_t npages));
/* Called once by boot before uf_modules_init: builds and loads the final page tables. */
void uf_mmu_init(void);
/* The page allocator (module mem) takes over: page-table pages come from page_alloc (zeroed pages, NULL when out
 * of memory) from now on. Returns the end of the RAM boot used after the image, which the allocator must skip. */
uintptr_t uf_mmu_handoff(void *(*page_alloc)(size_t npages));

#endif

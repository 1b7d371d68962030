/* From the PVH start_info to the app: boot info, traps, page tables, module inits, uf_app_main(). */
#include <string.h>
#include <uf/boot.h>
#include <uf/trap.h>
#include <uf/x86_64.h>

/* Xen's struct hvm_start_info (public/arch-x86/hvm/start_info.h); the memmap fields exist from version 1. */
struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr;
	uint32_t memmap_entries;
	uint32_t reserved;
};

struct hvm_memmap_entry {
	uint64_t addr, size;
	uint32_t type, reserved;
};

#define HVM_START_MAGIC 0x336ec578      /* "xEn3" */
#define E820_RAM 1

struct uf_boot_info uf_boot_info;

/* A copy: the loader may have put the command line in RAM that the page allocator hands out later. */
static char cmdline[4096];

extern uint64_t uf_boot_gdt[];

void uf_boot_main(struct hvm_start_info *si);
/* Weak: only a platform that has another source of the memory map links its definer (module xen). */
void uf_boot_platform_ram(void) __attribute__((weak));

void uf_boot_main(struct hvm_start_info *si)
{
	if (si->magic != HVM_START_MAGIC)
		uf_panic("boot: bad hvm_start_info magic 0x%x", si->magic);
	if (si->cmdline_paddr) {
		const char *s = (const char *)(uintptr_t)si->cmdline_paddr;
		size_t n = strlen(s);
		memcpy(cmdline, s, n < sizeof cmdline ? n : sizeof cmdline - 1);
	}
	uf_boot_info.cmdline = cmdline;
	uf_boot_info.rsdp = si->rsdp_paddr;
	if (si->version >= 1) {
		const struct hvm_memmap_entry *e = (const void *)(uintptr_t)si->memmap_paddr;
		for (uint32_t i = 0; i < si->memmap_entries; i++)
			if (e[i].type == E820_RAM)
				uf_boot_add_ram(e[i].addr, e[i].size);
	}
	/* Version 0 has no memory map (Xen 4.17 starts a PVH dom0 so): module xen asks Xen for it. QEMU passes one. */
	if (!uf_boot_info.nram && uf_boot_platform_ram)
		uf_boot_platform_ram();
	if (!uf_boot_info.nram)
		uf_panic("boot: the loader passed no memory map (hvm_start_info version %u)", si->version);

	uf_trap_init();
	uf_mmu_init();
	uf_modules_init();
	uf_app_main();
	uf_panic("boot: uf_app_main returned");
}

void uf_x86_load_tss(const void *tss, size_t size)
{
	uint64_t base = (uintptr_t)tss, limit = size - 1;
	/* 16-byte system descriptor at selector 0x18: type 9 (available 64-bit TSS), present. */
	uf_boot_gdt[3] = (limit & 0xffff) | (base & 0xffffff) << 16 | 0x89ULL << 40 | (limit >> 16 & 0xf) << 48 |
			 (base >> 24 & 0xff) << 56;
	uf_boot_gdt[4] = base >> 32;
	__asm__ volatile("ltr %w0" : : "r"(0x18) : "memory");
}

/* From the loader's registers to the app on ARMv7: the device tree, the boot info it holds (RAM, command line),
 * traps, the MMU and caches, module inits, uf_app_main(). */
#include <string.h>
#include <uf/boot.h>
#include <uf/console.h>
#include <uf/fdt.h>
#include <uf/trap.h>
#include "boot_armv7.h"

/* Run once (or on a crash): under an emulator that translates each instruction before its first run, small code is
 * fast code. */
#pragma clang attribute push(__attribute__((minsize)), apply_to = function)

/* Where QEMU's virt machine puts the DTB for an ELF image, which it enters with r2 = 0: at the start of RAM, if
 * the image leaves the DTB's 1 MiB free below it (the linker script links it at RAM + 1 MiB for this). */
#define VIRT_RAM_START 0x40000000u
#define MAX_RAM (1ULL << 32)            /* short-descriptor tables reach 4 GiB: RAM above it is not used */

struct uf_boot_info uf_boot_info;

/* A copy: the command line lives in the DTB, whose memory the page allocator may hand out. */
static char cmdline[4096];

void uf_boot_main(uintptr_t r2);

static void find_device_tree(uintptr_t r2)
{
	/* r2 may also be 0 (ELF) or an ATAG list (old loaders): only FDT magic is taken. */
	if (r2 && !(r2 & 7) && !uf_fdt_init((const void *)r2))
		return;
	if (uf_fdt_init((const void *)VIRT_RAM_START))
		uf_panic("boot: no device tree (r2=0x%x, none at 0x%x either)", r2, VIRT_RAM_START);
}

/* One pass over the root's children (where the spec puts them): RAM, the "reg" ranges of every usable node with
 * device_type "memory" (there may be several; QEMU's secure=on adds a disabled one only the secure world may
 * use), and /chosen's bootargs, copied. */
static void read_device_tree(void)
{
	for (int node = uf_fdt_first_child(uf_fdt_path("/")); node >= 0; node = uf_fdt_next_sibling(node)) {
		const char *type = uf_fdt_getstring(node, "device_type"), *args;
		uint64_t base, size;
		if (type && !strcmp(type, "memory") && uf_fdt_is_okay(node)) {
			for (int i = 0; !uf_fdt_reg(node, i, &base, &size); i++)
				if (base < MAX_RAM)
					uf_boot_add_ram(base, size < MAX_RAM - base ? size : MAX_RAM - base);
		} else if (!strcmp(uf_fdt_name(node), "chosen") && (args = uf_fdt_getstring(node, "bootargs"))) {
			size_t n = strlen(args);
			memcpy(cmdline, args, n < sizeof cmdline ? n : sizeof cmdline - 1);
		}
	}
	if (!uf_boot_info.nram)
		uf_panic("boot: the device tree has no memory node");
	uf_boot_info.cmdline = cmdline;
}

/* The DTB moves next to the image: drivers read it later, and its memory from the loader becomes free RAM. */
static void keep_device_tree(void)
{
	uintptr_t src = (uintptr_t)uf_fdt_blob();
	size_t n = uf_fdt_size();
	uintptr_t dst = (uintptr_t)uf_armv7_early_alloc(n, 8);
	if (!dst)
		uf_panic("boot: no RAM after the image for the device tree (%zu bytes)", n);
	if (dst < src + n && src < dst + n)
		uf_panic("boot: the loader put the device tree at 0x%x, in the RAM right after the image", src);
	uf_fdt_move((void *)dst);
}

void uf_boot_main(uintptr_t r2)
{
	uf_trap_init();         /* first: a fault while reading the loader's data is reported, not a silent hang */
	find_device_tree(r2);
	read_device_tree();
	keep_device_tree();
#ifdef UF_DEBUG
	uint64_t total = 0;
	for (size_t i = 0; i < uf_boot_info.nram; i++)
		total += uf_boot_info.ram[i].length;
	uf_printk("uniforge: boot: %zu RAM region(s), %lu MiB from 0x%lx; device tree at %p (%zu bytes); r2=0x%x\n",
		  uf_boot_info.nram, (unsigned long)(total >> 20), (unsigned long)uf_boot_info.ram[0].base,
		  uf_fdt_blob(), uf_fdt_size(), r2);
#endif

	uf_mmu_init();
	uf_modules_init();
	uf_app_main();
	uf_panic("boot: uf_app_main returned");
}

#pragma clang attribute pop

/* The RAM list of uf_boot_info, kept sorted by base whatever order the loader reports it in. */
#include <uf/boot.h>

uintptr_t uf_boot_load_offset;          /* set by the ARMv7 entry, after it zeroed .bss */

void uf_boot_add_ram(uint64_t base, uint64_t length)
{
	struct uf_boot_info *bi = &uf_boot_info;
	size_t i = bi->nram;
	if (!length || i == UF_BOOT_MAX_RAM)
		return;
	for (; i > 0 && bi->ram[i - 1].base > base; i--)
		bi->ram[i] = bi->ram[i - 1];
	bi->ram[i] = (struct uf_ram_region){ base, length };
	bi->nram++;
}

/* Between the ARMv7 boot files (not a public interface). */
#ifndef UF_BOOT_ARMV7_H
#define UF_BOOT_ARMV7_H

#include <stddef.h>

/* Zeroed memory from the RAM right after the image, for what exists before the page allocator (the device tree's
 * copy, page tables). Needs uf_boot_info.ram. NULL when that RAM runs out. */
void *uf_armv7_early_alloc(size_t size, size_t align);

#endif

/* Demand-zero anonymous memory (module demand). Module mem's anonymous mmap of at least UF_DEMAND_MIN_PAGES pages,
 * where it chooses the address, comes from here: addresses above RAM (uf_mmu_demand_range) whose pages the
 * page-fault handler backs with zeroed pages when first touched (uf_mmu_fill), so that a thread's 4 MiB stack or a
 * 64 MiB buffer costs only the pages used. Reached by weak references from module mem: an image whose app maps no
 * memory itself has none of it. */
#ifndef UF_DEMAND_H
#define UF_DEMAND_H

#include <stddef.h>
#include <stdint.h>

#define UF_DEMAND_MIN_PAGES 16          /* 64 KiB: smaller mappings are backed at once, from contiguous RAM */

/* mmap's: len bytes (a page multiple) of demand-zero pages with prot where no mmap range is, recorded as one: the
 * address, or 0 when there is no room (addresses; RAM for page tables): then mmap backs the mapping at once. */
uintptr_t uf_demand_mmap(size_t len, int prot);
/* munmap's for [a, end), a tracked range: 1 when it is not demand-zero memory, else munmap's result (0: its pages
 * went back to the allocator; -ENOMEM). */
int uf_demand_munmap(uintptr_t a, uintptr_t end);
/* mprotect's for [a, end), a tracked range: 1 when it was demand-zero memory (its pages have prot now), else 0. */
int uf_demand_mprotect(uintptr_t a, uintptr_t end, int prot);
void uf_demand_init(void);

#endif

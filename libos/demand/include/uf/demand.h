/* Demand-zero anonymous memory (module demand). An anonymous mmap of at least UF_DEMAND_MIN_PAGES pages, where mem
 * would choose the address, comes from here: addresses above RAM (uf_mmu_demand_range) whose pages the page-fault
 * handler backs with zeroed pages when first touched (uf_mmu_fill), so that a thread's 4 MiB stack or a 64 MiB buffer
 * costs only the pages used. A writable mapping larger than the free RAM less a reserve is refused (ENOMEM: malloc
 * returns NULL), unless MAP_NORESERVE; uf_demand_populate (uf/mem.h) backs the library OS's own buffers from the
 * reserve (demand.c). The module defines uf_sys_brk, uf_sys_mmap, uf_sys_munmap, uf_sys_mprotect and uf_sys_madvise
 * (uf/mem.h), which override module mem's weak aliases: an image whose app maps no memory itself has none of it. */
#ifndef UF_DEMAND_H
#define UF_DEMAND_H

#include <stddef.h>

#define UF_DEMAND_MIN_PAGES 16          /* 64 KiB: smaller mappings are backed at once, from contiguous RAM */

#define UF_DEMAND_MAIN_STACK (8u << 20)    /* the main thread's stack, as Linux's default RLIMIT_STACK */
#define UF_DEMAND_MAIN_GUARD (1u << 20)    /* not present below it: a frame must be larger to jump it */

void uf_demand_init(void);
/* Module demand defines uf_app_main (uf/process.h): uf_process_main on a demand-zero stack of UF_DEMAND_MAIN_STACK. */
/* The size of the stack main runs on: UF_DEMAND_MAIN_STACK, or UF_BOOT_STACK_SIZE if the demand range had no room
 * (getrlimit's RLIMIT_STACK, module process, asks through a weak reference). */
size_t uf_demand_main_stack(void);

#endif

/* Memory: a physical page allocator and the anonymous-memory syscalls. Identity mapped: an address returned
 * here is both the virtual and the physical one. */
#ifndef UF_MEM_H
#define UF_MEM_H

#include <stddef.h>
#include <sys/types.h>

/* npages contiguous zeroed pages, or NULL. */
void *uf_page_alloc(size_t npages);
/* Returns pages from uf_page_alloc (any page-aligned part of them), mapped read-write again if their protection
 * was changed. Panics on a double free. */
void uf_page_free(void *p, size_t npages);
/* Claims exactly [p, p + npages pages), zeroed, if all of it is free: 0, or -1 if not. */
int uf_page_claim(void *p, size_t npages);
/* The lowest address of the largest free range (where a growing region has the most room), 0 if none. */
void *uf_page_largest_free(void);

/* How many pages are free now. */
size_t uf_page_free_count(void);

/* Builds the free list from the boot memory map: RAM above 1 MiB minus the image and boot's page tables. */
void uf_mem_init(void);

/* Linux syscalls, -errno on failure. Mappings of files are module vfs's (uf_vfs_map); without it -ENODEV. */
long uf_sys_brk(unsigned long addr);
long uf_sys_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
long uf_sys_munmap(void *addr, size_t len);
long uf_sys_mprotect(void *addr, size_t len, int prot);
long uf_sys_madvise(void *addr, size_t len, int advice);
struct sysinfo;
long uf_sys_sysinfo(struct sysinfo *info);
long uf_sys_mremap(void *old, size_t old_len, size_t new_len, int flags, void *new_addr);
long uf_sys_msync(void *addr, size_t len, int flags);

#endif

/* Memory: a physical page allocator and the anonymous-memory syscalls. Identity mapped: an address returned
 * here is both the virtual and the physical one. */
#ifndef UF_MEM_H
#define UF_MEM_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Device access (DMA) to a buffer a caller gave a driver: the physical address of buf in *pa, and how many bytes
 * from buf on are contiguous in physical memory (1 to len), or -EFAULT (buf is not mapped for the access;
 * device_writes: the device writes it) or -ENOMEM. A driver puts each such run in its own descriptor. RAM is
 * identity mapped, so without module demand this is the identity, inline; module demand's pages lie elsewhere
 * (uf_demand_dma, reached by a weak reference, so that an image without it links none of it). Memory from
 * uf_page_alloc is always identity mapped: a driver's own rings and buffers need none of this. */
long uf_demand_dma(const void *buf, size_t len, int device_writes, uintptr_t *pa) __attribute__((weak));
static inline long uf_mem_dma(const void *buf, size_t len, int device_writes, uintptr_t *pa)
{
	if (uf_demand_dma)
		return uf_demand_dma(buf, len, device_writes, pa);
	*pa = (uintptr_t)buf;
	return len < LONG_MAX ? (long)len : LONG_MAX;
}

/* Backs every page of [buf, buf + len) now: 0, or -ENOMEM. For the library OS's own buffers from malloc (TCP's
 * rings), which it writes into later where a page fault could only end the guest: the app's heap may lie in module
 * demand's pages, backed on first touch. Nothing to do without module demand (a weak reference to its
 * uf_demand_populate). */
int uf_demand_populate(void *buf, size_t len) __attribute__((weak));
static inline int uf_mem_populate(void *buf, size_t len)
{
	return uf_demand_populate ? uf_demand_populate(buf, len) : 0;
}

/* npages contiguous zeroed pages, or NULL. */
void *uf_page_alloc(size_t npages);
/* Returns pages from uf_page_alloc (any page-aligned part of them), mapped read-write again if their protection
 * was changed. Panics on a double free. */
void uf_page_free(void *p, size_t npages);
/* Claims exactly [p, p + npages pages), zeroed, if all of it is free: 0, or -1 if not. */
int uf_page_claim(void *p, size_t npages);
/* The lowest address of the largest free range (where a growing region has the most room), 0 if none. */
void *uf_page_largest_free(void);

/* Module demand's mappings: the lowest address in [from, to) where len bytes overlap no mmap range, 0 if none;
 * [base, end) recorded as an mmap range (munmap, mprotect and MAP_FIXED then accept it), or no longer: 0 or -ENOMEM;
 * whether all of [a, end) is in mmap ranges. */
uintptr_t uf_mem_gap(uintptr_t from, uintptr_t to, size_t len);
int uf_mem_track(uintptr_t base, uintptr_t end);
int uf_mem_untrack(uintptr_t a, uintptr_t end);
int uf_mem_owned(uintptr_t a, uintptr_t end);

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
/* The same five, mem's own: the uf_sys_ ones are weak aliases of them, which module demand overrides (uf/demand.h). */
long uf_mem_brk(unsigned long addr);
long uf_mem_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
long uf_mem_munmap(void *addr, size_t len);
long uf_mem_mprotect(void *addr, size_t len, int prot);
long uf_mem_madvise(void *addr, size_t len, int advice);
struct sysinfo;
long uf_sys_sysinfo(struct sysinfo *info);
long uf_sys_mremap(void *old, size_t old_len, size_t new_len, int flags, void *new_addr);
long uf_sys_msync(void *addr, size_t len, int flags);

#endif

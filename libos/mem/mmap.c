/* brk and anonymous mmap over the page allocator. The pages handed out are recorded (the brk range, and a sorted
 * table of mmap ranges) so that munmap/mprotect/MAP_FIXED act only on memory the app owns. Mappings of files are
 * module vfs's (uf/vfs.h), reached through weak references: an image without files maps none. Five calls are weak
 * aliases of uf_mem_brk, uf_mem_mmap, uf_mem_munmap, uf_mem_mprotect and uf_mem_madvise: module demand, when linked,
 * defines them, keeps its anonymous mappings (pages backed on first touch) and hands the rest here; hello's bytes don't
 * move. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <uf/boot.h>
#include <uf/mem.h>

/* Module vfs: file mappings (weak: an image that opens no files gets no VFS for mmap's sake). */
long uf_vfs_map(void *addr, size_t len, int prot, int flags, int fd, off_t off) __attribute__((weak));
void uf_vfs_unmap(uintptr_t a, uintptr_t end) __attribute__((weak));
int uf_vfs_msync(uintptr_t a, uintptr_t end, int flags) __attribute__((weak));
int uf_vfs_shared(uintptr_t a, uintptr_t end) __attribute__((weak));

#define PAGE UF_PAGE_SIZE
#define RW (PROT_READ | PROT_WRITE)     /* what free RAM is mapped as */

static uintptr_t page_up(uintptr_t a)
{
	return (a + PAGE - 1) & ~(PAGE - 1);
}

/* brk: [brk_base, brk) is the heap; its pages, [brk_base, page_up(brk)), are claimed one range at a time as it
 * grows, so the region is reserved lazily: it starts at the low end of the largest free range, which the page
 * allocator leaves for last. */
static uintptr_t brk_base, brk;

long uf_mem_brk(unsigned long addr)
{
	if (!brk_base)
		brk_base = brk = (uintptr_t)uf_page_largest_free();
	if (!brk_base || addr < brk_base || addr > UINTPTR_MAX - PAGE)
		return brk;             /* Linux answers a query or a failure with the current break */
	uintptr_t have = page_up(brk), need = page_up(addr);
	if (need > have && uf_page_claim((void *)have, (need - have) / PAGE))
		return brk;
	if (need < have) {
		uf_mmu_protect(need, have - need, RW);     /* mprotect may have changed them */
		uf_page_free((void *)need, (have - need) / PAGE);
	}
	return brk = addr;
}

/* The mmap ranges, sorted and disjoint; adjacent ranges are merged. */
struct range {
	uintptr_t base, end;
};
static struct range initial[32], *ranges = initial;
static size_t nranges, capacity = sizeof initial / sizeof *initial;

/* Index of the first range that ends after a. */
static size_t lookup(uintptr_t a)
{
	size_t lo = 0, hi = nranges;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (ranges[mid].end <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Makes room for one more range: 0 or -ENOMEM. */
static int reserve(void)
{
	if (nranges < capacity)
		return 0;
	size_t bytes = 2 * capacity * sizeof *ranges, npages = (bytes + PAGE - 1) / PAGE;
	struct range *n = uf_page_alloc(npages);
	if (!n)
		return -ENOMEM;
	memcpy(n, ranges, nranges * sizeof *ranges);
	if (ranges != initial)
		uf_page_free(ranges, (capacity * sizeof *ranges + PAGE - 1) / PAGE);
	ranges = n;
	capacity = npages * PAGE / sizeof *ranges;
	return 0;
}

static void insert_at(size_t i, uintptr_t base, uintptr_t end)
{
	memmove(&ranges[i + 1], &ranges[i], (nranges - i) * sizeof *ranges);
	ranges[i] = (struct range){ base, end };
	nranges++;
}

static void remove_at(size_t i)
{
	memmove(&ranges[i], &ranges[i + 1], (nranges - i - 1) * sizeof *ranges);
	nranges--;
}

/* Records [base, end) (not overlapping any range): 0 or -ENOMEM. */
static int track(uintptr_t base, uintptr_t end)
{
	if (reserve())
		return -ENOMEM;
	size_t i = lookup(base);
	int join_prev = i > 0 && ranges[i - 1].end == base, join_next = i < nranges && ranges[i].base == end;
	if (join_prev && join_next) {
		ranges[i - 1].end = ranges[i].end;
		remove_at(i);
	} else if (join_prev) {
		ranges[i - 1].end = end;
	} else if (join_next) {
		ranges[i].base = base;
	} else {
		insert_at(i, base, end);
	}
	return 0;
}

/* Forgets [a, end), which lies inside recorded ranges; needs reserve() first (one range may split in two). Inlined,
 * as owned is, as they were before module demand's calls (uf_mem_untrack, uf_mem_owned): hello's bytes don't move. */
static inline __attribute__((always_inline)) void untrack(uintptr_t a, uintptr_t end)
{
	while (a < end) {
		size_t i = lookup(a);
		struct range r = ranges[i];
		uintptr_t stop = end < r.end ? end : r.end;
		if (a > r.base && stop < r.end) {
			ranges[i].end = a;
			insert_at(i + 1, stop, r.end);
		} else if (a > r.base) {
			ranges[i].end = a;
		} else if (stop < r.end) {
			ranges[i].base = stop;
		} else {
			remove_at(i);
		}
		a = stop;
	}
}

/* Is all of [a, end) in mmap ranges (or, with heap, in the brk heap)? */
static inline __attribute__((always_inline)) int owned(uintptr_t a, uintptr_t end, int heap)
{
	while (a < end) {
		size_t i = lookup(a);
		if (heap && a >= brk_base && a < page_up(brk))
			a = page_up(brk);
		else if (i < nranges && ranges[i].base <= a)
			a = ranges[i].end;
		else
			return 0;
	}
	return 1;
}

int uf_mem_track(uintptr_t base, uintptr_t end)
{
	return track(base, end);
}

int uf_mem_untrack(uintptr_t a, uintptr_t end)
{
	if (reserve())
		return -ENOMEM;
	untrack(a, end);
	return 0;
}

int uf_mem_owned(uintptr_t a, uintptr_t end)
{
	return owned(a, end, 0);
}

uintptr_t uf_mem_gap(uintptr_t from, uintptr_t to, size_t len)
{
	uintptr_t a = from;
	for (size_t i = lookup(from); i < nranges && ranges[i].base < to && ranges[i].base < a + len; i++)
		a = ranges[i].end;
	return a < to && to - a >= len ? a : 0;
}

/* The page range of (addr, len): 0, or -EINVAL if unaligned, empty or wrapping. */
static int span(void *addr, size_t len, uintptr_t *a, uintptr_t *end)
{
	*a = (uintptr_t)addr;
	*end = *a + page_up(len);
	return (*a & (PAGE - 1)) || !len || len > SIZE_MAX - PAGE || *end <= *a ? -EINVAL : 0;
}

/* [a, end) stops being a file mapping (written back first if it is a shared one). */
static void forget_files(uintptr_t a, uintptr_t end)
{
	if (uf_vfs_unmap)
		uf_vfs_unmap(a, end);
}

long uf_mem_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	if (!(flags & MAP_ANONYMOUS) && uf_vfs_map)
		return uf_vfs_map(addr, len, prot, flags, fd, off);     /* first: a jump, with the arguments as they are */
	int fixed = flags & (MAP_FIXED | MAP_FIXED_NOREPLACE);    /* without them addr is only a hint: we choose */
	uintptr_t a, end;
	if (!len || (off & (PAGE - 1)) || (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC)) ||
	    (fixed && span(addr, len, &a, &end)))
		return -EINVAL;
	if (!(flags & MAP_ANONYMOUS))
		return -ENODEV;         /* no file mappings without module vfs */
	if (len > SIZE_MAX - PAGE)
		return -ENOMEM;
	size_t npages = page_up(len) / PAGE;

	if (!fixed) {
		void *p = uf_page_alloc(npages);
		if (!p)
			return -ENOMEM;
		a = (uintptr_t)p;
		end = a + npages * PAGE;
		if (track(a, end)) {
			uf_page_free(p, npages);
			return -ENOMEM;
		}
	} else if (owned(a, end, 1)) {
		/* Replacing our own memory (musl's malloc puts a PROT_NONE guard page into its heap this way). */
		if (flags & MAP_FIXED_NOREPLACE)
			return -EEXIST;
		forget_files(a, end);
		uf_mmu_protect(a, end - a, RW);
		memset((void *)a, 0, end - a);
	} else if (!uf_page_claim((void *)a, npages)) {
		if (track(a, end)) {
			uf_page_free((void *)a, npages);
			return -ENOMEM;
		}
	} else {
		return -EINVAL;         /* partly ours, or not free RAM (the image, devices, low memory) */
	}

	int rc = prot == RW ? 0 : uf_mmu_protect(a, end - a, prot);
	if (rc) {
		uf_mem_munmap((void *)a, end - a);
		return rc;
	}
	return (long)a;
}

long uf_mem_munmap(void *addr, size_t len)
{
	uintptr_t a, end;
	if (span(addr, len, &a, &end) || !owned(a, end, 0))
		return -EINVAL;         /* only what mmap handed out (Linux would also unmap the heap or the image) */
	if (reserve())
		return -ENOMEM;
	forget_files(a, end);
	uf_mmu_protect(a, end - a, RW);            /* free pages are read-write: the allocator writes headers */
	untrack(a, end);
	uf_page_free((void *)a, (end - a) / PAGE);
	return 0;
}

long uf_mem_mprotect(void *addr, size_t len, int prot)
{
	uintptr_t a, end;
	if (!len && !((uintptr_t)addr & (PAGE - 1)))
		return 0;
	if (span(addr, len, &a, &end))
		return -EINVAL;
	if (!owned(a, end, 1))
		return -ENOMEM;
	return uf_mmu_protect(a, end - a, prot);
}

long uf_sys_brk(unsigned long addr) __attribute__((weak, alias("uf_mem_brk")));
long uf_sys_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off) __attribute__((weak, alias("uf_mem_mmap")));
long uf_sys_munmap(void *addr, size_t len) __attribute__((weak, alias("uf_mem_munmap")));
long uf_sys_mprotect(void *addr, size_t len, int prot) __attribute__((weak, alias("uf_mem_mprotect")));
long uf_sys_madvise(void *addr, size_t len, int advice) __attribute__((weak, alias("uf_mem_madvise")));

/* Writes shared file mappings back (module vfs); anonymous memory has nothing to write. */
long uf_sys_msync(void *addr, size_t len, int flags)
{
	uintptr_t a = (uintptr_t)addr, end = a + page_up(len);
	if ((a & (PAGE - 1)) || (flags & ~(MS_ASYNC | MS_SYNC | MS_INVALIDATE)) ||
	    ((flags & MS_ASYNC) && (flags & MS_SYNC)) || end < a)
		return -EINVAL;
	if (!owned(a, end, 1))
		return -ENOMEM;
	return uf_vfs_msync ? uf_vfs_msync(a, end, flags) : 0;
}

/* Zeroes the page at a, whatever its prot (uf_mmu_prot's). In module demand's range only a page with access: there
 * PROT_NONE may also be a page not backed, which reads as zeros already (and would be backed by the write). */
static void zero_page(uintptr_t a, int prot)
{
	uintptr_t demand_base, demand_end;
	uf_mmu_demand_range(&demand_base, &demand_end);
	int demand = a >= demand_base && a < demand_end;
	if (prot < 0 || (demand && prot == PROT_NONE))
		return;
	int (*set)(uintptr_t, size_t, int) = demand ? uf_mmu_demand : uf_mmu_protect;
	if (!(prot & PROT_WRITE))
		set(a, PAGE, prot | PROT_WRITE);
	memset((void *)a, 0, PAGE);
	if (!(prot & PROT_WRITE))
		set(a, PAGE, prot);
}

/* MADV_DONTNEED leaves private memory reading as zeros, as on Linux, where allocators count on it (jemalloc and Go's
 * runtime take purged pages back as zeroed ones): here its pages are zeroed and their RAM stays in use (identity-mapped
 * RAM cannot leave its address); module demand's uf_sys_madvise overrides this weak alias and gives the RAM of its
 * own pages back, handing the rest here (in a range that is not all its own, backed demand-zero pages are zeroed, the
 * others read as zeros already). A shared file mapping keeps its bytes, which are its file's; a private one reads as
 * zeros, where Linux would show its file's bytes again. Other advice is only advice. */
long uf_mem_madvise(void *addr, size_t len, int advice)
{
	uintptr_t a, end;
	if ((uintptr_t)addr & (PAGE - 1))
		return -EINVAL;
	if (advice != MADV_DONTNEED || !len)
		return 0;
	if (span(addr, len, &a, &end))
		return -EINVAL;
	if (!owned(a, end, 1))
		return -ENOMEM;
	int shared = uf_vfs_shared && uf_vfs_shared(a, end);
	for (; a < end; a += PAGE)
		if (!(shared && uf_vfs_shared(a, a + PAGE)))
			zero_page(a, uf_mmu_prot(a));
	return 0;
}

/* Growing in place would rarely be possible with an identity map; musl falls back to malloc + copy + free. */
long uf_sys_mremap(void *old, size_t old_len, size_t new_len, int flags, void *new_addr)
{
	(void)old, (void)old_len, (void)new_len, (void)flags, (void)new_addr;
	return -ENOMEM;
}

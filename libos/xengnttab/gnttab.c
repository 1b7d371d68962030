/* Grant tables v1: the table is ours, in a frame Xen maps into our physical memory (XENMAPSPACE_grant_table);
 * an entry grants once its flags say so (written last, after the frame and domain). */
#include <errno.h>
#include <uf/boot.h>
#include <uf/xen.h>
#include <uf/xengnttab.h>

#define GNTTABOP_copy          5
#define GTF_permit_access      1
#define GTF_readonly           (1 << 2)
#define GTF_reading            (1 << 3)
#define GTF_writing            (1 << 4)
#define GNTCOPY_source_gref    1
#define FIRST_FREE_REF         8        /* 0-7 are reserved for the toolstack (console, xenstore) */

struct grant_entry {
	uint16_t flags;
	uint16_t domid;
	uint32_t frame;
};

#define NR_REFS (UF_PAGE_SIZE / sizeof(struct grant_entry))

static volatile struct grant_entry *table(void)
{
	static uint8_t frame[UF_PAGE_SIZE] __attribute__((aligned(UF_PAGE_SIZE)));
	static int mapped;
	if (!mapped)
		mapped = uf_xen_map_page(UF_XEN_XENMAPSPACE_grant_table, 0, frame) ? -1 : 1;
	return mapped > 0 ? (volatile struct grant_entry *)frame : 0;
}

int uf_xen_gnttab_grant(uint16_t domid, const void *page, int readonly)
{
	volatile struct grant_entry *t = table();
	if (!t)
		return -ENOSYS;
	for (unsigned ref = FIRST_FREE_REF; ref < NR_REFS; ref++) {
		if (t[ref].flags)
			continue;
		t[ref].domid = domid;
		t[ref].frame = (uint32_t)((uintptr_t)page / UF_PAGE_SIZE);
		__atomic_thread_fence(__ATOMIC_RELEASE);        /* Xen must see frame and domid before the flags */
		t[ref].flags = GTF_permit_access | (readonly ? GTF_readonly : 0);
		return (int)ref;
	}
	return -ENOSPC;
}

int uf_xen_gnttab_end(int ref)
{
	volatile struct grant_entry *t = table();
	if (!t || ref < FIRST_FREE_REF || (unsigned)ref >= NR_REFS)
		return -EINVAL;
	uint16_t flags = t[ref].flags;
	/* Withdraw only if Xen is not using it meanwhile: it sets reading/writing while the page is mapped. */
	if (flags & (GTF_reading | GTF_writing) ||
	    !__atomic_compare_exchange_n(&t[ref].flags, &flags, 0, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		return -EBUSY;
	return 0;
}

struct copy_ptr {
	uint64_t ref_or_gmfn;           /* union { grant_ref_t ref; xen_pfn_t gmfn; } */
	uint16_t domid;
	uint16_t offset;
};

struct gnttab_copy {
	struct copy_ptr source, dest;
	uint16_t len;
	uint16_t flags;
	int16_t status;
};

int uf_xen_gnttab_copy_from(uint16_t domid, uint32_t ref, uint16_t offset, void *dst, uint16_t len)
{
	uintptr_t to = (uintptr_t)dst;
	if ((to % UF_PAGE_SIZE) + len > UF_PAGE_SIZE || offset + len > UF_PAGE_SIZE)
		return -EINVAL;
	struct gnttab_copy c = {
		.source = { ref, domid, offset },
		.dest = { to / UF_PAGE_SIZE, UF_XEN_DOMID_SELF, (uint16_t)(to % UF_PAGE_SIZE) },
		.len = len, .flags = GNTCOPY_source_gref,
	};
	long rc = uf_xen_hypercall(UF_XEN_grant_table_op, GNTTABOP_copy, (unsigned long)&c, 1, 0, 0);
	if (rc)
		return (int)rc;
	return c.status ? -EIO : 0;     /* GNTST_*: Xen's own codes, not errno */
}

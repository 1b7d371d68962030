/* Xen services every arch asks the same way: shutdown and HVM parameters. */
#include <uf/boot.h>
#include <uf/xen.h>

struct sched_shutdown {
	uint32_t reason;
};

struct hvm_param {
	uint16_t domid;
	uint16_t pad;
	uint32_t index;
	uint64_t value;
};

void uf_xen_shutdown(unsigned reason)
{
	struct sched_shutdown arg = { reason };
	uf_xen_hypercall(UF_XEN_sched_op, UF_XEN_SCHEDOP_shutdown, (unsigned long)&arg, 0, 0, 0);
}

uint64_t uf_xen_hvm_param(unsigned index)
{
	struct hvm_param p = { .domid = UF_XEN_DOMID_SELF, .index = index };
	if (uf_xen_hypercall(UF_XEN_hvm_op, UF_XEN_HVMOP_get_param, (unsigned long)&p, 0, 0, 0) < 0)
		return 0;
	return p.value;
}

/* Xen's e820 entry: packed, 20 bytes. */
struct e820_entry {
	uint64_t addr, size;
	uint32_t type;
} __attribute__((packed));

struct memory_map {
	uint32_t nr_entries;    /* in: room in buffer; out: entries written */
	void *buffer;
};

#define E820_RAM 1

void uf_boot_platform_ram(void)
{
	static struct e820_entry map[UF_BOOT_MAX_RAM * 2];
	struct memory_map arg = { sizeof map / sizeof map[0], map };
	if (uf_xen_hypercall(UF_XEN_memory_op, UF_XEN_XENMEM_memory_map, (unsigned long)&arg, 0, 0, 0) < 0)
		return;
	for (uint32_t i = 0; i < arg.nr_entries; i++)
		if (map[i].type == E820_RAM)
			uf_boot_add_ram(map[i].addr, map[i].size);
}

struct add_to_physmap {
	uint16_t domid;
	uint16_t size;
	uint32_t space;
	uint64_t idx;           /* xen_ulong_t: 64 bits on x86_64 and on ARM */
	uint64_t gpfn;
};

int uf_xen_map_page(unsigned space, unsigned long idx, void *page)
{
	struct add_to_physmap arg = { .domid = UF_XEN_DOMID_SELF, .space = space, .idx = idx,
				      .gpfn = (uintptr_t)page / UF_PAGE_SIZE };
	return (int)uf_xen_hypercall(UF_XEN_memory_op, UF_XEN_XENMEM_add_to_physmap, (unsigned long)&arg, 0, 0, 0);
}

volatile struct uf_xen_shared_info *uf_xen_shared_info(void)
{
	/* Page-aligned .bss: Xen's page replaces this RAM page in our physical map. */
	static uint8_t page[UF_PAGE_SIZE] __attribute__((aligned(UF_PAGE_SIZE)));
	static int mapped;
	if (!mapped)
		mapped = uf_xen_map_page(UF_XEN_XENMAPSPACE_shared_info, 0, page) ? -1 : 1;
	return mapped > 0 ? (volatile struct uf_xen_shared_info *)page : 0;
}

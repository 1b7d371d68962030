/* Xen services every arch asks the same way: shutdown and HVM parameters. */
#include <uf/boot.h>
#include <uf/xen.h>

struct sched_shutdown {
	uint32_t reason;
};

struct hvm_param {
	uint16_t domid;         /* DOMID_SELF */
	uint16_t pad;
	uint32_t index;
	uint64_t value;
};

#define DOMID_SELF 0x7ff0

void uf_xen_shutdown(unsigned reason)
{
	struct sched_shutdown arg = { reason };
	uf_xen_hypercall(UF_XEN_sched_op, UF_XEN_SCHEDOP_shutdown, (unsigned long)&arg, 0, 0, 0);
}

uint64_t uf_xen_hvm_param(unsigned index)
{
	struct hvm_param p = { .domid = DOMID_SELF, .index = index };
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

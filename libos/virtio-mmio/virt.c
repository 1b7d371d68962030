/* QEMU virt (ARMv7): virtio-mmio transports from the device tree ("virtio,mmio" nodes), interrupts through the
 * GIC. QEMU lists them by address and fills them from the highest address down: sorted that way here, the
 * first slot holds the first -device given. */
#include <uf/fdt.h>
#include <uf/trap.h>

#include "mmio.h"

#define FDT_SPI 0               /* interrupts = <type number flags>; type 0: SPI (GIC ID 32 + n), 1: PPI (16 + n) */

int uf_virtio_mmio_slots(struct uf_virtio_mmio_slot *slots, int max)
{
	int n = 0;
	for (int node = uf_fdt_find_compatible("virtio,mmio", -1); node >= 0 && n < max;
	     node = uf_fdt_find_compatible("virtio,mmio", node)) {
		uint64_t base, size;
		int len;
		const uint8_t *irq = uf_fdt_getprop(node, "interrupts", &len);
		if (!uf_fdt_is_okay(node) || uf_fdt_reg(node, 0, &base, &size) || size < 0x100 || base >> 32)
			continue;
		int id = -1;
		if (irq && len >= 12)
			id = (uf_fdt_read32(irq) == FDT_SPI ? 32 : 16) + (int)uf_fdt_read32(irq + 4);
		struct uf_virtio_mmio_slot s = { (uintptr_t)base, id };
		int at = n++;
		for (; at > 0 && slots[at - 1].base < s.base; at--)        /* insertion sort, highest first */
			slots[at] = slots[at - 1];
		slots[at] = s;
	}
	return n;
}

int uf_virtio_mmio_route(const struct uf_virtio_mmio_slot *slot, void (*fn)(void))
{
	if (slot->irq < 16 || slot->irq > 1019)
		return -1;
	uf_trap_set_handler(slot->irq, fn);
	return 0;
}

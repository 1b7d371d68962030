/* QEMU microvm (x86_64): virtio-mmio transports at fixed 512-byte slots from 0xfeb00000. QEMU fills them from
 * the highest slot down and would list them on the kernel command line (virtio_mmio.device=...), but after our
 * `--`, where they would become the app's arguments: the target turns that off (auto-kernel-cmdline=off) and
 * the slots are probed by their magic value instead (an absent slot reads 0).
 * Interrupts: with the second IOAPIC (24 transports) slot i raises GSI 24 + i, else (8 transports) GSI 5 + i. */
#include <uf/x86-irq.h>

#include "mmio.h"

#define SLOTS_BASE 0xfeb00000u
#define SLOT_SIZE 0x200
#define SLOTS_WITH_IOAPIC2 24
#define SLOTS_WITHOUT 8

int uf_virtio_mmio_slots(struct uf_virtio_mmio_slot *slots, int max)
{
	int ioapic2 = uf_irq_gsi_count() > 24, n = 0;
	int count = ioapic2 ? SLOTS_WITH_IOAPIC2 : SLOTS_WITHOUT, gsi_base = ioapic2 ? 24 : 5;
	for (int i = count - 1; i >= 0 && n < max; i--)
		slots[n++] = (struct uf_virtio_mmio_slot){ SLOTS_BASE + i * SLOT_SIZE, gsi_base + i };
	return n;
}

int uf_virtio_mmio_route(const struct uf_virtio_mmio_slot *slot, void (*fn)(void))
{
	return uf_irq_route_gsi(slot->irq, fn);
}

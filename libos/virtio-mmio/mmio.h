/* Between the register-level transport (mmio.c) and the per-machine discovery (microvm.c, virt.c). */
#ifndef VIRTIO_MMIO_H
#define VIRTIO_MMIO_H

#include <stdint.h>

#define UF_VIRTIO_MMIO_MAX 32           /* transports a machine has at most (virt: 32, microvm: 24) */

/* A transport slot found on the machine: its registers and its interrupt (machine-specific number). */
struct uf_virtio_mmio_slot {
	uintptr_t base;
	int irq;
};

/* Fills slots with the machine's transports, in the order QEMU fills them with -device options (the first
 * device given goes to the first slot listed). Returns how many. */
int uf_virtio_mmio_slots(struct uf_virtio_mmio_slot *slots, int max);
/* Routes slot's interrupt to fn; 0, or -1 if it cannot be routed. */
int uf_virtio_mmio_route(const struct uf_virtio_mmio_slot *slot, void (*fn)(void));

#endif

/* Virtio 1.x (modern devices only), in three layers (virtio spec v1.2):
 *   transport  (module virtio-mmio or virtio-pci; the target's platform compiles exactly one of them): finds
 *              devices, reaches their registers, sets up queues, routes and acknowledges their interrupt;
 *   core       (module virtio): feature negotiation and split virtqueues, the same on every transport;
 *   device     (modules virtio-net, virtio-blk): a uf/netdev.h or uf/blkdev.h device on top.
 * Descriptors hold physical addresses. The rings and a driver's own buffers come from uf_page_alloc, identity
 * mapped: their pointer is their address. A buffer a caller gives a driver may lie in demand-zero memory, mapped
 * page by page: uf_mem_dma (uf/mem.h) gives its physical runs. Single CPU, process context. */
#ifndef UF_VIRTIO_H
#define UF_VIRTIO_H

#include <stddef.h>
#include <stdint.h>

/* Device status bits (spec 2.1). */
#define UF_VIRTIO_S_ACKNOWLEDGE 1
#define UF_VIRTIO_S_DRIVER      2
#define UF_VIRTIO_S_DRIVER_OK   4
#define UF_VIRTIO_S_FEATURES_OK 8
#define UF_VIRTIO_S_FAILED      128

/* Device-independent feature bits (spec 6). */
#define UF_VIRTIO_F_VERSION_1   32

/* Device types (spec 5). */
#define UF_VIRTIO_ID_NET 1
#define UF_VIRTIO_ID_BLK 2

/* A device a transport found. The transport's own state hangs off `transport`. */
struct uf_virtio_dev {
	uint32_t device_id;
	uint64_t features;      /* negotiated, after uf_virtio_start() */
	void *transport;
};

struct uf_virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

struct uf_virtq_avail {
	uint16_t flags, idx;
	uint16_t ring[];
};

struct uf_virtq_used_elem {
	uint32_t id, len;
};

struct uf_virtq_used {
	uint16_t flags, idx;
	struct uf_virtq_used_elem ring[];
};

/* A split virtqueue (spec 2.7). */
struct uf_virtq {
	uint16_t index, size;
	uint16_t num_free, free_head;   /* free descriptors are chained through `next` */
	uint16_t last_used;             /* the used-ring index we have consumed up to */
	volatile struct uf_virtq_desc *desc;
	volatile struct uf_virtq_avail *avail;
	volatile struct uf_virtq_used *used;
	void **tokens;                  /* per head descriptor: what uf_virtq_add was given */
	uintptr_t notify;               /* the transport's: where a kick for this queue goes */
};

/* ---- Transport: defined by virtio-mmio or virtio-pci ---- */

/* The index-th device of type device_id (0 = the first given to QEMU); buses are probed on first call. NULL if
 * there is none. The device is found, not yet reset. */
struct uf_virtio_dev *uf_virtio_find(uint32_t device_id, int index);
uint64_t uf_virtio_device_features(struct uf_virtio_dev *dev);
void uf_virtio_set_driver_features(struct uf_virtio_dev *dev, uint64_t features);
uint8_t uf_virtio_get_status(struct uf_virtio_dev *dev);
void uf_virtio_set_status(struct uf_virtio_dev *dev, uint8_t status);      /* 0 resets the device */
/* Device-specific configuration, read with the width of the field (spec 4.2.2.2: 32 bits for 64-bit fields). */
uint8_t uf_virtio_config8(struct uf_virtio_dev *dev, unsigned offset);
uint32_t uf_virtio_config32(struct uf_virtio_dev *dev, unsigned offset);
uint32_t uf_virtio_config_generation(struct uf_virtio_dev *dev);
/* The largest size the device allows for queue `index` (0: no such queue). */
uint16_t uf_virtio_queue_max(struct uf_virtio_dev *dev, uint16_t index);
/* Gives the device vq's rings (allocated by uf_virtq_alloc) and enables it; sets vq->notify. 0 or -1. */
int uf_virtio_queue_enable(struct uf_virtio_dev *dev, struct uf_virtq *vq);
/* Tells the device that vq has new available buffers. */
void uf_virtio_queue_notify(struct uf_virtio_dev *dev, struct uf_virtq *vq);
/* Routes the device's interrupt to a handler that only acknowledges it (the waiter polls the queues): 0, or -1
 * when there is no usable interrupt (the driver then polls with a deadline). Call after uf_virtio_start and
 * before setting up queues (virtio-pci gives each queue the device's MSI-X vector as it is enabled). */
int uf_virtio_enable_interrupt(struct uf_virtio_dev *dev);

/* ---- Core: module virtio ---- */

/* Resets dev, acknowledges it, and negotiates features: those in `wanted` (bit numbers, UF_VIRTIO_F_VERSION_1
 * among them) that the device offers, FEATURES_OK read back. Returns 0 (dev->features set), or -1 with the
 * device marked FAILED (it is not a modern device, or refused the features). */
int uf_virtio_start(struct uf_virtio_dev *dev, const uint8_t *wanted, size_t nwanted);
/* 1 if feature bit `bit` was negotiated. */
static inline int uf_virtio_has(const struct uf_virtio_dev *dev, unsigned bit)
{
	return (dev->features >> bit) & 1;
}
/* Sets DRIVER_OK: the device is live once its queues are enabled. */
void uf_virtio_ready(struct uf_virtio_dev *dev);
/* Marks the device FAILED (a setup step after negotiation went wrong). */
void uf_virtio_fail(struct uf_virtio_dev *dev);
/* A 64-bit configuration field, read consistently (config generation, spec 2.5.1). */
uint64_t uf_virtio_config64(struct uf_virtio_dev *dev, unsigned offset);

/* Allocates and enables queue `index` with at most max_size entries (the device may allow fewer). 0 or -1. */
int uf_virtq_setup(struct uf_virtio_dev *dev, struct uf_virtq *vq, uint16_t index, uint16_t max_size);

/* One buffer of a chain, at physical address addr (pointer-sized: ARMv7's page tables map 32-bit physical
 * addresses): the device reads it, or (device_writes) writes it. */
struct uf_virtq_seg {
	uintptr_t addr;
	uint32_t len;
	int device_writes;
};
/* Makes a chain of n segments available (not yet kicked); token comes back from uf_virtq_next_used.
 * Returns 0, or -1 if fewer than n descriptors are free. */
int uf_virtq_add(struct uf_virtq *vq, const struct uf_virtq_seg *segs, int n, void *token);
/* Notifies the device of what uf_virtq_add made available, unless it asked not to be. */
void uf_virtq_kick(struct uf_virtio_dev *dev, struct uf_virtq *vq);
/* The next chain the device has finished with: its token, and the bytes the device wrote in *written; its
 * descriptors are free again. NULL when there is none. */
void *uf_virtq_next_used(struct uf_virtq *vq, uint32_t *written);
/* Asks the device to interrupt (on, the default) or not when it uses this queue's buffers (a hint). */
void uf_virtq_interrupts(struct uf_virtq *vq, int on);
/* Whether the device used buffers that uf_virtq_next_used has not returned yet (ordered after a previous
 * uf_virtq_interrupts: turn the interrupt on, then look, and no buffer is missed). */
int uf_virtq_has_used(struct uf_virtq *vq);

/* Barriers between our ring writes/reads and the device's. */
static inline void uf_virtio_mb(void)
{
#if defined(__x86_64__)
	__asm__ volatile("mfence" ::: "memory");
#else
	__asm__ volatile("dmb sy" ::: "memory");
#endif
}

static inline void uf_virtio_wmb(void)
{
#if defined(__x86_64__)
	__asm__ volatile("" ::: "memory");      /* x86 keeps stores in order */
#else
	__asm__ volatile("dmb st" ::: "memory");
#endif
}

static inline void uf_virtio_rmb(void)
{
#if defined(__x86_64__)
	__asm__ volatile("" ::: "memory");      /* x86 keeps loads in order */
#else
	__asm__ volatile("dmb sy" ::: "memory");
#endif
}

#endif

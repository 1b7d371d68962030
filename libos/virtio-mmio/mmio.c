/* The virtio-mmio transport, version 2 registers (spec 4.2.2). Devices are found once, on the first
 * uf_virtio_find; legacy (version 1) transports are skipped with a note, since only modern devices are driven. */
#include <uf/console.h>
#include <uf/virtio.h>

#include "mmio.h"

#define MAGIC                   0x000
#define VERSION                 0x004
#define DEVICE_ID               0x008
#define DEVICE_FEATURES         0x010
#define DEVICE_FEATURES_SEL     0x014
#define DRIVER_FEATURES         0x020
#define DRIVER_FEATURES_SEL     0x024
#define QUEUE_SEL               0x030
#define QUEUE_NUM_MAX           0x034
#define QUEUE_NUM               0x038
#define QUEUE_READY             0x044
#define QUEUE_NOTIFY            0x050
#define INTERRUPT_STATUS        0x060
#define INTERRUPT_ACK           0x064
#define STATUS                  0x070
#define QUEUE_DESC              0x080
#define QUEUE_DRIVER            0x090
#define QUEUE_DEVICE            0x0a0
#define CONFIG_GENERATION       0x0fc
#define CONFIG                  0x100

#define MAGIC_VALUE 0x74726976          /* "virt" */

struct mmio_dev {
	struct uf_virtio_dev dev;
	struct uf_virtio_mmio_slot slot;
};

static struct mmio_dev devs[UF_VIRTIO_MMIO_MAX];
static int ndevs = -1;                  /* -1: not probed yet */

static uint32_t rd(uintptr_t base, unsigned reg)
{
	return *(volatile uint32_t *)(base + reg);
}

static void wr(uintptr_t base, unsigned reg, uint32_t v)
{
	*(volatile uint32_t *)(base + reg) = v;
}

static uintptr_t base_of(struct uf_virtio_dev *dev)
{
	return ((struct mmio_dev *)dev->transport)->slot.base;
}

static void probe(void)
{
	struct uf_virtio_mmio_slot slots[UF_VIRTIO_MMIO_MAX];
	int n = uf_virtio_mmio_slots(slots, UF_VIRTIO_MMIO_MAX);
	ndevs = 0;
	for (int i = 0; i < n; i++) {
		uintptr_t b = slots[i].base;
		uint32_t id;
		if (rd(b, MAGIC) != MAGIC_VALUE || !(id = rd(b, DEVICE_ID)))
			continue;
		if (rd(b, VERSION) != 2) {
			uf_printk("virtio-mmio: skipping the legacy device (type %u) at 0x%lx: QEMU needs "
				  "-global virtio-mmio.force-legacy=false\n", id, (unsigned long)b);
			continue;
		}
		struct mmio_dev *d = &devs[ndevs++];
		d->slot = slots[i];
		d->dev.device_id = id;
		d->dev.transport = d;
	}
}

struct uf_virtio_dev *uf_virtio_find(uint32_t device_id, int index)
{
	if (ndevs < 0)
		probe();
	for (int i = 0; i < ndevs; i++)
		if (devs[i].dev.device_id == device_id && index-- == 0)
			return &devs[i].dev;
	return NULL;
}

uint64_t uf_virtio_device_features(struct uf_virtio_dev *dev)
{
	uintptr_t b = base_of(dev);
	wr(b, DEVICE_FEATURES_SEL, 1);
	uint64_t hi = rd(b, DEVICE_FEATURES);
	wr(b, DEVICE_FEATURES_SEL, 0);
	return hi << 32 | rd(b, DEVICE_FEATURES);
}

void uf_virtio_set_driver_features(struct uf_virtio_dev *dev, uint64_t features)
{
	uintptr_t b = base_of(dev);
	wr(b, DRIVER_FEATURES_SEL, 1);
	wr(b, DRIVER_FEATURES, features >> 32);
	wr(b, DRIVER_FEATURES_SEL, 0);
	wr(b, DRIVER_FEATURES, (uint32_t)features);
}

uint8_t uf_virtio_get_status(struct uf_virtio_dev *dev)
{
	return rd(base_of(dev), STATUS);
}

void uf_virtio_set_status(struct uf_virtio_dev *dev, uint8_t status)
{
	wr(base_of(dev), STATUS, status);
}

uint8_t uf_virtio_config8(struct uf_virtio_dev *dev, unsigned offset)
{
	return *(volatile uint8_t *)(base_of(dev) + CONFIG + offset);
}

uint32_t uf_virtio_config32(struct uf_virtio_dev *dev, unsigned offset)
{
	return rd(base_of(dev), CONFIG + offset);
}

uint32_t uf_virtio_config_generation(struct uf_virtio_dev *dev)
{
	return rd(base_of(dev), CONFIG_GENERATION);
}

uint16_t uf_virtio_queue_max(struct uf_virtio_dev *dev, uint16_t index)
{
	uintptr_t b = base_of(dev);
	wr(b, QUEUE_SEL, index);
	uint32_t max = rd(b, QUEUE_NUM_MAX);
	return max > 0x8000 ? 0x8000 : max;
}

static void wr64(uintptr_t b, unsigned reg, const volatile void *p)
{
	wr(b, reg, (uint32_t)(uintptr_t)p);
	wr(b, reg + 4, (uint32_t)((uint64_t)(uintptr_t)p >> 32));
}

int uf_virtio_queue_enable(struct uf_virtio_dev *dev, struct uf_virtq *vq)
{
	uintptr_t b = base_of(dev);
	wr(b, QUEUE_SEL, vq->index);
	wr(b, QUEUE_NUM, vq->size);
	wr64(b, QUEUE_DESC, vq->desc);
	wr64(b, QUEUE_DRIVER, vq->avail);
	wr64(b, QUEUE_DEVICE, vq->used);
	wr(b, QUEUE_READY, 1);
	vq->notify = b + QUEUE_NOTIFY;
	return 0;
}

void uf_virtio_queue_notify(struct uf_virtio_dev *dev, struct uf_virtq *vq)
{
	(void)dev;
	*(volatile uint32_t *)vq->notify = vq->index;
}

/* Acknowledging lowers the interrupt line; the waiter then finds the work in the queues. */
static void acknowledge(int i)
{
	uintptr_t b = devs[i].slot.base;
	wr(b, INTERRUPT_ACK, rd(b, INTERRUPT_STATUS));
}

/* uf_trap_set_handler takes no argument: one entry point per device. */
#define HANDLER(i) static void irq##i(void) { acknowledge(i); }
HANDLER(0) HANDLER(1) HANDLER(2) HANDLER(3) HANDLER(4) HANDLER(5) HANDLER(6) HANDLER(7)
static void (*const handlers[])(void) = { irq0, irq1, irq2, irq3, irq4, irq5, irq6, irq7 };

int uf_virtio_enable_interrupt(struct uf_virtio_dev *dev)
{
	int i = (struct mmio_dev *)dev->transport - devs;
	if (i >= (int)(sizeof handlers / sizeof handlers[0]))
		return -1;
	return uf_virtio_mmio_route(&devs[i].slot, handlers[i]);
}

/* The virtio-pci transport for modern devices (spec 4.1): the common, notify, ISR and device configuration
 * structures found through vendor capabilities, one MSI-X vector per device for all its queues. Without MSI-X
 * the driver polls (INTx would need the ACPI tables to tell its GSI). Devices on bus 0, in slot order, which
 * is the order of the -device options on q35. */
#include <uf/virtio.h>
#include <uf/x86-irq.h>

#include "pci.h"

#define VENDOR_VIRTIO 0x1af4
#define DEVICE_TRANSITIONAL_FIRST 0x1000        /* 0x1000-0x103f: type in the subsystem ID */
#define DEVICE_MODERN_FIRST 0x1040              /* 0x1040 + type */
#define DEVICE_LAST 0x107f
#define MAX_DEVICES 8

#define CAP_VENDOR 0x09
#define CAP_MSIX 0x11
#define CFG_COMMON 1
#define CFG_NOTIFY 2
#define CFG_DEVICE 4

/* struct virtio_pci_common_cfg (spec 4.1.4.3) */
#define COMMON_DFSELECT 0
#define COMMON_DF 4
#define COMMON_GFSELECT 8
#define COMMON_GF 12
#define COMMON_MSIX 16
#define COMMON_STATUS 20
#define COMMON_CFGGEN 21
#define COMMON_Q_SELECT 22
#define COMMON_Q_SIZE 24
#define COMMON_Q_MSIX 26
#define COMMON_Q_ENABLE 28
#define COMMON_Q_NOFF 30
#define COMMON_Q_DESC 32
#define COMMON_Q_DRIVER 40
#define COMMON_Q_DEVICE 48
#define NO_VECTOR 0xffff

#define MSIX_ENABLE 0x8000
#define MSIX_MASKALL 0x4000

struct pci_dev {
	struct uf_virtio_dev dev;
	int slot, fn;
	uintptr_t common, notify, device;
	uint32_t notify_multiplier;
	int msix_cap;                   /* config offset of the MSI-X capability, 0 if none */
	int msix_on;                    /* queues are given vector 0 */
};

static struct pci_dev devs[MAX_DEVICES];
static int ndevs = -1;

#define REG(type, addr) (*(volatile type *)(addr))

static struct pci_dev *pd(struct uf_virtio_dev *dev)
{
	return dev->transport;
}

/* Reads the capabilities of a virtio function: 0 if the common, notify and device structures were found (the
 * ISR one serves INTx only). */
static int map_caps(struct pci_dev *d)
{
	if (!(uf_pci_read16(d->slot, d->fn, PCI_STATUS) & PCI_STATUS_CAPS))
		return -1;
	int guard = 48;                 /* a looping capability list ends here */
	for (int cap = uf_pci_read8(d->slot, d->fn, PCI_CAP_PTR) & 0xfc; cap && guard--;
	     cap = uf_pci_read8(d->slot, d->fn, cap + 1) & 0xfc) {
		uint8_t id = uf_pci_read8(d->slot, d->fn, cap);
		if (id == CAP_MSIX)
			d->msix_cap = cap;
		if (id != CAP_VENDOR)
			continue;
		uint8_t type = uf_pci_read8(d->slot, d->fn, cap + 3), bar = uf_pci_read8(d->slot, d->fn, cap + 4);
		uintptr_t *where = type == CFG_COMMON ? &d->common : type == CFG_NOTIFY ? &d->notify :
				   type == CFG_DEVICE ? &d->device : NULL;
		if (!where || *where || bar > 5)
			continue;               /* the first of each type is the preferred one (spec 4.1.4) */
		uintptr_t base = uf_pci_bar(d->slot, d->fn, bar);
		if (!base)
			continue;
		*where = base + uf_pci_read32(d->slot, d->fn, cap + 8);
		if (type == CFG_NOTIFY)
			d->notify_multiplier = uf_pci_read32(d->slot, d->fn, cap + 16);
	}
	return d->common && d->notify && d->device ? 0 : -1;
}

static void probe(void)
{
	ndevs = 0;
	for (int slot = 0; slot < 32; slot++) {
		int functions = uf_pci_read8(slot, 0, PCI_HEADER_TYPE) & 0x80 ? 8 : 1;
		for (int fn = 0; fn < functions && ndevs < MAX_DEVICES; fn++) {
			uint32_t id = uf_pci_read32(slot, fn, PCI_VENDOR_ID);
			uint16_t device = id >> 16;
			if ((id & 0xffff) != VENDOR_VIRTIO || device < DEVICE_TRANSITIONAL_FIRST || device > DEVICE_LAST)
				continue;
			struct pci_dev *d = &devs[ndevs];
			*d = (struct pci_dev){ .slot = slot, .fn = fn };
			d->dev.device_id = device >= DEVICE_MODERN_FIRST ? device - DEVICE_MODERN_FIRST :
					   uf_pci_read16(slot, fn, PCI_SUBSYSTEM_ID);
			d->dev.transport = d;
			if (map_caps(d) == 0) {
				uf_pci_write16(slot, fn, PCI_COMMAND,
					       uf_pci_read16(slot, fn, PCI_COMMAND) | PCI_COMMAND_MASTER);
				ndevs++;
			}
		}
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
	uintptr_t c = pd(dev)->common;
	REG(uint32_t, c + COMMON_DFSELECT) = 1;
	uint64_t hi = REG(uint32_t, c + COMMON_DF);
	REG(uint32_t, c + COMMON_DFSELECT) = 0;
	return hi << 32 | REG(uint32_t, c + COMMON_DF);
}

void uf_virtio_set_driver_features(struct uf_virtio_dev *dev, uint64_t features)
{
	uintptr_t c = pd(dev)->common;
	REG(uint32_t, c + COMMON_GFSELECT) = 1;
	REG(uint32_t, c + COMMON_GF) = features >> 32;
	REG(uint32_t, c + COMMON_GFSELECT) = 0;
	REG(uint32_t, c + COMMON_GF) = (uint32_t)features;
}

uint8_t uf_virtio_get_status(struct uf_virtio_dev *dev)
{
	return REG(uint8_t, pd(dev)->common + COMMON_STATUS);
}

void uf_virtio_set_status(struct uf_virtio_dev *dev, uint8_t status)
{
	REG(uint8_t, pd(dev)->common + COMMON_STATUS) = status;
}

uint8_t uf_virtio_config8(struct uf_virtio_dev *dev, unsigned offset)
{
	return REG(uint8_t, pd(dev)->device + offset);
}

uint32_t uf_virtio_config32(struct uf_virtio_dev *dev, unsigned offset)
{
	return REG(uint32_t, pd(dev)->device + offset);
}

uint32_t uf_virtio_config_generation(struct uf_virtio_dev *dev)
{
	return REG(uint8_t, pd(dev)->common + COMMON_CFGGEN);
}

uint16_t uf_virtio_queue_max(struct uf_virtio_dev *dev, uint16_t index)
{
	uintptr_t c = pd(dev)->common;
	REG(uint16_t, c + COMMON_Q_SELECT) = index;
	return REG(uint16_t, c + COMMON_Q_SIZE);
}

/* 64-bit fields as two 32-bit writes, which every device accepts (spec 4.1.3.1). */
static void write64(uintptr_t a, uint64_t v)
{
	REG(uint32_t, a) = (uint32_t)v;
	REG(uint32_t, a + 4) = v >> 32;
}

int uf_virtio_queue_enable(struct uf_virtio_dev *dev, struct uf_virtq *vq)
{
	struct pci_dev *d = pd(dev);
	uintptr_t c = d->common;
	REG(uint16_t, c + COMMON_Q_SELECT) = vq->index;
	REG(uint16_t, c + COMMON_Q_SIZE) = vq->size;
	if (d->msix_on) {
		REG(uint16_t, c + COMMON_Q_MSIX) = 0;
		if (REG(uint16_t, c + COMMON_Q_MSIX) != 0)
			return -1;      /* the device could not take the vector (spec 4.1.5.1.2) */
	}
	write64(c + COMMON_Q_DESC, (uintptr_t)vq->desc);
	write64(c + COMMON_Q_DRIVER, (uintptr_t)vq->avail);
	write64(c + COMMON_Q_DEVICE, (uintptr_t)vq->used);
	vq->notify = d->notify + (uintptr_t)REG(uint16_t, c + COMMON_Q_NOFF) * d->notify_multiplier;
	REG(uint16_t, c + COMMON_Q_ENABLE) = 1;
	return 0;
}

void uf_virtio_queue_notify(struct uf_virtio_dev *dev, struct uf_virtq *vq)
{
	(void)dev;
	REG(uint16_t, vq->notify) = vq->index;
}

/* An MSI-X message needs no acknowledging: taking it is what wakes the waiter. */
static void msix_wake(void)
{
}

int uf_virtio_enable_interrupt(struct uf_virtio_dev *dev)
{
	struct pci_dev *d = pd(dev);
	uint64_t address;
	uint32_t data;
	if (!d->msix_cap || uf_irq_msi(msix_wake, &address, &data))
		return -1;
	uint32_t table = uf_pci_read32(d->slot, d->fn, d->msix_cap + 4);
	uintptr_t bar = uf_pci_bar(d->slot, d->fn, table & 7);
	if (!bar)
		return -1;
	volatile uint32_t *entry = (volatile uint32_t *)(bar + (table & ~7u));   /* entry 0 */
	entry[0] = (uint32_t)address;
	entry[1] = address >> 32;
	entry[2] = data;
	entry[3] = 0;                                   /* unmasked */
	uint16_t control = uf_pci_read16(d->slot, d->fn, d->msix_cap + 2);
	uf_pci_write16(d->slot, d->fn, d->msix_cap + 2, (control | MSIX_ENABLE) & ~MSIX_MASKALL);
	uf_pci_write16(d->slot, d->fn, PCI_COMMAND,
		       uf_pci_read16(d->slot, d->fn, PCI_COMMAND) | PCI_COMMAND_INTX_OFF);
	REG(uint16_t, d->common + COMMON_MSIX) = NO_VECTOR;     /* no configuration-change interrupts */
	d->msix_on = 1;
	return 0;
}

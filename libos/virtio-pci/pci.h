/* PCI configuration space and memory BARs, for the virtio-pci transport (PCI Local Bus spec 3.0, ch. 6). */
#ifndef VIRTIO_PCI_PCI_H
#define VIRTIO_PCI_PCI_H

#include <stdint.h>

#define PCI_VENDOR_ID   0x00
#define PCI_DEVICE_ID   0x02
#define PCI_COMMAND     0x04
#define PCI_STATUS      0x06
#define PCI_HEADER_TYPE 0x0e
#define PCI_SUBSYSTEM_ID 0x2e
#define PCI_CAP_PTR     0x34

#define PCI_COMMAND_MEMORY  0x2
#define PCI_COMMAND_MASTER  0x4
#define PCI_COMMAND_INTX_OFF 0x400
#define PCI_STATUS_CAPS     0x10

/* A function on bus 0: device (0-31) and function (0-7). */
uint32_t uf_pci_read32(int dev, int fn, int reg);
uint16_t uf_pci_read16(int dev, int fn, int reg);
uint8_t uf_pci_read8(int dev, int fn, int reg);
void uf_pci_write32(int dev, int fn, int reg, uint32_t v);
void uf_pci_write16(int dev, int fn, int reg, uint16_t v);
/* The address of memory BAR `bar`, assigning one in the 32-bit PCI window if the firmware did not; memory
 * decoding is on afterwards. 0 if the BAR is not a memory BAR. */
uintptr_t uf_pci_bar(int dev, int fn, int bar);

#endif

/* PCI configuration mechanism #1 (ports 0xcf8/0xcfc) on bus 0, and memory BARs. */
#include <uf/x86_64.h>

#include "pci.h"

#define CONFIG_ADDRESS 0xcf8
#define CONFIG_DATA 0xcfc
#define BAR0 0x10
#define BAR_IO 0x1
#define BAR_64 0x4                      /* memory BAR type bits 2:1 = 10b */
/* Where BARs the firmware left unassigned go: q35's 32-bit PCI window above its ECAM (0xb0000000-0xbfffffff),
 * below the IOAPIC. qboot assigns none on q35, so everything the driver needs is placed here. A 64-bit BAR that
 * UEFI firmware (OVMF) put above 4 GiB, where the page tables map nothing, moves to the top of that window, above
 * OVMF's own 32-bit window (which ends at 0xfc000000), clear of the BARs it placed there. */
#define WINDOW_START 0xc0000000u
#define MOVED_START 0xfc000000u
#define WINDOW_END 0xfec00000u

static uintptr_t window_next = WINDOW_START, moved_next = MOVED_START;

static void select(int dev, int fn, int reg)
{
	uf_outl(CONFIG_ADDRESS, 0x80000000u | dev << 11 | fn << 8 | (reg & 0xfc));
}

uint32_t uf_pci_read32(int dev, int fn, int reg)
{
	select(dev, fn, reg);
	return uf_inl(CONFIG_DATA);
}

uint16_t uf_pci_read16(int dev, int fn, int reg)
{
	select(dev, fn, reg);
	return uf_inw(CONFIG_DATA + (reg & 2));
}

uint8_t uf_pci_read8(int dev, int fn, int reg)
{
	select(dev, fn, reg);
	return uf_inb(CONFIG_DATA + (reg & 3));
}

void uf_pci_write32(int dev, int fn, int reg, uint32_t v)
{
	select(dev, fn, reg);
	uf_outl(CONFIG_DATA, v);
}

void uf_pci_write16(int dev, int fn, int reg, uint16_t v)
{
	select(dev, fn, reg);
	uf_outw(CONFIG_DATA + (reg & 2), v);
}

uintptr_t uf_pci_bar(int dev, int fn, int bar)
{
	int reg = BAR0 + 4 * bar;
	uint32_t lo = uf_pci_read32(dev, fn, reg);
	if (lo & BAR_IO)
		return 0;
	int wide = (lo & 0x6) == BAR_64;
	uint64_t addr = lo & ~0xfull;
	if (wide)
		addr |= (uint64_t)uf_pci_read32(dev, fn, reg + 4) << 32;
	if (!addr || addr >> 32) {
		/* Size it (write all ones, read back the writable bits), then place it naturally aligned. */
		uint16_t cmd = uf_pci_read16(dev, fn, PCI_COMMAND);
		uf_pci_write16(dev, fn, PCI_COMMAND, cmd & ~PCI_COMMAND_MEMORY);
		uf_pci_write32(dev, fn, reg, ~0u);
		uint32_t size = ~(uf_pci_read32(dev, fn, reg) & ~0xfu) + 1;
		uintptr_t *next = addr ? &moved_next : &window_next;
		uintptr_t at = (*next + size - 1) & ~(uintptr_t)(size - 1);
		if (!size || at + size > WINDOW_END || at < *next) {
			uf_pci_write32(dev, fn, reg, lo);
			return 0;
		}
		*next = at + size;
		uf_pci_write32(dev, fn, reg, (uint32_t)at | (lo & 0xf));
		if (wide)
			uf_pci_write32(dev, fn, reg + 4, 0);
		addr = at;
	}
	uf_pci_write16(dev, fn, PCI_COMMAND, uf_pci_read16(dev, fn, PCI_COMMAND) | PCI_COMMAND_MEMORY);
	return (uintptr_t)addr;
}

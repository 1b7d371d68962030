/* PL011 UART (ARM PrimeCell, the console of QEMU's virt machine), polled: no interrupts, so output is synchronous
 * and survives a crash. Its address comes from the device tree: /chosen stdout-path, else the first
 * "arm,pl011" node; before the device tree is known (an early panic), virt's. */
#include <uf/armv7.h>
#include <uf/console.h>
#include <uf/fdt.h>

#define VIRT_UART 0x09000000u
#define DR     0x000            /* data */
#define FR     0x018            /* flags */
#define FR_TXFF (1u << 5)       /* transmit FIFO full */
#define FR_TXFE (1u << 7)       /* transmit FIFO empty */
#define LCR_H  0x02c            /* line control */
#define LCR_H_FEN   (1u << 4)   /* FIFOs on */
#define LCR_H_WLEN8 (3u << 5)   /* 8 data bits (no parity, 1 stop bit) */
#define CR     0x030            /* control */
#define CR_UARTEN (1u << 0)
#define CR_TXE    (1u << 8)
#define CR_RXE    (1u << 9)
#define IMSC   0x038            /* interrupt mask: 0 = none */
#define FIFO   16               /* bytes the transmit FIFO holds (PL011 r1p4; r1p5 has 32) */

static uintptr_t base;

/* The lookups run once: minsize (an emulator translates code before its first run: small is fast there). */
__attribute__((minsize)) static int is_uart(int node, uintptr_t *at)
{
	uint64_t b, size;
	if (node < 0 || !uf_fdt_is_compatible(node, "arm,pl011") || uf_fdt_reg(node, 0, &b, &size) || b >> 32)
		return 0;
	*at = (uintptr_t)b;
	return 1;
}

__attribute__((minsize)) static uintptr_t find_uart(void)
{
	if (!uf_fdt_blob())
		return VIRT_UART;
	/* stdout-path is a node path, possibly followed by ":options" (cut in a copy: uf_fdt_path takes a string). */
	const char *out = uf_fdt_getstring(uf_fdt_path("/chosen"), "stdout-path");
	char path[128];
	size_t n = 0;
	for (; out && out[n] && out[n] != ':' && n < sizeof path - 1; n++)
		path[n] = out[n];
	path[n] = 0;
	if (!is_uart(uf_fdt_path(path), &base) && !is_uart(uf_fdt_find_compatible("arm,pl011", -1), &base))
		base = VIRT_UART;
	return base;
}

static uintptr_t uart(void)
{
	return base ? base : find_uart();
}

void uf_console_init(void)
{
	uintptr_t u = uart();
	/* The baud rate stays the firmware's (QEMU ignores it): its divisor depends on a clock we don't track. */
	uf_mmio_write32(u + CR, 0);
	uf_mmio_write32(u + IMSC, 0);
	uf_mmio_write32(u + LCR_H, LCR_H_WLEN8 | LCR_H_FEN);
	uf_mmio_write32(u + CR, CR_UARTEN | CR_TXE | CR_RXE);
}

static void put(uintptr_t u, char c, unsigned *room)
{
	if (!*room) {
		uint32_t fr;
		while ((fr = uf_mmio_read32(u + FR)) & FR_TXFF)
			;
		*room = fr & FR_TXFE ? FIFO : 1;    /* one status read per FIFO's worth when it drains */
	}
	uf_mmio_write32(u + DR, (unsigned char)c);
	--*room;
}

void uf_console_write(const char *s, size_t n)
{
	uintptr_t u = uart();
	unsigned room = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n')
			put(u, '\r', &room);
		put(u, s[i], &room);
	}
}

/* PL011 UART (ARM PrimeCell, the console of QEMU's virt machine). Output is polled, so it is synchronous and
 * survives a crash; the receive side (uf/uart.h, used by module stdin) is polled too, with an interrupt that says
 * data waits. Its address comes from the device tree: /chosen stdout-path, else the first "arm,pl011" node;
 * before the device tree is known (an early panic), virt's. */
#include <uf/armv7.h>
#include <uf/console.h>
#include <uf/fdt.h>
#include <uf/uart.h>

#define VIRT_UART 0x09000000u
#define DR     0x000            /* data */
#define FR     0x018            /* flags */
#define FR_RXFE (1u << 4)       /* receive FIFO empty */
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
#define IMSC_RX (1u << 4)       /* receive: the FIFO reached its trigger level */
#define IMSC_RT (1u << 6)       /* receive timeout: data waits below the trigger level */
#define FDT_SPI 0               /* "interrupts" cell 0: shared peripheral interrupt, ID 32 + cell 1 */
#define FIFO   16               /* bytes the transmit FIFO holds (PL011 r1p4; r1p5 has 32) */

static uintptr_t base;
static int node = -1;           /* the UART's device-tree node, once found */

/* The lookups run once: minsize (an emulator translates code before its first run: small is fast there). */
__attribute__((minsize)) static int is_uart(int at, uintptr_t *address)
{
	uint64_t b, size;
	if (at < 0 || !uf_fdt_is_compatible(at, "arm,pl011") || uf_fdt_reg(at, 0, &b, &size) || b >> 32)
		return 0;
	*address = (uintptr_t)b;
	node = at;
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
	/* Turning the FIFOs on drops the byte the receiver may hold (at most one: it has no FIFO until now); the host's
	 * input starts with a header that allows for it (libos/stdin). */
	uf_mmio_write32(u + LCR_H, LCR_H_WLEN8 | LCR_H_FEN);
	uf_mmio_write32(u + CR, CR_UARTEN | CR_TXE | CR_RXE);
	/* QEMU empties its receive FIFO here but keeps the dropped byte's interrupt status, and does not tell its input
	 * side, which waits for a read of DR before it sends more: without this read, input that came early stalls
	 * (until something else wakes QEMU) and the stale status raises the interrupt with nothing to read. An empty
	 * FIFO's DR read takes nothing and clears both; a byte that comes between the two reads can only be the
	 * input's header (libos/stdin), which may be lost. */
	if (uf_mmio_read32(u + FR) & FR_RXFE)
		(void)uf_mmio_read32(u + DR);
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
	for (size_t i = 0; i < n; i++)
		put(u, s[i], &room);
}

int uf_uart_getc(void)
{
	uintptr_t u = uart();
	return uf_mmio_read32(u + FR) & FR_RXFE ? -1 : (int)(uf_mmio_read32(u + DR) & 0xff);
}

void uf_uart_rx_interrupt(int on)
{
	uf_mmio_write32(uart() + IMSC, on ? IMSC_RX | IMSC_RT : 0);
}

__attribute__((minsize)) int uf_uart_irq(void)
{
	int len;
	uart();
	const uint8_t *irq = node < 0 ? 0 : uf_fdt_getprop(node, "interrupts", &len);
	if (!irq || len < 12)
		return -1;
	return (uf_fdt_read32(irq) == FDT_SPI ? 32 : 16) + (int)uf_fdt_read32(irq + 4);
}

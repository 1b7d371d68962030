/* 16550 UART at COM1. Output is polled, so it is synchronous and survives a crash; the receive side (uf/uart.h,
 * used by module stdin) is polled too, with an interrupt that says data waits. */
#include <uf/console.h>
#include <uf/uart.h>
#include <uf/x86_64.h>

#define COM1 0x3f8
#define COM1_IRQ 4      /* its ISA IRQ, GSI 4 on every PC machine */
#define RBR  0          /* receive buffer (read) */
#define THR  0          /* transmit holding register (write) */
#define IER  1          /* interrupt enable */
#define FCR  2          /* FIFO control (write) */
#define IIR  2          /* interrupt identification (read): bits 6-7 set when the FIFOs are on */
#define LCR  3          /* line control */
#define MCR  4          /* modem control */
#define LSR  5          /* line status */
#define LSR_DR   0x01   /* received data ready */
#define LSR_THRE 0x20   /* transmitter (FIFO) empty */
#define IER_RDA  0x01   /* interrupt while received data is available */
#define MCR_OUT2 0x08   /* routes the UART's interrupt to the interrupt controller on PCs */

static unsigned fifo = 1;       /* bytes we may write each time the transmitter reports empty */

void uf_console_init(void)
{
	uf_outb(COM1 + IER, 0);
	uf_outb(COM1 + LCR, 0x80);      /* DLAB: divisor follows */
	uf_outb(COM1 + THR, 1);         /* 115200 baud */
	uf_outb(COM1 + IER, 0);
	uf_outb(COM1 + LCR, 0x03);      /* 8 data bits, no parity, 1 stop bit */
	/* Turning the FIFOs on drops the byte the receiver may hold (at most one: it has no FIFO until now); the host's
	 * input starts with a header that allows for it (libos/stdin). */
	uf_outb(COM1 + FCR, 0xc7);      /* enable and clear the FIFOs; receive interrupt at 14 bytes (QEMU passes
					 * on at most up to that level at a time: at 1 byte, input crawls) */
	uf_outb(COM1 + MCR, 0x03 | MCR_OUT2);  /* DTR, RTS, interrupts out (each still off in IER) */
	/* QEMU clears its receive FIFO here without telling its input side, which waits for a read of RBR before it
	 * sends more: without this read, input that came early stalls until something else wakes QEMU. An empty FIFO's
	 * RBR read takes nothing; a byte that comes between the two reads can only be the input's header. */
	if (!(uf_inb(COM1 + LSR) & LSR_DR))
		(void)uf_inb(COM1 + RBR);
	if ((uf_inb(COM1 + IIR) & 0xc0) == 0xc0)
		fifo = 16;              /* a 16550A: one status poll per 16 bytes, not per byte */
}

static void put(char c, unsigned *room)
{
	if (!*room) {
		while (!(uf_inb(COM1 + LSR) & LSR_THRE))
			;
		*room = fifo;
	}
	uf_outb(COM1 + THR, (unsigned char)c);
	--*room;
}

void uf_console_write(const char *s, size_t n)
{
	unsigned room = 0;
	for (size_t i = 0; i < n; i++)
		put(s[i], &room);
}

int uf_uart_getc(void)
{
	return uf_inb(COM1 + LSR) & LSR_DR ? uf_inb(COM1 + RBR) : -1;
}

void uf_uart_rx_interrupt(int on)
{
	uf_outb(COM1 + IER, on ? IER_RDA : 0);
}

int uf_uart_irq(void)
{
	return COM1_IRQ;
}

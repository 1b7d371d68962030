/* 16550 UART at COM1, polled: no interrupts, so output is synchronous and survives a crash. */
#include <uf/console.h>
#include <uf/x86_64.h>

#define COM1 0x3f8
#define THR  0          /* transmit holding register */
#define IER  1          /* interrupt enable */
#define FCR  2          /* FIFO control (write) */
#define IIR  2          /* interrupt identification (read): bits 6-7 set when the FIFOs are on */
#define LCR  3          /* line control */
#define MCR  4          /* modem control */
#define LSR  5          /* line status */
#define LSR_THRE 0x20   /* transmitter (FIFO) empty */

static unsigned fifo = 1;       /* bytes we may write each time the transmitter reports empty */

void uf_console_init(void)
{
	uf_outb(COM1 + IER, 0);
	uf_outb(COM1 + LCR, 0x80);      /* DLAB: divisor follows */
	uf_outb(COM1 + THR, 1);         /* 115200 baud */
	uf_outb(COM1 + IER, 0);
	uf_outb(COM1 + LCR, 0x03);      /* 8 data bits, no parity, 1 stop bit */
	uf_outb(COM1 + FCR, 0x07);      /* enable and clear the FIFOs */
	uf_outb(COM1 + MCR, 0x03);      /* DTR, RTS */
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
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n')
			put('\r', &room);
		put(s[i], &room);
	}
}

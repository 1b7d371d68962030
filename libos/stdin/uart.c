/* The console's input on a serial line: the UART holds a few received bytes and QEMU the rest (it sends the next
 * ones as the UART has room), so nothing is lost while the app does not read. Its receive interrupt only wakes
 * the waiter, which reads the UART itself. */
#include <uf/exit.h>
#include <uf/uart.h>
#include "source.h"

static int asked;
static int irq_state;           /* 0: not routed yet, 1: routed, -1: cannot be (poll instead) */

long uf_stdin_source_read(unsigned char *buf, size_t n)
{
	if (!asked) {
		/* The runner sends the input only now: firmware and boot loaders read the same line before us. */
		asked = 1;
		uf_exit_want_input();
	}
	size_t got = 0;
	int c;
	while (got < n && (c = uf_uart_getc()) >= 0)
		buf[got++] = (unsigned char)c;
	return (long)got;
}

static void received(void)
{
	uf_uart_rx_interrupt(0);
}

int uf_stdin_source_arm(void)
{
	if (!irq_state)
		irq_state = uf_stdin_route_irq(received) ? -1 : 1;
	if (irq_state < 0)
		return -1;
	uf_uart_rx_interrupt(1);
	return 0;
}

/* The console's input. The UART holds a few received bytes and QEMU the rest (it sends the next ones as the
 * UART has room), so nothing is lost while the app does not read. Received bytes are decoded into a small
 * buffer; a reader that finds it empty arms the UART's receive interrupt and halts until it fires. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <uf/exit.h>
#include <uf/fd.h>
#include <uf/stdin.h>
#include <uf/time.h>
#include <uf/uart.h>
#include "irq.h"

#define ESCAPE 0xff             /* 0xff 0xff: the byte 0xff */
#define START 0x01              /* 0xff 0x01: the header; a lone 0x01 first: the header without its lost 0xff */
#define END 0x04                /* 0xff 0x04: the input has ended */
#define POLL_NS 10000000ull     /* without the interrupt, how often a waiting reader looks */

static unsigned char buf[256];
static unsigned head, tail;     /* decoded bytes waiting: buf[head % size .. tail % size) */
static int escaped, ended, started, asked;
static int irq_state;           /* 0: not routed yet, 1: routed, -1: cannot be (poll instead) */

/* Takes in what the UART holds, while there is room for it; the first time, asks the runner for the input. */
static void take_in(void)
{
	int c;
	if (!asked) {
		asked = 1;
		uf_exit_want_input();
	}
	while (!ended && tail - head < sizeof buf && (c = uf_uart_getc()) >= 0) {
		int first = !started;
		started = 1;
		if (escaped) {
			escaped = 0;
			if (c == END)
				ended = 1;
			else if (c == ESCAPE)
				buf[tail++ % sizeof buf] = ESCAPE;
		} else if (c == ESCAPE) {
			escaped = 1;
		} else if (!(first && c == START)) {
			buf[tail++ % sizeof buf] = (unsigned char)c;
		}
	}
}

static int readable(void)
{
	take_in();
	return head != tail || ended;
}

/* The interrupt only wakes the waiter (uf_fd_wait returns), which reads the UART itself. */
static void received(void)
{
	uf_uart_rx_interrupt(0);
}

/* Arms the receive interrupt; returns when the waiter should look again at the latest. */
static uint64_t arm(void)
{
	if (!irq_state)
		irq_state = uf_stdin_route_irq(received) ? -1 : 1;
	if (irq_state < 0)
		return uf_time_monotonic_ns() + POLL_NS;
	uf_uart_rx_interrupt(1);
	return UINT64_MAX;
}

ssize_t uf_stdin_read(struct uf_file *f, void *dst, size_t len)
{
	while (len && !readable()) {
		uint64_t wake = arm();
		if (readable())         /* what came before the interrupt was armed raises none */
			break;
		long r = uf_fd_wait(f->flags & O_NONBLOCK, wake, 1);
		if (r && !(r == -EAGAIN && !(f->flags & O_NONBLOCK)))     /* -EAGAIN: polled without an interrupt */
			return r;
	}
	size_t n = 0;
	for (unsigned char *out = dst; n < len && head != tail; n++)
		out[n] = buf[head++ % sizeof buf];
	return (ssize_t)n;
}

unsigned uf_stdin_poll(struct uf_file *f, unsigned long long *wake_ns)
{
	(void)f;
	if (readable())
		return POLLIN | POLLOUT;
	uint64_t wake = arm();
	if (wake < *wake_ns)
		*wake_ns = wake;
	return POLLOUT;
}

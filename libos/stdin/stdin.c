/* The console's input: the bytes its source (source.h: the UART, or a Xen domain's PV console ring) receives,
 * decoded into a small buffer (the runner's framing, uf/stdin.h). A reader that finds the buffer empty arms the
 * source's wake-up and halts until it comes. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <uf/fd.h>
#include <uf/stdin.h>
#include <uf/time.h>
#include "source.h"

#define ESCAPE 0xff             /* 0xff 0xff: the byte 0xff */
#define START 0x01              /* 0xff 0x01: the header; a lone 0x01 first: the header without its lost 0xff */
#define END 0x04                /* 0xff 0x04: the input has ended */
#define POLL_NS 10000000ull     /* without a wake-up, how often a waiting reader looks */

static unsigned char buf[256];
static unsigned head, tail;     /* decoded bytes waiting: buf[head % size .. tail % size) */
static int escaped, ended, started;

static void decode(int c)
{
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

/* Takes in what the source holds, while there is room for it (a received byte decodes to one byte at most). */
static void take_in(void)
{
	unsigned char raw[64];
	long got;
	while (!ended && tail - head < sizeof buf) {
		size_t room = sizeof buf - (tail - head);
		got = uf_stdin_source_read(raw, room < sizeof raw ? room : sizeof raw);
		if (got < 0)
			ended = 1;
		for (long i = 0; i < got && !ended; i++)
			decode(raw[i]);
		if (got <= 0)
			return;
	}
}

static int readable(void)
{
	take_in();
	return head != tail || ended;
}

/* Arms the source's wake-up; returns when the waiter should look again at the latest. */
static uint64_t arm(void)
{
	return uf_stdin_source_arm() ? uf_time_monotonic_ns() + POLL_NS : UINT64_MAX;
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

/* Host-side harness for the network stack (libos/net), after lwIP's unit tests: the stack's own C files compiled
 * natively against a fake NIC (frames queue in memory), a fake clock (time moves only when a test says so) and
 * fake boot options. tests/unit/test_net_host_stack.py drives it through ctypes (a fresh copy of the library per
 * test); fuzz_main.c through a frame file.
 *
 * Linked with --wrap=malloc,calloc,realloc,free: the stack's allocations are counted, so a test can check at
 * its end that every control block, buffer and queued frame was given back (h_settle, then h_live). */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uf/boot.h>
#include <uf/net.h>
#include <uf/netdev.h>

#define QUEUE 4096

struct frame {
	size_t len;
	uint8_t data[UF_NETDEV_FRAME_MAX];
};

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);

static long live;               /* the stack's allocations not yet freed */

void *__wrap_malloc(size_t n)
{
	void *p = __real_malloc(n);
	live += p != 0;
	return p;
}

void *__wrap_calloc(size_t n, size_t size)
{
	void *p = __real_calloc(n, size);
	live += p != 0;
	return p;
}

void *__wrap_realloc(void *old, size_t n)
{
	void *p = __real_realloc(old, n);
	live += (p != 0) - (old != 0 && (p != 0 || !n));
	return p;
}

void __wrap_free(void *p)
{
	live -= p != 0;
	__real_free(p);
}

static struct frame *rxq, *txq;
static int rx_head, rx_count, tx_head, tx_count;
static uint64_t now_ns = 1000000000ull;
static const char *opt_net, *opt_ip, *opt_gw, *opt_dns, *opt_ip6, *opt_gw6;

static int fake_transmit(struct uf_netdev *dev, const struct iovec *iov, int iovcnt,
			 const struct uf_netdev_tx_csum *csum)
{
	(void)dev;
	(void)csum;
	size_t len = 0;
	for (int i = 0; i < iovcnt; i++)
		len += iov[i].iov_len;
	if (len > UF_NETDEV_FRAME_MAX || len < 14)
		return -EINVAL;
	if (tx_count == QUEUE)
		return -EAGAIN;
	struct frame *f = &txq[(tx_head + tx_count++) % QUEUE];
	f->len = 0;
	for (int i = 0; i < iovcnt; i++) {
		memcpy(f->data + f->len, iov[i].iov_base, iov[i].iov_len);
		f->len += iov[i].iov_len;
	}
	return 0;
}

static int fake_poll(struct uf_netdev *dev, uf_netdev_rx_fn rx)
{
	int n = 0;
	while (rx_count) {
		struct frame *f = &rxq[rx_head];
		/* Hand over a private copy, freed after the callback: the stack must not keep pointers into it. */
		uint8_t *copy = __real_malloc(f->len ? f->len : 1);
		memcpy(copy, f->data, f->len);
		size_t len = f->len;
		rx_head = (rx_head + 1) % QUEUE;
		rx_count--;
		rx(dev, copy, len, 0);
		__real_free(copy);
		n++;
	}
	return n;
}

static struct uf_netdev fake = {
	.name = "fake0", .mac = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 }, .mtu = 1500,
	.transmit = fake_transmit, .poll = fake_poll,
};

/* ---- what the stack needs from the rest of the library OS ---- */

/* The machine's RAM, from which TCP sizes its default buffers: 64 MiB, a usual guest's (128 KiB each way). */
struct uf_boot_info uf_boot_info = { .cmdline = "", .nram = 1, .ram = { { .base = 0, .length = 64 << 20 } } };

struct uf_netdev *uf_netdev_get(int index)
{
	return index == 0 ? &fake : 0;
}

uint64_t uf_time_monotonic_ns(void)
{
	return now_ns;
}

void uf_time_wait_until(uint64_t deadline)
{
	if (deadline > now_ns && deadline != UINT64_MAX)
		now_ns = deadline;      /* nothing else can happen while "halted": jump to the timer */
}

/* The fake NIC has no arm(): the stack registers no hook, but links the call. */
void uf_time_on_wait(int (*arm)(void))
{
	(void)arm;
}

const char *uf_option(const char *name)
{
	if (!strcmp(name, "uf.net"))
		return opt_net;
	if (!strcmp(name, "uf.ip"))
		return opt_ip;
	if (!strcmp(name, "uf.gw"))
		return opt_gw;
	if (!strcmp(name, "uf.dns"))
		return opt_dns;
	if (!strcmp(name, "uf.ip6"))
		return opt_ip6;
	if (!strcmp(name, "uf.gw6"))
		return opt_gw6;
	return 0;
}

int uf_printk(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vprintf(fmt, ap);
	va_end(ap);
	fflush(stdout);
	return n;
}

void uf_arch_entropy(void *buf, size_t len)
{
	memset(buf, 0x5a, len);
}

/* ---- the harness's own interface ---- */

int h_up(const char *net, const char *ip, const char *gw, const char *dns)
{
	if (!rxq) {
		rxq = __real_calloc(QUEUE, sizeof *rxq);
		txq = __real_calloc(QUEUE, sizeof *txq);
	}
	opt_net = net;
	opt_ip = ip;
	opt_gw = gw;
	opt_dns = dns;
	return uf_net_up();
}

void h_inject(const uint8_t *frame, size_t len)
{
	if (rx_count == QUEUE || len > UF_NETDEV_FRAME_MAX)
		return;
	struct frame *f = &rxq[(rx_head + rx_count++) % QUEUE];
	memcpy(f->data, frame, len);
	f->len = len;
	uf_net_poll();
}

/* uf.ip6= and uf.gw6= for the next h_up (NULL: none). */
void h_options6(const char *ip6, const char *gw6)
{
	opt_ip6 = ip6;
	opt_gw6 = gw6;
}

/* The oldest transmitted frame: its length (0: none), copied to buf. */
size_t h_take(uint8_t *buf)
{
	if (!tx_count)
		return 0;
	struct frame *f = &txq[tx_head];
	tx_head = (tx_head + 1) % QUEUE;
	tx_count--;
	memcpy(buf, f->data, f->len);
	return f->len;
}

void h_advance(uint64_t ns)
{
	now_ns += ns;
	uf_net_poll();
}

uint64_t h_now(void)
{
	return now_ns;
}

/* Lets every timer run out (sent frames are thrown away, nothing answers): TIME_WAIT, retransmissions until
 * they give up, orphans, reassembly, ARP entries. Returns 0 once no timer is left, -1 if one stays forever. */
int h_settle(void)
{
	for (int steps = 0; steps < 100000; steps++) {
		tx_count = 0;
		uint64_t next = uf_net_next_timer();
		if (next == UINT64_MAX)
			return 0;
		if (next > now_ns)
			now_ns = next;
		uf_net_poll();
	}
	return -1;
}

long h_live(void)
{
	return live;
}

#ifdef H_COUNT_BLOCKS
/* With -fsanitize-coverage=trace-pc the compiler calls this at every basic block the stack runs: a test counts the
 * work an operation does, the same on every run and every machine (a timing would be neither). */
#ifdef __clang__
#define NOT_COUNTED __attribute__((no_sanitize("coverage")))
#else
#define NOT_COUNTED __attribute__((no_sanitize_coverage))
#endif

static unsigned long blocks;

NOT_COUNTED void __sanitizer_cov_trace_pc(void)
{
	blocks++;
}

NOT_COUNTED unsigned long h_blocks(void)
{
	return blocks;
}
#endif

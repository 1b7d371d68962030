/* Drives the NIC through uf/netdev.h directly: prints its MAC and capabilities, sends ARP requests for
 * 10.0.2.2 (QEMU user networking's gateway) from its MAC, more of them than the transmit ring holds, and prints
 * the first reply's sender MAC (frames of bad lengths must be refused). Then checks that a reply's interrupt
 * wakes a halted wait. Exits 0, 1 without a NIC, 2 on a transmit error, 3 without reply, 4 if no interrupt woke it. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>

/* The layout of libos/net/include/uf/netdev.h (an app does not see library-OS headers). */
struct uf_netdev_tx_csum {
	uint16_t start, offset;
};
struct uf_netdev;
typedef void (*uf_netdev_rx_fn)(struct uf_netdev *dev, const void *frame, size_t len, int csum_valid);
struct uf_netdev {
	const char *name;
	uint8_t mac[6];
	uint16_t mtu;
	uint32_t caps;
	int (*transmit)(struct uf_netdev *dev, const struct iovec *iov, int iovcnt,
			const struct uf_netdev_tx_csum *csum);
	int (*poll)(struct uf_netdev *dev, uf_netdev_rx_fn rx);
	int (*arm)(struct uf_netdev *dev);
};
struct uf_netdev *uf_netdev_get(int index);
uint64_t uf_time_monotonic_ns(void);
void uf_time_wait_until(uint64_t monotonic_ns);

#define EAGAIN 11
#define EINVAL 22
#define WAKE_DEADLINE_NS 2000000000ull   /* below the x86 APIC timer's longest single arm (2^31 ns) */
#define BURST 300                       /* more than the transmit ring's 128 frames */
#define GUEST_IP 0x0a00020f             /* 10.0.2.15 */
#define GATEWAY_IP 0x0a000202           /* 10.0.2.2 */

static uint8_t reply_mac[6];
static int replies, frames;

static uint16_t be16(const uint8_t *p)
{
	return p[0] << 8 | p[1];
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24, p[1] = v >> 16, p[2] = v >> 8, p[3] = v;
}

static void on_frame(struct uf_netdev *dev, const void *frame, size_t len, int csum_valid)
{
	const uint8_t *f = frame, *arp = f + 14;
	(void)dev, (void)csum_valid;
	frames++;
	/* An ARP reply (opcode 2) from the gateway: Ethernet type 0x0806, sender IP at 14 + 14. */
	if (len >= 42 && be16(f + 12) == 0x0806 && be16(arp + 6) == 2 && be32(arp + 14) == GATEWAY_IP) {
		if (!replies++)
			memcpy(reply_mac, arp + 8, 6);
	}
}

int main(void)
{
	struct uf_netdev *nic = uf_netdev_get(0);
	if (!nic) {
		printf("nicprobe: no NIC\n");
		return 1;
	}
	const uint8_t *m = nic->mac;
	printf("nicprobe: %s mac %02x:%02x:%02x:%02x:%02x:%02x mtu %u caps 0x%x\n", nic->name, m[0], m[1], m[2], m[3],
	       m[4], m[5], nic->mtu, nic->caps);
	if (uf_netdev_get(1))
		printf("nicprobe: a second NIC?\n");

	/* Ethernet header and ARP payload in two pieces: the driver gathers them. */
	uint8_t eth[14], arp[28] = { 0, 1, 8, 0, 6, 4, 0, 1 };
	memset(eth, 0xff, 6);
	memcpy(eth + 6, nic->mac, 6);
	eth[12] = 0x08, eth[13] = 0x06;
	memcpy(arp + 8, nic->mac, 6);
	put32(arp + 14, GUEST_IP);
	put32(arp + 24, GATEWAY_IP);
	struct iovec iov[2] = { { eth, sizeof eth }, { arp, sizeof arp } };

	static uint8_t big[1600];
	struct iovec too_short = { eth, sizeof eth - 1 }, too_long = { big, 14 + nic->mtu + 1 };
	if (nic->transmit(nic, &too_short, 1, NULL) != -EINVAL || nic->transmit(nic, &too_long, 1, NULL) != -EINVAL ||
	    nic->transmit(nic, iov, 0, NULL) != -EINVAL) {
		printf("nicprobe: a frame of a bad length was not refused\n");
		return 2;
	}
	printf("nicprobe: frames of bad lengths refused\n");

	int sent = 0, full = 0;
	uint64_t deadline = uf_time_monotonic_ns() + 20000000000ull;
	while (sent < BURST && uf_time_monotonic_ns() < deadline) {
		int rc = nic->transmit(nic, iov, 2, NULL);
		if (rc == -EAGAIN) {
			full++;
			nic->poll(nic, on_frame);
			uf_time_wait_until(uf_time_monotonic_ns() + 1000000);
		} else if (rc) {
			printf("nicprobe: transmit failed: %d\n", rc);
			return 2;
		} else {
			sent++;
		}
	}
	printf("nicprobe: sent %d ARP requests (ring full %d times)\n", sent, full);
	while (!replies && uf_time_monotonic_ns() < deadline) {
		nic->poll(nic, on_frame);
		uf_time_wait_until(uf_time_monotonic_ns() + 10000000);
	}
	if (!replies) {
		printf("nicprobe: no ARP reply (%d frames received)\n", frames);
		return 3;
	}
	printf("nicprobe: 10.0.2.2 is-at %02x:%02x:%02x:%02x:%02x:%02x (%d replies, %d frames)\n", reply_mac[0],
	       reply_mac[1], reply_mac[2], reply_mac[3], reply_mac[4], reply_mac[5], replies, frames);

	/* Then one request at a time, halting right after sending it. Without the NIC's interrupt only the timer
	 * ends the halt, at the deadline (the x86 one-shot timer may fire a few percent early); with it, the reply
	 * ends it within milliseconds: waking before half the deadline tells the two apart with a wide margin.
	 * The first halt of a few ms may instead measure the x86 one-shot timer and return at once: done here. A driver
	 * with arm() raises the interrupt only once armed (uf/netdev.h), as module net does before each wait. */
	uf_time_wait_until(uf_time_monotonic_ns() + 5000000);
	for (int attempt = 0; attempt < 5; attempt++) {
		while (nic->poll(nic, on_frame))
			;
		if (nic->arm && nic->arm(nic))  /* a poll that took frames turned the interrupt off; a frame came since */
			continue;
		int before = replies;
		if (nic->transmit(nic, iov, 2, NULL))
			continue;
		uint64_t start = uf_time_monotonic_ns();
		uf_time_wait_until(start + WAKE_DEADLINE_NS);
		uint64_t waited = uf_time_monotonic_ns() - start;
		nic->poll(nic, on_frame);
		if (replies > before && waited < WAKE_DEADLINE_NS / 2) {
			printf("nicprobe: woken by the NIC's interrupt\n");
			return 0;
		}
	}
	printf("nicprobe: no interrupt woke the waits\n");
	return 4;
}

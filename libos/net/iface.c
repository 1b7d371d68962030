/* The interface: configuration from the boot options, the poll loop every blocking call runs, Ethernet in and
 * out, and the checksum. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <uf/console.h>
#include <uf/process.h>
#include <uf/thread.h>
#include <uf/time.h>

#include "stack.h"

#define TX_DRAIN_POLL 1000000ull        /* ns: how often uf_net_flush looks at a transmit queue still draining */

struct uf_net_iface uf_net_if;

static const uint8_t broadcast_mac[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

uint32_t uf_net_sum(uint32_t sum, const void *data, size_t len)
{
	const uint8_t *p = data;
	/* 32-bit accumulation of 16-bit words; folding every 64 KiB keeps it from overflowing. */
	while (len >= 2) {
		size_t chunk = len > 65536 ? 65536 : len & ~(size_t)1;
		uint64_t acc = sum;
		for (size_t i = 0; i < chunk; i += 2)
			acc += (uint32_t)(p[i] << 8 | p[i + 1]);
		while (acc >> 32)
			acc = (acc & 0xffffffff) + (acc >> 32);
		sum = (uint32_t)acc;
		sum = (sum & 0xffff) + (sum >> 16);
		p += chunk;
		len -= chunk;
	}
	if (len) {
		uint64_t acc = (uint64_t)sum + (uint32_t)(p[0] << 8);
		sum = (uint32_t)((acc & 0xffffffff) + (acc >> 32));
	}
	return sum;
}

uint16_t uf_net_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

uint32_t uf_net_pseudo_sum(uint32_t src, uint32_t dst, uint8_t proto, uint16_t len)
{
	uint64_t s = (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + proto + len;
	return (uint32_t)((s & 0xffff) + (s >> 16));
}

uint16_t uf_net_checksum(const struct iovec *v, int cnt, uint32_t sum)
{
	size_t at = 0;
	for (int i = 0; i < cnt; i++) {
		uint32_t part = uf_net_sum(0, v[i].iov_base, v[i].iov_len);
		if (at & 1) {           /* a piece at an odd offset sums byte-swapped */
			part = (uint16_t)~uf_net_fold(part);
			part = (part & 0xff) << 8 | part >> 8;
		}
		sum += part;
		at += v[i].iov_len;
	}
	return uf_net_fold(sum);
}

uint32_t uf_net_random(void)
{
	static uint64_t state;
	if (!state) {
		uf_arch_entropy(&state, sizeof state);
		state ^= uf_time_monotonic_ns() | 1;
	}
	/* xorshift64*: not cryptographic, but seeded from the boot entropy and unpredictable off-path. */
	state ^= state >> 12;
	state ^= state << 25;
	state ^= state >> 27;
	return (uint32_t)((state * 0x2545F4914F6CDD1Dull) >> 32);
}

int uf_eth_send(const uint8_t dst[6], uint16_t type, const struct iovec *iov, int iovcnt,
		const struct uf_netdev_tx_csum *csum)
{
	struct uf_netdev *dev = uf_net_if.dev;
	uint8_t hdr[ETH_HLEN];
	struct iovec v[8];
	if (iovcnt > 7)
		return -EINVAL;
	memcpy(hdr, dst, 6);
	memcpy(hdr + 6, dev->mac, 6);
	put16(hdr + 12, type);
	v[0] = (struct iovec){ hdr, ETH_HLEN };
	memcpy(v + 1, iov, iovcnt * sizeof *iov);
	struct uf_netdev_tx_csum c;
	if (csum) {
		c = (struct uf_netdev_tx_csum){ (uint16_t)(csum->start + ETH_HLEN), csum->offset };
		csum = &c;
	}
	return dev->transmit(dev, v, iovcnt + 1, csum);
}

const uint8_t *uf_eth_rx_source;

static void eth_input(struct uf_netdev *dev, const void *frame, size_t len, int csum_valid)
{
	const uint8_t *p = frame;
	if (len < ETH_HLEN)
		return;
	if (memcmp(p, dev->mac, 6) && memcmp(p, broadcast_mac, 6) && (p[0] != 0x33 || p[1] != 0x33))
		return;                 /* neither ours, nor broadcast, nor IPv6 multicast (ipv6.c checks the group) */
	uf_eth_rx_source = p + 6;
	switch (get16(p + 12)) {
	case ETH_TYPE_IPV4:
		uf_ip_input(p + ETH_HLEN, len - ETH_HLEN, csum_valid);
		break;
	case ETH_TYPE_IPV6:
		uf_ip6_input(p + ETH_HLEN, len - ETH_HLEN, csum_valid);
		break;
	case ETH_TYPE_ARP:
		uf_arp_input(p + ETH_HLEN, len - ETH_HLEN);
		break;
	}
	uf_eth_rx_source = 0;
}

uint64_t uf_net_next_timer(void)
{
	if (uf_lo_pending())
		return 0;               /* looped-back datagrams wait: now */
	uint64_t t = uf_arp_next_timer(), u;
	if ((u = uf_reasm_next_timer()) < t)
		t = u;
	if ((u = uf_tcp_next_timer()) < t)
		t = u;
	if ((u = uf_dhcp_next_timer()) < t)
		t = u;
	if ((u = uf_nd_next_timer()) < t)
		t = u;
	return t;
}

int uf_net_poll(void)
{
	struct uf_netdev *dev = uf_net_if.dev;
	int work = 0;
	/* Rounds until nothing more comes in. What lo delivers may answer over lo again: the bound keeps two endpoints
	 * that never stop talking from holding the caller here (what remains makes uf_net_next_timer say "now"). */
	for (int round = 0; round < 64; round++) {
		int n = (dev ? dev->poll(dev, eth_input) : 0) + uf_lo_poll();
		if (!n)
			break;
		work += n;
		uf_tcp_flush();
	}
	uint64_t now = uf_time_monotonic_ns();
	if (uf_net_next_timer() <= now) {
		uf_arp_timers(now);
		uf_reasm_timers(now);
		uf_tcp_timers(now);
		uf_dhcp_timers(now);
		uf_nd_timers(now);
		uf_tcp_flush();         /* also what a full NIC ring held back */
		work++;
	}
	if (work)
		uf_thread_wake_waiters();       /* what came in may be for another thread's socket */
	return work;
}

void uf_net_wait(uint64_t deadline_ns)
{
	uint64_t t = uf_net_next_timer();
	uf_time_wait_until(t < deadline_ns ? t : deadline_ns);
	uf_net_poll();
}

void uf_net_flush(uint64_t deadline_ns)
{
	struct uf_netdev *dev = uf_net_if.dev;
	uf_net_poll();
	for (;;) {
		int nic = dev && dev->tx_pending && dev->tx_pending(dev);
		uint64_t now = uf_time_monotonic_ns();
		if ((!nic && !uf_tcp_unfinished() && !uf_pending_count()) || now >= deadline_ns)
			return;
		/* The device's transmit queue raises no interrupt when it drains: look again soon. */
		uf_net_wait(nic && now + TX_DRAIN_POLL < deadline_ns ? now + TX_DRAIN_POLL : deadline_ns);
	}
}

uint32_t uf_net_addr(void)
{
	return uf_net_if.addr;
}

int uf_net_addr6(uint8_t out[16])
{
	memcpy(out, uf_net6.addr, 16);
	return uf_net6.addr_ok;
}

int uf_net_dns6(uint8_t out[16])
{
	memcpy(out, uf_net6.dns, 16);
	return uf_net6.dns_ok;
}

/* "A.B.C.D" (and, with prefix, an optional "/N") to a host-order address; 0 on a malformed one. */
static int parse_addr(const char *s, uint32_t *addr, int *prefix)
{
	uint32_t a = 0;
	for (int i = 0; i < 4; i++) {
		char *end;
		if (*s < '0' || *s > '9')
			return 0;
		unsigned long b = strtoul(s, &end, 10);
		if (b > 255 || end - s > 3)
			return 0;
		a = a << 8 | (uint32_t)b;
		s = end;
		if (i < 3 && *s++ != '.')
			return 0;
	}
	if (prefix && *s == '/') {
		char *end;
		unsigned long n = strtoul(s + 1, &end, 10);
		if (end == s + 1 || n > 32 || *end)
			return 0;
		*prefix = (int)n;
		s = end;
	}
	*addr = a;
	return *s == 0;
}

static void print_addr(const char *label, uint32_t a)
{
	uf_printk("%s%u.%u.%u.%u", label, a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
}

static int configure_static(const char *ip)
{
	int prefix = 24;
	const char *gw = uf_option("uf.gw"), *dns = uf_option("uf.dns");
	if (!parse_addr(ip, &uf_net_if.addr, &prefix) || (gw && !parse_addr(gw, &uf_net_if.gw, 0)) ||
	    (dns && !parse_addr(dns, &uf_net_if.dns, 0))) {
		uf_printk("uniforge: net: bad address in uf.ip/uf.gw/uf.dns\n");
		uf_net_if.addr = 0;
		return -ENETDOWN;
	}
	uf_net_if.mask = prefix ? 0xffffffffu << (32 - prefix) : 0;
	return 0;
}

void uf_net6_announce(const char *how)
{
	char ll[INET6_ADDRSTRLEN], addr[INET6_ADDRSTRLEN], gw[INET6_ADDRSTRLEN];
	inet_ntop(AF_INET6, uf_net6.ll, ll, sizeof ll);
	inet_ntop(AF_INET6, uf_net6.addr, addr, sizeof addr);
	inet_ntop(AF_INET6, uf_net6.gw, gw, sizeof gw);
	uf_printk("uniforge: net6: %s", ll);
	if (uf_net6.addr_ok)
		uf_printk(" %s/%d", addr, uf_net6.prefix);
	if (uf_net6.gw_ok)
		uf_printk(" gw %s", gw);
	uf_printk(" (%s)\n", how);
}

/* The link-local address from the MAC (modified EUI-64, RFC 4291 2.5.1), uf.ip6=ADDR/LEN, uf.gw6=ADDR and
 * uf.dns6=ADDR; then a router solicitation, whose answer may bring the default router, (without uf.ip6) an address
 * and (without uf.dns6) a DNS server. */
static int configure6(void)
{
	const uint8_t *mac = uf_net_if.dev->mac;
	static const uint8_t ll_prefix[8] = { 0xfe, 0x80 };
	memcpy(uf_net6.ll, ll_prefix, 8);
	uint8_t iid[8] = { (uint8_t)(mac[0] ^ 2), mac[1], mac[2], 0xff, 0xfe, mac[3], mac[4], mac[5] };
	memcpy(uf_net6.ll + 8, iid, 8);
	uf_net6.ll_ok = 1;
	uf_net6.mtu = uf_net_if.dev->mtu;
	const char *ip6 = uf_option("uf.ip6"), *gw6 = uf_option("uf.gw6"), *dns6 = uf_option("uf.dns6");
	if (ip6) {
		char text[INET6_ADDRSTRLEN + 4], *slash;
		strncpy(text, ip6, sizeof text - 1);
		text[sizeof text - 1] = 0;
		long prefix = 64;
		if ((slash = strchr(text, '/'))) {
			char *end;
			*slash = 0;
			prefix = strtol(slash + 1, &end, 10);
			if (end == slash + 1 || *end || prefix < 1 || prefix > 128)
				prefix = -1;
		}
		if (prefix < 0 || inet_pton(AF_INET6, text, uf_net6.addr) != 1 || uf_net6.addr[0] == 0xff) {
			uf_printk("uniforge: net6: bad address in uf.ip6=%s (ADDR/LEN)\n", ip6);
			return -EINVAL;
		}
		uf_net6.addr_ok = uf_net6.static_addr = 1;
		uf_net6.prefix = (int)prefix;
	}
	if (gw6) {
		if (inet_pton(AF_INET6, gw6, uf_net6.gw) != 1) {
			uf_printk("uniforge: net6: bad address in uf.gw6=%s\n", gw6);
			return -EINVAL;
		}
		uf_net6.gw_ok = 1;
	}
	if (dns6) {
		if (inet_pton(AF_INET6, dns6, uf_net6.dns) != 1) {
			uf_printk("uniforge: net6: bad address in uf.dns6=%s\n", dns6);
			return -EINVAL;
		}
		uf_net6.dns_ok = uf_net6.static_dns = 1;
	}
	uf_net6_announce(ip6 ? "static" : "link-local");
	uf_nd_start();
	return 0;
}


static int bring_up(void);

/* With threads, one brings the interface up (DHCP waits) while the others wait for the outcome. */
int uf_net_up(void)
{
	static struct uf_mutex lock;
	uf_mutex_lock(&lock);
	int r = bring_up();
	uf_mutex_unlock(&lock);
	return r;
}

/* Before every wait (uf_time_on_wait): the ACKs the program's answers did not carry go out (it had its turn),
 * then the NIC's receive interrupt goes on. Frames that came while it was off are taken now, and the caller looks
 * again: left in the ring they would end every wait at once, also the waits of callers that never poll the
 * network (a sleep). */
static int before_wait(void)
{
	struct uf_netdev *dev = uf_net_if.dev;
	uf_tcp_ack_delayed();
	if (!dev || !dev->arm || !dev->arm(dev))
		return 0;
	uf_net_poll();
	return 1;
}

static int bring_up(void)
{
	static int tried;
	if (uf_net_if.up)
		return 0;
	if (tried)
		return -ENETDOWN;
	tried = 1;
	uf_time_on_wait(before_wait);
	const char *mode = uf_option("uf.net"), *ip = uf_option("uf.ip");
	if (mode && !strcmp(mode, "none"))
		return -ENETDOWN;
	uf_net_if.dev = uf_netdev_get(0);
	if (!uf_net_if.dev) {
		uf_printk("uniforge: net: no network interface (lo only)\n");
		return -ENETDOWN;
	}
	configure6();               /* IPv6 comes up beside IPv4, whatever becomes of DHCP */
	int r;
	const char *how;
	if (ip && (!mode || !strcmp(mode, "static"))) {
		r = configure_static(ip);
		how = "static";
	} else if (!mode || !strcmp(mode, "dhcp")) {
		r = uf_dhcp_configure();
		how = "dhcp";
	} else {
		uf_printk("uniforge: net: unknown uf.net=%s (dhcp, none, static with uf.ip=)\n", mode);
		return -ENETDOWN;
	}
	if (r < 0) {
		uf_printk("uniforge: net: %s: no address\n", how);
		return r;
	}
	uf_net_if.up = 1;
	int prefix = 0;
	for (uint32_t m = uf_net_if.mask; m & 0x80000000u; m <<= 1)
		prefix++;
	print_addr("uniforge: net: ", uf_net_if.addr);
	uf_printk("/%d", prefix);
	if (uf_net_if.gw)
		print_addr(" gw ", uf_net_if.gw);
	if (uf_net_if.dns)
		print_addr(" dns ", uf_net_if.dns);
	uf_printk(" (%s)\n", how);
	return 0;
}

uint32_t uf_net_dns(void)
{
	uf_net_up();
	return uf_net_if.dns;
}

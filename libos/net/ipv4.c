/* IPv4 (RFC 791): checked input, fragment reassembly within fixed limits, routing (loopback, the link, the
 * gateway), output. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <uf/time.h>

#include "stack.h"

#define REASM_SLOTS 4                           /* datagrams reassembled at once */
#define REASM_MAX 65535                         /* largest reassembled payload */
#define REASM_TIMEOUT_NS (30ull * 1000000000)   /* as Linux's ipfrag_time */
#define IP_DF 0x4000
#define IP_MF 0x2000

struct reasm {
	uint8_t *data;              /* REASM_MAX bytes; NULL: slot free */
	uint8_t have[REASM_MAX / 8 / 8 + 1];    /* one bit per 8-byte block received */
	uint32_t src, dst;
	uint16_t id;
	uint8_t proto;
	size_t total;               /* payload length, known once the last fragment came; 0 before */
	uint64_t deadline;
};

static struct reasm slots[REASM_SLOTS];
static uint16_t next_id;

static void deliver(uint32_t src, uint32_t dst, uint8_t proto, const uint8_t *p, size_t len, int csum_valid)
{
	switch (proto) {
	case IP_PROTO_ICMP:
		uf_icmp_input(src, dst, p, len);
		break;
	case IP_PROTO_UDP:
		uf_udp_input(src, dst, p, len, csum_valid);
		break;
	case IP_PROTO_TCP:
		uf_tcp_input(src, dst, p, len, csum_valid);
		break;
	default:
		uf_icmp_unreachable(2, src, dst, proto, p, len);
		break;
	}
}

static void reasm_free(struct reasm *r)
{
	free(r->data);
	r->data = 0;
}

static int complete(const struct reasm *r)
{
	if (!r->total)
		return 0;
	size_t blocks = (r->total + 7) / 8;
	for (size_t b = 0; b < blocks; b++)
		if (!(r->have[b / 8] & (1u << (b % 8))))
			return 0;
	return 1;
}

static void reassemble(const uint8_t *h, const uint8_t *p, size_t len)
{
	uint32_t src = get32(h + 12), dst = get32(h + 16);
	uint16_t id = get16(h + 4), frag = get16(h + 6);
	size_t offset = (size_t)(frag & 0x1fff) * 8;
	int more = frag & IP_MF;
	if ((more && (len % 8 || !len)) || offset + len > REASM_MAX)
		return;
	struct reasm *r = 0, *free_slot = 0, *oldest = &slots[0];
	for (int i = 0; i < REASM_SLOTS; i++) {
		struct reasm *s = &slots[i];
		if (!s->data) {
			free_slot = free_slot ? free_slot : s;
			continue;
		}
		if (s->src == src && s->dst == dst && s->id == id && s->proto == h[9])
			r = s;
		if (s->deadline < oldest->deadline)
			oldest = s;
	}
	if (!r) {
		/* Every slot busy: the oldest datagram is the least likely to complete. */
		r = free_slot ? free_slot : oldest;
		reasm_free(r);
		r->data = malloc(REASM_MAX);
		if (!r->data)
			return;
		memset(r->have, 0, sizeof r->have);
		r->src = src;
		r->dst = dst;
		r->id = id;
		r->proto = h[9];
		r->total = 0;
		r->deadline = uf_time_monotonic_ns() + REASM_TIMEOUT_NS;
	}
	if (!more) {
		if ((r->total && r->total != offset + len) || offset + len == 0) {
			reasm_free(r);      /* two different ends: a forged or broken datagram */
			return;
		}
		r->total = offset + len;
	}
	if (r->total && offset + len > r->total) {
		reasm_free(r);
		return;
	}
	memcpy(r->data + offset, p, len);
	for (size_t b = offset / 8; b < (offset + len + 7) / 8; b++)
		r->have[b / 8] |= (uint8_t)(1u << (b % 8));
	if (complete(r)) {
		deliver(r->src, r->dst, r->proto, r->data, r->total, 0);
		reasm_free(r);
	}
}

int uf_ip_is_local(uint32_t addr)
{
	return (addr >> 24) == 127 || (uf_net_if.addr && addr == uf_net_if.addr);
}

uint32_t uf_ip_source(uint32_t dst)
{
	return (dst >> 24) == 127 ? IP_LOOPBACK : uf_net_if.addr;
}

size_t uf_ip_mtu(uint32_t dst)
{
	return uf_ip_is_local(dst) || !uf_net_if.dev ? LO_MTU : uf_net_if.dev->mtu;
}

/* The next hop toward a remote dst: dst itself on the link (or broadcast), else the gateway; 0: no route. */
static uint32_t next_hop(uint32_t dst)
{
	if (!uf_net_if.dev)
		return 0;
	if (dst == IP_BROADCAST)
		return dst;
	if (!uf_net_if.addr)
		return 0;                   /* unconfigured: DHCP's broadcasts only */
	if ((dst & uf_net_if.mask) == (uf_net_if.addr & uf_net_if.mask))
		return dst;
	return uf_net_if.gw;
}

int uf_ip_reachable(uint32_t dst)
{
	return uf_ip_is_local(dst) || next_hop(dst);
}

static void input(const uint8_t *h, size_t len, int csum_valid, int from_lo)
{
	if (len < IP_HLEN || h[0] >> 4 != 4)
		return;
	size_t hlen = (size_t)(h[0] & 15) * 4, total = get16(h + 2);
	if (hlen < IP_HLEN || total < hlen || total > len)
		return;
	if (uf_net_fold(uf_net_sum(0, h, hlen)))
		return;
	uint32_t src = get32(h + 12), dst = get32(h + 16);
	uint32_t mask = uf_net_if.mask, addr = uf_net_if.addr;
	if (from_lo) {
		;                               /* ours, to ourselves */
	} else if (src == IP_BROADCAST || (src >> 28) == 14 || (src >> 24) == 127) {
		return;
	} else if (!addr) {
		if (h[9] != IP_PROTO_UDP)      /* unconfigured: only DHCP's answers */
			return;
	} else if (dst != addr && dst != IP_BROADCAST && !(mask != 0xffffffffu && (dst & mask) == (addr & mask) &&
							     (dst | mask) == IP_BROADCAST)) {
		return;
	}
	const uint8_t *p = h + hlen;
	size_t plen = total - hlen;
	if (get16(h + 6) & (IP_MF | 0x1fff))
		reassemble(h, p, plen);
	else
		deliver(src, dst, h[9], p, plen, csum_valid);
}

void uf_ip_input(const uint8_t *h, size_t len, int csum_valid)
{
	input(h, len, csum_valid, 0);
}

void uf_ip_input_lo(const uint8_t *h, size_t len)
{
	if (len && h[0] >> 4 == 6) {
		uf_ip6_input_lo(h, len);
		return;
	}
	input(h, len, 1, 1);                /* never on a wire: no checksums to check (Linux's lo does the same) */
}

/* The checksum field's value over pieces, starting from sum (the pseudo-header's, or 0). */
static uint16_t checksum(const struct iovec *v, int cnt, uint32_t sum)
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

/* Output fragmentation (RFC 791 3.2): a datagram larger than the MTU, its checksum done, goes as fragments of
 * the largest multiple of 8 bytes that fits, each with a copy of the header (h, updated here). */
static int send_fragments(uint8_t *h, uint32_t hop, const struct iovec *v, int cnt, size_t len)
{
	uint8_t *flat = malloc(len), mac[6];
	if (!flat)
		return -ENOMEM;
	size_t at = 0;
	for (int i = 0; i < cnt; i++) {
		memcpy(flat + at, v[i].iov_base, v[i].iov_len);
		at += v[i].iov_len;
	}
	size_t step = (uf_net_if.dev->mtu - IP_HLEN) & ~(size_t)7;
	int known = uf_arp_lookup(hop, mac), r = 0;
	for (at = 0; at < len && r >= 0; at += step) {
		size_t n = len - at < step ? len - at : step;
		put16(h + 2, (uint16_t)(IP_HLEN + n));
		put16(h + 6, (uint16_t)((at + n < len ? IP_MF : 0) | at / 8));
		put16(h + 10, 0);
		put16(h + 10, uf_net_fold(uf_net_sum(0, h, IP_HLEN)));
		struct iovec piece[2] = { { h, IP_HLEN }, { flat + at, n } };
		if (known)
			r = uf_eth_send(mac, ETH_TYPE_IPV4, piece, 2, 0);
		else
			uf_arp_wait(hop, piece, 2);
	}
	free(flat);
	return r;
}

int uf_ip_send(uint32_t src, uint32_t dst, uint8_t proto, uint8_t tos, uint8_t *l4, size_t l4_len, size_t csum_off,
	       const struct iovec *payload, int payload_cnt)
{
	struct uf_netdev *dev = uf_net_if.dev;
	uint8_t h[IP_HLEN];
	struct iovec v[6];
	size_t plen = 0;
	if (payload_cnt > 4)
		return -EINVAL;
	for (int i = 0; i < payload_cnt; i++)
		plen += payload[i].iov_len;
	size_t total = IP_HLEN + l4_len + plen;
	int local = uf_ip_is_local(dst);
	uint32_t hop = local ? dst : next_hop(dst);
	if (!hop)
		return -ENETUNREACH;
	int fragment = total > uf_ip_mtu(dst);
	if (total > 65535 || (fragment && proto == IP_PROTO_TCP))
		return -EMSGSIZE;               /* TCP's segments fit the path's MTU (its MSS, lowered by PMTUD) */

	h[0] = 0x45;
	h[1] = tos;
	put16(h + 2, (uint16_t)total);
	put16(h + 4, next_id++);
	put16(h + 6, proto == IP_PROTO_TCP ? IP_DF : 0);
	h[8] = 64;
	h[9] = proto;
	put16(h + 10, 0);
	put32(h + 12, src);
	put32(h + 16, dst);
	put16(h + 10, uf_net_fold(uf_net_sum(0, h, IP_HLEN)));

	v[0] = (struct iovec){ h, IP_HLEN };
	v[1] = (struct iovec){ l4, l4_len };
	if (payload_cnt)
		memcpy(v + 2, payload, payload_cnt * sizeof *payload);
	int cnt = payload_cnt + 2;

	if (local) {
		put16(l4 + csum_off, 0);        /* TCP and UDP go unsummed (uf_ip_input_lo); ICMP checks its own */
		if (proto == IP_PROTO_ICMP)
			put16(l4 + csum_off, checksum(v + 1, cnt - 1, 0));
		return uf_lo_send(v, cnt);
	}
	uint8_t mac[6];
	int known = uf_arp_lookup(hop, mac);
	uint32_t pseudo = uf_net_pseudo_sum(src, dst, proto, (uint16_t)(l4_len + plen));
	put16(l4 + csum_off, 0);
	if (proto != IP_PROTO_ICMP && known && !fragment && (dev->caps & UF_NETDEV_CAP_TX_CSUM)) {
		/* The device sums from the transport header on and adds the pseudo-header sum left in the field. */
		uint32_t s = pseudo;
		while (s >> 16)
			s = (s & 0xffff) + (s >> 16);
		put16(l4 + csum_off, (uint16_t)s);
		struct uf_netdev_tx_csum c = { IP_HLEN, (uint16_t)csum_off };
		return uf_eth_send(mac, ETH_TYPE_IPV4, v, cnt, &c);
	}
	uint16_t c = checksum(v + 1, cnt - 1, proto == IP_PROTO_ICMP ? 0 : pseudo);
	if (!c && proto == IP_PROTO_UDP)
		c = 0xffff;         /* 0 means "no checksum" in UDP */
	put16(l4 + csum_off, c);
	if (fragment)
		return send_fragments(h, hop, v + 1, cnt - 1, l4_len + plen);
	if (!known) {
		uf_arp_wait(hop, v, cnt);
		return 0;
	}
	return uf_eth_send(mac, ETH_TYPE_IPV4, v, cnt, 0);
}

void uf_ip_timers(uint64_t now)
{
	for (int i = 0; i < REASM_SLOTS; i++)
		if (slots[i].data && slots[i].deadline <= now)
			reasm_free(&slots[i]);
}

uint64_t uf_ip_next_timer(void)
{
	uint64_t t = UINT64_MAX;
	for (int i = 0; i < REASM_SLOTS; i++)
		if (slots[i].data && slots[i].deadline < t)
			t = slots[i].deadline;
	return t;
}

/* IPv6 (RFC 8200): the interface's addresses (link-local from the MAC, static uf.ip6=/uf.gw6=, or SLAAC from a
 * router's advertisement: nd.c), checked input through a bounded chain of extension headers, and output to a
 * neighbour, the default router, a multicast group or lo (::1 and our own addresses).
 *
 * Datagrams larger than the path's MTU (the link's, or less when a router said Packet Too Big: a small cache of
 * path MTUs, RFC 8201) leave in fragments. Received fragments: atomic fragments (RFC 6946) are taken as the
 * datagram they are; real ones are reassembled (reasm.c; overlapping ones drop their datagram, RFC 5722), then
 * the datagram goes through the chain again from the fragment header's next header. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <uf/time.h>

#include "stack.h"

#define NH_HOP 0
#define NH_ROUTING 43
#define NH_FRAGMENT 44
#define NH_NONE 59
#define NH_DEST 60
#define EXT_MAX 8                       /* extension headers in one datagram, at most */
#define FRAG_HLEN 8
#define PMTU_ENTRIES 8
#define PMTU_LIFETIME (600ull * 1000000000)     /* RFC 8201 5.3: try the link's MTU again after 10 minutes */

/* Path MTUs below the link's that routers reported (Packet Too Big), by destination. */
static struct {
	uint8_t dst[16];
	uint32_t mtu;                   /* 0: free */
	uint64_t expires;
} pmtu[PMTU_ENTRIES];

struct uf_net6 uf_net6;

const uint8_t uf_ip6_loopback[16] = { [15] = 1 };
const uint8_t uf_ip6_all_nodes[16] = { 0xff, 0x02, [15] = 1 };
const uint8_t uf_ip6_all_routers[16] = { 0xff, 0x02, [15] = 2 };

int uf_ip6_is_ours(const uint8_t a[16])
{
	return !memcmp(a, uf_ip6_loopback, 16) || (uf_net6.ll_ok && !memcmp(a, uf_net6.ll, 16)) ||
	       (uf_net6.addr_ok && !memcmp(a, uf_net6.addr, 16));
}

void uf_ip6_solicited_node(const uint8_t a[16], uint8_t out[16])
{
	static const uint8_t prefix[13] = { 0xff, 0x02, [11] = 1, 0xff };
	memcpy(out, prefix, 13);
	memcpy(out + 13, a + 13, 3);
}

/* Multicast groups we are in: all-nodes and the solicited-node groups of our addresses. */
int uf_ip6_is_our_group(const uint8_t a[16])
{
	uint8_t g[16];
	if (!memcmp(a, uf_ip6_all_nodes, 16))
		return 1;
	for (int i = 0; i < 2; i++) {
		const uint8_t *mine = i ? uf_net6.addr : uf_net6.ll;
		if ((i ? uf_net6.addr_ok : uf_net6.ll_ok)) {
			uf_ip6_solicited_node(mine, g);
			if (!memcmp(a, g, 16))
				return 1;
		}
	}
	return 0;
}

static int link_local(const uint8_t a[16])
{
	return a[0] == 0xfe && (a[1] & 0xc0) == 0x80;
}

static int on_link(const uint8_t a[16])
{
	if (link_local(a))
		return 1;
	if (!uf_net6.addr_ok)
		return 0;
	int bits = uf_net6.prefix;
	for (int i = 0; bits > 0; i++, bits -= 8) {
		uint8_t mask = bits >= 8 ? 0xff : (uint8_t)(0xff << (8 - bits));
		if ((a[i] ^ uf_net6.addr[i]) & mask)
			return 0;
	}
	return 1;
}

int uf_ip6_reachable(const uint8_t dst[16])
{
	if (uf_ip6_is_ours(dst))
		return 1;
	if (!uf_net_if.dev || !uf_net6.ll_ok)
		return 0;
	return dst[0] == 0xff || on_link(dst) || uf_net6.gw_ok;
}

static size_t path_mtu(const uint8_t dst[16])
{
	uint64_t now = uf_time_monotonic_ns();
	for (int i = 0; i < PMTU_ENTRIES; i++)
		if (pmtu[i].mtu && addr_eq(pmtu[i].dst, dst) && pmtu[i].expires > now)
			return pmtu[i].mtu < uf_net6.mtu ? pmtu[i].mtu : uf_net6.mtu;
	return uf_net6.mtu;
}

size_t uf_ip6_mtu(const uint8_t dst[16])
{
	return uf_ip6_is_ours(dst) || !uf_net_if.dev ? LO_MTU : path_mtu(dst);
}

void uf_ip6_too_big(const uint8_t dst[16], uint32_t mtu)
{
	if (mtu < IP6_MIN_MTU)
		mtu = IP6_MIN_MTU;              /* RFC 8201 4: never below the minimum (nor atomic fragments) */
	int slot = 0;
	for (int i = 0; i < PMTU_ENTRIES; i++) {
		if (pmtu[i].mtu && addr_eq(pmtu[i].dst, dst)) {
			slot = i;
			break;
		}
		if (pmtu[i].expires < pmtu[slot].expires)
			slot = i;               /* else the entry that expires first */
	}
	memcpy(pmtu[slot].dst, dst, 16);
	pmtu[slot].mtu = mtu;
	pmtu[slot].expires = uf_time_monotonic_ns() + PMTU_LIFETIME;
}

const uint8_t *uf_ip6_source(const uint8_t dst[16])
{
	if (!memcmp(dst, uf_ip6_loopback, 16))
		return uf_ip6_loopback;
	if (uf_ip6_is_ours(dst))
		return dst;
	return uf_net6.addr_ok && !link_local(dst) && dst[0] != 0xff ? uf_net6.addr : uf_net6.ll;
}

uint32_t uf_ip6_pseudo_sum(const uint8_t src[16], const uint8_t dst[16], uint8_t nh, uint32_t len)
{
	uint32_t s = uf_net_sum(uf_net_sum(0, src, 16), dst, 16);
	return s + (len >> 16) + (len & 0xffff) + nh;
}

/* Hop-by-hop or destination options (RFC 8200 4.2): each option's two high type bits say what to do with one we
 * don't know. Returns 0 to go on, -1 to drop (having answered with a parameter problem when asked to). */
static int options(const uint8_t *pkt, size_t at, size_t len, int multicast)
{
	size_t i = at + 2, end = at + len;
	while (i < end) {
		uint8_t type = pkt[i];
		if (type == 0) {                /* Pad1 */
			i++;
			continue;
		}
		if (i + 2 > end || i + 2 + pkt[i + 1] > end)
			return -1;
		if (type != 1) {                /* anything but PadN: we implement none */
			int action = type >> 6;
			if (action == 1)
				return -1;
			if (action == 2 || (action == 3 && !multicast)) {
				uf_icmp6_error(4, 2, (uint32_t)i, pkt, at + len > 1232 ? 1232 : at + len);
				return -1;
			}
			if (action == 3)
				return -1;
		}
		i += 2 + (size_t)pkt[i + 1];
	}
	return 0;
}

static void input(const uint8_t *p, size_t len, int csum_valid, int from_lo, int reassembled);

/* A reassembled datagram: behind a header of its own, written in the headroom, with hop limit 0 (neighbour
 * discovery never comes in fragments: RFC 6980). */
static void deliver_reassembled(const struct uf_reasm_key *k, uint8_t *data, size_t len)
{
	uint8_t *h = data - IP6_HLEN;
	memset(h, 0, IP6_HLEN);
	h[0] = 0x60;
	put16(h + 4, (uint16_t)len);
	h[6] = k->proto;
	memcpy(h + 8, k->src, 16);
	memcpy(h + 24, k->dst, 16);
	input(h, IP6_HLEN + len, 0, 0, 1);
}

static void input(const uint8_t *p, size_t len, int csum_valid, int from_lo, int reassembled)
{
	if (len < IP6_HLEN || p[0] >> 4 != 6)
		return;
	size_t end = IP6_HLEN + (size_t)get16(p + 4);
	if (end > len)
		return;
	const uint8_t *src = p + 8, *dst = p + 24;
	int multicast = dst[0] == 0xff;
	if (!from_lo && (src[0] == 0xff || !memcmp(src, uf_ip6_loopback, 16) ||
			 (multicast ? !uf_ip6_is_our_group(dst) : !uf_ip6_is_ours(dst) || !memcmp(dst, uf_ip6_loopback, 16))))
		return;
	uint8_t nh = p[6];
	size_t nh_at = 6, at = IP6_HLEN;
	for (int n = 0; n <= EXT_MAX; n++) {
		switch (nh) {
		case NH_HOP:
		case NH_DEST:
		case NH_ROUTING: {
			if ((nh == NH_HOP && n) || at + 8 > end) {
				if (nh == NH_HOP)       /* hop-by-hop options only first (RFC 8200 4.1) */
					uf_icmp6_error(4, 1, (uint32_t)nh_at, p, end > 1232 ? 1232 : end);
				return;
			}
			size_t hl = ((size_t)p[at + 1] + 1) * 8;
			if (at + hl > end)
				return;
			if (nh == NH_ROUTING && p[at + 3]) {       /* segments left: we route nothing */
				uf_icmp6_error(4, 0, (uint32_t)(at + 3), p, end > 1232 ? 1232 : end);
				return;
			}
			if (nh != NH_ROUTING && options(p, at, hl, multicast) < 0)
				return;
			nh_at = at;
			nh = p[at];
			at += hl;
			continue;
		}
		case NH_FRAGMENT:
			if (at + 8 > end || (get16(p + at + 2) & 6))
				return;                 /* reserved bits set */
			if (get16(p + at + 2) & 0xfff9) {       /* a real fragment, not an atomic one */
				if (reassembled)
					return;         /* fragments inside fragments: no */
				struct uf_reasm_key k = { .id = get32(p + at + 4), .proto = p[at] };
				memcpy(k.src, src, 16);
				memcpy(k.dst, dst, 16);
				uint16_t off = get16(p + at + 2);
				uf_reasm_add(&k, off & 0xfff8, off & 1, p + at + 8, end - at - 8, 1, deliver_reassembled);
				return;
			}
			nh_at = at;
			nh = p[at];
			at += 8;
			continue;
		case NH_ICMP6:
			uf_icmp6_input(src, dst, p[7], p + at, end - at, p, end);
			return;
		case NH_NONE:
			return;
		case IP_PROTO_TCP:
			if (!multicast)
				uf_tcp_input(src, dst, p + at, end - at, csum_valid);
			return;
		case IP_PROTO_UDP:
			if (uf_udp_input(src, dst, p + at, end - at, csum_valid) < 0 && !multicast)
				uf_icmp6_error(1, 4, 0, p, end > 1232 ? 1232 : end);     /* port unreachable */
			return;
		default:
			uf_icmp6_error(4, 1, (uint32_t)nh_at, p, end > 1232 ? 1232 : end);
			return;
		}
	}
}

void uf_ip6_input(const uint8_t *p, size_t len, int csum_valid)
{
	input(p, len, csum_valid, 0, 0);
}

void uf_ip6_input_lo(const uint8_t *p, size_t len)
{
	input(p, len, 1, 1, 0);             /* never on a wire: TCP and UDP go unsummed (uf_ip6_send) */
}

/* A whole datagram (its header h, then the pieces v: len bytes after the header, checksums done) to a neighbour:
 * one frame, or fragments (RFC 8200 4.5) of the largest multiple of 8 bytes that fits the path's MTU, each the
 * header (h, updated here) and a fragment header before its piece. */
static int transmit(const uint8_t mac[6], uint8_t *h, const struct iovec *v, int cnt, size_t len)
{
	size_t mtu = path_mtu(h + 24);
	if (IP6_HLEN + len <= mtu) {
		struct iovec all[6] = { { h, IP6_HLEN } };
		memcpy(all + 1, v, cnt * sizeof *v);
		return uf_eth_send(mac, ETH_TYPE_IPV6, all, cnt + 1, 0);
	}
	uint8_t *flat = malloc(len), frag[FRAG_HLEN] = { h[6] };
	if (!flat)
		return -ENOMEM;
	size_t at = 0;
	for (int i = 0; i < cnt; i++) {
		memcpy(flat + at, v[i].iov_base, v[i].iov_len);
		at += v[i].iov_len;
	}
	put32(frag + 4, uf_net_random());       /* unpredictable identifications (RFC 7739) */
	h[6] = NH_FRAGMENT;
	size_t step = (mtu - IP6_HLEN - FRAG_HLEN) & ~(size_t)7;
	int r = 0;
	for (at = 0; at < len && r >= 0; at += step) {
		size_t n = len - at < step ? len - at : step;
		put16(h + 4, (uint16_t)(FRAG_HLEN + n));
		put16(frag + 2, (uint16_t)(at | (at + n < len ? 1 : 0)));
		struct iovec piece[3] = { { h, IP6_HLEN }, { frag, FRAG_HLEN }, { flat + at, n } };
		r = uf_eth_send(mac, ETH_TYPE_IPV6, piece, 3, 0);
	}
	free(flat);
	return r;
}

int uf_ip6_transmit(const uint8_t mac[6], uint8_t *datagram, size_t len)
{
	struct iovec rest = { datagram + IP6_HLEN, len - IP6_HLEN };
	return transmit(mac, datagram, &rest, 1, len - IP6_HLEN);
}

int uf_ip6_send(const uint8_t src[16], const uint8_t dst[16], uint8_t nh, uint8_t tclass, uint8_t hop_limit,
		uint8_t *l4, size_t l4_len, size_t csum_off, const struct iovec *payload, int payload_cnt)
{
	uint8_t h[IP6_HLEN], mac[6];
	struct iovec v[6];
	size_t plen = l4_len;
	if (payload_cnt > 4)
		return -EINVAL;
	for (int i = 0; i < payload_cnt; i++)
		plen += payload[i].iov_len;
	int local = uf_ip6_is_ours(dst), multicast = dst[0] == 0xff;
	int fragment = IP6_HLEN + plen > uf_ip6_mtu(dst);
	if (plen > 65535 || (fragment && (local || nh == IP_PROTO_TCP)))
		return -EMSGSIZE;               /* TCP's segments fit the path's MTU (its MSS, lowered by PMTUD) */
	const uint8_t *hop = dst;
	if (!local && !multicast && !on_link(dst)) {
		if (!uf_net6.gw_ok)
			return -ENETUNREACH;
		hop = uf_net6.gw;
	}
	if (!local && !uf_net_if.dev)
		return -ENETUNREACH;
	h[0] = (uint8_t)(0x60 | tclass >> 4);
	h[1] = (uint8_t)(tclass << 4);
	h[2] = h[3] = 0;
	put16(h + 4, (uint16_t)plen);
	h[6] = nh;
	h[7] = hop_limit;
	memcpy(h + 8, src, 16);
	memcpy(h + 24, dst, 16);
	v[0] = (struct iovec){ h, IP6_HLEN };
	v[1] = (struct iovec){ l4, l4_len };
	if (payload_cnt)
		memcpy(v + 2, payload, payload_cnt * sizeof *payload);
	int cnt = payload_cnt + 2;
	put16(l4 + csum_off, 0);
	if (local) {
		if (nh == NH_ICMP6)             /* TCP and UDP go unsummed over lo; ICMPv6 checks its own */
			put16(l4 + csum_off, uf_net_checksum(v + 1, cnt - 1, uf_ip6_pseudo_sum(src, dst, nh, (uint32_t)plen)));
		return uf_lo_send(v, cnt);
	}
	int known = 1;
	if (multicast) {                /* RFC 2464 7: 33:33 and the group's last 32 bits */
		mac[0] = mac[1] = 0x33;
		memcpy(mac + 2, dst + 12, 4);
	} else {
		known = uf_nd_lookup(hop, mac);
	}
	uint32_t pseudo = uf_ip6_pseudo_sum(src, dst, nh, (uint32_t)plen);
	if (nh != NH_ICMP6 && known && !fragment && (uf_net_if.dev->caps & UF_NETDEV_CAP_TX_CSUM)) {
		while (pseudo >> 16)
			pseudo = (pseudo & 0xffff) + (pseudo >> 16);
		put16(l4 + csum_off, (uint16_t)pseudo);
		struct uf_netdev_tx_csum c = { IP6_HLEN, (uint16_t)csum_off };
		return uf_eth_send(mac, ETH_TYPE_IPV6, v, cnt, &c);
	}
	uint16_t c = uf_net_checksum(v + 1, cnt - 1, pseudo);
	put16(l4 + csum_off, !c && nh == IP_PROTO_UDP ? 0xffff : c);      /* UDP's 0 would mean "none" */
	if (!known) {
		uf_nd_wait(hop, v, cnt);        /* whole: fragmented when it leaves */
		return 0;
	}
	return transmit(mac, h, v + 1, cnt - 1, plen);
}

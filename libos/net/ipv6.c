/* IPv6 (RFC 8200): the interface's addresses (link-local from the MAC, static uf.ip6=/uf.gw6=, or SLAAC from a
 * router's advertisement: nd.c), checked input through a bounded chain of extension headers, and output to a
 * neighbour, the default router, a multicast group or lo (::1 and our own addresses).
 *
 * Fragments: atomic fragments (RFC 6946) are taken as the datagram they are; real fragments are dropped, not
 * reassembled (nothing here sends datagrams larger than the minimum MTU over IPv6 yet). */
#include <errno.h>
#include <string.h>

#include "stack.h"

#define NH_HOP 0
#define NH_ROUTING 43
#define NH_FRAGMENT 44
#define NH_NONE 59
#define NH_DEST 60
#define EXT_MAX 8                       /* extension headers in one datagram, at most */

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

static void input(const uint8_t *p, size_t len, int from_lo)
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
			if (at + 8 > end || (get16(p + at + 2) & 0xfff9))
				return;                 /* a real fragment (or reserved bits set): not reassembled */
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
		case IP_PROTO_UDP:
			/* No transport over IPv6 yet: as a closed port. */
			if (!multicast)
				uf_icmp6_error(1, 4, 0, p, end > 1232 ? 1232 : end);
			return;
		default:
			uf_icmp6_error(4, 1, (uint32_t)nh_at, p, end > 1232 ? 1232 : end);
			return;
		}
	}
}

void uf_ip6_input(const uint8_t *p, size_t len)
{
	input(p, len, 0);
}

void uf_ip6_input_lo(const uint8_t *p, size_t len)
{
	input(p, len, 1);
}

int uf_ip6_send(const uint8_t src[16], const uint8_t dst[16], uint8_t nh, uint8_t hop_limit, uint8_t *l4,
		size_t l4_len, size_t csum_off, const struct iovec *payload, int payload_cnt)
{
	uint8_t h[IP6_HLEN];
	struct iovec v[6];
	size_t plen = l4_len;
	if (payload_cnt > 4)
		return -EINVAL;
	for (int i = 0; i < payload_cnt; i++)
		plen += payload[i].iov_len;
	int local = uf_ip6_is_ours(dst);
	if (plen > 65535 || IP6_HLEN + plen > (local ? LO_MTU : uf_net6.mtu))
		return -EMSGSIZE;
	const uint8_t *hop = dst;
	if (!local && dst[0] != 0xff && !on_link(dst)) {
		if (!uf_net6.gw_ok)
			return -ENETUNREACH;
		hop = uf_net6.gw;
	}
	if (!local && !uf_net_if.dev)
		return -ENETUNREACH;
	memset(h, 0, 4);
	h[0] = 0x60;
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
	uint32_t sum = uf_ip6_pseudo_sum(src, dst, nh, (uint32_t)plen);
	size_t at = 0;
	for (int i = 1; i < cnt; i++) {
		uint32_t part = uf_net_sum(0, v[i].iov_base, v[i].iov_len);
		if (at & 1) {
			part = (uint16_t)~uf_net_fold(part);
			part = (part & 0xff) << 8 | part >> 8;
		}
		sum += part;
		at += v[i].iov_len;
	}
	put16(l4 + csum_off, uf_net_fold(sum));
	if (local)
		return uf_lo_send(v, cnt);
	uint8_t mac[6];
	if (dst[0] == 0xff) {           /* RFC 2464 7: 33:33 and the group's last 32 bits */
		mac[0] = mac[1] = 0x33;
		memcpy(mac + 2, dst + 12, 4);
		return uf_eth_send(mac, ETH_TYPE_IPV6, v, cnt, 0);
	}
	if (uf_nd_lookup(hop, mac))
		return uf_eth_send(mac, ETH_TYPE_IPV6, v, cnt, 0);
	uf_nd_wait(hop, v, cnt);
	return 0;
}

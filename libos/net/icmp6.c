/* ICMPv6 (RFC 4443): echo, errors about datagrams we can't take (rate limited), errors about our own TCP and UDP
 * datagrams for their endpoints (Packet Too Big: path MTU discovery, RFC 8201), and the neighbour discovery
 * messages, which nd.c handles. */
#include <string.h>
#include <uf/time.h>

#include "stack.h"

#define DEST_UNREACHABLE 1
#define PACKET_TOO_BIG 2
#define ECHO_REQUEST 128
#define ECHO_REPLY 129
#define ERRORS_PER_S 100

/* An error about a datagram of ours: the quote is its IPv6 header, then (we send no extension headers) at least
 * 8 bytes of its TCP or UDP header (the ports; TCP's sequence number, which TCP checks: RFC 5927). */
static void error_input(const uint8_t *m, size_t len)
{
	const uint8_t *ip = m + 8, *l4 = ip + IP6_HLEN;
	if (len < 8 + IP6_HLEN + 8 || ip[0] >> 4 != 6 || !uf_ip6_is_ours(ip + 8) ||
	    (ip[6] != IP_PROTO_TCP && ip[6] != IP_PROTO_UDP))
		return;
	struct uf_icmp_error e = { .kind = ICMP_OTHER, .lport = get16(l4), .rport = get16(l4 + 2), .seq = get32(l4 + 4) };
	memcpy(e.local, ip + 8, 16);
	memcpy(e.remote, ip + 24, 16);
	if (m[0] == DEST_UNREACHABLE) {
		e.kind = m[1] == 4 ? ICMP_REFUSED : ICMP_UNREACHABLE;
	} else if (m[0] == PACKET_TOO_BIG) {
		e.kind = ICMP_TOO_BIG;
		e.mtu = get32(m + 4);
		if (ip[6] == IP_PROTO_UDP)
			uf_ip6_too_big(e.remote, e.mtu);    /* TCP checks first that the segment was its own */
	}
	if (ip[6] == IP_PROTO_TCP)
		uf_tcp_icmp_error(&e);
	else
		uf_udp_icmp_error(&e);
}

void uf_icmp6_input(const uint8_t src[16], const uint8_t dst[16], uint8_t hop_limit, const uint8_t *msg,
		    size_t len, const uint8_t *pkt, size_t pkt_len)
{
	(void)pkt;
	(void)pkt_len;
	if (len < 4 || uf_net_fold(uf_net_sum(uf_ip6_pseudo_sum(src, dst, NH_ICMP6, (uint32_t)len), msg, len)))
		return;
	if (msg[0] >= 133 && msg[0] <= 137) {
		uf_nd_input(src, dst, hop_limit, msg, len);
		return;
	}
	if (msg[0] < 128) {
		error_input(msg, len);
		return;
	}
	if (msg[0] != ECHO_REQUEST || len < 8 || !memcmp(src, (uint8_t[16]){ 0 }, 16))
		return;
	uint8_t h[8];
	memcpy(h, msg, 8);
	h[0] = ECHO_REPLY;
	h[1] = 0;
	struct iovec data = { (void *)(msg + 8), len - 8 };
	/* To a group (ping ff02::1): the answer comes from our own address. */
	uf_ip6_send(dst[0] == 0xff ? uf_ip6_source(src) : dst, src, NH_ICMP6, 0, 64, h, 8, 2, &data, 1);
}

static int error_allowed(void)
{
	static struct uf_net_rate errors;       /* a bucket of its own, as Linux keeps per family */
	return uf_net_rate_allow(&errors, ERRORS_PER_S);
}

void uf_icmp6_error(uint8_t type, uint8_t code, uint32_t pointer, const uint8_t *pkt, size_t len)
{
	const uint8_t *src = pkt + 8, *dst = pkt + 24;
	/* Not about an ICMPv6 error (type < 128), from or to nobody in particular (RFC 4443 2.4 e). */
	if (pkt[6] == NH_ICMP6 && len > IP6_HLEN && pkt[IP6_HLEN] < 128)
		return;
	if (src[0] == 0xff || !memcmp(src, (uint8_t[16]){ 0 }, 16) || !memcmp(src, uf_ip6_loopback, 16) ||
	    (dst[0] == 0xff && !(type == 4 && code == 2)) || !error_allowed())
		return;
	uint8_t h[8] = { type, code };
	put32(h + 4, pointer);
	struct iovec quote = { (void *)pkt, len + IP6_HLEN + 8 > IP6_MIN_MTU ? IP6_MIN_MTU - IP6_HLEN - 8 : len };
	uf_ip6_send(uf_ip6_source(src), src, NH_ICMP6, 0, 64, h, 8, 2, &quote, 1);
}

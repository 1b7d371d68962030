/* ICMP (RFC 792, RFC 1122 3.2.2): answers echo requests; sends destination unreachable for datagrams nobody takes
 * (rate limited); hands received errors about our own TCP and UDP datagrams to their endpoints (fragmentation
 * needed: path MTU discovery, RFC 1191). */
#include <string.h>
#include <uf/time.h>

#include "stack.h"

#define ICMP_ECHO_REPLY 0
#define ICMP_UNREACH 3
#define ICMP_ECHO_REQUEST 8
#define ICMP_TIME_EXCEEDED 11
#define ICMP_PARAM_PROBLEM 12
#define ICMP_HLEN 8
#define ERRORS_PER_S 100                /* errors we send, at most (Linux's icmp_msgs_per_sec is 1000) */

void uf_icmp_input(uint32_t src, uint32_t dst, const uint8_t *p, size_t len)
{
	if (len < ICMP_HLEN || !uf_ip_is_local(dst))
		return;
	if (uf_net_fold(uf_net_sum(0, p, len)))
		return;
	if (p[0] == ICMP_UNREACH || p[0] == ICMP_TIME_EXCEEDED || p[0] == ICMP_PARAM_PROBLEM) {
		/* The datagram it is about: its IP header, then at least 8 bytes (the ports; TCP's sequence). */
		const uint8_t *ip = p + ICMP_HLEN;
		size_t ilen = len - ICMP_HLEN, ihl = ilen ? (size_t)(ip[0] & 15) * 4 : 0;
		if (ilen < IP_HLEN || ip[0] >> 4 != 4 || ihl < IP_HLEN || ilen < ihl + 8 || !uf_ip_is_local(get32(ip + 12)))
			return;
		const uint8_t *l4 = ip + ihl;
		struct uf_icmp_error e = { .kind = ICMP_OTHER, .lport = get16(l4), .rport = get16(l4 + 2),
					   .seq = get32(l4 + 4) };
		if (p[0] == ICMP_UNREACH) {
			e.kind = p[1] == 2 || p[1] == 3 ? ICMP_REFUSED : p[1] == 4 ? ICMP_TOO_BIG : ICMP_UNREACHABLE;
			e.mtu = p[1] == 4 ? get16(p + 6) : 0;
		}
		addr_from_v4(e.local, get32(ip + 12));
		addr_from_v4(e.remote, get32(ip + 16));
		if (ip[9] == IP_PROTO_TCP)
			uf_tcp_icmp_error(&e);
		else if (ip[9] == IP_PROTO_UDP)
			uf_udp_icmp_error(&e);
		return;
	}
	if (p[0] != ICMP_ECHO_REQUEST)
		return;
	uint8_t h[ICMP_HLEN];
	memcpy(h, p, ICMP_HLEN);
	h[0] = ICMP_ECHO_REPLY;
	h[1] = 0;
	struct iovec data = { (void *)(p + ICMP_HLEN), len - ICMP_HLEN };
	uf_ip_send(dst, src, IP_PROTO_ICMP, 0, 0, h, ICMP_HLEN, 2, &data, 1);
}

/* A token bucket: per_s a second, in bursts of up to a tenth of that. */
int uf_net_rate_allow(struct uf_net_rate *r, uint32_t per_s)
{
	uint64_t now = uf_time_monotonic_ns(), per = 1000000000ull / per_s;
	if (now - r->last >= per) {
		uint64_t add = (now - r->last) / per;
		r->tokens = r->tokens + add > per_s / 10 ? per_s / 10 : (uint32_t)(r->tokens + add);
		r->last = now;
	}
	if (!r->tokens)
		return 0;
	r->tokens--;
	return 1;
}

static int error_allowed(void)
{
	static struct uf_net_rate errors;
	return uf_net_rate_allow(&errors, ERRORS_PER_S);
}

void uf_icmp_unreachable(uint8_t code, uint32_t src, uint32_t dst, uint8_t proto, const uint8_t *l4, size_t len)
{
	/* Never about broadcasts or datagrams to them, nor to ourselves over lo (the sender hears it otherwise). */
	if (!uf_net_if.addr || dst != uf_net_if.addr || src == IP_BROADCAST || (src >> 28) == 14 || !error_allowed())
		return;
	uint8_t h[ICMP_HLEN + IP_HLEN] = { ICMP_UNREACH, code };
	uint8_t *ip = h + ICMP_HLEN;         /* the datagram's header as it came (without options), then 8 bytes */
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)(IP_HLEN + len));
	ip[8] = 64;
	ip[9] = proto;
	put32(ip + 12, src);
	put32(ip + 16, dst);
	put16(ip + 10, uf_net_fold(uf_net_sum(0, ip, IP_HLEN)));
	struct iovec quote = { (void *)l4, len < 8 ? len : 8 };
	uf_ip_send(dst, src, IP_PROTO_ICMP, 0, 0, h, sizeof h, 2, &quote, 1);
}

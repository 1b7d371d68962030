/* ICMP (RFC 792): answers echo requests; everything else is ignored. */
#include <string.h>

#include "stack.h"

#define ICMP_ECHO_REPLY 0
#define ICMP_ECHO_REQUEST 8
#define ICMP_HLEN 8

void uf_icmp_input(uint32_t src, uint32_t dst, const uint8_t *p, size_t len)
{
	if (len < ICMP_HLEN || p[0] != ICMP_ECHO_REQUEST || !uf_ip_is_local(dst))
		return;
	if (uf_net_fold(uf_net_sum(0, p, len)))
		return;
	uint8_t h[ICMP_HLEN];
	memcpy(h, p, ICMP_HLEN);
	h[0] = ICMP_ECHO_REPLY;
	h[1] = 0;
	struct iovec data = { (void *)(p + ICMP_HLEN), len - ICMP_HLEN };
	uf_ip_send(dst, src, IP_PROTO_ICMP, 0, h, ICMP_HLEN, 2, &data, 1);
}

/* Either family, for TCP and UDP: addresses come in one form (IPv6, IPv4 as v4-mapped: stack.h) and go to the
 * IPv4 or the IPv6 layer by their family. The transports' code is the same for both. */
#include <errno.h>

#include "stack.h"

static int loopback(const uint8_t a[16])
{
	return addr_is_v4(a) ? addr_v4(a) >> 24 == 127 : addr_eq(a, uf_ip6_loopback);
}

int uf_inet_is_local(const uint8_t a[16])
{
	return addr_is_v4(a) ? uf_ip_is_local(addr_v4(a)) : uf_ip6_is_ours(a);
}

int uf_inet_route(const uint8_t src[16], const uint8_t dst[16])
{
	if (!addr_is_any(src) && addr_is_v4(src) != addr_is_v4(dst))
		return -EINVAL;
	if (addr_is_v4(dst) ? !uf_ip_reachable(addr_v4(dst)) : !uf_ip6_reachable(dst))
		return -ENETUNREACH;
	if (!addr_is_any(src) && loopback(src) && !uf_inet_is_local(dst))
		return -EINVAL;
	return 0;
}

void uf_inet_source(const uint8_t dst[16], uint8_t src[16])
{
	if (addr_is_v4(dst))
		addr_from_v4(src, uf_ip_source(addr_v4(dst)));
	else
		memcpy(src, uf_ip6_source(dst), 16);
}

size_t uf_inet_mtu(const uint8_t dst[16])
{
	if (addr_is_v4(dst))
		return uf_ip_mtu(addr_v4(dst)) - IP_HLEN;
	return uf_ip6_mtu(dst) - IP6_HLEN;
}

uint32_t uf_inet_pseudo_sum(const uint8_t src[16], const uint8_t dst[16], uint8_t proto, uint32_t len)
{
	if (addr_is_v4(dst))
		return uf_net_pseudo_sum(addr_v4(src), addr_v4(dst), proto, (uint16_t)len);
	return uf_ip6_pseudo_sum(src, dst, proto, len);
}

int uf_inet_send(const uint8_t src[16], const uint8_t dst[16], uint8_t proto, uint8_t tos, uint8_t ttl, uint8_t *l4,
		 size_t l4_len, size_t csum_off, const struct iovec *payload, int payload_cnt)
{
	if (addr_is_v4(dst))
		return uf_ip_send(addr_v4(src), addr_v4(dst), proto, tos, ttl, l4, l4_len, csum_off, payload, payload_cnt);
	return uf_ip6_send(src, dst, proto, tos, ttl ? ttl : IP_DEFAULT_TTL, l4, l4_len, csum_off, payload,
			   payload_cnt);
}

/* DHCP client (RFC 2131): discover, request, bound; renews at half the lease. */
#include <errno.h>
#include <string.h>
#include <uf/time.h>

#include "stack.h"

#define NS 1000000000ull
#define BOOTP_LEN 300               /* the minimum BOOTP message; some servers drop shorter ones */
#define OPTIONS_AT 240              /* after the fixed fields and the magic cookie */
#define SERVER_PORT 67
#define CLIENT_PORT 68
#define GIVE_UP_NS (30 * NS)

enum { DISCOVER = 1, OFFER = 2, REQUEST = 3, DECLINE = 4, ACK = 5, NAK = 6 };
enum state { IDLE, SELECTING, REQUESTING, BOUND, RENEWING };

static enum state state;
static uint32_t xid, offered, server, lease_s;
static uint64_t retry_at, retry_gap;

static void send_message(int type)
{
	uint8_t m[BOOTP_LEN];
	memset(m, 0, sizeof m);
	m[0] = 1;                   /* BOOTREQUEST */
	m[1] = 1;                   /* Ethernet */
	m[2] = 6;
	put32(m + 4, xid);
	if (state == RENEWING)
		put32(m + 12, uf_net_if.addr);     /* ciaddr */
	else
		put16(m + 10, 0x8000);             /* no address yet: ask for broadcast answers */
	memcpy(m + 28, uf_net_if.dev->mac, 6);
	put32(m + 236, 0x63825363);
	uint8_t *o = m + OPTIONS_AT;
	*o++ = 53; *o++ = 1; *o++ = (uint8_t)type;
	if (type == REQUEST && state == REQUESTING) {
		*o++ = 50; *o++ = 4; put32(o, offered); o += 4;
		*o++ = 54; *o++ = 4; put32(o, server); o += 4;
	}
	*o++ = 55; *o++ = 4; *o++ = 1; *o++ = 3; *o++ = 6; *o++ = 51;     /* mask, router, DNS, lease */
	*o++ = 255;

	uint8_t h[UDP_HLEN];
	put16(h, CLIENT_PORT);
	put16(h + 2, SERVER_PORT);
	put16(h + 4, UDP_HLEN + BOOTP_LEN);
	struct iovec v = { m, sizeof m };
	if (state == RENEWING)
		uf_ip_send(uf_net_if.addr, server, IP_PROTO_UDP, 0, h, UDP_HLEN, 6, &v, 1);
	else
		uf_ip_send(0, IP_BROADCAST, IP_PROTO_UDP, 0, h, UDP_HLEN, 6, &v, 1);
}

static void start(enum state s, int type)
{
	state = s;
	retry_gap = NS;
	retry_at = uf_time_monotonic_ns() + retry_gap;
	send_message(type);
}

/* The options we use from a message; 0 where absent. Stops at a malformed option. */
struct options {
	int type;
	uint32_t mask, router, dns, lease, server;
};

static void parse_options(const uint8_t *o, size_t len, struct options *out)
{
	size_t i = 0;
	while (i < len && o[i] != 255) {
		if (o[i] == 0) {
			i++;
			continue;
		}
		if (i + 2 > len || i + 2 + o[i + 1] > len)
			return;
		const uint8_t *v = o + i + 2;
		size_t n = o[i + 1];
		switch (o[i]) {
		case 53: if (n >= 1) out->type = v[0]; break;
		case 1: if (n >= 4) out->mask = get32(v); break;
		case 3: if (n >= 4) out->router = get32(v); break;
		case 6: if (n >= 4) out->dns = get32(v); break;
		case 51: if (n >= 4) out->lease = get32(v); break;
		case 54: if (n >= 4) out->server = get32(v); break;
		}
		i += 2 + n;
	}
}

void uf_dhcp_input(uint32_t src, const uint8_t *m, size_t len)
{
	(void)src;
	if (state == IDLE || state == BOUND || len < OPTIONS_AT || m[0] != 2 || get32(m + 4) != xid ||
	    memcmp(m + 28, uf_net_if.dev->mac, 6) || get32(m + 236) != 0x63825363)
		return;
	struct options o = { 0 };
	parse_options(m + OPTIONS_AT, len - OPTIONS_AT, &o);
	uint32_t yiaddr = get32(m + 16);
	if (state == SELECTING && o.type == OFFER && yiaddr && o.server) {
		offered = yiaddr;
		server = o.server;
		start(REQUESTING, REQUEST);
	} else if ((state == REQUESTING || state == RENEWING) && o.type == ACK && yiaddr) {
		uf_net_if.addr = yiaddr;
		uf_net_if.mask = o.mask ? o.mask : 0xffffff00u;
		if (o.router)
			uf_net_if.gw = o.router;
		if (o.dns)
			uf_net_if.dns = o.dns;
		lease_s = o.lease ? o.lease : 3600;
		state = BOUND;
		/* Renew at T1 = half the lease (a lease of "infinity" is never renewed). */
		retry_at = lease_s == 0xffffffffu ? UINT64_MAX : uf_time_monotonic_ns() + lease_s / 2 * NS;
	} else if (o.type == NAK && state != SELECTING) {
		uf_net_if.addr = 0;
		start(SELECTING, DISCOVER);
	}
}

int uf_dhcp_configure(void)
{
	xid = uf_net_random();
	uint64_t give_up = uf_time_monotonic_ns() + GIVE_UP_NS;
	start(SELECTING, DISCOVER);
	while (state != BOUND) {
		if (uf_time_monotonic_ns() >= give_up) {
			state = IDLE;
			return -ENETDOWN;
		}
		uf_net_wait(give_up);
	}
	return 0;
}

void uf_dhcp_timers(uint64_t now)
{
	if (state == IDLE || now < retry_at)
		return;
	if (state == BOUND) {
		xid = uf_net_random();
		state = RENEWING;
		retry_gap = 60 * NS / 2;
	}
	/* Exponential backoff (RFC 2131 4.1), at most 64 s between tries. */
	if (retry_gap < 64 * NS)
		retry_gap *= 2;
	retry_at = now + retry_gap;
	send_message(state == SELECTING ? DISCOVER : REQUEST);
}

uint64_t uf_dhcp_next_timer(void)
{
	return state == IDLE ? UINT64_MAX : retry_at;
}

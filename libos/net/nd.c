/* Neighbour discovery (RFC 4861) and stateless address autoconfiguration (RFC 4862) for Ethernet: a small
 * neighbour cache with unreachability detection (REACHABLE for 30 s after a confirmation, then STALE; used while
 * STALE it waits 5 s (DELAY), then asks the neighbour itself 3 times (PROBE) before forgetting it), answers to
 * solicitations for our addresses, and router advertisements: the default router, the link MTU, DNS servers
 * (RFC 8106) and, unless uf.ip6= set one, a global address from an autonomous /64 prefix.
 *
 * Every ND message must come with hop limit 255 (it was not forwarded: RFC 4861 6.1, 7.1) and options of nonzero
 * length within the message; anything else is dropped. Duplicate address detection is not done. */
#include <string.h>
#include <uf/time.h>

#include "stack.h"

#define RS 133
#define RA 134
#define NS 135
#define NA 136
#define OPT_SOURCE_LL 1
#define OPT_TARGET_LL 2
#define OPT_PREFIX 3
#define OPT_MTU 5
#define OPT_RDNSS 25
#define ENTRIES 16
#define S (1000000000ull)
#define REACHABLE_TIME (30 * S)
#define DELAY_TIME (5 * S)
#define RETRANS_TIME (1 * S)
#define TRIES 3
#define RS_TRIES 3
#define RS_INTERVAL (4 * S)

enum state { FREE, INCOMPLETE, REACHABLE, STALE, DELAY, PROBE };

struct neighbour {
	uint8_t ip[16], mac[6];
	enum state state;
	int tries;
	uint64_t deadline;
	struct uf_pending waiting;      /* datagrams to send once resolved, oldest first */
};

static struct neighbour cache[ENTRIES];
static int rs_sent;
static uint64_t rs_at;

static void send_nd(uint8_t type, const uint8_t dst[16], const uint8_t target[16], int solicited)
{
	uint8_t m[32] = { type };
	size_t len = 8;
	if (target) {
		memcpy(m + 8, target, 16);
		len = 24;
	}
	if (type == NA)
		m[4] = (uint8_t)(0x20 | (solicited ? 0x40 : 0));     /* override, solicited */
	m[len] = type == NA ? OPT_TARGET_LL : OPT_SOURCE_LL;
	m[len + 1] = 1;
	memcpy(m + len + 2, uf_net_if.dev->mac, 6);
	len += 8;
	/* An advertisement comes from the address it is about (as Linux: some neighbours, QEMU's user networking among
	 * them, learn the source address's link-layer address, not the target's). */
	const uint8_t *src = type == NA ? target : uf_net6.ll;
	uf_ip6_send(src, dst, NH_ICMP6, 0, 255, m, len, 2, 0, 0);
}

static void solicit(const struct neighbour *n, int multicast)
{
	uint8_t group[16];
	uf_ip6_solicited_node(n->ip, group);
	send_nd(NS, multicast ? group : n->ip, n->ip, 0);
}

static struct neighbour *find(const uint8_t ip[16])
{
	for (int i = 0; i < ENTRIES; i++)
		if (cache[i].state != FREE && !memcmp(cache[i].ip, ip, 16))
			return &cache[i];
	return 0;
}

static struct neighbour *victim(void)
{
	struct neighbour *best = &cache[0];
	for (int i = 0; i < ENTRIES; i++) {
		if (cache[i].state == FREE)
			return &cache[i];
		if (cache[i].state != INCOMPLETE && (best->state == INCOMPLETE || cache[i].deadline < best->deadline))
			best = &cache[i];
	}
	uf_pending_drop(&best->waiting);
	return best;
}

/* What a message says of a neighbour's link-layer address: confirmed (REACHABLE) or merely heard (STALE). A
 * different address replaces the one we have only with override (an advertisement without it just makes the
 * entry STALE: 7.2.5). */
static void learn(const uint8_t ip[16], const uint8_t mac[6], int confirmed, int create, int override)
{
	struct neighbour *n = find(ip);
	if (!n) {
		if (!create)
			return;
		n = victim();
		memset(n, 0, sizeof *n);
		memcpy(n->ip, ip, 16);
	}
	int known = n->state != INCOMPLETE && n->state != FREE;
	if (mac && known && memcmp(n->mac, mac, 6) && !override) {
		n->state = STALE;
		return;
	}
	if (mac) {
		if (known && !confirmed && !memcmp(n->mac, mac, 6))
			return;             /* nothing new */
		memcpy(n->mac, mac, 6);
	} else if (n->state == INCOMPLETE || n->state == FREE) {
		return;                     /* a confirmation without an address for an entry that has none */
	}
	n->state = confirmed ? REACHABLE : STALE;
	n->deadline = uf_time_monotonic_ns() + (confirmed ? REACHABLE_TIME : 0);
	n->tries = 0;
	uf_pending_flush(&n->waiting, n->mac, uf_ip6_transmit);
}

int uf_nd_lookup(const uint8_t ip[16], uint8_t mac[6])
{
	struct neighbour *n = find(ip);
	if (!n || n->state == INCOMPLETE)
		return 0;
	if (n->state == STALE) {            /* in use again: check it's still there, soon (7.3.3) */
		n->state = DELAY;
		n->deadline = uf_time_monotonic_ns() + DELAY_TIME;
	}
	memcpy(mac, n->mac, 6);
	return 1;
}

void uf_nd_wait(const uint8_t ip[16], const struct iovec *iov, int iovcnt)
{
	struct neighbour *n = find(ip);
	if (!n) {
		n = victim();
		memset(n, 0, sizeof *n);
		memcpy(n->ip, ip, 16);
		n->state = INCOMPLETE;
		n->tries = 1;
		n->deadline = uf_time_monotonic_ns() + RETRANS_TIME;
		solicit(n, 1);
	}
	uf_pending_add(&n->waiting, iov, iovcnt);
}

/* The link-layer address option of that type in a message's options, or NULL; -1 when an option is malformed
 * (zero length, or past the end): the whole message is then dropped. */
static int find_ll(const uint8_t *o, size_t len, uint8_t type, const uint8_t **mac)
{
	*mac = 0;
	for (size_t i = 0; i < len;) {
		if (i + 2 > len || !o[i + 1] || i + 8u * o[i + 1] > len)
			return -1;
		if (o[i] == type && o[i + 1] == 1)
			*mac = o + i + 2;
		i += 8u * o[i + 1];
	}
	return 0;
}

static void router_advertisement(const uint8_t src[16], const uint8_t *m, size_t len)
{
	uint64_t now = uf_time_monotonic_ns();
	uint16_t lifetime = get16(m + 6);
	if (lifetime && !(uf_net6.gw_ok && uf_net6.gw_expires == 0)) {   /* a static uf.gw6 stays */
		memcpy(uf_net6.gw, src, 16);
		uf_net6.gw_ok = 1;
		uf_net6.gw_expires = now + lifetime * S;
	} else if (!lifetime && uf_net6.gw_ok && uf_net6.gw_expires && !memcmp(uf_net6.gw, src, 16)) {
		uf_net6.gw_ok = 0;              /* it stops being a default router */
	}
	for (size_t i = 16; i + 8 <= len; i += 8u * m[i + 1]) {
		const uint8_t *o = m + i;
		if (o[0] == OPT_MTU && o[1] == 1) {
			uint32_t mtu = get32(o + 4);
			if (mtu >= IP6_MIN_MTU && mtu <= uf_net_if.dev->mtu)
				uf_net6.mtu = (uint16_t)mtu;
		} else if (o[0] == OPT_PREFIX && o[1] == 4 && o[2] == 64 && (o[3] & 0x40) && !uf_net6.static_addr) {
			/* Autonomous, a /64, not link-local: our address in it, the MAC's interface identifier. */
			uint32_t valid = get32(o + 4);
			if ((o[16] == 0xfe && (o[17] & 0xc0) == 0x80) || !valid)
				continue;
			uint8_t addr[16];
			memcpy(addr, o + 16, 8);
			memcpy(addr + 8, uf_net6.ll + 8, 8);
			int fresh = !uf_net6.addr_ok || memcmp(addr, uf_net6.addr, 16);
			memcpy(uf_net6.addr, addr, 16);
			uf_net6.addr_ok = 1;
			uf_net6.prefix = 64;
			uf_net6.addr_expires = valid == 0xffffffffu ? 0 : now + valid * S;
			if (fresh)
				uf_net6_announce("slaac");
		} else if (o[0] == OPT_RDNSS && o[1] >= 3 && get32(o + 4) && !uf_net6.static_dns) {
			memcpy(uf_net6.dns, o + 8, 16);
			uf_net6.dns_ok = 1;
		}
	}
}

void uf_nd_input(const uint8_t src[16], const uint8_t dst[16], uint8_t hop_limit, const uint8_t *m, size_t len)
{
	int unspecified = !memcmp(src, (uint8_t[16]){ 0 }, 16), override;
	const uint8_t *mac;
	if (hop_limit != 255 || m[1] != 0 || !uf_net_if.dev)
		return;
	switch (m[0]) {
	case NS:
		if (len < 24 || m[8] == 0xff || !uf_ip6_is_ours(m + 8) || find_ll(m + 24, len - 24, OPT_SOURCE_LL, &mac) ||
		    (unspecified && (dst[0] != 0xff || mac)))
			return;
		if (mac)
			learn(src, mac, 0, 1, 1);
		send_nd(NA, unspecified ? uf_ip6_all_nodes : src, m + 8, !unspecified);
		break;
	case NA:
		if (len < 24 || m[8] == 0xff || find_ll(m + 24, len - 24, OPT_TARGET_LL, &mac) ||
		    ((m[4] & 0x40) && dst[0] == 0xff))
			return;
		/* Solicited without the target's address (as Linux answers a unicast solicitation, RFC 4861 7.2.4): the
		 * neighbour itself answered our probe, so its address is its frame's source (Linux also leaves the
		 * override flag off then). A different one in our cache was spoofed or is stale: the probe reached
		 * the neighbour anyway (a tap delivers frames to any address), and keeping it would keep the
		 * neighbour unreachable for good. */
		override = (m[4] & 0x20) != 0;
		if (!mac && (m[4] & 0x40) && uf_eth_rx_source) {
			mac = uf_eth_rx_source;
			override = 1;
		}
		learn(m + 8, mac, (m[4] & 0x40) != 0, 0, override);
		break;
	case RA:
		if (len < 16 || src[0] != 0xfe || (src[1] & 0xc0) != 0x80 || find_ll(m + 16, len - 16, OPT_SOURCE_LL, &mac))
			return;
		if (mac)
			learn(src, mac, 0, 1, 1);
		router_advertisement(src, m, len);
		break;
	default:
		break;
	}
}

void uf_nd_start(void)
{
	rs_sent = 1;
	rs_at = uf_time_monotonic_ns() + RS_INTERVAL;
	send_nd(RS, uf_ip6_all_routers, 0, 0);
}

void uf_nd_timers(uint64_t now)
{
	for (int i = 0; i < ENTRIES; i++) {
		struct neighbour *n = &cache[i];
		if (n->state == FREE || n->state == STALE || n->deadline > now)
			continue;
		switch (n->state) {
		case REACHABLE:
			n->state = STALE;
			break;
		case DELAY:
			n->state = PROBE;
			n->tries = 1;
			n->deadline = now + RETRANS_TIME;
			solicit(n, 0);
			break;
		default:                        /* INCOMPLETE or PROBE: ask again, or give up */
			if (n->tries >= TRIES) {
				uf_pending_drop(&n->waiting);
				n->state = FREE;
				break;
			}
			n->tries++;
			n->deadline = now + RETRANS_TIME;
			solicit(n, n->state == INCOMPLETE);
			break;
		}
	}
	if (rs_at && rs_at <= now) {
		rs_at = 0;
		if (!uf_net6.gw_ok && rs_sent < RS_TRIES) {
			rs_sent++;
			rs_at = now + RS_INTERVAL;
			send_nd(RS, uf_ip6_all_routers, 0, 0);
		}
	}
	if (uf_net6.gw_ok && uf_net6.gw_expires && uf_net6.gw_expires <= now)
		uf_net6.gw_ok = 0;
	if (uf_net6.addr_ok && uf_net6.addr_expires && uf_net6.addr_expires <= now)
		uf_net6.addr_ok = 0;
}

uint64_t uf_nd_next_timer(void)
{
	uint64_t t = rs_at ? rs_at : UINT64_MAX;
	for (int i = 0; i < ENTRIES; i++)
		if (cache[i].state != FREE && cache[i].state != STALE && cache[i].deadline < t)
			t = cache[i].deadline;
	if (uf_net6.gw_ok && uf_net6.gw_expires && uf_net6.gw_expires < t)
		t = uf_net6.gw_expires;
	if (uf_net6.addr_ok && uf_net6.addr_expires && uf_net6.addr_expires < t)
		t = uf_net6.addr_expires;
	return t;
}

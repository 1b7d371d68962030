/* ARP (RFC 826) for Ethernet/IPv4: a small cache with expiry, requests retried while frames wait. */
#include <errno.h>
#include <string.h>
#include <uf/time.h>

#include "stack.h"

#define ARP_ENTRIES 16
#define ARP_LIFETIME_NS (300ull * 1000000000)     /* re-resolve after 5 minutes, like Linux's gc */
#define ARP_RETRY_NS (1000ull * 1000000)
#define ARP_TRIES 3
#define ARP_LEN 28

struct arp_entry {
	uint32_t ip;                /* 0: free */
	uint8_t mac[6];
	int resolved;
	int tries;
	uint64_t deadline;          /* resolved: expiry; pending: next retry */
	struct uf_pending waiting;  /* IP datagrams to send once resolved, oldest first */
};

static struct arp_entry cache[ARP_ENTRIES];

static const uint8_t broadcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

static void send_arp(uint16_t op, const uint8_t *dst_mac, uint32_t target_ip, const uint8_t *target_mac)
{
	uint8_t p[ARP_LEN];
	put16(p, 1);                        /* Ethernet */
	put16(p + 2, ETH_TYPE_IPV4);
	p[4] = 6;
	p[5] = 4;
	put16(p + 6, op);
	memcpy(p + 8, uf_net_if.dev->mac, 6);
	put32(p + 14, uf_net_if.addr);
	memcpy(p + 18, target_mac, 6);
	put32(p + 24, target_ip);
	struct iovec v = { p, sizeof p };
	uf_eth_send(dst_mac, ETH_TYPE_ARP, &v, 1, 0);
}

static struct arp_entry *find(uint32_t ip)
{
	for (int i = 0; i < ARP_ENTRIES; i++)
		if (cache[i].ip == ip)
			return &cache[i];
	return 0;
}

/* A free entry, else the one that expires first (a pending one only if all are pending). */
static struct arp_entry *victim(void)
{
	struct arp_entry *best = 0;
	for (int i = 0; i < ARP_ENTRIES; i++) {
		struct arp_entry *e = &cache[i];
		if (!e->ip)
			return e;
		if (!best || (e->resolved && (!best->resolved || e->deadline < best->deadline)))
			best = e;
	}
	uf_pending_drop(&best->waiting);
	return best;
}

static void learn(uint32_t ip, const uint8_t *mac, int create)
{
	struct arp_entry *e = find(ip);
	if (!e) {
		if (!create)
			return;
		e = victim();
		*e = (struct arp_entry){ .ip = ip };
	}
	memcpy(e->mac, mac, 6);
	e->resolved = 1;
	e->deadline = uf_time_monotonic_ns() + ARP_LIFETIME_NS;
	uf_pending_flush(&e->waiting, mac, uf_ip_transmit);
}

void uf_arp_input(const uint8_t *p, size_t len)
{
	if (len < ARP_LEN || get16(p) != 1 || get16(p + 2) != ETH_TYPE_IPV4 || p[4] != 6 || p[5] != 4)
		return;
	uint16_t op = get16(p + 6);
	uint32_t sender = get32(p + 14), target = get32(p + 24);
	const uint8_t *sender_mac = p + 8;
	if (!uf_net_if.addr || !sender || sender == IP_BROADCAST || (sender_mac[0] & 1))
		return;
	int for_us = target == uf_net_if.addr;
	/* RFC 826: update an entry we have; create one only when the packet is for us. */
	learn(sender, sender_mac, for_us);
	if (for_us && op == 1)
		send_arp(2, sender_mac, sender, sender_mac);
}

static int is_broadcast(uint32_t ip)
{
	uint32_t m = uf_net_if.mask;
	return ip == IP_BROADCAST || (m && m != 0xffffffffu && (ip | m) == IP_BROADCAST &&
				      (ip & m) == (uf_net_if.addr & m));
}

int uf_arp_lookup(uint32_t ip, uint8_t mac[6])
{
	if (is_broadcast(ip)) {
		memcpy(mac, broadcast, 6);
		return 1;
	}
	struct arp_entry *e = find(ip);
	if (e && e->resolved && e->deadline > uf_time_monotonic_ns()) {
		memcpy(mac, e->mac, 6);
		return 1;
	}
	return 0;
}

void uf_arp_wait(uint32_t ip, const struct iovec *iov, int iovcnt)
{
	uint64_t now = uf_time_monotonic_ns();
	struct arp_entry *e = find(ip);
	if (!e) {
		e = victim();
		*e = (struct arp_entry){ .ip = ip };
	}
	if (e->resolved) {      /* expired: ask again, keep nothing stale */
		e->resolved = 0;
		e->tries = 0;
	}
	uf_pending_add(&e->waiting, iov, iovcnt);
	if (!e->tries) {
		e->tries = 1;
		e->deadline = now + ARP_RETRY_NS;
		send_arp(1, broadcast, ip, (const uint8_t[6]){ 0 });
	}
}

void uf_arp_timers(uint64_t now)
{
	for (int i = 0; i < ARP_ENTRIES; i++) {
		struct arp_entry *e = &cache[i];
		if (!e->ip || e->deadline > now)
			continue;
		if (e->resolved || e->tries >= ARP_TRIES) {
			uf_pending_drop(&e->waiting);   /* expired, or nobody answers: forget it */
			e->ip = 0;
			continue;
		}
		e->tries++;
		e->deadline = now + ARP_RETRY_NS;
		send_arp(1, broadcast, e->ip, (const uint8_t[6]){ 0 });
	}
}

uint64_t uf_arp_next_timer(void)
{
	uint64_t t = UINT64_MAX;
	for (int i = 0; i < ARP_ENTRIES; i++)
		if (cache[i].ip && cache[i].deadline < t)
			t = cache[i].deadline;
	return t;
}

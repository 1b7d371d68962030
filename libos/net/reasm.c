/* Fragment reassembly for IPv4 (RFC 791) and IPv6 (RFC 8200 4.5) within fixed limits: a few datagrams at once, each
 * at most 64 KiB and given 30 s to complete (as Linux's ipfrag_time). */
#include <stdlib.h>
#include <string.h>
#include <uf/time.h>

#include "stack.h"

#define SLOTS 4                                 /* datagrams reassembled at once */
#define MAX 65535                               /* largest reassembled payload */
#define TIMEOUT_NS (30ull * 1000000000)

struct slot {
	uint8_t *buf;               /* UF_REASM_HEADROOM + MAX bytes; NULL: slot free */
	uint8_t have[MAX / 8 / 8 + 1];      /* one bit per 8-byte block received */
	struct uf_reasm_key key;
	size_t total;               /* payload length, known once the last fragment came; 0 before */
	uint64_t deadline;
};

static struct slot slots[SLOTS];

static void slot_free(struct slot *s)
{
	free(s->buf);
	s->buf = 0;
}

static int complete(const struct slot *s)
{
	if (!s->total)
		return 0;
	size_t blocks = (s->total + 7) / 8;
	for (size_t b = 0; b < blocks; b++)
		if (!(s->have[b / 8] & (1u << (b % 8))))
			return 0;
	return 1;
}

static int same(const struct uf_reasm_key *a, const struct uf_reasm_key *b)
{
	return a->id == b->id && a->proto == b->proto && !memcmp(a->src, b->src, 16) && !memcmp(a->dst, b->dst, 16);
}

static int has(const struct slot *s, size_t from, size_t to)
{
	for (size_t b = from; b < to; b++)
		if (s->have[b / 8] & (1u << (b % 8)))
			return 1;
	return 0;
}

void uf_reasm_add(const struct uf_reasm_key *k, size_t offset, int more, const uint8_t *p, size_t len,
		  int no_overlaps, void (*deliver)(const struct uf_reasm_key *k, uint8_t *data, size_t len))
{
	if ((more && (len % 8 || !len)) || offset + len > MAX)
		return;
	struct slot *s = 0, *free_slot = 0, *oldest = &slots[0];
	for (int i = 0; i < SLOTS; i++) {
		struct slot *t = &slots[i];
		if (!t->buf) {
			free_slot = free_slot ? free_slot : t;
			continue;
		}
		if (same(&t->key, k))
			s = t;
		if (t->deadline < oldest->deadline)
			oldest = t;
	}
	if (!s) {
		/* Every slot busy: the oldest datagram is the least likely to complete. */
		s = free_slot ? free_slot : oldest;
		slot_free(s);
		s->buf = malloc(UF_REASM_HEADROOM + MAX);
		if (!s->buf)
			return;
		memset(s->have, 0, sizeof s->have);
		s->key = *k;
		s->total = 0;
		s->deadline = uf_time_monotonic_ns() + TIMEOUT_NS;
	}
	size_t first = offset / 8, last = (offset + len + 7) / 8;
	if ((!more && ((s->total && s->total != offset + len) || offset + len == 0)) ||
	    (s->total && offset + len > s->total) || (no_overlaps && has(s, first, last))) {
		slot_free(s);       /* two different ends, past the end, or overlapping (RFC 5722): forged or broken */
		return;
	}
	if (!more)
		s->total = offset + len;
	memcpy(s->buf + UF_REASM_HEADROOM + offset, p, len);
	for (size_t b = first; b < last; b++)
		s->have[b / 8] |= (uint8_t)(1u << (b % 8));
	if (complete(s)) {
		deliver(&s->key, s->buf + UF_REASM_HEADROOM, s->total);
		slot_free(s);
	}
}

void uf_reasm_timers(uint64_t now)
{
	for (int i = 0; i < SLOTS; i++)
		if (slots[i].buf && slots[i].deadline <= now)
			slot_free(&slots[i]);
}

uint64_t uf_reasm_next_timer(void)
{
	uint64_t t = UINT64_MAX;
	for (int i = 0; i < SLOTS; i++)
		if (slots[i].buf && slots[i].deadline < t)
			t = slots[i].deadline;
	return t;
}

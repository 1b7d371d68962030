/* Xen blkfront (public/io/blkif.h) behind uf/blkdev.h: a domU's disk, served by blkback in the backend domain.
 *
 * One shared ring (one page: 32 requests) and one event channel. A request names up to 11 pages by grant
 * reference, each with the 512-byte sectors it covers. The caller's buffer may have any alignment, so each ring
 * slot owns 11 pages granted to the backend for good: writes are copied into them, reads out of them (the one
 * copy); a larger request goes as several slots. Ordering as every driver's (uf/blkdev.h): requests that overlap, and
 * flushes, wait for what is in flight before them. A flush is BLKIF_OP_FLUSH_DISKCACHE when the backend offers it
 * (its device has a volatile cache; a loop device over a file does): fsync's promise rests on it. A read-only disk
 * (the backend's info says so) refuses writes before they reach the ring. */
#include <errno.h>
#include <string.h>
#include <uf/blkdev.h>
#include <uf/boot.h>
#include <uf/mem.h>
#include <uf/time.h>
#include <uf/xen.h>
#include <uf/xenbus.h>
#include <uf/xenevtchn.h>
#include <uf/xengnttab.h>
#include <uf/xenupcall.h>

#define OP_READ            0
#define OP_WRITE           1
#define OP_FLUSH_DISKCACHE 3
#define RSP_OKAY           0
#define VDISK_READONLY     4

#define RING 32                 /* (4096 - 64) / 112, rounded down to a power of 2 */
#define SLOTS 16                /* requests in flight: 16 x 11 pages granted */
#define SEGS 11
#define SECTOR 512              /* the protocol's unit, whatever the disk's sector size */
#define MAX_DISKS 4
#ifdef __x86_64__
#define PROTOCOL "x86_64-abi"
#else
#define PROTOCOL "arm-abi"
#endif
#define WAIT_NS 1000000000ull   /* the event wakes us; this is only a safety net */

struct ring_header {
	uint32_t req_prod, req_event, rsp_prod, rsp_event;
	uint8_t pvt[4], pad[44];
};

struct segment {
	uint32_t gref;
	uint8_t first_sect, last_sect;
	uint16_t pad;
};

struct request {
	uint8_t operation, nr_segments;
	uint16_t handle;
	uint32_t pad;
	uint64_t id, sector;
	struct segment seg[SEGS];
};

struct response {
	uint64_t id;
	uint8_t operation, pad;
	int16_t status;
	uint32_t pad2;
};

union entry {
	struct request req;
	struct response rsp;
};

struct ring {
	struct ring_header h;
	union entry e[RING];
};

_Static_assert(sizeof(struct request) == 112 && sizeof(struct response) == 16, "blkif ABI (x86_64, arm)");
_Static_assert(sizeof(struct ring) <= UF_PAGE_SIZE, "one page");

struct slot {
	struct uf_blkreq *req;          /* NULL: free */
	uint32_t offset, bytes;         /* the part of req->buf this slot carries */
	uint8_t *page[SEGS];
	int gref[SEGS];
};

struct disk {
	struct uf_blkdev blkdev;
	struct uf_xenbus_dev bus;
	volatile struct ring *ring;
	uint32_t prod, cons;
	struct slot slots[SLOTS];
	int in_flight;
	char name[16];
};

static struct disk disks[MAX_DISKS];
static int probed[MAX_DISKS];

/* Whether r may start now (before any part of it is on the ring): nothing in flight that it must wait for. */
static int may_start(struct disk *d, const struct uf_blkreq *r)
{
	for (int i = 0; i < SLOTS; i++)
		if (d->slots[i].req && uf_blkreq_waits_for(r, d->slots[i].req))
			return 0;
	return 1;
}

static struct slot *free_slot(struct disk *d)
{
	for (int i = 0; i < SLOTS; i++)
		if (!d->slots[i].req)
			return &d->slots[i];
	return NULL;
}

/* Puts the part of r from byte offset on the ring in slot s; returns the bytes it carries. */
static uint32_t submit(struct disk *d, struct slot *s, struct uf_blkreq *r, uint32_t offset)
{
	uint32_t total = r->op == UF_BLK_FLUSH ? 0 : r->nsectors * d->blkdev.sector_size;
	uint32_t bytes = total - offset < SEGS * UF_PAGE_SIZE ? total - offset : SEGS * UF_PAGE_SIZE;
	volatile struct request *q = &d->ring->e[d->prod++ % RING].req;
	s->req = r;
	s->offset = offset;
	s->bytes = bytes;
	q->operation = r->op == UF_BLK_READ ? OP_READ : r->op == UF_BLK_WRITE ? OP_WRITE : OP_FLUSH_DISKCACHE;
	q->handle = 0;
	q->id = (uint64_t)(s - d->slots);
	q->sector = r->op == UF_BLK_FLUSH ? 0 :
		    r->sector * (d->blkdev.sector_size / SECTOR) + offset / SECTOR;
	uint8_t n = 0;
	for (uint32_t at = 0; at < bytes; at += UF_PAGE_SIZE, n++) {
		uint32_t chunk = bytes - at < UF_PAGE_SIZE ? bytes - at : UF_PAGE_SIZE;
		if (r->op == UF_BLK_WRITE)
			memcpy(s->page[n], (const uint8_t *)r->buf + offset + at, chunk);
		q->seg[n].gref = (uint32_t)s->gref[n];
		q->seg[n].first_sect = 0;
		q->seg[n].last_sect = (uint8_t)(chunk / SECTOR - 1);
	}
	q->nr_segments = n;
	d->in_flight++;
	return bytes;
}

static void push(struct disk *d)
{
	uint32_t old = d->ring->h.req_prod;
	__atomic_store_n(&d->ring->h.req_prod, d->prod, __ATOMIC_SEQ_CST);
	if ((uint32_t)(d->prod - d->ring->h.req_event) < (uint32_t)(d->prod - old))
		uf_xen_evtchn_send(d->bus.port);
}

static int reap(struct disk *d)
{
	int done = 0;
	for (;;) {
		uint32_t prod = __atomic_load_n(&d->ring->h.rsp_prod, __ATOMIC_ACQUIRE);
		for (; d->cons != prod; d->cons++) {
			volatile struct response *p = &d->ring->e[d->cons % RING].rsp;
			uint64_t id = p->id;
			struct slot *s = id < SLOTS ? &d->slots[id] : NULL;
			if (!s || !s->req)
				continue;       /* a backend's nonsense: ignored, never trusted */
			if (p->status != RSP_OKAY)
				s->req->status = -EIO;
			else if (s->req->op == UF_BLK_READ)
				for (uint32_t at = 0; at < s->bytes; at += UF_PAGE_SIZE)
					memcpy((uint8_t *)s->req->buf + s->offset + at, s->page[at / UF_PAGE_SIZE],
					       s->bytes - at < UF_PAGE_SIZE ? s->bytes - at : UF_PAGE_SIZE);
			s->req = NULL;
			d->in_flight--;
			done++;
		}
		/* An event at the next response, then one more look. */
		__atomic_store_n(&d->ring->h.rsp_event, d->cons + 1, __ATOMIC_SEQ_CST);
		if (__atomic_load_n(&d->ring->h.rsp_prod, __ATOMIC_ACQUIRE) == prod)
			return done;
	}
}

static int run(struct uf_blkdev *b, struct uf_blkreq *reqs, int n)
{
	struct disk *d = b->priv;
	int next = 0;
	uint32_t offset = 0;            /* how much of reqs[next] is on the ring already */
	while (next < n || d->in_flight) {
		int pushed = 0;
		while (next < n) {
			struct uf_blkreq *r = &reqs[next];
			if (!offset) {
				int check = uf_blkreq_check(&d->blkdev, r);
				if (check <= 0) {
					r->status = check;
					next++;
					continue;
				}
				if (!may_start(d, r))
					break;
				r->status = 0;
			}
			struct slot *s = free_slot(d);
			if (!s)
				break;
			offset += submit(d, s, r, offset);
			pushed = 1;
			if (r->op == UF_BLK_FLUSH || offset == r->nsectors * b->sector_size) {
				next++;
				offset = 0;
			}
		}
		if (pushed)
			push(d);
		if (!reap(d) && d->in_flight)
			uf_time_wait_until(uf_time_monotonic_ns() + WAIT_NS);
	}
	for (int i = 0; i < n; i++)
		if (reqs[i].status)
			return reqs[i].status;
	return 0;
}

static int setup(struct disk *d, int index)
{
	int rc = uf_xenbus_find(&d->bus, "vbd", index);
	if (rc)
		return rc;
	d->ring = uf_page_alloc(1);
	if (!d->ring)
		return -ENOMEM;
	d->ring->h.req_event = d->ring->h.rsp_event = 1;
	int ring_ref = uf_xen_gnttab_grant(d->bus.backend_id, (const void *)d->ring, 0);
	if (ring_ref < 0)
		return ring_ref;
	for (int i = 0; i < SLOTS; i++)
		for (int j = 0; j < SEGS; j++) {
			struct slot *s = &d->slots[i];
			if (!(s->page[j] = uf_page_alloc(1)))
				return -ENOMEM;
			if ((s->gref[j] = uf_xen_gnttab_grant(d->bus.backend_id, s->page[j], 0)) < 0)
				return s->gref[j];
		}
	/* The layout of our requests: without it, an x86 backend assumes the 32-bit one of old PV guests. */
	const struct uf_xenbus_key keys[] = { { .name = "ring-ref", .value = (unsigned long)ring_ref },
					      { .name = "protocol", .text = PROTOCOL } };
	if ((rc = uf_xenbus_connect(&d->bus, keys, 2)))
		return rc;
	unsigned long sectors = 0, sector_size = SECTOR, info = 0, flush = 0;
	if (uf_xenbus_backend_ulong(&d->bus, "sectors", &sectors))
		return -EIO;
	uf_xenbus_backend_ulong(&d->bus, "sector-size", &sector_size);
	uf_xenbus_backend_ulong(&d->bus, "info", &info);
	uf_xenbus_backend_ulong(&d->bus, "feature-flush-cache", &flush);
	if (sector_size < SECTOR || sector_size > UF_PAGE_SIZE || sector_size % SECTOR)
		return -EIO;
	uf_xen_evtchn_wake_on(d->bus.port);
	struct uf_blkdev *b = &d->blkdev;
	memcpy(d->name, "xen-vbd0", 9);
	d->name[7] = (char)('0' + index);
	b->name = d->name;
	b->sector_size = (uint32_t)sector_size;
	b->nsectors = sectors * SECTOR / sector_size;   /* the backend counts 512-byte sectors */
	b->read_only = (info & VDISK_READONLY) != 0;
	b->has_flush = flush != 0;
	b->run = run;
	b->priv = d;
	return 0;
}

struct uf_blkdev *uf_blkdev_get(int index)
{
	if (index < 0 || index >= MAX_DISKS)
		return NULL;
	if (!probed[index])
		probed[index] = setup(&disks[index], index) ? -1 : 1;
	return probed[index] > 0 ? &disks[index].blkdev : NULL;
}

/* virtio-blk (spec 5.2) behind uf/blkdev.h. A device request is a header (device reads), the caller's buffer in
 * place, and the status byte (device writes). The buffer is one descriptor per physically contiguous run
 * (uf_mem_dma): RAM is identity mapped, so a buffer there is one descriptor whatever its size and alignment, while
 * one in demand-zero memory is a run per page (or per pages that happen to follow each other). A request with more
 * runs than a device request may carry (the device's seg_max, the queue, RUNS_MAX) goes as several, each a whole
 * number of sectors (a sector may span two runs). run() keeps the queue as full as ordering allows and halts
 * between completions; the interrupt only wakes it. */
#include <errno.h>
#include <string.h>
#include <uf/blkdev.h>
#include <uf/boot.h>
#include <uf/mem.h>
#include <uf/time.h>
#include <uf/virtio.h>

#define F_SEG_MAX       2
#define F_RO            5
#define F_BLK_SIZE      6
#define F_FLUSH         9

#define T_IN    0
#define T_OUT   1
#define T_FLUSH 4
#define S_OK    0
#define S_UNSET 0xff            /* what the status byte holds until the device writes it */

#define CONFIG_CAPACITY 0       /* in 512-byte sectors, whatever blk_size says */
#define CONFIG_SEG_MAX  12
#define CONFIG_BLK_SIZE 20
#define QUEUE_MAX 256
#define MAX_DISKS 4
#define SECTOR 512
#define RUNS_MAX 32             /* data descriptors per device request: 128 KiB of demand-zero pages at least */
#define PART_MAX (1u << 30)     /* bytes per device request: whole sectors, and a count a long holds on ARMv7 */
/* How long run() halts before looking again: with an interrupt it wakes earlier; without one it polls. */
#define WAIT_NS (10 * 1000000ull)
#define POLL_NS (200 * 1000ull)

struct req_hdr {
	uint32_t type, reserved;
	uint64_t sector;
};

struct slot {
	struct req_hdr hdr;
	uint8_t status;
	struct uf_blkreq *req;          /* NULL: free; else the request this device request carries a part of */
};

struct disk {
	struct uf_blkdev blkdev;
	struct uf_virtio_dev *dev;
	struct uf_virtq vq;
	struct slot *slots;
	int nslots, in_flight;
	int runs;                       /* data descriptors a device request may have */
	uint64_t wait_ns;
	char name[16];
};

static const uint8_t features[] = { UF_VIRTIO_F_VERSION_1, F_SEG_MAX, F_RO, F_BLK_SIZE, F_FLUSH };
static struct disk disks[MAX_DISKS];
static int probed[MAX_DISKS];

/* Whether r may start now: nothing in flight that it must wait for. */
static int may_start(struct disk *d, const struct uf_blkreq *r)
{
	for (int i = 0; i < d->nslots; i++)
		if (d->slots[i].req && uf_blkreq_waits_for(r, d->slots[i].req))
			return 0;
	return 1;
}

static struct slot *free_slot(struct disk *d)
{
	for (int i = 0; i < d->nslots; i++)
		if (!d->slots[i].req)
			return &d->slots[i];
	return NULL;
}

/* Puts the part of r from byte offset on the queue in slot s: the bytes it carries (0 when the queue has too few
 * free descriptors: nothing was queued), or -errno when r's buffer cannot be reached by the device. */
static long submit(struct disk *d, struct slot *s, struct uf_blkreq *r, uint32_t offset)
{
	uint32_t size = d->blkdev.sector_size, total = r->op == UF_BLK_FLUSH ? 0 : r->nsectors * size, bytes = 0;
	uint32_t left = total - offset < PART_MAX ? total - offset : PART_MAX;
	int writes = r->op == UF_BLK_READ, n = 1;
	struct uf_virtq_seg segs[RUNS_MAX + 2] = { { (uintptr_t)&s->hdr, sizeof s->hdr, 0 } };
	while (bytes < left && n <= d->runs) {
		uintptr_t pa;
		long run = uf_mem_dma((uint8_t *)r->buf + offset + bytes, left - bytes, writes, &pa);
		if (run < 0)
			return run;
		segs[n++] = (struct uf_virtq_seg){ pa, (uint32_t)run, writes };
		bytes += (uint32_t)run;
	}
	/* A part that ends before the request ends on a sector boundary: the rest of its last sector goes next. */
	for (uint32_t cut = offset + bytes < total ? bytes % size : 0; cut;) {
		uint32_t drop = segs[n - 1].len < cut ? segs[n - 1].len : cut;
		cut -= drop;
		if (!(segs[n - 1].len -= drop))
			n--;
		bytes -= drop;
	}
	if (r->op != UF_BLK_FLUSH && !bytes)
		return -EIO;            /* one sector spans more runs than the device takes in one request */
	s->hdr = (struct req_hdr){ .type = r->op == UF_BLK_READ ? T_IN : r->op == UF_BLK_WRITE ? T_OUT : T_FLUSH,
				   .sector = r->op == UF_BLK_FLUSH ? 0 : (r->sector * size + offset) / SECTOR };
	s->status = S_UNSET;
	segs[n++] = (struct uf_virtq_seg){ (uintptr_t)&s->status, 1, 1 };
	if (uf_virtq_add(&d->vq, segs, n, s))
		return 0;
	s->req = r;
	d->in_flight++;
	return bytes ? bytes : 1;
}

static int reap(struct disk *d)
{
	struct slot *s;
	int done = 0;
	while ((s = uf_virtq_next_used(&d->vq, NULL))) {
		if (!s->req)
			continue;       /* a device returning a chain twice */
		if (s->status != S_OK && !s->req->status)
			s->req->status = -EIO;
		s->req = NULL;
		d->in_flight--;
		done++;
	}
	return done;
}

static int run(struct uf_blkdev *b, struct uf_blkreq *reqs, int n)
{
	struct disk *d = b->priv;
	int next = 0;
	uint32_t offset = 0;            /* how much of reqs[next] is on the queue already */
	while (next < n || d->in_flight) {
		int kicked = 0;
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
			long carried = s ? submit(d, s, r, offset) : 0;
			if (!carried)
				break;
			kicked |= carried > 0;
			if (carried < 0)
				r->status = (int)carried;       /* what is in flight of it completes; no more goes */
			else
				offset += r->op == UF_BLK_FLUSH ? 0 : (uint32_t)carried;
			if (carried < 0 || r->op == UF_BLK_FLUSH || offset == r->nsectors * b->sector_size) {
				next++;
				offset = 0;
			}
		}
		if (kicked)
			uf_virtq_kick(d->dev, &d->vq);
		if (!reap(d) && d->in_flight)
			uf_time_wait_until(uf_time_monotonic_ns() + d->wait_ns);
	}
	for (int i = 0; i < n; i++)
		if (reqs[i].status)
			return reqs[i].status;
	return 0;
}

static int setup(struct disk *d, int index)
{
	struct uf_virtio_dev *dev = uf_virtio_find(UF_VIRTIO_ID_BLK, index);
	if (!dev || uf_virtio_start(dev, features, sizeof features))
		return -1;
	d->dev = dev;
	d->wait_ns = uf_virtio_enable_interrupt(dev) ? POLL_NS : WAIT_NS;
	if (uf_virtq_setup(dev, &d->vq, 0, QUEUE_MAX))
		goto fail;
	d->nslots = d->vq.size / 3;
	/* Runs per device request: the device's seg_max, else only the queue bounds them (the spec sets no limit). */
	uint32_t runs = uf_virtio_has(dev, F_SEG_MAX) ? uf_virtio_config32(dev, CONFIG_SEG_MAX) : RUNS_MAX;
	d->runs = runs < 1 ? 1 : runs > RUNS_MAX ? RUNS_MAX : (int)runs;
	if (d->runs > d->vq.size - 2)
		d->runs = d->vq.size - 2;
	d->slots = uf_page_alloc((d->nslots * sizeof(struct slot) + UF_PAGE_SIZE - 1) / UF_PAGE_SIZE);
	if (!d->nslots || !d->slots)
		goto fail;

	struct uf_blkdev *b = &d->blkdev;
	uint32_t size = uf_virtio_has(dev, F_BLK_SIZE) ? uf_virtio_config32(dev, CONFIG_BLK_SIZE) : SECTOR;
	if (size < SECTOR || size > 65536 || (size & (size - 1)))
		size = SECTOR;          /* a nonsensical value: the protocol's own unit */
	b->sector_size = size;
	b->nsectors = uf_virtio_config64(dev, CONFIG_CAPACITY) / (size / SECTOR);
	b->read_only = uf_virtio_has(dev, F_RO);
	b->has_flush = uf_virtio_has(dev, F_FLUSH);
	memcpy(d->name, "virtio-blk0", 12);
	d->name[10] = '0' + index;
	b->name = d->name;
	b->run = run;
	b->priv = d;
	uf_virtio_ready(dev);
	return 0;
fail:
	uf_virtio_fail(dev);
	return -1;
}

struct uf_blkdev *uf_blkdev_get(int index)
{
	if (index < 0 || index >= MAX_DISKS)
		return NULL;
	if (!probed[index])
		probed[index] = setup(&disks[index], index) ? -1 : 1;
	return probed[index] > 0 ? &disks[index].blkdev : NULL;
}

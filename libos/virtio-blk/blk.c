/* virtio-blk (spec 5.2) behind uf/blkdev.h. A request is three descriptors: header (device reads), the
 * caller's buffer in place (identity mapping: contiguous memory is one descriptor, whatever its alignment), and
 * the status byte (device writes). run() keeps the queue as full as ordering allows and halts between
 * completions; the interrupt only wakes it. */
#include <errno.h>
#include <string.h>
#include <uf/blkdev.h>
#include <uf/boot.h>
#include <uf/mem.h>
#include <uf/time.h>
#include <uf/virtio.h>

#define F_RO            5
#define F_BLK_SIZE      6
#define F_FLUSH         9

#define T_IN    0
#define T_OUT   1
#define T_FLUSH 4
#define S_OK    0
#define S_UNSET 0xff            /* what the status byte holds until the device writes it */

#define CONFIG_CAPACITY 0       /* in 512-byte sectors, whatever blk_size says */
#define CONFIG_BLK_SIZE 20
#define QUEUE_MAX 256
#define MAX_DISKS 4
#define SECTOR 512
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
	struct uf_blkreq *req;          /* NULL: free */
};

struct disk {
	struct uf_blkdev blkdev;
	struct uf_virtio_dev *dev;
	struct uf_virtq vq;
	struct slot *slots;
	int nslots, in_flight;
	uint64_t wait_ns;
	char name[16];
};

static const uint8_t features[] = { UF_VIRTIO_F_VERSION_1, F_RO, F_BLK_SIZE, F_FLUSH };
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

static void submit(struct disk *d, struct slot *s, struct uf_blkreq *r)
{
	uint32_t scale = d->blkdev.sector_size / SECTOR;
	s->req = r;
	s->status = S_UNSET;
	s->hdr = (struct req_hdr){ .type = r->op == UF_BLK_READ ? T_IN : r->op == UF_BLK_WRITE ? T_OUT : T_FLUSH,
				   .sector = r->op == UF_BLK_FLUSH ? 0 : r->sector * scale };
	struct uf_virtq_seg segs[3] = { { &s->hdr, sizeof s->hdr, 0 } };
	int n = 1;
	if (r->op != UF_BLK_FLUSH)
		segs[n++] = (struct uf_virtq_seg){ r->buf, r->nsectors * d->blkdev.sector_size, r->op == UF_BLK_READ };
	segs[n++] = (struct uf_virtq_seg){ &s->status, 1, 1 };
	uf_virtq_add(&d->vq, segs, n, s);       /* callers checked: a free slot has its three descriptors */
	d->in_flight++;
}

static int reap(struct disk *d)
{
	struct slot *s;
	int done = 0;
	while ((s = uf_virtq_next_used(&d->vq, NULL))) {
		if (!s->req)
			continue;       /* a device returning a chain twice */
		s->req->status = s->status == S_OK ? 0 : -EIO;
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
	while (next < n || d->in_flight) {
		int kicked = 0;
		for (; next < n; next++) {
			struct uf_blkreq *r = &reqs[next];
			int check = uf_blkreq_check(&d->blkdev, r);
			if (check <= 0) {
				r->status = check;
				continue;
			}
			struct slot *s = free_slot(d);
			if (!s || !may_start(d, r))
				break;
			submit(d, s, r);
			kicked = 1;
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

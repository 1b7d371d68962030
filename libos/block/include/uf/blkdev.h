/* The seam between a block device driver (virtio-blk, Xen blkfront) and its users (the block cache, file
 * systems). Requests are synchronous for the caller, yet a batch keeps several in flight on the device.
 *
 * Single CPU, no preemption: every function here runs in process context; a driver's interrupt only wakes the
 * CPU (with threads, the waiting thread) from uf_time_wait_until() while it waits for completions. With threads,
 * one caller at a time: the block cache, which holds its lock across run(). */
#ifndef UF_BLKDEV_H
#define UF_BLKDEV_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

enum uf_blk_op {
	UF_BLK_READ,
	UF_BLK_WRITE,
	UF_BLK_FLUSH,           /* everything written before is on stable storage when this completes */
};

struct uf_blkreq {
	enum uf_blk_op op;
	uint64_t sector;        /* in units of uf_blkdev.sector_size; ignored for UF_BLK_FLUSH */
	void *buf;              /* nsectors * sector_size bytes; any alignment, anywhere the caller may read (a write)
	                         * or write (a read), demand-zero memory too; NULL for UF_BLK_FLUSH */
	uint32_t nsectors;
	int status;             /* out: 0, -EIO (device error), -EROFS (write to a read-only device),
	                         * -EINVAL (past the end, or nsectors 0 for a read/write), -EFAULT (buf is not
	                         * mapped for the access), -ENOMEM (no page left to back buf's demand-zero pages) */
};

struct uf_blkdev {
	const char *name;       /* e.g. "virtio-blk0" */
	uint64_t nsectors;      /* capacity */
	uint32_t sector_size;   /* 512 unless the device says otherwise */
	int read_only;          /* the device refuses writes */
	int has_flush;          /* the device has a volatile write cache and honours UF_BLK_FLUSH; without it,
	                         * writes are durable on completion and UF_BLK_FLUSH completes at once */

	/* Runs n requests, keeping as many in flight as the device's queue allows, in order of submission for
	 * requests that overlap; returns when all have completed: 0 if every status is 0, else the first
	 * non-zero status. Blocks without spinning the CPU. */
	int (*run)(struct uf_blkdev *dev, struct uf_blkreq *reqs, int n);

	void *priv;             /* the driver's state */
};

/* The index-th block device (0 = the first disk given to the guest), probed on first call; NULL if there is
 * none. Defined by exactly one block driver module: the one the target links. */
struct uf_blkdev *uf_blkdev_get(int index);

/* For drivers' run(): what every driver checks and orders the same way, whatever its queue. */

/* A request's final status before it goes anywhere (0 for a flush the device does not need, -EINVAL, -EROFS), or
 * 1 if it must go to the device. */
static inline int uf_blkreq_check(const struct uf_blkdev *b, const struct uf_blkreq *r)
{
	if (r->op == UF_BLK_FLUSH)
		return b->has_flush ? 1 : 0;
	if (r->op != UF_BLK_READ && r->op != UF_BLK_WRITE)
		return -EINVAL;
	if (!r->nsectors || !r->buf || r->sector >= b->nsectors || r->nsectors > b->nsectors - r->sector ||
	    (uint64_t)r->nsectors * b->sector_size > UINT32_MAX)
		return -EINVAL;
	if (r->op == UF_BLK_WRITE && b->read_only)
		return -EROFS;
	return 1;
}

/* Whether `later` must wait for `earlier`, in flight on the device, to complete: they overlap and one writes, or
 * one is a flush (it covers what completed before it: nothing passes it). */
static inline int uf_blkreq_waits_for(const struct uf_blkreq *later, const struct uf_blkreq *earlier)
{
	if (later->op == UF_BLK_FLUSH || earlier->op == UF_BLK_FLUSH)
		return 1;
	if (later->op == UF_BLK_READ && earlier->op == UF_BLK_READ)
		return 0;
	return later->sector < earlier->sector + earlier->nsectors &&
	       earlier->sector < later->sector + later->nsectors;
}

#endif

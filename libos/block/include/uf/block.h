/* The block cache: byte-addressed reads and writes of a block device through 4 KiB lines kept in memory, written
 * back on flush (or when a dirty line must make room), several requests in flight per batch.
 *
 * Process context only; with threads, one call at a time (each holds the cache's lock). Every function returns 0
 * or -errno (-EIO from the device, -EROFS for a write to a read-only device, -EINVAL past the end). */
#ifndef UF_BLOCK_H
#define UF_BLOCK_H

#include <stddef.h>
#include <stdint.h>
#include <uf/blkdev.h>

struct uf_bcache;

/* A cache over dev (one per device: opening it again returns the same one), or NULL when out of memory or the
 * device's sector size does not divide a line. */
struct uf_bcache *uf_bcache_open(struct uf_blkdev *dev);
/* The device's capacity in bytes. */
uint64_t uf_bcache_size(struct uf_bcache *c);
int uf_bcache_read(struct uf_bcache *c, uint64_t off, void *buf, size_t len);
/* Metadata (allocation tables, directories): written back after the file data, so that after a power cut it never
 * points at data that did not reach the device. */
int uf_bcache_write(struct uf_bcache *c, uint64_t off, const void *buf, size_t len);
/* File contents: written back first. A line that also holds metadata goes with the metadata. */
int uf_bcache_write_data(struct uf_bcache *c, uint64_t off, const void *buf, size_t len);
/* Writes every dirty line (data, device flush, metadata), then has the device make all writes durable
 * (UF_BLK_FLUSH). */
int uf_bcache_flush(struct uf_bcache *c);

#endif

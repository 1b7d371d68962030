/* Drives the first disk through uf/blkdev.h directly. The test's disk holds byte (7 * sector + i) & 0xff at
 * offset i of every 512-byte sector. `blkprobe rw`: reads it all in one batch into unaligned buffers and checks
 * it, then reads it in one request, rejects a request past the end, writes sectors 100-131 with
 * (13 * sector + i + 1) & 0xff and sector 200 twice in one batch ('A' then 'B': the later must win), flushes,
 * reads back; then the same through demand-zero memory (module demand: pages mapped one by one, none where RAM
 * is): writes sectors 300-699 with (29 * sector + i + 3) & 0xff from a mapping whose pages were touched last to
 * first (so that no two follow each other in physical memory, at an odd address: more pages than one device
 * request takes, a sector across two of them), reads them back into an untouched mapping, and checks that a read
 * into a read-only page is refused with -EFAULT. `blkprobe ro`: the same reads, then a write that must fail with
 * -EROFS. Exits 0 when all of it held, else a step number. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* The layout of libos/block/include/uf/blkdev.h (an app does not see library-OS headers). */
enum uf_blk_op { UF_BLK_READ, UF_BLK_WRITE, UF_BLK_FLUSH };
struct uf_blkreq {
	enum uf_blk_op op;
	uint64_t sector;
	void *buf;
	uint32_t nsectors;
	int status;
};
struct uf_blkdev {
	const char *name;
	uint64_t nsectors;
	uint32_t sector_size;
	int read_only;
	int has_flush;
	int (*run)(struct uf_blkdev *dev, struct uf_blkreq *reqs, int n);
	void *priv;
};
struct uf_blkdev *uf_blkdev_get(int index);

#define SECTOR 512
#define CHUNK 4                 /* sectors per read request */
#define WRITE_FIRST 100
#define WRITE_COUNT 32
#define TWICE 200
#define DEMAND_FIRST 300
#define DEMAND_COUNT 400
#define PAGE 4096
#define EFAULT 14
#define EINVAL 22
#define EROFS 30

static int check_pattern(const uint8_t *p, uint64_t sector, unsigned mul, unsigned add)
{
	for (int i = 0; i < SECTOR; i++)
		if (p[i] != (uint8_t)(mul * sector + i + add))
			return -1;
	return 0;
}

/* Reads the whole disk in one batch of CHUNK-sector requests into buffers at odd addresses. */
static int read_all(struct uf_blkdev *d, uint8_t **data)
{
	int n = d->nsectors / CHUNK;
	struct uf_blkreq *reqs = calloc(n, sizeof *reqs);
	uint8_t *buf = malloc(d->nsectors * SECTOR + 1);
	if (!reqs || !buf)
		return -1;
	for (int i = 0; i < n; i++)
		reqs[i] = (struct uf_blkreq){ UF_BLK_READ, (uint64_t)i * CHUNK, buf + 1 + (size_t)i * CHUNK * SECTOR, CHUNK };
	int rc = d->run(d, reqs, n);
	free(reqs);
	*data = buf + 1;
	return rc;
}

/* A fresh anonymous mapping of DEMAND_COUNT sectors and a page (64 KiB or more, MAP_NORESERVE: module demand's pages,
 * backed when first touched, here by the device), or NULL. */
static uint8_t *demand_map(void)
{
	void *p = mmap(NULL, DEMAND_COUNT * SECTOR + PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		       -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

static int demand_memory(struct uf_blkdev *d)
{
	uint8_t *src = demand_map(), *dst = demand_map();
	if (!src || !dst)
		return 12;
	uint8_t *out = src + 1, *in = dst + 3;
	for (int page = DEMAND_COUNT * SECTOR / PAGE; page >= 0; page--)      /* touched last page first */
		src[page * PAGE] = 0;
	for (int k = 0; k < DEMAND_COUNT; k++)
		for (int i = 0; i < SECTOR; i++)
			out[k * SECTOR + i] = 29 * (DEMAND_FIRST + k) + i + 3;
	struct uf_blkreq w = { UF_BLK_WRITE, DEMAND_FIRST, out, DEMAND_COUNT };
	struct uf_blkreq r = { UF_BLK_READ, DEMAND_FIRST, in, DEMAND_COUNT };
	int rc;
	if ((rc = d->run(d, &w, 1)) || (rc = d->run(d, &r, 1))) {
		printf("blkprobe: demand-zero memory: %d\n", rc);
		return 13;
	}
	if (memcmp(in, out, DEMAND_COUNT * SECTOR))
		return 14;
	printf("blkprobe: wrote and read back %d sectors in demand-zero memory\n", DEMAND_COUNT);
	if (mprotect(dst + 8 * PAGE, PAGE, PROT_READ))
		return 15;
	rc = d->run(d, &r, 1);
	printf("blkprobe: a read into a read-only page: %d\n", rc);
	return rc == -EFAULT && r.status == -EFAULT ? 0 : 16;
}

int main(int argc, char **argv)
{
	int rw = argc > 1 && !strcmp(argv[1], "rw");
	struct uf_blkdev *d = uf_blkdev_get(0);
	if (!d) {
		printf("blkprobe: no disk\n");
		return 1;
	}
	printf("blkprobe: %s %llu sectors of %u bytes, read-only %d, flush %d\n", d->name,
	       (unsigned long long)d->nsectors, d->sector_size, d->read_only, d->has_flush);
	if (d->sector_size != SECTOR || d->nsectors % CHUNK)
		return 2;

	uint8_t *data;
	int rc = read_all(d, &data);
	if (rc) {
		printf("blkprobe: read failed: %d\n", rc);
		return 3;
	}
	for (uint64_t s = 0; s < d->nsectors; s++)
		if (check_pattern(data + s * SECTOR, s, 7, 0)) {
			printf("blkprobe: sector %llu has the wrong content\n", (unsigned long long)s);
			return 4;
		}
	printf("blkprobe: read %llu sectors, content as written by the host\n", (unsigned long long)d->nsectors);

	/* The whole disk again in one request: one descriptor of nsectors * 512 bytes. */
	uint8_t *whole = malloc(d->nsectors * SECTOR);
	struct uf_blkreq one = { UF_BLK_READ, 0, whole, d->nsectors };
	if (!whole || (rc = d->run(d, &one, 1)) || memcmp(whole, data, d->nsectors * SECTOR)) {
		printf("blkprobe: reading the disk in one request failed: %d\n", rc);
		return 11;
	}
	free(whole);

	struct uf_blkreq past = { UF_BLK_READ, d->nsectors - 1, data, 2 };
	if ((rc = d->run(d, &past, 1)) != -EINVAL) {
		printf("blkprobe: a read past the end returned %d\n", rc);
		return 5;
	}

	static uint8_t out[WRITE_COUNT][SECTOR], twice[2][SECTOR];
	if (!rw) {
		struct uf_blkreq w = { UF_BLK_WRITE, WRITE_FIRST, out[0], 1 };
		rc = d->run(d, &w, 1);
		printf("blkprobe: write refused: %d\n", rc);
		return rc == -EROFS && w.status == -EROFS ? 0 : 6;
	}

	struct uf_blkreq w[WRITE_COUNT + 3];
	for (int k = 0; k < WRITE_COUNT; k++) {
		for (int i = 0; i < SECTOR; i++)
			out[k][i] = 13 * (WRITE_FIRST + k) + i + 1;
		w[k] = (struct uf_blkreq){ UF_BLK_WRITE, WRITE_FIRST + k, out[k], 1 };
	}
	memset(twice[0], 'A', SECTOR);
	memset(twice[1], 'B', SECTOR);
	w[WRITE_COUNT] = (struct uf_blkreq){ UF_BLK_WRITE, TWICE, twice[0], 1 };
	w[WRITE_COUNT + 1] = (struct uf_blkreq){ UF_BLK_WRITE, TWICE, twice[1], 1 };
	w[WRITE_COUNT + 2] = (struct uf_blkreq){ UF_BLK_FLUSH, 0, NULL, 0 };
	if ((rc = d->run(d, w, WRITE_COUNT + 3))) {
		printf("blkprobe: write or flush failed: %d\n", rc);
		return 7;
	}
	printf("blkprobe: wrote %d sectors and flushed\n", WRITE_COUNT + 2);

	if ((rc = read_all(d, &data))) {
		printf("blkprobe: re-read failed: %d\n", rc);
		return 8;
	}
	for (uint64_t s = WRITE_FIRST; s < WRITE_FIRST + WRITE_COUNT; s++)
		if (check_pattern(data + s * SECTOR, s, 13, 1))
			return 9;
	if (data[TWICE * SECTOR] != 'B' || data[TWICE * SECTOR + SECTOR - 1] != 'B')
		return 10;
	printf("blkprobe: re-read what was written\n");
	return demand_memory(d);
}

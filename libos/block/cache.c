/* The block cache. One pool of lines shared by every device, found through a hash of (cache, line number) and
 * replaced least recently used first. The pool scales with the guest: at most an eighth of the pages free when the
 * first device opens (2 MiB once 16 MiB are free, at least READ_AHEAD * 2 lines), each line's page taken from the
 * page allocator when the pool first needs it, so a small guest or a little-used disk costs little memory.
 * A read miss also reads the following lines that are not cached (read-ahead), and making room for a line writes
 * back every dirty line of its cache at once, so the device sees batches.
 * Write-back goes in two batches: lines holding only file data, then lines holding metadata (see uf/block.h).
 * With threads, each call holds the cache's lock across its transfers: the pool, the shared request arrays and
 * the device's queue serve one call at a time (uf/thread.h). */
#include <errno.h>
#include <string.h>
#include <uf/block.h>
#include <uf/mem.h>
#include <uf/thread.h>

#define LINE 4096
#define MAX_LINES 512           /* 2 MiB */
#define MIN_LINES (READ_AHEAD * 2)
#define SHARE 8                 /* the pool takes at most 1/SHARE of the free pages */
#define BUCKETS 1024
#define READ_AHEAD 16
#define MAX_CACHES 4

struct line {
	struct uf_bcache *cache;    /* NULL: free */
	uint64_t number;            /* byte offset / LINE */
	uint64_t used;              /* LRU clock */
	int dirty;
	int meta;                   /* dirty with metadata: written in the second batch */
	int next;                   /* hash chain, -1 at the end */
	unsigned char *data;
};

struct uf_bcache {
	struct uf_blkdev *dev;
	uint64_t size;
};

static struct uf_bcache caches[MAX_CACHES];
static struct line *lines;      /* nlines in use of max_lines, allocated with the request arrays at setup */
static int nlines, max_lines;
static int buckets[BUCKETS];
static uint64_t clock;
static struct uf_blkreq *write_reqs, read_reqs[READ_AHEAD];
static int *writing;            /* the line of each write request */
static struct uf_mutex lock;

static size_t pages_for(size_t bytes)
{
	return (bytes + 4095) / 4096;
}

static size_t table_bytes(int n)
{
	return n * (sizeof *lines + sizeof *write_reqs + sizeof *writing);
}

static int setup(void)
{
	size_t share = uf_page_free_count() / SHARE;
	max_lines = share < MIN_LINES ? MIN_LINES : share > MAX_LINES ? MAX_LINES : (int)share;
	unsigned char *table = uf_page_alloc(pages_for(table_bytes(max_lines)));
	if (!table)
		return -ENOMEM;
	lines = (struct line *)table;
	write_reqs = (struct uf_blkreq *)(lines + max_lines);
	writing = (int *)(write_reqs + max_lines);
	for (int i = 0; i < BUCKETS; i++)
		buckets[i] = -1;
	return 0;
}

struct uf_bcache *uf_bcache_open(struct uf_blkdev *dev)
{
	if (!lines && setup() < 0)
		return 0;
	if (!dev->sector_size || LINE % dev->sector_size)
		return 0;
	for (int i = 0; i < MAX_CACHES; i++)
		if (caches[i].dev == dev)
			return &caches[i];
	for (int i = 0; i < MAX_CACHES; i++)
		if (!caches[i].dev) {
			caches[i] = (struct uf_bcache){ .dev = dev, .size = dev->nsectors * dev->sector_size };
			return &caches[i];
		}
	return 0;
}

uint64_t uf_bcache_size(struct uf_bcache *c)
{
	return c->size;
}

static unsigned hash(struct uf_bcache *c, uint64_t number)
{
	return (unsigned)((number * 0x9e3779b97f4a7c15ull) >> 40 ^ (c - caches)) % BUCKETS;
}

static struct line *find(struct uf_bcache *c, uint64_t number)
{
	for (int i = buckets[hash(c, number)]; i >= 0; i = lines[i].next)
		if (lines[i].cache == c && lines[i].number == number)
			return &lines[i];
	return 0;
}

static void unhash(struct line *l)
{
	int *link = &buckets[hash(l->cache, l->number)];
	while (*link != l - lines)
		link = &lines[*link].next;
	*link = l->next;
	l->cache = 0;
}

static void rehash(struct line *l, struct uf_bcache *c, uint64_t number)
{
	unsigned b = hash(c, number);
	*l = (struct line){ .cache = c, .number = number, .used = ++clock, .next = buckets[b], .data = l->data };
	buckets[b] = l - lines;
}

/* The bytes of a line that exist on the device (the last line may be short). */
static uint32_t line_bytes(struct uf_bcache *c, uint64_t number)
{
	uint64_t left = c->size - number * LINE;
	return left < LINE ? (uint32_t)left : LINE;
}

static void fill_req(struct uf_blkreq *r, enum uf_blk_op op, struct uf_bcache *c, struct line *l)
{
	uint32_t bytes = line_bytes(c, l->number);
	*r = (struct uf_blkreq){ .op = op, .sector = l->number * LINE / c->dev->sector_size, .buf = l->data,
	                         .nsectors = bytes / c->dev->sector_size };
}

/* Writes back c's dirty lines of one kind (metadata or not) in one batch. */
static int write_kind(struct uf_bcache *c, int meta)
{
	int n = 0;
	for (int i = 0; i < nlines; i++)
		if (lines[i].cache == c && lines[i].dirty && lines[i].meta == meta) {
			writing[n] = i;
			fill_req(&write_reqs[n++], UF_BLK_WRITE, c, &lines[i]);
		}
	if (!n)
		return 0;
	int r = c->dev->run(c->dev, write_reqs, n);
	for (int i = 0; i < n; i++)
		if (!write_reqs[i].status)
			lines[writing[i]].dirty = lines[writing[i]].meta = 0;
	return r;
}

/* File data first, then (after a device flush if barrier says so) the metadata that points at it. */
static int write_back(struct uf_bcache *c, int barrier)
{
	int r = write_kind(c, 0);
	if (r < 0)
		return r;
	if (barrier) {
		struct uf_blkreq flush = { .op = UF_BLK_FLUSH };
		if ((r = c->dev->run(c->dev, &flush, 1)) < 0)
			return r;
	}
	return write_kind(c, 1);
}

/* A page for one more line while the pool may grow and the page allocator has one. */
static struct line *grow(void)
{
	if (nlines == max_lines)
		return 0;
	unsigned char *data = uf_page_alloc(1);
	if (!data)
		return 0;
	lines[nlines] = (struct line){ .next = -1, .data = data };
	return &lines[nlines++];
}

/* A line to reuse: a free one, a new one, else the least recently used of those last used up to `before` (its
 * cache written back first if it is dirty): a batch of reads passes its start, so that in a pool smaller than
 * the batch it does not take back a line it has just claimed. NULL with *err 0 if there is none such. */
static struct line *victim(uint64_t before, int *err)
{
	struct line *best = 0;
	for (int i = 0; i < nlines; i++) {
		if (!lines[i].cache)
			return &lines[i];
		if (lines[i].used <= before && (!best || lines[i].used < best->used))
			best = &lines[i];
	}
	struct line *fresh = grow();
	if (fresh)
		return fresh;
	if (!best) {
		*err = nlines ? 0 : -ENOMEM;
		return 0;
	}
	if (best->dirty) {
		*err = write_back(best->cache, 0);
		if (*err < 0)
			return 0;
	}
	unhash(best);
	return best;
}

/* Reads lines [number, number + count) that are not cached, up to the first cached one, in one batch. */
static int read_lines(struct uf_bcache *c, uint64_t number, int count)
{
	struct line *got[READ_AHEAD];
	int n = 0, err = 0;
	uint64_t last = (c->size + LINE - 1) / LINE, start = clock;
	for (; n < count && number + n < last && !find(c, number + n); n++) {
		got[n] = victim(start, &err);
		if (!got[n])
			break;
		rehash(got[n], c, number + n);
		fill_req(&read_reqs[n], UF_BLK_READ, c, got[n]);
	}
	int r = n ? c->dev->run(c->dev, read_reqs, n) : 0;
	for (int i = 0; i < n; i++)
		if (read_reqs[i].status)
			unhash(got[i]);
	return err ? err : r;
}

/* The line holding byte off, read from the device unless whole says it is about to be overwritten entirely. */
static struct line *get(struct uf_bcache *c, uint64_t number, int whole, int *err)
{
	struct line *l = find(c, number);
	if (!l && whole) {
		l = victim(clock, err);
		if (l)
			rehash(l, c, number);
	} else if (!l) {
		*err = read_lines(c, number, READ_AHEAD);
		l = find(c, number);
		if (!l && !*err)
			*err = -EIO;
	}
	if (l)
		l->used = ++clock;
	return l;
}

/* write: 0 read, 1 data, 2 metadata. */
static int transfer(struct uf_bcache *c, uint64_t off, void *buf, size_t len, int write)
{
	if (off > c->size || len > c->size - off)
		return -EINVAL;
	if (write && c->dev->read_only)
		return -EROFS;
	unsigned char *p = buf;
	while (len) {
		uint64_t number = off / LINE;
		uint32_t at = off % LINE;
		size_t n = LINE - at < len ? LINE - at : len;
		int err = 0;
		struct line *l = get(c, number, write && at == 0 && n == line_bytes(c, number), &err);
		if (!l)
			return err;
		if (write) {
			memcpy(l->data + at, p, n);
			l->dirty = 1;
			l->meta |= write == 2;
		} else {
			memcpy(p, l->data + at, n);
		}
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

static int locked_transfer(struct uf_bcache *c, uint64_t off, void *buf, size_t len, int write)
{
	uf_mutex_lock(&lock);
	int r = transfer(c, off, buf, len, write);
	uf_mutex_unlock(&lock);
	return r;
}

int uf_bcache_read(struct uf_bcache *c, uint64_t off, void *buf, size_t len)
{
	return locked_transfer(c, off, buf, len, 0);
}

int uf_bcache_write(struct uf_bcache *c, uint64_t off, const void *buf, size_t len)
{
	return locked_transfer(c, off, (void *)buf, len, 2);
}

int uf_bcache_write_data(struct uf_bcache *c, uint64_t off, const void *buf, size_t len)
{
	return locked_transfer(c, off, (void *)buf, len, 1);
}

static int flush(struct uf_bcache *c)
{
	if (c->dev->read_only)
		return 0;
	int r = write_back(c, 1);
	if (r < 0)
		return r;
	struct uf_blkreq barrier = { .op = UF_BLK_FLUSH };
	return c->dev->run(c->dev, &barrier, 1);
}

int uf_bcache_flush(struct uf_bcache *c)
{
	uf_mutex_lock(&lock);
	int r = flush(c);
	uf_mutex_unlock(&lock);
	return r;
}

/* The volume's geometry from its boot sector, and the file allocation table (every copy kept equal). */
#include <errno.h>
#include <uf/console.h>
#include "fat.h"

static uint16_t le16(const unsigned char *p)
{
	return p[0] | p[1] << 8;
}

static uint32_t le32(const unsigned char *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

uint64_t uf_fat_cluster_offset(struct fat *fs, uint32_t cluster)
{
	return fs->data_start + (uint64_t)(cluster - 2) * fs->cluster_size;
}

int uf_fat_valid_cluster(struct fat *fs, uint32_t cluster)
{
	return cluster >= 2 && cluster < fs->clusters + 2;
}

int uf_fat_get(struct fat *fs, uint32_t cluster, uint32_t *next)
{
	unsigned char b[4] = { 0 };
	if (!uf_fat_valid_cluster(fs, cluster))
		return -EIO;
	int r = uf_bcache_read(fs->cache, fs->fat_start + (uint64_t)cluster * (fs->fat32 ? 4 : 2), b,
	                       fs->fat32 ? 4 : 2);
	if (r < 0)
		return r;
	uint32_t v = fs->fat32 ? le32(b) & 0x0FFFFFFF : le16(b);
	if (!fs->fat32 && v >= 0xFFF7)
		v |= 0x0FFF0000;
	*next = v;
	return 0;
}

int uf_fat_set(struct fat *fs, uint32_t cluster, uint32_t value)
{
	if (!uf_fat_valid_cluster(fs, cluster))
		return -EIO;
	uint64_t at = (uint64_t)cluster * (fs->fat32 ? 4 : 2);
	for (uint32_t copy = 0; copy < fs->num_fats; copy++) {
		uint64_t off = fs->fat_start + (uint64_t)copy * fs->fat_bytes + at;
		unsigned char b[4];
		int r;
		if (fs->fat32) {
			/* The top four bits are reserved: keep what is there. */
			if ((r = uf_bcache_read(fs->cache, off, b, 4)) < 0)
				return r;
			value = (value & 0x0FFFFFFF) | (le32(b) & 0xF0000000);
			b[0] = value, b[1] = value >> 8, b[2] = value >> 16, b[3] = value >> 24;
			r = uf_bcache_write(fs->cache, off, b, 4);
		} else {
			b[0] = value, b[1] = value >> 8;
			r = uf_bcache_write(fs->cache, off, b, 2);
		}
		if (r < 0)
			return r;
	}
	return 0;
}

int uf_fat_alloc(struct fat *fs, uint32_t prev, int zero, uint32_t *out)
{
	static unsigned char zeros[512];       /* bss, not image bytes; never written */
	for (uint32_t n = 0; n < fs->clusters; n++) {
		uint32_t c = 2 + (fs->next_free - 2 + n) % fs->clusters, v;
		int r = uf_fat_get(fs, c, &v);
		if (r < 0)
			return r;
		if (v)
			continue;
		if (zero)
			for (uint32_t at = 0; at < fs->cluster_size; at += sizeof zeros)
				if ((r = uf_bcache_write(fs->cache, uf_fat_cluster_offset(fs, c) + at, zeros, sizeof zeros)) < 0)
					return r;
		if ((r = uf_fat_set(fs, c, FAT_EOC | 0xF)) < 0 || (prev && (r = uf_fat_set(fs, prev, c)) < 0))
			return r;
		fs->next_free = c + 1 < fs->clusters + 2 ? c + 1 : 2;
		fs->free_count--;
		fs->info_dirty = 1;
		*out = c;
		return 0;
	}
	return -ENOSPC;
}

int uf_fat_free_chain(struct fat *fs, uint32_t first)
{
	for (uint32_t c = first, n = 0; uf_fat_valid_cluster(fs, c) && n < fs->clusters; n++) {
		uint32_t next;
		int r = uf_fat_get(fs, c, &next);
		if (r < 0 || (r = uf_fat_set(fs, c, 0)) < 0)
			return r;
		fs->free_count++;
		fs->info_dirty = 1;
		c = next;
	}
	return 0;
}

static int count_free(struct fat *fs)
{
	fs->free_count = 0;
	for (uint32_t c = 2; c < fs->clusters + 2; c++) {
		uint32_t v;
		int r = uf_fat_get(fs, c, &v);
		if (r < 0)
			return r;
		fs->free_count += !v;
	}
	fs->info_dirty = 1;
	fs->free_known = 1;
	return 0;
}

int uf_fat_free_clusters(struct fat *fs, uint32_t *count)
{
	int r = fs->free_known ? 0 : count_free(fs);
	*count = fs->free_count;
	return r;
}

static int reject(const char *source, const char *why)
{
	uf_printk("fat: %s: %s\n", source, why);
	return -EINVAL;
}

/* Checks the boot sector and derives the layout (Microsoft's FAT specification: the count of clusters alone
 * decides between FAT12, FAT16 and FAT32). */
int uf_fat_mount_volume(struct fat *fs, struct uf_bcache *cache, const char *source, int read_only)
{
	unsigned char bs[512];
	*fs = (struct fat){ .cache = cache, .source = source, .read_only = read_only, .next_free = 2 };
	if (uf_bcache_size(cache) < sizeof bs)
		return reject(source, "too small for a FAT file system");
	int r = uf_bcache_read(cache, 0, bs, sizeof bs);
	if (r < 0)
		return r;
	uint32_t bps = le16(bs + 11), spc = bs[13], reserved = le16(bs + 14), fats = bs[16];
	uint32_t root_entries = le16(bs + 17), total = le16(bs + 19) ? le16(bs + 19) : le32(bs + 32);
	uint32_t fat_sectors = le16(bs + 22) ? le16(bs + 22) : le32(bs + 36);
	if (bs[510] != 0x55 || bs[511] != 0xAA || (bs[0] != 0xEB && bs[0] != 0xE9))
		return reject(source, "not a FAT file system (no boot sector signature)");
	if ((bps != 512 && bps != 1024 && bps != 2048 && bps != 4096) || !spc || (spc & (spc - 1)) || !reserved ||
	    !fats || !fat_sectors || !total)
		return reject(source, "not a FAT file system (bad boot sector geometry)");
	uint32_t root_sectors = (root_entries * DIRENT + bps - 1) / bps;
	uint64_t meta = reserved + (uint64_t)fats * fat_sectors + root_sectors;
	if (meta >= total)
		return reject(source, "damaged FAT file system (no room for data)");
	if ((uint64_t)total * bps > uf_bcache_size(cache))
		return reject(source, "damaged or truncated FAT file system (larger than the disk)");
	fs->bytes_per_sector = bps;
	fs->cluster_size = spc * bps;
	fs->clusters = (total - meta) / spc;
	fs->num_fats = fats;
	fs->fat_start = (uint64_t)reserved * bps;
	fs->fat_bytes = fat_sectors * bps;
	fs->root_start = fs->fat_start + (uint64_t)fats * fs->fat_bytes;
	fs->root_entries = root_entries;
	fs->data_start = fs->root_start + (uint64_t)root_sectors * bps;
	if (fs->clusters < 4085)
		return reject(source, "FAT12 is not supported (format it as FAT16 or FAT32)");
	fs->fat32 = fs->clusters >= 65525;
	if ((uint64_t)(fs->clusters + 2) * (fs->fat32 ? 4 : 2) > fs->fat_bytes)
		return reject(source, "damaged FAT file system (allocation table too small)");
	if (fs->fat32) {
		fs->root_cluster = le32(bs + 44);
		if (!uf_fat_valid_cluster(fs, fs->root_cluster) || root_entries)
			return reject(source, "damaged FAT32 file system (bad root directory)");
	} else if (!root_entries) {
		return reject(source, "damaged FAT16 file system (no root directory)");
	}
	/* FAT32's FSInfo: a free count fsck checks, kept exact from here on (counted now if it is unknown). */
	uint32_t info = le16(bs + 48);
	if (fs->fat32 && !read_only && info && info < reserved) {
		unsigned char fsi[512];
		uint64_t at = (uint64_t)info * bps;
		if ((r = uf_bcache_read(cache, at, fsi, sizeof fsi)) < 0)
			return r;
		if (le32(fsi) == 0x41615252 && le32(fsi + 484) == 0x61417272) {
			fs->info_offset = at;
			fs->free_count = le32(fsi + 488);
			fs->free_known = 1;
			uint32_t hint = le32(fsi + 492);
			fs->next_free = uf_fat_valid_cluster(fs, hint) ? hint : 2;
			if (fs->free_count > fs->clusters && (r = count_free(fs)) < 0)
				return r;
		}
	}
	return 0;
}

int uf_fat_store_info(struct fat *fs)
{
	if (!fs->info_offset || !fs->info_dirty)
		return 0;
	unsigned char b[8];
	for (int i = 0; i < 4; i++)
		b[i] = fs->free_count >> (8 * i), b[4 + i] = fs->next_free >> (8 * i);
	fs->info_dirty = 0;
	return uf_bcache_write(fs->cache, fs->info_offset + 488, b, sizeof b);
}

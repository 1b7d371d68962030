/* Internal to module fat: the volume, its allocation table and its directories. */
#ifndef FAT_FAT_H
#define FAT_FAT_H

#include <stddef.h>
#include <stdint.h>
#include <uf/block.h>
#include <uf/thread.h>
#include <uf/vfs.h>

#define FAT_EOC 0x0FFFFFF8u             /* this and above: end of chain (FAT16 values are widened) */
#define FAT_BAD 0x0FFFFFF7u
#define ATTR_READ_ONLY 0x01
#define ATTR_VOLUME_ID 0x08
#define ATTR_DIRECTORY 0x10
#define ATTR_ARCHIVE 0x20
#define ATTR_LFN 0x0F
#define DIRENT 32

struct fat {
	struct uf_bcache *cache;
	const char *source;
	int fat32;
	int read_only;
	uint32_t bytes_per_sector;
	uint32_t cluster_size;          /* bytes */
	uint32_t clusters;              /* data clusters: numbered 2 .. clusters + 1 */
	uint64_t fat_start;             /* byte offsets */
	uint32_t fat_bytes;
	uint32_t num_fats;
	uint64_t root_start;            /* FAT16: the fixed root directory */
	uint32_t root_entries;
	uint64_t data_start;
	uint32_t root_cluster;          /* FAT32 */
	uint32_t next_free;             /* where the next allocation starts looking */
	uint64_t info_offset;           /* FAT32 FSInfo sector (0: none, or a read-only mount) */
	uint32_t free_count;            /* kept exact once known (FSInfo sector, or counted for statfs) */
	int free_known;
	int info_dirty;                 /* free_count changed since it was written */
	struct uf_mutex lock;           /* held by each operation (fs.c) */
};

/* fat.c: the allocation table. Cluster values are widened to 32 bits (FAT16 end-of-chain reads as FAT_EOC). */
int uf_fat_get(struct fat *fs, uint32_t cluster, uint32_t *next);
int uf_fat_set(struct fat *fs, uint32_t cluster, uint32_t value);
/* A free cluster, zeroed when zero says so, marked end of chain and linked after prev (0: none). */
int uf_fat_alloc(struct fat *fs, uint32_t prev, int zero, uint32_t *out);
int uf_fat_free_chain(struct fat *fs, uint32_t first);
uint64_t uf_fat_cluster_offset(struct fat *fs, uint32_t cluster);
int uf_fat_valid_cluster(struct fat *fs, uint32_t cluster);
int uf_fat_mount_volume(struct fat *fs, struct uf_bcache *cache, const char *source, int read_only);
/* Writes the FSInfo hints (free count, next free) to the cache if they changed. */
int uf_fat_store_info(struct fat *fs);
/* The count of free clusters (counted on first use when the volume has no FSInfo to say it). */
int uf_fat_free_clusters(struct fat *fs, uint32_t *count);

/* A directory entry found or made: where its short entry is, and where its long-name entries start. */
struct fat_loc {
	uint32_t dir;                   /* first cluster of the directory holding it (0: FAT16 root) */
	uint32_t first_slot;            /* index of its first long-name entry (= slot without a long name) */
	uint32_t slot;                  /* index of its short entry */
	uint64_t offset;                /* byte offset of the short entry on the device */
};

struct fat_entry {
	unsigned char raw[DIRENT];      /* the short entry */
	struct fat_loc loc;
	char name[UF_VFS_NAME_MAX + 1]; /* long name if any, else the short name */
};

/* dir.c */
uint32_t uf_fat_entry_cluster(const unsigned char *raw);
void uf_fat_entry_set_cluster(unsigned char *raw, uint32_t cluster);
uint32_t uf_fat_entry_size(const unsigned char *raw);
/* The dir's entry after *slot (0 at the start): 1 and *slot advanced past it, 0 at the end. Skips "." and "..",
 * deleted entries and volume labels. */
int uf_fat_dir_next(struct fat *fs, uint32_t dir, uint32_t *slot, struct fat_entry *out);
/* The entry called name in dir (ASCII case-insensitive, as FAT): 0, or -ENOENT. */
int uf_fat_dir_find(struct fat *fs, uint32_t dir, const char *name, size_t len, struct fat_entry *out);
/* Writes a new entry called name (long name entries as needed, a unique short name) with the short entry's other
 * fields from raw; fills out. The caller has checked that the name is free. -EINVAL for a name FAT cannot hold,
 * -ENOSPC when the directory cannot grow. */
int uf_fat_dir_add(struct fat *fs, uint32_t dir, const char *name, size_t len, const unsigned char *raw,
                struct fat_entry *out);
/* Marks an entry and its long name deleted. */
int uf_fat_dir_remove(struct fat *fs, const struct fat_loc *loc);
/* 1 if dir has no entries besides "." and "..". */
int uf_fat_dir_empty(struct fat *fs, uint32_t dir);
/* The short entry's modification stamp (and access date; creation stamp too when created) set to now. */
void uf_fat_entry_touch(unsigned char *raw, int created);
/* The short entry's stamps named by fields set to secs (Unix time, UTC; FAT keeps 2-second steps, 1980-2107). */
#define UF_FAT_WRITTEN 1
#define UF_FAT_ACCESSED 2
#define UF_FAT_CREATED 4
void uf_fat_entry_stamp(unsigned char *raw, int64_t secs, int fields);

#endif

/* FAT16/FAT32 as a VFS file system type. Open files share one node per directory entry; a node keeps a copy of
 * its short entry, written to the cache whenever the size or the first cluster changes. File contents go through
 * the cache as data, everything else as metadata: a flush (fsync) writes the data first, then the allocation table
 * and directory entries together, so a power cut never leaves a size covering data that did not reach the disk,
 * and the chain and the size it ends at change in one batch. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <uf/console.h>
#include "fat.h"

#define MAX_VOLUMES 4
#define MAX_NODES 72
#define MAX_FILE 0xFFFFFFFFu

struct node {
	int refs;               /* 0: free */
	struct fat *fs;
	int is_dir;
	int is_root;
	int unlinked;           /* its clusters are freed on the last close */
	struct fat_loc loc;
	unsigned char raw[DIRENT];
	uint32_t hint_index;    /* the hint_index-th cluster of the chain is hint_cluster (sequential access) */
	uint32_t hint_cluster;
};

static struct fat volumes[MAX_VOLUMES];
static int volume_used[MAX_VOLUMES];
static struct node nodes[MAX_NODES];

static uint32_t root_dir(struct fat *fs)
{
	return fs->fat32 ? fs->root_cluster : 0;
}

static uint32_t first_cluster(struct node *n)
{
	return n->is_root ? root_dir(n->fs) : uf_fat_entry_cluster(n->raw);
}

static uint32_t node_size(struct node *n)
{
	return n->is_dir ? 0 : uf_fat_entry_size(n->raw);
}

static int fat_fs_mount(struct uf_mount *m, const char *source, int read_only)
{
	int index;
	if (!source || strncmp(source, "disk", 4) || source[4] < '0' || source[4] > '9' || source[5])
		return -ENODEV;
	index = source[4] - '0';
	struct uf_blkdev *dev = uf_blkdev_get(index);
	if (!dev)
		return -ENODEV;
	struct fat *fs = 0;
	for (int i = 0; i < MAX_VOLUMES && !fs; i++)
		if (!volume_used[i])
			fs = &volumes[i];
	if (!fs)
		return -ENOSPC;
	struct uf_bcache *cache = uf_bcache_open(dev);
	if (!cache)
		return -ENOMEM;
	for (int i = 0; i < MAX_VOLUMES; i++)
		if (volume_used[i] && volumes[i].cache == cache)
			return -EBUSY;      /* two views of one volume would undo each other's allocations */
	read_only |= dev->read_only;
	int r = uf_fat_mount_volume(fs, cache, source, read_only);
	if (r < 0)
		return r;
	volume_used[fs - volumes] = 1;
	m->priv = fs;
	m->read_only = read_only;
	return 0;
}

/* Writes the node's short entry to the cache (its size, first cluster or time stamp changed). */
static int store(struct node *n)
{
	if (n->is_root || n->unlinked)
		return 0;
	return uf_bcache_write(n->fs->cache, n->loc.offset, n->raw, DIRENT);
}

static struct node *node_for(struct fat *fs, const struct fat_entry *e, int is_root)
{
	struct node *free_node = 0;
	for (int i = 0; i < MAX_NODES; i++) {
		struct node *n = &nodes[i];
		if (n->refs && n->fs == fs && !n->unlinked && n->is_root == is_root &&
		    (is_root || n->loc.offset == e->loc.offset)) {
			n->refs++;
			return n;
		}
		if (!n->refs && !free_node)
			free_node = n;
	}
	if (!free_node)
		return 0;
	*free_node = (struct node){ .refs = 1, .fs = fs, .is_root = is_root };
	if (is_root) {
		free_node->is_dir = 1;
	} else {
		free_node->loc = e->loc;
		memcpy(free_node->raw, e->raw, DIRENT);
		free_node->is_dir = !!(e->raw[11] & ATTR_DIRECTORY);
	}
	return free_node;
}

/* The open node of an entry, if any. */
static struct node *open_node(struct fat *fs, uint64_t offset)
{
	for (int i = 0; i < MAX_NODES; i++)
		if (nodes[i].refs && nodes[i].fs == fs && !nodes[i].is_root && !nodes[i].unlinked &&
		    nodes[i].loc.offset == offset)
			return &nodes[i];
	return 0;
}

/* The directory holding path's last component and that component. */
static int walk_parent(struct fat *fs, const char *path, uint32_t *dir, const char **leaf, size_t *leaf_len)
{
	static struct fat_entry e;
	uint32_t cur = root_dir(fs);
	const char *p = path;
	for (;;) {
		const char *slash = strchr(p, '/');
		if (!slash) {
			*dir = cur, *leaf = p, *leaf_len = strlen(p);
			return 0;
		}
		int r = uf_fat_dir_find(fs, cur, p, slash - p, &e);
		if (r < 0)
			return r;
		if (!(e.raw[11] & ATTR_DIRECTORY))
			return -ENOTDIR;
		cur = uf_fat_entry_cluster(e.raw);
		if (!cur)
			cur = root_dir(fs);     /* a ".."-style 0 means the root */
		if (cur != root_dir(fs) && !uf_fat_valid_cluster(fs, cur))
			return -EIO;
		p = slash + 1;
	}
}

static int lookup(struct fat *fs, const char *path, struct fat_entry *e, uint32_t *dir)
{
	const char *leaf;
	size_t len;
	int r = walk_parent(fs, path, dir, &leaf, &len);
	return r < 0 ? r : uf_fat_dir_find(fs, *dir, leaf, len, e);
}

/* The index-th cluster of n's chain, allocating up to it when grow says so. */
static int cluster_at(struct node *n, uint32_t index, int grow, uint32_t *out)
{
	struct fat *fs = n->fs;
	uint32_t c = first_cluster(n), i = 0;
	if (!c) {
		if (!grow)
			return -EIO;
		int r = uf_fat_alloc(fs, 0, n->is_dir, &c);
		if (r < 0)
			return r;
		uf_fat_entry_set_cluster(n->raw, c);
		n->hint_index = 0, n->hint_cluster = c;
	}
	if (n->hint_cluster && n->hint_index <= index)
		c = n->hint_cluster, i = n->hint_index;
	for (; i < index; i++) {
		uint32_t next;
		int r = uf_fat_get(fs, c, &next);
		if (r < 0)
			return r;
		if (next >= FAT_EOC && grow)
			r = uf_fat_alloc(fs, c, n->is_dir, &next);
		else if (!uf_fat_valid_cluster(fs, next))
			r = -EIO;               /* a chain shorter than the size, or broken: a damaged volume */
		if (r < 0)
			return r;
		c = next;
	}
	n->hint_index = index, n->hint_cluster = c;
	*out = c;
	return 0;
}

static ssize_t fat_fs_read(struct uf_mount *m, void *node, void *buf, size_t len, uint64_t off)
{
	struct node *n = node;
	(void)m;
	uint32_t size = node_size(n), cs = n->fs->cluster_size;
	if (n->is_dir)
		return -EISDIR;
	if (off >= size)
		return 0;
	if (len > size - off)
		len = size - off;
	size_t done = 0;
	while (done < len) {
		uint32_t c, at = (off + done) % cs;
		size_t chunk = cs - at < len - done ? cs - at : len - done;
		int r = cluster_at(n, (off + done) / cs, 0, &c);
		if (r < 0 || (r = uf_bcache_read(n->fs->cache, uf_fat_cluster_offset(n->fs, c) + at, (char *)buf + done,
		                                 chunk)) < 0)
			return done ? (ssize_t)done : r;
		done += chunk;
	}
	return done;
}

/* Writes len bytes from buf (zeros if buf is NULL) at off, growing the chain and the size as needed. */
static ssize_t write_range(struct node *n, const void *buf, size_t len, uint64_t off)
{
	static unsigned char zeros[4096];      /* bss, not image bytes; never written */
	uint32_t cs = n->fs->cluster_size;
	size_t done = 0;
	int r = 0;
	while (done < len) {
		uint32_t c, at = (off + done) % cs;
		size_t chunk = cs - at < len - done ? cs - at : len - done;
		if (!buf && chunk > sizeof zeros)
			chunk = sizeof zeros;
		if ((r = cluster_at(n, (off + done) / cs, 1, &c)) < 0)
			break;
		const void *src = buf ? (const void *)((const char *)buf + done) : (const void *)zeros;
		if ((r = uf_bcache_write_data(n->fs->cache, uf_fat_cluster_offset(n->fs, c) + at, src, chunk)) < 0)
			break;
		done += chunk;
	}
	if (off + done > node_size(n)) {
		uint32_t size = off + done;
		n->raw[28] = size, n->raw[29] = size >> 8, n->raw[30] = size >> 16, n->raw[31] = size >> 24;
	}
	uf_fat_entry_touch(n->raw, 0);
	n->raw[11] |= ATTR_ARCHIVE;
	int s = store(n);
	if (!done)
		return r < 0 ? r : s;
	return done;
}

static ssize_t fat_fs_write(struct uf_mount *m, void *node, const void *buf, size_t len, uint64_t off)
{
	struct node *n = node;
	(void)m;
	if (n->is_dir)
		return -EISDIR;
	if (off >= MAX_FILE)
		return -EFBIG;
	if (len > MAX_FILE - off)
		len = MAX_FILE - off;
	uint32_t size = node_size(n);
	if (off > size) {
		ssize_t r = write_range(n, 0, off - size, size);
		if (r < 0)
			return r;
		if ((uint64_t)r < off - size)
			return -ENOSPC;
	}
	return write_range(n, buf, len, off);
}

static int fat_fs_truncate(struct uf_mount *m, void *node, uint64_t len)
{
	struct node *n = node;
	(void)m;
	uint32_t size = node_size(n), cs = n->fs->cluster_size;
	if (len > MAX_FILE)
		return -EFBIG;
	if (len > size) {
		ssize_t r = write_range(n, 0, len - size, size);
		return r < 0 ? (int)r : (uint64_t)r < len - size ? -ENOSPC : 0;
	}
	uint32_t keep = (len + cs - 1) / cs, first = first_cluster(n);
	int r = 0;
	if (first && !keep) {
		uf_fat_entry_set_cluster(n->raw, 0);
		r = uf_fat_free_chain(n->fs, first);
	} else if (first) {
		uint32_t last, next;
		if ((r = cluster_at(n, keep - 1, 0, &last)) < 0 || (r = uf_fat_get(n->fs, last, &next)) < 0)
			return r;
		if (next < FAT_EOC && (r = uf_fat_set(n->fs, last, FAT_EOC | 0xF)) == 0)
			r = uf_fat_free_chain(n->fs, next);
	}
	n->hint_index = 0, n->hint_cluster = 0;
	n->raw[28] = len, n->raw[29] = len >> 8, n->raw[30] = len >> 16, n->raw[31] = len >> 24;
	uf_fat_entry_touch(n->raw, 0);
	int s = store(n);
	return r < 0 ? r : s;
}

static int fat_fs_open(struct uf_mount *m, const char *path, int flags, mode_t mode, void **out)
{
	static struct fat_entry e;
	struct fat *fs = m->priv;
	struct node *n;
	if (!*path) {
		n = node_for(fs, 0, 1);
	} else {
		uint32_t dir;
		int r = lookup(fs, path, &e, &dir);
		if (!r && (flags & O_CREAT) && (flags & O_EXCL))
			return -EEXIST;
		if (r == -ENOENT && (flags & O_CREAT)) {
			const char *leaf;
			size_t len;
			unsigned char raw[DIRENT] = { 0 };
			raw[11] = ATTR_ARCHIVE | (mode & 0222 ? 0 : ATTR_READ_ONLY);
			uf_fat_entry_touch(raw, 1);
			if ((r = walk_parent(fs, path, &dir, &leaf, &len)) == 0)
				r = uf_fat_dir_add(fs, dir, leaf, len, raw, &e);
		}
		if (r < 0)
			return r;
		n = node_for(fs, &e, 0);
	}
	if (!n)
		return -ENFILE;
	if ((flags & O_TRUNC) && !n->is_dir && (flags & O_ACCMODE) != O_RDONLY && node_size(n)) {
		int r = fat_fs_truncate(m, n, 0);
		if (r < 0) {
			n->refs--;
			return r;
		}
	}
	*out = n;
	return 0;
}

static void fat_fs_close(struct uf_mount *m, void *node)
{
	struct node *n = node;
	(void)m;
	if (--n->refs)
		return;
	if (n->unlinked && first_cluster(n))
		uf_fat_free_chain(n->fs, first_cluster(n));
}

/* A FAT date and time (local time on DOS; UTC here, as Linux mounts with tz=UTC) as Unix time. */
static int64_t unix_time(uint16_t date, uint16_t time)
{
	int y = 1980 + (date >> 9), mo = (date >> 5) & 15, d = date & 31;
	if (mo < 1 || mo > 12 || d < 1)
		mo = 1, d = 1;
	int yy = y - (mo <= 2), era = yy / 400, yoe = yy - era * 400;     /* days from 1970 (civil calendar) */
	int doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1, doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	int64_t days = (int64_t)era * 146097 + doe - 719468;
	return days * 86400 + (time >> 11) * 3600 + ((time >> 5) & 63) * 60 + (time & 31) * 2;
}

static uint16_t le16_at(const unsigned char *p)
{
	return p[0] | p[1] << 8;
}

/* Owned by root, as Linux shows a FAT volume root mounted: folders 0755, files 0644 (0444 when read-only). Times
 * as Linux's vfat: mtime the write stamp, atime the access date, ctime the creation stamp. */
static int fat_fs_stat(struct uf_mount *m, void *node, struct stat *st)
{
	struct node *n = node;
	(void)m;
	uint32_t size = node_size(n);
	*st = (struct stat){
		.st_mode = n->is_dir ? S_IFDIR | 0755 : S_IFREG | (n->raw[11] & ATTR_READ_ONLY ? 0444 : 0644),
		.st_nlink = 1, .st_size = size, .st_blksize = n->fs->cluster_size, .st_blocks = (size + 511) / 512,
		.st_ino = n->is_root ? 1 : n->loc.offset / DIRENT,
	};
	if (!n->is_root) {
		st->st_mtim.tv_sec = unix_time(le16_at(n->raw + 24), le16_at(n->raw + 22));
		st->st_atim.tv_sec = unix_time(le16_at(n->raw + 18), 0);
		st->st_ctim.tv_sec = unix_time(le16_at(n->raw + 16), le16_at(n->raw + 14));
	}
	return 0;
}

/* What Linux's vfat lets root change: the times; the mode only between writable and read-only (the read-only
 * attribute: every w bit cleared), nothing else of it; owners only to what they are (root). */
static int fat_fs_setattr(struct uf_mount *m, void *node, const struct uf_vfs_attr *a)
{
	struct node *n = node;
	(void)m;
	if (n->is_root)
		return a->mask & (UF_VFS_ATTR_MODE | UF_VFS_ATTR_OWNER) ? -EPERM : 0;
	if ((a->mask & UF_VFS_ATTR_OWNER) && ((a->uid != (uid_t)-1 && a->uid) || (a->gid != (gid_t)-1 && a->gid)))
		return -EPERM;
	if (a->mask & UF_VFS_ATTR_MODE) {
		mode_t writable = n->is_dir ? 0755 : 0644;
		if (a->mode != writable && (n->is_dir || a->mode != (writable & ~0222)))
			return -EPERM;
		n->raw[11] = (n->raw[11] & ~ATTR_READ_ONLY) | (a->mode & 0222 ? 0 : ATTR_READ_ONLY);
	}
	if (a->mask & UF_VFS_ATTR_MTIME)
		uf_fat_entry_stamp(n->raw, a->mtime.tv_sec, UF_FAT_WRITTEN);
	if (a->mask & UF_VFS_ATTR_ATIME)
		uf_fat_entry_stamp(n->raw, a->atime.tv_sec, UF_FAT_ACCESSED);
	return store(n);
}

static int fat_fs_statfs(struct uf_mount *m, struct statfs *st)
{
	struct fat *fs = m->priv;
	uint32_t free_clusters;
	int r = uf_fat_free_clusters(fs, &free_clusters);
	st->f_type = 0x4d44;            /* Linux's MSDOS_SUPER_MAGIC */
	st->f_bsize = st->f_frsize = fs->cluster_size;
	st->f_blocks = fs->clusters;
	st->f_bfree = st->f_bavail = free_clusters;
	st->f_namelen = UF_VFS_NAME_MAX;
	return r;
}

static int fat_fs_readdir(struct uf_mount *m, void *node, uint64_t *cookie, struct uf_vfs_dirent *out)
{
	static struct fat_entry e;
	struct node *n = node;
	(void)m;
	uint32_t slot = *cookie;
	int r = uf_fat_dir_next(n->fs, first_cluster(n), &slot, &e);
	if (r <= 0)
		return r;
	strcpy(out->name, e.name);
	out->ino = e.loc.offset / DIRENT;
	out->type = e.raw[11] & ATTR_DIRECTORY ? DT_DIR : DT_REG;
	*cookie = slot;
	return 1;
}

static int fat_fs_sync(struct uf_mount *m, void *node)
{
	struct fat *fs = m->priv;
	(void)node;
	int r = uf_fat_store_info(fs);
	return r < 0 ? r : uf_bcache_flush(fs->cache);
}

/* "." and ".." of a new directory (".." is 0 for the root). */
static int write_dots(struct fat *fs, uint32_t self, uint32_t parent, const unsigned char *raw)
{
	unsigned char dots[2 * DIRENT];
	memcpy(dots, raw, DIRENT);
	memcpy(dots + DIRENT, raw, DIRENT);
	memset(dots, ' ', 11);
	memset(dots + DIRENT, ' ', 11);
	dots[0] = dots[DIRENT] = dots[DIRENT + 1] = '.';
	uf_fat_entry_set_cluster(dots, self);
	uf_fat_entry_set_cluster(dots + DIRENT, parent == root_dir(fs) ? 0 : parent);
	return uf_bcache_write(fs->cache, uf_fat_cluster_offset(fs, self), dots, sizeof dots);
}

static int fat_fs_mkdir(struct uf_mount *m, const char *path, mode_t mode)
{
	static struct fat_entry e;
	struct fat *fs = m->priv;
	uint32_t dir, cluster;
	const char *leaf;
	size_t len;
	(void)mode;
	int r = walk_parent(fs, path, &dir, &leaf, &len);
	if (r < 0)
		return r;
	r = uf_fat_dir_find(fs, dir, leaf, len, &e);
	if (r != -ENOENT)
		return r < 0 ? r : -EEXIST;
	if ((r = uf_fat_alloc(fs, 0, 1, &cluster)) < 0)
		return r;
	unsigned char raw[DIRENT] = { 0 };
	raw[11] = ATTR_DIRECTORY;
	uf_fat_entry_touch(raw, 1);
	uf_fat_entry_set_cluster(raw, cluster);
	if ((r = write_dots(fs, cluster, dir, raw)) < 0 || (r = uf_fat_dir_add(fs, dir, leaf, len, raw, &e)) < 0)
		uf_fat_free_chain(fs, cluster);
	return r;
}

static int fat_fs_remove(struct uf_mount *m, const char *path, int want_dir)
{
	static struct fat_entry e;
	struct fat *fs = m->priv;
	uint32_t dir;
	int r = lookup(fs, path, &e, &dir);
	if (r < 0)
		return r;
	int is_dir = !!(e.raw[11] & ATTR_DIRECTORY);
	uint32_t first = uf_fat_entry_cluster(e.raw);
	if (want_dir && !is_dir)
		return -ENOTDIR;
	if (!want_dir && is_dir)
		return -EISDIR;
	if (is_dir && (!uf_fat_valid_cluster(fs, first) || !uf_fat_dir_empty(fs, first)))
		return uf_fat_valid_cluster(fs, first) ? -ENOTEMPTY : -EIO;
	if ((r = uf_fat_dir_remove(fs, &e.loc)) < 0)
		return r;
	struct node *open = open_node(fs, e.loc.offset);
	if (open) {
		open->unlinked = 1;     /* the data lives until the last close, as POSIX says */
		return 0;
	}
	return first ? uf_fat_free_chain(fs, first) : 0;
}

static int fat_fs_rmdir(struct uf_mount *m, const char *path)
{
	return fat_fs_remove(m, path, 1);
}

static int fat_fs_unlink(struct uf_mount *m, const char *path)
{
	return fat_fs_remove(m, path, 0);
}

static int fat_fs_rename(struct uf_mount *m, const char *from, const char *to)
{
	static struct fat_entry src, dst, made;
	struct fat *fs = m->priv;
	uint32_t from_dir, to_dir;
	const char *leaf;
	size_t len, from_len = strlen(from);
	int r = lookup(fs, from, &src, &from_dir);
	if (r < 0)
		return r;
	int is_dir = !!(src.raw[11] & ATTR_DIRECTORY);
	if (is_dir && !strncmp(to, from, from_len) && to[from_len] == '/')
		return -EINVAL;         /* into itself */
	if ((r = walk_parent(fs, to, &to_dir, &leaf, &len)) < 0)
		return r;
	r = uf_fat_dir_find(fs, to_dir, leaf, len, &dst);
	if (r < 0 && r != -ENOENT)
		return r;
	int same = !r && dst.loc.offset == src.loc.offset;
	if (!r && !same) {
		int dst_dir = !!(dst.raw[11] & ATTR_DIRECTORY);
		if (dst_dir != is_dir)
			return is_dir ? -ENOTDIR : -EISDIR;
		if ((r = fat_fs_remove(m, to, dst_dir)) < 0)
			return r;
	}
	if (same && (r = uf_fat_dir_remove(fs, &src.loc)) < 0)
		return r;
	if ((r = uf_fat_dir_add(fs, to_dir, leaf, len, src.raw, &made)) < 0)
		return r;
	if (!same && (r = uf_fat_dir_remove(fs, &src.loc)) < 0)
		return r;
	struct node *open = open_node(fs, src.loc.offset);
	if (open)
		open->loc = made.loc;
	if (is_dir && from_dir != to_dir) {
		unsigned char parent[4];
		uint32_t p = to_dir == root_dir(fs) ? 0 : to_dir;
		parent[0] = p >> 16, parent[1] = p >> 24, parent[2] = p, parent[3] = p >> 8;
		uint64_t dotdot = uf_fat_cluster_offset(fs, uf_fat_entry_cluster(src.raw)) + DIRENT;
		if ((r = uf_bcache_write(fs->cache, dotdot + 20, parent, 2)) < 0 ||
		    (r = uf_bcache_write(fs->cache, dotdot + 26, parent + 2, 2)) < 0)
			return r;
	}
	return 0;
}

/* ---- the operations as the VFS calls them: each holds the volume's lock ----
 * With threads, a disk transfer in the middle of an operation lets other threads run (uf/thread.h): the lock keeps
 * the volume's tables, directories and open nodes whole for every other operation meanwhile. Without threads it
 * is nothing. */
#define LOCKED(call) ({ \
	struct uf_mutex *lock_ = &((struct fat *)m->priv)->lock; \
	uf_mutex_lock(lock_); \
	__typeof__(call) r_ = call; \
	uf_mutex_unlock(lock_); \
	r_; \
})

static int open_locked(struct uf_mount *m, const char *path, int flags, mode_t mode, void **out)
{
	return LOCKED(fat_fs_open(m, path, flags, mode, out));
}

static void close_locked(struct uf_mount *m, void *node)
{
	struct uf_mutex *lock = &((struct fat *)m->priv)->lock;
	uf_mutex_lock(lock);
	fat_fs_close(m, node);
	uf_mutex_unlock(lock);
}

static ssize_t read_locked(struct uf_mount *m, void *node, void *buf, size_t len, uint64_t off)
{
	return LOCKED(fat_fs_read(m, node, buf, len, off));
}

static ssize_t write_locked(struct uf_mount *m, void *node, const void *buf, size_t len, uint64_t off)
{
	return LOCKED(fat_fs_write(m, node, buf, len, off));
}

static int stat_locked(struct uf_mount *m, void *node, struct stat *st)
{
	return LOCKED(fat_fs_stat(m, node, st));
}

static int readdir_locked(struct uf_mount *m, void *node, uint64_t *cookie, struct uf_vfs_dirent *out)
{
	return LOCKED(fat_fs_readdir(m, node, cookie, out));
}

static int truncate_locked(struct uf_mount *m, void *node, uint64_t len)
{
	return LOCKED(fat_fs_truncate(m, node, len));
}

static int sync_locked(struct uf_mount *m, void *node)
{
	return LOCKED(fat_fs_sync(m, node));
}

static int mkdir_locked(struct uf_mount *m, const char *path, mode_t mode)
{
	return LOCKED(fat_fs_mkdir(m, path, mode));
}

static int rmdir_locked(struct uf_mount *m, const char *path)
{
	return LOCKED(fat_fs_rmdir(m, path));
}

static int unlink_locked(struct uf_mount *m, const char *path)
{
	return LOCKED(fat_fs_unlink(m, path));
}

static int rename_locked(struct uf_mount *m, const char *from, const char *to)
{
	return LOCKED(fat_fs_rename(m, from, to));
}

static int setattr_locked(struct uf_mount *m, void *node, const struct uf_vfs_attr *a)
{
	return LOCKED(fat_fs_setattr(m, node, a));
}

static int statfs_locked(struct uf_mount *m, struct statfs *st)
{
	return LOCKED(fat_fs_statfs(m, st));
}

static const struct uf_fs_type fat_type = {
	.name = "fat",
	.mount = fat_fs_mount,
	.open = open_locked,
	.close = close_locked,
	.read = read_locked,
	.write = write_locked,
	.stat = stat_locked,
	.readdir = readdir_locked,
	.truncate = truncate_locked,
	.sync = sync_locked,
	.mkdir = mkdir_locked,
	.rmdir = rmdir_locked,
	.unlink = unlink_locked,
	.rename = rename_locked,
	.setattr = setattr_locked,
	.statfs = statfs_locked,
};

void uf_fat_init(void)
{
	uf_vfs_register(&fat_type);
}

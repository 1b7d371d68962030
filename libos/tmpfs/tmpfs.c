/* tmpfs: nodes (files and folders) and the names folders give them, in memory. A file's bytes are pages from
 * module mem, found through a table of page pointers (grown by doubling); a page never written is a hole and reads
 * as zeros. A node lives while it has a name (nlink) or is open; a folder lists its entries in creation order, each
 * with a cookie (readdir's position) that only grows. Modes, owners and times are kept as given; no atime updates
 * (as Linux's noatime). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <uf/boot.h>
#include <uf/mem.h>
#include <uf/process.h>
#include <uf/time.h>
#include <uf/tmpfs.h>

#define PAGE UF_PAGE_SIZE
#define TMPFS_MAGIC 0x01021994
#define MAX_SIZE (1ull << 40)

struct entry;

struct node {
	struct fs *fs;
	ino_t ino;
	mode_t mode;
	uid_t uid;
	gid_t gid;
	nlink_t nlink;
	int open;
	uint64_t size;
	unsigned char **pages;          /* files: page i holds bytes [i * PAGE, (i + 1) * PAGE), NULL: a hole */
	size_t npages;                  /* the table's length */
	struct entry *entries, **tail;  /* folders */
	uint64_t cookies;               /* folders: the last cookie given */
	struct timespec atime, mtime, ctime;
};

struct entry {
	struct entry *next;
	struct node *node;
	uint64_t cookie;
	char name[];
};

struct fs {
	struct node *root;
	size_t pages_used, pages_max;   /* data pages; pages_max also bounds the count of nodes */
	size_t nodes;
	ino_t next_ino;
};

static struct timespec now(void)
{
	uint64_t ns = uf_time_realtime_ns();
	return (struct timespec){ .tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000 };
}

static struct node *new_node(struct fs *fs, mode_t mode)
{
	if (fs->nodes >= fs->pages_max)
		return 0;
	struct node *n = calloc(1, sizeof *n);
	if (!n)
		return 0;
	fs->nodes++;
	n->fs = fs;
	n->ino = ++fs->next_ino;
	n->mode = mode;
	n->nlink = S_ISDIR(mode) ? 2 : 1;
	n->uid = uf_process_euid();
	n->gid = uf_process_egid();
	n->tail = &n->entries;
	n->atime = n->mtime = n->ctime = now();
	return n;
}

static void drop_pages(struct node *n, size_t from)
{
	for (size_t i = from; i < n->npages; i++)
		if (n->pages[i]) {
			uf_page_free(n->pages[i], 1);
			n->pages[i] = 0;
			n->fs->pages_used--;
		}
}

/* Frees a node nothing refers to any more: no name, not open. */
static void release(struct node *n)
{
	if (n->nlink || n->open)
		return;
	drop_pages(n, 0);
	free(n->pages);
	n->fs->nodes--;
	free(n);
}

static struct entry *find(struct node *dir, const char *name, size_t len, struct entry ***link)
{
	struct entry **pp = &dir->entries;
	for (; *pp; pp = &(*pp)->next)
		if (strlen((*pp)->name) == len && !memcmp((*pp)->name, name, len)) {
			if (link)
				*link = pp;
			return *pp;
		}
	return 0;
}

/* The folder holding path's last component, and that component. */
static int walk_parent(struct fs *fs, const char *path, struct node **dir, const char **leaf, size_t *len)
{
	struct node *cur = fs->root;
	for (const char *p = path;;) {
		const char *slash = strchr(p, '/');
		if (!slash) {
			*dir = cur, *leaf = p, *len = strlen(p);
			return 0;
		}
		struct entry *e = find(cur, p, slash - p, 0);
		if (!e)
			return -ENOENT;
		if (!S_ISDIR(e->node->mode))
			return -ENOTDIR;
		cur = e->node;
		p = slash + 1;
	}
}

static int lookup(struct fs *fs, const char *path, struct node **out)
{
	struct node *dir;
	const char *leaf;
	size_t len;
	if (!*path) {
		*out = fs->root;
		return 0;
	}
	int r = walk_parent(fs, path, &dir, &leaf, &len);
	if (r < 0)
		return r;
	struct entry *e = find(dir, leaf, len, 0);
	if (!e)
		return -ENOENT;
	*out = e->node;
	return 0;
}

static int add_entry(struct node *dir, const char *name, size_t len, struct node *n)
{
	struct entry *e = malloc(sizeof *e + len + 1);
	if (!e)
		return -ENOSPC;
	e->next = 0;
	e->node = n;
	e->cookie = ++dir->cookies;
	memcpy(e->name, name, len);
	e->name[len] = 0;
	*dir->tail = e;
	dir->tail = &e->next;
	dir->mtime = dir->ctime = now();
	return 0;
}

static void remove_entry(struct node *dir, struct entry **link)
{
	struct entry *e = *link;
	*link = e->next;
	if (dir->tail == &e->next)
		dir->tail = link;
	dir->mtime = dir->ctime = now();
	free(e);
}

static int tmpfs_mount(struct uf_mount *m, const char *source, int read_only)
{
	(void)source, (void)read_only;
	struct fs *fs = calloc(1, sizeof *fs);
	if (!fs)
		return -ENOMEM;
	uint64_t ram = 0;
	for (size_t i = 0; i < uf_boot_info.nram; i++)
		ram += uf_boot_info.ram[i].length;
	fs->pages_max = ram / 2 / PAGE;
	fs->root = new_node(fs, S_IFDIR | 01777);       /* like /tmp: anyone may create, only owners remove */
	if (!fs->root) {
		free(fs);
		return -ENOMEM;
	}
	m->priv = fs;
	return 0;
}

static int resize(struct node *n, uint64_t len);

static int tmpfs_open(struct uf_mount *m, const char *path, int flags, mode_t mode, void **out)
{
	struct fs *fs = m->priv;
	struct node *n;
	int r = lookup(fs, path, &n);
	if (!r && (flags & O_CREAT) && (flags & O_EXCL))
		return -EEXIST;
	if (r == -ENOENT && (flags & O_CREAT)) {
		struct node *dir;
		const char *leaf;
		size_t len;
		if ((r = walk_parent(fs, path, &dir, &leaf, &len)) < 0)
			return r;
		if (!(n = new_node(fs, S_IFREG | (mode & 07777))))
			return -ENOSPC;
		if ((r = add_entry(dir, leaf, len, n)) < 0) {
			n->nlink = 0;
			release(n);
			return r;
		}
	}
	if (r < 0)
		return r;
	if ((flags & O_TRUNC) && S_ISREG(n->mode) && (flags & O_ACCMODE) != O_RDONLY && n->size)
		resize(n, 0);
	n->open++;
	*out = n;
	return 0;
}

static void tmpfs_close(struct uf_mount *m, void *node)
{
	struct node *n = node;
	(void)m;
	n->open--;
	release(n);
}

static ssize_t tmpfs_read(struct uf_mount *m, void *node, void *buf, size_t len, uint64_t off)
{
	struct node *n = node;
	(void)m;
	if (S_ISDIR(n->mode))
		return -EISDIR;
	if (off >= n->size)
		return 0;
	if (len > n->size - off)
		len = n->size - off;
	for (size_t done = 0; done < len; ) {
		uint64_t at = off + done;
		size_t i = at / PAGE, in = at % PAGE, chunk = PAGE - in < len - done ? PAGE - in : len - done;
		if (i < n->npages && n->pages[i])
			memcpy((char *)buf + done, n->pages[i] + in, chunk);
		else
			memset((char *)buf + done, 0, chunk);
		done += chunk;
	}
	return len;
}

/* Makes the page table long enough for page index i. */
static int table_for(struct node *n, size_t i)
{
	if (i < n->npages)
		return 0;
	size_t want = n->npages ? n->npages : 8;
	while (want <= i)
		want *= 2;
	unsigned char **t = realloc(n->pages, want * sizeof *t);
	if (!t)
		return -ENOSPC;
	memset(t + n->npages, 0, (want - n->npages) * sizeof *t);
	n->pages = t;
	n->npages = want;
	return 0;
}

static ssize_t tmpfs_write(struct uf_mount *m, void *node, const void *buf, size_t len, uint64_t off)
{
	struct node *n = node;
	struct fs *fs = m->priv;
	if (S_ISDIR(n->mode))
		return -EISDIR;
	if (off >= MAX_SIZE)
		return -EFBIG;
	if (len > MAX_SIZE - off)
		len = MAX_SIZE - off;
	size_t done = 0;
	int r = 0;
	while (done < len) {
		uint64_t at = off + done;
		size_t i = at / PAGE, in = at % PAGE, chunk = PAGE - in < len - done ? PAGE - in : len - done;
		if ((r = table_for(n, i)) < 0)
			break;
		if (!n->pages[i]) {
			if (fs->pages_used >= fs->pages_max || !(n->pages[i] = uf_page_alloc(1))) {
				r = -ENOSPC;
				break;
			}
			fs->pages_used++;
		}
		memcpy(n->pages[i] + in, (const char *)buf + done, chunk);
		done += chunk;
	}
	if (done && off + done > n->size)
		n->size = off + done;
	if (done)
		n->mtime = n->ctime = now();
	return done ? (ssize_t)done : r;
}

/* The new size: pages past it are freed, and the rest of its last page zeroed (a later growth reads zeros). */
static int resize(struct node *n, uint64_t len)
{
	if (len > MAX_SIZE)
		return -EFBIG;
	if (len < n->size) {
		drop_pages(n, (len + PAGE - 1) / PAGE);
		size_t i = len / PAGE;
		if (len % PAGE && i < n->npages && n->pages[i])
			memset(n->pages[i] + len % PAGE, 0, PAGE - len % PAGE);
	}
	n->size = len;
	n->mtime = n->ctime = now();
	return 0;
}

static int tmpfs_truncate(struct uf_mount *m, void *node, uint64_t len)
{
	(void)m;
	return resize(node, len);
}

static int tmpfs_stat(struct uf_mount *m, void *node, struct stat *st)
{
	struct node *n = node;
	(void)m;
	size_t used = 0;
	for (size_t i = 0; i < n->npages; i++)
		used += !!n->pages[i];
	*st = (struct stat){
		.st_ino = n->ino, .st_mode = n->mode, .st_nlink = n->nlink, .st_uid = n->uid, .st_gid = n->gid,
		.st_size = S_ISDIR(n->mode) ? 4096 : (off_t)n->size, .st_blksize = PAGE, .st_blocks = used * (PAGE / 512),
		.st_atim = n->atime, .st_mtim = n->mtime, .st_ctim = n->ctime,
	};
	return 0;
}

static int tmpfs_readdir(struct uf_mount *m, void *node, uint64_t *cookie, struct uf_vfs_dirent *out)
{
	struct node *n = node;
	(void)m;
	for (struct entry *e = n->entries; e; e = e->next)
		if (e->cookie > *cookie) {
			strcpy(out->name, e->name);
			out->ino = e->node->ino;
			out->type = S_ISDIR(e->node->mode) ? DT_DIR : DT_REG;
			*cookie = e->cookie;
			return 1;
		}
	return 0;
}

static int tmpfs_mkdir(struct uf_mount *m, const char *path, mode_t mode)
{
	struct fs *fs = m->priv;
	struct node *dir, *n;
	const char *leaf;
	size_t len;
	int r = walk_parent(fs, path, &dir, &leaf, &len);
	if (r < 0)
		return r;
	if (find(dir, leaf, len, 0))
		return -EEXIST;
	if (!(n = new_node(fs, S_IFDIR | (mode & 07777))))
		return -ENOSPC;
	if ((r = add_entry(dir, leaf, len, n)) < 0) {
		n->nlink = 0;
		release(n);
		return r;
	}
	dir->nlink++;
	return 0;
}

/* Removes the name path; want_dir: it must be an empty folder (rmdir), else it must not be a folder (unlink). */
static int remove_name(struct fs *fs, const char *path, int want_dir)
{
	struct node *dir;
	const char *leaf;
	size_t len;
	struct entry **link;
	int r = walk_parent(fs, path, &dir, &leaf, &len);
	if (r < 0)
		return r;
	struct entry *e = find(dir, leaf, len, &link);
	if (!e)
		return -ENOENT;
	struct node *n = e->node;
	if (want_dir && !S_ISDIR(n->mode))
		return -ENOTDIR;
	if (!want_dir && S_ISDIR(n->mode))
		return -EISDIR;
	if (want_dir && n->entries)
		return -ENOTEMPTY;
	remove_entry(dir, link);
	if (want_dir) {
		dir->nlink--;
		n->nlink = 0;
	} else {
		n->nlink--;
		n->ctime = now();
	}
	release(n);
	return 0;
}

static int tmpfs_rmdir(struct uf_mount *m, const char *path)
{
	return remove_name(m->priv, path, 1);
}

static int tmpfs_unlink(struct uf_mount *m, const char *path)
{
	return remove_name(m->priv, path, 0);
}

static int tmpfs_rename(struct uf_mount *m, const char *from, const char *to)
{
	struct fs *fs = m->priv;
	struct node *src_dir, *dst_dir;
	const char *src_leaf, *dst_leaf;
	size_t src_len, dst_len, from_len = strlen(from);
	struct entry **src_link, **dst_link;
	int r = walk_parent(fs, from, &src_dir, &src_leaf, &src_len);
	if (r < 0 || (r = walk_parent(fs, to, &dst_dir, &dst_leaf, &dst_len)) < 0)
		return r;
	struct entry *src = find(src_dir, src_leaf, src_len, &src_link);
	if (!src)
		return -ENOENT;
	struct node *n = src->node;
	int is_dir = S_ISDIR(n->mode);
	if (is_dir && !strncmp(to, from, from_len) && to[from_len] == '/')
		return -EINVAL;         /* into itself */
	struct entry *dst = find(dst_dir, dst_leaf, dst_len, &dst_link);
	if (dst && dst->node == n)
		return 0;               /* two names of one file: nothing to do (POSIX) */
	if (dst) {
		if (S_ISDIR(dst->node->mode) != is_dir)
			return is_dir ? -ENOTDIR : -EISDIR;
		if (is_dir && dst->node->entries)
			return -ENOTEMPTY;
	}
	if ((r = add_entry(dst_dir, dst_leaf, dst_len, n)) < 0)
		return r;
	if (dst) {                      /* find it again: adding may have moved dst_dir's tail, not its links */
		dst = find(dst_dir, dst_leaf, dst_len, &dst_link);
		struct node *old = dst->node;
		remove_entry(dst_dir, dst_link);
		if (S_ISDIR(old->mode)) {
			dst_dir->nlink--;
			old->nlink = 0;
		} else {
			old->nlink--;
		}
		release(old);
	}
	src = find(src_dir, src_leaf, src_len, &src_link);
	remove_entry(src_dir, src_link);
	if (is_dir && src_dir != dst_dir)
		src_dir->nlink--, dst_dir->nlink++;
	n->ctime = now();
	return 0;
}

static int tmpfs_link(struct uf_mount *m, const char *from, const char *to)
{
	struct fs *fs = m->priv;
	struct node *n, *dir;
	const char *leaf;
	size_t len;
	int r = lookup(fs, from, &n);
	if (r < 0 || (r = walk_parent(fs, to, &dir, &leaf, &len)) < 0)
		return r;
	if (S_ISDIR(n->mode))
		return -EPERM;
	if (find(dir, leaf, len, 0))
		return -EEXIST;
	if ((r = add_entry(dir, leaf, len, n)) < 0)
		return r;
	n->nlink++;
	n->ctime = now();
	return 0;
}

static int tmpfs_setattr(struct uf_mount *m, void *node, const struct uf_vfs_attr *a)
{
	struct node *n = node;
	(void)m;
	if (a->mask & UF_VFS_ATTR_MODE)
		n->mode = (n->mode & S_IFMT) | (a->mode & 07777);
	if ((a->mask & UF_VFS_ATTR_OWNER) && a->uid != (uid_t)-1)
		n->uid = a->uid;
	if ((a->mask & UF_VFS_ATTR_OWNER) && a->gid != (gid_t)-1)
		n->gid = a->gid;
	if (a->mask & UF_VFS_ATTR_ATIME)
		n->atime = a->atime;
	if (a->mask & UF_VFS_ATTR_MTIME)
		n->mtime = a->mtime;
	n->ctime = now();
	return 0;
}

static int tmpfs_statfs(struct uf_mount *m, struct statfs *st)
{
	struct fs *fs = m->priv;
	st->f_type = TMPFS_MAGIC;
	st->f_bsize = PAGE;
	st->f_blocks = fs->pages_max;
	st->f_bfree = st->f_bavail = fs->pages_max - fs->pages_used;
	st->f_files = fs->pages_max;
	st->f_ffree = fs->pages_max - fs->nodes;
	return 0;
}

const struct uf_fs_type uf_tmpfs_type = {
	.name = "tmpfs",
	.mount = tmpfs_mount,
	.open = tmpfs_open,
	.close = tmpfs_close,
	.read = tmpfs_read,
	.write = tmpfs_write,
	.stat = tmpfs_stat,
	.readdir = tmpfs_readdir,
	.truncate = tmpfs_truncate,
	.mkdir = tmpfs_mkdir,
	.rmdir = tmpfs_rmdir,
	.unlink = tmpfs_unlink,
	.rename = tmpfs_rename,
	.link = tmpfs_link,
	.setattr = tmpfs_setattr,
	.statfs = tmpfs_statfs,
};

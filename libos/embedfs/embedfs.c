/* An embedded tree as a read-only file system: lookups are binary searches over the sorted entries; nodes are
 * entries (the root is the header). A mount's priv is its tree: the app's (manifest key `files`), or another one
 * attached by a module that serves one (etcfs: manifest key `etc`). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <uf/console.h>
#include <uf/embedfs.h>
#include <uf/vfs.h>

struct tree {
	const unsigned char *base;
	const struct uf_embedfs_header *header;
	const struct uf_embedfs_entry *entries;
	unsigned long size;
};

static struct tree trees[2];    /* the app's, etcfs's */

static const char *path_of(const struct tree *t, const struct uf_embedfs_entry *e)
{
	return (const char *)t->base + e->path_off;
}

/* The host's sort order: bytes, with '/' below every other byte, so a folder's contents follow it at once. */
static int compare(const char *a, size_t alen, const char *b, size_t blen)
{
	for (size_t i = 0; i < alen && i < blen; i++) {
		unsigned char x = a[i] == '/' ? 0 : a[i], y = b[i] == '/' ? 0 : b[i];
		if (x != y)
			return x < y ? -1 : 1;
	}
	return (alen > blen) - (alen < blen);
}

/* The first entry not below (path, len). */
static uint32_t lower_bound(const struct tree *t, const char *path, size_t len)
{
	uint32_t lo = 0, hi = t->header->count;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (compare(path_of(t, &t->entries[mid]), t->entries[mid].path_len, path, len) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The tree was written by the build, yet a damaged image must not make the guest read outside it. */
static int valid(const struct tree *t, unsigned long size)
{
	if (size < sizeof *t->header || memcmp(t->header->magic, UF_EMBEDFS_MAGIC, 8))
		return 0;
	if (t->header->count > (size - sizeof *t->header) / sizeof *t->entries)
		return 0;
	for (uint32_t i = 0; i < t->header->count; i++) {
		const struct uf_embedfs_entry *e = &t->entries[i];
		if (e->path_off > size || e->path_len > size - e->path_off || e->data_off > size ||
		    e->size > size - e->data_off || (e->kind != UF_EMBEDFS_FILE && e->kind != UF_EMBEDFS_DIR))
			return 0;
	}
	return 1;
}

int uf_embedfs_attach(struct uf_mount *m, const unsigned char *tree, unsigned long size)
{
	struct tree *t = &trees[tree != uf_embedded_tree];
	*t = (struct tree){ .base = tree, .header = (const void *)tree, .size = size };
	t->entries = (const void *)(t->header + 1);
	m->priv = t;
	return valid(t, size) ? 0 : -EINVAL;
}

static int embedfs_mount(struct uf_mount *m, const char *source, int read_only)
{
	(void)source, (void)read_only;
	return uf_embedfs_attach(m, uf_embedded_tree, uf_embedded_tree_size);
}

static int embedfs_open(struct uf_mount *m, const char *path, int flags, mode_t mode, void **node)
{
	const struct tree *t = m->priv;
	(void)mode;
	if (!*path) {
		*node = (void *)t->header;
		return 0;
	}
	size_t len = strlen(path);
	uint32_t i = lower_bound(t, path, len);
	if (i == t->header->count || compare(path_of(t, &t->entries[i]), t->entries[i].path_len, path, len)) {
		return (flags & O_CREAT) ? -EROFS : -ENOENT;
	}
	*node = (void *)&t->entries[i];
	return 0;
}

static void embedfs_close(struct uf_mount *m, void *node)
{
	(void)m, (void)node;
}

static ssize_t embedfs_read(struct uf_mount *m, void *node, void *buf, size_t len, uint64_t off)
{
	const struct tree *t = m->priv;
	const struct uf_embedfs_entry *e = node;
	if (node == t->header || e->kind == UF_EMBEDFS_DIR)
		return -EISDIR;
	if (off >= e->size)
		return 0;
	if (len > e->size - off)
		len = e->size - off;
	memcpy(buf, t->base + e->data_off + off, len);
	return len;
}

static ssize_t embedfs_write(struct uf_mount *m, void *node, const void *buf, size_t len, uint64_t off)
{
	(void)m, (void)node, (void)buf, (void)len, (void)off;
	return -EROFS;
}

static int embedfs_stat(struct uf_mount *m, void *node, struct stat *st)
{
	const struct tree *t = m->priv;
	const struct uf_embedfs_entry *e = node;
	int is_dir = node == t->header || e->kind == UF_EMBEDFS_DIR;
	*st = (struct stat){
		.st_mode = is_dir ? S_IFDIR | 0555 : S_IFREG | 0444, .st_nlink = 1, .st_blksize = 4096,
		.st_ino = node == t->header ? 1 : (ino_t)(e - t->entries) + 2,
		.st_size = is_dir ? 0 : e->size, .st_blocks = is_dir ? 0 : (e->size + 511) / 512,
	};
	return 0;
}

/* The cookie is the index of the next entry to look at. A folder's contents follow it in the sorted order. */
static int embedfs_readdir(struct uf_mount *m, void *node, uint64_t *cookie, struct uf_vfs_dirent *out)
{
	const struct tree *t = m->priv;
	const struct uf_embedfs_entry *dir = node;
	int root = node == t->header;
	const char *prefix = root ? "" : path_of(t, dir);
	size_t plen = root ? 0 : dir->path_len + 1;     /* with the '/' */
	uint32_t i = *cookie ? (uint32_t)*cookie : (root ? 0 : (uint32_t)(dir - t->entries) + 1);
	for (; i < t->header->count; i++) {
		const struct uf_embedfs_entry *e = &t->entries[i];
		const char *p = path_of(t, e);
		if (plen && (e->path_len <= plen || memcmp(p, prefix, plen - 1) || p[plen - 1] != '/'))
			break;
		if (memchr(p + plen, '/', e->path_len - plen))
			continue;       /* deeper down */
		size_t n = e->path_len - plen;
		if (n > UF_VFS_NAME_MAX)
			continue;
		memcpy(out->name, p + plen, n);
		out->name[n] = 0;
		out->ino = i + 2;
		out->type = e->kind == UF_EMBEDFS_DIR ? DT_DIR : DT_REG;
		*cookie = i + 1;
		return 1;
	}
	*cookie = i;
	return 0;
}

/* A read-only tree is full: its bytes in blocks and its entries (with the root) as its files, none free. */
static int embedfs_statfs(struct uf_mount *m, struct statfs *st)
{
	const struct tree *t = m->priv;
	st->f_bsize = 4096;
	st->f_blocks = (t->size + 4095) / 4096;
	st->f_files = t->header->count + 1;
	return 0;
}

const struct uf_fs_type uf_embedfs_type = {
	.name = "embedfs",
	.mount = embedfs_mount,
	.open = embedfs_open,
	.close = embedfs_close,
	.read = embedfs_read,
	.write = embedfs_write,
	.stat = embedfs_stat,
	.readdir = embedfs_readdir,
	.statfs = embedfs_statfs,
};

void uf_embedfs_init(void)
{
	if (!uf_embedded_tree)
		return;         /* linked for another module's tree only (etcfs) */
	int r = uf_vfs_mount(uf_embedded_tree_mount, &uf_embedfs_type, 0, 1);
	if (r < 0)
		uf_printk("embedfs: cannot mount the embedded tree on %s: error %d\n", uf_embedded_tree_mount, -r);
}

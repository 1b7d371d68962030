/* /etc as a read-only file system: the made-up files (files.c) under the manifest's own (`etc`), which module
 * embedfs serves from the tree the build packed. A node is the root, an entry of the made-up files, or a node of
 * that tree (an address inside it). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <uf/console.h>
#include <uf/embedfs.h>
#include <uf/etcfs.h>
#include "etc.h"

/* Module embedfs, linked when the manifest has `etc` (weak: otherwise no image links it for /etc). */
extern const struct uf_fs_type uf_embedfs_type __attribute__((weak));
int uf_embedfs_attach(struct uf_mount *m, const unsigned char *tree, unsigned long size) __attribute__((weak));

#define OVERLAY_COOKIE (1ull << 40)

static const char root = 0;
static struct uf_mount overlay;         /* the manifest's files, when there are */
static int have_overlay;
static char made[256];                  /* the last made-up contents (resolv.conf) */

static int in_overlay(const void *node)
{
	const unsigned char *p = node;
	return have_overlay && p >= uf_etc_tree && p < uf_etc_tree + uf_etc_tree_size;
}

static const struct uf_etc_file *made_up(const char *name)
{
	for (unsigned i = 0; i < uf_etc_file_count; i++)
		if (!strcmp(uf_etc_files[i].name, name))
			return &uf_etc_files[i];
	return 0;
}

static int etcfs_mount(struct uf_mount *m, const char *source, int read_only)
{
	(void)m, (void)source, (void)read_only;
	if (uf_etc_tree && uf_embedfs_attach) {
		have_overlay = !uf_embedfs_attach(&overlay, uf_etc_tree, uf_etc_tree_size);
		if (!have_overlay)
			uf_printk("etcfs: the manifest's etc files are damaged: ignored\n");
	}
	return 0;
}

static int etcfs_open(struct uf_mount *m, const char *path, int flags, mode_t mode, void **node)
{
	(void)m;
	if (!*path) {
		*node = (void *)&root;
		return 0;
	}
	if (have_overlay && !uf_embedfs_type.open(&overlay, path, flags, mode, node))
		return 0;
	const struct uf_etc_file *f = made_up(path);
	if (!f)
		return -ENOENT;
	*node = (void *)f;
	return 0;
}

static void etcfs_close(struct uf_mount *m, void *node)
{
	(void)m;
	if (in_overlay(node))
		uf_embedfs_type.close(&overlay, node);
}

/* The made-up file's contents and length. */
static const char *contents(const struct uf_etc_file *f, size_t *len)
{
	if (f->text) {
		*len = strlen(f->text);
		return f->text;
	}
	*len = f->make(made, sizeof made);
	return made;
}

static ssize_t etcfs_read(struct uf_mount *m, void *node, void *buf, size_t len, uint64_t off)
{
	(void)m;
	if (in_overlay(node))
		return uf_embedfs_type.read(&overlay, node, buf, len, off);
	if (node == &root)
		return -EISDIR;
	size_t size;
	const char *text = contents(node, &size);
	if (off >= size)
		return 0;
	if (len > size - off)
		len = size - off;
	memcpy(buf, text + off, len);
	return len;
}

static ssize_t etcfs_write(struct uf_mount *m, void *node, const void *buf, size_t len, uint64_t off)
{
	(void)m, (void)node, (void)buf, (void)len, (void)off;
	return -EROFS;
}

static int etcfs_stat(struct uf_mount *m, void *node, struct stat *st)
{
	(void)m;
	if (in_overlay(node)) {
		int r = uf_embedfs_type.stat(&overlay, node, st);
		st->st_ino += 64;       /* apart from the made-up files' */
		return r;
	}
	size_t size = 0;
	if (node != &root)
		contents(node, &size);
	*st = (struct stat){
		.st_mode = node == &root ? S_IFDIR | 0755 : S_IFREG | 0644, .st_nlink = 1, .st_blksize = 4096,
		.st_size = size, .st_blocks = (size + 511) / 512,
		.st_ino = node == &root ? 1 : (ino_t)((const struct uf_etc_file *)node - uf_etc_files) + 2,
	};
	return 0;
}

/* The root lists the made-up files the manifest's do not replace, then the manifest's. */
static int etcfs_readdir(struct uf_mount *m, void *node, uint64_t *cookie, struct uf_vfs_dirent *out)
{
	(void)m;
	if (in_overlay(node))
		return uf_embedfs_type.readdir(&overlay, node, cookie, out);
	for (; *cookie < uf_etc_file_count; ++*cookie) {
		const struct uf_etc_file *f = &uf_etc_files[*cookie];
		void *shadow;
		if (have_overlay && !uf_embedfs_type.open(&overlay, f->name, O_RDONLY, 0, &shadow))
			continue;
		strcpy(out->name, f->name);
		out->ino = *cookie + 2;
		out->type = DT_REG;
		++*cookie;
		return 1;
	}
	if (!have_overlay)
		return 0;
	uint64_t inner = *cookie > OVERLAY_COOKIE ? *cookie - OVERLAY_COOKIE : 0;
	int r = uf_embedfs_type.readdir(&overlay, (void *)uf_etc_tree, &inner, out);
	*cookie = OVERLAY_COOKIE + inner;
	out->ino += 64;
	return r;
}

const struct uf_fs_type uf_etcfs_type = {
	.name = "etcfs",
	.mount = etcfs_mount,
	.open = etcfs_open,
	.close = etcfs_close,
	.read = etcfs_read,
	.write = etcfs_write,
	.stat = etcfs_stat,
	.readdir = etcfs_readdir,
};

/* The root of an image that has nothing mounted on "/": read-only folders that hold nothing of their own, "/"
 * and those on the way to a mount point ("/one" when only "/one/two" is mounted). Their entries are the mount
 * points below them, which the VFS lists in every folder (files.c). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <uf/boot.h>
#include "vfs_internal.h"

/* A node is the folder's inode number (nothing else is needed): 1 for "/", a hash of the path for the others. */
static int root_open(struct uf_mount *m, const char *path, int flags, mode_t mode, void **node)
{
	char abs[UF_VFS_PATH_MAX];
	(void)m, (void)flags, (void)mode;
	if (!*path) {
		*node = (void *)1;
		return 0;
	}
	abs[0] = '/';
	strcpy(abs + 1, path);          /* fits: path came from a normalized absolute path */
	if (!uf_vfs_leads_to_mount(abs))
		return -ENOENT;
	uintptr_t hash = 2166136261u;
	for (const char *p = path; *p; p++)
		hash = (hash ^ (unsigned char)*p) * 16777619u;
	*node = (void *)(hash | 2);
	return 0;
}

static void root_close(struct uf_mount *m, void *node)
{
	(void)m, (void)node;
}

static ssize_t root_read(struct uf_mount *m, void *node, void *buf, size_t len, uint64_t off)
{
	(void)m, (void)node, (void)buf, (void)len, (void)off;
	return -EISDIR;
}

static ssize_t root_write(struct uf_mount *m, void *node, const void *buf, size_t len, uint64_t off)
{
	(void)m, (void)node, (void)buf, (void)len, (void)off;
	return -EISDIR;
}

static int root_stat(struct uf_mount *m, void *node, struct stat *st)
{
	(void)m;
	*st = (struct stat){ .st_mode = S_IFDIR | 0755, .st_nlink = 2, .st_ino = (uintptr_t)node, .st_blksize = 4096 };
	return 0;
}

static int root_readdir(struct uf_mount *m, void *node, uint64_t *cookie, struct uf_vfs_dirent *out)
{
	(void)m, (void)node, (void)cookie, (void)out;
	return 0;
}

/* The root's folders below dir (absolute, normalized): the names on the way to a mount point that no mount holds. */
static unsigned long folders_below(const char *dir)
{
	char name[UF_VFS_NAME_MAX + 1], path[UF_VFS_PATH_MAX];
	const char *rest;
	unsigned long n = 0;
	for (uint64_t index = 0; uf_vfs_next_mount_below(dir, &index, name); )
		if (!uf_vfs_normalize(dir, name, path) && uf_vfs_lookup(path, &rest)->type == &uf_vfs_root_type)
			n += 1 + folders_below(path);
	return n;
}

/* What holds "/" is the image itself, read-only in memory, as a squashfs root is its image: its pages, all used,
 * and its folders, none free. */
static int root_statfs(struct uf_mount *m, struct statfs *st)
{
	(void)m;
	st->f_bsize = UF_PAGE_SIZE;
	st->f_blocks = (__uf_image_end - __uf_image_start + UF_PAGE_SIZE - 1) / UF_PAGE_SIZE;
	st->f_files = 1 + folders_below("/");
	return 0;
}

const struct uf_fs_type uf_vfs_root_type = {
	.name = "root",
	.open = root_open,
	.close = root_close,
	.read = root_read,
	.write = root_write,
	.stat = root_stat,
	.readdir = root_readdir,
	.statfs = root_statfs,
};

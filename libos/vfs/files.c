/* Open files of mounted file systems: offsets, access modes, O_APPEND, directories read as linux_dirent64. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <uf/fd.h>
#include "files.h"

static const struct uf_file_ops vfs_file_ops;

struct vfs_file *uf_vfs_file(int fd)
{
	struct uf_file *f = uf_fd_get(fd);
	return f && f->ops == &vfs_file_ops ? f->priv : 0;
}

static int readable(struct uf_file *f)
{
	return (f->flags & O_ACCMODE) != O_WRONLY;
}

static int writable(struct uf_file *f)
{
	return (f->flags & O_ACCMODE) != O_RDONLY;
}

static int file_size(struct vfs_file *v, uint64_t *size)
{
	struct stat st;
	int r = v->m->type->stat(v->m, v->node, &st);
	*size = st.st_size;
	return r;
}

static ssize_t vfs_pread(struct uf_file *f, void *buf, size_t len, off_t off)
{
	struct vfs_file *v = f->priv;
	if (!readable(f))
		return -EBADF;
	if (v->is_dir)
		return -EISDIR;
	return v->m->type->read(v->m, v->node, buf, len, off);
}

static ssize_t vfs_pwrite(struct uf_file *f, const void *buf, size_t len, off_t off)
{
	struct vfs_file *v = f->priv;
	if (!writable(f))
		return -EBADF;
	return v->m->type->write(v->m, v->node, buf, len, off);
}

static ssize_t vfs_read(struct uf_file *f, void *buf, size_t len)
{
	struct vfs_file *v = f->priv;
	ssize_t n = vfs_pread(f, buf, len, v->pos);
	if (n > 0)
		v->pos += n;
	return n;
}

static ssize_t vfs_write(struct uf_file *f, const void *buf, size_t len)
{
	struct vfs_file *v = f->priv;
	if (!writable(f))
		return -EBADF;
	if (f->flags & O_APPEND) {
		int r = file_size(v, &v->pos);
		if (r < 0)
			return r;
	}
	ssize_t n = vfs_pwrite(f, buf, len, v->pos);
	if (n > 0)
		v->pos += n;
	return n;
}

static off_t vfs_lseek(struct uf_file *f, off_t off, int whence)
{
	struct vfs_file *v = f->priv;
	uint64_t base = 0;
	switch (whence) {
	case SEEK_SET: break;
	case SEEK_CUR: base = v->pos; break;
	case SEEK_END: {
		int r = file_size(v, &base);
		if (r < 0)
			return r;
		break;
	}
	default: return -EINVAL;
	}
	if ((off < 0 && (uint64_t)-off > base) || (off > 0 && base + off > INT64_MAX))
		return -EINVAL;
	v->pos = base + off;
	if (v->is_dir && whence == SEEK_SET)
		v->dir_cookie = off;    /* rewinddir (0), seekdir (a d_off getdents gave) */
	return v->pos;
}

static int vfs_fstat(struct uf_file *f, struct stat *st)
{
	struct vfs_file *v = f->priv;
	int r = v->m->type->stat(v->m, v->node, st);
	st->st_dev = v->m->dev;
	return r;
}

static int vfs_truncate(struct uf_file *f, off_t len)
{
	struct vfs_file *v = f->priv;
	if (v->is_dir)
		return -EISDIR;
	if (!writable(f))
		return -EINVAL;
	if (v->m->read_only || !v->m->type->truncate)
		return -EROFS;
	return v->m->type->truncate(v->m, v->node, len);
}

/* A read-only file system has nothing to make durable. */
static int vfs_sync(struct uf_file *f)
{
	struct vfs_file *v = f->priv;
	if (v->m->read_only || !v->m->type->sync)
		return 0;
	return v->m->type->sync(v->m, v->node);
}

struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

/* Cookies of the mount points a folder lists after its own entries: this bit and an index in the mount table. */
#define MOUNT_COOKIE (1ull << 62)

/* The folder's next entry: its file system's, then the mount points below it that the file system does not
 * have itself (as Linux lists a mount point: the folder it is mounted on). */
static int next_entry(struct vfs_file *v, uint64_t *cookie, struct uf_vfs_dirent *out)
{
	if (!(*cookie & MOUNT_COOKIE)) {
		int r = v->m->type->readdir(v->m, v->node, cookie, out);
		if (r)
			return r;
		*cookie = MOUNT_COOKIE;
	}
	uint64_t index = *cookie & ~MOUNT_COOKIE;
	while (uf_vfs_next_mount_below(v->path, &index, out->name)) {
		*cookie = MOUNT_COOKIE | index;
		const char *dir;
		char rel[UF_VFS_PATH_MAX];
		void *node;
		uf_vfs_lookup(v->path, &dir);
		if (v->m->type != &uf_vfs_root_type && strlen(dir) + strlen(out->name) + 2 <= sizeof rel) {
			strcpy(rel, dir);
			strcat(strcat(rel, *dir ? "/" : ""), out->name);
			if (!v->m->type->open(v->m, rel, O_RDONLY, 0, &node)) {
				v->m->type->close(v->m, node);
				continue;       /* listed already: the file system has a folder of that name */
			}
		}
		out->ino = 1;
		out->type = DT_DIR;
		return 1;
	}
	*cookie = MOUNT_COOKIE | index;
	return 0;
}

static ssize_t vfs_getdents(struct uf_file *f, void *buf, size_t len)
{
	struct vfs_file *v = f->priv;
	if (!v->is_dir)
		return -ENOTDIR;
	size_t used = 0;
	for (;;) {
		static struct uf_vfs_dirent entry;
		uint64_t cookie = v->dir_cookie;
		int r = next_entry(v, &cookie, &entry);
		if (r <= 0)
			return r < 0 && !used ? r : (ssize_t)used;
		size_t name_len = strlen(entry.name);
		size_t reclen = (offsetof(struct linux_dirent64, d_name) + name_len + 1 + 7) & ~(size_t)7;
		if (used + reclen > len)
			return used ? (ssize_t)used : -EINVAL;
		struct linux_dirent64 *d = (void *)((char *)buf + used);
		d->d_ino = entry.ino;
		d->d_off = cookie;
		d->d_reclen = reclen;
		d->d_type = entry.type;
		memcpy(d->d_name, entry.name, name_len + 1);
		used += reclen;
		v->dir_cookie = cookie;
	}
}

static int vfs_close(struct uf_file *f)
{
	struct vfs_file *v = f->priv;
	v->m->type->close(v->m, v->node);
	free(v);
	return 0;
}

static const struct uf_fs_file_ops vfs_fs_file_ops = {
	.pread = vfs_pread,
	.pwrite = vfs_pwrite,
	.truncate = vfs_truncate,
	.sync = vfs_sync,
	.getdents = vfs_getdents,
};

static const struct uf_file_ops vfs_file_ops = {
	.read = vfs_read,
	.write = vfs_write,
	.close = vfs_close,
	.lseek = vfs_lseek,
	.fstat = vfs_fstat,
	.fs = &vfs_fs_file_ops,
};

/* Whether the folder holding path (inside m) exists. */
static int parent_exists(struct uf_mount *m, const char *path)
{
	char parent[UF_VFS_PATH_MAX];
	const char *slash = strrchr(path, '/');
	size_t n = slash ? (size_t)(slash - path) : 0;
	void *node;
	memcpy(parent, path, n);
	parent[n] = 0;
	if (m->type->open(m, parent, O_RDONLY, 0, &node) < 0)
		return 0;
	m->type->close(m, node);
	return 1;
}

/* Opens an absolute normalized path as a descriptor. */
int uf_vfs_open_fd(const char *abs, int flags, mode_t mode)
{
	const char *rest;
	struct uf_mount *m = uf_vfs_lookup(abs, &rest);
	if (!m)
		return -ENOENT;
	if (m->type->open_fd) {
		int fd, r = m->type->open_fd(m, rest, flags, &fd);
		if (r <= 0)
			return r < 0 ? r : fd;
	}
	int wants_write = (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
	/* A read-only mount is only looked in: what it has (or lacks) decides between EROFS, EEXIST, EISDIR and
	 * ENOENT, in Linux's order. */
	int open_flags = m->read_only ? (flags & ~(O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC)) | O_RDONLY : flags;
	void *node;
	int r = m->type->open(m, rest, open_flags, mode, &node);
	if (r == -ENOENT && m->read_only && (flags & O_CREAT) && parent_exists(m, rest))
		r = -EROFS;             /* it could be made, but not here (without the folder: ENOENT, as Linux) */
	if (r < 0)
		return r;
	struct stat st;
	r = m->type->stat(m, node, &st);
	if (!r && m->read_only && (flags & O_CREAT) && (flags & O_EXCL))
		r = -EEXIST;
	if (!r && S_ISDIR(st.st_mode) && wants_write)
		r = -EISDIR;
	if (!r && m->read_only && wants_write)
		r = -EROFS;
	if (!r && !S_ISDIR(st.st_mode) && (flags & O_DIRECTORY))
		r = -ENOTDIR;
	struct vfs_file *v = r ? 0 : malloc(sizeof *v);
	if (!v) {
		m->type->close(m, node);
		return r ? r : -ENOMEM;
	}
	*v = (struct vfs_file){ .m = m, .node = node, .is_dir = S_ISDIR(st.st_mode) };
	strcpy(v->path, abs);
	int fd = uf_fd_install(&vfs_file_ops, v, flags & (O_ACCMODE | O_APPEND | O_NONBLOCK));
	if (fd < 0) {
		m->type->close(m, node);
		free(v);
		return fd;
	}
	if (flags & O_CLOEXEC)
		uf_fd_get(fd)->fd_flags = FD_CLOEXEC;
	return fd;
}

int uf_vfs_reopen(int fd, int flags)
{
	struct vfs_file *v = uf_vfs_file(fd);
	if (v)
		return uf_vfs_open_fd(v->path, flags & ~(O_CREAT | O_EXCL), 0);
	if (!uf_fd_get(fd))
		return -EBADF;
	return uf_sys_fcntl(fd, (flags & O_CLOEXEC) ? F_DUPFD_CLOEXEC : F_DUPFD, 0);
}

/* stat of an absolute normalized path, without a descriptor. */
int uf_vfs_stat_path(const char *abs, struct stat *st)
{
	const char *rest;
	struct uf_mount *m = uf_vfs_lookup(abs, &rest);
	if (!m)
		return -ENOENT;
	void *node;
	int r = m->type->open(m, rest, O_RDONLY, 0, &node);
	if (r < 0)
		return r;
	r = m->type->stat(m, node, st);
	st->st_dev = m->dev;
	m->type->close(m, node);
	return r;
}

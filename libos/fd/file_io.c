/* The descriptor syscalls of files that have an offset and contents (file systems): they only dispatch. */
#include <errno.h>
#include <uf/fd.h>
#include "fd_io.h"

ssize_t uf_fd_pread(int fd, void *buf, size_t len, off_t off)
{
	struct uf_file *f = uf_fd_use(fd);
	if (!f)
		return -EBADF;
	ssize_t r = off < 0 ? -EINVAL : f->ops->fs ? f->ops->fs->pread(f, buf, len, off) : -ESPIPE;
	uf_fd_done(f);
	return r;
}

ssize_t uf_fd_pwrite(int fd, const void *buf, size_t len, off_t off)
{
	struct uf_file *f = uf_fd_use(fd);
	if (!f)
		return -EBADF;
	ssize_t r = off < 0 ? -EINVAL : f->ops->fs ? f->ops->fs->pwrite(f, buf, len, off) : -ESPIPE;
	uf_fd_done(f);
	return r;
}

long uf_fd_truncate(int fd, off_t len)
{
	struct uf_file *f = uf_fd_use(fd);
	if (!f)
		return -EBADF;
	long r = len < 0 || !f->ops->fs ? -EINVAL : f->ops->fs->truncate(f, len);
	uf_fd_done(f);
	return r;
}

long uf_sys_fsync(int fd)
{
	struct uf_file *f = uf_fd_use(fd);
	if (!f)
		return -EBADF;
	long r = f->ops->fs ? f->ops->fs->sync(f) : -EINVAL;
	uf_fd_done(f);
	return r;
}

/* No cheaper form: the metadata that reaches the data (size, cluster chain) must be durable too. */
long uf_sys_fdatasync(int fd)
{
	return uf_sys_fsync(fd);
}

long uf_sys_getdents64(int fd, void *buf, size_t len)
{
	struct uf_file *f = uf_fd_use(fd);
	if (!f)
		return -EBADF;
	long r = f->ops->fs ? f->ops->fs->getdents(f, buf, len) : -ENOTDIR;
	uf_fd_done(f);
	return r;
}

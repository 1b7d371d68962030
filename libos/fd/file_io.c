/* The descriptor syscalls of files that have an offset and contents (file systems): they only dispatch. */
#include <errno.h>
#include <uf/fd.h>
#include "fd_io.h"

ssize_t uf_fd_pread(int fd, void *buf, size_t len, off_t off)
{
	struct uf_file *f = uf_fd_get(fd);
	if (!f)
		return -EBADF;
	if (off < 0)
		return -EINVAL;
	return f->ops->fs ? f->ops->fs->pread(f, buf, len, off) : -ESPIPE;
}

ssize_t uf_fd_pwrite(int fd, const void *buf, size_t len, off_t off)
{
	struct uf_file *f = uf_fd_get(fd);
	if (!f)
		return -EBADF;
	if (off < 0)
		return -EINVAL;
	return f->ops->fs ? f->ops->fs->pwrite(f, buf, len, off) : -ESPIPE;
}

long uf_fd_truncate(int fd, off_t len)
{
	struct uf_file *f = uf_fd_get(fd);
	if (!f)
		return -EBADF;
	if (len < 0)
		return -EINVAL;
	return f->ops->fs ? f->ops->fs->truncate(f, len) : -EINVAL;
}

long uf_sys_fsync(int fd)
{
	struct uf_file *f = uf_fd_get(fd);
	if (!f)
		return -EBADF;
	return f->ops->fs ? f->ops->fs->sync(f) : -EINVAL;
}

/* No cheaper form: the metadata that reaches the data (size, cluster chain) must be durable too. */
long uf_sys_fdatasync(int fd)
{
	return uf_sys_fsync(fd);
}

long uf_sys_getdents64(int fd, void *buf, size_t len)
{
	struct uf_file *f = uf_fd_get(fd);
	if (!f)
		return -EBADF;
	return f->ops->fs ? f->ops->fs->getdents(f, buf, len) : -ENOTDIR;
}

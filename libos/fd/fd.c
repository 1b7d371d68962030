/* The descriptor table and the syscalls that only dispatch on it. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <uf/fd.h>
#include <uf/process.h>
#include "fd_io.h"
#include "lock.h"

/* The table (uf/fd.h): uf_fd_files are the open files, a descriptor in uf_fd_table points at one. */

/* Descriptors 0-2 are the console, written into the empty table directly (uf_fd_install's searches, inlined
 * three times, took hundreds of bytes in every image). */
void uf_fd_init(void)
{
	for (int fd = 0; fd < 3; fd++) {
		uf_fd_files[fd] = (struct uf_file){ .ops = &uf_console_file_ops, .flags = fd ? O_WRONLY : O_RDONLY,
		                                    .refs = 1 };
		uf_fd_table[fd] = &uf_fd_files[fd];
	}
}

static struct uf_file *new_file(void)
{
	for (int i = 0; i < uf_fd_max; i++)
		if (!uf_fd_files[i].refs)
			return &uf_fd_files[i];
	return 0;
}

/* One more than the highest descriptor a new one may get: RLIMIT_NOFILE's soft limit, within the table. */
static int open_max(void)
{
	rlim_t limit = uf_process_limit(RLIMIT_NOFILE);
	return limit < (rlim_t)uf_fd_max ? (int)limit : uf_fd_max;
}

static int lowest_free(int from)
{
	for (int fd = from, end = open_max(); fd < end; fd++)
		if (!uf_fd_table[fd])
			return fd;
	return -EMFILE;
}

int uf_fd_install(const struct uf_file_ops *ops, void *priv, int flags)
{
	int fd = lowest_free(0);
	struct uf_file *f = new_file();
	if (fd < 0)
		return fd;
	if (!f)
		return -ENOMEM;
	f->ops = ops;
	f->priv = priv;
	f->flags = flags;
	f->fd_flags = 0;
	f->refs = 1;                /* wakeups goes on counting: only its changes mean anything */
	uf_fd_table[fd] = f;
	return fd;
}

int uf_fd_install_file(struct uf_file *f, int fd_flags)
{
	int fd = lowest_free(0);
	if (fd < 0)
		return fd;
	f->refs++;
	f->fd_flags = fd_flags;
	uf_fd_table[fd] = f;
	return fd;
}

struct uf_file *uf_fd_get(int fd)
{
	return (unsigned)fd < (unsigned)uf_fd_max ? uf_fd_table[fd] : 0;         /* one comparison: negative fd too */
}

long uf_sys_read(int fd, void *buf, size_t len)
{
	struct uf_file *f = uf_fd_use(fd);
	if (!f)
		return -EBADF;
	long r = f->ops->read(f, buf, len);
	uf_fd_done(f);
	return r;
}

long uf_sys_write(int fd, const void *buf, size_t len)
{
	struct uf_file *f = uf_fd_use(fd);
	if (!f)
		return -EBADF;
	long r = f->ops->write(f, buf, len);
	uf_fd_done(f);
	return r;
}

/* readv/writev: the file's own vector operation, else one call per segment (a short transfer ends the loop, as
 * POSIX allows). */
static long file_vector_io(struct uf_file *f, const struct iovec *iov, int count, int writing)
{
	long total = 0;
	if (count < 0 || count > 1024)       /* IOV_MAX, as Linux */
		return -EINVAL;
	if (writing ? f->ops->writev : f->ops->readv)
		return writing ? f->ops->writev(f, iov, count) : f->ops->readv(f, iov, count);
	for (int i = 0; i < count; i++) {
		if (!iov[i].iov_len)
			continue;
		ssize_t n = writing ? f->ops->write(f, iov[i].iov_base, iov[i].iov_len)
		                    : f->ops->read(f, iov[i].iov_base, iov[i].iov_len);
		if (n < 0)
			return total ? total : n;
		total += n;
		if ((size_t)n < iov[i].iov_len)
			break;
	}
	return total;
}

static long vector_io(int fd, const struct iovec *iov, int count, int writing)
{
	struct uf_file *f = uf_fd_use(fd);
	if (!f)
		return -EBADF;
	long r = file_vector_io(f, iov, count, writing);
	uf_fd_done(f);
	return r;
}

long uf_sys_readv(int fd, const struct iovec *iov, int count)
{
	return vector_io(fd, iov, count, 0);
}

long uf_sys_writev(int fd, const struct iovec *iov, int count)
{
	return vector_io(fd, iov, count, 1);
}

void uf_file_hold(struct uf_file *f)
{
	f->refs++;
}

/* Drops a reference; a descriptor's (close) also releases the process's POSIX locks on the file. */
static int drop(struct uf_file *f, int descriptor)
{
	if (uf_fd_lock_release)
		uf_fd_lock_release(f, descriptor);
	if (--f->refs)
		return 0;
	return f->ops->close ? f->ops->close(f) : 0;
}

int uf_file_put(struct uf_file *f)
{
	return drop(f, 0);
}

long uf_sys_close(int fd)
{
	struct uf_file *f = uf_fd_get(fd);
	if (!f)
		return -EBADF;
	uf_fd_table[fd] = 0;
	return drop(f, 1);
}

long uf_sys_ioctl(int fd, unsigned long req, void *arg)
{
	struct uf_file *f = uf_fd_get(fd);
	if (!f)
		return -EBADF;
	return f->ops->ioctl ? f->ops->ioctl(f, req, arg) : -ENOTTY;
}

off_t uf_fd_lseek(int fd, off_t off, int whence)
{
	struct uf_file *f = uf_fd_get(fd);
	if (!f)
		return -EBADF;
	return f->ops->lseek ? f->ops->lseek(f, off, whence) : -ESPIPE;
}

/* Its result is a long: on 32-bit ARM a position past 2 GiB is for _llseek (armv7.c), EOVERFLOW here as on Linux. */
long uf_sys_lseek(int fd, off_t off, int whence)
{
	off_t pos = uf_fd_lseek(fd, off, whence);
	return pos == (long)pos ? (long)pos : -EOVERFLOW;
}

long uf_sys_fstat(int fd, struct stat *st)
{
	struct uf_file *f = uf_fd_get(fd);
	if (!f)
		return -EBADF;
	return f->ops->fstat ? f->ops->fstat(f, st) : -EBADF;
}

static long dup_to(struct uf_file *f, int fd, int cloexec)
{
	if (uf_fd_table[fd])
		uf_sys_close(fd);
	f->refs++;
	uf_fd_table[fd] = f;
	f->fd_flags = cloexec ? FD_CLOEXEC : 0;
	return fd;
}

long uf_sys_dup(int old)
{
	struct uf_file *f = uf_fd_get(old);
	int fd = lowest_free(0);
	if (!f)
		return -EBADF;
	return fd < 0 ? fd : dup_to(f, fd, 0);
}

long uf_sys_dup3(int old, int new, int flags)
{
	struct uf_file *f = uf_fd_get(old);
	if (!f)
		return -EBADF;
	if ((flags & ~O_CLOEXEC) || old == new)
		return -EINVAL;
	if (new < 0 || new >= open_max())
		return -EBADF;              /* beyond the descriptor limit, as Linux says */
	return dup_to(f, new, flags & O_CLOEXEC);
}

long uf_sys_dup2(int old, int new)
{
	if (old == new)
		return uf_fd_get(old) ? new : -EBADF;
	return uf_sys_dup3(old, new, 0);
}

long uf_sys_fcntl(int fd, int cmd, long arg)
{
	struct uf_file *f = uf_fd_get(fd);
	if (!f)
		return -EBADF;
	switch (cmd) {
	case F_GETFD: return f->fd_flags;
	case F_SETFD: f->fd_flags = arg & FD_CLOEXEC; return 0;
	case F_GETFL: return f->flags;
	case F_SETFL: f->flags = (f->flags & O_ACCMODE) | (arg & (O_NONBLOCK | O_APPEND)); return 0;
	case F_DUPFD:
	case F_DUPFD_CLOEXEC: {
		int to = arg < 0 || arg >= open_max() ? -EINVAL : lowest_free(arg);
		return to < 0 ? to : dup_to(f, to, cmd == F_DUPFD_CLOEXEC);
	}
	default: return uf_fd_lock_command(f, cmd, (void *)arg);
	}
}

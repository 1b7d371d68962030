/* eventfd: writes add to a counter, reads take it (all of it, or 1 in semaphore mode); a read of 0 waits and a
 * write that would pass 0xfffffffffffffffe waits. Blocking calls loop over uf_fd_wait (uf/fd.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <uf/fd.h>

#define COUNT_MAX (UINT64_MAX - 1)

struct eventfd {
	uint64_t count;
	int semaphore;
};

static const struct uf_file_ops eventfd_ops;

long uf_sys_eventfd2(unsigned initval, int flags)
{
	if (flags & ~(EFD_SEMAPHORE | EFD_NONBLOCK | EFD_CLOEXEC))
		return -EINVAL;
	struct eventfd *e = calloc(1, sizeof *e);
	if (!e)
		return -ENOMEM;
	*e = (struct eventfd){ .count = initval, .semaphore = !!(flags & EFD_SEMAPHORE) };
	int fd = uf_fd_install(&eventfd_ops, e, O_RDWR | (flags & EFD_NONBLOCK ? O_NONBLOCK : 0));
	if (fd < 0) {
		free(e);
		return fd;
	}
	if (flags & EFD_CLOEXEC)
		uf_fd_get(fd)->fd_flags = FD_CLOEXEC;
	return fd;
}

static ssize_t counter_read(struct uf_file *f, void *buf, size_t len)
{
	struct eventfd *e = f->priv;
	if (len < sizeof(uint64_t))
		return -EINVAL;
	while (!e->count) {
		long r = uf_fd_wait(f->flags & O_NONBLOCK, UINT64_MAX, 1);
		if (r < 0)
			return r;
	}
	uint64_t v = e->semaphore ? 1 : e->count;
	e->count -= v;
	uf_fd_wake(f);
	memcpy(buf, &v, sizeof v);
	return sizeof v;
}

static ssize_t counter_write(struct uf_file *f, const void *buf, size_t len)
{
	struct eventfd *e = f->priv;
	uint64_t v;
	if (len < sizeof v)
		return -EINVAL;
	memcpy(&v, buf, sizeof v);
	if (v == UINT64_MAX)
		return -EINVAL;
	while (e->count > COUNT_MAX - v) {
		long r = uf_fd_wait(f->flags & O_NONBLOCK, UINT64_MAX, 1);
		if (r < 0)
			return r;
	}
	e->count += v;
	uf_fd_wake(f);
	return sizeof v;
}

static unsigned counter_poll(struct uf_file *f, unsigned long long *wake_ns)
{
	struct eventfd *e = f->priv;
	(void)wake_ns;                  /* only this process changes the counter */
	return (e->count ? POLLIN : 0) | (e->count < COUNT_MAX ? POLLOUT : 0);
}

static int counter_close(struct uf_file *f)
{
	free(f->priv);
	return 0;
}

static int counter_fstat(struct uf_file *f, struct stat *st)
{
	(void)f;
	*st = (struct stat){ .st_mode = 0600, .st_nlink = 1, .st_blksize = 4096 };    /* an anonymous inode */
	return 0;
}

static const struct uf_file_ops eventfd_ops = {
	.read = counter_read,
	.write = counter_write,
	.close = counter_close,
	.fstat = counter_fstat,
	.poll = counter_poll,
};

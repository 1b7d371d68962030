/* Pipes: a ring of bytes shared by a read end and a write end (two open files; dup shares an end). The ring
 * is Linux's default 64 KiB, allocated on the first write. A write of at most PIPE_BUF bytes goes in whole or
 * waits; a longer one goes in as room allows. Reading an empty pipe with no write end left is the end of file;
 * writing with no read end left is EPIPE, with SIGPIPE. Blocking calls loop over uf_fd_wait (uf/fd.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <uf/fd.h>
#include <uf/mem.h>
#include <uf/signal.h>

#define PIPE_SIZE 65536
#define PIPE_BUF 4096           /* Linux's (limits.h here is the compiler's, which has none) */

struct pipe {
	char *ring;                 /* PIPE_SIZE bytes, or 0 until the first write */
	size_t head, count;         /* the oldest byte's index, and how many bytes are in */
	struct uf_file *reader, *writer;    /* the ends' open files; 0 once closed */
};

static const struct uf_file_ops pipe_ops;

static int is_reader(const struct uf_file *f)
{
	return (f->flags & O_ACCMODE) == O_RDONLY;
}

static int pipe_close(struct uf_file *f)
{
	struct pipe *p = f->priv;
	if (is_reader(f))
		p->reader = 0;
	else
		p->writer = 0;
	uf_fd_wake(p->reader ? p->reader : p->writer);     /* the other end hangs up */
	if (!p->reader && !p->writer) {
		free(p->ring);
		free(p);
	}
	return 0;
}

long uf_sys_pipe2(int fds[2], int flags)
{
	if (flags & ~(O_NONBLOCK | O_CLOEXEC))
		return -EINVAL;
	struct pipe *p = calloc(1, sizeof *p);
	if (!p)
		return -ENOMEM;
	int status = flags & O_NONBLOCK;
	int r = uf_fd_install(&pipe_ops, p, O_RDONLY | status);
	if (r < 0) {
		free(p);
		return r;
	}
	p->reader = uf_fd_get(r);
	int w = uf_fd_install(&pipe_ops, p, O_WRONLY | status);
	if (w < 0) {
		uf_sys_close(r);            /* frees the pipe: the write end never was */
		return w;
	}
	p->writer = uf_fd_get(w);
	if (flags & O_CLOEXEC)
		uf_fd_get(r)->fd_flags = uf_fd_get(w)->fd_flags = FD_CLOEXEC;
	fds[0] = r;
	fds[1] = w;
	return 0;
}

long uf_sys_pipe(int fds[2])
{
	return uf_sys_pipe2(fds, 0);
}

/* Moves n bytes between the ring (from index at) and the segments (from byte skip of them). */
static void copy(struct pipe *p, size_t at, const struct iovec *iov, int count, size_t skip, size_t n, int in)
{
	for (int i = 0; i < count && n; i++) {
		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			continue;
		}
		size_t part = iov[i].iov_len - skip < n ? iov[i].iov_len - skip : n;
		char *user = (char *)iov[i].iov_base + skip;
		for (size_t done = 0; done < part;) {
			size_t pos = (at + done) % PIPE_SIZE, run = PIPE_SIZE - pos < part - done ? PIPE_SIZE - pos
			                                                                          : part - done;
			if (in)
				memcpy(p->ring + pos, user + done, run);
			else
				memcpy(user + done, p->ring + pos, run);
			done += run;
		}
		at += part;
		n -= part;
		skip = 0;
	}
}

static ssize_t pipe_writev(struct uf_file *f, const struct iovec *iov, int count)
{
	struct pipe *p = f->priv;
	size_t total = uf_iov_total(iov, count), done = 0;
	if (is_reader(f))
		return -EBADF;
	if (!total)
		return 0;
	if (!p->ring && (p->ring = malloc(PIPE_SIZE)) && uf_mem_populate(p->ring, PIPE_SIZE)) {
		free(p->ring);
		p->ring = 0;
	}
	if (!p->ring)
		return -ENOMEM;
	while (done < total) {
		if (!p->reader) {
			uf_signal_raise(SIGPIPE);
			return done ? (ssize_t)done : -EPIPE;
		}
		size_t room = PIPE_SIZE - p->count, n = total - done < room ? total - done : room;
		if (total <= PIPE_BUF && n < total)
			n = 0;                  /* atomic: all at once or not yet */
		if (n) {
			copy(p, p->head + p->count, iov, count, done, n, 1);
			p->count += n;
			done += n;
			uf_fd_wake(p->reader);
			continue;
		}
		long r = uf_fd_wait(f->flags & O_NONBLOCK, UINT64_MAX, 1);
		if (r < 0)
			return done ? (ssize_t)done : r;
	}
	return (ssize_t)done;
}

static ssize_t pipe_readv(struct uf_file *f, const struct iovec *iov, int count)
{
	struct pipe *p = f->priv;
	size_t total = uf_iov_total(iov, count);
	if (!is_reader(f))
		return -EBADF;
	if (!total)
		return 0;
	while (!p->count) {
		if (!p->writer)
			return 0;
		long r = uf_fd_wait(f->flags & O_NONBLOCK, UINT64_MAX, 1);
		if (r < 0)
			return r;
	}
	size_t n = total < p->count ? total : p->count;
	copy(p, p->head, iov, count, 0, n, 0);
	p->head = (p->head + n) % PIPE_SIZE;
	p->count -= n;
	uf_fd_wake(p->writer);
	return (ssize_t)n;
}

static ssize_t pipe_read(struct uf_file *f, void *buf, size_t len)
{
	struct iovec v = { buf, len };
	return pipe_readv(f, &v, 1);
}

static ssize_t pipe_write(struct uf_file *f, const void *buf, size_t len)
{
	struct iovec v = { (void *)buf, len };
	return pipe_writev(f, &v, 1);
}

/* As Linux: the read end is readable with bytes in and hangs up without writers; the write end is writable
 * while PIPE_BUF bytes fit, and an error without readers. */
static unsigned pipe_poll(struct uf_file *f, unsigned long long *wake_ns)
{
	struct pipe *p = f->priv;
	(void)wake_ns;                  /* only this process changes a pipe */
	if (is_reader(f))
		return (p->count ? POLLIN : 0) | (p->writer ? 0 : POLLHUP);
	return (PIPE_SIZE - p->count >= PIPE_BUF ? POLLOUT : 0) | (p->reader ? 0 : POLLERR);
}

static int pipe_ioctl(struct uf_file *f, unsigned long req, void *arg)
{
	struct pipe *p = f->priv;
	int n;
	switch (req) {
	case FIONREAD:
		n = (int)p->count;
		memcpy(arg, &n, sizeof n);
		return 0;
	case FIONBIO:
		memcpy(&n, arg, sizeof n);
		f->flags = n ? f->flags | O_NONBLOCK : f->flags & ~O_NONBLOCK;
		return 0;
	}
	return -ENOTTY;
}

static int pipe_fstat(struct uf_file *f, struct stat *st)
{
	(void)f;
	*st = (struct stat){ .st_mode = S_IFIFO | 0600, .st_nlink = 1, .st_blksize = 4096 };
	return 0;
}

static const struct uf_file_ops pipe_ops = {
	.read = pipe_read,
	.write = pipe_write,
	.close = pipe_close,
	.ioctl = pipe_ioctl,
	.fstat = pipe_fstat,
	.poll = pipe_poll,
	.readv = pipe_readv,
	.writev = pipe_writev,
};

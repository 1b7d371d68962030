/* epoll: an interest list as a descriptor. Waiting scans the list with each file's poll operation, like poll():
 * with one process on one CPU there is nothing to gain from callbacks, and scanning keeps files simple.
 * EPOLLET reports a bit only when it was clear at the previous scan (a rising edge) or the file had an event
 * since (uf_fd_wake: Linux reports again after every wake-up); EPOLLONESHOT disables an entry once reported,
 * until EPOLL_CTL_MOD re-arms it. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <uf/fd.h>
#include <uf/poll.h>
#include <uf/signal.h>
#include <uf/time.h>

#define ALWAYS_REPORTED (EPOLLERR | EPOLLHUP)

struct interest {
	int fd;
	struct uf_file *file;           /* the open file registered: a later file at the same number is not it */
	struct epoll_event ev;
	unsigned last;                  /* state at the previous scan, for EPOLLET */
	unsigned wakeups;               /* the file's wake-up count then */
	int disabled;                   /* EPOLLONESHOT, after reporting */
};

struct epoll {
	struct interest *items;         /* grows as interests are added, up to one per descriptor */
	int count, capacity;
};

static const struct uf_file_ops epoll_ops;

static ssize_t no_read(struct uf_file *f, void *buf, size_t len)
{
	(void)f, (void)buf, (void)len;
	return -EINVAL;
}

static ssize_t no_write(struct uf_file *f, const void *buf, size_t len)
{
	(void)f, (void)buf, (void)len;
	return -EINVAL;
}

static int epoll_close(struct uf_file *f)
{
	struct epoll *ep = f->priv;
	free(ep->items);
	free(ep);
	return 0;
}

static struct epoll *epoll_of(int fd)
{
	struct uf_file *f = uf_fd_get(fd);
	return f && f->ops == &epoll_ops ? f->priv : 0;
}

long uf_sys_epoll_create1(int flags)
{
	if (flags & ~EPOLL_CLOEXEC)
		return -EINVAL;
	struct epoll *ep = calloc(1, sizeof *ep);
	if (!ep)
		return -ENOMEM;
	int fd = uf_fd_install(&epoll_ops, ep, O_RDWR);
	if (fd < 0) {
		free(ep);
		return fd;
	}
	if (flags & EPOLL_CLOEXEC)
		uf_fd_get(fd)->fd_flags = FD_CLOEXEC;
	return fd;
}

long uf_sys_epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
	struct epoll *ep = epoll_of(epfd);
	struct uf_file *f = uf_fd_get(fd);
	if (!uf_fd_get(epfd) || !f)
		return -EBADF;
	if (!ep || fd == epfd)
		return -EINVAL;
	if (f->ops == &epoll_ops)
		return -ELOOP;              /* nested epoll sets are not supported */
	struct interest *it = 0;
	for (int i = 0; i < ep->count; i++)
		if (ep->items[i].fd == fd && ep->items[i].file == f)
			it = &ep->items[i];
	switch (op) {
	case EPOLL_CTL_ADD:
		if (it)
			return -EEXIST;
		if (ep->count == ep->capacity) {
			int more = ep->capacity ? 2 * ep->capacity : 16;
			struct interest *items = realloc(ep->items, more * sizeof *items);
			if (!items)
				return -ENOMEM;
			ep->items = items;
			ep->capacity = more;
		}
		ep->items[ep->count++] = (struct interest){ .fd = fd, .file = f, .ev = *ev, .wakeups = f->wakeups };
		uf_thread_wake_waiters();       /* an epoll_wait in another thread looks at it */
		return 0;
	case EPOLL_CTL_MOD:
		if (!it)
			return -ENOENT;
		it->ev = *ev;
		it->last = 0;
		it->wakeups = f->wakeups;
		it->disabled = 0;
		uf_thread_wake_waiters();
		return 0;
	case EPOLL_CTL_DEL:
		if (!it)
			return -ENOENT;
		*it = ep->items[--ep->count];
		return 0;
	}
	return -EINVAL;
}

/* One scan: fills out with up to max ready entries; drops entries whose descriptor was closed. */
static int scan(struct epoll *ep, struct epoll_event *out, int max, unsigned long long *wake)
{
	int n = 0;
	uf_poll_scan_start(wake);
	for (int i = 0; i < ep->count && n < max; i++) {
		struct interest *it = &ep->items[i];
		if (uf_fd_get(it->fd) != it->file) {
			*it = ep->items[--ep->count];   /* closed: Linux forgets it with the file */
			i--;
			continue;
		}
		if (it->disabled)
			continue;
		unsigned state = uf_poll_file(it->file, wake);
		unsigned ready = state & (it->ev.events | ALWAYS_REPORTED);
		if ((it->ev.events & EPOLLET) && it->file->wakeups == it->wakeups)
			ready &= ~it->last;
		it->last = state;
		it->wakeups = it->file->wakeups;
		if (!ready)
			continue;
		out[n].events = ready;
		out[n].data = it->ev.data;
		n++;
		if (it->ev.events & EPOLLONESHOT)
			it->disabled = 1;
	}
	return n;
}

long uf_sys_epoll_pwait(int epfd, struct epoll_event *out, int max, int timeout_ms, const void *sigmask,
			unsigned long size)
{
	struct epoll *ep = epoll_of(epfd);
	if (!uf_fd_get(epfd))
		return -EBADF;
	if (!ep || max <= 0 || (sigmask && size != sizeof(uint64_t)))
		return -EINVAL;
	uint64_t deadline = UINT64_MAX;
	if (timeout_ms >= 0)
		uf_poll_deadline(timeout_ms / 1000, timeout_ms % 1000 * 1000000L, &deadline);
	if (sigmask)
		uf_signal_mask_swap(sigmask);
	long r;
	for (;;) {
		unsigned long long wake = deadline;
		if ((r = scan(ep, out, max, &wake)) || uf_time_monotonic_ns() >= deadline)
			break;
		uf_time_wait_until(wake);
		if ((r = uf_signal_wait_point_norestart()))     /* a handler ran: EINTR, never restarted */
			break;
	}
	if (sigmask)
		uf_signal_mask_restore();
	return r;
}

static const struct uf_file_ops epoll_ops = {
	.read = no_read,
	.write = no_write,
	.close = epoll_close,
};

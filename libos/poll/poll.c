/* poll and select: run the network stack once (uf_poll_scan_start), then ask every file for its state; if none
 * is ready, halt until an interrupt, the earliest time the stack or a file said a state may change, or the
 * caller's timeout. Files without a poll operation are always ready, as regular files are. A signal handler
 * ends the wait with EINTR (never restarted, as on Linux); ppoll and pselect6 wait with the caller's mask. */
#include <errno.h>
#include <poll.h>
#include <uf/fd.h>
#include <uf/poll.h>
#include <uf/signal.h>
#include <uf/time.h>

#define ALWAYS_READY (POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM)
#define MAX_POLL_FDS 1024       /* RLIMIT_NOFILE's usual soft limit, as Linux checks nfds against */

/* Module net (uf/net.h), weak: poll without sockets links no stack. */
int uf_net_poll(void) __attribute__((weak));
uint64_t uf_net_next_timer(void) __attribute__((weak));

void uf_poll_scan_start(unsigned long long *wake)
{
	if (!uf_net_poll)
		return;
	uf_net_poll();
	uint64_t t = uf_net_next_timer();
	if (t < *wake)
		*wake = t;
}

unsigned uf_poll_file(struct uf_file *f, unsigned long long *wake)
{
	if (!f->ops->poll)
		return ALWAYS_READY;
	unsigned ev = f->ops->poll(f, wake);
	if (ev & POLLIN)
		ev |= POLLRDNORM;
	if (ev & POLLOUT)
		ev |= POLLWRNORM;
	return ev;
}

int uf_poll_deadline(long sec, long nsec, uint64_t *deadline)
{
	if (sec < 0 || nsec < 0 || nsec >= 1000000000)
		return -EINVAL;
	uint64_t now = uf_time_monotonic_ns();
	*deadline = (uint64_t)sec > (UINT64_MAX - now) / 1000000000 - 1 ? UINT64_MAX
		    : now + (uint64_t)sec * 1000000000 + (uint64_t)nsec;
	return 0;
}

static long do_poll(struct pollfd *fds, unsigned long n, uint64_t deadline)
{
	if (n > MAX_POLL_FDS)
		return -EINVAL;
	for (;;) {
		unsigned long long wake = deadline;
		long ready = 0;
		uf_poll_scan_start(&wake);
		for (unsigned long i = 0; i < n; i++) {
			fds[i].revents = 0;
			if (fds[i].fd < 0)
				continue;
			struct uf_file *f = uf_fd_get(fds[i].fd);
			unsigned ev = f ? uf_poll_file(f, &wake) : POLLNVAL;
			fds[i].revents = (short)(ev & ((unsigned short)fds[i].events | POLLERR | POLLHUP | POLLNVAL));
			if (fds[i].revents)
				ready++;
		}
		if (ready || uf_time_monotonic_ns() >= deadline)
			return ready;
		uf_time_wait_until(wake);
		long r = uf_signal_wait_point_norestart();
		if (r)
			return r;
	}
}

long uf_sys_poll(struct pollfd *fds, unsigned long n, int timeout_ms)
{
	uint64_t deadline = UINT64_MAX;
	if (timeout_ms >= 0)
		uf_poll_deadline(timeout_ms / 1000, timeout_ms % 1000 * 1000000L, &deadline);
	return do_poll(fds, n, deadline);
}

/* ts is {seconds, nanoseconds} as two longs; sigmask (size bytes, the kernel's 8) the mask while waiting. */
long uf_sys_ppoll(struct pollfd *fds, unsigned long n, const long *ts, const void *sigmask, unsigned long size)
{
	uint64_t deadline = UINT64_MAX;
	if (ts) {
		int r = uf_poll_deadline(ts[0], ts[1], &deadline);
		if (r < 0)
			return r;
	}
	if (!sigmask)
		return do_poll(fds, n, deadline);
	if (size != sizeof(uint64_t))
		return -EINVAL;
	uf_signal_mask_swap(sigmask);
	long r = do_poll(fds, n, deadline);
	uf_signal_mask_restore();
	return r;
}

#define SELECT_READ (POLLIN | POLLHUP | POLLERR)
#define SELECT_WRITE (POLLOUT | POLLERR)
#define SELECT_EXCEPT POLLPRI

long uf_poll_select(int n, fd_set *r, fd_set *w, fd_set *e, uint64_t deadline)
{
	if (n < 0 || n > FD_SETSIZE)
		return -EINVAL;
	fd_set want_r, want_w, want_e;
	FD_ZERO(&want_r);
	FD_ZERO(&want_w);
	FD_ZERO(&want_e);
	for (int fd = 0; fd < n; fd++) {
		int any = (r && FD_ISSET(fd, r)) || (w && FD_ISSET(fd, w)) || (e && FD_ISSET(fd, e));
		if (any && !uf_fd_get(fd))
			return -EBADF;
		if (r && FD_ISSET(fd, r))
			FD_SET(fd, &want_r);
		if (w && FD_ISSET(fd, w))
			FD_SET(fd, &want_w);
		if (e && FD_ISSET(fd, e))
			FD_SET(fd, &want_e);
	}
	for (;;) {
		unsigned long long wake = deadline;
		long ready = 0;
		uf_poll_scan_start(&wake);
		for (int fd = 0; fd < n; fd++) {
			int wr = FD_ISSET(fd, &want_r), ww = FD_ISSET(fd, &want_w), we = FD_ISSET(fd, &want_e);
			if (!wr && !ww && !we)
				continue;
			unsigned ev = uf_poll_file(uf_fd_get(fd), &wake);
			if (r && wr && !(ev & SELECT_READ))
				FD_CLR(fd, r);
			if (w && ww && !(ev & SELECT_WRITE))
				FD_CLR(fd, w);
			if (e && we && !(ev & SELECT_EXCEPT))
				FD_CLR(fd, e);
			ready += (wr && (ev & SELECT_READ)) + (ww && (ev & SELECT_WRITE)) + (we && (ev & SELECT_EXCEPT));
		}
		if (ready || uf_time_monotonic_ns() >= deadline)
			return ready;
		/* Nothing ready: the sets are back to what was asked, for the next round. */
		for (int fd = 0; fd < n; fd++) {
			if (r && FD_ISSET(fd, &want_r))
				FD_SET(fd, r);
			if (w && FD_ISSET(fd, &want_w))
				FD_SET(fd, w);
			if (e && FD_ISSET(fd, &want_e))
				FD_SET(fd, e);
		}
		uf_time_wait_until(wake);
		long res = uf_signal_wait_point_norestart();
		if (res)
			return res;
	}
}

/* The sixth argument is {the mask while waiting (or NULL), its size}. */
long uf_sys_pselect6(int n, fd_set *r, fd_set *w, fd_set *e, const long *ts, const unsigned long *sigmask)
{
	uint64_t deadline = UINT64_MAX;
	if (ts) {
		int res = uf_poll_deadline(ts[0], ts[1], &deadline);
		if (res < 0)
			return res;
	}
	if (!sigmask || !sigmask[0])
		return uf_poll_select(n, r, w, e, deadline);
	if (sigmask[1] != sizeof(uint64_t))
		return -EINVAL;
	uf_signal_mask_swap((const void *)sigmask[0]);
	long res = uf_poll_select(n, r, w, e, deadline);
	uf_signal_mask_restore();
	return res;
}

/* timerfd: a timer whose expirations a read counts. The timer keeps its next expiry on the monotonic clock (a
 * wall-clock deadline is turned into one: nothing moves the wall clock here) and counts the expirations that
 * passed whenever it is looked at; poll/select/epoll learn from its poll operation when to look again, and a
 * blocking read waits until the next expiry with uf_fd_wait (uf/fd.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <uf/fd.h>
#include <uf/time.h>
#include "timerfd_io.h"

#define NSEC 1000000000ULL

struct timerfd {
	int realtime;           /* CLOCK_REALTIME(_ALARM): an absolute time is on the wall clock */
	uint64_t next;          /* monotonic ns of the next expiry; 0: disarmed */
	uint64_t interval;      /* ns; 0: one-shot */
	uint64_t expirations;   /* since the last read or settime */
};

static const struct uf_file_ops timerfd_ops;

long uf_sys_timerfd_create(int clock, int flags)
{
	if (flags & ~(TFD_NONBLOCK | TFD_CLOEXEC))
		return -EINVAL;
	if (clock != CLOCK_REALTIME && clock != CLOCK_MONOTONIC && clock != CLOCK_BOOTTIME &&
	    clock != CLOCK_REALTIME_ALARM && clock != CLOCK_BOOTTIME_ALARM)
		return -EINVAL;
	struct timerfd *t = calloc(1, sizeof *t);
	if (!t)
		return -ENOMEM;
	t->realtime = clock == CLOCK_REALTIME || clock == CLOCK_REALTIME_ALARM;
	int fd = uf_fd_install(&timerfd_ops, t, O_RDWR | (flags & TFD_NONBLOCK ? O_NONBLOCK : 0));
	if (fd < 0) {
		free(t);
		return fd;
	}
	if (flags & TFD_CLOEXEC)
		uf_fd_get(fd)->fd_flags = FD_CLOEXEC;
	return fd;
}

/* Counts the expirations that passed by now (a wake-up for epoll, as each expiry is on Linux). */
static void update(struct uf_file *f, struct timerfd *t, uint64_t now)
{
	if (!t->next || now < t->next)
		return;
	uf_fd_wake(f);
	if (!t->interval) {
		t->expirations++;
		t->next = 0;
		return;
	}
	uint64_t n = (now - t->next) / t->interval + 1;
	t->expirations += n;
	t->next += n * t->interval;
}

static struct uf_file *timer_of(int fd, long *err)
{
	struct uf_file *f = uf_fd_get(fd);
	*err = !f ? -EBADF : f->ops != &timerfd_ops ? -EINVAL : 0;
	return *err ? 0 : f;
}

static int to_ns(const struct timespec *ts, uint64_t *ns)
{
	if (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= (long)NSEC)
		return -EINVAL;
	*ns = (uint64_t)ts->tv_sec > (UINT64_MAX >> 1) / NSEC ? UINT64_MAX >> 1 : ts->tv_sec * NSEC + ts->tv_nsec;
	return 0;
}

static struct timespec from_ns(uint64_t ns)
{
	return (struct timespec){ .tv_sec = (time_t)(ns / NSEC), .tv_nsec = (long)(ns % NSEC) };
}

long uf_timerfd_gettime(int fd, struct itimerspec *cur)
{
	long err;
	struct uf_file *f = timer_of(fd, &err);
	if (!f)
		return err;
	struct timerfd *t = f->priv;
	uint64_t now = uf_time_monotonic_ns();
	update(f, t, now);
	cur->it_interval = from_ns(t->interval);
	cur->it_value = from_ns(t->next ? t->next - now : 0);
	return 0;
}

long uf_timerfd_settime(int fd, int flags, const struct itimerspec *new, struct itimerspec *old)
{
	long err;
	uint64_t value, interval;
	struct uf_file *f = timer_of(fd, &err);
	if (!f)
		return err;
	struct timerfd *t = f->priv;
	if (flags & ~(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET))
		return -EINVAL;
	if ((err = to_ns(&new->it_value, &value)) || (err = to_ns(&new->it_interval, &interval)))
		return err;
	if (old)
		uf_timerfd_gettime(fd, old);
	uint64_t now = uf_time_monotonic_ns();
	t->expirations = 0;
	t->interval = interval;
	if (!value) {
		t->next = 0;
	} else if (!(flags & TFD_TIMER_ABSTIME)) {
		t->next = now + value;
	} else {
		/* On the timer's clock; a time already past counts its expirations from then, as Linux does. */
		uint64_t offset = t->realtime ? uf_time_realtime_ns() - now : 0;
		t->next = value > offset ? value - offset : 1;
	}
	uf_thread_wake_waiters();       /* a reader in another thread waits for the old time */
	return 0;
}

static ssize_t timerfd_read(struct uf_file *f, void *buf, size_t len)
{
	struct timerfd *t = f->priv;
	if (len < sizeof(uint64_t))
		return -EINVAL;
	for (;;) {
		update(f, t, uf_time_monotonic_ns());
		if (t->expirations) {
			memcpy(buf, &t->expirations, sizeof t->expirations);
			t->expirations = 0;
			return sizeof(uint64_t);
		}
		if (f->flags & O_NONBLOCK)
			return -EAGAIN;
		/* -EAGAIN here means the expiry came: count it above. */
		if (uf_fd_wait(0, t->next ? t->next : UINT64_MAX, 1) == -EINTR)
			return -EINTR;
	}
}

static ssize_t timerfd_write(struct uf_file *f, const void *buf, size_t len)
{
	(void)f, (void)buf, (void)len;
	return -EINVAL;
}

static unsigned timerfd_poll(struct uf_file *f, unsigned long long *wake_ns)
{
	struct timerfd *t = f->priv;
	update(f, t, uf_time_monotonic_ns());
	if (t->next && t->next < *wake_ns)
		*wake_ns = t->next;
	return t->expirations ? POLLIN : 0;
}

static int timerfd_close(struct uf_file *f)
{
	free(f->priv);
	return 0;
}

static int timerfd_fstat(struct uf_file *f, struct stat *st)
{
	(void)f;
	*st = (struct stat){ .st_mode = 0600, .st_nlink = 1, .st_blksize = 4096 };    /* an anonymous inode */
	return 0;
}

static const struct uf_file_ops timerfd_ops = {
	.read = timerfd_read,
	.write = timerfd_write,
	.close = timerfd_close,
	.fstat = timerfd_fstat,
	.poll = timerfd_poll,
};

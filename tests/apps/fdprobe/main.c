/* Descriptors without the network (tests/integration/test_descriptors.py): pipes, socketpairs, eventfd, timerfd,
 * sendfile, copy_file_range, dup3/F_DUPFD_CLOEXEC, RLIMIT_NOFILE, readv/writev, under poll, select and epoll (level and edge
 * triggered). It calls no socket(), so its image must not link the TCP/IP stack.
 *
 * argv: scenario names (all of them without arguments). Each scenario prints "NAME: key=value ..." lines that
 * the test checks, then "NAME: ok" or "NAME: FAIL why". Exit status: the number of failed scenarios. */
#define _GNU_SOURCE             /* copy_file_range */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static const char *scenario;
static int failed;

#define CHECK(cond, ...) do { if (!(cond)) { fail(__VA_ARGS__); return; } } while (0)

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
	char why[256];
	__builtin_va_list ap;
	__builtin_va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	__builtin_va_end(ap);
	printf("%s: FAIL %s (errno %s)\n", scenario, why, strerror(errno));
	failed++;
}

static const char *errname(int e)
{
	switch (e) {
	case 0: return "0";
	case EAGAIN: return "EAGAIN";
	case EPIPE: return "EPIPE";
	case EINVAL: return "EINVAL";
	case EBADF: return "EBADF";
	case ESPIPE: return "ESPIPE";
	case ECONNREFUSED: return "ECONNREFUSED";
	case ECONNRESET: return "ECONNRESET";
	case ENOTCONN: return "ENOTCONN";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case EMFILE: return "EMFILE";
	case EPERM: return "EPERM";
	}
	return strerror(e);
}

static uint64_t now_ns(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
}

/* The test's byte stream: byte i of it, and FNV-1a over a stream, which the host computes the same way. */
static unsigned char pattern(uint64_t i)
{
	return (unsigned char)(i * 7 + i / 251);
}

static uint64_t fnv(uint64_t h, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

#define FNV_START 0xcbf29ce484222325ULL

static void set_nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* ---- producer and consumer in one process, driven by poll, select or epoll ---- */

enum driver { POLL, SELECT, EPOLL_LT, EPOLL_ET };

struct flow {
	int wfd, rfd;
	uint64_t total, sent, got, hash;
	int max_fill, rounds, eof, writer_open;
};

/* Writes until the descriptor is full (EAGAIN) or everything is sent; then closes the write end. */
static int produce(struct flow *fl)
{
	unsigned char buf[10000];
	while (fl->sent < fl->total) {
		size_t n = fl->total - fl->sent < sizeof buf ? fl->total - fl->sent : sizeof buf;
		for (size_t i = 0; i < n; i++)
			buf[i] = pattern(fl->sent + i);
		ssize_t w = write(fl->wfd, buf, n);
		if (w < 0)
			return errno == EAGAIN ? 0 : -1;
		fl->sent += w;
	}
	close(fl->wfd);
	fl->writer_open = 0;
	return 0;
}

/* Reads until the descriptor is empty (EAGAIN) or at its end, checking the bytes. */
static int consume(struct flow *fl)
{
	unsigned char buf[3000];
	int queued = 0;
	if (ioctl(fl->rfd, FIONREAD, &queued) == 0 && queued > fl->max_fill)
		fl->max_fill = queued;
	for (;;) {
		ssize_t r = read(fl->rfd, buf, sizeof buf);
		if (r < 0)
			return errno == EAGAIN ? 0 : -1;
		if (r == 0) {
			fl->eof = 1;
			return 0;
		}
		for (ssize_t i = 0; i < r; i++)
			if (buf[i] != pattern(fl->got + i))
				return errno = EILSEQ, -1;
		fl->hash = fnv(fl->hash, buf, r);
		fl->got += r;
	}
}

static int wait_ready(enum driver d, int ep, struct flow *fl, int *can_write, int *can_read)
{
	*can_write = *can_read = 0;
	if (d == POLL) {
		struct pollfd p[2] = { { fl->rfd, POLLIN, 0 }, { fl->writer_open ? fl->wfd : -1, POLLOUT, 0 } };
		if (poll(p, 2, 5000) <= 0)
			return -1;
		*can_read = !!(p[0].revents & (POLLIN | POLLHUP));
		*can_write = !!(p[1].revents & POLLOUT);
	} else if (d == SELECT) {
		fd_set r, w;
		struct timeval tv = { 5, 0 };
		FD_ZERO(&r);
		FD_ZERO(&w);
		FD_SET(fl->rfd, &r);
		if (fl->writer_open)
			FD_SET(fl->wfd, &w);
		if (select((fl->rfd > fl->wfd ? fl->rfd : fl->wfd) + 1, &r, &w, 0, &tv) <= 0)
			return -1;
		*can_read = FD_ISSET(fl->rfd, &r);
		*can_write = fl->writer_open && FD_ISSET(fl->wfd, &w);
	} else {
		struct epoll_event ev[2];
		int n = epoll_wait(ep, ev, 2, 5000);
		if (n <= 0)
			return -1;
		for (int i = 0; i < n; i++) {
			if (ev[i].data.fd == fl->rfd)
				*can_read = 1;
			else if (ev[i].events & EPOLLOUT)
				*can_write = 1;
		}
	}
	return 0;
}

static void flow(const char *name, int wfd, int rfd, uint64_t total, enum driver d)
{
	struct flow fl = { .wfd = wfd, .rfd = rfd, .total = total, .hash = FNV_START, .writer_open = 1 };
	int ep = -1;
	set_nonblock(wfd);
	set_nonblock(rfd);
	if (d == EPOLL_LT || d == EPOLL_ET) {
		unsigned et = d == EPOLL_ET ? EPOLLET : 0;
		struct epoll_event r = { .events = EPOLLIN | EPOLLRDHUP | et, .data.fd = rfd };
		struct epoll_event w = { .events = EPOLLOUT | et, .data.fd = wfd };
		ep = epoll_create1(EPOLL_CLOEXEC);
		CHECK(ep >= 0 && epoll_ctl(ep, EPOLL_CTL_ADD, rfd, &r) == 0 && epoll_ctl(ep, EPOLL_CTL_ADD, wfd, &w) == 0,
		      "epoll set-up");
	}
	while (!fl.eof) {
		int can_write, can_read;
		CHECK(wait_ready(d, ep, &fl, &can_write, &can_read) == 0, "nothing became ready after %llu bytes",
		      (unsigned long long)fl.got);
		fl.rounds++;
		if (can_write)
			CHECK(produce(&fl) == 0, "write");
		if (can_read)
			CHECK(consume(&fl) == 0, "read at byte %llu", (unsigned long long)fl.got);
	}
	if (ep >= 0)
		close(ep);
	close(rfd);
	CHECK(fl.got == total, "got %llu bytes of %llu", (unsigned long long)fl.got, (unsigned long long)total);
	printf("%s: bytes=%llu fnv=%016llx rounds=%d max_fill=%d\n", name, (unsigned long long)fl.got,
	       (unsigned long long)fl.hash, fl.rounds, fl.max_fill);
}

#define FLOW_BYTES 1000003

static void pipe_flow(enum driver d)
{
	int p[2];
	CHECK(pipe(p) == 0, "pipe");
	flow(scenario, p[1], p[0], FLOW_BYTES, d);
}

static void pair_flow(enum driver d)
{
	int s[2];
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, s) == 0, "socketpair");
	flow(scenario, s[0], s[1], FLOW_BYTES, d);
	close(s[0]);
}

static void pipe_poll(void) { pipe_flow(POLL); }
static void pipe_select(void) { pipe_flow(SELECT); }
static void pipe_epoll(void) { pipe_flow(EPOLL_LT); }
static void pipe_epoll_et(void) { pipe_flow(EPOLL_ET); }
static void pair_poll(void) { pair_flow(POLL); }
static void pair_epoll(void) { pair_flow(EPOLL_LT); }
static void pair_epoll_et(void) { pair_flow(EPOLL_ET); }

/* ---- end of file, broken pipes ---- */

static void eof(void)
{
	int p[2], s[2];
	char c;
	CHECK(pipe2(p, O_CLOEXEC) == 0, "pipe2");
	CHECK(fcntl(p[0], F_GETFD) == FD_CLOEXEC && (fcntl(p[0], F_GETFL) & O_ACCMODE) == O_RDONLY &&
	      (fcntl(p[1], F_GETFL) & O_ACCMODE) == O_WRONLY, "pipe2 flags");
	CHECK(write(p[1], "ab", 2) == 2, "write");
	close(p[1]);
	struct pollfd pf = { p[0], POLLIN, 0 };
	poll(&pf, 1, 0);
	printf("eof: pipe poll after writer closed: %s%s\n", pf.revents & POLLIN ? "POLLIN " : "",
	       pf.revents & POLLHUP ? "POLLHUP" : "");
	ssize_t a = read(p[0], &c, 1), b = read(p[0], &c, 1), z = read(p[0], &c, 1);
	printf("eof: pipe reads %zd %zd then %zd\n", a, b, z);
	errno = 0;
	printf("eof: pipe write on the read end: %zd %s\n", write(p[0], "x", 1), errname(errno));
	errno = 0;
	printf("eof: pipe lseek: %lld %s\n", (long long)lseek(p[0], 0, SEEK_SET), errname(errno));
	close(p[0]);

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, s) == 0, "socketpair");
	CHECK(write(s[0], "xy", 2) == 2, "write");
	CHECK(shutdown(s[0], SHUT_WR) == 0, "shutdown");
	struct pollfd sp = { s[1], POLLIN | POLLRDHUP, 0 };
	poll(&sp, 1, 0);
	a = read(s[1], &c, 1);
	b = read(s[1], &c, 1);
	z = read(s[1], &c, 1);
	printf("eof: socketpair after shutdown(SHUT_WR): %s%s reads %zd %zd then %zd\n",
	       sp.revents & POLLIN ? "POLLIN " : "", sp.revents & POLLRDHUP ? "POLLRDHUP" : "", a, b, z);
	CHECK(write(s[1], "back", 4) == 4 && read(s[0], &c, 1) == 1 && c == 'b', "the other direction still works");
	close(s[1]);
	errno = 0;
	ssize_t w = send(s[0], "x", 1, MSG_NOSIGNAL);
	printf("eof: socketpair send(MSG_NOSIGNAL) after the peer closed: %zd %s\n", w, errname(errno));
	close(s[0]);
}

/* A write with no reader left raises SIGPIPE, whose default action ends the program: nothing after it runs. */
static void sigpipe_default(void)
{
	int p[2];
	CHECK(pipe(p) == 0, "pipe");
	close(p[0]);
	printf("sigpipe-default: writing\n");
	fflush(stdout);
	ssize_t w = write(p[1], "x", 1);
	printf("sigpipe-default: still running after write returned %zd %s\n", w, errname(errno));
}

/* ---- PIPE_BUF ---- */

static void atomic(void)
{
	static char big[70000];
	int p[2], room;
	CHECK(pipe2(p, O_NONBLOCK) == 0, "pipe2");
	ssize_t w = write(p[1], big, sizeof big);
	printf("atomic: first write of %zu: %zd\n", sizeof big, w);
	CHECK(read(p[0], big, 100) == 100, "read 100");
	errno = 0;
	w = write(p[1], big, 4096);
	printf("atomic: write of 4096 with 100 free: %zd %s\n", w, errname(errno));
	errno = 0;
	struct iovec v[3] = { { big, 1000 }, { big, 1000 }, { big, 2096 } };
	w = writev(p[1], v, 3);
	printf("atomic: writev of 4096 with 100 free: %zd %s\n", w, errname(errno));
	w = write(p[1], big, 60);
	printf("atomic: write of 60 with 100 free: %zd\n", w);
	CHECK(read(p[0], big, 3000) == 3000, "read 3000");
	w = write(p[1], big, 5000);
	printf("atomic: write of 5000 with 3040 free: %zd\n", w);
	ioctl(p[0], FIONREAD, &room);
	printf("atomic: FIONREAD %d\n", room);
	close(p[0]);
	close(p[1]);
}

/* ---- eventfd ---- */

static void eventfd_counter(void)
{
	uint64_t v;
	int e = eventfd(5, EFD_NONBLOCK | EFD_CLOEXEC);
	CHECK(e >= 0, "eventfd");
	CHECK(fcntl(e, F_GETFD) == FD_CLOEXEC, "EFD_CLOEXEC");
	v = 3;
	CHECK(write(e, &v, 8) == 8, "write");
	CHECK(read(e, &v, 8) == 8, "read");
	printf("eventfd: 5 + 3 reads %llu\n", (unsigned long long)v);
	errno = 0;
	printf("eventfd: read at 0: %zd %s\n", read(e, &v, 8), errname(errno));
	errno = 0;
	printf("eventfd: read of 4 bytes: %zd %s\n", read(e, &v, 4), errname(errno));
	v = UINT64_MAX;
	errno = 0;
	printf("eventfd: write of 2^64-1: %zd %s\n", write(e, &v, 8), errname(errno));
	v = UINT64_MAX - 1;
	CHECK(write(e, &v, 8) == 8, "write the maximum");
	struct pollfd pf = { e, POLLIN | POLLOUT, 0 };
	poll(&pf, 1, 0);
	v = 1;
	errno = 0;
	ssize_t w = write(e, &v, 8);
	printf("eventfd: at the maximum: %s%s, write 1: %zd %s\n", pf.revents & POLLIN ? "POLLIN" : "",
	       pf.revents & POLLOUT ? " POLLOUT" : "", w, errname(errno));
	close(e);

	e = eventfd(3, EFD_SEMAPHORE | EFD_NONBLOCK);
	CHECK(e >= 0, "eventfd semaphore");
	printf("eventfd: semaphore reads");
	for (int i = 0; i < 4; i++) {
		v = 0;
		errno = 0;
		ssize_t r = read(e, &v, 8);
		printf(" %s", r == 8 ? (v == 1 ? "1" : "?") : errname(errno));
	}
	printf("\n");
	close(e);

	/* Edge-triggered: an edge when the counter becomes readable, none while it stays so untouched. */
	e = eventfd(0, EFD_NONBLOCK);
	int ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET, .data.fd = e }, out;
	CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, e, &ev) == 0, "epoll_ctl");
	int before = epoll_wait(ep, &out, 1, 0);
	v = 7;
	write(e, &v, 8);
	int edge = epoll_wait(ep, &out, 1, 0), again = epoll_wait(ep, &out, 1, 0);
	read(e, &v, 8);
	v = 1;
	write(e, &v, 8);
	int next = epoll_wait(ep, &out, 1, 0);
	printf("eventfd: epoll edge-triggered events: %d %d %d %d\n", before, edge, again, next);
	close(ep);
	close(e);
}

/* ---- timerfd ---- */

/* Expirations a timer armed at armed (first after initial, then every interval) has had by t. */
static uint64_t expected(uint64_t armed, uint64_t initial, uint64_t interval, uint64_t t)
{
	return t < armed + initial ? 0 : (t - armed - initial) / interval + 1;
}

static void timer_periodic(clockid_t clock, const char *name)
{
	const uint64_t initial = 30000000, interval = 20000000;     /* ns */
	int t = timerfd_create(clock, TFD_CLOEXEC);
	CHECK(t >= 0, "timerfd_create");
	struct itimerspec its = { .it_interval = { 0, (long)interval }, .it_value = { 0, (long)initial } };
	uint64_t armed_before = now_ns(CLOCK_MONOTONIC);
	CHECK(timerfd_settime(t, 0, &its, 0) == 0, "settime");
	uint64_t armed_after = now_ns(CLOCK_MONOTONIC);
	/* Blocking reads: each waits for the next expiry. */
	uint64_t total = 0, n;
	for (int i = 0; i < 3; i++) {
		CHECK(read(t, &n, 8) == 8 && n >= 1, "blocking read");
		total += n;
	}
	/* Then a sleep of 9 intervals, and one read that counts what passed meanwhile. */
	struct timespec nap = { 0, 9 * (long)interval };
	nanosleep(&nap, 0);
	uint64_t read_before = now_ns(CLOCK_MONOTONIC);
	CHECK(read(t, &n, 8) == 8, "read after sleeping");
	uint64_t read_after = now_ns(CLOCK_MONOTONIC);
	total += n;
	uint64_t low = expected(armed_after, initial, interval, read_before);
	uint64_t high = expected(armed_before, initial, interval, read_after);
	printf("%s: expirations=%llu expected from %llu to %llu (elapsed %llu ns)\n", name, (unsigned long long)total,
	       (unsigned long long)low, (unsigned long long)high, (unsigned long long)(read_after - armed_before));
	struct itimerspec cur;
	CHECK(timerfd_gettime(t, &cur) == 0, "gettime");
	printf("%s: gettime interval=%lld.%09ld value within interval: %s\n", name, (long long)cur.it_interval.tv_sec,
	       cur.it_interval.tv_nsec, cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec > 0 &&
	       (uint64_t)cur.it_value.tv_nsec <= interval ? "yes" : "no");
	/* Disarmed: nothing more, and a non-blocking read says EAGAIN. */
	struct itimerspec zero = { 0 }, old;
	CHECK(timerfd_settime(t, 0, &zero, &old) == 0, "disarm");
	fcntl(t, F_SETFL, O_NONBLOCK);
	errno = 0;
	ssize_t r = read(t, &n, 8);
	CHECK(timerfd_gettime(t, &cur) == 0, "gettime");
	printf("%s: disarmed: read %zd %s, value %lld.%09ld, old interval %lld.%09ld\n", name, r, errname(errno),
	       (long long)cur.it_value.tv_sec, cur.it_value.tv_nsec, (long long)old.it_interval.tv_sec,
	       old.it_interval.tv_nsec);
	close(t);
}

static void timerfd_tests(void)
{
	timer_periodic(CLOCK_MONOTONIC, "timerfd-monotonic");
	timer_periodic(CLOCK_BOOTTIME, "timerfd-boottime");
	timer_periodic(CLOCK_REALTIME, "timerfd-realtime");

	/* An absolute wall-clock time 50 ms ahead: poll with the timer wakes when it expires, not before. */
	int t = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK);
	struct timespec real;
	clock_gettime(CLOCK_REALTIME, &real);
	uint64_t at = (uint64_t)real.tv_sec * 1000000000 + real.tv_nsec + 50000000;
	struct itimerspec its = { .it_value = { (time_t)(at / 1000000000), (long)(at % 1000000000) } };
	CHECK(timerfd_settime(t, TFD_TIMER_ABSTIME, &its, 0) == 0, "settime absolute");
	struct pollfd pf = { t, POLLIN, 0 };
	int ready = poll(&pf, 1, 2000);
	uint64_t woke = now_ns(CLOCK_REALTIME), n = 0;
	read(t, &n, 8);
	printf("timerfd-absolute: poll %d, woke %s the deadline, expirations %llu\n", ready,
	       woke >= at ? "after" : "before", (unsigned long long)n);
	close(t);

	/* One in the past expires at once; a bad value or clock is EINVAL. */
	t = timerfd_create(CLOCK_MONOTONIC, 0);
	struct itimerspec past = { .it_value = { 0, 1 } };
	CHECK(timerfd_settime(t, TFD_TIMER_ABSTIME, &past, 0) == 0, "settime in the past");
	CHECK(read(t, &n, 8) == 8, "read");
	struct itimerspec bad = { .it_value = { 0, 1000000000 } };
	errno = 0;
	int r1 = timerfd_settime(t, 0, &bad, 0);
	int e1 = errno;
	errno = 0;
	int r2 = timerfd_create(12345, 0);
	printf("timerfd-errors: past expired %llu; nsec 1e9: %d %s; clock 12345: %d %s\n", (unsigned long long)n, r1,
	       errname(e1), r2, errname(errno));
	close(t);
}

/* ---- sendfile ---- */

static uint64_t drain_hash(int fd, uint64_t h, uint64_t *bytes)
{
	unsigned char buf[4096];
	ssize_t r;
	while ((r = read(fd, buf, sizeof buf)) > 0) {
		h = fnv(h, buf, r);
		*bytes += r;
	}
	return h;
}

/* The whole file through a non-blocking pipe (or socketpair): sendfile as room allows, the reader drains. */
static void sendfile_through(const char *name, int w, int r, int use_offset)
{
	int in = open("/payload.bin", O_RDONLY);
	struct stat st;
	CHECK(in >= 0 && fstat(in, &st) == 0, "open /payload.bin");
	set_nonblock(w);
	set_nonblock(r);
	off_t off = 0;
	uint64_t h = FNV_START, bytes = 0;
	int calls = 0;
	while ((use_offset ? off : lseek(in, 0, SEEK_CUR)) < st.st_size) {
		ssize_t n = sendfile(w, in, use_offset ? &off : 0, st.st_size);
		CHECK(n > 0 || errno == EAGAIN, "sendfile");
		calls++;
		h = drain_hash(r, h, &bytes);
	}
	close(w);
	h = drain_hash(r, h, &bytes);
	printf("%s: bytes=%llu fnv=%016llx calls=%d file offset=%lld\n", name, (unsigned long long)bytes,
	       (unsigned long long)h, calls, (long long)lseek(in, 0, SEEK_CUR));
	close(in);
	close(r);
}

static void sendfile_tests(void)
{
	int p[2], s[2];
	CHECK(pipe(p) == 0, "pipe");
	sendfile_through("sendfile-pipe", p[1], p[0], 0);
	CHECK(pipe(p) == 0, "pipe");
	sendfile_through("sendfile-pipe-offset", p[1], p[0], 1);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, s) == 0, "socketpair");
	sendfile_through("sendfile-socketpair", s[0], s[1], 1);

	/* A small file to the console, from an offset. */
	int in = open("/hello.txt", O_RDONLY);
	off_t off = 4;
	printf("sendfile-console: ");
	fflush(stdout);
	ssize_t n = sendfile(1, in, &off, 100);
	printf("sendfile-console: sent %zd, offset %lld\n", n, (long long)off);
	errno = 0;
	CHECK(pipe(p) == 0, "pipe");
	n = sendfile(p[1], p[0], 0, 10);
	printf("sendfile-errors: from a pipe: %zd %s\n", n, errname(errno));
	close(p[0]);
	close(p[1]);
	close(in);
}

/* copy_file_range from the embedded tree to a file on the FAT disk (the test reads it back on the host). */
static void copy_range(void)
{
	int in = open("/payload.bin", O_RDONLY), out = open("/data/copy.bin", O_RDWR | O_CREAT | O_TRUNC, 0644);
	CHECK(in >= 0 && out >= 0, "open");
	off_t in_off = 1000;
	long long total = 0;
	ssize_t n;
	int calls = 0;
	while ((n = copy_file_range(in, &in_off, out, 0, 100000, 0)) > 0) {
		total += n;
		calls++;
	}
	CHECK(n == 0, "copy_file_range");
	printf("copy-file-range: copied %lld in %d calls; source offset argument %lld, source's own %lld, "
	       "destination's own %lld\n", total, calls, (long long)in_off, (long long)lseek(in, 0, SEEK_CUR),
	       (long long)lseek(out, 0, SEEK_CUR));
	off_t out_off = 0;
	in_off = 0;
	n = copy_file_range(in, &in_off, out, &out_off, 10, 0);     /* overwrite the first 10 bytes in place */
	printf("copy-file-range: at explicit offsets: %zd, offsets now %lld %lld\n", n, (long long)in_off,
	       (long long)out_off);
	int p[2];
	CHECK(pipe(p) == 0, "pipe");
	errno = 0;
	n = copy_file_range(in, 0, p[1], 0, 10, 0);
	int pipe_errno = errno;
	errno = 0;
	ssize_t flags = copy_file_range(in, 0, out, 0, 10, 1);
	printf("copy-file-range: to a pipe: %zd %s; flags 1: %zd %s\n", n, errname(pipe_errno), flags, errname(errno));
	CHECK(fsync(out) == 0, "fsync");
	close(out);
	close(in);
	close(p[0]);
	close(p[1]);
}

/* ---- dup3, F_DUPFD_CLOEXEC ---- */

static void dup_tests(void)
{
	int p[2];
	char c;
	CHECK(pipe(p) == 0, "pipe");
	int d = fcntl(p[1], F_DUPFD_CLOEXEC, 20);
	printf("dup: F_DUPFD_CLOEXEC from 20: %d cloexec=%d\n", d, fcntl(d, F_GETFD));
	int e = dup3(p[1], 30, O_CLOEXEC);
	printf("dup: dup3 to 30: %d cloexec=%d\n", e, fcntl(e, F_GETFD));
	errno = 0;
	int same = dup3(p[1], p[1], 0);
	printf("dup: dup3 onto itself: %d %s\n", same, errname(errno));
	/* Three descriptors share the write end: the reader sees the end only when all are closed. */
	close(p[1]);
	close(d);
	struct pollfd pf = { p[0], POLLIN, 0 };
	poll(&pf, 1, 0);
	int hup_open = !!(pf.revents & POLLHUP);
	CHECK(write(e, "z", 1) == 1 && read(p[0], &c, 1) == 1 && c == 'z', "write through the copy");
	close(e);
	poll(&pf, 1, 0);
	printf("dup: hang-up with a copy open: %d, after the last close: %d, read %zd\n", hup_open,
	       !!(pf.revents & POLLHUP), read(p[0], &c, 1));
	close(p[0]);
}

/* ---- readv/writev ---- */

static void vector_tests(void)
{
	int p[2], s[2];
	char a[4], b[6], c[16];
	CHECK(pipe(p) == 0, "pipe");
	struct iovec out[3] = { { "one-", 4 }, { "two-", 4 }, { "three", 5 } };
	ssize_t w = writev(p[1], out, 3);
	struct iovec in[2] = { { a, sizeof a }, { b, sizeof b } };
	ssize_t r = readv(p[0], in, 2);
	printf("vector: pipe writev %zd readv %zd: %.4s|%.6s\n", w, r, a, b);
	close(p[0]);
	close(p[1]);

	/* A datagram socketpair: writev sends one datagram, readv takes one. */
	CHECK(socketpair(AF_UNIX, SOCK_DGRAM, 0, s) == 0, "socketpair");
	w = writev(s[0], out, 3);
	CHECK(write(s[0], "next", 4) == 4, "write");
	memset(c, 0, sizeof c);
	struct iovec in2[2] = { { c, 3 }, { c + 3, 20 } };
	r = readv(s[1], in2, 2);
	ssize_t r2 = read(s[1], c + 13, 3);
	printf("vector: datagram writev %zd readv %zd: %.13s, then read %zd: %.3s\n", w, r, c, r2, c + 13);
	close(s[0]);
	close(s[1]);

	/* eventfd through readv/writev (one 8-byte segment each). */
	int e = eventfd(0, 0);
	uint64_t v = 42, got = 0;
	struct iovec ev = { &v, 8 }, eg = { &got, 8 };
	w = writev(e, &ev, 1);
	r = readv(e, &eg, 1);
	printf("vector: eventfd writev %zd readv %zd value %llu\n", w, r, (unsigned long long)got);
	close(e);
	struct iovec con[2] = { { "vector: console ", 16 }, { "writev\n", 7 } };
	fflush(stdout);
	writev(1, con, 2);
}

/* RLIMIT_NOFILE is the descriptor table's limit: lowered, new descriptors stop below it (those already above stay);
 * raised again, they go on; its hard limit is the table's size. */
static void nofile(void)
{
	struct rlimit rl, low = { 10, 10 }, high;
	CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0, "getrlimit");
	printf("nofile: default %llu/%llu\n", (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max);
	int above = dup2(1, 12);
	CHECK(above == 12 && setrlimit(RLIMIT_NOFILE, &low) == 0, "setrlimit 10");
	int fd, highest = -1;
	while ((fd = dup(1)) >= 0)
		highest = fd;
	printf("nofile: at 10, dup until %s, highest %d\n", errname(errno), highest);
	errno = 0;
	int to_limit = dup2(1, 10);
	printf("nofile: dup2 to 10: %d %s", to_limit, errname(errno));
	errno = 0;
	int from_limit = fcntl(1, F_DUPFD, 10);
	printf(", F_DUPFD from 10: %d %s, write to 12 above it: %zd\n", from_limit, errname(errno),
	       write(above, "", 0));
	for (fd = 3; fd <= highest; fd++)
		close(fd);
	high = (struct rlimit){ rl.rlim_max + 1, rl.rlim_max + 1 };
	errno = 0;
	int raise_past = setrlimit(RLIMIT_NOFILE, &high);
	printf("nofile: past the table: %d %s", raise_past, errname(errno));
	CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0, "setrlimit back");
	printf(", back to %llu: dup2 to 40: %d\n", (unsigned long long)rl.rlim_cur, dup2(1, 40));
	close(40);
	close(above);
}

static const struct {
	const char *name;
	void (*run)(void);
	int alone;          /* not in "all": it ends the program, or needs a disk */
} scenarios[] = {
	{ "pipe-poll", pipe_poll, 0 },
	{ "pipe-select", pipe_select, 0 },
	{ "pipe-epoll", pipe_epoll, 0 },
	{ "pipe-epoll-et", pipe_epoll_et, 0 },
	{ "pair-poll", pair_poll, 0 },
	{ "pair-epoll", pair_epoll, 0 },
	{ "pair-epoll-et", pair_epoll_et, 0 },
	{ "eof", eof, 0 },
	{ "atomic", atomic, 0 },
	{ "eventfd", eventfd_counter, 0 },
	{ "timerfd", timerfd_tests, 0 },
	{ "sendfile", sendfile_tests, 0 },
	{ "dup", dup_tests, 0 },
	{ "vector", vector_tests, 0 },
	{ "nofile", nofile, 0 },
	{ "copy-file-range", copy_range, 1 },        /* needs a FAT disk */
	{ "sigpipe-default", sigpipe_default, 1 },
};

static void run(const char *name)
{
	for (size_t i = 0; i < sizeof scenarios / sizeof *scenarios; i++)
		if (!strcmp(scenarios[i].name, name)) {
			int before = failed;
			scenario = name;
			scenarios[i].run();
			if (failed == before)
				printf("%s: ok\n", name);
			return;
		}
	printf("%s: FAIL no such scenario\n", name);
	failed++;
}

int main(int argc, char **argv)
{
	if (argc > 1)
		for (int i = 1; i < argc; i++)
			run(argv[i]);
	else
		for (size_t i = 0; i < sizeof scenarios / sizeof *scenarios; i++)
			if (!scenarios[i].alone)
				run(scenarios[i].name);
	printf("failures %d\n", failed);
	return failed;
}

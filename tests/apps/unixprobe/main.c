/* AF_UNIX sockets (tests/integration/test_descriptors.py): stream echo through a path name and an abstract name,
 * datagram and seqpacket message boundaries, SCM_RIGHTS, SO_PEERCRED, and the errors Linux gives.
 *
 * argv: scenario names (all of them without arguments). Each scenario prints "NAME: ..." lines that the test
 * checks, then "NAME: ok" or "NAME: FAIL why". Exit status: the number of failed scenarios. */
#define _GNU_SOURCE             /* struct ucred */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
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
	case ENOENT: return "ENOENT";
	case EADDRINUSE: return "EADDRINUSE";
	case ECONNREFUSED: return "ECONNREFUSED";
	case ECONNRESET: return "ECONNRESET";
	case EPROTOTYPE: return "EPROTOTYPE";
	case EISCONN: return "EISCONN";
	case ENOTCONN: return "ENOTCONN";
	case EPERM: return "EPERM";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case ESOCKTNOSUPPORT: return "ESOCKTNOSUPPORT";
	case EAFNOSUPPORT: return "EAFNOSUPPORT";
	case ENOTSOCK: return "ENOTSOCK";
	case EBADF: return "EBADF";
	}
	return strerror(e);
}

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

/* An address for a path, or for an abstract name when name starts with '@' (the NUL goes there). */
static socklen_t address(struct sockaddr_un *a, const char *name)
{
	memset(a, 0, sizeof *a);
	a->sun_family = AF_UNIX;
	size_t n = strlen(name);
	memcpy(a->sun_path, name, n);
	if (name[0] == '@') {
		a->sun_path[0] = 0;
		return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	}
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
}

/* A name as the test prints it: '@' for the abstract NUL, "(unnamed)" for the family alone. */
static const char *shown(const struct sockaddr_un *a, socklen_t len)
{
	static char out[120];
	size_t n = len > offsetof(struct sockaddr_un, sun_path) ? len - offsetof(struct sockaddr_un, sun_path) : 0;
	if (!n)
		return "(unnamed)";
	memcpy(out, a->sun_path, n);
	out[n] = 0;
	if (!out[0])
		out[0] = '@';
	return out;
}

static void set_nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* ---- stream echo ---- */

#define ECHO_BYTES 1000003

/* The client sends ECHO_BYTES; the server's accepted socket echoes them back (reading a chunk, then writing it
 * all back before it reads again); everything non-blocking, driven by poll. */
static int echo(int client, int conn, uint64_t *hash)
{
	unsigned char buf[7000], back[5000];
	uint64_t sent = 0, got = 0;
	size_t pending = 0;             /* bytes the server read and has not written back yet */
	set_nonblock(client);
	set_nonblock(conn);
	*hash = 0xcbf29ce484222325ULL;
	while (got < ECHO_BYTES) {
		struct pollfd p[2] = { { client, POLLIN | (sent < ECHO_BYTES ? POLLOUT : 0), 0 },
				       { conn, pending ? POLLOUT : POLLIN, 0 } };
		if (poll(p, 2, 5000) <= 0)
			return -1;
		if (p[0].revents & POLLOUT) {
			size_t n = ECHO_BYTES - sent < sizeof buf ? ECHO_BYTES - sent : sizeof buf;
			for (size_t i = 0; i < n; i++)
				buf[i] = pattern(sent + i);
			ssize_t w = write(client, buf, n);
			if (w < 0 && errno != EAGAIN)
				return -1;
			sent += w > 0 ? w : 0;
		}
		if (p[1].revents & POLLIN) {
			ssize_t r = read(conn, back, sizeof back);
			if (r < 0 && errno != EAGAIN)
				return -1;
			pending = r > 0 ? r : 0;
		} else if (p[1].revents & POLLOUT) {
			ssize_t w = write(conn, back, pending);
			if (w < 0 && errno != EAGAIN)
				return -1;
			if (w > 0) {
				memmove(back, back + w, pending - w);
				pending -= w;
			}
		}
		if (p[0].revents & POLLIN) {
			ssize_t r = read(client, buf, sizeof buf);
			if (r < 0 && errno != EAGAIN)
				return -1;
			for (ssize_t i = 0; i < r; i++)
				if (buf[i] != pattern(got + i))
					return errno = EILSEQ, -1;
			if (r > 0) {
				*hash = fnv(*hash, buf, r);
				got += r;
			}
		}
	}
	return 0;
}

static void stream_echo(const char *name)
{
	struct sockaddr_un a, b;
	socklen_t alen = address(&a, name), blen;
	int srv = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(srv >= 0 && bind(srv, (struct sockaddr *)&a, alen) == 0 && listen(srv, 4) == 0, "server");
	int cli = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(connect(cli, (struct sockaddr *)&a, alen) == 0, "connect");
	int conn = accept4(srv, (struct sockaddr *)&b, &(socklen_t){ sizeof b }, SOCK_CLOEXEC);
	CHECK(conn >= 0, "accept");
	blen = sizeof b;
	getsockname(conn, (struct sockaddr *)&b, &blen);
	printf("%s: accepted socket's name %s (length %u)\n", scenario, shown(&b, blen), blen);
	blen = sizeof b;
	getpeername(cli, (struct sockaddr *)&b, &blen);
	printf("%s: client's peer %s (length %u, bound with %u)\n", scenario, shown(&b, blen), blen, alen);
	blen = sizeof b;
	getpeername(conn, (struct sockaddr *)&b, &blen);
	printf("%s: server's peer %s\n", scenario, shown(&b, blen));
	struct ucred cred;
	socklen_t clen = sizeof cred;
	CHECK(getsockopt(cli, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0, "SO_PEERCRED");
	printf("%s: SO_PEERCRED pid=%d uid=%u gid=%u (getpid %d)\n", scenario, cred.pid, cred.uid, cred.gid, getpid());
	uint64_t hash;
	CHECK(echo(cli, conn, &hash) == 0, "echo");
	printf("%s: echoed bytes=%d fnv=%016llx\n", scenario, ECHO_BYTES, (unsigned long long)hash);

	int again = socket(AF_UNIX, SOCK_STREAM, 0);
	errno = 0;
	printf("%s: second bind: %d %s\n", scenario, bind(again, (struct sockaddr *)&a, alen), errname(errno));
	/* The client closes with data unread by the server: the server reads it, then the end. */
	CHECK(write(cli, "bye", 3) == 3, "write");
	close(cli);
	char c[8];
	ssize_t r1 = read(conn, c, sizeof c), r2 = read(conn, c, sizeof c);
	errno = 0;
	ssize_t w = send(conn, "x", 1, MSG_NOSIGNAL);
	printf("%s: after the client closed: read %zd then %zd, send %zd %s\n", scenario, r1, r2, w, errname(errno));
	close(conn);
	close(srv);
	errno = 0;
	int cli2 = socket(AF_UNIX, SOCK_STREAM, 0);
	printf("%s: connect after the listener closed: %d %s; bind again: %d\n", scenario,
	       connect(cli2, (struct sockaddr *)&a, alen), errname(errno), bind(again, (struct sockaddr *)&a, alen));
	close(cli2);
	close(again);
}

static void stream_path(void) { stream_echo("/echo.sock"); }
static void stream_abstract(void) { stream_echo("@uniforge-echo"); }

/* ---- datagrams ---- */

static void dgram(void)
{
	struct sockaddr_un a, c, from;
	socklen_t alen = address(&a, "/dgram.sock"), clen = address(&c, "@client"), flen;
	int srv = socket(AF_UNIX, SOCK_DGRAM, 0), cli = socket(AF_UNIX, SOCK_DGRAM, 0), anon = socket(AF_UNIX, SOCK_DGRAM, 0);
	CHECK(bind(srv, (struct sockaddr *)&a, alen) == 0 && bind(cli, (struct sockaddr *)&c, clen) == 0, "bind");
	static unsigned char big[60000], in[70000];
	for (size_t i = 0; i < sizeof big; i++)
		big[i] = pattern(i);
	size_t sizes[] = { 1, 1000, 0, sizeof big };
	for (int i = 0; i < 4; i++)
		CHECK(sendto(cli, big, sizes[i], 0, (struct sockaddr *)&a, alen) == (ssize_t)sizes[i], "sendto");
	CHECK(sendto(anon, "anon", 4, 0, (struct sockaddr *)&a, alen) == 4, "sendto from an unbound socket");
	printf("dgram: received");
	for (int i = 0; i < 5; i++) {
		flen = sizeof from;
		ssize_t r = recvfrom(srv, in, sizeof in, 0, (struct sockaddr *)&from, &flen);
		int same = r >= 0 && i < 4 ? !memcmp(in, big, r) : r == 4 && !memcmp(in, "anon", 4);
		printf(" %zd%s from %s;", r, same ? "" : " (wrong bytes)", shown(&from, flen));
	}
	printf("\n");
	/* A short buffer: the rest of the datagram is gone; MSG_TRUNC says so, or asks for the real length. */
	CHECK(sendto(cli, big, 500, 0, (struct sockaddr *)&a, alen) == 500, "sendto");
	CHECK(sendto(cli, big, 700, 0, (struct sockaddr *)&a, alen) == 700, "sendto");
	struct iovec v = { in, 10 };
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1 };
	ssize_t r1 = recvmsg(srv, &m, 0);
	ssize_t r2 = recv(srv, in, 10, MSG_TRUNC);
	printf("dgram: short buffer: %zd%s, with MSG_TRUNC: %zd\n", r1, m.msg_flags & MSG_TRUNC ? " MSG_TRUNC" : "", r2);
	/* Connected: send() goes to the server, which now takes datagrams from the client only. */
	CHECK(connect(cli, (struct sockaddr *)&a, alen) == 0 && connect(srv, (struct sockaddr *)&c, clen) == 0,
	      "connect");
	CHECK(send(cli, "hi", 2, 0) == 2 && recv(srv, in, sizeof in, 0) == 2, "send on a connected socket");
	errno = 0;
	ssize_t third = sendto(anon, "x", 1, 0, (struct sockaddr *)&a, alen);
	printf("dgram: a third socket to the connected server: %zd %s\n", third, errname(errno));
	close(srv);
	errno = 0;
	ssize_t gone = send(cli, "x", 1, 0);
	int gone_errno = errno;
	errno = 0;
	ssize_t nobody = sendto(anon, "x", 1, 0, (struct sockaddr *)&a, alen);
	printf("dgram: after the server closed: send %zd %s, sendto its path %zd %s\n", gone, errname(gone_errno),
	       nobody, errname(errno));
	close(cli);
	close(anon);

	int s[2];
	CHECK(socketpair(AF_UNIX, SOCK_DGRAM, 0, s) == 0, "socketpair");
	for (int i = 1; i <= 3; i++)
		CHECK(send(s[0], big, i * 100, 0) == i * 100, "send");
	printf("dgram: socketpair sizes");
	for (int i = 0; i < 3; i++)
		printf(" %zd", recv(s[1], in, sizeof in, 0));
	printf("\n");
	close(s[0]);
	close(s[1]);
}

/* ---- seqpacket ---- */

static void seqpacket(void)
{
	struct sockaddr_un a;
	socklen_t alen = address(&a, "@seq");
	int srv = socket(AF_UNIX, SOCK_SEQPACKET, 0), cli = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	CHECK(bind(srv, (struct sockaddr *)&a, alen) == 0 && listen(srv, 1) == 0, "server");
	CHECK(connect(cli, (struct sockaddr *)&a, alen) == 0, "connect");
	int conn = accept(srv, 0, 0);
	CHECK(conn >= 0, "accept");
	static char big[5000], in[6000];
	CHECK(send(cli, "first", 5, 0) == 5 && send(cli, big, sizeof big, 0) == sizeof big &&
	      send(cli, "third", 5, 0) == 5, "send");
	ssize_t r1 = recv(conn, in, sizeof in, 0), r2 = recv(conn, in, 100, 0), r3 = recv(conn, in, sizeof in, 0);
	printf("seqpacket: records %zd %zd(of 5000) %zd: %.5s\n", r1, r2, r3, in);
	close(cli);
	ssize_t end = recv(conn, in, sizeof in, 0);
	printf("seqpacket: after the peer closed: %zd\n", end);
	close(conn);
	close(srv);
}

/* ---- SCM_RIGHTS ---- */

static int send_fds(int sock, const int *fds, int n)
{
	char data = 'F';
	struct iovec v = { &data, 1 };
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(4 * sizeof(int))];
	} control;
	memset(&control, 0, sizeof control);
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1, .msg_control = control.buf,
			    .msg_controllen = CMSG_SPACE(n * sizeof(int)) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(n * sizeof(int));
	memcpy(CMSG_DATA(c), fds, n * sizeof(int));
	return sendmsg(sock, &m, 0) == 1 ? 0 : -1;
}

/* Receives one byte and up to room descriptors: how many arrived; *truncated says MSG_CTRUNC. */
static int recv_fds(int sock, int *fds, int room, int flags, int *truncated)
{
	char data;
	struct iovec v = { &data, 1 };
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(4 * sizeof(int))];
	} control;
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1, .msg_control = control.buf,
			    .msg_controllen = CMSG_LEN(room * sizeof(int)) };
	if (recvmsg(sock, &m, flags) != 1)
		return -1;
	*truncated = !!(m.msg_flags & MSG_CTRUNC);
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	if (!c || c->cmsg_type != SCM_RIGHTS)
		return 0;
	int n = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
	memcpy(fds, CMSG_DATA(c), n * sizeof(int));
	return n;
}

static void rights(void)
{
	int s[2], p[2], q[2], got[4], trunc;
	char buf[16];
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, s) == 0 && pipe(p) == 0 && pipe(q) == 0, "set-up");
	CHECK(send_fds(s[0], &p[0], 1) == 0, "sendmsg SCM_RIGHTS");
	close(p[0]);                    /* the message holds the read end meanwhile */
	int n = recv_fds(s[1], got, 1, MSG_CMSG_CLOEXEC, &trunc);
	CHECK(n == 1, "recvmsg: %d descriptors", n);
	CHECK(write(p[1], "through", 7) == 7, "write");
	ssize_t r = read(got[0], buf, sizeof buf);
	printf("rights: received descriptor reads %zd: %.7s (cloexec=%d)\n", r, buf, fcntl(got[0], F_GETFD));
	close(got[0]);
	int two[2] = { q[0], q[1] };
	CHECK(send_fds(s[0], two, 2) == 0, "sendmsg two");
	n = recv_fds(s[1], got, 1, 0, &trunc);
	printf("rights: two sent, room for one: received %d%s\n", n, trunc ? " MSG_CTRUNC" : "");
	errno = 0;
	int bad = 99;
	printf("rights: sending a closed descriptor: %d %s\n", send_fds(s[0], &bad, 1), errname(errno));
	close(s[0]);
	close(s[1]);
}

/* ---- errors ---- */

static void errors(void)
{
	int s[2];
	struct sockaddr_un a;
	socklen_t alen = address(&a, "/missing.sock");
	int st = socket(AF_UNIX, SOCK_STREAM, 0), dg = socket(AF_UNIX, SOCK_DGRAM, 0);
	errno = 0;
	printf("errors: connect to a missing path: %d %s\n", connect(st, (struct sockaddr *)&a, alen), errname(errno));
	alen = address(&a, "@missing");
	errno = 0;
	printf("errors: connect to a missing abstract name: %d %s\n", connect(st, (struct sockaddr *)&a, alen),
	       errname(errno));
	errno = 0;
	printf("errors: listen unbound: %d %s\n", listen(st, 1), errname(errno));
	errno = 0;
	printf("errors: accept on a socket not listening: %d %s\n", accept(st, 0, 0), errname(errno));
	errno = 0;
	printf("errors: recv unconnected stream: %zd %s\n", recv(st, &a, 1, MSG_DONTWAIT), errname(errno));
	errno = 0;
	printf("errors: send unconnected stream: %zd %s\n", send(st, "x", 1, MSG_NOSIGNAL), errname(errno));
	errno = 0;
	printf("errors: send unconnected datagram: %zd %s\n", send(dg, "x", 1, 0), errname(errno));
	alen = address(&a, "/stream.sock");
	int l = socket(AF_UNIX, SOCK_STREAM, 0);
	bind(l, (struct sockaddr *)&a, alen);
	listen(l, 1);
	errno = 0;
	printf("errors: datagram connect to a stream listener: %d %s\n", connect(dg, (struct sockaddr *)&a, alen),
	       errname(errno));
	errno = 0;
	printf("errors: socket type SOCK_RDM: %d %s\n", socket(AF_UNIX, SOCK_RDM, 0), errname(errno));
	errno = 0;
	printf("errors: socketpair AF_INET: %d %s\n", socketpair(AF_INET, SOCK_STREAM, 0, s), errname(errno));
	errno = 0;
	printf("errors: bind on a pipe: %d %s\n", (pipe(s), bind(s[0], (struct sockaddr *)&a, alen)), errname(errno));
	int type = 0, acc = 0;
	socklen_t tl = sizeof type, al = sizeof acc;
	getsockopt(dg, SOL_SOCKET, SO_TYPE, &type, &tl);
	getsockopt(l, SOL_SOCKET, SO_ACCEPTCONN, &acc, &al);
	struct sockaddr_un auto_name;
	socklen_t nlen = sizeof auto_name;
	int ab = socket(AF_UNIX, SOCK_DGRAM, 0);
	bind(ab, (struct sockaddr *)&(struct sockaddr_un){ .sun_family = AF_UNIX }, sizeof(sa_family_t));
	getsockname(ab, (struct sockaddr *)&auto_name, &nlen);
	printf("errors: SO_TYPE %d, SO_ACCEPTCONN %d, autobind name length %u abstract %d\n", type, acc, nlen,
	       auto_name.sun_path[0] == 0);
}

static const struct {
	const char *name;
	void (*run)(void);
} scenarios[] = {
	{ "stream-path", stream_path },
	{ "stream-abstract", stream_abstract },
	{ "dgram", dgram },
	{ "seqpacket", seqpacket },
	{ "rights", rights },
	{ "errors", errors },
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
			run(scenarios[i].name);
	printf("failures %d\n", failed);
	return failed;
}

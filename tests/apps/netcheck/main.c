/* Exercises the stack against peers the test runs on the host (reached through QEMU user networking's host
 * address 10.0.2.2): a UDP echo, a TCP upload echoed back (guest connects out), then a TCP server the host
 * connects to through a forwarded port. With -6, the same UDP echo and upload over IPv6 to the host's other pair
 * of peers (fec0::2 is the host's ::1), once the router's advertisement gave an address. Prints one line per step;
 * exits 0 only if every step checked out.
 *
 *     netcheck [-6 UDP6_PORT,TCP6_PORT] UDP_PORT TCP_PORT LISTEN_PORT [NAME] */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define HOST "10.0.2.2"
#define HOST6 "fec0::2"
#define UPLOAD (1 << 20)

static struct sockaddr_in addr_of(const char *ip, int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	inet_pton(AF_INET, ip, &a.sin_addr);
	return a;
}

static int fail(const char *what)
{
	perror(what);
	return 1;
}

static int udp_step(int port)
{
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	struct timeval tv = { .tv_sec = 1 };
	struct sockaddr_in to = addr_of(HOST, port), from;
	char buf[256];
	if (s < 0 || setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0)
		return fail("udp socket");
	for (int attempt = 0; attempt < 5; attempt++) {
		int n = snprintf(buf, sizeof buf, "ping %d from uniforge", attempt);
		if (sendto(s, buf, n, 0, (struct sockaddr *)&to, sizeof to) != n)
			return fail("sendto");
		socklen_t len = sizeof from;
		ssize_t got = recvfrom(s, buf, sizeof buf - 1, 0, (struct sockaddr *)&from, &len);
		if (got < 0)
			continue;       /* timed out: the first datagram may wait for ARP */
		buf[got] = 0;
		printf("udp: reply \"%s\" from %s:%d\n", buf, inet_ntoa(from.sin_addr), ntohs(from.sin_port));
		close(s);
		return 0;
	}
	return fail("udp: no reply");
}

static unsigned char pattern(size_t i)
{
	return (unsigned char)(i * 7 + (i >> 9));
}

/* Connects out, sends UPLOAD bytes while reading the echo back (poll, non-blocking both ways). */
static int tcp_out_step(int port)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in to = addr_of(HOST, port);
	if (s < 0 || connect(s, (struct sockaddr *)&to, sizeof to) < 0)
		return fail("tcp connect");
	int one = 1;
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	static unsigned char out[UPLOAD], in[UPLOAD];
	for (size_t i = 0; i < UPLOAD; i++)
		out[i] = pattern(i);
	size_t sent = 0, got = 0;
	while (got < UPLOAD) {
		struct pollfd p = { .fd = s, .events = POLLIN | (sent < UPLOAD ? POLLOUT : 0) };
		if (poll(&p, 1, 10000) <= 0)
			return fail("tcp poll");
		if ((p.revents & POLLOUT) && sent < UPLOAD) {
			ssize_t n = send(s, out + sent, UPLOAD - sent > 16384 ? 16384 : UPLOAD - sent, MSG_DONTWAIT);
			if (n > 0)
				sent += n;
		}
		if (p.revents & (POLLIN | POLLHUP)) {
			ssize_t n = recv(s, in + got, UPLOAD - got, MSG_DONTWAIT);
			if (n == 0)
				break;
			if (n > 0)
				got += n;
		}
	}
	if (got != UPLOAD || memcmp(in, out, UPLOAD))
		return fail("tcp-out: echo differs");
	struct sockaddr_in me;
	socklen_t len = sizeof me;
	getsockname(s, (struct sockaddr *)&me, &len);
	printf("tcp-out: %zu bytes echoed intact (local %s:%d)\n", got, inet_ntoa(me.sin_addr), ntohs(me.sin_port));
	close(s);
	return 0;
}

/* Serves one connection: reads to end of stream, answers with the byte count and a checksum. */
static int tcp_in_step(int port)
{
	int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	struct sockaddr_in any = { .sin_family = AF_INET, .sin_port = htons(port) };
	if (l < 0 || setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    bind(l, (struct sockaddr *)&any, sizeof any) < 0 || listen(l, 4) < 0)
		return fail("listen");
	printf("tcp-in: listening on %d\n", port);
	fflush(stdout);
	/* epoll for the listener, select for the connection: both ways of waiting get used. */
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = 42 }, got;
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev) < 0)
		return fail("epoll");
	if (epoll_wait(ep, &got, 1, -1) != 1 || got.data.u32 != 42 || !(got.events & EPOLLIN))
		return fail("epoll_wait");
	close(ep);
	struct sockaddr_in peer;
	socklen_t len = sizeof peer;
	int c = accept4(l, (struct sockaddr *)&peer, &len, SOCK_NONBLOCK);
	if (c < 0)
		return fail("accept");
	static unsigned char buf[65536];
	uint32_t sum = 0;
	size_t total = 0;
	ssize_t n;
	for (;;) {
		fd_set readable;
		FD_ZERO(&readable);
		FD_SET(c, &readable);
		if (select(c + 1, &readable, 0, 0, 0) != 1)
			return fail("select");
		n = read(c, buf, sizeof buf);
		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n; i++)
			sum = sum * 31 + buf[i];
		total += n;
	}
	if (n < 0)
		return fail("read");
	fcntl(c, F_SETFL, fcntl(c, F_GETFL) & ~O_NONBLOCK);
	char reply[64];
	int m = snprintf(reply, sizeof reply, "%zu %08x\n", total, sum);
	if (write(c, reply, m) != m)
		return fail("write");
	/* Wait for the peer to close too: exiting at once would stop the machine before QEMU passed the answer on. */
	shutdown(c, SHUT_WR);
	while (read(c, buf, sizeof buf) > 0)
		continue;
	close(c);
	close(l);
	printf("tcp-in: received %zu bytes, sum %08x\n", total, sum);
	return 0;
}

/* getaddrinfo through musl's resolver, for the name's A and AAAA records: with no /etc/resolv.conf it asks
 * 127.0.0.1:53, which the stack forwards to the DNS server it learned. */
static int dns_step(const char *name)
{
	struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM }, *res;
	int r = getaddrinfo(name, "80", &hints, &res);
	if (r) {
		fprintf(stderr, "dns: %s: %s\n", name, gai_strerror(r));
		return 1;
	}
	printf("dns: %s is %s\n", name, inet_ntoa(((struct sockaddr_in *)res->ai_addr)->sin_addr));
	freeaddrinfo(res);
	/* Its IPv6 address: an AAAA query through the same stub (the answer is only DNS payload to the stack). */
	hints.ai_family = AF_INET6;
	if ((r = getaddrinfo(name, "80", &hints, &res))) {
		fprintf(stderr, "dns: %s (AAAA): %s\n", name, gai_strerror(r));
		return 1;
	}
	char text[INET6_ADDRSTRLEN];
	inet_ntop(AF_INET6, &((struct sockaddr_in6 *)res->ai_addr)->sin6_addr, text, sizeof text);
	printf("dns: %s is %s (AAAA)\n", name, text);
	freeaddrinfo(res);
	return 0;
}

/* Connects s to to, waiting (30 s at most) while there is no route yet: an IPv6 address and default router come
 * with the router's advertisement, some time after the interface came up. */
static int connect_when_routed(int s, const struct sockaddr *to, socklen_t len)
{
	for (int i = 0; i < 300; i++) {
		if (connect(s, to, len) == 0)
			return 0;
		if (errno != ENETUNREACH && errno != EADDRNOTAVAIL)
			return -1;
		nanosleep(&(struct timespec){ 0, 100000000 }, 0);
	}
	return -1;
}

/* The UDP echo and an upload of 256 KiB echoed back, over IPv6. */
static int ipv6_steps(int udp_port, int tcp_port)
{
	struct sockaddr_in6 to = { .sin6_family = AF_INET6, .sin6_port = htons(udp_port) }, me;
	inet_pton(AF_INET6, HOST6, &to.sin6_addr);
	int u = socket(AF_INET6, SOCK_DGRAM, 0);
	struct timeval tv = { .tv_sec = 1 };
	char buf[256], text[INET6_ADDRSTRLEN];
	if (u < 0 || setsockopt(u, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0 ||
	    connect_when_routed(u, (struct sockaddr *)&to, sizeof to) < 0)
		return fail("udp6 socket");
	ssize_t got = -1;
	for (int attempt = 0; attempt < 5 && got < 0; attempt++) {
		int n = snprintf(buf, sizeof buf, "ping6 %d from uniforge", attempt);
		if (send(u, buf, n, 0) != n)
			return fail("udp6 send");
		got = recv(u, buf, sizeof buf - 1, 0);
	}
	if (got < 0)
		return fail("udp6: no reply");
	buf[got] = 0;
	printf("udp6: reply \"%s\" from [%s]:%d\n", buf, HOST6, udp_port);
	close(u);
	int s = socket(AF_INET6, SOCK_STREAM, 0);
	to.sin6_port = htons(tcp_port);
	if (s < 0 || connect_when_routed(s, (struct sockaddr *)&to, sizeof to) < 0)
		return fail("tcp6 connect");
	static unsigned char out[UPLOAD / 4], in[UPLOAD / 4];
	for (size_t i = 0; i < sizeof out; i++)
		out[i] = pattern(i);
	size_t sent = 0, echoed = 0;
	while (echoed < sizeof in) {
		struct pollfd p = { .fd = s, .events = POLLIN | (sent < sizeof out ? POLLOUT : 0) };
		if (poll(&p, 1, 10000) <= 0)
			return fail("tcp6 poll");
		if ((p.revents & POLLOUT) && sent < sizeof out) {
			ssize_t n = send(s, out + sent, sizeof out - sent, MSG_DONTWAIT);
			sent += n > 0 ? (size_t)n : 0;
		}
		if (p.revents & (POLLIN | POLLHUP)) {
			ssize_t n = recv(s, in + echoed, sizeof in - echoed, MSG_DONTWAIT);
			if (n == 0)
				break;
			echoed += n > 0 ? (size_t)n : 0;
		}
	}
	socklen_t len = sizeof me;
	if (echoed != sizeof in || memcmp(in, out, sizeof in) || getsockname(s, (struct sockaddr *)&me, &len) < 0)
		return fail("tcp6-out: echo differs");
	printf("tcp6-out: %zu bytes echoed intact (local [%s]:%d)\n", echoed,
	       inet_ntop(AF_INET6, &me.sin6_addr, text, sizeof text), ntohs(me.sin6_port));
	close(s);
	return 0;
}

int main(int argc, char **argv)
{
	int udp6 = 0, tcp6 = 0;
	if (argc > 2 && !strcmp(argv[1], "-6")) {
		if (sscanf(argv[2], "%d,%d", &udp6, &tcp6) != 2)
			argc = 0;
		argv += 2;
		argc -= 2;
	}
	if (argc != 4 && argc != 5) {
		fprintf(stderr, "usage: netcheck [-6 UDP6_PORT,TCP6_PORT] UDP_PORT TCP_PORT LISTEN_PORT [NAME]\n");
		return 2;
	}
	if ((argc == 5 && dns_step(argv[4])) || udp_step(atoi(argv[1])) || tcp_out_step(atoi(argv[2])) ||
	    (udp6 && ipv6_steps(udp6, tcp6)) || tcp_in_step(atoi(argv[3])))
		return 1;
	puts("netcheck: all steps passed");
	return 0;
}

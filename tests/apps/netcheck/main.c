/* Exercises the stack against peers the test runs on the host (reached through QEMU user networking's host
 * address 10.0.2.2): a UDP echo, a TCP upload echoed back (guest connects out), then a TCP server the host
 * connects to through a forwarded port. Prints one line per step; exits 0 only if every step checked out. */
#include <arpa/inet.h>
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
#include <unistd.h>

#define HOST "10.0.2.2"
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

int main(int argc, char **argv)
{
	if (argc != 4 && argc != 5) {
		fprintf(stderr, "usage: netcheck UDP_PORT TCP_PORT LISTEN_PORT [NAME]\n");
		return 2;
	}
	if ((argc == 5 && dns_step(argv[4])) || udp_step(atoi(argv[1])) || tcp_out_step(atoi(argv[2])) ||
	    tcp_in_step(atoi(argv[3])))
		return 1;
	puts("netcheck: all steps passed");
	return 0;
}

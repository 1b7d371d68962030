/* Talks to itself: for 127.0.0.1, ::1 and each address given on the command line (IPv4 or IPv6), a TCP listener
 * and a client in this one process exchange 1 MiB each way (non-blocking sockets driven by poll), read TCP_INFO
 * and set options (IP_TOS or IPV6_TCLASS, TCP_KEEP*), end with SO_LINGER's reset; then a UDP datagram goes out and
 * comes back. Then edge-triggered epoll, a dual-stack listener and datagram socket on [::] taking IPv4 as
 * v4-mapped addresses (and IPV6_V6ONLY refusing it) and, given --outside ADDR (another host), that a socket bound
 * to 127.0.0.1 may not send there. Prints one line per step; exits 0 only if every step checked out.
 *
 *     loopcheck [--outside ADDR] [ADDRESS ...] */
#define _GNU_SOURCE     /* struct tcp_info, as on Linux */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define AMOUNT (1 << 20)

static unsigned char out_byte(size_t i, int side)
{
	return (unsigned char)(i * 7 + (i >> 10) + side * 101);
}

static int fail(const char *what)
{
	perror(what);
	return 1;
}

/* ip (either family) and port as a socket address; returns its length. */
static socklen_t address(const char *ip, int port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof *ss);
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	if (inet_pton(AF_INET6, ip, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		return sizeof *in6;
	}
	in->sin_family = AF_INET;
	in->sin_port = htons(port);
	inet_pton(AF_INET, ip, &in->sin_addr);
	return sizeof *in;
}

static int port_of(const struct sockaddr_storage *ss)
{
	return ntohs(ss->ss_family == AF_INET6 ? ((const struct sockaddr_in6 *)ss)->sin6_port
					       : ((const struct sockaddr_in *)ss)->sin_port);
}

static const char *text(const struct sockaddr_storage *ss, char *buf)
{
	const void *a = ss->ss_family == AF_INET6 ? (const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr
						   : (const void *)&((const struct sockaddr_in *)ss)->sin_addr;
	return inet_ntop(ss->ss_family, a, buf, INET6_ADDRSTRLEN);
}

/* Binds s to at; an address of ours that is not there yet (an IPv6 address the router has yet to give, or
 * still on trial: duplicate address detection) is waited for, 30 s at most, as a program would. */
static int bind_when_there(int s, const struct sockaddr_storage *at, socklen_t len)
{
	for (int i = 0; i < 300; i++) {
		if (bind(s, (const struct sockaddr *)at, len) == 0)
			return 0;
		if (errno != EADDRNOTAVAIL)
			return -1;
		nanosleep(&(struct timespec){ 0, 100000000 }, 0);
	}
	return -1;
}

static int listener(const char *ip, struct sockaddr_storage *at)
{
	socklen_t len = address(ip, 0, at);
	int l = socket(at->ss_family, SOCK_STREAM, 0);
	if (l < 0 || bind_when_there(l, at, len) < 0 || listen(l, 4) < 0 ||
	    getsockname(l, (struct sockaddr *)at, &len) < 0)
		return -1;
	return l;
}

/* What tools read from TCP_INFO after the transfer, options set and read back, then SO_LINGER {1, 0} on a's
 * close: a reset, which c reads as ECONNRESET. */
static int options_step(int c, int a, int family)
{
	struct tcp_info ti;
	socklen_t len = sizeof ti;
	if (getsockopt(c, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
		return fail("TCP_INFO");
	int want = TCPI_OPT_TIMESTAMPS | TCPI_OPT_SACK | TCPI_OPT_WSCALE;
	if (ti.tcpi_state != 1 || (ti.tcpi_options & want) != want || ti.tcpi_bytes_acked != AMOUNT ||
	    ti.tcpi_bytes_received != AMOUNT || !ti.tcpi_snd_mss || !ti.tcpi_rto || ti.tcpi_bytes_sent < AMOUNT ||
	    ti.tcpi_data_segs_out < AMOUNT / ti.tcpi_snd_mss || ti.tcpi_segs_out < ti.tcpi_data_segs_out ||
	    ti.tcpi_data_segs_in < AMOUNT / ti.tcpi_snd_mss || ti.tcpi_pmtu <= ti.tcpi_snd_mss ||
	    ti.tcpi_last_ack_recv > 60000) {
		fprintf(stderr, "TCP_INFO: state %d options %#x acked %llu received %llu sent %llu mss %u rto %u "
			"segs out %u (data %u) in %u (data %u) pmtu %u last ack %u ms\n",
			ti.tcpi_state, ti.tcpi_options, (unsigned long long)ti.tcpi_bytes_acked,
			(unsigned long long)ti.tcpi_bytes_received, (unsigned long long)ti.tcpi_bytes_sent,
			ti.tcpi_snd_mss, ti.tcpi_rto, ti.tcpi_segs_out, ti.tcpi_data_segs_out, ti.tcpi_segs_in,
			ti.tcpi_data_segs_in, ti.tcpi_pmtu, ti.tcpi_last_ack_recv);
		return 1;
	}
	printf("lo: TCP_INFO state %d options %#x rtt %u us rto %u us cwnd %u mss %u\n", ti.tcpi_state,
	       ti.tcpi_options, ti.tcpi_rtt, ti.tcpi_rto, ti.tcpi_snd_cwnd, ti.tcpi_snd_mss);
	int tos = 0x10, idle = 30, intvl = 5, cnt = 3, got[4], v6 = family == AF_INET6;
	int level = v6 ? IPPROTO_IPV6 : IPPROTO_IP, tos_option = v6 ? IPV6_TCLASS : IP_TOS;
	len = sizeof(int);
	if (setsockopt(c, level, tos_option, &tos, sizeof tos) < 0 ||
	    setsockopt(c, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle) < 0 ||
	    setsockopt(c, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl) < 0 ||
	    setsockopt(c, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt) < 0 ||
	    getsockopt(c, level, tos_option, &got[0], &len) < 0 || getsockopt(c, IPPROTO_TCP, TCP_KEEPIDLE, &got[1], &len) < 0 ||
	    getsockopt(c, IPPROTO_TCP, TCP_KEEPINTVL, &got[2], &len) < 0 ||
	    getsockopt(c, IPPROTO_TCP, TCP_KEEPCNT, &got[3], &len) < 0)
		return fail("IP_TOS/IPV6_TCLASS/TCP_KEEP*");
	if (got[0] != tos || got[1] != idle || got[2] != intvl || got[3] != cnt) {
		fprintf(stderr, "options read back: %d %d %d %d\n", got[0], got[1], got[2], got[3]);
		return 1;
	}
	printf("lo: %s %#x, keepalive %d/%d/%d read back\n", v6 ? "IPV6_TCLASS" : "IP_TOS", got[0], got[1], got[2],
	       got[3]);
	struct linger abort_close = { 1, 0 };
	if (setsockopt(a, SOL_SOCKET, SO_LINGER, &abort_close, sizeof abort_close) < 0)
		return fail("SO_LINGER");
	close(a);
	struct pollfd p = { c, POLLIN, 0 };
	char byte;
	if (poll(&p, 1, 10000) != 1 || read(c, &byte, 1) != -1 || errno != ECONNRESET)
		return fail("SO_LINGER {1, 0}: no reset");
	printf("lo: SO_LINGER {1, 0}: the peer saw ECONNRESET\n");
	return 0;
}

/* Both ends of one connection in this process: each sends AMOUNT bytes and checks what it receives. */
static int tcp_step(const char *ip)
{
	struct sockaddr_storage at;
	int l = listener(ip, &at);
	if (l < 0)
		return fail("tcp listener");
	int c = socket(at.ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (c < 0 || (connect(c, (struct sockaddr *)&at, sizeof at) < 0 && errno != EINPROGRESS))
		return fail("tcp connect");
	int a = accept(l, 0, 0);
	if (a < 0 || fcntl(a, F_SETFL, O_NONBLOCK) < 0)
		return fail("tcp accept");
	int fds[2] = { a, c };
	size_t sent[2] = { 0, 0 }, got[2] = { 0, 0 };
	static unsigned char buf[65536];
	while (got[0] < AMOUNT || got[1] < AMOUNT) {
		struct pollfd p[2];
		for (int i = 0; i < 2; i++)
			p[i] = (struct pollfd){ fds[i], POLLIN | (sent[i] < AMOUNT ? POLLOUT : 0), 0 };
		if (poll(p, 2, 10000) <= 0)
			return fail("tcp poll (stuck)");
		for (int i = 0; i < 2; i++) {
			if ((p[i].revents & POLLOUT) && sent[i] < AMOUNT) {
				size_t n = AMOUNT - sent[i] < sizeof buf ? AMOUNT - sent[i] : sizeof buf;
				for (size_t k = 0; k < n; k++)
					buf[k] = out_byte(sent[i] + k, i);
				ssize_t w = write(fds[i], buf, n);
				if (w < 0 && errno != EAGAIN)
					return fail("tcp write");
				sent[i] += w > 0 ? (size_t)w : 0;
			}
			if (p[i].revents & POLLIN) {
				ssize_t r = read(fds[i], buf, sizeof buf);
				if (r < 0 && errno != EAGAIN)
					return fail("tcp read");
				for (ssize_t k = 0; k < r; k++)
					if (buf[k] != out_byte(got[i] + k, !i)) {
						fprintf(stderr, "tcp: byte %zu differs\n", got[i] + k);
						return 1;
					}
				got[i] += r > 0 ? (size_t)r : 0;
			}
		}
	}
	printf("lo: tcp %d bytes each way over %s:%d\n", AMOUNT, ip, port_of(&at));
	if (options_step(c, a, at.ss_family))
		return 1;
	close(c);
	close(l);
	return 0;
}

static int udp_step(const char *ip)
{
	struct sockaddr_storage at, from;
	socklen_t len = address(ip, 0, &at);
	int s = socket(at.ss_family, SOCK_DGRAM, 0), c = socket(at.ss_family, SOCK_DGRAM, 0);
	if (s < 0 || c < 0 || bind_when_there(s, &at, len) < 0 || getsockname(s, (struct sockaddr *)&at, &len) < 0)
		return fail("udp socket");
	char msg[64], back[64];
	int n = snprintf(msg, sizeof msg, "hello %s", ip);
	if (sendto(c, msg, n, 0, (struct sockaddr *)&at, sizeof at) != n)
		return fail("udp sendto");
	len = sizeof from;
	ssize_t r = recvfrom(s, back, sizeof back, 0, (struct sockaddr *)&from, &len);
	if (r != n || memcmp(back, msg, n))
		return fail("udp recvfrom");
	if (sendto(s, back, r, 0, (struct sockaddr *)&from, len) != r || recv(c, back, sizeof back, 0) != r)
		return fail("udp answer");
	printf("lo: udp \"%.*s\" there and back over %s:%d\n", (int)r, back, ip, port_of(&at));
	close(s);
	close(c);
	return 0;
}

/* Three arrivals on a socket that stays readable (nothing is read): edge-triggered epoll reports each one, as
 * Linux does after every wake-up, and nothing more until the next. */
static int three_arrivals(int ep, int sender, int receiver, const struct sockaddr_storage *to, const char *what)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET, .data.fd = receiver }, got;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, receiver, &ev) < 0)
		return fail("epoll_ctl");
	for (int i = 0; i < 3; i++) {
		if (sendto(sender, "x", 1, 0, (const struct sockaddr *)to, to ? sizeof(struct sockaddr_in) : 0) != 1)
			return fail(what);
		if (epoll_wait(ep, &got, 1, 10000) != 1 || got.data.fd != receiver || !(got.events & EPOLLIN)) {
			fprintf(stderr, "EPOLLET: %s arrival %d not reported\n", what, i + 1);
			return 1;
		}
	}
	if (epoll_wait(ep, &got, 1, 100) != 0) {
		fprintf(stderr, "EPOLLET: %s reported again without an arrival\n", what);
		return 1;
	}
	return 0;
}

static int epoll_step(const char *ip)
{
	struct sockaddr_storage at;
	int l = listener(ip, &at), c = socket(AF_INET, SOCK_STREAM, 0), ep = epoll_create1(0);
	if (l < 0 || c < 0 || ep < 0 || connect(c, (struct sockaddr *)&at, sizeof at) < 0)
		return fail("epoll: tcp");
	int a = accept(l, 0, 0), one = 1;
	if (a < 0 || setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0 ||
	    three_arrivals(ep, c, a, 0, "tcp segment"))
		return 1;
	int s = socket(AF_INET, SOCK_DGRAM, 0), u = socket(AF_INET, SOCK_DGRAM, 0);
	socklen_t len = address(ip, 0, &at);
	if (s < 0 || u < 0 || bind(s, (struct sockaddr *)&at, len) < 0 ||
	    getsockname(s, (struct sockaddr *)&at, &len) < 0 || three_arrivals(ep, u, s, &at, "udp datagram"))
		return 1;
	printf("lo: EPOLLET reported each of 3 tcp segments and 3 udp datagrams\n");
	close(ep);
	close(a);
	close(c);
	close(l);
	close(s);
	close(u);
	return 0;
}

/* An AF_INET6 listener on [::] (IPV6_V6ONLY off, as Linux's default) takes IPv4 and IPv6 clients; it sees the IPv4
 * one as ::ffff:127.0.0.1. With IPV6_V6ONLY on (and it can't be turned on once bound), IPv4 clients are refused.
 * A dual-stack datagram socket hears an IPv4 sender as v4-mapped and answers it there. */
static int dual_stack_step(void)
{
	struct sockaddr_storage at, v4, peer, me;
	char text6[INET6_ADDRSTRLEN], text_me[INET6_ADDRSTRLEN];
	socklen_t len = address("::", 0, &at), plen = sizeof peer, mlen = sizeof me;
	int l = socket(AF_INET6, SOCK_STREAM, 0), zero = 0, one = 1;
	if (l < 0 || setsockopt(l, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero) < 0 ||
	    bind(l, (struct sockaddr *)&at, len) < 0 || listen(l, 4) < 0 || getsockname(l, (struct sockaddr *)&at, &len) < 0)
		return fail("dual-stack listener");
	socklen_t v4len = address("127.0.0.1", port_of(&at), &v4);
	int c4 = socket(AF_INET, SOCK_STREAM, 0);
	if (c4 < 0 || connect(c4, (struct sockaddr *)&v4, v4len) < 0)
		return fail("dual-stack: IPv4 connect");
	int a4 = accept(l, (struct sockaddr *)&peer, &plen);
	if (a4 < 0 || getsockname(a4, (struct sockaddr *)&me, &mlen) < 0 || peer.ss_family != AF_INET6 ||
	    strcmp(text(&peer, text6), "::ffff:127.0.0.1") || strcmp(text(&me, text_me), "::ffff:127.0.0.1"))
		return fail("dual-stack: IPv4 client not seen as ::ffff:127.0.0.1");
	printf("lo: [::] took an IPv4 client as %s (local %s)\n", text6, text_me);
	int v6only = 0;
	socklen_t optlen = sizeof v6only;
	if (setsockopt(l, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) == 0 || errno != EINVAL ||
	    getsockopt(l, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &optlen) < 0 || v6only)
		return fail("dual-stack: IPV6_V6ONLY changed after bind");
	int l6 = socket(AF_INET6, SOCK_STREAM, 0);
	len = address("::", 0, &at);
	if (l6 < 0 || setsockopt(l6, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0 ||
	    bind(l6, (struct sockaddr *)&at, len) < 0 || listen(l6, 4) < 0 || getsockname(l6, (struct sockaddr *)&at, &len) < 0)
		return fail("IPv6-only listener");
	v4len = address("127.0.0.1", port_of(&at), &v4);
	int r4 = socket(AF_INET, SOCK_STREAM, 0);
	if (r4 < 0 || connect(r4, (struct sockaddr *)&v4, v4len) == 0 || errno != ECONNREFUSED)
		return fail("IPV6_V6ONLY: IPv4 client not refused");
	printf("lo: IPV6_V6ONLY listener refused an IPv4 client\n");
	/* Datagrams: an IPv4 sender to a dual-stack socket, answered at its v4-mapped address; hop limit and traffic
	 * class read back. */
	int d = socket(AF_INET6, SOCK_DGRAM, 0), u4 = socket(AF_INET, SOCK_DGRAM, 0), hops = 7, tclass = 0x20, got[2];
	len = address("::", 0, &at);
	optlen = sizeof(int);
	if (d < 0 || u4 < 0 || bind(d, (struct sockaddr *)&at, len) < 0 || getsockname(d, (struct sockaddr *)&at, &len) < 0 ||
	    setsockopt(d, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &hops, sizeof hops) < 0 ||
	    setsockopt(d, IPPROTO_IPV6, IPV6_TCLASS, &tclass, sizeof tclass) < 0 ||
	    getsockopt(d, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &got[0], &optlen) < 0 ||
	    getsockopt(d, IPPROTO_IPV6, IPV6_TCLASS, &got[1], &optlen) < 0 || got[0] != hops || got[1] != tclass)
		return fail("udp6 socket and options");
	v4len = address("127.0.0.1", port_of(&at), &v4);
	char back[16];
	plen = sizeof peer;
	if (sendto(u4, "v4?", 3, 0, (struct sockaddr *)&v4, v4len) != 3 ||
	    recvfrom(d, back, sizeof back, 0, (struct sockaddr *)&peer, &plen) != 3 ||
	    strcmp(text(&peer, text6), "::ffff:127.0.0.1") || sendto(d, "v6!", 3, 0, (struct sockaddr *)&peer, plen) != 3 ||
	    recv(u4, back, sizeof back, 0) != 3 || memcmp(back, "v6!", 3))
		return fail("udp: dual-stack datagrams");
	printf("lo: udp [::] heard %s and answered it; hop limit %d, tclass %#x read back\n", text6, got[0], got[1]);
	int fds[] = { l, c4, a4, l6, r4, d, u4 };
	for (unsigned i = 0; i < sizeof fds / sizeof *fds; i++)
		close(fds[i]);
	return 0;
}

/* Bound to 127.0.0.1, a socket talks to this host only: to another one, sendto and connect fail with EINVAL. */
static int loopback_source_step(const char *outside)
{
	struct sockaddr_storage lo, out;
	socklen_t lo_len = address("127.0.0.1", 0, &lo), out_len = address(outside, 9, &out);
	int u = socket(AF_INET, SOCK_DGRAM, 0), t = socket(AF_INET, SOCK_STREAM, 0);
	if (u < 0 || t < 0 || bind(u, (struct sockaddr *)&lo, lo_len) < 0 || bind(t, (struct sockaddr *)&lo, lo_len) < 0)
		return fail("bind 127.0.0.1");
	if (sendto(u, "x", 1, 0, (struct sockaddr *)&out, out_len) != -1 || errno != EINVAL ||
	    connect(t, (struct sockaddr *)&out, out_len) != -1 || errno != EINVAL)
		return fail("from 127.0.0.1 to another host");
	printf("lo: bound to 127.0.0.1, udp and tcp to %s: EINVAL\n", outside);
	close(u);
	close(t);
	return 0;
}

int main(int argc, char **argv)
{
	const char *outside = 0;
	if (argc > 2 && !strcmp(argv[1], "--outside")) {
		outside = argv[2];
		argv += 2;
		argc -= 2;
	}
	if (tcp_step("127.0.0.1") || udp_step("127.0.0.1") || tcp_step("::1") || udp_step("::1") ||
	    epoll_step("127.0.0.1") || dual_stack_step() || (outside && loopback_source_step(outside)))
		return 1;
	for (int i = 1; i < argc; i++)
		if (tcp_step(argv[i]) || udp_step(argv[i]))
			return 1;
	printf("loopcheck: all steps passed\n");
	return 0;
}

/* Talks to itself: for 127.0.0.1 and each address given on the command line, a TCP listener and a client in this
 * one process exchange 1 MiB each way (non-blocking sockets driven by poll), read TCP_INFO and set options
 * (IP_TOS, TCP_KEEP*), end with SO_LINGER's reset; then a UDP datagram goes out and comes back. Prints one line
 * per step; exits 0 only if every step checked out. */
#define _GNU_SOURCE     /* struct tcp_info, as on Linux */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
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

static int listener(const char *ip, struct sockaddr_in *at)
{
	int l = socket(AF_INET, SOCK_STREAM, 0);
	socklen_t len = sizeof *at;
	*at = (struct sockaddr_in){ .sin_family = AF_INET };
	inet_pton(AF_INET, ip, &at->sin_addr);
	if (l < 0 || bind(l, (struct sockaddr *)at, sizeof *at) < 0 || listen(l, 4) < 0 ||
	    getsockname(l, (struct sockaddr *)at, &len) < 0)
		return -1;
	return l;
}

/* What tools read from TCP_INFO after the transfer, options set and read back, then SO_LINGER {1, 0} on a's
 * close: a reset, which c reads as ECONNRESET. */
static int options_step(int c, int a)
{
	struct tcp_info ti;
	socklen_t len = sizeof ti;
	if (getsockopt(c, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
		return fail("TCP_INFO");
	int want = TCPI_OPT_TIMESTAMPS | TCPI_OPT_SACK | TCPI_OPT_WSCALE;
	if (ti.tcpi_state != 1 || (ti.tcpi_options & want) != want || ti.tcpi_bytes_acked != AMOUNT ||
	    ti.tcpi_bytes_received != AMOUNT || !ti.tcpi_snd_mss || !ti.tcpi_rto) {
		fprintf(stderr, "TCP_INFO: state %d options %#x acked %llu received %llu mss %u rto %u\n",
			ti.tcpi_state, ti.tcpi_options, (unsigned long long)ti.tcpi_bytes_acked,
			(unsigned long long)ti.tcpi_bytes_received, ti.tcpi_snd_mss, ti.tcpi_rto);
		return 1;
	}
	printf("lo: TCP_INFO state %d options %#x rtt %u us rto %u us cwnd %u mss %u\n", ti.tcpi_state,
	       ti.tcpi_options, ti.tcpi_rtt, ti.tcpi_rto, ti.tcpi_snd_cwnd, ti.tcpi_snd_mss);
	int tos = 0x10, idle = 30, intvl = 5, cnt = 3, got[4];
	len = sizeof(int);
	if (setsockopt(c, IPPROTO_IP, IP_TOS, &tos, sizeof tos) < 0 ||
	    setsockopt(c, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle) < 0 ||
	    setsockopt(c, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl) < 0 ||
	    setsockopt(c, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt) < 0 ||
	    getsockopt(c, IPPROTO_IP, IP_TOS, &got[0], &len) < 0 || getsockopt(c, IPPROTO_TCP, TCP_KEEPIDLE, &got[1], &len) < 0 ||
	    getsockopt(c, IPPROTO_TCP, TCP_KEEPINTVL, &got[2], &len) < 0 ||
	    getsockopt(c, IPPROTO_TCP, TCP_KEEPCNT, &got[3], &len) < 0)
		return fail("IP_TOS/TCP_KEEP*");
	if (got[0] != tos || got[1] != idle || got[2] != intvl || got[3] != cnt) {
		fprintf(stderr, "options read back: %d %d %d %d\n", got[0], got[1], got[2], got[3]);
		return 1;
	}
	printf("lo: IP_TOS %#x, keepalive %d/%d/%d read back\n", got[0], got[1], got[2], got[3]);
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
	struct sockaddr_in at;
	int l = listener(ip, &at);
	if (l < 0)
		return fail("tcp listener");
	int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
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
	printf("lo: tcp %d bytes each way over %s:%d\n", AMOUNT, ip, ntohs(at.sin_port));
	if (options_step(c, a))
		return 1;
	close(c);
	close(l);
	return 0;
}

static int udp_step(const char *ip)
{
	struct sockaddr_in at = { .sin_family = AF_INET }, from;
	socklen_t len = sizeof at;
	inet_pton(AF_INET, ip, &at.sin_addr);
	int s = socket(AF_INET, SOCK_DGRAM, 0), c = socket(AF_INET, SOCK_DGRAM, 0);
	if (s < 0 || c < 0 || bind(s, (struct sockaddr *)&at, sizeof at) < 0 ||
	    getsockname(s, (struct sockaddr *)&at, &len) < 0)
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
	printf("lo: udp \"%.*s\" there and back over %s:%d\n", (int)r, back, ip, ntohs(at.sin_port));
	close(s);
	close(c);
	return 0;
}

int main(int argc, char **argv)
{
	if (tcp_step("127.0.0.1") || udp_step("127.0.0.1"))
		return 1;
	for (int i = 1; i < argc; i++)
		if (tcp_step(argv[i]) || udp_step(argv[i]))
			return 1;
	printf("loopcheck: all steps passed\n");
	return 0;
}

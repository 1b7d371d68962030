/* Accepts one TCP connection, reads its one-line request, writes BYTES bytes of a pattern the test checks, sends
 * one UDP datagram to the host, and returns from main at once: no close, no shutdown, no wait. As a Linux process's
 * exit, the machine's must close the sockets and deliver what they still hold before it powers off.
 *
 *     exitreply LISTEN_PORT UDP_PORT BYTES */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int fail(const char *what)
{
	perror(what);
	return 1;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: exitreply LISTEN_PORT UDP_PORT BYTES\n");
		return 2;
	}
	long total = atol(argv[3]);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(atoi(argv[1])) };
	int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	if (l < 0 || setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    bind(l, (struct sockaddr *)&a, sizeof a) < 0 || listen(l, 1) < 0)
		return fail("listen");
	printf("exitreply: listening on port %s\n", argv[1]);
	fflush(stdout);
	int c = accept(l, 0, 0);
	if (c < 0)
		return fail("accept");
	char request[64];
	size_t got = 0;
	while (got < sizeof request && !memchr(request, '\n', got)) {
		ssize_t n = read(c, request + got, sizeof request - got);
		if (n <= 0)
			return fail("read");
		got += (size_t)n;
	}
	static unsigned char chunk[65536];
	for (long sent = 0; sent < total;) {
		size_t n = 0;
		for (; n < sizeof chunk && sent + (long)n < total; n++)
			chunk[n] = (unsigned char)((sent + (long)n) * 7 + ((sent + (long)n) >> 9));
		ssize_t w = write(c, chunk, n);
		if (w <= 0)
			return fail("write");
		sent += w;
	}
	int u = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in host = { .sin_family = AF_INET, .sin_port = htons(atoi(argv[2])) };
	inet_pton(AF_INET, "10.0.2.2", &host.sin_addr);
	char bye[32];
	int len = snprintf(bye, sizeof bye, "bye after %ld bytes", total);
	if (u < 0 || sendto(u, bye, len, 0, (struct sockaddr *)&host, sizeof host) != len)
		return fail("sendto");
	return 0;
}

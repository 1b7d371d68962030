/* Echoes every UDP datagram back to its sender, over IPv4 and IPv6 (one socket on [::], IPV6_V6ONLY off; where
 * IPv6 is missing, 0.0.0.0). Usage: udp-echo [PORT] (default 7, the echo service).
 * Plain POSIX: it builds and runs on Linux with `cc -O2 -o udp-echo main.c` too. */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

int main(int argc, char **argv)
{
	static char datagram[65536];
	int port = argc > 1 ? atoi(argv[1]) : 7, zero = 0;
	struct sockaddr_in6 addr6 = {.sin6_family = AF_INET6, .sin6_port = htons(port), .sin6_addr = IN6ADDR_ANY_INIT};
	struct sockaddr_in addr4 = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = INADDR_ANY};
	int fd;

	if (port <= 0 || port > 65535) {
		fprintf(stderr, "usage: udp-echo [PORT]\n");
		return 2;
	}
	fd = socket(AF_INET6, SOCK_DGRAM, 0);
	if (fd >= 0)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (fd >= 0 ? bind(fd, (struct sockaddr *)&addr6, sizeof(addr6)) < 0
		    : errno != EAFNOSUPPORT || (fd = socket(AF_INET, SOCK_DGRAM, 0)) < 0 ||
			      bind(fd, (struct sockaddr *)&addr4, sizeof(addr4)) < 0) {
		perror("udp-echo: socket/bind");
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("udp-echo: listening on port %d\n", port);
	for (;;) {
		struct sockaddr_storage peer;
		socklen_t peer_len = sizeof(peer);
		ssize_t n = recvfrom(fd, datagram, sizeof(datagram), 0, (struct sockaddr *)&peer, &peer_len);
		if (n < 0) {
			perror("udp-echo: recvfrom");
			continue; /* e.g. an ICMP error for an earlier reply: keep serving */
		}
		if (sendto(fd, datagram, n, 0, (struct sockaddr *)&peer, peer_len) < 0)
			perror("udp-echo: sendto");
	}
}

/* Feeds frames from a file (2-byte big-endian length, then the frame) to the stack, with time moving on, as a
 * hostile network would. Built with the sanitizers by tests/unit/test_net_host_stack.py: any memory error aborts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <uf/net.h>

int h_up(const char *net, const char *ip, const char *gw, const char *dns);
void h_inject(const uint8_t *frame, size_t len);
size_t h_take(uint8_t *buf);
void h_advance(uint64_t ns);

int main(int argc, char **argv)
{
	FILE *in = argc == 2 ? fopen(argv[1], "rb") : 0;
	if (!in || h_up("static", "10.0.2.15/24", "10.0.2.2", "10.0.2.3"))
		return 2;
	/* Something to attack: a listener, a bound UDP port, and one connection out. */
	static const uint8_t peer[16] = { [10] = 0xff, [11] = 0xff, 10, 0, 2, 2 };
	struct uf_tcp *l = uf_tcp_new(UF_NET_V4 | UF_NET_V6), *c = uf_tcp_new(UF_NET_V4);
	struct uf_udp *u = uf_udp_new(UF_NET_V4 | UF_NET_V6);
	if (uf_tcp_bind(l, 0, 80, 1) || uf_tcp_listen(l, 16) || uf_udp_bind(u, 0, 7, 0) || uf_tcp_connect(c, peer, 8080))
		return 3;
	uint8_t frame[2048], out[2048];
	unsigned char len_be[2];
	long frames = 0;
	while (fread(len_be, 1, 2, in) == 2) {
		size_t len = (size_t)len_be[0] << 8 | len_be[1];
		if (len > sizeof frame || fread(frame, 1, len, in) != len)
			break;
		h_inject(frame, len);
		while (h_take(out))
			continue;
		if (++frames % 64 == 0)
			h_advance(250000000ull);    /* timers run: retransmissions, reassembly expiry */
		struct uf_tcp *a;
		while (uf_tcp_accept(l, &a) == 0) {
			char buf[512];
			uf_tcp_recv(a, buf, sizeof buf, 0);
			uf_tcp_send(a, "x", 1);
			uf_tcp_close(a);
		}
		char d[2048];
		struct iovec v = { d, sizeof d };
		uint8_t addr[16];
		uint16_t port;
		size_t full;
		while (uf_udp_recv(u, &v, 1, addr, &port, 0, &full) >= 0)
			continue;
	}
	for (int i = 0; i < 400; i++) {     /* let every timer run out: TIME_WAIT, orphans, reassembly */
		h_advance(1000000000ull);
		while (h_take(out))
			continue;
	}
	uf_tcp_close(l);
	uf_tcp_close(c);
	uf_udp_free(u);
	printf("fuzz: %ld frames\n", frames);
	return 0;
}

/* BSD sockets over module net: AF_INET and AF_INET6 stream (TCP) and datagram (UDP) sockets as descriptors in the
 * fd table; module sockcall hands them the socket syscalls. socket() is here, and passes AF_UNIX to module unix:
 * its family is known only at run time, so an app that calls socket() links every family.
 *
 * AF_INET6 sockets are dual-stack as on Linux (net.ipv6.bindv6only=0): one bound to [::] also takes IPv4 peers,
 * which it sees as v4-mapped addresses (::ffff:a.b.c.d), and may send to them; IPV6_V6ONLY (before bind) makes
 * it IPv6 only. A link-local address needs the NIC's interface index as its scope (sin6_scope_id 2; lo is 1),
 * and peers' link-local addresses come with it.
 *
 * A blocking call loops: try; if not ready, halt until a NIC interrupt, the stack's next timer or the
 * socket's timeout (uf_net_wait), which also runs the stack. O_NONBLOCK (fcntl, SOCK_NONBLOCK) and
 * MSG_DONTWAIT make it return -EAGAIN instead. A signal handler that runs meanwhile makes it return -EINTR (or
 * what it transferred), unless it has SA_RESTART and the socket no timeout (signal(7)); connect is never
 * restarted (the connection goes on). A send on a stream whose sending side is shut raises SIGPIPE with its EPIPE,
 * unless MSG_NOSIGNAL. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <uf/fd.h>
#include <uf/net.h>
#include <uf/signal.h>
#include <uf/sockcall.h>
#include <uf/socket.h>
#include <uf/time.h>
#include <uf/unix.h>

#define UDP_DEFAULT_BUF 65536           /* module net's receive queue limit for a datagram socket */
#define DEFAULT_TTL 64                  /* what IP_TTL and IPV6_UNICAST_HOPS read until set */

struct sock {
	int family;                     /* AF_INET or AF_INET6 */
	int type;                       /* SOCK_STREAM or SOCK_DGRAM */
	struct uf_udp *udp;
	struct uf_tcp *tcp;
	uint64_t rcvtimeo, sndtimeo;    /* ns; 0: wait forever */
	int reuse, keepalive, broadcast, nodelay, v6only;
	int tos, ttl;                   /* IP_TOS or IPV6_TCLASS; IP_TTL or IPV6_UNICAST_HOPS (0: default) */
	struct linger linger;           /* SO_LINGER: on close, wait for the peer's ACK of everything (or reset) */
	size_t udp_rcvbuf;
	struct uf_file *file;           /* its open file (shared by dup'ed descriptors): O_NONBLOCK lives there */
};

static const struct uf_file_ops socket_ops;

static int nonblocking(const struct sock *s, int flags)
{
	return (flags & MSG_DONTWAIT) || (s->file->flags & O_NONBLOCK);
}

/* Puts a new socket in the descriptor table. */
static long install(struct sock *s, int flags)
{
	int fd = uf_fd_install(&socket_ops, s, O_RDWR | (flags & SOCK_NONBLOCK ? O_NONBLOCK : 0));
	if (fd < 0) {
		if (s->tcp)
			uf_tcp_close(s->tcp);
		else
			uf_udp_free(s->udp);
		free(s);
		return fd;
	}
	s->file = uf_fd_get(fd);
	if (s->tcp)
		uf_tcp_set_file(s->tcp, s->file);
	else
		uf_udp_set_file(s->udp, s->file);
	if (flags & SOCK_CLOEXEC)
		s->file->fd_flags = FD_CLOEXEC;
	return fd;
}

static uint64_t deadline_after(uint64_t timeout)
{
	return timeout ? uf_time_monotonic_ns() + timeout : UINT64_MAX;
}

/* After a try said -EAGAIN: 0 to try again (having waited), or what the caller must give up with: -EAGAIN
 * (non-blocking, or the timeout passed) or -EINTR (a signal handler ran; restarts: as SA_RESTART says). */
static long wait_more(int nonblock, uint64_t deadline, int restarts)
{
	if (nonblock || uf_time_monotonic_ns() >= deadline)
		return -EAGAIN;
	uf_net_wait(deadline);
	return restarts ? uf_signal_wait_point() : uf_signal_wait_point_norestart();
}

static const uint8_t v4_mapped[12] = { [10] = 0xff, [11] = 0xff };

static int is_v4(const uint8_t a[16])
{
	return !memcmp(a, v4_mapped, 12);
}

static int is_link_local(const uint8_t a[16])
{
	return a[0] == 0xfe && (a[1] & 0xc0) == 0x80;
}

static int families(const struct sock *s)
{
	return s->family == AF_INET ? UF_NET_V4 : s->v6only ? UF_NET_V6 : UF_NET_V4 | UF_NET_V6;
}

/* A socket address as module net takes it (uf/net.h): 16 bytes, IPv4 as v4-mapped. An AF_INET6 socket also takes
 * a sockaddr_in where Linux's does (connect, sendto: not bind). */
static int to_addr(const struct sock *s, const struct sockaddr *sa, socklen_t len, uint8_t addr[16], uint16_t *port,
		   int bind)
{
	if (!sa || len < sizeof(sa_family_t))
		return -EINVAL;
	if (sa->sa_family == AF_INET && (s->family == AF_INET || !bind)) {
		struct sockaddr_in in;
		if (len < sizeof in)
			return -EINVAL;
		memcpy(&in, sa, sizeof in);
		memcpy(addr, v4_mapped, 12);
		memcpy(addr + 12, &in.sin_addr, 4);
		*port = ntohs(in.sin_port);
		return 0;
	}
	if (sa->sa_family != AF_INET6 || s->family != AF_INET6)
		return -EAFNOSUPPORT;
	struct sockaddr_in6 in6 = { 0 };
	if (len < 24)                           /* RFC 2133's sockaddr_in6, without the scope id */
		return -EINVAL;
	memcpy(&in6, sa, len < sizeof in6 ? len : sizeof in6);
	if (is_link_local(in6.sin6_addr.s6_addr) && in6.sin6_scope_id != UF_NET_NIC_INDEX)
		return in6.sin6_scope_id ? -ENODEV : -EINVAL;  /* which link? (as Linux) */
	memcpy(addr, &in6.sin6_addr, 16);
	*port = ntohs(in6.sin6_port);
	return 0;
}

static void from_addr(const struct sock *s, const uint8_t addr[16], uint16_t port, struct sockaddr *sa,
		      socklen_t *len)
{
	if (!sa || !len)
		return;
	if (s->family == AF_INET) {
		struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons(port) };
		if (is_v4(addr))
			memcpy(&in.sin_addr, addr + 12, 4);
		memcpy(sa, &in, *len < sizeof in ? *len : sizeof in);
		*len = sizeof in;
		return;
	}
	struct sockaddr_in6 in6 = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
	memcpy(&in6.sin6_addr, addr, 16);
	if (is_link_local(addr))
		in6.sin6_scope_id = UF_NET_NIC_INDEX;
	memcpy(sa, &in6, *len < sizeof in6 ? *len : sizeof in6);
	*len = sizeof in6;
}

long uf_sys_socket(int domain, int type, int protocol)
{
	int kind = type & 0xf, flags = type & ~0xf;
	if (domain == AF_UNIX)
		return uf_unix_socket(type, protocol);
	if (domain != AF_INET && domain != AF_INET6)
		return -EAFNOSUPPORT;
	if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC))
		return -EINVAL;
	if (!(kind == SOCK_STREAM && (!protocol || protocol == IPPROTO_TCP)) &&
	    !(kind == SOCK_DGRAM && (!protocol || protocol == IPPROTO_UDP)))
		return kind == SOCK_STREAM || kind == SOCK_DGRAM ? -EPROTONOSUPPORT : -EINVAL;
	uf_net_up();        /* the first socket brings the NIC up; without one, only lo (127.0.0.1) answers */
	struct sock *s = calloc(1, sizeof *s);
	if (!s)
		return -ENOMEM;
	s->family = domain;
	s->type = kind;
	if (kind == SOCK_STREAM)
		s->tcp = uf_tcp_new(families(s));
	else
		s->udp = uf_udp_new(families(s));
	if (!s->tcp && !s->udp) {
		free(s);
		return -ENOMEM;
	}
	return install(s, flags);
}

static long inet_bind(struct uf_file *f, const struct sockaddr *sa, socklen_t len)
{
	struct sock *s = f->priv;
	uint8_t addr[16];
	uint16_t port;
	int r = to_addr(s, sa, len, addr, &port, 1);
	if (r < 0)
		return r;
	return s->tcp ? uf_tcp_bind(s->tcp, addr, port, s->reuse) : uf_udp_bind(s->udp, addr, port, s->reuse);
}

static long inet_listen(struct uf_file *f, int backlog)
{
	struct sock *s = f->priv;
	if (!s->tcp)
		return -EOPNOTSUPP;
	return uf_tcp_listen(s->tcp, backlog);
}

static long inet_connect(struct uf_file *f, const struct sockaddr *sa, socklen_t len)
{
	struct sock *s = f->priv;
	uint8_t addr[16];
	uint16_t port;
	if (s->udp && sa && len >= sizeof(sa_family_t) && sa->sa_family == AF_UNSPEC)
		return uf_udp_connect(s->udp, 0, 0);
	int r = to_addr(s, sa, len, addr, &port, 0);
	if (r < 0)
		return r;
	if (s->udp)
		return uf_udp_connect(s->udp, addr, port);
	r = uf_tcp_connect(s->tcp, addr, port);
	if (r < 0)
		return r;
	uint64_t deadline = deadline_after(s->sndtimeo);
	int nonblock = nonblocking(s, 0);
	uf_net_poll();
	while (uf_tcp_connecting(s->tcp))
		if ((r = wait_more(nonblock, deadline, 0)))
			return r == -EAGAIN ? -EINPROGRESS : r;
	return -uf_tcp_take_error(s->tcp);
}

static long inet_accept(struct uf_file *f, struct sockaddr *sa, socklen_t *len, int flags)
{
	struct sock *s = f->priv;
	if (!s->tcp)
		return -EOPNOTSUPP;
	struct uf_tcp *c;
	uint64_t deadline = deadline_after(s->rcvtimeo);
	int nonblock = nonblocking(s, 0), r;
	uf_net_poll();
	while ((r = uf_tcp_accept(s->tcp, &c)) == -EAGAIN) {
		long w = wait_more(nonblock, deadline, !s->rcvtimeo);
		if (w)
			return w;
	}
	if (r < 0)
		return r;
	struct sock *n = calloc(1, sizeof *n);
	if (!n) {
		uf_tcp_close(c);
		return -ENOMEM;
	}
	*n = (struct sock){ .family = s->family, .type = SOCK_STREAM, .tcp = c, .keepalive = s->keepalive,
			    .nodelay = s->nodelay, .v6only = s->v6only, .tos = s->tos, .ttl = s->ttl, .linger = s->linger };
	uint8_t addr[16];
	uint16_t port;
	uf_tcp_remote(c, addr, &port);
	long nfd = install(n, flags);
	if (nfd >= 0)
		from_addr(n, addr, port, sa, len);
	return nfd;
}

/* ---- data ---- */

static long stream_send(struct sock *s, const struct iovec *iov, int cnt, int flags)
{
	uint64_t deadline = deadline_after(s->sndtimeo);
	int nonblock = nonblocking(s, flags);
	long total = 0;
	for (int i = 0; i < cnt; i++) {
		size_t done = 0;
		while (done < iov[i].iov_len) {
			long r = uf_tcp_send(s->tcp, (const char *)iov[i].iov_base + done, iov[i].iov_len - done);
			if (r > 0) {
				done += r;
				continue;
			}
			if (r == -EAGAIN) {
				uf_net_poll();
				r = uf_tcp_send(s->tcp, (const char *)iov[i].iov_base + done, iov[i].iov_len - done);
				if (r > 0) {
					done += r;
					continue;
				}
			}
			if (r == -EAGAIN && !(r = wait_more(nonblock, deadline, !s->sndtimeo)))
				continue;
			total += done;
			return total ? total : r;
		}
		total += done;
	}
	return total;
}

static long stream_recv(struct sock *s, const struct iovec *iov, int cnt, int flags)
{
	uint64_t deadline = deadline_after(s->rcvtimeo);
	int nonblock = nonblocking(s, flags), peek = flags & MSG_PEEK;
	long total = 0;
	for (int i = 0; i < cnt; i++) {
		size_t done = 0;
		while (done < iov[i].iov_len) {
			long r = uf_tcp_recv(s->tcp, (char *)iov[i].iov_base + done, iov[i].iov_len - done, peek);
			if (r == -EAGAIN) {
				uf_net_poll();
				r = uf_tcp_recv(s->tcp, (char *)iov[i].iov_base + done, iov[i].iov_len - done, peek);
			}
			if (r > 0) {
				done += r;
				if (peek || !(flags & MSG_WAITALL))
					return total + done;
				continue;
			}
			/* Something arrived already: return it rather than wait for more. */
			if (r == -EAGAIN && !(total + done && !(flags & MSG_WAITALL)) &&
			    !(r = wait_more(nonblock, deadline, !s->rcvtimeo)))
				continue;
			total += done;
			return total ? total : r;
		}
		total += done;
	}
	return total;
}

static long dgram_send(struct sock *s, const struct iovec *iov, int cnt, const struct sockaddr *sa,
		       socklen_t len)
{
	uint8_t addr[16], *to = 0;
	uint16_t port = 0;
	if (sa) {
		int r = to_addr(s, sa, len, addr, &port, 0);
		if (r < 0)
			return r;
		to = addr;
	}
	long r = uf_udp_send(s->udp, to, port, iov, cnt);
	if (r == -EAGAIN) {         /* the NIC's ring is full: make room and try once more */
		uf_net_poll();
		r = uf_udp_send(s->udp, to, port, iov, cnt);
	}
	return r;
}

static long dgram_recv(struct sock *s, const struct iovec *iov, int cnt, int flags,
		       struct sockaddr *sa, socklen_t *len, int *msg_flags)
{
	uint64_t deadline = deadline_after(s->rcvtimeo);
	int nonblock = nonblocking(s, flags);
	uint8_t addr[16];
	uint16_t port;
	size_t full;
	long r;
	uf_net_poll();
	while ((r = uf_udp_recv(s->udp, iov, cnt, addr, &port, flags & MSG_PEEK, &full)) == -EAGAIN)
		if ((r = wait_more(nonblock, deadline, !s->rcvtimeo)))
			return r;
	if (r < 0)
		return r;
	from_addr(s, addr, port, sa, len);
	if (msg_flags && (size_t)r < full)
		*msg_flags |= MSG_TRUNC;
	return flags & MSG_TRUNC ? (long)full : r;
}

static long do_send(struct sock *s, const struct iovec *iov, int cnt, int flags, const struct sockaddr *sa,
		    socklen_t len)
{
	if (cnt < 0 || cnt > 1024)
		return -EINVAL;
	if (!s->tcp)
		return dgram_send(s, iov, cnt, sa, len);
	long r = stream_send(s, iov, cnt, flags);     /* an address is ignored, as Linux does for TCP */
	if (r == -EPIPE && !(flags & MSG_NOSIGNAL))
		uf_signal_raise(SIGPIPE);
	return r;
}

static long do_recv(struct sock *s, const struct iovec *iov, int cnt, int flags, struct sockaddr *sa,
		    socklen_t *len, int *msg_flags)
{
	if (cnt < 0 || cnt > 1024)
		return -EINVAL;
	if (s->tcp) {
		long r = stream_recv(s, iov, cnt, flags);
		if (r >= 0 && sa && len) {
			uint8_t addr[16];
			uint16_t port;
			if (uf_tcp_remote(s->tcp, addr, &port) == 0)
				from_addr(s, addr, port, sa, len);
		}
		return r;
	}
	return dgram_recv(s, iov, cnt, flags, sa, len, msg_flags);
}

static long inet_sendmsg(struct uf_file *f, const struct msghdr *m, int flags)
{
	return do_send(f->priv, m->msg_iov, (int)m->msg_iovlen, flags, m->msg_name, m->msg_namelen);
}

static long inet_recvmsg(struct uf_file *f, struct msghdr *m, int flags)
{
	struct sock *s = f->priv;
	socklen_t len = m->msg_namelen;
	int msg_flags = 0;
	long r = do_recv(s, m->msg_iov, (int)m->msg_iovlen, flags, m->msg_name, m->msg_name ? &len : 0, &msg_flags);
	if (r >= 0) {
		m->msg_namelen = m->msg_name ? len : 0;
		m->msg_controllen = 0;
		m->msg_flags = msg_flags;
	}
	return r;
}

static long inet_shutdown(struct uf_file *f, int how)
{
	struct sock *s = f->priv;
	if (!s->tcp)
		return -ENOTCONN;
	return uf_tcp_shutdown(s->tcp, how != SHUT_WR, how != SHUT_RD);
}

static long inet_getsockname(struct uf_file *f, struct sockaddr *sa, socklen_t *len)
{
	struct sock *s = f->priv;
	uint8_t addr[16];
	uint16_t port;
	if (s->tcp)
		uf_tcp_local(s->tcp, addr, &port);
	else
		uf_udp_local(s->udp, addr, &port);
	from_addr(s, addr, port, sa, len);
	return 0;
}

static long inet_getpeername(struct uf_file *f, struct sockaddr *sa, socklen_t *len)
{
	struct sock *s = f->priv;
	uint8_t addr[16];
	uint16_t port;
	int r = s->tcp ? uf_tcp_remote(s->tcp, addr, &port) : uf_udp_remote(s->udp, addr, &port);
	if (r < 0)
		return r;
	from_addr(s, addr, port, sa, len);
	return 0;
}

/* ---- options ---- */

static int get_int(const void *v, socklen_t len, int *out)
{
	if (!v || len < sizeof(int))
		return -EINVAL;
	memcpy(out, v, sizeof(int));
	return 0;
}

static void set_ip(struct sock *s)
{
	if (s->tcp)
		uf_tcp_set_ip(s->tcp, (uint8_t)s->tos, (uint8_t)s->ttl);
	else
		uf_udp_set_ip(s->udp, (uint8_t)s->tos, (uint8_t)s->ttl);
}

/* The IP header's fields: IP_TOS and IP_TTL, IPV6_TCLASS and IPV6_UNICAST_HOPS (one TOS byte and one TTL for
 * both families: an AF_INET6 socket's IPv4 datagrams carry them too), IPV6_V6ONLY (before bind). Values and
 * errors as Linux's, -1 meaning the default. */
static long ip_setsockopt(struct sock *s, int level, int optname, const void *v, socklen_t len)
{
	int x;
	if (get_int(v, len, &x) < 0)
		return -EINVAL;
	if (level == IPPROTO_IPV6 && s->family != AF_INET6)
		return -ENOPROTOOPT;
	switch (level << 8 | optname) {
	case IPPROTO_IP << 8 | IP_TOS:
		s->tos = x & 0xfc;              /* the ECN bits are the stack's, as Linux */
		break;
	case IPPROTO_IPV6 << 8 | IPV6_TCLASS:
		if (x < -1 || x > 255)
			return -EINVAL;
		s->tos = x < 0 ? 0 : x & 0xfc;
		break;
	case IPPROTO_IP << 8 | IP_TTL:
		if (x != -1 && (x < 1 || x > 255))
			return -EINVAL;
		s->ttl = x < 0 ? 0 : x;
		break;
	case IPPROTO_IPV6 << 8 | IPV6_UNICAST_HOPS:
		if (x < -1 || x > 255)
			return -EINVAL;
		s->ttl = x <= 0 ? 0 : x;
		break;
	case IPPROTO_IPV6 << 8 | IPV6_V6ONLY: {
		int r = s->tcp ? uf_tcp_set_families(s->tcp, x ? UF_NET_V6 : UF_NET_V4 | UF_NET_V6)
			       : uf_udp_set_families(s->udp, x ? UF_NET_V6 : UF_NET_V4 | UF_NET_V6);
		if (r == 0)
			s->v6only = !!x;
		return r;                       /* -EINVAL once bound, as Linux */
	}
	default:
		return -ENOPROTOOPT;
	}
	set_ip(s);
	return 0;
}

static long ip_getsockopt(struct sock *s, int level, int optname, void *v, socklen_t *len)
{
	int x;
	if (level == IPPROTO_IPV6 && s->family != AF_INET6)
		return -ENOPROTOOPT;
	switch (level << 8 | optname) {
	case IPPROTO_IP << 8 | IP_TOS:
	case IPPROTO_IPV6 << 8 | IPV6_TCLASS: x = s->tos; break;
	case IPPROTO_IP << 8 | IP_TTL:
	case IPPROTO_IPV6 << 8 | IPV6_UNICAST_HOPS: x = s->ttl ? s->ttl : DEFAULT_TTL; break;
	case IPPROTO_IPV6 << 8 | IPV6_V6ONLY: x = s->v6only; break;
	default: return -ENOPROTOOPT;
	}
	return uf_sockopt_put(v, len, &x, sizeof x);
}

static long inet_setsockopt(struct uf_file *f, int level, int optname, const void *v, socklen_t len)
{
	struct sock *s = f->priv;
	int x;
	if (level == SOL_SOCKET) {
		switch (optname) {
		case UF_SO_RCVTIMEO_LONG:
		case UF_SO_RCVTIMEO_64:
			return uf_sockopt_get_timeout(optname, v, len, &s->rcvtimeo);
		case UF_SO_SNDTIMEO_LONG:
		case UF_SO_SNDTIMEO_64:
			return uf_sockopt_get_timeout(optname, v, len, &s->sndtimeo);
		}
		if (get_int(v, len, &x) < 0)
			return -EINVAL;
		switch (optname) {
		case SO_REUSEADDR:
		case SO_REUSEPORT:
			s->reuse = !!x;
			return 0;
		case SO_KEEPALIVE:
			s->keepalive = !!x;
			if (s->tcp)
				uf_tcp_set_keepalive(s->tcp, !!x, 0, 0, 0);
			return 0;
		case SO_BROADCAST:
			s->broadcast = !!x;
			return 0;
		case SO_LINGER:
			if (len < sizeof s->linger)
				return -EINVAL;
			memcpy(&s->linger, v, sizeof s->linger);
			return 0;
		case SO_RCVBUF:
		case SO_SNDBUF:
			if (x < 0)
				return -EINVAL;
			if (s->tcp)
				return uf_tcp_set_buffers(s->tcp, optname == SO_RCVBUF ? (size_t)x : 0,
							  optname == SO_SNDBUF ? (size_t)x : 0);
			if (optname == SO_RCVBUF)
				uf_udp_set_rcvbuf(s->udp, s->udp_rcvbuf = x < 2048 ? 2048 : (size_t)x);
			return 0;
		}
		return -ENOPROTOOPT;
	}
	if (level == IPPROTO_IP || level == IPPROTO_IPV6)
		return ip_setsockopt(s, level, optname, v, len);
	if (level == IPPROTO_TCP && s->tcp) {
		if (get_int(v, len, &x) < 0)
			return -EINVAL;
		switch (optname) {
		case TCP_NODELAY:
			s->nodelay = !!x;
			uf_tcp_set_nodelay(s->tcp, !!x);
			return 0;
		case TCP_KEEPIDLE:
		case TCP_KEEPINTVL:
		case TCP_KEEPCNT:
			if (x < 1 || x > 32767)
				return -EINVAL;
			uf_tcp_set_keepalive(s->tcp, s->keepalive, optname == TCP_KEEPIDLE ? x : 0,
					     optname == TCP_KEEPINTVL ? x : 0, optname == TCP_KEEPCNT ? x : 0);
			return 0;
		}
	}
	return -ENOPROTOOPT;
}

/* Linux's struct tcp_info, the fields tools read (ss -i, nginx's $tcpinfo_rtt, ...). */
static void tcp_info_from(const struct uf_tcp_info *i, struct tcp_info *ti)
{
	uint32_t mss = i->snd_mss ? i->snd_mss : 1;
	ti->tcpi_state = (uint8_t)i->state;
	ti->tcpi_ca_state = i->backoff ? 4 : i->in_recovery ? 3 : 0;    /* TCP_CA_Loss, TCP_CA_Recovery, Open */
	ti->tcpi_retransmits = (uint8_t)i->retransmits;
	ti->tcpi_backoff = (uint8_t)i->backoff;
	ti->tcpi_options = (i->timestamps ? TCPI_OPT_TIMESTAMPS : 0) | (i->sack ? TCPI_OPT_SACK : 0) |
			   (i->wscale ? TCPI_OPT_WSCALE : 0);
	ti->tcpi_snd_wscale = i->snd_wscale & 15;
	ti->tcpi_rcv_wscale = i->rcv_wscale & 15;
	ti->tcpi_rto = i->rto_us;
	ti->tcpi_snd_mss = i->snd_mss;
	ti->tcpi_rcv_mss = i->rcv_mss;
	ti->tcpi_advmss = i->rcv_mss;
	ti->tcpi_unacked = i->unacked / mss;            /* Linux counts these in segments */
	ti->tcpi_sacked = i->sacked / mss;
	ti->tcpi_lost = i->lost / mss;
	ti->tcpi_rtt = i->rtt_us;
	ti->tcpi_rttvar = i->rttvar_us;
	ti->tcpi_snd_ssthresh = i->ssthresh / mss;
	ti->tcpi_snd_cwnd = i->cwnd / mss;
	ti->tcpi_total_retrans = i->total_retrans;
	ti->tcpi_bytes_acked = i->bytes_acked;
	ti->tcpi_bytes_received = i->bytes_received;
	ti->tcpi_notsent_bytes = i->notsent;
	ti->tcpi_dsack_dups = i->dsacks;
	ti->tcpi_snd_wnd = i->snd_wnd;
	ti->tcpi_rcv_space = i->rcv_wnd;
	ti->tcpi_rcv_ssthresh = i->rcv_wnd;
	ti->tcpi_bytes_sent = i->bytes_sent;
	ti->tcpi_bytes_retrans = i->bytes_retrans;
	ti->tcpi_segs_out = i->segs_out;
	ti->tcpi_segs_in = i->segs_in;
	ti->tcpi_data_segs_out = i->data_segs_out;
	ti->tcpi_data_segs_in = i->data_segs_in;
	ti->tcpi_min_rtt = i->min_rtt_us;
	ti->tcpi_pmtu = i->pmtu;
	ti->tcpi_last_data_sent = i->last_data_sent_ms;
	ti->tcpi_last_data_recv = i->last_data_recv_ms;
	ti->tcpi_last_ack_recv = i->last_ack_recv_ms;
}

static long inet_getsockopt(struct uf_file *f, int level, int optname, void *v, socklen_t *len)
{
	struct sock *s = f->priv;
	size_t rcv = 0, snd = 0;
	if (s->tcp) {
		uf_tcp_buffers(s->tcp, &rcv, &snd);
	} else {
		rcv = s->udp_rcvbuf ? s->udp_rcvbuf : UDP_DEFAULT_BUF;
		snd = UDP_DEFAULT_BUF;      /* datagrams go out at once: this only answers getsockopt */
	}
	int x;
	if (level == SOL_SOCKET) {
		switch (optname) {
		case UF_SO_RCVTIMEO_LONG:
		case UF_SO_RCVTIMEO_64:
			return uf_sockopt_put_timeout(optname, v, len, s->rcvtimeo);
		case UF_SO_SNDTIMEO_LONG:
		case UF_SO_SNDTIMEO_64:
			return uf_sockopt_put_timeout(optname, v, len, s->sndtimeo);
		case SO_ERROR: x = s->tcp ? uf_tcp_take_error(s->tcp) : 0; break;
		case SO_TYPE: x = s->type; break;
		case SO_DOMAIN: x = s->family; break;
		case SO_PROTOCOL: x = s->tcp ? IPPROTO_TCP : IPPROTO_UDP; break;
		case SO_REUSEADDR:
		case SO_REUSEPORT: x = s->reuse; break;
		case SO_KEEPALIVE: x = s->keepalive; break;
		case SO_BROADCAST: x = s->broadcast; break;
		case SO_RCVBUF: x = (int)rcv; break;
		case SO_SNDBUF: x = (int)snd; break;
		case SO_LINGER: return uf_sockopt_put(v, len, &s->linger, sizeof s->linger);
		default: return -ENOPROTOOPT;
		}
		return uf_sockopt_put(v, len, &x, sizeof x);
	}
	if (level == IPPROTO_IP || level == IPPROTO_IPV6)
		return ip_getsockopt(s, level, optname, v, len);
	if (level == IPPROTO_TCP && s->tcp) {
		struct uf_tcp_info i;
		uf_tcp_get_info(s->tcp, &i);
		switch (optname) {
		case TCP_NODELAY: x = s->nodelay; break;
		case TCP_KEEPIDLE: x = i.keep_idle_s; break;
		case TCP_KEEPINTVL: x = i.keep_intvl_s; break;
		case TCP_KEEPCNT: x = i.keep_cnt; break;
		case TCP_MAXSEG: x = (int)i.snd_mss; break;
		case TCP_INFO: {
			struct tcp_info ti = { 0 };
			tcp_info_from(&i, &ti);
			return uf_sockopt_put(v, len, &ti, sizeof ti);
		}
		default: return -ENOPROTOOPT;
		}
		return uf_sockopt_put(v, len, &x, sizeof x);
	}
	return -ENOPROTOOPT;
}

/* ---- the file ---- */

static ssize_t sock_read(struct uf_file *f, void *buf, size_t n)
{
	struct iovec v = { buf, n };
	return do_recv(f->priv, &v, 1, 0, 0, 0, 0);
}

static ssize_t sock_write(struct uf_file *f, const void *buf, size_t n)
{
	struct iovec v = { (void *)buf, n };
	return do_send(f->priv, &v, 1, 0, 0, 0);
}

/* readv/writev: one datagram for all the segments. */
static ssize_t sock_readv(struct uf_file *f, const struct iovec *iov, int count)
{
	return do_recv(f->priv, iov, count, 0, 0, 0, 0);
}

static ssize_t sock_writev(struct uf_file *f, const struct iovec *iov, int count)
{
	return do_send(f->priv, iov, count, 0, 0, 0);
}

/* SO_LINGER with a timeout on a blocking socket: send the FIN after the data, then wait until the peer
 * acknowledged everything, the connection ended, or the time is up. */
static void linger(struct sock *s)
{
	uint64_t deadline = uf_time_monotonic_ns() + (uint64_t)s->linger.l_linger * 1000000000;
	struct uf_tcp_info i;
	uf_tcp_shutdown(s->tcp, 0, 1);
	uf_net_poll();
	for (uf_tcp_get_info(s->tcp, &i); (i.unacked || i.notsent) && i.state != 7 /* CLOSE */;
	     uf_tcp_get_info(s->tcp, &i))
		if (wait_more(0, deadline, 0))       /* the time is up, or a signal: close goes on */
			break;
}

static int sock_close(struct uf_file *f)
{
	struct sock *s = f->priv;
	if (s->tcp && s->linger.l_onoff && !s->linger.l_linger) {
		uf_tcp_abort(s->tcp);                   /* zero timeout: a reset, the data dropped */
	} else if (s->tcp) {
		if (s->linger.l_onoff && !(f->flags & O_NONBLOCK))
			linger(s);
		uf_tcp_close(s->tcp);
	} else {
		uf_udp_free(s->udp);
	}
	free(s);
	return 0;
}

/* The scan that asks has run the stack already (uf_poll_scan_start), once for all its sockets. */
static unsigned sock_poll(struct uf_file *f, unsigned long long *wake_ns)
{
	struct sock *s = f->priv;
	(void)wake_ns;
	return s->tcp ? uf_tcp_events(s->tcp) : uf_udp_events(s->udp);
}

static int sock_ioctl(struct uf_file *f, unsigned long req, void *arg)
{
	struct sock *s = f->priv;
	switch (req) {
	case FIONBIO: {
		int on;
		memcpy(&on, arg, sizeof on);
		f->flags = on ? f->flags | O_NONBLOCK : f->flags & ~O_NONBLOCK;
		return 0;
	}
	case FIONREAD: {
		/* Bytes readable now: a stream's buffered bytes, a datagram socket's next datagram. */
		char probe[1];
		int n = 0;
		if (s->tcp) {
			n = (int)uf_tcp_unread(s->tcp);
		} else {
			struct iovec v = { probe, sizeof probe };
			uint8_t a[16];
			uint16_t p;
			size_t full = 0;
			if (uf_udp_recv(s->udp, &v, 1, a, &p, 1, &full) >= 0)
				n = (int)full;
		}
		memcpy(arg, &n, sizeof n);
		return 0;
	}
	}
	return -ENOTTY;
}

static int sock_fstat(struct uf_file *f, struct stat *st)
{
	(void)f;
	*st = (struct stat){ .st_mode = S_IFSOCK | 0777, .st_nlink = 1, .st_blksize = 4096 };
	return 0;
}

void uf_socket_exit(void)
{
	uint64_t bound = UF_SOCKET_EXIT_NS;
	for (int fd = 0; fd < uf_fd_max; fd++) {
		struct uf_file *f = uf_fd_get(fd);
		if (!f || f->ops != &socket_ops)
			continue;
		struct sock *s = f->priv;
		if (s->tcp && s->linger.l_onoff && (uint64_t)s->linger.l_linger * 1000000000 > bound)
			bound = (uint64_t)s->linger.l_linger * 1000000000;
		f->flags |= O_NONBLOCK;         /* close waits for none: all connections finish together below */
		uf_sys_close(fd);
	}
	uf_net_flush(uf_time_monotonic_ns() + bound);
}

static const struct uf_socket_ops inet_ops = {
	.bind = inet_bind,
	.listen = inet_listen,
	.accept = inet_accept,
	.connect = inet_connect,
	.sendmsg = inet_sendmsg,
	.recvmsg = inet_recvmsg,
	.shutdown = inet_shutdown,
	.getsockname = inet_getsockname,
	.getpeername = inet_getpeername,
	.setsockopt = inet_setsockopt,
	.getsockopt = inet_getsockopt,
};

static const struct uf_file_ops socket_ops = {
	.read = sock_read,
	.write = sock_write,
	.close = sock_close,
	.ioctl = sock_ioctl,
	.fstat = sock_fstat,
	.poll = sock_poll,
	.readv = sock_readv,
	.writev = sock_writev,
	.socket = &inet_ops,
};

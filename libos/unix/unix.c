/* AF_UNIX sockets within the one process: every socket has a queue of received messages, and sending appends
 * to the peer's. A stream reads across messages; a datagram or seqpacket read takes one. A message carries its
 * sender's name and the open files of an SCM_RIGHTS (references held while in flight).
 *
 * A socket lives while its file is open or another socket points at it (its connected peer, a listener's queue
 * of connections not yet accepted): `refs` counts those. A connection is made at once by connect() (the
 * accepting end is created then and queued on the listener), so data can flow before accept(). Blocking calls
 * loop over uf_fd_wait (uf/fd.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <uf/fd.h>
#include <uf/signal.h>
#include <uf/sockcall.h>
#include <uf/unix.h>

#define DEFAULT_BUF 212992      /* SO_SNDBUF/SO_RCVBUF's default: Linux's net.core.wmem_default */
#define MIN_BUF 4608            /* and Linux's bounds for what setsockopt may set (the doubled value) */
#define MAX_BUF (2 * DEFAULT_BUF)
#define MAX_RIGHTS 253          /* SCM_MAX_FD */
#define MAX_BACKLOG 4096        /* SOMAXCONN */
#define NAME_OFFSET offsetof(struct sockaddr_un, sun_path)

/* A socket's name: a path (first byte not NUL; len without the terminating NUL), an abstract name (first
 * byte NUL; len counts it), or none (len 0). */
struct name {
	socklen_t len;
	char path[sizeof ((struct sockaddr_un *)0)->sun_path];
};

struct msg {
	struct msg *next;
	size_t len, taken;              /* bytes, and bytes a stream read already took */
	struct name from;
	int nfiles;
	struct uf_file **files;         /* SCM_RIGHTS in flight: one reference each */
	char data[];
};

enum state { FRESH, LISTENING, CONNECTED };
#define SHUT_IN 1                   /* nothing more arrives: reads end once the queue is empty */
#define SHUT_OUT 2                  /* nothing more may be sent: EPIPE */

struct usock {
	int type;                       /* SOCK_STREAM, SOCK_DGRAM or SOCK_SEQPACKET */
	enum state state;
	int refs;
	struct uf_file *file;           /* 0 once closed */
	struct usock *peer;             /* the other end; a datagram socket's default destination */
	struct name name;
	struct usock *next_bound;
	struct msg *head, *tail;        /* received, oldest first */
	size_t queued, rcvbuf, sndbuf;  /* queued: bytes not yet read */
	struct usock *pending, *pending_tail, *next_pending;   /* a listener's connections not yet accepted */
	int npending, backlog;
	int shut;
	int err;                        /* ECONNRESET once the peer closed with data unread; reported once */
	int passcred;
	uint64_t rcvtimeo, sndtimeo;    /* ns; 0: wait forever */
};

static const struct uf_file_ops unix_file_ops;
static struct usock *bound;         /* every socket with a name */
static unsigned autobind_next;

/* ---- lifetime ---- */

static struct usock *new_sock(int type)
{
	struct usock *s = calloc(1, sizeof *s);
	if (!s)
		return 0;
	s->type = type;
	s->refs = 1;
	s->rcvbuf = s->sndbuf = DEFAULT_BUF;
	return s;
}

static struct usock *hold(struct usock *s)
{
	s->refs++;
	return s;
}

static void free_msg(struct msg *m)
{
	for (int i = 0; i < m->nfiles; i++)
		uf_file_put(m->files[i]);
	free(m->files);
	free(m);
}

static void flush(struct usock *s)
{
	while (s->head) {
		struct msg *m = s->head;
		s->head = m->next;
		free_msg(m);
	}
	s->tail = 0;
	s->queued = 0;
}

static void release(struct usock *s)
{
	if (--s->refs)
		return;
	flush(s);
	free(s);
}

static void unbind(struct usock *s)
{
	for (struct usock **p = &bound; *p; p = &(*p)->next_bound)
		if (*p == s) {
			*p = s->next_bound;
			return;
		}
}

/* The end of a socket (its file closed, or a connection never accepted): its peer sees the end of the stream,
 * and ECONNRESET too if this end left data unread (reset: always, as for a connection never accepted). */
static void sever(struct usock *s, int reset)
{
	int unread = s->head != 0;
	unbind(s);
	flush(s);
	s->shut = SHUT_IN | SHUT_OUT;
	while (s->pending) {
		struct usock *c = s->pending;
		s->pending = c->next_pending;
		sever(c, 1);
		release(c);
	}
	s->pending_tail = 0;
	s->npending = 0;
	struct usock *p = s->peer;
	if (!p)
		return;
	if (s->type != SOCK_DGRAM) {
		p->shut = SHUT_IN | SHUT_OUT;
		if (unread || reset)
			p->err = ECONNRESET;
		uf_fd_wake(p->file);
	}
	s->peer = 0;            /* the peer still points here (getpeername): that reference keeps this alive */
	release(p);
}

static int unix_close(struct uf_file *f)
{
	struct usock *s = f->priv;
	s->file = 0;
	sever(s, 0);
	release(s);
	return 0;
}

static void pair(struct usock *a, struct usock *b)
{
	a->peer = hold(b);
	b->peer = hold(a);
	a->state = b->state = CONNECTED;
}

/* A socket that never had a file. */
static void discard(struct usock *s)
{
	sever(s, 0);
	release(s);
}

/* Puts a socket in the descriptor table (its reference becomes the file's): the descriptor, or -errno. */
static long install(struct usock *s, int flags)
{
	int fd = uf_fd_install(&unix_file_ops, s, O_RDWR | (flags & SOCK_NONBLOCK ? O_NONBLOCK : 0));
	if (fd < 0)
		return fd;
	s->file = uf_fd_get(fd);
	if (flags & SOCK_CLOEXEC)
		s->file->fd_flags = FD_CLOEXEC;
	return fd;
}

static int kind_of(int type, int protocol)
{
	if (protocol && protocol != PF_UNIX)
		return -EPROTONOSUPPORT;
	switch (type) {
	case SOCK_STREAM:
	case SOCK_DGRAM:
	case SOCK_SEQPACKET:
		return type;
	case SOCK_RAW:
		return SOCK_DGRAM;          /* as Linux */
	}
	return -ESOCKTNOSUPPORT;
}

long uf_unix_socket(int type, int protocol)
{
	int kind = kind_of(type & 0xf, protocol), flags = type & ~0xf;
	if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC))
		return -EINVAL;
	if (kind < 0)
		return kind;
	struct usock *s = new_sock(kind);
	if (!s)
		return -ENOMEM;
	long fd = install(s, flags);
	if (fd < 0)
		discard(s);
	return fd;
}

long uf_sys_socketpair(int domain, int type, int protocol, int fds[2])
{
	if (domain != AF_UNIX)
		return domain == AF_INET || domain == AF_INET6 ? -EOPNOTSUPP : -EAFNOSUPPORT;
	int kind = kind_of(type & 0xf, protocol), flags = type & ~0xf;
	if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC))
		return -EINVAL;
	if (kind < 0)
		return kind;
	struct usock *a = new_sock(kind), *b = new_sock(kind);
	if (!a || !b) {
		free(a);
		free(b);
		return -ENOMEM;
	}
	pair(a, b);
	long fa = install(a, flags), fb = fa < 0 ? fa : install(b, flags);
	if (fb < 0) {
		if (fa >= 0)
			uf_sys_close((int)fa);
		else
			discard(a);
		discard(b);
		return fb;
	}
	fds[0] = (int)fa;
	fds[1] = (int)fb;
	return 0;
}

/* ---- names ---- */

/* A sockaddr_un as a name; *autobind is set for an address of the family alone (bind picks a name then). */
static int parse_name(const struct sockaddr *sa, socklen_t len, struct name *n, int *autobind)
{
	if (!sa || len < NAME_OFFSET || len > sizeof(struct sockaddr_un) || sa->sa_family != AF_UNIX)
		return -EINVAL;
	const char *path = ((const struct sockaddr_un *)sa)->sun_path;
	socklen_t max = len - NAME_OFFSET;
	*autobind = max == 0;
	if (max == 0)
		return 0;
	n->len = path[0] ? (socklen_t)strnlen(path, max) : max;
	memcpy(n->path, path, n->len);
	return 0;
}

static struct usock *lookup(const struct name *n)
{
	for (struct usock *s = bound; s; s = s->next_bound)
		if (s->name.len == n->len && !memcmp(s->name.path, n->path, n->len))
			return s;
	return 0;
}

/* Where a name is not bound: a path names no socket file, an abstract name refuses. */
static int not_found(const struct name *n)
{
	return n->path[0] ? -ENOENT : -ECONNREFUSED;
}

/* Writes a name as a sockaddr_un truncated to *len, and sets *len to its full length: the family alone when
 * there is no name (unnamed: that length, as Linux reports unnamed senders in recvmsg with 0). */
static void put_name(const struct name *n, struct sockaddr *sa, socklen_t *len, socklen_t unnamed)
{
	if (!sa || !len)
		return;
	struct sockaddr_un u = { .sun_family = AF_UNIX };
	memcpy(u.sun_path, n->path, n->len);
	socklen_t full = !n->len ? unnamed : NAME_OFFSET + n->len + (n->path[0] ? 1 : 0);
	if (full > sizeof u)
		full = sizeof u;
	memcpy(sa, &u, *len < full ? *len : full);
	*len = full;
}

static int autobind(struct usock *s)
{
	struct name n = { .len = 6 };
	for (int tries = 0; tries < 0x100000; tries++) {
		unsigned v = autobind_next++ & 0xfffff;
		for (int i = 5; i >= 1; i--, v >>= 4)
			n.path[i] = "0123456789abcdef"[v & 0xf];
		if (!lookup(&n)) {
			s->name = n;
			s->next_bound = bound;
			bound = s;
			return 0;
		}
	}
	return -ENOSPC;
}

static long unix_bind(struct uf_file *f, const struct sockaddr *sa, socklen_t len)
{
	struct usock *s = f->priv;
	struct name n = { 0 };
	int automatic, r = parse_name(sa, len, &n, &automatic);
	if (r < 0)
		return r;
	if (s->name.len)
		return -EINVAL;
	if (automatic)
		return autobind(s);
	if (lookup(&n))
		return -EADDRINUSE;
	s->name = n;
	s->next_bound = bound;
	bound = s;
	return 0;
}

static long unix_getsockname(struct uf_file *f, struct sockaddr *sa, socklen_t *len)
{
	struct usock *s = f->priv;
	put_name(&s->name, sa, len, NAME_OFFSET);
	return 0;
}

static long unix_getpeername(struct uf_file *f, struct sockaddr *sa, socklen_t *len)
{
	struct usock *s = f->priv;
	if (s->state != CONNECTED || !s->peer)
		return -ENOTCONN;
	put_name(&s->peer->name, sa, len, NAME_OFFSET);
	return 0;
}

/* ---- connections ---- */

static uint64_t deadline_after(uint64_t timeout)
{
	return timeout ? uf_time_monotonic_ns() + timeout : UINT64_MAX;
}

static int nonblocking(const struct uf_file *f, int flags)
{
	return (flags & MSG_DONTWAIT) || (f->flags & O_NONBLOCK);
}

static long unix_listen(struct uf_file *f, int backlog)
{
	struct usock *s = f->priv;
	if (s->type == SOCK_DGRAM)
		return -EOPNOTSUPP;
	if (s->state == CONNECTED || !s->name.len)
		return -EINVAL;
	s->backlog = (unsigned)backlog > MAX_BACKLOG ? MAX_BACKLOG : backlog;
	s->state = LISTENING;
	return 0;
}

static long connect_datagram(struct usock *s, const struct sockaddr *sa, socklen_t len)
{
	struct name n = { 0 };
	int automatic, r;
	if (sa && len >= sizeof(sa_family_t) && sa->sa_family == AF_UNSPEC) {
		if (s->peer)
			release(s->peer);
		s->peer = 0;
		s->state = FRESH;
		return 0;
	}
	if ((r = parse_name(sa, len, &n, &automatic)) < 0 || automatic)
		return r < 0 ? r : -EINVAL;
	struct usock *t = lookup(&n);
	if (!t)
		return not_found(&n);
	if (t->type != SOCK_DGRAM)
		return -EPROTOTYPE;
	if (t->peer && t->peer != s)
		return -EPERM;              /* it takes datagrams only from the socket it is connected to */
	if (s->peer)
		release(s->peer);
	s->peer = hold(t);
	s->state = CONNECTED;
	return 0;
}

static long unix_connect(struct uf_file *f, const struct sockaddr *sa, socklen_t len)
{
	struct usock *s = f->priv;
	if (s->type == SOCK_DGRAM)
		return connect_datagram(s, sa, len);
	struct name n = { 0 };
	int automatic, r = parse_name(sa, len, &n, &automatic);
	if (r < 0 || automatic)
		return r < 0 ? r : -EINVAL;
	if (s->state == CONNECTED)
		return -EISCONN;
	if (s->state == LISTENING)
		return -EINVAL;
	uint64_t deadline = deadline_after(s->sndtimeo);
	for (;;) {
		struct usock *t = lookup(&n);
		if (!t)
			return not_found(&n);
		if (t->type != s->type)
			return -EPROTOTYPE;
		if (t->state != LISTENING)
			return -ECONNREFUSED;
		if (t->npending <= t->backlog) {
			struct usock *c = new_sock(s->type);
			if (!c)
				return -ENOMEM;
			c->name = t->name;
			pair(s, c);
			if (t->pending)
				t->pending_tail->next_pending = c;
			else
				t->pending = c;
			t->pending_tail = c;
			t->npending++;
			uf_fd_wake(t->file);
			return 0;
		}
		if ((r = uf_fd_wait(nonblocking(f, 0), deadline, 0)) < 0)      /* connect: never restarted */
			return r;               /* -EAGAIN (the backlog is full), or -EINTR */
	}
}

static long unix_accept(struct uf_file *f, struct sockaddr *sa, socklen_t *len, int flags)
{
	struct usock *s = f->priv;
	if (s->type == SOCK_DGRAM)
		return -EOPNOTSUPP;
	if (s->state != LISTENING)
		return -EINVAL;
	uint64_t deadline = deadline_after(s->rcvtimeo);
	long r;
	while (!s->pending)
		if ((r = uf_fd_wait(nonblocking(f, 0), deadline, deadline == UINT64_MAX)) < 0)
			return r;
	struct usock *c = s->pending;
	long fd = install(c, flags);    /* the queue's reference becomes the file's */
	if (fd < 0)
		return fd;                  /* the connection stays queued */
	s->pending = c->next_pending;
	if (!s->pending)
		s->pending_tail = 0;
	s->npending--;
	c->next_pending = 0;
	put_name(&c->peer->name, sa, len, NAME_OFFSET);     /* the client, kept while c points at it */
	return fd;
}

static long unix_shutdown(struct uf_file *f, int how)
{
	struct usock *s = f->priv;
	int mask = how == SHUT_RD ? SHUT_IN : how == SHUT_WR ? SHUT_OUT : SHUT_IN | SHUT_OUT;
	s->shut |= mask;
	/* What this end no longer receives, the peer may no longer send, and the reverse. */
	if (s->peer && s->type != SOCK_DGRAM) {
		s->peer->shut |= (mask & SHUT_IN ? SHUT_OUT : 0) | (mask & SHUT_OUT ? SHUT_IN : 0);
		uf_fd_wake(s->peer->file);
	}
	return 0;
}

/* ---- data ---- */

/* Copies len bytes starting skip bytes into the segments into out. */
static void gather(char *out, const struct iovec *iov, int count, size_t skip, size_t len)
{
	for (int i = 0; i < count && len; i++) {
		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			continue;
		}
		size_t n = iov[i].iov_len - skip < len ? iov[i].iov_len - skip : len;
		memcpy(out, (const char *)iov[i].iov_base + skip, n);
		out += n;
		len -= n;
		skip = 0;
	}
}

/* Copies len bytes of in into the segments, starting skip bytes into them. */
static void scatter(const struct iovec *iov, int count, size_t skip, const char *in, size_t len)
{
	for (int i = 0; i < count && len; i++) {
		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			continue;
		}
		size_t n = iov[i].iov_len - skip < len ? iov[i].iov_len - skip : len;
		memcpy((char *)iov[i].iov_base + skip, in, n);
		in += n;
		len -= n;
		skip = 0;
	}
}

/* The open files of a message's SCM_RIGHTS (not yet held), in *files; -EBADF, -EINVAL as Linux. */
static int rights_of(const struct msghdr *m, struct uf_file **files, int *nfiles)
{
	size_t size = m->msg_control ? m->msg_controllen : 0;
	*nfiles = 0;
	/* musl's CMSG_NXTHDR does not compile cleanly here (signed and unsigned compared on 32-bit): walk by hand. */
	for (size_t at = 0, len; at + CMSG_LEN(0) <= size; at += CMSG_ALIGN(len)) {
		struct cmsghdr *c = (void *)((char *)m->msg_control + at);
		len = c->cmsg_len;
		if (len < CMSG_LEN(0) || len > size - at || c->cmsg_level != SOL_SOCKET)
			return -EINVAL;
		if (c->cmsg_type == SCM_CREDENTIALS)
			continue;               /* the sender is this process: nothing to check or pass */
		if (c->cmsg_type != SCM_RIGHTS)
			return -EINVAL;
		int n = (int)((len - CMSG_LEN(0)) / sizeof(int));
		if (*nfiles + n > MAX_RIGHTS)
			return -EINVAL;
		for (int i = 0; i < n; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(c) + i * sizeof fd, sizeof fd);
			if (!(files[*nfiles + i] = uf_fd_get(fd)))
				return -EBADF;
		}
		*nfiles += n;
	}
	return 0;
}

/* Appends len bytes of the segments (from skip on) to t's queue, with the files, as one message. */
static int deliver(struct usock *t, const struct usock *from, const struct iovec *iov, int count, size_t skip,
		   size_t len, struct uf_file **files, int nfiles)
{
	struct msg *m = malloc(sizeof *m + len);
	if (!m)
		return -ENOMEM;
	*m = (struct msg){ .len = len, .from = from->name };
	if (nfiles) {
		if (!(m->files = malloc(nfiles * sizeof *m->files))) {
			free(m);
			return -ENOMEM;
		}
		for (int i = 0; i < nfiles; i++)
			uf_file_hold(m->files[i] = files[i]);
		m->nfiles = nfiles;
	}
	gather(m->data, iov, count, skip, len);
	if (t->tail)
		t->tail->next = m;
	else
		t->head = m;
	t->tail = m;
	t->queued += len;
	uf_fd_wake(t->file);
	return 0;
}

static size_t room(const struct usock *t)
{
	return t->queued < t->rcvbuf ? t->rcvbuf - t->queued : 0;
}

static long broken_pipe(int flags)
{
	if (!(flags & MSG_NOSIGNAL))
		uf_signal_raise(SIGPIPE);
	return -EPIPE;
}

/* A stream or seqpacket send: into the peer's queue, as room allows (a seqpacket message whole). */
static long send_connected(struct uf_file *f, struct usock *s, const struct msghdr *m, int flags,
			   struct uf_file **files, int nfiles)
{
	size_t total = uf_iov_total(m->msg_iov, (int)m->msg_iovlen), sent = 0;
	uint64_t deadline = deadline_after(s->sndtimeo);
	if (m->msg_namelen)
		return s->state == CONNECTED ? -EISCONN : -EOPNOTSUPP;
	if (s->state != CONNECTED)
		return -ENOTCONN;
	if (s->type == SOCK_SEQPACKET && total > s->sndbuf - 32)
		return -EMSGSIZE;
	if (!total && s->type == SOCK_STREAM)
		return s->shut & SHUT_OUT ? broken_pipe(flags) : 0;
	do {
		struct usock *p = s->peer;
		if ((s->shut & SHUT_OUT) || !p || !p->file || (p->shut & SHUT_IN))
			return sent ? (long)sent : broken_pipe(flags);
		size_t n = s->type == SOCK_STREAM ? (total - sent < room(p) ? total - sent : room(p))
		           : room(p) >= total || !p->head ? total : 0;
		if (n || !total) {
			int r = deliver(p, s, m->msg_iov, (int)m->msg_iovlen, sent, n, files, nfiles);
			if (r < 0)
				return sent ? (long)sent : r;
			sent += n;
			nfiles = 0;             /* the files go with the first bytes */
			continue;
		}
		long r = uf_fd_wait(nonblocking(f, flags), deadline, deadline == UINT64_MAX);
		if (r < 0)
			return sent ? (long)sent : r;
	} while (sent < total);
	return (long)sent;
}

/* The socket a datagram goes to: the one bound to its address, else the connected peer (a closed peer: the
 * connection is dropped, ECONNREFUSED). Looked up again after each wait: a signal handler may close it. */
static long destination(struct usock *s, const struct msghdr *m, struct usock **t)
{
	if (m->msg_name && m->msg_namelen) {
		struct name n = { 0 };
		int automatic, r = parse_name(m->msg_name, m->msg_namelen, &n, &automatic);
		if (r < 0 || automatic)
			return r < 0 ? r : -EINVAL;
		return (*t = lookup(&n)) ? 0 : not_found(&n);
	}
	if (!(*t = s->peer))
		return -ENOTCONN;
	if (!(*t)->file) {
		s->peer = 0;
		s->state = FRESH;
		release(*t);
		return -ECONNREFUSED;
	}
	return 0;
}

static long send_datagram(struct uf_file *f, struct usock *s, const struct msghdr *m, int flags,
			  struct uf_file **files, int nfiles)
{
	size_t total = uf_iov_total(m->msg_iov, (int)m->msg_iovlen);
	uint64_t deadline = deadline_after(s->sndtimeo);
	struct usock *t;
	long r;
	while ((r = destination(s, m, &t)) == 0) {
		if (t->type != SOCK_DGRAM)
			return -EPROTOTYPE;
		if (total > s->sndbuf - 32)
			return -EMSGSIZE;
		if (t->peer && t->peer != s)
			return -EPERM;
		if ((s->shut & SHUT_OUT) || (t->shut & SHUT_IN))
			return -EPIPE;
		if (room(t) >= total || !t->head) {
			r = deliver(t, s, m->msg_iov, (int)m->msg_iovlen, 0, total, files, nfiles);
			return r < 0 ? r : (long)total;
		}
		if ((r = uf_fd_wait(nonblocking(f, flags), deadline, deadline == UINT64_MAX)) < 0)
			return r;
	}
	return r;
}

static long unix_sendmsg(struct uf_file *f, const struct msghdr *m, int flags)
{
	struct usock *s = f->priv;
	struct uf_file *files[MAX_RIGHTS];
	int nfiles;
	if (flags & MSG_OOB)
		return -EOPNOTSUPP;
	int r = rights_of(m, files, &nfiles);
	if (r < 0)
		return r;
	if (s->type == SOCK_DGRAM)
		return send_datagram(f, s, m, flags, files, nfiles);
	return send_connected(f, s, m, flags, files, nfiles);
}

/* Hands a message's files to the reader as new descriptors, as many as the control buffer (controllen bytes)
 * has room for (the rest are closed: MSG_CTRUNC), and drops the message's references. Returns the control
 * bytes used. */
static size_t take_rights(struct msg *msg, struct msghdr *m, size_t controllen, int flags, int *msg_flags)
{
	int room_for = 0;
	if (m->msg_control && controllen >= CMSG_LEN(sizeof(int)))
		room_for = (int)((controllen - CMSG_LEN(0)) / sizeof(int));
	int n = 0;
	struct cmsghdr *c = m->msg_control;
	for (int i = 0; i < msg->nfiles; i++) {
		int fd = i < room_for ? uf_fd_install_file(msg->files[i], flags & MSG_CMSG_CLOEXEC ? FD_CLOEXEC : 0)
		                      : -1;
		if (fd >= 0)
			memcpy(CMSG_DATA(c) + n++ * sizeof fd, &fd, sizeof fd);
		else
			*msg_flags |= MSG_CTRUNC;
		uf_file_put(msg->files[i]);
	}
	free(msg->files);
	msg->files = 0;
	msg->nfiles = 0;
	if (!n)
		return 0;
	memset(c, 0, sizeof *c);            /* also the padding of a 64-bit cmsg_len */
	c->cmsg_len = CMSG_LEN(n * sizeof(int));
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	return CMSG_SPACE(n * sizeof(int)) < controllen ? CMSG_SPACE(n * sizeof(int)) : controllen;
}

/* Drops the oldest message once read: room for the peer. */
static void pop(struct usock *s)
{
	struct msg *m = s->head;
	s->head = m->next;
	if (!s->head)
		s->tail = 0;
	s->queued -= m->len - m->taken;
	free_msg(m);
	if (s->peer)
		uf_fd_wake(s->peer->file);
}

/* Waits until there is something to read: 1, or 0 at the end of the stream, or -errno. */
static long wait_readable(struct uf_file *f, struct usock *s, int flags, uint64_t deadline)
{
	for (;;) {
		if (s->head)
			return 1;
		if (s->err) {
			int e = s->err;
			s->err = 0;
			return -e;
		}
		if (s->shut & SHUT_IN)
			return 0;
		long r = uf_fd_wait(nonblocking(f, flags), deadline, deadline == UINT64_MAX);
		if (r < 0)
			return r;
	}
}

static long unix_recvmsg(struct uf_file *f, struct msghdr *m, int flags)
{
	struct usock *s = f->priv;
	const struct iovec *iov = m->msg_iov;
	int count = (int)m->msg_iovlen, peek = flags & MSG_PEEK, msg_flags = 0;
	size_t space = uf_iov_total(iov, count), got = 0;
	uint64_t deadline = deadline_after(s->rcvtimeo);
	socklen_t namelen = m->msg_namelen;
	if (flags & MSG_OOB)
		return -EOPNOTSUPP;
	if (s->type != SOCK_DGRAM && s->state != CONNECTED)
		return -EINVAL;
	long r = wait_readable(f, s, flags, deadline);
	if (r <= 0)
		return r;
	put_name(&s->head->from, m->msg_name, &namelen, 0);
	m->msg_namelen = m->msg_name ? namelen : 0;
	size_t controllen = m->msg_controllen;
	m->msg_controllen = 0;
	if (s->type != SOCK_STREAM) {
		struct msg *msg = s->head;
		got = msg->len < space ? msg->len : space;
		scatter(iov, count, 0, msg->data, got);
		if (got < msg->len)
			msg_flags |= MSG_TRUNC;
		if (flags & MSG_TRUNC)
			got = msg->len;
		if (!peek) {
			m->msg_controllen = take_rights(msg, m, controllen, flags, &msg_flags);
			pop(s);
		}
		m->msg_flags = msg_flags;
		return (long)got;
	}
	/* A stream: bytes across messages, up to one that carries files (they come with its first byte). */
	struct msg *msg = s->head;
	while (got < space) {
		if (!msg) {
			if (peek || !(flags & MSG_WAITALL))
				break;
			if ((r = wait_readable(f, s, flags, deadline)) <= 0)
				break;
			msg = s->head;
		}
		if (got && msg->nfiles)
			break;
		size_t left = msg->len - msg->taken, n = space - got < left ? space - got : left;
		scatter(iov, count, got, msg->data + msg->taken, n);
		got += n;
		if (peek) {
			msg = msg->next;
			continue;
		}
		if (msg->nfiles)
			m->msg_controllen = take_rights(msg, m, controllen, flags, &msg_flags);
		msg->taken += n;
		s->queued -= n;
		if (msg->taken < msg->len) {
			if (s->peer)
				uf_fd_wake(s->peer->file);     /* room made */
			break;
		}
		struct msg *next = msg->next;
		msg->taken = msg->len;  /* pop() subtracts what is left: nothing */
		pop(s);
		msg = next;
	}
	m->msg_flags = msg_flags;
	return (long)got;
}

/* ---- options ---- */

static long unix_setsockopt(struct uf_file *f, int level, int optname, const void *v, socklen_t len)
{
	struct usock *s = f->priv;
	int x;
	if (level != SOL_SOCKET)
		return -ENOPROTOOPT;
	switch (optname) {
	case UF_SO_RCVTIMEO_LONG:
	case UF_SO_RCVTIMEO_64:
		return uf_sockopt_get_timeout(optname, v, len, &s->rcvtimeo);
	case UF_SO_SNDTIMEO_LONG:
	case UF_SO_SNDTIMEO_64:
		return uf_sockopt_get_timeout(optname, v, len, &s->sndtimeo);
	}
	if (!v || len < sizeof x)
		return -EINVAL;
	memcpy(&x, v, sizeof x);
	switch (optname) {
	case SO_RCVBUF:
	case SO_SNDBUF: {
		/* Linux keeps (and reports) twice what is asked, within its bounds. */
		size_t b = x < MIN_BUF / 2 ? MIN_BUF : (size_t)x > MAX_BUF / 2 ? MAX_BUF : 2 * (size_t)x;
		*(optname == SO_RCVBUF ? &s->rcvbuf : &s->sndbuf) = b;
		return 0;
	}
	case SO_PASSCRED:
		s->passcred = !!x;
		return 0;
	case SO_REUSEADDR:
	case SO_KEEPALIVE:
	case SO_LINGER:
		return 0;                   /* accepted, as Linux does; nothing to change here */
	}
	return -ENOPROTOOPT;
}

static long unix_getsockopt(struct uf_file *f, int level, int optname, void *v, socklen_t *len)
{
	struct usock *s = f->priv;
	int x;
	if (level != SOL_SOCKET)
		return -ENOPROTOOPT;
	switch (optname) {
	case UF_SO_RCVTIMEO_LONG:
	case UF_SO_RCVTIMEO_64:
		return uf_sockopt_put_timeout(optname, v, len, s->rcvtimeo);
	case UF_SO_SNDTIMEO_LONG:
	case UF_SO_SNDTIMEO_64:
		return uf_sockopt_put_timeout(optname, v, len, s->sndtimeo);
	case SO_PEERCRED: {
		/* The peer is this process; an unconnected socket has none (Linux: pid 0, overflow ids). */
		int connected = s->state == CONNECTED && s->type != SOCK_DGRAM;
		struct ucred cred = { .pid = connected ? 1 : 0, .uid = connected ? 0 : 65534, .gid = connected ? 0 : 65534 };
		return uf_sockopt_put(v, len, &cred, sizeof cred);
	}
	case SO_TYPE: x = s->type; break;
	case SO_DOMAIN: x = AF_UNIX; break;
	case SO_PROTOCOL: x = 0; break;
	case SO_ACCEPTCONN: x = s->state == LISTENING; break;
	case SO_ERROR: x = s->err; s->err = 0; break;
	case SO_RCVBUF: x = (int)s->rcvbuf; break;
	case SO_SNDBUF: x = (int)s->sndbuf; break;
	case SO_PASSCRED: x = s->passcred; break;
	case SO_REUSEADDR:
	case SO_KEEPALIVE: x = 0; break;
	default: return -ENOPROTOOPT;
	}
	return uf_sockopt_put(v, len, &x, sizeof x);
}

/* ---- the file ---- */

static ssize_t unix_readv(struct uf_file *f, const struct iovec *iov, int count)
{
	struct msghdr m = { .msg_iov = (struct iovec *)iov, .msg_iovlen = count };
	return unix_recvmsg(f, &m, 0);
}

static ssize_t unix_writev(struct uf_file *f, const struct iovec *iov, int count)
{
	struct msghdr m = { .msg_iov = (struct iovec *)iov, .msg_iovlen = count };
	return unix_sendmsg(f, &m, 0);
}

static ssize_t unix_read(struct uf_file *f, void *buf, size_t len)
{
	struct iovec v = { buf, len };
	return unix_readv(f, &v, 1);
}

static ssize_t unix_write(struct uf_file *f, const void *buf, size_t len)
{
	struct iovec v = { (void *)buf, len };
	return unix_writev(f, &v, 1);
}

/* What Linux's unix_poll and unix_dgram_poll report. */
static unsigned unix_poll(struct uf_file *f, unsigned long long *wake_ns)
{
	struct usock *s = f->priv;
	unsigned ev = 0;
	(void)wake_ns;                  /* only this process changes a socket's state */
	if (s->state == LISTENING)
		return s->pending ? POLLIN : 0;
	if (s->err)
		ev |= POLLERR;
	if (s->shut & SHUT_IN)
		ev |= POLLIN | POLLRDHUP;
	if (s->shut == (SHUT_IN | SHUT_OUT) || (s->type != SOCK_DGRAM && s->state == FRESH))
		ev |= POLLHUP;
	if (s->head)
		ev |= POLLIN;
	/* Writable unless the peer's queue is full (a closed peer: writable, the write says EPIPE). */
	struct usock *p = s->peer;
	if (!p || !p->file || room(p))
		ev |= POLLOUT;
	return ev;
}

static int unix_ioctl(struct uf_file *f, unsigned long req, void *arg)
{
	struct usock *s = f->priv;
	int n = 0;
	switch (req) {
	case FIONBIO:
		memcpy(&n, arg, sizeof n);
		f->flags = n ? f->flags | O_NONBLOCK : f->flags & ~O_NONBLOCK;
		return 0;
	case FIONREAD:                  /* a stream's unread bytes; a datagram socket's next message */
		if (s->state == LISTENING)
			return -EINVAL;
		n = (int)(s->type == SOCK_STREAM ? s->queued : s->head ? s->head->len : 0);
		break;
	case TIOCOUTQ:                  /* sent, not yet read by the peer */
		n = (int)(s->type == SOCK_STREAM && s->peer ? s->peer->queued : 0);
		break;
	default:
		return -ENOTTY;
	}
	memcpy(arg, &n, sizeof n);
	return 0;
}

static int unix_fstat(struct uf_file *f, struct stat *st)
{
	(void)f;
	*st = (struct stat){ .st_mode = S_IFSOCK | 0777, .st_nlink = 1, .st_blksize = 4096 };
	return 0;
}

static const struct uf_socket_ops unix_socket_ops = {
	.bind = unix_bind,
	.listen = unix_listen,
	.accept = unix_accept,
	.connect = unix_connect,
	.sendmsg = unix_sendmsg,
	.recvmsg = unix_recvmsg,
	.shutdown = unix_shutdown,
	.getsockname = unix_getsockname,
	.getpeername = unix_getpeername,
	.setsockopt = unix_setsockopt,
	.getsockopt = unix_getsockopt,
};

static const struct uf_file_ops unix_file_ops = {
	.read = unix_read,
	.write = unix_write,
	.close = unix_close,
	.ioctl = unix_ioctl,
	.fstat = unix_fstat,
	.poll = unix_poll,
	.readv = unix_readv,
	.writev = unix_writev,
	.socket = &unix_socket_ops,
};

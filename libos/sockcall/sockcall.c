/* The socket syscalls that take a descriptor: each finds the descriptor's socket operations and calls its
 * family's. socket() and socketpair() belong to the families (they are what links one). */
#include <errno.h>
#include <string.h>
#include <uf/fd.h>
#include <uf/sockcall.h>

/* The descriptor's open file, held for the call (uf_fd_use: release it with done), and its family's operations;
 * or NULL and -EBADF / -ENOTSOCK. */
static const struct uf_socket_ops *socket_of(int fd, struct uf_file **f, long *err)
{
	*f = uf_fd_use(fd);
	*err = !*f ? -EBADF : !(*f)->ops->socket ? -ENOTSOCK : 0;
	if (*err == -ENOTSOCK)
		uf_fd_done(*f);
	return *err ? 0 : (*f)->ops->socket;
}

/* The end of a call on f: the hold goes, r is its result. */
static long done(struct uf_file *f, long r)
{
	uf_fd_done(f);
	return r;
}

long uf_sys_bind(int fd, const struct sockaddr *sa, socklen_t len)
{
	struct uf_file *f;
	long err;
	const struct uf_socket_ops *ops = socket_of(fd, &f, &err);
	return ops ? done(f, ops->bind(f, sa, len)) : err;
}

long uf_sys_listen(int fd, int backlog)
{
	struct uf_file *f;
	long err;
	const struct uf_socket_ops *ops = socket_of(fd, &f, &err);
	return ops ? done(f, ops->listen(f, backlog)) : err;
}

long uf_sys_accept4(int fd, struct sockaddr *sa, socklen_t *len, int flags)
{
	struct uf_file *f;
	long err;
	const struct uf_socket_ops *ops = socket_of(fd, &f, &err);
	if (!ops)
		return err;
	if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC))
		return done(f, -EINVAL);
	return done(f, ops->accept(f, sa, len, flags));
}

long uf_sys_accept(int fd, struct sockaddr *sa, socklen_t *len)
{
	return uf_sys_accept4(fd, sa, len, 0);
}

long uf_sys_connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	struct uf_file *f;
	long err;
	const struct uf_socket_ops *ops = socket_of(fd, &f, &err);
	return ops ? done(f, ops->connect(f, sa, len)) : err;
}

long uf_sys_sendmsg(int fd, const struct msghdr *m, int flags)
{
	struct uf_file *f;
	long err;
	const struct uf_socket_ops *ops = socket_of(fd, &f, &err);
	if (!ops)
		return err;
	if ((unsigned long)m->msg_iovlen > 1024)  /* UIO_MAXIOV; musl's msg_iovlen is an int */
		return done(f, -EMSGSIZE);
	return done(f, ops->sendmsg(f, m, flags));
}

long uf_sys_recvmsg(int fd, struct msghdr *m, int flags)
{
	struct uf_file *f;
	long err;
	const struct uf_socket_ops *ops = socket_of(fd, &f, &err);
	if (!ops)
		return err;
	if ((unsigned long)m->msg_iovlen > 1024)
		return done(f, -EMSGSIZE);
	return done(f, ops->recvmsg(f, m, flags));
}

long uf_sys_sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *sa, socklen_t len)
{
	struct iovec v = { (void *)buf, n };
	struct msghdr m = { .msg_name = (void *)sa, .msg_namelen = sa ? len : 0, .msg_iov = &v, .msg_iovlen = 1 };
	return uf_sys_sendmsg(fd, &m, flags);
}

/* recvfrom: the source address only where the family gives one (a datagram's sender); *len says how long. */
long uf_sys_recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *sa, socklen_t *len)
{
	struct iovec v = { buf, n };
	struct msghdr m = { .msg_name = sa && len ? sa : 0, .msg_namelen = sa && len ? *len : 0, .msg_iov = &v,
			    .msg_iovlen = 1 };
	long r = uf_sys_recvmsg(fd, &m, flags);
	if (r >= 0 && sa && len)
		*len = m.msg_namelen;
	return r;
}

long uf_sys_shutdown(int fd, int how)
{
	struct uf_file *f;
	long err;
	const struct uf_socket_ops *ops = socket_of(fd, &f, &err);
	if (!ops)
		return err;
	if (how < SHUT_RD || how > SHUT_RDWR)
		return done(f, -EINVAL);
	return done(f, ops->shutdown(f, how));
}

long uf_sys_getsockname(int fd, struct sockaddr *sa, socklen_t *len)
{
	struct uf_file *f;
	long err;
	const struct uf_socket_ops *ops = socket_of(fd, &f, &err);
	return ops ? done(f, ops->getsockname(f, sa, len)) : err;
}

long uf_sys_getpeername(int fd, struct sockaddr *sa, socklen_t *len)
{
	struct uf_file *f;
	long err;
	const struct uf_socket_ops *ops = socket_of(fd, &f, &err);
	return ops ? done(f, ops->getpeername(f, sa, len)) : err;
}

long uf_sys_setsockopt(int fd, int level, int name, const void *v, socklen_t len)
{
	struct uf_file *f;
	long err;
	const struct uf_socket_ops *ops = socket_of(fd, &f, &err);
	return ops ? done(f, ops->setsockopt(f, level, name, v, len)) : err;
}

long uf_sys_getsockopt(int fd, int level, int name, void *v, socklen_t *len)
{
	struct uf_file *f;
	long err;
	const struct uf_socket_ops *ops = socket_of(fd, &f, &err);
	return ops ? done(f, ops->getsockopt(f, level, name, v, len)) : err;
}

/* ---- helpers for the families' options ---- */

int uf_sockopt_get_timeout(int optname, const void *v, socklen_t len, uint64_t *ns)
{
	int64_t sec, usec;
	if (optname == UF_SO_RCVTIMEO_64 || optname == UF_SO_SNDTIMEO_64) {
		int64_t tv[2];
		if (!v || len < sizeof tv)
			return -EINVAL;
		memcpy(tv, v, sizeof tv);
		sec = tv[0];
		usec = tv[1];
	} else {
		long tv[2];
		if (!v || len < sizeof tv)
			return -EINVAL;
		memcpy(tv, v, sizeof tv);
		sec = tv[0];
		usec = tv[1];
	}
	if (sec < 0 || usec < 0 || usec >= 1000000)
		return -EDOM;
	*ns = sec > 100000000 ? 0 : (uint64_t)sec * 1000000000 + (uint64_t)usec * 1000;
	return 0;
}

int uf_sockopt_put(void *v, socklen_t *len, const void *val, socklen_t size)
{
	if (!v || !len)
		return -EFAULT;
	socklen_t n = *len < size ? *len : size;
	memcpy(v, val, n);
	*len = n;
	return 0;
}

int uf_sockopt_put_timeout(int optname, void *v, socklen_t *len, uint64_t ns)
{
	int64_t sec = (int64_t)(ns / 1000000000), usec = (int64_t)(ns % 1000000000 / 1000);
	if (optname == UF_SO_RCVTIMEO_64 || optname == UF_SO_SNDTIMEO_64)
		return uf_sockopt_put(v, len, (int64_t[]){ sec, usec }, 2 * sizeof(int64_t));
	return uf_sockopt_put(v, len, (long[]){ (long)sec, (long)usec }, 2 * sizeof(long));
}

/* Module sockcall: the socket syscalls that take a descriptor, handed to the descriptor's family through its
 * file's `socket` operations (uf/fd.h). A family module (socket: AF_INET; unix: AF_UNIX) fills a
 * struct uf_socket_ops; this module never names a family, so a call such as send() links no family of its own:
 * the families linked are those whose sockets the app can create (socket(), socketpair()).
 *
 * Every operation returns a count, a descriptor or 0, or -errno. The descriptor is known to be one of the
 * family's sockets. sendto/recvfrom/send/recv arrive as sendmsg/recvmsg with one segment. */
#ifndef UF_SOCKCALL_H
#define UF_SOCKCALL_H

#include <stdint.h>
#include <sys/socket.h>

struct uf_file;

struct uf_socket_ops {
	long (*bind)(struct uf_file *f, const struct sockaddr *sa, socklen_t len);
	long (*listen)(struct uf_file *f, int backlog);
	/* a new descriptor; flags: SOCK_NONBLOCK, SOCK_CLOEXEC */
	long (*accept)(struct uf_file *f, struct sockaddr *sa, socklen_t *len, int flags);
	long (*connect)(struct uf_file *f, const struct sockaddr *sa, socklen_t len);
	long (*sendmsg)(struct uf_file *f, const struct msghdr *m, int flags);
	/* also sets m->msg_namelen, msg_controllen and msg_flags */
	long (*recvmsg)(struct uf_file *f, struct msghdr *m, int flags);
	long (*shutdown)(struct uf_file *f, int how);
	long (*getsockname)(struct uf_file *f, struct sockaddr *sa, socklen_t *len);
	long (*getpeername)(struct uf_file *f, struct sockaddr *sa, socklen_t *len);
	long (*setsockopt)(struct uf_file *f, int level, int name, const void *v, socklen_t len);
	long (*getsockopt)(struct uf_file *f, int level, int name, void *v, socklen_t *len);
};

/* SO_RCVTIMEO/SO_SNDTIMEO, for the families' option calls. They come in two layouts: the old one (20/21) with a
 * native long pair, the time64 one (66/67, what musl uses on 32-bit arches) with 64-bit seconds and
 * microseconds. */
#define UF_SO_RCVTIMEO_LONG 20
#define UF_SO_SNDTIMEO_LONG 21
#define UF_SO_RCVTIMEO_64 66
#define UF_SO_SNDTIMEO_64 67
/* A timeout option's value as ns (0: wait forever); -EINVAL or -EDOM as Linux. */
int uf_sockopt_get_timeout(int optname, const void *v, socklen_t len, uint64_t *ns);
/* Writes a timeout of ns in the option's layout. */
int uf_sockopt_put_timeout(int optname, void *v, socklen_t *len, uint64_t ns);
/* Copies an option's value out, truncated to *len as Linux does; -EFAULT without a buffer. */
int uf_sockopt_put(void *v, socklen_t *len, const void *val, socklen_t size);

#endif

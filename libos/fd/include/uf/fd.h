/* File descriptors. A driver (console, socket, file system) registers an open file with its operations; the
 * read/write/close/... syscalls look the descriptor up and call them. Operations return a count or -errno. */
#ifndef UF_FD_H
#define UF_FD_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <uf/signal.h>
#include <uf/thread.h>
#include <uf/time.h>

struct stat;
struct uf_file;
struct uf_socket_ops;

/* What only files on a file system have (module vfs's): contents at an offset, durability, directory entries. Apart
 * from struct uf_file_ops so that the other kinds of descriptors, which every image has (the console), do not
 * carry five empty pointers each. */
struct uf_fs_file_ops {
	/* pread/pwrite leave the file's own offset alone. */
	ssize_t (*pread)(struct uf_file *f, void *buf, size_t len, off_t off);
	ssize_t (*pwrite)(struct uf_file *f, const void *buf, size_t len, off_t off);
	int (*truncate)(struct uf_file *f, off_t len);
	int (*sync)(struct uf_file *f);                         /* 0 once data is durable */
	ssize_t (*getdents)(struct uf_file *f, void *buf, size_t len);      /* linux_dirent64 */
};

struct uf_file_ops {
	ssize_t (*read)(struct uf_file *f, void *buf, size_t len);          /* required */
	ssize_t (*write)(struct uf_file *f, const void *buf, size_t len);   /* required */
	int (*close)(struct uf_file *f);            /* optional: release the driver's state */
	int (*ioctl)(struct uf_file *f, unsigned long req, void *arg);      /* optional: -ENOTTY without */
	off_t (*lseek)(struct uf_file *f, off_t off, int whence);           /* optional: -ESPIPE without */
	int (*fstat)(struct uf_file *f, struct stat *st);                   /* optional: -EBADF without */
	/* optional: a file on a file system, with all of those; without: pread/pwrite say -ESPIPE, ftruncate and
	 * fsync -EINVAL, getdents64 -ENOTDIR, sendfile and copy_file_range -EINVAL. */
	const struct uf_fs_file_ops *fs;
	/* optional (poll/select/epoll): the POLLIN/POLLOUT/POLLERR/POLLHUP/POLLRDHUP state now, after taking in
	 * what the device has (the network stack, shared by every socket, runs once per scan before: uf/poll.h's
	 * uf_poll_scan_start); lowers *wake_ns to when that may change without an interrupt (a timer), or to 0
	 * when what it took in may concern files already asked (ask them again). Without it a file is always
	 * readable and writable. */
	unsigned (*poll)(struct uf_file *f, unsigned long long *wake_ns);
	/* optional: readv/writev as one operation (a datagram is one message, a pipe write of at most PIPE_BUF
	 * bytes is atomic); without them, one read/write per segment. */
	ssize_t (*readv)(struct uf_file *f, const struct iovec *iov, int count);
	ssize_t (*writev)(struct uf_file *f, const struct iovec *iov, int count);
	/* optional: a socket's own calls (uf/sockcall.h); without them the socket syscalls say -ENOTSOCK. */
	const struct uf_socket_ops *socket;
};

struct uf_file {
	const struct uf_file_ops *ops;
	void *priv;         /* the driver's own state */
	int flags;          /* O_* status flags (O_NONBLOCK, O_APPEND) */
	int fd_flags;       /* FD_CLOEXEC */
	int refs;           /* references: descriptors sharing this open file (dup), and holds (uf_file_hold) */
	unsigned wakeups;   /* events that may interest a waiter (bytes arrived, room made): uf_fd_wake */
};

/* The descriptor table, generated with the image's init table (templates/init.c.j2) as big as its linked modules
 * ask (module.toml's `descriptors`: 64 for module fd, Linux's default of 1024 where sockets are): uf_fd_max
 * descriptors, and as many open files. RLIMIT_NOFILE's hard limit. */
extern const int uf_fd_max;
extern struct uf_file uf_fd_files[];
extern struct uf_file *uf_fd_table[];

/* Installs an open file at the lowest free descriptor: returns it, or -EMFILE / -ENOMEM. */
int uf_fd_install(const struct uf_file_ops *ops, void *priv, int flags);
/* The open file behind fd, or NULL if fd is not open. */
struct uf_file *uf_fd_get(int fd);
/* Installs one more reference to an open file at the lowest free descriptor, with fd_flags (FD_CLOEXEC):
 * returns it, or -EMFILE. A file passed in a message (SCM_RIGHTS) arrives this way. */
int uf_fd_install_file(struct uf_file *f, int fd_flags);
long uf_sys_close(int fd);

/* The bytes a readv/writev op's segments hold. */
static inline size_t uf_iov_total(const struct iovec *iov, int count)
{
	size_t total = 0;
	for (int i = 0; i < count; i++)
		total += iov[i].iov_len;
	return total;
}

/* Counts an event on an open file (f may be 0: an end already closed) that a waiter may want to hear of even if
 * the file's poll state stays the same: epoll's edge-triggered mode reports a ready file again after one, as
 * Linux does after every wake-up (each write to a pipe or an eventfd, each message to a socket). With threads,
 * the threads blocked in a wait look again. */
static inline void uf_fd_wake(struct uf_file *f)
{
	if (f)
		f->wakeups++;
	uf_thread_wake_waiters();
}

/* The wait of a blocking call (on descriptors, and System V IPC's) that found nothing to do yet: -EAGAIN if it
 * must not block (O_NONBLOCK, MSG_DONTWAIT, IPC_NOWAIT) or its deadline (monotonic ns; UINT64_MAX: none) has
 * passed; else halts until an interrupt or the deadline, then lets pending signals in: 0 to try again, or
 * -EINTR to fail the call. `restart`: whether a handler installed with SA_RESTART lets the call go on, as Linux
 * does for reads and writes; never for a socket call with a timeout, connect, or System V IPC (signal(7)).
 * Every blocking call loops: try; uf_fd_wait; try again. Nothing else halts. */
static inline long uf_fd_wait(int nonblock, uint64_t deadline, int restart)
{
	if (nonblock || uf_time_monotonic_ns() >= deadline)
		return -EAGAIN;
	uf_time_wait_until(deadline);
	return restart ? uf_signal_wait_point() : uf_signal_wait_point_norestart();
}

/* A reference to an open file besides its descriptors (a file mapping keeps its file open after close(); a file
 * in flight in an SCM_RIGHTS message):
 * uf_file_hold takes one, uf_file_put drops one; when the last reference goes, the file is closed (its
 * flock and OFD locks released, its close op called), and uf_file_put returns what close returned. */
void uf_file_hold(struct uf_file *f);
int uf_file_put(struct uf_file *f);

/* The open file behind fd for a call that may wait on it, or NULL: with threads, another thread may close fd
 * meanwhile, so the file is held until uf_fd_done (as Linux holds it for the call: its close op runs after the
 * call ends; a signal handler that leaves the call with siglongjmp keeps it open). */
static inline struct uf_file *uf_fd_use(int fd)
{
	struct uf_file *f = uf_fd_get(fd);
#ifdef UF_THREADS
	if (f)
		uf_file_hold(f);
#endif
	return f;
}

static inline void uf_fd_done(struct uf_file *f)
{
#ifdef UF_THREADS
	uf_file_put(f);
#else
	(void)f;
#endif
}

/* The console as an open file (descriptors 0-2 at boot, /dev/console). */
extern const struct uf_file_ops uf_console_file_ops;

#ifdef __arm__
/* Fills the Linux ARM EABI struct stat64 (what fstat64 and fstatat64 return: 32-bit times) at out. */
void uf_fd_stat64(const struct stat *st, void *out);
#endif

/* Syscalls other modules build on (/dev/fd/N duplicates a descriptor with F_DUPFD). */
long uf_sys_fcntl(int fd, int cmd, long arg);

#endif

/* File descriptors. A driver (console, socket, file system) registers an open file with its operations; the
 * read/write/close/... syscalls look the descriptor up and call them. Operations return a count or -errno. */
#ifndef UF_FD_H
#define UF_FD_H

#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

struct stat;
struct uf_file;

struct uf_file_ops {
	ssize_t (*read)(struct uf_file *f, void *buf, size_t len);          /* required */
	ssize_t (*write)(struct uf_file *f, const void *buf, size_t len);   /* required */
	int (*close)(struct uf_file *f);            /* optional: release the driver's state */
	int (*ioctl)(struct uf_file *f, unsigned long req, void *arg);      /* optional: -ENOTTY without */
	off_t (*lseek)(struct uf_file *f, off_t off, int whence);           /* optional: -ESPIPE without */
	int (*fstat)(struct uf_file *f, struct stat *st);                   /* optional: -EBADF without */
	/* Files with an offset (file systems). pread/pwrite leave the file's own offset alone. */
	ssize_t (*pread)(struct uf_file *f, void *buf, size_t len, off_t off);         /* optional: -ESPIPE */
	ssize_t (*pwrite)(struct uf_file *f, const void *buf, size_t len, off_t off);  /* optional: -ESPIPE */
	int (*truncate)(struct uf_file *f, off_t len);      /* optional: -EINVAL without */
	int (*sync)(struct uf_file *f);                     /* optional: -EINVAL without; 0 once data is durable */
	ssize_t (*getdents)(struct uf_file *f, void *buf, size_t len);  /* optional: -ENOTDIR; linux_dirent64 */
	/* optional (poll/select/epoll): the POLLIN/POLLOUT/POLLERR/POLLHUP/POLLRDHUP state now, after taking in
	 * what the device has; lowers *wake_ns to when that may change without an interrupt (a timer), or to 0
	 * when what it took in may concern files already asked (ask them again). Without it a file is always
	 * readable and writable. */
	unsigned (*poll)(struct uf_file *f, unsigned long long *wake_ns);
};

struct uf_file {
	const struct uf_file_ops *ops;
	void *priv;         /* the driver's own state */
	int flags;          /* O_* status flags (O_NONBLOCK, O_APPEND) */
	int fd_flags;       /* FD_CLOEXEC */
	int refs;           /* references: descriptors sharing this open file (dup), and holds (uf_file_hold) */
};

#define UF_FD_MAX 64

/* Installs an open file at the lowest free descriptor: returns it, or -EMFILE / -ENOMEM. */
int uf_fd_install(const struct uf_file_ops *ops, void *priv, int flags);
/* The open file behind fd, or NULL if fd is not open. */
struct uf_file *uf_fd_get(int fd);

/* A reference to an open file besides its descriptors (a file mapping keeps its file open after close()):
 * uf_file_hold takes one, uf_file_put drops one; when the last reference goes, the file is closed (its
 * flock and OFD locks released, its close op called), and uf_file_put returns what close returned. */
void uf_file_hold(struct uf_file *f);
int uf_file_put(struct uf_file *f);

/* The console as an open file (descriptors 0-2 at boot, /dev/console). */
extern const struct uf_file_ops uf_console_file_ops;

#ifdef __arm__
/* Fills the Linux ARM EABI struct stat64 (what fstat64 and fstatat64 return: 32-bit times) at out. */
void uf_fd_stat64(const struct stat *st, void *out);
#endif

/* Syscalls other modules build on (/dev/fd/N duplicates a descriptor with F_DUPFD). */
long uf_sys_fcntl(int fd, int cmd, long arg);

#endif

/* Internal to module fd: the offset syscalls' common part, called by each arch's entry points (their argument
 * layouts differ). */
#ifndef UF_FD_IO_H
#define UF_FD_IO_H

#include <sys/types.h>

ssize_t uf_fd_pread(int fd, void *buf, size_t len, off_t off);
ssize_t uf_fd_pwrite(int fd, const void *buf, size_t len, off_t off);
long uf_fd_truncate(int fd, off_t len);
off_t uf_fd_seek(int fd, off_t off, int whence);

#endif

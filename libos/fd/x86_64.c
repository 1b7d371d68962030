/* The x86_64 names of the offset syscalls: 64-bit offsets arrive in one register. */
#include "fd_io.h"

long uf_sys_pread64(int fd, void *buf, size_t len, off_t off)
{
	return uf_fd_pread(fd, buf, len, off);
}

long uf_sys_pwrite64(int fd, const void *buf, size_t len, off_t off)
{
	return uf_fd_pwrite(fd, buf, len, off);
}

long uf_sys_ftruncate(int fd, off_t len)
{
	return uf_fd_truncate(fd, len);
}

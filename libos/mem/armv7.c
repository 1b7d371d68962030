/* 32-bit ARM has no mmap syscall, only mmap2, whose offset counts 4096-byte units. */
#include <sys/types.h>

long uf_sys_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);

long uf_sys_mmap2(void *addr, size_t len, int prot, int flags, int fd, unsigned long pgoff)
{
	return uf_sys_mmap(addr, len, prot, flags, fd, (off_t)pgoff * 4096);
}

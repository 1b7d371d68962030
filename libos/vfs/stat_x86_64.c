/* The x86_64 stat family: the kernel's struct stat is musl's. (No symbolic links: lstat is stat.) */
#include <fcntl.h>
#include <sys/stat.h>
#include "syscalls.h"

long uf_sys_newfstatat(int dirfd, const char *path, struct stat *st, int flags)
{
	return uf_vfs_fstatat(dirfd, path, st, flags);
}

long uf_sys_stat(const char *path, struct stat *st)
{
	return uf_vfs_fstatat(AT_FDCWD, path, st, 0);
}

long uf_sys_lstat(const char *path, struct stat *st)
{
	return uf_vfs_fstatat(AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW);
}

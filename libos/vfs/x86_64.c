/* The x86_64 names of the path syscalls whose names or layouts differ per arch. The kernel's struct stat and
 * struct statfs are musl's. (No symbolic links: lstat is stat, lchown is chown.) */
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
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

long uf_sys_statfs(const char *path, struct statfs *st)
{
	return uf_vfs_statfs(AT_FDCWD, path, st);
}

long uf_sys_fstatfs(int fd, struct statfs *st)
{
	return uf_vfs_statfs(fd, 0, st);
}

long uf_sys_utimensat(int dirfd, const char *path, const struct timespec times[2], int flags)
{
	return uf_vfs_utimens(dirfd, path, times, flags);
}

long uf_sys_truncate(const char *path, off_t len)
{
	return uf_vfs_truncate_path(path, len);
}

long uf_sys_chown(const char *path, uid_t uid, gid_t gid)
{
	return uf_vfs_chown(AT_FDCWD, path, uid, gid, 0);
}

long uf_sys_lchown(const char *path, uid_t uid, gid_t gid)
{
	return uf_vfs_chown(AT_FDCWD, path, uid, gid, AT_SYMLINK_NOFOLLOW);
}

long uf_sys_fchown(int fd, uid_t uid, gid_t gid)
{
	return uf_vfs_chown(fd, 0, uid, gid, 0);
}

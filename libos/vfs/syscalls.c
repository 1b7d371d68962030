/* The path syscalls: each resolves its path (against the working directory or a directory descriptor) and calls
 * the mounted file system. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uf/fd.h>
#include "files.h"
#include "syscalls.h"

int uf_vfs_resolve_at(int dirfd, const char *path, char abs[UF_VFS_PATH_MAX])
{
	if (!path)
		return -EFAULT;
	const char *base = uf_vfs_cwd();
	if (path[0] != '/' && dirfd != AT_FDCWD) {
		struct vfs_file *dir = uf_vfs_file(dirfd);
		if (!dir)
			return -EBADF;
		if (!dir->is_dir)
			return -ENOTDIR;
		base = dir->path;
	}
	return uf_vfs_normalize(base, path, abs);
}

long uf_sys_openat(int dirfd, const char *path, int flags, mode_t mode)
{
	char abs[UF_VFS_PATH_MAX];
	int r = uf_vfs_resolve_at(dirfd, path, abs);
	return r < 0 ? r : uf_vfs_open_fd(abs, flags, mode);
}

long uf_sys_open(const char *path, int flags, mode_t mode)
{
	return uf_sys_openat(AT_FDCWD, path, flags, mode);
}

/* The mount holding a path the call changes: -EROFS on a read-only mount, -EROFS also when the file system has
 * no such operation (it is read-only by nature). */
static int writable_at(int dirfd, const char *path, char abs[UF_VFS_PATH_MAX], struct uf_mount **m,
                       const char **rest)
{
	int r = uf_vfs_resolve_at(dirfd, path, abs);
	if (r < 0)
		return r;
	*m = uf_vfs_lookup(abs, rest);
	if (!*m)
		return -ENOENT;
	if (!**rest)
		return -EBUSY;          /* the mount point itself */
	return (*m)->read_only ? -EROFS : 0;
}

long uf_sys_mkdirat(int dirfd, const char *path, mode_t mode)
{
	char abs[UF_VFS_PATH_MAX];
	struct uf_mount *m;
	const char *rest;
	int r = writable_at(dirfd, path, abs, &m, &rest);
	if (r == -EBUSY)
		return -EEXIST;
	if (r < 0)
		return r;
	return m->type->mkdir ? m->type->mkdir(m, rest, mode) : -EROFS;
}

long uf_sys_mkdir(const char *path, mode_t mode)
{
	return uf_sys_mkdirat(AT_FDCWD, path, mode);
}

long uf_sys_unlinkat(int dirfd, const char *path, int flags)
{
	char abs[UF_VFS_PATH_MAX];
	struct uf_mount *m;
	const char *rest;
	if (flags & ~AT_REMOVEDIR)
		return -EINVAL;
	int r = writable_at(dirfd, path, abs, &m, &rest);
	if (r < 0)
		return r;
	if (flags & AT_REMOVEDIR)
		return m->type->rmdir ? m->type->rmdir(m, rest) : -EROFS;
	return m->type->unlink ? m->type->unlink(m, rest) : -EROFS;
}

long uf_sys_unlink(const char *path)
{
	return uf_sys_unlinkat(AT_FDCWD, path, 0);
}

long uf_sys_rmdir(const char *path)
{
	return uf_sys_unlinkat(AT_FDCWD, path, AT_REMOVEDIR);
}

long uf_sys_renameat(int olddirfd, const char *from, int newdirfd, const char *to)
{
	char abs_from[UF_VFS_PATH_MAX], abs_to[UF_VFS_PATH_MAX];
	struct uf_mount *m, *m_to;
	const char *rest_from, *rest_to;
	int r = writable_at(olddirfd, from, abs_from, &m, &rest_from);
	if (!r)
		r = writable_at(newdirfd, to, abs_to, &m_to, &rest_to);
	if (r < 0)
		return r;
	if (m != m_to)
		return -EXDEV;
	return m->type->rename ? m->type->rename(m, rest_from, rest_to) : -EROFS;
}

long uf_sys_rename(const char *from, const char *to)
{
	return uf_sys_renameat(AT_FDCWD, from, AT_FDCWD, to);
}

/* Linux's getcwd returns the length with the terminating NUL. */
long uf_sys_getcwd(char *buf, size_t size)
{
	size_t len = strlen(uf_vfs_cwd()) + 1;
	if (len > size)
		return -ERANGE;
	memcpy(buf, uf_vfs_cwd(), len);
	return len;
}

long uf_sys_chdir(const char *path)
{
	char abs[UF_VFS_PATH_MAX];
	struct stat st;
	int r = uf_vfs_resolve_at(AT_FDCWD, path, abs);
	if (!r)
		r = uf_vfs_stat_path(abs, &st);
	if (r < 0)
		return r;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	uf_vfs_set_cwd(abs);
	return 0;
}

long uf_sys_fchdir(int fd)
{
	struct vfs_file *v = uf_vfs_file(fd);
	if (!v)
		return -EBADF;
	if (!v->is_dir)
		return -ENOTDIR;
	uf_vfs_set_cwd(v->path);
	return 0;
}

/* fstatat's common part: AT_EMPTY_PATH stats the descriptor itself (any kind: console too). */
int uf_vfs_fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
	char abs[UF_VFS_PATH_MAX];
	if ((flags & AT_EMPTY_PATH) && path && !*path) {
		struct uf_file *f = uf_fd_get(dirfd);
		if (!f)
			return -EBADF;
		return f->ops->fstat ? f->ops->fstat(f, st) : -EBADF;
	}
	int r = uf_vfs_resolve_at(dirfd, path, abs);
	return r < 0 ? r : uf_vfs_stat_path(abs, st);
}

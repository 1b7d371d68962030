/* The syscalls about what a file is rather than what it holds: statfs, chmod, chown, utimensat, truncate, link,
 * readlink, access. The ones whose names or argument layouts differ per arch are in x86_64.c and armv7.c.
 *
 * Permissions are reported, not enforced: the app is the machine's only program, and its identity (module process)
 * answers getuid without limiting what it may touch. So access() answers as it would for root. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <uf/fd.h>
#include <uf/time.h>
#include "files.h"
#include "syscalls.h"

/* A node to act on: a descriptor's (path NULL, or "" with AT_EMPTY_PATH), else a path's, open for the call. */
struct target {
	struct uf_mount *m;
	void *node;
	int opened;
	struct uf_file *other;  /* a descriptor that is no file of a file system (the console, a socket) */
};

static int target_get(int dirfd, const char *path, int flags, struct target *t)
{
	*t = (struct target){ 0 };
	if (!path || (!*path && (flags & AT_EMPTY_PATH))) {
		struct vfs_file *v = uf_vfs_file(dirfd);
		if (v) {
			t->m = v->m, t->node = v->node;
			return 0;
		}
		t->other = uf_fd_get(dirfd);
		return t->other ? 0 : -EBADF;
	}
	char abs[UF_VFS_PATH_MAX];
	const char *rest;
	int r = uf_vfs_resolve_at(dirfd, path, abs);
	if (r < 0)
		return r;
	t->m = uf_vfs_lookup(abs, &rest);
	if (!t->m)
		return -ENOENT;
	r = t->m->type->open(t->m, rest, O_RDONLY, 0, &t->node);
	t->opened = !r;
	return r;
}

static void target_put(struct target *t)
{
	if (t->opened)
		t->m->type->close(t->m, t->node);
}

static int setattr(int dirfd, const char *path, int flags, const struct uf_vfs_attr *a)
{
	struct target t;
	int r = target_get(dirfd, path, flags, &t);
	if (r < 0 || t.other)
		return r;           /* the console, sockets: nothing kept to change */
	if (t.m->read_only)
		r = -EROFS;
	else
		r = t.m->type->setattr ? t.m->type->setattr(t.m, t.node, a) : -EPERM;
	target_put(&t);
	return r;
}

long uf_vfs_chmod(int dirfd, const char *path, mode_t mode, int flags)
{
	struct uf_vfs_attr a = { .mask = UF_VFS_ATTR_MODE, .mode = mode & 07777 };
	return setattr(dirfd, path, flags, &a);
}

long uf_vfs_chown(int dirfd, const char *path, uid_t uid, gid_t gid, int flags)
{
	if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
		return -EINVAL;
	struct uf_vfs_attr a = { .mask = UF_VFS_ATTR_OWNER, .uid = uid, .gid = gid };
	return setattr(dirfd, path, flags, &a);
}

long uf_sys_chmod(const char *path, mode_t mode)
{
	return uf_vfs_chmod(AT_FDCWD, path, mode, 0);
}

long uf_sys_fchmod(int fd, mode_t mode)
{
	return uf_vfs_chmod(fd, 0, mode, 0);
}

long uf_sys_fchmodat(int dirfd, const char *path, mode_t mode)
{
	return uf_vfs_chmod(dirfd, path, mode, 0);
}

long uf_sys_fchownat(int dirfd, const char *path, uid_t uid, gid_t gid, int flags)
{
	return uf_vfs_chown(dirfd, path, uid, gid, flags);
}

/* utimensat and futimens (path NULL): UTIME_NOW and UTIME_OMIT as Linux; NULL times is now for both. */
long uf_vfs_utimens(int dirfd, const char *path, const struct timespec times[2], int flags)
{
	struct uf_vfs_attr a = { .mask = UF_VFS_ATTR_ATIME | UF_VFS_ATTR_MTIME };
	if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
		return -EINVAL;
	uint64_t now = uf_time_realtime_ns();
	struct timespec *out[2] = { &a.atime, &a.mtime };
	for (int i = 0; i < 2; i++) {
		long ns = times ? times[i].tv_nsec : UTIME_NOW;
		if (ns == UTIME_OMIT) {
			a.mask &= ~(i ? UF_VFS_ATTR_MTIME : UF_VFS_ATTR_ATIME);
		} else if (ns == UTIME_NOW) {
			*out[i] = (struct timespec){ .tv_sec = now / 1000000000, .tv_nsec = now % 1000000000 };
		} else if (ns < 0 || ns >= 1000000000) {
			return -EINVAL;
		} else {
			*out[i] = times[i];
		}
	}
	if (!a.mask)
		return 0;
	return setattr(dirfd, path, flags, &a);
}

long uf_vfs_truncate_path(const char *path, off_t len)
{
	struct target t;
	if (len < 0)
		return -EINVAL;
	int r = target_get(AT_FDCWD, path, 0, &t);
	if (r < 0)
		return r;
	struct stat st;
	r = t.m->type->stat(t.m, t.node, &st);
	if (!r && S_ISDIR(st.st_mode))
		r = -EISDIR;
	else if (!r && (t.m->read_only || !t.m->type->truncate))
		r = -EROFS;
	else if (!r)
		r = t.m->type->truncate(t.m, t.node, len);
	target_put(&t);
	return r;
}

/* statfs of the mount: the file system's sizes, the VFS's flags and id. */
static long fill_statfs(struct uf_mount *m, struct statfs *st)
{
	memset(st, 0, sizeof *st);
	int r = m && m->type->statfs ? m->type->statfs(m, st) : 0;
	if (!st->f_bsize)
		st->f_bsize = 4096;
	if (!st->f_frsize)
		st->f_frsize = st->f_bsize;
	if (!st->f_namelen)
		st->f_namelen = UF_VFS_NAME_MAX;
	st->f_flags = m && m->read_only ? ST_RDONLY : 0;
	st->f_fsid.__val[0] = m ? (int)m->dev : 0;
	return r;
}

long uf_vfs_statfs(int fd, const char *path, struct statfs *st)
{
	struct target t;
	int r = target_get(fd, path, 0, &t);
	if (r < 0)
		return r;
	r = fill_statfs(t.m, st);
	target_put(&t);
	return r;
}

long uf_sys_linkat(int olddirfd, const char *from, int newdirfd, const char *to, int flags)
{
	char abs_from[UF_VFS_PATH_MAX], abs_to[UF_VFS_PATH_MAX];
	const char *rest_from, *rest_to;
	if (flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH))
		return -EINVAL;
	int r = uf_vfs_resolve_at(olddirfd, from, abs_from);
	if (!r)
		r = uf_vfs_resolve_at(newdirfd, to, abs_to);
	if (r < 0)
		return r;
	struct uf_mount *m = uf_vfs_lookup(abs_from, &rest_from), *m_to = uf_vfs_lookup(abs_to, &rest_to);
	if (!m || !m_to)
		return -ENOENT;
	if (m != m_to)
		return -EXDEV;
	if (m->read_only)
		return -EROFS;
	return m->type->link ? m->type->link(m, rest_from, rest_to) : -EPERM;
}

long uf_sys_link(const char *from, const char *to)
{
	return uf_sys_linkat(AT_FDCWD, from, AT_FDCWD, to, 0);
}

extern const char uf_app_name[];

/* No file system here has symbolic links. What Linux's /proc/self shows as links is answered without a /proc:
 * exe is "/" and the app's name, fd/N the path a descriptor was opened with (the console: /dev/console). */
long uf_sys_readlinkat(int dirfd, const char *path, char *buf, size_t size)
{
	char abs[UF_VFS_PATH_MAX], target[UF_VFS_PATH_MAX] = "";
	if ((ssize_t)size <= 0)
		return -EINVAL;
	int r = uf_vfs_resolve_at(dirfd, path, abs);
	if (r < 0)
		return r;
	if (!strcmp(abs, "/proc/self/exe")) {
		target[0] = '/';
		strncat(target, uf_app_name, sizeof target - 2);
	} else if (!strncmp(abs, "/proc/self/fd/", 14) && abs[14]) {
		int fd = 0;
		for (const char *p = abs + 14; *p; p++)
			fd = *p >= '0' && *p <= '9' && fd < uf_fd_max ? fd * 10 + (*p - '0') : uf_fd_max;
		struct uf_file *f = uf_fd_get(fd);
		struct vfs_file *v = uf_vfs_file(fd);
		if (!f)
			return -ENOENT;
		strcpy(target, v ? v->path : f->ops == &uf_console_file_ops ? "/dev/console" : "anon_inode:[file]");
	} else {
		struct stat st;
		r = uf_vfs_stat_path(abs, &st);
		return r < 0 ? r : -EINVAL;     /* there, and not a link */
	}
	size_t n = strlen(target);
	n = n < size ? n : size;
	memcpy(buf, target, n);
	return n;
}

long uf_sys_readlink(const char *path, char *buf, size_t size)
{
	return uf_sys_readlinkat(AT_FDCWD, path, buf, size);
}

/* As root: read and write always (but no writing on a read-only mount), execute when some x bit is set. */
long uf_sys_faccessat2(int dirfd, const char *path, int mode, int flags)
{
	struct stat st;
	if ((mode & ~(R_OK | W_OK | X_OK)) || (flags & ~(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)))
		return -EINVAL;
	struct target t;
	int r = target_get(dirfd, path, flags, &t);
	if (r < 0 || t.other)
		return r;
	r = t.m->type->stat(t.m, t.node, &st);
	if (!r && (mode & W_OK) && t.m->read_only)
		r = -EROFS;
	if (!r && (mode & X_OK) && !(st.st_mode & 0111))
		r = -EACCES;
	target_put(&t);
	return r;
}

long uf_sys_faccessat(int dirfd, const char *path, int mode)
{
	return uf_sys_faccessat2(dirfd, path, mode, 0);
}

long uf_sys_access(const char *path, int mode)
{
	return uf_sys_faccessat2(AT_FDCWD, path, mode, 0);
}

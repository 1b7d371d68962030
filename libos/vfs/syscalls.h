/* Internal to module vfs: what the arch-specific stat entry points share. */
#ifndef VFS_SYSCALLS_H
#define VFS_SYSCALLS_H

#include "vfs_internal.h"

struct stat;
struct statfs;
struct timespec;

int uf_vfs_resolve_at(int dirfd, const char *path, char abs[UF_VFS_PATH_MAX]);
int uf_vfs_fstatat(int dirfd, const char *path, struct stat *st, int flags);

/* attr.c: path NULL acts on the descriptor dirfd */
long uf_vfs_chmod(int dirfd, const char *path, mode_t mode, int flags);
long uf_vfs_chown(int dirfd, const char *path, uid_t uid, gid_t gid, int flags);
long uf_vfs_utimens(int dirfd, const char *path, const struct timespec times[2], int flags);
long uf_vfs_truncate_path(const char *path, off_t len);
long uf_vfs_statfs(int fd, const char *path, struct statfs *st);

#endif

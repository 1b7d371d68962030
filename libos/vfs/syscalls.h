/* Internal to module vfs: what the arch-specific stat entry points share. */
#ifndef VFS_SYSCALLS_H
#define VFS_SYSCALLS_H

#include "vfs_internal.h"

struct stat;

int uf_vfs_resolve_at(int dirfd, const char *path, char abs[UF_VFS_PATH_MAX]);
int uf_vfs_fstatat(int dirfd, const char *path, struct stat *st, int flags);

#endif

/* Internal to module vfs: open files and the path syscalls' access to them. */
#ifndef VFS_FILES_H
#define VFS_FILES_H

#include <stdint.h>
#include <sys/types.h>
#include "vfs_internal.h"

struct stat;

struct vfs_file {
	struct uf_mount *m;
	void *node;
	uint64_t pos;
	uint64_t dir_cookie;
	int is_dir;
	char path[UF_VFS_PATH_MAX];     /* absolute: the base of openat() and fchdir() */
};

/* The VFS file behind fd, or NULL (not open, or not a file of a mounted file system). */
struct vfs_file *uf_vfs_file(int fd);
int uf_vfs_open_fd(const char *abs, int flags, mode_t mode);
int uf_vfs_stat_path(const char *abs, struct stat *st);

#endif

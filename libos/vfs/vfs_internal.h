/* Internal to module vfs: path resolution shared by its syscalls. */
#ifndef VFS_INTERNAL_H
#define VFS_INTERNAL_H

#include <uf/vfs.h>

#define UF_VFS_PATH_MAX 256

int uf_vfs_normalize(const char *base, const char *path, char out[UF_VFS_PATH_MAX]);
struct uf_mount *uf_vfs_lookup(const char *abs, const char **rest);
const char *uf_vfs_cwd(void);
void uf_vfs_set_cwd(const char *abs);

#endif

/* Internal to module vfs: path resolution shared by its syscalls. */
#ifndef VFS_INTERNAL_H
#define VFS_INTERNAL_H

#include <uf/vfs.h>

#define UF_VFS_PATH_MAX 256

int uf_vfs_normalize(const char *base, const char *path, char out[UF_VFS_PATH_MAX]);
struct uf_mount *uf_vfs_lookup(const char *abs, const char **rest);
const char *uf_vfs_cwd(void);
void uf_vfs_set_cwd(const char *abs);
int uf_vfs_next_mount_below(const char *dir, uint64_t *index, char name[UF_VFS_NAME_MAX + 1]);
int uf_vfs_leads_to_mount(const char *abs);

/* root.c: the root of an image with nothing mounted on "/" */
extern const struct uf_fs_type uf_vfs_root_type;

/* mmap.c: writes back every shared file mapping */
void uf_vfs_map_writeback_all(void);

#endif

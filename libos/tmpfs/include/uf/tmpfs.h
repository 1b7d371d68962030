/* tmpfs: a file system in RAM, writable, gone at exit. Module vfs mounts it on /tmp and /dev/shm in every image
 * that has files (musl's shm_open and sem_open keep their objects in /dev/shm); uf.mount=PATH:none:tmpfs mounts
 * more. Like Linux's, a mount holds at most half the RAM (ENOSPC beyond). */
#ifndef UF_TMPFS_H
#define UF_TMPFS_H

#include <uf/vfs.h>

extern const struct uf_fs_type uf_tmpfs_type;

#endif

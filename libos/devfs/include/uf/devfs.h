/* devfs: the devices programs expect in /dev, mounted there by module vfs in every image that has files:
 * null, zero, full, random and urandom (uf_arch_entropy), console, tty (ENXIO: there is no controlling terminal),
 * stdin, stdout, stderr and fd/N (a new descriptor for what descriptor N is: the file reopened, or the same
 * console or socket). Linux's device numbers, so st_rdev means what programs expect. /dev/shm is a tmpfs. */
#ifndef UF_DEVFS_H
#define UF_DEVFS_H

#include <uf/vfs.h>

extern const struct uf_fs_type uf_devfs_type;

#endif

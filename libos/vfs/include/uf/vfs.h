/* The virtual file system: a mount table, path resolution and the POSIX file syscalls. A file system type
 * registers its operations; the VFS keeps the descriptors, offsets and O_* semantics, so a file system only reads
 * and writes nodes at offsets.
 *
 * Paths given to a file system are relative to its mount point, normalized: no leading or doubled '/', no "." or
 * ".." components; "" is the root of the mount. Every operation returns 0 (or a count) or -errno. */
#ifndef UF_VFS_H
#define UF_VFS_H

#include <stdint.h>
#include <sys/types.h>

struct stat;
struct uf_mount;

#define UF_VFS_NAME_MAX 255

struct uf_vfs_dirent {
	char name[UF_VFS_NAME_MAX + 1];
	uint64_t ino;
	unsigned char type;     /* DT_REG, DT_DIR */
};

struct uf_fs_type {
	const char *name;       /* as in uf.mount=PATH:SOURCE:NAME, e.g. "fat" */

	/* Mounts source (a device name such as "disk0", or NULL for a file system without one) on m, storing its
	 * state in m->priv. read_only: never write to the device. */
	int (*mount)(struct uf_mount *m, const char *source, int read_only);

	/* Opens path (a file or a folder): a node the other operations take, released by close. Honours O_CREAT,
	 * O_EXCL and O_TRUNC; the VFS checks access modes, O_DIRECTORY, and that a read-only mount gets no write. */
	int (*open)(struct uf_mount *m, const char *path, int flags, mode_t mode, void **node);
	void (*close)(struct uf_mount *m, void *node);
	ssize_t (*read)(struct uf_mount *m, void *node, void *buf, size_t len, uint64_t off);
	ssize_t (*write)(struct uf_mount *m, void *node, const void *buf, size_t len, uint64_t off);
	int (*stat)(struct uf_mount *m, void *node, struct stat *st);
	/* The next entry of directory node after *cookie (0 at the start; "." and ".." are not returned): 1 and the
	 * cookie advanced, or 0 at the end. */
	int (*readdir)(struct uf_mount *m, void *node, uint64_t *cookie, struct uf_vfs_dirent *out);

	/* Only for writable file systems (NULL: -EROFS). */
	int (*truncate)(struct uf_mount *m, void *node, uint64_t len);
	/* node's data and the metadata that reaches it durable on the device; node NULL: everything */
	int (*sync)(struct uf_mount *m, void *node);
	int (*mkdir)(struct uf_mount *m, const char *path, mode_t mode);
	int (*rmdir)(struct uf_mount *m, const char *path);
	int (*unlink)(struct uf_mount *m, const char *path);
	int (*rename)(struct uf_mount *m, const char *from, const char *to);
};

struct uf_mount {
	char path[64];          /* absolute, normalized; "/" or "/data" */
	const struct uf_fs_type *type;
	int read_only;
	void *priv;             /* the file system's state */
};

/* Makes a file system type available to mounts from the command line (uf.mount=) and the default mount. */
void uf_vfs_register(const struct uf_fs_type *type);

/* Mounts a file system now: 0 or -errno (-EBUSY if path is taken, -ENOSPC if the table is full). */
int uf_vfs_mount(const char *path, const struct uf_fs_type *type, const char *source, int read_only);

/* Makes everything written so far durable on every writable mount (called when the app exits). */
void uf_vfs_sync_all(void);

#endif

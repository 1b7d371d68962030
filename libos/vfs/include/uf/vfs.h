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
#include <time.h>

struct stat;
struct statfs;
struct uf_mount;

#define UF_VFS_NAME_MAX 255

struct uf_vfs_dirent {
	char name[UF_VFS_NAME_MAX + 1];
	uint64_t ino;
	unsigned char type;     /* DT_REG, DT_DIR */
};

/* What setattr changes (mask: UF_VFS_ATTR_*). Times arrive resolved (UTIME_NOW is the time now). */
struct uf_vfs_attr {
	unsigned mask;
	mode_t mode;            /* permission bits (07777) */
	uid_t uid;              /* (uid_t)-1: unchanged */
	gid_t gid;              /* (gid_t)-1: unchanged */
	struct timespec atime, mtime;
};
#define UF_VFS_ATTR_MODE 1
#define UF_VFS_ATTR_OWNER 2
#define UF_VFS_ATTR_ATIME 4
#define UF_VFS_ATTR_MTIME 8

struct uf_fs_type {
	const char *name;       /* as in uf.mount=PATH:SOURCE:NAME, e.g. "fat" */

	/* Mounts source (a device name such as "disk0", or NULL for a file system without one) on m, storing its
	 * state in m->priv. read_only: never write to the device. NULL: nothing to set up. */
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

	/* Optional. */
	/* A second name for a file (link()). NULL: -EPERM, as Linux answers for FAT. */
	int (*link)(struct uf_mount *m, const char *from, const char *to);
	/* Changes what stat says (chmod, chown, utimensat). NULL: -EPERM. */
	int (*setattr)(struct uf_mount *m, void *node, const struct uf_vfs_attr *attr);
	/* Sizes for statfs (f_type, f_bsize, f_blocks, f_bfree, f_files...; the VFS sets f_flags and f_fsid).
	 * NULL: a file system of no blocks. */
	int (*statfs)(struct uf_mount *m, struct statfs *st);
	/* For paths that open as another kind of descriptor (a device standing for another descriptor, the
	 * console): 0 and the new descriptor in *fd, 1 for a path to open as a node (with open), or -errno. */
	int (*open_fd)(struct uf_mount *m, const char *path, int flags, int *fd);
};

struct uf_mount {
	char path[64];          /* absolute, normalized; "/" or "/data" */
	dev_t dev;              /* what stat says in st_dev for its files (the VFS sets it) */
	const struct uf_fs_type *type;
	int read_only;
	void *priv;             /* the file system's state */
};

/* Makes a file system type available to mounts from the command line (uf.mount=) and the default mount. */
void uf_vfs_register(const struct uf_fs_type *type);

/* Mounts a file system now: 0 or -errno (-EBUSY if path is taken, -ENOSPC if the table is full). */
int uf_vfs_mount(const char *path, const struct uf_fs_type *type, const char *source, int read_only);

/* A new descriptor for what descriptor fd is (/dev/fd/N, /dev/stdin): its file opened anew with flags when it is
 * a file of a file system (with an offset of its own, as Linux reopens it), else the same open file (the console,
 * a socket). The descriptor or -errno. */
int uf_vfs_reopen(int fd, int flags);

/* Makes everything written so far durable on every writable mount, shared file mappings first (called when the
 * app exits). */
void uf_vfs_sync_all(void);

/* File mappings, for module mem's mmap, munmap and msync (which reach them through weak references: an image
 * without files has none).
 * uf_vfs_map: mmap of a descriptor: the address, or -errno (Linux's: EBADF, EACCES, ENODEV...). The memory is
 * anonymous memory from mem filled with the file's bytes (beyond the end of the file: zeros); a MAP_SHARED
 * mapping is written back to the file (the bytes that changed, never past its end) by uf_vfs_msync, by
 * munmap (uf_vfs_unmap) and when the app exits. Two mappings of one file are two copies.
 * uf_vfs_unmap: [a, end) stops being file mappings (after being written back), before mem frees or reuses it.
 * uf_vfs_msync: writes back the shared mappings in [a, end), then (MS_SYNC) makes their files durable.
 * uf_vfs_shared: whether part of [a, end) is a shared mapping (whose bytes are its file's: MADV_DONTNEED keeps them). */
long uf_vfs_map(void *addr, size_t len, int prot, int flags, int fd, off_t off);
void uf_vfs_unmap(uintptr_t a, uintptr_t end);
int uf_vfs_msync(uintptr_t a, uintptr_t end, int flags);
int uf_vfs_shared(uintptr_t a, uintptr_t end);

#endif

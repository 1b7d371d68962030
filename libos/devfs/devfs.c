/* /dev. A node is an entry of the device table (stdin...), or the one node of a descriptor number (fd/N). The
 * nodes that stand for a descriptor open as a new descriptor of what that one is (open_fd), as Linux's
 * /proc/self/fd links do; stat of them is fstat of the descriptor. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <uf/devfs.h>
#include <uf/fd.h>
#include <uf/process.h>

enum kind { FOLDER, FD_FOLDER, DESCRIPTOR, NUL, ZERO, FULL, RANDOM, CONSOLE, TTY };

struct device {
	const char *name;
	unsigned char kind;
	unsigned char major, minor;
	short fd;                       /* DESCRIPTOR: which */
};

/* Sorted by name, as ls shows them. */
static const struct device devices[] = {
	{ "console", CONSOLE, 5, 1, 0 }, { "fd", FD_FOLDER, 0, 0, 0 }, { "full", FULL, 1, 7, 0 },
	{ "null", NUL, 1, 3, 0 }, { "random", RANDOM, 1, 8, 0 }, { "stderr", DESCRIPTOR, 0, 0, 2 },
	{ "stdin", DESCRIPTOR, 0, 0, 0 }, { "stdout", DESCRIPTOR, 0, 0, 1 }, { "tty", TTY, 5, 0, 0 },
	{ "urandom", RANDOM, 1, 9, 0 }, { "zero", ZERO, 1, 5, 0 },
};
#define NDEVICES (sizeof devices / sizeof *devices)

static const struct device root = { "", FOLDER, 0, 0, 0 };
static struct device descriptor;                /* fd/N: a node lives for one call, the one looking at it */

static const struct device *find(const char *path)
{
	if (!*path)
		return &root;
	if (!strncmp(path, "fd/", 3)) {
		char *end;
		long n = strtol(path + 3, &end, 10);
		if (!path[3] || *end || n < 0 || n >= uf_fd_max || path[3] == '+' || path[3] == '-' ||
		    (path[3] == '0' && path[4]))
			return 0;
		descriptor = (struct device){ "", DESCRIPTOR, 0, 0, n };
		return &descriptor;
	}
	for (size_t i = 0; i < NDEVICES; i++)
		if (!strcmp(devices[i].name, path))
			return &devices[i];
	return 0;
}

static int devfs_open(struct uf_mount *m, const char *path, int flags, mode_t mode, void **node)
{
	(void)m, (void)mode;
	const struct device *d = find(path);
	if (!d)
		return (flags & O_CREAT) ? -EROFS : -ENOENT;     /* /dev holds its devices; /dev/shm is writable */
	if (d->kind == DESCRIPTOR && !uf_fd_get(d->fd))
		return -ENOENT;
	*node = (void *)d;
	return 0;
}

static int devfs_open_fd(struct uf_mount *m, const char *path, int flags, int *fd)
{
	const struct device *d = find(path);
	void *node;
	int r = devfs_open(m, path, flags, 0, &node);
	if (r < 0)
		return r;
	if (d->kind == TTY)
		return -ENXIO;          /* no controlling terminal, as for a daemon on Linux */
	if (d->kind == DESCRIPTOR)
		*fd = uf_vfs_reopen(d->fd, flags);
	else if (d->kind == CONSOLE)
		*fd = uf_fd_install(&uf_console_file_ops, 0, flags & (O_ACCMODE | O_APPEND | O_NONBLOCK));
	else
		return 1;
	if (*fd >= 0 && d->kind == CONSOLE && (flags & O_CLOEXEC))
		uf_fd_get(*fd)->fd_flags = FD_CLOEXEC;
	return *fd < 0 ? *fd : 0;
}

static void devfs_close(struct uf_mount *m, void *node)
{
	(void)m, (void)node;
}

static ssize_t devfs_read(struct uf_mount *m, void *node, void *buf, size_t len, uint64_t off)
{
	const struct device *d = node;
	(void)m, (void)off;
	switch (d->kind) {
	case NUL: return 0;
	case ZERO: case FULL: memset(buf, 0, len); return len;
	case RANDOM: uf_arch_entropy(buf, len); return len;
	case FOLDER: case FD_FOLDER: return -EISDIR;
	default: return -EBADF;
	}
}

static ssize_t devfs_write(struct uf_mount *m, void *node, const void *buf, size_t len, uint64_t off)
{
	const struct device *d = node;
	(void)m, (void)buf, (void)off;
	switch (d->kind) {
	case FULL: return -ENOSPC;
	case FOLDER: case FD_FOLDER: return -EISDIR;
	case NUL: case ZERO: case RANDOM: return len;   /* as Linux: random takes what is written */
	default: return -EBADF;
	}
}

static int devfs_stat(struct uf_mount *m, void *node, struct stat *st)
{
	const struct device *d = node;
	(void)m;
	if (d->kind == DESCRIPTOR) {
		struct uf_file *f = uf_fd_get(d->fd);
		if (!f)
			return -ENOENT;
		return f->ops->fstat ? f->ops->fstat(f, st) : -EBADF;
	}
	int folder = d->kind == FOLDER || d->kind == FD_FOLDER;
	*st = (struct stat){
		.st_mode = folder ? S_IFDIR | 0755 : S_IFCHR | (d->kind == CONSOLE ? 0600 : 0666),
		.st_nlink = folder ? 2 : 1, .st_rdev = makedev(d->major, d->minor), .st_blksize = 4096,
		.st_ino = d == &root ? 1 : (ino_t)(d - devices) + 2,
	};
	return 0;
}

/* The root's cookie is the index of the next device; fd/'s is the next descriptor number. */
static int devfs_readdir(struct uf_mount *m, void *node, uint64_t *cookie, struct uf_vfs_dirent *out)
{
	const struct device *d = node;
	(void)m;
	if (d == &root && *cookie < NDEVICES) {
		const struct device *e = &devices[*cookie];
		strcpy(out->name, e->name);
		out->ino = e - devices + 2;
		out->type = e->kind == FD_FOLDER ? DT_DIR : e->kind == DESCRIPTOR ? DT_UNKNOWN : DT_CHR;
		++*cookie;
		return 1;
	}
	for (uint64_t n = *cookie; d->kind == FD_FOLDER && n < (uint64_t)uf_fd_max; n++)
		if (uf_fd_get(n)) {
			char *p = out->name + sizeof out->name;
			*--p = 0;
			uint64_t v = n;
			do
				*--p = '0' + v % 10;
			while (v /= 10);
			memmove(out->name, p, out->name + sizeof out->name - p);
			out->ino = 100 + n;
			out->type = DT_UNKNOWN;     /* what the descriptor is: stat says */
			*cookie = n + 1;
			return 1;
		}
	return 0;
}

static int devfs_statfs(struct uf_mount *m, struct statfs *st)
{
	(void)m;
	st->f_type = 0x01021994;        /* Linux's devtmpfs is a tmpfs */
	return 0;
}

const struct uf_fs_type uf_devfs_type = {
	.name = "devfs",
	.open = devfs_open,
	.open_fd = devfs_open_fd,
	.close = devfs_close,
	.read = devfs_read,
	.write = devfs_write,
	.stat = devfs_stat,
	.readdir = devfs_readdir,
	.statfs = devfs_statfs,
};

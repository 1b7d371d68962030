/* The mount table and path resolution. Mounts are made on the first path lookup (the command line's options are
 * only known once the process starts, and an app that never opens a file never probes a disk): those of
 * uf.mount= (or the first disk on /data), then the ones every image has where those left room: /dev (devfs),
 * /dev/shm and /tmp (tmpfs), /etc (etcfs), and the root (module vfs's root.c) when nothing else is on "/". */
#include <errno.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <uf/console.h>
#include <uf/devfs.h>
#include <uf/etcfs.h>
#include <uf/process.h>
#include <uf/tmpfs.h>
#include <uf/vfs.h>
#include "vfs_internal.h"

#define MAX_TYPES 6
#define MAX_MOUNTS 16

static const struct uf_fs_type *types[MAX_TYPES];
static struct uf_mount mounts[MAX_MOUNTS];
static int mount_count;
static int options_done;
static char cwd[UF_VFS_PATH_MAX] = "/";

void uf_vfs_register(const struct uf_fs_type *type)
{
	for (int i = 0; i < MAX_TYPES; i++)
		if (!types[i]) {
			types[i] = type;
			return;
		}
}

static const struct uf_fs_type *find_type(const char *name, size_t len)
{
	for (int i = 0; i < MAX_TYPES && types[i]; i++)
		if (strlen(types[i]->name) == len && !memcmp(types[i]->name, name, len))
			return types[i];
	return 0;
}

int uf_vfs_mount(const char *path, const struct uf_fs_type *type, const char *source, int read_only)
{
	char norm[UF_VFS_PATH_MAX];
	int r = uf_vfs_normalize("/", path, norm);
	if (r < 0)
		return r;
	if (strlen(norm) >= sizeof mounts[0].path)
		return -ENAMETOOLONG;
	for (int i = 0; i < mount_count; i++)
		if (!strcmp(mounts[i].path, norm))
			return -EBUSY;
	if (mount_count == MAX_MOUNTS)
		return -ENOSPC;
	struct uf_mount *m = &mounts[mount_count];
	*m = (struct uf_mount){ .type = type, .read_only = read_only, .dev = makedev(0, mount_count + 1) };
	strcpy(m->path, norm);
	r = type->mount ? type->mount(m, source, read_only) : 0;
	if (r < 0)
		return r;
	mount_count++;
	return 0;
}

static void report(const char *path, const char *source, int err)
{
	uf_printk("vfs: cannot mount %s on %s: %s\n", source, path, strerror(-err));
}

/* One uf.mount entry: PATH:SOURCE:TYPE[:ro]. */
static void mount_option(char *entry)
{
	static char original[256];
	char *fields[4] = { 0 };
	int n = 0;
	strcpy(original, entry);        /* fits: entry is part of a copy of that size */
	for (char *p = entry; n < 4; ) {
		fields[n++] = p;
		p = strchr(p, ':');
		if (!p)
			break;
		*p++ = 0;
	}
	int ro = n == 4 && !strcmp(fields[3], "ro");
	const struct uf_fs_type *type = n >= 3 ? find_type(fields[2], strlen(fields[2])) : 0;
	if (n < 3 || (n == 4 && !ro) || !type) {
		uf_printk("vfs: ignoring uf.mount entry '%s': want PATH:DEVICE:TYPE[:ro] with a linked TYPE\n", original);
		return;
	}
	int r = uf_vfs_mount(fields[0], type, fields[1], ro);
	if (r < 0)
		report(fields[0], fields[1], r);
}

/* uf.mount=PATH:DEVICE:TYPE[:ro][,...]; without it, the first disk as FAT on /data when FAT is linked and there is
 * a disk (no disk is not an error: the app may only use its embedded tree). */
static void mount_options(void)
{
	static char copy[256];
	const char *option = uf_option("uf.mount");
	if (!option) {
		const struct uf_fs_type *fat = find_type("fat", 3);
		int r = fat ? uf_vfs_mount("/data", fat, "disk0", 0) : 0;
		if (r < 0 && r != -ENODEV)
			report("/data", "disk0", r);
		return;
	}
	if (strlen(option) >= sizeof copy) {
		uf_printk("vfs: ignoring uf.mount: longer than %d bytes\n", (int)sizeof copy - 1);
		return;
	}
	strcpy(copy, option);
	for (char *entry = copy, *next; entry; entry = next) {
		next = strchr(entry, ',');
		if (next)
			*next++ = 0;
		if (*entry)
			mount_option(entry);
	}
}

/* The mounts every image has, where the command line left room. */
static void mount_standard(void)
{
	static const struct {
		const char *path;
		const struct uf_fs_type *type;
		int read_only;
	} standard[] = {
		{ "/dev", &uf_devfs_type, 0 }, { "/dev/shm", &uf_tmpfs_type, 0 }, { "/tmp", &uf_tmpfs_type, 0 },
		{ "/etc", &uf_etcfs_type, 1 }, { "/", &uf_vfs_root_type, 1 },
	};
	for (size_t i = 0; i < sizeof standard / sizeof *standard; i++) {
		int r = uf_vfs_mount(standard[i].path, standard[i].type, 0, standard[i].read_only);
		if (r < 0 && r != -EBUSY)
			report(standard[i].path, standard[i].type->name, r);
	}
}

static void mount_all(void)
{
	options_done = 1;
	uf_vfs_register(&uf_tmpfs_type);        /* for uf.mount=/scratch:none:tmpfs */
	mount_options();
	mount_standard();
}

/* Joins base and path (absolute or relative to base) into out, removing ".", ".." and doubled '/'. */
int uf_vfs_normalize(const char *base, const char *path, char out[UF_VFS_PATH_MAX])
{
	if (!*path)
		return -ENOENT;
	size_t len = 0;
	out[len++] = '/';
	for (int pass = path[0] == '/'; pass < 2; pass++) {
		const char *p = pass ? path : base;
		while (*p) {
			while (*p == '/')
				p++;
			const char *end = p;
			while (*end && *end != '/')
				end++;
			size_t n = end - p;
			if (n > UF_VFS_NAME_MAX)
				return -ENAMETOOLONG;
			if (n == 2 && p[0] == '.' && p[1] == '.') {
				while (len > 1 && out[len - 1] != '/')
					len--;
				if (len > 1)
					len--;
			} else if (n && !(n == 1 && p[0] == '.')) {
				if (len + (len > 1) + n >= UF_VFS_PATH_MAX)
					return -ENAMETOOLONG;
				if (len > 1)
					out[len++] = '/';
				memcpy(out + len, p, n);
				len += n;
			}
			p = end;
		}
	}
	out[len] = 0;
	return 0;
}

/* The mount that holds an absolute normalized path (the longest mount point that is a prefix of it at a component
 * boundary), and the path inside it. */
struct uf_mount *uf_vfs_lookup(const char *abs, const char **rest)
{
	if (!options_done)
		mount_all();
	struct uf_mount *best = 0;
	size_t best_len = 0;
	for (int i = 0; i < mount_count; i++) {
		size_t n = strlen(mounts[i].path);
		if (n == 1 || (!strncmp(abs, mounts[i].path, n) && (abs[n] == '/' || !abs[n]))) {
			if (!best || n > best_len) {
				best = &mounts[i];
				best_len = n;
			}
		}
	}
	if (best)
		*rest = abs + best_len + (abs[best_len] == '/');
	return best;
}

void uf_vfs_sync_all(void)
{
	uf_vfs_map_writeback_all();
	for (int i = 0; i < mount_count; i++) {
		struct uf_mount *m = &mounts[i];
		int r = !m->read_only && m->type->sync ? m->type->sync(m, 0) : 0;
		if (r < 0)
			uf_printk("vfs: writing back %s failed: %s\n", m->path, strerror(-r));
	}
}

long uf_sys_sync(void)
{
	uf_vfs_sync_all();
	return 0;
}

/* The next mount point below the folder dir (absolute, normalized) from *index on: 1, with the name under dir
 * that leads to it (a mount point itself, or a folder on the way to one; each name once) and *index advanced;
 * 0 when there are no more. */
int uf_vfs_next_mount_below(const char *dir, uint64_t *index, char name[UF_VFS_NAME_MAX + 1])
{
	size_t dlen = strcmp(dir, "/") ? strlen(dir) : 0;
	for (uint64_t i = *index; i < (uint64_t)mount_count; i++) {
		const char *p = mounts[i].path;
		if (strncmp(p, dir, dlen) || p[dlen] != '/' || !p[dlen + 1])
			continue;
		const char *first = p + dlen + 1, *end = strchrnul(first, '/');
		int seen = 0;
		for (uint64_t j = 0; j < i && !seen; j++) {
			const char *q = mounts[j].path;
			seen = !strncmp(q, p, end - p) && (q[end - p] == '/' || !q[end - p]);
		}
		if (seen)
			continue;
		memcpy(name, first, end - first);
		name[end - first] = 0;
		*index = i + 1;
		return 1;
	}
	*index = mount_count;
	return 0;
}

/* Whether the folder abs (absolute, normalized, not "/") is on the way to a mount point. */
int uf_vfs_leads_to_mount(const char *abs)
{
	size_t n = strlen(abs);
	for (int i = 0; i < mount_count; i++)
		if (!strncmp(mounts[i].path, abs, n) && mounts[i].path[n] == '/')
			return 1;
	return 0;
}

const char *uf_vfs_cwd(void)
{
	return cwd;
}

void uf_vfs_set_cwd(const char *abs)
{
	strcpy(cwd, abs);
}

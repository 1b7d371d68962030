/* The 32-bit ARM names and layouts of the path syscalls. musl's fstatat tries statx first (64-bit times), so statx
 * serves stat, lstat and, with AT_EMPTY_PATH, fstat; fstatat64 is for the members that call it directly. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <uf/fd.h>
#include "syscalls.h"

struct statx_time {
	int64_t sec;
	uint32_t nsec;
	int32_t pad;
};

/* The kernel's struct statx (include/uapi/linux/stat.h). */
struct kernel_statx {
	uint32_t mask, blksize;
	uint64_t attributes;
	uint32_t nlink, uid, gid;
	uint16_t mode, pad1;
	uint64_t ino, size, blocks, attributes_mask;
	struct statx_time atime, btime, ctime, mtime;
	uint32_t rdev_major, rdev_minor, dev_major, dev_minor;
	uint64_t spare[14];
};
_Static_assert(sizeof(struct kernel_statx) == 256, "struct statx is 256 bytes");

#define STATX_BASIC_STATS 0x7ff

long uf_sys_statx(int dirfd, const char *path, int flags, unsigned mask, struct kernel_statx *out)
{
	struct stat st;
	(void)mask;
	int r = uf_vfs_fstatat(dirfd, path, &st, flags);
	if (r < 0)
		return r;
	*out = (struct kernel_statx){
		.mask = STATX_BASIC_STATS, .blksize = st.st_blksize, .nlink = st.st_nlink, .uid = st.st_uid,
		.gid = st.st_gid, .mode = st.st_mode, .ino = st.st_ino, .size = st.st_size, .blocks = st.st_blocks,
		.atime = { st.st_atim.tv_sec, st.st_atim.tv_nsec, 0 },
		.ctime = { st.st_ctim.tv_sec, st.st_ctim.tv_nsec, 0 },
		.mtime = { st.st_mtim.tv_sec, st.st_mtim.tv_nsec, 0 },
		.rdev_major = major(st.st_rdev), .rdev_minor = minor(st.st_rdev),
		.dev_major = major(st.st_dev), .dev_minor = minor(st.st_dev),
	};
	return 0;
}

/* stat64, lstat64, fstatat64: what musl members call directly (tmpnam, tempnam, fchmodat; the ARM EABI's struct
 * stat64, 32-bit times). */
long uf_sys_fstatat64(int dirfd, const char *path, void *out, int flags)
{
	struct stat st;
	int r = uf_vfs_fstatat(dirfd, path, &st, flags);
	if (r < 0)
		return r;
	uf_fd_stat64(&st, out);
	return 0;
}

long uf_sys_stat64(const char *path, void *out)
{
	return uf_sys_fstatat64(AT_FDCWD, path, out, 0);
}

long uf_sys_lstat64(const char *path, void *out)
{
	return uf_sys_fstatat64(AT_FDCWD, path, out, AT_SYMLINK_NOFOLLOW);
}

/* statfs64/fstatfs64 pass the size of the struct they want: musl's struct statfs is the kernel's statfs64. */
long uf_sys_statfs64(const char *path, size_t size, struct statfs *st)
{
	return size < sizeof *st ? -EINVAL : uf_vfs_statfs(AT_FDCWD, path, st);
}

long uf_sys_fstatfs64(int fd, size_t size, struct statfs *st)
{
	return size < sizeof *st ? -EINVAL : uf_vfs_statfs(fd, 0, st);
}

/* musl's struct timespec has a 64-bit time_t on ARM too: the time64 syscall's. musl calls it only for times past
 * 2038 and uses the 32-bit one otherwise. */
long uf_sys_utimensat_time64(int dirfd, const char *path, const struct timespec times[2], int flags)
{
	return uf_vfs_utimens(dirfd, path, times, flags);
}

long uf_sys_utimensat(int dirfd, const char *path, const long times32[4], int flags)
{
	struct timespec times[2];
	for (int i = 0; times32 && i < 2; i++)
		times[i] = (struct timespec){ .tv_sec = times32[2 * i], .tv_nsec = times32[2 * i + 1] };
	return uf_vfs_utimens(dirfd, path, times32 ? times : 0, flags);
}

/* truncate64: the 64-bit length as an aligned register pair after a padding word. */
long uf_sys_truncate64(const char *path, long pad, unsigned long low, unsigned long high)
{
	(void)pad;
	return uf_vfs_truncate_path(path, (off_t)((uint64_t)high << 32 | low));
}

long uf_sys_chown32(const char *path, uid_t uid, gid_t gid)
{
	return uf_vfs_chown(AT_FDCWD, path, uid, gid, 0);
}

long uf_sys_lchown32(const char *path, uid_t uid, gid_t gid)
{
	return uf_vfs_chown(AT_FDCWD, path, uid, gid, AT_SYMLINK_NOFOLLOW);
}

long uf_sys_fchown32(int fd, uid_t uid, gid_t gid)
{
	return uf_vfs_chown(fd, 0, uid, gid, 0);
}

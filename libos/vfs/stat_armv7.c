/* The 32-bit ARM stat family: musl's fstatat tries statx first (64-bit times), so statx is the only one needed,
 * for paths and, with AT_EMPTY_PATH, for descriptors (fstat). */
#include <stdint.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
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

/* The 32-bit ARM names and layouts of the descriptor syscalls: musl calls these numbers there. */
#include <errno.h>
#include <stdint.h>
#include <sys/stat.h>
#include <uf/fd.h>
#include "fd_io.h"

long uf_sys_fcntl(int fd, int cmd, long arg);

/* _llseek: the offset comes split in two registers and the result, 64 bits wider than a long, goes to memory. */
long uf_sys__llseek(int fd, unsigned long high, unsigned long low, off_t *result, int whence)
{
	off_t pos = uf_fd_seek(fd, (off_t)((uint64_t)high << 32 | low), whence);
	if (pos < 0)
		return pos;
	*result = pos;
	return 0;
}

long uf_sys_fcntl64(int fd, int cmd, long arg)
{
	return uf_sys_fcntl(fd, cmd, arg);
}

/* The Linux ARM EABI struct stat64 that fstat64 fills (not musl's struct stat: 32-bit times, padded fields). */
struct arm_stat64 {
	uint64_t dev;
	uint32_t pad0;
	uint32_t ino_low;
	uint32_t mode, nlink, uid, gid;
	uint64_t rdev;
	uint32_t pad1;
	int64_t size;
	uint32_t blksize;
	uint64_t blocks;
	uint32_t atime, atime_ns, mtime, mtime_ns, ctime, ctime_ns;
	uint64_t ino;
};
_Static_assert(sizeof(struct arm_stat64) == 104, "ARM EABI stat64 is 104 bytes");

void uf_fd_stat64(const struct stat *st, void *out)
{
	*(struct arm_stat64 *)out = (struct arm_stat64){
		.dev = st->st_dev, .ino_low = (uint32_t)st->st_ino, .mode = st->st_mode, .nlink = st->st_nlink,
		.uid = st->st_uid, .gid = st->st_gid, .rdev = st->st_rdev, .size = st->st_size,
		.blksize = st->st_blksize, .blocks = st->st_blocks, .atime = (uint32_t)st->st_atim.tv_sec,
		.atime_ns = st->st_atim.tv_nsec, .mtime = (uint32_t)st->st_mtim.tv_sec, .mtime_ns = st->st_mtim.tv_nsec,
		.ctime = (uint32_t)st->st_ctim.tv_sec, .ctime_ns = st->st_ctim.tv_nsec, .ino = st->st_ino,
	};
}

long uf_sys_fstat64(int fd, struct arm_stat64 *out)
{
	struct uf_file *f = uf_fd_get(fd);
	struct stat st;
	if (!f)
		return -EBADF;
	if (!f->ops->fstat)
		return -EBADF;
	int r = f->ops->fstat(f, &st);
	if (r < 0)
		return r;
	uf_fd_stat64(&st, out);
	return 0;
}

/* pread64/pwrite64/ftruncate64: musl passes the 64-bit offset as an aligned register pair after a padding word. */
static off_t pair(unsigned long low, unsigned long high)
{
	return (off_t)((uint64_t)high << 32 | low);
}

long uf_sys_pread64(int fd, void *buf, size_t len, long pad, unsigned long low, unsigned long high)
{
	(void)pad;
	return uf_fd_pread(fd, buf, len, pair(low, high));
}

long uf_sys_pwrite64(int fd, const void *buf, size_t len, long pad, unsigned long low, unsigned long high)
{
	(void)pad;
	return uf_fd_pwrite(fd, buf, len, pair(low, high));
}

long uf_sys_ftruncate64(int fd, long pad, unsigned long low, unsigned long high)
{
	(void)pad;
	return uf_fd_truncate(fd, pair(low, high));
}

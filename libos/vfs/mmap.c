/* File mappings. The memory is anonymous memory (module mem) filled with the file's bytes: a copy, which is all
 * MAP_PRIVATE needs. A MAP_SHARED mapping is remembered with its open file (held, so that close() after mmap()
 * keeps it) and written back to it by msync, munmap and the app's exit: only the bytes that differ from the
 * file's, and never past its end (a mapping does not grow its file, as on Linux). What this copy cannot give is
 * Linux's single page cache: write() to a file does not show in its mappings, nor does one mapping's store in
 * another mapping of the same file, until written back. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <uf/boot.h>
#include <uf/fd.h>
#include <uf/mem.h>
#include "files.h"

#define MAX_SHARED 64
#define PAGE UF_PAGE_SIZE

struct shared_map {
	uintptr_t base, end;            /* base 0: a free slot */
	struct uf_file *file;
	uint64_t off;                   /* the file offset of base */
};

static struct shared_map maps[MAX_SHARED];

static struct shared_map *free_map(void)
{
	for (int i = 0; i < MAX_SHARED; i++)
		if (!maps[i].base)
			return &maps[i];
	return 0;
}

static int is_zero_device(const struct stat *st)
{
	return S_ISCHR(st->st_mode) && st->st_rdev == makedev(1, 5);     /* /dev/zero, Linux's numbers */
}

/* Copies what the file holds at off into [a, a + len): the rest stays zero. */
static int fill(struct uf_file *f, uintptr_t a, size_t len, uint64_t off)
{
	for (size_t done = 0; done < len; ) {
		ssize_t n = f->ops->fs->pread(f, (char *)a + done, len - done, off + done);
		if (n < 0)
			return n;
		if (!n)
			break;
		done += n;
	}
	return 0;
}

long uf_vfs_map(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	struct uf_file *f = uf_fd_get(fd);
	struct stat st;
	if (!f)
		return -EBADF;
	int type = flags & MAP_TYPE, shared = type == MAP_SHARED || type == MAP_SHARED_VALIDATE;
	if (!shared && type != MAP_PRIVATE)
		return -EINVAL;
	if (!uf_vfs_file(fd) || f->ops->fstat(f, &st) < 0 || (!S_ISREG(st.st_mode) && !is_zero_device(&st)))
		return -ENODEV;
	int mode = f->flags & O_ACCMODE;
	if (mode == O_WRONLY || (shared && (prot & PROT_WRITE) && (mode == O_RDONLY || (f->flags & O_APPEND))))
		return -EACCES;
	if (off < 0 || (off & (PAGE - 1)))
		return -EINVAL;
	shared = shared && !is_zero_device(&st);        /* shared zeros: plain memory in a single process */
	struct shared_map *m = shared ? free_map() : 0;
	if (shared && !m)
		return -ENOMEM;
	long a = uf_sys_mmap(addr, len, PROT_READ | PROT_WRITE, (flags & ~MAP_TYPE) | MAP_PRIVATE | MAP_ANONYMOUS,
	                     -1, 0);
	if (a < 0)
		return a;
	int r = is_zero_device(&st) ? 0 : fill(f, a, len, off);
	if (!r && prot != (PROT_READ | PROT_WRITE))
		r = uf_sys_mprotect((void *)a, len, prot);
	if (r < 0) {
		uf_sys_munmap((void *)a, len);
		return r;
	}
	if (shared) {
		*m = (struct shared_map){ .base = a, .end = a + ((len + PAGE - 1) & ~(size_t)(PAGE - 1)), .file = f,
		                          .off = off };
		uf_file_hold(f);
	}
	return a;
}

/* Writes [a, end) of a shared mapping back to its file, where it differs from it, up to the file's end. */
static int write_back(const struct shared_map *m, uintptr_t a, uintptr_t end)
{
	static unsigned char on_disk[512];
	struct uf_file *f = m->file;
	struct stat st;
	if ((f->flags & O_ACCMODE) == O_RDONLY)
		return 0;               /* mapped read-only: nothing can have changed */
	int r = f->ops->fstat(f, &st);
	if (r < 0)
		return r;
	uint64_t from = m->off + (a - m->base), to = m->off + (end - m->base);
	if (to > (uint64_t)st.st_size)
		to = st.st_size;
	for (uint64_t at = from; at < to; at += sizeof on_disk) {
		size_t n = to - at < sizeof on_disk ? to - at : sizeof on_disk;
		const unsigned char *mem = (const unsigned char *)(m->base + (at - m->off));
		ssize_t got = f->ops->fs->pread(f, on_disk, n, at);
		if (got == (ssize_t)n && !memcmp(on_disk, mem, n))
			continue;
		ssize_t put = f->ops->fs->pwrite(f, mem, n, at);
		if (put < 0)
			return put;
	}
	return 0;
}

void uf_vfs_unmap(uintptr_t a, uintptr_t end)
{
	for (int i = 0; i < MAX_SHARED; i++) {
		struct shared_map *m = &maps[i];
		if (!m->base || m->end <= a || end <= m->base)
			continue;
		uintptr_t from = a > m->base ? a : m->base, to = end < m->end ? end : m->end;
		write_back(m, from, to);
		struct shared_map *tail = from > m->base && to < m->end ? free_map() : 0;
		if (tail) {             /* a hole in the middle: the part after it becomes a mapping of its own */
			*tail = (struct shared_map){ .base = to, .end = m->end, .file = m->file,
			                             .off = m->off + (to - m->base) };
			uf_file_hold(m->file);
		} else if (from > m->base && to < m->end) {
			write_back(m, to, m->end);      /* no room to remember it: it stops being shared */
		}
		if (from > m->base) {
			m->end = from;
		} else if (to < m->end) {
			m->off += to - m->base;
			m->base = to;
		} else {
			uf_file_put(m->file);
			m->base = 0;
		}
	}
}

/* Does part of [a, end) belong to a shared mapping? */
int uf_vfs_shared(uintptr_t a, uintptr_t end)
{
	for (int i = 0; i < MAX_SHARED; i++)
		if (maps[i].base && maps[i].base < end && a < maps[i].end)
			return 1;
	return 0;
}

int uf_vfs_msync(uintptr_t a, uintptr_t end, int flags)
{
	int result = 0;
	for (int i = 0; i < MAX_SHARED; i++) {
		struct shared_map *m = &maps[i];
		if (!m->base || m->end <= a || end <= m->base)
			continue;
		int r = write_back(m, a > m->base ? a : m->base, end < m->end ? end : m->end);
		if (!r && (flags & MS_SYNC))
			r = m->file->ops->fs->sync(m->file);
		if (r < 0 && !result)
			result = r;
	}
	return result;
}

void uf_vfs_map_writeback_all(void)
{
	for (int i = 0; i < MAX_SHARED; i++)
		if (maps[i].base)
			write_back(&maps[i], maps[i].base, maps[i].end);
}

/* Copies between descriptors in the library OS, through a buffer: the source is read at an offset (pread), so
 * that a destination that takes fewer bytes (a full non-blocking pipe or socket) leaves the source's offset
 * just past what it took. A blocking destination waits in its own write. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include <uf/fd.h>
#include <uf/mem.h>
#include "sendfile_io.h"

#define CHUNK 65536
#define MAX_COUNT 0x7ffff000        /* Linux's largest single transfer */

/* The buffer of a copy that could not allocate its own (one at a time: a blocking write may let another thread in). */
static char reserve[4096];
static int reserve_taken;

/* Copies up to count bytes from in at *in_pos to out (at *out_pos, or at its own offset when out_pos is 0),
 * advancing the positions by what out took: the bytes copied, or -errno if none. */
static long copy(struct uf_file *in, off_t *in_pos, struct uf_file *out, off_t *out_pos, size_t count)
{
	if (count > MAX_COUNT)
		count = MAX_COUNT;
	size_t chunk = count < CHUNK ? count : CHUNK;
	char *buf = count ? malloc(chunk) : 0;
	if (buf && uf_mem_populate(buf, chunk)) {
		free(buf);
		buf = 0;
	}
	if (count && !buf) {
		/* Memory is short: a smaller copy through the reserve, as Linux's sendfile goes on page by page. */
		if (reserve_taken)
			return -ENOMEM;
		reserve_taken = 1;
		buf = reserve;
		chunk = count < sizeof reserve ? count : sizeof reserve;
	}
	long total = 0;
	while ((size_t)total < count) {
		size_t n = count - total < chunk ? count - total : chunk;
		ssize_t got = in->ops->fs->pread(in, buf, n, *in_pos);
		if (got <= 0) {
			if (got < 0 && !total)
				total = got;
			break;
		}
		ssize_t put = out_pos ? out->ops->fs->pwrite(out, buf, got, *out_pos) : out->ops->write(out, buf, got);
		if (put <= 0) {
			if (put < 0 && !total)
				total = put;
			break;
		}
		*in_pos += put;
		if (out_pos)
			*out_pos += put;
		total += put;
		if (put < got)
			break;
	}
	if (buf == reserve)
		reserve_taken = 0;
	else
		free(buf);
	return total;
}

static int readable(const struct uf_file *f)
{
	return (f->flags & O_ACCMODE) != O_WRONLY;
}

static int writable(const struct uf_file *f)
{
	return (f->flags & O_ACCMODE) != O_RDONLY;
}

/* The source's position: *offset (left to the caller), else its own offset, read now and set after. */
static long send_file(struct uf_file *in, struct uf_file *out, off_t *offset, size_t count)
{
	if (!readable(in) || !writable(out))
		return -EBADF;
	if (!in->ops->fs)
		return -EINVAL;             /* the source must be a file with an offset, as on Linux */
	if (offset && *offset < 0)
		return -EINVAL;
	if (offset)
		return copy(in, offset, out, 0, count);
	off_t pos = in->ops->lseek ? in->ops->lseek(in, 0, SEEK_CUR) : -ESPIPE;
	if (pos < 0)
		return -EINVAL;
	long r = copy(in, &pos, out, 0, count);
	if (r > 0)
		in->ops->lseek(in, pos, SEEK_SET);
	return r;
}

/* Both ends are files with offsets: each given offset is used and advanced, else the file's own. */
static long copy_range(struct uf_file *in, off_t *in_off, struct uf_file *out, off_t *out_off, size_t count,
		       unsigned flags)
{
	if (!readable(in) || !writable(out))
		return -EBADF;
	if (flags || !in->ops->fs || !out->ops->fs || !in->ops->lseek || !out->ops->lseek)
		return -EINVAL;
	if ((in_off && *in_off < 0) || (out_off && *out_off < 0))
		return -EINVAL;
	if (count > MAX_COUNT)
		count = MAX_COUNT;
	off_t in_pos = in_off ? *in_off : in->ops->lseek(in, 0, SEEK_CUR);
	off_t out_pos = out_off ? *out_off : out->ops->lseek(out, 0, SEEK_CUR);
	if (in_pos < 0 || out_pos < 0)
		return -EINVAL;
	if (in == out && in_pos < out_pos + (off_t)count && out_pos < in_pos + (off_t)count)
		return -EINVAL;             /* overlapping ranges of one file */
	long r = copy(in, &in_pos, out, &out_pos, count);
	if (r > 0) {
		if (in_off)
			*in_off = in_pos;
		else
			in->ops->lseek(in, in_pos, SEEK_SET);
		if (out_off)
			*out_off = out_pos;
		else
			out->ops->lseek(out, out_pos, SEEK_SET);
	}
	return r;
}

/* Both descriptors' files, held for the call (uf_fd_use). */
long uf_sendfile(int out_fd, int in_fd, off_t *offset, size_t count)
{
	struct uf_file *in = uf_fd_use(in_fd), *out = uf_fd_use(out_fd);
	long r = in && out ? send_file(in, out, offset, count) : -EBADF;
	if (in)
		uf_fd_done(in);
	if (out)
		uf_fd_done(out);
	return r;
}

long uf_sys_copy_file_range(int in_fd, off_t *in_off, int out_fd, off_t *out_off, size_t count, unsigned flags)
{
	struct uf_file *in = uf_fd_use(in_fd), *out = uf_fd_use(out_fd);
	long r = in && out ? copy_range(in, in_off, out, out_off, count, flags) : -EBADF;
	if (in)
		uf_fd_done(in);
	if (out)
		uf_fd_done(out);
	return r;
}

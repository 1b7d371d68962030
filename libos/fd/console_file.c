/* The console as a file: what stdin, stdout and stderr are. Its input is module stdin's, when the image has it
 * (an app that reads descriptors gets it); without it, reading gives end of file. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <uf/console.h>
#include <uf/fd.h>
#include <uf/stdin.h>

#pragma weak uf_stdin_read
#pragma weak uf_stdin_poll

static ssize_t console_read(struct uf_file *f, void *buf, size_t len)
{
	return uf_stdin_read ? uf_stdin_read(buf, len, f->flags & O_NONBLOCK) : 0;
}

static ssize_t console_write(struct uf_file *f, const void *buf, size_t len)
{
	(void)f;
	uf_console_write(buf, len);
	return len;
}

static unsigned console_poll(struct uf_file *f, unsigned long long *wake_ns)
{
	(void)f;
	return POLLOUT | (uf_stdin_poll ? uf_stdin_poll(wake_ns) : POLLIN);
}

/* Answering TIOCGWINSZ makes musl line-buffer stdout, so output is not lost in a buffer when the app crashes. */
static int console_ioctl(struct uf_file *f, unsigned long req, void *arg)
{
	(void)f;
	if (req != TIOCGWINSZ)
		return -ENOTTY;
	*(struct winsize *)arg = (struct winsize){ .ws_row = 24, .ws_col = 80 };
	return 0;
}

static int console_fstat(struct uf_file *f, struct stat *st)
{
	(void)f;
	*st = (struct stat){ .st_mode = S_IFCHR | 0620, .st_blksize = 1024 };
	return 0;
}

const struct uf_file_ops uf_console_file_ops = {
	.read = console_read,
	.write = console_write,
	.ioctl = console_ioctl,
	.fstat = console_fstat,
	.poll = console_poll,
};

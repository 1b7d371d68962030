/* The console as a file: what stdin, stdout and stderr are. Its input is module stdin's, when the image has it
 * (an app that reads descriptors gets it); without it, reading gives end of file. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <uf/console.h>
#include <uf/fd.h>
#include <uf/process.h>
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

/* Whether the host's end of this side of the console is a terminal: `uf.tty=` lists the sides that are, '0' for the
 * input (descriptor 0's file) and '1' for the output (the others): `uniforge run` says what its stdin and stdout
 * are; both without the option (QEMU in a terminal). isatty() asks (TIOCGWINSZ): programs pick line buffering and
 * prompts by it, and refuse to write binary data to a terminal. */
static int is_terminal(const struct uf_file *f)
{
	const char *sides = uf_option("uf.tty");
	char side = (f->flags & O_ACCMODE) == O_RDONLY ? '0' : '1';
	if (!sides)
		return 1;
	while (*sides && *sides != side)
		sides++;
	return *sides == side;
}

/* A terminal answers TIOCGWINSZ: musl then line-buffers stdout, as on Linux. */
static int console_ioctl(struct uf_file *f, unsigned long req, void *arg)
{
	if (req != TIOCGWINSZ || !is_terminal(f))
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

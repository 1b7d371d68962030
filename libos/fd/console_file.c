/* The console as a file: what stdin, stdout and stderr are. Its input and its poll op are module stdin's, which
 * an image has when its app can read the console (libos/stdin/module.toml); without it, reading gives end of
 * file, and poll says readable (as at the end of a file) and writable. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
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
	return uf_stdin_read ? uf_stdin_read(f, buf, len) : 0;
}

static ssize_t console_write(struct uf_file *f, const void *buf, size_t len)
{
	(void)f;
	uf_console_write(buf, len);
	return len;
}

/* A terminal answers TIOCGWINSZ, which isatty() asks (and musl, to line-buffer stdout, as on Linux): programs pick
 * buffering and prompts by it, and refuse to write binary data to a terminal. Whether the host's end of this side
 * of the console is one, `uf.tty=` says, listing '0' for the input (descriptor 0's file, read-only) and '1' for the
 * output (the others): `uniforge run` gives what its stdin and stdout are; both without the option. */
__attribute__((minsize)) static int console_ioctl(struct uf_file *f, unsigned long req, void *arg)
{
	if (req != TIOCGWINSZ)
		return -ENOTTY;
	const char *sides = uf_option("uf.tty");
	if (sides && !strchr(sides, (f->flags & O_ACCMODE) == O_RDONLY ? '0' : '1'))
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
	.poll = uf_stdin_poll,
};

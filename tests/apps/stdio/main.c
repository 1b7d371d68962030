/* The console as stdin/stdout, one mode per argument:
 *   cat     copies stdin to stdout with read/write, byte for byte, until end of file
 *   count   reads stdin through stdio (getchar) and prints how many bytes and lines came, and their sum
 *   bytes   writes every byte value 0x00-0xff, twice
 *   poll    waits for stdin with poll(), then says what it read
 *   errno   a failing call's errno, printed with perror and strerror
 *   tty     whether descriptors 0, 1 and 2 are terminals
 *   flood   writes bytes 0-250 over and over, 255 KiB in all, as fast as it can */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int cat(void)
{
	char buf[700];          /* not a power of two: reads and writes cut the stream at odd places */
	ssize_t n;
	while ((n = read(0, buf, sizeof buf)) > 0)
		for (ssize_t done = 0; done < n;) {
			ssize_t w = write(1, buf + done, (size_t)(n - done));
			if (w <= 0)
				return 2;
			done += w;
		}
	return n < 0 ? 3 : 0;
}

static int count(void)
{
	unsigned long bytes = 0, lines = 0, sum = 0;
	int c;
	while ((c = getchar()) != EOF) {
		bytes++;
		sum += (unsigned)c;
		lines += c == '\n';
	}
	printf("count: %lu bytes, %lu lines, sum %lu\n", bytes, lines, sum);
	return 0;
}

static int bytes(void)
{
	unsigned char all[512];
	for (int i = 0; i < 512; i++)
		all[i] = (unsigned char)i;
	return write(1, all, sizeof all) == sizeof all ? 0 : 1;
}

static int flood(void)
{
	static unsigned char all[251 * 16];     /* a whole number of patterns: each write goes on where the last ended */
	for (size_t i = 0; i < sizeof all; i++)
		all[i] = (unsigned char)(i % 251);
	for (int i = 0; i < 65; i++)
		if (write(1, all, sizeof all) != (ssize_t)sizeof all)
			return 1;
	return 0;
}

static int wait_for_input(void)
{
	struct pollfd p = { .fd = 0, .events = POLLIN };
	fputs("poll: waiting\n", stderr);      /* unbuffered: the host writes the input once it sees this */
	int ready = poll(&p, 1, 10000);
	char buf[64] = "";
	ssize_t n = ready == 1 && (p.revents & POLLIN) ? read(0, buf, sizeof buf - 1) : -1;
	printf("poll: ready=%d read=%zd %.*s\n", ready, n, n > 0 ? (int)n : 0, buf);
	return 0;
}

static int show_errno(void)
{
	errno = 0;
	if (open("/nonexistent/file", O_RDONLY) < 0) {
		int saved = errno;
		perror("open");
		printf("errno: %d %s\n", saved, strerror(saved));
	}
	return 0;
}

static int terminals(void)
{
	printf("tty: %d %d %d\n", isatty(0), isatty(1), isatty(2));
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	if (!strcmp(mode, "cat"))
		return cat();
	if (!strcmp(mode, "count"))
		return count();
	if (!strcmp(mode, "bytes"))
		return bytes();
	if (!strcmp(mode, "poll"))
		return wait_for_input();
	if (!strcmp(mode, "errno"))
		return show_errno();
	if (!strcmp(mode, "flood"))
		return flood();
	if (!strcmp(mode, "tty"))
		return terminals();
	fprintf(stderr, "usage: stdio cat|count|bytes|poll|errno|tty\n");
	return 64;
}

/* An app with its own malloc, as C lets a program have (tests/integration/test_posix.py): a bump allocator over a
 * static buffer whose blocks start at odd addresses, which counts its calls. The library OS must never use it (a
 * kernel never calls its processes' allocators): ARM's strd faults on such blocks, and an allocator may hold its own
 * lock while it calls mmap. Files in /tmp and a pipe, made by syscalls that the libc passes on without allocating,
 * make the library OS allocate: the app's malloc must see none of it. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static unsigned char heap[1 << 20];
static size_t used = 1;                 /* every block at an odd address */
static int calls;

void *malloc(size_t n)
{
	calls++;
	if (n > sizeof heap - used)
		return 0;
	void *p = heap + used;
	used += n | 1;                  /* an odd length keeps the next block odd too */
	return p;
}

void *calloc(size_t n, size_t m)
{
	void *p = m && n > SIZE_MAX / m ? 0 : malloc(n * m);
	return p ? memset(p, 0, n * m) : 0;
}

void *realloc(void *p, size_t n)
{
	void *q = malloc(n);
	if (q && p)
		memcpy(q, p, n);        /* the heap is one buffer: reading past the old block's end stays in it */
	return q;
}

void free(void *p)
{
	(void)p;
}

int main(void)
{
	char name[32], back[16] = "";
	int failures = 0;
	for (int i = 0; i < 8; i++) {           /* tmpfs makes a node, and its data, for each */
		snprintf(name, sizeof name, "/tmp/file%d", i);
		int fd = open(name, O_RDWR | O_CREAT, 0600);
		if (fd < 0 || write(fd, "line\n", 5) != 5 || pread(fd, back, 5, 0) != 5 || close(fd))
			failures++;
	}
	int fds[2];
	if (pipe(fds) || write(fds[1], "x", 1) != 1 || read(fds[0], back, 1) != 1)
		failures++;
	printf("own malloc: %d calls from the library OS; failures %d\n", calls, failures);
	return failures != 0 || calls != 0;
}

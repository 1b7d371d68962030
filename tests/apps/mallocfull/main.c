/* Allocates blocks of 256 KiB, 64 KiB, 4 KiB, 1 KiB, 100 and 16 bytes, writing every byte of each, each size until
 * malloc returns NULL; then, with the memory gone, calloc and realloc of small and large sizes. Every NULL must come
 * with errno ENOMEM, as on Linux (a program prints strerror(errno): "Success" would be a bug). Then checks that every
 * block still holds what was written, frees them all and allocates as much again. Prints "mallocfull: ..." lines;
 * exit status 0 when every check held (a guest that ran out of memory on a touch would not get that far). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sysinfo.h>

#define KIB 1024UL
#define MIB (1024 * KIB)

struct block {
	struct block *next;
	size_t size;
};

/* The sizes malloc is filled with, largest first (each then takes what the larger left), and those calloc and
 * realloc ask for when the memory is gone: above and below mallocng's mmap threshold and its page-sized groups. */
static const size_t sizes[] = { 256 * KIB, 64 * KIB, 4 * KIB, KIB, 100, sizeof(struct block) };
static const size_t asks[] = { MIB, 300000, 64 * KIB, 4 * KIB, 100, sizeof(struct block) };
#define COUNT(a) (sizeof a / sizeof *a)

/* NULLs returned, and those of them whose errno was not ENOMEM (the first such one is printed). */
static int nulls, wrong;

/* p, the result of call(size) made with errno 0: counts a NULL, and says so if errno is not ENOMEM. */
static void *checked(const char *call, size_t size, void *p)
{
	if (p)
		return p;
	nulls++;
	if (errno != ENOMEM && !wrong++)
		printf("mallocfull: %s(%zu) returned NULL with errno %d (%s)\n", call, size, errno, strerror(errno));
	return 0;
}

static unsigned long free_kib(void)
{
	struct sysinfo info;
	sysinfo(&info);
	return info.freeram * info.mem_unit / KIB;
}

/* Blocks of size until malloc says no: their list (newest first); *bytes grows by what they hold. */
static struct block *fill(size_t size, struct block *list, size_t *bytes)
{
	for (;;) {
		errno = 0;
		struct block *b = checked("malloc", size, malloc(size));
		if (!b)
			return list;
		memset(b, (int)(size + *bytes / size) & 0xff, size);
		b->next = list;
		b->size = size;
		*bytes += size;
		list = b;
	}
}

/* Whether every block still holds its bytes (its pattern after the header), then frees them all. */
static int check_and_free(struct block *list)
{
	int same = 1;
	for (struct block *b = list, *next; b; b = next) {
		next = b->next;
		const unsigned char *p = (const unsigned char *)b;
		for (size_t i = sizeof *b; i < b->size; i++)
			same &= p[i] == p[b->size - 1];
		free(b);
	}
	return same;
}

/* With the memory gone: calloc and realloc (of a block of 16 bytes) of each size; those that succeed are freed.
 * Returns how many returned NULL; *large_nulls counts those of the sizes of 64 KiB and more, which must all fail. */
static int calloc_and_realloc(int *large_nulls)
{
	int before = nulls, large_before;
	void *small = malloc(1);        /* a slot of a group that exists, or NULL: realloc(NULL, n) is malloc */
	*large_nulls = 0;
	for (size_t i = 0; i < COUNT(asks); i++) {
		large_before = nulls;
		errno = 0;
		free(checked("calloc", asks[i], calloc(1, asks[i])));
		errno = 0;
		void *moved = checked("realloc", asks[i], realloc(small, asks[i]));
		if (moved)
			small = moved;
		if (asks[i] >= 64 * KIB)
			*large_nulls += nulls - large_before;
	}
	free(small);
	return nulls - before;
}

/* Touches 64 KiB of stack below the caller: with module demand main's stack gets its pages on first touch, and once
 * malloc has taken the last page (the small blocks come from pages backed at once) printf must find them there. */
static void __attribute__((noinline)) ready_stack(void)
{
	volatile char frame[64 * KIB];
	for (size_t i = 0; i < sizeof frame; i += 512)
		frame[i] = 0;
}

int main(void)
{
	int failed = 0;
	ready_stack();
	unsigned long before = free_kib();
	size_t bytes = 0, big = 0;
	struct block *list = 0;
	for (size_t i = 0; i < COUNT(sizes); i++) {
		list = fill(sizes[i], list, &bytes);
		if (!i)
			big = bytes;
	}
	int fill_nulls = nulls;
	/* The memory is gone: an mmap that must be backed says so too. */
	errno = 0;
	void *m = mmap(0, MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int mmap_enomem = m == MAP_FAILED && errno == ENOMEM;
	printf("mallocfull: %lu KiB free, malloc gave %zu KiB in 256 KiB blocks and %zu KiB in smaller ones down to "
	       "%zu bytes, then NULL at each size; mmap of 1 MiB: %s\n", before, big / KIB, (bytes - big) / KIB,
	       sizeof(struct block), mmap_enomem ? "ENOMEM" : "not ENOMEM");
	failed |= !mmap_enomem || bytes < before * KIB / 2 || fill_nulls != COUNT(sizes);
	if (m != MAP_FAILED)
		munmap(m, MIB);
	int large_nulls, asked_nulls = calloc_and_realloc(&large_nulls);
	printf("mallocfull: calloc and realloc of %zu sizes: %d NULL, of them %d of the sizes of 64 KiB and more\n",
	       COUNT(asks), asked_nulls, large_nulls);
	failed |= large_nulls != 6;
	printf("mallocfull: every NULL came with ENOMEM: %s\n", wrong ? "no" : "yes");
	failed |= wrong;

	int kept = check_and_free(list);
	unsigned long after = free_kib();
	size_t again = 0;
	struct block *second = fill(256 * KIB, 0, &again);
	int kept_again = check_and_free(second);
	printf("mallocfull: blocks kept their bytes %s; after free %s; malloc gave %s again\n", kept ? "yes" : "no",
	       after + 512 >= before ? "as much free as before" : "less free", again + 512 * KIB >= big ? "as much" : "less");
	failed |= !kept || !kept_again || after + 512 < before || again + 512 * KIB < big;
	printf("mallocfull: %s\n", failed ? "FAIL" : "ok");
	return failed;
}

/* Allocates blocks of 256 KiB, then of 4 KiB, writing every byte of each, until malloc returns NULL; then checks that
 * every block still holds what was written, frees them all and allocates as much again. Prints "mallocfull: ..." lines;
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
		struct block *b = malloc(size);
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

int main(void)
{
	int failed = 0;
	unsigned long before = free_kib();
	size_t bytes = 0;
	struct block *list = fill(256 * KIB, 0, &bytes);
	size_t big = bytes;
	list = fill(4 * KIB, list, &bytes);
	/* The memory is gone: an mmap that must be backed says so too. */
	void *m = mmap(0, MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int mmap_enomem = m == MAP_FAILED && errno == ENOMEM;
	printf("mallocfull: %lu KiB free, malloc gave %zu KiB in 256 KiB blocks and %zu KiB in 4 KiB blocks, then NULL; "
	       "mmap of 1 MiB: %s\n", before, big / KIB, (bytes - big) / KIB, mmap_enomem ? "ENOMEM" : "not ENOMEM");
	failed |= !mmap_enomem || bytes < before * KIB / 2;
	if (m != MAP_FAILED)
		munmap(m, MIB);

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

/* Reserves address space the way JITs and Go-style runtimes do (PROT_NONE mappings, never touched): 4096 small ones
 * of 16 KiB (64 MiB, four times the guest's RAM) and large ones of 128 MiB (8 GiB on 64-bit, 1 GiB on 32-bit).
 * Then it opens 1 MiB of a large one and a page of a small one with mprotect and writes them, grows main's stack by
 * 256 KiB, runs a thread, mallocs, unmaps it all and says how much RAM each step took. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sysinfo.h>

#define KIB 1024UL
#define MIB (1024 * KIB)
#define SMALL_SIZE (16 * KIB)
#define SMALL_COUNT 4096
#define LARGE_SIZE (128 * MIB)
#define LARGE_COUNT (sizeof(void *) == 8 ? 64 : 8)

static void *small[SMALL_COUNT], *large[64];

static unsigned long free_kib(void)
{
	struct sysinfo info;
	sysinfo(&info);
	return info.freeram * info.mem_unit / KIB;
}

static void *reserve(size_t len)
{
	void *p = mmap(0, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		printf("reserve: mmap of %zu KiB PROT_NONE failed: %s\n", len / KIB, strerror(errno));
		exit(1);
	}
	return p;
}

/* Writes and checks [p, p + len): 1 if every byte read back. */
static int use(void *p, size_t len, int byte)
{
	memset(p, byte, len);
	for (size_t i = 0; i < len; i += 997)
		if (((unsigned char *)p)[i] != byte)
			return 0;
	return 1;
}

/* 256 KiB of main's stack, below the reservations' calls. */
static __attribute__((noinline)) int deep(int n)
{
	volatile char frame[16 * KIB];
	frame[0] = (char)n;
	frame[sizeof frame - 1] = (char)n;
	return n ? deep(n - 1) + frame[0] - frame[sizeof frame - 1] : 0;
}

static void *worker(void *arg)
{
	char *p = malloc(64 * KIB);
	int ok = p && use(p, 64 * KIB, 0x5a);
	free(p);
	return ok ? arg : 0;
}

int main(void)
{
	unsigned long before = free_kib();
	for (int i = 0; i < SMALL_COUNT; i++)
		small[i] = reserve(SMALL_SIZE);
	for (size_t i = 0; i < LARGE_COUNT; i++)
		large[i] = reserve(LARGE_SIZE);
	unsigned long reserved = free_kib();
	printf("reserve: %d x %lu KiB and %zu x %lu MiB PROT_NONE in %lu KiB free took %lu KiB\n", SMALL_COUNT,
	       SMALL_SIZE / KIB, LARGE_COUNT, LARGE_SIZE / MIB, before, before > reserved ? before - reserved : 0);

	char *piece = (char *)large[LARGE_COUNT / 2] + 64 * MIB, *page = small[SMALL_COUNT / 2];
	int opened = !mprotect(piece, MIB, PROT_READ | PROT_WRITE) && !mprotect(page, 4 * KIB, PROT_READ | PROT_WRITE);
	printf("reserve: mprotect opened 1 MiB and a page: %s, written and read back: %s\n", opened ? "yes" : "no",
	       opened && use(piece, MIB, 0xa5) && use(page, 4 * KIB, 0x3c) ? "yes" : "no");
	printf("reserve: main's stack grew 256 KiB: %s\n", deep(16) == 0 ? "yes" : "no");

	pthread_t thread;
	void *said = 0;
	int ran = !pthread_create(&thread, 0, worker, &thread) && !pthread_join(thread, &said) && said == &thread;
	char *block = malloc(MIB), *bytes = malloc(100);
	printf("reserve: a thread ran and used malloc: %s; malloc of 1 MiB and 100 bytes: %s\n", ran ? "yes" : "no",
	       block && bytes && use(block, MIB, 1) && use(bytes, 100, 2) ? "yes" : "no");
	free(block);
	free(bytes);

	int unmapped = 1;
	for (int i = 0; i < SMALL_COUNT; i++)
		unmapped &= !munmap(small[i], SMALL_SIZE);
	for (size_t i = 0; i < LARGE_COUNT; i++)
		unmapped &= !munmap(large[i], LARGE_SIZE);
	printf("reserve: all unmapped: %s\n", unmapped ? "yes" : "no");
	printf("reserve: ok\n");
	return 0;
}

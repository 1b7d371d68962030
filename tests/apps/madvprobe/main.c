/* MADV_DONTNEED as Linux gives it, which allocators count on (jemalloc takes purged pages back as zeroed ones):
 * private memory reads as zeros after it, in a small mapping, a large one whose untouched pages stay untouched (free
 * RAM does not move), and a read-only page; the bytes around the range stay; a large mapping's touched pages give
 * their RAM back where module demand backs it page by page (free RAM, printed for the test to judge, rises again),
 * and read as zeros, take writes again, and a read-only one stays read-only, a PROT_NONE one inaccessible; a shared
 * file mapping keeps its file's bytes; other advice changes nothing; errors as Linux's. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#define RW (PROT_READ | PROT_WRITE)
#define PRIVATE (MAP_PRIVATE | MAP_ANONYMOUS)

static int zeros(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

static unsigned long free_ram(void)
{
	struct sysinfo s;
	return sysinfo(&s) ? 0 : s.freeram * s.mem_unit;
}

static sigjmp_buf env;

static void jump(int sig)
{
	siglongjmp(env, sig);
}

/* Whether writing *p (or with write 0, reading it) faults (SIGSEGV). */
static int faults(volatile unsigned char *p, int write)
{
	struct sigaction sa = { .sa_handler = jump }, old;
	sigaction(SIGSEGV, &sa, &old);
	int faulted = sigsetjmp(env, 1) != 0;
	if (!faulted && write)
		*p = 1;
	else if (!faulted)
		(void)*p;
	sigaction(SIGSEGV, &old, 0);
	return faulted;
}

int main(void)
{
	size_t page = sysconf(_SC_PAGESIZE);
	unsigned char *small = mmap(0, 16 * page, RW, PRIVATE, -1, 0);
	memset(small, 0xab, 16 * page);
	int r = madvise(small + 4 * page, 8 * page, MADV_DONTNEED);
	printf("madv: small %s, around it kept %s\n", !r && zeros(small + 4 * page, 8 * page) ? "zeroed" : "NOT ZEROED",
	       small[4 * page - 1] == 0xab && small[12 * page] == 0xab ? "yes" : "no");

	size_t big = 32 << 20;
	unsigned char *large = mmap(0, big, RW, PRIVATE | MAP_NORESERVE, -1, 0);
	large[0] = large[big / 2] = large[big - 1] = 7;
	unsigned long before = free_ram();
	r = madvise(large, big, MADV_DONTNEED);
	unsigned long after = free_ram();
	printf("madv: large %s, free RAM %s\n", !r && !large[0] && !large[big / 2] && !large[big - 1] ? "zeroed" :
	       "NOT ZEROED", after + (1 << 20) >= before ? "as before" : "SHRANK");

	/* 8 MiB touched, its first page then made read-only and its second PROT_NONE: free RAM after mmap, after the
	 * touch, after MADV_DONTNEED; then the PROT_NONE page must still fault, and read as zeros once accessible. */
	size_t touch = 8 << 20;
	unsigned char *used = mmap(0, touch, RW, PRIVATE, -1, 0);
	unsigned long mapped = free_ram();
	memset(used, 0x5a, touch);
	mprotect(used, page, PROT_READ);
	mprotect(used + page, page, PROT_NONE);
	unsigned long touched = free_ram();
	r = madvise(used, touch, MADV_DONTNEED);
	unsigned long given = free_ram();
	printf("madv: free RAM KiB: mapped %lu, touched %lu, after MADV_DONTNEED %lu\n", mapped >> 10, touched >> 10,
	       given >> 10);
	int none_faults = faults(used + page, 0);
	mprotect(used + page, page, RW);
	int zeroed = !r && zeros(used, touch);
	memset(used + page, 0xa5, touch - page);
	int rewritten = used[page] == 0xa5 && used[touch - 1] == 0xa5;
	printf("madv: %zu MiB touched %s, written again %s, its read-only page %s, its PROT_NONE page %s\n",
	       touch >> 20, zeroed ? "zeroed" : "NOT ZEROED", rewritten ? "yes" : "no",
	       faults(used, 1) ? "faults on a write" : "TAKES A WRITE", none_faults ? "faults" : "DOES NOT FAULT");

	unsigned char *ro = mmap(0, page, RW, PRIVATE, -1, 0);
	memset(ro, 1, page);
	mprotect(ro, page, PROT_READ);
	r = madvise(ro, page, MADV_DONTNEED);
	printf("madv: read-only %s\n", !r && zeros(ro, page) ? "zeroed" : "NOT ZEROED");

	int fd = open("/tmp/madv", O_RDWR | O_CREAT | O_TRUNC, 0600);
	size_t file = 16 * page;        /* as large as module demand's smallest mappings: where it is linked, its own */
	if (fd < 0 || write(fd, "file bytes", 10) != 10 || ftruncate(fd, file))
		return 1;
	char *shared = mmap(0, file, RW, MAP_SHARED, fd, 0);
	shared[0] = 'F';
	r = madvise(shared, file, MADV_DONTNEED);
	printf("madv: shared file mapping %s: %.10s\n", r ? "failed" : "kept", shared);

	small[0] = 0xcd;
	r = madvise(small, page, MADV_FREE) | madvise(small, page, MADV_WILLNEED) | madvise(small, page, MADV_NORMAL);
	printf("madv: other advice %s\n", !r && small[0] == 0xcd ? "changes nothing" : "CHANGED");

	errno = 0;
	r = madvise(small + 1, page, MADV_DONTNEED);
	printf("madv: unaligned %s", r == -1 && errno == EINVAL ? "EINVAL" : "accepted");
	munmap(small, 16 * page);
	errno = 0;
	r = madvise(small, page, MADV_DONTNEED);
	printf(", unmapped %s\n", r == -1 && errno == ENOMEM ? "ENOMEM" : "accepted");
	puts("madv: ok");
	return 0;
}

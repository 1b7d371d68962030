/* Maps more anonymous memory than the guest has and touches a few pages of it: only those take RAM. argv[1]:
 * "exhaust" touches every page instead (the guest must stop with an out-of-memory report); "filemap" maps a file
 * shared, 64 KiB at a time, instead. The main thread then uses more stack than the boot stack has (Linux gives it
 * 8 MiB). Prints "demand: ..." lines; exit status 0 when every check held. */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#define MIB (1024UL * 1024)
#define MAPPING (64 * MIB)
#define FILE_MAP (64 * 1024UL)  /* module demand's smallest mapping; vfs remembers 64 shared ones */

/* Zero until something writes over it (a frame that jumped main's stack would, as LZF's did). */
static volatile unsigned char canary[1024 * 1024];

static int canary_intact(void)
{
	for (size_t i = 0; i < sizeof canary; i++)
		if (canary[i])
			return 0;
	return 1;
}

/* A file of 64 KiB of 'a' in tmpfs, mapped shared (into demand-zero memory) and unmapped 100 times: each munmap
 * must free vfs's record of it. Then anonymous memory that reuses the addresses of an unmapped one is written and
 * msync'ed: the file must not change. */
static int filemap(void)
{
	static char page[4096];
	int fd = open("/tmp/mapped", O_RDWR | O_CREAT | O_TRUNC, 0600);
	memset(page, 'a', sizeof page);
	for (size_t i = 0; fd >= 0 && i < FILE_MAP / sizeof page; i++)
		if (write(fd, page, sizeof page) != sizeof page)
			fd = -1;
	if (fd < 0) {
		printf("demand: cannot make /tmp/mapped\n");
		return 1;
	}
	int n = 0;
	for (; n < 100; n++) {
		char *m = mmap(0, FILE_MAP, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (m == MAP_FAILED || m[FILE_MAP - 1] != 'a' || munmap(m, FILE_MAP))
			break;
	}
	char *m = mmap(0, FILE_MAP, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	int reused = 0, same = 1;
	if (m != MAP_FAILED && !munmap(m, FILE_MAP)) {
		char *q = mmap(0, FILE_MAP, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		reused = q == m;
		if (q != MAP_FAILED) {
			memset(q, 'b', FILE_MAP);
			msync(q, FILE_MAP, MS_SYNC);
			munmap(q, FILE_MAP);
		}
		for (off_t at = 0; at < (off_t)FILE_MAP; at += sizeof page) {
			same &= pread(fd, page, sizeof page, at) == sizeof page;
			for (size_t i = 0; i < sizeof page; i++)
				same &= page[i] == 'a';
		}
	}
	printf("demand: shared file mappings of 64 KiB mapped and unmapped %d times of 100, the file after anonymous "
	       "memory at %s address was written %s\n", n, reused ? "the same" : "another",
	       same ? "unchanged" : "CHANGED");
	close(fd);
	return n < 100 || !same;
}

static unsigned long free_mib(void)
{
	struct sysinfo info;
	sysinfo(&info);
	return info.freeram * info.mem_unit / MIB;
}

/* Uses about 1 MiB of its stack, a page at a time, so that each page is touched in order (as a deep call chain). */
static void *deep(void *arg)
{
	volatile char frame[4096];
	int depth = (int)(long)arg;
	frame[0] = (char)depth;
	if (depth)
		deep((void *)(long)(depth - 1));
	return (void *)(long)(frame[0] == (char)depth);
}

/* One frame of 512 KiB, larger than LZF's 256 KiB hash table (Redis's SAVE): a page of it written at a time, from its
 * lowest address, then read back. On a small main stack this lands below its guard page. */
static int big_frame(void)
{
	volatile char frame[512 * 1024];
	int same = 1;
	for (size_t i = 0; i < sizeof frame; i += 4096)
		frame[i] = (char)(i >> 12);
	for (size_t i = 0; i < sizeof frame; i += 4096)
		same &= frame[i] == (char)(i >> 12);
	return same;
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "filemap"))
		return filemap();
	int failed = 0;
	struct rlimit stack;
	getrlimit(RLIMIT_STACK, &stack);
	printf("demand: RLIMIT_STACK %lu MiB\n", (unsigned long)(stack.rlim_cur / MIB));
	unsigned long before = free_mib();
	char *p = mmap(0, MAPPING, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {
		printf("demand: mmap of %lu MiB failed\n", MAPPING / MIB);
		return 1;
	}
	if (argc > 1 && !strcmp(argv[1], "exhaust")) {
		printf("demand: touching all %lu MiB with %lu MiB free\n", MAPPING / MIB, before);
		fflush(stdout);
		memset(p, 1, MAPPING);
		printf("demand: touched them all\n");
		return 1;
	}
	/* A few pages: the first, one in the middle, the last; the others read as zeros. */
	size_t at[] = { 0, MAPPING / 2 + 123, MAPPING - 1 };
	for (int i = 0; i < 3; i++)
		p[at[i]] = (char)(i + 1);
	int kept = p[0] == 1 && p[MAPPING / 2 + 123] == 2 && p[MAPPING - 1] == 3;
	int zero = p[MAPPING / 4] == 0 && p[3 * MAPPING / 4 + 4095] == 0;
	unsigned long touched = free_mib();
	printf("demand: mapped %lu MiB in %lu MiB free, wrote 3 pages: kept %s, others zero %s, free after %s\n",
	       MAPPING / MIB, before, kept ? "yes" : "no", zero ? "yes" : "no",
	       before - touched <= 1 ? "about the same" : "less");
	failed |= !kept || !zero || before - touched > 1;

	/* Mapped again in place (MAP_FIXED: zeroed), read-only, then unmapped: the pages go back, and the addresses can
	 * be mapped again, eight times over. */
	int fixed = mmap(p, 65536, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == p &&
		    p[0] == 0 && p[MAPPING - 1] == 3;
	int ro = mprotect(p, MAPPING, PROT_READ) == 0 && p[MAPPING - 1] == 3 && p[MAPPING / 8] == 0;
	int unmapped = munmap(p, MAPPING) == 0;
	int again = 1;
	for (int i = 0; i < 8 && again; i++) {
		char *q = mmap(0, MAPPING, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		again = q != MAP_FAILED && q[MAPPING / 2] == 0;
		if (again) {
			q[MAPPING / 2] = 1;
			again = munmap(q, MAPPING) == 0;
		}
	}
	printf("demand: fixed over it %s, read-only %s, unmapped %s, mapped and unmapped 8 more times %s, free after %s\n",
	       fixed ? "zeroed" : "no", ro ? "yes" : "no", unmapped ? "yes" : "no", again ? "yes" : "no",
	       free_mib() + 1 >= before ? "as before" : "less");
	failed |= !fixed || !ro || !unmapped || !again || free_mib() + 1 < before;

	/* A thread with a 4 MiB stack (as Redis's background threads ask for) that uses 1 MiB of it. */
	pthread_attr_t attr;
	pthread_t t;
	void *result = 0;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 4 * MIB);
	int made = pthread_create(&t, &attr, deep, (void *)256L) == 0 && pthread_join(t, &result) == 0;
	printf("demand: thread with a 4 MiB stack %s, its deep calls %s\n", made ? "ran" : "failed",
	       result ? "returned" : "failed");
	failed |= !made || !result;
	int main_deep = big_frame() && deep((void *)256L) && canary_intact();
	printf("demand: main thread's stack took a 512 KiB frame and ran 1 MiB deep, .bss intact: %s\n",
	       main_deep ? "yes" : "no");
	failed |= !main_deep;
	printf("demand: %s\n", failed ? "FAIL" : "ok");
	return failed;
}

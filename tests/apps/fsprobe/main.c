/* Exercises files on the disk mounted at /data (tests/integration/test_storage.py drives it):
 *   ops              POSIX semantics, one "ok NAME" or "FAIL NAME: why" line each; exit status = failures
 *   write-tree N     N files in nested folders under /data/tree, each holding a line derived from its path
 *   read-tree DIR    every file under DIR as "file PATH SIZE SUM" (SUM: a byte sum), then "done"
 *   append N SIZE    N records of SIZE bytes appended to /data/log, fsync after each, "synced I" once durable
 *   fill             writes /data/fill until the disk is full: "full errno=NAME"
 *   try-write        a write attempt on /data: "errno=NAME"
 *   bench MIB        sequential write and read of MIB MiB, and 100 fsyncs of 512-byte appends: timings
 *   big SRC DST      SRC with one read() into a fresh anonymous mapping at an odd address (64 KiB or more: module
 *                    demand's pages, backed as the copy reaches them), then DST with one write() of it: "big SIZE
 *                    FNV" (FNV-1a, 64 bits, of what was read) */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int failures;

static void check(const char *name, int ok, const char *why)
{
	if (ok)
		printf("ok %s\n", name);
	else {
		printf("FAIL %s: %s (errno %s)\n", name, why, strerror(errno));
		failures++;
	}
}

static const char *errno_name(int e)
{
	switch (e) {
	case ENOSPC: return "ENOSPC";
	case EROFS: return "EROFS";
	case ENOENT: return "ENOENT";
	case EIO: return "EIO";
	case EINVAL: return "EINVAL";
	default: return strerror(e);
	}
}

static int ops(void)
{
	char buf[256];
	struct stat st;
	int fd = open("/data/ops.txt", O_RDWR | O_CREAT | O_TRUNC, 0644);
	check("open-create", fd >= 0, "open O_CREAT");
	check("write", write(fd, "hello world", 11) == 11, "write");
	check("lseek-set", lseek(fd, 6, SEEK_SET) == 6, "lseek");
	check("read-after-seek", read(fd, buf, 5) == 5 && !memcmp(buf, "world", 5), "read");
	check("pwrite", pwrite(fd, "W", 1, 6) == 1 && lseek(fd, 0, SEEK_CUR) == 11, "pwrite moved the offset");
	check("pread", pread(fd, buf, 5, 6) == 5 && !memcmp(buf, "World", 5), "pread");
	check("lseek-end", lseek(fd, 0, SEEK_END) == 11, "lseek SEEK_END");
	check("sparse-write", pwrite(fd, "!", 1, 9000) == 1 && fstat(fd, &st) == 0 && st.st_size == 9001, "hole");
	check("hole-zero", pread(fd, buf, 4, 4000) == 4 && !memcmp(buf, "\0\0\0\0", 4), "hole not zero");
	check("ftruncate-shrink", ftruncate(fd, 5) == 0 && fstat(fd, &st) == 0 && st.st_size == 5, "ftruncate");
	check("ftruncate-grow", ftruncate(fd, 100) == 0 && pread(fd, buf, 10, 5) == 10 && !buf[0] && !buf[9],
	      "grown part not zero");
	check("fsync", fsync(fd) == 0, "fsync");
	check("close", close(fd) == 0, "close");
	check("excl", open("/data/ops.txt", O_RDWR | O_CREAT | O_EXCL, 0644) < 0 && errno == EEXIST, "O_EXCL");
	fd = open("/data/ops.txt", O_WRONLY | O_APPEND);
	check("append", fd >= 0 && write(fd, "tail", 4) == 4 && fstat(fd, &st) == 0 && st.st_size == 104, "O_APPEND");
	close(fd);
	check("stat", stat("/data/ops.txt", &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 104, "stat");
	check("missing", open("/data/none", O_RDONLY) < 0 && errno == ENOENT, "ENOENT");
	check("mkdir", mkdir("/data/A Long Directory Name", 0755) == 0, "mkdir");
	check("mkdir-exists", mkdir("/data/a long directory name", 0755) < 0 && errno == EEXIST, "case-insensitive");
	check("chdir", chdir("/data/A Long Directory Name") == 0, "chdir");
	check("getcwd", getcwd(buf, sizeof buf) && !strcmp(buf, "/data/A Long Directory Name"), buf);
	fd = open("relative file.txt", O_WRONLY | O_CREAT, 0644);
	check("relative-create", fd >= 0 && write(fd, "x", 1) == 1 && close(fd) == 0, "relative");
	check("rename", rename("relative file.txt", "../moved-file.TXT") == 0, "rename");
	check("rename-gone", stat("relative file.txt", &st) < 0 && errno == ENOENT, "old name left");
	check("rename-there", stat("/data/moved-file.TXT", &st) == 0 && st.st_size == 1, "new name missing");
	check("rmdir-busy", mkdir("sub", 0755) == 0 && rmdir("/data/A Long Directory Name") < 0 && errno == ENOTEMPTY,
	      "ENOTEMPTY");
	check("rename-dir", rename("/data/A Long Directory Name/sub", "/data/subdir") == 0 &&
	      stat("/data/subdir", &st) == 0 && S_ISDIR(st.st_mode), "rename dir");
	check("dotdot-after-move", chdir("/data/subdir") == 0 && chdir("..") == 0 && getcwd(buf, sizeof buf) &&
	      !strcmp(buf, "/data"), buf);
	check("rmdir", rmdir("/data/A Long Directory Name") == 0 && rmdir("/data/subdir") == 0, "rmdir");
	check("unlink", unlink("/data/moved-file.TXT") == 0 && stat("/data/moved-file.TXT", &st) < 0, "unlink");
	check("unlink-dir", unlink("/data") < 0, "unlink of a folder");
	fd = open("/data/ops.txt", O_RDONLY);
	check("unlink-open", fd >= 0 && unlink("/data/ops.txt") == 0 && read(fd, buf, 5) == 5 &&
	      !memcmp(buf, "hello", 5) && close(fd) == 0, "read after unlink");
	FILE *f = fopen("/data/stdio.txt", "w");
	check("fopen", f && fprintf(f, "line %d\n", 42) > 0 && fclose(f) == 0, "fopen/fprintf");
	f = fopen("/data/stdio.txt", "r");
	check("fgets", f && fgets(buf, sizeof buf, f) && !strcmp(buf, "line 42\n") && fclose(f) == 0, "fgets");
	DIR *d = opendir("/data");
	int seen = 0;
	struct dirent *e;
	while (d && (e = readdir(d)))
		seen += !strcmp(e->d_name, "stdio.txt") && e->d_type == DT_REG;
	check("readdir", d && seen == 1 && closedir(d) == 0, "stdio.txt not listed once");
	check("unicode-name", (fd = open("/data/caf\xc3\xa9 \xe2\x82\xac.txt", O_CREAT | O_WRONLY, 0644)) >= 0 &&
	      close(fd) == 0 && stat("/data/caf\xc3\xa9 \xe2\x82\xac.txt", &st) == 0, "UTF-8 name");
	check("bad-name", open("/data/a:b", O_CREAT | O_WRONLY, 0644) < 0 && errno == EINVAL, "':' accepted");
	printf("failures %d\n", failures);
	return failures;
}

static void fill_line(char *buf, size_t size, const char *path)
{
	snprintf(buf, size, "contents of %s\n", path);
}

static int write_tree(int n)
{
	char path[128], line[160];
	mkdir("/data/tree", 0755);
	for (int i = 0; i < n; i++) {
		if (i % 50 == 0) {
			snprintf(path, sizeof path, "/data/tree/folder %02d", i / 50);
			if (mkdir(path, 0755) < 0) {
				printf("mkdir %s: %s\n", path, strerror(errno));
				return 1;
			}
		}
		snprintf(path, sizeof path, "/data/tree/folder %02d/File number %04d.txt", i / 50, i);
		fill_line(line, sizeof line, path + 5);
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
		if (fd < 0 || write(fd, line, strlen(line)) != (ssize_t)strlen(line) || close(fd) < 0) {
			printf("%s: %s\n", path, strerror(errno));
			return 1;
		}
	}
	int fd = open("/data/tree", O_RDONLY | O_DIRECTORY);
	if (fd < 0 || fsync(fd) < 0) {
		printf("fsync: %s\n", strerror(errno));
		return 1;
	}
	printf("wrote %d\n", n);
	return 0;
}

static int read_tree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	if (!d) {
		printf("opendir %s: errno=%s\n", dir, errno_name(errno));
		return 1;
	}
	while ((e = readdir(d))) {
		char path[512];
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		if (e->d_type == DT_DIR) {
			if (read_tree(path))
				return 1;
			continue;
		}
		unsigned char buf[4096];
		unsigned long sum = 0, size = 0;
		int fd = open(path, O_RDONLY);
		ssize_t n;
		while (fd >= 0 && (n = read(fd, buf, sizeof buf)) > 0)
			for (ssize_t i = 0; i < n; i++, size++)
				sum += buf[i];
		if (fd < 0 || n < 0) {
			printf("read %s: errno=%s\n", path, errno_name(errno));
			return 1;
		}
		close(fd);
		printf("file %s %lu %lu\n", path, size, sum);
	}
	closedir(d);
	return 0;
}

/* Record i: "record %08d " then the letter 'a' + i % 26 up to a final newline. */
static void make_record(char *rec, int i, int size)
{
	memset(rec, 'a' + i % 26, size);
	int len = snprintf(rec, size, "record %08d ", i);
	rec[len] = 'a' + i % 26;        /* where snprintf put its NUL */
	rec[size - 1] = '\n';
}

/* Appends after the last intact record: a power cut may have left a torn one (never one reported as synced). */
static int append(int n, int size)
{
	char rec[4096], want[4096];
	int fd = open("/data/log", O_RDWR | O_CREAT | O_APPEND, 0644);
	if (fd < 0 || size < 32 || size > (int)sizeof rec) {
		printf("open /data/log: errno=%s\n", errno_name(errno));
		return 1;
	}
	int first = 0;
	for (;; first++) {
		make_record(want, first, size);
		if (pread(fd, rec, size, (off_t)first * size) != size || memcmp(rec, want, size))
			break;
	}
	if (ftruncate(fd, (off_t)first * size) < 0) {
		printf("ftruncate: errno=%s\n", errno_name(errno));
		return 1;
	}
	for (int i = first; i < first + n; i++) {
		make_record(rec, i, size);
		if (write(fd, rec, size) != size || fsync(fd) < 0) {
			printf("append %d: errno=%s\n", i, errno_name(errno));
			return 1;
		}
		printf("synced %d\n", i);
	}
	return 0;
}

static int fill(void)
{
	static char block[65536];
	int fd = open("/data/fill", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ssize_t n = 0;
	while (fd >= 0 && (n = write(fd, block, sizeof block)) > 0)
		;
	printf("full errno=%s\n", fd < 0 ? errno_name(errno) : n == 0 ? "none" : errno_name(errno));
	/* The file system stays usable: the file can be removed and space reused. */
	printf("after: close=%d unlink=%d\n", close(fd), unlink("/data/fill"));
	return 0;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int bench(int mib)
{
	static char block[65536];
	int fd = open("/data/bench", O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return printf("open: %s\n", strerror(errno)), 1;
	memset(block, 'x', sizeof block);
	double t0 = now();
	for (int i = 0; i < mib * 16; i++)
		if (write(fd, block, sizeof block) != sizeof block)
			return printf("write: %s\n", strerror(errno)), 1;
	fsync(fd);
	double t1 = now();
	lseek(fd, 0, SEEK_SET);
	for (int i = 0; i < mib * 16; i++)
		if (read(fd, block, sizeof block) != sizeof block)
			return printf("read: %s\n", strerror(errno)), 1;
	double t2 = now();
	int log = open("/data/bench.log", O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
	double t3 = now();
	for (int i = 0; i < 100; i++)
		if (write(log, block, 512) != 512 || fsync(log) < 0)
			return printf("fsync: %s\n", strerror(errno)), 1;
	double t4 = now();
	printf("bench write_s=%.4f read_s=%.4f fsync100_s=%.4f mib=%d\n", t1 - t0, t2 - t1, t4 - t3, mib);
	return 0;
}

static int try_write(void)
{
	int fd = open("/data/new-file", O_WRONLY | O_CREAT, 0644);
	printf("errno=%s\n", fd < 0 ? errno_name(errno) : "none");
	return 0;
}

static int big(const char *src, const char *dst)
{
	struct stat st;
	int in = open(src, O_RDONLY);
	if (in < 0 || fstat(in, &st) < 0)
		return printf("big: %s: %s\n", src, strerror(errno)), 1;
	size_t size = st.st_size;
	uint8_t *map = mmap(NULL, size + 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (map == MAP_FAILED)
		return printf("big: mmap: %s\n", strerror(errno)), 1;
	uint8_t *p = map + 1;
	ssize_t got = read(in, p, size), put = -1;
	int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (got == (ssize_t)size && out >= 0)
		put = write(out, p, size);
	if (got != (ssize_t)size || put != (ssize_t)size || fsync(out) < 0 || close(out) < 0)
		return printf("big: read %zd, wrote %zd of %zu: %s\n", got, put, size, strerror(errno)), 1;
	uint64_t fnv = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < size; i++)
		fnv = (fnv ^ p[i]) * 0x100000001b3ull;
	printf("big %zu %016llx\n", size, (unsigned long long)fnv);
	return 0;
}

int main(int argc, char **argv)
{
	/* Reports stream to the test as they happen: a test reads them through a pipe, where stdio (as on Linux)
	 * would otherwise keep them in a buffer until exit. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 2 && !strcmp(argv[1], "ops"))
		return ops();
	if (argc >= 3 && !strcmp(argv[1], "write-tree"))
		return write_tree(atoi(argv[2]));
	if (argc >= 3 && !strcmp(argv[1], "read-tree")) {
		int r = read_tree(argv[2]);
		printf("done\n");
		return r;
	}
	if (argc >= 4 && !strcmp(argv[1], "append"))
		return append(atoi(argv[2]), atoi(argv[3]));
	if (argc >= 2 && !strcmp(argv[1], "fill"))
		return fill();
	if (argc >= 2 && !strcmp(argv[1], "try-write"))
		return try_write();
	if (argc >= 3 && !strcmp(argv[1], "bench"))
		return bench(atoi(argv[2]));
	if (argc >= 4 && !strcmp(argv[1], "big"))
		return big(argv[2], argv[3]);
	printf("usage: fsprobe ops|write-tree N|read-tree DIR|append N SIZE|fill|try-write|bench MIB|big SRC DST\n");
	return 2;
}

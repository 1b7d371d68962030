/* What a Linux program expects of its host besides reading and writing files (tests/integration/test_posix.py
 * drives it). Each command prints "ok NAME" or "FAIL NAME: why (errno)" per check, then "failures N", and exits
 * with that count:
 *   locks      fcntl record locks (POSIX and OFD) and flock between two descriptors of one file on /data
 *   mmap       file mappings: private, shared (written back by msync and munmap), errors, /dev/zero, /www, /tmp
 *   shared     leaves /data/mapped.txt changed through a munmapped mapping and /data/at-exit.txt through one
 *              never unmapped (the exit writes it back): the host reads both
 *   dev        /dev's devices and folders
 *   tmp        /tmp: mkstemp, tmpfile, mkdtemp, tmpnam, large offsets, links, renames, statvfs
 *   root       what "/" lists; statvfs of "/" and of /www ("root statvfs: BSIZE BLOCKS BFREE BAVAIL FILES FFREE",
 *              "www statvfs: BSIZE BLOCKS BFREE FILES")
 *   etc        /etc's files and the libc's look-ups in them (getpwnam, getgrnam, getservbyname)
 *   identity   setgroups, setgid, setuid to nobody, and what getuid and friends say after
 *   meta       utimensat (2001-02-03 04:05:06 UTC on /data/stamp.txt), truncate, access, chmod, chown, readlink,
 *              link, statvfs; last "statvfs BSIZE BLOCKS BFREE" of /data for the host to compare
 *   shm        shm_open + mmap, sem_open round trips through /dev/shm */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <pwd.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
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

static int fails_with(long r, int e)
{
	return r == -1 && errno == e;
}

static int make_file(const char *path, const char *text, size_t len)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd >= 0 && write(fd, text, len) != (ssize_t)len) {
		close(fd);
		return -1;
	}
	return fd;
}

static int set_lock(int fd, int cmd, short type, off_t start, off_t len)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len };
	return fcntl(fd, cmd, &fl);
}

/* F_GETLK / F_OFD_GETLK for a write lock on [start, start + len): the blocking lock, if any. */
static struct flock get_lock(int fd, int cmd, off_t start, off_t len)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = start, .l_len = len };
	if (fcntl(fd, cmd, &fl) < 0)
		fl.l_type = -1;
	return fl;
}

static int is_lock(struct flock fl, short type, off_t start, off_t len, pid_t pid)
{
	return fl.l_type == type && fl.l_start == start && fl.l_len == len && fl.l_pid == pid;
}

static void locks(void)
{
	char zeros[100] = { 0 };
	int a = make_file("/data/locks", zeros, sizeof zeros), b = open("/data/locks", O_RDWR);
	check("two-descriptors", a >= 0 && b >= 0, "open");
	check("posix-lock", set_lock(a, F_SETLK, F_WRLCK, 0, 10) == 0, "F_SETLK");
	check("posix-same-process", set_lock(b, F_SETLK, F_WRLCK, 0, 10) == 0,
	      "a process's POSIX locks conflicted with each other");
	check("posix-getlk-own", get_lock(b, F_GETLK, 0, 100).l_type == F_UNLCK, "own lock reported");
	check("ofd-lock", set_lock(a, F_OFD_SETLK, F_WRLCK, 20, 10) == 0, "F_OFD_SETLK");
	check("ofd-conflict", fails_with(set_lock(b, F_OFD_SETLK, F_RDLCK, 25, 1), EAGAIN),
	      "second open file description got a conflicting lock");
	check("ofd-vs-posix", fails_with(set_lock(b, F_SETLK, F_RDLCK, 22, 2), EAGAIN), "POSIX lock over OFD lock");
	check("getlk-names-process", is_lock(get_lock(b, F_OFD_GETLK, 0, 100), F_WRLCK, 0, 10, getpid()),
	      "F_OFD_GETLK did not name the process's POSIX lock");
	check("getlk-names-ofd", is_lock(get_lock(b, F_GETLK, 15, 100), F_WRLCK, 20, 10, -1),
	      "F_GETLK did not name the OFD lock (l_pid -1)");
	check("setlkw-deadlock", fails_with(set_lock(b, F_OFD_SETLKW, F_WRLCK, 20, 1), EDEADLK),
	      "a wait that cannot end did not fail with EDEADLK");
	check("posix-setlkw-deadlock", fails_with(set_lock(b, F_SETLKW, F_WRLCK, 29, 0), EDEADLK), "F_SETLKW");
	check("posix-more", set_lock(a, F_SETLK, F_WRLCK, 40, 30) == 0 && set_lock(a, F_SETLK, F_WRLCK, 70, 30) == 0,
	      "F_SETLK");
	check("unlock-splits", set_lock(a, F_SETLK, F_UNLCK, 60, 10) == 0 &&
	      get_lock(b, F_OFD_GETLK, 62, 4).l_type == F_UNLCK &&
	      is_lock(get_lock(b, F_OFD_GETLK, 55, 10), F_WRLCK, 40, 20, getpid()) &&
	      is_lock(get_lock(b, F_OFD_GETLK, 75, 10), F_WRLCK, 70, 30, getpid()), "unlocking the middle");
	check("downgrade", set_lock(a, F_SETLK, F_RDLCK, 0, 5) == 0 &&
	      set_lock(b, F_OFD_SETLK, F_RDLCK, 0, 5) == 0 && set_lock(b, F_OFD_SETLK, F_UNLCK, 0, 5) == 0 &&
	      is_lock(get_lock(b, F_OFD_GETLK, 0, 5), F_RDLCK, 0, 5, getpid()), "a read lock in a write lock");
	check("wrlck-needs-write", fails_with(set_lock(open("/data/locks", O_RDONLY), F_SETLK, F_WRLCK, 0, 1), EBADF),
	      "write lock on a read-only descriptor");
	/* The descriptor opened just above was closed by nobody: closing any descriptor of the file drops POSIX locks. */
	int c = open("/data/locks", O_RDONLY);
	check("close-drops-posix", close(c) == 0 && is_lock(get_lock(b, F_OFD_GETLK, 0, 100), F_WRLCK, 20, 10, -1),
	      "POSIX locks outlived a close of the file");
	check("close-drops-ofd", close(a) == 0 && get_lock(b, F_OFD_GETLK, 0, 100).l_type == F_UNLCK,
	      "OFD lock outlived its open file description");
	check("lockf", lockf(b, F_TLOCK, 0) == 0 && lockf(b, F_TEST, 0) == 0 && lockf(b, F_ULOCK, 0) == 0, "lockf");

	int x = open("/data/locks", O_RDONLY), y = open("/data/locks", O_RDONLY);
	check("flock-ex", flock(x, LOCK_EX | LOCK_NB) == 0, "flock LOCK_EX");
	check("flock-conflict", fails_with(flock(y, LOCK_SH | LOCK_NB), EWOULDBLOCK), "second open got the lock");
	check("flock-deadlock", fails_with(flock(y, LOCK_EX), EDEADLK), "a wait that cannot end");
	int x2 = dup(x);
	check("flock-dup-shares", flock(x2, LOCK_EX | LOCK_NB) == 0, "a dup conflicted with its original");
	check("flock-apart-from-fcntl", set_lock(b, F_OFD_SETLK, F_WRLCK, 0, 0) == 0, "flock and fcntl met");
	check("flock-unlock", flock(x, LOCK_UN) == 0 && flock(y, LOCK_SH | LOCK_NB) == 0 &&
	      flock(x, LOCK_SH | LOCK_NB) == 0, "shared after unlock");
	check("flock-close", close(y) == 0 && flock(x, LOCK_EX | LOCK_NB) == 0, "flock outlived close");
	close(x), close(x2), close(b);
}

static int all(const unsigned char *p, size_t n, unsigned char v)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != v)
			return 0;
	return 1;
}

static void pattern(char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = 'a' + i % 23;
}

static void mappings(void)
{
	static char data[10000], back[10000];
	pattern(data, sizeof data);
	int fd = make_file("/data/map.bin", data, sizeof data);
	check("map-file", fd >= 0, "create");
	char *p = mmap(0, sizeof data, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	check("private-contents", p != MAP_FAILED && !memcmp(p, data, sizeof data), "mapped bytes differ");
	check("private-zero-tail", p != MAP_FAILED && all((unsigned char *)p + sizeof data, 12288 - sizeof data, 0),
	      "past the end of the file");
	if (p != MAP_FAILED) {
		p[0] = 'X';
		munmap(p, sizeof data);
	}
	check("private-not-written", pread(fd, back, 1, 0) == 1 && back[0] == 'a', "a private store reached the file");

	p = mmap(0, sizeof data, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	check("shared-map", p != MAP_FAILED, "mmap MAP_SHARED");
	if (p == MAP_FAILED)
		return;
	p[0] = 'S', p[5000] = 'T', p[9999] = 'U', p[10500] = 'V';
	check("msync", msync(p, 4096, MS_SYNC) == 0 && pread(fd, back, 1, 0) == 1 && back[0] == 'S' &&
	      pread(fd, back, 1, 5000) == 1 && back[0] != 'T', "msync of the first page");
	check("munmap-writes", munmap(p, sizeof data) == 0 && pread(fd, back, sizeof data, 0) == sizeof data &&
	      back[5000] == 'T' && back[9999] == 'U' && back[1] == data[1], "munmap did not write back");
	struct stat st;
	check("no-growth", fstat(fd, &st) == 0 && st.st_size == sizeof data, "the mapping grew its file");

	p = mmap(0, 4096, PROT_READ, MAP_SHARED, fd, 4096);
	check("offset", p != MAP_FAILED && !memcmp(p, back + 4096, 4096), "mapping at 4096");
	if (p != MAP_FAILED)
		munmap(p, 4096);
	p = mmap(0, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p != MAP_FAILED) {
		memcpy(p + 100, "after close", 11);
		check("hole-punch", munmap(p + 4096, 4096) == 0, "munmap of the second page");
		p[4000] = '!';
		munmap(p, 4096);
	}
	fd = open("/data/map.bin", O_RDONLY);
	check("closed-fd-mapping", pread(fd, back, 11, 100) == 11 && !memcmp(back, "after close", 11) &&
	      pread(fd, back, 1, 4000) == 1 && back[0] == '!', "a mapping whose descriptor was closed");

	check("eacces-shared-write", mmap(0, 4096, PROT_WRITE, MAP_SHARED, fd, 0) == MAP_FAILED && errno == EACCES,
	      "writable shared mapping of a read-only descriptor");
	p = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	check("private-of-read-only", p != MAP_FAILED, "private writable mapping of a read-only descriptor");
	close(fd);
	int wo = open("/data/map.bin", O_WRONLY);
	check("eacces-write-only", mmap(0, 4096, PROT_READ, MAP_SHARED, wo, 0) == MAP_FAILED && errno == EACCES,
	      "mapping of a write-only descriptor");
	close(wo);
	int null = open("/dev/null", O_RDWR);
	check("enodev-null", mmap(0, 4096, PROT_READ, MAP_PRIVATE, null, 0) == MAP_FAILED && errno == ENODEV,
	      "/dev/null mapped");
	close(null);
	int dir = open("/data", O_RDONLY | O_DIRECTORY);
	check("enodev-dir", mmap(0, 4096, PROT_READ, MAP_PRIVATE, dir, 0) == MAP_FAILED && errno == ENODEV, "folder");
	close(dir);
	check("ebadf", mmap(0, 4096, PROT_READ, MAP_PRIVATE, 63, 0) == MAP_FAILED && errno == EBADF, "closed fd");
	int zero = open("/dev/zero", O_RDWR);
	p = mmap(0, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, zero, 0);
	check("dev-zero", p != MAP_FAILED && all((unsigned char *)p, 8192, 0), "/dev/zero mapping");
	close(zero);

	int tree = open("/www/readme.txt", O_RDONLY);
	p = mmap(0, 4096, PROT_READ, MAP_SHARED, tree, 0);
	check("embedded-tree", p != MAP_FAILED && !strncmp(p, "embedded file, mapped read-only\n", 32),
	      "mapping of the embedded tree");
	close(tree);

	int tmp = open("/tmp/mapped", O_RDWR | O_CREAT, 0600);
	check("tmpfs-size", ftruncate(tmp, 8192) == 0, "ftruncate");
	p = mmap(0, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, tmp, 0);
	if (p != MAP_FAILED) {
		strcpy(p + 6000, "in tmpfs");
		munmap(p, 8192);
	}
	check("tmpfs-shared", pread(tmp, back, 9, 6000) == 9 && !strcmp(back, "in tmpfs"), "tmpfs write-back");
	close(tmp);
}

/* For the host: one file changed through munmap, one through the exit (never unmapped, nor synced). */
static void shared_for_host(void)
{
	const char text[] = "this line was written with write()\n";
	int fd = make_file("/data/mapped.txt", text, sizeof text - 1);
	char *p = mmap(0, sizeof text - 1, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	check("map", p != MAP_FAILED, "mmap");
	if (p == MAP_FAILED)
		return;
	memcpy(p, "THIS LINE", 9);
	check("munmap", munmap(p, sizeof text - 1) == 0, "munmap");
	close(fd);
	fd = make_file("/data/at-exit.txt", text, sizeof text - 1);
	p = mmap(0, sizeof text - 1, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	check("map-at-exit", p != MAP_FAILED, "mmap");
	if (p != MAP_FAILED)
		memcpy(p + 10, "LINE", 4);
}

/* The names in a folder, space-separated and sorted ("" when it cannot be read). */
static const char *listing(const char *path)
{
	static char out[2048];
	char *names[128];
	int n = 0;
	DIR *d = opendir(path);
	struct dirent *e;
	out[0] = 0;
	if (!d)
		return out;
	while ((e = readdir(d)) && n < 128)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			names[n++] = strdup(e->d_name);
	closedir(d);
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++)
			if (strcmp(names[j], names[i]) < 0) {
				char *t = names[i];
				names[i] = names[j], names[j] = t;
			}
	for (int i = 0; i < n; i++) {
		strcat(strcat(out, i ? " " : ""), names[i]);
		free(names[i]);
	}
	return out;
}

static void dev(void)
{
	char buf[64];
	struct stat st;
	int fd = open("/dev/null", O_RDWR);
	check("null", fd >= 0 && read(fd, buf, sizeof buf) == 0 && write(fd, "x", 1) == 1, "/dev/null");
	close(fd);
	fd = open("/dev/zero", O_RDONLY);
	memset(buf, 7, sizeof buf);
	check("zero", fd >= 0 && read(fd, buf, sizeof buf) == sizeof buf && all((unsigned char *)buf, sizeof buf, 0),
	      "/dev/zero");
	close(fd);
	fd = open("/dev/full", O_RDWR);
	check("full", fd >= 0 && fails_with(write(fd, "x", 1), ENOSPC) && read(fd, buf, 8) == 8, "/dev/full");
	close(fd);
	unsigned char r1[32], r2[32];
	fd = open("/dev/urandom", O_RDONLY);
	check("urandom", fd >= 0 && read(fd, r1, 32) == 32 && read(fd, r2, 32) == 32 && memcmp(r1, r2, 32) &&
	      !all(r1, 32, 0), "/dev/urandom");
	close(fd);
	fd = open("/dev/random", O_RDONLY);
	check("random", fd >= 0 && read(fd, r1, 32) == 32, "/dev/random");
	close(fd);
	check("tty", fails_with(open("/dev/tty", O_RDWR), ENXIO), "/dev/tty without a controlling terminal");
	check("stat-null", stat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) == 1 &&
	      minor(st.st_rdev) == 3, "st_rdev");
	fd = open("/dev/stdout", O_WRONLY);
	check("stdout", fd > 2 && write(fd, "through /dev/stdout\n", 20) == 20, "/dev/stdout");
	close(fd);
	fd = open("/dev/fd/2", O_WRONLY);
	check("fd-2", fd > 2 && write(fd, "through /dev/fd/2\n", 18) == 18, "/dev/fd/2");
	close(fd);
	fd = open("/dev/console", O_WRONLY);
	check("console", fd > 2 && write(fd, "through /dev/console\n", 21) == 21, "/dev/console");
	close(fd);
	check("stdin", (fd = open("/dev/stdin", O_RDONLY)) > 2 && close(fd) == 0, "/dev/stdin");
	int file = open("/dev/shm/reopen", O_RDWR | O_CREAT, 0600);
	snprintf(buf, sizeof buf, "/dev/fd/%d", file);
	write(file, "abc", 3);
	fd = open(buf, O_RDONLY);
	check("fd-reopens", fd >= 0 && read(fd, buf, 3) == 3 && !memcmp(buf, "abc", 3), "reopen by /dev/fd/N");
	close(fd), close(file);
	check("no-such-fd", fails_with(open("/dev/fd/60", O_RDONLY), ENOENT), "/dev/fd/60");
	printf("dev: %s\n", listing("/dev"));
	printf("dev/fd: %s\n", listing("/dev/fd"));
	check("mkdir-shm", mkdir("/dev/shm/folder", 0700) == 0 && stat("/dev/shm/folder", &st) == 0 &&
	      S_ISDIR(st.st_mode), "mkdir in /dev/shm");
	check("no-create-in-dev", open("/dev/newfile", O_RDWR | O_CREAT, 0600) < 0, "/dev is not a tmpfs");
}

static void tmp(void)
{
	char name[] = "/tmp/probeXXXXXX", dir[] = "/tmp/dirXXXXXX", buf[32], path[64];
	struct stat st;
	int fd = mkstemp(name);
	check("mkstemp", fd >= 0 && write(fd, "temporary", 9) == 9 && pread(fd, buf, 9, 0) == 9 &&
	      !memcmp(buf, "temporary", 9), name);
	check("mkstemp-mode", fstat(fd, &st) == 0 && (st.st_mode & 0777) == 0600 && st.st_size == 9, "mode");
	close(fd);
	check("unlink", unlink(name) == 0 && fails_with(stat(name, &st), ENOENT), "unlink");
	FILE *f = tmpfile();
	check("tmpfile", f && fputs("in a tmpfile", f) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	      fgets(buf, sizeof buf, f) && !strcmp(buf, "in a tmpfile"), "tmpfile");
	if (f)
		fclose(f);
	check("mkdtemp", mkdtemp(dir) != 0, "mkdtemp");
	snprintf(path, sizeof path, "%s/inside", dir);
	fd = open(path, O_WRONLY | O_CREAT, 0644);
	check("file-in-dir", fd >= 0 && close(fd) == 0, path);
	check("rmdir-notempty", fails_with(rmdir(dir), ENOTEMPTY), "rmdir");
	check("link", link(path, "/tmp/second-name") == 0 && stat(path, &st) == 0 && st.st_nlink == 2, "link");
	check("rename", rename("/tmp/second-name", "/tmp/third-name") == 0 && stat("/tmp/third-name", &st) == 0,
	      "rename");
	check("rename-exdev", fails_with(rename("/tmp/third-name", "/data/third-name"), EXDEV), "across mounts");
	check("unlink-and-rmdir", unlink(path) == 0 && rmdir(dir) == 0 && stat("/tmp/third-name", &st) == 0 &&
	      st.st_nlink == 1, "unlink, rmdir");
	check("tmpnam", tmpnam(0) != 0, "tmpnam");
	/* Offsets past 2 and 4 GiB: a 32-bit ARM program seeks with _llseek, whose 64-bit result must arrive whole. */
	static const off_t far[] = { 0x7fffffff, 0x80000000, 0xffffffff, 0x100000001, 0x1ffffffff };
	fd = open("/tmp/far", O_RDWR | O_CREAT | O_TRUNC, 0644);
	int far_ok = fd >= 0;
	for (size_t i = 0; i < sizeof far / sizeof *far; i++)
		far_ok &= lseek(fd, far[i], SEEK_SET) == far[i] && lseek(fd, 0, SEEK_CUR) == far[i];
	check("lseek-past-4g", far_ok && lseek(fd, -0x100000000, SEEK_CUR) == 0xffffffff, "lseek");
	close(fd);
	unlink("/tmp/far");
	struct statvfs sv;
	check("statvfs-tmp", statvfs("/tmp", &sv) == 0 && sv.f_bsize == 4096 && sv.f_blocks > 1000 &&
	      sv.f_bfree <= sv.f_blocks && !(sv.f_flag & ST_RDONLY), "statvfs");
	struct statfs sf;
	check("statfs-tmp", statfs("/tmp", &sf) == 0 && sf.f_type == 0x01021994, "TMPFS_MAGIC");
	char big[4096];
	memset(big, 'b', sizeof big);
	fd = open("/tmp/big", O_RDWR | O_CREAT | O_TRUNC, 0644);
	for (int i = 0; i < 256; i++)
		write(fd, big, sizeof big);
	check("tmp-1mib", fstat(fd, &st) == 0 && st.st_size == 1 << 20 && pread(fd, buf, 4, 12345) == 4 &&
	      !memcmp(buf, "bbbb", 4), "1 MiB in /tmp");
	check("tmp-truncate", ftruncate(fd, 10) == 0 && ftruncate(fd, 5000) == 0 && pread(fd, buf, 4, 100) == 4 &&
	      all((unsigned char *)buf, 4, 0), "truncate then grow reads zeros");
	close(fd);
	unlink("/tmp/big");
	printf("tmp: %s\n", listing("/tmp"));
}

static void root(void)
{
	struct stat st;
	check("stat-root", stat("/", &st) == 0 && S_ISDIR(st.st_mode), "stat /");
	printf("root: %s\n", listing("/"));
	check("chdir-root", chdir("/") == 0 && chdir("etc") == 0 && access("passwd", R_OK) == 0, "relative to /");
	struct statvfs sv;
	check("statvfs-root", statvfs("/", &sv) == 0 && (sv.f_flag & ST_RDONLY), "statvfs /");
	printf("root statvfs: %lu %llu %llu %llu %llu %llu\n", sv.f_bsize, (unsigned long long)sv.f_blocks,
	       (unsigned long long)sv.f_bfree, (unsigned long long)sv.f_bavail, (unsigned long long)sv.f_files,
	       (unsigned long long)sv.f_ffree);
	check("statvfs-www", statvfs("/www", &sv) == 0 && (sv.f_flag & ST_RDONLY), "statvfs /www");
	printf("www statvfs: %lu %llu %llu %llu\n", sv.f_bsize, (unsigned long long)sv.f_blocks,
	       (unsigned long long)sv.f_bfree, (unsigned long long)sv.f_files);
}

static const char *contents(const char *path)
{
	static char buf[8192];
	int fd = open(path, O_RDONLY);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
	buf[n > 0 ? n : 0] = 0;
	close(fd);
	return buf;
}

static void etc(void)
{
	printf("etc: %s\n", listing("/etc"));
	check("passwd", strstr(contents("/etc/passwd"), "root:x:0:0:") &&
	      strstr(contents("/etc/passwd"), "nobody:x:65534:65534:"), "/etc/passwd");
	check("group", strstr(contents("/etc/group"), "nogroup:x:65534:") != 0, "/etc/group");
	check("hosts", strstr(contents("/etc/hosts"), "127.0.0.1\tlocalhost") &&
	      strstr(contents("/etc/hosts"), "::1\tlocalhost"), "/etc/hosts");
	printf("resolv.conf: %s", contents("/etc/resolv.conf"));
	check("hostname-from-manifest", !strcmp(contents("/etc/hostname"), "probe-host\n"), contents("/etc/hostname"));
	check("manifest-file", !strcmp(contents("/etc/posixprobe.conf"), "greeting = hello from the manifest\n"),
	      "/etc/posixprobe.conf");
	check("read-only", fails_with(open("/etc/passwd", O_WRONLY), EROFS) &&
	      fails_with(open("/etc/new", O_WRONLY | O_CREAT, 0644), EROFS), "writing /etc");
	check("no-localtime", fails_with(open("/etc/localtime", O_RDONLY), ENOENT), "/etc/localtime");
	struct passwd *pw = getpwnam("nobody");
	check("getpwnam", pw && pw->pw_uid == 65534 && pw->pw_gid == 65534 && !strcmp(pw->pw_dir, "/nonexistent"),
	      "getpwnam(nobody)");
	pw = getpwuid(0);
	check("getpwuid", pw && !strcmp(pw->pw_name, "root") && !strcmp(pw->pw_dir, "/root"), "getpwuid(0)");
	check("getpwnam-missing", !getpwnam("mallory"), "a user that does not exist");
	struct group *gr = getgrnam("nogroup");
	check("getgrnam", gr && gr->gr_gid == 65534, "getgrnam(nogroup)");
	gr = getgrgid(0);
	check("getgrgid", gr && !strcmp(gr->gr_name, "root"), "getgrgid(0)");
	struct servent *se = getservbyname("http", "tcp");
	check("getservbyname", se && ntohs(se->s_port) == 80, "getservbyname(http)");
	struct protoent *pe = getprotobyname("udp");
	check("getprotobyname", pe && pe->p_proto == 17, "getprotobyname(udp)");
	int n = 8;
	gid_t list[8];
	check("getgrouplist", getgrouplist("nobody", 65534, list, &n) >= 1 && n >= 1 && list[0] == 65534,
	      "getgrouplist");
}

static void identity(void)
{
	uid_t r, e, s;
	struct stat st;
	check("root", getuid() == 0 && geteuid() == 0 && getgid() == 0, "starts as root");
	check("setsid", setsid() == 1 && getsid(0) == 1 && getpgrp() == 1, "setsid");
	check("setsid-again", fails_with(setsid(), EPERM), "a group leader's setsid");
	check("initgroups", initgroups("nobody", 65534) == 0, "initgroups");
	check("setgroups", setgroups(0, 0) == 0 && getgroups(0, 0) == 0, "setgroups");
	check("setgid", setgid(65534) == 0 && getgid() == 65534 && getegid() == 65534, "setgid");
	check("seteuid", seteuid(65534) == 0 && geteuid() == 65534 && getuid() == 0, "seteuid");
	check("seteuid-back", seteuid(0) == 0 && geteuid() == 0, "saved uid 0 lets it back");
	check("setuid", setuid(65534) == 0 && getuid() == 65534 && geteuid() == 65534, "setuid");
	check("getresuid", getresuid(&r, &e, &s) == 0 && r == 65534 && e == 65534 && s == 65534, "getresuid");
	check("no-way-back", fails_with(setuid(0), EPERM) && fails_with(seteuid(0), EPERM), "nobody became root");
	check("setgroups-denied", fails_with(setgroups(0, 0), EPERM), "setgroups as nobody");
	int fd = open("/tmp/owned", O_WRONLY | O_CREAT, 0644);
	check("owner", fstat(fd, &st) == 0 && st.st_uid == 65534 && st.st_gid == 65534, "new file's owner");
	close(fd);
	printf("uid=%u euid=%u gid=%u egid=%u\n", getuid(), geteuid(), getgid(), getegid());
}

static void meta(void)
{
	struct statvfs sv;
	struct statfs sf;
	struct stat st;
	char buf[64];
	check("statvfs", statvfs("/data", &sv) == 0 && !(sv.f_flag & ST_RDONLY), "statvfs /data");
	check("statfs-fat", statfs("/data", &sf) == 0 && sf.f_type == 0x4d44, "MSDOS_SUPER_MAGIC");
	int fd = make_file("/data/meta.bin", "0123456789", 10);
	close(fd);
	fd = make_file("/data/stamp.txt", "stamped file\n", 13);
	struct statvfs fv;
	check("fstatvfs", fstatvfs(fd, &fv) == 0 && fv.f_blocks == sv.f_blocks, "fstatvfs");
	struct timespec times[2] = { { 981173106, 0 }, { 981173106, 0 } };     /* 2001-02-03 04:05:06 UTC */
	check("utimensat", utimensat(AT_FDCWD, "/data/stamp.txt", times, 0) == 0 && stat("/data/stamp.txt", &st) == 0 &&
	      st.st_mtime == 981173106, "mtime");
	times[1].tv_nsec = UTIME_OMIT;
	times[0].tv_nsec = UTIME_NOW;
	check("utime-omit", futimens(fd, times) == 0 && fstat(fd, &st) == 0 && st.st_mtime == 981173106, "UTIME_OMIT");
	check("utime-einval", fails_with(utimensat(AT_FDCWD, "/data/stamp.txt",
	      (struct timespec[2]){ { 0, 2000000000 }, { 0, 0 } }, 0), EINVAL), "bad tv_nsec");
	close(fd);
	check("truncate", truncate("/data/meta.bin", 3) == 0 && stat("/data/meta.bin", &st) == 0 && st.st_size == 3,
	      "truncate(path)");
	check("access", access("/data/stamp.txt", R_OK | W_OK) == 0 && fails_with(access("/data/stamp.txt", X_OK),
	      EACCES) && access("/data", X_OK) == 0, "access");
	check("access-rofs", fails_with(access("/etc/passwd", W_OK), EROFS) && access("/etc/passwd", R_OK) == 0,
	      "access on /etc");
	check("access-missing", fails_with(access("/data/none", F_OK), ENOENT), "access of a missing file");
	check("chmod-ro", chmod("/data/meta.bin", 0444) == 0 && stat("/data/meta.bin", &st) == 0 &&
	      (st.st_mode & 0777) == 0444, "chmod 0444 on FAT");
	check("chmod-rw", chmod("/data/meta.bin", 0644) == 0 && stat("/data/meta.bin", &st) == 0 &&
	      (st.st_mode & 0777) == 0644, "chmod 0644 on FAT");
	check("chmod-eperm", fails_with(chmod("/data/meta.bin", 0600), EPERM), "FAT cannot say 0600");
	check("chown", chown("/data/meta.bin", 0, 0) == 0 && fails_with(chown("/data/meta.bin", 1000, 1000), EPERM),
	      "chown on FAT");
	check("fchmod", (fd = open("/data/meta.bin", O_RDONLY)) >= 0 && fchmod(fd, 0644) == 0 && close(fd) == 0,
	      "fchmod");
	check("tmpfs-chmod", (fd = open("/tmp/mode", O_CREAT | O_RDWR, 0644)) >= 0 && fchmod(fd, 0600) == 0 &&
	      fchown(fd, 1000, 1000) == 0 && fstat(fd, &st) == 0 && (st.st_mode & 0777) == 0600 &&
	      st.st_uid == 1000, "tmpfs keeps modes and owners");
	close(fd);
	ssize_t n = readlink("/proc/self/exe", buf, sizeof buf);
	check("proc-self-exe", n == 11 && !memcmp(buf, "/posixprobe", 11), "readlink /proc/self/exe");
	check("readlink-einval", fails_with(readlink("/data/stamp.txt", buf, sizeof buf), EINVAL), "not a link");
	check("link-fat", fails_with(link("/data/stamp.txt", "/data/other"), EPERM), "FAT has no hard links");
	check("statfs-etc", statfs("/etc", &sf) == 0 && statvfs("/etc", &sv) == 0 && (sv.f_flag & ST_RDONLY),
	      "statvfs /etc");
	statvfs("/data", &sv);          /* after every write: what the host will count */
	printf("statvfs %lu %llu %llu\n", sv.f_bsize, (unsigned long long)sv.f_blocks, (unsigned long long)sv.f_bfree);
}

static void shm(void)
{
	int fd = shm_open("/probe", O_CREAT | O_RDWR | O_EXCL, 0600);
	check("shm_open", fd >= 0 && ftruncate(fd, 4096) == 0, "shm_open");
	char *p = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	check("shm-mmap", p != MAP_FAILED, "mmap");
	if (p != MAP_FAILED) {
		strcpy(p, "shared memory");
		munmap(p, 4096);
	}
	close(fd);
	printf("shm: %s\n", listing("/dev/shm"));
	fd = shm_open("/probe", O_RDONLY, 0);
	p = mmap(0, 4096, PROT_READ, MAP_SHARED, fd, 0);
	check("shm-reopen", fd >= 0 && p != MAP_FAILED && !strcmp(p, "shared memory"), "the object's contents");
	close(fd);
	check("shm_unlink", shm_unlink("/probe") == 0 && fails_with(shm_open("/probe", O_RDONLY, 0), ENOENT),
	      "shm_unlink");
	sem_t *s = sem_open("/probe-sem", O_CREAT | O_EXCL, 0600, 2);
	int v = -1;
	check("sem_open", s != SEM_FAILED, "sem_open");
	if (s == SEM_FAILED)
		return;
	check("sem-count", sem_wait(s) == 0 && sem_wait(s) == 0 && fails_with(sem_trywait(s), EAGAIN) &&
	      sem_post(s) == 0 && sem_getvalue(s, &v) == 0 && v == 1, "sem_wait/sem_post");
	sem_t *again = sem_open("/probe-sem", 0);
	check("sem-same", again == s, "the same semaphore opened twice");
	check("sem-excl", sem_open("/probe-sem", O_CREAT | O_EXCL, 0600, 0) == SEM_FAILED && errno == EEXIST,
	      "O_EXCL on an existing semaphore");
	printf("shm: %s\n", listing("/dev/shm"));
	sem_close(again);
	sem_close(s);
	s = sem_open("/probe-sem", 0);
	check("sem-persists", s != SEM_FAILED && sem_getvalue(s, &v) == 0 && v == 1, "value after close and reopen");
	check("sem_unlink", sem_unlink("/probe-sem") == 0 && sem_open("/probe-sem", 0) == SEM_FAILED &&
	      errno == ENOENT, "sem_unlink");
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		void (*run)(void);
	} commands[] = {
		{ "locks", locks }, { "mmap", mappings }, { "shared", shared_for_host }, { "dev", dev }, { "tmp", tmp },
		{ "root", root }, { "etc", etc }, { "identity", identity }, { "meta", meta }, { "shm", shm },
	};
	for (int i = 1; i < argc; i++)
		for (size_t c = 0; c < sizeof commands / sizeof *commands; c++)
			if (!strcmp(argv[i], commands[c].name))
				commands[c].run();
	printf("failures %d\n", failures);
	return failures;
}

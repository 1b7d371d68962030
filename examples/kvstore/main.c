/* A small persistent key-value store: one file per key under /data/kv on the first disk.
 *
 *   uniforge disk create data.img --size 16M
 *   uniforge run --disk data.img -- set greeting "hello there"
 *   uniforge run --disk data.img -- get greeting          (prints: hello there)
 *   uniforge run --disk data.img -- list                  (one key per line)
 *   uniforge run --disk data.img -- del greeting
 *
 * A set is durable when it returns: the value goes to a temporary file that is fsynced, then renamed over the key
 * (so a power cut leaves the old value or the new one, never a mix), and the rename is fsynced too. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DIR_PATH "/data/kv"

static int valid_key(const char *key)
{
	size_t n = strlen(key);
	if (!n || n > 64 || key[0] == '.')
		return 0;
	for (const char *p = key; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '-' || *p == '_' || *p == '.'))
			return 0;
	return 1;
}

static int fail(const char *what, const char *key)
{
	fprintf(stderr, "kvstore: %s %s: %s\n", what, key, strerror(errno));
	return 1;
}

static int sync_dir(void)
{
	int fd = open(DIR_PATH, O_RDONLY | O_DIRECTORY);
	int r = fd < 0 ? -1 : fsync(fd);
	if (fd >= 0)
		close(fd);
	return r;
}

static int set(const char *key, const char *value)
{
	char path[128], tmp[128];
	snprintf(path, sizeof path, DIR_PATH "/%s", key);
	snprintf(tmp, sizeof tmp, DIR_PATH "/.%s.new", key);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	size_t len = strlen(value);
	if (fd < 0 || write(fd, value, len) != (ssize_t)len || fsync(fd) < 0 || close(fd) < 0)
		return fail("writing", key);
	if (rename(tmp, path) < 0 || sync_dir() < 0)
		return fail("storing", key);
	return 0;
}

static int get(const char *key)
{
	char path[128], buf[4096];
	snprintf(path, sizeof path, DIR_PATH "/%s", key);
	int fd = open(path, O_RDONLY);
	if (fd < 0) {
		if (errno != ENOENT)
			return fail("reading", key);
		fprintf(stderr, "kvstore: no key %s\n", key);
		return 1;
	}
	ssize_t n;
	while ((n = read(fd, buf, sizeof buf)) > 0)
		fwrite(buf, 1, n, stdout);
	putchar('\n');
	close(fd);
	return n < 0 ? fail("reading", key) : 0;
}

static int del(const char *key)
{
	char path[128];
	snprintf(path, sizeof path, DIR_PATH "/%s", key);
	if (unlink(path) < 0 || sync_dir() < 0)
		return errno == ENOENT ? (fprintf(stderr, "kvstore: no key %s\n", key), 1) : fail("deleting", key);
	return 0;
}

static int list(void)
{
	DIR *d = opendir(DIR_PATH);
	struct dirent *e;
	if (!d)
		return fail("listing", DIR_PATH);
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			printf("%s\n", e->d_name);
	closedir(d);
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";
	int args = !strcmp(cmd, "set") ? 4 : !strcmp(cmd, "get") || !strcmp(cmd, "del") ? 3 : !strcmp(cmd, "list") ? 2 : 0;
	if (!args || argc != args) {
		fprintf(stderr, "usage: kvstore set KEY VALUE | get KEY | del KEY | list\n");
		return 2;
	}
	if (args > 2 && !valid_key(argv[2])) {
		fprintf(stderr, "kvstore: key '%s': use 1-64 letters, digits, '-', '_' or '.', not starting with '.'\n",
		        argv[2]);
		return 2;
	}
	if (mkdir(DIR_PATH, 0755) < 0 && errno != EEXIST)
		return fail("creating", DIR_PATH);
	if (!strcmp(cmd, "set"))
		return set(argv[2], argv[3]);
	if (!strcmp(cmd, "get"))
		return get(argv[2]);
	if (!strcmp(cmd, "del"))
		return del(argv[2]);
	return list();
}

/* Reads the embedded tree mounted at /www (tests/integration/test_storage.py): lists it recursively as
 * "file PATH SIZE SUM" / "dir PATH", then checks that writes are refused: "write errno=NAME". */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int walk(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	if (!d)
		return printf("opendir %s: %s\n", dir, strerror(errno)), 1;
	while ((e = readdir(d))) {
		char path[512];
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		if (e->d_type == DT_DIR) {
			printf("dir %s\n", path);
			if (walk(path))
				return 1;
			continue;
		}
		unsigned char buf[512];
		unsigned long sum = 0, size = 0;
		ssize_t n;
		int fd = open(path, O_RDONLY);
		while (fd >= 0 && (n = read(fd, buf, sizeof buf)) > 0)
			for (ssize_t i = 0; i < n; i++, size++)
				sum += buf[i];
		if (fd < 0)
			return printf("open %s: %s\n", path, strerror(errno)), 1;
		close(fd);
		printf("file %s %lu %lu\n", path, size, sum);
	}
	return closedir(d);
}

int main(void)
{
	int r = walk("/www");
	int fd = open("/www/new.txt", O_WRONLY | O_CREAT, 0644);
	printf("write errno=%s\n", fd < 0 && errno == EROFS ? "EROFS" : fd < 0 ? strerror(errno) : "none");
	fd = open("/www/index.html", O_RDWR);
	printf("rdwr errno=%s\n", fd < 0 && errno == EROFS ? "EROFS" : fd < 0 ? strerror(errno) : "none");
	return r;
}

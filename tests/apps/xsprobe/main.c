/* The Xen store from a domU: reads what the toolstack wrote, writes and reads back, lists, removes, commits a
 * transaction (retried on EAGAIN), and waits on a watch for a value that dom0 writes (the test writes
 * data/host-says once this app prints "waiting"). Prints what happened; exits non-zero on failure. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* The library OS's store client (libos/xenstore/include/uf/xenstore.h): an app sees only the libc's headers. */
int uf_xs_read(uint32_t tx, const char *path, char *buf, size_t size);
int uf_xs_write(uint32_t tx, const char *path, const char *value);
int uf_xs_rm(uint32_t tx, const char *path);
int uf_xs_directory(uint32_t tx, const char *path, char *buf, size_t size);
int uf_xs_transaction_start(uint32_t *tx);
int uf_xs_transaction_end(uint32_t tx, int abort);
int uf_xs_watch(const char *path, const char *token);
int uf_xs_read_watch(char *path, size_t path_size, char *token, size_t token_size, int timeout_ms);
const char *uf_xs_home(void);

static int failures;

static void check(const char *what, int ok)
{
	printf("%s: %s\n", what, ok ? "ok" : "FAILED");
	failures += !ok;
}

static int listed(const char *names, int len, const char *name)
{
	for (int at = 0; at < len; at += (int)strlen(names + at) + 1)
		if (!strcmp(names + at, name))
			return 1;
	return 0;
}

int main(void)
{
	char value[128], names[512], path[128], token[32];
	printf("home: %s\n", uf_xs_home());
	int n = uf_xs_read(0, "name", value, sizeof value);
	printf("name: %s\n", n >= 0 ? value : strerror(-n));

	check("write", uf_xs_write(0, "data/probe", "hello store") == 0);
	n = uf_xs_read(0, "data/probe", value, sizeof value);
	check("read back", n == 11 && !strcmp(value, "hello store"));
	check("missing key is ENOENT", uf_xs_read(0, "data/no-such-key", value, sizeof value) == -ENOENT);
	n = uf_xs_directory(0, "data", names, sizeof names);
	check("directory", n > 0 && listed(names, n, "probe"));
	check("rm", uf_xs_rm(0, "data/probe") == 0 && uf_xs_read(0, "data/probe", value, sizeof value) == -ENOENT);

	int tries = 0, rc;
	do {
		uint32_t tx;
		tries++;
		if (uf_xs_transaction_start(&tx))
			break;
		uf_xs_write(tx, "data/tx-a", "1");
		uf_xs_write(tx, "data/tx-b", "2");
		rc = uf_xs_transaction_end(tx, 0);
	} while (rc == -EAGAIN && tries < 10);
	check("transaction", uf_xs_read(0, "data/tx-b", value, sizeof value) == 1 && value[0] == '2');

	check("watch", uf_xs_watch("data/host-says", "tok") == 0);
	/* A new watch fires once at once. */
	check("first event", uf_xs_read_watch(path, sizeof path, token, sizeof token, 10000) == 0 &&
			     !strcmp(token, "tok"));
	printf("waiting\n");
	fflush(stdout);
	for (;;) {
		if (uf_xs_read_watch(path, sizeof path, token, sizeof token, 120000) != 0) {
			check("event from dom0", 0);
			break;
		}
		if (uf_xs_read(0, "data/host-says", value, sizeof value) >= 0) {
			printf("host said: %s (event on %s)\n", value, path);
			/* Events name the path as the watch did: relative to home. */
			check("event from dom0", !strcmp(path, "data/host-says") && !strcmp(token, "tok"));
			break;
		}
	}
	return failures;
}

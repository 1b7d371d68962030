/* Xenbus for frontends: the device's nodes in the store and the state handshake (public/io/xenbus.h). */
#include <errno.h>
#include <string.h>
#include <uf/time.h>
#include <uf/xenbus.h>
#include <uf/xenevtchn.h>
#include <uf/xenstore.h>

enum { STATE_INIT_WAIT = 2, STATE_CONNECTED = 4, STATE_CLOSING = 5 };

#define CONNECT_TIMEOUT_NS 10000000000ull

/* dir + "/" + name into out (size bytes); -ENAMETOOLONG if it does not fit. */
static int join(char *out, size_t size, const char *dir, const char *name)
{
	size_t a = strlen(dir), b = strlen(name);
	if (a + 1 + b + 1 > size)
		return -ENAMETOOLONG;
	memcpy(out, dir, a);
	out[a] = '/';
	memcpy(out + a + 1, name, b + 1);
	return 0;
}

static char *decimal(unsigned long value, char *end)
{
	*--end = '\0';
	do
		*--end = (char)('0' + value % 10);
	while (value /= 10);
	return end;
}

/* The index-th smallest device id in the NUL-separated list `names` (n bytes); -1 if there are fewer. */
static long nth_id(const char *names, int n, int index)
{
	long last = -1;
	for (int round = 0; round <= index; round++) {
		long best = -1;
		for (int at = 0; at < n; at += (int)strlen(names + at) + 1) {
			long id = 0;
			const char *c = names + at;
			for (; *c >= '0' && *c <= '9' && id < 1000000000; c++)
				id = id * 10 + (*c - '0');
			if (*c || c == names + at)
				continue;       /* not a device id */
			if (id > last && (best < 0 || id < best))
				best = id;
		}
		if (best < 0)
			return -1;
		last = best;
	}
	return last;
}

int uf_xenbus_find(struct uf_xenbus_dev *dev, const char *type, int index)
{
	char digits[24], path[160], names[512];
	int rc = join(dev->node, sizeof dev->node, "device", type);
	if (rc)
		return rc;
	/* Device ids are the toolstack's (a vif's 0, 1...; a disk's from its name: xvda is 51712): the index-th
	 * smallest is the index-th device. */
	int n = uf_xs_directory(0, dev->node, names, sizeof names);
	long id = n > 0 ? nth_id(names, n, index) : -1;
	if (id < 0)
		return -ENODEV;
	if ((rc = join(dev->node, sizeof dev->node, dev->node, decimal((unsigned long)id, digits + 24))))
		return rc;
	if (uf_xenbus_read(dev, "backend", dev->backend, sizeof dev->backend) <= 0)
		return -ENODEV;
	unsigned long backend_id;
	if ((rc = join(path, sizeof path, dev->node, "backend-id")) || (rc = uf_xs_read_ulong(0, path, &backend_id)))
		return rc == -ENOENT ? -ENODEV : rc;
	dev->backend_id = (uint16_t)backend_id;
	return 0;
}

int uf_xenbus_read(const struct uf_xenbus_dev *dev, const char *key, char *buf, size_t size)
{
	char path[160];
	int rc = join(path, sizeof path, dev->node, key);
	return rc ? rc : uf_xs_read(0, path, buf, size);
}

int uf_xenbus_backend_ulong(const struct uf_xenbus_dev *dev, const char *key, unsigned long *value)
{
	char path[160];
	int rc = join(path, sizeof path, dev->backend, key);
	return rc ? rc : uf_xs_read_ulong(0, path, value);
}

/* Polls the backend's state until it is at least `want` (or Closing: it gave up); -ETIMEDOUT after the deadline.
 * Polled, not watched: a watch's events would share the queue with the app's own. */
static int wait_backend(const struct uf_xenbus_dev *dev, unsigned long want, uint64_t deadline)
{
	for (;;) {
		unsigned long state = 0;
		uf_xenbus_backend_ulong(dev, "state", &state);
		if (state >= STATE_CLOSING)
			return -ECONNREFUSED;
		if (state >= want)
			return 0;
		uint64_t now = uf_time_monotonic_ns();
		if (now >= deadline)
			return -ETIMEDOUT;
		uf_time_wait_until(now + 1000000);
	}
}

static int write_keys(struct uf_xenbus_dev *dev, const struct uf_xenbus_key *keys, size_t nkeys)
{
	char path[160];
	for (int tries = 0; tries < 100; tries++) {
		uint32_t tx;
		int rc = uf_xs_transaction_start(&tx);
		if (rc)
			return rc;
		for (size_t i = 0; i <= nkeys && !rc; i++) {
			const char *name = i < nkeys ? keys[i].name : "event-channel";
			rc = join(path, sizeof path, dev->node, name);
			if (!rc && i < nkeys && keys[i].text)
				rc = uf_xs_write(tx, path, keys[i].text);
			else if (!rc)
				rc = uf_xs_write_ulong(tx, path, i < nkeys ? keys[i].value : dev->port);
		}
		if (rc) {
			uf_xs_transaction_end(tx, 1);
			return rc;
		}
		rc = uf_xs_transaction_end(tx, 0);
		if (rc != -EAGAIN)
			return rc;
	}
	return -EAGAIN;
}

int uf_xenbus_connect(struct uf_xenbus_dev *dev, const struct uf_xenbus_key *keys, size_t nkeys)
{
	uint64_t deadline = uf_time_monotonic_ns() + CONNECT_TIMEOUT_NS;
	char path[160];
	int rc = wait_backend(dev, STATE_INIT_WAIT, deadline);
	if (rc || (rc = uf_xen_evtchn_alloc_unbound(dev->backend_id, &dev->port)) ||
	    (rc = write_keys(dev, keys, nkeys)) || (rc = join(path, sizeof path, dev->node, "state")) ||
	    (rc = uf_xs_write_ulong(0, path, STATE_CONNECTED)))
		return rc;
	return wait_backend(dev, STATE_CONNECTED, deadline);
}

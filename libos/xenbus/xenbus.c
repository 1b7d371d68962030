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

int uf_xenbus_find(struct uf_xenbus_dev *dev, const char *type, int index)
{
	char digits[24], path[160];
	int rc = join(dev->node, sizeof dev->node, "device", type);
	if (rc || (rc = join(dev->node, sizeof dev->node, dev->node, decimal((unsigned long)index, digits + 24))))
		return rc;
	if (uf_xenbus_read(dev, "backend", dev->backend, sizeof dev->backend) <= 0)
		return -ENODEV;
	unsigned long id;
	if ((rc = join(path, sizeof path, dev->node, "backend-id")) || (rc = uf_xs_read_ulong(0, path, &id)))
		return rc == -ENOENT ? -ENODEV : rc;
	dev->backend_id = (uint16_t)id;
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
			if (!rc)
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

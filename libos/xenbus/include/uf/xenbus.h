/* What every Xen split-driver frontend does with the store (xenbus): find its device ("device/TYPE/N", which
 * names the backend's domain and home), and connect: a channel to the backend, the frontend's keys written in one
 * transaction, state Connected, then wait for the backend to say Connected too. Calls return 0 or -errno. */
#ifndef UF_XENBUS_H
#define UF_XENBUS_H

#include <stddef.h>
#include <stdint.h>

struct uf_xenbus_dev {
	char node[32];          /* the frontend's home, e.g. "device/vif/0" (relative to this domain's) */
	char backend[96];       /* the backend's, e.g. "/local/domain/0/backend/vif/5/0" */
	uint16_t backend_id;    /* the backend's domain */
	uint32_t port;          /* the event channel, once connected */
};

struct uf_xenbus_key {
	const char *name;
	unsigned long value;    /* written in decimal, unless text is given */
	const char *text;
};

/* The index-th device of this type (vif, vbd), by device id; -ENODEV when there is none (or no store). */
int uf_xenbus_find(struct uf_xenbus_dev *dev, const char *type, int index);
/* A key of the frontend's node, or of the backend's (backend = 1), into buf; its length, or -errno. */
int uf_xenbus_read(const struct uf_xenbus_dev *dev, const char *key, char *buf, size_t size);
int uf_xenbus_backend_ulong(const struct uf_xenbus_dev *dev, const char *key, unsigned long *value);
/* Waits for the backend to be ready (InitWait), allocates dev->port, writes the keys and "event-channel", says
 * Connected, and waits (10 s at most) for the backend to say Connected. */
int uf_xenbus_connect(struct uf_xenbus_dev *dev, const struct uf_xenbus_key *keys, size_t nkeys);

#endif

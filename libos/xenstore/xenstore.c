/* The Xen store client: requests and answers as messages (a header, then a payload) through two 1 KiB rings in
 * the page the domain builder set up (public/io/xs_wire.h), with the event channel it bound for us. We write a
 * request, notify, and read messages until the answer comes; watch events that arrive meanwhile (they may come
 * at any time) are queued for uf_xs_read_watch. Waiting blocks the vCPU on the channel (SCHEDOP_poll), or on the
 * clock when there is a deadline. */
#include <errno.h>
#include <string.h>
#include <uf/boot.h>
#include <uf/time.h>
#include <uf/trap.h>
#include <uf/xen.h>
#include <uf/xenevtchn.h>
#include <uf/xenstore.h>

#define RING_SIZE 1024
#define PAYLOAD_MAX 4096

enum {
	XS_DIRECTORY = 1, XS_READ = 2, XS_WATCH = 4, XS_UNWATCH = 5, XS_TRANSACTION_START = 6,
	XS_TRANSACTION_END = 7, XS_GET_DOMAIN_PATH = 10, XS_WRITE = 11, XS_RM = 13, XS_WATCH_EVENT = 15, XS_ERROR = 16,
};

struct ring {
	char req[RING_SIZE];
	char rsp[RING_SIZE];
	uint32_t req_cons, req_prod;
	uint32_t rsp_cons, rsp_prod;
};

struct header {
	uint32_t type, req_id, tx_id, len;
};

static volatile struct ring *ring;
static uint32_t port;
static int state;                       /* 0: not looked yet, 1: connected, -1: no store */
static uint32_t next_id = 1;
static char home[32];

/* Watch events not read yet: "path\0token\0", in arrival order. */
#define EVENTS 16
static struct { char text[256]; size_t len; } events[EVENTS];
static unsigned events_head, events_count;

/* xenstored's error names (xs_wire.h's xsd_errors) as errno values. */
static const struct { const char *name; int err; } errors[] = {
	{ "EINVAL", EINVAL }, { "EACCES", EACCES }, { "EEXIST", EEXIST }, { "EISDIR", EISDIR },
	{ "ENOENT", ENOENT }, { "ENOMEM", ENOMEM }, { "ENOSPC", ENOSPC }, { "EIO", EIO }, { "ENOTEMPTY", ENOTEMPTY },
	{ "ENOSYS", ENOSYS }, { "EROFS", EROFS }, { "EBUSY", EBUSY }, { "EAGAIN", EAGAIN }, { "EISCONN", EISCONN },
	{ "E2BIG", E2BIG }, { "EPERM", EPERM },
};

static int connected(void)
{
	if (!state) {
		uint64_t pfn = uf_xen_hvm_param(UF_XEN_HVM_PARAM_STORE_PFN);
		uint64_t evtchn = uf_xen_hvm_param(UF_XEN_HVM_PARAM_STORE_EVTCHN);
		state = pfn && evtchn ? 1 : -1;
		ring = (volatile struct ring *)(uintptr_t)(pfn * UF_PAGE_SIZE);
		port = (uint32_t)evtchn;
	}
	return state > 0;
}

/* Blocks until the answer ring has something, or until deadline_ns (0: none); 0, or -ETIMEDOUT. */
static int wait_answer(uint64_t deadline_ns)
{
	while (__atomic_load_n(&ring->rsp_prod, __ATOMIC_ACQUIRE) == ring->rsp_cons) {
		if (!deadline_ns) {
			uf_xen_evtchn_wait(port, 0);
			continue;
		}
		uint64_t now = uf_time_monotonic_ns();
		if (now >= deadline_ns)
			return -ETIMEDOUT;
		/* The store's channel wakes nothing: look again every millisecond. */
		uf_time_wait_until(now + 1000000 < deadline_ns ? now + 1000000 : deadline_ns);
	}
	return 0;
}

static void ring_write(const void *data, size_t len)
{
	const char *p = data;
	while (len) {
		uint32_t cons = __atomic_load_n(&ring->req_cons, __ATOMIC_ACQUIRE), prod = ring->req_prod;
		uint32_t space = RING_SIZE - (prod - cons);
		if (!space) {
			uf_xen_evtchn_send(port);
			uf_xen_evtchn_wait(port, 0);
			continue;
		}
		for (; space && len; space--, len--)
			ring->req[prod++ % RING_SIZE] = *p++;
		__atomic_store_n(&ring->req_prod, prod, __ATOMIC_RELEASE);
	}
	uf_xen_evtchn_send(port);
}

static int ring_read(void *data, size_t len, uint64_t deadline_ns)
{
	char *p = data;
	while (len) {
		int rc = wait_answer(deadline_ns);
		if (rc)
			return rc;
		uint32_t prod = __atomic_load_n(&ring->rsp_prod, __ATOMIC_ACQUIRE), cons = ring->rsp_cons;
		for (; cons != prod && len; len--)
			*p++ = ring->rsp[cons++ % RING_SIZE];
		__atomic_store_n(&ring->rsp_cons, cons, __ATOMIC_RELEASE);
		uf_xen_evtchn_send(port);       /* room for xenstored again */
	}
	return 0;
}

/* Reads one message; a watch event is queued (or dropped when the queue is full) and reported as type
 * XS_WATCH_EVENT with nothing in body. */
static int read_message(struct header *h, char *body, size_t size, uint64_t deadline_ns)
{
	static char scratch[PAYLOAD_MAX];
	int rc = ring_read(h, sizeof *h, deadline_ns);
	if (rc)
		return rc;
	if (h->len > PAYLOAD_MAX)
		uf_panic("xenstore: a message of %u bytes", h->len);
	ring_read(scratch, h->len, 0);  /* the rest of a message follows its header */
	if (h->type == XS_WATCH_EVENT) {
		if (events_count < EVENTS && h->len <= sizeof events[0].text) {
			unsigned slot = (events_head + events_count++) % EVENTS;
			memcpy(events[slot].text, scratch, h->len);
			events[slot].len = h->len;
		}
		return 0;
	}
	if (h->type == XS_ERROR) {
		for (size_t i = 0; i < sizeof errors / sizeof errors[0]; i++)
			if (!strncmp(scratch, errors[i].name, h->len))
				return -errors[i].err;
		return -EIO;
	}
	size_t n = h->len < size ? h->len : size;
	memcpy(body, scratch, n);
	return (int)h->len;
}

/* One request of type with the payload parts (each NUL-terminated part with its NUL, the last one without if
 * `last_nul` is 0); the answer's payload into out (its full length is returned, or -errno). */
static int request(uint32_t type, uint32_t tx, const char *const *parts, int nparts, int last_nul, char *out,
		   size_t out_size)
{
	if (!connected())
		return -ENODEV;
	struct header h = { type, next_id++, tx, 0 };
	for (int i = 0; i < nparts; i++)
		h.len += strlen(parts[i]) + (i < nparts - 1 || last_nul);
	if (h.len > PAYLOAD_MAX)
		return -E2BIG;
	ring_write(&h, sizeof h);
	for (int i = 0; i < nparts; i++)
		ring_write(parts[i], strlen(parts[i]) + (i < nparts - 1 || last_nul));
	for (;;) {
		struct header answer;
		int rc = read_message(&answer, out, out_size, 0);
		if (answer.type == XS_WATCH_EVENT)
			continue;
		if (answer.req_id != h.req_id)
			continue;       /* an answer to a request we gave up on: not ours */
		return rc;
	}
}

int uf_xs_read(uint32_t tx, const char *path, char *buf, size_t size)
{
	if (!size)
		return -EINVAL;
	const char *parts[] = { path };
	int rc = request(XS_READ, tx, parts, 1, 1, buf, size - 1);
	if (rc >= 0)
		buf[(size_t)rc < size - 1 ? (size_t)rc : size - 1] = '\0';
	return rc;
}

int uf_xs_read_ulong(uint32_t tx, const char *path, unsigned long *value)
{
	char text[24];
	int rc = uf_xs_read(tx, path, text, sizeof text);
	if (rc < 0)
		return rc;
	if (!text[0])
		return -EINVAL;
	unsigned long v = 0;
	for (const char *c = text; *c; c++) {
		if (*c < '0' || *c > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(*c - '0');
	}
	*value = v;
	return 0;
}

int uf_xs_write(uint32_t tx, const char *path, const char *value)
{
	const char *parts[] = { path, value };
	char ok[4];
	int rc = request(XS_WRITE, tx, parts, 2, 0, ok, sizeof ok);
	return rc < 0 ? rc : 0;
}

/* value in decimal at the end of buf (24 bytes); its first digit */
static char *decimal(unsigned long value, char *buf)
{
	char *p = buf + 23;
	*p = '\0';
	do
		*--p = (char)('0' + value % 10);
	while (value /= 10);
	return p;
}

int uf_xs_write_ulong(uint32_t tx, const char *path, unsigned long value)
{
	char buf[24];
	return uf_xs_write(tx, path, decimal(value, buf));
}

int uf_xs_rm(uint32_t tx, const char *path)
{
	const char *parts[] = { path };
	char ok[4];
	int rc = request(XS_RM, tx, parts, 1, 1, ok, sizeof ok);
	return rc < 0 ? rc : 0;
}

int uf_xs_directory(uint32_t tx, const char *path, char *buf, size_t size)
{
	const char *parts[] = { path };
	int rc = request(XS_DIRECTORY, tx, parts, 1, 1, buf, size);
	return rc >= 0 && (size_t)rc > size ? -ERANGE : rc;
}

int uf_xs_transaction_start(uint32_t *tx)
{
	const char *parts[] = { "" };
	char id[16];
	int rc = request(XS_TRANSACTION_START, 0, parts, 1, 1, id, sizeof id - 1);
	if (rc < 0)
		return rc;
	id[rc < (int)sizeof id - 1 ? rc : (int)sizeof id - 1] = '\0';
	uint32_t v = 0;
	for (const char *c = id; *c >= '0' && *c <= '9'; c++)
		v = v * 10 + (uint32_t)(*c - '0');
	*tx = v;
	return 0;
}

int uf_xs_transaction_end(uint32_t tx, int abort)
{
	const char *parts[] = { abort ? "F" : "T" };
	char ok[4];
	int rc = request(XS_TRANSACTION_END, tx, parts, 1, 1, ok, sizeof ok);
	return rc < 0 ? rc : 0;
}

int uf_xs_watch(const char *path, const char *token)
{
	const char *parts[] = { path, token };
	char ok[4];
	int rc = request(XS_WATCH, 0, parts, 2, 1, ok, sizeof ok);
	return rc < 0 ? rc : 0;
}

int uf_xs_unwatch(const char *path, const char *token)
{
	const char *parts[] = { path, token };
	char ok[4];
	int rc = request(XS_UNWATCH, 0, parts, 2, 1, ok, sizeof ok);
	return rc < 0 ? rc : 0;
}

static void copy_string(char *dst, size_t size, const char *src)
{
	if (!size)
		return;
	size_t n = strnlen(src, size - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

int uf_xs_read_watch(char *path, size_t path_size, char *token, size_t token_size, int timeout_ms)
{
	if (!connected())
		return -ENODEV;
	uint64_t deadline = timeout_ms < 0 ? 0 : uf_time_monotonic_ns() + (uint64_t)timeout_ms * 1000000 + 1;
	while (!events_count) {
		/* Nothing queued: take whatever the ring holds, waiting for it until the deadline. */
		struct header h;
		int rc = read_message(&h, NULL, 0, deadline);
		if (rc == -ETIMEDOUT)
			return rc;
	}
	const char *text = events[events_head].text;
	size_t len = events[events_head].len, first = strnlen(text, len);
	copy_string(path, path_size, text);
	copy_string(token, token_size, first + 1 < len ? text + first + 1 : "");
	events_head = (events_head + 1) % EVENTS;
	events_count--;
	return 0;
}

const char *uf_xs_home(void)
{
	if (!home[0] && connected()) {
		char buf[32], digits[24];
		int domid = uf_xen_domid();
		const char *parts[] = { decimal(domid < 0 ? 0 : (unsigned long)domid, digits) };
		int rc = request(XS_GET_DOMAIN_PATH, 0, parts, 1, 1, buf, sizeof buf - 1);
		if (rc > 0) {
			buf[rc < (int)sizeof buf - 1 ? rc : (int)sizeof buf - 1] = '\0';
			copy_string(home, sizeof home, buf);
		}
	}
	return home;
}

/* Xen netfront (public/io/netif.h) behind uf/netdev.h: a domU's NIC, served by netback in the backend domain.
 *
 * Two shared rings (one page each: 256 slots) and one event channel. Receive: pages granted to the backend
 * (writable) are posted in advance, netback copies each frame into one (request-rx-copy) and answers with its
 * offset, size and flags; poll() hands the frame to the stack in place and posts the page again. A frame that
 * spans several slots (more_data: netback splits what does not fit a page) is gathered into one buffer first.
 * We take large TCP segments (feature-gso-tcpv4: a GSO extra-info slot after the first, up to 64 KiB of IP in
 * several pages): dom0 then hands over what its NIC's GRO merged as one packet, instead of cutting it up again
 * for netback, which spares it most of its per-packet work (the bridge, netback, one event per frame), and
 * spares us most of the ACKs. A response's page is the one we posted at its ring position (netback answers in
 * order; an extra-info slot takes a posted page's place too, and carries no id of ours).
 * Transmit: the frame is gathered into one of our pages, granted read-only for good, and named by one slot (a
 * frame of the 1500-byte MTU always fits a page); completed slots are reclaimed on the next transmit. Checksums: transmit may leave TCP/UDP checksums partial (csum_blank, netback
 * completes them), and receive reports the ones netback vouches for (data_validated, or csum_blank for frames
 * made in the backend domain, whose data never crossed a wire).
 *
 * Setup follows the xenbus states: the backend waits in InitWait, we grant the rings, bind a channel, write
 * their references and our features in one transaction, and say Connected; the backend then says Connected. */
#include <errno.h>
#include <string.h>
#include <uf/boot.h>
#include <uf/mem.h>
#include <uf/netdev.h>
#include <uf/time.h>
#include <uf/xen.h>
#include <uf/xenbus.h>
#include <uf/xenevtchn.h>
#include <uf/xengnttab.h>
#include <uf/xenstore.h>
#include <uf/xenupcall.h>

#define TXF_CSUM_BLANK     (1 << 0)
#define TXF_DATA_VALIDATED (1 << 1)
#define RXF_DATA_VALIDATED (1 << 0)
#define RXF_CSUM_BLANK     (1 << 1)
#define RXF_MORE_DATA      (1 << 2)
#define RXF_EXTRA_INFO     (1 << 3)
#define EXTRA_FLAG_MORE    (1 << 0)     /* another extra-info slot follows this one */

#define RING 256                /* slots in each ring: (4096 - 64) / slot size, rounded down to a power of 2 */
#define RX_BUFS 128             /* pages posted for receive */
#define TX_BUFS 64              /* pages to transmit from */
#define MAX_NICS 4
#define GATHER_PAGES 17         /* the largest frame we gather: 64 KiB of IP (a GSO packet) and its Ethernet header */

struct ring_header {
	uint32_t req_prod, req_event, rsp_prod, rsp_event;
	uint8_t pvt[4], pad[44];
};

union tx_slot {
	struct { uint32_t gref; uint16_t offset, flags, id, size; } req;
	struct { uint16_t id; int16_t status; } rsp;
};

union rx_slot {
	struct { uint16_t id, pad; uint32_t gref; } req;
	struct { uint16_t id, offset, flags; int16_t status; } rsp;
	struct { uint8_t type, flags; } extra;
};

struct tx_ring {
	struct ring_header h;
	union tx_slot slot[RING];
};

struct rx_ring {
	struct ring_header h;
	union rx_slot slot[RING];
};

_Static_assert(sizeof(struct ring_header) == 64, "sring header");
_Static_assert(sizeof(struct tx_ring) <= UF_PAGE_SIZE && sizeof(struct rx_ring) <= UF_PAGE_SIZE, "one page");

struct nic {
	struct uf_netdev netdev;
	struct uf_xenbus_dev bus;
	volatile struct tx_ring *tx;
	volatile struct rx_ring *rx;
	uint32_t tx_prod, tx_cons;      /* our copies: requests made, responses read */
	uint32_t rx_prod, rx_cons;
	uint8_t *rx_page[RX_BUFS];
	int rx_gref[RX_BUFS];
	uint16_t rx_posted[RING];       /* the page posted at each ring position */
	uint8_t *tx_page[TX_BUFS];
	int tx_gref[TX_BUFS];
	uint16_t tx_free[TX_BUFS];      /* a stack of free transmit pages */
	int ntx_free;
	uint8_t *gather;                /* a multi-slot frame, put together */
	char name[16];
};

static struct nic nics[MAX_NICS];
static int probed[MAX_NICS];

static void push_tx(struct nic *n)
{
	uint32_t old = n->tx->h.req_prod;
	__atomic_store_n(&n->tx->h.req_prod, n->tx_prod, __ATOMIC_SEQ_CST);
	/* Notify only if the backend asked to hear about a request in (old, new]. */
	if ((uint32_t)(n->tx_prod - n->tx->h.req_event) < (uint32_t)(n->tx_prod - old))
		uf_xen_evtchn_send(n->bus.port);
}

static void push_rx(struct nic *n)
{
	uint32_t old = n->rx->h.req_prod;
	__atomic_store_n(&n->rx->h.req_prod, n->rx_prod, __ATOMIC_SEQ_CST);
	if ((uint32_t)(n->rx_prod - n->rx->h.req_event) < (uint32_t)(n->rx_prod - old))
		uf_xen_evtchn_send(n->bus.port);
}

static void post_rx(struct nic *n, uint16_t id)
{
	volatile union rx_slot *s = &n->rx->slot[n->rx_prod % RING];
	s->req.id = id;
	s->req.gref = (uint32_t)n->rx_gref[id];
	n->rx_posted[n->rx_prod % RING] = id;
	n->rx_prod++;
}

static void reclaim_tx(struct nic *n)
{
	uint32_t prod = __atomic_load_n(&n->tx->h.rsp_prod, __ATOMIC_ACQUIRE);
	for (; n->tx_cons != prod; n->tx_cons++) {
		uint16_t id = n->tx->slot[n->tx_cons % RING].rsp.id;
		/* A backend's nonsense id is ignored, not trusted. */
		if (id < TX_BUFS && n->ntx_free < TX_BUFS)
			n->tx_free[n->ntx_free++] = id;
	}
}

static int tx_pending(struct uf_netdev *dev)
{
	struct nic *n = dev->priv;
	reclaim_tx(n);
	return (int)(n->tx_prod - n->tx_cons);
}

static int transmit(struct uf_netdev *dev, const struct iovec *iov, int iovcnt, const struct uf_netdev_tx_csum *csum)
{
	struct nic *n = dev->priv;
	size_t len = 0;
	for (int i = 0; i < iovcnt; i++)
		len += iov[i].iov_len;
	if (len < 14 || len > 14u + dev->mtu)
		return -EINVAL;
	reclaim_tx(n);
	if (!n->ntx_free || n->tx_prod - n->tx_cons >= RING) {
		/* Full: ask for an event at the next completion (the stack waits for one), then look once more. */
		__atomic_store_n(&n->tx->h.rsp_event, n->tx_cons + 1, __ATOMIC_SEQ_CST);
		reclaim_tx(n);
		if (!n->ntx_free || n->tx_prod - n->tx_cons >= RING)
			return -EAGAIN;
	}
	uint16_t page = n->tx_free[--n->ntx_free];
	uint8_t *at = n->tx_page[page];
	for (int i = 0; i < iovcnt; i++) {
		memcpy(at, iov[i].iov_base, iov[i].iov_len);
		at += iov[i].iov_len;
	}
	volatile union tx_slot *s = &n->tx->slot[n->tx_prod++ % RING];
	s->req.gref = (uint32_t)n->tx_gref[page];
	s->req.offset = 0;
	s->req.flags = csum ? TXF_CSUM_BLANK | TXF_DATA_VALIDATED : 0;
	s->req.id = page;
	s->req.size = (uint16_t)len;
	push_tx(n);
	return 0;
}

/* The data of the response at ring position i: its page and the frame's place in it, checked; NULL for a slot
 * to skip. */
static const uint8_t *rx_data(struct nic *n, uint32_t i, size_t *len)
{
	volatile union rx_slot *s = &n->rx->slot[i % RING];
	uint16_t offset = s->rsp.offset;
	int16_t status = s->rsp.status;
	if (status <= 0 || (size_t)offset + (size_t)status > UF_PAGE_SIZE)
		return NULL;
	*len = (size_t)status;
	return n->rx_page[n->rx_posted[i % RING]] + offset;
}

/* A frame's slots from position `first`: its first data slot, the extra-info slots (each says whether another
 * follows) and the data slots up to one without more_data. Sets *extras and *last; 0 if the rest is not there yet. */
static int frame_slots(struct nic *n, uint32_t first, uint32_t prod, uint32_t *extras, uint32_t *last)
{
	uint32_t i = first;
	uint16_t flags = n->rx->slot[i % RING].rsp.flags;
	int extra = (flags & RXF_EXTRA_INFO) != 0, more = (flags & RXF_MORE_DATA) != 0;
	*extras = 0;
	while (extra || more) {
		if (++i == prod)
			return 0;
		volatile union rx_slot *s = &n->rx->slot[i % RING];
		if (extra) {
			extra = (s->extra.flags & EXTRA_FLAG_MORE) != 0;
			++*extras;
		} else {
			more = (s->rsp.flags & RXF_MORE_DATA) != 0;
		}
	}
	*last = i;
	return 1;
}

static int poll(struct uf_netdev *dev, uf_netdev_rx_fn rx)
{
	struct nic *n = dev->priv;
	int frames = 0;
	for (;;) {
		uint32_t prod = __atomic_load_n(&n->rx->h.rsp_prod, __ATOMIC_ACQUIRE);
		/* A backend that answers more than we asked is not believed past what we posted. */
		if (prod - n->rx_cons > n->rx_prod - n->rx_cons)
			prod = n->rx_prod;
		uint32_t wanted = 0;    /* the response to be woken by: the next one */
		while (n->rx_cons != prod) {
			uint32_t first = n->rx_cons, last = prod - 1, extras = 0;
			int whole = frame_slots(n, first, prod, &extras, &last);
			if (!whole && prod != n->rx_prod) {
				wanted = prod + 1;      /* the rest of a frame that is not there yet */
				break;
			}
			/* (A frame not whole in every page we posted can never be: its slots are dropped.) */
			int valid = (n->rx->slot[first % RING].rsp.flags & (RXF_DATA_VALIDATED | RXF_CSUM_BLANK)) != 0;
			size_t len = 0, total = 0;
			const uint8_t *data = rx_data(n, first, &len);
			if (!whole) {
				last = prod - 1;
			} else if (last == first) {
				if (data)
					rx(dev, data, len, valid);
			} else {
				int bad = !data;
				for (uint32_t i = first; i <= last && !bad; i = i == first ? first + 1 + extras : i + 1) {
					const uint8_t *d = rx_data(n, i, &len);
					if (!d || total + len > GATHER_PAGES * UF_PAGE_SIZE)
						bad = 1;
					else
						memcpy(n->gather + total, d, len);
					total += len;
				}
				if (!bad)
					rx(dev, n->gather, total, valid);
			}
			frames++;
			/* Every slot's page goes back, the extra-info slots' too. */
			for (uint32_t i = first; i <= last; i++)
				post_rx(n, n->rx_posted[i % RING]);
			n->rx_cons = last + 1;
		}
		push_rx(n);
		/* Ask for an event at the next response, then look once more: one may have come meanwhile. */
		__atomic_store_n(&n->rx->h.rsp_event, wanted ? wanted : n->rx_cons + 1, __ATOMIC_SEQ_CST);
		if (__atomic_load_n(&n->rx->h.rsp_prod, __ATOMIC_ACQUIRE) == prod)
			break;
	}
	return frames;
}

static int parse_mac(const char *text, uint8_t mac[6])
{
	for (int i = 0; i < 6; i++) {
		int v = 0;
		for (int j = 0; j < 2; j++) {
			char c = *text++;
			int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
				c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
			if (d < 0)
				return -EINVAL;
			v = v * 16 + d;
		}
		mac[i] = (uint8_t)v;
		if (i < 5 && *text++ != ':')
			return -EINVAL;
	}
	return 0;
}

static int grant_pages(struct nic *n, uint8_t **pages, int *grefs, int count, int readonly)
{
	for (int i = 0; i < count; i++) {
		pages[i] = uf_page_alloc(1);
		if (!pages[i])
			return -ENOMEM;
		grefs[i] = uf_xen_gnttab_grant(n->bus.backend_id, pages[i], readonly);
		if (grefs[i] < 0)
			return grefs[i];
	}
	return 0;
}

static int setup(struct nic *n, int index)
{
	int rc = uf_xenbus_find(&n->bus, "vif", index);
	if (rc)
		return rc;
	char mac[24];
	if (uf_xenbus_read(&n->bus, "mac", mac, sizeof mac) < 0 || parse_mac(mac, n->netdev.mac))
		return -EINVAL;
	n->tx = uf_page_alloc(1);
	n->rx = uf_page_alloc(1);
	n->gather = uf_page_alloc(GATHER_PAGES);
	if (!n->tx || !n->rx || !n->gather)
		return -ENOMEM;
	n->tx->h.req_event = n->tx->h.rsp_event = 1;
	n->rx->h.req_event = n->rx->h.rsp_event = 1;
	int tx_ref = uf_xen_gnttab_grant(n->bus.backend_id, (const void *)n->tx, 0);
	int rx_ref = uf_xen_gnttab_grant(n->bus.backend_id, (const void *)n->rx, 0);
	if (tx_ref < 0 || rx_ref < 0)
		return -ENOSPC;
	if ((rc = grant_pages(n, n->rx_page, n->rx_gref, RX_BUFS, 0)) ||
	    (rc = grant_pages(n, n->tx_page, n->tx_gref, TX_BUFS, 1)))
		return rc;
	for (int i = 0; i < TX_BUFS; i++)
		n->tx_free[n->ntx_free++] = (uint16_t)(TX_BUFS - 1 - i);
	const struct uf_xenbus_key keys[] = {
		{ .name = "tx-ring-ref", .value = (unsigned long)tx_ref },
		{ .name = "rx-ring-ref", .value = (unsigned long)rx_ref },
		{ .name = "request-rx-copy", .value = 1 }, { .name = "feature-rx-notify", .value = 1 },
		{ .name = "feature-sg", .value = 1 }, { .name = "feature-gso-tcpv4", .value = 1 },
	};
	rc = uf_xenbus_connect(&n->bus, keys, sizeof keys / sizeof keys[0]);
	if (rc)
		return rc;
	for (uint16_t id = 0; id < RX_BUFS; id++)
		post_rx(n, id);
	push_rx(n);
	uf_xen_evtchn_wake_on(n->bus.port);
	memcpy(n->name, "xen-vif0", 9);
	n->name[7] = (char)('0' + index);
	n->netdev.name = n->name;
	n->netdev.mtu = 1500;
	n->netdev.caps = UF_NETDEV_CAP_TX_CSUM | UF_NETDEV_CAP_RX_CSUM;
	n->netdev.transmit = transmit;
	n->netdev.poll = poll;
	n->netdev.tx_pending = tx_pending;
	n->netdev.priv = n;
	return 0;
}

struct uf_netdev *uf_netdev_get(int index)
{
	if (index < 0 || index >= MAX_NICS)
		return NULL;
	if (!probed[index])
		probed[index] = setup(&nics[index], index) ? -1 : 1;
	return probed[index] > 0 ? &nics[index].netdev : NULL;
}

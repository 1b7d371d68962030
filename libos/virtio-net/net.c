/* virtio-net (spec 5.1) behind uf/netdev.h.
 *
 * Every frame is two descriptors, the virtio-net header and the Ethernet frame, so the frame can sit where the
 * stack wants it (IP header 4-byte aligned) whatever the header's size. Receive: the device writes into our
 * buffers and poll() hands each frame to the stack in place, then gives the buffer back (no copy). Transmit: the
 * contract lets the caller reuse its memory on return, so the frame is gathered into one of our buffers (the
 * one copy) and the chain is reclaimed on a later transmit; the transmit queue raises no interrupts.
 * No merged receive buffers (VIRTIO_NET_F_MRG_RXBUF): without TSO/GRO a frame always fits one 1514-byte buffer,
 * and merging would only save memory at the cost of copying frames spread over several buffers. Every buffer the
 * device sees is ours, from the page allocator (identity mapped: its pointer is its physical address). */
#include <errno.h>
#include <string.h>
#include <uf/boot.h>
#include <uf/mem.h>
#include <uf/netdev.h>
#include <uf/virtio.h>

#define F_CSUM          0       /* the device completes checksums we leave partial */
#define F_GUEST_CSUM    1       /* the device tells us about received checksums */
#define F_MAC           5

#define HDR_F_NEEDS_CSUM 1
#define HDR_F_DATA_VALID 2

#define CONFIG_MAC 0
#define RXQ 0
#define TXQ 1
#define QUEUE_MAX 256           /* descriptors per queue: 128 frames in flight each way */
#define QUEUE_MIN 16            /* 8 frames each way, the least a small guest gets */
#define SHARE 8                 /* both queues' buffers take at most 1/SHARE of the free pages */
#define MAX_NICS 4
#define ETH_HEADER 14

struct net_hdr {
	uint8_t flags, gso_type;
	uint16_t hdr_len, gso_size, csum_start, csum_offset, num_buffers;
};

/* Header, then the frame at offset 18: the IP header after the 14-byte Ethernet one is then 4-byte aligned. */
struct buf {
	struct net_hdr hdr;
	uint8_t pad[6];
	uint8_t frame[UF_NETDEV_FRAME_MAX];
};

struct nic {
	struct uf_netdev netdev;
	struct uf_virtio_dev *dev;
	struct uf_virtq rx, tx;
	struct buf *rx_bufs, *tx_bufs;
	struct buf **tx_free;           /* a stack of free transmit buffers */
	int ntx_free;
	char name[16];
};

static const uint8_t features[] = { UF_VIRTIO_F_VERSION_1, F_MAC, F_CSUM, F_GUEST_CSUM };
static struct nic nics[MAX_NICS];
static int probed[MAX_NICS];            /* 1: found, -1: absent or failed */

static int give_rx(struct nic *n, struct buf *b)
{
	struct uf_virtq_seg segs[2] = {
		{ (uintptr_t)&b->hdr, sizeof b->hdr, 1 },
		{ (uintptr_t)b->frame, sizeof b->frame, 1 },
	};
	return uf_virtq_add(&n->rx, segs, 2, b);
}

static void reclaim_tx(struct nic *n)
{
	struct buf *b;
	while ((b = uf_virtq_next_used(&n->tx, NULL)))
		n->tx_free[n->ntx_free++] = b;
}

static int transmit(struct uf_netdev *nd, const struct iovec *iov, int iovcnt, const struct uf_netdev_tx_csum *csum)
{
	struct nic *n = nd->priv;
	size_t len = 0;
	if (iovcnt < 1)
		return -EINVAL;
	for (int i = 0; i < iovcnt; i++)
		len += iov[i].iov_len;
	if (len < ETH_HEADER || len > ETH_HEADER + (size_t)nd->mtu)
		return -EINVAL;
	if (csum && (!(nd->caps & UF_NETDEV_CAP_TX_CSUM) || csum->start + csum->offset + 2u > len))
		return -EINVAL;
	reclaim_tx(n);
	if (!n->ntx_free)
		return -EAGAIN;
	struct buf *b = n->tx_free[--n->ntx_free];
	size_t at = 0;
	for (int i = 0; i < iovcnt; i++) {
		memcpy(b->frame + at, iov[i].iov_base, iov[i].iov_len);
		at += iov[i].iov_len;
	}
	memset(&b->hdr, 0, sizeof b->hdr);
	if (csum) {
		b->hdr.flags = HDR_F_NEEDS_CSUM;
		b->hdr.csum_start = csum->start;
		b->hdr.csum_offset = csum->offset;
	}
	struct uf_virtq_seg segs[2] = { { (uintptr_t)&b->hdr, sizeof b->hdr, 0 },
					{ (uintptr_t)b->frame, (uint32_t)len, 0 } };
	if (uf_virtq_add(&n->tx, segs, 2, b)) {         /* cannot happen: a free buffer means two free descriptors */
		n->tx_free[n->ntx_free++] = b;
		return -EAGAIN;
	}
	uf_virtq_kick(n->dev, &n->tx);
	return 0;
}

static int tx_pending(struct uf_netdev *nd)
{
	struct nic *n = nd->priv;
	reclaim_tx(n);
	return n->tx.size / 2 - n->ntx_free;
}

static int poll(struct uf_netdev *nd, uf_netdev_rx_fn rx)
{
	struct nic *n = nd->priv;
	struct buf *b;
	uint32_t written;
	int count = 0, refilled = 0;
	while ((b = uf_virtq_next_used(&n->rx, &written))) {
		/* The device wrote the header, then the frame: anything shorter than a header is dropped. */
		if (written >= sizeof b->hdr + ETH_HEADER && written <= sizeof b->hdr + sizeof b->frame) {
			int valid = (nd->caps & UF_NETDEV_CAP_RX_CSUM) &&
				    (b->hdr.flags & (HDR_F_DATA_VALID | HDR_F_NEEDS_CSUM));
			rx(nd, b->frame, written - sizeof b->hdr, valid);
			count++;
		}
		refilled += give_rx(n, b) == 0;
	}
	if (refilled)
		uf_virtq_kick(n->dev, &n->rx);
	if (count)
		uf_virtq_interrupts(&n->rx, 0);         /* busy: the stack polls again before it waits (arm) */
	return count;
}

static int arm(struct uf_netdev *nd)
{
	struct nic *n = nd->priv;
	uf_virtq_interrupts(&n->rx, 1);
	return uf_virtq_has_used(&n->rx);
}

static void *alloc_bufs(size_t count)
{
	size_t bytes = count * sizeof(struct buf);
	return uf_page_alloc((bytes + UF_PAGE_SIZE - 1) / UF_PAGE_SIZE);
}

/* Descriptors per queue: QUEUE_MAX when the free pages allow it (from about 3 MiB free on, so every guest of a
 * usual size), fewer in a small guest, whose buffers would otherwise not fit beside the program. */
static uint16_t queue_size(void)
{
	size_t frames = uf_page_free_count() * UF_PAGE_SIZE / SHARE / (2 * sizeof(struct buf));
	uint16_t size = QUEUE_MAX;
	while (size > QUEUE_MIN && size / 2 > frames)
		size /= 2;
	return size;
}

static int setup(struct nic *n, int index)
{
	struct uf_virtio_dev *dev = uf_virtio_find(UF_VIRTIO_ID_NET, index);
	if (!dev || uf_virtio_start(dev, features, sizeof features))
		return -1;
	n->dev = dev;
	/* Without an interrupt the stack's waits end at their deadline and it polls anyway. */
	uf_virtio_enable_interrupt(dev);
	uint16_t size = queue_size();
	if (uf_virtq_setup(dev, &n->rx, RXQ, size) || uf_virtq_setup(dev, &n->tx, TXQ, size))
		goto fail;
	int nrx = n->rx.size / 2, ntx = n->tx.size / 2;
	n->rx_bufs = alloc_bufs(nrx);
	n->tx_bufs = alloc_bufs(ntx);
	n->tx_free = uf_page_alloc((ntx * sizeof(struct buf *) + UF_PAGE_SIZE - 1) / UF_PAGE_SIZE);
	if (!n->rx_bufs || !n->tx_bufs || !n->tx_free)
		goto fail;
	for (int i = 0; i < ntx; i++)
		n->tx_free[i] = &n->tx_bufs[i];
	n->ntx_free = ntx;
	uf_virtq_interrupts(&n->tx, 0);
	for (int i = 0; i < nrx; i++)
		give_rx(n, &n->rx_bufs[i]);

	struct uf_netdev *nd = &n->netdev;
	memcpy(n->name, "virtio-net0", 12);
	n->name[10] = '0' + index;
	nd->name = n->name;
	if (uf_virtio_has(dev, F_MAC)) {
		for (int i = 0; i < 6; i++)
			nd->mac[i] = uf_virtio_config8(dev, CONFIG_MAC + i);
	} else {                /* locally administered, unicast */
		static const uint8_t local[6] = { 0x02, 0, 0, 0, 0, 0 };
		memcpy(nd->mac, local, 6);
		nd->mac[5] = 1 + index;
	}
	nd->mtu = 1500;
	nd->caps = (uf_virtio_has(dev, F_CSUM) ? UF_NETDEV_CAP_TX_CSUM : 0) |
		   (uf_virtio_has(dev, F_GUEST_CSUM) ? UF_NETDEV_CAP_RX_CSUM : 0);
	nd->transmit = transmit;
	nd->poll = poll;
	nd->arm = arm;
	nd->tx_pending = tx_pending;
	nd->priv = n;
	uf_virtio_ready(dev);
	uf_virtq_kick(dev, &n->rx);
	return 0;
fail:
	uf_virtio_fail(dev);
	return -1;
}

struct uf_netdev *uf_netdev_get(int index)
{
	if (index < 0 || index >= MAX_NICS)
		return NULL;
	if (!probed[index])
		probed[index] = setup(&nics[index], index) ? -1 : 1;
	return probed[index] > 0 ? &nics[index].netdev : NULL;
}

/* The seam between a network interface driver (virtio-net, later Xen netfront) and the network stack, after
 * lwIP's netif: the driver moves whole Ethernet frames, the stack owns every protocol above them.
 *
 * Buffer ownership is unconditional: a received frame belongs to the driver and is valid only during the rx
 * callback (the stack copies what it keeps); a transmitted frame's memory is free again when transmit returns
 * (the driver copies it into its own ring buffers or has finished with it).
 *
 * Single CPU, no preemption: every function here runs in process context, never from an interrupt handler.
 * A driver's interrupt only wakes the CPU from uf_time_wait_until(); the stack then calls poll(). A driver with
 * arm() raises its receive interrupt only after arm() and until a poll() that takes frames: interrupts while the
 * stack is busy taking frames would only cost traps (as NAPI does). */
#ifndef UF_NETDEV_H
#define UF_NETDEV_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define UF_NETDEV_FRAME_MAX 1514        /* Ethernet header + 1500-byte MTU, no FCS */

/* Capability bits (uf_netdev.caps), negotiated by the driver with the device. */
#define UF_NETDEV_CAP_TX_CSUM   0x1     /* transmit may leave a TCP/UDP checksum to the device (uf_netdev_tx_csum) */
#define UF_NETDEV_CAP_RX_CSUM   0x2     /* rx may report a frame's TCP/UDP checksum as already verified */

/* A checksum the device completes on transmit: the 16-bit ones' complement sum from byte `start` of the frame
 * to its end is stored at byte `start + offset`. The stack has put the pseudo-header sum in that field. */
struct uf_netdev_tx_csum {
	uint16_t start, offset;
};

struct uf_netdev;

/* Called by poll() once per received frame (Ethernet header first, no FCS). csum_valid: the device verified
 * the frame's TCP/UDP checksum (only with UF_NETDEV_CAP_RX_CSUM); 0 means "check it yourself", not "bad". */
typedef void (*uf_netdev_rx_fn)(struct uf_netdev *dev, const void *frame, size_t len, int csum_valid);

struct uf_netdev {
	const char *name;       /* e.g. "virtio-net0" */
	uint8_t mac[6];
	uint16_t mtu;           /* IP MTU, 1500 unless the device says otherwise */
	uint32_t caps;          /* UF_NETDEV_CAP_* */

	/* Sends one frame gathered from iov (iovcnt >= 1, total <= 14 + mtu). csum: NULL, or a checksum for the
	 * device to complete (only with UF_NETDEV_CAP_TX_CSUM). Reclaims completed transmissions first.
	 * Returns 0, or -EAGAIN when the transmit ring is full (the stack retries after a poll), -EINVAL on a bad
	 * length. Never blocks. */
	int (*transmit)(struct uf_netdev *dev, const struct iovec *iov, int iovcnt,
			const struct uf_netdev_tx_csum *csum);

	/* Hands every frame received so far to rx and refills the receive ring; returns how many frames it handed
	 * over. Never blocks. */
	int (*poll)(struct uf_netdev *dev, uf_netdev_rx_fn rx);

	/* NULL (the interrupt is always on), or: turns the receive interrupt on before a wait; nonzero if a frame
	 * came already (the stack polls rather than waits). Never blocks. */
	int (*arm)(struct uf_netdev *dev);

	/* Frames transmit took that the device has not finished with yet (reclaiming the finished ones first).
	 * The stack's exit waits for 0 (uf_net_flush): a machine that ends at once may lose frames the device
	 * was still to send. Never blocks. */
	int (*tx_pending)(struct uf_netdev *dev);

	void *priv;             /* the driver's state */
};

/* The index-th network interface (0 = first), probed on first call; NULL if there is none. Defined by exactly
 * one NIC driver module: the one the target links (it is what pulls that driver into an image). */
struct uf_netdev *uf_netdev_get(int index);

#endif

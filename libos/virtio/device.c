/* Device initialization (spec 3.1.1): reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK ... DRIVER_OK. */
#include <uf/virtio.h>

#define RESET_TRIES 1000000

int uf_virtio_start(struct uf_virtio_dev *dev, const uint8_t *wanted, size_t nwanted)
{
	uf_virtio_set_status(dev, 0);
	int tries = RESET_TRIES;
	while (uf_virtio_get_status(dev))       /* the reset completes when status reads back 0 */
		if (!--tries)
			return -1;              /* a device that never resets is not one to drive */
	uf_virtio_set_status(dev, UF_VIRTIO_S_ACKNOWLEDGE);
	uf_virtio_set_status(dev, UF_VIRTIO_S_ACKNOWLEDGE | UF_VIRTIO_S_DRIVER);

	uint64_t offered = uf_virtio_device_features(dev), want = 0;
	for (size_t i = 0; i < nwanted; i++)
		want |= 1ull << wanted[i];
	dev->features = offered & want;
	if (!uf_virtio_has(dev, UF_VIRTIO_F_VERSION_1)) {      /* legacy devices use another layout: not ours */
		uf_virtio_fail(dev);
		return -1;
	}
	uf_virtio_set_driver_features(dev, dev->features);
	uf_virtio_set_status(dev, UF_VIRTIO_S_ACKNOWLEDGE | UF_VIRTIO_S_DRIVER | UF_VIRTIO_S_FEATURES_OK);
	if (!(uf_virtio_get_status(dev) & UF_VIRTIO_S_FEATURES_OK)) {
		uf_virtio_fail(dev);
		return -1;
	}
	return 0;
}

void uf_virtio_ready(struct uf_virtio_dev *dev)
{
	uf_virtio_set_status(dev, uf_virtio_get_status(dev) | UF_VIRTIO_S_DRIVER_OK);
}

void uf_virtio_fail(struct uf_virtio_dev *dev)
{
	uf_virtio_set_status(dev, uf_virtio_get_status(dev) | UF_VIRTIO_S_FAILED);
}

uint64_t uf_virtio_config64(struct uf_virtio_dev *dev, unsigned offset)
{
	uint32_t gen, lo, hi;
	do {
		gen = uf_virtio_config_generation(dev);
		lo = uf_virtio_config32(dev, offset);
		hi = uf_virtio_config32(dev, offset + 4);
	} while (gen != uf_virtio_config_generation(dev));
	return (uint64_t)hi << 32 | lo;
}

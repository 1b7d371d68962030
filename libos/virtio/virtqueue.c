/* Split virtqueues (spec 2.7): descriptor table, available ring (ours), used ring (the device's), in one
 * zeroed allocation from the page allocator. No event-index feature: notifications are suppressed with flags. */
#include <uf/boot.h>
#include <uf/mem.h>
#include <uf/virtio.h>

#define DESC_F_NEXT  1
#define DESC_F_WRITE 2
#define AVAIL_F_NO_INTERRUPT 1
#define USED_F_NO_NOTIFY 1

static size_t align(size_t n, size_t to)
{
	return (n + to - 1) & ~(to - 1);
}

int uf_virtq_setup(struct uf_virtio_dev *dev, struct uf_virtq *vq, uint16_t index, uint16_t max_size)
{
	uint16_t size = uf_virtio_queue_max(dev, index);
	if (!size)
		return -1;
	if (size > max_size)
		size = max_size;
	while (size & (size - 1))       /* split queue sizes are powers of 2 (spec 2.7) */
		size &= size - 1;
	size_t avail_at = 16 * (size_t)size, used_at = align(avail_at + 6 + 2 * (size_t)size, 4);
	size_t tokens_at = align(used_at + 6 + 8 * (size_t)size, sizeof(void *));
	size_t bytes = tokens_at + sizeof(void *) * size;
	char *mem = uf_page_alloc(align(bytes, UF_PAGE_SIZE) / UF_PAGE_SIZE);
	if (!mem)
		return -1;
	vq->index = index;
	vq->size = size;
	vq->desc = (volatile struct uf_virtq_desc *)mem;
	vq->avail = (volatile struct uf_virtq_avail *)(mem + avail_at);
	vq->used = (volatile struct uf_virtq_used *)(mem + used_at);
	vq->tokens = (void **)(mem + tokens_at);
	for (uint16_t i = 0; i + 1 < size; i++)
		vq->desc[i].next = i + 1;
	vq->free_head = 0;
	vq->num_free = size;
	vq->last_used = 0;
	return uf_virtio_queue_enable(dev, vq);
}

int uf_virtq_add(struct uf_virtq *vq, const struct uf_virtq_seg *segs, int n, void *token)
{
	if (n < 1 || n > vq->num_free)
		return -1;
	uint16_t head = vq->free_head, i = head, last = head;
	for (int k = 0; k < n; k++) {
		volatile struct uf_virtq_desc *d = &vq->desc[i];
		d->addr = segs[k].addr;
		d->len = segs[k].len;
		d->flags = (segs[k].device_writes ? DESC_F_WRITE : 0) | (k + 1 < n ? DESC_F_NEXT : 0);
		last = i;
		i = d->next;
	}
	vq->free_head = vq->desc[last].next;
	vq->num_free -= n;
	vq->tokens[head] = token;
	uint16_t idx = vq->avail->idx;
	vq->avail->ring[idx % vq->size] = head;
	uf_virtio_wmb();                /* the descriptors and the ring entry before the index that publishes them */
	vq->avail->idx = idx + 1;
	return 0;
}

void uf_virtq_kick(struct uf_virtio_dev *dev, struct uf_virtq *vq)
{
	uf_virtio_mb();                 /* the published index before reading the device's flag */
	if (!(vq->used->flags & USED_F_NO_NOTIFY))
		uf_virtio_queue_notify(dev, vq);
}

void *uf_virtq_next_used(struct uf_virtq *vq, uint32_t *written)
{
	if (vq->used->idx == vq->last_used)
		return NULL;
	uf_virtio_rmb();                /* the index before the entry it covers */
	volatile struct uf_virtq_used_elem *e = &vq->used->ring[vq->last_used % vq->size];
	uint32_t head = e->id;
	if (written)
		*written = e->len;
	vq->last_used++;
	if (head >= vq->size)           /* a device bug; dropping the entry beats following a wild index */
		return NULL;
	void *token = vq->tokens[head];
	uint16_t i = head, n = 1;
	while (vq->desc[i].flags & DESC_F_NEXT && n < vq->size) {
		i = vq->desc[i].next;
		n++;
	}
	vq->desc[i].next = vq->free_head;
	vq->free_head = head;
	vq->num_free += n;
	return token;
}

int uf_virtq_has_used(struct uf_virtq *vq)
{
	uf_virtio_mb();                 /* the flag uf_virtq_interrupts wrote before the index the device wrote */
	return vq->used->idx != vq->last_used;
}

void uf_virtq_interrupts(struct uf_virtq *vq, int on)
{
	vq->avail->flags = on ? 0 : AVAIL_F_NO_INTERRUPT;
}

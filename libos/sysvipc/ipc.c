/* What the three kinds of System V IPC objects share: keys, ids, permissions and times (ipc.h). */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <uf/time.h>
#include "ipc.h"

static int next_seq;

int uf_ipc_get(struct uf_ipc_obj *const *slots, key_t key, int flags)
{
	if (key != IPC_PRIVATE)
		for (int i = 0; i < UF_IPC_SLOTS; i++)
			if (slots[i] && slots[i]->key == key)
				return (flags & IPC_CREAT) && (flags & IPC_EXCL) ? -EEXIST : i;
	if (key != IPC_PRIVATE && !(flags & IPC_CREAT))
		return -ENOENT;
	return uf_ipc_free_slot(slots) < 0 ? -ENOSPC : UF_IPC_SLOTS;
}

int uf_ipc_free_slot(struct uf_ipc_obj *const *slots)
{
	for (int i = 0; i < UF_IPC_SLOTS; i++)
		if (!slots[i])
			return i;
	return -ENOSPC;
}

int uf_ipc_id(struct uf_ipc_obj *const *slots, const struct uf_ipc_obj *o)
{
	for (int i = 0; i < UF_IPC_SLOTS; i++)
		if (slots[i] == o)
			return o->seq * UF_IPC_SLOTS + i;
	return -EINVAL;
}

int uf_ipc_add(struct uf_ipc_obj **slots, int slot, struct uf_ipc_obj *o, key_t key, int flags)
{
	*o = (struct uf_ipc_obj){ .key = key, .seq = next_seq++ % 0x10000, .mode = flags & 0777,
				  .ctime = uf_ipc_now() };
	slots[slot] = o;
	return o->seq * UF_IPC_SLOTS + slot;
}

struct uf_ipc_obj *uf_ipc_lookup(struct uf_ipc_obj *const *slots, int id)
{
	if (id < 0)
		return 0;
	struct uf_ipc_obj *o = slots[id % UF_IPC_SLOTS];
	return o && o->seq == id / UF_IPC_SLOTS ? o : 0;
}

void uf_ipc_remove(struct uf_ipc_obj **slots, const struct uf_ipc_obj *o)
{
	for (int i = 0; i < UF_IPC_SLOTS; i++)
		if (slots[i] == o)
			slots[i] = 0;
}

void uf_ipc_stat_perm(const struct uf_ipc_obj *o, struct ipc_perm *p)
{
	memset(p, 0, sizeof *p);
	p->__ipc_perm_key = o->key;
	p->__ipc_perm_seq = o->seq;
	p->mode = o->mode;          /* uid, gid, cuid, cgid: root's 0 */
}

void uf_ipc_set_perm(struct uf_ipc_obj *o, const struct ipc_perm *p)
{
	o->mode = (o->mode & ~0777) | (p->mode & 0777);
	o->ctime = uf_ipc_now();
}

time_t uf_ipc_now(void)
{
	return (time_t)(uf_time_realtime_ns() / 1000000000);
}

int uf_ipc_deadline(long long sec, long long nsec, uint64_t *deadline)
{
	if (sec < 0 || nsec < 0 || nsec >= 1000000000)
		return -EINVAL;
	uint64_t now = uf_time_monotonic_ns();
	*deadline = (uint64_t)sec > (UINT64_MAX - now) / 1000000000 - 1 ? UINT64_MAX
		    : now + (uint64_t)sec * 1000000000 + (uint64_t)nsec;
	return 0;
}

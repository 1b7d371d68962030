/* System V shared memory: a segment is pages of the one address space (identity mapped), so every attach
 * returns the same address and SHM_RDONLY is not enforced. A removed segment lives until its last detach. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <uf/mem.h>
#include "ipc.h"

#define PAGE 4096

struct segment {
	struct uf_ipc_obj obj;
	size_t size, pages;
	void *mem;
	int nattch;
	time_t atime, dtime;
	pid_t cpid, lpid;
};

static struct uf_ipc_obj *segments[UF_IPC_SLOTS];

static struct segment *segment_of(int id)
{
	return (struct segment *)uf_ipc_lookup(segments, id);
}

long uf_sys_shmget(key_t key, size_t size, int flags)
{
	int slot = uf_ipc_get(segments, key, flags);
	if (slot < 0)
		return slot;
	if (slot < UF_IPC_SLOTS) {
		struct segment *s = (struct segment *)segments[slot];
		return size > s->size ? -EINVAL : uf_ipc_id(segments, &s->obj);
	}
	if (size < 1 || size > SIZE_MAX / 2)
		return -EINVAL;
	struct segment *s = calloc(1, sizeof *s);
	if (!s)
		return -ENOMEM;
	s->size = size;
	s->pages = (size + PAGE - 1) / PAGE;
	if (!(s->mem = uf_page_alloc(s->pages))) {
		free(s);
		return -ENOMEM;
	}
	s->cpid = UF_IPC_PID;
	return uf_ipc_add(segments, uf_ipc_free_slot(segments), &s->obj, key, flags);
}

static void destroy(struct segment *s)
{
	uf_ipc_remove(segments, &s->obj);
	uf_page_free(s->mem, s->pages);
	free(s);
}

/* The segment's address; one given must be it (SHM_RND: once rounded down to SHMLBA). */
long uf_sys_shmat(int id, const void *addr, int flags)
{
	struct segment *s = segment_of(id);
	if (!s)
		return -EINVAL;
	uintptr_t want = (uintptr_t)addr;
	if (want && (flags & SHM_RND))
		want &= ~(uintptr_t)(SHMLBA - 1);
	if (want && want != (uintptr_t)s->mem)
		return -EINVAL;
	s->nattch++;
	s->atime = uf_ipc_now();
	s->lpid = UF_IPC_PID;
	return (long)s->mem;
}

long uf_sys_shmdt(const void *addr)
{
	for (int i = 0; i < UF_IPC_SLOTS; i++) {
		struct segment *s = (struct segment *)segments[i];
		if (!s || s->mem != addr || !s->nattch)
			continue;
		s->nattch--;
		s->dtime = uf_ipc_now();
		s->lpid = UF_IPC_PID;
		if (!s->nattch && (s->obj.mode & SHM_DEST))
			destroy(s);
		return 0;
	}
	return -EINVAL;
}

long uf_sys_shmctl(int id, int cmd, struct shmid_ds *buf)
{
	struct segment *s = segment_of(id);
	if (!s)
		return -EINVAL;
	switch (cmd & ~UF_IPC_64) {
	case UF_IPC_STAT:
		memset(buf, 0, sizeof *buf);
		uf_ipc_stat_perm(&s->obj, &buf->shm_perm);
		uf_ipc_shm_times(buf, s->atime, s->dtime, s->obj.ctime);
		buf->shm_segsz = s->size;
		buf->shm_cpid = s->cpid;
		buf->shm_lpid = s->lpid;
		buf->shm_nattch = (unsigned long)s->nattch;
		return 0;
	case IPC_SET:
		uf_ipc_set_perm(&s->obj, &buf->shm_perm);
		return 0;
	case IPC_RMID:
		/* Its key is free at once (IPC_PRIVATE, as Linux does); the memory goes with the last detach. */
		s->obj.key = IPC_PRIVATE;
		s->obj.mode |= SHM_DEST;
		if (!s->nattch)
			destroy(s);
		return 0;
	case SHM_LOCK:
	case SHM_UNLOCK:
		return 0;                   /* nothing is ever paged out */
	}
	return -EINVAL;
}

/* System V semaphore sets. semop applies its operations all at once or not at all: it tries them in order on
 * the set and undoes them if one cannot proceed yet, then waits (IPC_NOWAIT: EAGAIN). SEM_UNDO needs nothing
 * here: the process never exits while others use the set. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <uf/fd.h>
#include "ipc.h"

#define SEMMSL 32000                /* semaphores in a set */
#define SEMOPM 500                  /* operations in one semop */
#define SEMVMX 32767                /* a semaphore's largest value */

struct set {
	struct uf_ipc_obj obj;
	int nsems;
	time_t otime;
	struct {
		unsigned short val;
		pid_t pid;
	} sems[];
};

static struct uf_ipc_obj *sets[UF_IPC_SLOTS];

static struct set *set_of(int id)
{
	return (struct set *)uf_ipc_lookup(sets, id);
}

long uf_sys_semget(key_t key, int nsems, int flags)
{
	if (nsems < 0 || nsems > SEMMSL)
		return -EINVAL;
	int slot = uf_ipc_get(sets, key, flags);
	if (slot < 0)
		return slot;
	if (slot < UF_IPC_SLOTS)
		return nsems > ((struct set *)sets[slot])->nsems ? -EINVAL : uf_ipc_id(sets, sets[slot]);
	if (!nsems)
		return -EINVAL;
	struct set *s = calloc(1, sizeof *s + nsems * sizeof s->sems[0]);
	if (!s)
		return -ENOMEM;
	s->nsems = nsems;
	return uf_ipc_add(sets, uf_ipc_free_slot(sets), &s->obj, key, flags);
}

/* Tries every operation: 0 when all were applied, -ERANGE, or 1 + the index of one that must wait (nothing
 * applied then). */
static int try_ops(struct set *s, const struct sembuf *sops, size_t n)
{
	size_t i;
	int r = 0;
	for (i = 0; i < n; i++) {
		int val = s->sems[sops[i].sem_num].val, op = sops[i].sem_op;
		if ((op == 0 && val) || (op < 0 && val < -op)) {
			r = 1 + (int)i;
			break;
		}
		if (val + op > SEMVMX) {
			r = -ERANGE;
			break;
		}
		s->sems[sops[i].sem_num].val = (unsigned short)(val + op);
	}
	if (r)
		while (i--)
			s->sems[sops[i].sem_num].val -= sops[i].sem_op;
	return r;
}

long uf_ipc_semtimedop(int id, struct sembuf *sops, size_t nsops, uint64_t deadline)
{
	struct set *s = set_of(id);
	if (nsops < 1)
		return -EINVAL;
	if (nsops > SEMOPM)
		return -E2BIG;
	if (!s)
		return -EINVAL;
	for (size_t i = 0; i < nsops; i++)
		if (sops[i].sem_num >= s->nsems)
			return -EFBIG;
	int r;
	while ((r = try_ops(s, sops, nsops)) > 0) {
		long w = uf_fd_wait(sops[r - 1].sem_flg & IPC_NOWAIT, deadline, 0);
		if (w < 0)
			return w;           /* -EAGAIN: IPC_NOWAIT, or the timeout passed */
		if (!(s = set_of(id)))
			return -EIDRM;
	}
	if (r < 0)
		return r;
	for (size_t i = 0; i < nsops; i++)
		s->sems[sops[i].sem_num].pid = UF_IPC_PID;
	s->otime = uf_ipc_now();
	uf_thread_wake_waiters();       /* the values changed: another semop may go on */
	return 0;
}

long uf_sys_semop(int id, struct sembuf *sops, size_t nsops)
{
	return uf_ipc_semtimedop(id, sops, nsops, UINT64_MAX);
}

/* arg is the union semun the caller passed: an int value or a pointer, in one register. */
long uf_sys_semctl(int id, int num, int cmd, unsigned long arg)
{
	struct set *s = set_of(id);
	struct semid_ds *ds = (void *)arg;
	unsigned short *array = (void *)arg;
	cmd &= ~UF_IPC_64;
	if (!s)
		return -EINVAL;
	if ((cmd == GETVAL || cmd == SETVAL || cmd == GETPID || cmd == GETNCNT || cmd == GETZCNT) &&
	    (num < 0 || num >= s->nsems))
		return -EINVAL;
	switch (cmd) {
	case UF_IPC_STAT:
		memset(ds, 0, sizeof *ds);
		uf_ipc_stat_perm(&s->obj, &ds->sem_perm);
		uf_ipc_sem_times(ds, s->otime, s->obj.ctime);
		ds->sem_nsems = (unsigned short)s->nsems;
		return 0;
	case IPC_SET:
		uf_ipc_set_perm(&s->obj, &ds->sem_perm);
		return 0;
	case IPC_RMID:
		uf_ipc_remove(sets, &s->obj);
		free(s);
		uf_thread_wake_waiters();       /* its waiters fail with EIDRM */
		return 0;
	case GETVAL:
		return s->sems[num].val;
	case GETPID:
		return s->sems[num].pid;
	case GETNCNT:
	case GETZCNT:
		return 0;                   /* not counted (with threads, some may be waiting) */
	case SETVAL:
		if ((int)arg < 0 || (int)arg > SEMVMX)
			return -ERANGE;
		s->sems[num].val = (unsigned short)(int)arg;
		s->sems[num].pid = UF_IPC_PID;
		s->obj.ctime = uf_ipc_now();
		uf_thread_wake_waiters();
		return 0;
	case GETALL:
		for (int i = 0; i < s->nsems; i++)
			array[i] = s->sems[i].val;
		return 0;
	case SETALL:
		for (int i = 0; i < s->nsems; i++)
			if (array[i] > SEMVMX)
				return -ERANGE;
		for (int i = 0; i < s->nsems; i++) {
			s->sems[i].val = array[i];
			s->sems[i].pid = UF_IPC_PID;
		}
		s->obj.ctime = uf_ipc_now();
		uf_thread_wake_waiters();
		return 0;
	}
	return -EINVAL;
}

/* System V message queues: typed messages kept in order of arrival; msgrcv takes the first of a type, of any
 * type, or of the lowest type up to a bound. Linux's default limits (MSGMAX, MSGMNB). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <uf/fd.h>
#include "ipc.h"

#define MSGMAX 8192                 /* bytes in one message */
#define MSGMNB 16384                /* bytes in a queue, by default */

struct message {
	struct message *next;
	long type;
	size_t len;
	char text[];
};

struct queue {
	struct uf_ipc_obj obj;
	struct message *head;
	size_t bytes, count, qbytes;
	time_t stime, rtime;
	pid_t lspid, lrpid;
};

static struct uf_ipc_obj *queues[UF_IPC_SLOTS];

long uf_sys_msgget(key_t key, int flags)
{
	int slot = uf_ipc_get(queues, key, flags);
	if (slot < 0)
		return slot;
	if (slot < UF_IPC_SLOTS)
		return uf_ipc_id(queues, queues[slot]);
	struct queue *q = calloc(1, sizeof *q);
	if (!q)
		return -ENOMEM;
	q->qbytes = MSGMNB;
	return uf_ipc_add(queues, uf_ipc_free_slot(queues), &q->obj, key, flags);
}

static struct queue *queue_of(int id)
{
	return (struct queue *)uf_ipc_lookup(queues, id);
}

/* After a wait: the queue the id still names, or 0 when it was removed meanwhile. */
static long waited(int id, struct queue **q)
{
	return (*q = queue_of(id)) ? 0 : -EIDRM;
}

long uf_sys_msgsnd(int id, const void *msgp, size_t size, int flags)
{
	struct queue *q = queue_of(id);
	long type, r;
	if (!q || size > MSGMAX)
		return -EINVAL;
	memcpy(&type, msgp, sizeof type);
	if (type < 1)
		return -EINVAL;
	while (q->bytes + size > q->qbytes || q->count + 1 > q->qbytes)
		if ((r = uf_fd_wait(flags & IPC_NOWAIT, UINT64_MAX, 0)) < 0 || (r = waited(id, &q)) < 0)
			return r;
	struct message *m = malloc(sizeof *m + size);
	if (!m)
		return -ENOMEM;
	*m = (struct message){ .type = type, .len = size };
	memcpy(m->text, (const char *)msgp + sizeof(long), size);
	struct message **end = &q->head;
	while (*end)
		end = &(*end)->next;
	*end = m;
	q->bytes += size;
	q->count++;
	q->stime = uf_ipc_now();
	q->lspid = UF_IPC_PID;
	uf_thread_wake_waiters();       /* a receiver may be waiting */
	return 0;
}

/* The link to the message msgrcv takes: type 0 the first, > 0 the first of that type (of another, with
 * MSG_EXCEPT), < 0 the first of the lowest type up to -type. */
static struct message **find(struct queue *q, long type, int flags)
{
	struct message **best = 0;
	for (struct message **p = &q->head; *p; p = &(*p)->next) {
		long t = (*p)->type;
		if (type == 0 || (type > 0 && (flags & MSG_EXCEPT ? t != type : t == type)))
			return p;
		if (type < 0 && t <= -type && (!best || t < (*best)->type))
			best = p;
	}
	return best;
}

long uf_sys_msgrcv(int id, void *msgp, size_t size, long type, int flags)
{
	struct queue *q = queue_of(id);
	struct message **p;
	long r;
	if (!q || (long)size < 0)
		return -EINVAL;
	while (!(p = find(q, type, flags))) {
		if ((r = uf_fd_wait(flags & IPC_NOWAIT, UINT64_MAX, 0)) < 0)
			return r == -EAGAIN ? -ENOMSG : r;
		if ((r = waited(id, &q)) < 0)
			return r;
	}
	struct message *m = *p;
	if (m->len > size && !(flags & MSG_NOERROR))
		return -E2BIG;
	size_t n = m->len < size ? m->len : size;
	memcpy(msgp, &m->type, sizeof m->type);
	memcpy((char *)msgp + sizeof(long), m->text, n);
	*p = m->next;
	q->bytes -= m->len;
	q->count--;
	q->rtime = uf_ipc_now();
	q->lrpid = UF_IPC_PID;
	free(m);
	uf_thread_wake_waiters();       /* room for a sender that waits */
	return (long)n;
}

long uf_sys_msgctl(int id, int cmd, struct msqid_ds *buf)
{
	struct queue *q = queue_of(id);
	if (!q)
		return -EINVAL;
	switch (cmd & ~UF_IPC_64) {
	case UF_IPC_STAT:
		memset(buf, 0, sizeof *buf);
		uf_ipc_stat_perm(&q->obj, &buf->msg_perm);
		uf_ipc_msg_times(buf, q->stime, q->rtime, q->obj.ctime);
		buf->msg_cbytes = q->bytes;
		buf->msg_qnum = q->count;
		buf->msg_qbytes = q->qbytes;
		buf->msg_lspid = q->lspid;
		buf->msg_lrpid = q->lrpid;
		return 0;
	case IPC_SET:
		uf_ipc_set_perm(&q->obj, &buf->msg_perm);
		q->qbytes = buf->msg_qbytes;
		uf_thread_wake_waiters();       /* room for a sender, maybe */
		return 0;
	case IPC_RMID:
		uf_ipc_remove(queues, &q->obj);
		while (q->head) {
			struct message *m = q->head;
			q->head = m->next;
			free(m);
		}
		free(q);
		uf_thread_wake_waiters();       /* its waiters fail with EIDRM */
		return 0;
	}
	return -EINVAL;
}

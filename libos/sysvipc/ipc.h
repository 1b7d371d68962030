/* Internal to module sysvipc: what message queues, semaphore sets and shared memory segments share (keys,
 * ids, permissions, times), and the per-arch parts.
 *
 * x86_64 and 32-bit ARM have a syscall per operation (msgget, semop, ...), not the multiplexed ipc(2), and musl
 * adds IPC_64 to every ctl command. Each kind keeps its objects in a table of UF_IPC_SLOTS; an id is
 * seq * UF_IPC_SLOTS + slot, so a removed object's id does not name its slot's next one. There is one process
 * and it is root: permissions are kept and reported, never refused. */
#ifndef UF_SYSVIPC_IPC_H
#define UF_SYSVIPC_IPC_H

#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <stdint.h>
#include <time.h>

#define UF_IPC_SLOTS 128
#define UF_IPC_64 0x100             /* the kernel ABI's flag on ctl commands */
#define UF_IPC_STAT 2               /* the kernel's number: musl's IPC_STAT is its time64 form on 32-bit arches */
#define UF_IPC_PID 1                /* the process, as getpid() says */

/* What every kind's object starts with. */
struct uf_ipc_obj {
	key_t key;
	int seq;
	int mode;                   /* permission bits, and kind-specific flags (SHM_DEST) */
	time_t ctime;               /* created, or last changed by a ctl call */
};

/* xxxget's lookup: the slot of the object with key, UF_IPC_SLOTS if a new one must be created (IPC_PRIVATE,
 * or IPC_CREAT and none), -ENOENT, -EEXIST (IPC_CREAT|IPC_EXCL and one exists) or -ENOSPC. */
int uf_ipc_get(struct uf_ipc_obj *const *slots, key_t key, int flags);
/* A free slot, or -ENOSPC. */
int uf_ipc_free_slot(struct uf_ipc_obj *const *slots);
/* Fills a new object's common part and puts it in the slot: its id. */
int uf_ipc_add(struct uf_ipc_obj **slots, int slot, struct uf_ipc_obj *o, key_t key, int flags);
int uf_ipc_id(struct uf_ipc_obj *const *slots, const struct uf_ipc_obj *o);
/* The object an id names, or 0. */
struct uf_ipc_obj *uf_ipc_lookup(struct uf_ipc_obj *const *slots, int id);
void uf_ipc_remove(struct uf_ipc_obj **slots, const struct uf_ipc_obj *o);
void uf_ipc_stat_perm(const struct uf_ipc_obj *o, struct ipc_perm *p);
/* IPC_SET: the permission bits (owner ids stay root's). */
void uf_ipc_set_perm(struct uf_ipc_obj *o, const struct ipc_perm *p);
time_t uf_ipc_now(void);

/* Per arch: the times in a ctl call's structure (32-bit ARM has them split in two words). */
void uf_ipc_msg_times(struct msqid_ds *ds, time_t stime, time_t rtime, time_t ctime);
void uf_ipc_sem_times(struct semid_ds *ds, time_t otime, time_t ctime);
void uf_ipc_shm_times(struct shmid_ds *ds, time_t atime, time_t dtime, time_t ctime);
/* semtimedop's body: deadline is monotonic ns (UINT64_MAX: none). */
long uf_ipc_semtimedop(int id, struct sembuf *sops, size_t nsops, uint64_t deadline);
/* A relative timeout as a monotonic deadline, or -EINVAL. */
int uf_ipc_deadline(long long sec, long long nsec, uint64_t *deadline);

#endif

/* The x86_64 layouts: whole 64-bit times; semtimedop's timeout is a struct timespec. */
#include <stdint.h>
#include "ipc.h"

void uf_ipc_msg_times(struct msqid_ds *ds, time_t stime, time_t rtime, time_t ctime)
{
	ds->msg_stime = stime;
	ds->msg_rtime = rtime;
	ds->msg_ctime = ctime;
}

void uf_ipc_sem_times(struct semid_ds *ds, time_t otime, time_t ctime)
{
	ds->sem_otime = otime;
	ds->sem_ctime = ctime;
}

void uf_ipc_shm_times(struct shmid_ds *ds, time_t atime, time_t dtime, time_t ctime)
{
	ds->shm_atime = atime;
	ds->shm_dtime = dtime;
	ds->shm_ctime = ctime;
}

long uf_sys_semtimedop(int id, struct sembuf *sops, size_t nsops, const struct timespec *ts)
{
	uint64_t deadline = UINT64_MAX;
	if (ts) {
		int r = uf_ipc_deadline(ts->tv_sec, ts->tv_nsec, &deadline);
		if (r < 0)
			return r;
	}
	return uf_ipc_semtimedop(id, sops, nsops, deadline);
}

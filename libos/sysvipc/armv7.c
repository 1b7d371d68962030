/* The 32-bit ARM layouts: the kernel's structures hold each time as two words (musl joins them), and
 * semtimedop comes with a pair of longs, or of long longs (semtimedop_time64) when the seconds need 64 bits. */
#include <stdint.h>
#include "ipc.h"

#define LO(t) ((unsigned long)(uint64_t)(t))
#define HI(t) ((unsigned long)((uint64_t)(t) >> 32))

void uf_ipc_msg_times(struct msqid_ds *ds, time_t stime, time_t rtime, time_t ctime)
{
	ds->__msg_stime_lo = LO(stime);
	ds->__msg_stime_hi = HI(stime);
	ds->__msg_rtime_lo = LO(rtime);
	ds->__msg_rtime_hi = HI(rtime);
	ds->__msg_ctime_lo = LO(ctime);
	ds->__msg_ctime_hi = HI(ctime);
}

void uf_ipc_sem_times(struct semid_ds *ds, time_t otime, time_t ctime)
{
	ds->__sem_otime_lo = LO(otime);
	ds->__sem_otime_hi = HI(otime);
	ds->__sem_ctime_lo = LO(ctime);
	ds->__sem_ctime_hi = HI(ctime);
}

void uf_ipc_shm_times(struct shmid_ds *ds, time_t atime, time_t dtime, time_t ctime)
{
	ds->__shm_atime_lo = LO(atime);
	ds->__shm_atime_hi = HI(atime);
	ds->__shm_dtime_lo = LO(dtime);
	ds->__shm_dtime_hi = HI(dtime);
	ds->__shm_ctime_lo = LO(ctime);
	ds->__shm_ctime_hi = HI(ctime);
}

static long timed(int id, struct sembuf *sops, size_t nsops, int given, long long sec, long long nsec)
{
	uint64_t deadline = UINT64_MAX;
	if (given) {
		int r = uf_ipc_deadline(sec, nsec, &deadline);
		if (r < 0)
			return r;
	}
	return uf_ipc_semtimedop(id, sops, nsops, deadline);
}

long uf_sys_semtimedop(int id, struct sembuf *sops, size_t nsops, const long *ts)
{
	return timed(id, sops, nsops, ts != 0, ts ? ts[0] : 0, ts ? ts[1] : 0);
}

long uf_sys_semtimedop_time64(int id, struct sembuf *sops, size_t nsops, const long long *ts)
{
	return timed(id, sops, nsops, ts != 0, ts ? ts[0] : 0, ts ? ts[1] : 0);
}

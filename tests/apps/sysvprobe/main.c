/* System V IPC (tests/integration/test_descriptors.py): message queues, semaphore sets and shared memory, with
 * keys, IPC_PRIVATE, IPC_CREAT|IPC_EXCL, IPC_STAT, IPC_RMID and the errors Linux gives.
 *
 * argv: scenario names (all of them without arguments). Each scenario prints "NAME: ..." lines that the test
 * checks, then "NAME: ok" or "NAME: FAIL why". Exit status: the number of failed scenarios. */
#define _GNU_SOURCE             /* MSG_EXCEPT */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <time.h>
#include <unistd.h>

static const char *scenario;
static int failed;

#define CHECK(cond, ...) do { if (!(cond)) { fail(__VA_ARGS__); return; } } while (0)

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
	char why[256];
	__builtin_va_list ap;
	__builtin_va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	__builtin_va_end(ap);
	printf("%s: FAIL %s (errno %s)\n", scenario, why, strerror(errno));
	failed++;
}

static const char *errname(int e)
{
	switch (e) {
	case 0: return "0";
	case EAGAIN: return "EAGAIN";
	case EINVAL: return "EINVAL";
	case EEXIST: return "EEXIST";
	case ENOENT: return "ENOENT";
	case E2BIG: return "E2BIG";
	case ENOMSG: return "ENOMSG";
	case ERANGE: return "ERANGE";
	case EFBIG: return "EFBIG";
	}
	return strerror(e);
}

/* "yes" when t lies between start and 5 s after it, as libc-test checks IPC times. */
static const char *recent(time_t t, time_t start)
{
	return t >= start && t <= start + 5 ? "yes" : "no";
}

struct message {
	long type;
	char text[32];
};

static void msg(void)
{
	time_t start = time(0);
	key_t key = 0x5eed;
	int q = msgget(key, IPC_CREAT | IPC_EXCL | 0640);
	CHECK(q >= 0, "msgget");
	errno = 0;
	int again = msgget(key, IPC_CREAT | IPC_EXCL | 0640), again_errno = errno;
	int same = msgget(key, 0);
	errno = 0;
	int missing = msgget(0x7777, 0);
	printf("msg: IPC_EXCL again: %d %s; by key: %s; missing key: %d %s\n", again, errname(again_errno),
	       same == q ? "same id" : "other id", missing, errname(errno));
	struct msqid_ds ds;
	CHECK(msgctl(q, IPC_STAT, &ds) == 0, "IPC_STAT");
	printf("msg: new queue: mode %o qnum %lu qbytes %lu lspid %d stime %lld ctime recent %s\n",
	       ds.msg_perm.mode & 0777, (unsigned long)ds.msg_qnum, (unsigned long)ds.msg_qbytes, ds.msg_lspid,
	       (long long)ds.msg_stime, recent(ds.msg_ctime, start));

	struct message m[] = { { 3, "three" }, { 1, "one" }, { 2, "two" }, { 5, "five" } };
	for (int i = 0; i < 4; i++)
		CHECK(msgsnd(q, &m[i], strlen(m[i].text) + 1, IPC_NOWAIT) == 0, "msgsnd");
	CHECK(msgctl(q, IPC_STAT, &ds) == 0, "IPC_STAT");
	printf("msg: after 4 sends: qnum %lu cbytes %lu lspid %d stime recent %s\n", (unsigned long)ds.msg_qnum,
	       (unsigned long)ds.__msg_cbytes, ds.msg_lspid, recent(ds.msg_stime, start));
	struct message r;
	errno = 0;
	ssize_t big = msgrcv(q, &r, 2, 0, IPC_NOWAIT);
	printf("msg: into 2 bytes: %zd %s", big, errname(errno));
	big = msgrcv(q, &r, 2, 0, IPC_NOWAIT | MSG_NOERROR);
	printf("; with MSG_NOERROR: %zd type %ld\n", big, r.type);
	printf("msg: received:");
	long types[] = { 2, -4 };
	for (int i = 0; i < 2; i++) {
		ssize_t n = msgrcv(q, &r, sizeof r.text, types[i], IPC_NOWAIT);
		printf(" [type %ld asked] %zd %ld %s;", types[i], n, r.type, n > 0 ? r.text : "");
	}
	errno = 0;
	ssize_t n = msgrcv(q, &r, sizeof r.text, 5, IPC_NOWAIT | MSG_EXCEPT);
	printf("\nmsg: MSG_EXCEPT 5 with only 5 left: %zd %s\n", n, errname(errno));
	n = msgrcv(q, &r, sizeof r.text, 0, IPC_NOWAIT);
	errno = 0;
	ssize_t empty = msgrcv(q, &r, sizeof r.text, 0, IPC_NOWAIT);
	printf("msg: any type: %zd %s, then empty: %zd %s\n", n, r.text, empty, errname(errno));
	errno = 0;
	struct message bad = { 0, "x" };
	printf("msg: type 0 send: %d %s\n", msgsnd(q, &bad, 2, IPC_NOWAIT), errname(errno));
	/* A full queue refuses at once with IPC_NOWAIT. */
	static struct { long type; char text[8192]; } fill = { 1, "" };
	int sent = 0;
	while (msgsnd(q, &fill, sizeof fill.text, IPC_NOWAIT) == 0)
		sent++;
	printf("msg: 8192-byte messages a queue takes: %d, then %s\n", sent, errname(errno));
	CHECK(msgctl(q, IPC_RMID, 0) == 0, "IPC_RMID");
	errno = 0;
	printf("msg: after IPC_RMID: msgsnd %d %s, msgget %d %s\n", msgsnd(q, &m[0], 4, IPC_NOWAIT), errname(errno),
	       msgget(key, 0), errname(errno));
	int priv = msgget(IPC_PRIVATE, 0600), priv2 = msgget(IPC_PRIVATE, 0600);
	printf("msg: two IPC_PRIVATE queues differ: %s\n", priv >= 0 && priv2 >= 0 && priv != priv2 ? "yes" : "no");
	msgctl(priv, IPC_RMID, 0);
	msgctl(priv2, IPC_RMID, 0);
}

union semun {
	int val;
	struct semid_ds *buf;
	unsigned short *array;
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
}

static void sem(void)
{
	time_t start = time(0);
	key_t key = 0x5e4a;
	int s = semget(key, 3, IPC_CREAT | IPC_EXCL | 0600);
	CHECK(s >= 0, "semget");
	errno = 0;
	int excl = semget(key, 3, IPC_CREAT | IPC_EXCL | 0600);
	int excl_errno = errno;
	errno = 0;
	int more = semget(key, 4, 0);
	printf("sem: IPC_EXCL again: %d %s; asking 4 of 3: %d %s; by key: %s\n", excl, errname(excl_errno), more,
	       errname(errno), semget(key, 0, 0) == s ? "same id" : "other id");
	struct semid_ds ds;
	CHECK(semctl(s, 0, IPC_STAT, (union semun){ .buf = &ds }) == 0, "IPC_STAT");
	printf("sem: new set: nsems %lu mode %o otime %lld ctime recent %s\n", (unsigned long)ds.sem_nsems,
	       ds.sem_perm.mode & 0777, (long long)ds.sem_otime, recent(ds.sem_ctime, start));
	CHECK(semctl(s, 1, SETVAL, (union semun){ .val = 2 }) == 0, "SETVAL");
	struct sembuf up = { 0, 1, 0 }, take2[2] = { { 1, -2, 0 }, { 0, -1, 0 } };
	CHECK(semop(s, &up, 1) == 0 && semop(s, take2, 2) == 0, "semop");
	printf("sem: after +1 and an atomic pair: %d %d %d, pid %d\n", semctl(s, 0, GETVAL), semctl(s, 1, GETVAL),
	       semctl(s, 2, GETVAL), semctl(s, 1, GETPID));
	/* All or nothing: the second operation cannot proceed, so the first is not applied either. */
	struct sembuf half[2] = { { 2, 5, 0 }, { 0, -1, IPC_NOWAIT } };
	errno = 0;
	int r = semop(s, half, 2);
	printf("sem: a pair that cannot proceed: %d %s, semaphore 2 still %d\n", r, errname(errno),
	       semctl(s, 2, GETVAL));
	struct timespec wait = { 0, 100000000 };
	struct sembuf down = { 0, -1, 0 };
	uint64_t t0 = now_ns();
	errno = 0;
	r = semtimedop(s, &down, 1, &wait);
	uint64_t waited = now_ns() - t0;
	printf("sem: semtimedop 100 ms on 0: %d %s after %s100 ms\n", r, errname(errno),
	       waited >= 100000000 ? ">= " : "< ");
	unsigned short all[3] = { 7, 8, 9 }, back[3];
	CHECK(semctl(s, 0, SETALL, (union semun){ .array = all }) == 0 &&
	      semctl(s, 0, GETALL, (union semun){ .array = back }) == 0, "SETALL/GETALL");
	struct sembuf wait0 = { 1, 0, IPC_NOWAIT };
	errno = 0;
	r = semop(s, &wait0, 1);
	int wait0_errno = errno;
	errno = 0;
	int range = semctl(s, 0, SETVAL, (union semun){ .val = 40000 });
	int range_errno = errno;
	errno = 0;
	struct sembuf far = { 3, 1, 0 };
	int fbig = semop(s, &far, 1);
	printf("sem: GETALL %d %d %d; wait-for-zero on 8: %d %s; SETVAL 40000: %d %s; semaphore 3 of 3: %d %s\n",
	       back[0], back[1], back[2], r, errname(wait0_errno), range, errname(range_errno), fbig, errname(errno));
	CHECK(semctl(s, 0, IPC_STAT, (union semun){ .buf = &ds }) == 0, "IPC_STAT");
	printf("sem: otime recent %s\n", recent(ds.sem_otime, start));
	CHECK(semctl(s, 0, IPC_RMID) == 0, "IPC_RMID");
	errno = 0;
	printf("sem: after IPC_RMID: GETVAL %d %s\n", semctl(s, 0, GETVAL), errname(errno));
}

static void shm(void)
{
	time_t start = time(0);
	key_t key = 0x5a4d;
	int id = shmget(key, 10000, IPC_CREAT | IPC_EXCL | 0600);
	CHECK(id >= 0, "shmget");
	errno = 0;
	int excl = shmget(key, 10000, IPC_CREAT | IPC_EXCL | 0600), excl_errno = errno;
	errno = 0;
	int bigger = shmget(key, 20000, 0);
	printf("shm: IPC_EXCL again: %d %s; bigger than it is: %d %s\n", excl, errname(excl_errno), bigger,
	       errname(errno));
	struct shmid_ds ds;
	CHECK(shmctl(id, IPC_STAT, &ds) == 0, "IPC_STAT");
	printf("shm: new segment: size %zu nattch %lu cpid %d lpid %d atime %lld ctime recent %s\n", ds.shm_segsz,
	       (unsigned long)ds.shm_nattch, ds.shm_cpid, ds.shm_lpid, (long long)ds.shm_atime,
	       recent(ds.shm_ctime, start));
	char *a = shmat(id, 0, 0), *b = shmat(shmget(key, 0, 0), 0, SHM_RDONLY);
	CHECK(a != (void *)-1 && b != (void *)-1, "shmat");
	int zero = 1;
	for (int i = 0; i < 10000; i++)
		zero &= a[i] == 0;
	strcpy(a, "shared bytes");
	CHECK(shmctl(id, IPC_STAT, &ds) == 0, "IPC_STAT");
	printf("shm: two attachments: zeroed %d, read through the other: %s, nattch %lu, atime recent %s\n", zero, b,
	       (unsigned long)ds.shm_nattch, recent(ds.shm_atime, start));
	CHECK(shmdt(b) == 0, "shmdt");
	/* Removed while attached: still usable, its key free at once; gone with the last detach. */
	CHECK(shmctl(id, IPC_RMID, 0) == 0, "IPC_RMID");
	errno = 0;
	int by_key = shmget(key, 0, 0);
	printf("shm: removed while attached: still reads %s, by key %d %s\n", a, by_key, errname(errno));
	CHECK(shmdt(a) == 0, "shmdt");
	errno = 0;
	void *gone = shmat(id, 0, 0);
	int gone_errno = errno;
	errno = 0;
	printf("shm: after the last detach: shmat %s %s, shmdt again %d %s\n", gone == (void *)-1 ? "-1" : "worked",
	       errname(gone_errno), shmdt(a), errname(errno));
}

static const struct {
	const char *name;
	void (*run)(void);
} scenarios[] = {
	{ "msg", msg },
	{ "sem", sem },
	{ "shm", shm },
};

static void run(const char *name)
{
	for (size_t i = 0; i < sizeof scenarios / sizeof *scenarios; i++)
		if (!strcmp(scenarios[i].name, name)) {
			int before = failed;
			scenario = name;
			scenarios[i].run();
			if (failed == before)
				printf("%s: ok\n", name);
			return;
		}
	printf("%s: FAIL no such scenario\n", name);
	failed++;
}

int main(int argc, char **argv)
{
	if (argc > 1)
		for (int i = 1; i < argc; i++)
			run(argv[i]);
	else
		for (size_t i = 0; i < sizeof scenarios / sizeof *scenarios; i++)
			run(scenarios[i].name);
	printf("failures %d\n", failed);
	return failed;
}

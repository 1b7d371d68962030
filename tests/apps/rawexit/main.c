/* A thread that ends with a bare exit(2), without pthread_exit (which would release its robust mutexes itself),
 * holding a process-shared robust mutex (the kind musl registers with set_robust_list): the library OS walks the
 * thread's robust list as it ends, so the mutex's waiter gets EOWNERDEAD, as on Linux. The thread is not joined:
 * musl learns of a thread's end from pthread_exit. Prints one line per check, "FAIL" where one does not hold. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static pthread_mutex_t m;

static void *die_holding(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&m);
	usleep(20000);          /* the main thread blocks in pthread_mutex_lock meanwhile */
	syscall(SYS_exit, 0);
	return 0;
}

int main(void)
{
	pthread_mutexattr_t a;
	pthread_t t;
	void *head = 0;
	size_t len = 0;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	pthread_mutex_init(&m, &a);
	pthread_mutex_lock(&m);     /* the main thread's list is registered now */
	long r = syscall(SYS_get_robust_list, 0, &head, &len);
	printf("%sget_robust_list: %s, %zu bytes\n", !r && head && len == 3 * sizeof(long) ? "" : "FAIL ",
	       head ? "a list" : "no list", len);
	pthread_mutex_unlock(&m);
	pthread_create(&t, 0, die_holding, 0);
	usleep(5000);
	int got = pthread_mutex_lock(&m);
	int consistent = got == EOWNERDEAD ? pthread_mutex_consistent(&m) : -1;
	pthread_mutex_unlock(&m);
	printf("%srobust: the owner ended with exit(2) holding it: %s, consistent: %s\n",
	       got == EOWNERDEAD && !consistent ? "" : "FAIL ", strerror(got), strerror(consistent));
	return 0;
}

#include <errno.h>
#include <stdio.h>
#include <sys/swap.h>

/* swapon: a syscall no library-OS module implements (a unikernel has no swap). */
int main(void)
{
	int first = swapon("/swap", 0) == -1 && errno == ENOSYS;
	int again = swapon("/swap", 0) == -1 && errno == ENOSYS;
	printf("swapon: %s\n", first && again ? "ENOSYS" : "unexpected");
	return 0;
}

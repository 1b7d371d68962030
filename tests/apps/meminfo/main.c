#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>

int main(void)
{
	struct sysinfo info;
	if (sysinfo(&info))
		return 1;
	unsigned long long unit = info.mem_unit;
	printf("ram: total=%lluMiB free=%lluMiB\n", info.totalram * unit >> 20, info.freeram * unit >> 20);
	/* Allocate and touch three quarters of what is free: the memory map must be real. */
	size_t size = info.freeram * unit / 4 * 3;
	char *p = malloc(size);
	if (!p)
		return 2;
	memset(p, 1, size);
	printf("ram: used %zuMiB\n", size >> 20);
	return 0;
}

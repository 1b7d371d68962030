/* Prints a greeting and its arguments. `exit=N` as an argument makes it exit with status N; `crash` dereferences
 * NULL (the tests use both). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int crash(volatile int *p)
{
	return *p;
}

int main(int argc, char **argv)
{
	printf("Hello, world!\n");
	for (int i = 1; i < argc; i++) {
		printf("argv[%d] = %s\n", i, argv[i]);
		if (!strncmp(argv[i], "exit=", 5))
			return atoi(argv[i] + 5);
		if (!strcmp(argv[i], "crash"))
			return crash(NULL);
	}
	return 0;
}

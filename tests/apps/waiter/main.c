/* A guest for the API's and the pytest plugin's tests: prints "ready", then does what its arguments say, in order:
 * `say=TEXT` prints TEXT, `sleep=N` sleeps N seconds, `crash` dereferences NULL, `exit=N` exits with N. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int crash(volatile int *p)
{
	return *p;
}

int main(int argc, char **argv)
{
	printf("ready\n");
	for (int i = 1; i < argc; i++) {
		fflush(stdout);
		if (!strncmp(argv[i], "say=", 4))
			printf("%s\n", argv[i] + 4);
		else if (!strncmp(argv[i], "sleep=", 6))
			sleep(atoi(argv[i] + 6));
		else if (!strcmp(argv[i], "crash"))
			return crash(NULL);
		else if (!strncmp(argv[i], "exit=", 5))
			return atoi(argv[i] + 5);
	}
	return 0;
}

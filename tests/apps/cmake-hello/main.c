/* Built by CMake with uniforge's toolchain file; prints what CMake's checks found and its library's work. */
#include <stdio.h>

char *shout(char *s);

int main(void)
{
	char word[] = "built by cmake";
	printf("cmake-hello: %s, clock_gettime %d, SO_REUSEPORT %d, threads run %d\n", shout(word), HAVE_CLOCK_GETTIME,
	       HAVE_SO_REUSEPORT, THREADS_RUN);
	return 0;
}

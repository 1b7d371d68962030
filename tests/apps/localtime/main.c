/* localtime and strftime and nothing that opens a file: UTC, from an image without a file system
 * (tests/integration/test_posix.py). */
#include <stdio.h>
#include <time.h>

int main(void)
{
	char text[64];
	time_t t = 981173106;           /* 2001-02-03 04:05:06 UTC */
	struct tm *tm = localtime(&t);
	strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S %Z", tm);
	printf("%s\n", text);
	return 0;
}

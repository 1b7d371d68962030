/* localtime, strftime and strptime (with glibc's %F, %s and %z) and nothing that opens a file: UTC, from an image
 * without a file system (tests/integration/test_posix.py). */
#include <stdio.h>
#include <time.h>

int main(void)
{
	char text[64];
	struct tm parsed = { 0 }, from_epoch = { 0 };
	const char *end = strptime("2001-02-03 04:05:06 -05:30", "%F %T %z", &parsed);
	strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", &parsed);
	printf("strptime %%F %%T %%z: %s %ld%s\n", text, parsed.tm_gmtoff, end && !*end ? "" : " (not all read)");
	end = strptime("981173106", "%s", &from_epoch);
	strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", &from_epoch);
	printf("strptime %%s: %s%s\n", text, end && !*end ? "" : " (not all read)");

	time_t t = 981173106;           /* 2001-02-03 04:05:06 UTC */
	struct tm *tm = localtime(&t);
	strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S %Z", tm);
	printf("%s\n", text);
	return 0;
}

/* puts on the output path printf already links (__fwritex): the compiler turns printf("text\n") into
 * puts("text"), and musl's own puts (fputs, fwrite and putc's __overflow) would give every image whose app prints
 * a line of constant text a second output path. The same behaviour: the string, then a newline, to stdout under
 * its lock; 0, or EOF when a write fails. */
#include "stdio_impl.h"
#include <string.h>

int puts(const char *s)
{
	size_t n = strlen(s);
	FLOCK(stdout);
	int ok = __fwritex((const unsigned char *)s, n, stdout) == n
		&& __fwritex((const unsigned char *)"\n", 1, stdout) == 1;
	FUNLOCK(stdout);
	return ok ? 0 : EOF;
}

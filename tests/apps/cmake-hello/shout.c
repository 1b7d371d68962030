#include <ctype.h>

/* Upper-cases s in place. */
char *shout(char *s)
{
	for (char *p = s; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	return s;
}

/* Built by its own Makefile with uniforge's cross toolchain; the image is linked from what the Makefile linked. */
#include <stdio.h>
#include "greet.h"

int main(int argc, char **argv)
{
	printf("make-hello: %s, the answer is %d, argc %d\n", greeting(), answer(), argc);
	return 0;
}

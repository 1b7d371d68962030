/* C beside C++: compiled as C (designated initializers, a C99 compound literal), called from C++ through
 * include/checksum.h. */
#include "checksum.h"

struct state { unsigned sum; unsigned count; };

unsigned checksum(const char *text)
{
    struct state s = { .sum = 0, .count = 0 };
    for (; *text; text++, s.count++)
        s.sum = s.sum * 31 + (unsigned char)*text;
    return s.sum ^ (struct state){ .count = s.count }.count;
}

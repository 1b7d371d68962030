/* A C function, callable from C and C++. */
#pragma once
#ifdef __cplusplus
extern "C" {
#endif
unsigned checksum(const char *text);
#ifdef __cplusplus
}
#endif

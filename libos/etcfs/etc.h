/* Internal to module etcfs: the files it makes up. */
#ifndef UF_ETCFS_ETC_H
#define UF_ETCFS_ETC_H

#include <stddef.h>

struct uf_etc_file {
	const char *name;
	const char *text;                               /* fixed contents, or NULL: */
	size_t (*make)(char *buf, size_t size);         /* made when read: its length, 0 if it does not fit */
};

extern const struct uf_etc_file uf_etc_files[];
extern const unsigned uf_etc_file_count;

#endif

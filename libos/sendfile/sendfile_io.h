/* Internal to module sendfile: sendfile's body, which each arch names its own way (sendfile, sendfile64). */
#ifndef UF_SENDFILE_IO_H
#define UF_SENDFILE_IO_H

#include <sys/types.h>

long uf_sendfile(int out, int in, off_t *offset, size_t count);

#endif

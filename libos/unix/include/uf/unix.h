/* Module unix: AF_UNIX sockets (socketpair() is its own syscall; socket() is module socket's, which passes
 * AF_UNIX here). The socket calls reach them through module sockcall.
 *
 * Names live in this module's own table, not in the file system: a path name is not visible to stat() or
 * readdir(), unlink() does not remove it, and closing the socket frees it (Linux keeps the file until it is
 * unlinked). Abstract names (a leading NUL) behave as on Linux. Every peer is this process, so SO_PEERCRED
 * and accept() report it. */
#ifndef UF_UNIX_H
#define UF_UNIX_H

/* socket(AF_UNIX, type, protocol): a new descriptor or -errno. */
long uf_unix_socket(int type, int protocol);

#endif

/* Internal to module fd: record locks (fcntl) and flock, kept apart from the descriptor table. */
#ifndef UF_FD_LOCK_H
#define UF_FD_LOCK_H

struct uf_file;

/* fcntl's lock commands (F_GETLK, F_SETLK, F_SETLKW and their F_OFD_ forms) on f; -EINVAL for any other cmd. */
long uf_fd_lock_command(struct uf_file *f, int cmd, void *arg);

/* Set once a lock has been taken (so that an app that never locks links none of this): the descriptor table
 * calls it before dropping a reference to f, descriptor when it is a descriptor's (close: the process's POSIX
 * locks on the file go); when it is the last reference, f's own locks go. */
extern void (*uf_fd_lock_release)(struct uf_file *f, int descriptor);

#endif

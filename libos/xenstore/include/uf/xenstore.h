/* The Xen store: the toolstack's tree of small strings through which a domain finds its devices and meets its
 * backends (xenstored in dom0, over a shared ring page). One request at a time, answered in order; calls block
 * (the vCPU waits on the store's event channel) and return >= 0 or -errno, with xenstored's error names mapped to
 * errno (-ENOENT, -EACCES, -EAGAIN: a transaction to retry, ...). -ENODEV: no store (dom0, a dom0less domU).
 * Paths are absolute ("/local/domain/5/device/vif/0/state") or relative to this domain's home
 * ("device/vif/0/state"). `tx` is 0 or a transaction from uf_xs_transaction_start. */
#ifndef UF_XENSTORE_H
#define UF_XENSTORE_H

#include <stddef.h>
#include <stdint.h>

/* The value at path into buf (size bytes with its NUL; longer values are cut); its length. */
int uf_xs_read(uint32_t tx, const char *path, char *buf, size_t size);
/* The value at path as an unsigned number (decimal); -EINVAL if it is not one. */
int uf_xs_read_ulong(uint32_t tx, const char *path, unsigned long *value);
int uf_xs_write(uint32_t tx, const char *path, const char *value);
/* value written in decimal */
int uf_xs_write_ulong(uint32_t tx, const char *path, unsigned long value);
int uf_xs_rm(uint32_t tx, const char *path);
/* The names under path, each followed by a NUL, into buf; the bytes used (-ERANGE if buf is too small). */
int uf_xs_directory(uint32_t tx, const char *path, char *buf, size_t size);

/* Transactions: everything done with tx is applied at once by uf_xs_transaction_end(tx, 0), or not at all; that
 * returns -EAGAIN when the store changed meanwhile: start again from uf_xs_transaction_start. abort = 1 drops it. */
int uf_xs_transaction_start(uint32_t *tx);
int uf_xs_transaction_end(uint32_t tx, int abort);

/* Watches: xenstored reports a change at path or under it (and once right after the watch is set) as an event
 * naming the path that changed and the watch's token. uf_xs_read_watch waits for the next one, up to timeout_ms
 * (0: only what has come already; -1: forever); -ETIMEDOUT when none came. */
int uf_xs_watch(const char *path, const char *token);
int uf_xs_unwatch(const char *path, const char *token);
int uf_xs_read_watch(char *path, size_t path_size, char *token, size_t token_size, int timeout_ms);

/* This domain's home in the store, "/local/domain/N" (empty without a store). */
const char *uf_xs_home(void);

#endif

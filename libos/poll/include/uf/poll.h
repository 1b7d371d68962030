/* Module poll: waiting for several descriptors at once, through each file's poll operation (uf/fd.h). */
#ifndef UF_POLL_H
#define UF_POLL_H

#include <stdint.h>
#include <sys/select.h>

struct uf_file;

/* The start of every scan (poll, select, one look of epoll_wait at its interest list): takes in what the network
 * stack has (module net's uf_net_poll, when the image links it: every socket's state comes from it) and lowers
 * *wake to the stack's next timer. Once per scan, not once per socket: the files' states are then fresh when asked,
 * and a scan costs one NIC poll however many sockets it asks. */
void uf_poll_scan_start(unsigned long long *wake);

/* A file's POLL* state now (always readable and writable without a poll operation); may lower *wake to when
 * it may change without an interrupt. Called in a scan, after uf_poll_scan_start. */
unsigned uf_poll_file(struct uf_file *f, unsigned long long *wake);

/* select's body: deadline is monotonic ns (UINT64_MAX: none). The per-arch select syscalls call it. */
long uf_poll_select(int n, fd_set *r, fd_set *w, fd_set *e, uint64_t deadline);

/* A relative timeout of sec + nsec (negative: invalid) as a monotonic deadline; -EINVAL or 0. */
int uf_poll_deadline(long sec, long nsec, uint64_t *deadline);

#endif

/* Internal to module timerfd: the settime/gettime syscalls' common part over musl's struct itimerspec (64-bit
 * time_t on every arch), called by each arch's entry points (their argument layouts differ). */
#ifndef UF_TIMERFD_IO_H
#define UF_TIMERFD_IO_H

#include <time.h>

long uf_timerfd_settime(int fd, int flags, const struct itimerspec *new, struct itimerspec *old);
long uf_timerfd_gettime(int fd, struct itimerspec *cur);

#endif

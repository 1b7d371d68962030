/* Module socket: BSD sockets over module net. Its syscalls are module sockcall's (uf/sockcall.h); this is what
 * the rest of the library OS asks of it. */
#ifndef UF_SOCKET_H
#define UF_SOCKET_H

/* At the process's exit (the module's `exit`, called from the generated init table): closes
 * the app's sockets as a Linux process's exit does, gracefully (or with a reset: unread data, SO_LINGER 0), and
 * runs the stack until the peers have every byte and FIN, for at most UF_SOCKET_EXIT_NS or the longest SO_LINGER
 * timeout among them; the machine then ends. Without it a reply the app wrote just before returning from main
 * would still be in the send buffer when the machine powers off. */
#define UF_SOCKET_EXIT_NS 2000000000ull
void uf_socket_exit(void);

#endif

/* Writes to a pipe and a socketpair whose reading end is closed: with SIGPIPE ignored the write fails with
 * EPIPE; with a handler, the handler runs once per write (not for send with MSG_NOSIGNAL). Prints one line per
 * write: "WHAT: RESULT ERRNO caught=N". */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static volatile sig_atomic_t caught;

static void on_sigpipe(int sig)
{
	if (sig == SIGPIPE)
		caught++;
}

static void show(const char *what, ssize_t r)
{
	printf("%s: %zd %s caught=%d\n", what, r, r < 0 && errno == EPIPE ? "EPIPE" : strerror(errno), (int)caught);
}

int main(void)
{
	int p[2], s[2];
	if (pipe(p) || socketpair(AF_UNIX, SOCK_STREAM, 0, s))
		return perror("set-up"), 1;
	close(p[0]);
	close(s[1]);
	signal(SIGPIPE, SIG_IGN);
	show("ignored pipe write", write(p[1], "x", 1));
	show("ignored socketpair write", write(s[0], "x", 1));
	signal(SIGPIPE, on_sigpipe);
	show("caught pipe write", write(p[1], "x", 1));
	show("caught socketpair send MSG_NOSIGNAL", send(s[0], "x", 1, MSG_NOSIGNAL));
	show("caught socketpair write", write(s[0], "x", 1));
	return 0;
}

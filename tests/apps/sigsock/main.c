/* Signals and sockets, one behaviour per argument (tests/integration/test_signals.py):
 *   restart                 a UDP recv that SA_RESTART handlers restart and one without it ends with EINTR (no NIC
 *                           is needed: nothing ever arrives);
 *   sigpipe PORT ignore|handle|kill
 *                           a TCP connection to the host (10.0.2.2:PORT under QEMU's user networking) whose sending
 *                           side is shut: send with MSG_NOSIGNAL, then write with SIGPIPE ignored, handled, or left
 *                           to its default action. */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static volatile sig_atomic_t count;

static void counter(int sig)
{
	(void)sig;
	count++;
}

static void on(int sig, void (*fn)(int), int flags)
{
	struct sigaction sa = { .sa_handler = fn, .sa_flags = flags };
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, 0);
}

static void restarted_then_usr1(int sig)
{
	(void)sig;
	if (++count == 3)
		raise(SIGUSR1);         /* installed without SA_RESTART */
}

static int restart(void)
{
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(9999) };
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) < 0) {
		printf("restart: FAIL socket: %s\n", strerror(errno));
		return 1;
	}
	on(SIGALRM, restarted_then_usr1, SA_RESTART);
	on(SIGUSR1, counter, 0);
	struct itimerval it = { { 0, 100000 }, { 0, 100000 } };
	setitimer(ITIMER_REAL, &it, 0);
	char buf[16];
	ssize_t r = recv(s, buf, sizeof buf, 0);
	int e = errno;
	printf("restart: recv=%zd %s after %d handler(s)\n", r, strerror(e), (int)count);
	return 0;
}

static int sigpipe(const char *port, const char *mode)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(atoi(port)),
				 .sin_addr.s_addr = htonl(0x0a000202) };
	if (connect(s, (struct sockaddr *)&a, sizeof a) < 0) {
		printf("sigpipe: FAIL connect: %s\n", strerror(errno));
		return 1;
	}
	shutdown(s, SHUT_WR);
	int r = send(s, "x", 1, MSG_NOSIGNAL);
	printf("sigpipe: MSG_NOSIGNAL send=%d %s\n", r, strerror(errno));
	if (!strcmp(mode, "ignore"))
		signal(SIGPIPE, SIG_IGN);
	else if (!strcmp(mode, "handle"))
		on(SIGPIPE, counter, 0);
	r = write(s, "x", 1);
	printf("sigpipe: write=%d %s, handler ran %d\n", r, strerror(errno), (int)count);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, 0, _IONBF, 0);
	if (argc == 2 && !strcmp(argv[1], "restart"))
		return restart();
	if (argc == 4 && !strcmp(argv[1], "sigpipe"))
		return sigpipe(argv[2], argv[3]);
	printf("usage: restart | sigpipe PORT ignore|handle|kill\n");
	return 2;
}

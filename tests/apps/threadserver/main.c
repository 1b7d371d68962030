/* Blocking calls block only the calling thread: first an echo over TCP on lo between two threads; then one thread
 * accepts HTTP connections on port 80 and starts a thread for each (one request per connection), one is blocked
 * in accept on port 81 until someone connects there (then the app ends), one sleeps 50 ms at a time and reports
 * how late it woke, and the first thread waits in pthread_join. */
#define _GNU_SOURCE
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static volatile int done;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int listen_on(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(s, (struct sockaddr *)&a, sizeof a) || listen(s, 8)) {
		perror("threadserver: listen");
		return -1;
	}
	return s;
}

/* One connection: reads the request (up to its blank line), answers with its number in arrival order of the
 * requests, and closes. */
static void *handle(void *arg)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	static int served;
	int c = (int)(long)arg;
	char req[1024];
	size_t got = 0;
	ssize_t n;
	req[0] = 0;
	while (got < sizeof req - 1 && !strstr(req, "\r\n\r\n") && (n = read(c, req + got, sizeof req - 1 - got)) > 0) {
		got += n;
		req[got] = 0;
	}
	pthread_mutex_lock(&lock);
	int number = ++served;
	pthread_mutex_unlock(&lock);
	char body[64], reply[256];
	int len = snprintf(body, sizeof body, "request %d, served by thread %d\n", number, gettid());
	int total = snprintf(reply, sizeof reply, "HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n%s", len, body);
	write(c, reply, total);
	close(c);
	return 0;
}

/* A thread per connection, detached: a client that is slow to send its request holds only its own thread. */
static void *serve(void *arg)
{
	int s = (int)(long)arg;
	for (;;) {
		int c = accept(s, 0, 0);
		if (c < 0)
			break;
		pthread_t t;
		if (pthread_create(&t, 0, handle, (void *)(long)c)) {
			perror("threadserver: pthread_create");
			close(c);
			continue;
		}
		pthread_detach(t);
	}
	return 0;
}

static void *sleeper(void *arg)
{
	(void)arg;
	int naps = 0;
	double latest = 0;
	while (!done) {
		double t0 = now();
		usleep(50000);
		double late = now() - t0 - 0.05;
		if (late > latest)
			latest = late;
		naps++;
	}
	printf("sleeper: %d naps of 50 ms, woke at most %.0f ms late\n", naps, latest * 1000);
	return 0;
}

static void *waiter(void *arg)
{
	int c = accept((int)(long)arg, 0, 0);
	printf("waiter: %s on port 81\n", c >= 0 ? "accepted" : "accept failed");
	close(c);
	return 0;
}

/* TCP over lo between two threads: an echo thread blocked in recv wakes for what the other thread sends. */
#define ECHOES 1000

static void *echo(void *arg)
{
	int c = accept((int)(long)arg, 0, 0);
	char buf[64];
	ssize_t n;
	while ((n = recv(c, buf, sizeof buf, 0)) > 0)
		send(c, buf, n, 0);
	close(c);
	return 0;
}

static int loopback_echo(void)
{
	int s = listen_on(7);
	if (s < 0)
		return 0;
	pthread_t t;
	pthread_create(&t, 0, echo, (void *)(long)s);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(7), .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int c = socket(AF_INET, SOCK_STREAM, 0), echoed = 0;
	if (connect(c, (struct sockaddr *)&a, sizeof a) == 0) {
		for (int i = 0; i < ECHOES; i++) {
			char out[16], in[16];
			int len = snprintf(out, sizeof out, "%d", i);
			ssize_t got = 0, n;
			send(c, out, len, 0);
			while (got < len && (n = recv(c, in + got, len - got, 0)) > 0)
				got += n;
			echoed += got == len && !memcmp(in, out, len);
		}
	}
	close(c);
	pthread_join(t, 0);
	close(s);
	return echoed;
}

int main(void)
{
	setvbuf(stdout, 0, _IONBF, 0);
	printf("loopback: %d of %d messages echoed by another thread over TCP\n", loopback_echo(), ECHOES);
	int web = listen_on(80), other = listen_on(81);
	if (web < 0 || other < 0)
		return 1;
	pthread_t server, nap, wait;
	pthread_create(&server, 0, serve, (void *)(long)web);
	pthread_create(&nap, 0, sleeper, 0);
	pthread_create(&wait, 0, waiter, (void *)(long)other);
	printf("threadserver: listening on ports 80 and 81\n");
	pthread_join(wait, 0);
	done = 1;
	pthread_join(nap, 0);
	return 0;
}

/* A small HTTP/1.1 server: keep-alive, pipelining, a static page, GET /stats (JSON counters), POST /echo (the
 * request body streamed back), and static files from a document root when there is one.
 *
 * One process, no threads: every socket is non-blocking and poll() says which can move. Each connection has a
 * fixed input and output buffer; a large body passes through them in pieces (back-pressure: the server stops
 * reading a connection whose output is full), so an upload of any size needs no more memory than a small one.
 *
 * Plain POSIX: it builds and runs on Linux with `cc -O2 -o httpd main.c` too.
 * Usage: httpd [PORT [DOCROOT]]. PORT defaults to 80. DOCROOT defaults to ./htdocs when it exists (a native run
 * from this folder), else to / when /index.html exists (the guest, where the image's embedded htdocs/ tree is
 * mounted at /); otherwise no files are served, only the built-in page and endpoints. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_CONNS 128
#define IN_SIZE 16384           /* also the longest request head accepted */
#define OUT_SIZE 32768
#define RESPONSE_HEAD_ROOM 1024 /* free output space needed before the next pipelined request is handled */

enum phase {
	READ_HEAD,      /* waiting for (the rest of) a request line and headers */
	ECHO_BODY,      /* copying the request body to the output */
	SKIP_BODY,      /* dropping the body of a request that is not /echo */
	SEND_FILE,      /* copying a file to the output */
};

struct conn {
	int fd;
	enum phase phase;
	unsigned long long body_left;   /* ECHO_BODY/SKIP_BODY: request body bytes still to come */
	int file;                       /* SEND_FILE: the file being sent */
	int closing;                    /* no request after this one: Connection: close, HTTP/1.0 or an error */
	int peer_closed;                /* the client sent FIN: answer what came, then close */
	size_t in_len, out_off, out_len;
	char in[IN_SIZE];
	char out[OUT_SIZE];
};

static struct {
	unsigned long long requests, connections, bytes_echoed;
	int open_connections;
} stats;

static const char *docroot; /* NULL: no files */

static const char index_page[] =
	"<!DOCTYPE html>\n<html><head><title>Uniforge httpd</title></head>\n"
	"<body><h1>Hello from a unikernel</h1>\n"
	"<p>Served by examples/httpd. Try <a href=\"/stats\">/stats</a>, or "
	"<code>curl --data-binary @file http://host/echo</code>.</p></body></html>\n";

static size_t out_free(const struct conn *c)
{
	return OUT_SIZE - c->out_len;
}

/* Moves pending output to the start of the buffer so that all free space is contiguous at its end. */
static void out_compact(struct conn *c)
{
	if (c->out_off == 0)
		return;
	memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
	c->out_len -= c->out_off;
	c->out_off = 0;
}

static void out_append(struct conn *c, const void *data, size_t len)
{
	out_compact(c);
	if (len > out_free(c))
		len = out_free(c); /* callers check the room first; never overrun */
	memcpy(c->out + c->out_len, data, len);
	c->out_len += len;
}

static void out_printf(struct conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void out_printf(struct conn *c, const char *fmt, ...)
{
	va_list ap;
	int n;

	out_compact(c);
	va_start(ap, fmt);
	n = vsnprintf(c->out + c->out_len, out_free(c), fmt, ap);
	va_end(ap);
	if (n > 0 && out_free(c))
		c->out_len += (size_t)n < out_free(c) ? (size_t)n : out_free(c) - 1;
}

static void respond_head(struct conn *c, int status, const char *reason, const char *type,
			 unsigned long long length)
{
	out_printf(c, "HTTP/1.1 %d %s\r\nServer: uniforge-httpd\r\nContent-Type: %s\r\n"
		   "Content-Length: %llu\r\n%s\r\n",
		   status, reason, type, length, c->closing ? "Connection: close\r\n" : "");
}

static void respond(struct conn *c, int is_head, int status, const char *reason, const char *type,
		    const char *body)
{
	size_t len = strlen(body);

	respond_head(c, status, reason, type, len);
	if (!is_head)
		out_append(c, body, len);
}

static void respond_error(struct conn *c, int status, const char *reason)
{
	char body[64];

	c->closing = 1;
	snprintf(body, sizeof(body), "%d %s\n", status, reason);
	respond(c, 0, status, reason, "text/plain", body);
}

static const char *content_type(const char *path)
{
	static const char *const types[][2] = {
		{".html", "text/html"}, {".htm", "text/html"}, {".css", "text/css"},
		{".js", "text/javascript"}, {".json", "application/json"}, {".txt", "text/plain"},
		{".png", "image/png"}, {".jpg", "image/jpeg"}, {".svg", "image/svg+xml"},
	};
	const char *dot = strrchr(path, '.');

	for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++)
		if (!strcasecmp(dot, types[i][0]))
			return types[i][1];
	return "application/octet-stream";
}

/* Opens DOCROOT/path (DOCROOT/path/index.html for a folder) if it is a regular file; -1 otherwise. Paths with
 * a ".." segment are refused so that nothing outside the document root is served. */
static int open_static(const char *path, struct stat *st, const char **type)
{
	char full[1024];
	int fd;

	if (!docroot || strstr(path, "/../") || (strlen(path) >= 3 && !strcmp(path + strlen(path) - 3, "/..")))
		return -1;
	if (snprintf(full, sizeof(full), "%s%s", docroot, path) >= (int)sizeof(full) - 12)
		return -1;
	if (stat(full, st) == 0 && S_ISDIR(st->st_mode))
		strcat(full, full[strlen(full) - 1] == '/' ? "index.html" : "/index.html");
	fd = open(full, O_RDONLY);
	if (fd < 0)
		return -1;
	if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
		close(fd);
		return -1;
	}
	*type = content_type(full);
	return fd;
}

/* Is `token` one of the comma-separated tokens of a header value (case-insensitive)? */
static int has_token(const char *value, const char *token)
{
	size_t n = strlen(token);

	for (const char *p = value; *p;) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		const char *end = p;
		while (*end && *end != ',')
			end++;
		const char *last = end;
		while (last > p && (last[-1] == ' ' || last[-1] == '\t'))
			last--;
		if ((size_t)(last - p) == n && !strncasecmp(p, token, n))
			return 1;
		p = end;
	}
	return 0;
}

static void handle_stats(struct conn *c, int is_head)
{
	char body[256];

	snprintf(body, sizeof(body),
		 "{\"requests\": %llu, \"connections\": %llu, \"open_connections\": %d, \"bytes_echoed\": %llu}\n",
		 stats.requests, stats.connections, stats.open_connections, stats.bytes_echoed);
	respond(c, is_head, 200, "OK", "application/json", body);
}

static void handle_get(struct conn *c, const char *path, int is_head)
{
	struct stat st;
	const char *type;
	int fd = open_static(path, &st, &type);

	if (fd >= 0) {
		respond_head(c, 200, "OK", type, (unsigned long long)st.st_size);
		if (is_head) {
			close(fd);
		} else {
			c->file = fd;
			c->phase = SEND_FILE;
		}
	} else if (!strcmp(path, "/stats")) {
		handle_stats(c, is_head);
	} else if (!strcmp(path, "/") || !strcmp(path, "/index.html")) {
		respond(c, is_head, 200, "OK", "text/html", index_page);
	} else {
		respond(c, is_head, 404, "Not Found", "text/plain", "404 Not Found\n");
	}
}

/* Parses one complete request head (NUL-terminated, without the blank line) and starts its response. */
static void handle_request(struct conn *c, char *head)
{
	char *line_end = strstr(head, "\r\n");
	char *method, *target, *version, *save;
	unsigned long long length = 0;
	int expect_continue = 0, bad = 0;

	stats.requests++;
	if (line_end)
		*line_end = '\0';
	method = strtok_r(head, " ", &save);
	target = strtok_r(NULL, " ", &save);
	version = strtok_r(NULL, " ", &save);
	if (!method || !target || !version || strtok_r(NULL, " ", &save) || target[0] != '/' ||
	    strncmp(version, "HTTP/1.", 7) || (version[7] != '0' && version[7] != '1') || version[8]) {
		respond_error(c, 400, "Bad Request");
		return;
	}
	c->closing |= version[7] == '0'; /* HTTP/1.0 closes unless it asks for keep-alive */

	for (char *line = line_end ? line_end + 2 : NULL; line && *line;) {
		char *next = strstr(line, "\r\n");
		char *colon = strchr(line, ':');

		if (next)
			*next = '\0';
		if (!colon) {
			bad = 1;
			break;
		}
		*colon = '\0';
		char *value = colon + 1;
		while (*value == ' ' || *value == '\t')
			value++;
		if (!strcasecmp(line, "Content-Length")) {
			char *end;
			errno = 0;
			length = strtoull(value, &end, 10);
			if (end == value || *end || errno || value[0] == '-')
				bad = 1;
		} else if (!strcasecmp(line, "Transfer-Encoding")) {
			respond_error(c, 501, "Not Implemented"); /* chunked uploads: send a Content-Length instead */
			return;
		} else if (!strcasecmp(line, "Connection")) {
			if (has_token(value, "close"))
				c->closing = 1;
			else if (has_token(value, "keep-alive") && version[7] == '0')
				c->closing = 0;
		} else if (!strcasecmp(line, "Expect")) {
			expect_continue = has_token(value, "100-continue");
		}
		line = next ? next + 2 : NULL;
	}
	if (bad) {
		respond_error(c, 400, "Bad Request");
		return;
	}

	char *query = strchr(target, '?');
	if (query)
		*query = '\0';
	int is_head = !strcmp(method, "HEAD");
	if (!strcmp(method, "POST") && !strcmp(target, "/echo")) {
		if (expect_continue)
			out_printf(c, "HTTP/1.1 100 Continue\r\n\r\n");
		respond_head(c, 200, "OK", "application/octet-stream", length);
		c->body_left = length;
		c->phase = ECHO_BODY;
		return;
	}
	if (!strcmp(method, "GET") || is_head) {
		if (length)
			respond_error(c, 400, "Bad Request"); /* a body here has no meaning */
		else
			handle_get(c, target, is_head);
		return;
	}
	c->body_left = length;
	c->phase = length ? SKIP_BODY : READ_HEAD;
	respond(c, 0, 405, "Method Not Allowed", "text/plain", "405 Method Not Allowed\n");
}

/* The length of the request head at the start of buf, blank line included; 0 while it is incomplete. */
static size_t head_length(const char *buf, size_t len)
{
	for (size_t i = 3; i < len; i++)
		if (buf[i] == '\n' && buf[i - 1] == '\r' && buf[i - 2] == '\n' && buf[i - 3] == '\r')
			return i + 1;
	return 0;
}

static void consume_input(struct conn *c, size_t n)
{
	memmove(c->in, c->in + n, c->in_len - n);
	c->in_len -= n;
}

/* Moves the connection forward as far as its buffers allow: parses requests (several if pipelined), copies
 * bodies and files to the output. */
static void advance(struct conn *c)
{
	for (;;) {
		if (c->phase == READ_HEAD) {
			if (c->closing)
				return; /* the last response is queued */
			if (out_free(c) + c->out_off < RESPONSE_HEAD_ROOM)
				return; /* let the output drain before answering the next pipelined request */
			size_t head_len = head_length(c->in, c->in_len);
			if (!head_len) {
				if (c->in_len == IN_SIZE)
					respond_error(c, 431, "Request Header Fields Too Large");
				return;
			}
			c->in[head_len - 4] = '\0';
			if (memchr(c->in, '\0', head_len - 4))
				respond_error(c, 400, "Bad Request");
			else
				handle_request(c, c->in);
			consume_input(c, head_len);
		} else if (c->phase == ECHO_BODY || c->phase == SKIP_BODY) {
			size_t n = c->in_len;
			if (n > c->body_left)
				n = c->body_left;
			if (c->phase == ECHO_BODY) {
				out_compact(c);
				if (n > out_free(c))
					n = out_free(c);
				out_append(c, c->in, n);
				stats.bytes_echoed += n;
			}
			consume_input(c, n);
			c->body_left -= n;
			if (c->body_left)
				return;
			c->phase = READ_HEAD;
		} else { /* SEND_FILE */
			out_compact(c);
			if (!out_free(c))
				return;
			ssize_t n = read(c->file, c->out + c->out_len, out_free(c));
			if (n > 0) {
				c->out_len += n;
				continue;
			}
			/* End of file (or a read error: the response is then short and the connection must close). */
			c->closing |= n < 0;
			close(c->file);
			c->file = -1;
			c->phase = READ_HEAD;
		}
	}
}

/* Reads what the socket has (as much as fits). Returns 0, or -1 when the connection is dead. */
static int receive(struct conn *c)
{
	while (c->in_len < IN_SIZE) {
		ssize_t n = read(c->fd, c->in + c->in_len, IN_SIZE - c->in_len);
		if (n > 0) {
			c->in_len += n;
		} else if (n == 0) {
			c->peer_closed = 1;
			return 0;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			return 0;
		} else if (errno != EINTR) {
			return -1;
		}
	}
	return 0;
}

/* Writes pending output. Returns 0, or -1 when the connection is dead. */
static int flush(struct conn *c)
{
	while (c->out_off < c->out_len) {
		/* MSG_NOSIGNAL: a client that went away is an EPIPE here, not a SIGPIPE that ends the server. */
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
		if (n > 0)
			c->out_off += n;
		else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		else if (n < 0 && errno != EINTR)
			return -1;
	}
	c->out_off = c->out_len = 0;
	return 0;
}

static int wants_input(const struct conn *c)
{
	if (c->peer_closed || (c->closing && c->phase == READ_HEAD) || c->in_len == IN_SIZE)
		return 0;
	return c->phase != SEND_FILE && !(c->phase == ECHO_BODY && out_free(c) + c->out_off == 0);
}

static int finished(const struct conn *c)
{
	if (c->out_off < c->out_len)
		return 0;
	if (c->phase == READ_HEAD)
		return c->closing || c->peer_closed; /* (what is left of the input is no complete request) */
	return c->peer_closed && c->phase != SEND_FILE && c->in_len == 0; /* the body it promised won't come */
}

static void drop(struct conn **slot)
{
	struct conn *c = *slot;

	if (c->file >= 0)
		close(c->file);
	close(c->fd);
	free(c);
	*slot = NULL;
	stats.open_connections--;
}

static int set_nonblocking(int fd)
{
	int flags = fcntl(fd, F_GETFL);

	return flags < 0 ? -1 : fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

static void accept_all(int listener, struct conn **conns)
{
	for (;;) {
		int slot = 0;
		while (slot < MAX_CONNS && conns[slot])
			slot++;
		if (slot == MAX_CONNS)
			return;
		int fd = accept(listener, NULL, NULL);
		if (fd < 0)
			return; /* EAGAIN, or a connection that died before we took it */
		struct conn *c = malloc(sizeof(*c));
		if (!c || set_nonblocking(fd) < 0) {
			free(c);
			close(fd);
			continue;
		}
		memset(c, 0, offsetof(struct conn, in));
		c->fd = fd;
		c->file = -1;
		conns[slot] = c;
		stats.connections++;
		stats.open_connections++;
	}
}

/* Listens on every address of both families: [::] with IPV6_V6ONLY off takes IPv4 clients too (as v4-mapped
 * addresses). Where IPv6 is missing (a host without it), 0.0.0.0 instead. */
static int listen_on(int port)
{
	struct sockaddr_in6 addr6 = {.sin6_family = AF_INET6, .sin6_port = htons(port), .sin6_addr = IN6ADDR_ANY_INIT};
	struct sockaddr_in addr4 = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = INADDR_ANY};
	struct sockaddr *addr = (struct sockaddr *)&addr6;
	socklen_t addr_len = sizeof(addr6);
	int one = 1, zero = 0;
	int fd = socket(AF_INET6, SOCK_STREAM, 0);

	if (fd < 0 && errno == EAFNOSUPPORT) {
		fd = socket(AF_INET, SOCK_STREAM, 0);
		addr = (struct sockaddr *)&addr4;
		addr_len = sizeof(addr4);
	}
	if (fd < 0) {
		perror("httpd: socket");
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (addr == (struct sockaddr *)&addr6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, addr, addr_len) < 0 || listen(fd, 64) < 0 || set_nonblocking(fd) < 0) {
		perror("httpd: bind/listen");
		close(fd);
		return -1;
	}
	return fd;
}

int main(int argc, char **argv)
{
	static struct conn *conns[MAX_CONNS];
	struct pollfd fds[MAX_CONNS + 1];
	int owner[MAX_CONNS + 1];
	struct stat st;
	int port = argc > 1 ? atoi(argv[1]) : 80;

	if (port <= 0 || port > 65535) {
		fprintf(stderr, "usage: httpd [PORT [DOCROOT]]\n");
		return 2;
	}
	if (argc > 2)
		docroot = argv[2];
	else if (stat("htdocs", &st) == 0 && S_ISDIR(st.st_mode))
		docroot = "htdocs";
	else if (stat("/index.html", &st) == 0)
		docroot = ""; /* paths are already absolute */
	setvbuf(stdout, NULL, _IOLBF, 0);
	int listener = listen_on(port);
	if (listener < 0)
		return 1;
	printf("httpd: listening on port %d, files from %s\n", port,
	       !docroot ? "(none)" : *docroot ? docroot : "/");

	for (;;) {
		int n = 0;
		fds[n] = (struct pollfd){.fd = listener, .events = POLLIN};
		owner[n++] = -1;
		for (int i = 0; i < MAX_CONNS; i++) {
			struct conn *c = conns[i];
			if (!c)
				continue;
			short events = (wants_input(c) ? POLLIN : 0) | (c->out_off < c->out_len ? POLLOUT : 0);
			fds[n] = (struct pollfd){.fd = c->fd, .events = events};
			owner[n++] = i;
		}
		if (poll(fds, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			perror("httpd: poll");
			return 1;
		}
		for (int k = 1; k < n; k++) {
			struct conn **slot = &conns[owner[k]];
			short revents = fds[k].revents;
			if (!revents)
				continue;
			int dead = (revents & POLLNVAL) != 0;
			if (!dead && (revents & (POLLIN | POLLHUP | POLLERR)) && wants_input(*slot))
				dead = receive(*slot) < 0;
			if (!dead) {
				advance(*slot);
				dead = flush(*slot) < 0;
				advance(*slot); /* the flush made room: a file or an echo can continue at once */
				dead = dead || flush(*slot) < 0;
			}
			if (dead || (revents & POLLERR) || finished(*slot))
				drop(slot);
		}
		if (fds[0].revents & POLLIN)
			accept_all(listener, conns);
	}
}

/* SPDX-License-Identifier: Apache-2.0 */
/* gannetctl exec POD [-c CTR] [-i] [-t] -- CMD [ARG...]: without -i/-t,
 * POST pods/NAME/exec with one command= per argument; the API server
 * proxies it to the agent of the pod's node, which runs it with `runc
 * exec` and answers {exitCode, output}. With -i and/or -t the same POST
 * asks for an HTTP/1.1 upgrade to "gannet-exec" (docs/cli.md): stdin is
 * streamed to the command in frames, its output comes back in frames, and
 * the last frame carries the exit code. -t gives the command a pty and
 * puts the local terminal in raw mode (restored on exit), forwarding the
 * window size. gannetctl exits with the command's code, as kubectl exec
 * does. */
#include <curl/curl.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "ctl/ctl.h"

/* ---- interactive: upgraded connection --------------------------------- */

static volatile sig_atomic_t winch = 1;   /* send the size once at start */

static void on_winch(int sig)
{
	(void)sig;
	winch = 1;
}

static int send_frame(CURL *h, curl_socket_t cs, unsigned char type, const void *p, size_t n)
{
	unsigned char hdr[5] = { type, (unsigned char)(n >> 24), (unsigned char)(n >> 16),
				 (unsigned char)(n >> 8), (unsigned char)n };

	if (apiclient_raw_send(h, cs, hdr, 5, 30000))
		return -EPIPE;
	return n ? apiclient_raw_send(h, cs, p, n, 30000) : 0;
}

static int write_fd(int fd, const char *b, size_t n)
{
	while (n) {
		ssize_t w = write(fd, b, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -EPIPE;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Reads from the connection into buf (grown as needed); returns bytes
 * read, 0 at EOF, -EAGAIN when nothing is there, or -EIO. */
static ssize_t recv_some(CURL *h, char *buf, size_t max)
{
	size_t n = 0;
	CURLcode rc = curl_easy_recv(h, buf, max, &n);

	if (rc == CURLE_AGAIN)
		return -EAGAIN;
	if (rc != CURLE_OK)
		return -EIO;
	return (ssize_t)n;
}

/* Prints a refusal (a Status body) as kubectl does. */
static void print_refusal(long code, const char *body)
{
	json_error_t je;
	json_t *j = json_loads(body, 0, &je);
	struct api_resp r = { .status = code };

	snprintf(r.reason, sizeof(r.reason), "%s",
		 json_string_value(json_object_get(j, "reason")) ?: "Unknown");
	snprintf(r.message, sizeof(r.message), "%s",
		 json_string_value(json_object_get(j, "message")) ?: (*body ? body : "upgrade refused"));
	if (!j)
		snprintf(r.reason, sizeof(r.reason), "HTTP %ld", code);
	ctl_print_api_error(&r, NULL);
	json_decref(j);
}

/* Server "https://host:port[/prefix]": Host header value and path prefix. */
static void split_server(const char *server, char *host, size_t hlen, char *prefix, size_t plen)
{
	const char *s = strstr(server, "://"), *slash;

	s = s ? s + 3 : server;
	slash = strchr(s, '/');
	snprintf(host, hlen, "%.*s", (int)(slash ? (size_t)(slash - s) : strlen(s)), s);
	snprintf(prefix, plen, "%s", slash ? slash : "");
	if (*prefix && prefix[strlen(prefix) - 1] == '/')
		prefix[strlen(prefix) - 1] = 0;
}

static int exec_interactive(struct ctl *c, const char *path)
{
	bool want_tty = c->o.tty, raw = false, in_open = c->o.stdin_open, done = false;
	char host[300], prefix[300], *req = NULL, *buf = NULL;
	size_t cap = 1 << 17, n = 0;
	struct termios saved;
	const char *auth = NULL;
	curl_socket_t cs = CURL_SOCKET_BAD;
	int code = CTL_EXIT_ERR;
	long status = 0;
	CURL *h;
	char *end;

	h = apiclient_raw_handle(c->api, path, &auth);
	buf = malloc(cap);
	if (!h || !buf) {
		fprintf(stderr, "error: out of memory\n");
		goto out;
	}
	curl_easy_setopt(h, CURLOPT_CONNECT_ONLY, 1L);
	if (curl_easy_perform(h) != CURLE_OK ||
	    curl_easy_getinfo(h, CURLINFO_ACTIVESOCKET, &cs) != CURLE_OK || cs == CURL_SOCKET_BAD) {
		fprintf(stderr, "error: cannot connect to %s\n", apiclient_server(c->api));
		goto out;
	}
	split_server(apiclient_server(c->api), host, sizeof(host), prefix, sizeof(prefix));
	if (asprintf(&req, "POST %s%s HTTP/1.1\r\nHost: %s\r\nUser-Agent: gannetctl\r\n%s%s"
			   "Connection: Upgrade\r\nUpgrade: gannet-exec\r\nContent-Length: 0\r\n\r\n",
		     prefix, path, host, auth ? auth : "", auth ? "\r\n" : "") < 0) {
		req = NULL;
		goto out;
	}
	if (apiclient_raw_send(h, cs, req, strlen(req), 30000)) {
		fprintf(stderr, "error: cannot send the exec request\n");
		goto out;
	}
	/* the answer's headers (and maybe the first frames) */
	for (end = NULL; !end;) {
		ssize_t r = recv_some(h, buf + n, cap - 1 - n);

		if (r == -EAGAIN) {
			if (poll(&(struct pollfd){ .fd = cs, .events = POLLIN }, 1, 30000) <= 0)
				break;
			continue;
		}
		if (r <= 0)
			break;
		n += (size_t)r;
		buf[n] = 0;
		end = strstr(buf, "\r\n\r\n");
		if (n >= cap - 1)
			break;
	}
	if (!end || sscanf(buf, "HTTP/1.%*d %ld", &status) != 1) {
		fprintf(stderr, "error: no answer to the exec request\n");
		goto out;
	}
	end += 4;
	if (status != 101) {
		const char *cl = strcasestr(buf, "\r\nContent-Length:");
		size_t want = cl ? strtoul(cl + 17, NULL, 10) : 0, off = (size_t)(end - buf);

		while (n - off < want && n < cap - 1) {
			ssize_t r = recv_some(h, buf + n, cap - 1 - n);

			if (r == -EAGAIN) {
				if (poll(&(struct pollfd){ .fd = cs, .events = POLLIN }, 1, 10000) <= 0)
					break;
				continue;
			}
			if (r <= 0)
				break;
			n += (size_t)r;
		}
		buf[n] = 0;
		print_refusal(status, buf + off);
		goto out;
	}
	memmove(buf, end, n - (size_t)(end - buf));
	n -= (size_t)(end - buf);

	if (want_tty && isatty(0) && !tcgetattr(0, &saved)) {
		struct termios t = saved;

		cfmakeraw(&t);
		raw = !tcsetattr(0, TCSANOW, &t);
		signal(SIGWINCH, on_winch);
	} else {
		winch = 0;
	}
	if (!in_open && send_frame(h, cs, 0, NULL, 0))
		goto lost;
	while (!done) {
		struct pollfd p[2] = { { .fd = cs, .events = POLLIN },
				       { .fd = in_open ? 0 : -1, .events = POLLIN } };
		bool eof = false;

		if (winch && raw) {
			struct winsize ws;

			winch = 0;
			if (!ioctl(0, TIOCGWINSZ, &ws)) {
				unsigned char sz[4] = { (unsigned char)(ws.ws_col >> 8),
							(unsigned char)ws.ws_col,
							(unsigned char)(ws.ws_row >> 8),
							(unsigned char)ws.ws_row };

				if (send_frame(h, cs, 4, sz, 4))
					goto lost;
			}
		}
		/* whole frames first; libcurl may hold decrypted bytes that
		 * poll on the socket would not show */
		for (;;) {
			while (n >= 5) {
				unsigned char *f = (unsigned char *)buf;
				size_t len = (size_t)f[1] << 24 | (size_t)f[2] << 16 |
					     (size_t)f[3] << 8 | f[4];

				if (len > cap - 5) {
					fprintf(stderr, "\r\nerror: bad frame from the server\n");
					goto lost;
				}
				if (n < 5 + len)
					break;
				if (f[0] == 1 || f[0] == 2) {
					if (write_fd(f[0], buf + 5, len))
						in_open = false;
				} else if (f[0] == 3) {
					char st[128];
					json_t *j;

					snprintf(st, sizeof(st), "%.*s", (int)len, buf + 5);
					j = json_loads(st, 0, NULL);
					code = (int)json_integer_value(json_object_get(j, "exitCode"));
					if (code < 0 || code > 255)
						code = 1;
					json_decref(j);
					done = true;
				}
				memmove(buf, buf + 5 + len, n - 5 - len);
				n -= 5 + len;
			}
			if (done)
				break;
			ssize_t r = recv_some(h, buf + n, cap - n);

			if (r == -EAGAIN)
				break;
			if (r <= 0) {
				eof = true;
				break;
			}
			n += (size_t)r;
		}
		if (done)
			break;
		if (eof) {
			if (raw)
				tcsetattr(0, TCSANOW, &saved);
			raw = false;
			fprintf(stderr, "error: the connection closed before the command's exit status\n");
			code = CTL_EXIT_ERR;
			goto out;
		}
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			goto lost;
		}
		if (p[1].revents) {
			char in[16384];
			ssize_t r = read(0, in, sizeof(in));

			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				in_open = false;
				if (send_frame(h, cs, 0, NULL, 0))
					goto lost;
			} else if (send_frame(h, cs, 0, in, (size_t)r)) {
				goto lost;
			}
		}
	}
	goto out;
lost:
	if (!done) {
		if (raw)
			tcsetattr(0, TCSANOW, &saved);
		raw = false;
		fprintf(stderr, "error: lost the connection to the server\n");
		code = CTL_EXIT_ERR;
	}
out:
	if (raw)
		tcsetattr(0, TCSANOW, &saved);
	fflush(stdout);
	free(req);
	free(buf);
	if (h)
		curl_easy_cleanup(h);
	return code;
}

/* ---- command ----------------------------------------------------------- */

int cmd_exec(struct ctl *c, int argc, char **argv)
{
	char *path = NULL, esc[1024];
	const char *pod;
	struct api_resp r = { 0 };
	size_t len;
	int ret, code;

	if (argc < 2) {
		fprintf(stderr, "error: expected POD -- COMMAND [ARG...]\n");
		return CTL_EXIT_USAGE;
	}
	pod = argv[0];
	if (!strncmp(pod, "pod/", 4) || !strncmp(pod, "pods/", 5))
		pod = strchr(pod, '/') + 1;
	ret = ctl_connect(c);
	if (ret)
		return ret;
	len = 1100;
	for (int i = 1; i < argc; i++)
		len += strlen(argv[i]) * 3 + 16;
	path = malloc(len);
	if (!path)
		return CTL_EXIT_ERR;
	snprintf(path, len, "/api/v1/namespaces/%s/pods/%s/exec?", c->ns, pod);
	if (c->o.container) {
		strcat(path, "container=");
		strcat(path, apiclient_escape(c->o.container, esc, sizeof(esc)));
	}
	for (int i = 1; i < argc; i++) {
		if (strlen(argv[i]) * 3 >= sizeof(esc)) {
			fprintf(stderr, "error: argument %d is too long\n", i);
			free(path);
			return CTL_EXIT_USAGE;
		}
		strcat(path, path[strlen(path) - 1] == '?' ? "command=" : "&command=");
		strcat(path, apiclient_escape(argv[i], esc, sizeof(esc)));
	}
	if (c->o.tty || c->o.stdin_open) {
		if (c->o.tty && !isatty(0))
			fprintf(stderr, "Unable to use a TTY - input is not a terminal or the right kind of file\n");
		if (c->o.stdin_open)
			strcat(path, "&stdin=true");
		if (c->o.tty && isatty(0)) {
			struct winsize ws;

			strcat(path, "&tty=true");
			if (!ioctl(0, TIOCGWINSZ, &ws) && ws.ws_col && ws.ws_row)
				snprintf(path + strlen(path), 48, "&width=%u&height=%u",
					 ws.ws_col, ws.ws_row);
		} else
			c->o.tty = false;
		code = exec_interactive(c, path);
		free(path);
		return code;
	}
	ret = ctl_call(c, "POST", path, NULL, &r);
	free(path);
	if (ret)
		return ret;
	if (json_string_value(json_object_get(r.body, "output")))
		fputs(json_string_value(json_object_get(r.body, "output")), stdout);
	code = (int)json_integer_value(json_object_get(r.body, "exitCode"));
	api_resp_free(&r);
	fflush(stdout);
	if (code < 0 || code > 255)
		code = 1;
	return code;
}

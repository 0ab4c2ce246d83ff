/* SPDX-License-Identifier: Apache-2.0 */
/* netcheck: the server and prober of the NetworkPolicy tests and the
 * apply-to-enforcement benchmark (tests/suites/69-policy-matrix.sh,
 * 70-policy-stateful.sh, tests/bench/bench-policy-apply.sh).
 *
 *   netcheck serve [-t PORT]... [-u PORT]...
 *       TCP echo servers and UDP echo servers on 0.0.0.0, one process.
 *   netcheck probe [-w MS] [-s SPORT] TARGET...   TARGET = IP:PORT/tcp|udp
 *       probes every target concurrently, prints "TARGET VERDICT MS" per
 *       target in argument order. VERDICT: ok (TCP connected / UDP echo
 *       received), drop (nothing within the timeout: what a policy drop
 *       looks like), refused (RST or ICMP port unreachable), err:<errno>.
 *       -s: every probe from this source port (to reuse a 5-tuple).
 *       TCP probes end with a RST (no TIME_WAIT: the port is reusable).
 *   netcheck session [-i MS] [-w MS] IP:PORT
 *       one long-lived TCP connection to an echo server: sends a line every
 *       -i ms and needs its echo within -w ms; prints "connected", "ok N"
 *       about once a second, and "fail: why" (exit 1) on the first failure.
 *   netcheck monitor [-i MS] [-w MS] [-n N] [-P NPORTS] TARGET
 *       connects to TARGET (TCP) in a loop, one attempt every -i ms (to
 *       NPORTS consecutive ports from TARGET's in turn, default 1), and
 *       prints "REALTIME_NS allowed|denied" whenever the verdict changes:
 *       allowed = an attempt connected; denied = N attempts in a row got
 *       no answer within -w ms (the time printed is the first one's start).
 *
 * It is built statically and without the project's libraries on purpose:
 * the servers run inside busybox containers (hostPath mount of the binary),
 * which have no glibc. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define NC_MAX_TARGETS 512
#define NC_MAX_FDS     1024

static void die(const char *fmt, const char *arg)
{
	fprintf(stderr, "netcheck: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	exit(2);
}

static int64_t now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t mono_ms(void)
{
	return now_ns(CLOCK_MONOTONIC) / 1000000;
}

static int parse_uint(const char *s, int max)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (!*s || *end || v < 0 || v > max)
		die("bad number: %s", s);
	return (int)v;
}

struct target {
	const char *text;
	struct sockaddr_in sa;
	bool udp;
	int fd;
	const char *verdict;   /* NULL while pending */
	char errbuf[32];
	int64_t start_ms, done_ms, next_send_ms;
};

/* "IP:PORT/tcp" or "IP:PORT/udp" */
static void parse_target(struct target *t, const char *s)
{
	char buf[64], *colon, *slash;

	if (strlen(s) >= sizeof(buf))
		die("bad target: %s", s);
	strcpy(buf, s);
	colon = strchr(buf, ':');
	slash = strchr(buf, '/');
	if (!colon || !slash || slash < colon)
		die("bad target (IP:PORT/tcp|udp): %s", s);
	*colon = 0;
	*slash = 0;
	memset(&t->sa, 0, sizeof(t->sa));
	t->sa.sin_family = AF_INET;
	if (inet_pton(AF_INET, buf, &t->sa.sin_addr) != 1)
		die("bad address: %s", s);
	t->sa.sin_port = htons((uint16_t)parse_uint(colon + 1, 65535));
	if (!strcasecmp(slash + 1, "tcp"))
		t->udp = false;
	else if (!strcasecmp(slash + 1, "udp"))
		t->udp = true;
	else
		die("bad protocol: %s", s);
	t->text = s;
	t->fd = -1;
	t->verdict = NULL;
}

static void set_err(struct target *t, int e)
{
	if (e == ECONNREFUSED) {
		t->verdict = "refused";
	} else {
		snprintf(t->errbuf, sizeof(t->errbuf), "err:%d", e);
		t->verdict = t->errbuf;
	}
}

/* close with a RST (SO_LINGER 0): no TIME_WAIT, so that thousands of
 * probes do not exhaust the ephemeral ports and -s can reuse a port */
static void close_rst(int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

static void finish(struct target *t, const char *verdict)
{
	if (!t->verdict)
		t->verdict = verdict;
	t->done_ms = mono_ms();
	if (t->fd >= 0)
		close_rst(t->fd);
	t->fd = -1;
}

/* ---- probe ----------------------------------------------------------- */

/* UDP probes resend every UDP_RESEND_MS so that one lost datagram (an ARP
 * miss on a fresh path) does not read as a policy drop. */
#define UDP_RESEND_MS 200

static void probe_start(struct target *t, int sport)
{
	int fd = socket(AF_INET, (t->udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK, 0), one = 1;

	t->start_ms = mono_ms();
	if (fd < 0) {
		set_err(t, errno);
		t->done_ms = t->start_ms;
		return;
	}
	t->fd = fd;
	if (sport) {
		struct sockaddr_in la = { .sin_family = AF_INET, .sin_port = htons((uint16_t)sport) };

		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, (struct sockaddr *)&la, sizeof(la))) {
			set_err(t, errno);
			finish(t, NULL);
			return;
		}
	}
	if (connect(fd, (struct sockaddr *)&t->sa, sizeof(t->sa)) && errno != EINPROGRESS) {
		set_err(t, errno);
		finish(t, NULL);
		return;
	}
	t->next_send_ms = t->start_ms;
}

static void probe_udp_send(struct target *t, int64_t now)
{
	static const char msg[] = "netcheck-probe";

	if (send(t->fd, msg, sizeof(msg) - 1, 0) < 0 && errno != EAGAIN) {
		set_err(t, errno);
		finish(t, NULL);
		return;
	}
	t->next_send_ms = now + UDP_RESEND_MS;
}

static void probe_event(struct target *t, short revents)
{
	int e = 0;
	socklen_t len = sizeof(e);

	if (t->udp) {
		char buf[64];
		ssize_t n = recv(t->fd, buf, sizeof(buf), 0);

		if (n >= 0)
			finish(t, "ok");
		else if (errno != EAGAIN) {
			set_err(t, errno);
			finish(t, NULL);
		}
		return;
	}
	getsockopt(t->fd, SOL_SOCKET, SO_ERROR, &e, &len);
	if (e) {
		set_err(t, e);
		finish(t, NULL);
	} else if (revents & POLLOUT) {
		finish(t, "ok");
	}
}

static int cmd_probe(int argc, char **argv)
{
	static struct target t[NC_MAX_TARGETS];
	struct pollfd pfd[NC_MAX_TARGETS];
	int idx[NC_MAX_TARGETS];
	int wait_ms = 1000, n = 0, i, opt, sport = 0;
	int64_t deadline;

	while ((opt = getopt(argc, argv, "w:s:")) != -1) {
		if (opt == 'w')
			wait_ms = parse_uint(optarg, 600000);
		else if (opt == 's')
			sport = parse_uint(optarg, 65535);
		else
			die("usage: netcheck probe [-w MS] [-s SPORT] TARGET...%s", "");
	}
	for (i = optind; i < argc; i++) {
		if (n == NC_MAX_TARGETS)
			die("too many targets%s", "");
		parse_target(&t[n++], argv[i]);
	}
	for (i = 0; i < n; i++)
		probe_start(&t[i], sport);
	deadline = mono_ms() + wait_ms;
	for (;;) {
		int64_t now = mono_ms(), next = deadline;
		int np = 0;

		for (i = 0; i < n; i++) {
			if (t[i].fd < 0)
				continue;
			if (t[i].udp) {
				if (now >= t[i].next_send_ms)
					probe_udp_send(&t[i], now);
				if (t[i].fd < 0)
					continue;
				if (t[i].next_send_ms < next)
					next = t[i].next_send_ms;
			}
			pfd[np].fd = t[i].fd;
			pfd[np].events = t[i].udp ? POLLIN : POLLOUT;
			idx[np++] = i;
		}
		if (!np || now >= deadline)
			break;
		if (poll(pfd, np, (int)(next - now)) < 0 && errno != EINTR)
			die("poll: %s", strerror(errno));
		for (i = 0; i < np; i++)
			if (pfd[i].revents)
				probe_event(&t[idx[i]], pfd[i].revents);
	}
	for (i = 0; i < n; i++) {
		if (t[i].fd >= 0)
			finish(&t[i], "drop");
		printf("%s %s %lld\n", t[i].text, t[i].verdict,
		       (long long)(t[i].done_ms - t[i].start_ms));
	}
	return 0;
}

/* ---- serve ----------------------------------------------------------- */

static int listen_on(int port, bool udp)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK, 0), one = 1;

	if (fd < 0)
		die("socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)))
		die("bind: %s", strerror(errno));
	if (!udp && listen(fd, 512))
		die("listen: %s", strerror(errno));
	return fd;
}

static int cmd_serve(int argc, char **argv)
{
	static struct pollfd pfd[NC_MAX_FDS];
	static char kind[NC_MAX_FDS];   /* 'l' TCP listener, 'u' UDP, 'c' TCP conn */
	int n = 0, i, opt;

	signal(SIGPIPE, SIG_IGN);
	while ((opt = getopt(argc, argv, "t:u:")) != -1) {
		if ((opt != 't' && opt != 'u') || n >= 256)
			die("usage: netcheck serve [-t PORT]... [-u PORT]...%s", "");
		pfd[n].fd = listen_on(parse_uint(optarg, 65535), opt == 'u');
		pfd[n].events = POLLIN;
		kind[n++] = opt == 'u' ? 'u' : 'l';
	}
	if (!n)
		die("serve: no port given%s", "");
	printf("serving\n");
	fflush(stdout);
	for (;;) {
		if (poll(pfd, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			die("poll: %s", strerror(errno));
		}
		for (i = 0; i < n; i++) {
			char buf[2048];
			ssize_t r;

			if (!pfd[i].revents)
				continue;
			if (kind[i] == 'l') {
				int c = accept4(pfd[i].fd, NULL, NULL, SOCK_NONBLOCK);

				if (c < 0)
					continue;
				if (n == NC_MAX_FDS) {   /* full: refuse politely */
					close(c);
					continue;
				}
				pfd[n].fd = c;
				pfd[n].events = POLLIN;
				pfd[n].revents = 0;
				kind[n++] = 'c';
			} else if (kind[i] == 'u') {
				struct sockaddr_in from;
				socklen_t fl = sizeof(from);

				r = recvfrom(pfd[i].fd, buf, sizeof(buf), 0,
					     (struct sockaddr *)&from, &fl);
				if (r >= 0)
					sendto(pfd[i].fd, buf, (size_t)r, 0,
					       (struct sockaddr *)&from, fl);
			} else {
				r = read(pfd[i].fd, buf, sizeof(buf));
				if (r > 0 && write(pfd[i].fd, buf, (size_t)r) == r)
					continue;
				if (r < 0 && errno == EAGAIN)
					continue;
				/* EOF or error: drop the connection (swap with
				 * the last slot, revisit this index) */
				close(pfd[i].fd);
				n--;
				pfd[i] = pfd[n];
				kind[i] = kind[n];
				i--;
			}
		}
	}
	return 0;
}

/* ---- session --------------------------------------------------------- */

static int cmd_session(int argc, char **argv)
{
	struct target t;
	int interval = 200, wait_ms = 2000, opt, fd;
	long count = 0;
	int64_t last_print = 0;

	while ((opt = getopt(argc, argv, "i:w:")) != -1) {
		if (opt == 'i')
			interval = parse_uint(optarg, 60000);
		else if (opt == 'w')
			wait_ms = parse_uint(optarg, 600000);
		else
			die("usage: netcheck session [-i MS] [-w MS] IP:PORT%s", "");
	}
	if (optind != argc - 1)
		die("usage: netcheck session [-i MS] [-w MS] IP:PORT%s", "");
	{
		char tb[64];

		snprintf(tb, sizeof(tb), "%s/tcp", argv[optind]);
		parse_target(&t, strdup(tb));
	}
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		die("socket: %s", strerror(errno));
	{
		struct timeval tv = { .tv_sec = wait_ms / 1000, .tv_usec = (wait_ms % 1000) * 1000 };

		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	}
	if (connect(fd, (struct sockaddr *)&t.sa, sizeof(t.sa))) {
		printf("fail: connect: %s\n", strerror(errno));
		return 1;
	}
	printf("connected\n");
	fflush(stdout);
	for (;;) {
		char out[32], in[32];
		int len = snprintf(out, sizeof(out), "seq %ld\n", count);
		ssize_t got = 0, r;

		if (write(fd, out, (size_t)len) != len) {
			printf("fail: write after %ld echoes: %s\n", count, strerror(errno));
			return 1;
		}
		while (got < len) {
			r = read(fd, in + got, (size_t)(len - got));
			if (r <= 0) {
				printf("fail: no echo of seq %ld within %d ms: %s\n", count, wait_ms,
				       r == 0 ? "connection closed" : strerror(errno));
				return 1;
			}
			got += r;
		}
		if (memcmp(in, out, (size_t)len)) {
			printf("fail: echo mismatch at seq %ld\n", count);
			return 1;
		}
		count++;
		if (mono_ms() - last_print >= 1000) {
			last_print = mono_ms();
			printf("ok %ld\n", count);
			fflush(stdout);
		}
		usleep((useconds_t)interval * 1000);
	}
	return 0;
}

/* ---- monitor --------------------------------------------------------- */

static int cmd_monitor(int argc, char **argv)
{
	struct target t;
	int interval = 2, wait_ms = 20, confirm = 3, opt, misses = 0, nports = 1, k = 0;
	int state = -1;        /* -1 unknown, 1 allowed, 0 denied */
	int64_t first_miss = 0;
	uint16_t port0;

	while ((opt = getopt(argc, argv, "i:w:n:P:")) != -1) {
		if (opt == 'i')
			interval = parse_uint(optarg, 60000);
		else if (opt == 'w')
			wait_ms = parse_uint(optarg, 60000);
		else if (opt == 'n')
			confirm = parse_uint(optarg, 1000);
		else if (opt == 'P')
			nports = parse_uint(optarg, 1000);
		else
			die("usage: netcheck monitor [-i MS] [-w MS] [-n N] [-P NPORTS] TARGET%s", "");
	}
	if (optind != argc - 1 || confirm < 1 || nports < 1)
		die("usage: netcheck monitor [-i MS] [-w MS] [-n N] [-P NPORTS] TARGET%s", "");
	parse_target(&t, argv[optind]);
	if (t.udp)
		die("monitor: TCP targets only: %s", argv[optind]);
	port0 = ntohs(t.sa.sin_port);
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (;;) {
		int64_t start = now_ns(CLOCK_REALTIME);
		struct pollfd p;
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), e = 0, ok = 0;
		socklen_t len = sizeof(e);

		if (fd < 0)
			die("socket: %s", strerror(errno));
		/* several destination ports: thousands of attempts a minute
		 * otherwise recycle the kernel's ephemeral source ports, i.e.
		 * whole 5-tuples */
		t.sa.sin_port = htons((uint16_t)(port0 + k++ % nports));
		if (!connect(fd, (struct sockaddr *)&t.sa, sizeof(t.sa))) {
			ok = 1;
		} else if (errno == EINPROGRESS) {
			p.fd = fd;
			p.events = POLLOUT;
			if (poll(&p, 1, wait_ms) == 1 &&
			    !getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) && !e)
				ok = 1;
		}
		close_rst(fd);
		if (ok) {
			misses = 0;
			if (state != 1)
				printf("%lld allowed\n", (long long)start);
			state = 1;
		} else {
			if (!misses++)
				first_miss = start;
			if (misses >= confirm && state != 0) {
				printf("%lld denied\n", (long long)first_miss);
				state = 0;
			}
		}
		usleep((useconds_t)interval * 1000);
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		die("usage: netcheck serve|probe|session|monitor ...%s", "");
	if (!strcmp(argv[1], "serve"))
		return cmd_serve(argc - 1, argv + 1);
	if (!strcmp(argv[1], "probe"))
		return cmd_probe(argc - 1, argv + 1);
	if (!strcmp(argv[1], "session"))
		return cmd_session(argc - 1, argv + 1);
	if (!strcmp(argv[1], "monitor"))
		return cmd_monitor(argc - 1, argv + 1);
	die("unknown command %s", argv[1]);
	return 2;
}

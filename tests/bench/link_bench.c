// SPDX-License-Identifier: Apache-2.0
/* Link set-up benchmark (tests/bench/bench-link.sh): the netlink calls the
 * agent makes to wire one pod (pods.c: CNI ADD), to CHECK it and to remove
 * it (DEL), timed per pod over namespaces <prefix>0..<prefix>N-1 that the
 * script created, plain and with the pod-side calls grouped under
 * link_ns_hold(). Run inside a node network namespace: the "host" side of
 * every veth is that namespace. Baseline in the same run: one plain libnl
 * request (RTM_GETLINK of lo) on a socket opened once in the caller's own
 * namespace, the floor of a call without any namespace handling. */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <netlink/netlink.h>
#include <netlink/route/link.h>

#include "dataplane/link.h"

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double pct(double *v, int n, int p)
{
	int r = (p * n + 99) / 100;

	qsort(v, n, sizeof(*v), cmp_d);
	return v[r < 1 ? 0 : r - 1];
}

#define CALLS_ADD   12     /* link.c calls per pod in wire() */
#define CALLS_CHECK 8

static int wire(const char *host, int fd, uint32_t ip, uint32_t gw, bool hold,
		struct gerr *e)
{
	uint8_t hmac[6], pmac[6];
	int ret = -1;

	/* the order of pods_add() */
	if (link_ifindex(host, -1, NULL) > 0 || link_ifindex("eth0", fd, NULL) > 0)
		return gerr_set(e, -EEXIST, "%s or eth0 exists", host);
	if (hold && link_ns_hold(fd, e))
		return -1;
	if (link_veth_create(host, "eth0", fd, 1500, e) ||
	    link_ifindex(host, -1, e) <= 0 ||
	    link_get_mac(host, -1, hmac, e) ||
	    link_get_mac("eth0", fd, pmac, e) ||
	    link_set_up("eth0", fd, e) ||
	    link_addr_add("eth0", fd, ip, 32, e) ||
	    link_neigh_add_permanent("eth0", fd, gw, hmac, e) ||
	    link_route_add("eth0", fd, 0, 0, gw, e) ||
	    link_route_add(host, -1, ip, 32, 0, e) ||
	    link_neigh_add_permanent(host, -1, ip, pmac, e))
		goto out;
	ret = 0;
out:
	if (hold)
		link_ns_release();
	return ret;
}

static int check(const char *host, int fd, uint32_t ip, uint32_t gw, struct gerr *e)
{
	uint8_t hmac[6], pmac[6];

	/* the order of pods_check() */
	if (link_ifindex(host, -1, e) <= 0 || link_get_mac("eth0", fd, pmac, e) ||
	    link_addr_has("eth0", fd, ip, e) != 1 || link_get_mac(host, -1, hmac, e) ||
	    link_neigh_has_permanent("eth0", fd, gw, hmac, e) != 1 ||
	    link_route_has("eth0", fd, 0, 0, gw, e) != 1 ||
	    link_route_has(host, -1, ip, 32, 0, e) != 1 ||
	    link_neigh_has_permanent(host, -1, ip, pmac, e) != 1)
		return gerr_set(e, -EIO, "check of %s failed: %s", host, e->msg);
	return 0;
}

/* One pass over the n namespaces: per pod ADD, CHECK and DEL times. Odd
 * pods are wired under link_ns_hold (hadd[i / 2]): interleaved, both kinds
 * see the same load and the same backlog of kernel clean-up. */
static int pass(const char *prefix, int n, double *add, double *hadd, double *chk, double *del)
{
	uint32_t gw;

	inet_pton(AF_INET, "169.254.1.1", &gw);
	for (int i = 0; i < n; i++) {
		char path[300], host[16];
		struct gerr e = { 0 };
		uint32_t ip = htonl(0x0af40000u | (uint32_t)(i + 2));   /* 10.244.x.y */
		int fd;
		double t0, t1, t2, t3;

		snprintf(path, sizeof(path), "/run/netns/%s%d", prefix, i);
		snprintf(host, sizeof(host), "gntb%d", i);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			fprintf(stderr, "%s: %s\n", path, strerror(errno));
			return -1;
		}
		t0 = now_us();
		if (wire(host, fd, ip, gw, i % 2, &e)) {
			fprintf(stderr, "wire %s: %s\n", host, e.msg);
			return -1;
		}
		t1 = now_us();
		if (check(host, fd, ip, gw, &e)) {
			fprintf(stderr, "%s\n", e.msg);
			return -1;
		}
		t2 = now_us();
		if (link_delete(host, -1, &e)) {
			fprintf(stderr, "delete %s: %s\n", host, e.msg);
			return -1;
		}
		t3 = now_us();
		close(fd);
		if (i % 2)
			hadd[i / 2] = t1 - t0;
		else
			add[i / 2] = t1 - t0;
		chk[i] = t2 - t1;
		del[i] = t3 - t2;
	}
	return 0;
}

/* The floor: RTM_GETLINK of lo on one socket, no namespace handling. */
static double floor_us(int n)
{
	struct nl_sock *sk = nl_socket_alloc();
	double t0;

	if (!sk || nl_connect(sk, NETLINK_ROUTE) < 0)
		return -1;
	t0 = now_us();
	for (int i = 0; i < n; i++) {
		struct rtnl_link *l;

		if (rtnl_link_get_kernel(sk, 0, "lo", &l) < 0)
			return -1;
		rtnl_link_put(l);
	}
	t0 = (now_us() - t0) / n;
	nl_socket_free(sk);
	return t0;
}

static void row(const char *what, int n, double *v)
{
	printf("%-44s %6d %9.0f %9.0f %9.0f\n", what, n, pct(v, n, 50), pct(v, n, 90),
	       pct(v, n, 100));
}

int main(int argc, char **argv)
{
	int n = argc > 2 ? atoi(argv[2]) : 0, floor_n = 2000;
	double *add, *chk, *del, *hadd, fl;

	if (argc < 3 || n < 2) {
		fprintf(stderr, "usage: %s NETNS-PREFIX N (run in a node netns)\n", argv[0]);
		return 2;
	}
	add = calloc(n, sizeof(double));
	chk = calloc(n, sizeof(double));
	del = calloc(n, sizeof(double));
	hadd = calloc(n, sizeof(double));
	if (!add || !chk || !del || !hadd)
		return 1;
	if (pass(argv[1], n, add, hadd, chk, del))
		return 1;
	fl = floor_us(floor_n);
	if (fl <= 0)
		return 1;
	printf("%-44s %6s %9s %9s %9s\n", "link.c, per pod (us)", "n", "p50", "p90", "max");
	row("ADD wiring (12 calls, 7 into the pod)", (n + 1) / 2, add);
	row("ADD wiring, pod calls under link_ns_hold", n / 2, hadd);
	row("CHECK (8 calls, 4 into the pod)", n, chk);
	row("DEL (host veth)", n, del);
	printf("%-44s %6d %9.1f\n", "baseline: one libnl request, own socket", floor_n, fl);
	printf("%-44s %6s %9.1f\n", "ADD p50 per call / baseline", "-",
	       pct(add, (n + 1) / 2, 50) / CALLS_ADD / fl);
	printf("%-44s %6s %9.1f\n", "ADD+hold p50 per call / baseline", "-",
	       pct(hadd, n / 2, 50) / CALLS_ADD / fl);
	printf("%-44s %6s %9.1f\n", "CHECK p50 per call / baseline", "-",
	       pct(chk, n, 50) / CALLS_CHECK / fl);
	free(add);
	free(chk);
	free(del);
	free(hadd);
	return 0;
}

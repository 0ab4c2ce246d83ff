/* SPDX-License-Identifier: Apache-2.0 */
/* Service datapath benchmark driver (tests/bench/bench-services.sh): loads
 * a node through libgannet-dataplane with room for N services (pins under
 * a private /sys/fs/bpf/gannet-test-* directory, nothing attached),
 * programs N ClusterIP services of 2 backends each from scratch (timed),
 * then one change (median of 101), then measures the pod program's
 * per-packet cost with BPF_PROG_RUN (median kernel-timed duration of -R
 * single-packet runs) for a packet to a VIP (conntrack hit: the steady
 * state of a flow), for new flows (-f distinct source ports: service
 * lookup, Maglev, two conntrack inserts) and, as baseline, a pod-to-pod
 * packet that is no service's. Prints one JSON object.
 * With -k NODE (live-frames runs): programs N UDP ClusterIP services
 * (10.96.0.1 + i, port 80) whose backend is the local pod 10.244.1.3:80
 * (gannet-pktgen's sink counts by UDP port) into a node NODE of node IP 192.168.77.1 and pod CIDR
 * 10.244.1.0/24, prints the programming time and leaves the node pinned
 * (the caller adds the endpoints, attaching the pod program to real
 * veths, and destroys it). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_ether.h>
#include <netinet/in.h>

#include "bpf/lib/common.h"
#include "dataplane/dataplane.h"
#include "tests/bpf/pktbuild.h"
#include "tests/bpf/progrun.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static uint32_t vip_of(uint32_t i)
{
	return htonl(0x0a600000u + 1 + i);           /* 10.96.0.1 + i */
}

static void backends_of(uint32_t i, struct dp_backend b[2], uint32_t gen)
{
	memset(b, 0, 2 * sizeof(*b));
	/* a pool of 2000 pod IPs shared by all services, like real clusters */
	for (int k = 0; k < 2; k++) {
		uint32_t n = (i * 2 + k + gen) % 2000;

		b[k].ip = htonl(0x0af40000u | ((1 + n / 250) << 8) | (2 + n % 250));
		b[k].port = 8080;
		b[k].node_ip = htonl(0xc0a84d01u);
		b[k].local = true;
	}
}

static int prog_run(int fd, const struct pkt *p, uint32_t repeat, uint32_t *dur, int *ret)
{
	uint8_t out[PKT_MAX + 256];
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = p->buf, .data_size_in = (uint32_t)p->len,
		    .data_out = out, .data_size_out = sizeof(out), .repeat = repeat);
	int err = bpf_prog_test_run_opts(fd, &o);

	*dur = o.duration;
	*ret = (int)o.retval;
	return err;
}

/* BPF_PROG_RUN of a tc program reruns `repeat` times on the same skb,
 * which the program rewrites (NAT, MACs, TTL): so every sample is its own
 * run of one packet, and the figure is the mean of the kernel-timed
 * durations, median (program plus the test harness's constant timer overhead,
 * the same for every row). */
static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* median: the machine is shared, means would carry other jobs' noise */
static int avg_single(int fd, const struct pkt *p, uint32_t count, double *ns, int *ret)
{
	uint32_t *v = calloc(count, sizeof(*v));

	if (!v)
		return -1;
	for (uint32_t i = 0; i < count; i++) {
		if (prog_run(fd, p, 1, &v[i], ret)) {
			free(v);
			return -1;
		}
	}
	qsort(v, count, sizeof(*v), cmp_u32);
	*ns = v[count / 2];
	free(v);
	return 0;
}

static void mk(struct pkt *p, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport)
{
	static const uint8_t m1[6] = { 2, 0xaa, 0, 0, 0, 1 }, m2[6] = { 2, 0xaa, 0, 0, 0, 0xf1 };
	char s[16], d[16];

	inet_ntop(AF_INET, &src, s, sizeof(s));
	inet_ntop(AF_INET, &dst, d, sizeof(d));
	memset(p, 0, sizeof(*p));
	pkt_eth(p, m2, m1, ETH_P_IP);
	pkt_ipv4(p, s, d, IPPROTO_TCP, 64);
	pkt_tcp(p, sport, dport);
	pkt_payload(p, 10);                   /* 64-byte frame */
	pkt_finish(p);
}

/* The bench node: 10.244.1.0/24 in 10.244.0.0/16, node IP 192.168.77.1,
 * room for n services. */
static void bench_cfg(struct dp_config *cfg, const char *pin_root, const char *node, uint32_t n)
{
	cfg->node_name = node;
	cfg->pin_root = pin_root;
	cfg->node_ip = htonl(0xc0a84d01u);
	cfg->pod_cidr = htonl(0x0af40100u);
	cfg->cluster_cidr = htonl(0x0af40000u);
	cfg->max_services = n < 1024 ? 1024 : n + 16;
}

/* -k: see the top comment */
static int program_live(const char *pin_root, const char *node, uint32_t n)
{
	struct dp_config cfg = { .pod_prefix_len = 24, .cluster_prefix_len = 16 };
	struct dp_backend b = { .port = 80, .local = true };
	struct dp_node *dp = NULL;
	struct gerr err = { 0 };
	double t0;

	bench_cfg(&cfg, pin_root, node, n);
	b.ip = htonl(0x0af40103u);
	b.node_ip = cfg.node_ip;
	if (dp_open(&cfg, &dp, &err)) {
		fprintf(stderr, "dp_open: %s\n", err.msg);
		return 1;
	}
	t0 = now_s();
	for (uint32_t i = 0; i < n; i++) {
		struct dp_service s = { .vip = vip_of(i), .port = 80, .proto = IPPROTO_UDP };

		if (dp_service_upsert(dp, &s, &b, 1, &err)) {
			fprintf(stderr, "upsert %u: %s\n", i, err.msg);
			dp_close(dp);
			return 1;
		}
	}
	printf("{\"services\":%u,\"program_all_s\":%.4f}\n", n, now_s() - t0);
	dp_close(dp);
	return 0;
}

int main(int argc, char **argv)
{
	const char *pin_root = NULL;
	uint32_t n = 1000, repeat = 20000, flows = 2000;
	const char *keep = NULL;
	struct dp_config cfg = { .pod_prefix_len = 24, .cluster_prefix_len = 16 };
	char node[64];
	struct dp_node *dp = NULL;
	struct gerr err = { 0 };
	struct dp_backend b[2];
	double t0, t_all, *chg = NULL, miss_ns = 0;
	uint32_t dur;
	double dur_svc = 0, dur_base = 0;
	int c, rv, prog = -1, fd_ep = -1, fd_ct = -1, ret = 1;
	char path[512];
	struct pkt p;

	while ((c = getopt(argc, argv, "r:n:R:f:k:")) != -1) {
		switch (c) {
		case 'r': pin_root = optarg; break;
		case 'n': n = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'R': repeat = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'f': flows = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'k': keep = optarg; break;
		default:
			fprintf(stderr, "usage: svc_bench -r PIN_ROOT [-n SERVICES] [-R REPEAT] [-f FLOWS] [-k NODE]\n");
			return 2;
		}
	}
	if (!pin_root || !n)
		return 2;
	if (keep)
		return program_live(pin_root, keep, n);
	/* a fresh node every run: pins left by a crashed run (with its fake
	 * endpoints) are never re-opened and re-attached */
	snprintf(node, sizeof(node), "bench-%d", (int)getpid());
	bench_cfg(&cfg, pin_root, node, n);
	if (dp_open(&cfg, &dp, &err)) {
		fprintf(stderr, "dp_open: %s\n", err.msg);
		goto out;
	}

	/* program all from scratch */
	t0 = now_s();
	for (uint32_t i = 0; i < n; i++) {
		struct dp_service s = { .vip = vip_of(i), .port = 80, .proto = IPPROTO_TCP };

		backends_of(i, b, 0);
		if (dp_service_upsert(dp, &s, b, 2, &err)) {
			fprintf(stderr, "upsert %u: %s\n", i, err.msg);
			goto out;
		}
	}
	t_all = now_s() - t0;

	/* one change: swap the backend set of one service, 101 times */
	chg = calloc(101, sizeof(*chg));
	for (int k = 0; chg && k < 101; k++) {
		struct dp_service s = { .vip = vip_of(n / 2), .port = 80, .proto = IPPROTO_TCP };

		backends_of(n / 2, b, (uint32_t)(k + 1));
		t0 = now_s();
		if (dp_service_upsert(dp, &s, b, 2, &err)) {
			fprintf(stderr, "change: %s\n", err.msg);
			goto out;
		}
		chg[k] = now_s() - t0;
	}
	qsort(chg, 101, sizeof(*chg), cmp_d);

	/* endpoints: client 10.244.1.1 on "lo" (PROG_RUN's ifindex) and
	 * every pool backend, so packets are delivered, not dropped */
	snprintf(path, sizeof(path), "%s/%s/gnt_endpoints", pin_root, node);
	fd_ep = bpf_obj_get(path);
	snprintf(path, sizeof(path), "%s/%s/gnt_ct", pin_root, node);
	fd_ct = bpf_obj_get(path);
	snprintf(path, sizeof(path), "%s/%s/prog_pod", pin_root, node);
	prog = bpf_obj_get(path);
	if (fd_ep < 0 || fd_ct < 0 || prog < 0) {
		fprintf(stderr, "pins: %s\n", strerror(errno));
		goto out;
	}
	for (uint32_t k = 0; k < 2000 + 1; k++) {
		struct gnt_endpoint e = { .ifindex = 1, .mac = { 2, 0xbb }, .host_mac = { 2, 0xcc } };
		uint32_t ip = k == 2000 ? htonl(0x0af40101u)
			      : htonl(0x0af40000u | ((1 + k / 250) << 8) | (2 + k % 250));

		bpf_map_update_elem(fd_ep, &ip, &e, BPF_ANY);
	}

	/* service packet, conntrack hit (the first run creates the entry) */
	mk(&p, htonl(0x0af40101u), vip_of(n / 2), 40000, 80);
	if (prog_run(prog, &p, 1, &dur, &rv) || avg_single(prog, &p, repeat, &dur_svc, &rv))
		goto out;
	if (rv != 7 /* TC_ACT_REDIRECT: delivered to the backend */) {
		fprintf(stderr, "service packet verdict %d, expected redirect\n", rv);
		goto out;
	}
	/* new flows: one run each with a fresh source port (miss path:
	 * service lookup, Maglev, two conntrack inserts) */
	{
		uint32_t *v = calloc(flows, sizeof(*v));

		if (!v)
			goto out;
		for (uint32_t f = 0; f < flows; f++) {
			mk(&p, htonl(0x0af40101u), vip_of((n / 2 + f) % n), (uint16_t)(1024 + f), 80);
			if (prog_run(prog, &p, 1, &v[f], &rv)) {
				free(v);
				goto out;
			}
		}
		qsort(v, flows, sizeof(*v), cmp_u32);
		miss_ns = v[flows / 2];
		free(v);
	}
	/* baseline: pod to pod, no service */
	mk(&p, htonl(0x0af40101u), htonl(0x0af40102u), 40000, 80);
	if (avg_single(prog, &p, repeat, &dur_base, &rv))
		goto out;
	if (rv != 7) {
		fprintf(stderr, "pod packet verdict %d, expected redirect\n", rv);
		goto out;
	}

	printf("{\"services\":%u,\"program_all_s\":%.4f,\"change_ms\":%.4f,"
	       "\"ns_svc_hit\":%.1f,\"ns_svc_new_flow\":%.1f,\"ns_no_svc\":%.1f}\n",
	       n, t_all, chg ? chg[50] * 1e3 : -1.0, dur_svc, miss_ns, dur_base);
	ret = 0;
out:
	free(chg);
	if (fd_ep >= 0) {
		/* fake endpoints (lo) must not make dp_destroy touch the
		 * root netns: forget them first */
		prun_map_clear_u32(fd_ep);
		close(fd_ep);
	}
	if (fd_ct >= 0)
		close(fd_ct);
	if (prog >= 0)
		close(prog);
	dp_close(dp);
	dp_destroy(pin_root, node, NULL, NULL);
	return ret;
}

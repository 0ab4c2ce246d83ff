/* SPDX-License-Identifier: Apache-2.0 */
/* NetworkPolicy datapath benchmark driver (tests/bench/bench-policy.sh).
 * A synthetic cluster (50 namespaces, 2000 pods, 500 label sets) and N
 * NetworkPolicy objects go through the policies/ engine; the rules it
 * computes for one destination pod X (selected by the policies of its
 * namespace that match it, a realistic share) are programmed with
 * dp_policy_set on a node loaded through libgannet-dataplane (pins under a
 * private /sys/fs/bpf/gannet-test-* directory, nothing attached). Then the
 * pod program's per-packet cost by BPF_PROG_RUN (median of single-packet
 * runs, as svc_bench) for a packet S -> X:80 allowed by policy:
 *   - new flow (fresh source port: conntrack miss, allow-set lookups, two
 *     conntrack inserts), established (conntrack hit), and a new flow from
 *     a pod no entry allows (denied: every probe misses);
 *   - with -u: X unpoliced (no policy at all), the baseline.
 * With -L OBJ (tests/bpf/policy_lookup.bpf.o) also the lookup alone, hash
 * encoding vs the LPM trie encoding, on X's entries (BPF_PROG_RUN repeat,
 * mean ns, minus a run without lookups).
 * With -o DIR the same policies are also written as kube-router-shaped
 * iptables rules (per-pod firewall chains jumping to per-policy chains
 * matching ipset source sets and ports) for the script's iptables run:
 * DIR/ipset (ipset restore) and DIR/iptables (iptables-restore).
 * Prints one JSON object. */
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
#include "policies/policy.h"
#include "tests/bpf/pktbuild.h"
#include "tests/bpf/progrun.h"

#define NS 50
#define PODS 2000
#define APPS 10
#define TEAMS 5
#define POD_X 1000                 /* ns0, app a0: the destination */
#define POD_S 1050                 /* ns0, app a1: the allowed client */
#define POD_D 1001                 /* ns1, app a0: a client no entry allows */

static int pod_ns(int j) { return j % NS; }
static int pod_app(int j) { return (j / NS) % APPS; }
static int ns_team(int i) { return i % TEAMS; }

static uint32_t pod_ip(int j)
{
	return htonl(0x0af40000u | ((uint32_t)(1 + j / 250) << 8) | (uint32_t)(2 + j % 250));
}

static const char *ipstr(uint32_t ip, char *b)
{
	return inet_ntop(AF_INET, &ip, b, INET_ADDRSTRLEN);
}

/* ------------------------------------------------------------ policies */

/* Policy k (k < 0: the allowing one). kind of its peer: 0 pods of its
 * namespace by app, 1 namespaces by team, 2 both, 3 an ipBlock. */
struct pspec {
	int ns;
	int sel_all;            /* podSelector {} */
	int sel_app;
	int kind;
	int peer_app, peer_team;
	int port, range_lo, range_hi;   /* tcp; range 0 = none */
	int udp;                /* also udp port (the allowing policy) */
};

static void spec(int k, struct pspec *p)
{
	memset(p, 0, sizeof(*p));
	if (k < 0) {            /* allow-s: X from app a1 of ns0, tcp+udp 80 */
		p->ns = 0;
		p->sel_app = 0;
		p->kind = 0;
		p->peer_app = 1;
		p->port = 80;
		p->udp = 1;
		return;
	}
	p->ns = k % NS;
	p->sel_all = k % 10 == 0;
	p->sel_app = (k / NS) % APPS;
	p->kind = k % 4;
	p->peer_app = (k / 7) % APPS;
	p->peer_team = k % TEAMS;
	p->port = 1000 + k % 5000;
	if (k % 3 == 0) {
		p->range_lo = 20000 + k % 100;
		p->range_hi = p->range_lo + 50;
	}
}

static json_t *policy_json(int k, const struct pspec *p)
{
	char doc[1024], sel[128], peer[256], ports[256];

	if (p->sel_all)
		snprintf(sel, sizeof(sel), "{}");
	else
		snprintf(sel, sizeof(sel), "{\"matchLabels\":{\"app\":\"a%d\"}}", p->sel_app);
	switch (p->kind) {
	case 0:
		snprintf(peer, sizeof(peer), "{\"podSelector\":{\"matchLabels\":{\"app\":\"a%d\"}}}",
			 p->peer_app);
		break;
	case 1:
		snprintf(peer, sizeof(peer),
			 "{\"namespaceSelector\":{\"matchLabels\":{\"team\":\"t%d\"}}}", p->peer_team);
		break;
	case 2:
		snprintf(peer, sizeof(peer),
			 "{\"namespaceSelector\":{\"matchLabels\":{\"team\":\"t%d\"}},"
			 "\"podSelector\":{\"matchLabels\":{\"app\":\"a%d\"}}}", p->peer_team, p->peer_app);
		break;
	default:
		snprintf(peer, sizeof(peer), "{\"ipBlock\":{\"cidr\":\"172.%d.%d.0/24\"}}",
			 16 + (k / 256) % 16, k % 256);
		break;
	}
	if (p->range_lo)
		snprintf(ports, sizeof(ports), "{\"port\":%d},{\"port\":%d,\"endPort\":%d}", p->port,
			 p->range_lo, p->range_hi);
	else if (p->udp)
		snprintf(ports, sizeof(ports), "{\"port\":%d},{\"port\":%d,\"protocol\":\"UDP\"}",
			 p->port, p->port);
	else
		snprintf(ports, sizeof(ports), "{\"port\":%d}", p->port);
	snprintf(doc, sizeof(doc),
		 "{\"metadata\":{\"name\":\"p%d\",\"namespace\":\"ns%d\"},\"spec\":{"
		 "\"podSelector\":%s,\"ingress\":[{\"from\":[%s],\"ports\":[%s]}]}}",
		 k < 0 ? 999999 : k, p->ns, sel, peer, ports);
	return json_loads(doc, 0, NULL);
}

static int selects(const struct pspec *p, int j)
{
	return pod_ns(j) == p->ns && (p->sel_all || pod_app(j) == p->sel_app);
}

static int peer_has(const struct pspec *p, int j)
{
	switch (p->kind) {
	case 0: return pod_ns(j) == p->ns && pod_app(j) == p->peer_app;
	case 1: return ns_team(pod_ns(j)) == p->peer_team;
	case 2: return ns_team(pod_ns(j)) == p->peer_team && pod_app(j) == p->peer_app;
	}
	return 0;
}

/* kube-router-shaped rules. Source sets are shared by content (same peer
 * = same set), as Calico does; kube-router makes one per policy rule, which
 * only adds sets, not per-packet work. */
static int write_iptables(const char *dir, int n)
{
	char path[512], b[INET_ADDRSTRLEN];
	FILE *fs, *ft;
	unsigned char *pol_of_x = NULL;
	static unsigned char set_done[4][NS * APPS * TEAMS + 4096];

	memset(set_done, 0, sizeof(set_done));
	snprintf(path, sizeof(path), "%s/ipset", dir);
	fs = fopen(path, "w");
	snprintf(path, sizeof(path), "%s/iptables", dir);
	ft = fopen(path, "w");
	if (!fs || !ft)
		return -errno;
	fprintf(ft, "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
		":KUBE-ROUTER-OUTPUT - [0:0]\n");
	(void)pol_of_x;
	/* per-policy chains and their sets */
	for (int k = -1; k < n; k++) {
		struct pspec p;
		char set[64];
		int key;

		spec(k, &p);
		switch (p.kind) {
		case 0: key = p.ns * APPS + p.peer_app; break;
		case 1: key = NS * APPS + p.peer_team; break;
		case 2: key = NS * APPS + TEAMS + p.peer_team * APPS + p.peer_app; break;
		default: key = (k / 256 % 16) * 256 + k % 256; break;
		}
		snprintf(set, sizeof(set), "KUBE-SRC-%d-%d", p.kind == 3 ? 3 : 0, key);
		if (!set_done[p.kind == 3 ? 3 : 0][key]) {
			set_done[p.kind == 3 ? 3 : 0][key] = 1;
			if (p.kind == 3) {
				fprintf(fs, "create %s hash:net family inet\n", set);
				fprintf(fs, "add %s 172.%d.%d.0/24\n", set, 16 + (k / 256) % 16, k % 256);
			} else {
				fprintf(fs, "create %s hash:ip family inet maxelem 65536\n", set);
				for (int j = 0; j < PODS; j++)
					if (peer_has(&p, j))
						fprintf(fs, "add %s %s\n", set, ipstr(pod_ip(j), b));
			}
		}
		fprintf(ft, ":KUBE-NWPLCY-%d - [0:0]\n", k + 1);
		fprintf(ft, "-A KUBE-NWPLCY-%d -p tcp -m set --match-set %s src -m tcp --dport %d "
			"-j MARK --set-xmark 0x10000/0x10000\n", k + 1, set, p.port);
		if (p.udp)
			fprintf(ft, "-A KUBE-NWPLCY-%d -p udp -m set --match-set %s src -m udp --dport %d "
				"-j MARK --set-xmark 0x10000/0x10000\n", k + 1, set, p.port);
		if (p.range_lo)
			fprintf(ft, "-A KUBE-NWPLCY-%d -p tcp -m set --match-set %s src -m tcp "
				"--dport %d:%d -j MARK --set-xmark 0x10000/0x10000\n", k + 1, set,
				p.range_lo, p.range_hi);
		fprintf(ft, "-A KUBE-NWPLCY-%d -m mark --mark 0x10000/0x10000 -j RETURN\n", k + 1);
	}
	/* per-pod firewall chains: every selecting policy, then reject what
	 * none marked; dispatch by destination in pod order */
	for (int j = 0; j < PODS; j++) {
		int any = 0;

		for (int k = -1; k < n; k++) {
			struct pspec p;

			spec(k, &p);
			if (!selects(&p, j))
				continue;
			if (!any) {
				fprintf(ft, ":KUBE-POD-FW-%d - [0:0]\n", j);
				fprintf(ft, "-A KUBE-POD-FW-%d -m conntrack --ctstate RELATED,ESTABLISHED "
					"-j ACCEPT\n", j);
				any = 1;
			}
			fprintf(ft, "-A KUBE-POD-FW-%d -j KUBE-NWPLCY-%d\n", j, k + 1);
		}
		if (!any)
			continue;
		fprintf(ft, "-A KUBE-POD-FW-%d -m mark ! --mark 0x10000/0x10000 -j REJECT\n", j);
		fprintf(ft, "-A KUBE-POD-FW-%d -j MARK --set-xmark 0x0/0x10000\n", j);
		fprintf(ft, "-A KUBE-ROUTER-OUTPUT -d %s/32 -j KUBE-POD-FW-%d\n", ipstr(pod_ip(j), b), j);
	}
	fprintf(ft, "-A OUTPUT -j KUBE-ROUTER-OUTPUT\nCOMMIT\n");
	fclose(fs);
	fclose(ft);
	return 0;
}

/* ------------------------------------------------------------ lookups */

struct bench_args {
	__u32 mode;
	__u32 identity;
	__u16 port;
	__u8 proto;
	__u8 pad;
};

static int run_xdp(int prog, double *ns)
{
	uint8_t buf[64] = { 0 };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = buf, .data_size_in = sizeof(buf),
		    .repeat = 200000);

	if (bpf_prog_test_run_opts(prog, &o))
		return -1;
	*ns = o.duration;
	return (int)o.retval;
}

/* ns per lookup of (id, proto, port) in X's entries: hash (mode 0) and
 * LPM (mode 1), each minus the no-lookup run; want: XDP verdict */
static int lookup_bench(const char *obj_path, const struct pol_rules *r, uint32_t id,
			uint16_t port, double out[2])
{
	struct bpf_object *obj = bpf_object__open_file(obj_path, NULL);
	int fd_args, fd_h, fd_l, prog, ret = -1;
	struct pol_lpm_key *lk = NULL;
	double base = 0, t;
	uint32_t zero = 0;
	int nl;

	struct bpf_map *m;

	if (!obj)
		goto out;
	/* the object carries the datapath's map definitions (policy.h
	 * includes maps.h), pinned by name: never pin them (that would be
	 * the bpffs root), this measurement needs private maps only */
	bpf_object__for_each_map(m, obj)
		bpf_map__set_pin_path(m, NULL);
	if (bpf_object__load(obj))
		goto out;
	fd_args = bpf_object__find_map_fd_by_name(obj, "args");
	fd_h = bpf_object__find_map_fd_by_name(obj, "set_hash");
	fd_l = bpf_object__find_map_fd_by_name(obj, "set_lpm");
	prog = bpf_program__fd(bpf_object__find_program_by_name(obj, "policy_lookup"));
	if (fd_args < 0 || fd_h < 0 || fd_l < 0 || prog < 0)
		goto out;
	/* hash: the datapath's encoding, as dataplane/policy.c writes it */
	for (size_t i = 0; i < r->n; i++) {
		const struct pol_entry *x = &r->entries[i];
		struct gnt_pol_key mk = { .identity = x->identity, .proto = GNT_POL_META };
		struct gnt_pol_val mv = { 0 }, v = { 0 };
		struct pol_port_block blk[32];
		int nb = 1;

		bpf_map_lookup_elem(fd_h, &mk, &mv);
		if (!x->proto || !x->port_lo) {
			blk[0].port = 0;
			blk[0].prefixlen = 0;
		} else {
			nb = pol_port_blocks(x->port_lo, x->port_hi, blk, 32);
		}
		for (int b = 0; b < nb; b++) {
			struct gnt_pol_key k = { .identity = x->identity, .proto = x->proto,
						 .plen = blk[b].prefixlen, .port = blk[b].port };

			bpf_map_update_elem(fd_h, &k, &v, BPF_ANY);
			mv.lens |= x->proto ? 1U << blk[b].prefixlen : GNT_POL_META_ANYPROTO;
		}
		bpf_map_update_elem(fd_h, &mk, &mv, BPF_ANY);
	}
	/* LPM: the engine's reference encoding */
	lk = calloc(r->n * 32 + 1, sizeof(*lk));
	nl = lk ? pol_rules_lpm_keys(r, lk, r->n * 32 + 1) : -1;
	for (int i = 0; i < nl; i++) {
		uint8_t one = 1;

		bpf_map_update_elem(fd_l, &lk[i], &one, BPF_ANY);
	}
	for (int mode = 2; mode >= 0; mode--) {
		struct bench_args a = { .mode = (uint32_t)mode, .identity = id, .port = port,
					.proto = IPPROTO_TCP };
		double best = 1e18;

		bpf_map_update_elem(fd_args, &zero, &a, BPF_ANY);
		for (int rep = 0; rep < 5; rep++) {
			if (run_xdp(prog, &t) < 0)
				goto out;
			if (t < best)
				best = t;
		}
		if (mode == 2)
			base = best;
		else
			out[mode] = best - base;
	}
	ret = 0;
out:
	free(lk);
	bpf_object__close(obj);
	return ret;
}

/* ------------------------------------------------------------ timing */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int prog_run(int fd, const struct pkt *p, uint32_t *dur, int *ret)
{
	uint8_t out[PKT_MAX + 256];
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = p->buf, .data_size_in = (uint32_t)p->len,
		    .data_out = out, .data_size_out = sizeof(out), .repeat = 1);
	int err = bpf_prog_test_run_opts(fd, &o);

	*dur = o.duration;
	*ret = (int)o.retval;
	return err;
}

/* syn: a new connection's first segment; else an established one's (ACK:
 * conntrack lets only those skip the policy lookups) */
static void mk(struct pkt *p, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
	       int syn)
{
	static const uint8_t m1[6] = { 2, 0xaa, 0, 0, 0, 1 }, m2[6] = { 2, 0xaa, 0, 0, 0, 0xf1 };
	char s[16], d[16];

	inet_ntop(AF_INET, &src, s, sizeof(s));
	inet_ntop(AF_INET, &dst, d, sizeof(d));
	memset(p, 0, sizeof(*p));
	pkt_eth(p, m2, m1, ETH_P_IP);
	pkt_ipv4(p, s, d, IPPROTO_TCP, 64);
	pkt_tcp(p, sport, dport);
	if (!syn)
		p->buf[14 + 20 + 13] = 0x10;
	pkt_payload(p, 10);
	pkt_finish(p);
}

/* median ns over count single-packet runs; new_flows: a fresh source port
 * each (sport 1024..), else the same packet */
static int measure(int prog, uint32_t src, uint32_t dst, uint32_t count, int new_flows,
		   int want, double *ns)
{
	uint32_t *v = calloc(count, sizeof(*v));
	struct pkt p;
	int rv = 0;

	if (!v)
		return -1;
	mk(&p, src, dst, 40000, 80, 0);
	for (uint32_t i = 0; i < count; i++) {
		if (new_flows)
			mk(&p, src, dst, (uint16_t)(1024 + i % 60000), 80, 1);
		if (prog_run(prog, &p, &v[i], &rv) || rv != want) {
			fprintf(stderr, "verdict %d, expected %d\n", rv, want);
			free(v);
			return -1;
		}
	}
	qsort(v, count, sizeof(*v), cmp_u32);
	*ns = v[count / 2];
	free(v);
	return 0;
}

int main(int argc, char **argv)
{
	const char *pin_root = NULL, *outdir = NULL, *lookup_obj = NULL;
	double lk_allow[2] = { -1, -1 }, lk_deny[2] = { -1, -1 };
	int n = 0, unpoliced = 0, c, ret = 1, prog = -1, fd_ep = -1, fd_ct = -1;
	uint32_t count = 5000;
	struct dp_config cfg = { .pod_prefix_len = 24, .cluster_prefix_len = 16 };
	struct pol_engine *e = NULL;
	struct dp_pol_entry *ents = NULL;
	const struct pol_rules *r;
	struct gerr err = { 0 };
	struct dp_node *dp = NULL;
	struct pol_changes ch;
	double t0, t_engine = 0, t_set = 0, t_batch = 0, ns_new = 0, ns_est = 0, ns_deny = 0;
	size_t nent = 0;
	int selecting = 0;
	char node[64], path[512];

	while ((c = getopt(argc, argv, "r:n:c:o:uL:")) != -1) {
		switch (c) {
		case 'r': pin_root = optarg; break;
		case 'n': n = atoi(optarg); break;
		case 'c': count = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'o': outdir = optarg; break;
		case 'u': unpoliced = 1; break;
		case 'L': lookup_obj = optarg; break;
		default:
			fprintf(stderr, "usage: policy_dp_bench -r PIN_ROOT [-n POLICIES] [-c RUNS] "
				"[-o DIR] [-u]\n");
			return 2;
		}
	}
	if (!pin_root || !count)
		return 2;
	if (outdir && !unpoliced && write_iptables(outdir, n)) {
		fprintf(stderr, "writing iptables rules: %s\n", strerror(errno));
		return 1;
	}

	/* the engine: namespaces, pods, the allowing policy and n others */
	e = pol_engine_new();
	t0 = now_s();
	pol_begin(e);
	for (int i = 0; i < NS; i++) {
		char name[16], team[8];
		json_t *l;

		snprintf(name, sizeof(name), "ns%d", i);
		snprintf(team, sizeof(team), "t%d", ns_team(i));
		l = json_pack("{ss}", "team", team);
		pol_upsert_namespace(e, name, l, NULL);
		json_decref(l);
	}
	for (int j = 0; j < PODS; j++) {
		char nsn[16], name[16], ip[INET_ADDRSTRLEN], app[8];
		json_t *l;

		snprintf(nsn, sizeof(nsn), "ns%d", pod_ns(j));
		snprintf(name, sizeof(name), "pod%d", j);
		snprintf(app, sizeof(app), "a%d", pod_app(j));
		l = json_pack("{ss}", "app", app);
		pol_upsert_pod(e, nsn, name, l, ipstr(pod_ip(j), ip), NULL, 0, NULL);
		json_decref(l);
	}
	for (int k = unpoliced ? n : -1; k < n; k++) {
		struct pspec p;
		json_t *np;

		spec(k, &p);
		np = policy_json(k, &p);
		if (!np || pol_upsert_policy(e, np, &err)) {
			fprintf(stderr, "policy %d: %s\n", k, err.msg);
			json_decref(np);
			goto out;
		}
		json_decref(np);
		selecting += selects(&p, POD_X);
	}
	pol_commit(e);
	t_engine = now_s() - t0;
	pol_changes_take(e, &ch);
	pol_changes_free(&ch);

	snprintf(node, sizeof(node), "pbench-%d", (int)getpid());
	cfg.node_name = node;
	cfg.pin_root = pin_root;
	cfg.node_ip = htonl(0xc0a84d01u);
	cfg.pod_cidr = htonl(0x0af40500u);
	cfg.cluster_cidr = htonl(0x0af40000u);
	if (dp_open(&cfg, &dp, &err)) {
		fprintf(stderr, "dp_open: %s\n", err.msg);
		goto out;
	}
	snprintf(path, sizeof(path), "%s/%s/gnt_endpoints", pin_root, node);
	fd_ep = bpf_obj_get(path);
	snprintf(path, sizeof(path), "%s/%s/gnt_pol_ct", pin_root, node);
	fd_ct = bpf_obj_get(path);
	snprintf(path, sizeof(path), "%s/%s/prog_pod", pin_root, node);
	prog = bpf_obj_get(path);
	if (fd_ep < 0 || fd_ct < 0 || prog < 0) {
		fprintf(stderr, "pins: %s\n", strerror(errno));
		goto out;
	}
	/* X, S and D as local endpoints on "lo" (PROG_RUN's ifindex) with
	 * the engine's identities */
	{
		const int pods[] = { POD_X, POD_S, POD_D };

		for (int i = 0; i < 3; i++) {
			char nsn[16], name[16];
			struct gnt_endpoint ep = { .ifindex = 1, .mac = { 2, 0xbb }, .host_mac = { 2, 0xcc } };
			uint32_t ip = pod_ip(pods[i]);

			snprintf(nsn, sizeof(nsn), "ns%d", pod_ns(pods[i]));
			snprintf(name, sizeof(name), "pod%d", pods[i]);
			ep.identity = pol_pod_identity(e, nsn, name);
			bpf_map_update_elem(fd_ep, &ip, &ep, BPF_ANY);
		}
	}
	r = pol_endpoint_rules(e, "ns0", "pod1000", POL_INGRESS);
	if (!r) {
		fprintf(stderr, "no rules for X\n");
		goto out;
	}
	nent = r->n;
	ents = calloc(nent + 1, sizeof(*ents));
	for (size_t i = 0; i < nent; i++) {
		ents[i].identity = r->entries[i].identity;
		ents[i].proto = r->entries[i].proto;
		ents[i].port_lo = r->entries[i].port_lo;
		ents[i].port_hi = r->entries[i].port_hi;
	}
	t0 = now_s();
	if (dp_policy_set(dp, pod_ip(POD_X), DP_POL_INGRESS, r->enforced, ents, nent, &err)) {
		fprintf(stderr, "dp_policy_set: %s\n", err.msg);
		goto out;
	}
	t_set = now_s() - t0;
	/* the same set for 64 endpoints at once (one kernel grace period) */
	{
		struct dp_pol_set bs[64];

		for (int i = 0; i < 64; i++)
			bs[i] = (struct dp_pol_set){ .ep_ip = htonl(0x0af40900u + 2 + i),
						     .dir = DP_POL_INGRESS, .enforced = true,
						     .e = ents, .n = nent };
		t0 = now_s();
		if (dp_policy_set_batch(dp, bs, 64, &err)) {
			fprintf(stderr, "dp_policy_set_batch: %s\n", err.msg);
			goto out;
		}
		t_batch = now_s() - t0;
	}

	if (measure(prog, pod_ip(POD_S), pod_ip(POD_X), count, 1, 7, &ns_new))
		goto out;
	if (measure(prog, pod_ip(POD_S), pod_ip(POD_X), count, 0, 7, &ns_est))
		goto out;
	if (measure(prog, pod_ip(POD_D), pod_ip(POD_X), count, 1, unpoliced ? 7 : 2, &ns_deny))
		goto out;
	if (lookup_obj && !unpoliced) {
		uint32_t ids = pol_pod_identity(e, "ns0", "pod1050");
		uint32_t idd = pol_pod_identity(e, "ns1", "pod1001");

		if (lookup_bench(lookup_obj, r, ids, 80, lk_allow) ||
		    lookup_bench(lookup_obj, r, idd, 80, lk_deny)) {
			fprintf(stderr, "lookup bench failed\n");
			goto out;
		}
	}
	printf("{\"lookup_hash_allow_ns\":%.1f,\"lookup_lpm_allow_ns\":%.1f,"
	       "\"lookup_hash_deny_ns\":%.1f,\"lookup_lpm_deny_ns\":%.1f,",
	       lk_allow[0], lk_allow[1], lk_deny[0], lk_deny[1]);
	printf("\"policies\":%d,\"unpoliced\":%s,\"selecting_x\":%d,\"entries_x\":%zu,"
	       "\"engine_s\":%.3f,\"policy_set_ms\":%.3f,\"batch64_ms\":%.3f,\"ns_new_flow\":%.1f,"
	       "\"ns_established\":%.1f,\"ns_denied\":%.1f}\n",
	       n, unpoliced ? "true" : "false", unpoliced ? 0 : selecting,
	       nent, t_engine, t_set * 1e3, t_batch * 1e3, ns_new, ns_est, ns_deny);
	ret = 0;
out:
	free(ents);
	if (fd_ep >= 0) {
		/* fake endpoints (lo): forget them before dp_destroy */
		prun_map_clear_u32(fd_ep);
		close(fd_ep);
	}
	if (fd_ct >= 0)
		close(fd_ct);
	if (prog >= 0)
		close(prog);
	dp_close(dp);
	if (dp)
		dp_destroy(pin_root, node, NULL, NULL);
	pol_engine_free(e);
	return ret;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* BPF datapath tests through BPF_PROG_RUN: hand-built packets go into the
 * real programs (skeletons from bpf/, maps pinned under a private
 * /sys/fs/bpf/gannet-test-<pid>/ directory), and each case checks the
 * verdict, the output packet byte for byte (or field by field where the
 * program chooses a value, like the flow-hash source port) and that exactly
 * the expected per-CPU counter moved. Two nodes are loaded so an encapsulated
 * packet from node 1 can be fed to node 2's decapsulation. Needs root. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>

#include "bpf/lib/common.h"
#include "bpf/pod.skel.h"
#include "bpf/underlay.skel.h"
#include "tests/bpf/pktbuild.h"
#include "tests/unit/test.h"

/* ------------------------------------------------------------ fixture */

static const uint8_t MAC_A[6]  = { 0x02, 0xaa, 0, 0, 0, 0x01 };  /* pod 10.244.1.2 */
static const uint8_t MAC_HA[6] = { 0x02, 0xaa, 0, 0, 0, 0xf1 };  /* its host veth */
static const uint8_t MAC_B[6]  = { 0x02, 0xbb, 0, 0, 0, 0x02 };  /* pod 10.244.1.3 */
static const uint8_t MAC_HB[6] = { 0x02, 0xbb, 0, 0, 0, 0xf2 };
static const uint8_t MAC_C[6]  = { 0x02, 0xcc, 0, 0, 0, 0x03 };  /* pod 10.244.2.5 (node 2) */
static const uint8_t MAC_HC[6] = { 0x02, 0xcc, 0, 0, 0, 0xf3 };
/* Node 1's underlay MAC is loopback's (all zero): BPF_PROG_RUN runs tc
 * programs on lo, so only frames to this MAC are PACKET_HOST there. */
static const uint8_t MAC_UL1[6] = { 0, 0, 0, 0, 0, 0 };
static const uint8_t MAC_UL2[6] = { 0x02, 0x11, 0, 0, 0, 0x02 };

#define IFX_A 1      /* BPF_PROG_RUN skbs come from loopback (ifindex 1) */
#define IFX_B 41
#define IFX_C 42
#define ID_A 0x123456
#define ID_C 77

struct node {
	char dir[128];
	struct gnt_pod *pod;
	struct gnt_underlay *ul;
	struct gnt_underlay *ul_redir;   /* same maps, cfg_xdp_redirect = 1 */
	int fd_ep, fd_ipc, fd_stats;
};

static struct node n1, n2;
static char pin_base[96];

static uint32_t ip4(const char *s)
{
	uint32_t a = 0;

	inet_pton(AF_INET, s, &a);
	return a;
}

static int node_load_ul(struct node *n, struct gnt_underlay **out, uint32_t node_ip,
			uint32_t pod_net, uint8_t redirect)
{
	LIBBPF_OPTS(bpf_object_open_opts, o, .pin_root_path = n->dir);
	struct gnt_underlay *s = gnt_underlay__open_opts(&o);

	if (!s)
		return -errno;
	s->rodata->cfg_node_ip = node_ip;
	s->rodata->cfg_underlay_ifindex = 1;
	s->rodata->cfg_vxlan_port = htons(GNT_VXLAN_PORT_DEFAULT);
	s->rodata->cfg_cluster_net = ip4("10.244.0.0");
	s->rodata->cfg_cluster_mask = htonl(0xffff0000);
	s->rodata->cfg_pod_net = pod_net;
	s->rodata->cfg_pod_mask = htonl(0xffffff00);
	s->rodata->cfg_xdp_redirect = redirect;
	*out = s;
	return gnt_underlay__load(s);
}

static int node_load(struct node *n, const char *name, const char *node_ip, const char *pod_net)
{
	LIBBPF_OPTS(bpf_object_open_opts, o);
	int ret;

	snprintf(n->dir, sizeof(n->dir), "%s/%s", pin_base, name);
	if (mkdir(n->dir, 0700) && errno != EEXIST)
		return -errno;
	o.pin_root_path = n->dir;
	n->pod = gnt_pod__open_opts(&o);
	if (!n->pod)
		return -errno;
	n->pod->rodata->cfg_node_ip = ip4(node_ip);
	n->pod->rodata->cfg_underlay_ifindex = 1;
	n->pod->rodata->cfg_vxlan_port = htons(GNT_VXLAN_PORT_DEFAULT);
	n->pod->rodata->cfg_cluster_net = ip4("10.244.0.0");
	n->pod->rodata->cfg_cluster_mask = htonl(0xffff0000);
	n->pod->rodata->cfg_pod_net = ip4(pod_net);
	n->pod->rodata->cfg_pod_mask = htonl(0xffffff00);
	n->pod->rodata->cfg_underlay_mtu = 1500;
	ret = gnt_pod__load(n->pod);
	if (!ret)
		ret = node_load_ul(n, &n->ul, ip4(node_ip), ip4(pod_net), 0);
	if (!ret)
		ret = node_load_ul(n, &n->ul_redir, ip4(node_ip), ip4(pod_net), 1);
	if (ret)
		return ret;
	n->fd_ep = bpf_map__fd(n->pod->maps.gnt_endpoints);
	n->fd_ipc = bpf_map__fd(n->pod->maps.gnt_ipcache);
	n->fd_stats = bpf_map__fd(n->pod->maps.gnt_stats);
	return 0;
}

static int add_ep(struct node *n, const char *ip, uint32_t ifx, const uint8_t *mac,
		  const uint8_t *hmac, uint32_t id, uint32_t flags)
{
	struct gnt_endpoint v = { .ifindex = ifx, .identity = id, .flags = flags };
	uint32_t k = ip4(ip);

	memcpy(v.mac, mac, 6);
	memcpy(v.host_mac, hmac, 6);
	return bpf_map_update_elem(n->fd_ep, &k, &v, BPF_ANY);
}

static int add_remote(struct node *n, const char *cidr, uint32_t len, const char *node_ip)
{
	struct gnt_ipcache_key k = { .prefixlen = len, .ip = ip4(cidr) };
	struct gnt_ipcache_val v = { .node_ip = ip4(node_ip) };

	return bpf_map_update_elem(n->fd_ipc, &k, &v, BPF_ANY);
}

static void cleanup(void)
{
	struct node *ns[] = { &n1, &n2 };

	for (int i = 0; i < 2; i++) {
		gnt_pod__destroy(ns[i]->pod);
		gnt_underlay__destroy(ns[i]->ul);
		gnt_underlay__destroy(ns[i]->ul_redir);
		if (ns[i]->dir[0]) {
			/* every map pinned by name (the list grows with the
			 * datapath) */
			DIR *d = opendir(ns[i]->dir);
			struct dirent *de;
			char p[512];

			while (d && (de = readdir(d))) {
				if (de->d_name[0] == '.')
					continue;
				snprintf(p, sizeof(p), "%s/%s", ns[i]->dir, de->d_name);
				unlink(p);
			}
			if (d)
				closedir(d);
			rmdir(ns[i]->dir);
		}
	}
	if (pin_base[0])
		rmdir(pin_base);
}

/* ------------------------------------------------------------ running */

struct result {
	int ret;
	uint8_t out[PKT_MAX + 256];
	uint32_t len;
};

static int run(int prog_fd, const struct pkt *in, struct result *r, int repeat)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in->buf, .data_size_in = (uint32_t)in->len,
		    .data_out = r->out, .data_size_out = sizeof(r->out), .repeat = repeat);
	int err;

	memset(r, 0, sizeof(*r));
	err = bpf_prog_test_run_opts(prog_fd, &o);
	if (err) {
		fprintf(stderr, "BPF_PROG_RUN failed: %s\n", strerror(-err));
		r->ret = -1000;
		return err;
	}
	r->ret = (int)o.retval;
	r->len = o.data_size_out;
	return 0;
}

#define PROG_POD(n)      bpf_program__fd((n)->pod->progs.gnt_pod_ingress)
#define PROG_UL_TC(n)    bpf_program__fd((n)->ul->progs.gnt_underlay_tc)
#define PROG_UL_XDP(n)   bpf_program__fd((n)->ul->progs.gnt_underlay_xdp)
#define PROG_XDP_REDIR(n) bpf_program__fd((n)->ul_redir->progs.gnt_underlay_xdp)

struct snap {
	uint64_t pk[GNT_STATS_SLOTS], by[GNT_STATS_SLOTS];
};

static void snap(struct node *n, struct snap *s)
{
	int ncpu = libbpf_num_possible_cpus();
	struct gnt_stat vals[ncpu];

	memset(s, 0, sizeof(*s));
	for (uint32_t k = 0; k < GNT_STATS_SLOTS; k++) {
		if (bpf_map_lookup_elem(n->fd_stats, &k, vals))
			continue;
		for (int c = 0; c < ncpu; c++) {
			s->pk[k] += vals[c].packets;
			s->by[k] += vals[c].bytes;
		}
	}
}

static uint32_t slot_of(int code)
{
	return code >= 0 ? (uint32_t)code : GNT_STATS_DROP_BASE + (uint32_t)-code;
}

/* Exactly `count` packets of `bytes` each went to the counter of `code`,
 * and no other counter moved. */
static void check_counted(const struct snap *a, const struct snap *b, int code,
			  uint64_t count, uint64_t bytes)
{
	uint32_t slot = slot_of(code);
	uint64_t other = 0;

	for (uint32_t k = 0; k < GNT_STATS_SLOTS; k++)
		if (b->pk[k] != a->pk[k] && k != slot)
			fprintf(stderr, "  counter slot %u moved by %llu\n", k,
				(unsigned long long)(b->pk[k] - a->pk[k]));
	CHECK_EQ(b->pk[slot] - a->pk[slot], count);
	CHECK_EQ(b->by[slot] - a->by[slot], count * bytes);
	for (uint32_t k = 0; k < GNT_STATS_SLOTS; k++)
		if (k != slot)
			other += b->pk[k] - a->pk[k];
	CHECK_EQ(other, 0);
}

/* Runs prog on in; checks verdict and counter; leaves output in *r. */
static void expect(struct node *n, int prog_fd, const struct pkt *in, int verdict, int code,
		   struct result *r)
{
	struct snap a, b;

	snap(n, &a);
	CHECK_EQ(run(prog_fd, in, r, 1), 0);
	snap(n, &b);
	CHECK_EQ(r->ret, verdict);
	check_counted(&a, &b, code, 1, in->len);
}

static void check_unchanged(const struct pkt *in, const struct result *r)
{
	CHECK_EQ(r->len, in->len);
	CHECK(!memcmp(r->out, in->buf, in->len));
}

/* ------------------------------------------------------------ packets */

/* pod A (10.244.1.2) -> dst, UDP with a payload, as the pod sends it */
static void pod_udp(struct pkt *p, const char *src, const char *dst, uint8_t ttl, size_t payload)
{
	memset(p, 0, sizeof(*p));
	pkt_eth(p, MAC_HA, MAC_A, ETH_P_IP);
	pkt_ipv4(p, src, dst, IPPROTO_UDP, ttl);
	pkt_udp(p, 40000, 5001);
	pkt_payload(p, payload);
	pkt_finish(p);
}

/* VXLAN from node 2 to node 1 carrying pod C -> inner_dst */
static void vxlan_pkt(struct pkt *p, const char *outer_dst, uint16_t dport, uint32_t vxflags,
		      const char *inner_dst, int tcp)
{
	memset(p, 0, sizeof(*p));
	pkt_eth(p, MAC_UL1, MAC_UL2, ETH_P_IP);
	pkt_ipv4(p, "192.168.77.2", outer_dst, IPPROTO_UDP, 64);
	pkt_udp(p, 45678, dport);
	pkt_vxlan(p, ID_C, vxflags);
	pkt_eth(p, MAC_HC, MAC_C, ETH_P_IP);
	pkt_ipv4(p, "10.244.2.5", inner_dst, tcp ? IPPROTO_TCP : IPPROTO_UDP, 63);
	if (tcp)
		pkt_tcp(p, 33000, 80);
	else
		pkt_udp(p, 33000, 53);
	pkt_payload(p, 100);
	pkt_finish(p);
}

static const struct ethhdr *eth_at(const uint8_t *b) { return (const struct ethhdr *)b; }
static const struct iphdr *ip_at(const uint8_t *b) { return (const struct iphdr *)b; }

/* ------------------------------------------------------------ pod program */

static void test_pod_local_redirect(void)
{
	struct pkt in;
	struct result r;
	const struct iphdr *ip;

	pod_udp(&in, "10.244.1.2", "10.244.1.3", 64, 64);
	expect(&n1, PROG_POD(&n1), &in, TC_ACT_REDIRECT, GNT_FWD_LOCAL, &r);
	CHECK_EQ(r.len, in.len);
	CHECK(!memcmp(eth_at(r.out)->h_dest, MAC_B, 6));
	CHECK(!memcmp(eth_at(r.out)->h_source, MAC_HB, 6));
	CHECK_EQ(ntohs(eth_at(r.out)->h_proto), ETH_P_IP);
	ip = ip_at(r.out + ETH_HLEN);
	CHECK_EQ(ip->ttl, 63);
	CHECK_EQ(pkt_csum(ip, 20), 0);                   /* still valid */
	CHECK_EQ(ip->saddr, ip4("10.244.1.2"));          /* no NAT */
	CHECK_EQ(ip->daddr, ip4("10.244.1.3"));
	/* everything after the TTL/checksum is untouched */
	CHECK(!memcmp(r.out + ETH_HLEN + 12, in.buf + ETH_HLEN + 12, in.len - ETH_HLEN - 12));
}

/* TCP takes bpf_redirect (host veth egress) instead of the peer: same
 * verdict and rewrite, checked separately so both branches are covered. */
static void test_pod_local_redirect_tcp(void)
{
	struct pkt in;
	struct result r;
	const struct iphdr *ip;

	memset(&in, 0, sizeof(in));
	pkt_eth(&in, MAC_HA, MAC_A, ETH_P_IP);
	pkt_ipv4(&in, "10.244.1.2", "10.244.1.3", IPPROTO_TCP, 64);
	pkt_tcp(&in, 40000, 80);
	pkt_payload(&in, 100);
	pkt_finish(&in);
	expect(&n1, PROG_POD(&n1), &in, TC_ACT_REDIRECT, GNT_FWD_LOCAL, &r);
	CHECK_EQ(r.len, in.len);
	CHECK(!memcmp(eth_at(r.out)->h_dest, MAC_B, 6));
	CHECK(!memcmp(eth_at(r.out)->h_source, MAC_HB, 6));
	ip = ip_at(r.out + ETH_HLEN);
	CHECK_EQ(ip->ttl, 63);
	CHECK_EQ(pkt_csum(ip, 20), 0);
	CHECK(!memcmp(r.out + ETH_HLEN + 12, in.buf + ETH_HLEN + 12, in.len - ETH_HLEN - 12));
}

static void test_pod_encap(void)
{
	struct pkt in;
	struct result r;
	const struct iphdr *oip, *iip;
	const struct udphdr *udp;
	const uint32_t *vx;
	uint16_t sport;

	pod_udp(&in, "10.244.1.2", "10.244.2.5", 64, 200);
	expect(&n1, PROG_POD(&n1), &in, TC_ACT_REDIRECT, GNT_FWD_ENCAP, &r);
	CHECK_EQ(r.len, in.len + GNT_VXLAN_OVERHEAD);
	CHECK_EQ(ntohs(eth_at(r.out)->h_proto), ETH_P_IP);
	CHECK(!(eth_at(r.out)->h_dest[0] & 1));          /* never multicast */

	oip = ip_at(r.out + ETH_HLEN);
	CHECK_EQ(oip->version, 4);
	CHECK_EQ(oip->ihl, 5);
	CHECK_EQ(ntohs(oip->tot_len), in.len + GNT_VXLAN_OVERHEAD - ETH_HLEN);
	CHECK_EQ(ntohs(oip->frag_off), 0x4000);          /* DF, never fragmented */
	CHECK_EQ(oip->protocol, IPPROTO_UDP);
	CHECK_EQ(oip->ttl, 64);
	CHECK_EQ(oip->saddr, ip4("192.168.77.1"));
	CHECK_EQ(oip->daddr, ip4("192.168.77.2"));
	CHECK_EQ(pkt_csum(oip, 20), 0);

	udp = (const struct udphdr *)(r.out + ETH_HLEN + 20);
	sport = ntohs(udp->source);
	CHECK_EQ(ntohs(udp->dest), 8472);
	CHECK(sport >= 32768 && sport < 61000);
	CHECK_EQ(ntohs(udp->len), in.len + GNT_VXLAN_OVERHEAD - ETH_HLEN - 20);
	CHECK_EQ(udp->check, 0);

	vx = (const uint32_t *)(r.out + ETH_HLEN + 28);
	CHECK_EQ(ntohl(vx[0]), 0x08000000);
	CHECK_EQ(ntohl(vx[1]) >> 8, ID_A);               /* source identity */
	CHECK_EQ(ntohl(vx[1]) & 0xff, 0);

	/* inner frame: the pod's frame, only TTL/checksum changed */
	CHECK(!memcmp(r.out + 50, in.buf, ETH_HLEN));
	iip = ip_at(r.out + 50 + ETH_HLEN);
	CHECK_EQ(iip->ttl, 63);
	CHECK_EQ(pkt_csum(iip, 20), 0);
	CHECK(!memcmp(r.out + 50 + ETH_HLEN + 12, in.buf + ETH_HLEN + 12, in.len - ETH_HLEN - 12));

	/* same flow -> same source port (ECMP/RSS stability) */
	{
		struct result r2;

		run(PROG_POD(&n1), &in, &r2, 1);
		CHECK_EQ(ntohs(((const struct udphdr *)(r2.out + ETH_HLEN + 20))->source), sport);
		/* another flow (other L4 source port) -> another outer port */
		((struct udphdr *)(in.buf + ETH_HLEN + 20))->source = htons(40001);
		run(PROG_POD(&n1), &in, &r2, 1);
		CHECK(ntohs(((const struct udphdr *)(r2.out + ETH_HLEN + 20))->source) != sport);
	}
}

/* node 1 encapsulates, node 2 decapsulates (tc and XDP): the pod on node 2
 * receives the sender's IP packet with its own MACs. */
static void test_encap_decap_roundtrip(void)
{
	struct pkt in, wire;
	struct result enc, dec;

	pod_udp(&in, "10.244.1.2", "10.244.2.5", 64, 300);
	run(PROG_POD(&n1), &in, &enc, 1);
	CHECK_EQ(enc.ret, TC_ACT_REDIRECT);
	memset(&wire, 0, sizeof(wire));
	memcpy(wire.buf, enc.out, enc.len);
	wire.len = enc.len;
	/* the neighbour subsystem would fill the outer MACs (node 2 = lo's
	 * zero MAC in BPF_PROG_RUN, see MAC_UL1) */
	memset(wire.buf, 0, 6);
	memcpy(wire.buf + 6, MAC_UL1, 6);

	expect(&n2, PROG_UL_TC(&n2), &wire, TC_ACT_REDIRECT, GNT_FWD_DECAP, &dec);
	CHECK_EQ(dec.len, in.len);
	CHECK(!memcmp(eth_at(dec.out)->h_dest, MAC_C, 6));
	CHECK(!memcmp(eth_at(dec.out)->h_source, MAC_HC, 6));
	CHECK_EQ(ntohs(eth_at(dec.out)->h_proto), ETH_P_IP);
	/* inner IP packet = the one node 1 sent (TTL 63, valid checksum) */
	CHECK(!memcmp(dec.out + ETH_HLEN, enc.out + 50 + ETH_HLEN, in.len - ETH_HLEN));
	CHECK_EQ(ip_at(dec.out + ETH_HLEN)->saddr, ip4("10.244.1.2"));

	expect(&n2, PROG_UL_XDP(&n2), &wire, XDP_PASS, GNT_FWD_XDP_DECAP, &dec);
	CHECK_EQ(dec.len, in.len);
	CHECK(!memcmp(dec.out, wire.buf, 12));           /* outer MACs kept */
	CHECK(!memcmp(dec.out + ETH_HLEN, enc.out + 50 + ETH_HLEN, in.len - ETH_HLEN));
}

static void test_pod_to_stack(void)
{
	struct pkt in;
	struct result r;

	pod_udp(&in, "10.244.1.2", "192.168.77.1", 64, 10);   /* node IP */
	expect(&n1, PROG_POD(&n1), &in, TC_ACT_OK, GNT_FWD_STACK, &r);
	check_unchanged(&in, &r);
	pod_udp(&in, "10.244.1.2", "8.8.8.8", 64, 10);        /* outside */
	expect(&n1, PROG_POD(&n1), &in, TC_ACT_OK, GNT_FWD_STACK, &r);
	check_unchanged(&in, &r);
	pod_udp(&in, "10.244.1.2", "10.244.1.3", 1, 10);      /* TTL 1: stack sends ICMP */
	expect(&n1, PROG_POD(&n1), &in, TC_ACT_OK, GNT_FWD_STACK, &r);
	check_unchanged(&in, &r);

	memset(&in, 0, sizeof(in));                           /* ARP */
	pkt_eth(&in, (const uint8_t[6]){ 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, MAC_A, ETH_P_ARP);
	pkt_payload(&in, 28);
	expect(&n1, PROG_POD(&n1), &in, TC_ACT_OK, GNT_FWD_STACK, &r);
	check_unchanged(&in, &r);
}

static void test_pod_drops(void)
{
	struct pkt in;
	struct result r;
	struct iphdr *ip;

	pod_udp(&in, "10.244.1.99", "10.244.1.3", 64, 10);    /* not an endpoint */
	expect(&n1, PROG_POD(&n1), &in, TC_ACT_SHOT, GNT_DROP_SPOOFED_SRC, &r);
	pod_udp(&in, "10.244.1.3", "10.244.1.2", 64, 10);     /* B's IP, A's veth */
	expect(&n1, PROG_POD(&n1), &in, TC_ACT_SHOT, GNT_DROP_SPOOFED_SRC, &r);
	pod_udp(&in, "10.244.1.2", "10.244.1.77", 64, 10);    /* own CIDR, no pod */
	expect(&n1, PROG_POD(&n1), &in, TC_ACT_SHOT, GNT_DROP_NO_ENDPOINT, &r);
	pod_udp(&in, "10.244.1.2", "10.244.9.1", 64, 10);     /* cluster, no node */
	expect(&n1, PROG_POD(&n1), &in, TC_ACT_SHOT, GNT_DROP_NO_ROUTE, &r);

	/* L4 cut off (BPF_PROG_RUN refuses tc frames shorter than an IPv4
	 * header, so this is the shortest IPv4 frame we can feed) */
	pod_udp(&in, "10.244.1.2", "10.244.1.3", 64, 10);
	in.len = ETH_HLEN + 20;
	expect(&n1, PROG_POD(&n1), &in, TC_ACT_SHOT, GNT_DROP_TRUNCATED, &r);
	pod_udp(&in, "10.244.1.2", "10.244.1.3", 64, 10);     /* tot_len beyond frame */
	ip = (struct iphdr *)(in.buf + ETH_HLEN);
	ip->tot_len = htons(ntohs(ip->tot_len) + 100);
	expect(&n1, PROG_POD(&n1), &in, TC_ACT_SHOT, GNT_DROP_TRUNCATED, &r);
	pod_udp(&in, "10.244.1.2", "10.244.1.3", 64, 10);     /* version 6 in IPv4 */
	ip = (struct iphdr *)(in.buf + ETH_HLEN);
	ip->version = 6;
	expect(&n1, PROG_POD(&n1), &in, TC_ACT_SHOT, GNT_DROP_BAD_IP, &r);
	pod_udp(&in, "10.244.1.2", "10.244.1.3", 64, 10);     /* ihl < 5 */
	ip = (struct iphdr *)(in.buf + ETH_HLEN);
	ip->ihl = 4;
	expect(&n1, PROG_POD(&n1), &in, TC_ACT_SHOT, GNT_DROP_BAD_IP, &r);
	pod_udp(&in, "10.244.1.2", "10.244.1.3", 64, 10);     /* ihl 15 > tot_len */
	ip = (struct iphdr *)(in.buf + ETH_HLEN);
	ip->ihl = 15;
	expect(&n1, PROG_POD(&n1), &in, TC_ACT_SHOT, GNT_DROP_BAD_IP, &r);
	ip->tot_len = htons(64);                              /* options past the end */
	expect(&n1, PROG_POD(&n1), &in, TC_ACT_SHOT, GNT_DROP_TRUNCATED, &r);

	pod_udp(&in, "10.244.1.2", "10.244.2.5", 64, 1500 - 20 - 8 - 49); /* 1 byte too big */
	expect(&n1, PROG_POD(&n1), &in, TC_ACT_SHOT, GNT_DROP_FRAG_NEEDED, &r);
	/* same with DF: ICMP fragmentation-needed back into the pod */
	{
		struct iphdr *oip, *rip;
		const uint8_t *icmp;

		ip = (struct iphdr *)(in.buf + ETH_HLEN);
		ip->frag_off = htons(0x4000);
		ip->check = 0;
		ip->check = pkt_csum(ip, 20);
		oip = ip;
		expect(&n1, PROG_POD(&n1), &in, TC_ACT_REDIRECT, GNT_DROP_FRAG_NEEDED, &r);
		CHECK_EQ(r.len, ETH_HLEN + 20 + 8 + 28);
		CHECK(!memcmp(eth_at(r.out)->h_dest, MAC_A, 6));       /* back to the pod */
		CHECK(!memcmp(eth_at(r.out)->h_source, MAC_HA, 6));
		rip = (struct iphdr *)(r.out + ETH_HLEN);
		CHECK_EQ(rip->protocol, IPPROTO_ICMP);
		CHECK_EQ(rip->daddr, ip4("10.244.1.2"));
		CHECK_EQ(rip->saddr, ip4("192.168.77.1"));
		CHECK_EQ(ntohs(rip->tot_len), 56);
		CHECK_EQ(pkt_csum(rip, 20), 0);
		icmp = r.out + ETH_HLEN + 20;
		CHECK_EQ(icmp[0], 3);                                    /* dest unreachable */
		CHECK_EQ(icmp[1], 4);                                    /* frag needed */
		CHECK_EQ(icmp[6] << 8 | icmp[7], 1450);                  /* next-hop MTU */
		CHECK_EQ(pkt_csum(icmp, 36), 0);
		CHECK(!memcmp(icmp + 8, oip, 28));                       /* original header + 8 */
	}
	pod_udp(&in, "10.244.1.2", "10.244.2.5", 64, 1500 - 20 - 8 - 50); /* just fits */
	expect(&n1, PROG_POD(&n1), &in, TC_ACT_REDIRECT, GNT_FWD_ENCAP, &r);
	CHECK_EQ(r.len - ETH_HLEN, 1500);

	memset(&in, 0, sizeof(in));                           /* IPv6 (not yet) */
	pkt_eth(&in, MAC_HA, MAC_A, ETH_P_IPV6);
	pkt_payload(&in, 60);
	expect(&n1, PROG_POD(&n1), &in, TC_ACT_SHOT, GNT_DROP_UNSUPPORTED_L3, &r);
}

/* ------------------------------------------------------------ underlay */

static void test_underlay_decap_tc_xdp(void)
{
	struct pkt in;
	struct result r;
	const uint8_t *inner;

	vxlan_pkt(&in, "192.168.77.1", 8472, 0x08000000, "10.244.1.2", 1);
	inner = in.buf + 50 + ETH_HLEN;

	expect(&n1, PROG_UL_TC(&n1), &in, TC_ACT_REDIRECT, GNT_FWD_DECAP, &r);
	CHECK_EQ(r.len, in.len - 50);
	CHECK(!memcmp(eth_at(r.out)->h_dest, MAC_A, 6));
	CHECK(!memcmp(eth_at(r.out)->h_source, MAC_HA, 6));
	CHECK_EQ(ntohs(eth_at(r.out)->h_proto), ETH_P_IP);
	CHECK(!memcmp(r.out + ETH_HLEN, inner, in.len - 50 - ETH_HLEN));

	expect(&n1, PROG_UL_XDP(&n1), &in, XDP_PASS, GNT_FWD_XDP_DECAP, &r);
	CHECK_EQ(r.len, in.len - 50);
	/* outer MACs kept so the stack sees PACKET_HOST; inner IP packet */
	CHECK(!memcmp(r.out, in.buf, 12));
	CHECK_EQ(ntohs(eth_at(r.out)->h_proto), ETH_P_IP);
	CHECK(!memcmp(r.out + ETH_HLEN, inner, in.len - 50 - ETH_HLEN));

	/* XDP-decapsulated frame then reaches tc as plain IP to a pod */
	{
		struct pkt passed;

		memset(&passed, 0, sizeof(passed));
		memcpy(passed.buf, r.out, r.len);
		passed.len = r.len;
		expect(&n1, PROG_UL_TC(&n1), &passed, TC_ACT_REDIRECT, GNT_FWD_UNDERLAY_TO_POD, &r);
		CHECK_EQ(r.len, passed.len);
		CHECK(!memcmp(eth_at(r.out)->h_dest, MAC_A, 6));
		CHECK(!memcmp(eth_at(r.out)->h_source, MAC_HA, 6));
		CHECK(!memcmp(r.out + ETH_HLEN, passed.buf + ETH_HLEN, passed.len - ETH_HLEN));

		/* the same frame flooded to us for another MAC: not delivered */
		passed.buf[5] = 0x99;
		expect(&n1, PROG_UL_TC(&n1), &passed, TC_ACT_OK, GNT_FWD_UNDERLAY_PASS, &r);
		check_unchanged(&passed, &r);
	}

	/* XDP redirect variant: only for endpoints flagged for it */
	expect(&n1, PROG_XDP_REDIR(&n1), &in, XDP_PASS, GNT_FWD_XDP_DECAP, &r);
	vxlan_pkt(&in, "192.168.77.1", 8472, 0x08000000, "10.244.1.3", 0);   /* B: flagged */
	expect(&n1, PROG_XDP_REDIR(&n1), &in, XDP_REDIRECT, GNT_FWD_XDP_REDIRECT, &r);
	CHECK(!memcmp(eth_at(r.out)->h_dest, MAC_B, 6));
	CHECK_EQ(r.len, in.len - 50);
	/* ... and never when the node runs without it */
	expect(&n1, PROG_UL_XDP(&n1), &in, XDP_PASS, GNT_FWD_XDP_DECAP, &r);
}

static void test_underlay_pass(void)
{
	struct pkt in;
	struct result r;
	struct iphdr *ip;

	/* other UDP to the node */
	memset(&in, 0, sizeof(in));
	pkt_eth(&in, MAC_UL1, MAC_UL2, ETH_P_IP);
	pkt_ipv4(&in, "192.168.77.2", "192.168.77.1", IPPROTO_UDP, 64);
	pkt_udp(&in, 1234, 53);
	pkt_payload(&in, 40);
	pkt_finish(&in);
	expect(&n1, PROG_UL_TC(&n1), &in, TC_ACT_OK, GNT_FWD_UNDERLAY_PASS, &r);
	check_unchanged(&in, &r);
	expect(&n1, PROG_UL_XDP(&n1), &in, XDP_PASS, GNT_FWD_UNDERLAY_PASS, &r);
	check_unchanged(&in, &r);

	/* VXLAN port but to another host (we are not the VTEP) */
	vxlan_pkt(&in, "192.168.77.9", 8472, 0x08000000, "10.244.1.2", 0);
	expect(&n1, PROG_UL_TC(&n1), &in, TC_ACT_OK, GNT_FWD_UNDERLAY_PASS, &r);
	check_unchanged(&in, &r);
	expect(&n1, PROG_UL_XDP(&n1), &in, XDP_PASS, GNT_FWD_UNDERLAY_PASS, &r);
	check_unchanged(&in, &r);

	/* outer fragment: the stack reassembles, we don't decap pieces */
	vxlan_pkt(&in, "192.168.77.1", 8472, 0x08000000, "10.244.1.2", 0);
	ip = (struct iphdr *)(in.buf + ETH_HLEN);
	ip->frag_off = htons(0x2000);
	ip->check = 0;
	ip->check = pkt_csum(ip, 20);
	expect(&n1, PROG_UL_TC(&n1), &in, TC_ACT_OK, GNT_FWD_UNDERLAY_PASS, &r);
	check_unchanged(&in, &r);
	expect(&n1, PROG_UL_XDP(&n1), &in, XDP_PASS, GNT_FWD_UNDERLAY_PASS, &r);

	/* ARP */
	memset(&in, 0, sizeof(in));
	pkt_eth(&in, MAC_UL1, MAC_UL2, ETH_P_ARP);
	pkt_payload(&in, 28);
	expect(&n1, PROG_UL_TC(&n1), &in, TC_ACT_OK, GNT_FWD_UNDERLAY_PASS, &r);
	check_unchanged(&in, &r);
	expect(&n1, PROG_UL_XDP(&n1), &in, XDP_PASS, GNT_FWD_UNDERLAY_PASS, &r);
	check_unchanged(&in, &r);
}

static void test_underlay_drops(void)
{
	struct pkt in;
	struct result r;
	struct ethhdr *ieth;
	struct iphdr *iip;

	/* VXLAN to us for a pod we don't have */
	vxlan_pkt(&in, "192.168.77.1", 8472, 0x08000000, "10.244.1.200", 0);
	expect(&n1, PROG_UL_TC(&n1), &in, TC_ACT_SHOT, GNT_DROP_NO_ENDPOINT, &r);
	expect(&n1, PROG_UL_XDP(&n1), &in, XDP_DROP, GNT_DROP_NO_ENDPOINT, &r);

	/* I flag missing */
	vxlan_pkt(&in, "192.168.77.1", 8472, 0, "10.244.1.2", 0);
	expect(&n1, PROG_UL_TC(&n1), &in, TC_ACT_SHOT, GNT_DROP_BAD_VXLAN, &r);
	expect(&n1, PROG_UL_XDP(&n1), &in, XDP_DROP, GNT_DROP_BAD_VXLAN, &r);

	/* truncated inside the VXLAN header / inner IP header */
	vxlan_pkt(&in, "192.168.77.1", 8472, 0x08000000, "10.244.1.2", 0);
	in.len = ETH_HLEN + 20 + 8 + 4;
	expect(&n1, PROG_UL_TC(&n1), &in, TC_ACT_SHOT, GNT_DROP_TRUNCATED, &r);
	expect(&n1, PROG_UL_XDP(&n1), &in, XDP_DROP, GNT_DROP_TRUNCATED, &r);
	vxlan_pkt(&in, "192.168.77.1", 8472, 0x08000000, "10.244.1.2", 0);
	in.len = 50 + ETH_HLEN + 10;
	expect(&n1, PROG_UL_TC(&n1), &in, TC_ACT_SHOT, GNT_DROP_TRUNCATED, &r);
	expect(&n1, PROG_UL_XDP(&n1), &in, XDP_DROP, GNT_DROP_TRUNCATED, &r);

	/* inner frame not IPv4 */
	vxlan_pkt(&in, "192.168.77.1", 8472, 0x08000000, "10.244.1.2", 0);
	ieth = (struct ethhdr *)(in.buf + 50);
	ieth->h_proto = htons(ETH_P_ARP);
	expect(&n1, PROG_UL_TC(&n1), &in, TC_ACT_SHOT, GNT_DROP_UNSUPPORTED_L3, &r);
	expect(&n1, PROG_UL_XDP(&n1), &in, XDP_DROP, GNT_DROP_UNSUPPORTED_L3, &r);

	/* inner IPv4 header broken */
	vxlan_pkt(&in, "192.168.77.1", 8472, 0x08000000, "10.244.1.2", 0);
	iip = (struct iphdr *)(in.buf + 50 + ETH_HLEN);
	iip->ihl = 3;
	expect(&n1, PROG_UL_TC(&n1), &in, TC_ACT_SHOT, GNT_DROP_BAD_IP, &r);
	expect(&n1, PROG_UL_XDP(&n1), &in, XDP_DROP, GNT_DROP_BAD_IP, &r);
}

/* Per-CPU counters add up over repeated runs (BPF_PROG_RUN repeat). */
static void test_counters_repeat(void)
{
	struct pkt in;
	struct result r;
	struct snap a, b;

	/* a verdict that leaves the packet as it was: a redirected one would
	 * be re-run with its TTL already decremented */
	pod_udp(&in, "10.244.1.2", "8.8.8.8", 64, 18);
	snap(&n1, &a);
	CHECK_EQ(run(PROG_POD(&n1), &in, &r, 1000), 0);
	snap(&n1, &b);
	CHECK_EQ(r.ret, TC_ACT_OK);
	check_counted(&a, &b, GNT_FWD_STACK, 1000, in.len);
}

/* ------------------------------------------------------------ events */

struct ev_log {
	struct gnt_event ev[8];
	int n;
};

static int ev_cb(void *ctx, void *data, size_t size)
{
	struct ev_log *l = ctx;

	if (size >= sizeof(struct gnt_event) && l->n < 8)
		memcpy(&l->ev[l->n], data, sizeof(struct gnt_event));
	l->n++;
	return 0;
}

/* Every drop leaves one event with the reason and the 5-tuple; forwarded
 * packets leave none. */
static void test_drop_events(void)
{
	struct ev_log log = { 0 };
	struct ring_buffer *rb;
	struct result r;
	struct pkt in;

	rb = ring_buffer__new(bpf_map__fd(n1.pod->maps.gnt_events), ev_cb, &log, NULL);
	CHECK(rb != NULL);
	if (!rb)
		return;
	ring_buffer__consume(rb);                /* earlier tests' events */
	memset(&log, 0, sizeof(log));

	pod_udp(&in, "10.244.1.2", "10.244.1.3", 64, 10);     /* forwarded: no event */
	run(PROG_POD(&n1), &in, &r, 1);
	pod_udp(&in, "10.244.1.99", "10.244.1.3", 64, 10);    /* spoofed */
	run(PROG_POD(&n1), &in, &r, 1);
	vxlan_pkt(&in, "192.168.77.1", 8472, 0x08000000, "10.244.1.200", 0);
	run(PROG_UL_XDP(&n1), &in, &r, 1);                   /* no endpoint, XDP */
	ring_buffer__consume(rb);

	CHECK_EQ(log.n, 2);
	CHECK_EQ(log.ev[0].code, GNT_DROP_SPOOFED_SRC);
	CHECK_EQ(log.ev[0].hook, GNT_HOOK_POD);
	CHECK_EQ(log.ev[0].saddr, ip4("10.244.1.99"));
	CHECK_EQ(log.ev[0].daddr, ip4("10.244.1.3"));
	CHECK_EQ(log.ev[0].proto, IPPROTO_UDP);
	CHECK_EQ(ntohs(log.ev[0].sport), 40000);
	CHECK_EQ(ntohs(log.ev[0].dport), 5001);
	CHECK_EQ(log.ev[0].len, ETH_HLEN + 20 + 8 + 10);
	CHECK(log.ev[0].ts_ns != 0);
	CHECK_EQ(log.ev[1].code, GNT_DROP_NO_ENDPOINT);
	CHECK_EQ(log.ev[1].hook, GNT_HOOK_UNDERLAY_XDP);
	CHECK_EQ(log.ev[1].saddr, ip4("192.168.77.2"));      /* outer */
	CHECK_EQ(ntohs(log.ev[1].dport), 8472);
	ring_buffer__free(rb);
}

/* ------------------------------------------------------------ main */

int main(void)
{
	static const struct t_case cases[] = {
		T(test_pod_local_redirect), T(test_pod_local_redirect_tcp), T(test_pod_encap), T(test_encap_decap_roundtrip),
		T(test_pod_to_stack), T(test_pod_drops), T(test_underlay_decap_tc_xdp),
		T(test_underlay_pass), T(test_underlay_drops), T(test_counters_repeat),
		T(test_drop_events),
	};
	int ret;

	/* the suite passes a directory its own trap removes, in case we are
	 * killed before cleanup() */
	if (getenv("GNT_TEST_PINDIR"))
		snprintf(pin_base, sizeof(pin_base), "%s", getenv("GNT_TEST_PINDIR"));
	else
		snprintf(pin_base, sizeof(pin_base), "/sys/fs/bpf/gannet-test-%d", (int)getpid());
	if (mkdir(pin_base, 0700)) {
		fprintf(stderr, "mkdir %s: %s\n", pin_base, strerror(errno));
		pin_base[0] = '\0';
		return 77;
	}
	ret = node_load(&n1, "node1", "192.168.77.1", "10.244.1.0");
	if (!ret)
		ret = node_load(&n2, "node2", "192.168.77.2", "10.244.2.0");
	if (!ret)
		ret = add_ep(&n1, "10.244.1.2", IFX_A, MAC_A, MAC_HA, ID_A, 0) ||
		      add_ep(&n1, "10.244.1.3", IFX_B, MAC_B, MAC_HB, 1, GNT_EP_F_XDP_REDIRECT) ||
		      add_remote(&n1, "10.244.2.0", 24, "192.168.77.2") ||
		      add_ep(&n2, "10.244.2.5", IFX_C, MAC_C, MAC_HC, ID_C, 0) ||
		      add_remote(&n2, "10.244.1.0", 24, "192.168.77.1");
	if (ret) {
		fprintf(stderr, "setup failed: %d (%s)\n", ret, strerror(ret < 0 ? -ret : errno));
		cleanup();
		return 1;
	}
	ret = t_run(cases, sizeof(cases) / sizeof(cases[0]));
	cleanup();
	return ret;
}

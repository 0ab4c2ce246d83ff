/* SPDX-License-Identifier: Apache-2.0 */
/* NetworkPolicy datapath tests through BPF_PROG_RUN (suite 22): the node
 * is loaded and programmed through libgannet-dataplane (dp_open,
 * dp_policy_set, dp_ipcache_set, dp_service_upsert: the real userspace
 * path) with pins under a private /sys/fs/bpf/gannet-test-* directory;
 * hand-built packets go into the pinned pod (tc ingress and egress) and
 * underlay programs. Checked: verdicts per (identity, protocol, port,
 * range, any), egress after service DNAT, ingress at VXLAN decap with the
 * VNI identity, replies through the policy conntrack, atomic set swaps
 * under a concurrent reader, fail-closed, HOST for node traffic, the
 * verdict events' identities, ipcache CIDR entries inside a remote pod CIDR
 * keeping routing, hairpin, and the map round trip (dp_policy_get).
 * Needs root; runs in a throwaway netns (endpoints use ifindex 1 = its lo);
 * nothing is attached anywhere. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <netinet/in.h>

#include "bpf/lib/common.h"
#include "dataplane/dataplane.h"
#include "tests/bpf/pktbuild.h"
#include "tests/bpf/progrun.h"
#include "tests/unit/test.h"

static const uint8_t MAC_A[6]  = { 0x02, 0xaa, 0, 0, 0, 0x01 };
static const uint8_t MAC_HA[6] = { 0x02, 0xaa, 0, 0, 0, 0xf1 };
static const uint8_t MAC_B[6]  = { 0x02, 0xbb, 0, 0, 0, 0x02 };
static const uint8_t MAC_HB[6] = { 0x02, 0xbb, 0, 0, 0, 0xf2 };
static const uint8_t MAC_ZERO[6] = { 0 };    /* lo: PACKET_HOST under PROG_RUN */
static const uint8_t MAC_I[6] = { 0x02, 0x11, 0, 0, 0, 0x22 };

#define NODE_IP "192.168.77.1"
#define NODE2_IP "192.168.77.2"
#define IP_A "10.244.1.2"           /* client pod, identity ID_A */
#define IP_B "10.244.1.3"           /* server pod, identity ID_B */
#define IP_C "10.244.1.4"           /* another local pod, ID_C */
#define IP_R "10.244.2.5"           /* remote pod on node 2 */
#define VIP "10.96.0.20"
#define VIP2 "10.96.0.21"
#define ID_A 300
#define ID_B 400
#define ID_C 500
#define ID_R 600

static char pin_root[128];
static struct dp_node *dp;
static int prog_pod = -1, prog_pod_eg = -1, prog_ul = -1, fd_ep = -1, fd_stats = -1,
	   fd_policy = -1;

static int pin_fd(const char *name)
{
	return prun_pin_fd(pin_root, "n1", name);
}

/* ------------------------------------------------------------ packets */

/* TCP frames are SYNs (a new connection) unless g_ack: then a segment
 * of an established one (ACK only) — conntrack never lets a SYN skip the
 * policy, so replies and established traffic must be built as such. */
static int g_ack;
#define ACKED(expr) ({ int _v; g_ack = 1; _v = (expr); g_ack = 0; _v; })

static void tcp_flags_at(struct pkt *p, size_t tcp_off)
{
	if (g_ack)
		p->buf[tcp_off + 13] = 0x10;
}

/* A pod frame src -> dst (host veth MAC as destination). proto 1 = ICMP
 * echo request with id sport. */
static void mk(struct pkt *p, const char *src, const char *dst, uint8_t proto,
	       uint16_t sport, uint16_t dport)
{
	memset(p, 0, sizeof(*p));
	pkt_eth(p, MAC_HA, MAC_A, ETH_P_IP);
	pkt_ipv4(p, src, dst, proto, 64);
	if (proto == IPPROTO_TCP) {
		pkt_tcp(p, sport, dport);
		tcp_flags_at(p, 14 + 20);
	} else if (proto == IPPROTO_UDP) {
		pkt_udp(p, sport, dport);
	} else {
		uint8_t *ic = pkt_put(p, 8);

		ic[0] = 8;
		memcpy(ic + 4, &(uint16_t){ htons(sport) }, 2);
	}
	pkt_payload(p, 16);
	pkt_finish(p);
}

/* A VXLAN frame from node 2 carrying src -> dst with the VNI identity. */
static void mk_vxlan(struct pkt *p, uint32_t vni, const char *src, const char *dst,
		     uint16_t sport, uint16_t dport)
{
	memset(p, 0, sizeof(*p));
	pkt_eth(p, MAC_ZERO, MAC_I, ETH_P_IP);
	pkt_ipv4(p, NODE2_IP, NODE_IP, IPPROTO_UDP, 64);
	pkt_udp(p, 50000, 8472);
	pkt_vxlan(p, vni, 0x08000000);
	pkt_eth(p, MAC_I, MAC_I, ETH_P_IP);
	pkt_ipv4(p, src, dst, IPPROTO_TCP, 63);
	pkt_tcp(p, sport, dport);
	tcp_flags_at(p, 14 + 20 + 8 + 8 + 14 + 20);
	pkt_payload(p, 16);
	pkt_finish(p);
}

static int verdict(int prog, const struct pkt *p)
{
	struct prun_result r;

	if (prun(prog, p, &r))
		return -1000;
	return r.ret;
}

/* pod program verdict for src -> dst */
static int pod(const char *src, const char *dst, uint8_t proto, uint16_t sport, uint16_t dport)
{
	struct pkt p;

	mk(&p, src, dst, proto, sport, dport);
	return verdict(prog_pod, &p);
}

static uint64_t drops(int reason)
{
	return prun_stat_packets(fd_stats, GNT_STATS_DROP_BASE + (uint32_t)-reason);
}

/* ------------------------------------------------------------ helpers */

static int set(const char *ip, int dir, bool enforced, const struct dp_pol_entry *e, size_t n)
{
	struct gerr err = { 0 };
	int ret = dp_policy_set(dp, ip4(ip), dir, enforced, e, n, &err);

	if (ret)
		fprintf(stderr, "  dp_policy_set: %s\n", err.msg);
	return ret;
}

static void put_ep(const char *ip, uint32_t identity, const uint8_t mac[6], const uint8_t hmac[6])
{
	struct gnt_endpoint e = { .ifindex = 1, .identity = identity };
	uint32_t k = ip4(ip), old;
	struct gnt_endpoint cur;

	/* keep the policy flags dp_policy_set mirrored in, as
	 * dp_endpoint_upsert does */
	old = bpf_map_lookup_elem(fd_ep, &k, &cur) ? 0 : cur.flags;
	e.flags = old;
	memcpy(e.mac, mac, 6);
	memcpy(e.host_mac, hmac, 6);
	bpf_map_update_elem(fd_ep, &k, &e, BPF_ANY);
}

static uint32_t ep_flags(const char *ip)
{
	struct gnt_endpoint e;
	uint32_t k = ip4(ip);

	return bpf_map_lookup_elem(fd_ep, &k, &e) ? 0xdead : e.flags;
}

static void reset_policy(void)
{
	dp_policy_delete(dp, ip4(IP_A), NULL);
	dp_policy_delete(dp, ip4(IP_B), NULL);
	dp_policy_delete(dp, ip4(IP_C), NULL);
	put_ep(IP_A, ID_A, MAC_A, MAC_HA);
}

#define GNT_POL_EP_MASK (GNT_EP_F_POL_INGRESS | GNT_EP_F_POL_EGRESS)

static uint16_t next_port = 20000;   /* fresh source port: no conntrack hit */

static uint16_t sp(void)
{
	return next_port++;
}

/* ------------------------------------------------------------ tests */

static void test_map_roundtrip(void)
{
	const struct dp_pol_entry in[] = {
		{ .identity = 0, .proto = IPPROTO_UDP, .port_lo = 53, .port_hi = 53 },
		{ .identity = ID_A, .proto = IPPROTO_TCP, .port_lo = 80, .port_hi = 80 },
		{ .identity = ID_A, .proto = IPPROTO_TCP, .port_lo = 8000, .port_hi = 8100 },
		{ .identity = ID_C, .proto = 0 },
		{ .identity = ID_R, .proto = IPPROTO_SCTP, .port_lo = 0 },
	};
	struct dp_pol_entry *out = NULL;
	struct gerr err = { 0 };
	bool enf = false;
	size_t n = 0;

	reset_policy();
	CHECK_EQ(set(IP_B, DP_POL_INGRESS, true, in, 5), 0);
	CHECK_EQ(dp_policy_get(dp, ip4(IP_B), DP_POL_INGRESS, &enf, &out, &n, &err), 0);
	CHECK(enf);
	CHECK_EQ(n, 5);
	for (size_t i = 0; i < n && i < 5; i++) {
		CHECK_EQ(out[i].identity, in[i].identity);
		CHECK_EQ(out[i].proto, in[i].proto);
		CHECK_EQ(out[i].port_lo, in[i].port_lo);
		CHECK_EQ(out[i].port_hi, in[i].port_hi);
	}
	free(out);
	CHECK_EQ(ep_flags(IP_B) & (GNT_EP_F_POL_INGRESS | GNT_EP_F_POL_EGRESS), GNT_EP_F_POL_INGRESS);
	/* egress untouched: not enforced */
	CHECK_EQ(dp_policy_get(dp, ip4(IP_B), DP_POL_EGRESS, &enf, &out, &n, &err), 0);
	CHECK(!enf);
	CHECK_EQ(n, 0);
	free(out);
	/* unenforce: flag and set gone */
	CHECK_EQ(set(IP_B, DP_POL_INGRESS, false, NULL, 0), 0);
	CHECK_EQ(ep_flags(IP_B) & GNT_EP_F_POL_INGRESS, 0);
	CHECK_EQ(dp_policy_get(dp, ip4(IP_B), DP_POL_INGRESS, &enf, &out, &n, &err), 0);
	CHECK(!enf);
	free(out);
	/* programmed before the endpoint exists: dp_endpoint_upsert-style
	 * flags come from the map */
	CHECK_EQ(set("10.244.1.99", DP_POL_EGRESS, true, NULL, 0), 0);
	CHECK_EQ(dp_policy_get(dp, ip4("10.244.1.99"), DP_POL_EGRESS, &enf, &out, &n, &err), 0);
	CHECK(enf);
	CHECK_EQ(n, 0);
	free(out);
	CHECK_EQ(dp_policy_delete(dp, ip4("10.244.1.99"), &err), 0);
	CHECK_EQ(dp_policy_set(dp, ip4(IP_B), 7, true, NULL, 0, &err), -EINVAL);
	/* a batch: B ingress enforced, C egress deny-all, A ingress set then
	 * unenforced in the same call's aftermath */
	{
		struct dp_pol_set bs[] = {
			{ .ep_ip = ip4(IP_B), .dir = DP_POL_INGRESS, .enforced = true, .e = in, .n = 2 },
			{ .ep_ip = ip4(IP_C), .dir = DP_POL_EGRESS, .enforced = true },
			{ .ep_ip = ip4(IP_A), .dir = DP_POL_INGRESS, .enforced = true, .e = in, .n = 1 },
		};

		CHECK_EQ(dp_policy_set_batch(dp, bs, 3, &err), 0);
		CHECK_EQ(ep_flags(IP_B) & GNT_POL_EP_MASK, GNT_EP_F_POL_INGRESS);
		CHECK_EQ(ep_flags(IP_C) & GNT_POL_EP_MASK, GNT_EP_F_POL_EGRESS);
		CHECK_EQ(dp_policy_get(dp, ip4(IP_B), DP_POL_INGRESS, &enf, &out, &n, &err), 0);
		CHECK(enf);
		CHECK_EQ(n, 2);
		free(out);
		bs[0].enforced = bs[1].enforced = bs[2].enforced = false;
		CHECK_EQ(dp_policy_set_batch(dp, bs, 3, &err), 0);
		CHECK_EQ(ep_flags(IP_B) & GNT_POL_EP_MASK, 0);
		CHECK_EQ(ep_flags(IP_C) & GNT_POL_EP_MASK, 0);
		CHECK_EQ(ep_flags(IP_A) & GNT_POL_EP_MASK, 0);
		CHECK_EQ(dp_policy_get(dp, ip4(IP_C), DP_POL_EGRESS, &enf, &out, &n, &err), 0);
		CHECK(!enf);
		free(out);
	}
}

static void test_ingress_verdicts(void)
{
	const struct dp_pol_entry e[] = {
		{ .identity = 0, .proto = IPPROTO_UDP, .port_lo = 53, .port_hi = 53 },
		{ .identity = ID_A, .proto = IPPROTO_TCP, .port_lo = 80, .port_hi = 80 },
		{ .identity = ID_C, .proto = IPPROTO_TCP, .port_lo = 8000, .port_hi = 8100 },
		{ .identity = ID_R, .proto = 0 },
	};
	uint64_t d0;

	reset_policy();
	/* unenforced: everything passes */
	CHECK_EQ(pod(IP_A, IP_B, IPPROTO_TCP, sp(), 81), TC_ACT_REDIRECT);
	CHECK_EQ(set(IP_B, DP_POL_INGRESS, true, e, 4), 0);
	d0 = drops(GNT_DROP_POLICY_INGRESS);
	CHECK_EQ(pod(IP_A, IP_B, IPPROTO_TCP, sp(), 80), TC_ACT_REDIRECT);   /* exact */
	CHECK_EQ(pod(IP_A, IP_B, IPPROTO_TCP, sp(), 81), TC_ACT_SHOT);       /* other port */
	CHECK_EQ(pod(IP_A, IP_B, IPPROTO_UDP, sp(), 80), TC_ACT_SHOT);       /* other proto */
	CHECK_EQ(pod(IP_A, IP_B, IPPROTO_UDP, sp(), 53), TC_ACT_REDIRECT);   /* ANY peer */
	CHECK_EQ(pod(IP_A, IP_B, IPPROTO_ICMP, sp(), 0), TC_ACT_SHOT);
	CHECK_EQ(drops(GNT_DROP_POLICY_INGRESS) - d0, 3);
	/* the same pod with another identity: the range entry */
	put_ep(IP_A, ID_C, MAC_A, MAC_HA);
	CHECK_EQ(pod(IP_A, IP_B, IPPROTO_TCP, sp(), 80), TC_ACT_SHOT);
	CHECK_EQ(pod(IP_A, IP_B, IPPROTO_TCP, sp(), 8000), TC_ACT_REDIRECT);
	CHECK_EQ(pod(IP_A, IP_B, IPPROTO_TCP, sp(), 8063), TC_ACT_REDIRECT);
	CHECK_EQ(pod(IP_A, IP_B, IPPROTO_TCP, sp(), 8064), TC_ACT_REDIRECT);
	CHECK_EQ(pod(IP_A, IP_B, IPPROTO_TCP, sp(), 8100), TC_ACT_REDIRECT);
	CHECK_EQ(pod(IP_A, IP_B, IPPROTO_TCP, sp(), 8101), TC_ACT_SHOT);
	CHECK_EQ(pod(IP_A, IP_B, IPPROTO_TCP, sp(), 7999), TC_ACT_SHOT);
	CHECK_EQ(pod(IP_A, IP_B, IPPROTO_UDP, sp(), 8050), TC_ACT_SHOT);
	/* any protocol and port */
	put_ep(IP_A, ID_R, MAC_A, MAC_HA);
	CHECK_EQ(pod(IP_A, IP_B, IPPROTO_ICMP, sp(), 0), TC_ACT_REDIRECT);
	CHECK_EQ(pod(IP_A, IP_B, IPPROTO_UDP, sp(), 9999), TC_ACT_REDIRECT);
	/* unknown identity (0): only ANY entries */
	put_ep(IP_A, 0, MAC_A, MAC_HA);
	CHECK_EQ(pod(IP_A, IP_B, IPPROTO_TCP, sp(), 80), TC_ACT_SHOT);
	CHECK_EQ(pod(IP_A, IP_B, IPPROTO_UDP, sp(), 53), TC_ACT_REDIRECT);
	/* deny all */
	put_ep(IP_A, ID_A, MAC_A, MAC_HA);
	CHECK_EQ(set(IP_B, DP_POL_INGRESS, true, NULL, 0), 0);
	CHECK_EQ(pod(IP_A, IP_B, IPPROTO_UDP, sp(), 53), TC_ACT_SHOT);
	reset_policy();
}

static void test_egress_after_dnat(void)
{
	struct dp_service s1 = { .vip = ip4(VIP), .port = 80, .proto = IPPROTO_TCP };
	struct dp_service s2 = { .vip = ip4(VIP2), .port = 80, .proto = IPPROTO_TCP };
	struct dp_backend b1 = { .ip = ip4(IP_B), .port = 8080, .local = true };
	struct dp_backend b2 = { .ip = ip4(IP_C), .port = 8080, .local = true };
	const struct dp_pol_entry e[] = {
		{ .identity = ID_B, .proto = IPPROTO_TCP, .port_lo = 8080, .port_hi = 8080 },
	};
	struct gerr err = { 0 };
	struct prun_result r;
	struct pkt p;

	reset_policy();
	CHECK_EQ(dp_service_upsert(dp, &s1, &b1, 1, &err), 0);
	CHECK_EQ(dp_service_upsert(dp, &s2, &b2, 1, &err), 0);
	CHECK_EQ(set(IP_A, DP_POL_EGRESS, true, e, 1), 0);
	/* the VIP's port (80) is not allowed, the backend's (8080) is */
	mk(&p, IP_A, VIP, IPPROTO_TCP, sp(), 80);
	CHECK_EQ(prun(prog_pod, &p, &r), 0);
	CHECK_EQ(r.ret, TC_ACT_REDIRECT);
	CHECK_EQ(((const struct iphdr *)(r.out + ETH_HLEN))->daddr, ip4(IP_B));
	/* same VIP port, backend C: denied */
	CHECK_EQ(pod(IP_A, VIP2, IPPROTO_TCP, sp(), 80), TC_ACT_SHOT);
	/* direct to B on 8080 allowed, on 80 not */
	CHECK_EQ(pod(IP_A, IP_B, IPPROTO_TCP, sp(), 8080), TC_ACT_REDIRECT);
	CHECK_EQ(pod(IP_A, IP_B, IPPROTO_TCP, sp(), 80), TC_ACT_SHOT);
	/* outside the cluster: WORLD, not allowed */
	CHECK_EQ(pod(IP_A, "203.0.113.7", IPPROTO_TCP, sp(), 8080), TC_ACT_SHOT);
	/* hairpin: A through a service to itself passes whatever the policy */
	{
		struct dp_service s3 = { .vip = ip4("10.96.0.22"), .port = 80, .proto = IPPROTO_TCP };
		struct dp_backend b3 = { .ip = ip4(IP_A), .port = 8080, .local = true };

		CHECK_EQ(set(IP_A, DP_POL_EGRESS, true, NULL, 0), 0);
		CHECK_EQ(set(IP_A, DP_POL_INGRESS, true, NULL, 0), 0);
		CHECK_EQ(dp_service_upsert(dp, &s3, &b3, 1, &err), 0);
		CHECK_EQ(pod(IP_A, "10.96.0.22", IPPROTO_TCP, sp(), 80), TC_ACT_REDIRECT);
		dp_service_delete(dp, &s3, NULL);
	}
	dp_service_delete(dp, &s1, NULL);
	dp_service_delete(dp, &s2, NULL);
	reset_policy();
}

static void test_decap_vni_identity(void)
{
	const struct dp_pol_entry e[] = {
		{ .identity = ID_R, .proto = IPPROTO_TCP, .port_lo = 80, .port_hi = 80 },
	};
	struct prun_result r;
	struct pkt p;

	reset_policy();
	CHECK_EQ(set(IP_B, DP_POL_INGRESS, true, e, 1), 0);
	mk_vxlan(&p, ID_R, IP_R, IP_B, sp(), 80);
	CHECK_EQ(prun(prog_ul, &p, &r), 0);
	CHECK_EQ(r.ret, TC_ACT_REDIRECT);
	CHECK_EQ(r.len, p.len - GNT_VXLAN_OVERHEAD);
	CHECK(!memcmp(r.out, MAC_B, 6));
	/* the same inner packet from another identity: dropped */
	mk_vxlan(&p, ID_C, IP_R, IP_B, sp(), 80);
	CHECK_EQ(verdict(prog_ul, &p), TC_ACT_SHOT);
	/* the VNI counts, not the (spoofable) inner source address */
	mk_vxlan(&p, ID_R, IP_A, IP_B, sp(), 80);
	CHECK_EQ(verdict(prog_ul, &p), TC_ACT_REDIRECT);
	mk_vxlan(&p, ID_R, IP_R, IP_B, sp(), 81);
	CHECK_EQ(verdict(prog_ul, &p), TC_ACT_SHOT);
	reset_policy();
}

static void test_conntrack_replies(void)
{
	const struct dp_pol_entry in_b[] = {
		{ .identity = ID_A, .proto = IPPROTO_TCP, .port_lo = 80, .port_hi = 80 },
	};
	uint16_t s = sp(), s2 = sp();
	struct pkt p;

	reset_policy();
	/* B: ingress allows A:80, egress denies everything; A: ingress
	 * denies everything (default deny in the client's namespace) */
	CHECK_EQ(set(IP_B, DP_POL_INGRESS, true, in_b, 1), 0);
	CHECK_EQ(set(IP_B, DP_POL_EGRESS, true, NULL, 0), 0);
	CHECK_EQ(set(IP_A, DP_POL_INGRESS, true, NULL, 0), 0);
	put_ep(IP_B, ID_B, MAC_B, MAC_HB);
	CHECK_EQ(pod(IP_A, IP_B, IPPROTO_TCP, s, 80), TC_ACT_REDIRECT);
	/* B's reply passes B's egress and A's ingress */
	CHECK_EQ(ACKED(pod(IP_B, IP_A, IPPROTO_TCP, 80, s)), TC_ACT_REDIRECT);
	/* a new flow from B to A: both deny */
	CHECK_EQ(pod(IP_B, IP_A, IPPROTO_TCP, 80, s2), TC_ACT_SHOT);
	/* the reply to a remote client arriving by VXLAN: the client's
	 * request created the entry at its egress */
	CHECK_EQ(set(IP_A, DP_POL_EGRESS, true,
		     (struct dp_pol_entry[]){ { .identity = ID_R, .proto = IPPROTO_TCP,
						.port_lo = 443, .port_hi = 443 } }, 1), 0);
	{
		struct gerr err = { 0 };

		CHECK_EQ(dp_ipcache_set(dp, ip4(IP_R), 32, ID_R, ip4(NODE2_IP), &err), 0);
	}
	CHECK_EQ(pod(IP_A, IP_R, IPPROTO_TCP, s2, 443), TC_ACT_REDIRECT);   /* encap */
	g_ack = 1;
	mk_vxlan(&p, ID_R, IP_R, IP_A, 443, s2);
	g_ack = 0;
	CHECK_EQ(verdict(prog_ul, &p), TC_ACT_REDIRECT);
	mk_vxlan(&p, ID_R, IP_R, IP_A, 443, sp());
	CHECK_EQ(verdict(prog_ul, &p), TC_ACT_SHOT);
	/* established flows survive a swap to a set without their entry */
	CHECK_EQ(set(IP_B, DP_POL_INGRESS, true, NULL, 0), 0);
	CHECK_EQ(ACKED(pod(IP_A, IP_B, IPPROTO_TCP, s, 80)), TC_ACT_REDIRECT);
	/* ...but a new connection (SYN) on the same 5-tuple is judged by
	 * the policy in force now, not by the old flow's entry */
	CHECK_EQ(pod(IP_A, IP_B, IPPROTO_TCP, s, 80), TC_ACT_SHOT);
	CHECK_EQ(pod(IP_A, IP_B, IPPROTO_TCP, sp(), 80), TC_ACT_SHOT);
	dp_ipcache_delete(dp, ip4(IP_R), 32, NULL);
	reset_policy();
}

/* A reader sends new flows allowed by both the old and the new set while
 * a writer swaps between sets of very different sizes: a non-atomic
 * update (clear and refill one map) would let some packets meet an empty
 * or partial set. */
struct swap_reader {
	atomic_int stop;
	long sent, dropped;
};

static void flush_ct(void)
{
	int fd = pin_fd("gnt_pol_ct");
	struct gnt_ct_key k, nk;

	if (fd < 0)
		return;
	while (!bpf_map_get_next_key(fd, NULL, &nk)) {
		k = nk;
		if (bpf_map_delete_elem(fd, &k))
			break;
	}
	close(fd);
}

static void *reader(void *arg)
{
	struct swap_reader *sr = arg;
	uint16_t port = 1024;

	while (!atomic_load(&sr->stop)) {
		struct pkt p;

		mk(&p, IP_A, IP_B, IPPROTO_TCP, port, 80);
		if (port == 65535) {
			/* every source port used: forget the flows so that
			 * each packet is a new one again */
			flush_ct();
			port = 1024;
		} else {
			port++;
		}
		if (verdict(prog_pod, &p) != TC_ACT_REDIRECT)
			sr->dropped++;
		sr->sent++;
	}
	return NULL;
}

static void test_atomic_swap(void)
{
	static struct dp_pol_entry big[2001];
	const struct dp_pol_entry small[] = {
		{ .identity = ID_A, .proto = IPPROTO_TCP, .port_lo = 80, .port_hi = 80 },
	};
	struct swap_reader sr = { 0 };
	pthread_t th;
	int swaps = 0;

	reset_policy();
	/* big: the allowing entry among 2000 others (sorted, it is first) */
	big[0] = small[0];
	for (int i = 1; i < 2001; i++)
		big[i] = (struct dp_pol_entry){ .identity = 1000 + i, .proto = IPPROTO_TCP,
						.port_lo = (uint16_t)i, .port_hi = (uint16_t)i };
	CHECK_EQ(set(IP_B, DP_POL_INGRESS, true, small, 1), 0);
	pthread_create(&th, NULL, reader, &sr);
	for (int i = 0; i < 200; i++) {
		if (set(IP_B, DP_POL_INGRESS, true, i & 1 ? small : big, i & 1 ? 1 : 2001))
			break;
		swaps++;
	}
	atomic_store(&sr.stop, 1);
	pthread_join(th, NULL);
	printf("  %d swaps, %ld packets during them, %ld dropped\n", swaps, sr.sent, sr.dropped);
	CHECK_EQ(swaps, 200);
	CHECK(sr.sent > 1000);
	CHECK_EQ(sr.dropped, 0);
	reset_policy();
}

static void test_fail_closed(void)
{
	struct gnt_pol_ep_key k = { .ip = ip4(IP_B), .dir = GNT_POL_DIR_INGRESS };
	const struct dp_pol_entry any[] = { { .identity = 0, .proto = 0 } };
	uint64_t d0 = drops(GNT_DROP_POLICY_STATE);
	struct dp_pol_entry *out = NULL;
	bool enf = false;
	size_t n = 0;

	reset_policy();
	CHECK_EQ(set(IP_B, DP_POL_INGRESS, true, any, 1), 0);
	CHECK_EQ(pod(IP_A, IP_B, IPPROTO_TCP, sp(), 80), TC_ACT_REDIRECT);
	/* the endpoint says enforced, its set is gone */
	CHECK_EQ(bpf_map_delete_elem(fd_policy, &k), 0);
	CHECK_EQ(pod(IP_A, IP_B, IPPROTO_TCP, sp(), 80), TC_ACT_SHOT);
	CHECK_EQ(drops(GNT_DROP_POLICY_STATE) - d0, 1);
	CHECK_EQ(dp_policy_get(dp, ip4(IP_B), DP_POL_INGRESS, &enf, &out, &n, NULL), 0);
	CHECK(enf);
	CHECK_EQ(n, 0);
	free(out);
	reset_policy();
}

/* tc egress program run on a frame; routed: as if it came in from another
 * device (the node's own frames have no input device) */
static int eg_verdict(const struct pkt *p, uint32_t mark, int routed)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .repeat = 1);
	struct __sk_buff ctx = { .mark = mark, .ingress_ifindex = routed ? 1 : 0 };
	uint8_t out[PKT_MAX + 256];

	o.data_in = p->buf;
	o.data_size_in = (uint32_t)p->len;
	o.data_out = out;
	o.data_size_out = sizeof(out);
	o.ctx_in = &ctx;
	o.ctx_size_in = sizeof(ctx);
	if (bpf_prog_test_run_opts(prog_pod_eg, &o))
		return -1000;
	return (int)o.retval;
}

static void test_host_probe(void)
{
	const struct dp_pol_entry host[] = {
		{ .identity = DP_ID_HOST, .proto = 0 },
		{ .identity = ID_A, .proto = IPPROTO_TCP, .port_lo = 80, .port_hi = 80 },
	};
	uint16_t s = sp();
	struct pkt p;

	reset_policy();
	CHECK_EQ(set(IP_B, DP_POL_INGRESS, true, host, 2), 0);
	CHECK_EQ(set(IP_B, DP_POL_EGRESS, true, NULL, 0), 0);
	/* from the node's stack into B (tc egress of B's host veth), any
	 * source address the route picked */
	mk(&p, "172.16.9.9", IP_B, IPPROTO_TCP, s, 8080);
	CHECK_EQ(eg_verdict(&p, 0, 0), TC_ACT_OK);
	/* B's answer passes B's egress (conntrack) */
	put_ep(IP_B, ID_B, MAC_B, MAC_HB);
	CHECK_EQ(ACKED(pod(IP_B, "172.16.9.9", IPPROTO_TCP, 8080, s)), TC_ACT_OK);
	/* a new connection from B to there does not */
	CHECK_EQ(pod(IP_B, "172.16.9.9", IPPROTO_TCP, 8080, sp()), TC_ACT_SHOT);
	/* the node's IP, routed in: still HOST */
	mk(&p, NODE_IP, IP_B, IPPROTO_TCP, sp(), 8080);
	CHECK_EQ(eg_verdict(&p, 0, 1), TC_ACT_OK);
	/* another source routed through the stack: WORLD, denied */
	mk(&p, "198.51.100.9", IP_B, IPPROTO_TCP, sp(), 8080);
	CHECK_EQ(eg_verdict(&p, 0, 1), TC_ACT_SHOT);
	/* a pod routed through the stack: its ipcache identity */
	CHECK_EQ(dp_ipcache_set(dp, ip4(IP_R), 32, ID_A, ip4(NODE2_IP), NULL), 0);
	mk(&p, IP_R, IP_B, IPPROTO_TCP, sp(), 80);
	CHECK_EQ(eg_verdict(&p, 0, 1), TC_ACT_OK);
	mk(&p, IP_R, IP_B, IPPROTO_TCP, sp(), 81);
	CHECK_EQ(eg_verdict(&p, 0, 1), TC_ACT_SHOT);
	dp_ipcache_delete(dp, ip4(IP_R), 32, NULL);
	/* frames the pod program checked and redirected skip the check */
	mk(&p, "198.51.100.9", IP_B, IPPROTO_TCP, sp(), 8080);
	CHECK_EQ(eg_verdict(&p, 0x0a7e0f00, 1), TC_ACT_OK);
	/* unpoliced endpoints: nothing checked */
	reset_policy();
	mk(&p, "198.51.100.9", IP_B, IPPROTO_TCP, sp(), 8080);
	CHECK_EQ(eg_verdict(&p, 0, 1), TC_ACT_OK);
}

struct ev_seen {
	int n;
	struct dp_event last_drop, last_allow;
	int drops, allows;
};

static int ev_cb(const struct dp_event *ev, void *arg)
{
	struct ev_seen *s = arg;

	s->n++;
	if (ev->allowed) {
		s->allows++;
		s->last_allow = *ev;
	} else if (ev->code == -13 || ev->code == -14 || ev->code == -15) {
		s->drops++;
		s->last_drop = *ev;
	}
	return 0;
}

static void drain(struct ev_seen *s)
{
	memset(s, 0, sizeof(*s));
	while (dp_events_poll(dp, 0, ev_cb, s, NULL) > 0)
		;
}

static void test_events(void)
{
	const struct dp_pol_entry e[] = {
		{ .identity = ID_A, .proto = IPPROTO_TCP, .port_lo = 80, .port_hi = 80 },
	};
	struct ev_seen s;
	uint16_t port = sp();

	reset_policy();
	drain(&s);
	CHECK_EQ(set(IP_B, DP_POL_INGRESS, true, e, 1), 0);
	CHECK_EQ(pod(IP_A, IP_B, IPPROTO_TCP, port, 81), TC_ACT_SHOT);
	drain(&s);
	CHECK_EQ(s.drops, 1);
	CHECK_EQ(s.allows, 0);
	CHECK_EQ(s.last_drop.code, GNT_DROP_POLICY_INGRESS);
	CHECK_STR(dp_drop_name(s.last_drop.code), "policy-denied-ingress");
	CHECK_EQ(s.last_drop.src_identity, ID_A);
	CHECK_EQ(s.last_drop.dst_identity, ID_B);
	CHECK_EQ(s.last_drop.dir, DP_POL_INGRESS);
	CHECK_EQ(s.last_drop.saddr, ip4(IP_A));
	CHECK_EQ(s.last_drop.daddr, ip4(IP_B));
	CHECK_EQ(s.last_drop.sport, port);
	CHECK_EQ(s.last_drop.dport, 81);
	CHECK_EQ(s.last_drop.proto, IPPROTO_TCP);
	CHECK_STR(s.last_drop.hook, "pod");
	/* allow events: off by default, then one per new flow */
	CHECK_EQ(pod(IP_A, IP_B, IPPROTO_TCP, port = sp(), 80), TC_ACT_REDIRECT);
	drain(&s);
	CHECK_EQ(s.allows, 0);
	CHECK_EQ(dp_policy_set_allow_events(dp, true, NULL), 0);
	CHECK_EQ(pod(IP_A, IP_B, IPPROTO_TCP, port = sp(), 80), TC_ACT_REDIRECT);
	CHECK_EQ(ACKED(pod(IP_A, IP_B, IPPROTO_TCP, port, 80)), TC_ACT_REDIRECT);   /* ct hit */
	drain(&s);
	CHECK_EQ(s.allows, 1);
	CHECK_EQ(s.last_allow.code, 0);
	CHECK_EQ(s.last_allow.src_identity, ID_A);
	CHECK_EQ(s.last_allow.dst_identity, ID_B);
	CHECK_EQ(s.last_allow.dir, DP_POL_INGRESS);
	CHECK_EQ(s.last_allow.sport, port);
	CHECK_EQ(dp_policy_set_allow_events(dp, false, NULL), 0);
	/* egress drop: direction and the destination's ipcache identity */
	CHECK_EQ(dp_ipcache_set(dp, ip4("203.0.113.0"), 24, 0x800007, 0, NULL), 0);
	CHECK_EQ(set(IP_A, DP_POL_EGRESS, true, NULL, 0), 0);
	CHECK_EQ(pod(IP_A, "203.0.113.5", IPPROTO_UDP, sp(), 53), TC_ACT_SHOT);
	drain(&s);
	CHECK_EQ(s.drops, 1);
	CHECK_EQ(s.last_drop.code, GNT_DROP_POLICY_EGRESS);
	CHECK_EQ(s.last_drop.dir, DP_POL_EGRESS);
	CHECK_EQ(s.last_drop.src_identity, ID_A);
	CHECK_EQ(s.last_drop.dst_identity, 0x800007);
	/* ... and a CIDR identity entry allows it */
	CHECK_EQ(set(IP_A, DP_POL_EGRESS, true,
		     (struct dp_pol_entry[]){ { .identity = 0x800007, .proto = IPPROTO_UDP,
						.port_lo = 53, .port_hi = 53 } }, 1), 0);
	CHECK_EQ(pod(IP_A, "203.0.113.5", IPPROTO_UDP, sp(), 53), TC_ACT_OK);
	dp_ipcache_delete(dp, ip4("203.0.113.0"), 24, NULL);
	reset_policy();
}

static int count_remotes(const struct dp_remote *r, void *arg)
{
	(*(int *)arg)++;
	return 0;
}

static void test_ipcache_routing(void)
{
	const struct iphdr *ip, *outer;
	struct gerr err = { 0 };
	struct prun_result r;
	struct pkt p;
	int nrem = 0;
	uint32_t vni;

	reset_policy();
	/* a CIDR identity inside node 2's pod CIDR, without a node IP */
	CHECK_EQ(dp_ipcache_set(dp, ip4("10.244.2.128"), 25, 0x800010, 0, &err), 0);
	CHECK_EQ(dp_ipcache_set(dp, ip4("10.244.2.200"), 32, ID_R, 0, &err), 0);
	mk(&p, IP_A, "10.244.2.130", IPPROTO_TCP, sp(), 80);
	CHECK_EQ(prun(prog_pod, &p, &r), 0);
	CHECK_EQ(r.ret, TC_ACT_REDIRECT);
	outer = (const struct iphdr *)(r.out + ETH_HLEN);
	ip = (const struct iphdr *)(r.out + ETH_HLEN + GNT_VXLAN_OVERHEAD);
	CHECK_EQ(outer->daddr, ip4(NODE2_IP));
	CHECK_EQ(ip->daddr, ip4("10.244.2.130"));
	memcpy(&vni, r.out + ETH_HLEN + 28 + 4, 4);
	CHECK_EQ(ntohl(vni) >> 8, ID_A);
	mk(&p, IP_A, "10.244.2.200", IPPROTO_TCP, sp(), 80);
	CHECK_EQ(prun(prog_pod, &p, &r), 0);
	CHECK_EQ(r.ret, TC_ACT_REDIRECT);
	outer = (const struct iphdr *)(r.out + ETH_HLEN);
	CHECK_EQ(outer->daddr, ip4(NODE2_IP));
	/* identity entries are no remote nodes */
	dp_remote_foreach(dp, count_remotes, &nrem);
	CHECK_EQ(nrem, 1);
	/* and egress policy sees their identity */
	CHECK_EQ(set(IP_A, DP_POL_EGRESS, true,
		     (struct dp_pol_entry[]){ { .identity = 0x800010, .proto = 0 } }, 1), 0);
	CHECK_EQ(pod(IP_A, "10.244.2.131", IPPROTO_TCP, sp(), 80), TC_ACT_REDIRECT);
	CHECK_EQ(pod(IP_A, "10.244.2.200", IPPROTO_TCP, sp(), 80), TC_ACT_SHOT);
	CHECK_EQ(pod(IP_A, "10.244.2.5", IPPROTO_TCP, sp(), 80), TC_ACT_SHOT);   /* WORLD */
	CHECK_EQ(dp_ipcache_delete(dp, ip4("10.244.2.128"), 25, &err), 0);
	CHECK_EQ(dp_ipcache_delete(dp, ip4("10.244.2.200"), 32, &err), 0);
	reset_policy();
}

/* ------------------------------------------------------------ main */

static void cleanup(void)
{
	dp_close(dp);
	if (pin_root[0]) {
		/* dp_destroy detaches from each endpoint's ifindex: ours are
		 * fake (lo), so forget them first */
		const char *ips[] = { IP_A, IP_B, IP_C };

		if (fd_ep >= 0)
			for (size_t i = 0; i < 3; i++) {
				uint32_t k = ip4(ips[i]);

				bpf_map_delete_elem(fd_ep, &k);
			}
		dp_destroy(pin_root, "n1", NULL, NULL);
	}
	rmdir(pin_root);
}

int main(void)
{
	static const struct t_case cases[] = {
		T(test_map_roundtrip), T(test_ingress_verdicts), T(test_egress_after_dnat),
		T(test_decap_vni_identity), T(test_conntrack_replies), T(test_atomic_swap),
		T(test_fail_closed), T(test_host_probe), T(test_events), T(test_ipcache_routing),
	};
	struct dp_config cfg = {
		.node_name = "n1", .node_ip = ip4(NODE_IP),
		.pod_cidr = ip4("10.244.1.0"), .pod_prefix_len = 24,
		.cluster_cidr = ip4("10.244.0.0"), .cluster_prefix_len = 16,
	};
	struct dp_remote rem = { .pod_cidr = ip4("10.244.2.0"), .prefix_len = 24,
				 .node_ip = ip4(NODE2_IP) };
	struct gerr err = { 0 };
	int ret;

	if (getenv("GNT_TEST_PINDIR"))
		snprintf(pin_root, sizeof(pin_root), "%s", getenv("GNT_TEST_PINDIR"));
	else
		snprintf(pin_root, sizeof(pin_root), "/sys/fs/bpf/gannet-test-pol-%d", (int)getpid());
	cfg.pin_root = pin_root;
	ret = dp_open(&cfg, &dp, &err);
	if (ret) {
		fprintf(stderr, "dp_open: %s\n", err.msg);
		cleanup();
		return 1;
	}
	fd_ep = pin_fd("gnt_endpoints");
	fd_stats = pin_fd("gnt_stats");
	fd_policy = pin_fd("gnt_policy");
	prog_pod = pin_fd("prog_pod");
	prog_pod_eg = pin_fd("prog_pod_egress");
	prog_ul = pin_fd("prog_underlay_tc");
	put_ep(IP_A, ID_A, MAC_A, MAC_HA);
	put_ep(IP_B, ID_B, MAC_B, MAC_HB);
	put_ep(IP_C, ID_C, MAC_B, MAC_HB);
	ret = dp_remote_upsert(dp, &rem, &err);
	if (ret || fd_ep < 0 || fd_stats < 0 || fd_policy < 0 || prog_pod < 0 || prog_pod_eg < 0 ||
	    prog_ul < 0) {
		fprintf(stderr, "setup failed (%s)\n", err.msg[0] ? err.msg : strerror(errno));
		cleanup();
		return 1;
	}
	ret = t_run(cases, sizeof(cases) / sizeof(cases[0]));
	cleanup();
	return ret;
}

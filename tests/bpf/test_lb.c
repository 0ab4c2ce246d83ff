/* SPDX-License-Identifier: Apache-2.0 */
/* Service load-balancing datapath tests through BPF_PROG_RUN: the node is
 * loaded and programmed through libgannet-dataplane (dp_open,
 * dp_service_upsert: the real userspace path) with pins under a private
 * /sys/fs/bpf/gannet-test-* directory; hand-built packets go into the
 * pinned pod and underlay programs. Checked independently of the
 * datapath: the backend chosen equals the userspace Maglev table at the
 * flow hash's slot (and that table equals a fresh maglev_build()), the
 * rewritten headers, IPv4 and TCP/UDP checksums recomputed from scratch,
 * conntrack keeping a flow on its backend after the backend set changed,
 * reverse NAT of replies from local (pod program) and remote (underlay
 * decap) backends, affinity, no-backend drops, headless refusal and the
 * per-service counters. Needs root; nothing is attached anywhere. */
#include <dirent.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <netinet/in.h>

#include "bpf/lib/common.h"
#include "bpf/underlay.skel.h"
#include "dataplane/dataplane.h"
#include "dataplane/maglev.h"
#include "tests/bpf/pktbuild.h"
#include "tests/bpf/progrun.h"
#include "tests/unit/test.h"

static const uint8_t MAC_A[6]  = { 0x02, 0xaa, 0, 0, 0, 0x01 };
static const uint8_t MAC_HA[6] = { 0x02, 0xaa, 0, 0, 0, 0xf1 };
static const uint8_t MAC_B[6]  = { 0x02, 0xbb, 0, 0, 0, 0x02 };
static const uint8_t MAC_HB[6] = { 0x02, 0xbb, 0, 0, 0, 0xf2 };
static const uint8_t MAC_ZERO[6] = { 0 };    /* lo: PACKET_HOST under PROG_RUN */

static char pin_root[128];
static struct dp_node *dp;
static int prog_pod = -1, prog_ul = -1;
static int fd_services = -1, fd_backends = -1, fd_svc_stats = -1, fd_stats = -1;
static uint32_t *maglev;
static size_t maglev_bytes;

#define VIP "10.96.0.10"
#define IP_A "10.244.1.2"
#define IP_B "10.244.1.3"          /* local backend */
#define IP_C "10.244.2.5"          /* remote backend on node 192.168.77.2 */

static int pin_fd(const char *name)
{
	return prun_pin_fd(pin_root, "n1", name);
}

/* ------------------------------------------------------------ reference */

/* the datapath's flow hash (bpf/lib/vxlan.h flow_hash with no skb hash),
 * written out again here */
static uint32_t ref_hash(uint32_t saddr, uint32_t daddr, uint16_t sport, uint16_t dport,
			 uint8_t proto)
{
	uint8_t pb[4];
	uint32_t ports, h;

	memcpy(pb, &sport, 2);
	memcpy(pb + 2, &dport, 2);
	memcpy(&ports, pb, 4);
	h = saddr ^ (daddr * 0x9e3779b1U) ^ (ports * 0x85ebca6bU) ^ proto;
	h ^= h >> 16;
	h *= 0x7feb352dU;
	h ^= h >> 15;
	h *= 0x846ca68bU;
	h ^= h >> 16;
	return h;
}

/* L4 checksum over the pseudo-header and segment; 0 = valid */
static uint16_t l4_sum(const struct iphdr *ip)
{
	size_t l4len = ntohs(ip->tot_len) - ip->ihl * 4;
	uint8_t buf[PKT_MAX + 12];

	memcpy(buf, &ip->saddr, 4);
	memcpy(buf + 4, &ip->daddr, 4);
	buf[8] = 0;
	buf[9] = ip->protocol;
	buf[10] = (uint8_t)(l4len >> 8);
	buf[11] = (uint8_t)l4len;
	memcpy(buf + 12, (const uint8_t *)ip + ip->ihl * 4, l4len);
	return pkt_csum(buf, l4len + 12);
}

static void l4_fill(struct pkt *p, size_t ip_off)
{
	struct iphdr *ip = (struct iphdr *)(p->buf + ip_off);
	uint8_t *l4 = (uint8_t *)ip + ip->ihl * 4;
	uint16_t *csum = (uint16_t *)(l4 + (ip->protocol == IPPROTO_TCP ? 16 : 6));

	*csum = 0;
	*csum = l4_sum(ip);
	if (ip->protocol == IPPROTO_UDP && !*csum)
		*csum = 0xffff;
}

static int ipsum_ok(const struct iphdr *ip)
{
	return pkt_csum(ip, ip->ihl * 4) == 0;
}

/* ------------------------------------------------------------ packets */

static void mk_pkt(struct pkt *p, const char *src, const char *dst, uint8_t proto,
		   uint16_t sport, uint16_t dport, int csum)
{
	memset(p, 0, sizeof(*p));
	pkt_eth(p, MAC_HA, MAC_A, ETH_P_IP);
	pkt_ipv4(p, src, dst, proto, 64);
	if (proto == IPPROTO_TCP)
		pkt_tcp(p, sport, dport);
	else
		pkt_udp(p, sport, dport);
	pkt_payload(p, 32);
	pkt_finish(p);
	if (csum)
		l4_fill(p, ETH_HLEN);
}

/* IPv4 header of the delivered packet: at 14, or inner at 14 + 50 when
 * encapsulated (*outer set) */
static const struct iphdr *out_ip(const struct prun_result *r, const struct iphdr **outer)
{
	const struct iphdr *ip = (const struct iphdr *)(r->out + ETH_HLEN);

	*outer = NULL;
	if (ip->protocol == IPPROTO_UDP && ntohs(((const struct udphdr *)(ip + 1))->dest) == 8472) {
		*outer = ip;
		return (const struct iphdr *)(r->out + ETH_HLEN + GNT_VXLAN_OVERHEAD);
	}
	return ip;
}

static uint16_t l4_port(const struct iphdr *ip, int dst)
{
	const uint16_t *pp = (const uint16_t *)((const uint8_t *)ip + ip->ihl * 4);

	return ntohs(pp[dst ? 1 : 0]);
}

/* ------------------------------------------------------------ helpers */

static struct dp_service svc_tcp = { .port = 80, .proto = IPPROTO_TCP };
static const struct dp_backend BE_B = { .port = 8080, .local = true };
static const struct dp_backend BE_C = { .port = 8080 };

static int upsert(struct dp_service *s, const struct dp_backend *b, size_t n)
{
	struct gerr err = { 0 };
	int ret = dp_service_upsert(dp, s, b, n, &err);

	if (ret)
		fprintf(stderr, "  upsert: %s\n", err.msg);
	return ret;
}

/* Backend the datapath must pick for a new flow: the service's active
 * userspace table at slot hash % M. */
static uint32_t expected_backend(const struct dp_service *s, uint32_t h)
{
	struct gnt_svc_key k = { .vip = s->vip, .port = htons(s->port), .proto = s->proto };
	struct gnt_svc_val v;
	struct gnt_backend be;
	uint32_t id;

	if (bpf_map_lookup_elem(fd_services, &k, &v))
		return 0;
	id = maglev[((size_t)v.id * 2 + v.table) * GNT_MAGLEV_STRIDE + h % GNT_MAGLEV_M];
	if (bpf_map_lookup_elem(fd_backends, &id, &be))
		return 0;
	return be.ip;
}

static uint64_t svc_packets(uint32_t id)
{
	return prun_stat_packets(fd_svc_stats, id);
}

static uint64_t drop_count(int reason)
{
	return prun_stat_packets(fd_stats, GNT_STATS_DROP_BASE + (uint32_t)-reason);
}

/* Sends A:sport -> VIP:80 TCP through the pod program; checks the DNAT
 * and returns the backend address it went to (0 on failure). */
static uint32_t send_syn(uint16_t sport)
{
	const struct iphdr *ip, *outer;
	struct prun_result r;
	struct pkt p;

	mk_pkt(&p, IP_A, VIP, IPPROTO_TCP, sport, 80, 1);
	CHECK_EQ(prun(prog_pod, &p, &r), 0);
	CHECK_EQ(r.ret, TC_ACT_REDIRECT);
	ip = out_ip(&r, &outer);
	CHECK(ipsum_ok(ip));
	CHECK_EQ(l4_sum(ip), 0);                 /* TCP checksum valid */
	CHECK_EQ(ip->saddr, ip4(IP_A));
	CHECK_EQ(l4_port(ip, 0), sport);
	CHECK_EQ(l4_port(ip, 1), 8080);
	CHECK_EQ(ip->ttl, 63);
	if (ip->daddr == ip4(IP_C)) {
		CHECK(outer != NULL);
		if (outer) {
			CHECK_EQ(outer->daddr, ip4("192.168.77.2"));
			CHECK(ipsum_ok(outer));
		}
	} else {
		CHECK_EQ(ip->daddr, ip4(IP_B));
		CHECK(outer == NULL);
		CHECK(!memcmp(r.out, MAC_B, 6));   /* local delivery MACs */
	}
	return r.ret == TC_ACT_REDIRECT ? ip->daddr : 0;
}

/* ------------------------------------------------------------ tests */

static struct dp_backend be2[2];

static void test_maglev_table_matches_userspace(void)
{
	struct gnt_svc_key k = { .vip = svc_tcp.vip, .port = htons(80), .proto = IPPROTO_TCP };
	struct maglev_backend mb[2];
	uint32_t ref[GNT_MAGLEV_M];
	struct gnt_svc_val v;
	const uint32_t *t;

	CHECK_EQ(bpf_map_lookup_elem(fd_services, &k, &v), 0);
	CHECK_EQ(v.count, 2);
	t = maglev + ((size_t)v.id * 2 + v.table) * GNT_MAGLEV_STRIDE;
	/* ids as allocated: read back which id each backend got */
	for (int i = 0; i < 2; i++) {
		uint32_t id = 0;

		for (int s = 0; s < GNT_MAGLEV_M && !id; s++) {
			struct gnt_backend gb;

			if (!bpf_map_lookup_elem(fd_backends, &t[s], &gb) && gb.ip == be2[i].ip)
				id = t[s];
		}
		CHECK(id != 0);
		mb[i].key = maglev_backend_key(be2[i].ip, htons(be2[i].port), IPPROTO_TCP);
		mb[i].weight = 1;
		mb[i].id = id;
	}
	CHECK_EQ(maglev_build(mb, 2, ref, GNT_MAGLEV_M), 0);
	CHECK(!memcmp(ref, t, sizeof(ref)));
}

static void test_dnat_follows_maglev(void)
{
	int nb = 0, nc = 0;
	uint64_t before = svc_packets(svc_tcp.id);

	for (uint16_t sport = 40000; sport < 40016; sport++) {
		uint32_t h = ref_hash(ip4(IP_A), ip4(VIP), htons(sport), htons(80), IPPROTO_TCP);
		uint32_t want = expected_backend(&svc_tcp, h);
		uint32_t got = send_syn(sport);

		CHECK(want != 0);
		CHECK_EQ(got, want);
		nb += got == ip4(IP_B);
		nc += got == ip4(IP_C);
	}
	printf("  16 flows: %d to the local backend, %d to the remote one\n", nb, nc);
	CHECK(nb > 0 && nc > 0);
	CHECK_EQ(svc_packets(svc_tcp.id) - before, 16);
}

/* flow 40000..: find one that went to B, remove B, the flow stays on B
 * (conntrack), a new flow that would have gone to B goes to C */
static void test_ct_keeps_flow_after_change(void)
{
	uint16_t on_b = 0, new_b = 0;

	for (uint16_t s = 40000; s < 40016 && !on_b; s++)
		if (expected_backend(&svc_tcp, ref_hash(ip4(IP_A), ip4(VIP), htons(s), htons(80),
							 IPPROTO_TCP)) == ip4(IP_B))
			on_b = s;
	for (uint16_t s = 41000; s < 41100 && !new_b; s++)
		if (expected_backend(&svc_tcp, ref_hash(ip4(IP_A), ip4(VIP), htons(s), htons(80),
							 IPPROTO_TCP)) == ip4(IP_B))
			new_b = s;
	CHECK(on_b && new_b);
	CHECK_EQ(upsert(&svc_tcp, &be2[1], 1), 0);          /* only C left */
	CHECK_EQ(send_syn(on_b), ip4(IP_B));                 /* conntrack hit */
	CHECK_EQ(send_syn(new_b), ip4(IP_C));                /* miss: new table */
	CHECK_EQ(upsert(&svc_tcp, be2, 2), 0);
	/* the flow created while only C existed stays on C */
	CHECK_EQ(send_syn(new_b), ip4(IP_C));
}

/* B's reply to a flow it got through the VIP leaves the pod program with
 * the VIP as source */
static void test_revnat_local_reply(void)
{
	const struct iphdr *ip, *outer;
	uint16_t s = 0;
	struct prun_result r;
	struct pkt p;

	for (uint16_t x = 40000; x < 40016 && !s; x++)
		if (expected_backend(&svc_tcp, ref_hash(ip4(IP_A), ip4(VIP), htons(x), htons(80),
							 IPPROTO_TCP)) == ip4(IP_B))
			s = x;
	CHECK(s != 0);
	send_syn(s);
	mk_pkt(&p, IP_B, IP_A, IPPROTO_TCP, 8080, s, 1);
	memcpy(p.buf, MAC_HB, 6);
	memcpy(p.buf + 6, MAC_B, 6);
	CHECK_EQ(prun(prog_pod, &p, &r), 0);
	CHECK_EQ(r.ret, TC_ACT_REDIRECT);
	ip = out_ip(&r, &outer);
	CHECK(outer == NULL);
	CHECK_EQ(ip->saddr, ip4(VIP));
	CHECK_EQ(l4_port(ip, 0), 80);
	CHECK_EQ(ip->daddr, ip4(IP_A));
	CHECK_EQ(l4_port(ip, 1), s);
	CHECK(ipsum_ok(ip));
	CHECK_EQ(l4_sum(ip), 0);
	CHECK(!memcmp(r.out, MAC_A, 6));

	/* an unrelated packet from B is not touched */
	mk_pkt(&p, IP_B, IP_A, IPPROTO_TCP, 8080, 9, 1);
	CHECK_EQ(prun(prog_pod, &p, &r), 0);
	ip = out_ip(&r, &outer);
	CHECK_EQ(ip->saddr, ip4(IP_B));
	CHECK_EQ(l4_port(ip, 0), 8080);
}

/* C's reply arrives VXLAN-encapsulated at node 1: after decap the
 * underlay program restores the VIP */
static void test_revnat_remote_reply(void)
{
	static const uint8_t MAC_I[6] = { 0x02, 0x11, 0, 0, 0, 0x22 };
	const struct iphdr *ip;
	uint16_t s = 0;
	struct prun_result r;
	struct pkt p;

	for (uint16_t x = 40000; x < 40016 && !s; x++)
		if (expected_backend(&svc_tcp, ref_hash(ip4(IP_A), ip4(VIP), htons(x), htons(80),
							 IPPROTO_TCP)) == ip4(IP_C))
			s = x;
	CHECK(s != 0);
	send_syn(s);
	memset(&p, 0, sizeof(p));
	pkt_eth(&p, MAC_ZERO, MAC_I, ETH_P_IP);
	pkt_ipv4(&p, "192.168.77.2", "192.168.77.1", IPPROTO_UDP, 64);
	pkt_udp(&p, 50000, 8472);
	pkt_vxlan(&p, 77, 0x08000000);
	pkt_eth(&p, MAC_I, MAC_I, ETH_P_IP);
	pkt_ipv4(&p, IP_C, IP_A, IPPROTO_TCP, 63);
	pkt_tcp(&p, 8080, s);
	pkt_payload(&p, 32);
	pkt_finish(&p);
	l4_fill(&p, ETH_HLEN + GNT_VXLAN_OVERHEAD);
	CHECK_EQ(prun(prog_ul, &p, &r), 0);
	CHECK_EQ(r.ret, TC_ACT_REDIRECT);
	CHECK_EQ(r.len, p.len - GNT_VXLAN_OVERHEAD);
	ip = (const struct iphdr *)(r.out + ETH_HLEN);
	CHECK_EQ(ip->saddr, ip4(VIP));
	CHECK_EQ(l4_port(ip, 0), 80);
	CHECK_EQ(ip->daddr, ip4(IP_A));
	CHECK(ipsum_ok(ip));
	CHECK_EQ(l4_sum(ip), 0);
	CHECK(!memcmp(r.out, MAC_A, 6));
}

static void test_udp_checksums(void)
{
	struct dp_service su = { .port = 53, .proto = IPPROTO_UDP, .vip = ip4(VIP) };
	struct dp_backend b = { .ip = ip4(IP_B), .port = 5353, .local = true };
	const struct iphdr *ip, *outer;
	struct prun_result r;
	struct pkt p;

	CHECK_EQ(upsert(&su, &b, 1), 0);
	mk_pkt(&p, IP_A, VIP, IPPROTO_UDP, 33333, 53, 1);
	CHECK_EQ(prun(prog_pod, &p, &r), 0);
	CHECK_EQ(r.ret, TC_ACT_REDIRECT);
	ip = out_ip(&r, &outer);
	CHECK_EQ(ip->daddr, ip4(IP_B));
	CHECK_EQ(l4_port(ip, 1), 5353);
	CHECK(ipsum_ok(ip));
	CHECK_EQ(l4_sum(ip), 0);
	/* no checksum (0) stays "no checksum" */
	mk_pkt(&p, IP_A, VIP, IPPROTO_UDP, 33334, 53, 0);
	CHECK_EQ(prun(prog_pod, &p, &r), 0);
	ip = out_ip(&r, &outer);
	CHECK_EQ(ip->daddr, ip4(IP_B));
	CHECK_EQ(((const struct udphdr *)(ip + 1))->check, 0);
	CHECK(ipsum_ok(ip));
	dp_service_delete(dp, &su, NULL);
}

static void test_no_backend_drop(void)
{
	struct dp_service s0 = { .port = 81, .proto = IPPROTO_TCP, .vip = ip4(VIP) };
	uint64_t before = drop_count(GNT_DROP_NO_BACKEND);
	struct prun_result r;
	struct pkt p;

	CHECK_EQ(upsert(&s0, NULL, 0), 0);
	mk_pkt(&p, IP_A, VIP, IPPROTO_TCP, 40000, 81, 1);
	CHECK_EQ(prun(prog_pod, &p, &r), 0);
	CHECK_EQ(r.ret, TC_ACT_SHOT);
	CHECK_EQ(drop_count(GNT_DROP_NO_BACKEND) - before, 1);
	dp_service_delete(dp, &s0, NULL);
	/* deleted: the VIP is just an address again (not in the cluster
	 * CIDR -> to the stack) */
	CHECK_EQ(prun(prog_pod, &p, &r), 0);
	CHECK_EQ(r.ret, TC_ACT_OK);
}

static void test_affinity(void)
{
	struct dp_service sa = { .port = 82, .proto = IPPROTO_TCP, .vip = ip4(VIP),
				 .flags = DP_SVC_F_AFFINITY, .affinity_timeout = 30 };
	struct dp_backend b[2] = { { .ip = ip4(IP_B), .port = 8082, .local = true },
				   { .ip = ip4(IP_C), .port = 8082 } };
	const struct iphdr *ip, *outer;
	uint32_t first = 0;
	int same = 1, would_differ = 0;
	struct prun_result r;
	struct pkt p;

	CHECK_EQ(upsert(&sa, b, 2), 0);
	for (uint16_t s = 42000; s < 42016; s++) {
		uint32_t h = ref_hash(ip4(IP_A), ip4(VIP), htons(s), htons(82), IPPROTO_TCP);

		mk_pkt(&p, IP_A, VIP, IPPROTO_TCP, s, 82, 1);
		CHECK_EQ(prun(prog_pod, &p, &r), 0);
		ip = out_ip(&r, &outer);
		if (!first)
			first = ip->daddr;
		same &= ip->daddr == first;
		would_differ |= expected_backend(&sa, h) != first;
	}
	CHECK(same);
	CHECK(would_differ);      /* without affinity Maglev would have spread */
	dp_service_delete(dp, &sa, NULL);
}

static void test_headless_refused(void)
{
	struct dp_service sh = { .port = 80, .proto = IPPROTO_TCP, .vip = 0 };
	struct gerr err = { 0 };

	CHECK_EQ(dp_service_upsert(dp, &sh, be2, 2, &err), -EINVAL);
	CHECK(strstr(err.msg, "headless") != NULL);
}

/* NodePort at XDP: client -> node IP:30080 is DNATed to the local backend
 * in place (checksums valid, XDP_PASS for tc delivery), the non-local
 * backend is never chosen, and the backend's reply leaves the pod program
 * with the node IP:nodePort as source. */
static void test_nodeport_xdp(void)
{
	struct dp_service sn = { .port = 30080, .proto = IPPROTO_TCP, .vip = ip4("192.168.77.1"),
				 .scope = DP_SVC_SCOPE_EXTERNAL, .flags = DP_SVC_F_LOCAL_ONLY };
	struct dp_backend b[2] = { { .ip = ip4(IP_B), .port = 8080, .local = true },
				   { .ip = ip4(IP_C), .port = 8080,
				     .node_ip = ip4("192.168.77.2") } };
	const struct iphdr *ip, *outer;
	int prog_xdp = pin_fd("prog_underlay_xdp");
	uint64_t before;
	struct prun_result r;
	struct pkt p;

	CHECK(prog_xdp >= 0);
	CHECK_EQ(upsert(&sn, b, 2), 0);
	before = svc_packets(sn.id);
	for (uint16_t s = 5000; s < 5008; s++) {
		mk_pkt(&p, "203.0.113.9", "192.168.77.1", IPPROTO_TCP, s, 30080, 1);
		CHECK_EQ(prun(prog_xdp, &p, &r), 0);
		CHECK_EQ(r.ret, 2 /* XDP_PASS */);
		ip = (const struct iphdr *)(r.out + ETH_HLEN);
		CHECK_EQ(ip->daddr, ip4(IP_B));         /* only the local one */
		CHECK_EQ(l4_port(ip, 1), 8080);
		CHECK_EQ(ip->saddr, ip4("203.0.113.9"));  /* client IP kept */
		CHECK(ipsum_ok(ip));
		CHECK_EQ(l4_sum(ip), 0);
	}
	CHECK_EQ(svc_packets(sn.id) - before, 8);
	/* UDP without checksum keeps none */
	{
		struct dp_service su = sn;

		su.proto = IPPROTO_UDP;
		CHECK_EQ(upsert(&su, b, 2), 0);
		mk_pkt(&p, "203.0.113.9", "192.168.77.1", IPPROTO_UDP, 6000, 30080, 0);
		CHECK_EQ(prun(prog_xdp, &p, &r), 0);
		ip = (const struct iphdr *)(r.out + ETH_HLEN);
		CHECK_EQ(ip->daddr, ip4(IP_B));
		CHECK_EQ(((const struct udphdr *)(ip + 1))->check, 0);
		CHECK(ipsum_ok(ip));
		mk_pkt(&p, "203.0.113.9", "192.168.77.1", IPPROTO_UDP, 6001, 30080, 1);
		CHECK_EQ(prun(prog_xdp, &p, &r), 0);
		ip = (const struct iphdr *)(r.out + ETH_HLEN);
		CHECK_EQ(l4_sum(ip), 0);
		dp_service_delete(dp, &su, NULL);
	}
	/* the reply */
	mk_pkt(&p, IP_B, "203.0.113.9", IPPROTO_TCP, 8080, 5000, 1);
	memcpy(p.buf, MAC_HB, 6);
	memcpy(p.buf + 6, MAC_B, 6);
	CHECK_EQ(prun(prog_pod, &p, &r), 0);
	CHECK_EQ(r.ret, TC_ACT_OK);                  /* to the stack, routed out */
	ip = out_ip(&r, &outer);
	CHECK_EQ(ip->saddr, ip4("192.168.77.1"));
	CHECK_EQ(l4_port(ip, 0), 30080);
	CHECK(ipsum_ok(ip));
	CHECK_EQ(l4_sum(ip), 0);
	/* not a frontend: untouched */
	mk_pkt(&p, "203.0.113.9", "192.168.77.1", IPPROTO_TCP, 5000, 30081, 1);
	CHECK_EQ(prun(prog_xdp, &p, &r), 0);
	CHECK_EQ(r.ret, 2);
	CHECK(!memcmp(r.out, p.buf, p.len));
	/* only remote backends: dropped at XDP */
	CHECK_EQ(upsert(&sn, &b[1], 1), 0);
	mk_pkt(&p, "203.0.113.9", "192.168.77.1", IPPROTO_TCP, 7000, 30080, 1);
	CHECK_EQ(prun(prog_xdp, &p, &r), 0);
	CHECK_EQ(r.ret, 1 /* XDP_DROP */);
	dp_service_delete(dp, &sn, NULL);
	close(prog_xdp);
}

/* Katran-style delivery: with XDP redirect enabled (a second instance of
 * the underlay program sharing the node's pinned maps) and the backend
 * endpoint able to take XDP frames, the DNATed frame is redirected
 * straight into its host veth with the pod's MACs. */
static void test_nodeport_xdp_redirect(void)
{
	LIBBPF_OPTS(bpf_object_open_opts, o);
	struct dp_service sn = { .port = 30090, .proto = IPPROTO_TCP, .vip = ip4("192.168.77.1"),
				 .scope = DP_SVC_SCOPE_EXTERNAL };
	struct dp_backend b = { .ip = ip4(IP_B), .port = 8080, .local = true };
	struct gnt_endpoint eb = { .ifindex = 1, .identity = 5, .flags = GNT_EP_F_XDP_REDIRECT };
	struct gnt_underlay *ul = NULL;
	char dir[256];
	const struct iphdr *ip;
	struct prun_result r;
	struct pkt p;
	uint32_t k = ip4(IP_B);
	int fd_ep = pin_fd("gnt_endpoints");

	snprintf(dir, sizeof(dir), "%s/n1", pin_root);
	o.pin_root_path = dir;
	ul = gnt_underlay__open_opts(&o);
	CHECK(ul != NULL);
	if (!ul)
		return;
	ul->rodata->cfg_node_ip = ip4("192.168.77.1");
	ul->rodata->cfg_vxlan_port = htons(GNT_VXLAN_PORT_DEFAULT);
	ul->rodata->cfg_xdp_redirect = 1;
	CHECK_EQ(gnt_underlay__load(ul), 0);
	memcpy(eb.mac, MAC_B, 6);
	memcpy(eb.host_mac, MAC_HB, 6);
	CHECK_EQ(bpf_map_update_elem(fd_ep, &k, &eb, BPF_ANY), 0);
	CHECK_EQ(upsert(&sn, &b, 1), 0);

	mk_pkt(&p, "203.0.113.9", "192.168.77.1", IPPROTO_TCP, 5100, 30090, 1);
	CHECK_EQ(prun(bpf_program__fd(ul->progs.gnt_underlay_xdp), &p, &r), 0);
	CHECK_EQ(r.ret, 4 /* XDP_REDIRECT */);
	ip = (const struct iphdr *)(r.out + ETH_HLEN);
	CHECK_EQ(ip->daddr, ip4(IP_B));
	CHECK(ipsum_ok(ip));
	CHECK_EQ(l4_sum(ip), 0);
	CHECK(!memcmp(r.out, MAC_B, 6));
	CHECK(!memcmp(r.out + 6, MAC_HB, 6));

	/* endpoint without the flag: passed to tc instead */
	eb.flags = 0;
	CHECK_EQ(bpf_map_update_elem(fd_ep, &k, &eb, BPF_ANY), 0);
	mk_pkt(&p, "203.0.113.9", "192.168.77.1", IPPROTO_TCP, 5101, 30090, 1);
	CHECK_EQ(prun(bpf_program__fd(ul->progs.gnt_underlay_xdp), &p, &r), 0);
	CHECK_EQ(r.ret, 2 /* XDP_PASS */);
	dp_service_delete(dp, &sn, NULL);
	close(fd_ep);
	gnt_underlay__destroy(ul);
}

/* tc underlay mode: the tc program translates NodePort frames itself and
 * delivers them into the local backend pod */
static void test_nodeport_tc(void)
{
	struct dp_service sn = { .port = 30095, .proto = IPPROTO_TCP, .vip = ip4("192.168.77.1"),
				 .scope = DP_SVC_SCOPE_EXTERNAL };
	struct dp_backend b = { .ip = ip4(IP_B), .port = 8080, .local = true };
	const struct iphdr *ip;
	struct prun_result r;
	struct pkt p;

	CHECK_EQ(upsert(&sn, &b, 1), 0);
	mk_pkt(&p, "203.0.113.9", "192.168.77.1", IPPROTO_TCP, 5200, 30095, 1);
	memcpy(p.buf, MAC_ZERO, 6);          /* to "our" MAC: PACKET_HOST */
	CHECK_EQ(prun(prog_ul, &p, &r), 0);
	CHECK_EQ(r.ret, TC_ACT_REDIRECT);
	ip = (const struct iphdr *)(r.out + ETH_HLEN);
	CHECK_EQ(ip->daddr, ip4(IP_B));
	CHECK_EQ(l4_port(ip, 1), 8080);
	CHECK_EQ(ip->saddr, ip4("203.0.113.9"));
	CHECK(ipsum_ok(ip));
	CHECK_EQ(l4_sum(ip), 0);
	CHECK(!memcmp(r.out, MAC_B, 6));
	/* a port that is no frontend passes untouched */
	mk_pkt(&p, "203.0.113.9", "192.168.77.1", IPPROTO_TCP, 5200, 30096, 1);
	memcpy(p.buf, MAC_ZERO, 6);
	CHECK_EQ(prun(prog_ul, &p, &r), 0);
	CHECK_EQ(r.ret, TC_ACT_OK);
	CHECK(!memcmp(r.out, p.buf, p.len));
	dp_service_delete(dp, &sn, NULL);
}

/* XDP run with a context, so that metadata in front of the frame is
 * found: returns the frame's offset in r->out (the metadata length). */
static uint32_t run_xdp_on(int fd, const struct pkt *in, struct prun_result *r, uint32_t ifindex)
{
	struct xdp_md ctx_in = { .data_end = (uint32_t)in->len, .ingress_ifindex = ifindex },
		      ctx_out = { 0 };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in->buf, .data_size_in = (uint32_t)in->len,
		    .data_out = r->out, .data_size_out = sizeof(r->out), .repeat = 1,
		    .ctx_in = &ctx_in, .ctx_size_in = sizeof(ctx_in),
		    .ctx_out = &ctx_out, .ctx_size_out = sizeof(ctx_out));

	memset(r->out, 0, sizeof(r->out));
	r->ret = bpf_prog_test_run_opts(fd, &o) ? -1000 : (int)o.retval;
	r->len = o.data_size_out;
	return ctx_out.data - ctx_out.data_meta;
}

static uint32_t run_xdp(int fd, const struct pkt *in, struct prun_result *r)
{
	return run_xdp_on(fd, in, r, 0);
}

/* MAC of the next hops the suite installs in the test netns (permanent
 * neighbours), when it does: then bpf_fib_lookup succeeds */
static int env_mac(const char *name, uint8_t mac[6])
{
	const char *v = getenv(name);

	return v && sscanf(v, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &mac[0], &mac[1], &mac[2],
			   &mac[3], &mac[4], &mac[5]) == 6;
}

#define NP_NODE "192.168.77.1"
#define NP_CLIENT "203.0.113.9"
#define NP_META_NEIGH 0x474e504eU

/* Checks one frame the XDP program sent to the backend's node: VXLAN
 * headers (outer checksum, UDP 8472, VNI = REMOTE_NODE), inner DNAT to
 * IP_C:8080 and SNAT to the node IP with a port of the SNAT range, inner
 * checksums valid. Returns the SNAT port (host order), 0 on failure. */
static uint16_t check_remote_frame(const struct prun_result *r, uint32_t off, uint32_t in_len,
				   const char *tunnel, uint8_t proto, int udp_nosum)
{
	const uint8_t *f = r->out + off;
	const struct iphdr *o = (const struct iphdr *)(f + ETH_HLEN);
	const struct udphdr *u = (const struct udphdr *)(o + 1);
	const uint8_t *vx = (const uint8_t *)(u + 1);
	const struct iphdr *ip = (const struct iphdr *)(f + ETH_HLEN + GNT_VXLAN_OVERHEAD);
	uint16_t sp;

	CHECK_EQ(r->len - off, in_len + GNT_VXLAN_OVERHEAD);
	CHECK_EQ(ntohs(*(const uint16_t *)(f + 12)), ETH_P_IP);
	CHECK_EQ(o->saddr, ip4(NP_NODE));
	CHECK_EQ(o->daddr, ip4(tunnel));
	CHECK_EQ(o->protocol, IPPROTO_UDP);
	CHECK_EQ(ntohs(o->tot_len), r->len - off - ETH_HLEN);
	CHECK_EQ(ntohs(o->frag_off), 0x4000);
	CHECK(ipsum_ok(o));
	CHECK_EQ(ntohs(u->dest), 8472);
	CHECK(ntohs(u->source) >= 32768 && ntohs(u->source) < 61000);
	CHECK_EQ(ntohs(u->len), ntohs(o->tot_len) - 20);
	CHECK_EQ(u->check, 0);
	CHECK_EQ(vx[0], 0x08);
	CHECK_EQ((uint32_t)vx[4] << 16 | (uint32_t)vx[5] << 8 | vx[6], 3);   /* REMOTE_NODE */
	CHECK_EQ(ip->protocol, proto);
	CHECK_EQ(ip->saddr, ip4(NP_NODE));
	CHECK_EQ(ip->daddr, ip4(IP_C));
	CHECK_EQ(l4_port(ip, 1), 8080);
	CHECK(ipsum_ok(ip));
	if (udp_nosum)
		CHECK_EQ(((const struct udphdr *)(ip + 1))->check, 0);
	else
		CHECK_EQ(l4_sum(ip), 0);
	sp = l4_port(ip, 0);
	CHECK(sp >= GNT_SNAT_PORT_MIN);        /* (max is 65535) */
	return sp >= GNT_SNAT_PORT_MIN ? sp : 0;
}

/* NodePort to a backend on another node (externalTrafficPolicy Cluster):
 * DNAT + SNAT + VXLAN encap at XDP, conntrack keeping the flow and its
 * SNAT port, SNAT ports unique per flow and probed past a taken one, the
 * backend's plain reply translated back to frontend -> client, UDP, and
 * the tc fallback mark when the kernel has no neighbour for the next hop. */
static void test_nodeport_remote(void)
{
	struct dp_service sn = { .port = 30100, .proto = IPPROTO_TCP, .vip = ip4(NP_NODE),
				 .scope = DP_SVC_SCOPE_EXTERNAL };
	struct dp_backend b = { .ip = ip4(IP_C), .port = 8080, .node_ip = ip4("192.168.77.2") };
	uint8_t mac_node2[6], mac_gw[6];
	int have_neigh = env_mac("GNT_TEST_NODE2_MAC", mac_node2) &&
			 env_mac("GNT_TEST_GW_MAC", mac_gw);
	int prog_def = pin_fd("prog_underlay_xdp"), fd_ct = pin_fd("gnt_ct"), prog_xdp;
	LIBBPF_OPTS(bpf_object_open_opts, oo);
	struct gnt_underlay *ul;
	uint16_t ports[64], sp, sp2;
	const struct iphdr *ip;
	uint64_t before;
	struct prun_result r;
	struct pkt p;
	char dir[256];
	uint32_t off, m;

	/* the node's own program (no underlay device: cfg_np_xdp_xmit 0)
	 * and one that transmits itself, sharing the node's pinned maps */
	snprintf(dir, sizeof(dir), "%s/n1", pin_root);
	oo.pin_root_path = dir;
	ul = gnt_underlay__open_opts(&oo);
	CHECK(ul != NULL);
	if (!ul)
		return;
	ul->rodata->cfg_node_ip = ip4(NP_NODE);
	ul->rodata->cfg_vxlan_port = htons(GNT_VXLAN_PORT_DEFAULT);
	ul->rodata->cfg_np_xdp_xmit = 1;
	CHECK_EQ(gnt_underlay__load(ul), 0);
	prog_xdp = bpf_program__fd(ul->progs.gnt_underlay_xdp);
	CHECK(prog_def >= 0 && fd_ct >= 0);
	if (!have_neigh)
		printf("  no GNT_TEST_*_MAC: FIB lookups fail, only the tc fallback is checked\n");
	CHECK_EQ(upsert(&sn, &b, 1), 0);
	before = svc_packets(sn.id);

	/* first packet, XDP not transmitting itself: finished frame to tc */
	mk_pkt(&p, NP_CLIENT, NP_NODE, IPPROTO_TCP, 5300, 30100, 1);
	off = run_xdp(prog_def, &p, &r);
	CHECK_EQ(r.ret, 2 /* XDP_PASS */);
	CHECK_EQ(off, 4);
	memcpy(&m, r.out, 4);
	CHECK_EQ(m, NP_META_NEIGH);
	sp = check_remote_frame(&r, off, (uint32_t)p.len, "192.168.77.2", IPPROTO_TCP, 0);
	/* same flow through the transmitting program */
	off = run_xdp(prog_xdp, &p, &r);
	if (have_neigh) {
		CHECK_EQ(r.ret, 4 /* XDP_REDIRECT: the FIB's egress is t0, not lo */);
		CHECK_EQ(off, 0);
		CHECK(!memcmp(r.out, mac_node2, 6));
	} else {
		CHECK_EQ(r.ret, 2 /* XDP_PASS to tc */);
	}
	/* conntrack hit: same port */
	sp2 = check_remote_frame(&r, off, (uint32_t)p.len, "192.168.77.2", IPPROTO_TCP, 0);
	CHECK_EQ(sp2, sp);
	CHECK_EQ(svc_packets(sn.id) - before, 2);

	/* the backend's reply, routed back plainly by its node */
	mk_pkt(&p, IP_C, NP_NODE, IPPROTO_TCP, 8080, sp, 1);
	off = run_xdp(prog_xdp, &p, &r);
	CHECK_EQ(r.ret, have_neigh ? 4 : 2);
	if (have_neigh)
		CHECK(!memcmp(r.out, mac_gw, 6));
	CHECK_EQ(r.len - off, p.len);
	ip = (const struct iphdr *)(r.out + off + ETH_HLEN);
	CHECK_EQ(ip->saddr, ip4(NP_NODE));
	CHECK_EQ(l4_port(ip, 0), 30100);
	CHECK_EQ(ip->daddr, ip4(NP_CLIENT));
	CHECK_EQ(l4_port(ip, 1), 5300);
	CHECK(ipsum_ok(ip));
	CHECK_EQ(l4_sum(ip), 0);
	/* a reply to a port no flow holds is not ours: untouched */
	mk_pkt(&p, IP_C, NP_NODE, IPPROTO_TCP, 8080, sp == 65535 ? 65534 : sp + 1, 1);
	run_xdp(prog_xdp, &p, &r);
	CHECK_EQ(r.ret, 2);
	CHECK(!memcmp(r.out, p.buf, p.len));

	/* 64 flows: 64 distinct SNAT ports */
	for (int i = 0; i < 64; i++) {
		mk_pkt(&p, NP_CLIENT, NP_NODE, IPPROTO_TCP, (uint16_t)(6000 + i), 30100, 1);
		off = run_xdp(prog_xdp, &p, &r);
		ports[i] = check_remote_frame(&r, off, (uint32_t)p.len, "192.168.77.2",
					      IPPROTO_TCP, 0);
		for (int j = 0; j < i; j++)
			CHECK(ports[j] != ports[i]);
	}
	/* the port a flow would get is taken (its conntrack entries gone,
	 * another flow's reply entry on that port): it probes past it */
	{
		struct gnt_ct_key fk = { .saddr = ip4(NP_CLIENT), .daddr = ip4(NP_NODE),
					 .sport = htons(5300), .dport = htons(30100),
					 .proto = IPPROTO_TCP };
		struct gnt_ct_key rk = { .saddr = ip4(IP_C), .daddr = ip4(NP_NODE),
					 .sport = htons(8080), .dport = htons(sp),
					 .proto = IPPROTO_TCP };
		struct gnt_ct_val rv;

		CHECK_EQ(bpf_map_lookup_elem(fd_ct, &rk, &rv), 0);
		CHECK(rv.flags & GNT_CT_F_SNAT);
		CHECK_EQ(rv.nat2_ip, ip4(NP_CLIENT));
		CHECK_EQ(bpf_map_delete_elem(fd_ct, &fk), 0);
		rv.nat2_port = htons(1);               /* "another" client */
		CHECK_EQ(bpf_map_update_elem(fd_ct, &rk, &rv, BPF_ANY), 0);
		mk_pkt(&p, NP_CLIENT, NP_NODE, IPPROTO_TCP, 5300, 30100, 1);
		off = run_xdp(prog_xdp, &p, &r);
		sp2 = check_remote_frame(&r, off, (uint32_t)p.len, "192.168.77.2",
					 IPPROTO_TCP, 0);
		CHECK(sp2 != sp);
		CHECK_EQ(sp2, sp == GNT_SNAT_PORT_MAX ? GNT_SNAT_PORT_MIN : sp + 1);
	}

	/* UDP, with and without checksum */
	{
		struct dp_service su = sn;

		su.proto = IPPROTO_UDP;
		CHECK_EQ(upsert(&su, &b, 1), 0);
		mk_pkt(&p, NP_CLIENT, NP_NODE, IPPROTO_UDP, 7000, 30100, 0);
		off = run_xdp(prog_xdp, &p, &r);
		check_remote_frame(&r, off, (uint32_t)p.len, "192.168.77.2", IPPROTO_UDP, 1);
		mk_pkt(&p, NP_CLIENT, NP_NODE, IPPROTO_UDP, 7001, 30100, 1);
		off = run_xdp(prog_xdp, &p, &r);
		sp = check_remote_frame(&r, off, (uint32_t)p.len, "192.168.77.2", IPPROTO_UDP, 0);
		mk_pkt(&p, IP_C, NP_NODE, IPPROTO_UDP, 8080, sp, 1);
		off = run_xdp(prog_xdp, &p, &r);
		ip = (const struct iphdr *)(r.out + off + ETH_HLEN);
		CHECK_EQ(ip->daddr, ip4(NP_CLIENT));
		CHECK_EQ(l4_port(ip, 1), 7001);
		CHECK_EQ(l4_port(ip, 0), 30100);
		CHECK_EQ(l4_sum(ip), 0);
		dp_service_delete(dp, &su, NULL);
	}

	/* a backend node the kernel has no neighbour for: the finished frame
	 * goes up to tc marked for bpf_redirect_neigh */
	b.node_ip = ip4("192.168.77.3");
	b.ip = ip4("10.244.3.9");
	CHECK_EQ(upsert(&sn, &b, 1), 0);
	mk_pkt(&p, NP_CLIENT, NP_NODE, IPPROTO_TCP, 5400, 30100, 1);
	off = run_xdp(prog_xdp, &p, &r);
	CHECK_EQ(r.ret, 2);
	CHECK_EQ(off, 4);
	memcpy(&m, r.out, 4);
	CHECK_EQ(m, NP_META_NEIGH);
	ip = (const struct iphdr *)(r.out + off + ETH_HLEN);
	CHECK_EQ(ip->daddr, ip4("192.168.77.3"));
	CHECK(ipsum_ok(ip));

	/* a host-network backend on node 2 (backend IP = its node IP): DNAT +
	 * SNAT, sent plainly to it, no tunnel */
	b.node_ip = b.ip = ip4("192.168.77.2");
	CHECK_EQ(upsert(&sn, &b, 1), 0);
	mk_pkt(&p, NP_CLIENT, NP_NODE, IPPROTO_TCP, 5450, 30100, 1);
	off = run_xdp(prog_xdp, &p, &r);
	CHECK_EQ(r.ret, have_neigh ? 4 : 2);
	CHECK_EQ(r.len - off, p.len);
	ip = (const struct iphdr *)(r.out + off + ETH_HLEN);
	CHECK_EQ(ip->protocol, IPPROTO_TCP);
	CHECK_EQ(ip->saddr, ip4(NP_NODE));
	CHECK(l4_port(ip, 0) >= GNT_SNAT_PORT_MIN);
	CHECK_EQ(ip->daddr, ip4("192.168.77.2"));
	CHECK_EQ(l4_port(ip, 1), 8080);
	CHECK(ipsum_ok(ip));
	CHECK_EQ(l4_sum(ip), 0);
	if (have_neigh)
		CHECK(!memcmp(r.out, mac_node2, 6));

	/* on a NIC (cfg_np_xdp_xmit 2) a frame leaving by the device it
	 * came in by is XDP_TX'd: received on t0 (the suite's veth, GRO on so
	 * its queues are XDP-registered), it leaves by t0 too */
	if (have_neigh) {
		struct gnt_underlay *u2 = gnt_underlay__open_opts(&oo);

		CHECK(u2 != NULL);
		if (u2) {
			u2->rodata->cfg_node_ip = ip4(NP_NODE);
			u2->rodata->cfg_vxlan_port = htons(GNT_VXLAN_PORT_DEFAULT);
			u2->rodata->cfg_np_xdp_xmit = 2;
			CHECK_EQ(gnt_underlay__load(u2), 0);
			mk_pkt(&p, NP_CLIENT, NP_NODE, IPPROTO_TCP, 5460, 30100, 1);
			off = run_xdp_on(bpf_program__fd(u2->progs.gnt_underlay_xdp), &p, &r,
					 if_nametoindex("t0"));
			CHECK_EQ(r.ret, 3 /* XDP_TX */);
			CHECK(!memcmp(r.out + off, mac_node2, 6));
			/* (the backend is still the host-network one above) */
			ip = (const struct iphdr *)(r.out + off + ETH_HLEN);
			CHECK_EQ(r.len - off, p.len);
			CHECK_EQ(ip->daddr, ip4("192.168.77.2"));
			CHECK_EQ(ip->saddr, ip4(NP_NODE));
			CHECK_EQ(l4_sum(ip), 0);
			/* lo in, t0 out: redirect */
			off = run_xdp(bpf_program__fd(u2->progs.gnt_underlay_xdp), &p, &r);
			CHECK_EQ(r.ret, 4);
			gnt_underlay__destroy(u2);
		}
	}

	/* externalTrafficPolicy Local: a remote backend is never used */
	sn.flags = DP_SVC_F_LOCAL_ONLY;
	CHECK_EQ(upsert(&sn, &b, 1), 0);
	mk_pkt(&p, NP_CLIENT, NP_NODE, IPPROTO_TCP, 5500, 30100, 1);
	run_xdp(prog_xdp, &p, &r);
	CHECK_EQ(r.ret, 1 /* XDP_DROP: no local backend */);
	dp_service_delete(dp, &sn, NULL);
	close(fd_ct);
	close(prog_def);
	gnt_underlay__destroy(ul);
}

/* tc underlay mode: the same NodePort-to-remote translation on the skb,
 * encapsulated with bpf_skb_adjust_room and redirected (neighbour
 * resolution); the reply translated back and redirected. */
static void test_nodeport_remote_tc(void)
{
	struct dp_service sn = { .port = 30110, .proto = IPPROTO_TCP, .vip = ip4(NP_NODE),
				 .scope = DP_SVC_SCOPE_EXTERNAL };
	struct dp_backend b = { .ip = ip4(IP_C), .port = 8080, .node_ip = ip4("192.168.77.2") };
	const struct iphdr *ip;
	struct prun_result r;
	struct pkt p;
	uint16_t sp;

	CHECK_EQ(upsert(&sn, &b, 1), 0);
	mk_pkt(&p, NP_CLIENT, NP_NODE, IPPROTO_TCP, 5600, 30110, 1);
	memcpy(p.buf, MAC_ZERO, 6);          /* PACKET_HOST */
	CHECK_EQ(prun(prog_ul, &p, &r), 0);
	CHECK_EQ(r.ret, TC_ACT_REDIRECT);
	sp = check_remote_frame(&r, 0, (uint32_t)p.len, "192.168.77.2", IPPROTO_TCP, 0);
	mk_pkt(&p, IP_C, NP_NODE, IPPROTO_TCP, 8080, sp, 1);
	memcpy(p.buf, MAC_ZERO, 6);
	CHECK_EQ(prun(prog_ul, &p, &r), 0);
	CHECK_EQ(r.ret, TC_ACT_REDIRECT);
	ip = (const struct iphdr *)(r.out + ETH_HLEN);
	CHECK_EQ(ip->saddr, ip4(NP_NODE));
	CHECK_EQ(l4_port(ip, 0), 30110);
	CHECK_EQ(ip->daddr, ip4(NP_CLIENT));
	CHECK_EQ(l4_port(ip, 1), 5600);
	CHECK(ipsum_ok(ip));
	CHECK_EQ(l4_sum(ip), 0);
	dp_service_delete(dp, &sn, NULL);
}

/* ------------------------------------------------------------ main */

static void cleanup(void)
{
	if (maglev)
		munmap(maglev, maglev_bytes);
	dp_close(dp);
	if (pin_root[0]) {
		/* dp_destroy detaches from each endpoint's ifindex: ours are
		 * fake (lo), so forget them first - nothing may touch the
		 * root netns */
		int fd = pin_fd("gnt_endpoints");
		uint32_t k = ip4(IP_A);

		if (fd >= 0) {
			bpf_map_delete_elem(fd, &k);
			k = ip4(IP_B);
			bpf_map_delete_elem(fd, &k);
			close(fd);
		}
		dp_destroy(pin_root, "n1", NULL, NULL);
	}
	rmdir(pin_root);
}

int main(void)
{
	static const struct t_case cases[] = {
		T(test_maglev_table_matches_userspace), T(test_dnat_follows_maglev),
		T(test_ct_keeps_flow_after_change), T(test_revnat_local_reply),
		T(test_revnat_remote_reply), T(test_udp_checksums), T(test_no_backend_drop),
		T(test_affinity), T(test_headless_refused), T(test_nodeport_xdp),
		T(test_nodeport_xdp_redirect), T(test_nodeport_tc), T(test_nodeport_remote),
		T(test_nodeport_remote_tc),
	};
	struct dp_config cfg = {
		.node_name = "n1", .node_ip = ip4("192.168.77.1"),
		.pod_cidr = ip4("10.244.1.0"), .pod_prefix_len = 24,
		.cluster_cidr = ip4("10.244.0.0"), .cluster_prefix_len = 16,
	};
	struct dp_remote rem = { .pod_cidr = ip4("10.244.2.0"), .prefix_len = 24,
				 .node_ip = ip4("192.168.77.2") };
	struct gnt_endpoint ea = { .ifindex = 1, .identity = 5 }, eb = ea;
	struct gerr err = { 0 };
	uint32_t k;
	int fd_ep, fd_mg, ret;

	if (getenv("GNT_TEST_PINDIR"))
		snprintf(pin_root, sizeof(pin_root), "%s", getenv("GNT_TEST_PINDIR"));
	else
		snprintf(pin_root, sizeof(pin_root), "/sys/fs/bpf/gannet-test-lb-%d", (int)getpid());
	cfg.pin_root = pin_root;
	ret = dp_open(&cfg, &dp, &err);
	if (ret) {
		fprintf(stderr, "dp_open: %s\n", err.msg);
		cleanup();
		return 1;
	}
	/* both pods on "lo" (BPF_PROG_RUN's ifindex) so either may send */
	memcpy(ea.mac, MAC_A, 6);
	memcpy(ea.host_mac, MAC_HA, 6);
	memcpy(eb.mac, MAC_B, 6);
	memcpy(eb.host_mac, MAC_HB, 6);
	fd_ep = pin_fd("gnt_endpoints");
	k = ip4(IP_A);
	ret = bpf_map_update_elem(fd_ep, &k, &ea, BPF_ANY);
	k = ip4(IP_B);
	ret |= bpf_map_update_elem(fd_ep, &k, &eb, BPF_ANY);
	close(fd_ep);
	ret |= dp_remote_upsert(dp, &rem, &err);
	prog_pod = pin_fd("prog_pod");
	prog_ul = pin_fd("prog_underlay_tc");
	fd_services = pin_fd("gnt_services");
	fd_backends = pin_fd("gnt_backends");
	fd_svc_stats = pin_fd("gnt_svc_stats");
	fd_stats = pin_fd("gnt_stats");
	fd_mg = pin_fd("gnt_maglev");
	if (fd_mg >= 0) {
		struct bpf_map_info info = { 0 };
		__u32 len = sizeof(info);

		bpf_obj_get_info_by_fd(fd_mg, &info, &len);
		maglev_bytes = (size_t)info.max_entries * info.value_size;
		maglev = mmap(NULL, maglev_bytes, PROT_READ, MAP_SHARED, fd_mg, 0);
		if (maglev == MAP_FAILED)
			maglev = NULL;
		close(fd_mg);
	}
	svc_tcp.vip = ip4(VIP);
	be2[0] = BE_B;
	be2[0].ip = ip4(IP_B);
	be2[1] = BE_C;
	be2[1].ip = ip4(IP_C);
	be2[1].node_ip = ip4("192.168.77.2");
	if (ret || prog_pod < 0 || prog_ul < 0 || fd_services < 0 || fd_backends < 0 ||
	    fd_svc_stats < 0 || fd_stats < 0 || !maglev || upsert(&svc_tcp, be2, 2)) {
		fprintf(stderr, "setup failed (%s)\n", err.msg[0] ? err.msg : strerror(errno));
		cleanup();
		return 1;
	}
	ret = t_run(cases, sizeof(cases) / sizeof(cases[0]));
	cleanup();
	return ret;
}

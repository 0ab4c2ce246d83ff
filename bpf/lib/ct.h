/* SPDX-License-Identifier: Apache-2.0 */
/* Per-packet service translation with conntrack (tc programs): the pod
 * program's fallback for traffic the socket hooks did not translate, and
 * the reverse NAT of replies wherever they enter (pod program for local
 * backends, underlay decap for remote ones). A conntrack hit always wins
 * over the service tables, so a flow keeps its backend whatever happens
 * to the backend set afterwards. */
#ifndef GNT_BPF_CT_H
#define GNT_BPF_CT_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "bpf/lib/common.h"
#include "bpf/lib/lb.h"
#include "bpf/lib/maps.h"
#include "bpf/lib/nat.h"
#include "bpf/lib/vxlan.h"

#define LB_XLATE_NONE 0
#define LB_XLATE_DONE 1

/* Conntrack a new DNAT flow k -> be both ways (shared by the tc and XDP
 * paths): fills the forward entry *v and stores the reply entry first, as
 * the backend may answer before the caller returns. */
static __always_inline void lb_ct_create(const struct gnt_ct_key *k,
					 const struct gnt_svc_val *svc,
					 const struct gnt_backend *be, __u32 be_id,
					 struct gnt_ct_val *v)
{
	struct gnt_ct_key rk = {};
	struct gnt_ct_val rv = {};

	v->nat_ip = be->ip;
	v->nat_port = be->port;
	v->flags = GNT_CT_F_DNAT;
	v->svc_id = svc->id;
	v->backend_id = be_id;
	rk.saddr = be->ip;
	rk.daddr = k->saddr;
	rk.sport = be->port;
	rk.dport = k->sport;
	rk.proto = k->proto;
	rv.nat_ip = k->daddr;
	rv.nat_port = k->dport;
	rv.flags = GNT_CT_F_REVNAT;
	rv.svc_id = svc->id;
	rv.backend_id = be_id;
	bpf_map_update_elem(&gnt_ct, &rk, &rv, BPF_ANY);
	bpf_map_update_elem(&gnt_ct, k, v, BPF_ANY);
}

/* Looks at the IPv4 TCP/UDP packet at ETH_HLEN. new_flows: may create
 * conntrack entries for a packet to a frontend of that scope (pod program:
 * ClusterIP; underlay tc: NodePort/LB); otherwise only existing entries
 * apply (underlay replies). Returns LB_XLATE_NONE, LB_XLATE_DONE (packet
 * rewritten, re-read pointers) or a drop reason. */
static __always_inline int lb_ct_xlate_scope(struct __sk_buff *skb, int new_flows, __u8 scope)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct iphdr *ip = data + ETH_HLEN;
	struct gnt_ct_key k = {};
	struct gnt_ct_val v = {};
	const struct gnt_ct_val *ct;
	const struct gnt_svc_val *svc;
	const struct gnt_backend *be;
	__u32 l4_off, be_id = 0, len = skb->len;
	__u16 *ports;
	int is_dst;

	if ((void *)(ip + 1) > end || ip->version != 4 || ip->ihl < 5 ||
	    (ip->protocol != IPPROTO_TCP && ip->protocol != IPPROTO_UDP) ||
	    (ip->frag_off & bpf_htons(0x3fff)))
		return LB_XLATE_NONE;
	l4_off = ETH_HLEN + ip->ihl * 4;
	ports = data + l4_off;
	if ((void *)(ports + 2) > end)
		return LB_XLATE_NONE;

	k.saddr = ip->saddr;
	k.daddr = ip->daddr;
	k.sport = ports[0];
	k.dport = ports[1];
	k.proto = ip->protocol;
	ct = bpf_map_lookup_elem(&gnt_ct, &k);
	if (ct && (ct->flags & GNT_CT_F_SNAT))
		return LB_XLATE_NONE;   /* NodePort to a remote backend: lb_np_decide() */
	if (ct) {
		v = *ct;
	} else {
		if (!new_flows)
			return LB_XLATE_NONE;
		svc = lb_svc_lookup(k.daddr, k.dport, k.proto, scope);
		if (!svc)
			return LB_XLATE_NONE;
		if (!svc->count)
			return GNT_DROP_NO_BACKEND;
		be = lb_select(svc, k.saddr, flow_hash(0, ip, ports, end), &be_id);
		if (!be)
			return GNT_DROP_NO_BACKEND;
		lb_ct_create(&k, svc, be, be_id, &v);
	}

	lb_account(v.svc_id, len);
	is_dst = v.flags & GNT_CT_F_DNAT;
	if (nat_rewrite(skb, l4_off, k.proto, is_dst,
			is_dst ? k.daddr : k.saddr, v.nat_ip,
			is_dst ? k.dport : k.sport, v.nat_port))
		return GNT_DROP_NAT;
	return LB_XLATE_DONE;
}

static __always_inline int lb_ct_xlate(struct __sk_buff *skb, int new_flows)
{
	return lb_ct_xlate_scope(skb, new_flows, GNT_SVC_SCOPE_CLUSTER);
}


/* ------------------------------------------------------------ XDP NodePort */

/* RFC 1624 incremental update of a 16-bit one's complement checksum for a
 * 32-bit field change (XDP has no csum_replace helpers). */
static __always_inline void csum_replace4(__u16 *sum, __u32 from, __u32 to)
{
	__u32 s = (__u16)~*sum;

	s += (__u16)~(from & 0xffff);
	s += (__u16)~(from >> 16);
	s += to & 0xffff;
	s += to >> 16;
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	*sum = (__u16)~s;
}

static __always_inline void csum_replace2(__u16 *sum, __u16 from, __u16 to)
{
	csum_replace4(sum, from, to);
}

/* Rewrites both addresses and ports of the IPv4 TCP/UDP header in place
 * (any of them may be unchanged), IPv4 and L4 checksums updated
 * incrementally; a UDP checksum of 0 means none and stays 0. */
static __always_inline void lb_xdp_rewrite(struct iphdr *ip, __u16 *ports, __u16 *l4sum,
					   __u32 saddr, __u16 sport, __u32 daddr, __u16 dport)
{
	if (ip->protocol == IPPROTO_TCP || *l4sum) {
		csum_replace4(l4sum, ip->saddr, saddr);
		csum_replace4(l4sum, ip->daddr, daddr);
		csum_replace2(l4sum, ports[0], sport);
		csum_replace2(l4sum, ports[1], dport);
		if (ip->protocol == IPPROTO_UDP && !*l4sum)
			*l4sum = 0xffff;
	}
	csum_replace4(&ip->check, ip->saddr, saddr);
	csum_replace4(&ip->check, ip->daddr, daddr);
	ip->saddr = saddr;
	ip->daddr = daddr;
	ports[0] = sport;
	ports[1] = dport;
}

/* SNAT source ports probed for a new flow before giving up. */
#define LB_SNAT_PROBES 16
#define LB_SNAT_RANGE (GNT_SNAT_PORT_MAX - GNT_SNAT_PORT_MIN + 1)

/* Conntrack a new flow k from an external client to a backend on another
 * node (externalTrafficPolicy Cluster): DNAT to the backend and SNAT to
 * (node_ip, port), so that the backend's reply comes back to this node for
 * the reverse translation. The port is claimed in the conntrack table
 * itself: the reply entry (backend -> node_ip:port) is inserted with
 * BPF_NOEXIST, which is atomic, so two CPUs (or two flows hashing to the
 * same start) never get the same (node IP, backend, proto, port); probing
 * starts at a hash of the client's tuple. Nothing lives in userspace, so
 * allocations survive agent restarts with the pinned table. */
static __always_inline int lb_ct_create_snat(const struct gnt_ct_key *k,
					     const struct gnt_svc_val *svc,
					     const struct gnt_backend *be, __u32 be_id,
					     __u32 node_ip, __u32 h, struct gnt_ct_val *v)
{
	struct gnt_ct_key rk = {
		.saddr = be->ip, .daddr = node_ip, .sport = be->port, .proto = k->proto,
	};
	struct gnt_ct_val rv = {
		.nat_ip = k->daddr, .nat_port = k->dport,
		.flags = GNT_CT_F_REVNAT | GNT_CT_F_SNAT,
		.svc_id = svc->id, .backend_id = be_id,
		.nat2_ip = k->saddr, .nat2_port = k->sport,
	};
	__u32 i;

	h ^= h >> 16;
	for (i = 0; i < LB_SNAT_PROBES; i++) {
		rk.dport = bpf_htons((__u16)(GNT_SNAT_PORT_MIN + (h + i) % LB_SNAT_RANGE));
		if (!bpf_map_update_elem(&gnt_ct, &rk, &rv, BPF_NOEXIST))
			break;
	}
	if (i == LB_SNAT_PROBES)
		return GNT_DROP_SNAT_PORTS;
	v->nat_ip = be->ip;
	v->nat_port = be->port;
	v->flags = GNT_CT_F_DNAT | GNT_CT_F_SNAT;
	v->svc_id = svc->id;
	v->backend_id = be_id;
	v->nat2_ip = node_ip;
	v->nat2_port = rk.dport;
	v->tunnel_ip = be->node_ip;
	bpf_map_update_elem(&gnt_ct, k, v, BPF_ANY);
	return 0;
}

#define LB_NP_NONE   0  /* no frontend of ours, no reply of ours */
#define LB_NP_LOCAL  1  /* DNAT to a backend on this node */
#define LB_NP_REMOTE 2  /* DNAT+SNAT: encapsulate to v->tunnel_ip */
#define LB_NP_REPLY  3  /* a remote backend's reply: back to frontend ->
			 * client */

/* NodePort / LoadBalancer / externalIPs, the decision shared by XDP and tc
 * for the IPv4 TCP/UDP packet ip/ports arriving on the underlay of the
 * node node_ip. Fills k (the packet's tuple) and v (its conntrack entry,
 * created for a new flow).
 *  - A packet to an external frontend whose backend (conntrack, else
 *    affinity/Maglev) is on this node: DNAT (client IP kept), delivered
 *    like plain traffic to a pod; the pod program reverse-translates the
 *    backend's reply.
 *  - Backend on another node: DNAT and SNAT to node_ip:allocated port
 *    (lb_ct_create_snat); the caller VXLAN-encapsulates it to the
 *    backend's node. externalTrafficPolicy Local services never get remote
 *    backends from userspace, and are refused one here as well.
 *  - The backend's reply (backend -> node_ip:port, routed back plainly by
 *    its node's stack): back to frontend -> client.
 * lb_np_tuple() gives the translated tuple. Returns LB_NP_* or a drop
 * reason. */
static __always_inline int lb_np_decide(const struct iphdr *ip, const __u16 *ports,
					const void *end, __u32 len, __u32 node_ip,
					struct gnt_ct_key *k, struct gnt_ct_val *v, __u32 *hash)
{
	const struct gnt_svc_val *svc;
	const struct gnt_backend *be;
	const struct gnt_ct_val *ct;
	__u32 be_id = 0, h;
	int ret;

	k->saddr = ip->saddr;
	k->daddr = ip->daddr;
	k->sport = ports[0];
	k->dport = ports[1];
	k->proto = ip->protocol;
	h = flow_hash(0, ip, ports, end);
	*hash = h;
	ct = bpf_map_lookup_elem(&gnt_ct, k);
	if (ct && (ct->flags & GNT_CT_F_SNAT) && (ct->flags & GNT_CT_F_REVNAT)) {
		*v = *ct;
		lb_account(v->svc_id, len);
		return LB_NP_REPLY;
	}
	if (ct && (ct->flags & GNT_CT_F_DNAT)) {
		*v = *ct;
	} else {
		svc = lb_svc_lookup(k->daddr, k->dport, k->proto, GNT_SVC_SCOPE_EXTERNAL);
		if (!svc)
			return LB_NP_NONE;
		if (!svc->count)
			return GNT_DROP_NO_BACKEND;
		be = lb_select(svc, k->saddr, h, &be_id);
		if (!be)
			return GNT_DROP_NO_BACKEND;
		if ((be->flags & GNT_BE_F_LOCAL) || !be->node_ip || be->node_ip == node_ip) {
			lb_ct_create(k, svc, be, be_id, v);
		} else {
			if (svc->flags & GNT_SVC_F_LOCAL_ONLY)
				return GNT_DROP_NO_BACKEND;
			ret = lb_ct_create_snat(k, svc, be, be_id, node_ip, h, v);
			if (ret)
				return ret;
		}
	}
	lb_account(v->svc_id, len);
	return v->flags & GNT_CT_F_SNAT ? LB_NP_REMOTE : LB_NP_LOCAL;
}

/* The translated tuple of a packet lb_np_decide() classified as kind. */
struct lb_tuple {
	__u32 saddr, daddr;
	__u16 sport, dport;
};

static __always_inline void lb_np_tuple(int kind, const struct gnt_ct_key *k,
					const struct gnt_ct_val *v, struct lb_tuple *t)
{
	t->saddr = k->saddr;
	t->sport = k->sport;
	t->daddr = v->nat_ip;
	t->dport = v->nat_port;
	if (kind == LB_NP_REMOTE) {
		t->saddr = v->nat2_ip;
		t->sport = v->nat2_port;
	} else if (kind == LB_NP_REPLY) {
		t->saddr = v->nat_ip;
		t->sport = v->nat_port;
		t->daddr = v->nat2_ip;
		t->dport = v->nat2_port;
	}
}

/* A NodePort candidate frame: Ethernet + option-less, unfragmented IPv4
 * carrying TCP or UDP, the IPv4 header within [data, end). */
static __always_inline int lb_np_ipv4(void *data, void *end)
{
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);

	return (void *)(ip + 1) <= end && eth->h_proto == bpf_htons(ETH_P_IP) &&
	       ip->version == 4 && ip->ihl == 5 && !(ip->frag_off & bpf_htons(0x3fff)) &&
	       (ip->protocol == IPPROTO_TCP || ip->protocol == IPPROTO_UDP);
}

/* XDP: lb_np_decide() on the frame [data, end), translated in place.
 * *tunnel_ip: the backend's node for LB_NP_REMOTE; *hash: the flow hash. */
static __always_inline int lb_xdp_nodeport(void *data, void *end, __u32 node_ip,
					   __u32 *tunnel_ip, __u32 *hash)
{
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct gnt_ct_key k = {};
	struct gnt_ct_val v = {};
	struct lb_tuple t;
	__u16 *ports, *l4sum;
	int kind;

	if (!lb_np_ipv4(data, end))
		return LB_NP_NONE;
	ports = (void *)(ip + 1);
	if ((void *)ports + (ip->protocol == IPPROTO_TCP ? 20 : 8) > end)
		return LB_NP_NONE;
	l4sum = ip->protocol == IPPROTO_TCP ? (void *)ports + 16 : (void *)ports + 6;

	kind = lb_np_decide(ip, ports, end, (__u32)(end - data), node_ip, &k, &v, hash);
	if (kind <= LB_NP_NONE)
		return kind;
	*tunnel_ip = v.tunnel_ip;
	lb_np_tuple(kind, &k, &v, &t);
	lb_xdp_rewrite(ip, ports, l4sum, t.saddr, t.sport, t.daddr, t.dport);
	return kind;
}

/* tc (underlay in tc mode): the same decision on the skb; the rewrite goes
 * through the checksum helpers (CHECKSUM_PARTIAL skbs from a local
 * sender). Packet pointers are invalid afterwards. */
static __always_inline int lb_tc_nodeport(struct __sk_buff *skb, __u32 node_ip,
					  __u32 *tunnel_ip, __u32 *hash)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct gnt_ct_key k = {};
	struct gnt_ct_val v = {};
	struct lb_tuple t;
	__u16 *ports;
	int kind;

	if (!lb_np_ipv4(data, end))
		return LB_NP_NONE;
	ports = (void *)(ip + 1);
	if ((void *)(ports + 2) > end)
		return LB_NP_NONE;
	kind = lb_np_decide(ip, ports, end, skb->len, node_ip, &k, &v, hash);
	if (kind <= LB_NP_NONE)
		return kind;
	*tunnel_ip = v.tunnel_ip;
	lb_np_tuple(kind, &k, &v, &t);
	if (nat_rewrite(skb, ETH_HLEN + sizeof(struct iphdr), k.proto, 0,
			k.saddr, t.saddr, k.sport, t.sport) ||
	    nat_rewrite(skb, ETH_HLEN + sizeof(struct iphdr), k.proto, 1,
			k.daddr, t.daddr, k.dport, t.dport))
		return GNT_DROP_NAT;
	return kind;
}

#endif

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

/* NodePort / LoadBalancer / externalIPs at XDP for IPv4 TCP/UDP frames at
 * [data, end): a frame to an external frontend is DNATed in place to its
 * backend (conntrack both ways, like the pod path) and passed on; the
 * underlay tc program then delivers it to the pod as plain traffic, and
 * the pod program reverse-translates the backend's reply. Userspace puts
 * only node-local backends in external services' tables (docs/services.md:
 * remote forwarding is not implemented), so the client IP is kept.
 * Returns 0 (not a frontend), 1 (translated) or a drop reason. */
static __always_inline int lb_xdp_nodeport(void *data, void *end)
{
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct gnt_ct_key k = {};
	struct gnt_ct_val v = {};
	const struct gnt_svc_val *svc;
	const struct gnt_backend *be;
	const struct gnt_ct_val *ct;
	__u16 *ports, *l4sum;
	__u32 be_id = 0;

	if ((void *)(ip + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP) ||
	    ip->version != 4 || ip->ihl != 5 || (ip->frag_off & bpf_htons(0x3fff)) ||
	    (ip->protocol != IPPROTO_TCP && ip->protocol != IPPROTO_UDP))
		return 0;
	ports = (void *)(ip + 1);
	if ((void *)ports + (ip->protocol == IPPROTO_TCP ? 20 : 8) > end)
		return 0;
	l4sum = ip->protocol == IPPROTO_TCP ? (void *)ports + 16 : (void *)ports + 6;

	k.saddr = ip->saddr;
	k.daddr = ip->daddr;
	k.sport = ports[0];
	k.dport = ports[1];
	k.proto = ip->protocol;
	ct = bpf_map_lookup_elem(&gnt_ct, &k);
	if (ct && (ct->flags & GNT_CT_F_DNAT)) {
		v = *ct;
	} else {
		svc = lb_svc_lookup(k.daddr, k.dport, k.proto, GNT_SVC_SCOPE_EXTERNAL);
		if (!svc)
			return 0;
		if (!svc->count)
			return GNT_DROP_NO_BACKEND;
		be = lb_select(svc, k.saddr, flow_hash(0, ip, ports, end), &be_id);
		if (!be)
			return GNT_DROP_NO_BACKEND;
		lb_ct_create(&k, svc, be, be_id, &v);
	}
	lb_account(v.svc_id, (__u32)(end - data));
	/* L4 checksum covers the pseudo-header: address and port changes;
	 * a UDP checksum of 0 means none and stays 0 */
	if (ip->protocol == IPPROTO_TCP || *l4sum) {
		csum_replace4(l4sum, k.daddr, v.nat_ip);
		csum_replace2(l4sum, k.dport, v.nat_port);
		if (ip->protocol == IPPROTO_UDP && !*l4sum)
			*l4sum = 0xffff;
	}
	csum_replace4(&ip->check, k.daddr, v.nat_ip);
	ip->daddr = v.nat_ip;
	ports[1] = v.nat_port;
	return 1;
}

#endif

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

/* Looks at the IPv4 TCP/UDP packet at ETH_HLEN. new_flows: may create
 * conntrack entries for a packet to a service (pod program); otherwise
 * only existing entries apply (underlay replies). Returns LB_XLATE_NONE,
 * LB_XLATE_DONE (packet rewritten, re-read pointers) or a drop reason. */
static __always_inline int lb_ct_xlate(struct __sk_buff *skb, int new_flows)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct iphdr *ip = data + ETH_HLEN;
	struct gnt_ct_key k = {}, rk = {};
	struct gnt_ct_val v = {}, rv = {};
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
		svc = lb_svc_lookup(k.daddr, k.dport, k.proto, GNT_SVC_SCOPE_CLUSTER);
		if (!svc)
			return LB_XLATE_NONE;
		if (!svc->count)
			return GNT_DROP_NO_BACKEND;
		be = lb_select(svc, k.saddr, flow_hash(0, ip, ports, end), &be_id);
		if (!be)
			return GNT_DROP_NO_BACKEND;
		v.nat_ip = be->ip;
		v.nat_port = be->port;
		v.flags = GNT_CT_F_DNAT;
		v.svc_id = svc->id;
		v.backend_id = be_id;
		rk.saddr = be->ip;
		rk.daddr = k.saddr;
		rk.sport = be->port;
		rk.dport = k.sport;
		rk.proto = k.proto;
		rv.nat_ip = k.daddr;
		rv.nat_port = k.dport;
		rv.flags = GNT_CT_F_REVNAT;
		rv.svc_id = svc->id;
		rv.backend_id = be_id;
		/* reply entry first: the backend may answer before we return */
		bpf_map_update_elem(&gnt_ct, &rk, &rv, BPF_ANY);
		bpf_map_update_elem(&gnt_ct, &k, &v, BPF_ANY);
	}

	lb_account(v.svc_id, len);
	is_dst = v.flags & GNT_CT_F_DNAT;
	if (nat_rewrite(skb, l4_off, k.proto, is_dst,
			is_dst ? k.daddr : k.saddr, v.nat_ip,
			is_dst ? k.dport : k.sport, v.nat_port))
		return GNT_DROP_NAT;
	return LB_XLATE_DONE;
}

#endif

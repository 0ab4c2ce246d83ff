/* SPDX-License-Identifier: Apache-2.0 */
/* NetworkPolicy enforcement (docs/policy.md "BPF enforcement").
 *
 * A check point sees one packet between a source and a destination, either
 * of which may be a local endpoint: egress is checked for a local source,
 * ingress for a local destination. Both are skipped for endpoints without
 * GNT_EP_F_POL_* flags (no map access at all beyond the endpoint lookup the
 * caller did anyway). Otherwise:
 *   1. policy conntrack: a hit (either direction of an allowed flow)
 *      passes without any policy lookup;
 *   2. per enforced direction: gnt_policy[(endpoint IP, dir)] gives the
 *      endpoint's allow set (missing = fail-closed drop), probed for the
 *      peer identity and for ANY, each with at most the port prefix
 *      lengths its meta key lists;
 *   3. allowed: conntrack entries for both directions, an allow event if
 *      enabled; denied: a drop event with identities.
 * Context-free (tuple in, verdict out) so that tc and XDP could share it. */
#ifndef GNT_BPF_POLICY_H
#define GNT_BPF_POLICY_H

#include <linux/bpf.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "bpf/lib/common.h"
#include "bpf/lib/maps.h"

#define GNT_POL_EP_ANY (GNT_EP_F_POL_INGRESS | GNT_EP_F_POL_EGRESS)

/* skb->mark of a packet a pod program already checked and hands to the
 * destination's host veth with bpf_redirect (its tc egress program must
 * not check it again). */
#define GNT_MARK_POL_DONE 0x0a7e0f00U

/* XDP metadata in front of a frame the XDP program decapsulated and
 * passes to tc: the VNI identity, which the decapsulation removed. */
struct pol_xdp_meta {
	__u32 magic;
	__u32 identity;
};

#define GNT_XDP_META_MAGIC 0x6a7e1d01U

#ifndef IPPROTO_SCTP
#define IPPROTO_SCTP 132
#endif

/* The flow key of an IPv4 packet (ports network order): TCP/UDP/SCTP
 * ports; ICMP echo request/reply: the echo id in both, so that the reply's
 * reversed tuple is the request's; anything else (or non-first fragments):
 * no ports. */
static __always_inline __u8 pol_tuple(const struct iphdr *ip, const void *end,
				      struct gnt_ct_key *t)
{
	const __u8 *l4 = (const void *)ip + ip->ihl * 4;
	__u8 tcp_flags = 0;

	t->saddr = ip->saddr;
	t->daddr = ip->daddr;
	t->proto = ip->protocol;
	t->sport = t->dport = 0;
	t->pad[0] = t->pad[1] = t->pad[2] = 0;
	if (ip->frag_off & bpf_htons(0x1fff))
		return 0;
	if (ip->protocol == IPPROTO_TCP || ip->protocol == IPPROTO_UDP ||
	    ip->protocol == IPPROTO_SCTP) {
		if ((const void *)(l4 + 4) <= end) {
			t->sport = *(const __u16 *)l4;
			t->dport = *(const __u16 *)(l4 + 2);
		}
		if (ip->protocol == IPPROTO_TCP && (const void *)(l4 + 14) <= end)
			tcp_flags = l4[13];
	} else if (ip->protocol == IPPROTO_ICMP) {
		if ((const void *)(l4 + 8) <= end && (l4[0] == 8 || l4[0] == 0))
			t->sport = t->dport = *(const __u16 *)(l4 + 4);
	}
	return tcp_flags;
}

#define POL_TCP_FIN 0x01
#define POL_TCP_SYN 0x02
#define POL_TCP_RST 0x04
#define POL_TCP_ACK 0x10

/* Does the conntrack entry *ce let this packet skip the policy lookups?
 * Not for a TCP SYN (a new connection, even on an old 5-tuple), not once
 * idle past its lifetime; otherwise yes, refreshing its use time (written
 * at most once per unit, so a busy flow does not bounce the cache line)
 * and noting a FIN/RST. */
static __always_inline int pol_ct_pass(struct gnt_pol_ct_val *ce, __u8 proto, __u8 tcp)
{
	__u32 now = bpf_ktime_get_ns() >> 30;
	__u32 life = GNT_POL_CT_OTHER;

	if (proto == IPPROTO_TCP) {
		if ((tcp & (POL_TCP_SYN | POL_TCP_ACK)) == POL_TCP_SYN)
			return 0;
		life = ce->flags & GNT_POL_CT_F_CLOSING ? GNT_POL_CT_CLOSING : GNT_POL_CT_TCP;
		if ((tcp & (POL_TCP_FIN | POL_TCP_RST)) && !(ce->flags & GNT_POL_CT_F_CLOSING))
			ce->flags |= GNT_POL_CT_F_CLOSING;
	}
	if (now - ce->seen > life)
		return 0;
	if (ce->seen != now)
		ce->seen = now;
	return 1;
}

/* Is (identity, proto, port) in the allow set? identity 0 (unknown) only
 * matches ANY entries. Bounded: 2 meta lookups + at most 2 * 18 probes,
 * in practice 1-2 per identity (exact ports, or all ports). */
static __always_inline int pol_allowed(void *set, __u32 identity, __u8 proto, __u16 port)
{
	struct gnt_pol_key k = {};
	const struct gnt_pol_val *meta;
	__u32 lens;

#pragma unroll
	for (int i = 0; i < 2; i++) {
		k.identity = i ? GNT_ID_ANY : identity;
		if (!i && identity == GNT_ID_ANY)
			continue;
		k.proto = GNT_POL_META;
		k.plen = 0;
		k.port = 0;
		meta = bpf_map_lookup_elem(set, &k);
		if (!meta)
			continue;
		lens = meta->lens;
		if (lens & GNT_POL_META_ANYPROTO) {
			k.proto = 0;
			if (bpf_map_lookup_elem(set, &k))
				return 1;
		}
		k.proto = proto;
		for (int l = 16; l >= 0; l--) {
			if (!(lens & (1U << l)))
				continue;
			k.plen = l;
			k.port = l ? port & (__u16)(0xffff << (16 - l)) : 0;
			if (bpf_map_lookup_elem(set, &k))
				return 1;
		}
	}
	return 0;
}

/* One direction of one endpoint: 0 allowed, 1 denied, -1 no set. */
static __always_inline int pol_dir_verdict(__u32 ep_ip, __u32 dir, __u32 peer_id,
					   __u8 proto, __u16 port)
{
	struct gnt_pol_ep_key k = { .ip = ep_ip, .dir = dir };
	void *set = bpf_map_lookup_elem(&gnt_policy, &k);

	if (!set)
		return -1;
	return pol_allowed(set, peer_id, proto, port) ? 0 : 1;
}

static __always_inline void pol_event(int code, __u8 hook, __u32 ifindex, __u32 len,
				      const struct gnt_ct_key *t, __u32 src_id, __u32 dst_id,
				      __u32 dir, int allowed)
{
	struct gnt_event *ev = bpf_ringbuf_reserve(&gnt_events, sizeof(*ev), 0);

	if (!ev)
		return;
	ev->ts_ns = bpf_ktime_get_ns();
	ev->code = code;
	ev->ifindex = ifindex;
	ev->saddr = t->saddr;
	ev->daddr = t->daddr;
	ev->sport = t->sport;
	ev->dport = t->dport;
	ev->proto = t->proto;
	ev->hook = hook;
	ev->len = len > 0xffff ? 0xffff : len;
	ev->src_identity = src_id;
	ev->dst_identity = dst_id;
	ev->pol_dir = (__u8)(dir + 1);
	ev->allowed = allowed ? 1 : 0;
	ev->pad = 0;
	bpf_ringbuf_submit(ev, 0);
}

/* Where a check point runs, for events. */
struct pol_ctx {
	__u8 hook;
	__u8 tcp;               /* TCP flags of the packet (pol_tuple) */
	__u32 ifindex;
	__u32 len;
};

/* The check point. src/dst: the local endpoints of the packet's source and
 * destination (NULL when not local); src_id/dst_id: the peers' identities
 * (ignored unless the other side is checked). Returns 0 to pass or a
 * policy drop reason (the drop event is already sent). */
static __always_inline int pol_check(const struct gnt_ct_key *t,
				     const struct gnt_endpoint *src, __u32 src_id,
				     const struct gnt_endpoint *dst, __u32 dst_id,
				     const struct pol_ctx *pc)
{
	struct gnt_pol_ct_val cv = {}, *ce;
	struct gnt_ct_key rk = {};
	const struct gnt_pol_config *cfg;
	__u32 sflags = src ? src->flags : 0;
	__u32 dflags = dst ? dst->flags : 0;
	__u32 zero = 0, dir = GNT_POL_DIR_EGRESS;
	__u16 port = bpf_ntohs(t->dport);
	int v;

	if (!((sflags | dflags) & GNT_POL_EP_ANY))
		return 0;
	/* a pod talking to itself (hairpin through a service) */
	if (t->saddr == t->daddr)
		return 0;
	ce = bpf_map_lookup_elem(&gnt_pol_ct, t);
	if (ce && pol_ct_pass(ce, t->proto, pc->tcp))
		return 0;
	/* an old entry a new flow did not pass: judged afresh below; if it
	 * is denied, the stale entry must not keep serving its segments */
	if (ce)
		bpf_map_delete_elem(&gnt_pol_ct, t);
	if (sflags & GNT_EP_F_POL_EGRESS) {
		v = pol_dir_verdict(t->saddr, GNT_POL_DIR_EGRESS, dst_id, t->proto, port);
		if (v) {
			v = v < 0 ? GNT_DROP_POLICY_STATE : GNT_DROP_POLICY_EGRESS;
			pol_event(v, pc->hook, pc->ifindex, pc->len, t, src_id, dst_id,
				  GNT_POL_DIR_EGRESS, 0);
			return v;
		}
	}
	if (dflags & GNT_EP_F_POL_INGRESS) {
		dir = GNT_POL_DIR_INGRESS;
		v = pol_dir_verdict(t->daddr, GNT_POL_DIR_INGRESS, src_id, t->proto, port);
		if (v) {
			v = v < 0 ? GNT_DROP_POLICY_STATE : GNT_DROP_POLICY_INGRESS;
			pol_event(v, pc->hook, pc->ifindex, pc->len, t, src_id, dst_id,
				  GNT_POL_DIR_INGRESS, 0);
			return v;
		}
	}
	/* reply direction first: the answer may overtake our return */
	rk.saddr = t->daddr;
	rk.daddr = t->saddr;
	rk.sport = t->dport;
	rk.dport = t->sport;
	rk.proto = t->proto;
	cv.seen = bpf_ktime_get_ns() >> 30;
	bpf_map_update_elem(&gnt_pol_ct, &rk, &cv, BPF_ANY);
	bpf_map_update_elem(&gnt_pol_ct, t, &cv, BPF_ANY);
	cfg = bpf_map_lookup_elem(&gnt_pol_config, &zero);
	if (cfg && (cfg->flags & GNT_POL_CFG_ALLOW_EVENTS))
		pol_event(0, pc->hook, pc->ifindex, pc->len, t, src_id, dst_id, dir, 1);
	return 0;
}

/* Identity of a non-endpoint address: the node itself is HOST, otherwise
 * the ipcache's (longest prefix), WORLD where it has none. */
static __always_inline __u32 pol_ipcache_identity(__u32 addr, __u32 node_ip)
{
	struct gnt_ipcache_key k = { .prefixlen = 32, .ip = addr };
	const struct gnt_ipcache_val *v;

	if (addr == node_ip)
		return GNT_ID_HOST;
	v = bpf_map_lookup_elem(&gnt_ipcache, &k);
	return v && v->identity ? v->identity : GNT_ID_WORLD;
}

#endif

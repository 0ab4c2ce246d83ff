/* SPDX-License-Identifier: Apache-2.0 */
/* Pod egress datapath: tc ingress of every pod's host-side veth (gnt*).
 * Every frame a pod sends arrives here (its default gateway resolves to the
 * host veth MAC). Verdicts:
 *   local pod      -> rewrite MACs, bpf_redirect_peer() into the pod's eth0
 *   remote pod     -> VXLAN encap in place (GSO-safe), bpf_redirect_neigh()
 *                     to the underlay towards the remote node
 *   anything else  -> the node's stack (node IP, host services, outside)
 * Between parse and forward: service translation (conntrack), then
 * NetworkPolicy (bpf/lib/policy.h): egress of the source pod against the
 * translated destination, and ingress of a local destination pod.
 * gnt_pod_egress (tc egress of the same veth) is the ingress check point
 * for what the node's stack sends into the pod. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "bpf/lib/common.h"
#include "bpf/lib/config.h"
#include "bpf/lib/csum.h"
#include "bpf/lib/ct.h"
#include "bpf/lib/maps.h"
#include "bpf/lib/parse.h"
#include "bpf/lib/policy.h"
#include "bpf/lib/skb.h"
#include "bpf/lib/stats.h"
#include "bpf/lib/vxlan.h"

#ifndef AF_INET
#define AF_INET 2
#endif

static __always_inline int fwd_local(struct __sk_buff *skb, struct ethhdr *eth,
				     struct iphdr *ip, const struct gnt_endpoint *ep,
				     int *code)
{
	ipv4_dec_ttl(ip);
	__builtin_memcpy(eth->h_dest, ep->mac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, ep->host_mac, ETH_ALEN);
	*code = GNT_FWD_LOCAL;
	/* TCP goes out of the destination's host veth (bpf_redirect: one
	 * more trip through the per-CPU backlog), everything else straight
	 * into the pod (bpf_redirect_peer). Measured: when a flow's sender
	 * transmits from two CPUs (process context and ACK-clocked softirq),
	 * inline peer delivery lets segments overtake each other at the
	 * receiving socket; the sender then sees SACK holes and retransmits
	 * spuriously (~10x the bridge's retransmits, 0.5-0.75x its
	 * throughput with client and server on different CPUs). Through the
	 * backlog the retransmits match the bridge, while the peer path keeps
	 * ~1.6x the pps for everything else (docs/datapath.md). */
	if (ip->protocol == IPPROTO_TCP) {
		/* policy already checked: gnt_pod_egress lets it through */
		skb->mark = GNT_MARK_POL_DONE;
		return bpf_redirect(ep->ifindex, 0);
	}
	return bpf_redirect_peer(ep->ifindex, 0);
}

/* ICMP "fragmentation needed" sent back into the pod for a DF frame that
 * cannot fit the underlay once encapsulated (a pod MTU above underlay - 50):
 * the pod's stack learns the path MTU instead of blackholing. The frame is
 * cut down and rewritten in place into the ICMP error (RFC 792: original IP
 * header + 8 bytes) and delivered back through the pod's own veth. */
struct icmp_frag_body {
	__u8 type;
	__u8 code;
	__u16 check;
	__u16 unused;
	__be16 mtu;
	__u8 orig[28];          /* original IPv4 header (no options) + 8 bytes */
};

struct icmp_frag_frame {
	struct ethhdr eth;
	struct iphdr ip;
	struct icmp_frag_body icmp;
} __attribute__((packed));

static __always_inline int reply_frag_needed(struct __sk_buff *skb, struct ethhdr *eth,
					     struct iphdr *ip, const struct cursor *c)
{
	struct icmp_frag_frame f = {};
	struct icmp_frag_body body = {};
	struct iphdr rip = {};
	const __u16 *w = (const __u16 *)&body;
	__u32 sum = 0;

	if (!(ip->frag_off & bpf_htons(0x4000)) || ip->ihl != 5 ||
	    (void *)ip + sizeof(body.orig) > c->end)
		return TC_ACT_SHOT;
	__builtin_memcpy(body.orig, ip, sizeof(body.orig));
	body.type = 3;                       /* destination unreachable */
	body.code = 4;                       /* fragmentation needed */
	body.mtu = bpf_htons(cfg_underlay_mtu - GNT_VXLAN_OVERHEAD);
#pragma unroll
	for (int i = 0; i < (int)(sizeof(body) / 2); i++)
		sum += w[i];
	body.check = csum_fold32(sum);

	rip.version = 4;
	rip.ihl = 5;
	rip.tot_len = bpf_htons(sizeof(rip) + sizeof(body));
	rip.ttl = 64;
	rip.protocol = IPPROTO_ICMP;
	rip.saddr = cfg_node_ip;
	rip.daddr = ip->saddr;
	rip.check = csum_ipv4_hdr(&rip);

	__builtin_memcpy(f.eth.h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(f.eth.h_source, eth->h_dest, ETH_ALEN);
	f.eth.h_proto = bpf_htons(ETH_P_IP);
	__builtin_memcpy(&f.ip, &rip, sizeof(rip));
	__builtin_memcpy(&f.icmp, &body, sizeof(body));

	if (bpf_skb_change_tail(skb, sizeof(f), 0) ||
	    bpf_skb_store_bytes(skb, 0, &f, sizeof(f), 0))
		return TC_ACT_SHOT;
	return bpf_redirect_peer(skb->ifindex, 0);
}

static __always_inline int fwd_encap(struct __sk_buff *skb, struct ethhdr *eth,
				     struct iphdr *ip, const struct cursor *l4,
				     __u32 remote_ip, __u32 identity, int *code)
{
	/* ENCAP_L2(14) + L2_ETH: the kernel records the inner MAC header and
	 * ETH_P_TEB as inner protocol; L3_IPV4 + L4_UDP set SKB_GSO_UDP_TUNNEL
	 * so GSO super-packets are segmented (inner TCP, then outer) at the
	 * underlay instead of being dropped or fragmented. FIXED_GSO keeps
	 * gso_size: it is the inner MSS, already sized by the pod MTU
	 * (underlay - 50), so every segment fits once encapsulated; without
	 * it the kernel would shave 50 bytes off every segment, and it
	 * refuses UDP GSO (UDP_SEGMENT) packets outright. */
	const __u64 flags = BPF_F_ADJ_ROOM_FIXED_GSO |
			    BPF_F_ADJ_ROOM_ENCAP_L3_IPV4 | BPF_F_ADJ_ROOM_ENCAP_L4_UDP |
			    BPF_F_ADJ_ROOM_ENCAP_L2_ETH | BPF_F_ADJ_ROOM_ENCAP_L2(ETH_HLEN);
	struct bpf_redir_neigh nh = { .nh_family = AF_INET, .ipv4_nh = remote_ip };
	struct vxlan_encap_hdrs h = {};
	struct iphdr oip = {};       /* aligned copy for the checksum */
	__u32 inner_len;

	/* A non-GSO frame that cannot fit the underlay once encapsulated
	 * would be dropped by the device (outer DF): count it and tell the
	 * sender. GSO frames are segmented to gso_size, bounded by the pod
	 * MTU. */
	if (cfg_underlay_mtu && !skb->gso_size &&
	    skb->len - ETH_HLEN + GNT_VXLAN_OVERHEAD > cfg_underlay_mtu) {
		*code = GNT_DROP_FRAG_NEEDED;
		return reply_frag_needed(skb, eth, ip, l4);
	}
	__builtin_memcpy(&h.inner_eth, eth, sizeof(h.inner_eth));
	/* before adjust_room: it invalidates packet pointers */
	h.udp.source = vxlan_src_port(flow_hash(skb->hash, ip, l4->pos, l4->end));
	ipv4_dec_ttl(ip);
	oip.tos = ip->tos;
	inner_len = skb->len;        /* inner frame, Ethernet included */

	if (bpf_skb_adjust_room(skb, GNT_VXLAN_OVERHEAD, BPF_ADJ_ROOM_MAC, flags)) {
		*code = GNT_DROP_ENCAP;
		return TC_ACT_SHOT;
	}

	/* Outer MACs are filled by bpf_redirect_neigh(); h_dest only has to
	 * be non-multicast until then. */
	h.eth.h_proto = bpf_htons(ETH_P_IP);
	vxlan_outer_ip(&oip, inner_len, cfg_node_ip, remote_ip);
	__builtin_memcpy(&h.ip, &oip, sizeof(oip));
	h.udp.dest = cfg_vxlan_port;
	h.udp.len = bpf_htons(inner_len + GNT_VXLAN_OVERHEAD - ETH_HLEN - sizeof(struct iphdr));
	h.udp.check = 0;             /* allowed for IPv4 UDP; VXLAN default */
	h.vx.flags = VXLAN_F_VNI;
	h.vx.vni = bpf_htonl((identity & VXLAN_VNI_MASK) << 8);

	if (bpf_skb_store_bytes(skb, 0, &h, sizeof(h), 0)) {
		*code = GNT_DROP_ENCAP;
		return TC_ACT_SHOT;
	}
	*code = GNT_FWD_ENCAP;
	return bpf_redirect_neigh(cfg_underlay_ifindex, &nh, sizeof(nh), 0);
}

static __always_inline int in_prefix(__u32 addr, __u32 net, __u32 mask)
{
	return mask && (addr & mask) == net;
}

static __always_inline int pod_handle(struct __sk_buff *skb, int *code)
{
	struct gnt_ipcache_key key = { .prefixlen = 32 };
	const struct gnt_endpoint *src, *dst;
	const struct gnt_ipcache_val *rt;
	struct pol_ctx pc = { .hook = GNT_HOOK_POD, .ifindex = skb->ifindex, .len = skb->len };
	struct gnt_ct_key t0, t;
	__u32 dst_id;
	int from_node = 0;
	struct cursor c;
	struct ethhdr *eth;
	struct iphdr *ip;
	int err = 0;

	/* + 20: the TCP header through its flags (policy conntrack: a SYN
	 * must be seen as one), the ports for service translation */
	skb_linearize_hdrs(skb, ETH_HLEN + sizeof(struct iphdr) + 20);
	cursor_init(&c, (void *)(long)skb->data, (void *)(long)skb->data_end);

	eth = cursor_pull_hdr(&c, struct ethhdr);
	if (!eth) {
		*code = GNT_DROP_TRUNCATED;
		return TC_ACT_SHOT;
	}
	switch (eth->h_proto) {
	case bpf_htons(ETH_P_IP):
		break;
	case bpf_htons(ETH_P_ARP):
		/* pods have a permanent neighbour for the gateway, but let
		 * the stack answer anything that still asks */
		*code = GNT_FWD_STACK;
		return TC_ACT_OK;
	default:
		*code = GNT_DROP_UNSUPPORTED_L3;
		return TC_ACT_SHOT;
	}

	ip = cursor_pull_ipv4(&c, &err, GNT_DROP_TRUNCATED, GNT_DROP_BAD_IP);
	if (!ip) {
		*code = err;
		return TC_ACT_SHOT;
	}
	if (bpf_ntohs(ip->tot_len) > skb->len - ETH_HLEN) {
		*code = GNT_DROP_TRUNCATED;
		return TC_ACT_SHOT;
	}

	/* Anti-spoofing: the source must be the pod behind this veth. This
	 * lookup also yields the source identity carried in the VNI. */
	src = bpf_map_lookup_elem(&gnt_endpoints, &ip->saddr);
	if (!src || src->ifindex != skb->ifindex) {
		*code = GNT_DROP_SPOOFED_SRC;
		return TC_ACT_SHOT;
	}

	if (ip->ttl <= 1) {
		/* the stack sends the ICMP time exceeded */
		*code = GNT_FWD_STACK;
		return TC_ACT_OK;
	}

	/* the flow as the pod sent it: the policy key of service replies */
	pol_tuple(ip, c.end, &t0);

	/* Services, per packet: to a VIP (not translated at the socket) ->
	 * DNAT to a backend; a backend's reply -> source back to the VIP. */
	err = lb_ct_xlate(skb, 1);
	if (err < 0) {
		*code = err;
		return TC_ACT_SHOT;
	}
	if (err == LB_XLATE_DONE) {
		err = 0;
		cursor_init(&c, (void *)(long)skb->data, (void *)(long)skb->data_end);
		eth = cursor_pull_hdr(&c, struct ethhdr);
		ip = eth ? cursor_pull_ipv4(&c, &err, GNT_DROP_TRUNCATED, GNT_DROP_BAD_IP) : NULL;
		if (!ip) {
			*code = err ? err : GNT_DROP_TRUNCATED;
			return TC_ACT_SHOT;
		}
		/* reply of a NodePort flow: now from the node's own address */
		from_node = ip->saddr == cfg_node_ip;
	}

	/* Policy sees the flow between the pods: after DNAT (the backend),
	 * but before reverse NAT (a reply is keyed from the backend, as the
	 * conntrack entry its request created). */
	pc.tcp = pol_tuple(ip, c.end, &t);
	if (t.saddr != t0.saddr)
		t = t0;

	dst = bpf_map_lookup_elem(&gnt_endpoints, &ip->daddr);
	if (dst) {
		err = pol_check(&t, src, src->identity, dst, dst->identity, &pc);
		if (err) {
			*code = err;
			return TC_ACT_SHOT;
		}
		return fwd_local(skb, eth, ip, dst, code);
	}

	key.ip = ip->daddr;
	rt = bpf_map_lookup_elem(&gnt_ipcache, &key);
	if (src->flags & GNT_POL_EP_ANY) {
		dst_id = ip->daddr == cfg_node_ip ? GNT_ID_HOST :
			 rt && rt->identity ? rt->identity : GNT_ID_WORLD;
		err = pol_check(&t, src, src->identity, NULL, dst_id, &pc);
		if (err) {
			*code = err;
			return TC_ACT_SHOT;
		}
	}
	if (rt && rt->node_ip && rt->node_ip != cfg_node_ip)
		return fwd_encap(skb, eth, ip, &c, rt->node_ip, src->identity, code);

	if (in_prefix(ip->daddr, cfg_pod_net, cfg_pod_mask)) {
		*code = GNT_DROP_NO_ENDPOINT;
		return TC_ACT_SHOT;
	}
	if (in_prefix(ip->daddr, cfg_cluster_net, cfg_cluster_mask)) {
		*code = GNT_DROP_NO_ROUTE;
		return TC_ACT_SHOT;
	}
	/* The stack would drop a packet arriving on a pod veth with the
	 * node's own address as source (martian): send a NodePort reply
	 * straight out of the underlay, the kernel resolving the next hop. */
	if (from_node && cfg_underlay_ifindex) {
		*code = GNT_FWD_NODEPORT_REPLY;
		return bpf_redirect_neigh(cfg_underlay_ifindex, NULL, 0, 0);
	}
	*code = GNT_FWD_STACK;
	return TC_ACT_OK;
}

SEC("tc")
int gnt_pod_ingress(struct __sk_buff *skb)
{
	__u32 len = skb->len;
	int code = 0;
	int verdict;

	verdict = pod_handle(skb, &code);
	stats_account(code, len);
	if (code < 0)
		event_drop(code, GNT_HOOK_POD, skb->ifindex, len, (void *)(long)skb->data,
			   (void *)(long)skb->data_end);
	return verdict;
}

/* What the node's stack sends into a pod (host processes such as kubelet
 * probes, routed traffic): the ingress check point for it. Frames the pod
 * program already checked carry GNT_MARK_POL_DONE. */
static __always_inline int pod_egress_handle(struct __sk_buff *skb, int *code)
{
	struct pol_ctx pc = { .hook = GNT_HOOK_POD_EGRESS, .ifindex = skb->ifindex,
			      .len = skb->len };
	const struct gnt_endpoint *dst;
	struct gnt_ct_key t;
	struct ethhdr *eth;
	struct iphdr *ip;
	struct cursor c;
	__u32 src_id;
	int err = 0;

	if (skb->mark == GNT_MARK_POL_DONE) {
		skb->mark = 0;
		return TC_ACT_OK;
	}
	/* + 20: the TCP header through its flags (policy conntrack: a SYN
	 * must be seen as one), the ports for service translation */
	skb_linearize_hdrs(skb, ETH_HLEN + sizeof(struct iphdr) + 20);
	cursor_init(&c, (void *)(long)skb->data, (void *)(long)skb->data_end);
	eth = cursor_pull_hdr(&c, struct ethhdr);
	if (!eth || eth->h_proto != bpf_htons(ETH_P_IP))
		return TC_ACT_OK;
	ip = cursor_pull_ipv4(&c, &err, 0, 0);
	if (!ip)
		return TC_ACT_OK;
	dst = bpf_map_lookup_elem(&gnt_endpoints, &ip->daddr);
	if (!dst || !(dst->flags & GNT_POL_EP_ANY))
		return TC_ACT_OK;
	/* Generated by this node (kubelet probes, whatever source address
	 * the route picked): no input device. Routed frames have one and
	 * get their source's identity. */
	src_id = !skb->ingress_ifindex ? GNT_ID_HOST :
		 pol_ipcache_identity(ip->saddr, cfg_node_ip);
	pc.tcp = pol_tuple(ip, c.end, &t);
	err = pol_check(&t, NULL, src_id, dst, dst->identity, &pc);
	if (err) {
		*code = err;
		return TC_ACT_SHOT;
	}
	return TC_ACT_OK;
}

SEC("tc")
int gnt_pod_egress(struct __sk_buff *skb)
{
	__u32 len = skb->len;
	int code = 0;
	int verdict;

	verdict = pod_egress_handle(skb, &code);
	if (code < 0)
		stats_account(code, len);
	return verdict;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";

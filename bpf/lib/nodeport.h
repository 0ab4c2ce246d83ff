/* SPDX-License-Identifier: Apache-2.0 */
/* NodePort/LoadBalancer/externalIPs to a backend on another node, after
 * the translation (lb_np_decide() and its XDP/tc rewrites in ct.h): VXLAN
 * encapsulation of the translated frame towards the backend's node and
 * transmission of both directions back out of the underlay, in XDP and,
 * in tc underlay mode, in the tc program (np_tc_encap). In XDP the next hop's
 * MAC comes from bpf_fib_lookup(); when the kernel has no neighbour entry
 * yet (or any other lookup failure), or the device cannot take XDP frames
 * back (cfg_np_xdp_xmit = 0: a veth whose peer may lack NAPI), the finished
 * frame is passed up with a mark in the XDP metadata, and the underlay tc
 * program sends it with bpf_redirect_neigh(), which resolves the neighbour
 * (XDP cannot). */
#ifndef GNT_BPF_NODEPORT_H
#define GNT_BPF_NODEPORT_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "bpf/lib/common.h"
#include "bpf/lib/config.h"
#include "bpf/lib/csum.h"
#include "bpf/lib/vxlan.h"

#ifndef AF_INET
#define AF_INET 2
#endif

/* XDP metadata word asking the tc program to transmit the frame with
 * bpf_redirect_neigh(): "GNPN". Only XDP on this device writes metadata;
 * the policy's decap metadata (bpf/lib/policy.h, 8 bytes) starts with
 * another magic and is never written on this path. */
#define NP_META_NEIGH 0x474e504eU

/* Sends the finished frame at ctx (Ethernet + IPv4 from src to dst, tot_len
 * bytes of IP) back out: XDP_REDIRECT with the MACs from the FIB, else up
 * to tc for neighbour resolution. fwd: forward kind on success. */
static __always_inline int np_xdp_xmit(struct xdp_md *ctx, __u32 src, __u32 dst,
				       __u16 tot_len, int fwd, int *code)
{
	struct bpf_fib_lookup fib = {};
	struct ethhdr *eth;
	__u32 *meta;
	void *data;
	long rc;

	if (!cfg_np_xdp_xmit)
		goto to_tc;
	fib.family = AF_INET;
	fib.ipv4_src = src;
	fib.ipv4_dst = dst;
	fib.tot_len = tot_len;
	fib.ifindex = ctx->ingress_ifindex;
	rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), 0);
	data = (void *)(long)ctx->data;
	eth = data;
	if ((void *)(eth + 1) > (void *)(long)ctx->data_end) {
		*code = GNT_DROP_TRUNCATED;
		return XDP_DROP;
	}
	if (rc == BPF_FIB_LKUP_RET_SUCCESS) {
		__builtin_memcpy(eth->h_dest, fib.dmac, ETH_ALEN);
		__builtin_memcpy(eth->h_source, fib.smac, ETH_ALEN);
		*code = fwd;
		/* XDP_TX back out of the ingress device on a NIC
		 * (cfg_np_xdp_xmit 2); XDP_REDIRECT otherwise: a veth
		 * flushes XDP_TX frames to its peer only when the peer runs
		 * XDP itself, redirected ones whenever the peer has NAPI
		 * (measured: XDP_TX frames sat in the peer's ring until the
		 * next ordinary packet) */
		if (cfg_np_xdp_xmit == 2 && fib.ifindex == ctx->ingress_ifindex)
			return XDP_TX;
		return bpf_redirect(fib.ifindex, 0);
	}
to_tc:
	if (bpf_xdp_adjust_meta(ctx, -(int)sizeof(__u32))) {
		*code = GNT_DROP_ENCAP;
		return XDP_DROP;
	}
	meta = (void *)(long)ctx->data_meta;
	if ((void *)(meta + 1) > (void *)(long)ctx->data) {
		*code = GNT_DROP_ENCAP;
		return XDP_DROP;
	}
	*meta = NP_META_NEIGH;
	*code = GNT_FWD_NODEPORT_NEIGH;
	return XDP_PASS;
}

/* The frame at ctx (translated: node IP:port -> backend) goes to the
 * backend's node tunnel_ip in VXLAN, VNI = the reserved identity
 * REMOTE_NODE: the client's address was replaced by this node's, and the
 * backend's ingress policy sees it as such (docs/services.md). */
static __always_inline int np_xdp_encap(struct xdp_md *ctx, __u32 tunnel_ip, __u32 hash,
					int *code)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct vxlan_encap_hdrs *h;
	struct ethhdr inner_eth;
	struct iphdr oip = {};
	__u32 inner_len = end - data;

	if (data + sizeof(inner_eth) > end) {
		*code = GNT_DROP_TRUNCATED;
		return XDP_DROP;
	}
	/* the backend's pod MTU (underlay - 50) makes its TCP peer send
	 * segments that fit once encapsulated; larger datagrams cannot */
	if (cfg_underlay_mtu && inner_len - ETH_HLEN + GNT_VXLAN_OVERHEAD > cfg_underlay_mtu) {
		*code = GNT_DROP_FRAG_NEEDED;
		return XDP_DROP;
	}
	__builtin_memcpy(&inner_eth, data, sizeof(inner_eth));
	if (bpf_xdp_adjust_head(ctx, -(int)GNT_VXLAN_OVERHEAD)) {
		*code = GNT_DROP_ENCAP;
		return XDP_DROP;
	}
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	h = data;
	if ((void *)(h + 1) > end) {
		*code = GNT_DROP_ENCAP;
		return XDP_DROP;
	}
	vxlan_outer_ip(&oip, inner_len, cfg_node_ip, tunnel_ip);
	/* MACs are the FIB's (np_xdp_xmit); until then the received ones,
	 * so that a frame passed up to tc is still addressed to us */
	__builtin_memcpy(&h->eth, &inner_eth, sizeof(inner_eth));
	h->eth.h_proto = bpf_htons(ETH_P_IP);
	__builtin_memcpy(&h->ip, &oip, sizeof(oip));
	h->udp.source = vxlan_src_port(hash);
	h->udp.dest = cfg_vxlan_port;
	h->udp.len = bpf_htons(inner_len + GNT_VXLAN_OVERHEAD - ETH_HLEN - sizeof(struct iphdr));
	h->udp.check = 0;
	h->vx.flags = VXLAN_F_VNI;
	h->vx.vni = bpf_htonl((GNT_ID_REMOTE_NODE & VXLAN_VNI_MASK) << 8);
	__builtin_memcpy(&h->inner_eth, &inner_eth, sizeof(inner_eth));
	return np_xdp_xmit(ctx, cfg_node_ip, tunnel_ip,
			   inner_len + GNT_VXLAN_OVERHEAD - ETH_HLEN, GNT_FWD_NODEPORT_REMOTE, code);
}

/* tc mode (no XDP program): the translated skb goes to the backend's node
 * tunnel_ip in VXLAN (same headers as np_xdp_encap; room made as the pod
 * program does, GSO-safe), sent with neighbour resolution. */
static __always_inline int np_tc_encap(struct __sk_buff *skb, __u32 tunnel_ip, __u32 hash,
				       int *code)
{
	const __u64 flags = BPF_F_ADJ_ROOM_FIXED_GSO |
			    BPF_F_ADJ_ROOM_ENCAP_L3_IPV4 | BPF_F_ADJ_ROOM_ENCAP_L4_UDP |
			    BPF_F_ADJ_ROOM_ENCAP_L2_ETH | BPF_F_ADJ_ROOM_ENCAP_L2(ETH_HLEN);
	struct bpf_redir_neigh nh = { .nh_family = AF_INET, .ipv4_nh = tunnel_ip };
	struct vxlan_encap_hdrs h = {};
	struct iphdr oip = {};
	__u32 inner_len = skb->len;

	if (cfg_underlay_mtu && !skb->gso_size &&
	    inner_len - ETH_HLEN + GNT_VXLAN_OVERHEAD > cfg_underlay_mtu) {
		*code = GNT_DROP_FRAG_NEEDED;
		return TC_ACT_SHOT;
	}
	if (bpf_skb_load_bytes(skb, 0, &h.inner_eth, sizeof(h.inner_eth)) ||
	    bpf_skb_adjust_room(skb, GNT_VXLAN_OVERHEAD, BPF_ADJ_ROOM_MAC, flags)) {
		*code = GNT_DROP_ENCAP;
		return TC_ACT_SHOT;
	}
	vxlan_outer_ip(&oip, inner_len, cfg_node_ip, tunnel_ip);
	__builtin_memcpy(&h.eth, &h.inner_eth, sizeof(h.eth));
	h.eth.h_proto = bpf_htons(ETH_P_IP);
	__builtin_memcpy(&h.ip, &oip, sizeof(oip));
	h.udp.source = vxlan_src_port(hash);
	h.udp.dest = cfg_vxlan_port;
	h.udp.len = bpf_htons(inner_len + GNT_VXLAN_OVERHEAD - ETH_HLEN - sizeof(struct iphdr));
	h.vx.flags = VXLAN_F_VNI;
	h.vx.vni = bpf_htonl((GNT_ID_REMOTE_NODE & VXLAN_VNI_MASK) << 8);
	if (bpf_skb_store_bytes(skb, 0, &h, sizeof(h), 0)) {
		*code = GNT_DROP_ENCAP;
		return TC_ACT_SHOT;
	}
	*code = GNT_FWD_NODEPORT_REMOTE;
	return bpf_redirect_neigh(skb->ifindex, &nh, sizeof(nh), 0);
}

/* tc side: a frame XDP finished but could not address (np_xdp_xmit).
 * Returns a verdict, or -1 when the frame carries no such mark. */
static __always_inline int np_tc_from_xdp(struct __sk_buff *skb, int *code)
{
	__u32 *meta = (void *)(long)skb->data_meta;

	if ((void *)(meta + 1) > (void *)(long)skb->data || *meta != NP_META_NEIGH)
		return -1;
	*code = GNT_FWD_NODEPORT_NEIGH;
	return bpf_redirect_neigh(skb->ifindex, NULL, 0, 0);
}

#endif

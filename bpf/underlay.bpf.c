/* SPDX-License-Identifier: Apache-2.0 */
/* Underlay datapath: the node's interface towards other nodes.
 *   gnt_underlay_xdp  (XDP mode) VXLAN to us -> decap in XDP; either
 *                     XDP_REDIRECT into the pod's host veth (endpoints
 *                     flagged GNT_EP_F_XDP_REDIRECT) or XDP_PASS so that
 *                     the tc program delivers it with bpf_redirect_peer.
 *   gnt_underlay_tc   (tc ingress, always attached) VXLAN to us -> decap
 *                     with bpf_skb_adjust_room (keeps GSO super-packets
 *                     whole) and bpf_redirect_peer into the pod; plain IPv4
 *                     to a local pod (routed from another node, or already
 *                     decapsulated by XDP) -> bpf_redirect_peer.
 * Anything else passes untouched: the node still needs its own traffic.
 * The VNI carries the sender's identity for the future ingress policy
 * stage (between "endpoint found" and "deliver"). */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "bpf/lib/common.h"
#include "bpf/lib/config.h"
#include "bpf/lib/ct.h"
#include "bpf/lib/maps.h"
#include "bpf/lib/nodeport.h"
#include "bpf/lib/parse.h"
#include "bpf/lib/policy.h"
#include "bpf/lib/skb.h"
#include "bpf/lib/stats.h"
#include "bpf/lib/vxlan.h"

/* What the shared parser found. */
enum ul_kind {
	UL_PASS = 0,       /* not for the datapath */
	UL_VXLAN,          /* VXLAN to us, inner headers valid, endpoint found */
	UL_PLAIN_TO_POD,   /* plain IPv4 to a local endpoint */
	UL_DROP,           /* ours but broken: *code holds the reason */
};

struct ul_result {
	const struct gnt_endpoint *ep;
	struct ethhdr *eth;          /* outer (or only) Ethernet header */
	__u32 identity;              /* from the VNI */
	int ct_hit;                  /* inner packet has a conntrack entry
				      * (a service reply: needs reverse NAT) */
};

/* Classifies one frame [data, data_end). Shared by XDP and tc so both modes
 * accept and reject exactly the same packets. */
static __always_inline enum ul_kind ul_parse(void *data, void *data_end,
					     struct ul_result *r, int *code)
{
	struct ethhdr *ieth;
	struct iphdr *ip, *iip;
	struct vxlanhdr *vx;
	struct udphdr *udp;
	struct cursor c;
	int err = 0;

	cursor_init(&c, data, data_end);
	r->eth = cursor_pull_hdr(&c, struct ethhdr);
	if (!r->eth || r->eth->h_proto != bpf_htons(ETH_P_IP))
		return UL_PASS;
	ip = cursor_pull_ipv4(&c, &err, 0, 0);
	if (!ip)
		return UL_PASS;          /* let the stack judge non-tunnel IP */

	if (ip->daddr != cfg_node_ip) {
		r->ep = bpf_map_lookup_elem(&gnt_endpoints, &ip->daddr);
		return r->ep ? UL_PLAIN_TO_POD : UL_PASS;
	}
	if (ip->protocol != IPPROTO_UDP || ip->ihl != 5 || ipv4_is_fragment(ip))
		return UL_PASS;
	udp = cursor_pull_hdr(&c, struct udphdr);
	if (!udp || udp->dest != cfg_vxlan_port)
		return UL_PASS;

	/* From here on the packet is VXLAN for us: problems are drops. */
	vx = cursor_pull_hdr(&c, struct vxlanhdr);
	ieth = cursor_pull_hdr(&c, struct ethhdr);
	if (!vx || !ieth) {
		*code = GNT_DROP_TRUNCATED;
		return UL_DROP;
	}
	if (!(vx->flags & VXLAN_F_VNI)) {
		*code = GNT_DROP_BAD_VXLAN;
		return UL_DROP;
	}
	if (ieth->h_proto != bpf_htons(ETH_P_IP)) {
		*code = GNT_DROP_UNSUPPORTED_L3;
		return UL_DROP;
	}
	iip = cursor_pull_ipv4(&c, &err, GNT_DROP_TRUNCATED, GNT_DROP_BAD_IP);
	if (!iip) {
		*code = err;
		return UL_DROP;
	}
	r->ep = bpf_map_lookup_elem(&gnt_endpoints, &iip->daddr);
	if (!r->ep) {
		*code = GNT_DROP_NO_ENDPOINT;
		return UL_DROP;
	}
	r->identity = vxlan_vni_to_identity(vx);
	/* Only XDP redirect mode needs to know here (reverse NAT is done by
	 * the tc program, so a service reply must not bypass it). */
	if (cfg_xdp_redirect && (iip->protocol == IPPROTO_TCP || iip->protocol == IPPROTO_UDP) &&
	    iip->ihl == 5) {
		__u16 *ports = (void *)(iip + 1);
		struct gnt_ct_key k = {
			.saddr = iip->saddr, .daddr = iip->daddr, .proto = iip->protocol,
		};

		if ((void *)(ports + 2) <= data_end) {
			k.sport = ports[0];
			k.dport = ports[1];
			r->ct_hit = bpf_map_lookup_elem(&gnt_ct, &k) != NULL;
		}
	}
	return UL_VXLAN;
}

static __always_inline void set_pod_macs(struct ethhdr *eth, const struct gnt_endpoint *ep)
{
	__builtin_memcpy(eth->h_dest, ep->mac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, ep->host_mac, ETH_ALEN);
}

/* ---------------------------------------------------------------- XDP */

static __always_inline int xdp_handle(struct xdp_md *ctx, int *code)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ul_result r = {};
	struct ethhdr *eth;
	__u8 outer_macs[2 * ETH_ALEN];
	__u32 ifindex, flags, tunnel_ip = 0, hash = 0;
	int ret;

	switch (ul_parse(data, data_end, &r, code)) {
	case UL_VXLAN:
		break;
	case UL_DROP:
		return XDP_DROP;
	default:
		/* NodePort/LB frontends are translated here: to a local
		 * backend, then delivered by the tc program like any plain
		 * traffic to a pod; to a remote one, encapsulated and sent
		 * straight back out (bpf/lib/nodeport.h) */
		ret = lb_xdp_nodeport(data, data_end, cfg_node_ip, &tunnel_ip, &hash);
		switch (ret) {
		case LB_NP_NONE:
			break;
		case LB_NP_REMOTE:
		case LB_NP_REPLY: {
			struct iphdr *rip = data + sizeof(struct ethhdr);

			if ((void *)(rip + 1) > data_end)
				return XDP_DROP;
			/* a host-network backend is its node: no tunnel */
			if (ret == LB_NP_REMOTE && rip->daddr != tunnel_ip)
				return np_xdp_encap(ctx, tunnel_ip, hash, code);
			return np_xdp_xmit(ctx, rip->saddr, rip->daddr, bpf_ntohs(rip->tot_len),
					   ret == LB_NP_REMOTE ? GNT_FWD_NODEPORT_REMOTE :
					   GNT_FWD_NODEPORT_REMOTE_REPLY, code);
		}
		case LB_NP_LOCAL: {
			struct ethhdr *feth = data;
			struct iphdr *fip = (void *)(feth + 1);
			const struct gnt_endpoint *ep;

			*code = GNT_FWD_NODEPORT;
			/* Katran-style: straight into the backend pod's host
			 * veth when it can take XDP frames, else via tc */
			if (!cfg_xdp_redirect || (void *)(fip + 1) > data_end)
				return XDP_PASS;
			ep = bpf_map_lookup_elem(&gnt_endpoints, &fip->daddr);
			if (!ep || !(ep->flags & GNT_EP_F_XDP_REDIRECT) ||
			    (ep->flags & GNT_POL_EP_ANY))   /* tc checks policy */
				return XDP_PASS;
			set_pod_macs(feth, ep);
			return bpf_redirect(ep->ifindex, 0);
		}
		default:
			*code = ret;
			return XDP_DROP;
		}
		/* plain traffic (pod-bound or not) is the tc program's job */
		*code = GNT_FWD_UNDERLAY_PASS;
		return XDP_PASS;
	}
	/* copy out before the packet moves */
	ifindex = r.ep->ifindex;
	flags = r.ep->flags;
	__builtin_memcpy(outer_macs, r.eth, sizeof(outer_macs));

	if (bpf_xdp_adjust_head(ctx, GNT_VXLAN_OVERHEAD)) {
		*code = GNT_DROP_DECAP;
		return XDP_DROP;
	}
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	eth = data;
	if ((void *)(eth + 1) > data_end) {
		*code = GNT_DROP_DECAP;
		return XDP_DROP;
	}
	/* pods under NetworkPolicy are delivered by tc, which checks
	 * ingress and records the flow for their replies */
	if (cfg_xdp_redirect && (flags & GNT_EP_F_XDP_REDIRECT) && !r.ct_hit &&
	    !(flags & GNT_POL_EP_ANY)) {
		set_pod_macs(eth, r.ep);
		*code = GNT_FWD_XDP_REDIRECT;
		return bpf_redirect(ifindex, 0);
	}
	/* Keep the outer MACs: the stack then classifies the frame as
	 * addressed to us (PACKET_HOST) and the tc program delivers it. */
	__builtin_memcpy(eth, outer_macs, sizeof(outer_macs));
	/* the VNI identity for tc's ingress policy, as XDP metadata (a
	 * driver without metadata support: tc falls back to the ipcache);
	 * only pods under policy need it */
	if ((flags & GNT_POL_EP_ANY) &&
	    !bpf_xdp_adjust_meta(ctx, -(int)sizeof(struct pol_xdp_meta))) {
		struct pol_xdp_meta *m = (void *)(long)ctx->data_meta;

		if ((void *)(m + 1) <= (void *)(long)ctx->data) {
			m->magic = GNT_XDP_META_MAGIC;
			m->identity = r.identity;
		}
	}
	*code = GNT_FWD_XDP_DECAP;
	return XDP_PASS;
}

SEC("xdp")
int gnt_underlay_xdp(struct xdp_md *ctx)
{
	__u32 len = ctx->data_end - ctx->data;
	int code = 0;
	int verdict;

	verdict = xdp_handle(ctx, &code);
	stats_account(code, len);
	if (code < 0)
		event_drop(code, GNT_HOOK_UNDERLAY_XDP, ctx->ingress_ifindex, len,
			   (void *)(long)ctx->data, (void *)(long)ctx->data_end);
	return verdict;
}

/* ----------------------------------------------------------------- tc */

#define UL_TC_PARSE_LEN (ETH_HLEN + sizeof(struct iphdr) + sizeof(struct udphdr) + \
			 sizeof(struct vxlanhdr) + ETH_HLEN + sizeof(struct iphdr))

/* Ingress policy where a frame (IPv4 at ETH_HLEN, already decapsulated)
 * is delivered to the local pod ep: identity from the VNI when the frame
 * came through the tunnel, else the ipcache's for its source. Before any
 * reverse NAT, so a reply meets the conntrack entry of its request. Returns
 * 0 or a policy drop reason. */
static __always_inline int ul_policy_ingress(struct __sk_buff *skb,
					     const struct gnt_endpoint *ep, __u32 vni_id,
					     int tunnelled)
{
	struct pol_ctx pc = { .hook = GNT_HOOK_UNDERLAY_TC, .ifindex = skb->ifindex,
			      .len = skb->len };
	void *end = (void *)(long)skb->data_end;
	struct iphdr *ip = (void *)(long)skb->data + ETH_HLEN;
	struct gnt_ct_key t;
	__u32 src_id;

	if (!(ep->flags & GNT_POL_EP_ANY))
		return 0;
	if (!tunnelled) {
		/* decapsulated by the XDP program: it left the VNI identity */
		struct pol_xdp_meta *m = (void *)(long)skb->data_meta;

		if ((void *)(m + 1) <= (void *)(long)skb->data &&
		    m->magic == GNT_XDP_META_MAGIC) {
			vni_id = m->identity;
			tunnelled = 1;
		}
	}
	if ((void *)(ip + 1) > end || ip->ihl < 5)
		return GNT_DROP_TRUNCATED;
	src_id = pol_ipcache_identity(ip->saddr, cfg_node_ip);
	/* Label-set identities are numbered from the label set (FNV-1a of
	 * its key, docs/policy.md), so every agent agrees except when two
	 * sets collide; this node's own ipcache is the authority for every
	 * source pod it knows (/32 label-set identity, 256..0x7fffff), the
	 * VNI only for sources it does not know (yet). */
	if (tunnelled && (src_id < 256 || src_id >= 0x800000))
		src_id = vni_id;
	pc.tcp = pol_tuple(ip, end, &t);
	return pol_check(&t, NULL, src_id, ep, ep->identity, &pc);
}

/* NodePort/LB frontends in tc mode (in XDP mode the XDP program has
 * translated them already): DNAT, then deliver to the local backend pod;
 * to a remote backend DNAT+SNAT and VXLAN to its node; a remote backend's
 * reply back to the client (bpf/lib/ct.h lb_np_decide).
 * A separate subprogram: inlined, clang merged its packet pointers with
 * the caller's into arithmetic the verifier refuses. Returns a verdict,
 * or -1 when the frame is no frontend's. */
static __noinline int tc_nodeport(struct __sk_buff *skb, int *code)
{
	const struct gnt_endpoint *ep;
	__u32 tunnel_ip = 0, hash = 0;
	struct ethhdr *eth;
	struct iphdr *ip;
	void *end;
	int ret;

	ret = lb_tc_nodeport(skb, cfg_node_ip, &tunnel_ip, &hash);
	if (ret < 0) {
		*code = ret;
		return TC_ACT_SHOT;
	}
	if (ret == LB_NP_NONE)
		return -1;
	eth = (void *)(long)skb->data;
	end = (void *)(long)skb->data_end;
	ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > end) {
		*code = GNT_DROP_TRUNCATED;
		return TC_ACT_SHOT;
	}
	/* to a remote backend (a host-network one is its node: no tunnel),
	 * or a remote backend's reply back to the client */
	if (ret == LB_NP_REMOTE && ip->daddr != tunnel_ip)
		return np_tc_encap(skb, tunnel_ip, hash, code);
	if (ret != LB_NP_LOCAL) {
		*code = ret == LB_NP_REMOTE ? GNT_FWD_NODEPORT_REMOTE : GNT_FWD_NODEPORT_REMOTE_REPLY;
		return bpf_redirect_neigh(skb->ifindex, NULL, 0, 0);
	}
	ep = bpf_map_lookup_elem(&gnt_endpoints, &ip->daddr);
	if (!ep)
		return -1;      /* translated to a non-local backend: stack */
	ret = ul_policy_ingress(skb, ep, 0, 0);     /* the client's identity */
	if (ret) {
		*code = ret;
		return TC_ACT_SHOT;
	}
	eth = (void *)(long)skb->data;
	if ((void *)(eth + 1) > (void *)(long)skb->data_end) {
		*code = GNT_DROP_TRUNCATED;
		return TC_ACT_SHOT;
	}
	set_pod_macs(eth, ep);
	*code = GNT_FWD_NODEPORT;
	return bpf_redirect_peer(ep->ifindex, 0);
}

static __always_inline int tc_handle(struct __sk_buff *skb, int *code)
{
	struct ul_result r = {};
	void *data, *data_end;
	struct ethhdr *eth;
	__u32 ifindex;
	int ret;

	/* NodePort frames XDP translated but could not address (no
	 * neighbour entry yet): sent with neighbour resolution */
	ret = np_tc_from_xdp(skb, code);
	if (ret >= 0)
		return ret;
	/* Frames for another MAC (flooded by the fabric) are not ours to
	 * deliver: the stack drops them, so must we. */
	if (skb->pkt_type != PACKET_HOST) {
		*code = GNT_FWD_UNDERLAY_PASS;
		return TC_ACT_OK;
	}
	skb_linearize_hdrs(skb, UL_TC_PARSE_LEN);
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;

	switch (ul_parse(data, data_end, &r, code)) {
	case UL_PLAIN_TO_POD:
		ifindex = r.ep->ifindex;
		ret = ul_policy_ingress(skb, r.ep, 0, 0);
		if (ret) {
			*code = ret;
			return TC_ACT_SHOT;
		}
		set_pod_macs(r.eth, r.ep);
		ret = lb_ct_xlate(skb, 0);      /* reply of a service flow? */
		if (ret < 0) {
			*code = ret;
			return TC_ACT_SHOT;
		}
		*code = GNT_FWD_UNDERLAY_TO_POD;
		return bpf_redirect_peer(ifindex, 0);
	case UL_VXLAN:
		break;
	case UL_DROP:
		return TC_ACT_SHOT;
	default:
		/* NodePort/LB frontends in tc mode (in XDP mode the XDP
		 * program translated them already): DNAT, then deliver to
		 * the local backend pod */
		ret = tc_nodeport(skb, code);
		if (ret >= 0)
			return ret;
		*code = GNT_FWD_UNDERLAY_PASS;
		return TC_ACT_OK;
	}
	ifindex = r.ep->ifindex;
	/* Removes outer IP/UDP/VXLAN/inner Ethernet after the outer MAC
	 * header; FIXED_GSO keeps gso_size = the sender's MSS so a GRO'd
	 * super-packet is re-segmented (if ever) exactly as it was built. */
	if (bpf_skb_adjust_room(skb, -GNT_VXLAN_OVERHEAD, BPF_ADJ_ROOM_MAC,
				BPF_F_ADJ_ROOM_FIXED_GSO)) {
		*code = GNT_DROP_DECAP;
		return TC_ACT_SHOT;
	}
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	eth = data;
	if ((void *)(eth + 1) > data_end) {
		*code = GNT_DROP_DECAP;
		return TC_ACT_SHOT;
	}
	set_pod_macs(eth, r.ep);
	/* ingress policy with the sender's identity from the VNI */
	ret = ul_policy_ingress(skb, r.ep, r.identity, 1);
	if (ret) {
		*code = ret;
		return TC_ACT_SHOT;
	}
	/* a reply from a remote backend: source back to the VIP */
	ret = lb_ct_xlate(skb, 0);
	if (ret < 0) {
		*code = ret;
		return TC_ACT_SHOT;
	}
	*code = GNT_FWD_DECAP;
	return bpf_redirect_peer(ifindex, 0);
}

SEC("tc")
int gnt_underlay_tc(struct __sk_buff *skb)
{
	__u32 len = skb->len;
	int code = 0;
	int verdict;

	verdict = tc_handle(skb, &code);
	stats_account(code, len);
	if (code < 0)
		event_drop(code, GNT_HOOK_UNDERLAY_TC, skb->ifindex, len,
			   (void *)(long)skb->data, (void *)(long)skb->data_end);
	return verdict;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* SPDX-License-Identifier: Apache-2.0 */
/* VXLAN (RFC 7348) header, the tunnel header stack we push in one store,
 * and the UDP source port chosen from the inner flow hash so that the
 * underlay's ECMP/RSS spreads flows (same scheme as the kernel's
 * udp_flow_src_port). */
#ifndef GNT_BPF_VXLAN_H
#define GNT_BPF_VXLAN_H

#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>

#include "bpf/lib/common.h"
#include "bpf/lib/csum.h"

struct vxlanhdr {
	__be32 flags;           /* 0x08000000: VNI valid (I bit) */
	__be32 vni;             /* VNI << 8 */
};

#define VXLAN_F_VNI bpf_htonl(0x08000000)
#define VXLAN_VNI_MASK 0xffffffU

/* outer eth + outer ip + udp + vxlan + inner eth, written at offset 0 after
 * bpf_skb_adjust_room made GNT_VXLAN_OVERHEAD bytes of room after L2 */
struct vxlan_encap_hdrs {
	struct ethhdr eth;
	struct iphdr ip;
	struct udphdr udp;
	struct vxlanhdr vx;
	struct ethhdr inner_eth;
} __attribute__((packed));

#define VXLAN_SPORT_MIN 32768U
#define VXLAN_SPORT_MAX 61000U

static __always_inline __be16 vxlan_src_port(__u32 hash)
{
	return bpf_htons((__u16)((((__u64)hash * (VXLAN_SPORT_MAX - VXLAN_SPORT_MIN)) >> 32)
				 + VXLAN_SPORT_MIN));
}

/* Flow hash for the source port: the socket's hash when the stack set one
 * (TCP/UDP sockets do), else a murmur3-finalised mix of addresses and
 * ports. Cheaper than bpf_get_hash_recalc(), which runs the whole flow
 * dissector for every frame that has no hash yet. l4 may be NULL. */
static __always_inline __u32 flow_hash(__u32 skb_hash, const struct iphdr *ip,
				       const void *l4, const void *end)
{
	__u32 h, ports = 0;

	if (skb_hash)
		return skb_hash;
	if (l4 && (ip->protocol == 6 || ip->protocol == 17) &&
	    !(ip->frag_off & bpf_htons(0x3fff)) && l4 + 4 <= end)
		ports = *(const __u32 *)l4;
	h = ip->saddr ^ (ip->daddr * 0x9e3779b1U) ^ (ports * 0x85ebca6bU) ^ ip->protocol;
	h ^= h >> 16;
	h *= 0x7feb352dU;
	h ^= h >> 15;
	h *= 0x846ca68bU;
	h ^= h >> 16;
	return h;
}

static __always_inline __u32 vxlan_vni_to_identity(const struct vxlanhdr *vx)
{
	return bpf_ntohl(vx->vni) >> 8;
}

/* The outer IPv4 header of an encapsulated frame of inner_len bytes (inner
 * Ethernet included) from saddr to daddr, checksummed; oip starts zeroed
 * (an aligned copy, stored into the header stack afterwards). DF: the pod
 * MTU leaves room for the 50 bytes, so nothing should ever need
 * fragmenting; if it does we want to know, not fragment. */
static __always_inline void vxlan_outer_ip(struct iphdr *oip, __u32 inner_len, __be32 saddr,
					   __be32 daddr)
{
	oip->version = 4;
	oip->ihl = 5;
	oip->tot_len = bpf_htons(inner_len + GNT_VXLAN_OVERHEAD - ETH_HLEN);
	oip->frag_off = bpf_htons(0x4000);
	oip->ttl = 64;
	oip->protocol = IPPROTO_UDP;
	oip->saddr = saddr;
	oip->daddr = daddr;
	oip->check = csum_ipv4_hdr(oip);
}

#endif

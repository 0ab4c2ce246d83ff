/* SPDX-License-Identifier: Apache-2.0 */
/* In-place IPv4 address + port rewrite for tc programs, with the IP header
 * checksum and the TCP/UDP checksum (pseudo-header included) updated
 * incrementally by the kernel helpers, which also handle CHECKSUM_PARTIAL
 * skbs from the pod's offloading stack. A UDP checksum of 0 (none) stays 0
 * (BPF_F_MARK_MANGLED_0). Packet pointers are invalid afterwards. */
#ifndef GNT_BPF_NAT_H
#define GNT_BPF_NAT_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>

#define NAT_IP_CSUM_OFF (ETH_HLEN + 10)

/* is_dst: rewrite the destination (DNAT) or the source (reverse NAT). */
static __always_inline int nat_rewrite(struct __sk_buff *skb, __u32 l4_off, __u8 proto,
				       int is_dst, __u32 old_ip, __u32 new_ip,
				       __u16 old_port, __u16 new_port)
{
	__u32 addr_off = ETH_HLEN + (is_dst ? 16 : 12);
	__u32 port_off = l4_off + (is_dst ? 2 : 0);
	__u32 csum_off = l4_off + (proto == IPPROTO_TCP ? 16 : 6);
	__u64 m0 = proto == IPPROTO_UDP ? BPF_F_MARK_MANGLED_0 : 0;

	if (bpf_l4_csum_replace(skb, csum_off, old_ip, new_ip, BPF_F_PSEUDO_HDR | m0 | 4))
		return -1;
	if (old_port != new_port &&
	    bpf_l4_csum_replace(skb, csum_off, old_port, new_port, m0 | 2))
		return -1;
	if (bpf_l3_csum_replace(skb, NAT_IP_CSUM_OFF, old_ip, new_ip, 4))
		return -1;
	if (bpf_skb_store_bytes(skb, addr_off, &new_ip, 4, 0))
		return -1;
	if (bpf_skb_store_bytes(skb, port_off, &new_port, 2, 0))
		return -1;
	return 0;
}

#endif

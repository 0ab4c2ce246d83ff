/* SPDX-License-Identifier: Apache-2.0 */
/* Checksum helpers for headers we build or edit in place. */
#ifndef GNT_BPF_CSUM_H
#define GNT_BPF_CSUM_H

#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

static __always_inline __u16 csum_fold32(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/* Full checksum of a 20-byte option-less IPv4 header (check field zero).
 * Unrolled sum of ten 16-bit words: no helper call, constant cost. */
static __always_inline __u16 csum_ipv4_hdr(const struct iphdr *ip)
{
	const __u16 *w = (const __u16 *)ip;
	__u32 sum = 0;

#pragma unroll
	for (int i = 0; i < 10; i++)
		sum += w[i];
	return csum_fold32(sum);
}

/* TTL decrement with incremental checksum update (RFC 1624, as the kernel's
 * ip_decrease_ttl). Caller checked ttl > 1. */
static __always_inline void ipv4_dec_ttl(struct iphdr *ip)
{
	__u32 check = ip->check;

	check += bpf_htons(0x0100);
	ip->check = (__u16)(check + (check >= 0xFFFF));
	ip->ttl--;
}

#endif

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* gannet-pktgen BPF side.
 *
 * pktgen_tx: run by BPF_PROG_RUN with BPF_F_TEST_XDP_LIVE_FRAMES on a copy
 * of the frame template; XDP_TX makes the kernel transmit the frame out of
 * the device given as ingress_ifindex (e.g. a pod's eth0), XDP_REDIRECT
 * sends it to another device. Optionally spreads frames over several UDP
 * source ports so that receivers see distinct flows.
 *
 * pktgen_sink_xdp / pktgen_sink_tc: count frames that match the generator's
 * UDP destination port and drop them, letting everything else (ARP, ping,
 * control traffic) through. The counts are the *delivered* packets. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <linux/udp.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/* Set through the skeleton's rodata before load. */
const volatile __u32 tx_redirect_ifindex = 0; /* 0 = XDP_TX */
const volatile __u32 tx_flows = 1;            /* distinct source ports */
const volatile __u16 tx_sport = 9;            /* first source port (host order) */
const volatile __u16 sink_dport = 0;          /* UDP dport to count; 0 = every frame */
/* Ethernet + IPv4 + UDP headers of the template. Live frames reuse their
 * pages without copying the template again, and the path under test
 * rewrites headers in place (TTL, MACs, encapsulation): so every run writes
 * them back, or a recycled page would go out with another hop's MACs. */
#define PKTGEN_HDR_LEN 42
__u8 tx_hdr[PKTGEN_HDR_LEN];  /* .bss: a const would be folded to zeros */

struct sink_count {
	__u64 packets;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sink_count);
} sink_counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} tx_seq SEC(".maps");

SEC("xdp")
int pktgen_tx(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;

	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct udphdr *udp = (void *)(ip + 1);

	/* The template always has a 20-byte IPv4 header. */
	if ((void *)(udp + 1) > end)
		return XDP_ABORTED;
	__builtin_memcpy(data, tx_hdr, PKTGEN_HDR_LEN);
	if (tx_flows > 1) {
		__u32 k = 0, *seq;

		seq = bpf_map_lookup_elem(&tx_seq, &k);
		if (!seq)
			return XDP_ABORTED;
		*seq += 1;
		/* UDP checksum is 0 (none) in the template, so the port
		 * can change without a checksum update. */
		udp->source = bpf_htons(tx_sport + (*seq % tx_flows));
	}
	if (tx_redirect_ifindex)
		return bpf_redirect(tx_redirect_ifindex, 0);
	return XDP_TX;
}

/* Returns 1 if the frame is one of ours (UDP to sink_dport). */
static __always_inline int sink_match(void *data, void *end)
{
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct udphdr *udp;

	if (!sink_dport)
		return 1;
	if ((void *)(ip + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP))
		return 0;
	if (ip->protocol != IPPROTO_UDP || ip->ihl != 5)
		return 0;
	udp = (void *)(ip + 1);
	if ((void *)(udp + 1) > end)
		return 0;
	return udp->dest == bpf_htons(sink_dport);
}

static __always_inline void sink_account(__u64 len, __u32 segs)
{
	__u32 k = 0;
	struct sink_count *c = bpf_map_lookup_elem(&sink_counts, &k);

	if (c) {
		c->packets += segs;
		c->bytes += len;
	}
}

SEC("xdp")
int pktgen_sink_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;

	if (!sink_match(data, end))
		return XDP_PASS;
	sink_account(end - data, 1);
	return XDP_DROP;
}

SEC("tc")
int pktgen_sink_tc(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;

	/* GRO'd or non-linear skbs: make the headers readable first. */
	if (data + sizeof(struct ethhdr) + sizeof(struct iphdr) + sizeof(struct udphdr) > end) {
		if (bpf_skb_pull_data(skb, sizeof(struct ethhdr) + sizeof(struct iphdr) +
				      sizeof(struct udphdr)))
			return TC_ACT_OK;
		data = (void *)(long)skb->data;
		end = (void *)(long)skb->data_end;
	}
	if (!sink_match(data, end))
		return TC_ACT_OK;
	/* A GRO super-packet stands for gso_segs wire frames. */
	sink_account(skb->len, skb->gso_segs ? skb->gso_segs : 1);
	return TC_ACT_SHOT;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";

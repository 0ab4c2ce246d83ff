/* SPDX-License-Identifier: Apache-2.0 */
/* Per-CPU accounting of forward kinds and drop reasons. Every program leaves
 * through one exit that calls stats_account() with its kind or reason. */
#ifndef GNT_BPF_STATS_H
#define GNT_BPF_STATS_H

#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_endian.h>

#include "bpf/lib/maps.h"

static __always_inline void stats_account(int code, __u32 bytes)
{
	__u32 slot = code >= 0 ? (__u32)code : GNT_STATS_DROP_BASE + (__u32)(-code);
	struct gnt_stat *st;

	st = bpf_map_lookup_elem(&gnt_stats, &slot);
	if (st) {
		/* per-CPU slot: plain adds, no atomics needed */
		st->packets++;
		st->bytes += bytes;
	}
}

/* Drop event from the headers at [data, data_end) (re-parsed: this only
 * runs for drops, keeping the fast path free of it). */
static __always_inline void event_drop(int code, __u8 hook, __u32 ifindex, __u32 len,
				       void *data, void *data_end)
{
	struct gnt_event *ev;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	__u16 *ports;

	/* policy drops have their own event with identities (policy.h) */
	if (code == GNT_DROP_POLICY_INGRESS || code == GNT_DROP_POLICY_EGRESS ||
	    code == GNT_DROP_POLICY_STATE)
		return;
	ev = bpf_ringbuf_reserve(&gnt_events, sizeof(*ev), 0);
	if (!ev)
		return;
	ev->src_identity = ev->dst_identity = 0;
	ev->pol_dir = ev->allowed = 0;
	ev->pad = 0;
	ev->ts_ns = bpf_ktime_get_ns();
	ev->code = code;
	ev->ifindex = ifindex;
	ev->hook = hook;
	ev->len = len > 0xffff ? 0xffff : len;
	ev->saddr = ev->daddr = 0;
	ev->sport = ev->dport = 0;
	ev->proto = 0;
	if ((void *)(ip + 1) <= data_end && eth->h_proto == bpf_htons(ETH_P_IP) &&
	    ip->version == 4) {
		ev->saddr = ip->saddr;
		ev->daddr = ip->daddr;
		ev->proto = ip->protocol;
		ports = (void *)ip + ip->ihl * 4;
		if ((ip->protocol == 6 || ip->protocol == 17) && ip->ihl >= 5 &&
		    (void *)(ports + 2) <= data_end) {
			ev->sport = ports[0];
			ev->dport = ports[1];
		}
	}
	bpf_ringbuf_submit(ev, 0);
}

#endif

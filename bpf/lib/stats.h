/* SPDX-License-Identifier: Apache-2.0 */
/* Per-CPU accounting of forward kinds and drop reasons. Every program leaves
 * through one exit that calls stats_account() with its kind or reason. */
#ifndef GNT_BPF_STATS_H
#define GNT_BPF_STATS_H

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

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/* Micro-benchmark of the allow-set encodings (tests/bench/bench-policy.sh,
 * driven by policy_dp_bench -L): the datapath's hash encoding
 * (pol_allowed() from bpf/lib/policy.h, the code the pod program runs) vs
 * the LPM trie encoding docs/policy.md first proposed (4 lookups of a
 * 56-bit key: (id, proto), (id, any), (ANY, proto), (ANY, any)), on the
 * same entries, for the query in args. mode 2: no lookup (the baseline). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "bpf/lib/common.h"
#include "bpf/lib/policy.h"

struct lpm_key {
	__u32 prefixlen;
	__u32 identity_be;
	__u8 proto;
	__u8 port_be[2];
} __attribute__((packed));

struct bench_args {
	__u32 mode;
	__u32 identity;
	__u16 port;
	__u8 proto;
	__u8 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct bench_args);
	__uint(max_entries, 1);
} args SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct gnt_pol_key);
	__type(value, struct gnt_pol_val);
	__uint(max_entries, 65536);
} set_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct lpm_key);
	__type(value, __u8);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} set_lpm SEC(".maps");

static __always_inline int lpm_allowed(__u32 id, __u8 proto, __u16 port)
{
	struct lpm_key k = { .prefixlen = 56 };

#pragma unroll
	for (int i = 0; i < 4; i++) {
		k.identity_be = bpf_htonl(i < 2 ? id : 0);
		k.proto = i & 1 ? 0 : proto;
		k.port_be[0] = port >> 8;
		k.port_be[1] = port & 0xff;
		if (bpf_map_lookup_elem(&set_lpm, &k))
			return 1;
	}
	return 0;
}

SEC("xdp")
int policy_lookup(struct xdp_md *ctx)
{
	__u32 zero = 0;
	struct bench_args *a = bpf_map_lookup_elem(&args, &zero);
	int r = 0;

	if (!a)
		return XDP_ABORTED;
	if (a->mode == 0)
		r = pol_allowed(&set_hash, a->identity, a->proto, a->port);
	else if (a->mode == 1)
		r = lpm_allowed(a->identity, a->proto, a->port);
	return r ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* SPDX-License-Identifier: Apache-2.0 */
/* tc (__sk_buff) helpers shared by the pod and underlay programs. */
#ifndef GNT_BPF_SKB_H
#define GNT_BPF_SKB_H

#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

/* Headers we parse must be in the linear area for direct access. They
 * nearly always are; pull only when they are not (the pull may reallocate
 * the head, so callers re-read data/data_end after this). */
static __always_inline void skb_linearize_hdrs(struct __sk_buff *skb, __u32 len)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;

	if (data + len > data_end)
		bpf_skb_pull_data(skb, len < skb->len ? len : skb->len);
}

#endif

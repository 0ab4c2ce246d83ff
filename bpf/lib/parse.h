/* SPDX-License-Identifier: Apache-2.0 */
/* Bounds-checked header cursor over direct packet access (xdp-tools
 * parsing_helpers style). Each pull returns the header or NULL when it does
 * not fit between the cursor and data_end, so callers cannot forget the
 * verifier's bounds check. */
#ifndef GNT_BPF_PARSE_H
#define GNT_BPF_PARSE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct cursor {
	void *pos;
	void *end;
};

static __always_inline void cursor_init(struct cursor *c, void *data, void *data_end)
{
	c->pos = data;
	c->end = data_end;
}

static __always_inline void *cursor_pull(struct cursor *c, __u32 len)
{
	void *p = c->pos;

	if (p + len > c->end)
		return NULL;
	c->pos = p + len;
	return p;
}

#define cursor_pull_hdr(c, type) ((type *)cursor_pull(c, sizeof(type)))

/* IPv4 header with sanity checks: version 4, ihl >= 5, whole header
 * present (options included), total length covering the header.
 * *err is set to a drop reason (negative) when the header is bad, 0 when
 * it is simply not present in the linear area. */
static __always_inline struct iphdr *cursor_pull_ipv4(struct cursor *c, int *err,
						       int trunc_reason, int bad_reason)
{
	struct iphdr *ip = cursor_pull_hdr(c, struct iphdr);
	__u32 hlen;

	if (!ip) {
		*err = trunc_reason;
		return NULL;
	}
	if (ip->version != 4 || ip->ihl < 5) {
		*err = bad_reason;
		return NULL;
	}
	hlen = ip->ihl * 4;
	if (bpf_ntohs(ip->tot_len) < hlen) {
		*err = bad_reason;
		return NULL;
	}
	/* options: advance past them, checking bounds (hlen <= 60) */
	if (hlen > sizeof(*ip) && !cursor_pull(c, hlen - sizeof(*ip))) {
		*err = trunc_reason;
		return NULL;
	}
	return ip;
}

static __always_inline int ipv4_is_fragment(const struct iphdr *ip)
{
	return ip->frag_off & bpf_htons(0x3fff);   /* MF or offset */
}

#endif

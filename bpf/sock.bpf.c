/* SPDX-License-Identifier: Apache-2.0 */
/* ClusterIP at the socket: cgroup sock_addr programs attached to the
 * node's pod cgroup (dp_sock_attach). connect4 (TCP and connected UDP) and
 * sendmsg4 (unconnected UDP) replace a service VIP:port by a backend chosen
 * once per connection (per datagram for unconnected UDP), so the packets
 * themselves never need NAT; recvmsg4 and getpeername4 put the VIP back
 * so the application only ever sees the address it asked for. Pods whose
 * traffic bypasses these hooks (another cgroup, raw packets) are handled
 * per packet in the pod program. */
#include <linux/bpf.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "bpf/lib/common.h"
#include "bpf/lib/lb.h"
#include "bpf/lib/maps.h"

#define SYS_REJECT 0
#define SYS_PROCEED 1

static __always_inline __u8 sock_proto(struct bpf_sock_addr *ctx)
{
	/* ctx->protocol is 0 for sockets created with protocol 0 on some
	 * paths; the type decides */
	if (ctx->type == 1 /* SOCK_STREAM */)
		return IPPROTO_TCP;
	if (ctx->type == 2 /* SOCK_DGRAM */)
		return IPPROTO_UDP;
	return 0;
}

static __always_inline int sock_xlate(struct bpf_sock_addr *ctx)
{
	struct gnt_sock_revnat_key rk = {};
	struct gnt_sock_revnat_val rv = {};
	const struct gnt_svc_val *svc;
	const struct gnt_backend *be;
	__u32 vip = ctx->user_ip4;
	__u16 vport = (__u16)ctx->user_port;
	__u8 proto = sock_proto(ctx);
	__u32 be_id = 0;

	if (!proto)
		return SYS_PROCEED;
	svc = lb_svc_lookup(vip, vport, proto, GNT_SVC_SCOPE_CLUSTER);
	if (!svc)
		return SYS_PROCEED;
	/* a service without ready backends refuses instead of sending SYNs
	 * to a VIP nothing answers (kube-proxy rejects these too) */
	if (!svc->count)
		return SYS_REJECT;
	be = lb_select(svc, bpf_get_netns_cookie(ctx), bpf_get_prandom_u32(), &be_id);
	if (!be)
		return SYS_REJECT;

	rk.cookie = bpf_get_socket_cookie(ctx);
	rk.ip = be->ip;
	rk.port = be->port;
	rv.vip = vip;
	rv.vport = vport;
	bpf_map_update_elem(&gnt_sock_revnat, &rk, &rv, BPF_ANY);

	ctx->user_ip4 = be->ip;
	ctx->user_port = be->port;
	lb_account(svc->id, 1);
	return SYS_PROCEED;
}

/* backend address seen by the application -> the VIP it connected to */
static __always_inline int sock_revnat(struct bpf_sock_addr *ctx)
{
	struct gnt_sock_revnat_key rk = {
		.cookie = bpf_get_socket_cookie(ctx),
		.ip = ctx->user_ip4,
		.port = (__u16)ctx->user_port,
	};
	const struct gnt_sock_revnat_val *rv;

	rv = bpf_map_lookup_elem(&gnt_sock_revnat, &rk);
	if (rv) {
		ctx->user_ip4 = rv->vip;
		ctx->user_port = rv->vport;
	}
	return SYS_PROCEED;
}

SEC("cgroup/connect4")
int gnt_sock_connect4(struct bpf_sock_addr *ctx)
{
	return sock_xlate(ctx);
}

SEC("cgroup/sendmsg4")
int gnt_sock_sendmsg4(struct bpf_sock_addr *ctx)
{
	return sock_xlate(ctx);
}

SEC("cgroup/recvmsg4")
int gnt_sock_recvmsg4(struct bpf_sock_addr *ctx)
{
	return sock_revnat(ctx);
}

SEC("cgroup/getpeername4")
int gnt_sock_getpeername4(struct bpf_sock_addr *ctx)
{
	return sock_revnat(ctx);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";

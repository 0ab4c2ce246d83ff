/* SPDX-License-Identifier: Apache-2.0 */
/* Service load balancing shared by the socket programs (sock.bpf.c) and
 * the packet paths: frontend lookup, Maglev backend selection, session
 * affinity and per-service accounting. The Maglev table is built in
 * userspace (dataplane/maglev.c); here it is only indexed. */
#ifndef GNT_BPF_LB_H
#define GNT_BPF_LB_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "bpf/lib/common.h"
#include "bpf/lib/maps.h"

static __always_inline const struct gnt_svc_val *lb_svc_lookup(__u32 vip, __u16 port,
								__u8 proto, __u8 scope)
{
	struct gnt_svc_key k = { .vip = vip, .port = port, .proto = proto, .scope = scope };

	return bpf_map_lookup_elem(&gnt_services, &k);
}

/* Backend for flow hash h from the service's active table. NULL when the
 * table slot is empty or the backend went away meanwhile. */
static __always_inline const struct gnt_backend *lb_maglev_pick(const struct gnt_svc_val *svc,
								 __u32 h, __u32 *be_id)
{
	__u32 slot = (svc->id * 2 + (svc->table & 1)) * GNT_MAGLEV_STRIDE + h % GNT_MAGLEV_M;
	__u32 idx = slot / 2;
	const struct gnt_maglev_pair *p = bpf_map_lookup_elem(&gnt_maglev, &idx);

	if (!p)
		return NULL;
	*be_id = p->be[slot & 1];
	return bpf_map_lookup_elem(&gnt_backends, be_id);
}

/* sessionAffinity ClientIP: a remembered backend younger than the
 * timeout, still present, wins over the table. */
static __always_inline const struct gnt_backend *lb_affinity_get(const struct gnt_svc_val *svc,
								  __u64 client, __u64 now,
								  __u32 *be_id)
{
	struct gnt_affinity_key k = { .client = client, .svc_id = svc->id };
	struct gnt_affinity_val *v;

	if (!(svc->flags & GNT_SVC_F_AFFINITY))
		return NULL;
	v = bpf_map_lookup_elem(&gnt_affinity, &k);
	if (!v || now - v->last_ns > (__u64)svc->affinity_timeout * 1000000000ULL)
		return NULL;
	*be_id = v->backend_id;
	return bpf_map_lookup_elem(&gnt_backends, be_id);
}

static __always_inline void lb_affinity_put(const struct gnt_svc_val *svc, __u64 client,
					    __u64 now, __u32 be_id)
{
	struct gnt_affinity_key k = { .client = client, .svc_id = svc->id };
	struct gnt_affinity_val v = { .last_ns = now, .backend_id = be_id };

	if (svc->flags & GNT_SVC_F_AFFINITY)
		bpf_map_update_elem(&gnt_affinity, &k, &v, BPF_ANY);
}

/* Affinity first, else Maglev on hash h; refreshes the affinity entry. */
static __always_inline const struct gnt_backend *lb_select(const struct gnt_svc_val *svc,
							    __u64 client, __u32 h, __u32 *be_id)
{
	const struct gnt_backend *be = NULL;
	__u64 now = 0;

	if (svc->flags & GNT_SVC_F_AFFINITY) {
		now = bpf_ktime_get_ns();
		be = lb_affinity_get(svc, client, now, be_id);
	}
	if (!be)
		be = lb_maglev_pick(svc, h, be_id);
	if (be)
		lb_affinity_put(svc, client, now, *be_id);
	return be;
}

static __always_inline void lb_account(__u32 svc_id, __u32 bytes)
{
	struct gnt_stat *st = bpf_map_lookup_elem(&gnt_svc_stats, &svc_id);

	if (st) {
		st->packets++;
		st->bytes += bytes;
	}
}

#endif

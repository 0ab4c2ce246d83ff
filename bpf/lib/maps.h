/* SPDX-License-Identifier: Apache-2.0 */
/* Every BPF map of the datapath, declared once. All are pinned by name under
 * the node's pin directory (libbpf pin_root_path = <pin_root>/<node>), so
 * every program object of a node shares them and they survive agent
 * restarts. Key/value types live in common.h (shared with userspace). */
#ifndef GNT_BPF_MAPS_H
#define GNT_BPF_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "bpf/lib/common.h"

/* Local pods: pod IPv4 -> veth/MACs/identity. Looked up for the destination
 * of every pod packet and the inner destination of every VXLAN packet. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, struct gnt_endpoint);
	__uint(max_entries, GNT_ENDPOINTS_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gnt_endpoints SEC(".maps");

/* ipcache: prefix -> tunnel endpoint (remote node IP) and identity. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct gnt_ipcache_key);
	__type(value, struct gnt_ipcache_val);
	__uint(max_entries, GNT_IPCACHE_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gnt_ipcache SEC(".maps");

/* Per-CPU packet/byte counters by forward kind and drop reason
 * (slot layout in common.h). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct gnt_stat);
	__uint(max_entries, GNT_STATS_SLOTS);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gnt_stats SEC(".maps");

/* Drop events for the agent's flow/drop stream and `gannet-dp monitor`. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, GNT_EVENTS_BYTES);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gnt_events SEC(".maps");


/* Service frontends: (VIP, port, proto, scope) -> service id, backend
 * count, active Maglev table, flags. Written by dp_service_upsert(). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct gnt_svc_key);
	__type(value, struct gnt_svc_val);
	__uint(max_entries, GNT_SERVICES_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gnt_services SEC(".maps");

/* Maglev tables, flat: slot s of table t (0/1) of service id is lane s & 1
 * of element ((id * 2 + t) * GNT_MAGLEV_STRIDE + s) / 2, a backend id. Two
 * tables per service id for the atomic switch. mmapable: userspace writes
 * a whole table with one memcpy, no syscall per slot. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct gnt_maglev_pair);
	__uint(max_entries, GNT_SERVICES_MAX * GNT_MAGLEV_STRIDE);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gnt_maglev SEC(".maps");

/* Backends: id -> address, port, node. Ids are shared by every service
 * pointing at the same (IP, port, proto). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, struct gnt_backend);
	__uint(max_entries, GNT_BACKENDS_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gnt_backends SEC(".maps");

/* Per-CPU per-service counters, indexed by service id: translated
 * connections/datagrams at the socket, packets in the packet path. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct gnt_stat);
	__uint(max_entries, GNT_SERVICES_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gnt_svc_stats SEC(".maps");

/* Socket reverse NAT for recvmsg4/getpeername4 (LRU: entries of closed
 * sockets age out). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct gnt_sock_revnat_key);
	__type(value, struct gnt_sock_revnat_val);
	__uint(max_entries, GNT_LB_LRU_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gnt_sock_revnat SEC(".maps");

/* Per-packet service conntrack (both directions, see common.h). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct gnt_ct_key);
	__type(value, struct gnt_ct_val);
	__uint(max_entries, GNT_CT_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gnt_ct SEC(".maps");

/* sessionAffinity ClientIP state. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct gnt_affinity_key);
	__type(value, struct gnt_affinity_val);
	__uint(max_entries, GNT_LB_LRU_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gnt_affinity SEC(".maps");

/* ------------------------------------------------------------ policy */

/* Template of the per-endpoint allow sets (never used directly: userspace
 * creates one such map per endpoint and direction, sized to its entries;
 * hash inner maps may differ in max_entries). */
struct gnt_pol_inner {
	__uint(type, BPF_MAP_TYPE_HASH);
	/* sizes, not types: clang emits only a forward declaration for
	 * structs reached through this nested definition, and libbpf cannot
	 * size those */
	__uint(key_size, sizeof(struct gnt_pol_key));
	__uint(value_size, sizeof(struct gnt_pol_val));
	__uint(max_entries, 1);
};

/* NetworkPolicy: (endpoint IP, direction) -> that endpoint's allow set.
 * Present = enforced; dp_policy_set swaps the inner map in one update. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__type(key, struct gnt_pol_ep_key);
	__uint(max_entries, GNT_POLICY_EPS_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__array(values, struct gnt_pol_inner);
} gnt_policy SEC(".maps");

/* Policy conntrack (LRU: idle flows age out when full). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct gnt_ct_key);
	__type(value, struct gnt_pol_ct_val);
	__uint(max_entries, GNT_POL_CT_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gnt_pol_ct SEC(".maps");

/* Runtime policy switches (allow events), written by userspace. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct gnt_pol_config);
	__uint(max_entries, 1);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gnt_pol_config SEC(".maps");

#endif

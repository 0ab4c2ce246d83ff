/* SPDX-License-Identifier: Apache-2.0 */
/* libgannet-dataplane: loads, attaches and pins one node's BPF programs and
 * maps, and programs them (endpoints, remote node routes). All pins live
 * under <pin_root>/<node_name>/ (default /sys/fs/bpf/gannet/<node>/).
 * dp_open() on existing pins reuses them (maps keep their contents, programs
 * stay attached) and reconciles attachments instead of duplicating them.
 *
 * Addresses are IPv4 in network byte order (uint32_t as in struct in_addr).
 * Every fallible call returns 0 or -errno and fills *err when non-NULL.
 * This header is the contract between the datapath and its users (agent,
 * CLI, tests); extend it, don't break it. */
#ifndef GANNET_DATAPLANE_H
#define GANNET_DATAPLANE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/log.h"

#define DP_PIN_ROOT_DEFAULT "/sys/fs/bpf/gannet"

enum dp_underlay_mode {
	DP_UNDERLAY_AUTO = 0,   /* the measured default: tc (docs/datapath.md) */
	DP_UNDERLAY_XDP,
	DP_UNDERLAY_TC,
};

struct dp_config {
	const char *node_name;        /* pin directory name; required */
	const char *pin_root;         /* NULL = DP_PIN_ROOT_DEFAULT */
	const char *underlay_ifname;  /* device carrying VXLAN, e.g. "eth0" */
	uint32_t node_ip;             /* this node's underlay IP */
	uint32_t pod_cidr;            /* this node's pod CIDR */
	uint8_t pod_prefix_len;
	uint32_t cluster_cidr;        /* e.g. 10.244.0.0 */
	uint8_t cluster_prefix_len;   /* e.g. 16 */
	uint16_t vxlan_port;          /* 0 = 8472 */
	enum dp_underlay_mode underlay_mode;
	/* Added: map sizes, 0 = build default (GNT_ENDPOINTS_MAX 4096,
	 * GNT_IPCACHE_MAX 16384). Changing them later re-creates the map
	 * (entries lost until the agent's next sync). */
	uint32_t max_endpoints;
	uint32_t max_ipcache;
	/* Added: service ids (0 = GNT_SERVICES_MAX 1024). The Maglev array
	 * takes 2 tables * 1022 slots * 4 bytes = 8 KiB per service id. */
	uint32_t max_services;
};

struct dp_node;                       /* opaque */

/* Load (or reuse pinned) programs and maps, attach to the underlay. */
int dp_open(const struct dp_config *cfg, struct dp_node **out, struct gerr *err);
/* Releases the handle only; pins and attachments stay (datapath keeps
 * forwarding while the agent is gone). */
void dp_close(struct dp_node *dp);
/* Detaches everything this node attached and removes its pin directory. */
int dp_destroy(const char *pin_root, const char *node_name,
	       const char *underlay_ifname, struct gerr *err);

/* A local pod endpoint. */
struct dp_endpoint {
	uint32_t ip;
	uint32_t ifindex;             /* host-side veth ifindex (in node netns) */
	uint8_t mac[6];               /* pod's eth0 MAC */
	uint8_t host_mac[6];          /* host-side veth MAC */
	uint32_t identity;            /* security identity (0 = unknown) */
	uint32_t flags;               /* DP_EP_F_* (added; 0 = defaults) */
};

/* The pod-side eth0 has NAPI (GRO on, or an XDP program), so in XDP
 * underlay mode decapsulated frames may be XDP_REDIRECTed straight into the
 * host veth. Without NAPI on the peer the kernel would drop them, so only
 * set this when the agent enabled it. */
#define DP_EP_F_XDP_REDIRECT 0x1u

/* Adds/updates the endpoint in the maps and attaches the pod program to the
 * host-side veth (idempotent). */
int dp_endpoint_upsert(struct dp_node *dp, const struct dp_endpoint *ep,
		       struct gerr *err);
int dp_endpoint_delete(struct dp_node *dp, uint32_t ip, struct gerr *err);
typedef int (*dp_endpoint_cb)(const struct dp_endpoint *ep, void *arg);
int dp_endpoint_foreach(struct dp_node *dp, dp_endpoint_cb cb, void *arg);

/* A remote node: its pod CIDR is reached by VXLAN to node_ip. */
struct dp_remote {
	uint32_t pod_cidr;
	uint8_t prefix_len;
	uint32_t node_ip;
};
int dp_remote_upsert(struct dp_node *dp, const struct dp_remote *r, struct gerr *err);
int dp_remote_delete(struct dp_node *dp, uint32_t pod_cidr, uint8_t prefix_len,
		     struct gerr *err);
typedef int (*dp_remote_cb)(const struct dp_remote *r, void *arg);
int dp_remote_foreach(struct dp_node *dp, dp_remote_cb cb, void *arg);

/* Per-CPU counters summed over CPUs. Reasons are defined in
 * bpf/lib/common.h (shared with BPF); names via dp_reason_name(). */
#define DP_MAX_REASONS 64
struct dp_stats {
	uint64_t fwd_packets[DP_MAX_REASONS];   /* indexed by forward kind */
	uint64_t fwd_bytes[DP_MAX_REASONS];
	uint64_t drop_packets[DP_MAX_REASONS];  /* indexed by -drop reason */
	uint64_t drop_bytes[DP_MAX_REASONS];
};
int dp_stats_read(struct dp_node *dp, struct dp_stats *out, struct gerr *err);
const char *dp_fwd_name(int kind);     /* NULL if unused index */
const char *dp_drop_name(int reason);  /* NULL if unused index; reason or -reason */

/* Added: open an existing node's pins without loading or attaching anything
 * (CLI, tests, a second process). Map calls and dp_stats_read work;
 * dp_endpoint_upsert uses the pinned pod program. -ENOENT if the node has
 * no pins. */
int dp_open_pinned(const char *pin_root, const char *node_name,
		   struct dp_node **out, struct gerr *err);
/* Added: drop events from the datapath's ring buffer (one per dropped
 * packet; lost, never blocking, when nobody reads fast enough). */
struct dp_event {
	uint64_t ts_ns;               /* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
	int code;                     /* negative drop reason, dp_drop_name() */
	uint32_t ifindex;             /* device the program ran on */
	uint32_t saddr, daddr;        /* network order; outer for tunnel drops */
	uint16_t sport, dport;        /* host order; 0 if not TCP/UDP */
	uint8_t proto;                /* IP protocol, 0 if not IPv4 */
	const char *hook;             /* "pod", "underlay-tc", "underlay-xdp" */
	uint32_t len;                 /* frame length */
	/* Added for policy verdicts (0 when not known at that hook): */
	uint32_t src_identity, dst_identity;
	bool allowed;                 /* an allow-verdict event (code 0) */
	int dir;                      /* DP_POL_INGRESS/EGRESS, -1 = not policy */
};
typedef int (*dp_event_cb)(const struct dp_event *ev, void *arg);
/* Waits up to timeout_ms (-1 = forever) for events and calls cb for each
 * pending one. Returns the number handled or -errno. Not thread-safe per
 * dp_node. */
int dp_events_poll(struct dp_node *dp, int timeout_ms, dp_event_cb cb, void *arg,
		   struct gerr *err);

/* Added: the mode the underlay actually runs (AUTO resolved). */
enum dp_underlay_mode dp_underlay_mode_get(struct dp_node *dp);


/* ------------------------------------------------------------ services
 * Added (docs/services.md). A service frontend is (VIP, port, protocol,
 * scope); its backends are load-balanced by a Maglev table built here and
 * switched atomically. ClusterIP is translated at the socket for processes
 * in the cgroup given to dp_sock_attach(). Named targetPorts are resolved
 * by the caller (Endpoints carry numbers). Headless services (clusterIP
 * None) have no VIP and are refused with -EINVAL: callers skip them. */
#define DP_SVC_SCOPE_CLUSTER 0        /* ClusterIP */
#define DP_SVC_SCOPE_EXTERNAL 1       /* NodePort / LoadBalancer / externalIPs */

#define DP_SVC_F_AFFINITY   0x1u      /* sessionAffinity: ClientIP */
#define DP_SVC_F_LOCAL_ONLY 0x2u      /* externalTrafficPolicy: Local */

struct dp_service {
	uint32_t vip;                 /* network order; 0 = headless (refused) */
	uint16_t port;                /* host order */
	uint8_t proto;                /* IPPROTO_TCP or IPPROTO_UDP */
	uint8_t scope;                /* DP_SVC_SCOPE_* */
	uint32_t flags;               /* DP_SVC_F_* */
	uint32_t affinity_timeout;    /* seconds; 0 = 10800 (Kubernetes default) */
	uint32_t id;                  /* out: service id in the maps */
};

struct dp_backend {
	uint32_t ip;                  /* network order */
	uint16_t port;                /* host order (the resolved targetPort) */
	uint32_t node_ip;             /* node hosting it (0 = unknown) */
	uint32_t weight;              /* 0 = 1 */
	bool local;                   /* on this node (externalTrafficPolicy Local) */
};

/* Creates or replaces the service and its whole backend set (n may be 0:
 * connections are then refused). The new Maglev table is written to the
 * service's inactive table and the service entry flipped with one map
 * update, so no lookup sees a half-written table; connections already
 * established keep their backend. svc->id is set on return. */
int dp_service_upsert(struct dp_node *dp, struct dp_service *svc,
		      const struct dp_backend *backends, size_t n, struct gerr *err);
/* Key fields of svc (vip, port, proto, scope) select the service. */
int dp_service_delete(struct dp_node *dp, const struct dp_service *svc, struct gerr *err);

struct dp_service_stats {
	uint64_t packets;             /* translations at the socket + packets */
	uint64_t bytes;
};
/* Services as programmed in the maps (not a cache): each with its distinct
 * backends from the active Maglev table and the number of table slots each
 * owns (slots[i], sum = dp_maglev_size()). */
typedef int (*dp_service_cb)(const struct dp_service *svc, const struct dp_backend *be,
			     const uint32_t *slots, size_t n,
			     const struct dp_service_stats *st, void *arg);
int dp_service_foreach(struct dp_node *dp, dp_service_cb cb, void *arg, struct gerr *err);
uint32_t dp_maglev_size(void);
/* Prometheus text for /metrics: gannet_service_packets_total,
 * gannet_service_bytes_total and gannet_service_backends per frontend
 * (labels vip, port, protocol, scope). *out is malloc'ed (free it). */
int dp_service_metrics(struct dp_node *dp, char **out, size_t *len, struct gerr *err);

/* Attaches the socket LB programs (connect4, sendmsg4, recvmsg4,
 * getpeername4) to a cgroup v2 directory as pinned links: every process in
 * it or below (the node's pods) gets ClusterIP translation at the socket.
 * One cgroup per node; attaching another one moves the links. */
int dp_sock_attach(struct dp_node *dp, const char *cgroup_path, struct gerr *err);
int dp_sock_detach(struct dp_node *dp, struct gerr *err);

/* ------------------------------------------------------------ policy
 * Added (docs/policy.md): NetworkPolicy enforcement. Identities and allow
 * entries come from the policy engine (policies/policy.h); the agent
 * programs them here. Egress is checked at the source pod's program
 * (after service translation, so against the backend), ingress where a
 * packet is delivered to a local pod (same-node redirect, VXLAN decap with
 * the source identity from the VNI, and traffic from the node's stack).
 * Both are stateful: a conntrack entry created by an allowed packet lets
 * the flow's later packets and its replies pass without lookups. */
#define DP_POL_INGRESS 0
#define DP_POL_EGRESS  1

/* Reserved identities (same numbers as policies/policy.h). */
#define DP_ID_ANY         0u   /* wildcard in entries only */
#define DP_ID_HOST        1u   /* this node */
#define DP_ID_WORLD       2u   /* no ipcache entry covers the address */
#define DP_ID_REMOTE_NODE 3u   /* another node's address */

struct dp_pol_entry {          /* same meaning as struct pol_entry */
	uint32_t identity;     /* DP_ID_ANY = every peer */
	uint8_t proto;         /* 0 = every protocol (then all ports) */
	uint16_t port_lo;      /* host order; 0 = every port */
	uint16_t port_hi;      /* == port_lo for one port */
};

/* Replaces the whole rule set of one local endpoint (by pod IP) in one
 * direction, atomically: a packet sees the old set or the new one, never
 * a mix. enforced false = unrestricted in that direction (n ignored);
 * enforced with n == 0 = deny all. May be called before the endpoint
 * exists (the agent programs a new pod's policy before its CNI ADD
 * returns, so no packet of it is ever unpoliced); the state is removed by
 * dp_policy_delete or dp_endpoint_delete. */
int dp_policy_set(struct dp_node *dp, uint32_t ep_ip, int dir, bool enforced,
		  const struct dp_pol_entry *e, size_t n, struct gerr *err);
/* Added: several endpoint-directions at once, each replaced atomically as
 * by dp_policy_set. The kernel waits for an RCU grace period after every
 * swap of a set (~10-20 ms, so that no packet still uses the old one when
 * the call returns); a batch waits once for all of them, so a change that
 * touches many endpoints should come here. On error some sets may be
 * applied and others not (each one whole). */
struct dp_pol_set {
	uint32_t ep_ip;
	int dir;
	bool enforced;
	const struct dp_pol_entry *e;
	size_t n;
};
int dp_policy_set_batch(struct dp_node *dp, const struct dp_pol_set *sets, size_t n,
			struct gerr *err);
int dp_policy_delete(struct dp_node *dp, uint32_t ep_ip, struct gerr *err);
/* As programmed in the maps: *e malloc'ed (free it), *n entries. */
int dp_policy_get(struct dp_node *dp, uint32_t ep_ip, int dir, bool *enforced,
		  struct dp_pol_entry **e, size_t *n, struct gerr *err);

/* ipcache identities: prefix -> identity (and, for pods on other nodes,
 * the node hosting them). node_ip 0 inside a remote node's pod CIDR keeps
 * routing to that node (the library fills it in), so a CIDR identity can
 * never break pod routing. */
int dp_ipcache_set(struct dp_node *dp, uint32_t prefix, uint8_t prefix_len,
		   uint32_t identity, uint32_t node_ip, struct gerr *err);
int dp_ipcache_delete(struct dp_node *dp, uint32_t prefix, uint8_t prefix_len,
		      struct gerr *err);
/* Added: every ipcache entry as programmed (identity entries and remote
 * node pod CIDRs alike; remote = written by dp_remote_upsert), e.g. for a
 * resync after an agent restart. */
struct dp_ipcache_entry {
	uint32_t prefix;              /* network order */
	uint8_t prefix_len;
	uint32_t identity;            /* 0 for remote node pod CIDRs */
	uint32_t node_ip;             /* 0 = not tunnelled */
	bool remote;
};
typedef int (*dp_ipcache_cb)(const struct dp_ipcache_entry *e, void *arg);
int dp_ipcache_foreach(struct dp_node *dp, dp_ipcache_cb cb, void *arg, struct gerr *err);

/* Verdict events: every policy drop becomes a dp_event (code = a policy
 * drop reason); with allow events on, every new flow allowed by policy
 * too. Off by default (cost: one ring-buffer record per new flow). */
int dp_policy_set_allow_events(struct dp_node *dp, bool on, struct gerr *err);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/* Types shared by the BPF programs and userspace (dataplane library, CLI,
 * tests): map keys/values, forward kinds and negative drop reasons with
 * their printable names. Only fixed-width kernel types so that both clang
 * -target bpf and gcc compile it identically. */
#ifndef GNT_BPF_COMMON_H
#define GNT_BPF_COMMON_H

#include <linux/types.h>

#define GNT_VXLAN_PORT_DEFAULT 8472
/* outer IPv4 (20) + UDP (8) + VXLAN (8) + inner Ethernet (14) */
#define GNT_VXLAN_OVERHEAD 50

/* Map sizes: defaults, overridable at build time (-DGNT_ENDPOINTS_MAX=...). */
#ifndef GNT_ENDPOINTS_MAX
#define GNT_ENDPOINTS_MAX 4096
#endif
#ifndef GNT_IPCACHE_MAX
#define GNT_IPCACHE_MAX 16384
#endif

/* Counter slots: forward kinds at [kind], drop reasons at
 * [GNT_STATS_DROP_BASE + -reason]. */
#define GNT_STATS_DROP_BASE 64
#define GNT_STATS_SLOTS 128

/* gnt_endpoints value: one local pod, keyed by its IPv4 (network order). */
struct gnt_endpoint {
	__u32 ifindex;          /* host-side veth */
	__u8 mac[6];            /* pod eth0 MAC */
	__u8 host_mac[6];       /* host-side veth MAC */
	__u32 identity;         /* security identity, carried in the VNI */
	__u32 flags;            /* GNT_EP_F_* */
};

/* The pod-side veth has NAPI (GRO or an XDP program), so XDP on the underlay
 * may XDP_REDIRECT straight into the host veth instead of passing to tc. */
#define GNT_EP_F_XDP_REDIRECT (1U << 0)
/* NetworkPolicy enforced in that direction (bpf/lib/policy.h): the pod's
 * allow set is in gnt_policy; if it is missing there the packet is dropped
 * (fail-closed). Mirrors gnt_policy presence, kept by dataplane/policy.c. */
#define GNT_EP_F_POL_INGRESS  (1U << 1)
#define GNT_EP_F_POL_EGRESS   (1U << 2)

/* gnt_ipcache: LPM trie prefix -> where it lives. Seed of the ipcache: today
 * remote node pod CIDRs; later also identities and CIDR identities. */
struct gnt_ipcache_key {
	__u32 prefixlen;        /* LPM trie header */
	__u32 ip;               /* network order */
};

struct gnt_ipcache_val {
	__u32 node_ip;          /* tunnel endpoint, 0 = not tunnelled */
	__u32 identity;         /* 0 = not known from here */
	__u32 flags;            /* GNT_IPC_F_* */
};

/* Entry written by dp_ipcache_set (an identity), not dp_remote_upsert (a
 * remote node's pod CIDR): dp_remote_foreach skips these. */
#define GNT_IPC_F_IDENTITY (1U << 0)

/* gnt_events record: one per dropped packet (ring buffer; when it is full
 * events are lost, never packets). Addresses/ports network order; for drops
 * of tunnelled frames on the underlay they are the outer ones. */
struct gnt_event {
	__u64 ts_ns;            /* bpf_ktime_get_ns() */
	__s32 code;             /* drop reason (negative) */
	__u32 ifindex;          /* device the program ran on */
	__u32 saddr;
	__u32 daddr;
	__u16 sport;
	__u16 dport;
	__u8 proto;             /* 0 = not IPv4 */
	__u8 hook;              /* GNT_HOOK_* */
	__u16 len;              /* frame length (truncated to 65535) */
	/* policy verdicts (0 elsewhere) */
	__u32 src_identity;
	__u32 dst_identity;
	__u8 pol_dir;           /* GNT_POL_DIR_* + 1; 0 = not a policy event */
	__u8 allowed;           /* 1: allow-verdict event (code 0) */
	__u16 pad;
};

#define GNT_HOOK_POD 1          /* tc ingress of a pod's host veth */
#define GNT_HOOK_UNDERLAY_TC 2
#define GNT_HOOK_UNDERLAY_XDP 3
#define GNT_HOOK_POD_EGRESS 4   /* tc egress of a pod's host veth (from the stack) */

#ifndef GNT_EVENTS_BYTES
#define GNT_EVENTS_BYTES (256 * 1024)
#endif

struct gnt_stat {
	__u64 packets;
	__u64 bytes;
};

/* Forward kinds (positive) and drop reasons (negative), as X-macros so that
 * userspace gets the names from the same list. */
#define GNT_FWD_LIST(X) \
	X(GNT_FWD_LOCAL,          1, "local-redirect")   /* pod -> pod same node */ \
	X(GNT_FWD_ENCAP,          2, "vxlan-encap")      /* pod -> remote node */ \
	X(GNT_FWD_STACK,          3, "to-stack")         /* pod -> host/outside */ \
	X(GNT_FWD_DECAP,          4, "vxlan-decap")      /* underlay -> pod */ \
	X(GNT_FWD_UNDERLAY_PASS,  5, "underlay-pass")    /* not ours, untouched */ \
	X(GNT_FWD_XDP_DECAP,      6, "xdp-decap-pass")   /* XDP decap, tc delivers */ \
	X(GNT_FWD_XDP_REDIRECT,   7, "xdp-decap-redirect") \
	X(GNT_FWD_UNDERLAY_TO_POD, 8, "underlay-to-pod") /* plain IP to a pod */ \
	X(GNT_FWD_NODEPORT,       9, "nodeport-dnat")     /* NodePort/LB (XDP or tc) */ \
	X(GNT_FWD_NODEPORT_REPLY, 10, "nodeport-reply")   /* back out the underlay */ \
	X(GNT_FWD_NODEPORT_REMOTE, 11, "nodeport-remote")  /* DNAT+SNAT+VXLAN to its node */ \
	X(GNT_FWD_NODEPORT_REMOTE_REPLY, 12, "nodeport-remote-reply") /* back to the client */ \
	X(GNT_FWD_NODEPORT_NEIGH, 13, "nodeport-via-tc-neigh") /* XDP-built, tc sends */

#define GNT_DROP_LIST(X) \
	X(GNT_DROP_TRUNCATED,      -1, "truncated") \
	X(GNT_DROP_BAD_IP,         -2, "bad-ipv4-header") \
	X(GNT_DROP_UNSUPPORTED_L3, -3, "unsupported-l3") \
	X(GNT_DROP_SPOOFED_SRC,    -4, "spoofed-source") \
	X(GNT_DROP_NO_ENDPOINT,    -5, "no-local-endpoint") \
	X(GNT_DROP_NO_ROUTE,       -6, "no-route-in-cluster") \
	X(GNT_DROP_ENCAP,          -7, "encap-failed") \
	X(GNT_DROP_DECAP,          -8, "decap-failed") \
	X(GNT_DROP_BAD_VXLAN,      -9, "bad-vxlan-header") \
	X(GNT_DROP_FRAG_NEEDED,   -10, "too-big-for-underlay") \
	X(GNT_DROP_NO_BACKEND,    -11, "service-without-backend") \
	X(GNT_DROP_NAT,           -12, "nat-rewrite-failed") \
	X(GNT_DROP_POLICY_INGRESS, -13, "policy-denied-ingress") \
	X(GNT_DROP_POLICY_EGRESS, -14, "policy-denied-egress") \
	X(GNT_DROP_POLICY_STATE,  -15, "policy-state-missing")  /* fail-closed */ \
	X(GNT_DROP_SNAT_PORTS,    -20, "nodeport-snat-ports-exhausted")

#define GNT_ENUM_ENTRY(name, val, str) name = (val),
enum gnt_fwd { GNT_FWD_LIST(GNT_ENUM_ENTRY) };
enum gnt_drop { GNT_DROP_LIST(GNT_ENUM_ENTRY) };
#undef GNT_ENUM_ENTRY


/* ------------------------------------------------------------ services */

/* Service load balancing (bpf/lib/lb.h, docs/services.md). A service
 * frontend (VIP, port, protocol) maps to a service id; each id owns two
 * Maglev tables of GNT_MAGLEV_M slots in gnt_maglev (double buffering:
 * userspace fills the inactive one, then flips gnt_svc_val.table with one
 * map update, so no packet ever sees a half-written table). */
#ifndef GNT_SERVICES_MAX
#define GNT_SERVICES_MAX 1024
#endif
#ifndef GNT_BACKENDS_MAX
#define GNT_BACKENDS_MAX 16384
#endif
#ifndef GNT_LB_LRU_MAX
#define GNT_LB_LRU_MAX 65536
#endif
/* Maglev table size: prime, much larger than any backend count (Katran's
 * default 65537 is for thousands of backends; 1021 keeps per-service
 * tables at 4 KiB and disruption close to the 1/N ideal for N <= ~100). */
#ifndef GNT_MAGLEV_M
#define GNT_MAGLEV_M 1021
#endif
/* gnt_maglev is mmapped by userspace, and array elements are 8-byte
 * aligned: each element holds two slots, and a table spans M + 1 slots
 * (M odd), i.e. (M + 1) / 2 elements; the last slot is padding. */
#define GNT_MAGLEV_STRIDE (GNT_MAGLEV_M + 1)

struct gnt_maglev_pair {
	__u32 be[2];            /* backend ids of slots 2k and 2k + 1 */
};

struct gnt_svc_key {
	__u32 vip;              /* network order */
	__u16 port;             /* network order */
	__u8 proto;             /* IPPROTO_TCP / IPPROTO_UDP */
	__u8 scope;             /* GNT_SVC_SCOPE_*: which hook may use it */
};

#define GNT_SVC_SCOPE_CLUSTER 0  /* ClusterIP: socket hooks + pod program */
#define GNT_SVC_SCOPE_EXTERNAL 1 /* NodePort/LoadBalancer/externalIPs */

struct gnt_svc_val {
	__u32 id;               /* index into counters and maglev tables */
	__u16 count;            /* backends; 0 = no ready backend */
	__u8 table;             /* active maglev table (0/1) */
	__u8 flags;             /* GNT_SVC_F_* */
	__u32 affinity_timeout; /* seconds, with GNT_SVC_F_AFFINITY */
};

#define GNT_SVC_F_AFFINITY   (1U << 0) /* sessionAffinity: ClientIP */
#define GNT_SVC_F_LOCAL_ONLY (1U << 1) /* externalTrafficPolicy: Local */

struct gnt_backend {
	__u32 ip;               /* network order */
	__u16 port;             /* network order */
	__u8 proto;
	__u8 flags;             /* GNT_BE_F_* */
	__u32 node_ip;          /* node hosting it (0 = unknown/local) */
};

#define GNT_BE_F_LOCAL (1U << 0) /* on this node */

/* Socket-level reverse NAT (recvmsg4/getpeername4): which VIP a socket
 * meant when it was connected to / sent to a backend. */
struct gnt_sock_revnat_key {
	__u64 cookie;           /* socket cookie */
	__u32 ip;               /* backend address */
	__u16 port;             /* backend port */
	__u16 pad;
};

struct gnt_sock_revnat_val {
	__u32 vip;
	__u16 vport;
	__u16 pad;
};

/* sessionAffinity ClientIP: (client, service) -> backend. At the socket
 * the client is the network namespace (one pod), in the packet path the
 * client IP. */
struct gnt_affinity_key {
	__u64 client;
	__u32 svc_id;
	__u32 pad;
};

/* Conntrack for the per-packet service path (pod program, underlay):
 * keyed by the packet's own 5-tuple, so one lookup serves both
 * directions. A new flow to a VIP creates two entries: the original
 * direction (client -> VIP: DNAT to the backend) and the reply direction
 * (backend -> client: source back to the VIP). LRU: no timers, idle flows
 * age out when the table is full. */
#ifndef GNT_CT_MAX
#define GNT_CT_MAX 131072
#endif

struct gnt_ct_key {
	__u32 saddr;
	__u32 daddr;
	__u16 sport;
	__u16 dport;
	__u8 proto;
	__u8 pad[3];
};

struct gnt_ct_val {
	__u32 nat_ip;           /* DNAT: backend; REVNAT: VIP */
	__u16 nat_port;
	__u8 flags;             /* GNT_CT_F_* */
	__u8 pad;
	__u32 svc_id;
	__u32 backend_id;
	/* NodePort/LB to a backend on another node (GNT_CT_F_SNAT): the
	 * DNAT entry's new source (this node's IP, allocated port) and the
	 * REVNAT entry's new destination (the client) */
	__u32 nat2_ip;
	__u16 nat2_port;
	__u16 pad2;
	__u32 tunnel_ip;        /* SNAT DNAT entry: the backend's node */
};

#define GNT_CT_F_DNAT   (1U << 0)
#define GNT_CT_F_REVNAT (1U << 1)
#define GNT_CT_F_SNAT   (1U << 2) /* external frontend, remote backend */

/* Source ports of NodePort/LB flows SNATed to this node's IP towards a
 * backend on another node: above the kernel's default ephemeral range
 * (32768-60999), so the reply of a flow can never be taken for the
 * reply of a connection the node itself opened to the same backend. */
#ifndef GNT_SNAT_PORT_MIN
#define GNT_SNAT_PORT_MIN 61000
#endif
#ifndef GNT_SNAT_PORT_MAX
#define GNT_SNAT_PORT_MAX 65535
#endif

struct gnt_affinity_val {
	__u64 last_ns;          /* bpf_ktime_get_ns() of last use */
	__u32 backend_id;
	__u32 pad;
};

/* ------------------------------------------------------------ policy */

/* NetworkPolicy (bpf/lib/policy.h, docs/policy.md "BPF enforcement").
 * gnt_policy (hash of maps) maps (endpoint IP, direction) to that
 * endpoint's allow set, an inner hash keyed by gnt_pol_key; dp_policy_set
 * builds a new inner map and swaps it in with one update. */
#define GNT_POL_DIR_INGRESS 0
#define GNT_POL_DIR_EGRESS  1

#define GNT_ID_ANY         0U
#define GNT_ID_HOST        1U
#define GNT_ID_WORLD       2U
#define GNT_ID_REMOTE_NODE 3U

#ifndef GNT_POLICY_EPS_MAX
#define GNT_POLICY_EPS_MAX (2 * GNT_ENDPOINTS_MAX)
#endif
#ifndef GNT_POL_CT_MAX
#define GNT_POL_CT_MAX 131072
#endif

struct gnt_pol_ep_key {
	__u32 ip;               /* endpoint IPv4, network order */
	__u32 dir;              /* GNT_POL_DIR_* */
};

/* Inner key. An entry allows (identity, proto, ports): port is the first
 * port of a prefix-aligned block of 2^(16 - plen) ports (host order,
 * masked); plen 16 = one port, plen 0 = every port; proto 0 = every
 * protocol (then plen 0). identity GNT_ID_ANY = every peer. The meta key
 * of an identity (proto GNT_POL_META, plen 0, port 0) says which plens and
 * whether proto 0 occur for it, so a lookup probes only those. */
struct gnt_pol_key {
	__u32 identity;
	__u8 proto;
	__u8 plen;
	__u16 port;
};

#define GNT_POL_META 0xff       /* proto value of an identity's meta key */
#define GNT_POL_META_ANYPROTO (1U << 17)   /* lens bit: a proto-0 entry */

struct gnt_pol_val {
	__u32 lens;             /* meta: bit p = an entry with plen p; */
				/* entries: 0 */
	__u16 port_lo;          /* entries: the dp_pol_entry range this */
	__u16 port_hi;          /* block came from (for dp_policy_get) */
};

/* Policy conntrack: a flow allowed at a check point (both directions
 * keyed, one lookup per packet) skips the policy lookups afterwards. */
struct gnt_pol_ct_val {
	__u32 flags;            /* GNT_POL_CT_F_* */
	__u32 seen;             /* bpf_ktime_get_ns() >> 30 (~1.07 s) of last use */
};

/* A TCP entry saw a FIN or RST: it lives GNT_POL_CT_CLOSING more units. */
#define GNT_POL_CT_F_CLOSING (1U << 0)
/* Idle lifetimes in ~1.07 s units, as Cilium's: TCP 6 h, closing TCP and
 * everything else 60 s (UDP has no handshake: a flow lives while it is
 * used). A TCP SYN never takes the shortcut, so a new connection reusing
 * an old one's 5-tuple is judged by the policy in force now. */
#define GNT_POL_CT_TCP      20117
#define GNT_POL_CT_CLOSING  10
#define GNT_POL_CT_OTHER    56

/* gnt_pol_config[0] */
struct gnt_pol_config {
	__u32 flags;            /* GNT_POL_CFG_* */
};

#define GNT_POL_CFG_ALLOW_EVENTS (1U << 0)

#endif

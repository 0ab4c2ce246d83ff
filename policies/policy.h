/* SPDX-License-Identifier: Apache-2.0 */
/* NetworkPolicy engine: a pure library (no kernel, no I/O) that turns
 * namespaces, pods and networking.k8s.io/v1 NetworkPolicies into
 *   - security identities, one per distinct (namespace labels, pod labels)
 *     set, plus CIDR identities for ipBlock prefixes;
 *   - ipcache entries (pod IP/32 or CIDR -> identity);
 *   - per endpoint and direction: an "enforced" flag and allow entries
 *     {peer identity or any, protocol or any, port range or any}.
 * It is incremental: each mutation recomputes only the endpoints it can
 * affect and records what changed (endpoints, identities, ipcache) for the
 * agent to program. Semantics, identity ranges and the proposed BPF map
 * encoding are in docs/policy.md. Thread-compatible: the caller locks. */
#ifndef GANNET_POLICIES_POLICY_H
#define GANNET_POLICIES_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/log.h"

/* Identities (24 bits: they travel in the VXLAN VNI). */
#define POL_ID_ANY         0U         /* wildcard in allow entries only */
#define POL_ID_HOST        1U         /* the local node (kubelet probes...) */
#define POL_ID_WORLD       2U         /* an address no ipcache entry covers */
#define POL_ID_REMOTE_NODE 3U         /* other nodes' addresses (agent's) */
#define POL_ID_POD_MIN     256U       /* label-set identities */
#define POL_ID_POD_MAX     0x7fffffU
#define POL_ID_CIDR_MIN    0x800000U  /* ipBlock prefix identities */
#define POL_ID_CIDR_MAX    0xffffffU

enum pol_dir { POL_INGRESS = 0, POL_EGRESS = 1 };

#define POL_PROTO_ANY  0
#define POL_PROTO_TCP  6
#define POL_PROTO_UDP  17
#define POL_PROTO_SCTP 132

/* One allow entry. port_lo == 0 means every port (then port_hi == 0). */
struct pol_entry {
	uint32_t identity;      /* POL_ID_ANY = any peer */
	uint8_t proto;          /* POL_PROTO_* ; ANY only with port_lo == 0 */
	uint16_t port_lo;
	uint16_t port_hi;
};

/* An endpoint's rules in one direction. enforced == false: unrestricted
 * (no policy of that type selects the pod); entries are then empty. When
 * enforced, everything not matched by an entry is denied. Sorted by
 * (identity, proto, port_lo, port_hi), no duplicates. */
struct pol_rules {
	bool enforced;
	size_t n;
	struct pol_entry *entries;
};

/* A named container port of a pod (spec.containers[].ports[]). */
struct pol_named_port {
	const char *name;
	uint8_t proto;
	uint16_t port;
};

/* What changed since the last pol_changes_take(). Apply in this order:
 * ids_released, ids_created, ipcache, endpoints. An identity released and
 * re-allocated within one batch appears in both lists. */
struct pol_ipcache_change {
	uint32_t ip;            /* host order */
	uint8_t prefixlen;
	uint32_t identity;      /* 0 = entry deleted */
};

struct pol_ep_change {
	char *ns;
	char *name;
	bool removed;           /* pod deleted: drop its maps */
};

struct pol_changes {
	struct pol_ep_change *endpoints;
	size_t n_endpoints;
	uint32_t *ids_created;
	size_t n_ids_created;
	uint32_t *ids_released;
	size_t n_ids_released;
	struct pol_ipcache_change *ipcache;
	size_t n_ipcache;
};

struct pol_stats {
	uint64_t recomputed;     /* full endpoint-direction computations, cumulative */
	uint64_t refreshed;      /* endpoint-direction single-identity refreshes */
	size_t pods, identities, cidr_identities, policies;
};

struct pol_engine;

struct pol_engine *pol_engine_new(void);
void pol_engine_free(struct pol_engine *e);

/* Batching: between pol_begin() and pol_commit() mutations only mark
 * endpoints dirty; pol_commit() recomputes them once. Outside a batch each
 * mutation commits by itself. */
void pol_begin(struct pol_engine *e);
void pol_commit(struct pol_engine *e);
/* Marks every endpoint dirty and recomputes (the non-incremental baseline). */
void pol_recompute_all(struct pol_engine *e);

/* labels: JSON object of strings (NULL = none). The label
 * kubernetes.io/metadata.name=<name> is always set, as Kubernetes does. */
int pol_upsert_namespace(struct pol_engine *e, const char *name, const json_t *labels,
			 struct gerr *err);
int pol_delete_namespace(struct pol_engine *e, const char *name);

/* ip: dotted IPv4 or NULL/"" while the pod has none (then it has no ipcache
 * entry but is still selected by policies). ports may be NULL. */
int pol_upsert_pod(struct pol_engine *e, const char *ns, const char *name,
		   const json_t *labels, const char *ip,
		   const struct pol_named_port *ports, size_t n_ports, struct gerr *err);
/* Same from a core/v1 Pod object (metadata, status.podIP, container ports). */
int pol_upsert_pod_json(struct pol_engine *e, const json_t *pod, struct gerr *err);
int pol_delete_pod(struct pol_engine *e, const char *ns, const char *name);

/* np: a NetworkPolicy object. Validated first (pol_validate): on error
 * returns -EINVAL with a field-path message and the engine is unchanged.
 * metadata.namespace defaults to "default". */
int pol_upsert_policy(struct pol_engine *e, const json_t *np, struct gerr *err);
int pol_delete_policy(struct pol_engine *e, const char *ns, const char *name);

/* Kubernetes-style validation, usable by the API server:
 * "spec.ingress[0].from[1].ipBlock.cidr: Invalid value: \"x\": ...". */
int pol_validate(const json_t *np, struct gerr *err);

/* Hands over (and clears) the accumulated changes; free with
 * pol_changes_free(). */
void pol_changes_take(struct pol_engine *e, struct pol_changes *out);
void pol_changes_free(struct pol_changes *c);

/* The computed rules; NULL if the pod is unknown. Owned by the engine,
 * valid until the next mutation. */
const struct pol_rules *pol_endpoint_rules(struct pol_engine *e, const char *ns,
					   const char *name, enum pol_dir dir);
/* Identity of a pod (0 if unknown) and the identity the ipcache gives an
 * IPv4 address (pod, CIDR identity by longest prefix, else WORLD). */
uint32_t pol_pod_identity(struct pol_engine *e, const char *ns, const char *name);
uint32_t pol_ip_identity(struct pol_engine *e, const char *ip);
/* Describes an identity ("ns=..., app=web", "cidr 10.0.0.0/8", "host") into
 * buf; returns buf. */
const char *pol_identity_str(struct pol_engine *e, uint32_t id, char *buf, size_t len);
/* The whole ipcache (pods and CIDRs), for an agent's full resync; free(). */
int pol_ipcache_dump(struct pol_engine *e, struct pol_ipcache_change **out, size_t *n);

/* Does rules allow (identity, proto, port)? The reference semantics for the
 * datapath: unenforced -> true. */
bool pol_rules_allow(const struct pol_rules *r, uint32_t identity, uint8_t proto, uint16_t port);

/* Splits [lo, hi] into prefix-aligned blocks: value/len where len is the
 * number of fixed leading bits of the 16-bit port (16 = one port). Returns
 * the number of blocks (at most 30), writing up to max. */
struct pol_port_block {
	uint16_t port;
	uint8_t prefixlen;
};
int pol_port_blocks(uint16_t lo, uint16_t hi, struct pol_port_block *out, int max);

/* The proposed BPF encoding (docs/policy.md): per endpoint and direction an
 * LPM trie keyed by identity (32 bits) | proto (8) | port (16), all network
 * order, so that ranges become prefix blocks. packed: 11 bytes, the BPF
 * side declares the same layout. */
struct pol_lpm_key {
	uint32_t prefixlen;     /* 40 (all ports) .. 56 (one port) */
	uint32_t identity_be;
	uint8_t proto;          /* 0 = any protocol (then prefixlen 40) */
	uint8_t port_be[2];
} __attribute__((packed));

/* Expands rules into LPM keys (deduplicated). Returns the number of keys
 * (writing at most max), or -EINVAL for a malformed entry. */
int pol_rules_lpm_keys(const struct pol_rules *r, struct pol_lpm_key *out, size_t max);
/* Reference for the datapath: the four LPM lookups (identity, proto),
 * (identity, any), (any, proto), (any, any) over keys. */
bool pol_lpm_allow(const struct pol_lpm_key *keys, size_t n, uint32_t identity,
		   uint8_t proto, uint16_t port);

/* gannetctl policy trace. from/to: "ns/pod", a dotted IPv4, or "host".
 * Checks the source's egress rules and the destination's ingress rules with
 * the policy semantics (not the compiled entries) so that it can name the
 * policies and rules involved; explain gets one line per step. */
struct pol_trace_result {
	bool allowed;
	bool egress_enforced, egress_allowed;
	bool ingress_enforced, ingress_allowed;
	uint32_t src_identity, dst_identity;
	char explain[4096];
};
int pol_trace(struct pol_engine *e, const char *from, const char *to, uint8_t proto,
	      uint16_t port, struct pol_trace_result *res, struct gerr *err);

/* "TCP"/"UDP"/"SCTP" <-> POL_PROTO_*; -1 / "?" when unknown. */
int pol_proto_parse(const char *s);
const char *pol_proto_name(uint8_t proto);

void pol_get_stats(struct pol_engine *e, struct pol_stats *st);

#endif

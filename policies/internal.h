/* SPDX-License-Identifier: Apache-2.0 */
/* Internal types of the NetworkPolicy engine: a NetworkPolicy parsed and
 * validated into selectors, prefixes and port specs (parse.c), consumed by
 * the engine (engine.c). Not part of the public API. */
#ifndef GANNET_POLICIES_INTERNAL_H
#define GANNET_POLICIES_INTERNAL_H

#include "common/selectors.h"
#include "policies/policy.h"

struct pol_prefix {
	uint32_t ip;            /* host order, host bits cleared */
	uint8_t plen;
};

enum { PEER_POD = 1, PEER_NS = 2, PEER_BLOCK = 4 };

struct pol_peer {
	int kind;               /* PEER_* bits; BLOCK is exclusive */
	struct selector pod_sel;
	struct selector ns_sel;
	struct pol_prefix block;
	struct pol_prefix *except;
	size_t n_except;
};

/* port == 0 and !name: every port of proto. */
struct pol_port {
	uint8_t proto;
	uint16_t port, end;     /* end == port unless endPort */
	char *name;             /* named port (then port == 0) */
};

struct pol_rule {
	struct pol_peer *peers; /* none: every peer */
	size_t n_peers;
	struct pol_port *ports; /* none: every port and protocol */
	size_t n_ports;
};

struct pol_policy {
	char *ns, *name;
	struct selector pod_sel;
	bool types[2];          /* indexed by enum pol_dir */
	struct pol_rule *rules[2];
	size_t n_rules[2];
	bool named_egress;      /* has an egress named port */
	bool has_blocks;
};

/* Parses and validates; on error fills err with a field path and returns
 * -EINVAL (out is then empty). */
int pol_parse(const json_t *np, struct pol_policy *out, struct gerr *err);
void pol_policy_free(struct pol_policy *p);

static inline uint32_t pol_mask(uint8_t plen)
{
	return plen ? ~0U << (32 - plen) : 0;
}

/* inner within outer (equal counts) */
static inline bool pol_prefix_within(const struct pol_prefix *inner,
				     const struct pol_prefix *outer)
{
	return inner->plen >= outer->plen &&
	       (inner->ip & pol_mask(outer->plen)) == outer->ip;
}

int pol_parse_cidr(const char *s, struct pol_prefix *out);

#endif

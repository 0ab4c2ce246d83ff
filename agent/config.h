/* SPDX-License-Identifier: Apache-2.0 */
/* gannet-agent configuration: the YAML file given with --config (see
 * docs/agent.md). Parsing is pure (libyaml, no side effects) so that an
 * invalid file changes nothing and unit tests need no root. */
#ifndef GANNET_AGENT_CONFIG_H
#define GANNET_AGENT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/log.h"
#include "dataplane/dataplane.h"

#define AGENTCFG_MAX_PEERS 256

struct agentcfg_peer {
	char name[64];
	uint32_t node_ip;               /* network order */
	uint32_t pod_cidr;              /* network order */
	uint8_t pod_prefix;
};

struct agentcfg {
	char node_name[64];
	uint32_t node_ip;
	char underlay_ifname[16];
	uint32_t pod_cidr;
	uint8_t pod_prefix;
	uint32_t cluster_cidr;
	uint8_t cluster_prefix;
	unsigned mtu;                   /* 0 = underlay MTU - 50 */
	char state_dir[256];
	char socket_path[108];          /* sun_path size */
	char pin_root[256];
	char metrics_addr[64];          /* "ip:port", "" = disabled */
	enum dp_underlay_mode underlay_mode;
	/* API mode (kubelet): set when the agent registers with an API server */
	char kubeconfig[256];           /* "" = config-file mode */
	unsigned lease_sec;             /* Lease renew period, default 10 */
	unsigned sync_ms;               /* pod worker resync period, default 1000 */
	char netns_prefix[48];          /* pod netns names, default "gannet-<node>-" */
	char cni_bin[256];
	char cgroup_parent[128];
	unsigned kubelet_port;          /* HTTPS logs/exec, default 10250 */
	char agent_endpoint[128];       /* URL the API server proxies logs/exec to
					 * ("" = http://nodeIP:<metrics port>) */        /* containers' cgroup parent, default gannet/<node> */              /* gannet-cni path, default next to the agent */
	bool policy_allow_events;       /* policyAllowEvents: allow verdicts as flows too */
	size_t n_peers;
	struct agentcfg_peer peers[AGENTCFG_MAX_PEERS];
};

/* Parses YAML text; on error names the offending field. */
int agentcfg_parse(const char *text, size_t len, struct agentcfg *out, struct gerr *err);
int agentcfg_load(const char *path, struct agentcfg *out, struct gerr *err);

/* "a.b.c.d/n" -> network-order address + prefix; rejects host bits. */
int agentcfg_parse_cidr(const char *s, uint32_t *net, uint8_t *prefix);

#endif

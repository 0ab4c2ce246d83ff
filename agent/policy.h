/* SPDX-License-Identifier: Apache-2.0 */
/* gannet-agent, API mode: NetworkPolicy on the node (policy.c). Runs the
 * policies/ engine over informers for Pods, Namespaces, NetworkPolicies and
 * Nodes and programs what it computes into the BPF maps through the
 * dataplane's policy contract: ipcache identities (every pod of the
 * cluster, ipBlock CIDRs, node addresses), local endpoint identities and
 * per-endpoint allow sets. A new pod's policy is programmed from the CNI
 * ADD path before the endpoint exists. Also turns the datapath's verdict
 * events into flows (ring buffer, GET /flows on the agent's HTTPS server)
 * and renders gannet_policy_* metrics. See docs/policy.md "Agent". */
#ifndef GANNET_AGENT_POLICY_H
#define GANNET_AGENT_POLICY_H

#include <microhttpd.h>
#include <stdint.h>

#include "common/log.h"

struct agent;

/* Component start/stop: no-op unless the config names a kubeconfig. */
int policy_start(struct agent *a, struct gerr *err);
void policy_stop(struct agent *a);

/* CNI ADD of pod ns/name with address ip (network order), before its
 * endpoint is added: upserts the pod into the engine with that address and
 * programs its ipcache entry and both directions of its policy. *identity
 * gets the pod's identity for the endpoint (0 when policy is off). Fails
 * (-EAGAIN while the engine has not synced yet, -ENOENT for a pod the API
 * does not know) so that no pod ever runs unpoliced. 0 and no effect when
 * policy is not running or ns/name are NULL. */
int policy_cni_add(struct agent *a, const char *ns, const char *name, uint32_t ip,
		   uint32_t *identity, struct gerr *err);
/* After the endpoint exists: re-applies the pod's current identity (a
 * label change may have raced the ADD). */
void policy_cni_added(struct agent *a, const char *ns, const char *name, uint32_t ip);
/* Rollback of a failed ADD after policy_cni_add: forgets the address. */
void policy_cni_forget(struct agent *a, const char *ns, const char *name, uint32_t ip);

/* GET /flows[?follow=true&verdict=dropped|allowed&pod=ns/name&since=..]:
 * JSON lines (docs/policy.md). Returns an MHD result, or -1 when url is
 * not /flows. The caller has authorized the client. */
int policy_http(struct agent *a, struct MHD_Connection *c, const char *url, const char *method);

/* Prometheus text: gannet_policy_* gauges and the apply-latency histogram;
 * malloc'd ("" when policy is not running), NULL on OOM. */
char *policy_metrics_text(struct agent *a);

#endif

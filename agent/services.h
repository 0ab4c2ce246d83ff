/* SPDX-License-Identifier: Apache-2.0 */
/* gannet-agent, API mode: Services and Endpoints on the node (services.c)
 * programmed into the BPF service maps, the socket LB attached to the
 * node's pod cgroup, and cluster DNS (dnssync.c: dnsmasq in the node netns
 * fed from the same Services/Endpoints, pods' resolv.conf). See
 * docs/services.md "Services on the node". */
#ifndef GANNET_AGENT_SERVICES_H
#define GANNET_AGENT_SERVICES_H

#include <jansson.h>
#include <stdint.h>

#include "common/log.h"
#include "dataplane/dataplane.h"

struct agent;

/* Component start/stop: no-op unless the config names a kubeconfig. */
int services_start(struct agent *a, struct gerr *err);
void services_stop(struct agent *a);
/* Prometheus text for the per-service counters as programmed in the maps
 * (gannet_service_packets_total{namespace,name,port,frontend} ...);
 * malloc'd, "" when services are not running, NULL on OOM. */
char *services_metrics_text(struct agent *a);

/* ---- desired state (svcmodel.c, pure) ---- */

#define SVC_MAX_BACKENDS 1000    /* per frontend, below the Maglev table size */

struct svc_model_in {
	const json_t *services;        /* "<ns>/<name>" -> Service */
	const json_t *endpoints;       /* "<ns>/<name>" -> Endpoints */
	const json_t *nodes;           /* "<name>" -> Node (ctrl_key of a cluster-scoped object) */
	const char *node_name;         /* this node: backends here are local */
	uint32_t node_ip;              /* NodePort frontends' address */
};

/* Objects keyed by frontend key svc_fe_key() "<ip>:<port>/<TCP|UDP>/<cluster|external>" */
struct svc_desired {
	json_t *fe;                    /* key -> fingerprint string */
	json_t *svc;                   /* key -> [vip, port, proto, scope, flags, timeout] */
	json_t *be;                    /* key -> [[ip, port, node_ip, local], ...] sorted */
	json_t *labels;                /* key -> [namespace, name, port name or number] */
};

/* Frontends of every Service: clusterIP:port (headless: none), and for
 * NodePort/LoadBalancer nodeIP:nodePort, externalIPs, LB ingress IPs.
 * Backends = Endpoints addresses (never notReadyAddresses) of the port
 * with the Service port's name. 0 or -ENOMEM. */
int svc_desired_build(const struct svc_model_in *in, struct svc_desired *d);
void svc_desired_free(struct svc_desired *d);
void svc_fe_key(const struct dp_service *s, char *buf, size_t len);

/* ---- cluster DNS (dnssync.c) ---- */

#define DNSSYNC_CLUSTER_DNS "10.96.0.10"

/* Adds the cluster DNS address to the node's lo and adopts/prepares the
 * node's dnsmasq (<stateDir>/dns). A missing dnsmasq is a warning: the
 * services keep working without names. */
int dnssync_init(struct agent *a, struct gerr *err);
/* Renders Services/Endpoints (borrowed JSON arrays) and installs them into
 * dnsmasq; cheap when nothing changed. Called by the services sync thread
 * only. */
int dnssync_apply(json_t *services, json_t *endpoints, struct gerr *err);
/* The pod's /etc files (hosts, hostname, resolv.conf following dnsPolicy:
 * ClusterFirst -> nameserver 10.96.0.10, search <ns>.svc.cluster.local ...)
 * under <pod_dir>/etc. Same contract as rt_vol_pod_etc(). */
int dnssync_pod_etc(const json_t *pod, const char *pod_dir, const char *hostname,
		    const char *pod_ip, struct gerr *err);

#endif

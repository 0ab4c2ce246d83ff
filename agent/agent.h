/* SPDX-License-Identifier: Apache-2.0 */
/* gannet-agent internals: the daemon state shared by its components
 * (dataplane, pods/CNI host, CNI socket server, metrics, peers). Each
 * component has init/start/stop so later ones (API watch, runc pods,
 * services, policy) slot in beside them. */
#ifndef GANNET_AGENT_AGENT_H
#define GANNET_AGENT_AGENT_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "agent/cni/cni.h"
#include "agent/config.h"
#include "agent/ipam.h"
#include "dataplane/dataplane.h"

struct cnisrv;
struct kubelet;
struct ktls;
struct metrics;

struct agent {
	struct agentcfg cfg;
	const char *cfg_path;
	struct dp_node *dp;
	pthread_mutex_t dp_lock;        /* serialises dp_* calls */
	struct ipam_store ipam;
	pthread_mutex_t pods_lock;      /* serialises ADD/DEL/CHECK/GC/reconcile */
	unsigned pod_mtu;
	atomic_bool ready;
	struct cnisrv *srv;
	struct metrics *metrics;
	struct kubelet *kl;
	struct ktls *ktls;              /* HTTPS logs/exec (kubelet_tls.c) */             /* API mode (kubelet.c), else NULL */
	/* CNI request counters for /metrics, indexed by enum cni_cmd */
	atomic_ulong cni_ok[6], cni_fail[6];
};

/* ---- pods: the CNI host (pods.c) -------------------------------------- */

/* Request fields come straight from the plugin (see docs/cni.md). Each
 * returns 0 and fills *result (ADD only), or -1 with *e set. */
int pods_add(struct agent *a, const json_t *req, int netns_fd, json_t **result,
	     struct cni_err *e);
int pods_del(struct agent *a, const json_t *req, int netns_fd, struct cni_err *e);
int pods_check(struct agent *a, const json_t *req, int netns_fd, struct cni_err *e);
int pods_gc(struct agent *a, const json_t *req, struct cni_err *e);
int pods_status(struct agent *a, struct cni_err *e);
/* Start-up: make the endpoint map agree with IPAM state and the veths. */
int pods_reconcile(struct agent *a, struct gerr *err);

/* ---- peers (remote nodes) ------------------------------------------------ */

/* Programs cfg's peers and removes remote entries not in it. */
int peers_sync(struct agent *a, const struct agentcfg *cfg, struct gerr *err);

/* ---- CNI socket server (cnisrv.c) --------------------------------------- */

int cnisrv_start(struct agent *a, struct gerr *err);
void cnisrv_stop(struct agent *a);

/* ---- /metrics and /healthz (metrics.c) ----------------------------------- */

int metrics_start(struct agent *a, struct gerr *err);
void metrics_stop(struct agent *a);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/* Internal interface of the controllers: the controller descriptor (one
 * file per controller registers its informers and a sync function), the
 * write helper that records the revisions a sync produced, and the pure
 * decision functions each controller is built around (no I/O: they take
 * cached objects and return the actions to take, so the unit tests drive
 * them without a server). */
#ifndef GANNET_CONTROLLERS_CTRL_H
#define GANNET_CONTROLLERS_CTRL_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "apiserver/controllers/controllers.h"
#include "common/selectors.h"
#include "common/informer.h"

struct ctrl;

struct ctrl_desc {
	const char *name;
	/* Asks for informers and registers handlers that enqueue keys. */
	int (*setup)(struct ctrl *c, struct gerr *err);
	/* Runs once, after the informers synced, before the first sync. */
	void (*start)(struct ctrl *c);
	/* Reconciles one key. A negative return requeues the key with
	 * backoff; a sync may also requeue itself later (wq_add_after). */
	int (*sync)(struct ctrl *c, struct apiclient *api, const char *key, struct gerr *err);
	void (*cleanup)(struct ctrl *c);
};

struct ctrl {
	const struct ctrl_desc *d;
	struct informers *inf;
	const struct ctrl_options *o;
	struct workqueue *q;
	volatile int *stop;
	void *priv;
	/* Highest resourceVersion written per kind during the current sync:
	 * the worker waits for the informers to see it before the next sync,
	 * so that decisions never rest on a cache older than our own writes
	 * (what Kubernetes' "expectations" achieve). */
	int64_t wrote_rv[CK_COUNT];
};

extern const struct ctrl_desc ctrl_replicaset_desc, ctrl_deployment_desc,
	ctrl_daemonset_desc, ctrl_nodeipam_desc, ctrl_nodelifecycle_desc,
	ctrl_namespace_desc, ctrl_gc_desc, ctrl_endpoints_desc;

/* Enqueue obj's "ns/name". */
void ctrl_enqueue(struct ctrl *c, const json_t *obj);
/* Enqueue the key of obj's controller owner when it is of kind owner_kind. */
void ctrl_enqueue_owner(struct ctrl *c, const json_t *obj, const char *owner_kind);
/* Enqueue every object of kind k in obj's namespace whose spec.selector
 * matches obj's labels (the candidates that may adopt an orphan obj). */
void ctrl_enqueue_selecting(struct ctrl *c, enum ctrl_kind_id k, const json_t *obj);

/* An API write on kind k (method POST/PUT/DELETE/PATCH; patch_type
 * "merge"/"json"/"strategic" for PATCH) recorded in c->wrote_rv. */
int ctrl_write(struct ctrl *c, struct apiclient *api, enum ctrl_kind_id k,
	       const char *method, const char *ns, const char *name, const char *sub,
	       const json_t *body, const char *patch_type, json_t **out, struct gerr *err);

/* Sets (owner != NULL) or removes obj's controller ownerReference with a
 * merge patch guarded by obj's resourceVersion (adopt / release). */
int ctrl_set_controller(struct ctrl *c, struct apiclient *api, enum ctrl_kind_id k,
			const json_t *obj, const json_t *owner, struct gerr *err);

/* ---- shared pure helpers --------------------------------------------------- */

/* Every key of part equals the same key of whole (status writes are skipped
 * when nothing changed, so that they do not trigger endless re-syncs). */
bool ctrl_json_subset(const json_t *part, const json_t *whole);

/* intstr: an integer or "N%" of total; percentages round up or down.
 * -EINVAL for anything else. */
int ctrl_int_or_percent(const json_t *v, int total, bool round_up, int *out);
/* ownerReference pointing at owner (controller, blockOwnerDeletion). */
json_t *ctrl_owner_ref(const json_t *owner);
/* Whether obj's controller reference names owner (by uid). */
bool ctrl_is_controlled_by(const json_t *obj, const json_t *owner);

/* Claim (Kubernetes ControllerRefManager): among objs (same namespace),
 * fills owned (controlled by owner and matching selector, or orphans that
 * match and get adopted), adopt (the orphans among owned) and release
 * (controlled by owner but no longer matching). Objects being deleted are
 * never adopted. Arrays hold references to the objects. Returns false when
 * the selector is empty or invalid: the caller must then create nothing,
 * or it would create pods forever without ever owning one. */
bool ctrl_claim(const json_t *owner, const json_t *selector, const json_t *objs,
		json_t *owned, json_t *adopt, json_t *release);

/* ---- ReplicaSet ------------------------------------------------------------- */

struct rs_plan {
	int create;          /* pods to create */
	json_t *del;         /* pods to delete, in deletion order */
	json_t *adopt;       /* orphans to adopt */
	json_t *release;     /* owned pods no longer matching */
	json_t *status;      /* the ReplicaSet's new status */
};
/* now: wall-clock seconds (availability with minReadySeconds). */
int rs_compute(const json_t *rs, const json_t *pods, time_t now, struct rs_plan *p);
void rs_plan_free(struct rs_plan *p);
/* Deletion order: < 0 when a should go before b (unscheduled, pending,
 * not ready, more restarts, newer first) as Kubernetes' ActivePods. */
int rs_pod_delete_cmp(const json_t *a, const json_t *b);
/* A new pod from rs's template (generateName, labels, ownerReference). */
json_t *rs_new_pod(const json_t *rs);
/* Ready for at least min_ready seconds. */
bool ctrl_pod_available(const json_t *pod, int min_ready, time_t now);

/* ---- Deployment -------------------------------------------------------------- */

#define DEP_REVISION_ANN   "deployment.kubernetes.io/revision"
#define DEP_DESIRED_ANN    "deployment.kubernetes.io/desired-replicas"
#define DEP_MAX_ANN        "deployment.kubernetes.io/max-replicas"
#define DEP_HASH_LABEL     "pod-template-hash"

/* Pod-template hash as Kubernetes renders it (FNV-32a, safe alphabet) of
 * the template without its pod-template-hash label, plus collisionCount. */
void dep_template_hash(const json_t *tmpl, long long collision, char *out, size_t len);
/* Templates equal ignoring the pod-template-hash label. */
bool dep_templates_equal(const json_t *a, const json_t *b);
/* maxSurge rounds up, maxUnavailable down; both 0 gives unavailable 1. */
int dep_fenceposts(const json_t *d, int *max_surge, int *max_unavailable);

/* One step of the Deployment controller. rss: the ReplicaSets of the
 * namespace; pods: its pods (Recreate waits for old pods). Returns an array
 * of actions:
 *   {"op":"adopt"|"release"|"delete", "name":rs}
 *   {"op":"create", "object":rs}
 *   {"op":"scale", "name":rs, "replicas":n, "annotations":{...}}
 *   {"op":"annotate", "annotations":{...}}   (the Deployment itself)
 *   {"op":"status", "status":{...}}          (the Deployment's status) */
json_t *dep_plan(const json_t *d, const json_t *rss, const json_t *pods);

/* ---- DaemonSet --------------------------------------------------------------- */

/* Whether a DaemonSet pod for tmpl's spec should run on node (nodeSelector,
 * taints not tolerated, with the tolerations DaemonSets always get). running:
 * a pod is already there (then only NoExecute taints evict it). */
bool ds_node_eligible(const json_t *tmpl_spec, const json_t *node, bool running);
/* Actions: {"op":"create","node":n,"object":pod}, {"op":"delete","name":p},
 * {"op":"status","status":{...}}, adopt/release as for Deployments. */
json_t *ds_plan(const json_t *ds, const json_t *nodes, const json_t *pods, time_t now);

/* ---- node IPAM ----------------------------------------------------------------- */

/* Lowest free /mask subnet of cluster_cidr not used by any node's
 * spec.podCIDR(s). -ENOSPC when full, -EINVAL on a bad CIDR. */
int ipam_next_cidr(const char *cluster_cidr, int mask, const json_t *nodes,
		   char *out, size_t len, struct gerr *err);

/* ---- node lifecycle ------------------------------------------------------------- */

#define NL_TAINT_UNREACHABLE "node.kubernetes.io/unreachable"

/* Time (ms from now) before pod must be evicted from a node unreachable
 * since unreachable_ms: the pod's toleration of the unreachable NoExecute
 * taint (tolerationSeconds, or forever) or default_ms. <= 0 = evict now,
 * INT64_MAX = never. */
int64_t nl_evict_in_ms(const json_t *pod, int64_t unreachable_ms, int64_t now_ms,
		       long default_ms);
/* True when a lease last seen changing at seen_ms is too old. */
bool nl_lease_expired(int64_t seen_ms, int64_t now_ms, long grace_ms);

/* ---- garbage collector ------------------------------------------------------------- */

enum gc_verdict { GC_KEEP, GC_DELETE, GC_DROP_REFS };
/* owner_alive[i]: whether ownerReferences[i] of obj still exists (same
 * uid). All owners gone → delete; some → drop the dangling references. */
enum gc_verdict gc_decide(const json_t *obj, const bool *owner_alive, size_t n);

/* ---- Endpoints ------------------------------------------------------------------- */

/* A Service's map selector matches labels (an empty selector matches
 * nothing: such Services keep hand-written Endpoints). */
bool ep_selector_matches(const json_t *selector, const json_t *labels);
/* targetPort (number, or a container port name looked up in pod for
 * protocol) as a number; 0 if the pod has no such port. */
int ep_resolve_port(const json_t *pod, const json_t *target_port, const char *protocol);
/* The subsets for svc over the namespace's pods: ready → addresses, not
 * Ready or terminating → notReadyAddresses, one subset per distinct
 * resolved port set, everything sorted (stable output). */
json_t *ep_compute_subsets(const json_t *svc, const json_t *pods);
/* The whole Endpoints object svc should have. */
json_t *ep_desired(const json_t *svc, const json_t *pods);
/* cur already says what want says (subsets and labels). */
bool ep_up_to_date(const json_t *cur, const json_t *want);

#endif

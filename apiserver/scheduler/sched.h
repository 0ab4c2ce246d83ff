/* SPDX-License-Identifier: Apache-2.0 */
/* The scheduler's pure core: Node and Pod objects parsed into compact
 * structs, filters (ready, schedulable, taints/tolerations, nodeSelector and
 * node affinity, resources, pod anti-affinity by hostname) and scores
 * (spread, least allocated, preferred affinity, PreferNoSchedule taints) as
 * pure functions, and an in-memory cluster state (nodes + the pods assigned
 * to each, with their requests) updated incrementally from watch events,
 * so that one decision (sched_pick) costs O(nodes). No I/O, no globals, no
 * locking: the scheduling loop (loop.c) serializes access. */
#ifndef GANNET_APISERVER_SCHED_H
#define GANNET_APISERVER_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/selectors.h"
#include "common/kubeconfig.h"
#include "common/log.h"

/* ---- quantities -------------------------------------------------------- */

/* Kubernetes resource.Quantity ("100m", "1", "1.5", "128Mi", "1G", "1e3")
 * from a JSON string or number. milli=true gives thousandths (CPU),
 * otherwise whole units rounded up (memory, pods). -EINVAL on syntax,
 * -ERANGE on overflow. */
int sched_quantity_parse(const char *s, bool milli, int64_t *out);
int sched_quantity_json(const json_t *v, bool milli, int64_t *out);

struct sched_res {
	int64_t milli_cpu;
	int64_t memory;     /* bytes */
	int64_t pods;
};

/* ---- nodes and pods ---------------------------------------------------- */

enum sched_effect {
	SCHED_EFFECT_ALL = 0,        /* toleration without effect: any */
	SCHED_NO_SCHEDULE,
	SCHED_PREFER_NO_SCHEDULE,
	SCHED_NO_EXECUTE,
};

struct sched_taint {
	char *key, *value;
	enum sched_effect effect;
};

struct sched_toleration {
	char *key;           /* NULL/"" with exists = tolerates everything */
	bool exists;         /* operator Exists (else Equal) */
	char *value;
	enum sched_effect effect;
};

enum sched_nsr_op { NSR_IN, NSR_NOTIN, NSR_EXISTS, NSR_DOESNOTEXIST, NSR_GT, NSR_LT };

/* One NodeSelectorRequirement; field=true for matchFields (metadata.name). */
struct sched_nsr {
	char *key;
	enum sched_nsr_op op;
	char **values;
	int n_values;
	bool field;
};

/* A NodeSelectorTerm: all requirements ANDed. */
struct sched_term {
	struct sched_nsr *reqs;
	int n;
};

struct sched_pref_term {
	int weight;
	struct sched_term term;
};

/* podAntiAffinity requiredDuringScheduling term; only the topologyKey
 * kubernetes.io/hostname (one node = one domain) is supported. */
struct sched_anti_term {
	struct selector sel;
	char **namespaces;   /* empty = the pod's own namespace */
	int n_ns;
	bool all_namespaces; /* namespaceSelector {} */
};

struct sched_node {
	char *name;
	json_t *labels;      /* object (own reference), never NULL */
	bool ready, unschedulable;
	struct sched_res alloc;
	struct sched_taint *taints;
	int n_taints;

	/* Maintained by the state: pods assigned here (bound or assumed). */
	struct sched_res requested;   /* sum of requests (filtering) */
	struct sched_res nz_requested;/* with non-zero defaults (scoring) */
	struct sched_pod **pods;
	int n_pods, cap_pods;
	int idx;                      /* position in the state's array */
};

struct sched_pod {
	char *ns, *name, *uid, *rv;
	char *key;                    /* "ns/name" */
	char *node_name;              /* spec.nodeName or the assumed node */
	char *scheduler_name;
	bool terminating;             /* deletionTimestamp set */
	bool finished;                /* phase Succeeded/Failed: uses nothing */
	json_t *labels;               /* object (own reference), never NULL */
	uint64_t group;               /* spread group: controller owner UID, else ns+labels; 0 = none */
	struct sched_res req;         /* requests; pods always 1 */
	struct sched_res nz_req;      /* with 100m / 200Mi defaults for scoring */
	json_t *node_selector;        /* object or NULL */
	struct sched_toleration *tols;
	int n_tols;
	struct sched_term *aff_terms; /* required node affinity (terms ORed) */
	int n_aff_terms;
	bool has_aff;
	struct sched_pref_term *pref;
	int n_pref;
	struct sched_anti_term *anti;
	int n_anti;
	char *sched_msg;              /* current PodScheduled=False message, if any */
	bool assumed;                 /* accounted by sched_state_assume, not yet seen bound */
	uint64_t spec_hash;           /* spec + labels: did the pod change? */

	/* Maintained by the state. */
	struct sched_node *node;      /* accounted on this node, or NULL */
	int node_pos;
};

int sched_node_parse(const json_t *obj, struct sched_node **out, struct gerr *err);
void sched_node_free(struct sched_node *n);
int sched_pod_parse(const json_t *obj, struct sched_pod **out, struct gerr *err);
void sched_pod_free(struct sched_pod *p);

/* True if the pod is for this scheduler and still needs a node. */
bool sched_pod_pending(const struct sched_pod *p);

/* ---- filters (pure) ---------------------------------------------------- */

/* Reasons, one bit each; a node may fail several resource checks at once. */
enum {
	SCHED_R_NOT_READY      = 1u << 0,
	SCHED_R_UNSCHEDULABLE  = 1u << 1,
	SCHED_R_TAINT          = 1u << 2,
	SCHED_R_AFFINITY       = 1u << 3,
	SCHED_R_CPU            = 1u << 4,
	SCHED_R_MEMORY         = 1u << 5,
	SCHED_R_PODS           = 1u << 6,
	SCHED_R_ANTI_AFFINITY  = 1u << 7,   /* the pod's own terms */
	SCHED_R_EXISTING_ANTI  = 1u << 8,   /* existing pods' terms */
};

bool sched_tolerates(const struct sched_toleration *tols, int n,
		     const char *key, const char *value, enum sched_effect effect);
bool sched_term_matches(const struct sched_term *t, const struct sched_node *n);

/* Each returns 0 when the node passes, else the reason bit(s). */
unsigned sched_filter_ready(const struct sched_node *n, const struct sched_pod *p);
unsigned sched_filter_schedulable(const struct sched_node *n, const struct sched_pod *p);
/* *bad (optional) receives the first untolerated NoSchedule/NoExecute taint. */
unsigned sched_filter_taints(const struct sched_node *n, const struct sched_pod *p,
			     const struct sched_taint **bad);
unsigned sched_filter_affinity(const struct sched_node *n, const struct sched_pod *p);
unsigned sched_filter_resources(const struct sched_node *n, const struct sched_pod *p);
unsigned sched_filter_anti_affinity(const struct sched_node *n, const struct sched_pod *p);
/* All of them in kube-scheduler's order, stopping at the first failure. */
unsigned sched_filter(const struct sched_node *n, const struct sched_pod *p,
		      const struct sched_taint **bad);

/* ---- scores (pure; 0..100 unless said otherwise) ------------------------ */

/* Free fraction of cpu and memory after placing the pod, averaged. */
int sched_score_least_allocated(const struct sched_node *n, const struct sched_pod *p);
/* Raw: pods of the pod's spread group already on the node. */
int sched_spread_count(const struct sched_node *n, const struct sched_pod *p);
/* Raw: sum of weights of matching preferred node-affinity terms. */
int sched_pref_affinity_weight(const struct sched_node *n, const struct sched_pod *p);
/* Raw: untolerated PreferNoSchedule taints. */
int sched_prefer_taint_count(const struct sched_node *n, const struct sched_pod *p);

/* Score weights (kube-scheduler's default profile: TaintToleration 3,
 * NodeAffinity 2, spread 2, NodeResourcesFit 1). */
#define SCHED_W_SPREAD    2
#define SCHED_W_LEAST     1
#define SCHED_W_AFFINITY  2
#define SCHED_W_TAINT     3

/* ---- cluster state ------------------------------------------------------ */

struct sched_state;

struct sched_state *sched_state_new(void);
void sched_state_free(struct sched_state *st);
int sched_state_n_nodes(const struct sched_state *st);
struct sched_node *sched_state_node(const struct sched_state *st, const char *name);
struct sched_pod *sched_state_pod(const struct sched_state *st, const char *key);

/* Takes ownership of n; replaces a node of the same name, keeping the pods
 * assigned to it. Pods already known for that node are attached. */
int sched_state_upsert_node(struct sched_state *st, struct sched_node *n);
void sched_state_remove_node(struct sched_state *st, const char *name);
/* Takes ownership of p (an assigned pod: node_name set); replaces the pod
 * with the same key (its old accounting is released first). Pending pods
 * are the caller's business: pass them to sched_pick. */
int sched_state_upsert_pod(struct sched_state *st, struct sched_pod *p);
void sched_state_remove_pod(struct sched_state *st, const char *key);
/* Relist support: drop every node / pod for which keep() returns false. */
void sched_state_sweep_nodes(struct sched_state *st,
			     bool (*keep)(const struct sched_node *n, void *arg), void *arg);
void sched_state_sweep_pods(struct sched_state *st,
			    bool (*keep)(const struct sched_pod *p, void *arg), void *arg);
/* kube-scheduler's "assume": account a copy of p on node before the bind
 * is confirmed, so that the next decisions see its resources. */
int sched_state_assume(struct sched_state *st, const struct sched_pod *p,
		       const char *node, struct gerr *err);

/* Filter every node, score the feasible ones, pick the best.
 * Returns 0 with *node set (points into the state), or -ENOSPC with the
 * kube-scheduler message in reason ("0/3 nodes are available: 1 node(s)
 * didn't match Pod's node affinity/selector, 2 Insufficient cpu."). */
int sched_pick(struct sched_state *st, const struct sched_pod *p,
	       const struct sched_node **node, char *reason, size_t reason_len);

/* Builds the "0/N nodes are available: ..." message from per-node reason
 * masks (taints[i] names the taint for SCHED_R_TAINT, may be NULL). */
void sched_fit_message(int n_nodes, const unsigned *masks,
		       const struct sched_taint *const *taints, int n_masks,
		       char *buf, size_t len);

/* ---- scheduling loop (loop.c) ------------------------------------------ */

/* Counters the loop keeps (read them without locking; they only grow). */
struct sched_stats {
	volatile long bound;          /* binds the server accepted */
	volatile long unschedulable;  /* failed placements (each attempt) */
	volatile long conflicts;      /* binds refused: pod changed meanwhile */
	volatile long errors;         /* other bind/status failures */
	volatile long status_updates; /* PodScheduled condition writes */
	volatile int synced;          /* initial lists of nodes and pods loaded */
};

struct sched_opts {
	int binders;                  /* concurrent bind requests (0 = 4) */
	struct sched_stats *stats;    /* optional */
};

/* Runs until *stop becomes non-zero: list+watch nodes and pods, bind pending
 * pods, mark unschedulable ones. Returns 0 or -errno (setup failure). */
int sched_run(const struct kubeconfig *kc, volatile int *stop);
int sched_run_opts(const struct kubeconfig *kc, const struct sched_opts *o,
		   volatile int *stop);

#endif

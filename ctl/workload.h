/* SPDX-License-Identifier: Apache-2.0 */
/* gannetctl's pure workload logic, shared by scale, rollout, set image and
 * top: rollout-status evaluation (kubectl's status viewers), revision
 * history from the ReplicaSets a Deployment owns, the rollback patch
 * kubectl 1.32 computes client-side, set-image and restart patches, and
 * resource quantities. No I/O besides writing to a FILE *, no network:
 * unit-tested in tests/unit/ctl_test.c. */
#ifndef GANNET_CTL_WORKLOAD_H
#define GANNET_CTL_WORKLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#define WL_REVISION_ANNOTATION "deployment.kubernetes.io/revision"
#define WL_CHANGE_CAUSE_ANNOTATION "kubernetes.io/change-cause"
#define WL_HASH_LABEL "pod-template-hash"
#define WL_RESTARTED_AT_ANNOTATION "kubectl.kubernetes.io/restartedAt"

/* ---- rollout status --------------------------------------------------- */
/* kubectl's status viewers for kind "Deployment" or "DaemonSet". Returns
 * 1 when the rollout is complete, 0 while it is still in progress, and
 * -EINVAL when it can never complete as asked (progress deadline exceeded,
 * OnDelete DaemonSet, a kind without a viewer). msg gets the line kubectl
 * prints in each case (with a trailing newline for 0 and 1). */
int wl_rollout_status(const char *kind, const json_t *obj, char *msg, size_t len);

/* ---- revision history ------------------------------------------------- */
struct wl_rev {
	long long revision;
	const json_t *rs;          /* the ReplicaSet (borrowed) */
};

/* ReplicaSets of rs_items (array) controlled by deploy (controller
 * ownerReference with the Deployment's uid) that carry a valid revision
 * annotation, sorted by revision ascending. Returns the count (*out
 * malloc'd, may be NULL when 0) or -ENOMEM. */
int wl_revisions(const json_t *deploy, const json_t *rs_items, struct wl_rev **out);

/* kubectl rollout history's table: "REVISION  CHANGE-CAUSE" and one row
 * per revision, change cause from the ReplicaSet's annotation or
 * "<none>". */
void wl_history_print(FILE *f, const struct wl_rev *revs, int n);
/* --revision N: the pod template of that revision, describe-style. */
void wl_template_print(FILE *f, const json_t *template);

/* Pod templates equal once the pod-template-hash label is ignored. */
bool wl_template_equal_ignore_hash(const json_t *a, const json_t *b);

/* kubectl 1.32's client-side rollback: to_revision 0 = the previous one
 * (second highest). Returns 0 with *patch (a JSON Patch replacing
 * /spec/template with the chosen ReplicaSet's template minus its
 * pod-template-hash label, and /metadata/annotations with the
 * Deployment's skip-listed annotations plus the ReplicaSet's others),
 * 1 when the Deployment already runs that template (no patch, msg is
 * kubectl's "skipped rollback" reason), or -errno with msg (paused, no
 * history, revision not found). *chosen gets the revision used. */
int wl_undo_patch(const json_t *deploy, const struct wl_rev *revs, int n,
		  long long to_revision, json_t **patch, long long *chosen,
		  char *msg, size_t len);

/* ---- patches ---------------------------------------------------------- */
/* Strategic merge patch for "set image": specs are "CONTAINER=IMAGE" or
 * "*=IMAGE" (every container and init container). obj is a Pod (containers
 * at spec) or a workload (at spec.template.spec). Containers already at
 * the requested image are left out; an empty result means nothing to do
 * (*changed false). NULL with msg on a bad spec or an unknown container. */
json_t *wl_set_image_patch(const json_t *obj, const char *kind, char *const *specs,
			   int n, bool *changed, char *msg, size_t len);

/* Merge patch setting the restartedAt template annotation to ts. */
json_t *wl_restart_patch(const char *ts);

/* ---- quantities (top) ------------------------------------------------- */
/* Kubernetes resource quantity ("250m", "0.5", "1Gi", "128M", "1e3") to
 * milli-units (cpu=true: millicores, rounded up) or units (bytes).
 * Returns 0 or -EINVAL. */
int wl_quantity(const char *s, bool cpu, long long *out);

struct wl_res {
	long long cpu_req_m, cpu_lim_m, mem_req, mem_lim;
};
/* Effective pod requests/limits as the scheduler counts them: the larger
 * of the sum over containers and the largest init container. */
void wl_pod_resources(const json_t *pod, struct wl_res *r);
/* "250m" / "1024Mi" as kubectl top prints them. */
void wl_fmt_cpu(long long milli, char *buf, size_t len);
void wl_fmt_mem(long long bytes, char *buf, size_t len);

#endif

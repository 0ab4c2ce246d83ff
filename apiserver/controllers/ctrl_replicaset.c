/* SPDX-License-Identifier: Apache-2.0 */
/* ReplicaSet controller: keeps spec.replicas active pods matching the
 * selector, adopting orphans and releasing pods that stopped matching
 * (ownerReferences), deleting the least valuable pods first on scale-down
 * as Kubernetes does, and reporting replicas/ready/available in status. */
#include "apiserver/controllers/ctrl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/selectors.h"

/* Kubernetes' burstReplicas: creations/deletions per sync. */
#define RS_BURST 500

/* ---- pure part ------------------------------------------------------------- */

static time_t ready_since(const json_t *pod)
{
	size_t i;
	json_t *c;

	json_array_foreach(sel_lookup_path(pod, "status.conditions"), i, c)
		if (!strcmp(json_string_value(json_object_get(c, "type")) ?: "", "Ready"))
			return ctrl_parse_time(json_string_value(json_object_get(c, "lastTransitionTime")));
	return -1;
}

bool ctrl_pod_available(const json_t *pod, int min_ready, time_t now)
{
	time_t since;

	if (!ctrl_pod_ready(pod))
		return false;
	if (min_ready <= 0)
		return true;
	since = ready_since(pod);
	return since >= 0 && since + min_ready <= now;
}

static int phase_rank(const json_t *pod)
{
	const char *ph = cj_str(pod, "status.phase") ?: "Pending";

	if (!strcmp(ph, "Pending"))
		return 0;
	if (!strcmp(ph, "Unknown"))
		return 1;
	return 2;  /* Running */
}

static long long restarts(const json_t *pod)
{
	long long n = 0;
	size_t i;
	json_t *c;

	json_array_foreach(sel_lookup_path(pod, "status.containerStatuses"), i, c)
		n += json_integer_value(json_object_get(c, "restartCount"));
	return n;
}

int rs_pod_delete_cmp(const json_t *a, const json_t *b)
{
	const char *na = cj_str(a, "spec.nodeName"), *nb = cj_str(b, "spec.nodeName");
	bool sa = na && *na, sb = nb && *nb;
	int ra, rb;
	const char *ca, *cb;

	/* 1. unscheduled before scheduled */
	if (sa != sb)
		return sa ? 1 : -1;
	/* 2. Pending < Unknown < Running */
	ra = phase_rank(a);
	rb = phase_rank(b);
	if (ra != rb)
		return ra - rb;
	/* 3. not ready before ready */
	if (ctrl_pod_ready(a) != ctrl_pod_ready(b))
		return ctrl_pod_ready(a) ? 1 : -1;
	/* 4. ready for less time first */
	if (ctrl_pod_ready(a)) {
		time_t ta = ready_since(a), tb = ready_since(b);

		if (ta != tb)
			return ta > tb ? -1 : 1;
	}
	/* 5. more restarts first */
	if (restarts(a) != restarts(b))
		return restarts(a) > restarts(b) ? -1 : 1;
	/* 6. newer first (RFC 3339 in UTC compares as a string) */
	ca = cj_str(a, "metadata.creationTimestamp") ?: "";
	cb = cj_str(b, "metadata.creationTimestamp") ?: "";
	if (strcmp(ca, cb))
		return strcmp(ca, cb) > 0 ? -1 : 1;
	return strcmp(cj_str(a, "metadata.name") ?: "", cj_str(b, "metadata.name") ?: "");
}

static int cmp_qsort(const void *x, const void *y)
{
	return rs_pod_delete_cmp(*(json_t *const *)x, *(json_t *const *)y);
}

json_t *rs_new_pod(const json_t *rs)
{
	const json_t *tmpl = sel_lookup_path(rs, "spec.template");
	json_t *md = json_deep_copy(json_object_get(tmpl, "metadata"));
	json_t *pod, *refs = json_array();
	char gen[300];

	if (!json_is_object(md)) {
		json_decref(md);
		md = json_object();
	}
	snprintf(gen, sizeof(gen), "%s-", cj_str(rs, "metadata.name") ?: "rs");
	json_object_del(md, "name");
	json_object_del(md, "uid");
	json_object_del(md, "resourceVersion");
	json_object_del(md, "creationTimestamp");
	json_object_set_new(md, "generateName", json_string(gen));
	json_object_set_new(md, "namespace", json_string(cj_str(rs, "metadata.namespace") ?: "default"));
	json_array_append_new(refs, ctrl_owner_ref(rs));
	json_object_set_new(md, "ownerReferences", refs);
	pod = json_pack("{s:s, s:s, s:o, s:o}", "apiVersion", "v1", "kind", "Pod",
			"metadata", md, "spec",
			json_object_get(tmpl, "spec") ? json_deep_copy(json_object_get(tmpl, "spec"))
						      : json_object());
	return pod;
}

int rs_compute(const json_t *rs, const json_t *pods, time_t now, struct rs_plan *p)
{
	json_t *owned = json_array(), *active = json_array(), *x;
	int want = (int)cj_int(rs, "spec.replicas", 1);
	int min_ready = (int)cj_int(rs, "spec.minReadySeconds", 0);
	int ready = 0, avail = 0, labeled = 0, diff;
	bool deleting = cj_str(rs, "metadata.deletionTimestamp") != NULL;
	struct selector sel = { 0 };
	size_t i;

	memset(p, 0, sizeof(*p));
	p->del = json_array();
	p->adopt = json_array();
	p->release = json_array();
	if (!ctrl_claim(rs, sel_lookup_path(rs, "spec.selector"), pods, owned, p->adopt, p->release))
		deleting = true;  /* unusable selector: act on nothing */
	json_array_foreach(owned, i, x)
		if (ctrl_pod_active(x))
			json_array_append(active, x);
	/* fullyLabeledReplicas: pods carrying all the template's labels. */
	const json_t *tlab = sel_lookup_path(rs, "spec.template.metadata.labels");
	json_t *tl = json_pack("{s:o}", "matchLabels",
			       tlab ? json_deep_copy(tlab) : json_object());

	sel_from_label_selector(tl, &sel, NULL);
	json_decref(tl);
	json_array_foreach(active, i, x) {
		if (ctrl_pod_ready(x))
			ready++;
		if (ctrl_pod_available(x, min_ready, now))
			avail++;
		if (sel_match_labels(&sel, sel_lookup_path(x, "metadata.labels")))
			labeled++;
	}
	sel_free(&sel);
	diff = (int)json_array_size(active) - want;
	if (!deleting && diff < 0) {
		p->create = -diff > RS_BURST ? RS_BURST : -diff;
	} else if (!deleting && diff > 0) {
		size_t n = json_array_size(active);
		json_t **v = calloc(n, sizeof(*v));

		for (i = 0; i < n; i++)
			v[i] = json_array_get(active, i);
		qsort(v, n, sizeof(*v), cmp_qsort);
		for (i = 0; i < (size_t)diff && i < RS_BURST; i++)
			json_array_append(p->del, v[i]);
		free(v);
	}
	p->status = json_pack("{s:i, s:i, s:i, s:i, s:I}",
			      "replicas", (int)json_array_size(active),
			      "fullyLabeledReplicas", labeled,
			      "readyReplicas", ready,
			      "availableReplicas", avail,
			      "observedGeneration", (json_int_t)cj_int(rs, "metadata.generation", 0));
	json_decref(owned);
	json_decref(active);
	return 0;
}

void rs_plan_free(struct rs_plan *p)
{
	json_decref(p->del);
	json_decref(p->adopt);
	json_decref(p->release);
	json_decref(p->status);
	memset(p, 0, sizeof(*p));
}

/* ---- controller ------------------------------------------------------------- */

static void on_rs(void *arg, const char *type, const json_t *old, const json_t *obj)
{
	ctrl_enqueue(arg, obj);
}

static void on_pod(void *arg, const char *type, const json_t *old, const json_t *obj)
{
	struct ctrl *c = arg;

	ctrl_enqueue_owner(c, obj, "ReplicaSet");
	if (old && strcmp(type, "DELETED"))
		ctrl_enqueue_owner(c, old, "ReplicaSet");
	/* Orphans: every ReplicaSet of the namespace may want to adopt it. */
	if (!ctrl_controller_ref(obj) && strcmp(type, "DELETED"))
		ctrl_enqueue_selecting(c, CK_REPLICASET, obj);
}

static int rs_setup(struct ctrl *c, struct gerr *err)
{
	int ret = informer_add_handler(informers_get(c->inf, CK_REPLICASET), on_rs, c);

	return ret ?: informer_add_handler(informers_get(c->inf, CK_POD), on_pod, c);
}

/* Sets or removes pod's controller reference through a JSON merge patch
 * guarded by the resourceVersion we decided on. */
static int set_owner(struct ctrl *c, struct apiclient *api, enum ctrl_kind_id k,
		     const json_t *obj, const json_t *owner, struct gerr *err)
{
	json_t *refs = json_array(), *patch;
	size_t i;
	json_t *r;
	int ret;

	json_array_foreach(sel_lookup_path(obj, "metadata.ownerReferences"), i, r)
		if (!json_is_true(json_object_get(r, "controller")))
			json_array_append(refs, r);
	if (owner)
		json_array_append_new(refs, ctrl_owner_ref(owner));
	patch = json_pack("{s:{s:o, s:s}}", "metadata", "ownerReferences", refs,
			  "resourceVersion", cj_str(obj, "metadata.resourceVersion") ?: "");
	ret = ctrl_write(c, api, k, "PATCH", cj_str(obj, "metadata.namespace"),
			 cj_str(obj, "metadata.name"), NULL, patch, "merge", NULL, err);
	json_decref(patch);
	return ret;
}

int ctrl_set_controller(struct ctrl *c, struct apiclient *api, enum ctrl_kind_id k,
			const json_t *obj, const json_t *owner, struct gerr *err)
{
	return set_owner(c, api, k, obj, owner, err);
}

static int rs_sync(struct ctrl *c, struct apiclient *api, const char *key, struct gerr *err)
{
	char buf[512];
	const char *ns, *name;
	json_t *rs, *pods = NULL, *pod;
	struct rs_plan p = { 0 };
	size_t i;
	int ret = 0;

	snprintf(buf, sizeof(buf), "%s", key);
	ctrl_split_key(buf, &ns, &name);
	rs = informer_get(informers_get(c->inf, CK_REPLICASET), ns, name);
	if (!rs)
		return 0;  /* deleted: the garbage collector removes its pods */
	pods = informer_list(informers_get(c->inf, CK_POD), ns);
	rs_compute(rs, pods, time(NULL), &p);
	json_array_foreach(p.adopt, i, pod)
		if ((ret = set_owner(c, api, CK_POD, pod, rs, err)))
			goto out;
	json_array_foreach(p.release, i, pod)
		if ((ret = set_owner(c, api, CK_POD, pod, NULL, err)) && ret != -ENOENT)
			goto out;
	for (int n = 0; n < p.create; n++) {
		json_t *np = rs_new_pod(rs);

		ret = ctrl_write(c, api, CK_POD, "POST", ns, NULL, NULL, np, NULL, NULL, err);
		json_decref(np);
		if (ret)
			goto out;
	}
	if (p.create)
		pr_info("replicaset %s: created %d pods", key, p.create);
	json_array_foreach(p.del, i, pod) {
		ret = ctrl_write(c, api, CK_POD, "DELETE", ns, cj_str(pod, "metadata.name"),
				 NULL, NULL, NULL, NULL, err);
		if (ret && ret != -ENOENT)
			goto out;
		ret = 0;
	}
	if (json_array_size(p.del))
		pr_info("replicaset %s: deleted %zu pods", key, json_array_size(p.del));
	/* Status through the subresource, only when it changed. */
	{
		json_t *cur = json_object_get(rs, "status");
		bool same = true;
		const char *k;
		json_t *v;

		json_object_foreach(p.status, k, v) {
			const json_t *cv = json_object_get(cur, k);

			if (cv ? !json_equal(v, cv) : json_integer_value(v) != 0)
				same = false;
		}
		if (!same) {
			json_t *patch = json_pack("{s:O}", "status", p.status);

			ret = ctrl_write(c, api, CK_REPLICASET, "PATCH", ns, name, "status",
					 patch, "merge", NULL, err);
			json_decref(patch);
		}
	}
out:
	rs_plan_free(&p);
	json_decref(pods);
	json_decref(rs);
	return ret;
}

const struct ctrl_desc ctrl_replicaset_desc = {
	.name = "replicaset",
	.setup = rs_setup,
	.sync = rs_sync,
};

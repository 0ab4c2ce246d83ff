/* SPDX-License-Identifier: Apache-2.0 */
/* Deployment controller: one ReplicaSet per pod template (named after the
 * template hash), RollingUpdate bounded by maxSurge/maxUnavailable and
 * Recreate, revision annotations as Kubernetes writes them (so that
 * `kubectl rollout history/undo` work), revisionHistoryLimit, pause, and
 * status with updated/ready/available replicas. The decision for one step
 * (dep_plan) is pure; the sync executes its actions and the resulting
 * ReplicaSet events trigger the next step, as in Kubernetes. */
#include "apiserver/controllers/ctrl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/selectors.h"

/* ---- pure part ------------------------------------------------------------- */

static json_t *strip_hash(const json_t *tmpl)
{
	json_t *t = json_deep_copy(tmpl ? tmpl : json_null());
	json_t *labels = json_object_get(json_object_get(t, "metadata"), "labels");

	if (json_is_object(labels)) {
		json_object_del(labels, DEP_HASH_LABEL);
		if (!json_object_size(labels))
			json_object_del(json_object_get(t, "metadata"), "labels");
	}
	if (json_is_object(json_object_get(t, "metadata")) &&
	    !json_object_size(json_object_get(t, "metadata")))
		json_object_del(t, "metadata");
	return t;
}

void dep_template_hash(const json_t *tmpl, long long collision, char *out, size_t len)
{
	static const char alnum[] = "bcdfghjklmnpqrstvwxz2456789";
	json_t *t = strip_hash(tmpl);
	char *s = json_dumps(t, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	uint32_t h = 2166136261u;
	char dec[16];
	size_t i;

	for (const char *p = s ? s : ""; *p; p++) {
		h ^= (unsigned char)*p;
		h *= 16777619u;
	}
	if (collision > 0) {
		/* Little-endian uint32 bytes, as Kubernetes appends them. */
		uint32_t cc = (uint32_t)collision;

		for (i = 0; i < 4; i++) {
			h ^= (cc >> (8 * i)) & 0xff;
			h *= 16777619u;
		}
	}
	free(s);
	json_decref(t);
	/* rand.SafeEncodeString(fmt.Sprint(hash)) */
	snprintf(dec, sizeof(dec), "%u", h);
	for (i = 0; dec[i] && i + 1 < len; i++)
		out[i] = alnum[(unsigned char)dec[i] % (sizeof(alnum) - 1)];
	out[i] = 0;
}

bool dep_templates_equal(const json_t *a, const json_t *b)
{
	json_t *x = strip_hash(a), *y = strip_hash(b);
	bool eq = json_equal(x, y);

	json_decref(x);
	json_decref(y);
	return eq;
}

int dep_fenceposts(const json_t *d, int *max_surge, int *max_unavailable)
{
	int replicas = (int)cj_int(d, "spec.replicas", 1);
	const json_t *ru = sel_lookup_path(d, "spec.strategy.rollingUpdate");
	const char *type = cj_str(d, "spec.strategy.type") ?: "RollingUpdate";
	json_t *def = json_string("25%");
	int ret;

	*max_surge = 0;
	*max_unavailable = 0;
	if (!strcmp(type, "Recreate")) {
		json_decref(def);
		return 0;
	}
	ret = ctrl_int_or_percent(json_object_get(ru, "maxSurge") ?: def, replicas, true, max_surge);
	if (!ret)
		ret = ctrl_int_or_percent(json_object_get(ru, "maxUnavailable") ?: def, replicas,
					  false, max_unavailable);
	json_decref(def);
	if (ret)
		return ret;
	if (*max_surge == 0 && *max_unavailable == 0)
		*max_unavailable = 1;
	if (*max_unavailable > replicas)
		*max_unavailable = replicas;
	return 0;
}

struct drs {
	const json_t *rs;
	const char *name;
	int spec, orig_spec, avail, ready, replicas;
	long long rev;
	bool ann_dirty;
};

static long long rs_revision(const json_t *rs)
{
	const json_t *a = sel_lookup_path(rs, "metadata.annotations");
	const char *s = json_string_value(json_object_get(a, DEP_REVISION_ANN));

	return s ? strtoll(s, NULL, 10) : 0;
}

static int cmp_created(const void *x, const void *y)
{
	const struct drs *a = x, *b = y;
	int c = strcmp(cj_str(a->rs, "metadata.creationTimestamp") ?: "",
		       cj_str(b->rs, "metadata.creationTimestamp") ?: "");

	return c ? c : strcmp(a->name, b->name);
}

static int cmp_revision(const void *x, const void *y)
{
	const struct drs *a = x, *b = y;

	return a->rev < b->rev ? -1 : a->rev > b->rev ? 1 : cmp_created(x, y);
}

/* Annotations of the Deployment that its ReplicaSets carry too (change
 * causes and the like), minus the ones the controller owns. */
static bool skip_annotation(const char *k)
{
	return !strcmp(k, "kubectl.kubernetes.io/last-applied-configuration") ||
	       !strcmp(k, DEP_REVISION_ANN) || !strcmp(k, "deployment.kubernetes.io/revision-history") ||
	       !strcmp(k, DEP_DESIRED_ANN) || !strcmp(k, DEP_MAX_ANN) ||
	       !strcmp(k, "deprecated.deployment.rollback.to");
}

static json_t *new_rs_object(const json_t *d, const char *hash, long long rev, int replicas,
			     int max_surge)
{
	const json_t *tmpl = sel_lookup_path(d, "spec.template");
	json_t *t = json_deep_copy(tmpl), *md, *labels, *sel, *ann = json_object(), *rs;
	json_t *refs = json_array();
	char name[300], buf[32];
	const char *k;
	json_t *v;

	md = json_object_get(t, "metadata");
	if (!json_is_object(md)) {
		md = json_object();
		json_object_set_new(t, "metadata", md);
	}
	labels = json_object_get(md, "labels");
	if (!json_is_object(labels)) {
		labels = json_object();
		json_object_set_new(md, "labels", labels);
	}
	json_object_set_new(labels, DEP_HASH_LABEL, json_string(hash));
	sel = json_deep_copy(sel_lookup_path(d, "spec.selector") ?: json_null());
	if (!json_is_object(sel)) {
		json_decref(sel);
		sel = json_object();
	}
	if (!json_is_object(json_object_get(sel, "matchLabels")))
		json_object_set_new(sel, "matchLabels", json_object());
	json_object_set_new(json_object_get(sel, "matchLabels"), DEP_HASH_LABEL, json_string(hash));
	json_object_foreach((json_t *)sel_lookup_path(d, "metadata.annotations"), k, v)
		if (!skip_annotation(k))
			json_object_set(ann, k, v);
	snprintf(buf, sizeof(buf), "%lld", rev);
	json_object_set_new(ann, DEP_REVISION_ANN, json_string(buf));
	snprintf(buf, sizeof(buf), "%lld", cj_int(d, "spec.replicas", 1));
	json_object_set_new(ann, DEP_DESIRED_ANN, json_string(buf));
	snprintf(buf, sizeof(buf), "%lld", cj_int(d, "spec.replicas", 1) + max_surge);
	json_object_set_new(ann, DEP_MAX_ANN, json_string(buf));
	json_array_append_new(refs, ctrl_owner_ref(d));
	snprintf(name, sizeof(name), "%s-%s", cj_str(d, "metadata.name") ?: "", hash);
	rs = json_pack("{s:s, s:s, s:{s:s, s:s, s:O, s:o, s:o}, s:{s:i, s:I, s:o, s:o}}",
		       "apiVersion", "apps/v1", "kind", "ReplicaSet",
		       "metadata", "name", name,
		       "namespace", cj_str(d, "metadata.namespace") ?: "default",
		       "labels", labels, "annotations", ann, "ownerReferences", refs,
		       "spec", "replicas", replicas,
		       "minReadySeconds", (json_int_t)cj_int(d, "spec.minReadySeconds", 0),
		       "selector", sel, "template", t);
	return rs;
}

static void add_scale(json_t *acts, struct drs *r, const json_t *d, int max_surge)
{
	char des[32], max[32];

	snprintf(des, sizeof(des), "%lld", cj_int(d, "spec.replicas", 1));
	snprintf(max, sizeof(max), "%lld", cj_int(d, "spec.replicas", 1) + max_surge);
	json_array_append_new(acts, json_pack("{s:s, s:s, s:i, s:{s:s, s:s}}", "op", "scale",
					      "name", r->name, "replicas", r->spec,
					      "annotations", DEP_DESIRED_ANN, des, DEP_MAX_ANN, max));
}

static const char *ann_of(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(sel_lookup_path(o, "metadata.annotations"), k));
}

static json_t *condition(const json_t *d, const char *type, const char *status,
			 const char *reason, const char *msg)
{
	char now[64];
	const char *lt = NULL, *lu = NULL;
	size_t i;
	json_t *c;

	ctrl_format_time(time(NULL), now, sizeof(now));
	json_array_foreach(sel_lookup_path(d, "status.conditions"), i, c) {
		if (strcmp(json_string_value(json_object_get(c, "type")) ?: "", type))
			continue;
		if (!strcmp(json_string_value(json_object_get(c, "status")) ?: "", status)) {
			lt = json_string_value(json_object_get(c, "lastTransitionTime"));
			if (!strcmp(json_string_value(json_object_get(c, "reason")) ?: "", reason))
				lu = json_string_value(json_object_get(c, "lastUpdateTime"));
		}
	}
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "type", type, "status", status,
			 "reason", reason, "message", msg,
			 "lastUpdateTime", lu ? lu : now, "lastTransitionTime", lt ? lt : now);
}

static json_t *dep_status(const json_t *d, struct drs *v, int n, int newi, int max_unavail,
			  bool complete)
{
	int replicas = (int)cj_int(d, "spec.replicas", 1);
	int total = 0, spec_total = 0, ready = 0, avail = 0, updated = 0, unavail;
	bool paused = cj_bool(d, "spec.paused");
	json_t *st, *conds = json_array();
	char msg[512];

	for (int i = 0; i < n; i++) {
		total += v[i].replicas;
		spec_total += v[i].spec;
		ready += v[i].ready;
		avail += v[i].avail;
	}
	if (newi >= 0)
		updated = v[newi].replicas;
	unavail = spec_total - avail;
	if (unavail < 0)
		unavail = 0;
	if (avail >= replicas - max_unavail)
		json_array_append_new(conds, condition(d, "Available", "True", "MinimumReplicasAvailable",
						       "Deployment has minimum availability."));
	else
		json_array_append_new(conds, condition(d, "Available", "False", "MinimumReplicasUnavailable",
						       "Deployment does not have minimum availability."));
	if (paused) {
		json_array_append_new(conds, condition(d, "Progressing", "Unknown", "DeploymentPaused",
						       "Deployment is paused"));
	} else if (newi >= 0) {
		snprintf(msg, sizeof(msg), "ReplicaSet \"%s\" %s.", v[newi].name,
			 complete ? "has successfully progressed" : "is progressing");
		json_array_append_new(conds, condition(d, "Progressing", "True",
						       complete ? "NewReplicaSetAvailable" : "ReplicaSetUpdated", msg));
	}
	st = json_pack("{s:I, s:i, s:i, s:i, s:i, s:i, s:o}",
		       "observedGeneration", (json_int_t)cj_int(d, "metadata.generation", 0),
		       "replicas", total, "updatedReplicas", updated, "readyReplicas", ready,
		       "availableReplicas", avail, "unavailableReplicas", unavail,
		       "conditions", conds);
	if (sel_lookup_path(d, "status.collisionCount"))
		json_object_set(st, "collisionCount", (json_t *)sel_lookup_path(d, "status.collisionCount"));
	return st;
}

static int count_old_pods(const json_t *pods, struct drs *v, int n, int newi)
{
	size_t i;
	json_t *p;
	int c = 0;

	json_array_foreach(pods, i, p) {
		if (!ctrl_pod_active(p) && !cj_str(p, "metadata.deletionTimestamp"))
			continue;  /* finished pods do not block Recreate */
		for (int j = 0; j < n; j++)
			if (j != newi && ctrl_is_controlled_by(p, v[j].rs))
				c++;
	}
	return c;
}

/* Kubernetes' getReplicaSetFraction: the share of a scaling event a
 * ReplicaSet gets, from the size the Deployment had when it was last sized
 * (its max-replicas annotation). */
static int rs_fraction(const json_t *d, const struct drs *r, int replicas, int surge)
{
	const char *ann = json_string_value(json_object_get(
		sel_lookup_path(r->rs, "metadata.annotations"), DEP_MAX_ANN));
	long annotated = ann ? strtol(ann, NULL, 10) : cj_int(d, "status.replicas", 0);
	double size;

	if (replicas == 0)
		return -r->spec;
	if (annotated <= 0)
		return 0;
	size = (double)r->spec * (replicas + surge) / (double)annotated;
	return (int)(size + (size >= 0 ? 0.5 : -0.5)) - r->spec;
}

static int cmp_size_newer(const void *x, const void *y)
{
	const struct drs *a = *(struct drs *const *)x, *b = *(struct drs *const *)y;

	if (a->spec != b->spec)
		return b->spec - a->spec;
	return -cmp_created(a, b);
}

static int cmp_size_older(const void *x, const void *y)
{
	const struct drs *a = *(struct drs *const *)x, *b = *(struct drs *const *)y;

	if (a->spec != b->spec)
		return b->spec - a->spec;
	return cmp_created(a, b);
}

/* Spreads a scaling event of `add` replicas over the ReplicaSets in
 * proportion to their sizes (largest first; leftovers to the largest), as
 * Kubernetes does mid-rollout so that neither side of the rollout loses
 * its share. */
static void proportional_scale(const json_t *d, struct drs *v, int n, int replicas, int surge,
			       int add)
{
	struct drs **order = calloc(n + 1, sizeof(*order));
	int added = 0;

	if (!order || add == 0) {
		free(order);
		return;
	}
	for (int j = 0; j < n; j++)
		order[j] = &v[j];
	qsort(order, n, sizeof(*order), add > 0 ? cmp_size_newer : cmp_size_older);
	for (int j = 0; j < n; j++) {
		int frac = rs_fraction(d, order[j], replicas, surge), left = add - added, prop;

		if (added == add)
			break;
		prop = add > 0 ? (frac < left ? frac : left) : (frac > left ? frac : left);
		if (order[j]->spec + prop < 0)
			prop = -order[j]->spec;
		order[j]->spec += prop;
		added += prop;
	}
	if (add - added && n > 0) {
		order[0]->spec += add - added;
		if (order[0]->spec < 0)
			order[0]->spec = 0;
	}
	free(order);
}

json_t *dep_plan(const json_t *d, const json_t *rss, const json_t *pods)
{
	json_t *acts = json_array(), *owned = json_array(), *adopt = json_array(),
	       *release = json_array(), *x;
	const char *type = cj_str(d, "spec.strategy.type") ?: "RollingUpdate";
	bool recreate = !strcmp(type, "Recreate");
	bool paused = cj_bool(d, "spec.paused");
	int replicas = (int)cj_int(d, "spec.replicas", 1);
	int surge = 0, unavail = 0, n, newi = -1;
	long long max_old_rev = 0, hist = cj_int(d, "spec.revisionHistoryLimit", 10);
	struct drs *v = NULL;
	bool complete = false;
	char buf[64];
	size_t i;

	bool sel_ok = ctrl_claim(d, sel_lookup_path(d, "spec.selector"), rss, owned, adopt, release);

	json_array_foreach(adopt, i, x)
		json_array_append_new(acts, json_pack("{s:s, s:s}", "op", "adopt",
						      "name", cj_str(x, "metadata.name")));
	json_array_foreach(release, i, x)
		json_array_append_new(acts, json_pack("{s:s, s:s}", "op", "release",
						      "name", cj_str(x, "metadata.name")));
	if (!sel_ok || cj_str(d, "metadata.deletionTimestamp") || dep_fenceposts(d, &surge, &unavail))
		goto out;

	n = (int)json_array_size(owned);
	v = calloc(n + 1, sizeof(*v));
	json_array_foreach(owned, i, x) {
		struct drs *r = &v[i];

		r->rs = x;
		r->name = cj_str(x, "metadata.name") ?: "";
		r->spec = r->orig_spec = (int)cj_int(x, "spec.replicas", 1);
		r->replicas = (int)cj_int(x, "status.replicas", 0);
		r->ready = (int)cj_int(x, "status.readyReplicas", 0);
		r->avail = (int)cj_int(x, "status.availableReplicas", 0);
		/* A status older than our last scale-down may overstate what
		 * runs: never count more than the spec asks for. */
		if (r->avail > r->spec)
			r->avail = r->spec;
		r->rev = rs_revision(x);
	}
	qsort(v, n, sizeof(*v), cmp_created);
	for (int j = 0; j < n; j++) {
		if (newi < 0 && dep_templates_equal(sel_lookup_path(v[j].rs, "spec.template"),
						    sel_lookup_path(d, "spec.template")))
			newi = j;
		else if (v[j].rev > max_old_rev)
			max_old_rev = v[j].rev;
	}

	/* No ReplicaSet for the current template: create it (a new revision). */
	if (newi < 0) {
		int old_spec = 0, init;
		char hash[16];
		json_t *rs;

		if (paused) {
			/* Paused: no rollout, only scaling of what exists. */
			goto scale_only;
		}
		for (int j = 0; j < n; j++)
			old_spec += v[j].spec;
		if (recreate)
			init = (old_spec > 0 || count_old_pods(pods, v, n, -1)) ? 0 : replicas;
		else {
			init = replicas + surge - old_spec;
			if (init > replicas)
				init = replicas;
			if (init < 0)
				init = 0;
		}
		dep_template_hash(sel_lookup_path(d, "spec.template"),
				  cj_int(d, "status.collisionCount", 0), hash, sizeof(hash));
		rs = new_rs_object(d, hash, max_old_rev + 1, init, surge);
		json_array_append_new(acts, json_pack("{s:s, s:o}", "op", "create", "object", rs));
		snprintf(buf, sizeof(buf), "%lld", max_old_rev + 1);
		json_array_append_new(acts, json_pack("{s:s, s:{s:s}}", "op", "annotate",
						      "annotations", DEP_REVISION_ANN, buf));
		goto status;
	}

	/* Revision sync: a reused template (rollback) becomes the newest. */
	if (v[newi].rev <= max_old_rev) {
		v[newi].rev = max_old_rev + 1;
		snprintf(buf, sizeof(buf), "%lld", v[newi].rev);
		json_array_append_new(acts, json_pack("{s:s, s:s, s:i, s:{s:s}}", "op", "scale",
						      "name", v[newi].name, "replicas", v[newi].spec,
						      "annotations", DEP_REVISION_ANN, buf));
	}
	snprintf(buf, sizeof(buf), "%lld", v[newi].rev);
	if (strcmp(ann_of(d, DEP_REVISION_ANN) ?: "", buf))
		json_array_append_new(acts, json_pack("{s:s, s:{s:s}}", "op", "annotate",
						      "annotations", DEP_REVISION_ANN, buf));

	/* Scaling event: an active ReplicaSet was sized for another count. */
	bool scaling = false;

	for (int j = 0; j < n; j++) {
		const char *des = ann_of(v[j].rs, DEP_DESIRED_ANN);

		if (v[j].spec > 0 && des && strtol(des, NULL, 10) != replicas)
			scaling = true;
	}
	if (paused || scaling)
		goto scale_only;

	if (recreate) {
		bool old_active = false;

		for (int j = 0; j < n; j++)
			if (j != newi && v[j].spec > 0) {
				v[j].spec = 0;
				old_active = true;
			}
		if (!old_active && !count_old_pods(pods, v, n, newi) && v[newi].spec != replicas)
			v[newi].spec = replicas;
	} else {
		/* reconcileNewReplicaSet */
		struct drs *nr = &v[newi];

		if (nr->spec > replicas) {
			nr->spec = replicas;
		} else if (nr->spec < replicas) {
			int current = 0, up;

			for (int j = 0; j < n; j++)
				current += v[j].spec;
			up = replicas + surge - current;
			if (up > replicas - nr->spec)
				up = replicas - nr->spec;
			if (up > 0)
				nr->spec += up;
		}
		if (nr->spec == nr->orig_spec) {
			/* reconcileOldReplicaSets */
			int old_total = 0, all = 0, min_avail = replicas - unavail;
			int new_unavail = nr->spec - nr->avail, max_down, cleaned = 0;

			for (int j = 0; j < n; j++) {
				all += v[j].spec;
				if (j != newi)
					old_total += v[j].spec;
			}
			max_down = all - min_avail - new_unavail;
			if (old_total > 0 && max_down > 0) {
				/* Unhealthy old replicas go first, oldest RS first. */
				for (int j = 0; j < n && cleaned < max_down; j++) {
					int bad, down;

					if (j == newi || v[j].spec == v[j].avail)
						continue;
					bad = v[j].spec - v[j].avail;
					down = bad < max_down - cleaned ? bad : max_down - cleaned;
					v[j].spec -= down;
					cleaned += down;
				}
				/* Then healthy ones while availability allows. */
				int avail_all = 0, down_total, done = 0;

				for (int j = 0; j < n; j++)
					avail_all += v[j].avail < v[j].spec ? v[j].avail : v[j].spec;
				down_total = avail_all - min_avail;
				if (down_total > max_down - cleaned)
					down_total = max_down - cleaned;
				for (int j = 0; j < n && done < down_total; j++) {
					int down;

					if (j == newi || v[j].spec == 0)
						continue;
					down = v[j].spec < down_total - done ? v[j].spec : down_total - done;
					v[j].spec -= down;
					done += down;
				}
			}
		}
	}
	goto emit;

scale_only:
	{
		int active = 0, last = -1, total = 0, add;

		for (int j = 0; j < n; j++)
			if (v[j].spec > 0) {
				active++;
				last = j;
				total += v[j].spec;
			}
		if (active == 0 && n > 0) {
			/* Scale the newest (or the current template's) up. */
			int t = newi >= 0 ? newi : n - 1;

			if (replicas > 0)
				v[t].spec = replicas;
		} else if (active == 1) {
			v[last].spec = replicas;
		} else if (active > 1) {
			if (newi >= 0 && v[newi].spec == replicas && v[newi].avail == replicas) {
				for (int j = 0; j < n; j++)
					if (j != newi)
						v[j].spec = 0;
			} else {
				add = (replicas > 0 ? replicas + surge : 0) - total;
				proportional_scale(d, v, n, replicas, surge, add);
			}
		}
		/* Every active ReplicaSet now carries the new desired count. */
		for (int j = 0; j < n; j++) {
			const char *des = ann_of(v[j].rs, DEP_DESIRED_ANN);

			if (v[j].spec > 0 && (!des || strtol(des, NULL, 10) != replicas))
				v[j].ann_dirty = true;
		}
	}

emit:
	for (int j = 0; j < n; j++)
		if (v[j].spec != v[j].orig_spec || v[j].ann_dirty)
			add_scale(acts, &v[j], d, surge);
	if (newi >= 0) {
		bool old_zero = true;

		for (int j = 0; j < n; j++)
			if (j != newi && (v[j].spec || v[j].replicas))
				old_zero = false;
		complete = old_zero && v[newi].spec == replicas && v[newi].replicas == replicas &&
			   v[newi].avail == replicas;
	}
	/* revisionHistoryLimit: drop the oldest fully scaled-down ones. */
	{
		struct drs *old = calloc(n + 1, sizeof(*old));
		int no = 0;

		for (int j = 0; j < n; j++)
			if (j != newi && v[j].spec == 0 && v[j].orig_spec == 0 && v[j].replicas == 0 &&
			    !cj_str(v[j].rs, "metadata.deletionTimestamp"))
				old[no++] = v[j];
		qsort(old, no, sizeof(*old), cmp_revision);
		for (int j = 0; j < no - hist; j++)
			json_array_append_new(acts, json_pack("{s:s, s:s}", "op", "delete",
							      "name", old[j].name));
		free(old);
	}

status:
	json_array_append_new(acts, json_pack("{s:s, s:o}", "op", "status", "status",
					      dep_status(d, v, v ? n : 0, newi, unavail, complete)));
out:
	free(v);
	json_decref(owned);
	json_decref(adopt);
	json_decref(release);
	return acts;
}

/* ---- controller ------------------------------------------------------------- */

static void on_dep(void *arg, const char *type, const json_t *old, const json_t *obj)
{
	ctrl_enqueue(arg, obj);
}

static void on_rs(void *arg, const char *type, const json_t *old, const json_t *obj)
{
	struct ctrl *c = arg;

	ctrl_enqueue_owner(c, obj, "Deployment");
	if (!ctrl_controller_ref(obj) && strcmp(type, "DELETED"))
		ctrl_enqueue_selecting(c, CK_DEPLOYMENT, obj);
}

/* Recreate waits for the old pods: their deletions must wake us up. */
static void on_pod(void *arg, const char *type, const json_t *old, const json_t *obj)
{
	struct ctrl *c = arg;
	const json_t *ref = ctrl_controller_ref(obj);
	json_t *rs;

	if (strcmp(type, "DELETED") || !ref ||
	    strcmp(json_string_value(json_object_get(ref, "kind")) ?: "", "ReplicaSet"))
		return;
	rs = informer_get(informers_get(c->inf, CK_REPLICASET), cj_str(obj, "metadata.namespace"),
			  json_string_value(json_object_get(ref, "name")));
	if (rs)
		ctrl_enqueue_owner(c, rs, "Deployment");
	json_decref(rs);
}

static int dep_setup(struct ctrl *c, struct gerr *err)
{
	int ret = informer_add_handler(informers_get(c->inf, CK_DEPLOYMENT), on_dep, c);

	ret = ret ?: informer_add_handler(informers_get(c->inf, CK_REPLICASET), on_rs, c);
	return ret ?: informer_add_handler(informers_get(c->inf, CK_POD), on_pod, c);
}

static int dep_sync(struct ctrl *c, struct apiclient *api, const char *key, struct gerr *err)
{
	char buf[512];
	const char *ns, *name;
	json_t *d, *rss = NULL, *pods = NULL, *acts = NULL, *a;
	size_t i;
	int ret = 0;

	snprintf(buf, sizeof(buf), "%s", key);
	ctrl_split_key(buf, &ns, &name);
	d = informer_get(informers_get(c->inf, CK_DEPLOYMENT), ns, name);
	if (!d)
		return 0;
	rss = informer_list(informers_get(c->inf, CK_REPLICASET), ns);
	/* Only Recreate looks at pods: spare the scan otherwise. */
	pods = strcmp(cj_str(d, "spec.strategy.type") ?: "", "Recreate") ? json_array() :
	       informer_list(informers_get(c->inf, CK_POD), ns);
	acts = dep_plan(d, rss, pods);
	json_array_foreach(acts, i, a) {
		const char *op = cj_str(a, "op"), *rsn = cj_str(a, "name");
		json_t *rs = rsn ? informer_get(informers_get(c->inf, CK_REPLICASET), ns, rsn) : NULL;
		json_t *patch = NULL;

		if (!strcmp(op, "adopt") || !strcmp(op, "release")) {
			if (rs)
				ret = ctrl_set_controller(c, api, CK_REPLICASET, rs,
							  !strcmp(op, "adopt") ? d : NULL, err);
		} else if (!strcmp(op, "create")) {
			ret = ctrl_write(c, api, CK_REPLICASET, "POST", ns, NULL, NULL,
					 json_object_get(a, "object"), NULL, NULL, err);
			if (ret == -EEXIST) {
				/* Same name, other template: a hash collision.
				 * Bump collisionCount so the next hash differs. */
				patch = json_pack("{s:{s:I}}", "status", "collisionCount",
						  (json_int_t)cj_int(d, "status.collisionCount", 0) + 1);
				ret = ctrl_write(c, api, CK_DEPLOYMENT, "PATCH", ns, name, "status",
						 patch, "merge", NULL, err);
				json_decref(patch);
				patch = NULL;
				json_decref(rs);
				break;
			}
			if (!ret)
				pr_info("deployment %s: created replicaset %s", key,
					cj_str(a, "object.metadata.name"));
		} else if (!strcmp(op, "scale")) {
			patch = json_pack("{s:{s:O}, s:{s:O}}", "metadata", "annotations",
					  json_object_get(a, "annotations"),
					  "spec", "replicas", json_object_get(a, "replicas"));
			ret = ctrl_write(c, api, CK_REPLICASET, "PATCH", ns, rsn, NULL, patch,
					 "merge", NULL, err);
			if (!ret && rs && cj_int(rs, "spec.replicas", 1) != cj_int(a, "replicas", 0))
				pr_info("deployment %s: scaled %s %lld -> %lld", key, rsn,
					cj_int(rs, "spec.replicas", 1), cj_int(a, "replicas", 0));
		} else if (!strcmp(op, "delete")) {
			ret = ctrl_write(c, api, CK_REPLICASET, "DELETE", ns, rsn, NULL, NULL, NULL,
					 NULL, err);
			if (ret == -ENOENT)
				ret = 0;
		} else if (!strcmp(op, "annotate")) {
			patch = json_pack("{s:{s:O}}", "metadata", "annotations",
					  json_object_get(a, "annotations"));
			ret = ctrl_write(c, api, CK_DEPLOYMENT, "PATCH", ns, name, NULL, patch,
					 "merge", NULL, err);
		} else if (!strcmp(op, "status")) {
			const json_t *cur = json_object_get(d, "status");
			json_t *st = json_object_get(a, "status");

			if (!ctrl_json_subset(st, cur)) {
				patch = json_pack("{s:O}", "status", st);
				ret = ctrl_write(c, api, CK_DEPLOYMENT, "PATCH", ns, name, "status",
						 patch, "merge", NULL, err);
			}
		}
		json_decref(patch);
		json_decref(rs);
		if (ret)
			break;
	}
	json_decref(acts);
	json_decref(rss);
	json_decref(pods);
	json_decref(d);
	return ret;
}

const struct ctrl_desc ctrl_deployment_desc = {
	.name = "deployment",
	.setup = dep_setup,
	.sync = dep_sync,
};

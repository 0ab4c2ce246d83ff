/* SPDX-License-Identifier: Apache-2.0 */
/* DaemonSet controller: one pod per eligible node (nodeSelector, taints
 * against the pod's tolerations plus those every DaemonSet pod gets), bound
 * directly through spec.nodeName so that it does not depend on the
 * scheduler; pods on ineligible or vanished nodes are deleted; template
 * changes roll out node by node within maxUnavailable (RollingUpdate) or
 * wait for manual deletion (OnDelete). */
#include "apiserver/controllers/ctrl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/selectors.h"

#define DS_HASH_LABEL "controller-revision-hash"

/* ---- pure part ------------------------------------------------------------- */

/* Tolerations the DaemonSet controller adds to every pod it creates. */
static json_t *ds_default_tolerations(void)
{
	return json_pack("[{s:s, s:s, s:s}, {s:s, s:s, s:s}, {s:s, s:s, s:s},"
			 " {s:s, s:s, s:s}, {s:s, s:s, s:s}, {s:s, s:s, s:s}]",
			 "key", "node.kubernetes.io/not-ready", "operator", "Exists", "effect", "NoExecute",
			 "key", NL_TAINT_UNREACHABLE, "operator", "Exists", "effect", "NoExecute",
			 "key", "node.kubernetes.io/disk-pressure", "operator", "Exists", "effect", "NoSchedule",
			 "key", "node.kubernetes.io/memory-pressure", "operator", "Exists", "effect", "NoSchedule",
			 "key", "node.kubernetes.io/pid-pressure", "operator", "Exists", "effect", "NoSchedule",
			 "key", "node.kubernetes.io/unschedulable", "operator", "Exists", "effect", "NoSchedule");
}

static bool tolerates(const json_t *tols, const json_t *taint)
{
	const char *tk = cj_str(taint, "key") ?: "", *tv = cj_str(taint, "value") ?: "",
		   *te = cj_str(taint, "effect") ?: "";
	size_t i;
	json_t *t;

	json_array_foreach(tols, i, t) {
		const char *k = cj_str(t, "key") ?: "", *op = cj_str(t, "operator") ?: "Equal",
			   *v = cj_str(t, "value") ?: "", *e = cj_str(t, "effect") ?: "";

		if (*e && strcmp(e, te))
			continue;
		if (!*k && !strcmp(op, "Exists"))
			return true;
		if (strcmp(k, tk))
			continue;
		if (!strcmp(op, "Exists") || !strcmp(v, tv))
			return true;
	}
	return false;
}

bool ds_node_eligible(const json_t *spec, const json_t *node, bool running)
{
	const json_t *ns = json_object_get(spec, "nodeSelector");
	const json_t *labels = sel_lookup_path(node, "metadata.labels");
	json_t *defs = ds_default_tolerations(), *t;
	const char *k;
	json_t *v;
	size_t i;
	bool ok = true;

	if (cj_str(node, "metadata.deletionTimestamp"))
		ok = false;
	json_object_foreach((json_t *)ns, k, v)
		if (!json_equal(v, json_object_get(labels, k)))
			ok = false;
	json_array_foreach(sel_lookup_path(node, "spec.taints"), i, t) {
		const char *e = cj_str(t, "effect") ?: "";

		if (!ok)
			break;
		/* A running pod only has to tolerate NoExecute taints
		 * (shouldContinueRunning); a new one NoSchedule too. */
		if (strcmp(e, "NoExecute") && (running || strcmp(e, "NoSchedule")))
			continue;
		if (!tolerates(json_object_get(spec, "tolerations"), t) && !tolerates(defs, t))
			ok = false;
	}
	json_decref(defs);
	return ok;
}

static json_t *ds_new_pod(const json_t *ds, const char *node, const char *hash)
{
	json_t *pod = rs_new_pod(ds), *labels, *tols, *defs, *t;
	json_t *md = json_object_get(pod, "metadata"), *spec = json_object_get(pod, "spec");
	size_t i;

	labels = json_object_get(md, "labels");
	if (!json_is_object(labels)) {
		labels = json_object();
		json_object_set_new(md, "labels", labels);
	}
	json_object_set_new(labels, DS_HASH_LABEL, json_string(hash));
	json_object_set_new(spec, "nodeName", json_string(node));
	tols = json_object_get(spec, "tolerations");
	if (!json_is_array(tols)) {
		tols = json_array();
		json_object_set_new(spec, "tolerations", tols);
	}
	defs = ds_default_tolerations();
	json_array_foreach(defs, i, t) {
		bool dup = false;
		size_t j;
		json_t *u;

		json_array_foreach(tols, j, u)
			dup |= json_equal(t, u);
		if (!dup)
			json_array_append(tols, t);
	}
	json_decref(defs);
	return pod;
}

json_t *ds_plan(const json_t *ds, const json_t *nodes, const json_t *pods, time_t now)
{
	json_t *acts = json_array(), *owned = json_array(), *adopt = json_array(),
	       *release = json_array(), *byn = json_object(), *x, *node;
	const json_t *spec = sel_lookup_path(ds, "spec.template.spec");
	int min_ready = (int)cj_int(ds, "spec.minReadySeconds", 0);
	int desired = 0, current = 0, missched = 0, ready = 0, updated = 0, avail = 0, unavail_now = 0;
	int max_unavail = 1;
	bool rolling = strcmp(cj_str(ds, "spec.updateStrategy.type") ?: "RollingUpdate", "OnDelete") != 0;
	char hash[16];
	const char *nn;
	size_t i;

	bool sel_ok = ctrl_claim(ds, sel_lookup_path(ds, "spec.selector"), pods, owned, adopt, release);

	json_array_foreach(adopt, i, x)
		json_array_append_new(acts, json_pack("{s:s, s:s}", "op", "adopt", "name",
						      cj_str(x, "metadata.name")));
	json_array_foreach(release, i, x)
		json_array_append_new(acts, json_pack("{s:s, s:s}", "op", "release", "name",
						      cj_str(x, "metadata.name")));
	if (!sel_ok || cj_str(ds, "metadata.deletionTimestamp"))
		goto out;
	dep_template_hash(sel_lookup_path(ds, "spec.template"),
			  cj_int(ds, "status.collisionCount", 0), hash, sizeof(hash));
	json_array_foreach(owned, i, x) {
		json_t *l;

		if (!ctrl_pod_active(x))
			continue;
		nn = cj_str(x, "spec.nodeName") ?: "";
		l = json_object_get(byn, nn);
		if (!l) {
			l = json_array();
			json_object_set_new(byn, nn, l);
		}
		json_array_append(l, x);
	}
	json_array_foreach(nodes, i, node)
		if (ds_node_eligible(spec, node,
				     json_array_size(json_object_get(byn, cj_str(node, "metadata.name") ?: ""))))
			desired++;
	if (rolling && ctrl_int_or_percent(sel_lookup_path(ds, "spec.updateStrategy.rollingUpdate.maxUnavailable"),
					   desired, true, &max_unavail) == 0 &&
	    !sel_lookup_path(ds, "spec.updateStrategy.rollingUpdate.maxUnavailable"))
		max_unavail = 1;
	if (max_unavail < 1)
		max_unavail = 1;
	/* First pass: counts and unavailability. */
	json_array_foreach(nodes, i, node) {
		json_t *l = json_object_get(byn, cj_str(node, "metadata.name") ?: "");

		if (!ds_node_eligible(spec, node, json_array_size(l) > 0))
			continue;
		if (!json_array_size(l) || !ctrl_pod_available(json_array_get(l, 0), min_ready, now))
			unavail_now++;
	}
	json_array_foreach(nodes, i, node) {
		const char *name = cj_str(node, "metadata.name") ?: "";
		json_t *l = json_object_get(byn, name), *p;
		bool elig = ds_node_eligible(spec, node, json_array_size(l) > 0);
		size_t j;

		if (!elig) {
			json_array_foreach(l, j, p) {
				missched++;
				json_array_append_new(acts, json_pack("{s:s, s:s}", "op", "delete", "name",
								      cj_str(p, "metadata.name")));
			}
			json_object_del(byn, name);
			continue;
		}
		if (!json_array_size(l)) {
			json_array_append_new(acts, json_pack("{s:s, s:s, s:o}", "op", "create", "node", name,
							      "object", ds_new_pod(ds, name, hash)));
			json_object_del(byn, name);
			continue;
		}
		current++;
		/* Duplicates: keep the first (any), delete the rest. */
		json_array_foreach(l, j, p)
			if (j > 0)
				json_array_append_new(acts, json_pack("{s:s, s:s}", "op", "delete", "name",
								      cj_str(p, "metadata.name")));
		p = json_array_get(l, 0);
		bool is_new = !strcmp(json_string_value(json_object_get(
				sel_lookup_path(p, "metadata.labels"), DS_HASH_LABEL)) ?: "", hash);
		bool av = ctrl_pod_available(p, min_ready, now);

		if (ctrl_pod_ready(p))
			ready++;
		if (av)
			avail++;
		if (is_new)
			updated++;
		if (rolling && !is_new) {
			/* Old pods that are not available anyway go at once;
			 * available ones while the budget allows. */
			if (!av) {
				json_array_append_new(acts, json_pack("{s:s, s:s}", "op", "delete", "name",
								      cj_str(p, "metadata.name")));
			} else if (unavail_now < max_unavail) {
				unavail_now++;
				json_array_append_new(acts, json_pack("{s:s, s:s}", "op", "delete", "name",
								      cj_str(p, "metadata.name")));
			}
		}
		json_object_del(byn, name);
	}
	/* Pods left over are on nodes that no longer exist. */
	{
		const char *k;
		json_t *l, *p;
		size_t j;

		json_object_foreach(byn, k, l)
			json_array_foreach(l, j, p) {
				missched++;
				json_array_append_new(acts, json_pack("{s:s, s:s}", "op", "delete", "name",
								      cj_str(p, "metadata.name")));
			}
	}
	json_array_append_new(acts, json_pack("{s:s, s:{s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:I}}",
		"op", "status", "status",
		"desiredNumberScheduled", desired, "currentNumberScheduled", current,
		"numberMisscheduled", missched, "numberReady", ready,
		"updatedNumberScheduled", updated, "numberAvailable", avail,
		"numberUnavailable", desired - avail,
		"observedGeneration", (json_int_t)cj_int(ds, "metadata.generation", 0)));
out:
	json_decref(owned);
	json_decref(adopt);
	json_decref(release);
	json_decref(byn);
	return acts;
}

/* ---- controller ------------------------------------------------------------- */

static void enqueue_all(struct ctrl *c)
{
	json_t *all = informer_list(informers_get(c->inf, CK_DAEMONSET), NULL), *ds;
	size_t i;

	json_array_foreach(all, i, ds)
		ctrl_enqueue(c, ds);
	json_decref(all);
}

static void on_ds(void *arg, const char *type, const json_t *old, const json_t *obj)
{
	ctrl_enqueue(arg, obj);
}

static void on_node(void *arg, const char *type, const json_t *old, const json_t *obj)
{
	/* Labels, taints or the node set changed: every DaemonSet may care. */
	if (old && !strcmp(type, "MODIFIED") &&
	    json_equal(sel_lookup_path(old, "metadata.labels"), sel_lookup_path(obj, "metadata.labels")) &&
	    json_equal(sel_lookup_path(old, "spec.taints"), sel_lookup_path(obj, "spec.taints")))
		return;
	enqueue_all(arg);
}

static void on_pod(void *arg, const char *type, const json_t *old, const json_t *obj)
{
	ctrl_enqueue_owner(arg, obj, "DaemonSet");
}

static int ds_setup(struct ctrl *c, struct gerr *err)
{
	int ret = informer_add_handler(informers_get(c->inf, CK_DAEMONSET), on_ds, c);

	ret = ret ?: informer_add_handler(informers_get(c->inf, CK_NODE), on_node, c);
	return ret ?: informer_add_handler(informers_get(c->inf, CK_POD), on_pod, c);
}

static int ds_sync(struct ctrl *c, struct apiclient *api, const char *key, struct gerr *err)
{
	char buf[512];
	const char *ns, *name;
	json_t *ds, *nodes, *pods, *acts, *a;
	size_t i;
	int ret = 0;

	snprintf(buf, sizeof(buf), "%s", key);
	ctrl_split_key(buf, &ns, &name);
	ds = informer_get(informers_get(c->inf, CK_DAEMONSET), ns, name);
	if (!ds)
		return 0;
	nodes = informer_list(informers_get(c->inf, CK_NODE), NULL);
	pods = informer_list(informers_get(c->inf, CK_POD), ns);
	acts = ds_plan(ds, nodes, pods, time(NULL));
	json_array_foreach(acts, i, a) {
		const char *op = cj_str(a, "op"), *pn = cj_str(a, "name");

		if (!strcmp(op, "adopt") || !strcmp(op, "release")) {
			json_t *p = informer_get(informers_get(c->inf, CK_POD), ns, pn);

			if (p)
				ret = ctrl_set_controller(c, api, CK_POD, p,
							  !strcmp(op, "adopt") ? ds : NULL, err);
			json_decref(p);
		} else if (!strcmp(op, "create")) {
			ret = ctrl_write(c, api, CK_POD, "POST", ns, NULL, NULL,
					 json_object_get(a, "object"), NULL, NULL, err);
			if (!ret)
				pr_info("daemonset %s: created pod on %s", key, cj_str(a, "node"));
		} else if (!strcmp(op, "delete")) {
			ret = ctrl_write(c, api, CK_POD, "DELETE", ns, pn, NULL, NULL, NULL, NULL, err);
			if (ret == -ENOENT)
				ret = 0;
		} else if (!strcmp(op, "status")) {
			json_t *st = json_object_get(a, "status");

			if (!ctrl_json_subset(st, json_object_get(ds, "status"))) {
				json_t *patch = json_pack("{s:O}", "status", st);

				ret = ctrl_write(c, api, CK_DAEMONSET, "PATCH", ns, name, "status",
						 patch, "merge", NULL, err);
				json_decref(patch);
			}
		}
		if (ret)
			break;
	}
	json_decref(acts);
	json_decref(nodes);
	json_decref(pods);
	json_decref(ds);
	return ret;
}

const struct ctrl_desc ctrl_daemonset_desc = {
	.name = "daemonset",
	.setup = ds_setup,
	.sync = ds_sync,
};

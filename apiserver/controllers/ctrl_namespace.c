/* SPDX-License-Identifier: Apache-2.0 */
/* Namespace controller: when a namespace is being deleted (deletionTimestamp
 * set while its "kubernetes" finalizer holds it) or is already gone (the
 * Gannet API server removes a namespace without finalizers at once), delete
 * every namespaced object in it, workloads first so that nothing recreates
 * pods meanwhile, then drop the finalizer so that the namespace goes. */
#include "apiserver/controllers/ctrl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NS_FINALIZER "kubernetes"

/* Deletion order: controllers before what they create. */
static const enum ctrl_kind_id ns_order[] = {
	CK_DEPLOYMENT, CK_DAEMONSET, CK_REPLICASET, CK_POD, CK_SERVICE, CK_ENDPOINTS,
	CK_INGRESS, CK_NETWORKPOLICY, CK_CONFIGMAP, CK_SECRET, CK_SERVICEACCOUNT,
	CK_ROLEBINDING, CK_ROLE, CK_LEASE,
};
#define NS_N (sizeof(ns_order) / sizeof(ns_order[0]))

static void on_ns(void *arg, const char *type, const json_t *old, const json_t *obj)
{
	if (!strcmp(type, "DELETED") || cj_str(obj, "metadata.deletionTimestamp"))
		ctrl_enqueue(arg, obj);
}

static int ns_setup(struct ctrl *c, struct gerr *err)
{
	informers_get(c->inf, CK_POD);
	informers_get(c->inf, CK_REPLICASET);
	informers_get(c->inf, CK_DEPLOYMENT);
	return informer_add_handler(informers_get(c->inf, CK_NAMESPACE), on_ns, c);
}

/* Objects left behind in namespaces deleted while we were not running. */
static void ns_start(struct ctrl *c)
{
	enum ctrl_kind_id ks[] = { CK_POD, CK_REPLICASET, CK_DEPLOYMENT };
	struct informer *nsi = informers_get(c->inf, CK_NAMESPACE);

	for (size_t k = 0; k < sizeof(ks) / sizeof(ks[0]); k++) {
		json_t *all = informer_list(informers_get(c->inf, ks[k]), NULL), *o, *ns;
		size_t i;

		json_array_foreach(all, i, o) {
			const char *n = cj_str(o, "metadata.namespace") ?: "";

			ns = informer_get(nsi, NULL, n);
			if (!ns)
				wq_add(c->q, n);
			json_decref(ns);
		}
		json_decref(all);
	}
	{
		json_t *all = informer_list(nsi, NULL), *o;
		size_t i;

		json_array_foreach(all, i, o)
			if (cj_str(o, "metadata.deletionTimestamp"))
				ctrl_enqueue(c, o);
		json_decref(all);
	}
}

static json_t *without(const json_t *arr, const char *s)
{
	json_t *out = json_array(), *v;
	size_t i;

	json_array_foreach(arr, i, v)
		if (strcmp(json_string_value(v) ?: "", s))
			json_array_append(out, v);
	return out;
}

static int ns_sync(struct ctrl *c, struct apiclient *api, const char *key, struct gerr *err)
{
	json_t *ns = informer_get(informers_get(c->inf, CK_NAMESPACE), NULL, key);
	bool left = false;
	int ret = 0;

	if (!*key || (ns && !cj_str(ns, "metadata.deletionTimestamp")))
		goto out;
	for (size_t i = 0; i < NS_N; i++) {
		const struct ctrl_kind *k = &ctrl_kinds[ns_order[i]];
		char path[512];
		struct api_resp r = { 0 };
		struct gerr e = { 0 };

		ctrl_kind_path(k, key, NULL, NULL, path, sizeof(path));
		if (apiclient_delete(api, path, &r, &e)) {
			ret = gerr_set(err, e.code, "%s", e.msg);
			goto out;
		}
		if (r.status == 403 || r.status == 404 || r.status == 405) {
			/* Not ours to delete (RBAC) or not served. */
			pr_debug("namespace %s: cannot delete %s: %ld %s", key, k->plural,
				 r.status, r.message);
		} else if (!api_ok(&r)) {
			pr_warn("namespace %s: delete %s: %ld %s", key, k->plural, r.status, r.message);
			left = true;
		} else if (json_array_size(json_object_get(r.body, "items"))) {
			pr_info("namespace %s: deleted %zu %s", key,
				json_array_size(json_object_get(r.body, "items")), k->plural);
		}
		api_resp_free(&r);
	}
	if (left) {
		ret = gerr_set(err, -EAGAIN, "namespace %s: objects remain", key);
		goto out;
	}
	if (ns) {
		const json_t *mf = sel_lookup_path(ns, "metadata.finalizers");
		const json_t *sf = sel_lookup_path(ns, "spec.finalizers");
		json_t *patch = json_pack("{s:{s:o}, s:{s:o}}", "metadata", "finalizers",
					  without(mf, NS_FINALIZER), "spec", "finalizers",
					  without(sf, NS_FINALIZER));

		ret = ctrl_write(c, api, CK_NAMESPACE, "PATCH", NULL, key, NULL, patch, "merge",
				 NULL, err);
		json_decref(patch);
		if (ret == -ENOENT)
			ret = 0;
	}
out:
	json_decref(ns);
	return ret;
}

const struct ctrl_desc ctrl_namespace_desc = {
	.name = "namespace",
	.setup = ns_setup,
	.start = ns_start,
	.sync = ns_sync,
};

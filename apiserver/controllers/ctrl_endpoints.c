/* SPDX-License-Identifier: Apache-2.0 */
/* Endpoints controller: for every Service with a selector, an Endpoints
 * object of the same name listing the selected pods: ready pods under
 * addresses, pods not Ready or terminating (deletionTimestamp) under
 * notReadyAddresses (unless publishNotReadyAddresses), with each Service
 * port's targetPort resolved per pod (a name maps to that pod's container
 * port of that name, so pods that number it differently land in separate
 * subsets, as Kubernetes' RepackSubsets does). Services without a selector
 * keep hand-written Endpoints; a deleted Service's Endpoints go. Writes
 * happen only when the computed object differs from the cached one. */
#include "apiserver/controllers/ctrl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/selectors.h"

/* ---- pure part ------------------------------------------------------------- */

bool ep_selector_matches(const json_t *selector, const json_t *labels)
{
	const char *k;
	json_t *v;

	if (!json_is_object(selector) || json_object_size(selector) == 0)
		return false;
	json_object_foreach((json_t *)selector, k, v) {
		const json_t *l = json_object_get(labels, k);

		if (!json_is_string(l) || !json_equal(l, v))
			return false;
	}
	return true;
}

/* The port number targetPort (int or name) means on pod, for protocol;
 * 0 when the pod has no such named port. */
int ep_resolve_port(const json_t *pod, const json_t *target_port, const char *protocol)
{
	size_t i, j;
	json_t *c, *p;

	if (json_is_integer(target_port))
		return (int)json_integer_value(target_port);
	if (!json_is_string(target_port))
		return 0;
	json_array_foreach(sel_lookup_path(pod, "spec.containers"), i, c) {
		json_array_foreach(json_object_get(c, "ports"), j, p) {
			const char *pr = json_string_value(json_object_get(p, "protocol")) ?: "TCP";

			if (!strcmp(json_string_value(json_object_get(p, "name")) ?: "",
				    json_string_value(target_port)) &&
			    !strcmp(pr, protocol))
				return (int)json_integer_value(json_object_get(p, "containerPort"));
		}
	}
	return 0;
}

static int addr_cmp(const void *a, const void *b)
{
	const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	int r = strcmp(json_string_value(json_object_get(x, "ip")) ?: "",
		       json_string_value(json_object_get(y, "ip")) ?: "");

	return r ? r : strcmp(cj_str(x, "targetRef.name") ?: "", cj_str(y, "targetRef.name") ?: "");
}

static int strcmp_ptr(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static json_t *sorted_array(json_t *arr)
{
	size_t n = json_array_size(arr), i;
	json_t **v = calloc(n ? n : 1, sizeof(*v));
	json_t *out = json_array();

	for (i = 0; i < n; i++)
		v[i] = json_array_get(arr, i);
	qsort(v, n, sizeof(*v), addr_cmp);
	for (i = 0; i < n; i++)
		json_array_append(out, v[i]);
	free(v);
	json_decref(arr);
	return out;
}

static json_t *pod_address(const json_t *svc, const json_t *pod)
{
	const char *node = cj_str(pod, "spec.nodeName");
	const char *host = cj_str(pod, "spec.hostname");
	const char *sub = cj_str(pod, "spec.subdomain");
	json_t *a = json_pack("{s:s, s:{s:s, s:s, s:s, s:s}}",
			      "ip", cj_str(pod, "status.podIP"),
			      "targetRef", "kind", "Pod",
			      "namespace", cj_str(pod, "metadata.namespace") ?: "",
			      "name", cj_str(pod, "metadata.name") ?: "",
			      "uid", cj_str(pod, "metadata.uid") ?: "");

	if (node && *node)
		json_object_set_new(a, "nodeName", json_string(node));
	/* DNS A records for <hostname>.<subdomain>.<ns>.svc when the pod names
	 * this Service as its subdomain. */
	if (host && *host && sub && !strcmp(sub, cj_str(svc, "metadata.name") ?: ""))
		json_object_set_new(a, "hostname", json_string(host));
	return a;
}

json_t *ep_compute_subsets(const json_t *svc, const json_t *pods)
{
	const json_t *selector = sel_lookup_path(svc, "spec.selector");
	const json_t *ports = sel_lookup_path(svc, "spec.ports");
	bool publish = json_is_true(sel_lookup_path(svc, "spec.publishNotReadyAddresses"));
	const char *ns = cj_str(svc, "metadata.namespace") ?: "";
	/* port-set key (serialized ports array) -> {ports, addresses, notReady} */
	json_t *groups = json_object(), *subsets = json_array(), *pod, *g;
	const char **keys = NULL;
	size_t i, j, nk = 0;

	json_array_foreach(pods, i, pod) {
		const char *ip = cj_str(pod, "status.podIP");
		const char *ph = cj_str(pod, "status.phase") ?: "";
		json_t *eports = json_array(), *sp;
		bool ready;
		char *key;

		if (strcmp(cj_str(pod, "metadata.namespace") ?: "", ns) ||
		    !ep_selector_matches(selector, sel_lookup_path(pod, "metadata.labels")) ||
		    !ip || !*ip || !strcmp(ph, "Succeeded") || !strcmp(ph, "Failed")) {
			json_decref(eports);
			continue;
		}
		json_array_foreach(ports, j, sp) {
			const char *proto = json_string_value(json_object_get(sp, "protocol")) ?: "TCP";
			const json_t *tp = json_object_get(sp, "targetPort");
			int port = ep_resolve_port(pod, tp ? tp : json_object_get(sp, "port"), proto);
			json_t *ep;

			if (port <= 0)
				continue;   /* the pod does not serve this named port */
			ep = json_pack("{s:i, s:s}", "port", port, "protocol", proto);
			if (json_string_value(json_object_get(sp, "name")) &&
			    *json_string_value(json_object_get(sp, "name")))
				json_object_set(ep, "name", json_object_get(sp, "name"));
			if (json_object_get(sp, "appProtocol"))
				json_object_set(ep, "appProtocol", json_object_get(sp, "appProtocol"));
			json_array_append_new(eports, ep);
		}
		/* A pod serving none of several ports is no endpoint; a Service
		 * without ports (headless) lists pods with no ports. */
		if (json_array_size(ports) > 0 && json_array_size(eports) == 0) {
			json_decref(eports);
			continue;
		}
		ready = publish || (ctrl_pod_ready(pod) && !cj_str(pod, "metadata.deletionTimestamp"));
		key = json_dumps(eports, JSON_SORT_KEYS | JSON_COMPACT);
		g = json_object_get(groups, key);
		if (!g) {
			g = json_pack("{s:o, s:[], s:[]}", "ports", eports, "addresses",
				      "notReadyAddresses");
			json_object_set_new(groups, key, g);
		} else {
			json_decref(eports);
		}
		json_array_append_new(json_object_get(g, ready ? "addresses" : "notReadyAddresses"),
				      pod_address(svc, pod));
		free(key);
	}
	/* Subsets in port-key order, addresses by IP: stable output, so an
	 * unchanged set of pods never causes a write. */
	keys = calloc(json_object_size(groups) + 1, sizeof(*keys));
	{
		const char *k;

		json_object_foreach(groups, k, g)
			keys[nk++] = k;
	}
	qsort(keys, nk, sizeof(*keys), strcmp_ptr);
	for (i = 0; i < nk; i++) {
		json_t *s = json_object();
		json_t *a, *na;

		g = json_object_get(groups, keys[i]);
		a = sorted_array(json_incref(json_object_get(g, "addresses")));
		na = sorted_array(json_incref(json_object_get(g, "notReadyAddresses")));
		if (json_array_size(a))
			json_object_set(s, "addresses", a);
		if (json_array_size(na))
			json_object_set(s, "notReadyAddresses", na);
		if (json_array_size(json_object_get(g, "ports")))
			json_object_set(s, "ports", json_object_get(g, "ports"));
		json_decref(a);
		json_decref(na);
		json_array_append_new(subsets, s);
	}
	free(keys);
	json_decref(groups);
	return subsets;
}

json_t *ep_desired(const json_t *svc, const json_t *pods)
{
	json_t *labels = json_deep_copy(sel_lookup_path(svc, "metadata.labels"));
	const char *cip = cj_str(svc, "spec.clusterIP");

	if (!json_is_object(labels)) {
		json_decref(labels);
		labels = json_object();
	}
	if (cip && !strcmp(cip, "None"))
		json_object_set_new(labels, "service.kubernetes.io/headless", json_string(""));
	return json_pack("{s:s, s:s, s:{s:s, s:s, s:o}, s:o}", "apiVersion", "v1",
			 "kind", "Endpoints", "metadata",
			 "name", cj_str(svc, "metadata.name") ?: "",
			 "namespace", cj_str(svc, "metadata.namespace") ?: "",
			 "labels", labels, "subsets", ep_compute_subsets(svc, pods));
}

bool ep_up_to_date(const json_t *cur, const json_t *want)
{
	const json_t *cs = json_object_get(cur, "subsets");
	const json_t *ws = json_object_get(want, "subsets");
	const json_t *cl = sel_lookup_path(cur, "metadata.labels");
	const json_t *wl = sel_lookup_path(want, "metadata.labels");

	if (!cur)
		return false;
	/* Absent and empty are the same list / map. */
	if (!(json_array_size(cs) == 0 && json_array_size(ws) == 0) && !json_equal(cs, ws))
		return false;
	if (!(json_object_size(cl) == 0 && json_object_size(wl) == 0) && !json_equal(cl, wl))
		return false;
	return true;
}

/* ---- controller ------------------------------------------------------------- */

static void on_svc(void *arg, const char *type, const json_t *old, const json_t *obj)
{
	ctrl_enqueue(arg, obj);
}

/* Every Service of the pod's namespace that selects it now or did before. */
static void on_pod(void *arg, const char *type, const json_t *old, const json_t *obj)
{
	struct ctrl *c = arg;
	json_t *svcs = informer_list(informers_get(c->inf, CK_SERVICE),
				     cj_str(obj, "metadata.namespace"));
	size_t i;
	json_t *s;

	json_array_foreach(svcs, i, s) {
		const json_t *sel = sel_lookup_path(s, "spec.selector");

		if (ep_selector_matches(sel, sel_lookup_path(obj, "metadata.labels")) ||
		    (old && ep_selector_matches(sel, sel_lookup_path(old, "metadata.labels"))))
			ctrl_enqueue(c, s);
	}
	json_decref(svcs);
}

static int ep_setup(struct ctrl *c, struct gerr *err)
{
	int ret = informer_add_handler(informers_get(c->inf, CK_SERVICE), on_svc, c);

	if (!ret)
		ret = informer_add_handler(informers_get(c->inf, CK_POD), on_pod, c);
	if (!ret)
		informers_get(c->inf, CK_ENDPOINTS);
	return ret;
}

/* Endpoints left behind by Services deleted while no controller ran. */
static void ep_start(struct ctrl *c)
{
	json_t *eps = informer_list(informers_get(c->inf, CK_ENDPOINTS), NULL);
	size_t i;
	json_t *e;

	json_array_foreach(eps, i, e) {
		json_t *svc = informer_get(informers_get(c->inf, CK_SERVICE),
					   cj_str(e, "metadata.namespace"), cj_str(e, "metadata.name"));

		if (!svc)
			ctrl_enqueue(c, e);
		json_decref(svc);
	}
	json_decref(eps);
}

static int ep_sync(struct ctrl *c, struct apiclient *api, const char *key, struct gerr *err)
{
	char buf[512];
	const char *ns, *name;
	json_t *svc, *cur, *pods = NULL, *want = NULL;
	int ret = 0;

	snprintf(buf, sizeof(buf), "%s", key);
	ctrl_split_key(buf, &ns, &name);
	svc = informer_get(informers_get(c->inf, CK_SERVICE), ns, name);
	cur = informer_get(informers_get(c->inf, CK_ENDPOINTS), ns, name);
	if (!svc) {
		if (cur) {
			ret = ctrl_write(c, api, CK_ENDPOINTS, "DELETE", ns, name, NULL, NULL, NULL,
					 NULL, err);
			if (ret == -ENOENT)
				ret = 0;
			if (!ret)
				pr_info("endpoints %s: deleted with its service", key);
		}
		goto out;
	}
	/* No selector (or ExternalName): the Endpoints are the user's. */
	if (json_object_size(sel_lookup_path(svc, "spec.selector")) == 0 ||
	    !strcmp(cj_str(svc, "spec.type") ?: "", "ExternalName"))
		goto out;
	pods = informer_list(informers_get(c->inf, CK_POD), ns);
	want = ep_desired(svc, pods);
	if (ep_up_to_date(cur, want))
		goto out;
	if (!cur) {
		ret = ctrl_write(c, api, CK_ENDPOINTS, "POST", ns, NULL, NULL, want, NULL, NULL, err);
	} else {
		/* Guarded by the cached resourceVersion: a conflict requeues. */
		json_object_set_new(json_object_get(want, "metadata"), "resourceVersion",
				    json_string(cj_str(cur, "metadata.resourceVersion") ?: ""));
		ret = ctrl_write(c, api, CK_ENDPOINTS, "PUT", ns, name, NULL, want, NULL, NULL, err);
	}
	if (!ret)
		pr_debug("endpoints %s: %zu subsets written", key,
			 json_array_size(json_object_get(want, "subsets")));
out:
	json_decref(want);
	json_decref(pods);
	json_decref(cur);
	json_decref(svc);
	return ret;
}

const struct ctrl_desc ctrl_endpoints_desc = {
	.name = "endpoints",
	.setup = ep_setup,
	.start = ep_start,
	.sync = ep_sync,
};

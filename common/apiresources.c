/* SPDX-License-Identifier: Apache-2.0 */
/* Resource-kind mapping from discovery with a built-in fallback
 * (see apiresources.h). */
#include "common/apiresources.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "common/apiclient.h"

/* ---- built-in table --------------------------------------------------- */

struct builtin {
	const char *kind, *group, *version, *plural, *singular;
	bool namespaced;
	const char *shorts[APIRES_MAX_SHORT];
};

static const struct builtin builtins[] = {
	{ "Namespace", "", "v1", "namespaces", "namespace", false, { "ns" } },
	{ "Pod", "", "v1", "pods", "pod", true, { "po" } },
	{ "Service", "", "v1", "services", "service", true, { "svc" } },
	{ "Endpoints", "", "v1", "endpoints", "endpoints", true, { "ep" } },
	{ "Node", "", "v1", "nodes", "node", false, { "no" } },
	{ "ConfigMap", "", "v1", "configmaps", "configmap", true, { "cm" } },
	{ "Secret", "", "v1", "secrets", "secret", true, { 0 } },
	{ "ServiceAccount", "", "v1", "serviceaccounts", "serviceaccount", true, { "sa" } },
	{ "Event", "", "v1", "events", "event", true, { "ev" } },
	{ "Deployment", "apps", "v1", "deployments", "deployment", true, { "deploy" } },
	{ "ReplicaSet", "apps", "v1", "replicasets", "replicaset", true, { "rs" } },
	{ "DaemonSet", "apps", "v1", "daemonsets", "daemonset", true, { "ds" } },
	{ "NetworkPolicy", "networking.k8s.io", "v1", "networkpolicies", "networkpolicy", true, { "netpol" } },
	{ "Ingress", "networking.k8s.io", "v1", "ingresses", "ingress", true, { "ing" } },
	{ "IngressClass", "networking.k8s.io", "v1", "ingressclasses", "ingressclass", false, { 0 } },
	{ "Role", "rbac.authorization.k8s.io", "v1", "roles", "role", true, { 0 } },
	{ "RoleBinding", "rbac.authorization.k8s.io", "v1", "rolebindings", "rolebinding", true, { 0 } },
	{ "ClusterRole", "rbac.authorization.k8s.io", "v1", "clusterroles", "clusterrole", false, { 0 } },
	{ "ClusterRoleBinding", "rbac.authorization.k8s.io", "v1", "clusterrolebindings", "clusterrolebinding", false, { 0 } },
	{ "Lease", "coordination.k8s.io", "v1", "leases", "lease", true, { 0 } },
};

int apires_builtin(struct api_resources *rs)
{
	for (size_t i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++) {
		const struct builtin *b = &builtins[i];
		struct api_resource r = { .namespaced = b->namespaced };
		int ret;

		snprintf(r.kind, sizeof(r.kind), "%s", b->kind);
		snprintf(r.group, sizeof(r.group), "%s", b->group);
		snprintf(r.version, sizeof(r.version), "%s", b->version);
		snprintf(r.plural, sizeof(r.plural), "%s", b->plural);
		snprintf(r.singular, sizeof(r.singular), "%s", b->singular);
		for (int s = 0; s < APIRES_MAX_SHORT && b->shorts[s]; s++)
			snprintf(r.short_names[r.n_short++], sizeof(r.short_names[0]),
				 "%s", b->shorts[s]);
		ret = apires_add(rs, &r);
		if (ret)
			return ret;
	}
	return 0;
}

int apires_add(struct api_resources *rs, const struct api_resource *r)
{
	for (size_t i = 0; i < rs->n; i++) {
		if (!strcmp(rs->items[i].group, r->group) &&
		    !strcmp(rs->items[i].plural, r->plural)) {
			rs->items[i] = *r;
			return 0;
		}
	}
	if (rs->n == rs->cap) {
		size_t cap = rs->cap ? rs->cap * 2 : 32;
		struct api_resource *np = realloc(rs->items, cap * sizeof(*np));

		if (!np)
			return -ENOMEM;
		rs->items = np;
		rs->cap = cap;
	}
	rs->items[rs->n++] = *r;
	return 0;
}

void apires_free(struct api_resources *rs)
{
	free(rs->items);
	memset(rs, 0, sizeof(*rs));
}

/* ---- discovery -------------------------------------------------------- */

/* One APIResourceList (the answer of /api/v1 or /apis/g/v). */
static int add_resource_list(struct api_resources *rs, const json_t *list,
			     const char *group, const char *version)
{
	const json_t *arr = json_object_get(list, "resources"), *it;
	size_t i;

	json_array_foreach(arr, i, it) {
		const char *name = json_string_value(json_object_get(it, "name"));
		const char *kind = json_string_value(json_object_get(it, "kind"));
		const char *sing = json_string_value(json_object_get(it, "singularName"));
		const json_t *shorts = json_object_get(it, "shortNames"), *s;
		struct api_resource r = { 0 };
		size_t j;
		int ret;

		/* "pods/status" etc. are subresources, not resources. */
		if (!name || !kind || strchr(name, '/'))
			continue;
		snprintf(r.kind, sizeof(r.kind), "%s", kind);
		snprintf(r.group, sizeof(r.group), "%s", group);
		snprintf(r.version, sizeof(r.version), "%s", version);
		snprintf(r.plural, sizeof(r.plural), "%s", name);
		if (sing && *sing) {
			snprintf(r.singular, sizeof(r.singular), "%s", sing);
		} else {
			/* Discovery may omit it: derive from the kind. */
			for (size_t k = 0; kind[k] && k + 1 < sizeof(r.singular); k++)
				r.singular[k] = (char)(kind[k] >= 'A' && kind[k] <= 'Z' ?
						       kind[k] - 'A' + 'a' : kind[k]);
		}
		r.namespaced = json_is_true(json_object_get(it, "namespaced"));
		json_array_foreach(shorts, j, s) {
			if (r.n_short < APIRES_MAX_SHORT && json_string_value(s))
				snprintf(r.short_names[r.n_short++], sizeof(r.short_names[0]),
					 "%s", json_string_value(s));
		}
		/* Keep the built-in short names when the server lists none. */
		if (!r.n_short) {
			for (size_t k = 0; k < rs->n; k++) {
				if (!strcmp(rs->items[k].group, r.group) &&
				    !strcmp(rs->items[k].plural, r.plural)) {
					memcpy(r.short_names, rs->items[k].short_names,
					       sizeof(r.short_names));
					r.n_short = rs->items[k].n_short;
				}
			}
		}
		ret = apires_add(rs, &r);
		if (ret)
			return ret;
	}
	return 0;
}

int apires_discover(struct apiclient *c, struct api_resources *rs,
		    struct gerr *err)
{
	struct api_resp r = { 0 };
	struct gerr e = { 0 };
	const json_t *groups, *g;
	size_t i;
	int ret;

	ret = apires_builtin(rs);
	if (ret)
		return gerr_set(err, ret, "out of memory");
	if (apiclient_get(c, "/api/v1", &r, &e) == 0 && api_ok(&r) && r.body) {
		ret = add_resource_list(rs, r.body, "", "v1");
	} else {
		pr_debug("discovery /api/v1 unavailable: %s",
			 e.code ? e.msg : r.message);
		/* A transport error here will recur on the real request, with
		 * a better message there; do not try the other groups. */
		api_resp_free(&r);
		return 0;
	}
	api_resp_free(&r);
	if (ret)
		return gerr_set(err, ret, "out of memory");
	e.code = 0;
	if (apiclient_get(c, "/apis", &r, &e) || !api_ok(&r) || !r.body) {
		pr_debug("discovery /apis unavailable");
		api_resp_free(&r);
		return 0;
	}
	groups = json_object_get(r.body, "groups");
	json_array_foreach(groups, i, g) {
		const char *name = json_string_value(json_object_get(g, "name"));
		const json_t *pv = json_object_get(g, "preferredVersion");
		const char *ver = json_string_value(json_object_get(pv, "version"));
		struct api_resp gr = { 0 };
		char path[256];

		if (!ver) {
			const json_t *v0 = json_array_get(json_object_get(g, "versions"), 0);

			ver = json_string_value(json_object_get(v0, "version"));
		}
		if (!name || !ver)
			continue;
		snprintf(path, sizeof(path), "/apis/%s/%s", name, ver);
		e.code = 0;
		if (apiclient_get(c, path, &gr, &e) == 0 && api_ok(&gr) && gr.body)
			ret = add_resource_list(rs, gr.body, name, ver);
		api_resp_free(&gr);
		if (ret)
			break;
	}
	api_resp_free(&r);
	if (ret)
		return gerr_set(err, ret, "out of memory");
	return 0;
}

/* ---- lookups ---------------------------------------------------------- */

static int group_rank(const char *g)
{
	if (!*g)
		return 0;
	if (!strcmp(g, "apps"))
		return 1;
	return 2;
}

const struct api_resource *apires_find(const struct api_resources *rs,
				       const char *name)
{
	const struct api_resource *best = NULL;
	char base[128];
	const char *group = NULL, *dot;

	/* "deployments.apps": the part after the first dot is the group. */
	dot = strchr(name, '.');
	if (dot) {
		snprintf(base, sizeof(base), "%.*s", (int)(dot - name), name);
		group = dot + 1;
	} else {
		snprintf(base, sizeof(base), "%s", name);
	}
	for (size_t i = 0; i < rs->n; i++) {
		const struct api_resource *r = &rs->items[i];
		bool match = !strcasecmp(base, r->plural) ||
			     !strcasecmp(base, r->singular) ||
			     !strcasecmp(base, r->kind);

		for (int s = 0; !match && s < r->n_short; s++)
			match = !strcasecmp(base, r->short_names[s]);
		if (!match)
			continue;
		if (group && strcasecmp(group, r->group))
			continue;
		if (!best || group_rank(r->group) < group_rank(best->group))
			best = r;
	}
	return best;
}

const struct api_resource *apires_find_gvk(const struct api_resources *rs,
					   const char *api_version,
					   const char *kind)
{
	char group[96] = "";
	const char *slash = strchr(api_version, '/');
	const char *version = api_version;

	if (slash) {
		snprintf(group, sizeof(group), "%.*s", (int)(slash - api_version),
			 api_version);
		version = slash + 1;
	}
	for (size_t i = 0; i < rs->n; i++) {
		const struct api_resource *r = &rs->items[i];

		if (!strcmp(r->kind, kind) && !strcmp(r->group, group) &&
		    !strcmp(r->version, version))
			return r;
	}
	return NULL;
}

void apires_api_version(const struct api_resource *r, char *buf, size_t len)
{
	if (r->group[0])
		snprintf(buf, len, "%s/%s", r->group, r->version);
	else
		snprintf(buf, len, "%s", r->version);
}

int apires_path(const struct api_resource *r, const char *ns, const char *name,
		char *buf, size_t len)
{
	int n;

	if (r->group[0])
		n = snprintf(buf, len, "/apis/%s/%s", r->group, r->version);
	else
		n = snprintf(buf, len, "/api/%s", r->version);
	if (r->namespaced && ns && *ns)
		n += snprintf(buf + n, n < (int)len ? len - n : 0, "/namespaces/%s", ns);
	n += snprintf(buf + n, n < (int)len ? len - n : 0, "/%s", r->plural);
	if (name && *name)
		n += snprintf(buf + n, n < (int)len ? len - n : 0, "/%s", name);
	return n < (int)len ? 0 : -ENAMETOOLONG;
}

void apires_display(const struct api_resource *r, char *buf, size_t len)
{
	char kind[64];
	size_t i;

	for (i = 0; r->kind[i] && i + 1 < sizeof(kind); i++)
		kind[i] = (char)(r->kind[i] >= 'A' && r->kind[i] <= 'Z' ?
				 r->kind[i] - 'A' + 'a' : r->kind[i]);
	kind[i] = 0;
	if (r->group[0])
		snprintf(buf, len, "%s.%s", kind, r->group);
	else
		snprintf(buf, len, "%s", kind);
}

/* SPDX-License-Identifier: Apache-2.0 */
/* RBAC authorization with Kubernetes semantics (rbac.authorization.k8s.io/v1):
 *  - a PolicyRule grants when verbs, apiGroups, resources ("pods",
 *    "pods/status", "*", or "*" + "/status" for that subresource of every
 *    resource) and resourceNames all match, or, for non-resource requests,
 *    when verbs and nonResourceURLs ("/metrics", "*", or a prefix ending in
 *    "*" such as "/healthz/" + "*") match;
 *  - ClusterRoleBindings grant everywhere; RoleBindings grant only inside
 *    their namespace, whether they reference a Role (of that namespace) or
 *    a ClusterRole; non-resource URLs are only granted cluster-wide;
 *  - subjects are User, Group or ServiceAccount (namespace defaulting to
 *    the binding's);
 *  - a ClusterRole with an aggregationRule also grants what every
 *    ClusterRole matched by its clusterRoleSelectors grants (evaluated at
 *    request time: there is no aggregation controller writing the rules);
 *  - deny by default; the group system:masters is always allowed;
 *  - node restriction: node agents may only write their own Node and
 *    Lease (see rbac_node_restricted).
 * The index holds deep copies of the objects as the API server's watch
 * cache reports them, under a rwlock: many concurrent readers, rare writers. */
#include "apiserver/auth.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Aggregated roles may aggregate aggregated roles (admin <- edit <- view);
 * bound the recursion so a selector cycle cannot loop. */
#define RBAC_MAX_AGG_DEPTH 4

struct rbac {
	pthread_rwlock_t lock;
	json_t *croles;   /* name -> ClusterRole */
	json_t *crbs;     /* name -> ClusterRoleBinding */
	json_t *roles;    /* namespace -> { name -> Role } */
	json_t *rbs;      /* namespace -> { name -> RoleBinding } */
};

struct rbac *rbac_new(void)
{
	struct rbac *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->croles = json_object();
	r->crbs = json_object();
	r->roles = json_object();
	r->rbs = json_object();
	if (!r->croles || !r->crbs || !r->roles || !r->rbs) {
		rbac_free(r);
		return NULL;
	}
	pthread_rwlock_init(&r->lock, NULL);
	return r;
}

void rbac_free(struct rbac *r)
{
	if (!r)
		return;
	json_decref(r->croles);
	json_decref(r->crbs);
	json_decref(r->roles);
	json_decref(r->rbs);
	pthread_rwlock_destroy(&r->lock);
	free(r);
}

/* ---- index maintenance ------------------------------------------------ */

static const char *rbac_str(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

void rbac_observe(struct rbac *r, const char *kind, const json_t *obj, bool deleted)
{
	const json_t *meta = json_object_get(obj, "metadata");
	const char *name = rbac_str(meta, "name"), *ns = rbac_str(meta, "namespace");
	json_t *table = NULL, *copy = NULL;
	bool namespaced;

	if (!r || !obj)
		return;
	if (!kind)
		kind = rbac_str(obj, "kind");
	if (!kind || !name || !*name)
		return;
	if (!strcmp(kind, "ClusterRole")) {
		table = r->croles;
		namespaced = false;
	} else if (!strcmp(kind, "ClusterRoleBinding")) {
		table = r->crbs;
		namespaced = false;
	} else if (!strcmp(kind, "Role")) {
		table = r->roles;
		namespaced = true;
	} else if (!strcmp(kind, "RoleBinding")) {
		table = r->rbs;
		namespaced = true;
	} else {
		return;
	}
	if (namespaced && (!ns || !*ns)) {
		pr_warn("rbac: %s %s without namespace ignored", kind, name);
		return;
	}
	/* Copy outside the lock: the caller may keep mutating obj. */
	if (!deleted && !(copy = json_deep_copy(obj))) {
		pr_err("rbac: out of memory indexing %s %s", kind, name);
		return;
	}

	pthread_rwlock_wrlock(&r->lock);
	if (namespaced) {
		json_t *top = table, *sub = json_object_get(top, ns);

		if (deleted) {
			json_object_del(sub, name);
			if (sub && json_object_size(sub) == 0)
				json_object_del(top, ns);
			goto out;
		}
		if (!sub) {
			sub = json_object();
			if (!sub || json_object_set_new(top, ns, sub)) {
				pr_err("rbac: out of memory indexing %s %s", kind, name);
				json_decref(copy);
				goto out;
			}
		}
		table = sub;
	}
	if (deleted)
		json_object_del(table, name);
	else if (json_object_set_new(table, name, copy))
		pr_err("rbac: out of memory indexing %s %s", kind, name);
out:
	pthread_rwlock_unlock(&r->lock);
}

/* ---- matching --------------------------------------------------------- */

/* true when the JSON string array contains "*" or s. */
static bool rbac_list_has(const json_t *arr, const char *s)
{
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v) {
		const char *e = json_string_value(v);

		if (e && (!strcmp(e, "*") || !strcmp(e, s)))
			return true;
	}
	return false;
}

static bool rbac_resource_match(const json_t *rule, const struct authz_attrs *a)
{
	const json_t *res = json_object_get(rule, "resources");
	const char *sub = a->subresource && *a->subresource ? a->subresource : NULL;
	char combined[512];
	size_t i;
	json_t *v;

	if (sub)
		snprintf(combined, sizeof(combined), "%s/%s", a->resource, sub);
	else
		snprintf(combined, sizeof(combined), "%s", a->resource);
	json_array_foreach(res, i, v) {
		const char *e = json_string_value(v);

		if (!e)
			continue;
		if (!strcmp(e, "*") || !strcmp(e, combined))
			return true;
		/* "*" + "/sub" grants that subresource of every resource. */
		if (sub && e[0] == '*' && e[1] == '/' && !strcmp(e + 2, sub))
			return true;
	}
	return false;
}

static bool rbac_names_match(const json_t *rule, const char *name)
{
	const json_t *names = json_object_get(rule, "resourceNames");
	size_t i;
	json_t *v;

	if (json_array_size(names) == 0)
		return true;
	/* A name-restricted rule never grants collections (list, create,
	 * deletecollection without a name). */
	if (!name || !*name)
		return false;
	json_array_foreach(names, i, v) {
		const char *e = json_string_value(v);

		if (e && !strcmp(e, name))
			return true;
	}
	return false;
}

static bool rbac_url_match(const json_t *rule, const char *path)
{
	const json_t *urls = json_object_get(rule, "nonResourceURLs");
	size_t i;
	json_t *v;

	json_array_foreach(urls, i, v) {
		const char *e = json_string_value(v);
		size_t n;

		if (!e)
			continue;
		if (!strcmp(e, "*") || !strcmp(e, path))
			return true;
		n = strlen(e);
		if (n && e[n - 1] == '*' && !strncmp(e, path, n - 1))
			return true;
	}
	return false;
}

static bool rbac_is_resource(const struct authz_attrs *a)
{
	return a->resource && *a->resource;
}

static bool rbac_rule_allows(const json_t *rule, const struct authz_attrs *a)
{
	if (!rbac_list_has(json_object_get(rule, "verbs"), a->verb))
		return false;
	if (!rbac_is_resource(a))
		return rbac_url_match(rule, a->path);
	return rbac_list_has(json_object_get(rule, "apiGroups"),
			     a->api_group ? a->api_group : "") &&
	       rbac_resource_match(rule, a) && rbac_names_match(rule, a->name);
}

/* metav1.LabelSelector against a labels object: matchLabels and
 * matchExpressions (In, NotIn, Exists, DoesNotExist). */
static bool rbac_selector_match(const json_t *sel, const json_t *labels)
{
	const json_t *ml = json_object_get(sel, "matchLabels");
	const json_t *exprs = json_object_get(sel, "matchExpressions");
	const char *k;
	json_t *v;
	size_t i;

	if (!json_is_object(sel))
		return false;
	json_object_foreach((json_t *)ml, k, v) {
		const char *have = rbac_str(labels, k);

		if (!have || !json_is_string(v) || strcmp(have, json_string_value(v)))
			return false;
	}
	json_array_foreach(exprs, i, v) {
		const char *key = rbac_str(v, "key"), *op = rbac_str(v, "operator");
		const char *have = key ? rbac_str(labels, key) : NULL;
		const json_t *vals = json_object_get(v, "values");
		bool in = false;
		size_t j;
		json_t *x;

		if (!key || !op)
			return false;
		json_array_foreach(vals, j, x) {
			if (have && json_is_string(x) && !strcmp(have, json_string_value(x)))
				in = true;
		}
		if ((!strcmp(op, "In") && !in) || (!strcmp(op, "NotIn") && in) ||
		    (!strcmp(op, "Exists") && !have) || (!strcmp(op, "DoesNotExist") && have))
			return false;
		if (strcmp(op, "In") && strcmp(op, "NotIn") && strcmp(op, "Exists") &&
		    strcmp(op, "DoesNotExist"))
			return false;
	}
	return true;
}

/* Called with the read lock held. */
static bool rbac_role_allows(struct rbac *r, const json_t *role, const struct authz_attrs *a,
			     int depth)
{
	const json_t *agg, *sels;
	const char *self, *name;
	json_t *rule, *cr, *sel;
	size_t i, j;

	json_array_foreach(json_object_get(role, "rules"), i, rule) {
		if (rbac_rule_allows(rule, a))
			return true;
	}
	agg = json_object_get(role, "aggregationRule");
	sels = json_object_get(agg, "clusterRoleSelectors");
	if (!json_array_size(sels) || depth >= RBAC_MAX_AGG_DEPTH)
		return false;
	self = rbac_str(json_object_get(role, "metadata"), "name");
	json_object_foreach(r->croles, name, cr) {
		const json_t *labels = json_object_get(json_object_get(cr, "metadata"), "labels");

		if (self && !strcmp(name, self))
			continue;
		json_array_foreach(sels, j, sel) {
			if (rbac_selector_match(sel, labels)) {
				if (rbac_role_allows(r, cr, a, depth + 1))
					return true;
				break;
			}
		}
	}
	return false;
}

static bool rbac_in_group(const struct auth_user *u, const char *g)
{
	for (int i = 0; i < u->n_groups && i < AUTH_MAX_GROUPS; i++) {
		if (!strcmp(u->groups[i], g))
			return true;
	}
	return false;
}

/* Returns the matching subject's kind, or NULL. */
static const char *rbac_binding_applies(const json_t *binding, const char *binding_ns,
					const struct auth_user *u)
{
	json_t *s;
	size_t i;

	json_array_foreach(json_object_get(binding, "subjects"), i, s) {
		const char *kind = rbac_str(s, "kind"), *name = rbac_str(s, "name");

		if (!kind || !name)
			continue;
		if (!strcmp(kind, "User") && !strcmp(name, u->name))
			return kind;
		if (!strcmp(kind, "Group") && rbac_in_group(u, name))
			return kind;
		if (!strcmp(kind, "ServiceAccount")) {
			const char *ns = rbac_str(s, "namespace");
			char sa[600];

			if (!ns || !*ns)
				ns = binding_ns;
			if (!ns || !*ns)
				continue;
			snprintf(sa, sizeof(sa), "system:serviceaccount:%s:%s", ns, name);
			if (!strcmp(sa, u->name))
				return kind;
		}
	}
	return NULL;
}

/* Evaluate every binding in table (name -> binding). ns is the bindings'
 * namespace ("" for ClusterRoleBindings). */
static bool rbac_eval_bindings(struct rbac *r, const json_t *table, const char *ns,
			       const struct auth_user *u, const struct authz_attrs *a,
			       char *reason, size_t reason_len)
{
	const char *bname;
	json_t *b;

	json_object_foreach((json_t *)table, bname, b) {
		const json_t *ref = json_object_get(b, "roleRef");
		const char *rkind = rbac_str(ref, "kind"), *rname = rbac_str(ref, "name");
		const char *skind;
		const json_t *role = NULL;

		if (!rkind || !rname || !(skind = rbac_binding_applies(b, ns, u)))
			continue;
		if (!strcmp(rkind, "ClusterRole"))
			role = json_object_get(r->croles, rname);
		else if (!strcmp(rkind, "Role") && *ns)
			role = json_object_get(json_object_get(r->roles, ns), rname);
		if (!role || !rbac_role_allows(r, role, a, 0))
			continue;
		if (reason && reason_len) {
			if (*ns)
				snprintf(reason, reason_len,
					 "RBAC: allowed by RoleBinding \"%s/%s\" of %s \"%s\" to %s",
					 ns, bname, rkind, rname, skind);
			else
				snprintf(reason, reason_len,
					 "RBAC: allowed by ClusterRoleBinding \"%s\" of %s \"%s\" to %s",
					 bname, rkind, rname, skind);
		}
		return true;
	}
	return false;
}

/* Node restriction (Kubernetes' NodeRestriction, the part that needs no
 * pod graph): a node agent, user system:node:<n> in group system:nodes,
 * may write only its own Node object (and status) and its own Lease, even
 * though the system:node role grants these verbs on every node. A create
 * whose name the server did not pass cannot be checked and is let
 * through. Returns true (and fills reason) when the request must be
 * refused. */
static bool rbac_node_restricted(const struct auth_user *u, const struct authz_attrs *a,
				 char *reason, size_t reason_len)
{
	static const char pfx[] = "system:node:";
	const char *node = u->name + sizeof(pfx) - 1;
	const char *g = a->api_group ? a->api_group : "";
	bool own;

	if (strncmp(u->name, pfx, sizeof(pfx) - 1) || !*node || !rbac_in_group(u, "system:nodes") ||
	    !rbac_is_resource(a))
		return false;
	if (!(!strcmp(g, "") && !strcmp(a->resource, "nodes")) &&
	    !(!strcmp(g, "coordination.k8s.io") && !strcmp(a->resource, "leases")))
		return false;
	if (strcmp(a->verb, "create") && strcmp(a->verb, "update") && strcmp(a->verb, "patch") &&
	    strcmp(a->verb, "delete") && strcmp(a->verb, "deletecollection"))
		return false;
	if (!strcmp(a->verb, "create") && (!a->name || !*a->name))
		return false;
	own = a->name && !strcmp(a->name, node);
	if (!own && reason && reason_len)
		snprintf(reason, reason_len, "node \"%s\" may only modify its own %s object, not \"%s\"",
			 node, a->resource, a->name ? a->name : "(all)");
	return !own;
}

bool rbac_authorize(struct rbac *r, const struct auth_user *u,
		    const struct authz_attrs *a, char *reason, size_t reason_len)
{
	bool resource, ok = false;

	if (reason && reason_len)
		reason[0] = '\0';
	if (!r || !u || !a || !a->verb || !*a->verb || !u->name[0])
		goto deny;
	resource = rbac_is_resource(a);
	if (!resource && (!a->path || !*a->path))
		goto deny;
	if (rbac_in_group(u, "system:masters")) {
		if (reason && reason_len)
			snprintf(reason, reason_len, "RBAC: allowed: member of system:masters");
		return true;
	}
	pthread_rwlock_rdlock(&r->lock);
	ok = rbac_eval_bindings(r, r->crbs, "", u, a, reason, reason_len);
	/* Namespaced bindings only grant resources inside their namespace. */
	if (!ok && resource && a->ns && *a->ns) {
		const json_t *nsb = json_object_get(r->rbs, a->ns);

		if (nsb)
			ok = rbac_eval_bindings(r, nsb, a->ns, u, a, reason, reason_len);
	}
	pthread_rwlock_unlock(&r->lock);
	if (ok && !rbac_node_restricted(u, a, reason, reason_len))
		return true;
	if (ok)
		return false;   /* reason set by rbac_node_restricted */
deny:
	if (!reason || !reason_len)
		return false;
	if (!u || !a || !a->verb) {
		snprintf(reason, reason_len, "forbidden: incomplete request attributes");
	} else if (!rbac_is_resource(a)) {
		snprintf(reason, reason_len, "User \"%s\" cannot %s path \"%s\"", u->name,
			 a->verb, a->path ? a->path : "");
	} else {
		char scope[300];

		if (a->ns && *a->ns)
			snprintf(scope, sizeof(scope), "in the namespace \"%s\"", a->ns);
		else
			snprintf(scope, sizeof(scope), "at the cluster scope");
		snprintf(reason, reason_len,
			 "User \"%s\" cannot %s resource \"%s%s%s\" in API group \"%s\" %s",
			 u->name, a->verb, a->resource,
			 a->subresource && *a->subresource ? "/" : "",
			 a->subresource && *a->subresource ? a->subresource : "",
			 a->api_group ? a->api_group : "", scope);
	}
	return false;
}

/* ---- escalation prevention -------------------------------------------- */

/* Append deep copies of role's effective rules (own + aggregated) to out.
 * Called with the read lock held. */
static void rbac_collect_rules(struct rbac *r, const json_t *role, json_t *out, int depth)
{
	const json_t *sels = json_object_get(json_object_get(role, "aggregationRule"),
					     "clusterRoleSelectors");
	const char *self = rbac_str(json_object_get(role, "metadata"), "name"), *name;
	json_t *rule, *cr, *sel;
	size_t i, j;

	json_array_foreach(json_object_get(role, "rules"), i, rule)
		json_array_append_new(out, json_deep_copy(rule));
	if (!json_array_size(sels) || depth >= RBAC_MAX_AGG_DEPTH)
		return;
	json_object_foreach(r->croles, name, cr) {
		const json_t *labels = json_object_get(json_object_get(cr, "metadata"), "labels");

		if (self && !strcmp(name, self))
			continue;
		json_array_foreach(sels, j, sel) {
			if (rbac_selector_match(sel, labels)) {
				rbac_collect_rules(r, cr, out, depth + 1);
				break;
			}
		}
	}
}

static bool rbac_check_one(struct rbac *r, const struct auth_user *u, const struct authz_attrs *a,
			   char *reason, size_t reason_len)
{
	char why[512];

	if (rbac_authorize(r, u, a, why, sizeof(why)))
		return true;
	if (reason && reason_len)
		snprintf(reason, reason_len, "attempt to grant extra privileges: %s", why);
	return false;
}

/* true when u holds every permission rule grants, in namespace ns ("" =
 * cluster scope). Each (verb, group, resource[, name]) of the rule is
 * checked as a request whose attributes are the rule's literal strings,
 * so a "*" in the rule needs a "*" in what the user holds. */
static bool rbac_user_covers(struct rbac *r, const struct auth_user *u, const json_t *rule,
			     const char *ns, char *reason, size_t reason_len)
{
	const json_t *verbs = json_object_get(rule, "verbs");
	const json_t *urls = json_object_get(rule, "nonResourceURLs");
	const json_t *names = json_object_get(rule, "resourceNames");
	json_t *v, *g, *res, *x;
	size_t i, j, k, l;

	json_array_foreach(verbs, i, v) {
		const char *verb = json_string_value(v);

		if (!verb)
			continue;
		json_array_foreach(urls, j, x) {
			struct authz_attrs a = { verb, NULL, NULL, NULL, NULL, NULL, json_string_value(x) };

			if (a.path && !rbac_check_one(r, u, &a, reason, reason_len))
				return false;
		}
		json_array_foreach(json_object_get(rule, "apiGroups"), j, g) {
			json_array_foreach(json_object_get(rule, "resources"), k, res) {
				const char *rs = json_string_value(res), *slash;
				char resource[256];
				struct authz_attrs a = { verb, json_string_value(g), resource, NULL,
							 ns, NULL, NULL };

				if (!rs || !a.api_group)
					continue;
				slash = strchr(rs, '/');
				snprintf(resource, sizeof(resource), "%.*s",
					 (int)(slash ? (size_t)(slash - rs) : strlen(rs)), rs);
				a.subresource = slash ? slash + 1 : NULL;
				if (!json_array_size(names)) {
					if (!rbac_check_one(r, u, &a, reason, reason_len))
						return false;
					continue;
				}
				json_array_foreach(names, l, x) {
					a.name = json_string_value(x);
					if (a.name && !rbac_check_one(r, u, &a, reason, reason_len))
						return false;
				}
			}
		}
	}
	return true;
}

bool rbac_check_escalation(struct rbac *r, const struct auth_user *u, const char *kind,
			   const json_t *obj, char *reason, size_t reason_len)
{
	const json_t *meta = json_object_get(obj, "metadata");
	const char *name = rbac_str(meta, "name"), *ns = rbac_str(meta, "namespace");
	bool cluster, ok = true;
	json_t *rules = NULL, *rule;
	size_t i;

	if (reason && reason_len)
		reason[0] = '\0';
	if (!r || !u || !obj)
		return false;
	if (!kind)
		kind = rbac_str(obj, "kind");
	if (!kind)
		return false;
	if (rbac_in_group(u, "system:masters"))
		return true;
	if (!name)
		name = "";

	if (!strcmp(kind, "Role") || !strcmp(kind, "ClusterRole")) {
		struct authz_attrs esc = { "escalate", "rbac.authorization.k8s.io", NULL, NULL,
					   NULL, name, NULL };

		cluster = !strcmp(kind, "ClusterRole");
		esc.resource = cluster ? "clusterroles" : "roles";
		esc.ns = cluster ? "" : (ns ? ns : "");
		if (rbac_authorize(r, u, &esc, NULL, 0))
			return true;
		if (cluster && json_array_size(json_object_get(json_object_get(obj, "aggregationRule"),
							       "clusterRoleSelectors"))) {
			if (reason && reason_len)
				snprintf(reason, reason_len, "User \"%s\" must have the escalate "
					 "permission on clusterroles to use aggregationRule", u->name);
			return false;
		}
		json_array_foreach(json_object_get(obj, "rules"), i, rule) {
			if (!rbac_user_covers(r, u, rule, esc.ns, reason, reason_len))
				return false;
		}
		return true;
	}
	if (!strcmp(kind, "RoleBinding") || !strcmp(kind, "ClusterRoleBinding")) {
		const json_t *ref = json_object_get(obj, "roleRef");
		const char *rkind = rbac_str(ref, "kind"), *rname = rbac_str(ref, "name");
		struct authz_attrs bind = { "bind", "rbac.authorization.k8s.io", NULL, NULL,
					    NULL, rname, NULL };
		const json_t *role = NULL;

		cluster = !strcmp(kind, "ClusterRoleBinding");
		if (!rkind || !rname || (strcmp(rkind, "Role") && strcmp(rkind, "ClusterRole")) ||
		    (cluster && strcmp(rkind, "ClusterRole"))) {
			if (reason && reason_len)
				snprintf(reason, reason_len, "%s: invalid roleRef", kind);
			return false;
		}
		bind.resource = !strcmp(rkind, "ClusterRole") ? "clusterroles" : "roles";
		bind.ns = cluster ? "" : (ns ? ns : "");
		if (rbac_authorize(r, u, &bind, NULL, 0))
			return true;
		rules = json_array();
		pthread_rwlock_rdlock(&r->lock);
		if (!strcmp(rkind, "ClusterRole"))
			role = json_object_get(r->croles, rname);
		else
			role = json_object_get(json_object_get(r->roles, bind.ns), rname);
		if (role && rules)
			rbac_collect_rules(r, role, rules, 0);
		pthread_rwlock_unlock(&r->lock);
		if (!role || !rules) {
			if (reason && reason_len)
				snprintf(reason, reason_len, "%s \"%s\" not found and User \"%s\" "
					 "may not bind it", rkind, rname, u->name);
			json_decref(rules);
			return false;
		}
		json_array_foreach(rules, i, rule) {
			if (!rbac_user_covers(r, u, rule, bind.ns, reason, reason_len)) {
				ok = false;
				break;
			}
		}
		json_decref(rules);
		return ok;
	}
	return true;
}

/* ---- bootstrap policy ------------------------------------------------- */

/* Comma-separated list -> JSON string array; empty fields are kept, so
 * "" gives [""] (the core API group) and ",apps" gives ["", "apps"]. */
static json_t *rbac_strs(const char *list)
{
	json_t *arr = json_array();
	const char *p = list;

	for (;;) {
		const char *c = strchr(p, ',');
		size_t n = c ? (size_t)(c - p) : strlen(p);

		json_array_append_new(arr, json_stringn(p, n));
		if (!c)
			break;
		p = c + 1;
	}
	return arr;
}

static json_t *rbac_rule(const char *groups, const char *resources, const char *verbs)
{
	return json_pack("{s:o, s:o, s:o}", "apiGroups", rbac_strs(groups),
			 "resources", rbac_strs(resources), "verbs", rbac_strs(verbs));
}

static json_t *rbac_url_rule(const char *urls, const char *verbs)
{
	return json_pack("{s:o, s:o}", "nonResourceURLs", rbac_strs(urls), "verbs", rbac_strs(verbs));
}

static json_t *rbac_meta(const char *name, json_t *extra_labels)
{
	json_t *labels = json_pack("{s:s}", "kubernetes.io/bootstrapping", "rbac-defaults");

	if (extra_labels) {
		json_object_update(labels, extra_labels);
		json_decref(extra_labels);
	}
	return json_pack("{s:s, s:o, s:{s:s}}", "name", name, "labels", labels, "annotations",
			 "rbac.authorization.kubernetes.io/autoupdate", "true");
}

/* rules: array (stolen); agg_label: the label an aggregated role selects
 * ("rbac.authorization.k8s.io/aggregate-to-X"), or NULL. */
static json_t *rbac_crole(const char *name, json_t *labels, json_t *rules, const char *agg_label)
{
	json_t *o = json_pack("{s:s, s:s, s:o, s:o}", "apiVersion", "rbac.authorization.k8s.io/v1",
			      "kind", "ClusterRole", "metadata", rbac_meta(name, labels),
			      "rules", rules);

	if (o && agg_label)
		json_object_set_new(o, "aggregationRule",
				    json_pack("{s:[{s:{s:s}}]}", "clusterRoleSelectors",
					      "matchLabels", agg_label, "true"));
	return o;
}

static json_t *rbac_crb(const char *name, const char *role, const char *skind,
			const char *subject)
{
	return json_pack("{s:s, s:s, s:o, s:{s:s, s:s, s:s}, s:[{s:s, s:s, s:s}]}",
			 "apiVersion", "rbac.authorization.k8s.io/v1", "kind", "ClusterRoleBinding",
			 "metadata", rbac_meta(name, NULL),
			 "roleRef", "apiGroup", "rbac.authorization.k8s.io", "kind", "ClusterRole",
			 "name", role,
			 "subjects", "apiGroup", "rbac.authorization.k8s.io", "kind", skind,
			 "name", subject);
}

#define AGG(x) "rbac.authorization.k8s.io/aggregate-to-" x
#define RO     "get,list,watch"
#define RW     "create,delete,deletecollection,patch,update"

json_t *rbac_bootstrap_objects(void)
{
	json_t *o = json_array();

	if (!o)
		return NULL;
	/* Superuser. */
	json_array_append_new(o, rbac_crole("cluster-admin", NULL,
		json_pack("[o, o]", rbac_rule("*", "*", "*"), rbac_url_rule("*", "*")), NULL));

	/* Discovery, version and health for every authenticated user
	 * (kubectl needs discovery before anything else). */
	json_array_append_new(o, rbac_crole("system:discovery", NULL,
		json_pack("[o]", rbac_url_rule("/api,/api/*,/apis,/apis/*,/version,/version/,"
					       "/openapi,/openapi/*", "get")), NULL));
	json_array_append_new(o, rbac_crole("system:public-info-viewer", NULL,
		json_pack("[o]", rbac_url_rule("/healthz,/livez,/readyz,/version,/version/", "get")),
		NULL));
	json_array_append_new(o, rbac_crole("system:basic-user", NULL,
		json_pack("[o]", rbac_rule("authorization.k8s.io",
					   "selfsubjectaccessreviews,selfsubjectrulesreviews",
					   "create")), NULL));

	/* User-facing roles, aggregated as in Kubernetes: admin gathers
	 * everything labelled aggregate-to-admin (including edit), edit
	 * gathers aggregate-to-edit (including view), view aggregate-to-view. */
	json_array_append_new(o, rbac_crole("admin", NULL, json_array(), AGG("admin")));
	json_array_append_new(o, rbac_crole("edit", json_pack("{s:s}", AGG("admin"), "true"),
					    json_array(), AGG("edit")));
	json_array_append_new(o, rbac_crole("view", json_pack("{s:s}", AGG("edit"), "true"),
					    json_array(), AGG("view")));
	json_array_append_new(o, rbac_crole("system:aggregate-to-view",
		json_pack("{s:s}", AGG("view"), "true"),
		json_pack("[o, o, o, o, o]",
			  rbac_rule("", "pods,pods/log,pods/status,services,services/status,"
				    "endpoints,configmaps,serviceaccounts,events,"
				    "persistentvolumeclaims,persistentvolumeclaims/status,"
				    "replicationcontrollers,replicationcontrollers/status,"
				    "replicationcontrollers/scale,limitranges,resourcequotas,"
				    "resourcequotas/status", RO),
			  rbac_rule("", "namespaces,namespaces/status", RO),
			  rbac_rule("apps", "deployments,deployments/status,deployments/scale,"
				    "replicasets,replicasets/status,replicasets/scale,"
				    "daemonsets,daemonsets/status,statefulsets,statefulsets/status,"
				    "statefulsets/scale,controllerrevisions", RO),
			  rbac_rule("networking.k8s.io", "networkpolicies,ingresses,ingresses/status", RO),
			  rbac_rule("discovery.k8s.io", "endpointslices", RO)), NULL));
	json_array_append_new(o, rbac_crole("system:aggregate-to-edit",
		json_pack("{s:s}", AGG("edit"), "true"),
		json_pack("[o, o, o, o, o, o]",
			  rbac_rule("", "pods,pods/attach,pods/exec,pods/portforward,pods/proxy,"
				    "services,services/proxy,endpoints,configmaps,secrets,"
				    "serviceaccounts,persistentvolumeclaims,replicationcontrollers,"
				    "replicationcontrollers/scale", RW),
			  rbac_rule("", "secrets,pods/attach,pods/exec,pods/portforward,pods/proxy,"
				    "services/proxy", RO),
			  rbac_rule("apps", "deployments,deployments/scale,deployments/rollback,"
				    "replicasets,replicasets/scale,daemonsets,statefulsets,"
				    "statefulsets/scale", RW),
			  rbac_rule("networking.k8s.io", "networkpolicies,ingresses", RW),
			  rbac_rule("coordination.k8s.io", "leases", RO ",create,update,patch,delete"),
			  rbac_rule("discovery.k8s.io", "endpointslices", RW)), NULL));
	json_array_append_new(o, rbac_crole("system:aggregate-to-admin",
		json_pack("{s:s}", AGG("admin"), "true"),
		json_pack("[o, o]",
			  rbac_rule("rbac.authorization.k8s.io", "roles,rolebindings", RO "," RW),
			  rbac_rule("authorization.k8s.io", "localsubjectaccessreviews", "create")),
		NULL));

	/* Node agents (group system:nodes): watch what they run and route,
	 * report node and pod status, heartbeat through leases. */
	json_array_append_new(o, rbac_crole("system:node", NULL,
		json_pack("[o, o, o, o, o, o, o, o, o, o]",
			  rbac_rule("", "pods,nodes,services,endpoints,configmaps,secrets,"
				    "namespaces,serviceaccounts", RO),
			  rbac_rule("networking.k8s.io", "networkpolicies,ingresses,ingressclasses", RO),
			  rbac_rule("discovery.k8s.io", "endpointslices", RO),
			  rbac_rule("", "nodes,nodes/status", "create,update,patch"),
			  rbac_rule("", "pods/status", "update,patch"),
			  /* Agents finish graceful deletion of their pods. */
			  rbac_rule("", "pods", "delete"),
			  rbac_rule("networking.k8s.io", "ingresses/status", "update,patch"),
			  rbac_rule("coordination.k8s.io", "leases", RO ",create,update,patch"),
			  rbac_rule("", "events", "create,update,patch"),
			  rbac_rule("events.k8s.io", "events", "create,update,patch")), NULL));

	/* In-process control loops may also run out of process. */
	json_array_append_new(o, rbac_crole("system:kube-scheduler", NULL,
		json_pack("[o, o, o, o, o, o]",
			  rbac_rule("", "pods,nodes,namespaces,services", RO),
			  rbac_rule("", "pods/binding,bindings", "create"),
			  rbac_rule("", "pods/status", "update,patch"),
			  rbac_rule("apps", "replicasets,daemonsets,statefulsets", RO),
			  rbac_rule("coordination.k8s.io", "leases", RO ",create,update,patch"),
			  rbac_rule(",events.k8s.io", "events", "create,update,patch")), NULL));
	json_array_append_new(o, rbac_crole("system:kube-controller-manager", NULL,
		json_pack("[o, o, o, o, o, o, o]",
			  rbac_rule("", "pods,pods/status,services,services/status,endpoints,"
				    "nodes,nodes/status,namespaces,namespaces/status,"
				    "namespaces/finalize,configmaps,secrets,serviceaccounts,"
				    "events", "*"),
			  rbac_rule("apps", "*", "*"),
			  rbac_rule("discovery.k8s.io", "endpointslices", "*"),
			  rbac_rule("coordination.k8s.io", "leases", "*"),
			  /* delete: the namespace controller empties deleted namespaces. */
			  rbac_rule("networking.k8s.io", "networkpolicies,ingresses,ingresses/status",
				    RO ",delete,deletecollection"),
			  rbac_rule("rbac.authorization.k8s.io", "roles,rolebindings",
				    RO ",delete,deletecollection"),
			  rbac_rule("events.k8s.io", "events", "create,update,patch")), NULL));

	json_array_append_new(o, rbac_crb("cluster-admin", "cluster-admin", "Group", "system:masters"));
	json_array_append_new(o, rbac_crb("system:discovery", "system:discovery", "Group",
					  "system:authenticated"));
	json_array_append_new(o, rbac_crb("system:public-info-viewer", "system:public-info-viewer",
					  "Group", "system:authenticated"));
	json_array_append_new(o, rbac_crb("system:basic-user", "system:basic-user", "Group",
					  "system:authenticated"));
	json_array_append_new(o, rbac_crb("system:node", "system:node", "Group", "system:nodes"));
	json_array_append_new(o, rbac_crb("system:kube-scheduler", "system:kube-scheduler", "User",
					  "system:kube-scheduler"));
	json_array_append_new(o, rbac_crb("system:kube-controller-manager",
					  "system:kube-controller-manager", "User",
					  "system:kube-controller-manager"));
	/* json_pack returns NULL on allocation failure, and
	 * json_array_append_new(NULL) fails: make that visible. */
	if (json_array_size(o) != 20) {
		json_decref(o);
		return NULL;
	}
	return o;
}

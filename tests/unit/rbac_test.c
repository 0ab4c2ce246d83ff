/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for apiserver/rbac.c: a grant/deny table over wildcards,
 * resourceNames, subresources, namespaced vs cluster bindings, non-resource
 * URLs, groups and service accounts; index updates and deletes; the
 * bootstrap policy (admin/edit/view aggregation, system:node, discovery);
 * reason strings; concurrent readers and writers. */
#include <pthread.h>
#include <stdlib.h>

#include "apiserver/auth.h"
#include "tests/unit/test.h"

static struct rbac *R;

static void load(struct rbac *r, const char *kind, const char *json)
{
	json_error_t je;
	json_t *o = json_loads(json, 0, &je);

	if (!o) {
		fprintf(stderr, "bad fixture JSON: %s: %s\n", je.text, json);
		t_failed++;
		return;
	}
	rbac_observe(r, kind, o, false);
	json_decref(o);
}

static struct auth_user mkuser(const char *name, const char *g1, const char *g2)
{
	struct auth_user u;

	memset(&u, 0, sizeof(u));
	snprintf(u.name, sizeof(u.name), "%s", name);
	if (g1)
		snprintf(u.groups[u.n_groups++], sizeof(u.groups[0]), "%s", g1);
	if (g2)
		snprintf(u.groups[u.n_groups++], sizeof(u.groups[0]), "%s", g2);
	snprintf(u.groups[u.n_groups++], sizeof(u.groups[0]), "system:authenticated");
	return u;
}

#define CR(name, rules) \
	"{\"kind\":\"ClusterRole\",\"metadata\":{\"name\":\"" name "\"},\"rules\":" rules "}"
#define ROLE(ns, name, rules) \
	"{\"kind\":\"Role\",\"metadata\":{\"name\":\"" name "\",\"namespace\":\"" ns "\"},\"rules\":" rules "}"
#define SUBJ(kind, name) "{\"kind\":\"" kind "\",\"name\":\"" name "\"}"
#define SUBJ_NS(kind, name, ns) "{\"kind\":\"" kind "\",\"name\":\"" name "\",\"namespace\":\"" ns "\"}"
#define CRB(name, rkind, role, subj) \
	"{\"kind\":\"ClusterRoleBinding\",\"metadata\":{\"name\":\"" name "\"}," \
	"\"roleRef\":{\"kind\":\"" rkind "\",\"name\":\"" role "\"},\"subjects\":[" subj "]}"
#define RB(ns, name, rkind, role, subj) \
	"{\"kind\":\"RoleBinding\",\"metadata\":{\"name\":\"" name "\",\"namespace\":\"" ns "\"}," \
	"\"roleRef\":{\"kind\":\"" rkind "\",\"name\":\"" role "\"},\"subjects\":[" subj "]}"

static void test_setup(void)
{
	R = rbac_new();
	CHECK(R != NULL);
	/* kind NULL: taken from the object */
	load(R, NULL, CR("pod-reader", "[{\"apiGroups\":[\"\"],\"resources\":[\"pods\"],"
		       "\"verbs\":[\"get\",\"list\",\"watch\"]}]"));
	load(R, "ClusterRole", CR("apps-all", "[{\"apiGroups\":[\"apps\"],\"resources\":[\"*\"],"
		"\"verbs\":[\"*\"]}]"));
	load(R, "ClusterRole", CR("status-updater", "[{\"apiGroups\":[\"*\"],"
		"\"resources\":[\"*/status\"],\"verbs\":[\"update\"]}]"));
	load(R, "ClusterRole", CR("metrics-reader", "[{\"nonResourceURLs\":[\"/metrics\","
		"\"/debug/*\"],\"verbs\":[\"get\"]}]"));
	load(R, "ClusterRole", CR("cm-named", "[{\"apiGroups\":[\"\"],\"resources\":[\"configmaps\"],"
		"\"resourceNames\":[\"app-config\"],\"verbs\":[\"get\",\"update\"]}]"));
	load(R, "ClusterRole", CR("node-status", "[{\"apiGroups\":[\"\"],"
		"\"resources\":[\"nodes/status\"],\"verbs\":[\"patch\"]}]"));
	load(R, "Role", ROLE("dev", "secret-reader", "[{\"apiGroups\":[\"\"],"
		"\"resources\":[\"secrets\"],\"verbs\":[\"get\"]}]"));
	load(R, "Role", ROLE("prod", "secret-reader", "[{\"apiGroups\":[\"\"],"
		"\"resources\":[\"secrets\"],\"verbs\":[\"get\",\"delete\"]}]"));

	load(R, "ClusterRoleBinding", CRB("alice-pods", "ClusterRole", "pod-reader", SUBJ("User", "alice")));
	load(R, "RoleBinding", RB("dev", "bob-apps", "ClusterRole", "apps-all", SUBJ("User", "bob")));
	load(R, "RoleBinding", RB("dev", "dev-secrets", "Role", "secret-reader", SUBJ("Group", "developers")));
	load(R, "ClusterRoleBinding", CRB("ops-metrics", "ClusterRole", "metrics-reader", SUBJ("Group", "ops")));
	load(R, "RoleBinding", RB("dev", "bob-metrics", "ClusterRole", "metrics-reader", SUBJ("User", "bob")));
	load(R, "ClusterRoleBinding", CRB("sa-status", "ClusterRole", "status-updater",
		SUBJ_NS("ServiceAccount", "ctrl", "kube-system")));
	load(R, "RoleBinding", RB("dev", "sa-cm", "ClusterRole", "cm-named", SUBJ("ServiceAccount", "builder")));
	load(R, "RoleBinding", RB("dev", "dangling", "Role", "missing", SUBJ("User", "carol")));
	load(R, "ClusterRoleBinding", CRB("nodes", "ClusterRole", "node-status", SUBJ("Group", "system:nodes")));
	/* A ClusterRoleBinding cannot reference a Role. */
	load(R, "ClusterRoleBinding", CRB("bad-ref", "Role", "secret-reader", SUBJ("User", "dave")));
	/* Garbage is ignored, not fatal. */
	load(R, "RoleBinding", "{\"kind\":\"RoleBinding\",\"metadata\":{\"name\":\"nons\"}}");
	load(R, "Pod", "{\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\"}}");
}

struct rcase {
	int line;
	const char *user;   /* key into users() */
	const char *verb, *group, *resource, *sub, *ns, *name, *path;
	bool allow;
};

static struct auth_user user_for(const char *key)
{
	if (!strcmp(key, "eve"))
		return mkuser("eve", "developers", NULL);
	if (!strcmp(key, "olga"))
		return mkuser("olga", "ops", NULL);
	if (!strcmp(key, "sa-ctrl"))
		return mkuser("system:serviceaccount:kube-system:ctrl", "system:serviceaccounts",
			      "system:serviceaccounts:kube-system");
	if (!strcmp(key, "sa-builder-dev"))
		return mkuser("system:serviceaccount:dev:builder", "system:serviceaccounts",
			      "system:serviceaccounts:dev");
	if (!strcmp(key, "sa-builder-prod"))
		return mkuser("system:serviceaccount:prod:builder", "system:serviceaccounts",
			      "system:serviceaccounts:prod");
	if (!strcmp(key, "root"))
		return mkuser("root", "system:masters", NULL);
	if (!strcmp(key, "node"))
		return mkuser("system:node:n1", "system:nodes", NULL);
	/* a user whose *name* is a group name grants nothing */
	if (!strcmp(key, "named-ops"))
		return mkuser("ops", NULL, NULL);
	return mkuser(key, NULL, NULL);
}

#define C(u, v, g, r, s, ns, n, p, a) { __LINE__, u, v, g, r, s, ns, n, p, a }

static const struct rcase cases[] = {
	/* ClusterRoleBinding: every namespace and cluster scope */
	C("alice", "get", "", "pods", NULL, "dev", "p1", NULL, true),
	C("alice", "list", "", "pods", NULL, "prod", NULL, NULL, true),
	C("alice", "watch", "", "pods", NULL, NULL, NULL, NULL, true),
	C("alice", "delete", "", "pods", NULL, "dev", "p1", NULL, false),
	C("alice", "get", "", "services", NULL, "dev", "s", NULL, false),
	C("alice", "get", "apps", "pods", NULL, "dev", "p1", NULL, false),  /* wrong group */
	C("alice", "get", "", "pods", "log", "dev", "p1", NULL, false),     /* subresource not granted */
	C("alice", "get", "", "pods", "status", "dev", "p1", NULL, false),
	/* RoleBinding to a ClusterRole: only in its namespace; "*" wildcards */
	C("bob", "create", "apps", "deployments", NULL, "dev", NULL, NULL, true),
	C("bob", "deletecollection", "apps", "replicasets", NULL, "dev", NULL, NULL, true),
	C("bob", "update", "apps", "deployments", "scale", "dev", "d", NULL, true),
	C("bob", "create", "apps", "deployments", NULL, "prod", NULL, NULL, false),
	C("bob", "list", "apps", "deployments", NULL, NULL, NULL, NULL, false),   /* cluster-wide list */
	C("bob", "create", "", "pods", NULL, "dev", NULL, NULL, false),
	/* RoleBindings never grant non-resource URLs */
	C("bob", "get", NULL, NULL, NULL, NULL, NULL, "/metrics", false),
	/* Group subject + Role of the binding's namespace (not prod's) */
	C("eve", "get", "", "secrets", NULL, "dev", "db", NULL, true),
	C("eve", "delete", "", "secrets", NULL, "dev", "db", NULL, false),
	C("eve", "get", "", "secrets", NULL, "prod", "db", NULL, false),
	C("eve", "list", "", "secrets", NULL, "dev", NULL, NULL, false),
	C("named-ops", "get", NULL, NULL, NULL, NULL, NULL, "/metrics", false),
	/* nonResourceURLs: exact and prefix-star */
	C("olga", "get", NULL, NULL, NULL, NULL, NULL, "/metrics", true),
	C("olga", "get", NULL, NULL, NULL, NULL, NULL, "/debug/pprof/heap", true),
	C("olga", "get", NULL, NULL, NULL, NULL, NULL, "/debug", false),
	C("olga", "post", NULL, NULL, NULL, NULL, NULL, "/metrics", false),
	C("olga", "get", NULL, NULL, NULL, NULL, NULL, "/metricsx", false),
	C("olga", "get", "", "pods", NULL, "dev", "p", NULL, false),
	/* "*" + "/status": any resource's status, any group, nothing else */
	C("sa-ctrl", "update", "", "pods", "status", "dev", "p", NULL, true),
	C("sa-ctrl", "update", "apps", "deployments", "status", NULL, "d", NULL, true),
	C("sa-ctrl", "update", "apps", "deployments", "scale", "dev", "d", NULL, false),
	C("sa-ctrl", "update", "", "pods", NULL, "dev", "p", NULL, false),
	C("sa-ctrl", "patch", "", "pods", "status", "dev", "p", NULL, false),
	/* ServiceAccount subject without namespace = binding's namespace;
	 * resourceNames restrict to named objects, never collections */
	C("sa-builder-dev", "get", "", "configmaps", NULL, "dev", "app-config", NULL, true),
	C("sa-builder-dev", "update", "", "configmaps", NULL, "dev", "app-config", NULL, true),
	C("sa-builder-dev", "get", "", "configmaps", NULL, "dev", "other", NULL, false),
	C("sa-builder-dev", "list", "", "configmaps", NULL, "dev", NULL, NULL, false),
	C("sa-builder-dev", "delete", "", "configmaps", NULL, "dev", "app-config", NULL, false),
	C("sa-builder-prod", "get", "", "configmaps", NULL, "dev", "app-config", NULL, false),
	C("sa-builder-prod", "get", "", "configmaps", NULL, "prod", "app-config", NULL, false),
	/* dangling and invalid role references grant nothing */
	C("carol", "get", "", "secrets", NULL, "dev", "db", NULL, false),
	C("dave", "get", "", "secrets", NULL, "dev", "db", NULL, false),
	/* explicit subresource rule */
	C("node", "patch", "", "nodes", "status", NULL, "n1", NULL, true),
	C("node", "patch", "", "nodes", NULL, NULL, "n1", NULL, false),
	/* deny by default; system:masters always */
	C("mallory", "get", "", "pods", NULL, "dev", "p", NULL, false),
	C("mallory", "get", NULL, NULL, NULL, NULL, NULL, "/metrics", false),
	C("root", "delete", "rbac.authorization.k8s.io", "clusterroles", NULL, NULL, "x", NULL, true),
	C("root", "get", NULL, NULL, NULL, NULL, NULL, "/anything", true),
};

static void test_table(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct rcase *c = &cases[i];
		struct auth_user u = user_for(c->user);
		struct authz_attrs a = { c->verb, c->group, c->resource, c->sub, c->ns, c->name, c->path };
		char reason[512];
		bool got = rbac_authorize(R, &u, &a, reason, sizeof(reason));

		t_checks++;
		if (got != c->allow) {
			t_failed++;
			fprintf(stderr, "%s:%d: %s %s %s/%s%s%s ns=%s name=%s path=%s: got %s want %s (%s)\n",
				__FILE__, c->line, c->user, c->verb, c->group ? c->group : "-",
				c->resource ? c->resource : "-", c->sub ? "/" : "", c->sub ? c->sub : "",
				c->ns ? c->ns : "-", c->name ? c->name : "-", c->path ? c->path : "-",
				got ? "allow" : "deny", c->allow ? "allow" : "deny", reason);
		}
		CHECK(reason[0] != '\0');
	}
}

static void test_reasons(void)
{
	struct auth_user u = mkuser("alice", NULL, NULL);
	struct authz_attrs a = { "list", "", "pods", NULL, "prod", NULL, NULL };
	struct authz_attrs d = { "delete", "apps", "deployments", "scale", "prod", "web", NULL };
	struct authz_attrs c = { "create", "", "namespaces", NULL, NULL, NULL, NULL };
	struct authz_attrs p = { "get", NULL, NULL, NULL, NULL, NULL, "/metrics" };
	char r[512];

	CHECK(rbac_authorize(R, &u, &a, r, sizeof(r)));
	CHECK(strstr(r, "ClusterRoleBinding \"alice-pods\"") != NULL);
	CHECK(strstr(r, "ClusterRole \"pod-reader\"") != NULL);
	CHECK(!rbac_authorize(R, &u, &d, r, sizeof(r)));
	CHECK_STR(r, "User \"alice\" cannot delete resource \"deployments/scale\" in API group "
		  "\"apps\" in the namespace \"prod\"");
	CHECK(!rbac_authorize(R, &u, &c, r, sizeof(r)));
	CHECK_STR(r, "User \"alice\" cannot create resource \"namespaces\" in API group \"\" "
		  "at the cluster scope");
	CHECK(!rbac_authorize(R, &u, &p, r, sizeof(r)));
	CHECK_STR(r, "User \"alice\" cannot get path \"/metrics\"");
	/* reason buffer optional; tiny buffer truncates safely */
	CHECK(!rbac_authorize(R, &u, &p, NULL, 0));
	CHECK(!rbac_authorize(R, &u, &p, r, 5));
	CHECK_EQ(strlen(r), 4);
	/* incomplete attributes deny */
	{
		struct authz_attrs z = { NULL, "", "pods", NULL, NULL, NULL, NULL };
		struct authz_attrs y = { "get", NULL, NULL, NULL, NULL, NULL, NULL };

		CHECK(!rbac_authorize(R, &u, &z, r, sizeof(r)));
		CHECK(!rbac_authorize(R, &u, &y, r, sizeof(r)));
		CHECK(!rbac_authorize(R, NULL, &a, r, sizeof(r)));
	}
}

static void test_updates_and_deletes(void)
{
	struct auth_user eve = mkuser("eve", "developers", NULL);
	struct authz_attrs del = { "delete", "", "secrets", NULL, "dev", "db", NULL };
	struct authz_attrs get = { "get", "", "secrets", NULL, "dev", "db", NULL };
	json_t *o;

	CHECK(!rbac_authorize(R, &eve, &del, NULL, 0));
	/* updating the Role widens the grant */
	load(R, "Role", ROLE("dev", "secret-reader", "[{\"apiGroups\":[\"\"],"
		"\"resources\":[\"secrets\"],\"verbs\":[\"get\",\"delete\"]}]"));
	CHECK(rbac_authorize(R, &eve, &del, NULL, 0));
	/* deleting the binding revokes */
	o = json_loads(RB("dev", "dev-secrets", "Role", "secret-reader", SUBJ("Group", "developers")), 0, NULL);
	rbac_observe(R, "RoleBinding", o, true);
	CHECK(!rbac_authorize(R, &eve, &get, NULL, 0));
	/* re-adding restores; deleting the Role revokes too */
	rbac_observe(R, "RoleBinding", o, false);
	CHECK(rbac_authorize(R, &eve, &get, NULL, 0));
	json_decref(o);
	o = json_loads(ROLE("dev", "secret-reader", "[]"), 0, NULL);
	rbac_observe(R, "Role", o, true);
	CHECK(!rbac_authorize(R, &eve, &get, NULL, 0));
	/* the observed object is copied: mutating the caller's does nothing */
	rbac_observe(R, "Role", o, false);   /* empty rules */
	json_object_set_new(o, "rules", json_loads("[{\"apiGroups\":[\"*\"],\"resources\":[\"*\"],"
						   "\"verbs\":[\"*\"]}]", 0, NULL));
	CHECK(!rbac_authorize(R, &eve, &get, NULL, 0));
	json_decref(o);
	/* deleting something unknown is harmless */
	o = json_loads(CRB("nope", "ClusterRole", "x", SUBJ("User", "x")), 0, NULL);
	rbac_observe(R, NULL, o, true);
	json_decref(o);
}

static void test_bootstrap_policy(void)
{
	struct rbac *r = rbac_new();
	json_t *objs = rbac_bootstrap_objects(), *o;
	struct auth_user node = mkuser("system:node:n1", "system:nodes", NULL);
	struct auth_user al = mkuser("alice", NULL, NULL);
	struct auth_user admin = mkuser("admin", "system:masters", NULL);
	struct auth_user sched = mkuser("system:kube-scheduler", NULL, NULL);
	size_t i;
	int n_cr = 0, n_crb = 0;

	CHECK(objs != NULL);
	json_array_foreach(objs, i, o) {
		const char *kind = json_string_value(json_object_get(o, "kind"));

		CHECK_STR(json_string_value(json_object_get(o, "apiVersion")), "rbac.authorization.k8s.io/v1");
		CHECK(json_string_value(json_object_get(json_object_get(o, "metadata"), "name")) != NULL);
		n_cr += !strcmp(kind, "ClusterRole");
		n_crb += !strcmp(kind, "ClusterRoleBinding");
		rbac_observe(r, NULL, o, false);
	}
	CHECK(n_cr >= 10);
	CHECK(n_crb >= 5);
	json_decref(objs);

#define A(u, verb, g, res, sub, ns, name) ({ \
	struct authz_attrs _a = { verb, g, res, sub, ns, name, NULL }; \
	rbac_authorize(r, &u, &_a, NULL, 0); })
#define P(u, verb, path) ({ \
	struct authz_attrs _a = { verb, NULL, NULL, NULL, NULL, NULL, path }; \
	rbac_authorize(r, &u, &_a, NULL, 0); })

	/* system:node */
	CHECK(A(node, "watch", "", "pods", NULL, NULL, NULL));
	CHECK(A(node, "get", "", "secrets", NULL, "default", "s"));
	CHECK(A(node, "list", "networking.k8s.io", "networkpolicies", NULL, NULL, NULL));
	CHECK(A(node, "patch", "", "nodes", "status", NULL, "n1"));
	CHECK(A(node, "create", "", "nodes", NULL, NULL, NULL));
	CHECK(A(node, "update", "", "pods", "status", "default", "p"));
	CHECK(A(node, "update", "coordination.k8s.io", "leases", NULL, "kube-node-lease", "n1"));
	CHECK(A(node, "create", "", "events", NULL, "default", NULL));
	CHECK(!A(node, "create", "", "secrets", NULL, "default", NULL));
	CHECK(!A(node, "delete", "", "nodes", NULL, NULL, "n2"));
	CHECK(!A(node, "create", "apps", "deployments", NULL, "default", NULL));
	CHECK(!A(node, "update", "", "pods", NULL, "default", "p"));
	/* node restriction: only its own Node and Lease */
	CHECK(!A(node, "patch", "", "nodes", "status", NULL, "n2"));
	CHECK(!A(node, "update", "", "nodes", NULL, NULL, "n2"));
	CHECK(!A(node, "update", "coordination.k8s.io", "leases", NULL, "kube-node-lease", "n2"));
	CHECK(!A(node, "create", "", "nodes", NULL, NULL, "n2"));
	CHECK(A(node, "create", "", "nodes", NULL, NULL, "n1"));
	CHECK(A(node, "get", "", "nodes", NULL, NULL, "n2"));
	CHECK(A(node, "create", "coordination.k8s.io", "leases", NULL, "kube-node-lease", "n1"));
	{
		struct authz_attrs x = { "patch", "", "nodes", "status", NULL, "n2", NULL };
		char why[256];

		CHECK(!rbac_authorize(r, &node, &x, why, sizeof(why)));
		CHECK_STR(why, "node \"n1\" may only modify its own nodes object, not \"n2\"");
	}
	/* discovery and health for everyone authenticated, not metrics */
	CHECK(P(al, "get", "/api"));
	CHECK(P(al, "get", "/apis/apps/v1"));
	CHECK(P(al, "get", "/version"));
	CHECK(P(al, "get", "/readyz"));
	CHECK(!P(al, "get", "/metrics"));
	CHECK(!A(al, "list", "", "pods", NULL, "default", NULL));
	/* masters */
	CHECK(A(admin, "delete", "", "nodes", NULL, NULL, "n1"));
	CHECK(P(admin, "get", "/metrics"));
	/* scheduler */
	CHECK(A(sched, "create", "", "pods", "binding", "default", "p"));
	CHECK(!A(sched, "delete", "", "pods", NULL, "default", "p"));

	/* view / edit / admin through aggregation, bound per namespace */
	load(r, "RoleBinding", RB("team", "alice-view", "ClusterRole", "view", SUBJ("User", "alice")));
	CHECK(A(al, "list", "apps", "deployments", NULL, "team", NULL));
	CHECK(A(al, "get", "", "pods", "log", "team", "p"));
	CHECK(!A(al, "get", "", "secrets", NULL, "team", "s"));   /* view excludes secrets */
	CHECK(!A(al, "create", "", "configmaps", NULL, "team", NULL));
	CHECK(!A(al, "list", "apps", "deployments", NULL, "other", NULL));
	load(r, "RoleBinding", RB("team", "alice-view", "ClusterRole", "edit", SUBJ("User", "alice")));
	CHECK(A(al, "create", "", "secrets", NULL, "team", NULL));
	CHECK(A(al, "get", "", "secrets", NULL, "team", "s"));
	CHECK(A(al, "list", "apps", "deployments", NULL, "team", NULL));   /* edit includes view */
	CHECK(!A(al, "create", "rbac.authorization.k8s.io", "rolebindings", NULL, "team", NULL));
	load(r, "RoleBinding", RB("team", "alice-view", "ClusterRole", "admin", SUBJ("User", "alice")));
	CHECK(A(al, "create", "rbac.authorization.k8s.io", "rolebindings", NULL, "team", NULL));
	CHECK(A(al, "patch", "apps", "deployments", "scale", "team", "web"));  /* admin ⊇ edit */
	CHECK(A(al, "watch", "", "pods", NULL, "team", NULL));                 /* admin ⊇ view */
	CHECK(!A(al, "create", "rbac.authorization.k8s.io", "clusterroles", NULL, NULL, NULL));
	CHECK(!A(al, "delete", "", "namespaces", NULL, NULL, "team"));
	/* a user-made role labelled aggregate-to-view extends view */
	load(r, "ClusterRole", "{\"kind\":\"ClusterRole\",\"metadata\":{\"name\":\"widgets-view\","
	     "\"labels\":{\"rbac.authorization.k8s.io/aggregate-to-view\":\"true\"}},"
	     "\"rules\":[{\"apiGroups\":[\"example.com\"],\"resources\":[\"widgets\"],\"verbs\":[\"get\"]}]}");
	CHECK(A(al, "get", "example.com", "widgets", NULL, "team", "w"));
	CHECK(!A(al, "get", "example.com", "widgets", NULL, "other", "w"));
#undef A
#undef P
	rbac_free(r);
}

/* Readers keep authorizing a stable grant while a writer churns other
 * objects; run under ASan (make SAN=1) this also catches use-after-free. */
static volatile int stop_flag;

static void *reader(void *arg)
{
	struct auth_user u = mkuser("alice", NULL, NULL);
	struct authz_attrs a = { "get", "", "pods", NULL, "dev", "p", NULL };
	long bad = 0;

	(void)arg;
	for (int i = 0; i < 20000 && !stop_flag; i++)
		bad += !rbac_authorize(R, &u, &a, NULL, 0);
	return (void *)bad;
}

static void test_concurrency(void)
{
	pthread_t th[3];
	void *res;
	long bad = 0;

	for (int i = 0; i < 3; i++)
		pthread_create(&th[i], NULL, reader, NULL);
	for (int i = 0; i < 2000; i++) {
		char buf[512];
		json_t *o;

		snprintf(buf, sizeof(buf), RB("ns%d", "b", "ClusterRole", "pod-reader", SUBJ("User", "u%d")),
			 i % 50, i);
		o = json_loads(buf, 0, NULL);
		rbac_observe(R, "RoleBinding", o, i % 3 == 0);
		json_decref(o);
	}
	stop_flag = 1;
	for (int i = 0; i < 3; i++) {
		pthread_join(th[i], &res);
		bad += (long)res;
	}
	CHECK_EQ(bad, 0);
}

static void test_escalation(void)
{
	struct rbac *r = rbac_new();
	json_t *objs = rbac_bootstrap_objects(), *o;
	struct auth_user al = mkuser("alice", NULL, NULL);
	struct auth_user carol = mkuser("carol", NULL, NULL);
	struct auth_user dave = mkuser("dave", NULL, NULL);
	struct auth_user root = mkuser("root", "system:masters", NULL);
	char why[512];
	size_t i;

	json_array_foreach(objs, i, o)
		rbac_observe(r, NULL, o, false);
	json_decref(objs);
	load(r, NULL, RB("team", "alice-admin", "ClusterRole", "admin", SUBJ("User", "alice")));
	/* carol may bind cluster-admin (only that one) in team */
	load(r, NULL, ROLE("team", "binder", "[{\"apiGroups\":[\"rbac.authorization.k8s.io\"],"
		"\"resources\":[\"clusterroles\"],\"resourceNames\":[\"cluster-admin\"],\"verbs\":[\"bind\"]}]"));
	load(r, NULL, RB("team", "carol-binder", "Role", "binder", SUBJ("User", "carol")));
	/* dave may escalate roles in team */
	load(r, NULL, ROLE("team", "escalator", "[{\"apiGroups\":[\"rbac.authorization.k8s.io\"],"
		"\"resources\":[\"roles\"],\"verbs\":[\"escalate\"]}]"));
	load(r, NULL, RB("team", "dave-esc", "Role", "escalator", SUBJ("User", "dave")));

#define ESC(u, json) ({ json_t *_o = json_loads(json, 0, NULL); \
	bool _ok = rbac_check_escalation(r, &u, NULL, _o, why, sizeof(why)); json_decref(_o); _ok; })

	/* Roles: only what alice holds in team */
	CHECK(ESC(al, ROLE("team", "r1", "[{\"apiGroups\":[\"\"],\"resources\":[\"pods\"],"
		  "\"verbs\":[\"get\",\"list\"]}]")));
	CHECK(ESC(al, ROLE("team", "r2", "[{\"apiGroups\":[\"\"],\"resources\":[\"configmaps\"],"
		  "\"resourceNames\":[\"x\"],\"verbs\":[\"get\"]}]")));
	CHECK(ESC(al, ROLE("team", "r3", "[{\"apiGroups\":[\"apps\"],\"resources\":[\"deployments/scale\"],"
		  "\"verbs\":[\"update\"]}]")));
	CHECK(!ESC(al, ROLE("team", "r4", "[{\"apiGroups\":[\"\"],\"resources\":[\"nodes\"],"
		   "\"verbs\":[\"get\"]}]")));
	CHECK(strstr(why, "attempt to grant extra privileges") != NULL);
	CHECK(strstr(why, "\"nodes\"") != NULL);
	CHECK(!ESC(al, ROLE("team", "r5", "[{\"apiGroups\":[\"\"],\"resources\":[\"pods\"],"
		   "\"verbs\":[\"*\"]}]")));
	CHECK(!ESC(al, ROLE("team", "r6", "[{\"apiGroups\":[\"*\"],\"resources\":[\"pods\"],"
		   "\"verbs\":[\"get\"]}]")));
	CHECK(!ESC(al, ROLE("prod", "r7", "[{\"apiGroups\":[\"\"],\"resources\":[\"pods\"],"
		   "\"verbs\":[\"get\"]}]")));
	/* ClusterRoles need the rules cluster-wide */
	CHECK(!ESC(al, CR("c1", "[{\"apiGroups\":[\"\"],\"resources\":[\"pods\"],\"verbs\":[\"get\"]}]")));
	CHECK(ESC(al, CR("c2", "[{\"nonResourceURLs\":[\"/api\",\"/apis/*\"],\"verbs\":[\"get\"]}]")));
	CHECK(!ESC(al, CR("c3", "[{\"nonResourceURLs\":[\"/metrics\"],\"verbs\":[\"get\"]}]")));
	CHECK(!ESC(al, "{\"kind\":\"ClusterRole\",\"metadata\":{\"name\":\"agg\"},\"rules\":[],"
		   "\"aggregationRule\":{\"clusterRoleSelectors\":[{\"matchLabels\":{\"a\":\"b\"}}]}}"));
	CHECK(strstr(why, "aggregationRule") != NULL);
	/* Bindings: only to roles whose rules alice holds where they apply */
	CHECK(ESC(al, RB("team", "b1", "ClusterRole", "edit", SUBJ("User", "bob"))));
	CHECK(ESC(al, RB("team", "b2", "ClusterRole", "view", SUBJ("Group", "devs"))));
	CHECK(ESC(al, RB("team", "b3", "ClusterRole", "admin", SUBJ("User", "bob"))));
	CHECK(!ESC(al, RB("team", "b4", "ClusterRole", "cluster-admin", SUBJ("User", "alice"))));
	CHECK(!ESC(al, RB("prod", "b5", "ClusterRole", "view", SUBJ("User", "alice"))));
	CHECK(!ESC(al, CRB("b6", "ClusterRole", "view", SUBJ("User", "alice"))));
	CHECK(!ESC(al, RB("team", "b7", "ClusterRole", "no-such-role", SUBJ("User", "bob"))));
	CHECK(strstr(why, "not found") != NULL);
	CHECK(!ESC(al, CRB("b8", "Role", "binder", SUBJ("User", "bob"))));
	/* the bind verb, limited by resourceNames */
	CHECK(ESC(carol, RB("team", "b9", "ClusterRole", "cluster-admin", SUBJ("User", "carol"))));
	CHECK(!ESC(carol, RB("team", "b10", "ClusterRole", "admin", SUBJ("User", "carol"))));
	CHECK(!ESC(carol, RB("prod", "b11", "ClusterRole", "cluster-admin", SUBJ("User", "carol"))));
	/* the escalate verb */
	CHECK(ESC(dave, ROLE("team", "big", "[{\"apiGroups\":[\"*\"],\"resources\":[\"*\"],\"verbs\":[\"*\"]}]")));
	CHECK(!ESC(dave, ROLE("prod", "big", "[{\"apiGroups\":[\"*\"],\"resources\":[\"*\"],\"verbs\":[\"*\"]}]")));
	/* masters, other kinds */
	CHECK(ESC(root, CRB("b12", "ClusterRole", "cluster-admin", SUBJ("User", "x"))));
	CHECK(ESC(al, "{\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\",\"namespace\":\"team\"}}"));
#undef ESC
	rbac_free(r);
}

static void test_cleanup(void)
{
	rbac_free(R);
	rbac_free(NULL);
}

TEST_MAIN(T(test_setup), T(test_table), T(test_reasons), T(test_updates_and_deletes),
	  T(test_bootstrap_policy), T(test_escalation), T(test_concurrency), T(test_cleanup))

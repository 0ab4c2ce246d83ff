/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the scheduler core (apiserver/scheduler/sched.c), no server
 * and no root: quantity parsing, object parsing, each filter and score as a
 * pure function, the kube-scheduler "0/N nodes are available" message, the
 * incremental state (assume, replace, delete, node churn) and sched_pick
 * (spread of 6 pods over 3 nodes, resources never overcommitted). */
#include <errno.h>
#include <stdlib.h>

#include "apiserver/scheduler/sched.h"
#include "tests/unit/test.h"

/* JSON literals with ' for " to keep the tables readable. */
static json_t *js(const char *s)
{
	char *d = strdup(s);
	json_error_t e;
	json_t *j;

	for (char *p = d; *p; p++)
		if (*p == '\'')
			*p = '"';
	j = json_loads(d, 0, &e);
	if (!j)
		fprintf(stderr, "bad test JSON: %s: %s\n", e.text, d);
	free(d);
	return j;
}

static struct sched_node *node(const char *s)
{
	json_t *j = js(s);
	struct sched_node *n = NULL;
	struct gerr e = { 0 };

	if (sched_node_parse(j, &n, &e))
		fprintf(stderr, "node parse: %s\n", e.msg);
	json_decref(j);
	return n;
}

static struct sched_pod *pod(const char *s)
{
	json_t *j = js(s);
	struct sched_pod *p = NULL;
	struct gerr e = { 0 };

	if (sched_pod_parse(j, &p, &e))
		fprintf(stderr, "pod parse: %s\n", e.msg);
	json_decref(j);
	return p;
}

/* A Ready node with name, extra labels JSON, cpu, memory and extra spec. */
static struct sched_node *rnode(const char *name, const char *labels, const char *cpu,
				const char *mem, const char *spec)
{
	char buf[2048];

	snprintf(buf, sizeof(buf),
		 "{'metadata':{'name':'%s','labels':{%s}},'spec':{%s},"
		 "'status':{'allocatable':{'cpu':'%s','memory':'%s','pods':'10'},"
		 "'conditions':[{'type':'Ready','status':'True'}]}}",
		 name, labels, spec, cpu, mem);
	return node(buf);
}

static struct sched_pod *rpod(const char *name, const char *labels, const char *cpu,
			      const char *mem, const char *spec)
{
	char buf[4096];

	snprintf(buf, sizeof(buf),
		 "{'metadata':{'name':'%s','namespace':'default','labels':{%s}},"
		 "'spec':{'containers':[{'name':'c','resources':{'requests':{'cpu':'%s','memory':'%s'}}}]%s%s}}",
		 name, labels, cpu, mem, *spec ? "," : "", spec);
	return pod(buf);
}

/* ---- quantities ---------------------------------------------------------- */

static void t_quantity(void)
{
	static const struct { const char *s; bool milli; int64_t want; int ret; } c[] = {
		{ "100m", true, 100, 0 },
		{ "1", true, 1000, 0 },
		{ "1.5", true, 1500, 0 },
		{ "0.1", true, 100, 0 },
		{ "2", false, 2, 0 },
		{ "128Mi", false, 128LL << 20, 0 },
		{ "1Gi", false, 1LL << 30, 0 },
		{ "1G", false, 1000000000LL, 0 },
		{ "1k", false, 1000, 0 },
		{ "1Ki", false, 1024, 0 },
		{ "1.5Gi", false, 3LL << 29, 0 },
		{ "1e3", false, 1000, 0 },
		{ "1E", false, 1000000000000000000LL, 0 },
		{ "500m", false, 1, 0 },            /* rounds up */
		{ "1500m", false, 2, 0 },
		{ "250u", true, 1, 0 },             /* 0.25 milli: rounds up */
		{ "+3", false, 3, 0 },
		{ "", false, 0, -EINVAL },
		{ "abc", false, 0, -EINVAL },
		{ "1Xi", false, 0, -EINVAL },
		{ "1 Gi", false, 0, -EINVAL },
		{ "-1", false, 0, -EINVAL },
		{ "99999999999999999999999999999", false, 0, -ERANGE },
		{ "10Ei", false, 0, -ERANGE },
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		int64_t v = -1;
		int ret = sched_quantity_parse(c[i].s, c[i].milli, &v);

		if (ret != c[i].ret || (!ret && v != c[i].want))
			fprintf(stderr, "quantity \"%s\": ret %d v %lld\n", c[i].s, ret, (long long)v);
		CHECK_EQ(ret, c[i].ret);
		if (!ret)
			CHECK_EQ(v, c[i].want);
	}
	json_t *n = json_integer(4);
	int64_t v = 0;

	CHECK_EQ(sched_quantity_json(n, true, &v), 0);
	CHECK_EQ(v, 4000);
	json_decref(n);
}

/* ---- parsing --------------------------------------------------------------- */

static void t_parse(void)
{
	struct sched_node *n = node("{'metadata':{'name':'n1'},'spec':{'unschedulable':true,"
				    "'taints':[{'key':'a','value':'b','effect':'NoSchedule'}]},"
				    "'status':{'capacity':{'cpu':'4','memory':'8Gi','pods':110},"
				    "'conditions':[{'type':'Ready','status':'False'}]}}");
	struct sched_pod *p;

	CHECK(n);
	if (!n)
		return;
	CHECK(!n->ready);
	CHECK(n->unschedulable);
	CHECK_EQ(n->alloc.milli_cpu, 4000);      /* capacity when no allocatable */
	CHECK_EQ(n->alloc.memory, 8LL << 30);
	CHECK_EQ(n->alloc.pods, 110);
	CHECK_EQ(n->n_taints, 1);
	CHECK_STR(json_string_value(json_object_get(n->labels, "kubernetes.io/hostname")), "n1");
	sched_node_free(n);

	/* requests: sum of containers (limits stand in), init max, overhead */
	p = pod("{'metadata':{'name':'p','namespace':'ns1'},'spec':{"
		"'containers':[{'name':'a','resources':{'requests':{'cpu':'100m','memory':'64Mi'}}},"
		"{'name':'b','resources':{'limits':{'cpu':'200m','memory':'64Mi'}}},{'name':'c'}],"
		"'initContainers':[{'name':'i','resources':{'requests':{'cpu':'1','memory':'16Mi'}}}],"
		"'overhead':{'cpu':'10m'}}}");
	CHECK(p);
	if (!p)
		return;
	CHECK_EQ(p->req.milli_cpu, 1010);
	CHECK_EQ(p->req.memory, 128LL << 20);
	CHECK_EQ(p->req.pods, 1);
	/* scoring defaults for the container without requests */
	CHECK_EQ(p->nz_req.memory, (128LL << 20) + (200LL << 20));
	CHECK_STR(p->key, "ns1/p");
	CHECK(sched_pod_pending(p));
	sched_pod_free(p);

	p = pod("{'metadata':{'name':'p'},'spec':{'schedulerName':'other','containers':[]}}");
	CHECK(p && !sched_pod_pending(p));
	sched_pod_free(p);
	p = pod("{'metadata':{'name':'p','deletionTimestamp':'2024-01-01T00:00:00Z'},'spec':{}}");
	CHECK(p && !sched_pod_pending(p));
	sched_pod_free(p);
	p = pod("{'metadata':{'name':'p'},'spec':{'nodeName':'n1'}}");
	CHECK(p && !sched_pod_pending(p));
	sched_pod_free(p);
	p = pod("{'metadata':{'name':'p'},'spec':{'schedulerName':'default-scheduler'}}");
	CHECK(p && sched_pod_pending(p));
	sched_pod_free(p);

	/* unsupported anti-affinity topology is refused, not ignored */
	json_t *j = js("{'metadata':{'name':'p'},'spec':{'affinity':{'podAntiAffinity':{"
		       "'requiredDuringSchedulingIgnoredDuringExecution':[{'topologyKey':'zone',"
		       "'labelSelector':{'matchLabels':{'a':'b'}}}]}}}}");
	struct gerr e = { 0 };

	p = NULL;
	CHECK_EQ(sched_pod_parse(j, &p, &e), -EOPNOTSUPP);
	CHECK(strstr(e.msg, "topologyKey") != NULL);
	json_decref(j);
	/* bad quantities are errors */
	j = js("{'metadata':{'name':'p'},'spec':{'containers':[{'resources':{'requests':{'cpu':'x'}}}]}}");
	memset(&e, 0, sizeof(e));
	CHECK_EQ(sched_pod_parse(j, &p, &e), -EINVAL);
	json_decref(j);
}

/* ---- filters --------------------------------------------------------------- */

static void t_ready_schedulable(void)
{
	struct sched_node *nr = node("{'metadata':{'name':'a'},'status':{'conditions':[{'type':'Ready','status':'Unknown'}]}}");
	struct sched_node *nu = rnode("b", "", "1", "1Gi", "'unschedulable':true");
	struct sched_pod *p = rpod("p", "", "0", "0", "");
	struct sched_pod *tol = rpod("t", "", "0", "0",
		"'tolerations':[{'key':'node.kubernetes.io/not-ready','operator':'Exists','effect':'NoSchedule'},"
		"{'key':'node.kubernetes.io/unschedulable','operator':'Exists'}]");

	CHECK_EQ(sched_filter_ready(nr, p), SCHED_R_NOT_READY);
	CHECK_EQ(sched_filter_ready(nu, p), 0);
	CHECK_EQ(sched_filter_ready(nr, tol), 0);
	CHECK_EQ(sched_filter_schedulable(nu, p), SCHED_R_UNSCHEDULABLE);
	CHECK_EQ(sched_filter_schedulable(nr, p), 0);
	CHECK_EQ(sched_filter_schedulable(nu, tol), 0);
	CHECK_EQ(sched_filter(nu, p, NULL), SCHED_R_UNSCHEDULABLE);
	sched_node_free(nr);
	sched_node_free(nu);
	sched_pod_free(p);
	sched_pod_free(tol);
}

static void t_taints(void)
{
	struct sched_node *ns = rnode("a", "", "1", "1Gi",
		"'taints':[{'key':'dedicated','value':'gpu','effect':'NoSchedule'}]");
	struct sched_node *ne = rnode("b", "", "1", "1Gi",
		"'taints':[{'key':'maint','effect':'NoExecute'}]");
	struct sched_node *np = rnode("c", "", "1", "1Gi",
		"'taints':[{'key':'spot','value':'yes','effect':'PreferNoSchedule'}]");
	struct sched_pod *none = rpod("p0", "", "0", "0", "");
	struct sched_pod *eq = rpod("p1", "", "0", "0",
		"'tolerations':[{'key':'dedicated','operator':'Equal','value':'gpu','effect':'NoSchedule'}]");
	struct sched_pod *eqbad = rpod("p2", "", "0", "0",
		"'tolerations':[{'key':'dedicated','operator':'Equal','value':'cpu','effect':'NoSchedule'}]");
	struct sched_pod *exists = rpod("p3", "", "0", "0",
		"'tolerations':[{'key':'dedicated','operator':'Exists'}]");
	struct sched_pod *wrongeff = rpod("p4", "", "0", "0",
		"'tolerations':[{'key':'maint','operator':'Exists','effect':'NoSchedule'}]");
	struct sched_pod *ne_ok = rpod("p5", "", "0", "0",
		"'tolerations':[{'key':'maint','operator':'Exists','effect':'NoExecute','tolerationSeconds':30}]");
	struct sched_pod *all = rpod("p6", "", "0", "0", "'tolerations':[{'operator':'Exists'}]");
	struct sched_pod *pref = rpod("p7", "", "0", "0",
		"'tolerations':[{'key':'spot','value':'yes','effect':'PreferNoSchedule'}]");
	const struct sched_taint *bad = NULL;

	CHECK_EQ(sched_filter_taints(ns, none, &bad), SCHED_R_TAINT);
	CHECK(bad && !strcmp(bad->key, "dedicated"));
	CHECK_EQ(sched_filter_taints(ns, eq, NULL), 0);
	CHECK_EQ(sched_filter_taints(ns, eqbad, NULL), SCHED_R_TAINT);
	CHECK_EQ(sched_filter_taints(ns, exists, NULL), 0);
	CHECK_EQ(sched_filter_taints(ne, none, NULL), SCHED_R_TAINT);
	CHECK_EQ(sched_filter_taints(ne, wrongeff, NULL), SCHED_R_TAINT);
	CHECK_EQ(sched_filter_taints(ne, ne_ok, NULL), 0);
	CHECK_EQ(sched_filter_taints(ne, all, NULL), 0);
	CHECK_EQ(sched_filter_taints(ns, all, NULL), 0);
	/* PreferNoSchedule never filters, it scores */
	CHECK_EQ(sched_filter_taints(np, none, NULL), 0);
	CHECK_EQ(sched_prefer_taint_count(np, none), 1);
	CHECK_EQ(sched_prefer_taint_count(np, pref), 0);
	CHECK_EQ(sched_prefer_taint_count(np, all), 0);
	CHECK_EQ(sched_prefer_taint_count(ns, none), 0);
	/* Equal without value matches an empty taint value only */
	struct sched_toleration t = { .key = "maint", .exists = false, .value = "" };
	CHECK(sched_tolerates(&t, 1, "maint", "", SCHED_NO_EXECUTE));
	CHECK(!sched_tolerates(&t, 1, "maint", "x", SCHED_NO_EXECUTE));
	sched_node_free(ns);
	sched_node_free(ne);
	sched_node_free(np);
	sched_pod_free(none);
	sched_pod_free(eq);
	sched_pod_free(eqbad);
	sched_pod_free(exists);
	sched_pod_free(wrongeff);
	sched_pod_free(ne_ok);
	sched_pod_free(all);
	sched_pod_free(pref);
}

static struct sched_pod *aff_pod(const char *expr)
{
	char spec[1024];

	snprintf(spec, sizeof(spec),
		 "'affinity':{'nodeAffinity':{'requiredDuringSchedulingIgnoredDuringExecution':"
		 "{'nodeSelectorTerms':[{'matchExpressions':[%s]}]}}}", expr);
	return rpod("a", "", "0", "0", spec);
}

static void t_affinity(void)
{
	struct sched_node *n = rnode("n1", "'zone':'a','gen':'5','disk':'ssd'", "1", "1Gi", "");
	static const struct { const char *expr; bool pass; } c[] = {
		{ "{'key':'zone','operator':'In','values':['a','b']}", true },
		{ "{'key':'zone','operator':'In','values':['b']}", false },
		{ "{'key':'zone','operator':'NotIn','values':['b']}", true },
		{ "{'key':'zone','operator':'NotIn','values':['a']}", false },
		{ "{'key':'missing','operator':'NotIn','values':['a']}", true },
		{ "{'key':'disk','operator':'Exists'}", true },
		{ "{'key':'gpu','operator':'Exists'}", false },
		{ "{'key':'gpu','operator':'DoesNotExist'}", true },
		{ "{'key':'disk','operator':'DoesNotExist'}", false },
		{ "{'key':'gen','operator':'Gt','values':['4']}", true },
		{ "{'key':'gen','operator':'Gt','values':['5']}", false },
		{ "{'key':'gen','operator':'Lt','values':['6']}", true },
		{ "{'key':'gen','operator':'Lt','values':['5']}", false },
		{ "{'key':'zone','operator':'Gt','values':['1']}", false },   /* not a number */
		{ "{'key':'zone','operator':'In','values':['a']},{'key':'gen','operator':'Lt','values':['2']}", false },
		{ "{'key':'kubernetes.io/hostname','operator':'In','values':['n1']}", true },
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct sched_pod *p = aff_pod(c[i].expr);

		CHECK(p);
		if (!p)
			continue;
		if ((sched_filter_affinity(n, p) == 0) != c[i].pass)
			fprintf(stderr, "affinity case %zu: %s\n", i, c[i].expr);
		CHECK_EQ(sched_filter_affinity(n, p), c[i].pass ? 0 : SCHED_R_AFFINITY);
		sched_pod_free(p);
	}
	/* terms are ORed; matchFields on metadata.name */
	struct sched_pod *p = rpod("o", "", "0", "0",
		"'affinity':{'nodeAffinity':{'requiredDuringSchedulingIgnoredDuringExecution':"
		"{'nodeSelectorTerms':[{'matchExpressions':[{'key':'zone','operator':'In','values':['z']}]},"
		"{'matchFields':[{'key':'metadata.name','operator':'In','values':['n1']}]}]}}}");
	CHECK_EQ(sched_filter_affinity(n, p), 0);
	sched_pod_free(p);
	/* an empty term matches nothing */
	p = rpod("e", "", "0", "0",
		 "'affinity':{'nodeAffinity':{'requiredDuringSchedulingIgnoredDuringExecution':"
		 "{'nodeSelectorTerms':[{}]}}}");
	CHECK_EQ(sched_filter_affinity(n, p), SCHED_R_AFFINITY);
	sched_pod_free(p);
	/* nodeSelector: all pairs must match */
	p = rpod("s", "", "0", "0", "'nodeSelector':{'zone':'a','disk':'ssd'}");
	CHECK_EQ(sched_filter_affinity(n, p), 0);
	sched_pod_free(p);
	p = rpod("s", "", "0", "0", "'nodeSelector':{'zone':'a','disk':'hdd'}");
	CHECK_EQ(sched_filter_affinity(n, p), SCHED_R_AFFINITY);
	sched_pod_free(p);
	/* preferred terms: weights of matching terms */
	p = rpod("w", "", "0", "0",
		 "'affinity':{'nodeAffinity':{'preferredDuringSchedulingIgnoredDuringExecution':["
		 "{'weight':10,'preference':{'matchExpressions':[{'key':'zone','operator':'In','values':['a']}]}},"
		 "{'weight':5,'preference':{'matchExpressions':[{'key':'disk','operator':'In','values':['hdd']}]}},"
		 "{'weight':3,'preference':{'matchExpressions':[{'key':'gen','operator':'Gt','values':['1']}]}}]}}");
	CHECK_EQ(sched_filter_affinity(n, p), 0);
	CHECK_EQ(sched_pref_affinity_weight(n, p), 13);
	sched_pod_free(p);
	sched_node_free(n);
}

static void t_resources(void)
{
	struct sched_state *st = sched_state_new();
	struct sched_node *n = rnode("n1", "", "1", "1Gi", "");
	struct sched_pod *big = rpod("big", "", "1500m", "64Mi", "");
	struct sched_pod *mem = rpod("mem", "", "100m", "2Gi", "");
	struct sched_pod *both = rpod("both", "", "2", "2Gi", "");
	struct sched_pod *fits = rpod("fits", "", "600m", "512Mi", "");
	struct sched_pod *zero = rpod("zero", "", "0", "0", "");
	struct gerr e = { 0 };
	char key[32];

	CHECK_EQ(sched_filter_resources(n, big), SCHED_R_CPU);
	CHECK_EQ(sched_filter_resources(n, mem), SCHED_R_MEMORY);
	CHECK_EQ(sched_filter_resources(n, both), SCHED_R_CPU | SCHED_R_MEMORY);
	CHECK_EQ(sched_filter_resources(n, fits), 0);
	CHECK_EQ(sched_state_upsert_node(st, n), 0);
	/* once one "fits" is accounted, a second does not fit (cpu) */
	CHECK_EQ(sched_state_assume(st, fits, "n1", &e), 0);
	CHECK_EQ(n->requested.milli_cpu, 600);
	CHECK_EQ(sched_filter_resources(n, fits), SCHED_R_CPU);
	/* pods capacity (10): best-effort pods fill it */
	for (int i = 0; i < 9; i++) {
		snprintf(key, sizeof(key), "z%d", i);
		free(zero->name);
		free(zero->key);
		zero->name = strdup(key);
		asprintf(&zero->key, "default/%s", key);
		CHECK_EQ(sched_filter_resources(n, zero), 0);
		CHECK_EQ(sched_state_assume(st, zero, "n1", &e), 0);
	}
	CHECK_EQ(n->n_pods, 10);
	CHECK_EQ(sched_filter_resources(n, zero), SCHED_R_PODS);
	/* releasing frees the room */
	sched_state_remove_pod(st, "default/fits");
	CHECK_EQ(n->requested.milli_cpu, 0);
	CHECK_EQ(n->n_pods, 9);
	CHECK_EQ(sched_filter_resources(n, fits), 0);
	/* a node that does not report resources limits only the pod count */
	struct sched_node *bare = node("{'metadata':{'name':'bare'},'status':{'conditions':[{'type':'Ready','status':'True'}]}}");
	CHECK_EQ(sched_filter_resources(bare, both), 0);
	CHECK_EQ(bare->alloc.pods, 110);
	sched_node_free(bare);
	sched_pod_free(big);
	sched_pod_free(mem);
	sched_pod_free(both);
	sched_pod_free(fits);
	sched_pod_free(zero);
	sched_state_free(st);
}

static void t_anti_affinity(void)
{
	struct sched_state *st = sched_state_new();
	struct gerr e = { 0 };
	const char *anti = "'affinity':{'podAntiAffinity':{'requiredDuringSchedulingIgnoredDuringExecution':"
			   "[{'topologyKey':'kubernetes.io/hostname','labelSelector':{'matchExpressions':"
			   "[{'key':'app','operator':'In','values':['db']}]}}]}}";
	struct sched_pod *db1 = rpod("db1", "'app':'db'", "0", "0", anti);
	struct sched_pod *db2 = rpod("db2", "'app':'db'", "0", "0", anti);
	struct sched_pod *web = rpod("web", "'app':'web'", "0", "0", "");
	struct sched_pod *plaindb = rpod("plain", "'app':'db'", "0", "0", "");
	struct sched_node *n1 = rnode("n1", "", "4", "4Gi", ""), *n2 = rnode("n2", "", "4", "4Gi", "");
	const struct sched_node *pick = NULL;
	char msg[512];

	sched_state_upsert_node(st, n1);
	sched_state_upsert_node(st, n2);
	CHECK_EQ(sched_filter_anti_affinity(n1, db1), 0);
	CHECK_EQ(sched_state_assume(st, db1, "n1", &e), 0);
	/* db2 must avoid n1 (its own term) */
	CHECK_EQ(sched_filter_anti_affinity(n1, db2), SCHED_R_ANTI_AFFINITY);
	CHECK_EQ(sched_filter_anti_affinity(n2, db2), 0);
	/* web is not selected by anybody */
	CHECK_EQ(sched_filter_anti_affinity(n1, web), 0);
	/* a db pod without terms is refused by db1's term (symmetry) */
	CHECK_EQ(sched_filter_anti_affinity(n1, plaindb), SCHED_R_EXISTING_ANTI);
	CHECK_EQ(sched_pick(st, db2, &pick, msg, sizeof(msg)), 0);
	CHECK(pick == n2);
	CHECK_EQ(sched_state_assume(st, db2, "n2", &e), 0);
	/* a third replica has nowhere to go */
	free(db2->key);
	db2->key = strdup("default/db3");
	CHECK_EQ(sched_pick(st, db2, &pick, msg, sizeof(msg)), -ENOSPC);
	CHECK_STR(msg, "0/2 nodes are available: 2 node(s) didn't match pod anti-affinity rules.");
	/* other namespaces are not affected by default */
	free(plaindb->ns);
	plaindb->ns = strdup("other");
	CHECK_EQ(sched_filter_anti_affinity(n1, plaindb), 0);
	sched_pod_free(db1);
	sched_pod_free(db2);
	sched_pod_free(web);
	sched_pod_free(plaindb);
	sched_state_free(st);
}

/* ---- scores ---------------------------------------------------------------- */

static void t_least_allocated(void)
{
	struct sched_state *st = sched_state_new();
	struct sched_node *a = rnode("a", "", "4", "4Gi", ""), *b = rnode("b", "", "4", "4Gi", "");
	struct sched_pod *half = rpod("h", "", "2", "2Gi", "");
	struct sched_pod *p = rpod("p", "", "1", "1Gi", "");
	struct gerr e = { 0 };
	const struct sched_node *pick;
	char msg[256];

	sched_state_upsert_node(st, a);
	sched_state_upsert_node(st, b);
	CHECK_EQ(sched_score_least_allocated(a, p), 75);
	CHECK_EQ(sched_state_assume(st, half, "a", &e), 0);
	CHECK_EQ(sched_score_least_allocated(a, p), 25);
	CHECK_EQ(sched_score_least_allocated(b, p), 75);
	CHECK_EQ(sched_pick(st, p, &pick, msg, sizeof(msg)), 0);
	CHECK(pick == b);
	sched_pod_free(half);
	sched_pod_free(p);
	sched_state_free(st);
}

static void t_spread(void)
{
	struct sched_state *st = sched_state_new();
	struct gerr e = { 0 };
	int per[3] = { 0, 0, 0 };
	const char *names[3] = { "n1", "n2", "n3" };
	char buf[1024];

	for (int i = 0; i < 3; i++)
		sched_state_upsert_node(st, rnode(names[i], "", "8", "8Gi", ""));
	/* Unrelated load on n1 would attract nothing; the group spreads. */
	for (int i = 0; i < 6; i++) {
		const struct sched_node *pick = NULL;
		struct sched_pod *p;

		snprintf(buf, sizeof(buf),
			 "{'metadata':{'name':'web-%d','namespace':'default','labels':{'app':'web'},"
			 "'ownerReferences':[{'kind':'ReplicaSet','name':'web','uid':'rs-1','controller':true}]},"
			 "'spec':{'containers':[{'name':'c','resources':{'requests':{'cpu':'100m'}}}]}}", i);
		p = pod(buf);
		CHECK(p);
		if (!p)
			continue;
		CHECK_EQ(sched_pick(st, p, &pick, buf, sizeof(buf)), 0);
		for (int k = 0; pick && k < 3; k++)
			if (!strcmp(pick->name, names[k]))
				per[k]++;
		if (pick)
			CHECK_EQ(sched_state_assume(st, p, pick->name, &e), 0);
		sched_pod_free(p);
	}
	CHECK_EQ(per[0], 2);
	CHECK_EQ(per[1], 2);
	CHECK_EQ(per[2], 2);
	struct sched_node *n1 = sched_state_node(st, "n1");
	struct sched_pod *q = pod("{'metadata':{'name':'x','ownerReferences':[{'uid':'rs-1','controller':true}]},'spec':{}}");
	struct sched_pod *o = pod("{'metadata':{'name':'y','ownerReferences':[{'uid':'rs-2','controller':true}]},'spec':{}}");
	struct sched_pod *l = pod("{'metadata':{'name':'z','labels':{'app':'web'}},'spec':{}}");

	CHECK_EQ(sched_spread_count(n1, q), 2);
	CHECK_EQ(sched_spread_count(n1, o), 0);
	/* labels alone do not join a controller's group */
	CHECK_EQ(sched_spread_count(n1, l), 0);
	sched_pod_free(q);
	sched_pod_free(o);
	sched_pod_free(l);
	sched_state_free(st);
}

static void t_prefer_scoring(void)
{
	struct sched_state *st = sched_state_new();
	const struct sched_node *pick;
	char msg[256];
	struct sched_pod *p;

	sched_state_upsert_node(st, rnode("spot", "'zone':'b'", "8", "8Gi",
		"'taints':[{'key':'spot','effect':'PreferNoSchedule'}]"));
	sched_state_upsert_node(st, rnode("plain", "'zone':'a'", "8", "8Gi", ""));
	/* the PreferNoSchedule taint pushes pods away, every time */
	p = rpod("p", "", "0", "0", "");
	for (int i = 0; i < 4; i++) {
		CHECK_EQ(sched_pick(st, p, &pick, msg, sizeof(msg)), 0);
		CHECK_STR(pick->name, "plain");
	}
	sched_pod_free(p);
	/* a pod tolerating the taint and preferring zone b goes there */
	p = rpod("q", "", "0", "0",
		 "'tolerations':[{'key':'spot','operator':'Exists'}],"
		 "'affinity':{'nodeAffinity':{'preferredDuringSchedulingIgnoredDuringExecution':["
		 "{'weight':50,'preference':{'matchExpressions':[{'key':'zone','operator':'In','values':['b']}]}}]}}");
	for (int i = 0; i < 4; i++) {
		CHECK_EQ(sched_pick(st, p, &pick, msg, sizeof(msg)), 0);
		CHECK_STR(pick->name, "spot");
	}
	sched_pod_free(p);
	sched_state_free(st);
}

/* ---- messages and state ----------------------------------------------------- */

static void t_message(void)
{
	struct sched_state *st = sched_state_new();
	const struct sched_node *pick;
	char msg[512];
	struct sched_pod *p = rpod("p", "", "2", "1Gi", "'nodeSelector':{'disk':'ssd'}");

	CHECK_EQ(sched_pick(st, p, &pick, msg, sizeof(msg)), -ENOSPC);
	CHECK_STR(msg, "no nodes available to schedule pods");
	sched_state_upsert_node(st, rnode("a", "'disk':'hdd'", "4", "4Gi", ""));
	sched_state_upsert_node(st, rnode("b", "'disk':'ssd'", "1", "4Gi", ""));
	sched_state_upsert_node(st, rnode("c", "'disk':'ssd'", "1", "4Gi", ""));
	CHECK_EQ(sched_pick(st, p, &pick, msg, sizeof(msg)), -ENOSPC);
	CHECK_STR(msg, "0/3 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, "
		  "2 Insufficient cpu.");
	sched_state_upsert_node(st, rnode("d", "", "1", "1Gi", "'unschedulable':true"));
	sched_state_upsert_node(st, rnode("e", "", "1", "1Gi",
		"'taints':[{'key':'k','value':'v','effect':'NoSchedule'}]"));
	sched_state_upsert_node(st, node("{'metadata':{'name':'f'},'status':{'conditions':[]}}"));
	CHECK_EQ(sched_pick(st, p, &pick, msg, sizeof(msg)), -ENOSPC);
	CHECK_STR(msg, "0/6 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, "
		  "1 node(s) had untolerated taint {k: v}, 1 node(s) were not ready, "
		  "1 node(s) were unschedulable, 2 Insufficient cpu.");
	/* several resources on one node: each counted */
	unsigned m[2] = { SCHED_R_CPU | SCHED_R_MEMORY, SCHED_R_MEMORY };

	sched_fit_message(2, m, NULL, 2, msg, sizeof(msg));
	CHECK_STR(msg, "0/2 nodes are available: 1 Insufficient cpu, 2 Insufficient memory.");
	/* a big node makes it fit */
	sched_state_upsert_node(st, rnode("big", "'disk':'ssd'", "16", "64Gi", ""));
	CHECK_EQ(sched_pick(st, p, &pick, msg, sizeof(msg)), 0);
	CHECK_STR(pick->name, "big");
	sched_pod_free(p);
	sched_state_free(st);
}

static void t_state(void)
{
	struct sched_state *st = sched_state_new();
	struct sched_node *n;
	struct sched_pod *p;
	struct gerr e = { 0 };

	/* a bound pod seen before its node is attached when the node comes */
	p = pod("{'metadata':{'name':'early','namespace':'default'},'spec':{'nodeName':'n1',"
		"'containers':[{'resources':{'requests':{'cpu':'500m'}}}]}}");
	CHECK_EQ(sched_state_upsert_pod(st, p), 0);
	n = rnode("n1", "", "2", "2Gi", "");
	CHECK_EQ(sched_state_upsert_node(st, n), 0);
	CHECK_EQ(n->requested.milli_cpu, 500);
	CHECK_EQ(n->n_pods, 1);
	/* a node update keeps the accounting */
	n = rnode("n1", "'x':'y'", "2", "2Gi", "");
	CHECK_EQ(sched_state_upsert_node(st, n), 0);
	CHECK(sched_state_node(st, "n1") == n);
	CHECK_EQ(n->requested.milli_cpu, 500);
	CHECK_EQ(sched_state_n_nodes(st), 1);
	/* an update of the pod replaces (not adds) its requests */
	p = pod("{'metadata':{'name':'early','namespace':'default'},'spec':{'nodeName':'n1',"
		"'containers':[{'resources':{'requests':{'cpu':'700m'}}}]}}");
	CHECK_EQ(sched_state_upsert_pod(st, p), 0);
	CHECK_EQ(n->requested.milli_cpu, 700);
	/* the real object replaces an assumed copy */
	p = rpod("a", "", "100m", "0", "");
	CHECK_EQ(sched_state_assume(st, p, "n1", &e), 0);
	CHECK(sched_state_pod(st, "default/a")->assumed);
	CHECK_EQ(n->requested.milli_cpu, 800);
	sched_pod_free(p);
	p = pod("{'metadata':{'name':'a','namespace':'default'},'spec':{'nodeName':'n1',"
		"'containers':[{'resources':{'requests':{'cpu':'100m'}}}]}}");
	CHECK_EQ(sched_state_upsert_pod(st, p), 0);
	CHECK(!sched_state_pod(st, "default/a")->assumed);
	CHECK_EQ(n->requested.milli_cpu, 800);
	CHECK_EQ(n->n_pods, 2);
	/* finished pods free their resources */
	p = pod("{'metadata':{'name':'a','namespace':'default'},'spec':{'nodeName':'n1',"
		"'containers':[{'resources':{'requests':{'cpu':'100m'}}}]},'status':{'phase':'Succeeded'}}");
	CHECK_EQ(sched_state_upsert_pod(st, p), 0);
	CHECK_EQ(n->requested.milli_cpu, 700);
	CHECK_EQ(n->n_pods, 1);
	/* node removal detaches, re-adding reattaches */
	sched_state_remove_node(st, "n1");
	CHECK_EQ(sched_state_n_nodes(st), 0);
	n = rnode("n1", "", "2", "2Gi", "");
	sched_state_upsert_node(st, n);
	CHECK_EQ(n->requested.milli_cpu, 700);
	sched_state_remove_pod(st, "default/early");
	CHECK_EQ(n->requested.milli_cpu, 0);
	CHECK_EQ(n->n_pods, 0);
	/* many pods: the table grows and stays consistent */
	for (int i = 0; i < 3000; i++) {
		char buf[256];

		snprintf(buf, sizeof(buf), "{'metadata':{'name':'m%d'},'spec':{'nodeName':'n1'}}", i);
		sched_state_upsert_pod(st, pod(buf));
	}
	CHECK_EQ(n->n_pods, 3000);
	CHECK(sched_state_pod(st, "default/m2999") != NULL);
	for (int i = 0; i < 3000; i += 2) {
		char key[64];

		snprintf(key, sizeof(key), "default/m%d", i);
		sched_state_remove_pod(st, key);
	}
	CHECK_EQ(n->n_pods, 1500);
	CHECK(sched_state_pod(st, "default/m2") == NULL);
	CHECK(sched_state_pod(st, "default/m3") != NULL);
	sched_state_free(st);
}

/* Random decisions never overcommit a node, whatever the order. */
static void t_no_overcommit(void)
{
	struct sched_state *st = sched_state_new();
	struct gerr e = { 0 };
	char buf[512];
	int placed = 0;

	srand(7);
	for (int i = 0; i < 10; i++) {
		snprintf(buf, sizeof(buf), "n%d", i);
		sched_state_upsert_node(st, rnode(buf, "", i % 2 ? "2" : "3", "4Gi", ""));
	}
	for (int i = 0; i < 200; i++) {
		const struct sched_node *pick;
		struct sched_pod *p;

		snprintf(buf, sizeof(buf),
			 "{'metadata':{'name':'r%d'},'spec':{'containers':[{'resources':{'requests':"
			 "{'cpu':'%dm','memory':'%dMi'}}}]}}", i, 100 + rand() % 900, 64 + rand() % 512);
		p = pod(buf);
		if (sched_pick(st, p, &pick, buf, sizeof(buf)) == 0) {
			CHECK_EQ(sched_state_assume(st, p, pick->name, &e), 0);
			placed++;
		}
		sched_pod_free(p);
	}
	CHECK(placed > 20);
	for (int i = 0; i < 10; i++) {
		const struct sched_node *n;

		snprintf(buf, sizeof(buf), "n%d", i);
		n = sched_state_node(st, buf);
		CHECK(n->requested.milli_cpu <= n->alloc.milli_cpu);
		CHECK(n->requested.memory <= n->alloc.memory);
		CHECK(n->requested.pods <= n->alloc.pods);
	}
	sched_state_free(st);
}

TEST_MAIN(T(t_quantity), T(t_parse), T(t_ready_schedulable), T(t_taints), T(t_affinity),
	  T(t_resources), T(t_anti_affinity), T(t_least_allocated), T(t_spread),
	  T(t_prefer_scoring), T(t_message), T(t_state), T(t_no_overcommit))

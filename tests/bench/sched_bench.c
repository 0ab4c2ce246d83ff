/* SPDX-License-Identifier: Apache-2.0 */
/* Scheduler benchmark driver (tests/bench/bench-scheduler.sh).
 *   sched_bench pick NODES PODS
 *       in-process decision rate: sched_pick + assume on NODES nodes for
 *       PODS pre-parsed pods (the ceiling: no API, no JSON).
 *   sched_bench e2e KUBECONFIG NODES PODS [BINDERS]
 *       through a live API server: creates NODES Node objects and PODS
 *       pending pods (4 client threads; the creation rate is the API's
 *       write baseline), then runs the scheduling loop (sched_run_opts) and
 *       times until every pod is bound, checked by listing the pods.
 *   sched_bench live KUBECONFIG NODES PODS [BINDERS]
 *       same, but the scheduler is already running when the pods are
 *       created (they arrive through the watch).
 * Prints "key value" lines for the script to tabulate. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "apiserver/scheduler/sched.h"
#include "common/apiclient.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static json_t *node_obj(int i)
{
	char name[32], zone[16];

	snprintf(name, sizeof(name), "bench-node-%03d", i);
	snprintf(zone, sizeof(zone), "z%d", i % 3);
	return json_pack("{s:s,s:s,s:{s:s,s:{s:s}},s:{s:{s:s,s:s,s:s},s:[{s:s,s:s}]}}",
			 "apiVersion", "v1", "kind", "Node",
			 "metadata", "name", name, "labels", "topology.kubernetes.io/zone", zone,
			 "status", "allocatable", "cpu", "64", "memory", "256Gi", "pods", "110",
			 "conditions", "type", "Ready", "status", "True");
}

static json_t *pod_obj(int i)
{
	char name[32], app[16], uid[32];

	snprintf(name, sizeof(name), "bench-pod-%05d", i);
	snprintf(app, sizeof(app), "app%d", i % 20);
	snprintf(uid, sizeof(uid), "rs-uid-%d", i % 20);
	return json_pack("{s:s,s:s,s:{s:s,s:s,s:{s:s},s:[{s:s,s:s,s:s,s:s,s:b}]},"
			 "s:{s:[{s:s,s:s,s:{s:{s:s,s:s}}}]}}",
			 "apiVersion", "v1", "kind", "Pod",
			 "metadata", "name", name, "namespace", "default", "labels", "app", app,
			 "ownerReferences", "apiVersion", "apps/v1", "kind", "ReplicaSet",
			 "name", app, "uid", uid, "controller", 1,
			 "spec", "containers", "name", "c", "image", "busybox",
			 "resources", "requests", "cpu", "100m", "memory", "64Mi");
}

static int cmd_pick(int n_nodes, int n_pods)
{
	struct sched_state *st = sched_state_new();
	struct sched_pod **pods = calloc(n_pods, sizeof(*pods));
	struct gerr e = { 0 };
	int placed = 0;
	double t0, dt;

	for (int i = 0; i < n_nodes; i++) {
		json_t *o = node_obj(i);
		struct sched_node *n;

		json_object_set_new(json_object_get(o, "status"), "allocatable",
				    json_pack("{s:s,s:s,s:i}", "cpu", "64", "memory", "256Gi",
					      "pods", n_pods));
		if (sched_node_parse(o, &n, &e) || sched_state_upsert_node(st, n))
			return 1;
		json_decref(o);
	}
	for (int i = 0; i < n_pods; i++) {
		json_t *o = pod_obj(i);

		if (sched_pod_parse(o, &pods[i], &e))
			return 1;
		json_decref(o);
	}
	t0 = now_s();
	for (int i = 0; i < n_pods; i++) {
		const struct sched_node *n;
		char msg[256];

		if (sched_pick(st, pods[i], &n, msg, sizeof(msg)) == 0 &&
		    sched_state_assume(st, pods[i], n->name, &e) == 0)
			placed++;
	}
	dt = now_s() - t0;
	printf("pick_nodes %d\npick_pods %d\npick_placed %d\npick_seconds %.4f\npick_rate %.0f\n",
	       n_nodes, n_pods, placed, dt, n_pods / dt);
	for (int i = 0; i < n_pods; i++)
		sched_pod_free(pods[i]);
	free(pods);
	sched_state_free(st);
	return placed == n_pods ? 0 : 1;
}

struct creator {
	const struct kubeconfig *kc;
	int from, to, step;
	bool nodes;
	int errors;
};

static void *create_main(void *arg)
{
	struct creator *c = arg;
	struct apiclient *ac = NULL;
	struct gerr e = { 0 };

	if (apiclient_new(c->kc, NULL, &ac, &e)) {
		fprintf(stderr, "%s\n", e.msg);
		c->errors++;
		return NULL;
	}
	for (int i = c->from; i < c->to; i += c->step) {
		struct api_resp r = { 0 };
		json_t *o = c->nodes ? node_obj(i) : pod_obj(i);

		if (apiclient_post(ac, c->nodes ? "/api/v1/nodes" : "/api/v1/namespaces/default/pods",
				   o, &r, &e) || !api_ok(&r)) {
			if (c->errors++ < 3)
				fprintf(stderr, "create: %ld %s %s\n", r.status, r.message, e.msg);
		}
		api_resp_free(&r);
		json_decref(o);
	}
	apiclient_free(ac);
	return NULL;
}

static int create_all(const struct kubeconfig *kc, int n, bool nodes)
{
	struct creator c[4];
	pthread_t t[4];
	int errors = 0;

	for (int i = 0; i < 4; i++) {
		c[i] = (struct creator){ .kc = kc, .from = i, .to = n, .step = 4, .nodes = nodes };
		pthread_create(&t[i], NULL, create_main, &c[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		errors += c[i].errors;
	}
	return errors;
}

struct runner {
	const struct kubeconfig *kc;
	struct sched_opts o;
	volatile int stop;
	int ret;
};

static void *run_main(void *arg)
{
	struct runner *r = arg;

	r->ret = sched_run_opts(r->kc, &r->o, &r->stop);
	return NULL;
}

/* Pods bound according to the API server, and how they spread. */
static int count_bound(const struct kubeconfig *kc, int *min_per, int *max_per, int n_nodes)
{
	struct apiclient *ac = NULL;
	struct api_resp r = { 0 };
	struct gerr e = { 0 };
	int bound = -1, *per = calloc(n_nodes, sizeof(int));
	json_t *x;
	size_t i;

	if (!per || apiclient_new(kc, NULL, &ac, &e) ||
	    apiclient_get(ac, "/api/v1/namespaces/default/pods", &r, &e) || !api_ok(&r))
		goto out;
	bound = 0;
	json_array_foreach(json_object_get(r.body, "items"), i, x) {
		const char *n = json_string_value(sel_lookup_path(x, "spec.nodeName"));
		int k;

		if (!n || !*n)
			continue;
		bound++;
		if (sscanf(n, "bench-node-%d", &k) == 1 && k >= 0 && k < n_nodes)
			per[k]++;
	}
	*min_per = bound;
	*max_per = 0;
	for (int k = 0; k < n_nodes; k++) {
		if (per[k] < *min_per)
			*min_per = per[k];
		if (per[k] > *max_per)
			*max_per = per[k];
	}
out:
	api_resp_free(&r);
	apiclient_free(ac);
	free(per);
	return bound;
}

/* Pods arrive while the scheduler runs (the watch path): time from the
 * first create until every pod is bound. */
static int cmd_live(const char *kcpath, int n_nodes, int n_pods, int binders)
{
	struct kubeconfig kc = { 0 };
	struct sched_stats stats = { 0 };
	struct runner run = { 0 };
	struct gerr e = { 0 };
	pthread_t t;
	double t0, t_create, t_all;
	int minp = 0, maxp = 0, bound;

	if (kubeconfig_load(kcpath, NULL, &kc, &e)) {
		fprintf(stderr, "%s\n", e.msg);
		return 1;
	}
	if (create_all(&kc, n_nodes, true))
		return 1;
	run.kc = &kc;
	run.o.binders = binders;
	run.o.stats = &stats;
	pthread_create(&t, NULL, run_main, &run);
	while (!stats.synced && !run.ret)
		usleep(2000);
	t0 = now_s();
	if (create_all(&kc, n_pods, false))
		return 1;
	t_create = now_s() - t0;
	while (stats.bound < n_pods && now_s() - t0 < 300 && !run.ret)
		usleep(2000);
	t_all = now_s() - t0;
	run.stop = 1;
	pthread_join(t, NULL);
	bound = count_bound(&kc, &minp, &maxp, n_nodes);
	printf("live_create_rate %.0f\nlive_bound %d\nlive_seconds %.3f\nlive_rate %.0f\n",
	       n_pods / t_create, bound, t_all, bound / t_all);
	printf("live_conflicts %ld\nlive_errors %ld\nspread_min %d\nspread_max %d\n",
	       stats.conflicts, stats.errors, minp, maxp);
	kubeconfig_free(&kc);
	return bound == n_pods ? 0 : 1;
}

static int cmd_e2e(const char *kcpath, int n_nodes, int n_pods, int binders)
{
	struct kubeconfig kc = { 0 };
	struct sched_stats stats = { 0 };
	struct runner run = { 0 };
	struct gerr e = { 0 };
	pthread_t t;
	double t0, t_create, t_sched;
	int minp = 0, maxp = 0, bound;

	if (kubeconfig_load(kcpath, NULL, &kc, &e)) {
		fprintf(stderr, "%s\n", e.msg);
		return 1;
	}
	if (create_all(&kc, n_nodes, true))
		return 1;
	t0 = now_s();
	if (create_all(&kc, n_pods, false))
		return 1;
	t_create = now_s() - t0;

	run.kc = &kc;
	run.o.binders = binders;
	run.o.stats = &stats;
	t0 = now_s();
	pthread_create(&t, NULL, run_main, &run);
	while (stats.bound < n_pods && now_s() - t0 < 300 && !run.ret)
		usleep(2000);
	t_sched = now_s() - t0;
	run.stop = 1;
	pthread_join(t, NULL);
	bound = count_bound(&kc, &minp, &maxp, n_nodes);
	printf("api_create_pods %d\napi_create_seconds %.3f\napi_create_rate %.0f\n",
	       n_pods, t_create, n_pods / t_create);
	printf("e2e_binders %d\ne2e_bound %d\ne2e_seconds %.3f\ne2e_rate %.0f\n",
	       binders, bound, t_sched, bound / t_sched);
	printf("e2e_conflicts %ld\ne2e_errors %ld\nspread_min %d\nspread_max %d\n",
	       stats.conflicts, stats.errors, minp, maxp);
	kubeconfig_free(&kc);
	return bound == n_pods ? 0 : 1;
}

int main(int argc, char **argv)
{
	log_level = LOG_LVL_WARN;
	if (argc == 4 && !strcmp(argv[1], "pick"))
		return cmd_pick(atoi(argv[2]), atoi(argv[3]));
	if ((argc == 5 || argc == 6) && !strcmp(argv[1], "e2e"))
		return cmd_e2e(argv[2], atoi(argv[3]), atoi(argv[4]), argc == 6 ? atoi(argv[5]) : 4);
	if ((argc == 5 || argc == 6) && !strcmp(argv[1], "live"))
		return cmd_live(argv[2], atoi(argv[3]), atoi(argv[4]), argc == 6 ? atoi(argv[5]) : 4);
	fprintf(stderr, "usage: sched_bench pick NODES PODS | e2e|live KUBECONFIG NODES PODS [BINDERS]\n");
	return 2;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* Policy engine micro-benchmark driver (tests/bench/bench-policy-engine.sh):
 * builds a synthetic cluster (namespaces, pods with named ports) and N
 * NetworkPolicies mixing every peer kind (podSelector, namespaceSelector,
 * both, ipBlock with except) and port kind (number, endPort range, named),
 * then times
 *   - a full recompute of every endpoint (pol_recompute_all),
 *   - one pod label change (new identity) and one policy update, each
 *     incremental, as the median of R repetitions.
 * Prints "key value" lines. Usage: policy_bench POLICIES PODS [R] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "policies/policy.h"

#define NAMESPACES 50
#define APPS 10

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int dcmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static json_t *policy(int k, int variant)
{
	char doc[1024];
	int nsi = k % NAMESPACES;
	const char *peer;
	char pbuf[256];

	switch (k % 5) {
	case 0:
		snprintf(pbuf, sizeof(pbuf), "{\"podSelector\":{\"matchLabels\":{\"app\":\"a%d\"}}}",
			 (k / 5 + variant) % APPS);
		break;
	case 1:
		snprintf(pbuf, sizeof(pbuf), "{\"namespaceSelector\":{\"matchLabels\":{\"team\":\"t%d\"}}}",
			 (k / 5 + variant) % 5);
		break;
	case 2:
		snprintf(pbuf, sizeof(pbuf), "{\"namespaceSelector\":{\"matchLabels\":{\"team\":\"t%d\"}},"
			 "\"podSelector\":{\"matchExpressions\":[{\"key\":\"ver\",\"operator\":\"In\",\"values\":[\"v%d\"]}]}}",
			 k % 5, (k + variant) % 3);
		break;
	case 3:
		snprintf(pbuf, sizeof(pbuf), "{\"ipBlock\":{\"cidr\":\"172.%d.%d.0/24\",\"except\":[\"172.%d.%d.%d/28\"]}}",
			 16 + (k / 256) % 16, k % 256, 16 + (k / 256) % 16, k % 256, (variant % 16) * 16);
		break;
	default:
		snprintf(pbuf, sizeof(pbuf), "{\"podSelector\":{}}");
		break;
	}
	peer = pbuf;
	snprintf(doc, sizeof(doc),
		 "{\"metadata\":{\"name\":\"p%d\",\"namespace\":\"ns%d\"},\"spec\":{"
		 "\"podSelector\":{\"matchLabels\":{\"app\":\"a%d\"}},"
		 "\"ingress\":[{\"from\":[%s],\"ports\":[{\"port\":%d},{\"port\":8000,\"endPort\":%d},{\"port\":\"http\"}]}]%s}}",
		 k, nsi, (k / NAMESPACES) % APPS, peer, 80 + k % 100, 8000 + variant + k % 50,
		 k % 7 == 0 ? ",\"egress\":[{\"to\":[{\"namespaceSelector\":{}}]}]" : "");
	return json_loads(doc, 0, NULL);
}

int main(int argc, char **argv)
{
	int npol = argc > 1 ? atoi(argv[1]) : 1000;
	int npods = argc > 2 ? atoi(argv[2]) : 2000;
	int reps = argc > 3 ? atoi(argv[3]) : 21;
	struct pol_engine *e = pol_engine_new();
	struct pol_named_port port = { "http", POL_PROTO_TCP, 8080 };
	double t0, load, full, *pod_t, *pol_t;
	struct pol_changes ch;
	struct pol_stats st;
	size_t entries = 0;
	uint64_t rc0, rf0;

	pod_t = calloc(reps, sizeof(double));
	pol_t = calloc(reps, sizeof(double));
	t0 = now_ms();
	pol_begin(e);
	for (int i = 0; i < NAMESPACES; i++) {
		char name[16], team[8];
		json_t *l;

		snprintf(name, sizeof(name), "ns%d", i);
		snprintf(team, sizeof(team), "t%d", i % 5);
		l = json_pack("{ss}", "team", team);
		pol_upsert_namespace(e, name, l, NULL);
		json_decref(l);
	}
	for (int j = 0; j < npods; j++) {
		char nsn[16], name[16], ip[32], app[8], ver[8];
		json_t *l;

		snprintf(nsn, sizeof(nsn), "ns%d", j % NAMESPACES);
		snprintf(name, sizeof(name), "pod%d", j);
		snprintf(ip, sizeof(ip), "10.244.%d.%d", j / 250, j % 250 + 2);
		snprintf(app, sizeof(app), "a%d", (j / NAMESPACES) % APPS);
		/* 1000 label sets: two pods per identity with 2000 pods */
		snprintf(ver, sizeof(ver), "v%d", (j / (NAMESPACES * APPS)) % 2);
		l = json_pack("{ssss}", "app", app, "ver", ver);
		port.port = (uint16_t)(8080 + j % 2);
		pol_upsert_pod(e, nsn, name, l, ip, &port, 1, NULL);
		json_decref(l);
	}
	for (int k = 0; k < npol; k++) {
		json_t *p = policy(k, 0);
		struct gerr err = { 0 };

		if (pol_upsert_policy(e, p, &err)) {
			fprintf(stderr, "policy %d: %s\n", k, err.msg);
			return 1;
		}
		json_decref(p);
	}
	pol_commit(e);
	load = now_ms() - t0;
	pol_changes_take(e, &ch);
	pol_changes_free(&ch);

	t0 = now_ms();
	pol_recompute_all(e);
	full = now_ms() - t0;
	pol_changes_take(e, &ch);
	pol_changes_free(&ch);

	pol_get_stats(e, &st);
	rc0 = st.recomputed;
	rf0 = st.refreshed;
	for (int r = 0; r < reps; r++) {
		char name[16], nsn[16], rev[16];
		json_t *l, *p;
		int j = (r * 37) % npods;

		/* one pod gets a label no other pod has: a new identity */
		snprintf(nsn, sizeof(nsn), "ns%d", j % NAMESPACES);
		snprintf(name, sizeof(name), "pod%d", j);
		snprintf(rev, sizeof(rev), "r%d", r);
		l = json_pack("{ssssss}", "app", "a1", "ver", "v1", "rev", rev);
		port.port = (uint16_t)(8080 + j % 2);
		t0 = now_ms();
		if (pol_upsert_pod(e, nsn, name, l, NULL, &port, 1, NULL))
			return 1;
		pod_t[r] = now_ms() - t0;
		json_decref(l);
		pol_changes_take(e, &ch);
		pol_changes_free(&ch);

		/* one policy changes its rules */
		p = policy((r * 13) % npol, r + 1);
		t0 = now_ms();
		if (pol_upsert_policy(e, p, NULL))
			return 1;
		pol_t[r] = now_ms() - t0;
		json_decref(p);
		pol_changes_take(e, &ch);
		pol_changes_free(&ch);
	}
	pol_get_stats(e, &st);
	qsort(pod_t, reps, sizeof(double), dcmp);
	qsort(pol_t, reps, sizeof(double), dcmp);
	for (int j = 0; j < npods; j++) {
		char name[16], nsn[16];

		snprintf(nsn, sizeof(nsn), "ns%d", j % NAMESPACES);
		snprintf(name, sizeof(name), "pod%d", j);
		for (int d = 0; d < 2; d++) {
			const struct pol_rules *r = pol_endpoint_rules(e, nsn, name, d);

			entries += r ? r->n : 0;
		}
	}
	printf("policies %d\npods %d\nidentities %zu\ncidr_identities %zu\n", npol, npods,
	       st.identities, st.cidr_identities);
	printf("entries %zu\nload_ms %.2f\nfull_ms %.3f\n", entries, load, full);
	printf("pod_change_ms %.3f\npolicy_change_ms %.3f\n", pod_t[reps / 2], pol_t[reps / 2]);
	/* nearest-rank p99 */
	printf("pod_change_p99_ms %.3f\npolicy_change_p99_ms %.3f\n",
	       pod_t[(99 * reps + 99) / 100 - 1], pol_t[(99 * reps + 99) / 100 - 1]);
	/* per incremental change: endpoints fully recomputed (both directions
	 * count as one) and endpoint-directions refreshed for one identity */
	printf("incr_recomputed_per_change %.1f\n", (double)(st.recomputed - rc0) / 2.0 / (2.0 * reps));
	printf("incr_refreshed_per_change %.1f\n", (double)(st.refreshed - rf0) / (2.0 * reps));
	pol_engine_free(e);
	free(pod_t);
	free(pol_t);
	return 0;
}

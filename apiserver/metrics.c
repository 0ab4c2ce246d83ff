/* SPDX-License-Identifier: Apache-2.0 */
/* Request metrics in Prometheus text format: apiserver_request_total by
 * (verb, resource, code), apiserver_request_duration_seconds histogram by
 * (verb, resource), and the current number of watchers. */
#include "apiserver/apiserver.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define M_MAX 512

static const double bounds[] = { 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
				 0.25, 0.5, 1, 2.5, 5 };
#define N_BOUNDS (sizeof(bounds) / sizeof(bounds[0]))

struct m_count {
	char verb[24], res[96];
	int code;
	unsigned long long n;
};
struct m_hist {
	char verb[24], res[96];
	unsigned long long buckets[N_BOUNDS];
	unsigned long long count;
	double sum;
};

static pthread_mutex_t m_lock = PTHREAD_MUTEX_INITIALIZER;
static struct m_count counts[M_MAX];
static int n_counts;
static struct m_hist hists[M_MAX];
static int n_hists;
static long watchers;
static long long compacted_rev, compactions;

void metrics_observe(const char *verb, const char *resource, int code, double seconds)
{
	int i;

	pthread_mutex_lock(&m_lock);
	for (i = 0; i < n_counts; i++)
		if (counts[i].code == code && !strcmp(counts[i].verb, verb) &&
		    !strcmp(counts[i].res, resource))
			break;
	if (i == n_counts && n_counts < M_MAX) {
		snprintf(counts[i].verb, sizeof(counts[i].verb), "%s", verb);
		snprintf(counts[i].res, sizeof(counts[i].res), "%s", resource);
		counts[i].code = code;
		n_counts++;
	}
	if (i < M_MAX)
		counts[i].n++;
	for (i = 0; i < n_hists; i++)
		if (!strcmp(hists[i].verb, verb) && !strcmp(hists[i].res, resource))
			break;
	if (i == n_hists && n_hists < M_MAX) {
		snprintf(hists[i].verb, sizeof(hists[i].verb), "%s", verb);
		snprintf(hists[i].res, sizeof(hists[i].res), "%s", resource);
		n_hists++;
	}
	if (i < M_MAX) {
		for (size_t b = 0; b < N_BOUNDS; b++)
			if (seconds <= bounds[b])
				hists[i].buckets[b]++;
		hists[i].count++;
		hists[i].sum += seconds;
	}
	pthread_mutex_unlock(&m_lock);
}

void metrics_watchers(int delta)
{
	pthread_mutex_lock(&m_lock);
	watchers += delta;
	pthread_mutex_unlock(&m_lock);
}

void metrics_compacted(int64_t rev)
{
	pthread_mutex_lock(&m_lock);
	compacted_rev = rev;
	compactions++;
	pthread_mutex_unlock(&m_lock);
}

char *metrics_render(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return strdup("");
	pthread_mutex_lock(&m_lock);
	fprintf(f, "# HELP apiserver_request_total Requests by verb, resource and HTTP code.\n"
		   "# TYPE apiserver_request_total counter\n");
	for (int i = 0; i < n_counts; i++)
		fprintf(f, "apiserver_request_total{verb=\"%s\",resource=\"%s\",code=\"%d\"} %llu\n",
			counts[i].verb, counts[i].res, counts[i].code, counts[i].n);
	fprintf(f, "# HELP apiserver_request_duration_seconds Request latency.\n"
		   "# TYPE apiserver_request_duration_seconds histogram\n");
	for (int i = 0; i < n_hists; i++) {
		for (size_t b = 0; b < N_BOUNDS; b++)
			fprintf(f, "apiserver_request_duration_seconds_bucket{verb=\"%s\",resource=\"%s\",le=\"%g\"} %llu\n",
				hists[i].verb, hists[i].res, bounds[b], hists[i].buckets[b]);
		fprintf(f, "apiserver_request_duration_seconds_bucket{verb=\"%s\",resource=\"%s\",le=\"+Inf\"} %llu\n",
			hists[i].verb, hists[i].res, hists[i].count);
		fprintf(f, "apiserver_request_duration_seconds_sum{verb=\"%s\",resource=\"%s\"} %g\n",
			hists[i].verb, hists[i].res, hists[i].sum);
		fprintf(f, "apiserver_request_duration_seconds_count{verb=\"%s\",resource=\"%s\"} %llu\n",
			hists[i].verb, hists[i].res, hists[i].count);
	}
	fprintf(f, "# HELP apiserver_registered_watchers Open watch streams.\n"
		   "# TYPE apiserver_registered_watchers gauge\napiserver_registered_watchers %ld\n",
		watchers);
	fprintf(f, "# HELP apiserver_storage_compacted_revision Store history is compacted up to this revision.\n"
		   "# TYPE apiserver_storage_compacted_revision gauge\napiserver_storage_compacted_revision %lld\n"
		   "# HELP apiserver_storage_compactions_total Store compactions done.\n"
		   "# TYPE apiserver_storage_compactions_total counter\napiserver_storage_compactions_total %lld\n",
		compacted_rev, compactions);
	pthread_mutex_unlock(&m_lock);
	fclose(f);
	return buf;
}

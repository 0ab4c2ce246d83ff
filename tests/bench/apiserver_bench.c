// SPDX-License-Identifier: Apache-2.0
/* gannet-apiserver load generator over HTTPS (libcurl, one keep-alive
 * connection per thread, admin client certificate):
 *   create: N ConfigMap creates over T threads            -> creates/s
 *   get:    N gets of random existing objects over T threads -> gets/s
 *   watch:  W watchers on one collection; a writer creates N objects
 *           stamped with their send time; every watcher records arrival
 *           latency -> p50/p99/max over W*N deliveries, and checks that
 *           every watcher saw every event exactly once.
 * Prints one "RESULT ..." line per run for tests/bench/bench-apiserver.sh.
 *
 *   apiserver-bench -s URL -a CA,CERT,KEY [-n N] [-t T] [-w W] [-p PREFIX] MODE */
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *url, *ca, *cert, *key, *prefix = "b";
static long n_ops = 10000, n_threads = 4, n_watchers = 100;
static atomic_long next_op, errors;

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long long real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static size_t sink(char *p, size_t sz, size_t n, void *u)
{
	return sz * n;
}

static CURL *mk(void)
{
	CURL *c = curl_easy_init();

	curl_easy_setopt(c, CURLOPT_CAINFO, ca);
	curl_easy_setopt(c, CURLOPT_SSLCERT, cert);
	curl_easy_setopt(c, CURLOPT_SSLKEY, key);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
	return c;
}

static long do_req(CURL *c, const char *method, const char *path, const char *body,
		   struct curl_slist *hdrs)
{
	char u[1024];
	long code = 0;

	snprintf(u, sizeof(u), "%s%s", url, path);
	curl_easy_setopt(c, CURLOPT_URL, u);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	} else {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, NULL);
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	}
	if (curl_easy_perform(c) != CURLE_OK)
		return -1;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	return code;
}

/* ---- create / get ------------------------------------------------------- */

static void *creator(void *arg)
{
	CURL *c = mk();
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	char body[512];
	long i;

	while ((i = atomic_fetch_add(&next_op, 1)) < n_ops) {
		snprintf(body, sizeof(body),
			 "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"%s-%ld\","
			 "\"labels\":{\"bench\":\"%s\"}},\"data\":{\"key\":\"value-%ld\"}}",
			 prefix, i, prefix, i);
		if (do_req(c, "POST", "/api/v1/namespaces/default/configmaps", body, h) != 201)
			atomic_fetch_add(&errors, 1);
	}
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return NULL;
}

static void *getter(void *arg)
{
	CURL *c = mk();
	unsigned int seed = (unsigned int)(uintptr_t)arg * 7919u + 1;
	char path[256];

	while (atomic_fetch_add(&next_op, 1) < n_ops) {
		long i = rand_r(&seed) % n_watchers;   /* -w doubles as "existing objects" */

		snprintf(path, sizeof(path), "/api/v1/namespaces/default/configmaps/%s-%ld", prefix, i);
		if (do_req(c, "GET", path, NULL, NULL) != 200)
			atomic_fetch_add(&errors, 1);
	}
	curl_easy_cleanup(c);
	return NULL;
}

static double run_threads(void *(*fn)(void *))
{
	pthread_t *th = calloc((size_t)n_threads, sizeof(*th));
	double t0 = mono();

	atomic_store(&next_op, 0);
	for (long i = 0; i < n_threads; i++)
		pthread_create(&th[i], NULL, fn, (void *)(uintptr_t)i);
	for (long i = 0; i < n_threads; i++)
		pthread_join(th[i], NULL);
	free(th);
	return mono() - t0;
}

/* ---- watch fan-out ------------------------------------------------------ */

struct watcher {
	char *buf;
	size_t len, cap;
	double *lat;            /* ms, one per event */
	long n_lat;
	long dup_or_bad;
	long last_seq;
	bool connected;
};

static atomic_long connected;
static atomic_int stop_watch;

static size_t w_header(char *p, size_t sz, size_t n, void *u)
{
	struct watcher *w = u;

	if (!w->connected && n * sz >= 12 && !strncmp(p, "HTTP/", 5) && strstr(p, " 200")) {
		w->connected = true;
		atomic_fetch_add(&connected, 1);
	}
	return sz * n;
}

static size_t w_body(char *p, size_t sz, size_t n, void *u)
{
	struct watcher *w = u;
	size_t add = sz * n;
	long long now = real_ns();

	if (w->len + add + 1 > w->cap) {
		w->cap = (w->len + add + 1) * 2;
		w->buf = realloc(w->buf, w->cap);
	}
	memcpy(w->buf + w->len, p, add);
	w->len += add;
	w->buf[w->len] = '\0';
	char *line = w->buf, *nl;
	while ((nl = strchr(line, '\n'))) {
		*nl = '\0';
		char *t = strstr(line, "\"bench/t\":\"");
		char *s = strstr(line, "\"bench/seq\":\"");
		if (t && s && strstr(line, "\"type\":\"ADDED\"")) {
			long long sent = atoll(t + 11);
			long seq = atol(s + 13);

			if (seq != w->last_seq + 1)
				w->dup_or_bad++;
			w->last_seq = seq;
			if (w->n_lat < n_ops)
				w->lat[w->n_lat++] = (double)(now - sent) / 1e6;
		}
		line = nl + 1;
	}
	memmove(w->buf, line, strlen(line) + 1);
	w->len = strlen(w->buf);
	return atomic_load(&stop_watch) ? 0 : add;
}

static int w_progress(void *u, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
	return atomic_load(&stop_watch) ? 1 : 0;
}

static const char *watch_rv;

static void *watch_thread(void *arg)
{
	struct watcher *w = arg;
	CURL *c = mk();
	char u[1024];

	snprintf(u, sizeof(u),
		 "%s/api/v1/namespaces/default/configmaps?watch=true&labelSelector=bench%%3D%s&resourceVersion=%s&timeoutSeconds=120",
		 url, prefix, watch_rv);
	curl_easy_setopt(c, CURLOPT_URL, u);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, w_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, w);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, w_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, w);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, w_progress);
	curl_easy_perform(c);
	curl_easy_cleanup(c);
	return NULL;
}

static size_t grab(char *p, size_t sz, size_t n, void *u)
{
	char *dst = u;
	size_t have = strlen(dst), add = sz * n;

	if (have + add < 4096) {
		memcpy(dst + have, p, add);
		dst[have + add] = '\0';
	}
	return sz * n;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int run_watch(void)
{
	struct watcher *ws = calloc((size_t)n_watchers, sizeof(*ws));
	pthread_t *th = calloc((size_t)n_watchers, sizeof(*th));
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	CURL *c = mk();
	char resp[4096] = "", rv[32] = "0", body[512], u[512];
	double t0;
	long missing = 0, bad = 0, total = 0;

	/* current revision: watchers resume from it, so none misses an event */
	snprintf(u, sizeof(u), "%s/api/v1/namespaces/default/configmaps?limit=1", url);
	curl_easy_setopt(c, CURLOPT_URL, u);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, grab);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, resp);
	curl_easy_perform(c);
	char *p = strstr(resp, "\"resourceVersion\":\"");
	if (p)
		snprintf(rv, sizeof(rv), "%ld", atol(p + 19));
	watch_rv = rv;
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
	for (long i = 0; i < n_watchers; i++) {
		ws[i].lat = calloc((size_t)n_ops, sizeof(double));
		pthread_create(&th[i], NULL, watch_thread, &ws[i]);
	}
	t0 = mono();
	while (atomic_load(&connected) < n_watchers && mono() - t0 < 30)
		usleep(10000);
	usleep(200000);
	for (long i = 0; i < n_ops; i++) {
		snprintf(body, sizeof(body),
			 "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"%s-%ld\","
			 "\"labels\":{\"bench\":\"%s\"},\"annotations\":{\"bench/t\":\"%lld\",\"bench/seq\":\"%ld\"}}}",
			 prefix, i, prefix, real_ns(), i + 1);
		if (do_req(c, "POST", "/api/v1/namespaces/default/configmaps", body, h) != 201)
			atomic_fetch_add(&errors, 1);
		usleep(10000);   /* ~100 writes/s: measure delivery, not saturation */
	}
	/* let the last events arrive */
	t0 = mono();
	for (;;) {
		long done = 0;

		for (long i = 0; i < n_watchers; i++)
			done += ws[i].n_lat >= n_ops;
		if (done == n_watchers || mono() - t0 > 10)
			break;
		usleep(20000);
	}
	atomic_store(&stop_watch, 1);
	for (long i = 0; i < n_watchers; i++)
		pthread_join(th[i], NULL);
	double *all = calloc((size_t)(n_watchers * n_ops), sizeof(double));
	for (long i = 0; i < n_watchers; i++) {
		memcpy(all + total, ws[i].lat, (size_t)ws[i].n_lat * sizeof(double));
		total += ws[i].n_lat;
		missing += n_ops - ws[i].n_lat;
		bad += ws[i].dup_or_bad;
		free(ws[i].lat);
		free(ws[i].buf);
	}
	qsort(all, (size_t)total, sizeof(double), cmp_d);
	printf("RESULT watch watchers=%ld events=%ld deliveries=%ld missing=%ld out_of_order=%ld "
	       "p50_ms=%.2f p99_ms=%.2f max_ms=%.2f errors=%ld\n",
	       n_watchers, n_ops, total, missing, bad,
	       total ? all[total / 2] : -1, total ? all[(long)(total * 0.99)] : -1,
	       total ? all[total - 1] : -1, atomic_load(&errors));
	free(all);
	free(ws);
	free(th);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return missing || bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	int opt;

	while ((opt = getopt(argc, argv, "s:a:n:t:w:p:")) != -1) {
		switch (opt) {
		case 's': url = optarg; break;
		case 'a': {
			char *s = strdup(optarg);

			ca = strtok(s, ",");
			cert = strtok(NULL, ",");
			key = strtok(NULL, ",");
			break;
		}
		case 'n': n_ops = atol(optarg); break;
		case 't': n_threads = atol(optarg); break;
		case 'w': n_watchers = atol(optarg); break;
		case 'p': prefix = optarg; break;
		default:
			fprintf(stderr, "usage: apiserver-bench -s URL -a CA,CERT,KEY [-n N] [-t T] [-w W] [-p PREFIX] create|get|watch\n");
			return 2;
		}
	}
	if (!url || !ca || !cert || !key || optind >= argc) {
		fprintf(stderr, "apiserver-bench: -s URL -a CA,CERT,KEY and a mode are required\n");
		return 2;
	}
	curl_global_init(CURL_GLOBAL_ALL);
	const char *mode = argv[optind];
	if (!strcmp(mode, "create")) {
		double s = run_threads(creator);

		printf("RESULT create n=%ld threads=%ld secs=%.3f ops_per_s=%.0f errors=%ld\n", n_ops,
		       n_threads, s, n_ops / s, atomic_load(&errors));
	} else if (!strcmp(mode, "get")) {
		double s = run_threads(getter);

		printf("RESULT get n=%ld threads=%ld secs=%.3f ops_per_s=%.0f errors=%ld\n", n_ops,
		       n_threads, s, n_ops / s, atomic_load(&errors));
	} else if (!strcmp(mode, "watch")) {
		return run_watch();
	} else {
		fprintf(stderr, "unknown mode %s\n", mode);
		return 2;
	}
	return atomic_load(&errors) ? 1 : 0;
}

// SPDX-License-Identifier: Apache-2.0
/* Store benchmark: N creates, N updates (with expected revision), N gets of
 * random keys and full lists of the N keys, on one thread, through the store
 * API (any backend URI) -- or, with -b, the same workload as bare
 * SQLite statements with the store's durability (WAL, synchronous=NORMAL,
 * one transaction per write) so the store's overhead shows as a ratio.
 * Prints one line:
 *   RESULT <name> n=<N> create=<ops/s> update=<ops/s> get=<ops/s>
 *          list_ms=<ms per full list> rss_kb=<resident KiB after creates>
 *
 *   store-bench [-n N] [-l LISTS] URI
 *   store-bench [-n N] [-l LISTS] -b FILE       (bare SQLite baseline)
 *   store-bench [-n N] -a CA,CERT,KEY URL       create N ConfigMaps through a
 *                                               running gannet-apiserver (for
 *                                               its memory with N objects) */
#include "apiserver/store.h"

#include <curl/curl.h>
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long rss_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* A value shaped like a small Kubernetes object (~400 bytes of JSON). */
static size_t make_value(char *buf, size_t sz, int i, int gen)
{
	return (size_t)snprintf(buf, sz,
		"{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{"
		"\"name\":\"obj-%08d\",\"namespace\":\"bench\",\"uid\":"
		"\"6f1c2a4e-%04d-4b7e-9c1d-%012d\",\"labels\":{\"app\":\"bench\","
		"\"tier\":\"backend\",\"gen\":\"%d\"},\"annotations\":{\"note\":"
		"\"a value of moderate size, similar to what an API server stores "
		"for a typical object\"}},\"data\":{\"key1\":\"value-%d\",\"key2\":"
		"\"another value that pads the object out a little further\"}}",
		i, i % 10000, i, gen, i);
}

static void key_of(char *buf, size_t sz, int i)
{
	snprintf(buf, sz, "/registry/configmaps/bench/obj-%08d", i);
}

struct result {
	double create, update, get, list_ms;
	long rss;
};

static int run_store(const char *uri, int n, int lists, struct result *r)
{
	struct store *s = NULL;
	struct gerr err = { 0 };
	int64_t *revs = calloc(n, sizeof(*revs));
	char key[96], val[1024];
	double t;
	int ret = 1;

	if (!revs || store_open(uri, &s, &err)) {
		fprintf(stderr, "store_open %s: %s\n", uri, err.msg);
		goto out;
	}
	t = now_s();
	for (int i = 0; i < n; i++) {
		size_t len = make_value(val, sizeof(val), i, 0);

		key_of(key, sizeof(key), i);
		if (store_create(s, key, val, len, &revs[i], &err))
			goto fail;
	}
	r->create = n / (now_s() - t);
	r->rss = rss_kb();
	t = now_s();
	for (int i = 0; i < n; i++) {
		size_t len = make_value(val, sizeof(val), i, 1);

		key_of(key, sizeof(key), i);
		if (store_update(s, key, val, len, revs[i], NULL, &err))
			goto fail;
	}
	r->update = n / (now_s() - t);
	srand(42);
	t = now_s();
	for (int i = 0; i < n; i++) {
		struct store_kv kv;

		key_of(key, sizeof(key), rand() % n);
		if (store_get(s, key, &kv, &err))
			goto fail;
		store_kv_free(&kv);
	}
	r->get = n / (now_s() - t);
	t = now_s();
	for (int i = 0; i < lists; i++) {
		struct store_list l;

		if (store_list(s, "/registry/configmaps/bench/", NULL, 0, &l,
			       &err))
			goto fail;
		if (l.n != (size_t)n) {
			fprintf(stderr, "list returned %zu of %d\n", l.n, n);
			store_list_free(&l);
			goto out;
		}
		store_list_free(&l);
	}
	r->list_ms = (now_s() - t) * 1000 / lists;
	ret = 0;
	goto out;
fail:
	fprintf(stderr, "store-bench: %s\n", err.msg);
out:
	store_close(s);
	free(revs);
	return ret;
}

/* Bare SQLite: a plain key/value table, the same pragmas and one
 * transaction per write, no revision bookkeeping. */
static int run_baseline(const char *path, int n, int lists, struct result *r)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *ins = NULL, *upd = NULL, *get = NULL, *lst = NULL;
	char key[96], val[1024];
	double t;
	int ret = 1;

	if (sqlite3_open(path, &db) ||
	    sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
			 "CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v BLOB)",
			 NULL, NULL, NULL) ||
	    sqlite3_prepare_v2(db, "INSERT INTO kv VALUES (?1, ?2)", -1, &ins, NULL) ||
	    sqlite3_prepare_v2(db, "UPDATE kv SET v = ?2 WHERE k = ?1", -1, &upd, NULL) ||
	    sqlite3_prepare_v2(db, "SELECT v FROM kv WHERE k = ?1", -1, &get, NULL) ||
	    sqlite3_prepare_v2(db, "SELECT k, v FROM kv WHERE k >= ?1 AND k < ?2"
			       " ORDER BY k", -1, &lst, NULL))
		goto fail;
	t = now_s();
	for (int i = 0; i < n; i++) {
		size_t len = make_value(val, sizeof(val), i, 0);

		key_of(key, sizeof(key), i);
		sqlite3_bind_text(ins, 1, key, -1, SQLITE_STATIC);
		sqlite3_bind_blob(ins, 2, val, (int)len, SQLITE_STATIC);
		if (sqlite3_step(ins) != SQLITE_DONE)
			goto fail;
		sqlite3_reset(ins);
	}
	r->create = n / (now_s() - t);
	r->rss = rss_kb();
	t = now_s();
	for (int i = 0; i < n; i++) {
		size_t len = make_value(val, sizeof(val), i, 1);

		key_of(key, sizeof(key), i);
		sqlite3_bind_text(upd, 1, key, -1, SQLITE_STATIC);
		sqlite3_bind_blob(upd, 2, val, (int)len, SQLITE_STATIC);
		if (sqlite3_step(upd) != SQLITE_DONE)
			goto fail;
		sqlite3_reset(upd);
	}
	r->update = n / (now_s() - t);
	srand(42);
	t = now_s();
	for (int i = 0; i < n; i++) {
		char *copy;

		key_of(key, sizeof(key), rand() % n);
		sqlite3_bind_text(get, 1, key, -1, SQLITE_STATIC);
		if (sqlite3_step(get) != SQLITE_ROW)
			goto fail;
		/* Copy like the store does, to compare like with like. */
		copy = strndup(sqlite3_column_blob(get, 0),
			       sqlite3_column_bytes(get, 0));
		free(copy);
		sqlite3_reset(get);
	}
	r->get = n / (now_s() - t);
	t = now_s();
	for (int i = 0; i < lists; i++) {
		int rows = 0;

		sqlite3_bind_text(lst, 1, "/registry/configmaps/bench/", -1,
				  SQLITE_STATIC);
		sqlite3_bind_text(lst, 2, "/registry/configmaps/bench0", -1,
				  SQLITE_STATIC);
		while (sqlite3_step(lst) == SQLITE_ROW) {
			free(strdup((const char *)sqlite3_column_text(lst, 0)));
			free(strndup(sqlite3_column_blob(lst, 1),
				     sqlite3_column_bytes(lst, 1)));
			rows++;
		}
		sqlite3_reset(lst);
		if (rows != n)
			goto fail;
	}
	r->list_ms = (now_s() - t) * 1000 / lists;
	ret = 0;
	goto out;
fail:
	fprintf(stderr, "baseline: %s\n", db ? sqlite3_errmsg(db) : "open");
out:
	sqlite3_finalize(ins);
	sqlite3_finalize(upd);
	sqlite3_finalize(get);
	sqlite3_finalize(lst);
	sqlite3_close(db);
	return ret;
}

static size_t discard(char *p, size_t sz, size_t n, void *arg)
{
	return sz * n;
}

/* Creates n ConfigMaps in namespace default over one keep-alive HTTPS
 * connection authenticated with the admin client certificate. */
static int run_apiserver(const char *url, char *creds, int n, struct result *r)
{
	char *ca = strtok(creds, ","), *cert = strtok(NULL, ","),
	     *key = strtok(NULL, ",");
	struct curl_slist *hdrs = NULL;
	char target[512], val[1024];
	CURL *h;
	double t;
	int ret = 1;

	if (!ca || !cert || !key) {
		fprintf(stderr, "-a wants CA,CERT,KEY\n");
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	h = curl_easy_init();
	hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	if (!h || !hdrs)
		goto out;
	snprintf(target, sizeof(target), "%s/api/v1/namespaces/default/configmaps",
		 url);
	curl_easy_setopt(h, CURLOPT_URL, target);
	curl_easy_setopt(h, CURLOPT_CAINFO, ca);
	curl_easy_setopt(h, CURLOPT_SSLCERT, cert);
	curl_easy_setopt(h, CURLOPT_SSLKEY, key);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
	t = now_s();
	for (int i = 0; i < n; i++) {
		long code = 0;
		CURLcode cc;

		snprintf(val, sizeof(val),
			 "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{"
			 "\"name\":\"obj-%08d\",\"labels\":{\"app\":\"bench\","
			 "\"tier\":\"backend\"},\"annotations\":{\"note\":"
			 "\"a value of moderate size, similar to what an API server "
			 "stores for a typical object\"}},\"data\":{\"key1\":"
			 "\"value-%d\",\"key2\":\"another value that pads the object "
			 "out a little further\"}}", i, i);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, val);
		cc = curl_easy_perform(h);
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
		if (cc != CURLE_OK || code != 201) {
			fprintf(stderr, "create %d: %s, HTTP %ld\n", i,
				curl_easy_strerror(cc), code);
			goto out;
		}
	}
	r->create = n / (now_s() - t);
	ret = 0;
out:
	curl_slist_free_all(hdrs);
	if (h)
		curl_easy_cleanup(h);
	return ret;
}

int main(int argc, char **argv)
{
	struct result r = { 0 };
	int n = 10000, lists = 20, baseline = 0, opt, ret;
	const char *target;
	char *creds = NULL;

	while ((opt = getopt(argc, argv, "n:l:ba:")) != -1) {
		switch (opt) {
		case 'n': n = atoi(optarg); break;
		case 'l': lists = atoi(optarg); break;
		case 'b': baseline = 1; break;
		case 'a': creds = optarg; break;
		default: goto usage;
		}
	}
	if (optind >= argc || n <= 0 || lists <= 0)
		goto usage;
	target = argv[optind];
	if (creds) {
		ret = run_apiserver(target, creds, n, &r);
		if (!ret)
			printf("RESULT apiserver n=%d create=%.0f\n", n, r.create);
		return ret;
	}
	ret = baseline ? run_baseline(target, n, lists, &r) :
			 run_store(target, n, lists, &r);
	if (ret)
		return ret;
	printf("RESULT %s n=%d create=%.0f update=%.0f get=%.0f list_ms=%.2f"
	       " rss_kb=%ld\n", baseline ? "baseline" : target, n, r.create,
	       r.update, r.get, r.list_ms, r.rss);
	return 0;
usage:
	fprintf(stderr, "usage: %s [-n N] [-l LISTS] URI | -b FILE | -a CA,CERT,KEY URL\n",
		argv[0]);
	return 2;
}

// SPDX-License-Identifier: Apache-2.0
/* etcd v3 backend of the store, through etcd's JSON gateway (/v3/...) with
 * libcurl and jansson. Keys and values travel base64-encoded (OpenSSL
 * EVP_EncodeBlock/DecodeBlock); int64 fields come back as JSON strings.
 * Conditional writes are /v3/kv/txn compares on create_revision (create,
 * exists) or mod_revision (expected revision). A watch is one long-lived
 * streaming POST /v3/watch on its own thread, driven by a curl multi handle
 * so that stop can wake it at once; it reconnects from the last delivered
 * revision if the stream breaks. */
#include "apiserver/store_backend.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ETCD_HANDLES_MAX 16

struct ec_handle {
	CURL *h;
	struct ec_handle *next;
};

struct ec_store {
	struct store base;
	/* Endpoints (comma-separated in the URI), without trailing slash;
	 * requests go to urls[cur] and move on when it refuses connections. */
	char **urls;
	int n_urls;
	int cur;                        /* atomic */
	struct curl_slist *hdrs;
	pthread_mutex_t mu;             /* the handle pool */
	struct ec_handle *free_handles;
	int n_free;
};

struct ec_watch {
	struct store_watch base;
	struct ec_store *s;
	char *key_b64, *end_b64;
	int64_t last;                   /* last delivered revision */
	store_watch_cb cb;
	void *arg;
	pthread_t thread;
	CURLM *multi;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	bool stop;                      /* guarded by mu */
	int state;                      /* 0 starting, 1 created, <0 -errno */
	bool cb_stopped;
	bool got_data;                  /* this stream delivered something */
	/* Partial line of the newline-delimited JSON stream. */
	char *buf;
	size_t len, cap;
};

static const struct store_ops ec_ops;

/* ---- base64 (OpenSSL) ---- */

static char *b64_enc(const void *data, size_t len)
{
	char *out = malloc(4 * ((len + 2) / 3) + 1);

	if (out)
		EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	return out;
}

/* Decodes s into a new NUL-terminated buffer; *len excludes the NUL. */
static char *b64_dec(const char *s, size_t *len)
{
	size_t sl = s ? strlen(s) : 0;
	char *out = malloc(3 * (sl / 4) + 1);
	int n;

	if (!out)
		return NULL;
	n = sl ? EVP_DecodeBlock((unsigned char *)out, (const unsigned char *)s,
				 (int)sl) : 0;
	if (n < 0) {
		free(out);
		return NULL;
	}
	/* DecodeBlock counts the padding as zero bytes. */
	if (sl >= 1 && s[sl - 1] == '=')
		n--;
	if (sl >= 2 && s[sl - 2] == '=')
		n--;
	out[n] = '\0';
	*len = (size_t)n;
	return out;
}

/* ---- JSON helpers ---- */

/* etcd's int64 fields are JSON strings; absent means 0 (proto3). */
static int64_t j_i64(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	if (json_is_string(v))
		return strtoll(json_string_value(v), NULL, 10);
	if (json_is_integer(v))
		return json_integer_value(v);
	return 0;
}

static json_t *j_rev(int64_t v)
{
	char b[24];

	snprintf(b, sizeof(b), "%lld", (long long)v);
	return json_string(b);
}

/* Converts an etcd KeyValue into kv; value_from supplies the value (the
 * prev_kv of a delete event). */
static int j_kv(json_t *o, json_t *value_from, struct store_kv *kv)
{
	size_t kl = 0, vl = 0;
	char *k = b64_dec(json_string_value(json_object_get(o, "key")), &kl);
	char *v = b64_dec(json_string_value(json_object_get(value_from, "value")),
			  &vl);
	int ret = -ENOMEM;

	if (k && v) {
		kv->key = k;
		kv->value = v;
		kv->len = vl;
		kv->create_rev = j_i64(value_from, "create_revision");
		kv->mod_rev = j_i64(o, "mod_revision");
		return 0;
	}
	free(k);
	free(v);
	return ret;
}

/* ---- HTTP ---- */

struct buf {
	char *p;
	size_t len, cap;
};

static size_t buf_write(char *data, size_t sz, size_t n, void *arg)
{
	struct buf *b = arg;
	size_t add = sz * n;

	if (b->len + add + 1 > b->cap) {
		size_t ncap = b->cap ? b->cap : 4096;
		char *np;

		while (ncap < b->len + add + 1)
			ncap *= 2;
		np = realloc(b->p, ncap);
		if (!np)
			return 0;
		b->p = np;
		b->cap = ncap;
	}
	memcpy(b->p + b->len, data, add);
	b->len += add;
	b->p[b->len] = '\0';
	return add;
}

static CURL *handle_get(struct ec_store *s)
{
	struct ec_handle *e;
	CURL *h;

	pthread_mutex_lock(&s->mu);
	e = s->free_handles;
	if (e) {
		s->free_handles = e->next;
		s->n_free--;
	}
	pthread_mutex_unlock(&s->mu);
	if (e) {
		h = e->h;
		free(e);
		return h;
	}
	h = curl_easy_init();
	if (!h)
		return NULL;
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 60000L);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, s->hdrs);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, buf_write);
	return h;
}

/* Keeps a few handles (and their keep-alive connections) for reuse. */
static void handle_put(struct ec_store *s, CURL *h)
{
	struct ec_handle *e = NULL;

	pthread_mutex_lock(&s->mu);
	if (s->n_free < ETCD_HANDLES_MAX)
		e = malloc(sizeof(*e));
	if (e) {
		e->h = h;
		e->next = s->free_handles;
		s->free_handles = e;
		s->n_free++;
	}
	pthread_mutex_unlock(&s->mu);
	if (!e)
		curl_easy_cleanup(h);
}

/* Maps an etcd gateway error body ({"error","code"}) to -errno. */
static int etcd_error(json_t *resp, long status, struct gerr *err)
{
	const char *msg = json_string_value(json_object_get(resp, "error"));

	if (!msg)
		msg = "no error message";
	if (strstr(msg, "has been compacted"))
		return gerr_set(err, -ERANGE, "etcd: %s", msg);
	if (strstr(msg, "future revision"))
		return gerr_set(err, -EINVAL, "etcd: %s", msg);
	return gerr_set(err, -EIO, "etcd: HTTP %ld: %s", status, msg);
}

static int endpoint(struct ec_store *s)
{
	return __atomic_load_n(&s->cur, __ATOMIC_RELAXED);
}

/* The endpoint at index failed to connect: move on from it (once, even if
 * several threads noticed). */
static void endpoint_next(struct ec_store *s, int failed)
{
	int next = (failed + 1) % s->n_urls;

	__atomic_compare_exchange_n(&s->cur, &failed, next, false,
				    __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}

/* POSTs req (consumed) to /v3/<path> and returns the parsed response.
 * A refused connection means the request was never sent, so it is safe to
 * retry on the next endpoint, even for writes. */
static int etcd_call(struct ec_store *s, const char *path, json_t *req,
		     json_t **resp, struct gerr *err)
{
	struct buf b = { 0 };
	char url[512];
	char *body = NULL;
	json_error_t jerr;
	CURLcode cc;
	long status = 0;
	CURL *h = NULL;
	int ret = 0, ep, tries = 0;

	*resp = NULL;
	body = req ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	if (!body)
		return gerr_set(err, -ENOMEM, "etcd: out of memory");
	h = handle_get(s);
	if (!h) {
		ret = gerr_set(err, -ENOMEM, "etcd: curl_easy_init failed");
		goto out;
	}
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	do {
		ep = endpoint(s);
		snprintf(url, sizeof(url), "%s/v3/%s", s->urls[ep], path);
		curl_easy_setopt(h, CURLOPT_URL, url);
		cc = curl_easy_perform(h);
		if (cc == CURLE_COULDNT_CONNECT && s->n_urls > 1)
			endpoint_next(s, ep);
	} while (cc == CURLE_COULDNT_CONNECT && ++tries < s->n_urls);
	if (cc != CURLE_OK) {
		ret = gerr_set(err, cc == CURLE_COULDNT_CONNECT ? -ECONNREFUSED :
			       -EIO, "etcd: %s: %s", url, curl_easy_strerror(cc));
		/* Drop the handle: its connection state is unknown. */
		curl_easy_cleanup(h);
		h = NULL;
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	*resp = b.p ? json_loadb(b.p, b.len, 0, &jerr) : NULL;
	if (!*resp) {
		ret = gerr_set(err, -EIO, "etcd: %s: HTTP %ld, bad JSON reply",
			       url, status);
		goto out;
	}
	if (status != 200 || json_object_get(*resp, "error")) {
		ret = etcd_error(*resp, status, err);
		json_decref(*resp);
		*resp = NULL;
	}
out:
	if (h)
		handle_put(s, h);
	free(b.p);
	free(body);
	return ret;
}

static int64_t header_rev(json_t *resp)
{
	return j_i64(json_object_get(resp, "header"), "revision");
}

/* ---- key/value operations ---- */

static json_t *j_b64(const void *p, size_t len)
{
	char *e = b64_enc(p, len);
	json_t *j = e ? json_string(e) : NULL;

	free(e);
	return j;
}

static json_t *compare_exists(json_t *key, int64_t expected_rev, bool absent)
{
	if (absent)
		return json_pack("{s:s, s:O, s:s, s:s}", "target", "CREATE",
				 "key", key, "create_revision", "0",
				 "result", "EQUAL");
	if (expected_rev)
		return json_pack("{s:s, s:O, s:o, s:s}", "target", "MOD",
				 "key", key, "mod_revision", j_rev(expected_rev),
				 "result", "EQUAL");
	return json_pack("{s:s, s:O, s:s, s:s}", "target", "CREATE", "key", key,
			 "create_revision", "0", "result", "GREATER");
}

enum ec_op { EC_CREATE, EC_UPDATE, EC_DELETE };

/* One txn: compare (absent / exists / mod_revision), then put or delete;
 * on failure read the key to tell "missing" from "conflict". */
static int ec_write(struct ec_store *s, enum ec_op op, const char *key,
		    const char *val, size_t len, int64_t expected_rev,
		    int64_t *rev_out, struct store_kv *prev, struct gerr *err)
{
	json_t *k = j_b64(key, strlen(key));
	json_t *req = NULL, *resp = NULL, *action, *r;
	int ret;

	if (!k)
		return gerr_set(err, -ENOMEM, "etcd: out of memory");
	if (op == EC_DELETE)
		action = json_pack("{s:{s:O, s:b}}", "request_delete_range",
				   "key", k, "prev_kv", 1);
	else
		action = json_pack("{s:{s:O, s:o}}", "request_put", "key", k,
				   "value", j_b64(val, len));
	req = json_pack("{s:[o], s:[o], s:[{s:{s:O}}]}",
			"compare", compare_exists(k, expected_rev,
						  op == EC_CREATE),
			"success", action,
			"failure", "request_range", "key", k);
	json_decref(k);
	if (!req)
		return gerr_set(err, -ENOMEM, "etcd: out of memory");
	ret = etcd_call(s, "kv/txn", req, &resp, err);
	if (ret)
		return ret;
	r = json_array_get(json_object_get(resp, "responses"), 0);
	if (!json_is_true(json_object_get(resp, "succeeded"))) {
		json_t *kvs = json_object_get(json_object_get(r, "response_range"),
					      "kvs");
		bool exists = json_array_size(kvs) > 0;

		if (op == EC_CREATE)
			ret = gerr_set(err, -EEXIST, "%s already exists", key);
		else if (!exists)
			ret = gerr_set(err, -ENOENT, "%s not found", key);
		else
			ret = gerr_set(err, -ECANCELED,
				       "%s: revision is %lld, expected %lld", key,
				       (long long)j_i64(json_array_get(kvs, 0),
							"mod_revision"),
				       (long long)expected_rev);
		goto out;
	}
	if (rev_out)
		*rev_out = header_rev(resp);
	if (op == EC_DELETE && prev) {
		json_t *pk = json_array_get(json_object_get(
			json_object_get(r, "response_delete_range"),
			"prev_kvs"), 0);

		if (pk && j_kv(pk, pk, prev))
			ret = gerr_set(err, -ENOMEM, "etcd: out of memory");
	}
out:
	json_decref(resp);
	return ret;
}

static int ec_create(struct store *st, const char *key, const char *val,
		     size_t len, int64_t *rev_out, struct gerr *err)
{
	return ec_write((struct ec_store *)st, EC_CREATE, key, val, len, 0,
			rev_out, NULL, err);
}

static int ec_update(struct store *st, const char *key, const char *val,
		     size_t len, int64_t expected_rev, int64_t *rev_out,
		     struct gerr *err)
{
	return ec_write((struct ec_store *)st, EC_UPDATE, key, val, len,
			expected_rev, rev_out, NULL, err);
}

static int ec_delete(struct store *st, const char *key, int64_t expected_rev,
		     int64_t *rev_out, struct store_kv *prev, struct gerr *err)
{
	return ec_write((struct ec_store *)st, EC_DELETE, key, NULL, 0,
			expected_rev, rev_out, prev, err);
}

static int ec_revision(struct store *st, int64_t *rev, struct gerr *err)
{
	json_t *resp;
	int ret;

	/* Any range answer carries the store revision in its header. */
	ret = etcd_call((struct ec_store *)st, "kv/range",
			json_pack("{s:s, s:b}", "key", "AA==", "count_only", 1),
			&resp, err);
	if (ret)
		return ret;
	*rev = header_rev(resp);
	json_decref(resp);
	return 0;
}

static int ec_get(struct store *st, const char *key, struct store_kv *out,
		  struct gerr *err)
{
	json_t *resp, *kv;
	int ret;

	ret = etcd_call((struct ec_store *)st, "kv/range",
			json_pack("{s:o}", "key", j_b64(key, strlen(key))),
			&resp, err);
	if (ret)
		return ret;
	kv = json_array_get(json_object_get(resp, "kvs"), 0);
	if (!kv)
		ret = gerr_set(err, -ENOENT, "%s not found", key);
	else if (j_kv(kv, kv, out))
		ret = gerr_set(err, -ENOMEM, "etcd: out of memory");
	json_decref(resp);
	return ret;
}

/* Range bounds for a prefix: etcd's "\0" range_end with key "\0" means
 * every key. */
static int prefix_range(const char *prefix, json_t **key, json_t **end)
{
	size_t elen = 0;
	char *e = store_prefix_end(prefix, &elen);

	if (!*prefix || !e) {
		free(e);
		*key = *key ? *key : json_string("AA==");
		*end = json_string("AA==");
	} else {
		*key = *key ? *key : j_b64(prefix, strlen(prefix));
		*end = j_b64(e, elen);
		free(e);
	}
	return *key && *end ? 0 : -ENOMEM;
}

static int ec_list(struct store *st, const char *prefix,
		   const char *start_after, size_t limit, int64_t at,
		   struct store_list *out, struct gerr *err)
{
	json_t *key = NULL, *end = NULL, *req, *resp, *kvs, *kv;
	size_t i, cap = 0;
	int ret;

	if (start_after && strcmp(start_after, prefix) >= 0) {
		/* The smallest key after start_after is start_after + "\0". */
		key = j_b64(start_after, strlen(start_after) + 1);
		if (!key)
			return gerr_set(err, -ENOMEM, "etcd: out of memory");
	}
	if (prefix_range(prefix, &key, &end)) {
		json_decref(key);
		json_decref(end);
		return gerr_set(err, -ENOMEM, "etcd: out of memory");
	}
	req = json_pack("{s:o, s:o}", "key", key, "range_end", end);
	if (req && limit)
		json_object_set_new(req, "limit", j_rev((int64_t)limit));
	if (req && at)
		json_object_set_new(req, "revision", j_rev(at));
	ret = etcd_call((struct ec_store *)st, "kv/range", req, &resp, err);
	if (ret)
		return ret;
	/* The header has the current revision, not the one read at. */
	out->rev = at ? at : header_rev(resp);
	out->more = json_is_true(json_object_get(resp, "more"));
	kvs = json_object_get(resp, "kvs");
	json_array_foreach(kvs, i, kv) {
		ret = store_list_reserve(out, &cap);
		if (!ret)
			ret = j_kv(kv, kv, &out->items[out->n]);
		if (ret) {
			gerr_set(err, ret, "etcd: out of memory");
			store_list_free(out);
			break;
		}
		out->n++;
	}
	json_decref(resp);
	return ret;
}

static int ec_compact(struct store *st, int64_t rev, struct gerr *err)
{
	struct gerr e2 = { 0 };
	json_t *resp;
	int ret;

	/* physical: return only once the data is gone, like SQLite's. */
	ret = etcd_call((struct ec_store *)st, "kv/compaction",
			json_pack("{s:o, s:b}", "revision", j_rev(rev),
				  "physical", 1), &resp, &e2);
	if (ret == -ERANGE)
		return 0;       /* already compacted that far */
	if (ret)
		return gerr_set(err, ret, "%s", e2.msg);
	json_decref(resp);
	return 0;
}

/* ---- watch ---- */

/* Handles one message of the watch stream. Returns -1 to end the stream. */
static int watch_message(struct ec_watch *w, const char *line, size_t len)
{
	json_error_t jerr;
	json_t *msg = json_loadb(line, len, 0, &jerr), *res, *evs, *e;
	int end = 0, state = 0;
	size_t i;

	if (!msg) {
		pr_warn("store etcd watch: bad JSON line: %s", jerr.text);
		return 0;
	}
	res = json_object_get(msg, "result");
	if (!res) {
		pr_err("store etcd watch: %s", json_string_value(
			json_object_get(msg, "error")) ?: "stream error");
		state = -EIO;
		end = -1;
		goto out;
	}
	if (j_i64(res, "compact_revision") ||
	    json_is_true(json_object_get(res, "canceled"))) {
		pr_err("store etcd watch: canceled (compacted at %lld)",
		       (long long)j_i64(res, "compact_revision"));
		state = j_i64(res, "compact_revision") ? -ERANGE : -EIO;
		end = -1;
		goto out;
	}
	if (json_is_true(json_object_get(res, "created")))
		state = 1;
	evs = json_object_get(res, "events");
	json_array_foreach(evs, i, e) {
		struct store_event ev = { 0 };
		json_t *kv = json_object_get(e, "kv");
		bool del = !strcmp(json_string_value(json_object_get(e, "type"))
				   ?: "PUT", "DELETE");

		ev.rev = j_i64(kv, "mod_revision");
		/* After a reconnect the stream may repeat what was seen. */
		if (ev.rev <= w->last || w->cb_stopped)
			continue;
		if (del)
			ev.type = STORE_EV_DELETE;
		else if (j_i64(kv, "version") == 1)
			ev.type = STORE_EV_CREATE;
		else
			ev.type = STORE_EV_UPDATE;
		if (j_kv(kv, del ? json_object_get(e, "prev_kv") : kv,
			 &ev.kv)) {
			pr_err("store etcd watch: out of memory");
			state = -ENOMEM;
			end = -1;
			break;
		}
		w->last = ev.rev;
		if (w->cb(&ev, w->arg)) {
			w->cb_stopped = true;
			end = -1;
		}
		store_kv_free(&ev.kv);
	}
out:
	json_decref(msg);
	if (state) {
		pthread_mutex_lock(&w->mu);
		if (w->state == 0 || state < 0)
			w->state = state;
		pthread_cond_broadcast(&w->cond);
		pthread_mutex_unlock(&w->mu);
	}
	return end;
}

static size_t watch_write(char *data, size_t sz, size_t n, void *arg)
{
	struct ec_watch *w = arg;
	size_t add = sz * n, start = 0;

	if (w->len + add > w->cap) {
		size_t ncap = w->cap ? w->cap : 8192;
		char *np;

		while (ncap < w->len + add)
			ncap *= 2;
		np = realloc(w->buf, ncap);
		if (!np)
			return 0;
		w->buf = np;
		w->cap = ncap;
	}
	memcpy(w->buf + w->len, data, add);
	w->len += add;
	w->got_data = true;
	for (size_t i = 0; i < w->len; i++) {
		if (w->buf[i] != '\n')
			continue;
		if (i > start && watch_message(w, w->buf + start, i - start))
			return 0;       /* aborts the transfer */
		start = i + 1;
	}
	memmove(w->buf, w->buf + start, w->len - start);
	w->len -= start;
	return add;
}

static bool watch_stopping(struct ec_watch *w)
{
	bool stop;

	pthread_mutex_lock(&w->mu);
	stop = w->stop;
	pthread_mutex_unlock(&w->mu);
	return stop;
}

/* One streaming request from w->last + 1 to the current endpoint; returns
 * when it ends, with the transfer's result. */
static CURLcode watch_stream(struct ec_watch *w)
{
	json_t *req;
	char url[512], *body;
	CURL *h = curl_easy_init();
	CURLcode cc = CURLE_FAILED_INIT;
	int running = 1, ep = endpoint(w->s);
	CURLMsg *m;
	int left;

	req = json_pack("{s:{s:s, s:s, s:o, s:b}}", "create_request",
			"key", w->key_b64, "range_end", w->end_b64,
			"start_revision", j_rev(w->last + 1), "prev_kv", 1);
	body = req ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	if (!h || !body)
		goto out;
	snprintf(url, sizeof(url), "%s/v3/watch", w->s->urls[ep]);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, w->s->hdrs);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, watch_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, w);
	/* A dead peer must not hang the watch forever. */
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	w->len = 0;
	w->got_data = false;
	curl_multi_add_handle(w->multi, h);
	while (running && !watch_stopping(w)) {
		if (curl_multi_perform(w->multi, &running) != CURLM_OK)
			break;
		if (running)
			curl_multi_poll(w->multi, NULL, 0, 1000, NULL);
	}
	while ((m = curl_multi_info_read(w->multi, &left)))
		if (m->msg == CURLMSG_DONE)
			cc = m->data.result;
	curl_multi_remove_handle(w->multi, h);
	if (cc == CURLE_COULDNT_CONNECT && w->s->n_urls > 1)
		endpoint_next(w->s, ep);
out:
	if (h)
		curl_easy_cleanup(h);
	free(body);
	return cc;
}

static void *ec_watch_thread(void *arg)
{
	struct ec_watch *w = arg;
	int refused = 0, delay_ms = 100;

	while (!watch_stopping(w)) {
		CURLcode cc = watch_stream(w);
		int state;

		refused = cc == CURLE_COULDNT_CONNECT ? refused + 1 : 0;
		pthread_mutex_lock(&w->mu);
		state = w->state;
		/* Not yet established: try every endpoint once, then give
		 * up so store_watch_start() can report it. */
		if (state == 0 && (cc != CURLE_COULDNT_CONNECT ||
				   refused >= w->s->n_urls))
			w->state = state = -ECONNREFUSED;
		pthread_cond_broadcast(&w->cond);
		pthread_mutex_unlock(&w->mu);
		if (state < 0 || w->cb_stopped)
			break;
		if (state == 0 || watch_stopping(w))
			continue;
		/* The stream broke after it was established: reconnect
		 * from the last delivered revision, exactly once, backing
		 * off while etcd is away. */
		delay_ms = w->got_data ? 100 : delay_ms * 2 > 2000 ? 2000 :
			   delay_ms * 2;
		pr_warn("store etcd watch: stream ended (%s), reconnecting from %lld",
			curl_easy_strerror(cc), (long long)w->last + 1);
		usleep(delay_ms * 1000);
	}
	return NULL;
}

static void ec_watch_free(struct ec_watch *w)
{
	if (w->multi)
		curl_multi_cleanup(w->multi);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cond);
	free(w->key_b64);
	free(w->end_b64);
	free(w->buf);
	free(w);
}

static int ec_watch_start(struct store *st, const char *prefix,
			  int64_t after_rev, store_watch_cb cb, void *arg,
			  struct store_watch **out, struct gerr *err)
{
	struct ec_store *s = (struct ec_store *)st;
	struct ec_watch *w = calloc(1, sizeof(*w));
	json_t *key = NULL, *end = NULL, *req, *resp = NULL;
	struct gerr e2 = { 0 };
	int ret;

	if (!w)
		return gerr_set(err, -ENOMEM, "etcd: out of memory");
	w->base.ops = &ec_ops;
	w->s = s;
	w->cb = cb;
	w->arg = arg;
	w->last = after_rev;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cond, NULL);
	if (prefix_range(prefix, &key, &end)) {
		ret = gerr_set(err, -ENOMEM, "etcd: out of memory");
		goto out;
	}
	w->key_b64 = strdup(json_string_value(key));
	w->end_b64 = strdup(json_string_value(end));
	w->multi = curl_multi_init();
	if (!w->key_b64 || !w->end_b64 || !w->multi) {
		ret = gerr_set(err, -ENOMEM, "etcd: out of memory");
		goto out;
	}
	/* A read at after_rev fails exactly when after_rev is below the
	 * compacted revision: the same rule as the SQLite backend, checked
	 * before the stream starts so the caller gets -ERANGE (HTTP 410)
	 * synchronously. A future revision is fine for a watch. */
	req = json_pack("{s:O, s:O, s:o, s:b}", "key", key, "range_end", end,
			"revision", j_rev(after_rev > 1 ? after_rev : 1),
			"count_only", 1);
	ret = etcd_call(s, "kv/range", req, &resp, &e2);
	json_decref(resp);
	if (ret == -ERANGE) {
		ret = gerr_set(err, -ERANGE, "watch from revision %lld: %s",
			       (long long)after_rev, e2.msg);
		goto out;
	}
	if (ret && ret != -EINVAL) {
		ret = gerr_set(err, ret, "%s", e2.msg);
		goto out;
	}
	ret = -pthread_create(&w->thread, NULL, ec_watch_thread, w);
	if (ret) {
		gerr_set(err, ret, "etcd watch: cannot start thread");
		goto out;
	}
	/* Wait for etcd to confirm the watch: events after that are
	 * guaranteed to be seen. */
	pthread_mutex_lock(&w->mu);
	while (w->state == 0)
		pthread_cond_wait(&w->cond, &w->mu);
	ret = w->state < 0 ? w->state : 0;
	pthread_mutex_unlock(&w->mu);
	if (ret) {
		pthread_join(w->thread, NULL);
		gerr_set(err, ret, "etcd watch on %s: %s", s->urls[endpoint(s)],
			 ret == -ERANGE ? "revision compacted" :
			 "could not establish the stream");
	}
out:
	json_decref(key);
	json_decref(end);
	if (ret)
		ec_watch_free(w);
	else
		*out = &w->base;
	return ret;
}

static void ec_watch_stop(struct store_watch *base)
{
	struct ec_watch *w = (struct ec_watch *)base;

	pthread_mutex_lock(&w->mu);
	w->stop = true;
	pthread_mutex_unlock(&w->mu);
	curl_multi_wakeup(w->multi);
	pthread_join(w->thread, NULL);
	ec_watch_free(w);
}

/* ---- open / close ---- */

static void ec_close(struct store *st)
{
	struct ec_store *s = (struct ec_store *)st;
	struct ec_handle *e;

	while ((e = s->free_handles)) {
		s->free_handles = e->next;
		curl_easy_cleanup(e->h);
		free(e);
	}
	curl_slist_free_all(s->hdrs);
	pthread_mutex_destroy(&s->mu);
	for (int i = 0; i < s->n_urls; i++)
		free(s->urls[i]);
	free(s->urls);
	free(s);
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* Splits "http://a:2379,http://b:2379" into s->urls. */
static int parse_urls(struct ec_store *s, const char *list, struct gerr *err)
{
	char *copy = strdup(list), *save = NULL, *u;
	int ret = 0;

	if (!copy)
		return gerr_set(err, -ENOMEM, "etcd: out of memory");
	for (u = strtok_r(copy, ",", &save); u; u = strtok_r(NULL, ",", &save)) {
		size_t n = strlen(u);
		char **nu;

		if (strncmp(u, "http://", 7) && strncmp(u, "https://", 8)) {
			ret = gerr_set(err, -EINVAL,
				       "etcd: URL must be http(s)://...: %s", u);
			break;
		}
		while (n && u[n - 1] == '/')
			u[--n] = '\0';
		nu = realloc(s->urls, (s->n_urls + 1) * sizeof(*nu));
		if (!nu || !(nu[s->n_urls] = strdup(u))) {
			if (nu)
				s->urls = nu;
			ret = gerr_set(err, -ENOMEM, "etcd: out of memory");
			break;
		}
		s->urls = nu;
		s->n_urls++;
	}
	if (!ret && !s->n_urls)
		ret = gerr_set(err, -EINVAL, "etcd: no endpoint in \"%s\"", list);
	free(copy);
	return ret;
}

int store_etcd_open(const char *url, struct store **out, struct gerr *err)
{
	struct ec_store *s;
	int64_t rev;
	int ret;

	pthread_once(&curl_once, curl_init_once);
	s = calloc(1, sizeof(*s));
	if (!s)
		return gerr_set(err, -ENOMEM, "etcd: out of memory");
	s->base.ops = &ec_ops;
	pthread_mutex_init(&s->mu, NULL);
	ret = parse_urls(s, url, err);
	if (ret)
		goto out;
	s->hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	if (!s->hdrs) {
		ret = gerr_set(err, -ENOMEM, "etcd: out of memory");
		goto out;
	}
	/* Fail at open, not at the first request, if etcd is not there. */
	ret = ec_revision(&s->base, &rev, err);
out:
	if (ret) {
		ec_close(&s->base);
		s = NULL;
	}
	*out = s ? &s->base : NULL;
	return ret;
}

static const struct store_ops ec_ops = {
	.name = "etcd",
	.revision = ec_revision,
	.create = ec_create,
	.update = ec_update,
	.del = ec_delete,
	.get = ec_get,
	.list = ec_list,
	.watch_start = ec_watch_start,
	.watch_stop = ec_watch_stop,
	.compact = ec_compact,
	.close = ec_close,
};

/* SPDX-License-Identifier: Apache-2.0 */
/* libcurl-based client for the Kubernetes-style API (see apiclient.h). */
#include "common/apiclient.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

struct apiclient {
	CURL *curl;               /* kept across requests: keep-alive */
	struct kubeconfig kc;     /* private copy: blobs must outlive handles */
	struct apiclient_opts o;
	char *auth_header;        /* "Authorization: Bearer ..." or NULL */
	struct curl_slist *connect_to; /* tls-server-name: see use_tls_name() */
};

/* ---- helpers ---------------------------------------------------------- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

static char *xstrdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

static int blob_copy(struct kc_blob *dst, const struct kc_blob *src)
{
	dst->data = NULL;
	dst->len = 0;
	if (!src->len)
		return 0;
	dst->data = malloc(src->len + 1);
	if (!dst->data)
		return -ENOMEM;
	memcpy(dst->data, src->data, src->len);
	dst->data[src->len] = 0;
	dst->len = src->len;
	return 0;
}

struct buf {
	char *p;
	size_t len, cap;
};

static int buf_append(struct buf *b, const char *d, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *np;

		while (cap < b->len + n + 1)
			cap *= 2;
		np = realloc(b->p, cap);
		if (!np)
			return -ENOMEM;
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, d, n);
	b->len += n;
	b->p[b->len] = 0;
	return 0;
}

static size_t write_buf(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct buf *b = ud;

	if (buf_append(b, ptr, size * nmemb))
		return 0;
	return size * nmemb;
}

static int curl_errno(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
		return -ECONNREFUSED;
	case CURLE_COULDNT_RESOLVE_HOST:
		return -EHOSTUNREACH;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CACERT_BADFILE:
		return -EACCES;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	default:
		return -EIO;
	}
}

/* "Warning: 299 - \"unknown field \\\"spec.foo\\\"\"" -> stderr. */
static size_t header_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
	size_t n = size * nmemb;
	const char *p = ptr, *end = ptr + n;
	char text[1024];
	size_t o = 0;

	(void)ud;
	if (n < 9 || strncasecmp(ptr, "Warning:", 8))
		return n;
	p += 8;
	/* warn-code SP warn-agent SP quoted-text */
	while (p < end && *p == ' ')
		p++;
	while (p < end && *p != ' ')
		p++;
	while (p < end && *p == ' ')
		p++;
	while (p < end && *p != ' ')
		p++;
	while (p < end && *p == ' ')
		p++;
	if (p < end && *p == '"')
		p++;
	for (; p < end && *p != '\r' && *p != '\n' && o + 1 < sizeof(text); p++) {
		if (*p == '\\' && p + 1 < end) {
			text[o++] = *++p;
			continue;
		}
		if (*p == '"')
			break;
		text[o++] = *p;
	}
	text[o] = 0;
	fprintf(stderr, "Warning: %s\n", text);
	return n;
}

/* Options shared by normal requests and watches: TLS material, auth. */
static void setup_handle(struct apiclient *c, CURL *h, const char *url)
{
	struct curl_blob blob;

	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_USERAGENT,
			 c->o.user_agent ? c->o.user_agent : "gannet/0.1");
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
			 c->o.connect_timeout_ms ? c->o.connect_timeout_ms : 10000L);
	/* Never follow redirects: credentials must not leak elsewhere. */
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	if (c->kc.ca.len) {
		blob.data = c->kc.ca.data;
		blob.len = c->kc.ca.len;
		blob.flags = CURL_BLOB_NOCOPY;
		curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &blob);
	}
	if (c->kc.cert.len) {
		blob.data = c->kc.cert.data;
		blob.len = c->kc.cert.len;
		blob.flags = CURL_BLOB_NOCOPY;
		curl_easy_setopt(h, CURLOPT_SSLCERT_BLOB, &blob);
		curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
	}
	if (c->kc.key.len) {
		blob.data = c->kc.key.data;
		blob.len = c->kc.key.len;
		blob.flags = CURL_BLOB_NOCOPY;
		curl_easy_setopt(h, CURLOPT_SSLKEY_BLOB, &blob);
		curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
	}
	if (c->kc.insecure) {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (c->o.print_warnings)
		curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_cb);
	if (c->connect_to)
		curl_easy_setopt(h, CURLOPT_CONNECT_TO, c->connect_to);
	if (c->kc.username && !c->auth_header) {
		curl_easy_setopt(h, CURLOPT_USERNAME, c->kc.username);
		curl_easy_setopt(h, CURLOPT_PASSWORD,
				 c->kc.password ? c->kc.password : "");
	}
}

/* Fill reason/message from a Status body or from the HTTP status. */
static void resp_fill_status(struct api_resp *r)
{
	const char *s;

	r->reason[0] = r->message[0] = 0;
	if (json_is_object(r->body)) {
		const char *kind = json_string_value(json_object_get(r->body, "kind"));

		if (kind && !strcmp(kind, "Status")) {
			s = json_string_value(json_object_get(r->body, "reason"));
			if (s)
				snprintf(r->reason, sizeof(r->reason), "%s", s);
			s = json_string_value(json_object_get(r->body, "message"));
			if (s)
				snprintf(r->message, sizeof(r->message), "%s", s);
		}
	}
	if (api_ok(r))
		return;
	if (!r->reason[0]) {
		switch (r->status) {
		case 400: s = "BadRequest"; break;
		case 401: s = "Unauthorized"; break;
		case 403: s = "Forbidden"; break;
		case 404: s = "NotFound"; break;
		case 405: s = "MethodNotAllowed"; break;
		case 409: s = "Conflict"; break;
		case 410: s = "Expired"; break;
		case 413: s = "RequestEntityTooLarge"; break;
		case 415: s = "UnsupportedMediaType"; break;
		case 422: s = "Invalid"; break;
		case 429: s = "TooManyRequests"; break;
		case 500: s = "InternalError"; break;
		case 503: s = "ServiceUnavailable"; break;
		default: s = "Unknown"; break;
		}
		snprintf(r->reason, sizeof(r->reason), "%s", s);
	}
	if (!r->message[0]) {
		if (r->raw && r->raw_len && !r->body)
			snprintf(r->message, sizeof(r->message), "%.*s",
				 (int)strcspn(r->raw, "\n"), r->raw);
		else
			snprintf(r->message, sizeof(r->message),
				 "the server responded with HTTP %ld", r->status);
	}
}

/* kubeconfig tls-server-name: verify the server certificate against that
 * name while connecting to the server's address. libcurl verifies the URL's
 * host, so the URL names the TLS name and CURLOPT_CONNECT_TO maps it to the
 * real host and port. */
static int use_tls_name(struct apiclient *c, const char *tls_name)
{
	const char *s = c->kc.server, *hp, *end, *colon;
	char host[256], port[16] = "443", *url, *map;

	if (strncmp(s, "https://", 8))
		return 0;
	hp = s + 8;
	end = hp + strcspn(hp, "/");
	colon = hp[0] == '[' ? strchr(hp, ']') : hp;
	colon = colon ? memchr(colon, ':', (size_t)(end - colon)) : NULL;
	if (colon) {
		snprintf(host, sizeof(host), "%.*s", (int)(colon - hp), hp);
		snprintf(port, sizeof(port), "%.*s", (int)(end - colon - 1), colon + 1);
	} else {
		snprintf(host, sizeof(host), "%.*s", (int)(end - hp), hp);
	}
	if (asprintf(&map, "%s:%s:%s:%s", tls_name, port, host, port) < 0)
		return -ENOMEM;
	c->connect_to = curl_slist_append(NULL, map);
	free(map);
	if (!c->connect_to)
		return -ENOMEM;
	if (asprintf(&url, "https://%s:%s%s", tls_name, port, end) < 0)
		return -ENOMEM;
	free(c->kc.server);
	c->kc.server = url;
	return 0;
}

/* ---- public API ------------------------------------------------------- */

int apiclient_new(const struct kubeconfig *kc, const struct apiclient_opts *o,
		  struct apiclient **out, struct gerr *err)
{
	struct apiclient *c;
	int ret = -ENOMEM;

	pthread_once(&curl_once, curl_init_once);
	if (!kc->server || !*kc->server)
		return gerr_set(err, -EINVAL, "kubeconfig %s: no server for cluster %s",
				kc->source ? kc->source : "", kc->cluster_name ? kc->cluster_name : "?");
	c = calloc(1, sizeof(*c));
	if (!c)
		goto fail;
	if (o)
		c->o = *o;
	c->kc.server = xstrdup(kc->server);
	c->kc.namespace = xstrdup(kc->namespace);
	c->kc.insecure = kc->insecure;
	c->kc.username = xstrdup(kc->username);
	c->kc.password = xstrdup(kc->password);
	if (!c->kc.server || blob_copy(&c->kc.ca, &kc->ca) ||
	    blob_copy(&c->kc.cert, &kc->cert) || blob_copy(&c->kc.key, &kc->key))
		goto fail;
	/* Strip one trailing '/' so paths can always start with '/'. */
	if (c->kc.server[0] && c->kc.server[strlen(c->kc.server) - 1] == '/')
		c->kc.server[strlen(c->kc.server) - 1] = 0;
	if (kc->tls_server_name && *kc->tls_server_name &&
	    use_tls_name(c, kc->tls_server_name))
		goto fail;
	if (kc->token && *kc->token) {
		if (asprintf(&c->auth_header, "Authorization: Bearer %s", kc->token) < 0) {
			c->auth_header = NULL;
			goto fail;
		}
	}
	c->curl = curl_easy_init();
	if (!c->curl)
		goto fail;
	*out = c;
	return 0;
fail:
	apiclient_free(c);
	return gerr_set(err, ret, "api client: out of memory");
}

void apiclient_free(struct apiclient *c)
{
	if (!c)
		return;
	if (c->curl)
		curl_easy_cleanup(c->curl);
	curl_slist_free_all(c->connect_to);
	if (c->auth_header) {
		explicit_bzero(c->auth_header, strlen(c->auth_header));
		free(c->auth_header);
	}
	if (c->kc.key.data)
		explicit_bzero(c->kc.key.data, c->kc.key.len);
	kubeconfig_free(&c->kc);
	free(c);
}

const char *apiclient_server(const struct apiclient *c)
{
	return c->kc.server;
}

void *apiclient_raw_handle(struct apiclient *c, const char *path, const char **auth)
{
	CURL *h = curl_easy_init();
	char *url;

	*auth = c->auth_header;
	if (!h)
		return NULL;
	if (asprintf(&url, "%s%s", c->kc.server, path) < 0) {
		curl_easy_cleanup(h);
		return NULL;
	}
	setup_handle(c, h, url);
	free(url);   /* libcurl copies CURLOPT_URL */
	return h;
}

int apiclient_raw_send(void *h, int sock, const void *p, size_t n, int wait_ms)
{
	const char *b = p;

	while (n) {
		size_t sent = 0;
		CURLcode rc = curl_easy_send(h, b, n, &sent);

		if (rc == CURLE_AGAIN) {
			if (poll(&(struct pollfd){ .fd = sock, .events = POLLOUT }, 1, wait_ms) <= 0)
				return -ETIMEDOUT;
			continue;
		}
		if (rc != CURLE_OK)
			return -EPIPE;
		b += sent;
		n -= sent;
	}
	return 0;
}

void api_resp_free(struct api_resp *r)
{
	json_decref(r->body);
	free(r->raw);
	memset(r, 0, sizeof(*r));
}

int apiclient_request(struct apiclient *c, const char *method,
		      const char *path, const json_t *body,
		      const char *content_type, struct api_resp *r,
		      struct gerr *err)
{
	struct curl_slist *hdrs = NULL;
	struct buf rb = { 0 };
	char *url = NULL, *payload = NULL, *ct = NULL;
	CURLcode rc;
	int ret = 0;

	memset(r, 0, sizeof(*r));
	if (asprintf(&url, "%s%s", c->kc.server, path) < 0)
		return gerr_set(err, -ENOMEM, "out of memory");
	/* Reset per-request options but keep the connection cache. */
	curl_easy_reset(c->curl);
	setup_handle(c, c->curl, url);
	curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS,
			 c->o.timeout_ms ? c->o.timeout_ms : 30000L);
	curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, write_buf);
	curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &rb);
	hdrs = curl_slist_append(hdrs, "Accept: application/json");
	if (c->auth_header)
		hdrs = curl_slist_append(hdrs, c->auth_header);
	if (body) {
		payload = json_dumps(body, JSON_COMPACT);
		if (!payload) {
			ret = gerr_set(err, -ENOMEM, "cannot encode request body");
			goto out;
		}
		if (asprintf(&ct, "Content-Type: %s",
			     content_type ? content_type : "application/json") < 0) {
			ct = NULL;
			ret = gerr_set(err, -ENOMEM, "out of memory");
			goto out;
		}
		hdrs = curl_slist_append(hdrs, ct);
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, payload);
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(payload));
	}
	curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, method);
	if (!strcmp(method, "GET"))
		curl_easy_setopt(c->curl, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, hdrs);

	pr_debug("%s %s", method, url);
	rc = curl_easy_perform(c->curl);
	if (rc != CURLE_OK) {
		ret = gerr_set(err, curl_errno(rc), "%s %s: %s", method, url,
			       curl_easy_strerror(rc));
		goto out;
	}
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &r->status);
	if (log_level >= LOG_LVL_DEBUG) {
		long nc = 0;

		curl_easy_getinfo(c->curl, CURLINFO_NUM_CONNECTS, &nc);
		pr_debug("-> %ld (%s connection)", r->status, nc ? "new" : "reused");
	}
	r->raw = rb.p;
	r->raw_len = rb.len;
	rb.p = NULL;
	if (r->raw && r->raw_len)
		r->body = json_loadb(r->raw, r->raw_len, 0, NULL);
	resp_fill_status(r);
out:
	curl_slist_free_all(hdrs);
	free(rb.p);
	free(url);
	free(payload);
	free(ct);
	return ret;
}

int apiclient_get(struct apiclient *c, const char *path, struct api_resp *r,
		  struct gerr *err)
{
	return apiclient_request(c, "GET", path, NULL, NULL, r, err);
}

int apiclient_post(struct apiclient *c, const char *path, const json_t *body,
		   struct api_resp *r, struct gerr *err)
{
	return apiclient_request(c, "POST", path, body, NULL, r, err);
}

int apiclient_put(struct apiclient *c, const char *path, const json_t *body,
		  struct api_resp *r, struct gerr *err)
{
	return apiclient_request(c, "PUT", path, body, NULL, r, err);
}

int apiclient_patch(struct apiclient *c, const char *path, const char *patch_type,
		    const json_t *body, struct api_resp *r, struct gerr *err)
{
	const char *ct = "application/merge-patch+json";

	if (patch_type && !strcmp(patch_type, "json"))
		ct = "application/json-patch+json";
	else if (patch_type && !strcmp(patch_type, "strategic"))
		ct = "application/strategic-merge-patch+json";
	return apiclient_request(c, "PATCH", path, body, ct, r, err);
}

int apiclient_delete(struct apiclient *c, const char *path, struct api_resp *r,
		     struct gerr *err)
{
	return apiclient_request(c, "DELETE", path, NULL, NULL, r, err);
}

/* ---- watch ------------------------------------------------------------ */

struct watch_ctx {
	CURL *h;
	struct buf line;          /* partial line carried between chunks */
	apiclient_watch_cb cb;
	void *arg;
	bool stopped;
	bool checked_status;
	bool http_error;
	struct buf errbody;       /* body of a non-2xx answer */
};

static int watch_dispatch(struct watch_ctx *w, const char *line, size_t len)
{
	json_error_t jerr;
	json_t *ev;
	const char *type;
	int ret;

	while (len && (line[len - 1] == '\r' || line[len - 1] == ' '))
		len--;
	if (!len)
		return 0;
	ev = json_loadb(line, len, 0, &jerr);
	if (!ev) {
		pr_warn("watch: undecodable event: %s", jerr.text);
		return 0;
	}
	type = json_string_value(json_object_get(ev, "type"));
	ret = w->cb(type ? type : "", json_object_get(ev, "object"), w->arg);
	json_decref(ev);
	return ret;
}

static size_t watch_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct watch_ctx *w = ud;
	size_t n = size * nmemb, start = 0;

	if (!w->checked_status) {
		long st = 0;

		curl_easy_getinfo(w->h, CURLINFO_RESPONSE_CODE, &st);
		w->checked_status = true;
		w->http_error = st < 200 || st >= 300;
	}
	if (w->http_error)
		return buf_append(&w->errbody, ptr, n) ? 0 : n;
	for (size_t i = 0; i < n; i++) {
		if (ptr[i] != '\n')
			continue;
		if (w->line.len) {
			if (buf_append(&w->line, ptr + start, i - start))
				return 0;
			if (watch_dispatch(w, w->line.p, w->line.len)) {
				w->stopped = true;
				return 0;
			}
			w->line.len = 0;
		} else if (watch_dispatch(w, ptr + start, i - start)) {
			w->stopped = true;
			return 0;
		}
		start = i + 1;
	}
	if (start < n && buf_append(&w->line, ptr + start, n - start))
		return 0;
	return n;
}

int apiclient_watch(struct apiclient *c, const char *path, long timeout_ms,
		    apiclient_watch_cb cb, void *arg, long *http_status,
		    struct gerr *err)
{
	struct watch_ctx w = { .cb = cb, .arg = arg };
	struct curl_slist *hdrs = NULL;
	char *url = NULL;
	CURLcode rc;
	long st = 0;
	int ret = 0;

	if (asprintf(&url, "%s%s", c->kc.server, path) < 0)
		return gerr_set(err, -ENOMEM, "out of memory");
	w.h = curl_easy_init();
	if (!w.h) {
		ret = gerr_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	setup_handle(c, w.h, url);
	if (timeout_ms > 0)
		curl_easy_setopt(w.h, CURLOPT_TIMEOUT_MS, timeout_ms);
	/* Detect a dead server on an idle watch. */
	curl_easy_setopt(w.h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(w.h, CURLOPT_WRITEFUNCTION, watch_write);
	curl_easy_setopt(w.h, CURLOPT_WRITEDATA, &w);
	hdrs = curl_slist_append(hdrs, "Accept: application/json");
	if (c->auth_header)
		hdrs = curl_slist_append(hdrs, c->auth_header);
	curl_easy_setopt(w.h, CURLOPT_HTTPHEADER, hdrs);
	pr_debug("WATCH %s", url);
	rc = curl_easy_perform(w.h);
	curl_easy_getinfo(w.h, CURLINFO_RESPONSE_CODE, &st);
	if (http_status)
		*http_status = st;
	if (w.stopped) {
		ret = 0;
	} else if (st && (st < 200 || st >= 300)) {
		struct api_resp r = { .status = st };

		if (w.errbody.len) {
			r.raw = w.errbody.p;
			r.raw_len = w.errbody.len;
			r.body = json_loadb(r.raw, r.raw_len, 0, NULL);
		}
		resp_fill_status(&r);
		ret = gerr_set(err, -EPROTO, "%s", r.message);
		json_decref(r.body);
	} else if (rc == CURLE_OPERATION_TIMEDOUT) {
		ret = -ETIMEDOUT;
		gerr_set(err, ret, "watch timed out");
	} else if (rc != CURLE_OK) {
		ret = gerr_set(err, curl_errno(rc), "watch %s: %s", url,
			       curl_easy_strerror(rc));
	} else if (w.line.len) {
		/* Last event without a trailing newline. */
		watch_dispatch(&w, w.line.p, w.line.len);
	}
out:
	if (w.h)
		curl_easy_cleanup(w.h);
	curl_slist_free_all(hdrs);
	free(w.line.p);
	free(w.errbody.p);
	free(url);
	return ret;
}

char *apiclient_escape(const char *s, char *buf, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (; *s && o + 4 < len; s++) {
		unsigned char ch = (unsigned char)*s;

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || strchr("-_.~", ch)) {
			buf[o++] = ch;
		} else {
			buf[o++] = '%';
			buf[o++] = hex[ch >> 4];
			buf[o++] = hex[ch & 15];
		}
	}
	if (len)
		buf[o < len ? o : len - 1] = 0;
	return buf;
}

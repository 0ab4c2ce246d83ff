/* SPDX-License-Identifier: Apache-2.0 */
/* Streamed GETs for gannetctl: logs -f and flows -f read answers that never
 * end, which the API client (it buffers whole answers) cannot do. Each
 * stream is its own libcurl handle carrying the kubeconfig's credentials,
 * so several can run at once (flows -f follows every node in parallel). */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl.h"

struct line_ctx {
	ctl_line_cb cb;
	void *arg;
	char *buf;
	size_t n, cap;
	bool raw;               /* pass bytes through, no line splitting */
	bool oom;               /* the line buffer could not grow */
};

static size_t write_cb(char *d, size_t sz, size_t nm, void *arg)
{
	struct line_ctx *l = arg;
	size_t n = sz * nm, start = 0;

	if (l->raw)
		return l->cb(d, n, l->arg) ? 0 : n;
	if (l->n + n + 1 > l->cap) {
		size_t cap = (l->n + n + 1) * 2;
		char *b = realloc(l->buf, cap);

		if (!b) {
			l->oom = true;
			return 0;
		}
		l->buf = b;
		l->cap = cap;
	}
	memcpy(l->buf + l->n, d, n);
	l->n += n;
	for (size_t i = 0; i < l->n; i++) {
		if (l->buf[i] != '\n')
			continue;
		l->buf[i] = 0;
		if (i > start && l->cb(l->buf + start, i - start, l->arg))
			return 0;   /* the callback wants to stop */
		start = i + 1;
	}
	memmove(l->buf, l->buf + start, l->n - start);
	l->n -= start;
	return n;
}

int ctl_stream(struct ctl *c, const char *path, bool lines, ctl_line_cb cb, void *arg,
	       long *http_code, char *errbuf, size_t errlen)
{
	struct curl_blob ca = { c->kc.ca.data, c->kc.ca.len, CURL_BLOB_NOCOPY };
	struct curl_blob cert = { c->kc.cert.data, c->kc.cert.len, CURL_BLOB_NOCOPY };
	struct curl_blob key = { c->kc.key.data, c->kc.key.len, CURL_BLOB_NOCOPY };
	struct line_ctx l = { .cb = cb, .arg = arg, .raw = !lines };
	struct curl_slist *hdr = NULL;
	char url[4096], auth[4096], cerr[CURL_ERROR_SIZE] = "";
	long code = 0;
	CURLcode rc;
	CURL *h = curl_easy_init();

	if (!h) {
		snprintf(errbuf, errlen, "out of memory");
		return -1;
	}
	snprintf(url, sizeof(url), "%s%s", c->kc.server, path);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
	if (c->kc.ca.len)
		curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &ca);
	if (c->kc.cert.len) {
		curl_easy_setopt(h, CURLOPT_SSLCERT_BLOB, &cert);
		curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
	}
	if (c->kc.key.len) {
		curl_easy_setopt(h, CURLOPT_SSLKEY_BLOB, &key);
		curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
	}
	if (c->kc.insecure || c->o.insecure) {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (c->kc.tls_server_name)
		pr_debug("tls-server-name is not applied to streams");
	if (c->o.token || c->kc.token) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s",
			 c->o.token ? c->o.token : c->kc.token);
		hdr = curl_slist_append(hdr, auth);
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	}
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &l);
	curl_easy_setopt(h, CURLOPT_FAILONERROR, 1L);
	rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	/* a last line without its newline */
	if (rc == CURLE_OK && lines && l.n) {
		l.buf[l.n] = 0;
		cb(l.buf, l.n, arg);
	}
	curl_slist_free_all(hdr);
	curl_easy_cleanup(h);
	free(l.buf);
	if (http_code)
		*http_code = code;
	if (l.oom) {
		snprintf(errbuf, errlen, "out of memory for a stream line");
		return -1;
	}
	if (rc != CURLE_OK && rc != CURLE_WRITE_ERROR) {
		snprintf(errbuf, errlen, "%s", *cerr ? cerr : curl_easy_strerror(rc));
		return -1;
	}
	return 0;
}

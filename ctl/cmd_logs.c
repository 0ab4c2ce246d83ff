/* SPDX-License-Identifier: Apache-2.0 */
/* gannetctl logs POD [-c CTR] [-f] [--tail N] [--timestamps]: GET
 * pods/NAME/log, which the API server proxies to the agent of the pod's
 * node. Without -f the answer comes through the API client; with -f it is
 * streamed to stdout as it arrives (libcurl with the kubeconfig's
 * credentials: apiclient buffers whole answers and only streams watches). */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl.h"

void ctl_logs_argv(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], "-f"))
			argv[i] = "--follow";
	}
}

static size_t out_cb(char *d, size_t sz, size_t nm, void *arg)
{
	(void)arg;
	fwrite(d, sz, nm, stdout);
	fflush(stdout);
	return sz * nm;
}

/* Streams url to stdout; returns a CTL_EXIT_* code. */
static int stream(struct ctl *c, const char *path)
{
	struct curl_blob ca = { c->kc.ca.data, c->kc.ca.len, CURL_BLOB_NOCOPY };
	struct curl_blob cert = { c->kc.cert.data, c->kc.cert.len, CURL_BLOB_NOCOPY };
	struct curl_blob key = { c->kc.key.data, c->kc.key.len, CURL_BLOB_NOCOPY };
	struct curl_slist *hdr = NULL;
	char url[2048], auth[4096];
	long code = 0;
	CURLcode rc;
	CURL *h = curl_easy_init();

	if (!h)
		return CTL_EXIT_ERR;
	snprintf(url, sizeof(url), "%s%s", c->kc.server, path);
	curl_easy_setopt(h, CURLOPT_URL, url);
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
		pr_debug("tls-server-name is not applied to log streams");
	if (c->o.token || c->kc.token) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s",
			 c->o.token ? c->o.token : c->kc.token);
		hdr = curl_slist_append(hdr, auth);
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	}
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, out_cb);
	curl_easy_setopt(h, CURLOPT_FAILONERROR, 1L);
	rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	curl_slist_free_all(hdr);
	curl_easy_cleanup(h);
	if (rc != CURLE_OK) {
		fprintf(stderr, "error: %s (HTTP %ld)\n", curl_easy_strerror(rc), code);
		return CTL_EXIT_ERR;
	}
	return CTL_EXIT_OK;
}

int cmd_logs(struct ctl *c, int argc, char **argv)
{
	char path[1024], esc[300];
	const char *pod;
	struct api_resp r = { 0 };
	struct gerr err = { 0 };
	int ret;

	if (argc != 1) {
		fprintf(stderr, "error: expected exactly one pod name\n");
		return CTL_EXIT_USAGE;
	}
	pod = argv[0];
	if (!strncmp(pod, "pod/", 4) || !strncmp(pod, "pods/", 5))
		pod = strchr(pod, '/') + 1;
	ret = ctl_connect(c);
	if (ret)
		return ret;
	snprintf(path, sizeof(path), "/api/v1/namespaces/%s/pods/%s/log?",
		 apiclient_escape(c->ns, esc, sizeof(esc)), pod);
	if (c->o.container) {
		strcat(path, "container=");
		strcat(path, apiclient_escape(c->o.container, esc, sizeof(esc)));
		strcat(path, "&");
	}
	if (c->o.tail) {
		strcat(path, "tailLines=");
		strcat(path, apiclient_escape(c->o.tail, esc, sizeof(esc)));
		strcat(path, "&");
	}
	if (c->o.timestamps)
		strcat(path, "timestamps=true&");
	if (c->o.follow) {
		strcat(path, "follow=true");
		return stream(c, path);
	}
	path[strlen(path) - 1] = 0;
	if (apiclient_get(c->api, path, &r, &err)) {
		fprintf(stderr, "error: %s\n", err.msg);
		return CTL_EXIT_ERR;
	}
	if (!api_ok(&r)) {
		ctl_print_api_error(&r, NULL);
		api_resp_free(&r);
		return CTL_EXIT_ERR;
	}
	if (r.raw)
		fwrite(r.raw, 1, r.raw_len, stdout);
	api_resp_free(&r);
	return CTL_EXIT_OK;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* HTTPS client for the Kubernetes-style API (gannet-apiserver or any
 * Kubernetes API server) built on libcurl: JSON requests with client
 * certificate or bearer token authentication from a kubeconfig, one
 * persistent connection per client (keep-alive), Status objects turned into
 * messages, and streaming watches delivered one event at a time.
 * Not thread-safe: use one client per thread. */
#ifndef GANNET_COMMON_APICLIENT_H
#define GANNET_COMMON_APICLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "common/kubeconfig.h"
#include "common/log.h"

struct apiclient;

struct apiclient_opts {
	long timeout_ms;          /* whole request; 0 = 30 s; watches: 0 = none */
	long connect_timeout_ms;  /* 0 = 10 s */
	const char *user_agent;   /* NULL = "gannet/0.1" */
	bool print_warnings;      /* print "Warning:" response headers (RFC 7234
				   * warn-code 299, e.g. unknown fields) to
				   * stderr, as kubectl does */
};

/* kc is copied (credentials included); the caller may free it afterwards. */
int apiclient_new(const struct kubeconfig *kc, const struct apiclient_opts *o,
		  struct apiclient **out, struct gerr *err);
void apiclient_free(struct apiclient *c);
const char *apiclient_server(const struct apiclient *c);

struct api_resp {
	long status;              /* HTTP status code */
	json_t *body;             /* parsed JSON body, or NULL */
	char *raw;                /* raw body (NUL-terminated), or NULL */
	size_t raw_len;
	/* From a Status body (or a synthesized one for non-JSON errors): */
	char reason[64];          /* NotFound, AlreadyExists, Conflict, Invalid... */
	char message[1024];
};
void api_resp_free(struct api_resp *r);

/* Perform one request. body (may be NULL) is sent as JSON with
 * content_type (NULL = application/json). Returns 0 when an HTTP response
 * arrived, whatever its status (check r->status), or -errno on a transport
 * failure (connection refused, TLS error, timeout) with *err set. */
int apiclient_request(struct apiclient *c, const char *method,
		      const char *path, const json_t *body,
		      const char *content_type, struct api_resp *r,
		      struct gerr *err);

/* Shorthands. */
int apiclient_get(struct apiclient *c, const char *path, struct api_resp *r,
		  struct gerr *err);
int apiclient_post(struct apiclient *c, const char *path, const json_t *body,
		   struct api_resp *r, struct gerr *err);
int apiclient_put(struct apiclient *c, const char *path, const json_t *body,
		  struct api_resp *r, struct gerr *err);
/* patch_type: "merge" (application/merge-patch+json), "json"
 * (application/json-patch+json) or "strategic". */
int apiclient_patch(struct apiclient *c, const char *path, const char *patch_type,
		    const json_t *body, struct api_resp *r, struct gerr *err);
int apiclient_delete(struct apiclient *c, const char *path, struct api_resp *r,
		     struct gerr *err);

/* True for 2xx. */
static inline bool api_ok(const struct api_resp *r)
{
	return r->status >= 200 && r->status < 300;
}

/* Streaming watch: GET path (which must carry ?watch=true or
 * &watch=1 as the caller wants) and call cb for every newline-delimited
 * event {"type": ..., "object": ...}. cb returns 0 to continue, non-zero to
 * stop (the watch then returns 0). Uses its own connection so that it does
 * not disturb the client's keep-alive one. timeout_ms bounds the whole
 * watch (0 = until the server closes it). Returns 0 when the server ended
 * the stream or cb stopped it, -ETIMEDOUT on timeout, other -errno on
 * failure; a non-2xx answer gives -EPROTO with the Status message in *err
 * and its status code in *http_status (optional). */
typedef int (*apiclient_watch_cb)(const char *type, json_t *object, void *arg);
int apiclient_watch(struct apiclient *c, const char *path, long timeout_ms,
		    apiclient_watch_cb cb, void *arg, long *http_status,
		    struct gerr *err);

/* A new libcurl handle (CURL *) set up as for requests (URL = server +
 * path, CA, client certificate, tls-server-name) for callers that speak
 * the protocol themselves over CURLOPT_CONNECT_ONLY, such as the exec
 * upgrade; *auth gets the "Authorization: Bearer ..." header line to send,
 * or NULL. Free with curl_easy_cleanup. */
void *apiclient_raw_handle(struct apiclient *c, const char *path, const char **auth);

/* Send all n bytes on a CURLOPT_CONNECT_ONLY handle h (CURL *) whose
 * socket is sock, waiting up to wait_ms for each POLLOUT. 0, -ETIMEDOUT
 * or -EPIPE. */
int apiclient_raw_send(void *h, int sock, const void *p, size_t n, int wait_ms);

/* Percent-encode s for use in a query string into buf. Returns buf. */
char *apiclient_escape(const char *s, char *buf, size_t len);

#endif

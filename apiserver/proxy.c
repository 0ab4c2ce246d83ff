/* SPDX-License-Identifier: Apache-2.0 */
/* pods/log and pods/exec proxied to the node agent (as kube-apiserver does
 * to the kubelet): look up the pod's node, then its agent endpoint, and
 * relay the agent's answer. Logs with follow=true are streamed: a thread
 * runs the libcurl transfer into a pipe that the response reads, and
 * closing the pipe when the client goes away ends the transfer. */
#include "apiserver/proxy.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apiserver/apiserver.h"
#include "apiserver/auth.h"

#define PROXY_ANNOTATION "gannet.io/agent-endpoint"

/* The client certificate the proxy presents to agents (CN gannet-apiserver,
 * O=system:masters), issued from the cluster CA on first use. */
static pthread_mutex_t cert_lock = PTHREAD_MUTEX_INITIALIZER;

static int client_cert(struct apiserver *as, char *crt, char *key, size_t len)
{
	struct gerr e = { 0 };
	int ret = 0;

	snprintf(crt, len, "%s/pki/apiserver-agent-client.crt", as->data_dir);
	snprintf(key, len, "%s/pki/apiserver-agent-client.key", as->data_dir);
	pthread_mutex_lock(&cert_lock);
	if (access(crt, R_OK) || access(key, R_OK))
		ret = pki_issue_client(as->data_dir, "gannet-apiserver", "system:masters", crt, key, &e);
	pthread_mutex_unlock(&cert_lock);
	if (ret)
		pr_err("proxy: cannot issue the agent client certificate: %s", e.msg);
	return ret;
}

static enum MHD_Result send_json(struct MHD_Connection *conn, int code, json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT);
	struct MHD_Response *r;
	enum MHD_Result ret;

	json_decref(o);
	if (!s)
		return MHD_NO;
	r = MHD_create_response_from_buffer(strlen(s), s, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(s);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", "application/json");
	ret = MHD_queue_response(conn, (unsigned)code, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result fail(struct MHD_Connection *conn, int code, const char *reason,
			    const char *msg)
{
	return send_json(conn, code, obj_status(code, reason, msg, NULL, NULL, NULL));
}

static const char *jpath(const json_t *o, const char *a, const char *b)
{
	return json_string_value(json_object_get(json_object_get(o, a), b));
}

/* Agent base URL for node (no trailing '/'). */
static int agent_endpoint(struct apiserver *as, const char *node, char *out, size_t len,
			  char *msg, size_t msglen)
{
	const struct api_kind *nk = reg_find("", "v1", "nodes");
	json_t *n = NULL, *addrs, *a;
	struct gerr e = { 0 };
	int64_t rev;
	const char *ann, *ip = NULL;
	size_t i;
	long port;

	if (!nk || as_get(as, nk, NULL, node, &n, &rev, &e)) {
		snprintf(msg, msglen, "node \"%s\" not found", node);
		return -ENOENT;
	}
	ann = json_string_value(json_object_get(json_object_get(json_object_get(n, "metadata"),
								"annotations"), PROXY_ANNOTATION));
	if (ann && (!strncmp(ann, "http://", 7) || !strncmp(ann, "https://", 8))) {
		snprintf(out, len, "%s", ann);
		json_decref(n);
		return 0;
	}
	addrs = json_object_get(json_object_get(n, "status"), "addresses");
	json_array_foreach(addrs, i, a)
		if (json_string_value(json_object_get(a, "type")) &&
		    !strcmp(json_string_value(json_object_get(a, "type")), "InternalIP"))
			ip = json_string_value(json_object_get(a, "address"));
	port = (long)json_integer_value(json_object_get(json_object_get(json_object_get(
		json_object_get(n, "status"), "daemonEndpoints"), "kubeletEndpoint"), "Port"));
	if (!ip || port <= 0) {
		snprintf(msg, msglen, "node \"%s\" has no InternalIP or agent port", node);
		json_decref(n);
		return -ENOENT;
	}
	snprintf(out, len, "https://%s:%ld", ip, port);
	json_decref(n);
	return 0;
}

/* ---- transfer ------------------------------------------------------------ */

struct buf {
	char *p;
	size_t n;
};

static size_t to_buf(char *d, size_t sz, size_t nm, void *arg)
{
	struct buf *b = arg;
	size_t n = sz * nm;
	char *p = realloc(b->p, b->n + n + 1);

	if (!p)
		return 0;
	memcpy(p + b->n, d, n);
	b->p = p;
	b->n += n;
	p[b->n] = 0;
	return n;
}

struct stream {
	CURL *h;
	int rfd, wfd;
	volatile int cancel;     /* client gone: abort at the next progress tick */
	pthread_t th;
};

/* libcurl calls this about once a second even while no data flows, so an
 * idle follow whose client left ends within a second. */
static int stream_progress(void *arg, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
	struct stream *s = arg;

	(void)a;
	(void)b;
	(void)c;
	(void)d;
	return __atomic_load_n(&s->cancel, __ATOMIC_ACQUIRE);
}

static size_t to_pipe(char *d, size_t sz, size_t nm, void *arg)
{
	struct stream *s = arg;
	size_t n = sz * nm, off = 0;

	while (off < n) {
		ssize_t w = write(s->wfd, d + off, n - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return 0;   /* client gone: abort the transfer */
		off += (size_t)w;
	}
	return n;
}

static void *stream_thread(void *arg)
{
	struct stream *s = arg;

	curl_easy_perform(s->h);
	close(s->wfd);
	return NULL;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct stream *s = cls;
	ssize_t n;

	(void)pos;
	do
		n = read(s->rfd, buf, max);
	while (n < 0 && errno == EINTR);
	return n > 0 ? n : MHD_CONTENT_READER_END_OF_STREAM;
}

static void stream_free(void *cls)
{
	struct stream *s = cls;

	__atomic_store_n(&s->cancel, 1, __ATOMIC_RELEASE);
	close(s->rfd);
	pthread_join(s->th, NULL);
	curl_easy_cleanup(s->h);
	free(s);
}

struct qs {
	CURL *h;
	char *q;
	size_t len;
	bool oom;
};

/* Copies the query arguments the agent understands. */
static enum MHD_Result add_arg(void *cls, enum MHD_ValueKind kind, const char *key,
			       const char *value)
{
	static const char *const keep[] = { "command", "follow", "tailLines", "timestamps",
					    "sinceSeconds", NULL };
	struct qs *q = cls;
	char *ev;
	size_t need;

	(void)kind;
	for (int i = 0; keep[i]; i++) {
		if (strcmp(key, keep[i]) || !value)
			continue;
		ev = curl_easy_escape(q->h, value, 0);
		if (!ev) {
			q->oom = true;
			return MHD_NO;
		}
		need = strlen(q->q) + strlen(key) + strlen(ev) + 3;
		if (need > q->len) {
			char *n = realloc(q->q, need * 2);

			if (!n) {
				curl_free(ev);
				q->oom = true;
				return MHD_NO;
			}
			q->q = n;
			q->len = need * 2;
		}
		strcat(q->q, q->q[0] ? "&" : "");
		strcat(q->q, key);
		strcat(q->q, "=");
		strcat(q->q, ev);
		curl_free(ev);
	}
	return MHD_YES;
}

enum MHD_Result proxy_pod(struct apiserver *as, struct MHD_Connection *conn, const char *ns,
			  const char *name, const char *sub, const char *method)
{
	const struct api_kind *pk = reg_find("", "v1", "pods");
	const char *ctr = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "container");
	const char *follow = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "follow");
	bool exec = !strcmp(sub, "exec");
	char base[512], msg[512], url[4096], *ec = NULL, ccrt[600], ckey[600];
	json_t *pod = NULL;
	struct gerr e = { 0 };
	struct qs q = { 0 };
	struct buf b = { 0 };
	enum MHD_Result ret;
	int64_t rev;
	const char *node;
	long code = 0;
	CURL *h;

	if (exec ? strcmp(method, "POST") && strcmp(method, "GET") : strcmp(method, "GET"))
		return fail(conn, 405, "MethodNotAllowed",
			    "the server does not allow this method on the requested resource");
	if (!pk || as_get(as, pk, ns, name, &pod, &rev, &e)) {
		snprintf(msg, sizeof(msg), "pods \"%s\" not found", name);
		return fail(conn, 404, "NotFound", msg);
	}
	node = jpath(pod, "spec", "nodeName");
	if (!node || !*node) {
		snprintf(msg, sizeof(msg), "pod %s does not have a host assigned", name);
		json_decref(pod);
		return fail(conn, 400, "BadRequest", msg);
	}
	if (!ctr) {
		json_t *cs = json_object_get(json_object_get(pod, "spec"), "containers");

		if (json_array_size(cs) > 1) {
			snprintf(msg, sizeof(msg),
				 "a container name must be specified for pod %s, choose one of: %zu containers",
				 name, json_array_size(cs));
			json_decref(pod);
			return fail(conn, 400, "BadRequest", msg);
		}
		ctr = json_string_value(json_object_get(json_array_get(cs, 0), "name"));
	}
	if (agent_endpoint(as, node, base, sizeof(base), msg, sizeof(msg))) {
		json_decref(pod);
		return fail(conn, 503, "ServiceUnavailable", msg);
	}
	h = curl_easy_init();
	q.h = h;
	q.q = calloc(1, 64);
	q.len = 64;
	if (!h || !q.q) {
		json_decref(pod);
		free(q.q);
		if (h)
			curl_easy_cleanup(h);
		return fail(conn, 500, "InternalError", "out of memory");
	}
	MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, add_arg, &q);
	ec = curl_easy_escape(h, ctr ? ctr : "", 0);
	snprintf(url, sizeof(url), "%s/%s/%s/%s/%s?%s", base, exec ? "exec" : "containerLogs", ns,
		 name, ec ? ec : "", q.q);
	curl_free(ec);
	free(q.q);
	json_decref(pod);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	if (!client_cert(as, ccrt, ckey, sizeof(ccrt))) {
		curl_easy_setopt(h, CURLOPT_SSLCERT, ccrt);
		curl_easy_setopt(h, CURLOPT_SSLKEY, ckey);
	}
	/* Agents serve self-signed certificates (like kubelet's default, which
	 * kube-apiserver does not verify either without
	 * --kubelet-certificate-authority); the agent authenticates us. */
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	if (exec) {
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
	}
	if (!exec && follow && (!strcmp(follow, "true") || !strcmp(follow, "1"))) {
		struct stream *s = calloc(1, sizeof(*s));
		struct MHD_Response *r;
		int p[2];

		if (!s || pipe2(p, O_CLOEXEC)) {
			free(s);
			curl_easy_cleanup(h);
			return fail(conn, 500, "InternalError", "out of resources");
		}
		s->h = h;
		s->rfd = p[0];
		s->wfd = p[1];
		curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, to_pipe);
		curl_easy_setopt(h, CURLOPT_WRITEDATA, s);
		curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, stream_progress);
		curl_easy_setopt(h, CURLOPT_XFERINFODATA, s);
		curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
		if (pthread_create(&s->th, NULL, stream_thread, s)) {
			close(p[0]);
			close(p[1]);
			free(s);
			curl_easy_cleanup(h);
			return fail(conn, 500, "InternalError", "cannot start the log stream");
		}
		r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, stream_read, s,
						      stream_free);
		if (!r) {
			stream_free(s);
			return MHD_NO;
		}
		MHD_add_response_header(r, "Content-Type", "text/plain");
		ret = MHD_queue_response(conn, 200, r);
		MHD_destroy_response(r);
		return ret;
	}
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, exec ? 90000L : 30000L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, to_buf);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	if (curl_easy_perform(h) != CURLE_OK) {
		snprintf(msg, sizeof(msg), "error dialing the agent of node %.200s at %.200s", node, base);
		curl_easy_cleanup(h);
		free(b.p);
		return fail(conn, 502, "BadGateway", msg);
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(h);
	if (code != 200) {
		snprintf(msg, sizeof(msg), "agent of node %s: %.*s", node,
			 (int)strcspn(b.p ? b.p : "", "\n"), b.p ? b.p : "");
		free(b.p);
		return fail(conn, code == 404 ? 404 : 502, code == 404 ? "NotFound" : "BadGateway",
			    msg);
	}
	{
		struct MHD_Response *r = MHD_create_response_from_buffer(b.n, b.p ? b.p : "",
									 b.p ? MHD_RESPMEM_MUST_FREE :
									       MHD_RESPMEM_PERSISTENT);

		if (!r) {
			free(b.p);
			return MHD_NO;
		}
		MHD_add_response_header(r, "Content-Type", exec ? "application/json" : "text/plain");
		ret = MHD_queue_response(conn, 200, r);
		MHD_destroy_response(r);
	}
	return ret;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* pods/log and pods/exec proxied to the node agent (as kube-apiserver does
 * to the kubelet): look up the pod's node, then its agent endpoint, and
 * relay the agent's answer. Logs with follow=true and everything under
 * nodes/{name}/proxy/ are streamed (relay_stream): a thread runs the
 * libcurl transfer into a pipe that the response reads; the answer starts
 * once the agent's headers are in (so a dead agent is a 503), and the
 * client's socket is watched so that a client that left ends the transfer
 * even while the stream is idle.
 * Interactive exec (Upgrade: gannet-exec) opens its own TLS connection to
 * the agent, repeats the upgrade there and, once both sides answered 101,
 * splices the two byte streams (framing in docs/agent.md). */
#include "apiserver/proxy.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "apiserver/apiserver.h"
#include "apiserver/auth.h"
#include "common/apiclient.h"
#include "common/nodeaddr.h"

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
	json_t *n = NULL;
	struct gerr e = { 0 };
	int64_t rev;
	const char *ann, *ip;
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
	ip = node_internal_ip(n);
	port = (long)json_integer_value(json_object_get(json_object_get(json_object_get(
		json_object_get(n, "status"), "daemonEndpoints"), "kubeletEndpoint"), "Port"));
	if (!ip || port <= 0) {
		snprintf(msg, msglen, "node \"%s\" has no InternalIP or agent port", node);
		json_decref(n);
		return -ENODEV;
	}
	snprintf(out, len, "https://%s:%ld", ip, port);
	json_decref(n);
	return 0;
}

/* ---- transfer ------------------------------------------------------------ */

/* Streamed relays (logs with follow=true, the node proxy), below. */
struct nstream;
static struct nstream *nstream_new(CURL *h);
static enum MHD_Result relay_stream(struct apiserver *as, struct MHD_Connection *conn,
				    const char *node, const char *base, const char *url,
				    struct nstream *s);

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

/* A query string rebuilt from the client's arguments, each re-escaped. */
struct qs {
	CURL *h;
	const char *const *keep;   /* the arguments copied (with a value); NULL: all */
	char *q;                   /* NULL until the first argument */
	size_t len;
	bool oom;
};

/* The arguments the agent's log and exec endpoints understand. */
static const char *const agent_args[] = { "command", "follow", "tailLines", "timestamps",
					  "sinceSeconds", "stdin", "tty", "width",
					  "height", NULL };

static enum MHD_Result add_arg(void *cls, enum MHD_ValueKind kind, const char *key,
			       const char *value)
{
	struct qs *q = cls;
	bool kept = !q->keep;
	char *ek, *ev, *n;
	size_t need;

	(void)kind;
	for (int i = 0; !kept && q->keep[i]; i++)
		kept = value && !strcmp(key, q->keep[i]);
	if (!kept)
		return MHD_YES;
	ek = curl_easy_escape(q->h, key, 0);
	ev = curl_easy_escape(q->h, value ? value : "", 0);
	need = (q->q ? strlen(q->q) : 0) + (ek ? strlen(ek) : 0) + (ev ? strlen(ev) : 0) + 3;
	if (!ek || !ev || !(n = realloc(q->q, need > q->len ? need * 2 : q->len))) {
		curl_free(ek);
		curl_free(ev);
		q->oom = true;
		return MHD_NO;
	}
	if (!q->q)
		n[0] = 0;
	q->q = n;
	if (need > q->len)
		q->len = need * 2;
	strcat(q->q, q->q[0] ? "&" : "");
	strcat(q->q, ek);
	if (value) {
		strcat(q->q, "=");
		strcat(q->q, ev);
	}
	curl_free(ek);
	curl_free(ev);
	return MHD_YES;
}

/* ---- interactive exec: upgraded connection spliced to the agent's ------- */

struct splice {
	CURL *h;
	curl_socket_t cs;
	char *early;            /* agent bytes read along with its 101 */
	size_t nearly;
	MHD_socket sock;
	int peer;               /* the client's TCP socket (read by MHD) */
	struct MHD_UpgradeResponseHandle *urh;
	char *extra;            /* client bytes read along with its request */
	size_t nextra;
};

static int sock_write_all(int fd, const char *b, size_t n)
{
	while (n) {
		ssize_t w = write(fd, b, n);

		if (w < 0 && errno == EAGAIN) {
			poll(&(struct pollfd){ .fd = fd, .events = POLLOUT }, 1, 1000);
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -EPIPE;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

static void *splice_thread(void *arg)
{
	struct splice *x = arg;
	char buf[32768];

	fcntl(x->sock, F_SETFL, fcntl(x->sock, F_GETFL) & ~O_NONBLOCK);
	if (x->nearly && sock_write_all(x->sock, x->early, x->nearly))
		goto out;
	if (x->nextra && apiclient_raw_send(x->h, x->cs, x->extra, x->nextra, 30000))
		goto out;
	for (;;) {
		/* MHD does not pass the client's close on to the upgraded
		 * socket: watch the TCP socket itself for the peer's FIN */
		struct pollfd p[3] = { { .fd = x->sock, .events = POLLIN },
				       { .fd = x->cs, .events = POLLIN },
				       { .fd = x->peer, .events = POLLRDHUP } };
		bool agent_open = true;

		/* drain libcurl first: TLS may hold decrypted bytes that poll
		 * on the socket does not show */
		for (;;) {
			size_t n = 0;
			CURLcode rc = curl_easy_recv(x->h, buf, sizeof(buf), &n);

			if (rc == CURLE_AGAIN)
				break;
			if (rc != CURLE_OK || !n) {
				agent_open = false;
				break;
			}
			if (sock_write_all(x->sock, buf, n))
				goto out;
		}
		if (!agent_open)
			break;
		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[2].revents)
			break;   /* client gone */
		if (p[0].revents) {
			ssize_t n = read(x->sock, buf, sizeof(buf));

			if (n <= 0 || apiclient_raw_send(x->h, x->cs, buf, (size_t)n, 30000))
				break;   /* client gone, or the agent stalled */
		}
	}
out:
	pr_debug("proxy: exec session ended");
	MHD_upgrade_action(x->urh, MHD_UPGRADE_ACTION_CLOSE);
	curl_easy_cleanup(x->h);
	free(x->early);
	free(x->extra);
	free(x);
	return NULL;
}

static void splice_upgraded(void *cls, struct MHD_Connection *c, void *req_cls,
			    const char *extra_in, size_t extra_in_size, MHD_socket sock,
			    struct MHD_UpgradeResponseHandle *urh)
{
	struct splice *x = cls;
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	pthread_t th;

	(void)req_cls;
	x->peer = ci ? ci->connect_fd : -1;
	x->sock = sock;
	x->urh = urh;
	if (extra_in_size && (x->extra = malloc(extra_in_size))) {
		memcpy(x->extra, extra_in, extra_in_size);
		x->nextra = extra_in_size;
	}
	/* return at once: MHD forwards TLS on this connection's thread */
	if (pthread_create(&th, NULL, splice_thread, x)) {
		MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
		curl_easy_cleanup(x->h);
		free(x->early);
		free(x->extra);
		free(x);
		return;
	}
	pthread_detach(th);
}

/* Sends the upgrade request for url's path over h (connected, CONNECT_ONLY)
 * and reads the agent's answer headers. Returns the HTTP status (101 on
 * success, leftover bytes in *early), or -errno; body gets (part of) a
 * refusal's body for the message. */
static long agent_upgrade(CURL *h, curl_socket_t cs, const char *path, char **early,
			  size_t *nearly, char *body, size_t bodylen)
{
	char req[5000], hdr[8192];
	size_t n = 0;
	long code = -EPROTO;
	char *end = NULL;
	int len;

	len = snprintf(req, sizeof(req),
		       "POST %s HTTP/1.1\r\nHost: gannet-agent\r\nConnection: Upgrade\r\n"
		       "Upgrade: gannet-exec\r\nContent-Length: 0\r\n\r\n", path);
	if (len <= 0 || (size_t)len >= sizeof(req))
		return -E2BIG;
	if (apiclient_raw_send(h, cs, req, (size_t)len, 10000))
		return -EPIPE;
	while (!end && n < sizeof(hdr) - 1) {
		size_t got = 0;
		CURLcode rc = curl_easy_recv(h, hdr + n, sizeof(hdr) - 1 - n, &got);

		if (rc == CURLE_AGAIN) {
			if (poll(&(struct pollfd){ .fd = cs, .events = POLLIN }, 1, 10000) <= 0)
				return -ETIMEDOUT;
			continue;
		}
		if (rc != CURLE_OK || !got)
			break;
		n += got;
		hdr[n] = 0;
		end = strstr(hdr, "\r\n\r\n");
	}
	if (!end)
		return -EPROTO;
	if (sscanf(hdr, "HTTP/1.%*d %ld", &code) != 1)
		return -EPROTO;
	end += 4;
	*nearly = n - (size_t)(end - hdr);
	if (code == 101) {
		if (*nearly) {
			*early = malloc(*nearly);
			if (!*early)
				return -ENOMEM;
			memcpy(*early, end, *nearly);
		}
	} else {
		snprintf(body, bodylen, "%.*s", (int)*nearly, end);
		*nearly = 0;
	}
	return code;
}

static enum MHD_Result proxy_exec_upgrade(struct apiserver *as, struct MHD_Connection *conn,
					  const char *node, const char *base, const char *path)
{
	char ccrt[600], ckey[600], msg[700], body[512] = "";
	struct splice *x = calloc(1, sizeof(*x));
	struct MHD_Response *r;
	enum MHD_Result ret;
	curl_socket_t cs = CURL_SOCKET_BAD;
	CURL *h = curl_easy_init();
	long code;

	if (!x || !h) {
		free(x);
		if (h)
			curl_easy_cleanup(h);
		return fail(conn, 500, "InternalError", "out of memory");
	}
	curl_easy_setopt(h, CURLOPT_URL, base);
	curl_easy_setopt(h, CURLOPT_CONNECT_ONLY, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	if (!client_cert(as, ccrt, ckey, sizeof(ccrt))) {
		curl_easy_setopt(h, CURLOPT_SSLCERT, ccrt);
		curl_easy_setopt(h, CURLOPT_SSLKEY, ckey);
	}
	/* as for the other proxied requests: the agent authenticates us */
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	if (curl_easy_perform(h) != CURLE_OK ||
	    curl_easy_getinfo(h, CURLINFO_ACTIVESOCKET, &cs) != CURLE_OK || cs == CURL_SOCKET_BAD) {
		snprintf(msg, sizeof(msg), "error dialing the agent of node %.200s at %.200s", node, base);
		goto bad;
	}
	code = agent_upgrade(h, cs, path, &x->early, &x->nearly, body, sizeof(body));
	if (code != 101) {
		if (code == 404) {
			curl_easy_cleanup(h);
			free(x);
			snprintf(msg, sizeof(msg), "agent of node %.200s: %.*s", node,
				 (int)strcspn(body, "\n"), body);
			return fail(conn, 404, "NotFound", msg);
		}
		snprintf(msg, sizeof(msg), "agent of node %.200s: upgrade refused (%ld) %.*s", node,
			 code, (int)strcspn(body, "\n"), body);
		goto bad;
	}
	x->h = h;
	x->cs = cs;
	r = MHD_create_response_for_upgrade(splice_upgraded, x);
	if (!r) {
		free(x->early);
		free(x);
		curl_easy_cleanup(h);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_UPGRADE, "gannet-exec");
	ret = MHD_queue_response(conn, MHD_HTTP_SWITCHING_PROTOCOLS, r);
	MHD_destroy_response(r);
	return ret;
bad:
	free(x->early);
	free(x);
	curl_easy_cleanup(h);
	return fail(conn, 502, "BadGateway", msg);
}

enum MHD_Result proxy_pod(struct apiserver *as, struct MHD_Connection *conn, const char *ns,
			  const char *name, const char *sub, const char *method)
{
	const struct api_kind *pk = reg_find("", "v1", "pods");
	const char *ctr = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "container");
	const char *follow = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "follow");
	bool exec = !strcmp(sub, "exec");
	char base[512], msg[512], url[4096], *ec = NULL, ccrt[600], ckey[600], nodename[256];
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
	snprintf(nodename, sizeof(nodename), "%s", node ? node : "");
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
	q.keep = agent_args;
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
	if (exec) {
		const char *up = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Upgrade");

		if (up && !strcasecmp(up, "gannet-exec")) {
			curl_easy_cleanup(h);
			ret = proxy_exec_upgrade(as, conn, node, base, url + strlen(base));
			json_decref(pod);   /* node points into it */
			return ret;
		}
	}
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
		/* streamed once the agent's headers are in: a dead agent is a
		 * 503, and an idle follow ends when its client leaves */
		struct nstream *s = nstream_new(h);

		if (!s) {
			curl_easy_cleanup(h);
			return fail(conn, 500, "InternalError", "out of memory");
		}
		return relay_stream(as, conn, nodename, base, url, s);
	}
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, exec ? 90000L : 30000L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, to_buf);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	if (curl_easy_perform(h) != CURLE_OK) {
		snprintf(msg, sizeof(msg), "error dialing the agent of node %.200s at %.200s", nodename, base);
		curl_easy_cleanup(h);
		free(b.p);
		return fail(conn, 502, "BadGateway", msg);
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(h);
	if (code != 200) {
		snprintf(msg, sizeof(msg), "agent of node %s: %.*s", nodename,
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

/* ---- nodes/{name}/proxy/{path}: any GET the node's agent serves --------- */

/* A streamed transfer whose status is known before we answer: the handler
 * waits for the agent's response headers (or the failure to get them), so
 * a dead agent is a 503 with a message instead of an empty 200, and an
 * agent's own error becomes a Status object. The body is then relayed
 * chunk by chunk (follow streams such as /flows?follow=true never end by
 * themselves), and the client's TCP socket is watched so that a client
 * that left ends the transfer even while no data flows. */
struct nstream {
	CURL *h;
	int rfd, wfd;
	int cfd;                /* the client's TCP socket (read by MHD) */
	volatile int cancel;
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int state;              /* 0 waiting, 1 headers in, 2 transfer over */
	CURLcode rc;
	long code;
	char ctype[128];
	char errbuf[CURL_ERROR_SIZE];
};

static struct nstream *nstream_new(CURL *h)
{
	struct nstream *s = calloc(1, sizeof(*s));

	if (s)
		s->h = h;
	return s;
}

static int nstream_progress(void *arg, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
	struct nstream *s = arg;

	(void)a;
	(void)b;
	(void)c;
	(void)d;
	return __atomic_load_n(&s->cancel, __ATOMIC_ACQUIRE);
}

static size_t nstream_header(char *d, size_t sz, size_t nm, void *arg)
{
	struct nstream *s = arg;
	size_t n = sz * nm;
	long code = 0;

	if (n > 13 && !strncasecmp(d, "Content-Type:", 13)) {
		const char *v = d + 13;
		size_t l;

		while (*v == ' ' || *v == '\t')
			v++;
		l = strcspn(v, "\r\n");
		snprintf(s->ctype, sizeof(s->ctype), "%.*s", (int)l, v);
	}
	/* the blank line closing a final (not 1xx) header block */
	if ((n == 2 && d[0] == '\r') || (n == 1 && d[0] == '\n')) {
		curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &code);
		if (code >= 200) {
			pthread_mutex_lock(&s->mu);
			s->code = code;
			s->state = 1;
			pthread_cond_broadcast(&s->cv);
			pthread_mutex_unlock(&s->mu);
		}
	}
	return n;
}

static size_t nstream_write(char *d, size_t sz, size_t nm, void *arg)
{
	struct nstream *s = arg;
	size_t n = sz * nm, off = 0;

	while (off < n) {
		ssize_t w = write(s->wfd, d + off, n - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return 0;   /* response gone: abort the transfer */
		off += (size_t)w;
	}
	return n;
}

static void *nstream_thread(void *arg)
{
	struct nstream *s = arg;
	CURLcode rc = curl_easy_perform(s->h);

	pthread_mutex_lock(&s->mu);
	s->rc = rc;
	if (!s->state)
		s->state = 2;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	close(s->wfd);
	return NULL;
}

static ssize_t nstream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct nstream *s = cls;

	(void)pos;
	for (;;) {
		struct pollfd p[2] = { { .fd = s->rfd, .events = POLLIN },
				       { .fd = s->cfd, .events = POLLRDHUP } };
		ssize_t n;

		if (poll(p, s->cfd >= 0 ? 2 : 1, 1000) < 0) {
			if (errno == EINTR)
				continue;
			return MHD_CONTENT_READER_END_WITH_ERROR;
		}
		if (s->cfd >= 0 && (p[1].revents & (POLLRDHUP | POLLHUP | POLLERR))) {
			pr_debug("proxy: node proxy client went away");
			return MHD_CONTENT_READER_END_WITH_ERROR;
		}
		if (!p[0].revents)
			continue;
		do
			n = read(s->rfd, buf, max);
		while (n < 0 && errno == EINTR);
		return n > 0 ? n : MHD_CONTENT_READER_END_OF_STREAM;
	}
}

static void nstream_free(void *cls)
{
	struct nstream *s = cls;

	__atomic_store_n(&s->cancel, 1, __ATOMIC_RELEASE);
	close(s->rfd);          /* a blocked write in the transfer fails */
	pthread_join(s->th, NULL);
	curl_easy_cleanup(s->h);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	free(s);
}

/* path segments re-escaped ("a b/c" -> "a%20b/c"); -EINVAL for "." and
 * ".." segments, which have no meaning at the agent. */
static int escape_path(CURL *h, const char *path, char *out, size_t len)
{
	size_t o = 0;

	out[0] = 0;
	while (*path) {
		size_t l = strcspn(path, "/");
		char seg[512], *e;
		int w;

		if (l >= sizeof(seg))
			return -E2BIG;
		memcpy(seg, path, l);
		seg[l] = 0;
		if (!strcmp(seg, ".") || !strcmp(seg, ".."))
			return -EINVAL;
		if (l) {
			e = curl_easy_escape(h, seg, 0);
			if (!e)
				return -ENOMEM;
			w = snprintf(out + o, len - o, "/%s", e);
			curl_free(e);
			if (w < 0 || (size_t)w >= len - o)
				return -E2BIG;
			o += (size_t)w;
		}
		path += l;
		if (*path == '/')
			path++;
	}
	if (!o)
		snprintf(out, len, "/");
	return 0;
}

static void nstream_drop(struct nstream *s)
{
	__atomic_store_n(&s->cancel, 1, __ATOMIC_RELEASE);
	close(s->rfd);
	pthread_join(s->th, NULL);
	curl_easy_cleanup(s->h);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	free(s);
}

/* Runs the GET of url on s->h (owned from here on, as s) and answers conn
 * with the agent's reply once its headers arrived: streamed (chunked) on
 * success, a Status object otherwise. */
static enum MHD_Result relay_stream(struct apiserver *as, struct MHD_Connection *conn,
				    const char *node, const char *base, const char *url,
				    struct nstream *s)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	char msg[768], ccrt[600], ckey[600];
	struct MHD_Response *r;
	struct timespec dl;
	enum MHD_Result ret;
	int p[2];

	if (pipe2(p, O_CLOEXEC)) {
		curl_easy_cleanup(s->h);
		free(s);
		return fail(conn, 500, "InternalError", "out of resources");
	}
	s->rfd = p[0];
	s->wfd = p[1];
	s->cfd = ci ? ci->connect_fd : -1;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	curl_easy_setopt(s->h, CURLOPT_URL, url);
	curl_easy_setopt(s->h, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(s->h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(s->h, CURLOPT_ERRORBUFFER, s->errbuf);
	if (!client_cert(as, ccrt, ckey, sizeof(ccrt))) {
		curl_easy_setopt(s->h, CURLOPT_SSLCERT, ccrt);
		curl_easy_setopt(s->h, CURLOPT_SSLKEY, ckey);
	}
	/* as for pods/log: the agent's certificate is self-signed, the agent
	 * authenticates us */
	curl_easy_setopt(s->h, CURLOPT_SSL_VERIFYPEER, 0L);
	curl_easy_setopt(s->h, CURLOPT_SSL_VERIFYHOST, 0L);
	curl_easy_setopt(s->h, CURLOPT_HEADERFUNCTION, nstream_header);
	curl_easy_setopt(s->h, CURLOPT_HEADERDATA, s);
	curl_easy_setopt(s->h, CURLOPT_WRITEFUNCTION, nstream_write);
	curl_easy_setopt(s->h, CURLOPT_WRITEDATA, s);
	curl_easy_setopt(s->h, CURLOPT_XFERINFOFUNCTION, nstream_progress);
	curl_easy_setopt(s->h, CURLOPT_XFERINFODATA, s);
	curl_easy_setopt(s->h, CURLOPT_NOPROGRESS, 0L);
	if (pthread_create(&s->th, NULL, nstream_thread, s)) {
		close(p[0]);
		close(p[1]);
		curl_easy_cleanup(s->h);
		free(s);
		return fail(conn, 500, "InternalError", "cannot start the proxy transfer");
	}
	/* connect (5 s) and TLS, then the agent's headers */
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += 15;
	pthread_mutex_lock(&s->mu);
	while (!s->state && pthread_cond_timedwait(&s->cv, &s->mu, &dl) != ETIMEDOUT)
		;
	pthread_mutex_unlock(&s->mu);
	if (s->state != 1) {
		snprintf(msg, sizeof(msg), "the agent of node \"%s\" at %.200s is not reachable: %.200s",
			 node, base, s->state ? (*s->errbuf ? s->errbuf : curl_easy_strerror(s->rc)) :
			 "no answer within 15s");
		nstream_drop(s);
		return fail(conn, 503, "ServiceUnavailable", msg);
	}
	if (s->code < 200 || s->code > 299) {
		char body[512] = "";
		size_t n = 0;
		ssize_t got;
		long code = s->code;

		/* the agent's refusal is short text: its first line, read
		 * with a deadline (an agent that keeps an error body open
		 * must not hold this thread); dropping the stream closes the
		 * pipe, which ends the transfer, so nothing needs draining */
		while (n < sizeof(body) - 1 && !memchr(body, '\n', n)) {
			struct pollfd pf = { .fd = s->rfd, .events = POLLIN };

			if (poll(&pf, 1, 2000) <= 0)
				break;
			got = read(s->rfd, body + n, sizeof(body) - 1 - n);
			if (got < 0 && errno == EINTR)
				continue;
			if (got <= 0)
				break;
			n += (size_t)got;
		}
		body[n] = 0;
		nstream_drop(s);
		snprintf(msg, sizeof(msg), "agent of node \"%s\": %.*s", node,
			 (int)strcspn(body, "\r\n"), body);
		if (code == 404)
			return fail(conn, 404, "NotFound", msg);
		if (code == 400)
			return fail(conn, 400, "BadRequest", msg);
		if (code == 503)
			return fail(conn, 503, "ServiceUnavailable", msg);
		return fail(conn, 502, "BadGateway", msg);
	}
	r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, nstream_read, s,
					      nstream_free);
	if (!r) {
		nstream_drop(s);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", *s->ctype ? s->ctype : "text/plain");
	ret = MHD_queue_response(conn, (unsigned)s->code, r);
	MHD_destroy_response(r);
	return ret;
}

enum MHD_Result proxy_node(struct apiserver *as, struct MHD_Connection *conn, const char *node,
			   const char *path, const char *method)
{
	char base[512], msg[768], epath[2048], url[6144];
	struct qs q = { 0 };   /* every argument */
	struct nstream *s;
	int err;

	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return fail(conn, 405, "MethodNotAllowed",
			    "the node proxy only forwards GET requests to the agent");
	err = agent_endpoint(as, node, base, sizeof(base), msg, sizeof(msg));
	if (err == -ENOENT) {
		snprintf(msg, sizeof(msg), "nodes \"%s\" not found", node);
		return fail(conn, 404, "NotFound", msg);
	}
	if (err)
		return fail(conn, 503, "ServiceUnavailable", msg);
	s = calloc(1, sizeof(*s));
	if (!s || !(s->h = curl_easy_init())) {
		free(s);
		return fail(conn, 500, "InternalError", "out of memory");
	}
	q.h = s->h;
	MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, add_arg, &q);
	err = q.oom ? -ENOMEM : escape_path(s->h, path, epath, sizeof(epath));
	if (err) {
		free(q.q);
		curl_easy_cleanup(s->h);
		free(s);
		return fail(conn, err == -EINVAL ? 400 : 500, err == -EINVAL ? "BadRequest" :
			    "InternalError", err == -EINVAL ? "invalid proxy path" : "cannot build the agent URL");
	}
	snprintf(url, sizeof(url), "%s%s%s%s", base, epath, q.q && *q.q ? "?" : "",
		 q.q ? q.q : "");
	free(q.q);
	return relay_stream(as, conn, node, base, url, s);
}

// SPDX-License-Identifier: Apache-2.0
/* Liveness/readiness/startup probes: exec (runc exec with a timeout),
 * tcpSocket (connect) and httpGet (libcurl, 200-399 is success, as the
 * kubelet). Network probes run in a short-lived thread that joins the
 * pod's network namespace with setns(2): namespaces are per thread, so the
 * agent's other threads stay in the node namespace. */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/runtime/internal.h"
#include "agent/runtime/runtime.h"

struct probe_job {
	const char *netns;
	const struct rt_probe *p;
	bool ok;
	char msg[512];
	int rc;             /* -errno when the probe could not run */
};

static void host_port(const struct rt_probe *p, char *out, size_t len)
{
	const char *h = p->host && *p->host ? p->host : "127.0.0.1";
	if (strchr(h, ':'))
		snprintf(out, len, "[%s]:%d", h, p->port);
	else
		snprintf(out, len, "%s:%d", h, p->port);
}

static void tcp_probe(struct probe_job *j)
{
	const struct rt_probe *p = j->p;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV }, *ai = NULL;
	char port[16], hp[128];
	int fd = -1, rc, timeout = (p->timeout_sec > 0 ? p->timeout_sec : 1) * 1000;

	host_port(p, hp, sizeof(hp));
	snprintf(port, sizeof(port), "%d", p->port);
	rc = getaddrinfo(p->host && *p->host ? p->host : "127.0.0.1", port, &hints, &ai);
	if (rc) {
		snprintf(j->msg, sizeof(j->msg), "dial tcp %s: %s", hp, gai_strerror(rc));
		return;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		j->rc = -errno;
		snprintf(j->msg, sizeof(j->msg), "socket: %s", strerror(errno));
		goto out;
	}
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) && errno != EINPROGRESS) {
		snprintf(j->msg, sizeof(j->msg), "dial tcp %s: connect: %s", hp, strerror(errno));
		goto out;
	}
	struct pollfd pf = { .fd = fd, .events = POLLOUT };
	rc = poll(&pf, 1, timeout);
	if (rc == 0) {
		snprintf(j->msg, sizeof(j->msg), "dial tcp %s: i/o timeout", hp);
		goto out;
	}
	int soerr = 0;
	socklen_t sl = sizeof(soerr);
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
	if (rc < 0 || soerr) {
		snprintf(j->msg, sizeof(j->msg), "dial tcp %s: connect: %s", hp,
			 strerror(rc < 0 ? errno : soerr));
		goto out;
	}
	j->ok = true;
	snprintf(j->msg, sizeof(j->msg), "tcp %s: connected", hp);
out:
	if (fd >= 0)
		close(fd);
	freeaddrinfo(ai);
}

static size_t discard(char *ptr, size_t size, size_t n, void *ud)
{
	(void)ptr; (void)ud;
	return size * n;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void http_probe(struct probe_job *j)
{
	const struct rt_probe *p = j->p;
	char url[2048], hp[128], errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *hdrs = NULL;
	const char *path = p->path && *p->path ? p->path : "/";
	bool https = p->scheme && !strcasecmp(p->scheme, "HTTPS");
	CURL *c;
	long code = 0;

	pthread_once(&curl_once, curl_init);
	host_port(p, hp, sizeof(hp));
	snprintf(url, sizeof(url), "%s://%s%s%s", https ? "https" : "http", hp,
		 path[0] == '/' ? "" : "/", path);
	c = curl_easy_init();
	if (!c) {
		j->rc = -ENOMEM;
		snprintf(j->msg, sizeof(j->msg), "curl init failed");
		return;
	}
	for (size_t i = 0; i < p->nheaders; i++) {
		char h[1024];
		snprintf(h, sizeof(h), "%s: %s", p->headers[i].name, p->headers[i].value);
		hdrs = curl_slist_append(hdrs, h);
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "kube-probe/1.32");
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(p->timeout_sec > 0 ? p->timeout_sec : 1) * 1000);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
	/* Like the kubelet: probes do not verify the server certificate. */
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	CURLcode cr = curl_easy_perform(c);
	if (cr != CURLE_OK) {
		snprintf(j->msg, sizeof(j->msg), "Get \"%s\": %s", url, errbuf[0] ? errbuf :
			 curl_easy_strerror(cr));
	} else {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
		j->ok = code >= 200 && code < 400;
		if (j->ok)
			snprintf(j->msg, sizeof(j->msg), "HTTP probe succeeded with statuscode: %ld", code);
		else
			snprintf(j->msg, sizeof(j->msg), "HTTP probe failed with statuscode: %ld", code);
	}
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
}

static void *probe_thread(void *arg)
{
	struct probe_job *j = arg;

	if (j->netns) {
		int fd = open(j->netns, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || setns(fd, CLONE_NEWNET)) {
			j->rc = -errno;
			snprintf(j->msg, sizeof(j->msg), "entering netns %s: %s", j->netns,
				 strerror(errno));
			if (fd >= 0)
				close(fd);
			return NULL;
		}
		close(fd);
	}
	if (j->p->kind == RT_PROBE_TCP)
		tcp_probe(j);
	else
		http_probe(j);
	return NULL;
}

int rt_probe_run(struct rt *r, const char *id, const char *netns, const struct rt_probe *p,
		 bool *ok, char *msg, size_t msglen, struct gerr *e)
{
	struct probe_job j = { .netns = netns, .p = p };
	pthread_t t;
	int rc;

	*ok = false;
	if (msg && msglen)
		msg[0] = '\0';
	if (p->kind == RT_PROBE_EXEC) {
		char out[1024];
		int code;
		if (!p->command || !p->command[0])
			return gerr_set(e, -EINVAL, "exec probe without a command");
		rc = rt_exec(r, id, p->command, (p->timeout_sec > 0 ? p->timeout_sec : 1) * 1000,
			     &code, out, sizeof(out), NULL);
		if (rc == -ETIMEDOUT) {
			snprintf(msg, msglen, "command timed out after %ds",
				 p->timeout_sec > 0 ? p->timeout_sec : 1);
			return 0;
		}
		if (rc)
			return gerr_set(e, rc, "exec probe: %s", strerror(-rc));
		*ok = code == 0;
		const char *last = rtu_last_line(out);
		if (*ok)
			snprintf(msg, msglen, "exit code 0");
		else
			snprintf(msg, msglen, "command failed with exit code %d: %s", code, last);
		return 0;
	}
	if (p->kind != RT_PROBE_TCP && p->kind != RT_PROBE_HTTP)
		return gerr_set(e, -EINVAL, "unknown probe kind %d", p->kind);
	if (p->port <= 0 || p->port > 65535)
		return gerr_set(e, -EINVAL, "probe port %d out of range", p->port);
	rc = pthread_create(&t, NULL, probe_thread, &j);
	if (rc)
		return gerr_set(e, -rc, "probe thread: %s", strerror(rc));
	pthread_join(t, NULL);
	if (j.rc)
		return gerr_set(e, j.rc, "%s", j.msg);
	*ok = j.ok;
	if (msg)
		snprintf(msg, msglen, "%s", j.msg);
	return 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* /metrics (Prometheus text exposition 0.0.4) and /healthz over
 * libmicrohttpd, listening on metricsAddress inside the node's netns. */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"
#include "agent/policy.h"
#include "agent/services.h"

struct metrics {
	struct MHD_Daemon *d;
};

struct sbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void sb_printf(struct sbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = true;
			return;
		}
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		char *np = realloc(b->p, b->cap * 2 + (size_t)n);

		if (!np) {
			b->oom = true;
			return;
		}
		b->p = np;
		b->cap = b->cap * 2 + (size_t)n;
	}
}

static int count_ep(const struct dp_endpoint *ep, void *arg)
{
	(void)ep;
	(*(size_t *)arg)++;
	return 0;
}

static int count_remote(const struct dp_remote *r, void *arg)
{
	(void)r;
	(*(size_t *)arg)++;
	return 0;
}

static char *render(struct agent *a)
{
	static const char *const cmds[] = { "ADD", "DEL", "CHECK", "VERSION", "GC", "STATUS" };
	struct sbuf b = { .cap = 8192 };
	struct dp_stats *st;
	struct gerr err = { 0 };
	struct ipam p;
	size_t eps = 0, remotes = 0;
	int ret;

	b.p = malloc(b.cap);
	st = calloc(1, sizeof(*st));
	if (!b.p || !st) {
		free(b.p);
		free(st);
		return NULL;
	}
	b.p[0] = 0;
	pthread_mutex_lock(&a->dp_lock);
	ret = a->dp ? dp_stats_read(a->dp, st, &err) : -ENODEV;
	if (a->dp) {
		dp_endpoint_foreach(a->dp, count_ep, &eps);
		dp_remote_foreach(a->dp, count_remote, &remotes);
	}
	pthread_mutex_unlock(&a->dp_lock);

	sb_printf(&b, "# HELP gannet_agent_ready 1 when the dataplane is loaded and CNI is served.\n"
		  "# TYPE gannet_agent_ready gauge\ngannet_agent_ready %d\n",
		  atomic_load(&a->ready) ? 1 : 0);
	if (!ret) {
		sb_printf(&b, "# HELP gannet_forwarded_packets_total Packets forwarded by the datapath, by kind.\n"
			  "# TYPE gannet_forwarded_packets_total counter\n");
		for (int i = 0; i < DP_MAX_REASONS; i++)
			if (dp_fwd_name(i))
				sb_printf(&b, "gannet_forwarded_packets_total{kind=\"%s\"} %llu\n",
					  dp_fwd_name(i), (unsigned long long)st->fwd_packets[i]);
		sb_printf(&b, "# HELP gannet_forwarded_bytes_total Bytes forwarded by the datapath, by kind.\n"
			  "# TYPE gannet_forwarded_bytes_total counter\n");
		for (int i = 0; i < DP_MAX_REASONS; i++)
			if (dp_fwd_name(i))
				sb_printf(&b, "gannet_forwarded_bytes_total{kind=\"%s\"} %llu\n",
					  dp_fwd_name(i), (unsigned long long)st->fwd_bytes[i]);
		sb_printf(&b, "# HELP gannet_dropped_packets_total Packets dropped by the datapath, by reason.\n"
			  "# TYPE gannet_dropped_packets_total counter\n");
		for (int i = 0; i < DP_MAX_REASONS; i++)
			if (dp_drop_name(i))
				sb_printf(&b, "gannet_dropped_packets_total{reason=\"%s\"} %llu\n",
					  dp_drop_name(i), (unsigned long long)st->drop_packets[i]);
		sb_printf(&b, "# HELP gannet_dropped_bytes_total Bytes dropped by the datapath, by reason.\n"
			  "# TYPE gannet_dropped_bytes_total counter\n");
		for (int i = 0; i < DP_MAX_REASONS; i++)
			if (dp_drop_name(i))
				sb_printf(&b, "gannet_dropped_bytes_total{reason=\"%s\"} %llu\n",
					  dp_drop_name(i), (unsigned long long)st->drop_bytes[i]);
	}
	sb_printf(&b, "# HELP gannet_endpoints Local pod endpoints in the datapath.\n"
		  "# TYPE gannet_endpoints gauge\ngannet_endpoints %zu\n", eps);
	sb_printf(&b, "# HELP gannet_remote_nodes Remote pod CIDRs in the datapath.\n"
		  "# TYPE gannet_remote_nodes gauge\ngannet_remote_nodes %zu\n", remotes);
	{
		char *svc = services_metrics_text(a);   /* API mode: per-service counters */

		sb_printf(&b, "%s", svc ? svc : "");
		free(svc);
		svc = policy_metrics_text(a);    /* API mode: gannet_policy_* */
		sb_printf(&b, "%s", svc ? svc : "");
		free(svc);
	}
	if (!ipam_store_lock(&a->ipam, &p, NULL)) {
		sb_printf(&b, "# HELP gannet_ipam_allocated Pod IPs allocated on this node.\n"
			  "# TYPE gannet_ipam_allocated gauge\ngannet_ipam_allocated %zu\n"
			  "# HELP gannet_ipam_free Pod IPs free on this node.\n"
			  "# TYPE gannet_ipam_free gauge\ngannet_ipam_free %zu\n",
			  p.n, ipam_free_count(&p));
		ipam_store_unlock(&a->ipam, &p);
	}
	sb_printf(&b, "# HELP gannet_cni_requests_total CNI requests served, by command and result.\n"
		  "# TYPE gannet_cni_requests_total counter\n");
	for (int i = 0; i < 6; i++) {
		if (i == CNI_CMD_VERSION)
			continue;
		sb_printf(&b, "gannet_cni_requests_total{command=\"%s\",result=\"ok\"} %lu\n",
			  cmds[i], atomic_load(&a->cni_ok[i]));
		sb_printf(&b, "gannet_cni_requests_total{command=\"%s\",result=\"error\"} %lu\n",
			  cmds[i], atomic_load(&a->cni_fail[i]));
	}
	free(st);
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

static enum MHD_Result send_text(struct MHD_Connection *c, unsigned status, char *body,
				 enum MHD_ResponseMemoryMode mode, const char *ctype)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(strlen(body), body, mode);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", ctype);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
			       const char *method, const char *version,
			       const char *upload_data, size_t *upload_size, void **ptr)
{
	struct agent *a = cls;

	(void)version;
	(void)upload_data;
	(void)upload_size;
	(void)ptr;
	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return send_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n",
				 MHD_RESPMEM_PERSISTENT, "text/plain");
	if (!strcmp(url, "/healthz")) {
		if (atomic_load(&a->ready))
			return send_text(c, MHD_HTTP_OK, "ok\n", MHD_RESPMEM_PERSISTENT,
					 "text/plain");
		return send_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "dataplane not loaded\n",
				 MHD_RESPMEM_PERSISTENT, "text/plain");
	}
	if (!strcmp(url, "/metrics")) {
		char *body = render(a);

		if (!body)
			return send_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n",
					 MHD_RESPMEM_PERSISTENT, "text/plain");
		return send_text(c, MHD_HTTP_OK, body, MHD_RESPMEM_MUST_FREE,
				 "text/plain; version=0.0.4; charset=utf-8");
	}
	return send_text(c, MHD_HTTP_NOT_FOUND, "not found\n", MHD_RESPMEM_PERSISTENT,
			 "text/plain");
}

int metrics_start(struct agent *a, struct gerr *err)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	char host[64], *colon, *end;
	struct metrics *m;
	long port;

	if (!a->cfg.metrics_addr[0])
		return 0;
	snprintf(host, sizeof(host), "%s", a->cfg.metrics_addr);
	colon = strrchr(host, ':');
	*colon = 0;
	port = strtol(colon + 1, &end, 10);
	if (*end || port <= 0 || port > 65535 ||
	    inet_pton(AF_INET, host[0] ? host : "0.0.0.0", &sa.sin_addr) != 1)
		return gerr_set(err, -EINVAL, "metricsAddress: \"%s\" is not ipv4:port",
				a->cfg.metrics_addr);
	sa.sin_port = htons((uint16_t)port);
	m = calloc(1, sizeof(*m));
	if (!m)
		return gerr_set(err, -ENOMEM, "out of memory");
	m->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0,
				NULL, NULL, handler, a,
				MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
				MHD_OPTION_END);
	if (!m->d) {
		free(m);
		return gerr_set(err, -EADDRNOTAVAIL, "metrics: cannot listen on %s",
				a->cfg.metrics_addr);
	}
	a->metrics = m;
	pr_info("metrics on http://%s/metrics", a->cfg.metrics_addr);
	return 0;
}

void metrics_stop(struct agent *a)
{
	if (!a->metrics)
		return;
	MHD_stop_daemon(a->metrics->d);
	free(a->metrics);
	a->metrics = NULL;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* gannet-agent, API mode: Services + Endpoints (+ Nodes for backend node
 * IPs) from the API server into the node's BPF service maps.
 *
 * Three informers from common/informer.h (Services, Endpoints, Nodes:
 * list + watch, re-list on 410) keep caches keyed "<ns>/<name>"; their
 * handlers only wake one sync thread, which turns snapshots of the caches
 * into the desired set of frontends
 * (ClusterIP:port, nodeIP:nodePort, externalIPs:port, LoadBalancer ingress
 * IP:port) with their ready backends, and calls dp_service_upsert only for
 * frontends whose programming changed (a fingerprint per frontend), and
 * dp_service_delete for frontends that went away. The first sync runs once
 * every cache is listed and removes pinned services the API no longer has
 * (the maps survive agent restarts). The same thread feeds cluster DNS
 * (dnssync.c). The socket LB is attached to the cgroup v2 directory that
 * holds this node's pod containers. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/services.h"
#include "common/informer.h"
#include "common/kubeconfig.h"

#define SVC_DEBOUNCE_MS 50       /* coalesce bursts of events into one sync */

struct svcsync {
	struct agent *a;
	struct kubeconfig kc;
	struct informers inf;          /* Services, Endpoints, Nodes */
	volatile int stop;             /* the informers' stop flag too */
	pthread_mutex_t lock;          /* gen, labels */
	pthread_cond_t cv;
	unsigned long gen;             /* bumped on every cache change */
	pthread_t sync_th;
	bool sync_started;
	/* sync thread only, except labels (lock) */
	json_t *applied;               /* frontend key -> fingerprint */
	json_t *labels;                /* frontend key -> [ns, name, port] (lock) */
	bool dns_on;
};

static struct svcsync *g_ss;     /* one agent per process (g_lock) */
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;

static const enum ctrl_kind_id svc_kinds[] = { CK_SERVICE, CK_ENDPOINTS, CK_NODE };

static bool ss_sleep(struct svcsync *ss, long ms)
{
	while (ms > 0 && !ss->stop) {
		long s = ms > 100 ? 100 : ms;

		nanosleep(&(struct timespec){ 0, s * 1000000L }, NULL);
		ms -= s;
	}
	return !ss->stop;
}

/* Informer handler: any change to any of the three caches means a sync. */
static void on_change(void *arg, const char *type, const json_t *old, const json_t *obj)
{
	struct svcsync *ss = arg;

	(void)type; (void)old; (void)obj;
	pthread_mutex_lock(&ss->lock);
	ss->gen++;
	pthread_cond_signal(&ss->cv);
	pthread_mutex_unlock(&ss->lock);
}

static bool all_synced(struct svcsync *ss)
{
	for (size_t i = 0; i < sizeof(svc_kinds) / sizeof(svc_kinds[0]); i++)
		if (!informer_synced(ss->inf.by_kind[svc_kinds[i]]))
			return false;
	return true;
}

/* ---- programming ------------------------------------------------------------------ */

static void svc_from_json(const json_t *v, struct dp_service *s)
{
	memset(s, 0, sizeof(*s));
	s->vip = (uint32_t)json_integer_value(json_array_get(v, 0));
	s->port = (uint16_t)json_integer_value(json_array_get(v, 1));
	s->proto = (uint8_t)json_integer_value(json_array_get(v, 2));
	s->scope = (uint8_t)json_integer_value(json_array_get(v, 3));
	s->flags = (uint32_t)json_integer_value(json_array_get(v, 4));
	s->affinity_timeout = (uint32_t)json_integer_value(json_array_get(v, 5));
}

static int collect_pinned(const struct dp_service *svc, const struct dp_backend *be,
			  const uint32_t *slots, size_t n, const struct dp_service_stats *st,
			  void *arg)
{
	char key[128];

	(void)be; (void)slots; (void)n; (void)st;
	svc_fe_key(svc, key, sizeof(key));
	json_object_set_new(arg, key, json_pack("[IIII]", (json_int_t)svc->vip,
						(json_int_t)svc->port, (json_int_t)svc->proto,
						(json_int_t)svc->scope));
	return 0;
}

static void program(struct svcsync *ss, struct svc_desired *d, bool first)
{
	struct agent *a = ss->a;
	struct dp_backend *be = NULL;
	struct gerr e = { 0 };
	const char *key;
	json_t *v;
	void *tmp;
	unsigned up = 0, del = 0;

	pthread_mutex_lock(&a->dp_lock);
	if (!a->dp)
		goto out;
	if (first) {
		/* maps outlive the agent: whatever the API no longer has goes */
		json_t *pinned = json_object();

		if (dp_service_foreach(a->dp, collect_pinned, pinned, &e))
			pr_warn("services: reading pinned services: %s", e.msg);
		json_object_foreach(pinned, key, v) {
			struct dp_service s = { 0 };

			if (json_object_get(d->fe, key))
				continue;
			svc_from_json(v, &s);
			memset(&e, 0, sizeof(e));
			if (dp_service_delete(a->dp, &s, &e))
				pr_warn("services: delete stale %s: %s", key, e.msg);
			else
				del++;
		}
		json_decref(pinned);
		json_object_clear(ss->applied);
	}
	be = calloc(SVC_MAX_BACKENDS, sizeof(*be));
	if (!be)
		goto out;
	json_object_foreach(d->fe, key, v) {
		json_t *old = json_object_get(ss->applied, key), *bl = json_object_get(d->be, key), *b;
		struct dp_service s;
		size_t i, n = 0;

		if (old && json_equal(old, v))
			continue;
		svc_from_json(json_object_get(d->svc, key), &s);
		json_array_foreach(bl, i, b) {
			if (n >= SVC_MAX_BACKENDS)
				break;
			be[n].ip = (uint32_t)json_integer_value(json_array_get(b, 0));
			be[n].port = (uint16_t)json_integer_value(json_array_get(b, 1));
			be[n].node_ip = (uint32_t)json_integer_value(json_array_get(b, 2));
			be[n].local = json_is_true(json_array_get(b, 3));
			be[n].weight = 0;
			n++;
		}
		memset(&e, 0, sizeof(e));
		if (dp_service_upsert(a->dp, &s, be, n, &e)) {
			/* not recorded as applied: retried at the next sync */
			pr_warn("services: %s: %s", key, e.msg);
			continue;
		}
		json_object_set(ss->applied, key, v);
		up++;
		pr_info("services: %s -> %zu backend(s)", key, n);
	}
	json_object_foreach_safe(ss->applied, tmp, key, v) {
		struct dp_service s = { 0 };
		struct in_addr ia;
		char ip[INET_ADDRSTRLEN], proto[8], scope[16];
		unsigned port;

		(void)v;
		if (json_object_get(d->fe, key))
			continue;
		/* key is "<ip>:<port>/<proto>/<scope>" (fe_key) */
		if (sscanf(key, "%15[0-9.]:%u/%7[A-Z]/%15[a-z]", ip, &port, proto, scope) != 4 ||
		    inet_pton(AF_INET, ip, &ia) != 1) {
			json_object_del(ss->applied, key);
			continue;
		}
		s.vip = ia.s_addr;
		s.port = (uint16_t)port;
		s.proto = strcmp(proto, "UDP") ? IPPROTO_TCP : IPPROTO_UDP;
		s.scope = strcmp(scope, "external") ? DP_SVC_SCOPE_CLUSTER : DP_SVC_SCOPE_EXTERNAL;
		memset(&e, 0, sizeof(e));
		if (dp_service_delete(a->dp, &s, &e) && e.code != -ENOENT) {
			pr_warn("services: delete %s: %s", key, e.msg);
			continue;
		}
		pr_info("services: %s removed", key);
		del++;
		json_object_del(ss->applied, key);   /* frees key */
	}
out:
	pthread_mutex_unlock(&a->dp_lock);
	free(be);
	if (up || del)
		pr_debug("services: %u programmed, %u removed", up, del);
}

static void *sync_thread(void *arg)
{
	struct svcsync *ss = arg;
	unsigned long seen = 0;
	bool first = true;

	while (!ss->stop) {
		struct svc_desired d = { 0 };
		json_t *svcs, *eps, *nodes, *sa, *ea, *v;
		struct timespec ts;
		const char *key;
		int ret;

		pthread_mutex_lock(&ss->lock);
		/* an empty list notifies nothing: until the first sync, poll
		 * for the caches becoming synced as well */
		while (!ss->stop && ss->gen == seen && !(first && all_synced(ss))) {
			clock_gettime(CLOCK_REALTIME, &ts);
			if (first)
				ts.tv_nsec += 100 * 1000000L;
			else
				ts.tv_sec += 1;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&ss->cv, &ss->lock, &ts);
		}
		pthread_mutex_unlock(&ss->lock);
		if (ss->stop)
			break;
		ss_sleep(ss, SVC_DEBOUNCE_MS);
		/* gen before the snapshots: a change after this point syncs again */
		pthread_mutex_lock(&ss->lock);
		seen = ss->gen;
		pthread_mutex_unlock(&ss->lock);
		if (!all_synced(ss))
			continue;
		svcs = informer_snapshot(ss->inf.by_kind[CK_SERVICE]);
		eps = informer_snapshot(ss->inf.by_kind[CK_ENDPOINTS]);
		nodes = informer_snapshot(ss->inf.by_kind[CK_NODE]);
		sa = json_array();
		ea = json_array();
		ret = -ENOMEM;
		if (svcs && eps && nodes && sa && ea) {
			struct svc_model_in in = {
				.services = svcs, .endpoints = eps, .nodes = nodes,
				.node_name = ss->a->cfg.node_name, .node_ip = ss->a->cfg.node_ip,
			};

			ret = svc_desired_build(&in, &d);
			json_object_foreach(svcs, key, v)
				json_array_append(sa, v);
			json_object_foreach(eps, key, v)
				json_array_append(ea, v);
		}
		if (!ret) {
			struct gerr e = { 0 };

			program(ss, &d, first);
			first = false;
			pthread_mutex_lock(&ss->lock);
			json_decref(ss->labels);
			ss->labels = json_incref(d.labels);
			pthread_mutex_unlock(&ss->lock);
			if (ss->dns_on && dnssync_apply(sa, ea, &e))
				pr_warn("cluster DNS: %s", e.msg);
		} else {
			seen--;            /* out of memory: try again */
		}
		svc_desired_free(&d);
		json_decref(svcs);
		json_decref(eps);
		json_decref(nodes);
		json_decref(sa);
		json_decref(ea);
	}
	return NULL;
}

/* ---- socket LB ------------------------------------------------------------------- */

/* runc places containers at <cgroupParent>/<id> in every hierarchy,
 * including the unified one of a hybrid (v1 + v2) host, where cgroup BPF
 * lives: attach there so every pod process of this node is covered. */
static int sock_lb_attach(struct agent *a, struct gerr *err)
{
	char parent[200], path[PATH_MAX], *p;
	const char *root = access("/sys/fs/cgroup/cgroup.controllers", F_OK) ?
		"/sys/fs/cgroup/unified" : "/sys/fs/cgroup";
	int ret;

	if (a->cfg.cgroup_parent[0])
		snprintf(parent, sizeof(parent), "%s", a->cfg.cgroup_parent);
	else
		snprintf(parent, sizeof(parent), "gannet/%s", a->cfg.node_name);
	/* systemd-style "slice:prefix:name" parents are not paths */
	if (strchr(parent, ':'))
		return gerr_set(err, -EINVAL, "cgroupParent %s is not a cgroupfs path", parent);
	snprintf(path, sizeof(path), "%s/%s", root, parent[0] == '/' ? parent + 1 : parent);
	/* runc creates it with the first container: create it now so the
	 * links exist before any pod connects */
	for (p = path + strlen(root) + 1; (p = strchr(p, '/')); p++) {
		*p = 0;
		mkdir(path, 0755);
		*p = '/';
	}
	if (mkdir(path, 0755) && errno != EEXIST)
		return gerr_set(err, -errno, "mkdir %s: %s", path, strerror(errno));
	pthread_mutex_lock(&a->dp_lock);
	ret = a->dp ? dp_sock_attach(a->dp, path, err) : gerr_set(err, -ENODEV, "no dataplane");
	pthread_mutex_unlock(&a->dp_lock);
	if (!ret)
		pr_info("services: socket LB attached to %s", path);
	return ret;
}

/* ---- metrics ------------------------------------------------------------------- */

/* Prometheus text wants each metric family in one group: packets and
 * bytes go to two streams, joined at the end. */
struct mctx {
	FILE *pk, *by;
	json_t *labels;
};

static void prom_escape(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

/* name{namespace,name,port,frontend} value, labels from l = [ns, name, port] */
static void metric_line(FILE *f, const char *name, const json_t *l, const char *key,
			unsigned long long v)
{
	static const char *const lnames[] = { "namespace", "name", "port" };

	fprintf(f, "%s{", name);
	for (size_t i = 0; i < 3; i++) {
		fprintf(f, "%s=\"", lnames[i]);
		prom_escape(f, json_string_value(json_array_get(l, i)) ?: "");
		fputs("\",", f);
	}
	fprintf(f, "frontend=\"%s\"} %llu\n", key, v);
}

static int metric_cb(const struct dp_service *svc, const struct dp_backend *be,
		     const uint32_t *slots, size_t n, const struct dp_service_stats *st, void *arg)
{
	struct mctx *m = arg;
	char key[128];
	json_t *l;

	(void)be; (void)slots; (void)n;
	svc_fe_key(svc, key, sizeof(key));
	l = json_object_get(m->labels, key);
	metric_line(m->pk, "gannet_service_packets_total", l, key, st->packets);
	metric_line(m->by, "gannet_service_bytes_total", l, key, st->bytes);
	return 0;
}

char *services_metrics_text(struct agent *a)
{
	struct svcsync *ss;
	struct mctx m = { 0 };
	struct gerr e = { 0 };
	char *pk = NULL, *by = NULL, *out = NULL;
	size_t pk_len = 0, by_len = 0;

	pthread_mutex_lock(&g_lock);
	ss = g_ss;
	if (!ss) {
		pthread_mutex_unlock(&g_lock);
		return strdup("");
	}
	m.pk = open_memstream(&pk, &pk_len);
	m.by = open_memstream(&by, &by_len);
	if (!m.pk || !m.by)
		goto out;
	pthread_mutex_lock(&ss->lock);
	m.labels = json_incref(ss->labels);
	pthread_mutex_unlock(&ss->lock);
	fputs("# HELP gannet_service_packets_total Packets (and socket translations) per "
	      "service frontend, from the BPF maps.\n"
	      "# TYPE gannet_service_packets_total counter\n", m.pk);
	fputs("# HELP gannet_service_bytes_total Bytes per service frontend, from the BPF "
	      "maps.\n"
	      "# TYPE gannet_service_bytes_total counter\n", m.by);
	pthread_mutex_lock(&a->dp_lock);
	if (a->dp && dp_service_foreach(a->dp, metric_cb, &m, &e))
		pr_debug("services metrics: %s", e.msg);
	pthread_mutex_unlock(&a->dp_lock);
	json_decref(m.labels);
out:
	pthread_mutex_unlock(&g_lock);
	if (m.pk)
		fclose(m.pk);
	if (m.by)
		fclose(m.by);
	if (m.pk && m.by && pk && by && asprintf(&out, "%s%s", pk, by) < 0)
		out = NULL;
	free(pk);
	free(by);
	return out;
}

/* ---- component ------------------------------------------------------------------- */

int services_start(struct agent *a, struct gerr *err)
{
	struct svcsync *ss;
	struct gerr e = { 0 };
	int ret;

	if (!a->cfg.kubeconfig[0])
		return 0;
	ss = calloc(1, sizeof(*ss));
	if (!ss)
		return gerr_set(err, -ENOMEM, "out of memory");
	ss->a = a;
	pthread_mutex_init(&ss->lock, NULL);
	pthread_cond_init(&ss->cv, NULL);
	ss->applied = json_object();
	ss->labels = json_object();
	ret = kubeconfig_load(a->cfg.kubeconfig, NULL, &ss->kc, err);
	if (ret) {
		json_decref(ss->applied);
		json_decref(ss->labels);
		free(ss);
		return gerr_wrap(err, "services: kubeconfig %s", a->cfg.kubeconfig);
	}
	for (size_t i = 0; i < sizeof(svc_kinds) / sizeof(svc_kinds[0]); i++) {
		struct informer *inf = informers_get(&ss->inf, svc_kinds[i]);

		if (!inf || informer_add_handler(inf, on_change, ss)) {
			informers_join_free(&ss->inf);
			json_decref(ss->applied);
			json_decref(ss->labels);
			kubeconfig_free(&ss->kc);
			free(ss);
			return gerr_set(err, -ENOMEM, "services: informers: out of memory");
		}
	}
	/* without the socket LB, pods still reach services through the
	 * per-packet translation in the pod program */
	if (sock_lb_attach(a, &e))
		pr_warn("services: socket LB not attached (per-packet fallback only): %s", e.msg);
	memset(&e, 0, sizeof(e));
	ss->dns_on = !dnssync_init(a, &e);
	if (!ss->dns_on)
		pr_warn("cluster DNS disabled: %s", e.msg);
	pthread_mutex_lock(&g_lock);
	g_ss = ss;
	pthread_mutex_unlock(&g_lock);
	/* an informer that could not start (no thread) leaves the caches
	 * unsynced: no sync runs, as when the API server is unreachable */
	memset(&e, 0, sizeof(e));
	if (informers_start(&ss->inf, &ss->kc, &ss->stop, &e))
		pr_warn("services: %s", e.msg);
	ss->sync_started = !pthread_create(&ss->sync_th, NULL, sync_thread, ss);
	return 0;
}

void services_stop(struct agent *a)
{
	struct svcsync *ss = g_ss;

	(void)a;
	if (!ss)
		return;
	/* programmed services, the socket LB and dnsmasq stay: the datapath
	 * and DNS keep serving while the agent is away */
	pthread_mutex_lock(&ss->lock);
	ss->stop = 1;
	pthread_cond_broadcast(&ss->cv);
	pthread_mutex_unlock(&ss->lock);
	if (ss->sync_started)
		pthread_join(ss->sync_th, NULL);
	informers_join_free(&ss->inf);
	pthread_mutex_lock(&g_lock);
	g_ss = NULL;
	pthread_mutex_unlock(&g_lock);
	json_decref(ss->applied);
	json_decref(ss->labels);
	kubeconfig_free(&ss->kc);
	free(ss);
}

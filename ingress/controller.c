/* SPDX-License-Identifier: Apache-2.0 */
/* gannet-ingress-controller: the Ingress controller daemon. The shared
 * informers of common/informer.h, one per watched kind (Ingresses,
 * IngressClasses, Services, Endpoints, Secrets), keep caches by list + watch
 * (re-list on 410 Expired or a broken stream); the main thread debounces
 * changes, renders the nginx configuration with ing_render(), applies it with
 * ngxm_apply() (nginx -t first, graceful reload) and writes back, for every
 * Ingress of our class:
 *   - status.loadBalancer.ingress[].ip: our listen address merged with the
 *     addresses other ingress nodes put there (status subresource);
 *   - annotations ingress.gannet.io/errors and ingress.gannet.io/warnings
 *     (newline-separated messages, absent when none) plus a Warning Event
 *     (reason InvalidIngress) whenever the error text changes.
 * nginx must run in the ingress node's network namespace so that it listens
 * on the node address :80/:443: start the daemon there (nsenter), or pass
 * --netns and only nginx goes there while the API traffic stays in the
 * caller's namespace. SIGTERM/SIGINT: our address is
 * removed from the statuses and nginx stops gracefully. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/apiclient.h"
#include "common/informer.h"
#include "common/kubeconfig.h"
#include "ingress/nginx.h"
#include "ingress/render.h"

#define ANN_ERRORS   "ingress.gannet.io/errors"
#define ANN_WARNINGS "ingress.gannet.io/warnings"
#define ING_API      "/apis/networking.k8s.io/v1"

/* ---------------------------------------------------------------- state */

/* The shared informers (common/informer.h): list + watch per kind, re-list
 * on 410 or a broken stream, one cache per kind. Their handlers only bump
 * a generation counter the main thread waits on. */
enum { INF_ING, INF_CLASS, INF_SVC, INF_EP, INF_SECRET, INF_N };
static const enum ctrl_kind_id inf_kind[INF_N] = {
	[INF_ING] = CK_INGRESS, [INF_CLASS] = CK_INGRESSCLASS, [INF_SVC] = CK_SERVICE,
	[INF_EP] = CK_ENDPOINTS, [INF_SECRET] = CK_SECRET,
};
static struct informers infs;
static struct informer *inf[INF_N];

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static unsigned long generation;   /* bumped on every cache change */
static volatile int stopping;
static struct kubeconfig kc;
static const char *node_name;
static const char *listen_addr;

static int host_ns_fd = -1, node_ns_fd = -1;

/* Enter (true) or leave (false) the node namespace given with --netns. */
static int node_ns(bool enter)
{
	if (node_ns_fd < 0)
		return 0;
	if (setns(enter ? node_ns_fd : host_ns_fd, CLONE_NEWNET)) {
		pr_err("setns: %s\n", strerror(errno));
		return -errno;
	}
	return 0;
}

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static void on_change(void *arg, const char *type, const json_t *old, const json_t *obj)
{
	(void)arg;
	(void)old;
	pr_debug("%s %s/%s\n", type, cj_str(obj, "metadata.namespace") ?: "",
		 cj_str(obj, "metadata.name") ?: "");
	pthread_mutex_lock(&mu);
	generation++;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

/* --------------------------------------------------------------- status */

/* "a\nb" from ["a","b"], or NULL for an empty/missing array. */
static char *join_msgs(json_t *arr)
{
	size_t i, len = 0;
	json_t *v;
	char *s;

	if (!json_array_size(arr))
		return NULL;
	json_array_foreach(arr, i, v)
		len += strlen(json_string_value(v) ?: "") + 1;
	s = calloc(1, len + 1);
	if (!s)
		return NULL;
	json_array_foreach(arr, i, v) {
		if (i)
			strcat(s, "\n");
		strcat(s, json_string_value(v) ?: "");
	}
	return s;
}

static int cmp_ip(const void *a, const void *b)
{
	return strcmp(json_string_value(json_object_get(*(json_t *const *)a, "ip")) ?: "",
		      json_string_value(json_object_get(*(json_t *const *)b, "ip")) ?: "");
}

/* The loadBalancer.ingress list we want: the entries other nodes wrote,
 * plus ours unless removing. Sorted so that comparisons are stable. */
static json_t *lb_entries(json_t *ing, bool ours)
{
	json_t *cur = json_object_get(json_object_get(json_object_get(ing, "status"),
						      "loadBalancer"), "ingress");
	json_t *out = json_array(), *v;
	json_t **tmp;
	size_t i, n = 0;

	tmp = calloc(json_array_size(cur) + 1, sizeof(*tmp));
	json_array_foreach(cur, i, v) {
		const char *ip = json_string_value(json_object_get(v, "ip"));

		if (ip && !strcmp(ip, listen_addr))
			continue;
		tmp[n++] = json_deep_copy(v);
	}
	if (ours)
		tmp[n++] = json_pack("{ss}", "ip", listen_addr);
	qsort(tmp, n, sizeof(*tmp), cmp_ip);
	for (i = 0; i < n; i++)
		json_array_append_new(out, tmp[i]);
	free(tmp);
	return out;
}

static void post_event(struct apiclient *c, json_t *ing, const char *ns, const char *name,
		       const char *msg)
{
	json_t *md = json_object_get(ing, "metadata");
	struct api_resp r = { 0 };
	struct gerr err = { 0 };
	char path[512], ename[300], ts[32];
	struct timespec now;
	json_error_t jerr;
	struct tm tm;
	json_t *ev;

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(ename, sizeof(ename), "%.200s.%lx%lx", name, (long)now.tv_sec,
		 (long)now.tv_nsec);
	ev = json_pack_ex(&jerr, 0, "{ss ss s{ss ss} s{ss ss ss ss ss?} ss ss ss s{ss ss} ss ss si ss}",
		       "apiVersion", "v1", "kind", "Event",
		       "metadata", "name", ename, "namespace", ns,
		       "involvedObject", "kind", "Ingress",
		       "apiVersion", "networking.k8s.io/v1",
		       "name", name, "namespace", ns,
		       "uid", json_string_value(json_object_get(md, "uid")),
		       "reason", "InvalidIngress", "message", msg, "type", "Warning",
		       "source", "component", "gannet-ingress-controller", "host", node_name,
		       "firstTimestamp", ts, "lastTimestamp", ts, "count", 1,
		       "reportingComponent", "gannet-ingress-controller");
	snprintf(path, sizeof(path), "/api/v1/namespaces/%s/events", ns);
	if (!ev)
		pr_warn("event for %s/%s: %s\n", ns, name, jerr.text);
	else if (apiclient_post(c, path, ev, &r, &err) || !api_ok(&r))
		pr_warn("event for %s/%s: %s%s\n", ns, name, err.msg, r.message);
	api_resp_free(&r);
	json_decref(ev);
}

static bool ann_equal(json_t *anns, const char *key, const char *want)
{
	const char *cur = json_string_value(json_object_get(anns, key));

	if (!cur || !want)
		return !cur && !want;
	return !strcmp(cur, want);
}

/* Brings one Ingress's status and annotations to what the render said.
 * Writes only what differs, so our own MODIFIED events come back as no-ops
 * and the loop settles. */
static void sync_ingress(struct apiclient *c, json_t *ing, json_t *st, bool ours)
{
	json_t *md = json_object_get(ing, "metadata");
	json_t *anns = json_object_get(md, "annotations");
	const char *ns = json_string_value(json_object_get(md, "namespace"));
	const char *name = json_string_value(json_object_get(md, "name"));
	json_t *want_lb = lb_entries(ing, ours), *cur_lb;
	char *errs = join_msgs(json_object_get(st, "errors"));
	char *warns = join_msgs(json_object_get(st, "warnings"));
	struct api_resp r = { 0 };
	struct gerr err = { 0 };
	char path[512];
	json_t *patch;

	if (!ns || !name)
		goto out;
	cur_lb = json_object_get(json_object_get(json_object_get(ing, "status"),
						 "loadBalancer"), "ingress");
	/* A missing list equals an empty one. */
	if (cur_lb ? !json_equal(want_lb, cur_lb) : json_array_size(want_lb) != 0) {
		snprintf(path, sizeof(path), ING_API "/namespaces/%s/ingresses/%s/status", ns, name);
		patch = json_pack("{s{s{sO}}}", "status", "loadBalancer", "ingress", want_lb);
		if (apiclient_patch(c, path, "merge", patch, &r, &err) || !api_ok(&r))
			pr_warn("status of %s/%s: %s%s\n", ns, name, err.msg, r.message);
		else
			pr_info("%s/%s: status.loadBalancer updated\n", ns, name);
		json_decref(patch);
		api_resp_free(&r);
		memset(&err, 0, sizeof(err));
	}
	if (ours && (!ann_equal(anns, ANN_ERRORS, errs) || !ann_equal(anns, ANN_WARNINGS, warns))) {
		snprintf(path, sizeof(path), ING_API "/namespaces/%s/ingresses/%s", ns, name);
		patch = json_pack("{s{s{ss? ss?}}}", "metadata", "annotations",
				  ANN_ERRORS, errs, ANN_WARNINGS, warns);
		/* json_pack's "s?" turns NULL into null: merge-patch deletes. */
		if (apiclient_patch(c, path, "merge", patch, &r, &err) || !api_ok(&r))
			pr_warn("annotations of %s/%s: %s%s\n", ns, name, err.msg, r.message);
		json_decref(patch);
		api_resp_free(&r);
		if (errs && !ann_equal(anns, ANN_ERRORS, errs)) {
			pr_warn("%s/%s: %s\n", ns, name, errs);
			post_event(c, ing, ns, name, errs);
		}
	}
out:
	free(errs);
	free(warns);
	json_decref(want_lb);
}

/* ----------------------------------------------------------------- main */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: gannet-ingress-controller --kubeconfig F --node NAME --listen-addr IP\n"
		"                                 --state-dir D [options]\n"
		"      --class NAME        IngressClass name (default %s)\n"
		"      --controller NAME   IngressClass controller (default %s)\n"
		"      --default-class     also take Ingresses without a class\n"
		"      --netns PATH        run nginx in this network namespace (API\n"
		"                          connections stay in the caller's)\n"
		"      --http-port N       (80)   --https-port N   (443)\n"
		"      --workers N         nginx worker_processes (default: online CPUs)\n"
		"      --access-log        log requests to STATE/logs/access.log\n"
		"      --debounce MS       wait after a change before rendering (50)\n"
		"      --nginx BIN         nginx executable\n"
		"  -v, --verbose\n",
		ING_DEFAULT_CLASS, ING_DEFAULT_CONTROLLER);
}

int main(int argc, char **argv)
{
	enum { O_KC = 256, O_NODE, O_LISTEN, O_STATE, O_CLASS, O_CONTROLLER, O_DEFCLASS,
	       O_NETNS, O_HTTP, O_HTTPS, O_WORKERS, O_ALOG, O_DEBOUNCE, O_NGINX };
	static const struct option lopts[] = {
		{ "kubeconfig", required_argument, NULL, O_KC },
		{ "node", required_argument, NULL, O_NODE },
		{ "listen-addr", required_argument, NULL, O_LISTEN },
		{ "state-dir", required_argument, NULL, O_STATE },
		{ "class", required_argument, NULL, O_CLASS },
		{ "controller", required_argument, NULL, O_CONTROLLER },
		{ "default-class", no_argument, NULL, O_DEFCLASS },
		{ "netns", required_argument, NULL, O_NETNS },
		{ "http-port", required_argument, NULL, O_HTTP },
		{ "https-port", required_argument, NULL, O_HTTPS },
		{ "workers", required_argument, NULL, O_WORKERS },
		{ "access-log", no_argument, NULL, O_ALOG },
		{ "debounce", required_argument, NULL, O_DEBOUNCE },
		{ "nginx", required_argument, NULL, O_NGINX },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *kcpath = NULL, *state = NULL, *netns = NULL, *nginx_bin = NULL;
	int http_port = 80, https_port = 443, debounce = 50, opt, rc = 1, i;
	struct ing_render_opts ro = { 0 };
	char lh[128], ls[128], errs_last[4096] = "";
	const char *http[2] = { lh, NULL }, *https[2] = { ls, NULL };
	struct apiclient_opts ao = { .user_agent = "gannet-ingress-controller" };
	struct apiclient *c = NULL;
	unsigned long seen = 0;
	struct gerr err = { 0 };
	struct sigaction sa;
	struct ngxm m;
	struct ing_cert_cache certs = { 0 };
	int64_t t_start;
	int class_warned = 0;
	char *kcp = NULL;

	log_set_prefix("gannet-ingress-controller");
	while ((opt = getopt_long(argc, argv, "vh", lopts, NULL)) != -1) {
		switch (opt) {
		case O_KC: kcpath = optarg; break;
		case O_NODE: node_name = optarg; break;
		case O_LISTEN: listen_addr = optarg; break;
		case O_STATE: state = optarg; break;
		case O_CLASS: ro.class_name = optarg; break;
		case O_CONTROLLER: ro.controller = optarg; break;
		case O_DEFCLASS: ro.is_default_class = true; break;
		case O_NETNS: netns = optarg; break;
		case O_HTTP: http_port = atoi(optarg); break;
		case O_HTTPS: https_port = atoi(optarg); break;
		case O_WORKERS: ro.worker_processes = atoi(optarg); break;
		case O_ALOG: ro.access_log = true; break;
		case O_DEBOUNCE: debounce = atoi(optarg); break;
		case O_NGINX: nginx_bin = optarg; break;
		case 'v': log_level = LOG_LVL_DEBUG; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!node_name || !listen_addr || !state || optind != argc ||
	    http_port <= 0 || http_port > 65535 || https_port <= 0 || https_port > 65535) {
		usage(stderr);
		return 2;
	}
	if (strchr(listen_addr, ':'))
		snprintf(lh, sizeof(lh), "[%s]:%d", listen_addr, http_port);
	else
		snprintf(lh, sizeof(lh), "%s:%d", listen_addr, http_port);
	if (strchr(listen_addr, ':'))
		snprintf(ls, sizeof(ls), "[%s]:%d", listen_addr, https_port);
	else
		snprintf(ls, sizeof(ls), "%s:%d", listen_addr, https_port);
	if (ro.worker_processes <= 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		ro.worker_processes = n > 0 && n < 64 ? (int)n : 1;
	}

	/* --netns: only nginx lives in the node's namespace; the API
	 * connections stay in ours (the API server may be reachable only
	 * from here, e.g. on loopback). setns() is per thread and sockets
	 * keep the namespace they were created in, so the main thread
	 * switches around the nginx calls (which fork nginx) only. */
	if (netns) {
		host_ns_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
		node_ns_fd = open(netns, O_RDONLY | O_CLOEXEC);
		if (host_ns_fd < 0 || node_ns_fd < 0 || node_ns(true) || node_ns(false)) {
			pr_err("netns %s: %s\n", netns, strerror(errno));
			return 1;
		}
	}

	kcp = kubeconfig_locate(kcpath, &err);
	if (!kcp || kubeconfig_load(kcp, NULL, &kc, &err)) {
		pr_err("kubeconfig: %s\n", err.msg);
		free(kcp);
		return 1;
	}
	free(kcp);
	if (ngxm_init(&m, state, nginx_bin, &err)) {
		pr_err("%s\n", err.msg);
		return 1;
	}
	ro.listen_http = http;
	ro.listen_https = https;
	ro.https_port = https_port;
	ro.cert_dir = m.cert_dir;
	ro.cert_cache = &certs;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (apiclient_new(&kc, &ao, &c, &err)) {
		pr_err("%s\n", err.msg);
		return 1;
	}
	for (i = 0; i < INF_N; i++) {
		inf[i] = informers_get(&infs, inf_kind[i]);
		if (!inf[i] || informer_add_handler(inf[i], on_change, NULL)) {
			pr_err("informer setup failed\n");
			return 1;
		}
	}
	if (informers_start(&infs, &kc, &stopping, &err)) {
		pr_err("%s\n", err.msg);
		return 1;
	}
	t_start = ctrl_now_ms();

	while (!stopping) {
		struct ing_snapshot snap = { 0 };
		struct ing_result res = { 0 };
		json_t *ings, *st;
		struct timespec ts;
		bool synced = true, changed = false;
		int64_t t0;
		size_t k;

		for (i = 0; i < INF_N; i++)
			if (i != INF_CLASS)
				synced &= informer_synced(inf[i]);
		/* IngressClasses are optional (an API server without them
		 * answers 404 forever): wait a little for them, then render
		 * without. Everything else must have listed once, so that a
		 * restart never serves a half-known world. */
		if (synced && !informer_synced(inf[INF_CLASS])) {
			if (ctrl_now_ms() - t_start < 10000)
				synced = false;
			else if (!class_warned++)
				pr_warn("IngressClasses not listed (not served?): rendering without them\n");
		}
		pthread_mutex_lock(&mu);
		if (!synced || generation == seen) {
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 200 * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&cv, &mu, &ts);
			pthread_mutex_unlock(&mu);
			continue;
		}
		pthread_mutex_unlock(&mu);
		/* Debounce: a rollout changes Endpoints several times within
		 * milliseconds; one reload for the burst is enough. */
		usleep(debounce * 1000);
		t0 = ctrl_now_ms();
		pthread_mutex_lock(&mu);
		seen = generation;
		pthread_mutex_unlock(&mu);
		/* Cached objects are immutable once stored (the informer
		 * replaces, never edits) and jansson reference counts are
		 * atomic: the snapshot shares them instead of copying. A
		 * change landing after `seen` was read bumps the generation
		 * again, so it is rendered next round. */
		snap.ingresses = informer_list(inf[INF_ING], NULL);
		snap.ingress_classes = informer_list(inf[INF_CLASS], NULL);
		snap.services = informer_list(inf[INF_SVC], NULL);
		snap.endpoints = informer_list(inf[INF_EP], NULL);
		snap.secrets = informer_list(inf[INF_SECRET], NULL);

		memset(&err, 0, sizeof(err));
		if (ing_render(&snap, &ro, &res, &err)) {
			pr_err("render: %s\n", err.msg);
		} else if (node_ns(true) ||
			   (rc = ngxm_apply(&m, res.conf, res.conf_len, &changed, &err),
			    node_ns(false), rc)) {
			/* The renderer keeps bad input out of the config, so
			 * this is an environment problem (address missing,
			 * nginx broken); the old config keeps serving. */
			if (strcmp(errs_last, err.msg))
				pr_err("nginx: %s\n", err.msg);
			snprintf(errs_last, sizeof(errs_last), "%s", err.msg);
		} else {
			errs_last[0] = 0;
			if (changed)
				pr_info("nginx configuration applied in %lld ms\n",
					(long long)(ctrl_now_ms() - t0));
			if (ing_prune_certs(m.cert_dir, res.cert_files, &err) < 0)
				pr_warn("%s\n", err.msg);
			/* Status only after nginx serves the config. */
			ings = snap.ingresses;
			json_array_foreach(ings, k, st) {
				char key[512];
				json_t *s;

				ctrl_key(st, key, sizeof(key));
				s = json_object_get(res.status, key);
				if (s)
					sync_ingress(c, st, s, true);
				else
					sync_ingress(c, st, NULL, false);
			}
		}
		ing_result_free(&res);
		json_decref(snap.ingresses);
		json_decref(snap.ingress_classes);
		json_decref(snap.services);
		json_decref(snap.endpoints);
		json_decref(snap.secrets);
	}

	pr_info("stopping: withdrawing %s from Ingress statuses, stopping nginx\n", listen_addr);
	{
		json_t *ings, *v;
		size_t k;

		ings = informer_list(inf[INF_ING], NULL);
		json_array_foreach(ings, k, v)
			sync_ingress(c, v, NULL, false);
		json_decref(ings);
	}
	memset(&err, 0, sizeof(err));
	rc = 0;
	node_ns(true);
	if (ngxm_stop(&m, &err)) {
		pr_err("%s\n", err.msg);
		rc = 1;
	}
	apiclient_free(c);
	/* The informers see `stopping` at their next event or when the
	 * server ends the current watch (a few seconds at most). */
	informers_join_free(&infs);
	ing_cert_cache_free(&certs);
	kubeconfig_free(&kc);
	return rc;
}

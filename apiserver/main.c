/* SPDX-License-Identifier: Apache-2.0 */
/* gannet-apiserver: Kubernetes-style API server. Lifecycle: PKI bootstrap
 * (CA, serving cert, admin kubeconfig) -> store -> authn/RBAC/secretbox ->
 * bootstrap objects (default and kube-system namespaces, default RBAC) ->
 * watch cache (feeding RBAC) -> HTTPS. /readyz turns 200 once all are up.
 * Then, k3s-style, the same process runs the scheduler and the controllers
 * as threads (each a plain API client with its own client certificate,
 * talking HTTPS over loopback, so they behave exactly as the standalone
 * gannet-scheduler / gannet-controller-manager) and a periodic store
 * compaction. `gannet-apiserver node-kubeconfig` mints node credentials. */
#include "apiserver/apiserver.h"
#include "apiserver/controllers/controllers.h"
#include "apiserver/scheduler/sched.h"
#include "common/duration.h"
#include "common/fileutil.h"
#include "common/kubeconfig.h"

#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void usage(FILE *f)
{
	fprintf(f,
		"usage: gannet-apiserver [options]\n"
		"  --data-dir DIR            state, PKI and kubeconfig (default /var/lib/gannet)\n"
		"  --listen ADDR:PORT        HTTPS listen address (default 127.0.0.1:6443)\n"
		"  --store URI               sqlite:<path> (default sqlite:<data-dir>/state.db) or etcd:<url>\n"
		"  --token-file FILE         static bearer tokens (token,user,uid,g1|g2)\n"
		"  --encryption-key-file F   AES-GCM key for Secrets (default <data-dir>/pki/encryption.key)\n"
		"  --tls-san NAME            extra SAN for the serving certificate (repeatable)\n"
		"  --max-body BYTES          request body limit (default 3145728)\n"
		"  --watch-cache-size N      events kept for watch resume (default 10000)\n"
		"  --bookmark-interval MS    idle time before a watch bookmark (default 10000)\n"
		"  --disable LIST            in-process loops not to run: scheduler,controllers\n"
		"  --no-scheduler            same as --disable=scheduler\n"
		"  --no-controllers          same as --disable=controllers\n"
		"  --controllers LIST        controllers to run (default all: %s)\n"
		"  --cluster-cidr CIDR       pod CIDR for node IPAM (default 10.244.0.0/16)\n"
		"  --node-cidr-mask-size N   per-node pod CIDR size (default 24)\n"
		"  --node-grace DUR          node lease age before NotReady (default 40s)\n"
		"  --compaction-interval DUR store compaction period, 0 = never (default 5m)\n"
		"  --compaction-keep N       revisions always kept behind the newest (default 1000)\n"
		"  --service-cluster-ip-range CIDR  Service ClusterIPs (default 10.96.0.0/12)\n"
		"  --service-node-port-range LO-HI  NodePorts (default 30000-32767)\n"
		"  --advertise-address IP    address of the `kubernetes` Service's endpoint\n"
		"                            (default: the listen address unless it is a wildcard)\n"
		"  -v                        more logging\n"
		"\n"
		"gannet-apiserver node-kubeconfig --data-dir DIR --node NAME --server URL --out FILE\n"
		"  issue a node client certificate (CN=system:node:NAME, O=system:nodes) from\n"
		"  the cluster CA in DIR and write a kubeconfig embedding it (mode 0600)\n",
		controllers_names());
}

static char *read_file(const char *path, struct gerr *err)
{
	char *buf = NULL;
	int rc = fu_read_file(path, &buf, NULL);

	if (rc)
		gerr_set(err, rc, "%s: %s", path, strerror(-rc));
	return rc ? NULL : buf;
}

static void rbac_feed(const struct wc_event *ev, void *arg)
{
	struct apiserver *as = arg;

	if (strcmp(ev->kind->group, "rbac.authorization.k8s.io"))
		return;
	rbac_observe(as->rbac, ev->kind->kind, ev->obj, ev->type == STORE_EV_DELETE);
}

static int load_rbac(struct apiserver *as, struct gerr *err)
{
	for (size_t i = 0; i < reg_n_kinds; i++) {
		const struct api_kind *k = &reg_kinds[i];
		struct store_list l = { 0 };
		char prefix[256];
		int ret;

		if (strcmp(k->group, "rbac.authorization.k8s.io"))
			continue;
		reg_prefix(k, NULL, prefix, sizeof(prefix));
		ret = store_list(as->store, prefix, NULL, 0, &l, err);
		if (ret)
			return ret;
		for (size_t j = 0; j < l.n; j++) {
			json_t *obj = NULL;

			if (as_decode(as, k, l.items[j].value, l.items[j].len, l.items[j].mod_rev,
				      &obj, NULL) == 0) {
				rbac_observe(as->rbac, k->kind, obj, false);
				json_decref(obj);
			}
		}
		store_list_free(&l);
	}
	return 0;
}

/* The `kubernetes` Service in `default` (first address of the service
 * range, port 443) and its Endpoints pointing at this server. The Service
 * is created once; the Endpoints follow the advertised address and port of
 * each start, as kube-apiserver's endpoint reconciler does. */
static char advertise_addr[64];

static int bootstrap_kubernetes_service(struct apiserver *as, struct gerr *err)
{
	const struct api_kind *ek = reg_find("", "v1", "endpoints");
	char ip[48], key[512];
	json_t *svc, *ep, *cur = NULL, *subsets;
	const char *adv = *advertise_addr ? advertise_addr : as->listen_addr;
	int64_t rev = 0;
	int ret;

	svcalloc_nth_ip(1, ip, sizeof(ip));
	svc = json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s, s:s}}, s:{s:s, s:s, s:[s], s:[s], s:s, s:[{s:s, s:i, s:s, s:i}]}}",
			"apiVersion", "v1", "kind", "Service",
			"metadata", "name", "kubernetes", "namespace", "default",
			"labels", "component", "apiserver", "provider", "kubernetes",
			"spec", "type", "ClusterIP", "clusterIP", ip, "clusterIPs", ip,
			"ipFamilies", "IPv4", "ipFamilyPolicy", "SingleStack",
			"ports", "name", "https", "port", 443, "protocol", "TCP",
			"targetPort", as->listen_port);
	ret = as_ensure(as, svc, err);
	json_decref(svc);
	if (ret)
		return ret;
	if (!strcmp(adv, "0.0.0.0") || !strcmp(adv, "::") || !*adv) {
		pr_info("no --advertise-address: the kubernetes Service has no endpoints");
		return 0;
	}
	subsets = json_pack("[{s:[{s:s}], s:[{s:s, s:i, s:s}]}]", "addresses", "ip", adv,
			    "ports", "name", "https", "port", as->listen_port, "protocol", "TCP");
	ep = json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s}}, s:O}", "apiVersion", "v1",
		       "kind", "Endpoints", "metadata", "name", "kubernetes", "namespace", "default",
		       "labels", "endpointslice.kubernetes.io/skip-mirror", "true",
		       "subsets", subsets);
	ret = as_ensure(as, ep, err);
	json_decref(ep);
	if (ret)
		goto out;
	ret = as_get(as, ek, "default", "kubernetes", &cur, &rev, err);
	if (!ret && !json_equal(json_object_get(cur, "subsets"), subsets)) {
		char *val = NULL;
		size_t len = 0;
		int64_t nrev;

		json_object_set(cur, "subsets", subsets);
		json_object_del(json_object_get(cur, "metadata"), "resourceVersion");
		reg_key(ek, "default", "kubernetes", key, sizeof(key));
		ret = as_encode(as, ek, cur, &val, &len, err);
		if (!ret)
			ret = store_update(as->store, key, val, len, rev, &nrev, err);
		free(val);
	}
out:
	json_decref(cur);
	json_decref(subsets);
	return ret;
}

static int bootstrap_objects(struct apiserver *as, struct gerr *err)
{
	const char *nss[] = { "default", "kube-system", "kube-public", "kube-node-lease" };
	json_t *objs, *o;
	size_t i;
	int ret = 0;

	for (i = 0; i < sizeof(nss) / sizeof(nss[0]); i++) {
		o = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind", "Namespace",
			      "metadata", "name", nss[i]);
		ret = as_ensure(as, o, err);
		json_decref(o);
		if (ret)
			return ret;
	}
	objs = rbac_bootstrap_objects();
	json_array_foreach(objs, i, o) {
		ret = as_ensure(as, o, err);
		if (ret)
			break;
	}
	json_decref(objs);
	if (!ret)
		ret = bootstrap_kubernetes_service(as, err);
	return ret;
}


/* ---- in-process control loops ------------------------------------------ */

/* One control loop run as a thread. It gets the same kind of credential it
 * would get out of process (a client certificate from the cluster CA whose
 * CN the default RBAC binds) and a kubeconfig under the data dir, so RBAC
 * and the audit trail see "system:kube-scheduler", not an all-powerful
 * in-process shortcut. */
struct loop_comp {
	const char *name;            /* as in --disable */
	const char *cn;              /* client certificate CN = RBAC user */
	bool is_sched;
	bool enabled;
	struct kubeconfig kc;
	struct ctrl_options copts;
	pthread_t thr;
	bool started;
	volatile int done;
	int ret;
};

/* Stop flag of the loops: set on SIGTERM before anything else stops. */
static volatile int loops_stop;

static void *loop_thread(void *arg)
{
	struct loop_comp *lc = arg;

	if (lc->is_sched)
		lc->ret = sched_run_opts(&lc->kc, NULL, &loops_stop);
	else
		lc->ret = controllers_run(&lc->kc, &lc->copts, &loops_stop);
	if (lc->ret)
		pr_err("%s: stopped with error: %s", lc->name, strerror(-lc->ret));
	lc->done = 1;
	return NULL;
}

/* The URL the loops use: the server's own listen address, loopback for a
 * wildcard listen. The serving certificate always covers localhost and
 * 127.0.0.1; for any other address the TLS name is pinned to localhost so
 * the loops need no --tls-san for it. */
static void loop_server_url(const struct apiserver *as, char *url, size_t len, bool *pin_name)
{
	const char *a = as->listen_addr;

	*pin_name = false;
	if (!*a || !strcmp(a, "0.0.0.0") || !strcmp(a, "127.0.0.1") || !strcmp(a, "localhost")) {
		snprintf(url, len, "https://127.0.0.1:%d", as->listen_port);
	} else if (!strcmp(a, "::") || !strcmp(a, "[::]")) {
		snprintf(url, len, "https://[::1]:%d", as->listen_port);
		*pin_name = true;
	} else if (strchr(a, ':') && a[0] != '[') {
		snprintf(url, len, "https://[%s]:%d", a, as->listen_port);
		*pin_name = true;
	} else {
		snprintf(url, len, "https://%s:%d", a, as->listen_port);
		*pin_name = true;
	}
}

/* Issues <data>/pki/<cn-suffix>.{crt,key} (re-issued on every start, so a
 * rotated CA is picked up), writes <data>/<name>.kubeconfig (0600) and
 * loads it. */
static int loop_credentials(struct apiserver *as, struct loop_comp *lc, struct gerr *err)
{
	const char *base = strrchr(lc->cn, ':') + 1;
	char url[160], crt[700], key[700], ca[700], kcp[700];
	bool pin;
	int ret;

	loop_server_url(as, url, sizeof(url), &pin);
	snprintf(crt, sizeof(crt), "%s/pki/%s.crt", as->data_dir, base);
	snprintf(key, sizeof(key), "%s/pki/%s.key", as->data_dir, base);
	snprintf(ca, sizeof(ca), "%s/pki/ca.crt", as->data_dir);
	snprintf(kcp, sizeof(kcp), "%s/%s.kubeconfig", as->data_dir, base);
	ret = pki_issue_client(as->data_dir, lc->cn, NULL, crt, key, err);
	if (!ret)
		ret = pki_write_kubeconfig(kcp, url, ca, crt, key, NULL, lc->cn, err);
	if (!ret)
		ret = kubeconfig_load(kcp, NULL, &lc->kc, err);
	if (ret)
		return gerr_wrap(err, "%s credentials", lc->name), ret;
	if (pin) {
		free(lc->kc.tls_server_name);
		lc->kc.tls_server_name = strdup("localhost");
	}
	return 0;
}

static int loops_start(struct apiserver *as, struct loop_comp *lcs, int n, struct gerr *err)
{
	for (int i = 0; i < n; i++) {
		struct loop_comp *lc = &lcs[i];
		int ret;

		if (!lc->enabled)
			continue;
		ret = loop_credentials(as, lc, err);
		if (ret)
			return ret;
		ret = pthread_create(&lc->thr, NULL, loop_thread, lc);
		if (ret)
			return gerr_set(err, -ret, "%s: thread: %s", lc->name, strerror(ret));
		lc->started = true;
		pr_info("%s running in-process as %s", lc->name, lc->cn);
	}
	return 0;
}

/* Joins the loops (their watches end within seconds once loops_stop is
 * set and the watch cache stops). A loop that does not finish in time is
 * left behind: the process is exiting anyway, and a hung thread must not
 * turn SIGTERM into SIGKILL. */
static void loops_join(struct loop_comp *lcs, int n, int timeout_ms)
{
	struct timespec dl;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += timeout_ms / 1000;
	dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	for (int i = 0; i < n; i++) {
		struct loop_comp *lc = &lcs[i];

		if (!lc->started)
			continue;
		if (pthread_timedjoin_np(lc->thr, NULL, &dl)) {
			pr_warn("%s did not stop in %d ms; exiting without it", lc->name, timeout_ms);
			continue;
		}
		lc->started = false;
		kubeconfig_free(&lc->kc);
	}
}

/* ---- store compaction ---------------------------------------------------- */

struct compactor {
	struct apiserver *as;
	long interval_ms;            /* 0 = off */
	int64_t keep;                /* revisions kept behind the newest */
	pthread_t thr;
	bool started;
};

/* Compacts history older than both the oldest revision a watch can still
 * resume from (the watch cache ring's start: older resumes get 410 from
 * the cache anyway) and keep revisions behind the newest. Live values are
 * never touched, so lists are unaffected. */
static void *compact_thread(void *arg)
{
	struct compactor *cp = arg;
	struct apiserver *as = cp->as;
	int64_t done = 0;

	while (!as->stopping) {
		for (long t = 0; t < cp->interval_ms && !as->stopping; t += 100)
			usleep(100 * 1000);
		if (as->stopping)
			break;

		int64_t latest = wc_latest_rev(as->wc), min = wc_min_rev(as->wc);
		int64_t target = latest - cp->keep;
		struct gerr e = { 0 };

		if (target > min)
			target = min;
		if (target <= done)
			continue;
		if (store_compact(as->store, target, &e)) {
			pr_warn("compaction to %lld: %s", (long long)target, e.msg);
			continue;
		}
		done = target;
		metrics_compacted(target);
		pr_debug("store compacted up to revision %lld (newest %lld)", (long long)target,
			 (long long)latest);
	}
	return NULL;
}

/* ---- node-kubeconfig subcommand ----------------------------------------- */

static int cmd_node_kubeconfig(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "data-dir", required_argument, NULL, 'd' },
		{ "node", required_argument, NULL, 'n' },
		{ "server", required_argument, NULL, 's' },
		{ "out", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *dir = "/var/lib/gannet", *node = NULL, *server = NULL, *out = NULL;
	struct gerr err = { 0 };
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'n': node = optarg; break;
		case 's': server = optarg; break;
		case 'o': out = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!node || !server || !out || optind < argc) {
		fprintf(stderr, "node-kubeconfig: --node, --server and --out are required\n");
		return 2;
	}
	if (pki_node_kubeconfig(dir, server, node, out, &err)) {
		fprintf(stderr, "node-kubeconfig: %s\n", err.msg);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "data-dir", required_argument, NULL, 'd' },
		{ "listen", required_argument, NULL, 'l' },
		{ "store", required_argument, NULL, 's' },
		{ "token-file", required_argument, NULL, 't' },
		{ "encryption-key-file", required_argument, NULL, 'k' },
		{ "tls-san", required_argument, NULL, 'S' },
		{ "max-body", required_argument, NULL, 'm' },
		{ "watch-cache-size", required_argument, NULL, 'w' },
		{ "bookmark-interval", required_argument, NULL, 'b' },
		{ "disable", required_argument, NULL, 'D' },
		{ "no-scheduler", no_argument, NULL, 'N' },
		{ "no-controllers", no_argument, NULL, 'C' },
		{ "controllers", required_argument, NULL, 'c' },
		{ "cluster-cidr", required_argument, NULL, 'P' },
		{ "node-cidr-mask-size", required_argument, NULL, 'M' },
		{ "node-grace", required_argument, NULL, 'g' },
		{ "compaction-interval", required_argument, NULL, 'I' },
		{ "compaction-keep", required_argument, NULL, 'K' },
		{ "service-cluster-ip-range", required_argument, NULL, 'R' },
		{ "service-node-port-range", required_argument, NULL, 'O' },
		{ "advertise-address", required_argument, NULL, 'A' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	static struct apiserver as;
	static struct loop_comp loops[] = {
		{ .name = "scheduler", .cn = "system:kube-scheduler", .is_sched = true,
		  .enabled = true },
		{ .name = "controllers", .cn = "system:kube-controller-manager", .enabled = true },
	};
	static struct compactor cp = { .interval_ms = 5 * 60 * 1000, .keep = 1000 };
	const char *sans[16];
	size_t n_sans = 0;
	char key_file[600] = "", url[128], path[700];
	char *cert = NULL, *key = NULL, *ca = NULL;
	struct gerr err = { 0 };
	sigset_t set;
	int c, sig, ret = 1;

	snprintf(as.data_dir, sizeof(as.data_dir), "/var/lib/gannet");
	snprintf(as.listen_addr, sizeof(as.listen_addr), "127.0.0.1");
	as.listen_port = 6443;
	as.max_body = 3 * 1024 * 1024;
	as.bookmark_ms = 10000;
	as.watch_cache_size = 10000;
	log_set_prefix("apiserver");
	if (argc > 1 && !strcmp(argv[1], "node-kubeconfig"))
		return cmd_node_kubeconfig(argc - 1, argv + 1);
	/* One thread per connection: without a cap glibc gives busy threads
	 * their own malloc arenas, and resident memory grows with them. */
	mallopt(M_ARENA_MAX, 2);
	while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			snprintf(as.data_dir, sizeof(as.data_dir), "%s", optarg);
			break;
		case 'l': {
			const char *colon = strrchr(optarg, ':');

			if (!colon) {
				fprintf(stderr, "--listen wants ADDR:PORT\n");
				return 2;
			}
			snprintf(as.listen_addr, sizeof(as.listen_addr), "%.*s",
				 (int)(colon - optarg), optarg);
			as.listen_port = atoi(colon + 1);
			break;
		}
		case 's':
			snprintf(as.store_uri, sizeof(as.store_uri), "%s", optarg);
			break;
		case 't':
			snprintf(as.token_file, sizeof(as.token_file), "%s", optarg);
			break;
		case 'k':
			snprintf(key_file, sizeof(key_file), "%s", optarg);
			break;
		case 'S':
			if (n_sans < 16)
				sans[n_sans++] = optarg;
			break;
		case 'm':
			as.max_body = strtoull(optarg, NULL, 10);
			break;
		case 'w':
			as.watch_cache_size = strtoull(optarg, NULL, 10);
			break;
		case 'b':
			as.bookmark_ms = atoi(optarg);
			break;
		case 'D': {
			char *list = strdup(optarg), *save = NULL;

			for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
				if (!strcmp(t, "scheduler")) {
					loops[0].enabled = false;
				} else if (!strcmp(t, "controllers") ||
					   !strcmp(t, "controller-manager")) {
					loops[1].enabled = false;
				} else {
					fprintf(stderr, "--disable: unknown component '%s' "
						"(scheduler, controllers)\n", t);
					free(list);
					return 2;
				}
			}
			free(list);
			break;
		}
		case 'N':
			loops[0].enabled = false;
			break;
		case 'C':
			loops[1].enabled = false;
			break;
		case 'c':
			loops[1].copts.controllers = optarg;
			break;
		case 'P':
			loops[1].copts.cluster_cidr = optarg;
			break;
		case 'M':
			loops[1].copts.node_cidr_mask = atoi(optarg);
			break;
		case 'g':
		case 'I': {
			long ms = duration_parse_ms(optarg);

			if (ms < 0 || (c == 'g' && ms == 0)) {
				fprintf(stderr, "bad duration '%s'\n", optarg);
				return 2;
			}
			if (c == 'g')
				loops[1].copts.node_grace_ms = ms;
			else
				cp.interval_ms = ms;
			break;
		}
		case 'K':
			cp.keep = strtoll(optarg, NULL, 10);
			if (cp.keep < 0)
				cp.keep = 0;
			break;
		case 'R':
		case 'O':
			if (svcalloc_configure(c == 'R' ? optarg : NULL, c == 'O' ? optarg : NULL, &err)) {
				fprintf(stderr, "%s\n", err.msg);
				return 2;
			}
			break;
		case 'A':
			snprintf(advertise_addr, sizeof(advertise_addr), "%s", optarg);
			break;
		case 'v':
			log_level++;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!*as.store_uri)
		snprintf(as.store_uri, sizeof(as.store_uri), "sqlite:%s/state.db", as.data_dir);
	if (!*key_file)
		snprintf(key_file, sizeof(key_file), "%s/pki/encryption.key", as.data_dir);
	if (mkdir(as.data_dir, 0700) && errno != EEXIST) {
		pr_err("cannot create %s: %s", as.data_dir, strerror(errno));
		return 1;
	}
	/* Signals are handled synchronously by the main thread (sigwait);
	 * block them before any thread starts. SIGPIPE: a client that went
	 * away must not kill the server. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	snprintf(url, sizeof(url), "https://%s:%d", as.listen_addr, as.listen_port);
	if (pki_bootstrap(as.data_dir, url, sans, n_sans, &err))
		goto fail;
	snprintf(path, sizeof(path), "%s/pki/server.crt", as.data_dir);
	cert = read_file(path, &err);
	snprintf(path, sizeof(path), "%s/pki/server.key", as.data_dir);
	key = cert ? read_file(path, &err) : NULL;
	snprintf(path, sizeof(path), "%s/pki/ca.crt", as.data_dir);
	ca = key ? read_file(path, &err) : NULL;
	if (!ca)
		goto fail;
	if (store_open(as.store_uri, &as.store, &err))
		goto fail;
	if (authn_open(as.data_dir, *as.token_file ? as.token_file : NULL, &as.authn, &err))
		goto fail;
	as.rbac = rbac_new();
	if (!as.rbac) {
		gerr_set(&err, -ENOMEM, "rbac: out of memory");
		goto fail;
	}
	if (secretbox_open(key_file, &as.sb, &err))
		goto fail;
	if (bootstrap_objects(&as, &err))
		goto fail;
	if (wc_start(&as, as.watch_cache_size, &as.wc, &err))
		goto fail;
	wc_add_observer(as.wc, rbac_feed, &as);
	if (load_rbac(&as, &err) || wc_run(as.wc, &err))
		goto fail;
	if (http_start(&as, cert, key, ca, &err))
		goto fail;
	as.ready = 1;
	pr_info("serving on %s (store %s, data %s)", url, as.store_uri, as.data_dir);
	if (cp.interval_ms > 0) {
		cp.as = &as;
		if (pthread_create(&cp.thr, NULL, compact_thread, &cp) == 0)
			cp.started = true;
		else
			pr_warn("no store compaction: cannot create its thread");
	}
	/* The loops start once /readyz would answer 200: HTTPS is up. */
	if (loops_start(&as, loops, 2, &err))
		goto stop;
	sigwait(&set, &sig);
	pr_info("signal %d: shutting down", sig);
	ret = 0;
	goto stop_ok;
stop:
	pr_err("%s", err.msg);
stop_ok:
	/* Loops first, while HTTPS still serves their last requests; ending
	 * the watch cache ends their watch streams at once instead of at the
	 * next watch timeout. */
	loops_stop = 1;
	as.stopping = 1;
	wc_stop(as.wc);
	loops_join(loops, 2, 10000);
	if (cp.started)
		pthread_join(cp.thr, NULL);
	http_stop(&as);
	goto out;
fail:
	pr_err("%s", err.msg);
out:
	wc_free(as.wc);
	if (as.store)
		store_close(as.store);
	if (as.authn)
		authn_close(as.authn);
	rbac_free(as.rbac);
	if (as.sb)
		secretbox_close(as.sb);
	free(cert);
	free(key);
	free(ca);
	return ret;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* gannet-agent: one node's agent. Owns the node's dataplane (runs inside
 * the node's network namespace), serves gannet-cni over a unix socket,
 * programs the peers from its config file (SIGHUP reloads them) and exposes
 * /metrics and /healthz. With `kubeconfig:` it is also the node's kubelet
 * (kubelet.c: Node, Lease, remote nodes and pods from the API server).
 * Killing it leaves the datapath forwarding and the pods running; the next
 * start reuses the pins, reconciles and adopts the pods.
 *
 *   gannet-agent --config FILE [-v]
 *   gannet-agent --config FILE image list|import REF TARBALL|import-oci LAYOUT [REF]|rm REF
 *       (the node's local image store, <stateDir>/runtime/images)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/kubelet.h"
#include "agent/policy.h"
#include "agent/services.h"
#include "agent/runtime/runtime.h"
#include "dataplane/link.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: gannet-agent --config FILE [-v]\n"
		   "  -c, --config FILE   agent configuration (YAML, see docs/agent.md)\n"
		   "  -v, --verbose       more logging (repeat for debug)\n"
		   "  -h, --help          this text\n"
		   "       gannet-agent --config FILE image list | import REF TARBALL |\n"
		   "                    import-oci LAYOUT [REF] | rm REF\n");
}

/* ---- image store commands ------------------------------------------------ */

/* The node's image store is the one the kubelet part's runtime opens;
 * importing while the agent runs is fine (the store publishes a reference
 * only once its content is complete), and pods waiting with
 * ErrImageNeverPull start at their next sync. */
static int image_cmd(const struct agentcfg *cfg, int argc, char **argv)
{
	struct rt_images *s = NULL;
	struct gerr e = { 0 };
	char dir[300];
	int ret = -EINVAL;

	snprintf(dir, sizeof(dir), "%s/runtime/images", cfg->state_dir);
	if (rt_images_open(dir, &s, &e)) {
		fprintf(stderr, "gannet-agent: image store %s: %s\n", dir, e.msg);
		return 1;
	}
	if (argc == 1 && !strcmp(argv[0], "list")) {
		char **refs = NULL;

		ret = rt_image_list(s, &refs, &e);
		for (char **r = refs; !ret && *r; r++)
			printf("%s\n", *r);
		rt_strv_free(refs);
	} else if (argc == 3 && !strcmp(argv[0], "import")) {
		ret = rt_image_import_tar(s, argv[1], argv[2], &e);
	} else if ((argc == 2 || argc == 3) && !strcmp(argv[0], "import-oci")) {
		ret = rt_image_import_oci(s, argc == 3 ? argv[2] : NULL, argv[1], &e);
	} else if (argc == 2 && !strcmp(argv[0], "rm")) {
		ret = rt_image_remove(s, argv[1], &e);
	} else {
		usage(stderr);
		rt_images_close(s);
		return 2;
	}
	if (ret)
		fprintf(stderr, "gannet-agent: image %s: %s\n", argv[0], e.msg);
	rt_images_close(s);
	return ret ? 1 : 0;
}

/* ---- dataplane component ------------------------------------------------ */

static int dataplane_start(struct agent *a, struct gerr *err)
{
	const struct agentcfg *c = &a->cfg;
	struct dp_config dc = {
		.node_name = c->node_name,
		.pin_root = c->pin_root,
		.underlay_ifname = c->underlay_ifname,
		.node_ip = c->node_ip,
		.pod_cidr = c->pod_cidr,
		.pod_prefix_len = c->pod_prefix,
		.cluster_cidr = c->cluster_cidr,
		.cluster_prefix_len = c->cluster_prefix,
		.underlay_mode = c->underlay_mode,
	};
	int mtu, ret;

	mtu = link_mtu(c->underlay_ifname, -1, err);
	if (mtu < 0)
		return gerr_wrap(err, "underlayInterface");
	/* VXLAN over IPv4 costs 50 bytes: outer Ethernet 14 + IP 20 + UDP 8
	 * + VXLAN 8 */
	a->pod_mtu = c->mtu ? c->mtu : (unsigned)mtu - 50;
	ret = dp_open(&dc, &a->dp, err);
	if (ret)
		return ret;
	pr_info("dataplane loaded for %s on %s (pod MTU %u)", c->node_name,
		c->underlay_ifname, a->pod_mtu);
	return 0;
}

static void dataplane_stop(struct agent *a)
{
	pthread_mutex_lock(&a->dp_lock);
	if (a->dp)
		dp_close(a->dp);   /* pins and attachments stay */
	a->dp = NULL;
	pthread_mutex_unlock(&a->dp_lock);
}

/* ---- single instance per state dir ------------------------------------------ */

static int instance_fd = -1;

/* A second agent for the same node would steal the CNI socket and race the
 * first on the maps: hold an flock on <stateDir>/agent.lock for the whole
 * life of the process (the kernel drops it when the process dies, so a
 * SIGKILLed agent never blocks its successor). */
static int instance_start(struct agent *a, struct gerr *err)
{
	char path[300];
	int ret;

	if (strlen(a->cfg.state_dir) > sizeof(path) - 16)
		return gerr_set(err, -ENAMETOOLONG, "stateDir too long");
	/* creates stateDir (and parents) if needed */
	ret = ipam_store_init(&a->ipam, a->cfg.state_dir, a->cfg.pod_cidr,
			      a->cfg.pod_prefix, err);
	if (ret)
		return ret;
	snprintf(path, sizeof(path), "%s/agent.lock", a->cfg.state_dir);
	instance_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (instance_fd < 0)
		return gerr_set(err, -errno, "%s: %s", path, strerror(errno));
	if (flock(instance_fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;

		close(instance_fd);
		instance_fd = -1;
		return gerr_set(err, e == EWOULDBLOCK ? -EBUSY : -e,
				"another gannet-agent already runs with stateDir %s",
				a->cfg.state_dir);
	}
	return 0;
}

static void instance_stop(struct agent *a)
{
	(void)a;
	if (instance_fd >= 0)
		close(instance_fd);
	instance_fd = -1;
}

/* ---- IPAM, reconcile, peers, readiness -------------------------------------- */

static int ipam_start(struct agent *a, struct gerr *err)
{
	struct ipam p;
	int ret;

	ret = ipam_store_init(&a->ipam, a->cfg.state_dir, a->cfg.pod_cidr, a->cfg.pod_prefix,
			      err);
	if (ret)
		return ret;
	/* fail early on a corrupt or mismatched state file */
	ret = ipam_store_lock(&a->ipam, &p, err);
	if (ret)
		return ret;
	pr_info("IPAM: %zu addresses allocated in %s", p.n, a->cfg.state_dir);
	ipam_store_unlock(&a->ipam, &p);
	return 0;
}

static int reconcile_start(struct agent *a, struct gerr *err)
{
	/* a partial reconcile is logged, not fatal: serving CNI matters more */
	if (pods_reconcile(a, err))
		pr_warn("reconcile: %s", err->msg);
	memset(err, 0, sizeof(*err));
	return 0;
}

static int peers_start(struct agent *a, struct gerr *err)
{
	return peers_sync(a, &a->cfg, err);
}

static int ready_start(struct agent *a, struct gerr *err)
{
	(void)err;
	atomic_store(&a->ready, true);
	return 0;
}

static void ready_stop(struct agent *a)
{
	atomic_store(&a->ready, false);
}

/* Started in order, stopped in reverse. Later subsystems (API watch, runc
 * pods, services, policy) are added here. The CNI socket comes last: its
 * appearance is the agent's readiness signal. */
struct component {
	const char *name;
	int (*start)(struct agent *a, struct gerr *err);
	void (*stop)(struct agent *a);
};

static const struct component components[] = {
	{ "podcidr", kubelet_pod_cidr, NULL },   /* API mode: may wait for the CIDR */
	{ "instance", instance_start, instance_stop },
	{ "ipam", ipam_start, NULL },
	{ "dataplane", dataplane_start, dataplane_stop },
	{ "reconcile", reconcile_start, NULL },
	{ "peers", peers_start, NULL },
	/* API mode: NetworkPolicy engine; before CNI, which calls into it */
	{ "policy", policy_start, policy_stop },
	{ "metrics", metrics_start, metrics_stop },
	{ "ready", ready_start, ready_stop },
	{ "cni", cnisrv_start, cnisrv_stop },
	/* API mode: runs pods through the CNI socket, so after it */
	/* API mode: Services/Endpoints -> BPF maps, socket LB, cluster DNS */
	{ "services", services_start, services_stop },
	{ "kubelet", kubelet_start, kubelet_stop },
};
#define N_COMPONENTS ((int)(sizeof(components) / sizeof(components[0])))

/* ---- SIGHUP: reload peers ------------------------------------------------ */

static void reload(struct agent *a)
{
	struct agentcfg *n = calloc(1, sizeof(*n));
	struct gerr err = { 0 };

	if (!n)
		return;
	if (agentcfg_load(a->cfg_path, n, &err)) {
		pr_err("reload: %s (keeping the running configuration)", err.msg);
		goto out;
	}
	if (strcmp(n->node_name, a->cfg.node_name) || n->node_ip != a->cfg.node_ip ||
	    n->pod_cidr != a->cfg.pod_cidr || n->pod_prefix != a->cfg.pod_prefix ||
	    strcmp(n->underlay_ifname, a->cfg.underlay_ifname))
		pr_warn("reload: only peers are reloaded; other changes need a restart");
	if (peers_sync(a, n, &err)) {
		pr_err("reload: peers: %s", err.msg);
		goto out;
	}
	a->cfg.n_peers = n->n_peers;
	memcpy(a->cfg.peers, n->peers, sizeof(n->peers));
	pr_info("reload: %zu peers", n->n_peers);
out:
	free(n);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct agent *a;
	struct gerr err = { 0 };
	sigset_t set;
	int opt, sig, rc = 1, started = 0;

	log_set_prefix("gannet-agent");
	a = calloc(1, sizeof(*a));
	if (!a)
		return 1;
	pthread_mutex_init(&a->dp_lock, NULL);
	pthread_mutex_init(&a->pods_lock, NULL);
	while ((opt = getopt_long(argc, argv, "c:vh", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': a->cfg_path = optarg; break;
		case 'v': if (log_level < LOG_LVL_DEBUG) log_level++; break;
		case 'h': usage(stdout); free(a); return 0;
		default: usage(stderr); free(a); return 2;
		}
	}
	if (a->cfg_path && optind < argc && !strcmp(argv[optind], "image")) {
		int rc2;

		if (agentcfg_load(a->cfg_path, &a->cfg, &err)) {
			pr_err("invalid configuration: %s", err.msg);
			free(a);
			return 1;
		}
		rc2 = image_cmd(&a->cfg, argc - optind - 1, argv + optind + 1);
		free(a);
		return rc2;
	}
	if (!a->cfg_path || optind != argc) {
		usage(stderr);
		free(a);
		return 2;
	}
	if (agentcfg_load(a->cfg_path, &a->cfg, &err)) {
		pr_err("invalid configuration: %s", err.msg);
		free(a);
		return 1;
	}

	/* Signals are taken synchronously by the main thread; every thread
	 * created below inherits the mask. */
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	for (started = 0; started < N_COMPONENTS; started++) {
		const struct component *c = &components[started];

		if (c->start(a, &err)) {
			pr_err("%s: %s", c->name, err.msg);
			goto out;
		}
		pr_debug("component %s started", c->name);
	}
	pr_info("node %s ready", a->cfg.node_name);

	for (;;) {
		sig = sigwaitinfo(&set, NULL);
		if (sig < 0) {
			if (errno == EINTR)
				continue;
			pr_err("sigwaitinfo: %s", strerror(errno));
			break;
		}
		if (sig == SIGHUP) {
			reload(a);
			continue;
		}
		pr_info("signal %d, stopping (datapath keeps forwarding)", sig);
		break;
	}
	rc = 0;
out:
	atomic_store(&a->ready, false);
	while (started-- > 0)
		if (components[started].stop) {
			components[started].stop(a);
			pr_debug("component %s stopped", components[started].name);
		}
	free(a);
	return rc;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* libgannet-dataplane: loads the node's BPF skeletons with maps pinned by
 * name under <pin_root>/<node>/, attaches the underlay programs (tc ingress
 * always; XDP as a pinned bpf_link in XDP mode) and the pod program on each
 * endpoint's host veth, and programs the maps. Re-running dp_open() against
 * existing pins reuses the maps (contents kept) and atomically replaces
 * every attachment in place (same tc handle/priority, bpf_link_update for
 * XDP), so an agent restart never interrupts forwarding. */
#include "dataplane/dataplane.h"
#include "dataplane/dp_internal.h"
#include "dataplane/lb_internal.h"
#include "dataplane/pol_internal.h"

#include <dirent.h>
#include <stdarg.h>
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/sockios.h>

#include "bpf/lib/common.h"
#include "common/fileutil.h"
#include "bpf/pod.skel.h"
#include "bpf/sock.skel.h"
#include "bpf/underlay.skel.h"

/* tc filter identity for all our attachments: replacing at the same
 * handle/priority is atomic, attaching again never duplicates. */
#define DP_TC_HANDLE 0x6a7
#define DP_TC_PRIO   1

#define PIN_PROG_POD   "prog_pod"
#define PIN_PROG_POD_EG "prog_pod_egress"
#define PIN_PROG_UL_TC "prog_underlay_tc"
#define PIN_PROG_XDP   "prog_underlay_xdp"
#define PIN_XDP_LINK   "link_underlay_xdp"

struct dp_node {
	char dir[PATH_MAX];
	struct gnt_pod *pod;             /* NULL when opened from pins only */
	struct gnt_underlay *ul;
	struct gnt_sock *sock;           /* socket LB programs (services.c) */
	struct dp_lb *lb;                /* service state, lazily (services.c) */
	struct dp_pol *pol;              /* policy map fds, lazily (policy.c) */
	int pod_prog_fd;                 /* skeleton's or pinned program */
	int own_pod_prog_fd;             /* 1 if we must close pod_prog_fd */
	int pod_eg_prog_fd;              /* tc egress: policy for stack -> pod */
	int own_pod_eg_prog_fd;
	int fd_endpoints, fd_ipcache, fd_stats, fd_events;
	int own_map_fds;
	struct ring_buffer *events;      /* lazily created by dp_events_poll */
	dp_event_cb ev_cb;
	void *ev_arg;
	enum dp_underlay_mode mode;
};

/* ------------------------------------------------------------ helpers */

static int node_dir(char *buf, size_t sz, const char *pin_root, const char *node)
{
	if (!node || !*node || strchr(node, '/') || !strcmp(node, ".") || !strcmp(node, ".."))
		return -EINVAL;
	if (snprintf(buf, sz, "%s/%s", pin_root ? pin_root : DP_PIN_ROOT_DEFAULT, node) >= (int)sz)
		return -ENAMETOOLONG;
	return 0;
}

static int pin_path(char *buf, size_t sz, const char *dir, const char *name)
{
	if (snprintf(buf, sz, "%s/%s", dir, name) >= (int)sz)
		return -ENAMETOOLONG;
	return 0;
}

static uint32_t prefix_mask(uint8_t len)
{
	return len == 0 ? 0 : htonl(0xffffffffu << (32 - (len > 32 ? 32 : len)));
}

/* Our programs belong on veths and the underlay, never on a loopback
 * device: an endpoint entry with a bogus ifindex (1 is what BPF_PROG_RUN
 * tests use) must not make a re-open hijack "lo" of whatever namespace the
 * caller runs in. */
static bool ifindex_is_loopback(int ifindex)
{
	char name[IF_NAMESIZE];
	struct ifreq ifr = { 0 };
	bool lo = false;
	int fd;

	if (!if_indextoname((unsigned)ifindex, name))
		return false;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0)
		lo = ifr.ifr_flags & IFF_LOOPBACK;
	close(fd);
	return lo;
}

static int tc_attach_at(int ifindex, int prog_fd, enum bpf_tc_attach_point at)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = at);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = DP_TC_HANDLE, .priority = DP_TC_PRIO,
		    .prog_fd = prog_fd, .flags = BPF_TC_F_REPLACE);
	int ret;

	if (ifindex_is_loopback(ifindex))
		return -EINVAL;
	ret = bpf_tc_hook_create(&hook);
	if (ret && ret != -EEXIST)
		return ret;
	return bpf_tc_attach(&hook, &opts);
}

static int tc_attach_ingress(int ifindex, int prog_fd)
{
	return tc_attach_at(ifindex, prog_fd, BPF_TC_INGRESS);
}

static int tc_detach_at(int ifindex, enum bpf_tc_attach_point at)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = at);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = DP_TC_HANDLE, .priority = DP_TC_PRIO);

	return bpf_tc_detach(&hook, &opts);
}

static int tc_detach_ingress(int ifindex)
{
	return tc_detach_at(ifindex, BPF_TC_INGRESS);
}

/* A pod's host veth: the pod program at ingress, the policy check for
 * what the stack sends into the pod at egress. */
static int pod_attach(struct dp_node *dp, int ifindex)
{
	int ret = tc_attach_ingress(ifindex, dp->pod_prog_fd);

	if (!ret && dp->pod_eg_prog_fd >= 0)
		ret = tc_attach_at(ifindex, dp->pod_eg_prog_fd, BPF_TC_EGRESS);
	return ret;
}

static void pod_detach(int ifindex)
{
	tc_detach_ingress(ifindex);
	tc_detach_at(ifindex, BPF_TC_EGRESS);
}

/* Pin prog at dir/name, replacing an older pin (the old program stays
 * alive as long as a tc filter or link holds it). */
static int repin_prog(struct bpf_program *prog, const char *dir, const char *name)
{
	char path[PATH_MAX];
	int ret;

	ret = pin_path(path, sizeof(path), dir, name);
	if (ret)
		return ret;
	if (unlink(path) && errno != ENOENT)
		return -errno;
	return bpf_program__pin(prog, path);
}

static void xdp_link_detach_pinned(const char *dir)
{
	char path[PATH_MAX];
	int fd;

	if (pin_path(path, sizeof(path), dir, PIN_XDP_LINK))
		return;
	fd = bpf_obj_get(path);
	if (fd >= 0) {
		bpf_link_detach(fd);
		close(fd);
	}
	unlink(path);
}

/* XDP as a pinned bpf_link: survives the agent, is replaced atomically
 * with bpf_link_update, and refuses (EBUSY) to replace an XDP program that
 * someone else attached. */
static int xdp_attach(struct dp_node *dp, int ifindex, struct gerr *err)
{
	struct bpf_program *prog = dp->ul->progs.gnt_underlay_xdp;
	struct bpf_link_info info;
	__u32 info_len = sizeof(info);
	struct bpf_link *link;
	char path[PATH_MAX];
	int fd, ret;

	ret = pin_path(path, sizeof(path), dp->dir, PIN_XDP_LINK);
	if (ret)
		return gerr_set(err, ret, "xdp link path too long");
	fd = bpf_obj_get(path);
	if (fd >= 0) {
		memset(&info, 0, sizeof(info));
		ret = bpf_obj_get_info_by_fd(fd, &info, &info_len);
		if (!ret && (int)info.xdp.ifindex == ifindex) {
			ret = bpf_link_update(fd, bpf_program__fd(prog), NULL);
			close(fd);
			if (!ret)
				return 0;
			pr_warn("dataplane: updating pinned XDP link failed (%d), re-attaching", ret);
		} else {
			close(fd);
		}
		/* stale link (other device, or dead): drop it */
		xdp_link_detach_pinned(dp->dir);
	}
	link = bpf_program__attach_xdp(prog, ifindex);
	if (!link) {
		ret = -errno;
		return gerr_set(err, ret, "attach XDP to ifindex %d: %s%s", ifindex, strerror(-ret),
				ret == -EBUSY || ret == -EEXIST ?
				" (another XDP program is attached)" : "");
	}
	ret = bpf_link__pin(link, path);
	if (ret) {
		bpf_link__destroy(link);   /* not pinned: detaches */
		return gerr_set(err, ret, "pin XDP link %s: %s", path, strerror(-ret));
	}
	bpf_link__destroy(link);           /* pinned: stays attached */
	return 0;
}

static int map_fd_pinned(const char *dir, const char *name, struct gerr *err)
{
	char path[PATH_MAX];
	int fd, ret;

	ret = pin_path(path, sizeof(path), dir, name);
	if (ret)
		return gerr_set(err, ret, "pin path too long");
	fd = bpf_obj_get(path);
	if (fd < 0)
		return gerr_set(err, -errno, "open pinned %s: %s", path, strerror(errno));
	return fd;
}

/* libbpf messages go through our logger. bpf_tc_hook_create() on an
 * existing clsact qdisc makes the kernel print an extack warning although
 * that is our normal idempotent path: keep it at debug level. */
static int libbpf_log(enum libbpf_print_level lvl, const char *fmt, va_list ap)
{
	char buf[512];
	size_t n;

	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	if (n && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	if (lvl == LIBBPF_WARN && !strstr(buf, "Exclusivity flag on"))
		pr_warn("libbpf: %s", buf);
	else
		pr_debug("libbpf: %s", buf);
	return 0;
}

/* ------------------------------------------------------------ lifecycle */

static int ifname_mtu(const char *ifname)
{
	struct ifreq ifr = { 0 };
	int fd, mtu = 0;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (!ioctl(fd, SIOCGIFMTU, &ifr))
		mtu = ifr.ifr_mtu;
	close(fd);
	return mtu;
}

/* May the XDP program transmit NodePort frames (to a remote backend's
 * node, back to the client) itself (bpf/lib/config.h cfg_np_xdp_xmit)? A
 * NIC can, with XDP_TX out of the device they came in by (2); a veth only
 * when its peer has NAPI (GRO or an XDP program), which cannot be seen from
 * this side: veth underlays default to letting the tc program transmit
 * (0). GANNET_XDP_XMIT=0/1/2 overrides. */
static int underlay_xdp_xmit(const char *ifname)
{
	struct ethtool_drvinfo di = { .cmd = ETHTOOL_GDRVINFO };
	const char *env = getenv("GANNET_XDP_XMIT");
	struct ifreq ifr = { 0 };
	int fd, ok = 2;

	if (env && *env)
		return env[0] == '2' ? 2 : strcmp(env, "0") != 0;
	if (!ifname || !*ifname)
		return 0;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = (void *)&di;
	if (ioctl(fd, SIOCETHTOOL, &ifr) || !strcmp(di.driver, "veth"))
		ok = 0;
	close(fd);
	return ok;
}

static void set_rodata(struct gnt_pod__rodata *pr, struct gnt_underlay__rodata *ur,
		       const struct dp_config *cfg, int ul_ifindex)
{
	uint32_t cmask = prefix_mask(cfg->cluster_prefix_len);
	uint32_t pmask = prefix_mask(cfg->pod_prefix_len);
	uint16_t port = htons(cfg->vxlan_port ? cfg->vxlan_port : GNT_VXLAN_PORT_DEFAULT);

	pr->cfg_node_ip = ur->cfg_node_ip = cfg->node_ip;
	pr->cfg_underlay_ifindex = ur->cfg_underlay_ifindex = ul_ifindex;
	pr->cfg_vxlan_port = ur->cfg_vxlan_port = port;
	pr->cfg_cluster_net = ur->cfg_cluster_net = cfg->cluster_cidr & cmask;
	pr->cfg_cluster_mask = ur->cfg_cluster_mask = cmask;
	pr->cfg_pod_net = ur->cfg_pod_net = cfg->pod_cidr & pmask;
	pr->cfg_pod_mask = ur->cfg_pod_mask = pmask;
	pr->cfg_underlay_mtu = ur->cfg_underlay_mtu =
		ul_ifindex ? ifname_mtu(cfg->underlay_ifname) : 0;
	pr->cfg_xdp_redirect = ur->cfg_xdp_redirect =
		cfg->underlay_mode == DP_UNDERLAY_XDP;
	ur->cfg_np_xdp_xmit = cfg->underlay_mode == DP_UNDERLAY_XDP && ul_ifindex ?
			      underlay_xdp_xmit(cfg->underlay_ifname) : 0;
}

/* A pinned map whose shape differs from what this build declares (an
 * upgrade changed a struct or a size) cannot be reused, and libbpf would
 * fail the whole load. Unpin it so the load creates a fresh one: programs
 * still attached keep the old map until they are replaced a moment later,
 * and the agent's reconcile refills the new one. */
static void drop_incompatible_pins(struct bpf_object *obj)
{
	struct bpf_map *m;

	bpf_object__for_each_map(m, obj) {
		const char *path = bpf_map__pin_path(m);
		struct bpf_map_info info;
		__u32 len = sizeof(info);
		int fd;

		if (!path)
			continue;
		fd = bpf_obj_get(path);
		if (fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		if (!bpf_obj_get_info_by_fd(fd, &info, &len) &&
		    (info.type != bpf_map__type(m) || info.key_size != bpf_map__key_size(m) ||
		     info.value_size != bpf_map__value_size(m) ||
		     info.max_entries != bpf_map__max_entries(m) ||
		     info.map_flags != bpf_map__map_flags(m))) {
			pr_warn("dataplane: pinned map %s has another layout (old version?), "
				"replacing it; its entries are lost until the next sync", path);
			unlink(path);
		}
		close(fd);
	}
}

struct reattach_ctx {
	struct dp_node *dp;
	int failed;
};

static int reattach_cb(const struct dp_endpoint *ep, void *arg)
{
	struct reattach_ctx *c = arg;
	int ret = pod_attach(c->dp, ep->ifindex);

	if (ret) {
		/* the veth may be gone with its pod; the agent's sync will
		 * delete the endpoint, don't guess here */
		pr_warn("dataplane: re-attach to ifindex %u (%s) failed: %s",
			ep->ifindex, inet_ntoa((struct in_addr){ ep->ip }), strerror(-ret));
		c->failed++;
	}
	return 0;
}

int dp_open(const struct dp_config *cfg, struct dp_node **out, struct gerr *err)
{
	LIBBPF_OPTS(bpf_object_open_opts, oopts);
	struct dp_node *dp;
	int ul_ifindex = 0;
	int ret;

	*out = NULL;
	libbpf_set_print(libbpf_log);
	dp = calloc(1, sizeof(*dp));
	if (!dp)
		return gerr_set(err, -ENOMEM, "out of memory");
	dp->fd_endpoints = dp->fd_ipcache = dp->fd_stats = dp->fd_events = -1;
	dp->pod_prog_fd = dp->pod_eg_prog_fd = -1;

	ret = node_dir(dp->dir, sizeof(dp->dir), cfg->pin_root, cfg->node_name);
	if (ret) {
		gerr_set(err, ret, "invalid node name or pin root");
		goto fail;
	}
	ret = fu_mkdir_p(dp->dir, 0700);
	if (ret) {
		gerr_set(err, ret, "create pin dir %s: %s", dp->dir, strerror(-ret));
		goto fail;
	}
	if (cfg->underlay_ifname && *cfg->underlay_ifname) {
		ul_ifindex = if_nametoindex(cfg->underlay_ifname);
		if (!ul_ifindex) {
			ret = gerr_set(err, -errno, "underlay %s: %s", cfg->underlay_ifname,
				       strerror(errno));
			goto fail;
		}
	}

	/* Maps pin by name under the node dir; an existing pin is reused if
	 * compatible (libbpf checks type/sizes) so contents survive. */
	oopts.pin_root_path = dp->dir;
	dp->pod = gnt_pod__open_opts(&oopts);
	dp->ul = gnt_underlay__open_opts(&oopts);
	dp->sock = gnt_sock__open_opts(&oopts);
	if (!dp->pod || !dp->ul || !dp->sock) {
		ret = gerr_set(err, -errno ? -errno : -EINVAL, "open BPF skeletons");
		goto fail;
	}
	set_rodata(dp->pod->rodata, dp->ul->rodata, cfg, ul_ifindex);
	/* both objects share the pins, so both must declare the same sizes */
	if (cfg->max_endpoints) {
		bpf_map__set_max_entries(dp->pod->maps.gnt_endpoints, cfg->max_endpoints);
		bpf_map__set_max_entries(dp->ul->maps.gnt_endpoints, cfg->max_endpoints);
	}
	if (cfg->max_ipcache) {
		bpf_map__set_max_entries(dp->pod->maps.gnt_ipcache, cfg->max_ipcache);
		bpf_map__set_max_entries(dp->ul->maps.gnt_ipcache, cfg->max_ipcache);
	}
	if (cfg->max_services) {
		struct bpf_object *objs[] = { dp->pod->obj, dp->ul->obj, dp->sock->obj };

		for (size_t i = 0; i < sizeof(objs) / sizeof(objs[0]); i++) {
			bpf_map__set_max_entries(bpf_object__find_map_by_name(objs[i], "gnt_services"),
						 cfg->max_services);
			bpf_map__set_max_entries(bpf_object__find_map_by_name(objs[i], "gnt_svc_stats"),
						 cfg->max_services);
			bpf_map__set_max_entries(bpf_object__find_map_by_name(objs[i], "gnt_maglev"),
						 cfg->max_services * GNT_MAGLEV_STRIDE);
		}
	}
	drop_incompatible_pins(dp->pod->obj);
	drop_incompatible_pins(dp->ul->obj);
	drop_incompatible_pins(dp->sock->obj);
	ret = gnt_pod__load(dp->pod);
	if (!ret)
		ret = gnt_underlay__load(dp->ul);
	if (!ret)
		ret = gnt_sock__load(dp->sock);
	if (ret) {
		gerr_set(err, ret, "load BPF programs (pins in %s): %s", dp->dir, strerror(-ret));
		goto fail;
	}
	dp->pod_prog_fd = bpf_program__fd(dp->pod->progs.gnt_pod_ingress);
	dp->pod_eg_prog_fd = bpf_program__fd(dp->pod->progs.gnt_pod_egress);
	dp->fd_endpoints = bpf_map__fd(dp->pod->maps.gnt_endpoints);
	dp->fd_ipcache = bpf_map__fd(dp->pod->maps.gnt_ipcache);
	dp->fd_stats = bpf_map__fd(dp->pod->maps.gnt_stats);
	dp->fd_events = bpf_map__fd(dp->pod->maps.gnt_events);

	ret = repin_prog(dp->pod->progs.gnt_pod_ingress, dp->dir, PIN_PROG_POD);
	if (!ret)
		ret = repin_prog(dp->pod->progs.gnt_pod_egress, dp->dir, PIN_PROG_POD_EG);
	if (!ret)
		ret = repin_prog(dp->ul->progs.gnt_underlay_tc, dp->dir, PIN_PROG_UL_TC);
	if (!ret)
		ret = repin_prog(dp->ul->progs.gnt_underlay_xdp, dp->dir, PIN_PROG_XDP);
	if (!ret)
		ret = repin_prog(dp->sock->progs.gnt_sock_connect4, dp->dir, DP_PIN_SOCK_CONNECT4);
	if (!ret)
		ret = repin_prog(dp->sock->progs.gnt_sock_sendmsg4, dp->dir, DP_PIN_SOCK_SENDMSG4);
	if (!ret)
		ret = repin_prog(dp->sock->progs.gnt_sock_recvmsg4, dp->dir, DP_PIN_SOCK_RECVMSG4);
	if (!ret)
		ret = repin_prog(dp->sock->progs.gnt_sock_getpeername4, dp->dir,
				 DP_PIN_SOCK_GETPEERNAME4);
	/* links pinned by dp_sock_attach() now run the old programs: move
	 * them to the new ones in place */
	if (!ret)
		dp_lb_sock_relink(dp->dir);
	if (ret) {
		gerr_set(err, ret, "pin programs in %s: %s", dp->dir, strerror(-ret));
		goto fail;
	}

	dp->mode = cfg->underlay_mode == DP_UNDERLAY_AUTO ? DP_UNDERLAY_TC : cfg->underlay_mode;
	if (ul_ifindex) {
		/* tc ingress is always there: it decapsulates in tc mode and
		 * delivers XDP_PASSed (already decapsulated) frames in XDP
		 * mode. Attach it before XDP so no frame finds XDP without
		 * its second half. */
		ret = tc_attach_ingress(ul_ifindex, bpf_program__fd(dp->ul->progs.gnt_underlay_tc));
		if (ret) {
			gerr_set(err, ret, "attach tc ingress on %s: %s", cfg->underlay_ifname,
				 strerror(-ret));
			goto fail;
		}
		if (dp->mode == DP_UNDERLAY_XDP) {
			ret = xdp_attach(dp, ul_ifindex, err);
			if (ret)
				goto fail;
		} else {
			xdp_link_detach_pinned(dp->dir);
		}
	}

	/* Reconcile: every known endpoint gets the freshly loaded program,
	 * replaced in place. */
	{
		struct reattach_ctx rc = { .dp = dp };

		dp_endpoint_foreach(dp, reattach_cb, &rc);
		if (rc.failed)
			pr_warn("dataplane: %d endpoint(s) could not be re-attached", rc.failed);
	}
	*out = dp;
	return 0;
fail:
	dp_close(dp);
	return ret ? ret : -EINVAL;
}

int dp_open_pinned(const char *pin_root, const char *node_name, struct dp_node **out,
		   struct gerr *err)
{
	char path[PATH_MAX];
	struct dp_node *dp;
	int ret;

	*out = NULL;
	libbpf_set_print(libbpf_log);
	dp = calloc(1, sizeof(*dp));
	if (!dp)
		return gerr_set(err, -ENOMEM, "out of memory");
	dp->fd_endpoints = dp->fd_ipcache = dp->fd_stats = dp->fd_events = dp->pod_prog_fd = -1;
	dp->pod_eg_prog_fd = -1;
	dp->own_map_fds = 1;
	ret = node_dir(dp->dir, sizeof(dp->dir), pin_root, node_name);
	if (ret) {
		gerr_set(err, ret, "invalid node name or pin root");
		goto fail;
	}
	if ((ret = map_fd_pinned(dp->dir, "gnt_endpoints", err)) < 0)
		goto fail;
	dp->fd_endpoints = ret;
	if ((ret = map_fd_pinned(dp->dir, "gnt_ipcache", err)) < 0)
		goto fail;
	dp->fd_ipcache = ret;
	if ((ret = map_fd_pinned(dp->dir, "gnt_stats", err)) < 0)
		goto fail;
	dp->fd_stats = ret;
	/* optional: pins made by an older build have no event ring */
	if (!pin_path(path, sizeof(path), dp->dir, "gnt_events"))
		dp->fd_events = bpf_obj_get(path);
	/* the program is optional: only endpoint upserts need it */
	if (!pin_path(path, sizeof(path), dp->dir, PIN_PROG_POD)) {
		dp->pod_prog_fd = bpf_obj_get(path);
		dp->own_pod_prog_fd = dp->pod_prog_fd >= 0;
	}
	/* older pins have no egress program: endpoints then get none */
	if (!pin_path(path, sizeof(path), dp->dir, PIN_PROG_POD_EG)) {
		dp->pod_eg_prog_fd = bpf_obj_get(path);
		dp->own_pod_eg_prog_fd = dp->pod_eg_prog_fd >= 0;
	}
	if (!pin_path(path, sizeof(path), dp->dir, PIN_XDP_LINK) && access(path, F_OK) == 0)
		dp->mode = DP_UNDERLAY_XDP;
	else
		dp->mode = DP_UNDERLAY_TC;
	*out = dp;
	return 0;
fail:
	dp_close(dp);
	return ret;
}

struct dp_lb **dp__lb_slot(struct dp_node *dp)
{
	return &dp->lb;
}

struct dp_pol **dp__pol_slot(struct dp_node *dp)
{
	return &dp->pol;
}

const char *dp__dir(struct dp_node *dp)
{
	return dp->dir;
}

int dp__open_pins(const char *dir, const char *what, const char *const *names,
		  int *const *fds, size_t n, struct gerr *err)
{
	char path[PATH_MAX];

	for (size_t i = 0; i < n; i++)
		*fds[i] = -1;
	for (size_t i = 0; i < n; i++) {
		if (snprintf(path, sizeof(path), "%s/%s", dir, names[i]) >= (int)sizeof(path))
			return gerr_set(err, -ENAMETOOLONG, "pin path too long");
		*fds[i] = bpf_obj_get(path);
		if (*fds[i] < 0) {
			int ret = -errno;

			*fds[i] = -1;
			return gerr_set(err, ret, "open pinned %s: %s (node loaded by an older "
					"build without %s?)", path, strerror(-ret), what);
		}
	}
	return 0;
}

void dp__close_fds(int *const *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (*fds[i] >= 0)
			close(*fds[i]);
}

enum dp_underlay_mode dp_underlay_mode_get(struct dp_node *dp)
{
	return dp->mode;
}

void dp_close(struct dp_node *dp)
{
	if (!dp)
		return;
	if (dp->own_map_fds) {
		if (dp->fd_endpoints >= 0)
			close(dp->fd_endpoints);
		if (dp->fd_ipcache >= 0)
			close(dp->fd_ipcache);
		if (dp->fd_stats >= 0)
			close(dp->fd_stats);
		if (dp->fd_events >= 0)
			close(dp->fd_events);
	}
	ring_buffer__free(dp->events);
	if (dp->own_pod_prog_fd && dp->pod_prog_fd >= 0)
		close(dp->pod_prog_fd);
	if (dp->own_pod_eg_prog_fd && dp->pod_eg_prog_fd >= 0)
		close(dp->pod_eg_prog_fd);
	gnt_pod__destroy(dp->pod);
	gnt_underlay__destroy(dp->ul);
	gnt_sock__destroy(dp->sock);
	dp_lb_free(dp->lb);
	dp_pol_free(dp->pol);
	free(dp);
}

int dp_destroy(const char *pin_root, const char *node_name, const char *underlay_ifname,
	       struct gerr *err)
{
	char dir[PATH_MAX], path[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int fd, ret;

	ret = node_dir(dir, sizeof(dir), pin_root, node_name);
	if (ret)
		return gerr_set(err, ret, "invalid node name or pin root");

	/* pod programs: detach from every endpoint's veth still around */
	if (!pin_path(path, sizeof(path), dir, "gnt_endpoints") && (fd = bpf_obj_get(path)) >= 0) {
		__u32 key, next, *prev = NULL;
		struct gnt_endpoint ep;

		while (!bpf_map_get_next_key(fd, prev, &next)) {
			key = next;
			prev = &key;
			if (!bpf_map_lookup_elem(fd, &key, &ep))
				pod_detach(ep.ifindex);
		}
		close(fd);
	}
	if (underlay_ifname && *underlay_ifname) {
		int ifindex = if_nametoindex(underlay_ifname);

		if (ifindex)
			tc_detach_ingress(ifindex);
	}
	xdp_link_detach_pinned(dir);

	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : gerr_set(err, -errno, "open %s: %s", dir, strerror(errno));
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (!pin_path(path, sizeof(path), dir, de->d_name) && unlink(path) && errno != ENOENT)
			pr_warn("dataplane: unlink %s: %s", path, strerror(errno));
	}
	closedir(d);
	if (rmdir(dir) && errno != ENOENT)
		return gerr_set(err, -errno, "remove %s: %s", dir, strerror(errno));
	return 0;
}

/* ------------------------------------------------------------ endpoints */

int dp_endpoint_upsert(struct dp_node *dp, const struct dp_endpoint *ep, struct gerr *err)
{
	struct gnt_endpoint v = {
		.ifindex = ep->ifindex,
		.identity = ep->identity,
		.flags = ep->flags & DP_EP_F_XDP_REDIRECT ? GNT_EP_F_XDP_REDIRECT : 0,
	};
	struct gnt_endpoint old;
	bool existed;
	int ret;

	if (!ep->ifindex || !ep->ip)
		return gerr_set(err, -EINVAL, "endpoint needs an IP and an ifindex");
	if (dp->pod_prog_fd < 0)
		return gerr_set(err, -ENOENT, "no pod program loaded or pinned");
	memcpy(v.mac, ep->mac, 6);
	memcpy(v.host_mac, ep->host_mac, 6);
	/* enforced policy directions come from the policy map, which may
	 * have been programmed before the endpoint (policy.c) */
	v.flags |= dp_pol_ep_flags(dp, ep->ip);
	existed = !bpf_map_lookup_elem(dp->fd_endpoints, &ep->ip, &old);

	/* map first, then the program: its first packet finds the entry */
	ret = bpf_map_update_elem(dp->fd_endpoints, &ep->ip, &v, BPF_ANY);
	if (ret)
		return gerr_set(err, -errno, "endpoint map update: %s", strerror(errno));
	ret = pod_attach(dp, ep->ifindex);
	if (ret) {
		if (existed)
			bpf_map_update_elem(dp->fd_endpoints, &ep->ip, &old, BPF_ANY);
		else
			bpf_map_delete_elem(dp->fd_endpoints, &ep->ip);
		return gerr_set(err, ret, "attach pod program to ifindex %u: %s", ep->ifindex,
				strerror(-ret));
	}
	return 0;
}

int dp_endpoint_delete(struct dp_node *dp, uint32_t ip, struct gerr *err)
{
	struct gnt_endpoint v;

	if (bpf_map_lookup_elem(dp->fd_endpoints, &ip, &v))
		return gerr_set(err, -ENOENT, "no endpoint %s", inet_ntoa((struct in_addr){ ip }));
	/* the veth usually died with the pod; detach only if it is still
	 * there and still the same interface */
	pod_detach(v.ifindex);
	if (bpf_map_delete_elem(dp->fd_endpoints, &ip) && errno != ENOENT)
		return gerr_set(err, -errno, "endpoint map delete: %s", strerror(errno));
	/* its policy goes with it (nothing to do on nodes without policy) */
	dp_policy_delete(dp, ip, NULL);
	return 0;
}

int dp_endpoint_foreach(struct dp_node *dp, dp_endpoint_cb cb, void *arg)
{
	__u32 key, next, *prev = NULL;
	struct gnt_endpoint v;
	struct dp_endpoint ep;
	int ret;

	while (!bpf_map_get_next_key(dp->fd_endpoints, prev, &next)) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(dp->fd_endpoints, &key, &v))
			continue;       /* deleted meanwhile */
		memset(&ep, 0, sizeof(ep));
		ep.ip = key;
		ep.ifindex = v.ifindex;
		memcpy(ep.mac, v.mac, 6);
		memcpy(ep.host_mac, v.host_mac, 6);
		ep.identity = v.identity;
		ep.flags = v.flags & GNT_EP_F_XDP_REDIRECT ? DP_EP_F_XDP_REDIRECT : 0;
		ret = cb(&ep, arg);
		if (ret)
			return ret;
	}
	return 0;
}

/* ------------------------------------------------------------ remotes */

int dp_remote_upsert(struct dp_node *dp, const struct dp_remote *r, struct gerr *err)
{
	struct gnt_ipcache_key k = {
		.prefixlen = r->prefix_len,
		.ip = r->pod_cidr & prefix_mask(r->prefix_len),
	};
	struct gnt_ipcache_val v = { .node_ip = r->node_ip };

	if (r->prefix_len > 32 || !r->node_ip)
		return gerr_set(err, -EINVAL, "remote needs prefix_len <= 32 and a node IP");
	if (bpf_map_update_elem(dp->fd_ipcache, &k, &v, BPF_ANY))
		return gerr_set(err, -errno, "ipcache update: %s", strerror(errno));
	return 0;
}

int dp_remote_delete(struct dp_node *dp, uint32_t pod_cidr, uint8_t prefix_len, struct gerr *err)
{
	struct gnt_ipcache_key k = { .prefixlen = prefix_len, .ip = pod_cidr & prefix_mask(prefix_len) };

	if (prefix_len > 32)
		return gerr_set(err, -EINVAL, "prefix_len > 32");
	if (bpf_map_delete_elem(dp->fd_ipcache, &k))
		return gerr_set(err, -errno, "ipcache delete: %s", strerror(errno));
	return 0;
}

int dp_remote_foreach(struct dp_node *dp, dp_remote_cb cb, void *arg)
{
	struct gnt_ipcache_key key, next, *prev = NULL;
	struct gnt_ipcache_val v;
	struct dp_remote r;
	int ret;

	while (!bpf_map_get_next_key(dp->fd_ipcache, prev, &next)) {
		key = next;
		prev = &key;
		/* identity entries (dp_ipcache_set) are no remote nodes */
		if (bpf_map_lookup_elem(dp->fd_ipcache, &key, &v) || !v.node_ip ||
		    (v.flags & GNT_IPC_F_IDENTITY))
			continue;
		r.pod_cidr = key.ip;
		r.prefix_len = key.prefixlen;
		r.node_ip = v.node_ip;
		ret = cb(&r, arg);
		if (ret)
			return ret;
	}
	return 0;
}

/* ------------------------------------------------------------ stats */

int dp_stats_read(struct dp_node *dp, struct dp_stats *out, struct gerr *err)
{
	int ncpu = libbpf_num_possible_cpus();
	struct gnt_stat *vals;

	memset(out, 0, sizeof(*out));
	if (ncpu <= 0)
		return gerr_set(err, ncpu ? ncpu : -EINVAL, "cannot count CPUs");
	vals = calloc(ncpu, sizeof(*vals));
	if (!vals)
		return gerr_set(err, -ENOMEM, "out of memory");
	for (__u32 slot = 0; slot < GNT_STATS_SLOTS; slot++) {
		uint64_t pk = 0, by = 0;

		if (bpf_map_lookup_elem(dp->fd_stats, &slot, vals))
			continue;
		for (int c = 0; c < ncpu; c++) {
			pk += vals[c].packets;
			by += vals[c].bytes;
		}
		if (slot < GNT_STATS_DROP_BASE) {
			out->fwd_packets[slot] = pk;
			out->fwd_bytes[slot] = by;
		} else if (slot - GNT_STATS_DROP_BASE < DP_MAX_REASONS) {
			out->drop_packets[slot - GNT_STATS_DROP_BASE] = pk;
			out->drop_bytes[slot - GNT_STATS_DROP_BASE] = by;
		}
	}
	free(vals);
	return 0;
}

/* ------------------------------------------------------------ events */

static int event_sample(void *ctx, void *data, size_t size)
{
	static const char *hooks[] = { "?", "pod", "underlay-tc", "underlay-xdp", "pod-egress" };
	const struct gnt_event *g = data;
	struct dp_node *dp = ctx;
	struct dp_event ev;

	if (size < sizeof(*g))
		return 0;
	ev.ts_ns = g->ts_ns;
	ev.code = g->code;
	ev.ifindex = g->ifindex;
	ev.saddr = g->saddr;
	ev.daddr = g->daddr;
	ev.sport = ntohs(g->sport);
	ev.dport = ntohs(g->dport);
	ev.proto = g->proto;
	ev.hook = hooks[g->hook < 5 ? g->hook : 0];
	ev.len = g->len;
	ev.src_identity = g->src_identity;
	ev.dst_identity = g->dst_identity;
	ev.allowed = g->allowed;
	ev.dir = g->pol_dir ? g->pol_dir - 1 : -1;
	return dp->ev_cb ? dp->ev_cb(&ev, dp->ev_arg) : 0;
}

int dp_events_poll(struct dp_node *dp, int timeout_ms, dp_event_cb cb, void *arg,
		   struct gerr *err)
{
	if (dp->fd_events < 0)
		return gerr_set(err, -ENOENT, "no event ring in %s", dp->dir);
	if (!dp->events) {
		dp->events = ring_buffer__new(dp->fd_events, event_sample, dp, NULL);
		if (!dp->events)
			return gerr_set(err, -errno, "event ring: %s", strerror(errno));
	}
	dp->ev_cb = cb;
	dp->ev_arg = arg;
	return ring_buffer__poll(dp->events, timeout_ms);
}

const char *dp_fwd_name(int kind)
{
	switch (kind) {
#define X(name, val, str) case (val): return str;
	GNT_FWD_LIST(X)
#undef X
	}
	return NULL;
}

const char *dp_drop_name(int reason)
{
	if (reason > 0)
		reason = -reason;
	switch (reason) {
#define X(name, val, str) case (val): return str;
	GNT_DROP_LIST(X)
#undef X
	}
	return NULL;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* gannet-dp: inspect and drive one node's datapath through its pins
 * (libgannet-dataplane). Used by tests, the benchmark harness and for
 * debugging; `show`/`stats` accept -j for JSON.
 *
 *   gannet-dp -n NODE open --underlay IF --node-ip A --pod-cidr C/L
 *                          [--cluster-cidr C/L] [--mode auto|tc|xdp] [--vxlan-port P]
 *                          [--max-endpoints N] [--max-ipcache N]
 *   gannet-dp -n NODE ep-add --ip A --ifname IF --mac M [--host-mac M]
 *                          [--identity N] [--xdp-redirect]
 *   gannet-dp -n NODE ep-del --ip A
 *   gannet-dp -n NODE remote-add --cidr C/L --node-ip A
 *   gannet-dp -n NODE remote-del --cidr C/L
 *   gannet-dp -n NODE [-j] show | stats
 *   gannet-dp -n NODE [-j] monitor [--count N] [--timeout SEC]   drop events
 *   gannet-dp -n NODE destroy [--underlay IF]
 *   gannet-dp -n NODE svc-add --vip A --port P [--proto tcp|udp]
 *                          [--scope cluster|external] [--affinity SEC] [--local]
 *                          [--backend IP:PORT[@NODE_IP][*local]]...
 *   gannet-dp -n NODE svc-del --vip A --port P [--proto tcp|udp] [--scope ...]
 *   gannet-dp -n NODE [-j] svc           services, backends, counters from the maps
 *   gannet-dp -n NODE svc-metrics        the same counters as Prometheus text
 *   gannet-dp -n NODE sock-attach --cgroup DIR | sock-detach
 *   gannet-dp -n NODE policy-set --ip A --dir ingress|egress
 *                          [--allow ID[/tcp|udp|sctp|any|N[/PORT[-HI]]]]... [--unenforced]
 *                          (no --allow: deny all)
 *   gannet-dp -n NODE policy-del --ip A
 *   gannet-dp -n NODE [-j] policy --ip A     both directions as programmed
 *   gannet-dp -n NODE ipcache-set --cidr C/L --identity N [--node-ip A]
 *   gannet-dp -n NODE ipcache-del --cidr C/L
 *   gannet-dp -n NODE [-j] ipcache
 *   gannet-dp -n NODE allow-events --events on|off
 * Global: -r PIN_ROOT (default /sys/fs/bpf/gannet), -v verbose. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "dataplane/dataplane.h"
#include "dataplane/svcjson.h"

struct opts {
	const char *node, *pin_root, *underlay, *ifname;
	uint32_t node_ip, ip, cidr, cluster;
	uint8_t cidr_len, cluster_len;
	uint8_t mac[6], host_mac[6];
	int have_mac, have_host_mac, have_cidr, json, xdp_redirect;
	uint32_t identity;
	long count, timeout;
	uint32_t max_endpoints, max_ipcache;
	uint16_t vxlan_port;
	enum dp_underlay_mode mode;
	/* services */
	struct dp_service svc;
	struct dp_backend backends[256];
	size_t n_backends;
	const char *cgroup;
	/* policy */
	int dir, have_dir, unenforced, events;
	struct dp_pol_entry allow[1024];
	size_t n_allow;
};

/* ------------------------------------------------------------ parsing */

static int parse_ip(const char *s, uint32_t *out)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		return -EINVAL;
	*out = a.s_addr;
	return 0;
}

static int parse_cidr(const char *s, uint32_t *ip, uint8_t *len)
{
	char buf[64], *slash;
	long l;

	snprintf(buf, sizeof(buf), "%s", s);
	slash = strchr(buf, '/');
	if (!slash)
		return -EINVAL;
	*slash = '\0';
	l = strtol(slash + 1, NULL, 10);
	if (l < 0 || l > 32)
		return -EINVAL;
	*len = (uint8_t)l;
	return parse_ip(buf, ip);
}

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned int b[6];

	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	return 0;
}

static int ifname_mac(const char *ifname, uint8_t mac[6])
{
	struct ifreq ifr = { 0 };
	int fd, ret = 0;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr))
		ret = -errno;
	else
		memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	close(fd);
	return ret;
}

static const char *ipstr(uint32_t ip, char *buf)
{
	return inet_ntop(AF_INET, &ip, buf, INET_ADDRSTRLEN);
}

static const char *macstr(const uint8_t m[6], char *buf)
{
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
	return buf;
}

/* ------------------------------------------------------------ commands */

static int cmd_open(struct opts *o, struct gerr *err)
{
	struct dp_config cfg = {
		.node_name = o->node, .pin_root = o->pin_root, .underlay_ifname = o->underlay,
		.node_ip = o->node_ip, .pod_cidr = o->cidr, .pod_prefix_len = o->cidr_len,
		.cluster_cidr = o->cluster, .cluster_prefix_len = o->cluster_len,
		.vxlan_port = o->vxlan_port, .underlay_mode = o->mode,
		.max_endpoints = o->max_endpoints, .max_ipcache = o->max_ipcache,
	};
	struct dp_node *dp;
	int ret;

	if (!o->node_ip || !o->have_cidr)
		return gerr_set(err, -EINVAL, "open needs --node-ip and --pod-cidr");
	ret = dp_open(&cfg, &dp, err);
	if (ret)
		return ret;
	printf("node %s: datapath loaded, underlay mode %s\n", o->node,
	       dp_underlay_mode_get(dp) == DP_UNDERLAY_XDP ? "xdp" : "tc");
	dp_close(dp);
	return 0;
}

static int with_pins(struct opts *o, struct dp_node **dp, struct gerr *err)
{
	return dp_open_pinned(o->pin_root, o->node, dp, err);
}

static int cmd_ep_add(struct opts *o, struct gerr *err)
{
	struct dp_endpoint ep = { .ip = o->ip, .identity = o->identity };
	struct dp_node *dp;
	int ret;

	if (!o->ip || !o->ifname || !o->have_mac)
		return gerr_set(err, -EINVAL, "ep-add needs --ip, --ifname and --mac");
	ep.ifindex = if_nametoindex(o->ifname);
	if (!ep.ifindex)
		return gerr_set(err, -errno, "%s: %s", o->ifname, strerror(errno));
	memcpy(ep.mac, o->mac, 6);
	if (o->have_host_mac)
		memcpy(ep.host_mac, o->host_mac, 6);
	else if ((ret = ifname_mac(o->ifname, ep.host_mac)))
		return gerr_set(err, ret, "MAC of %s: %s", o->ifname, strerror(-ret));
	if (o->xdp_redirect)
		ep.flags |= DP_EP_F_XDP_REDIRECT;
	ret = with_pins(o, &dp, err);
	if (ret)
		return ret;
	ret = dp_endpoint_upsert(dp, &ep, err);
	dp_close(dp);
	return ret;
}

static int cmd_ep_del(struct opts *o, struct gerr *err)
{
	struct dp_node *dp;
	int ret;

	if (!o->ip)
		return gerr_set(err, -EINVAL, "ep-del needs --ip");
	ret = with_pins(o, &dp, err);
	if (ret)
		return ret;
	ret = dp_endpoint_delete(dp, o->ip, err);
	dp_close(dp);
	return ret;
}

static int cmd_remote_add(struct opts *o, struct gerr *err)
{
	struct dp_remote r = { .pod_cidr = o->cidr, .prefix_len = o->cidr_len, .node_ip = o->node_ip };
	struct dp_node *dp;
	int ret;

	if (!o->have_cidr || !o->node_ip)
		return gerr_set(err, -EINVAL, "remote-add needs --cidr and --node-ip");
	ret = with_pins(o, &dp, err);
	if (ret)
		return ret;
	ret = dp_remote_upsert(dp, &r, err);
	dp_close(dp);
	return ret;
}

static int cmd_remote_del(struct opts *o, struct gerr *err)
{
	struct dp_node *dp;
	int ret;

	if (!o->have_cidr)
		return gerr_set(err, -EINVAL, "remote-del needs --cidr");
	ret = with_pins(o, &dp, err);
	if (ret)
		return ret;
	ret = dp_remote_delete(dp, o->cidr, o->cidr_len, err);
	dp_close(dp);
	return ret;
}

static int ep_json_cb(const struct dp_endpoint *ep, void *arg)
{
	char ip[INET_ADDRSTRLEN], m1[18], m2[18];

	json_array_append_new(arg, json_pack("{s:s, s:i, s:s, s:s, s:i, s:b}",
		"ip", ipstr(ep->ip, ip), "ifindex", (int)ep->ifindex, "mac", macstr(ep->mac, m1),
		"host_mac", macstr(ep->host_mac, m2), "identity", (int)ep->identity,
		"xdp_redirect", !!(ep->flags & DP_EP_F_XDP_REDIRECT)));
	return 0;
}

static int remote_json_cb(const struct dp_remote *r, void *arg)
{
	char ip[INET_ADDRSTRLEN], nip[INET_ADDRSTRLEN], cidr[32];

	snprintf(cidr, sizeof(cidr), "%s/%u", ipstr(r->pod_cidr, ip), r->prefix_len);
	json_array_append_new(arg, json_pack("{s:s, s:s}", "cidr", cidr,
					     "node_ip", ipstr(r->node_ip, nip)));
	return 0;
}

static json_t *stats_json(const struct dp_stats *st)
{
	json_t *fwd = json_object(), *drop = json_object();

	for (int i = 0; i < DP_MAX_REASONS; i++) {
		if (dp_fwd_name(i))
			json_object_set_new(fwd, dp_fwd_name(i), json_pack("{s:I, s:I}",
				"packets", (json_int_t)st->fwd_packets[i],
				"bytes", (json_int_t)st->fwd_bytes[i]));
		if (dp_drop_name(-i))
			json_object_set_new(drop, dp_drop_name(-i), json_pack("{s:I, s:I, s:i}",
				"packets", (json_int_t)st->drop_packets[i],
				"bytes", (json_int_t)st->drop_bytes[i], "code", -i));
	}
	return json_pack("{s:o, s:o}", "forward", fwd, "drop", drop);
}

static void stats_print(const struct dp_stats *st)
{
	printf("%-24s %14s %16s\n", "counter", "packets", "bytes");
	for (int i = 0; i < DP_MAX_REASONS; i++)
		if (dp_fwd_name(i))
			printf("fwd  %-19s %14llu %16llu\n", dp_fwd_name(i),
			       (unsigned long long)st->fwd_packets[i],
			       (unsigned long long)st->fwd_bytes[i]);
	for (int i = 0; i < DP_MAX_REASONS; i++)
		if (dp_drop_name(-i))
			printf("drop %-19s %14llu %16llu\n", dp_drop_name(-i),
			       (unsigned long long)st->drop_packets[i],
			       (unsigned long long)st->drop_bytes[i]);
}

static int cmd_show(struct opts *o, int only_stats, struct gerr *err)
{
	json_t *eps = json_array(), *rems = json_array(), *root;
	struct dp_stats st;
	struct dp_node *dp;
	size_t i;
	json_t *v;
	int ret;

	ret = with_pins(o, &dp, err);
	if (ret)
		goto out;
	dp_endpoint_foreach(dp, ep_json_cb, eps);
	dp_remote_foreach(dp, remote_json_cb, rems);
	ret = dp_stats_read(dp, &st, err);
	if (ret)
		goto out;
	if (o->json) {
		root = only_stats ? stats_json(&st) :
			json_pack("{s:s, s:s, s:O, s:O, s:o}", "node", o->node, "underlay_mode",
				  dp_underlay_mode_get(dp) == DP_UNDERLAY_XDP ? "xdp" : "tc",
				  "endpoints", eps, "remotes", rems, "stats", stats_json(&st));
		json_dumpf(root, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		putchar('\n');
		json_decref(root);
		goto out;
	}
	if (!only_stats) {
		printf("node %s (underlay %s)\nendpoints:\n", o->node,
		       dp_underlay_mode_get(dp) == DP_UNDERLAY_XDP ? "xdp" : "tc");
		json_array_foreach(eps, i, v)
			printf("  %-15s ifindex %-5lld mac %s host %s identity %lld\n",
			       json_string_value(json_object_get(v, "ip")),
			       json_integer_value(json_object_get(v, "ifindex")),
			       json_string_value(json_object_get(v, "mac")),
			       json_string_value(json_object_get(v, "host_mac")),
			       json_integer_value(json_object_get(v, "identity")));
		printf("remotes:\n");
		json_array_foreach(rems, i, v)
			printf("  %-18s via %s\n", json_string_value(json_object_get(v, "cidr")),
			       json_string_value(json_object_get(v, "node_ip")));
	}
	stats_print(&st);
out:
	json_decref(eps);
	json_decref(rems);
	dp_close(dp);
	return ret;
}

struct mon {
	struct opts *o;
	long seen;
};

static int monitor_cb(const struct dp_event *ev, void *arg)
{
	struct mon *m = arg;
	char s[INET_ADDRSTRLEN], d[INET_ADDRSTRLEN];
	const char *reason = dp_drop_name(ev->code);

	if (m->o->count && m->seen >= m->o->count)
		return 0;
	m->seen++;
	if (ev->allowed)
		reason = "policy-allowed";
	if (m->o->json) {
		json_t *j = json_pack("{s:I, s:s, s:i, s:s, s:i, s:s, s:s, s:i, s:i, s:i, s:i}",
			"ts_ns", (json_int_t)ev->ts_ns, "reason", reason ? reason : "?",
			"code", ev->code, "hook", ev->hook, "ifindex", (int)ev->ifindex,
			"saddr", ipstr(ev->saddr, s), "daddr", ipstr(ev->daddr, d),
			"proto", ev->proto, "sport", ev->sport, "dport", ev->dport,
			"len", (int)ev->len);

		if (ev->dir >= 0) {
			json_object_set_new(j, "direction",
					    json_string(ev->dir == DP_POL_INGRESS ? "ingress" : "egress"));
			json_object_set_new(j, "src_identity", json_integer(ev->src_identity));
			json_object_set_new(j, "dst_identity", json_integer(ev->dst_identity));
			json_object_set_new(j, "verdict",
					    json_string(ev->allowed ? "allowed" : "dropped"));
		}

		json_dumpf(j, stdout, JSON_COMPACT);
		putchar('\n');
		json_decref(j);
	} else {
		printf("%s %-20s %-12s if %-4u proto %-3u %s:%u -> %s:%u len %u",
		       ev->allowed ? "allow" : "drop", reason ? reason : "?", ev->hook, ev->ifindex,
		       ev->proto, ipstr(ev->saddr, s), ev->sport, ipstr(ev->daddr, d), ev->dport,
		       ev->len);
		if (ev->dir >= 0)
			printf(" identity %u -> %u", ev->src_identity, ev->dst_identity);
		putchar('\n');
	}
	fflush(stdout);
	return 0;
}

static int cmd_monitor(struct opts *o, struct gerr *err)
{
	struct mon m = { .o = o };
	struct dp_node *dp;
	struct timespec t0, t;
	int ret;

	ret = with_pins(o, &dp, err);
	if (ret)
		return ret;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		ret = dp_events_poll(dp, 200, monitor_cb, &m, err);
		if (ret < 0 && ret != -EINTR)
			break;
		ret = 0;
		if (o->count && m.seen >= o->count)
			break;
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (o->timeout && t.tv_sec - t0.tv_sec >= o->timeout)
			break;
	}
	dp_close(dp);
	return ret;
}

/* ------------------------------------------------------------ services */

/* IP:PORT[@NODE_IP][*local] */
static int parse_backend(const char *s, struct dp_backend *b)
{
	char buf[96], *port, *node, *loc;

	memset(b, 0, sizeof(*b));
	snprintf(buf, sizeof(buf), "%s", s);
	loc = strchr(buf, '*');
	if (loc) {
		if (strcmp(loc, "*local"))
			return -EINVAL;
		*loc = '\0';
		b->local = true;
	}
	node = strchr(buf, '@');
	if (node) {
		*node++ = '\0';
		if (parse_ip(node, &b->node_ip))
			return -EINVAL;
	}
	port = strchr(buf, ':');
	if (!port)
		return -EINVAL;
	*port++ = '\0';
	b->port = (uint16_t)strtoul(port, NULL, 10);
	if (!b->port)
		return -EINVAL;
	return parse_ip(buf, &b->ip);
}

static const char *proto_name(uint8_t p)
{
	return p == 6 ? "tcp" : p == 17 ? "udp" : "?";
}

static int cmd_svc_add(struct opts *o, struct gerr *err)
{
	struct dp_node *dp;
	int ret;

	ret = with_pins(o, &dp, err);
	if (ret)
		return ret;
	ret = dp_service_upsert(dp, &o->svc, o->backends, o->n_backends, err);
	if (!ret)
		printf("service id %u: %zu backend(s)\n", o->svc.id, o->n_backends);
	dp_close(dp);
	return ret;
}

static int cmd_svc_del(struct opts *o, struct gerr *err)
{
	struct dp_node *dp;
	int ret;

	ret = with_pins(o, &dp, err);
	if (ret)
		return ret;
	ret = dp_service_delete(dp, &o->svc, err);
	dp_close(dp);
	return ret;
}

static int svc_print_cb(const struct dp_service *svc, const struct dp_backend *be,
			const uint32_t *slots, size_t n, const struct dp_service_stats *st,
			void *arg)
{
	json_t *arr = arg;
	char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];

	if (arr) {
		json_t *o = dp_service_json(svc, be, slots, n, st);

		if (!o)
			return -ENOMEM;
		json_object_set_new(o, "protocol", json_string(proto_name(svc->proto)));
		json_array_append_new(arr, o);
		return 0;
	}
	printf("svc %u %s:%u/%s %s%s%s packets %llu bytes %llu\n", svc->id, ipstr(svc->vip, a),
	       svc->port, proto_name(svc->proto), svc->scope ? "external" : "cluster",
	       svc->flags & DP_SVC_F_AFFINITY ? " affinity=ClientIP" : "",
	       svc->flags & DP_SVC_F_LOCAL_ONLY ? " etp=Local" : "",
	       (unsigned long long)st->packets, (unsigned long long)st->bytes);
	if (!n)
		printf("  (no backends: connections refused)\n");
	for (size_t i = 0; i < n; i++)
		printf("  -> %s:%u%s%s%s slots %u/%u\n", ipstr(be[i].ip, a), be[i].port,
		       be[i].node_ip ? " node " : "", be[i].node_ip ? ipstr(be[i].node_ip, b) : "",
		       be[i].local ? " local" : "", slots[i], dp_maglev_size());
	return 0;
}

static int cmd_svc(struct opts *o, struct gerr *err)
{
	json_t *arr = o->json ? json_array() : NULL;
	struct dp_node *dp;
	int ret;

	ret = with_pins(o, &dp, err);
	if (ret) {
		json_decref(arr);
		return ret;
	}
	ret = dp_service_foreach(dp, svc_print_cb, arr, err);
	if (!ret && arr) {
		json_dumpf(arr, stdout, JSON_INDENT(2));
		printf("\n");
	}
	json_decref(arr);
	dp_close(dp);
	return ret;
}

static int cmd_svc_metrics(struct opts *o, struct gerr *err)
{
	struct dp_node *dp;
	size_t len;
	char *txt;
	int ret;

	ret = with_pins(o, &dp, err);
	if (ret)
		return ret;
	ret = dp_service_metrics(dp, &txt, &len, err);
	if (!ret) {
		fwrite(txt, 1, len, stdout);
		free(txt);
	}
	dp_close(dp);
	return ret;
}

static int cmd_sock_attach(struct opts *o, struct gerr *err)
{
	struct dp_node *dp;
	int ret;

	if (!o->cgroup)
		return gerr_set(err, -EINVAL, "sock-attach needs --cgroup DIR");
	ret = with_pins(o, &dp, err);
	if (ret)
		return ret;
	ret = dp_sock_attach(dp, o->cgroup, err);
	dp_close(dp);
	return ret;
}

static int cmd_sock_detach(struct opts *o, struct gerr *err)
{
	struct dp_node *dp;
	int ret;

	ret = with_pins(o, &dp, err);
	if (ret)
		return ret;
	ret = dp_sock_detach(dp, err);
	dp_close(dp);
	return ret;
}

/* ------------------------------------------------------------ policy */

static int parse_proto(const char *s, uint8_t *proto)
{
	char *end;
	unsigned long v;

	if (!strcmp(s, "tcp")) *proto = 6;
	else if (!strcmp(s, "udp")) *proto = 17;
	else if (!strcmp(s, "sctp")) *proto = 132;
	else if (!strcmp(s, "any")) *proto = 0;
	else {
		v = strtoul(s, &end, 10);
		if (*end || v > 254)
			return -EINVAL;
		*proto = (uint8_t)v;
	}
	return 0;
}

static const char *pol_proto_name(uint8_t p, char *buf)
{
	switch (p) {
	case 0: return "any";
	case 6: return "tcp";
	case 17: return "udp";
	case 132: return "sctp";
	}
	snprintf(buf, 8, "%u", p);
	return buf;
}

/* ID[/PROTO[/PORT[-HI]]] */
static int parse_allow(const char *s, struct dp_pol_entry *e)
{
	char buf[64], *proto, *port, *hi, *end;
	unsigned long v;

	memset(e, 0, sizeof(*e));
	snprintf(buf, sizeof(buf), "%s", s);
	proto = strchr(buf, '/');
	if (proto)
		*proto++ = '\0';
	if (!strcmp(buf, "any"))
		v = 0;
	else if (!strcmp(buf, "host"))
		v = DP_ID_HOST;
	else if (!strcmp(buf, "world"))
		v = DP_ID_WORLD;
	else {
		v = strtoul(buf, &end, 0);
		if (*end || v > 0xffffff)
			return -EINVAL;
	}
	e->identity = (uint32_t)v;
	if (!proto)
		return 0;
	port = strchr(proto, '/');
	if (port)
		*port++ = '\0';
	if (parse_proto(proto, &e->proto))
		return -EINVAL;
	if (!port)
		return 0;
	if (!e->proto)
		return -EINVAL;
	hi = strchr(port, '-');
	if (hi)
		*hi++ = '\0';
	v = strtoul(port, &end, 10);
	if (*end || !v || v > 65535)
		return -EINVAL;
	e->port_lo = e->port_hi = (uint16_t)v;
	if (hi) {
		v = strtoul(hi, &end, 10);
		if (*end || v < e->port_lo || v > 65535)
			return -EINVAL;
		e->port_hi = (uint16_t)v;
	}
	return 0;
}

static int cmd_policy_set(struct opts *o, struct gerr *err)
{
	struct dp_node *dp;
	int ret;

	if (!o->ip || !o->have_dir)
		return gerr_set(err, -EINVAL, "policy-set needs --ip and --dir");
	ret = with_pins(o, &dp, err);
	if (ret)
		return ret;
	ret = dp_policy_set(dp, o->ip, o->dir, !o->unenforced, o->allow, o->n_allow, err);
	dp_close(dp);
	return ret;
}

static int cmd_policy_del(struct opts *o, struct gerr *err)
{
	struct dp_node *dp;
	int ret;

	if (!o->ip)
		return gerr_set(err, -EINVAL, "policy-del needs --ip");
	ret = with_pins(o, &dp, err);
	if (ret)
		return ret;
	ret = dp_policy_delete(dp, o->ip, err);
	dp_close(dp);
	return ret;
}

static int cmd_policy(struct opts *o, struct gerr *err)
{
	static const char *dirs[] = { "ingress", "egress" };
	json_t *root = json_object();
	struct dp_node *dp;
	char ip[INET_ADDRSTRLEN], pb[8];
	int ret;

	if (!o->ip)
		return gerr_set(err, -EINVAL, "policy needs --ip");
	ret = with_pins(o, &dp, err);
	if (ret)
		goto out;
	json_object_set_new(root, "ip", json_string(ipstr(o->ip, ip)));
	for (int d = DP_POL_INGRESS; d <= DP_POL_EGRESS; d++) {
		struct dp_pol_entry *e = NULL;
		json_t *ents = json_array();
		bool enf = false;
		size_t n = 0;

		ret = dp_policy_get(dp, o->ip, d, &enf, &e, &n, err);
		if (ret) {
			json_decref(ents);
			goto out;
		}
		for (size_t i = 0; i < n; i++)
			json_array_append_new(ents, json_pack("{s:i, s:s, s:i, s:i}",
				"identity", (int)e[i].identity,
				"protocol", pol_proto_name(e[i].proto, pb),
				"port", e[i].port_lo, "endPort", e[i].port_hi));
		free(e);
		json_object_set_new(root, dirs[d], json_pack("{s:b, s:o}", "enforced", enf,
							     "allow", ents));
	}
	if (o->json) {
		json_dumpf(root, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		putchar('\n');
		goto out;
	}
	for (int d = DP_POL_INGRESS; d <= DP_POL_EGRESS; d++) {
		json_t *dj = json_object_get(root, dirs[d]), *a = json_object_get(dj, "allow"), *v;
		size_t i;

		if (!json_is_true(json_object_get(dj, "enforced"))) {
			printf("%s %s: not enforced\n", ip, dirs[d]);
			continue;
		}
		printf("%s %s: enforced, %zu allow entr%s%s\n", ip, dirs[d], json_array_size(a),
		       json_array_size(a) == 1 ? "y" : "ies", json_array_size(a) ? "" : " (deny all)");
		json_array_foreach(a, i, v) {
			long long id = json_integer_value(json_object_get(v, "identity"));
			long long lo = json_integer_value(json_object_get(v, "port"));
			long long hi = json_integer_value(json_object_get(v, "endPort"));

			printf("  from/to %s%lld %s", id ? "" : "any ", id,
			       json_string_value(json_object_get(v, "protocol")));
			if (!lo)
				printf(" all ports\n");
			else if (lo == hi)
				printf(" port %lld\n", lo);
			else
				printf(" ports %lld-%lld\n", lo, hi);
		}
	}
out:
	json_decref(root);
	dp_close(dp);
	return ret;
}

static int cmd_ipcache_set(struct opts *o, struct gerr *err)
{
	struct dp_node *dp;
	int ret;

	if (!o->have_cidr || !o->identity)
		return gerr_set(err, -EINVAL, "ipcache-set needs --cidr and --identity");
	ret = with_pins(o, &dp, err);
	if (ret)
		return ret;
	ret = dp_ipcache_set(dp, o->cidr, o->cidr_len, o->identity, o->node_ip, err);
	dp_close(dp);
	return ret;
}

static int cmd_ipcache_del(struct opts *o, struct gerr *err)
{
	struct dp_node *dp;
	int ret;

	if (!o->have_cidr)
		return gerr_set(err, -EINVAL, "ipcache-del needs --cidr");
	ret = with_pins(o, &dp, err);
	if (ret)
		return ret;
	ret = dp_ipcache_delete(dp, o->cidr, o->cidr_len, err);
	dp_close(dp);
	return ret;
}

static int ipc_cb(const struct dp_ipcache_entry *e, void *arg)
{
	char ip[INET_ADDRSTRLEN], nip[INET_ADDRSTRLEN], cidr[32];

	snprintf(cidr, sizeof(cidr), "%s/%u", ipstr(e->prefix, ip), e->prefix_len);
	json_array_append_new(arg, json_pack("{s:s, s:i, s:s, s:b}", "cidr", cidr,
		"identity", (int)e->identity, "node_ip", e->node_ip ? ipstr(e->node_ip, nip) : "",
		"remote", e->remote));
	return 0;
}

static int cmd_ipcache(struct opts *o, struct gerr *err)
{
	json_t *a = json_array(), *v;
	struct dp_node *dp;
	size_t i;
	int ret;

	ret = with_pins(o, &dp, err);
	if (ret)
		goto out;
	ret = dp_ipcache_foreach(dp, ipc_cb, a, err);
	if (ret)
		goto out;
	if (o->json) {
		json_dumpf(a, stdout, JSON_INDENT(2));
		putchar('\n');
		goto out;
	}
	json_array_foreach(a, i, v)
		printf("%-18s identity %-8lld %s%s\n", json_string_value(json_object_get(v, "cidr")),
		       json_integer_value(json_object_get(v, "identity")),
		       *json_string_value(json_object_get(v, "node_ip")) ? "via " : "",
		       json_string_value(json_object_get(v, "node_ip")));
out:
	json_decref(a);
	dp_close(dp);
	return ret;
}

static int cmd_allow_events(struct opts *o, struct gerr *err)
{
	struct dp_node *dp;
	int ret;

	if (o->events < 0)
		return gerr_set(err, -EINVAL, "allow-events needs --events on|off");
	ret = with_pins(o, &dp, err);
	if (ret)
		return ret;
	ret = dp_policy_set_allow_events(dp, o->events, err);
	dp_close(dp);
	return ret;
}

/* ------------------------------------------------------------ main */

static const struct command {
	const char *name;
	int (*fn)(struct opts *o, struct gerr *err);
} commands[] = {
	{ "open", cmd_open },
	{ "ep-add", cmd_ep_add },
	{ "ep-del", cmd_ep_del },
	{ "remote-add", cmd_remote_add },
	{ "remote-del", cmd_remote_del },
	{ "monitor", cmd_monitor },
	{ "svc", cmd_svc },
	{ "svc-add", cmd_svc_add },
	{ "svc-del", cmd_svc_del },
	{ "svc-metrics", cmd_svc_metrics },
	{ "sock-attach", cmd_sock_attach },
	{ "sock-detach", cmd_sock_detach },
	{ "policy-set", cmd_policy_set },
	{ "policy-del", cmd_policy_del },
	{ "policy", cmd_policy },
	{ "ipcache-set", cmd_ipcache_set },
	{ "ipcache-del", cmd_ipcache_del },
	{ "ipcache", cmd_ipcache },
	{ "allow-events", cmd_allow_events },
};

static void usage(void)
{
	fprintf(stderr,
		"usage: gannet-dp [-r PIN_ROOT] -n NODE [-j] [-v] COMMAND [options]\n"
		"commands: open, ep-add, ep-del, remote-add, remote-del, show, stats, monitor,\n"
		"          destroy, svc, svc-add, svc-del, svc-metrics, sock-attach, sock-detach,\n"
		"          policy-set, policy-del, policy, ipcache-set, ipcache-del, ipcache,\n"
		"          allow-events\n"
		"options: --underlay IF --node-ip A --pod-cidr C/L --cluster-cidr C/L\n"
		"         --mode auto|tc|xdp --vxlan-port P --ip A --ifname IF --mac M\n"
		"         --host-mac M --identity N --xdp-redirect --cidr C/L\n"
		"         --max-endpoints N --max-ipcache N (open)\n"
		"         --count N --timeout SEC (monitor)\n"
		"         --vip A --port P --proto tcp|udp --scope cluster|external\n"
		"         --affinity SEC --local --backend IP:PORT[@NODE_IP][*local] (svc-*)\n"
		"         --cgroup DIR (sock-attach)\n"
		"         --dir ingress|egress --allow ID[/PROTO[/PORT[-HI]]] --unenforced\n"
		"         (policy-set; ID any|host|world|N) --events on|off (allow-events)\n");
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "node", required_argument, NULL, 'n' },
		{ "pin-root", required_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },
		{ "underlay", required_argument, NULL, 'u' },
		{ "node-ip", required_argument, NULL, 'N' },
		{ "pod-cidr", required_argument, NULL, 'p' },
		{ "cidr", required_argument, NULL, 'p' },
		{ "cluster-cidr", required_argument, NULL, 'c' },
		{ "mode", required_argument, NULL, 'm' },
		{ "vxlan-port", required_argument, NULL, 'P' },
		{ "ip", required_argument, NULL, 'i' },
		{ "ifname", required_argument, NULL, 'I' },
		{ "mac", required_argument, NULL, 'M' },
		{ "host-mac", required_argument, NULL, 'H' },
		{ "identity", required_argument, NULL, 'd' },
		{ "xdp-redirect", no_argument, NULL, 'x' },
		{ "count", required_argument, NULL, 'C' },
		{ "max-endpoints", required_argument, NULL, 'E' },
		{ "max-ipcache", required_argument, NULL, 'L' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "vip", required_argument, NULL, 'V' },
		{ "port", required_argument, NULL, 'o' },
		{ "proto", required_argument, NULL, 'R' },
		{ "scope", required_argument, NULL, 'S' },
		{ "affinity", required_argument, NULL, 'A' },
		{ "local", no_argument, NULL, 'l' },
		{ "backend", required_argument, NULL, 'B' },
		{ "cgroup", required_argument, NULL, 'G' },
		{ "dir", required_argument, NULL, 'D' },
		{ "allow", required_argument, NULL, 'W' },
		{ "unenforced", no_argument, NULL, 'U' },
		{ "events", required_argument, NULL, 'Y' },
		{ 0 },
	};
	struct opts o = { .events = -1 };
	struct gerr err = { 0 };
	const char *cmd;
	int c, ret = -EINVAL;

	log_set_prefix("gannet-dp");
	/* GNU getopt permutes: the command word may sit anywhere */
	while ((c = getopt_long(argc, argv, "n:r:jv", lopts, NULL)) != -1) {
		int bad = 0;

		switch (c) {
		case 'n': o.node = optarg; break;
		case 'r': o.pin_root = optarg; break;
		case 'j': o.json = 1; break;
		case 'v': log_level = LOG_LVL_DEBUG; break;
		case 'u': o.underlay = optarg; break;
		case 'N': bad = parse_ip(optarg, &o.node_ip); break;
		case 'p': bad = parse_cidr(optarg, &o.cidr, &o.cidr_len); o.have_cidr = !bad; break;
		case 'c': bad = parse_cidr(optarg, &o.cluster, &o.cluster_len); break;
		case 'm':
			if (!strcmp(optarg, "xdp")) o.mode = DP_UNDERLAY_XDP;
			else if (!strcmp(optarg, "tc")) o.mode = DP_UNDERLAY_TC;
			else if (!strcmp(optarg, "auto")) o.mode = DP_UNDERLAY_AUTO;
			else bad = 1;
			break;
		case 'P': o.vxlan_port = (uint16_t)atoi(optarg); break;
		case 'i': bad = parse_ip(optarg, &o.ip); break;
		case 'I': o.ifname = optarg; break;
		case 'M': bad = parse_mac(optarg, o.mac); o.have_mac = !bad; break;
		case 'H': bad = parse_mac(optarg, o.host_mac); o.have_host_mac = !bad; break;
		case 'd': o.identity = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'x': o.xdp_redirect = 1; break;
		case 'E': o.max_endpoints = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'L': o.max_ipcache = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'C': o.count = strtol(optarg, NULL, 10); break;
		case 'T': o.timeout = strtol(optarg, NULL, 10); break;
		case 'V': bad = parse_ip(optarg, &o.svc.vip); break;
		case 'o': o.svc.port = (uint16_t)strtoul(optarg, NULL, 10); break;
		case 'R':
			if (!strcmp(optarg, "tcp")) o.svc.proto = 6;
			else if (!strcmp(optarg, "udp")) o.svc.proto = 17;
			else bad = 1;
			break;
		case 'S':
			if (!strcmp(optarg, "cluster")) o.svc.scope = DP_SVC_SCOPE_CLUSTER;
			else if (!strcmp(optarg, "external")) o.svc.scope = DP_SVC_SCOPE_EXTERNAL;
			else bad = 1;
			break;
		case 'A':
			o.svc.flags |= DP_SVC_F_AFFINITY;
			o.svc.affinity_timeout = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'l': o.svc.flags |= DP_SVC_F_LOCAL_ONLY; break;
		case 'B':
			if (o.n_backends >= sizeof(o.backends) / sizeof(o.backends[0]))
				bad = 1;
			else
				bad = parse_backend(optarg, &o.backends[o.n_backends++]);
			break;
		case 'G': o.cgroup = optarg; break;
		case 'D':
			o.have_dir = 1;
			if (!strcmp(optarg, "ingress")) o.dir = DP_POL_INGRESS;
			else if (!strcmp(optarg, "egress")) o.dir = DP_POL_EGRESS;
			else bad = 1;
			break;
		case 'W':
			if (o.n_allow >= sizeof(o.allow) / sizeof(o.allow[0]))
				bad = 1;
			else
				bad = parse_allow(optarg, &o.allow[o.n_allow++]);
			break;
		case 'U': o.unenforced = 1; break;
		case 'Y':
			if (!strcmp(optarg, "on")) o.events = 1;
			else if (!strcmp(optarg, "off")) o.events = 0;
			else bad = 1;
			break;
		default: usage(); return 2;
		}
		if (bad) {
			fprintf(stderr, "gannet-dp: bad value '%s'\n", optarg);
			return 2;
		}
	}
	cmd = optind < argc ? argv[optind] : NULL;
	if (!cmd || !o.node || optind + 1 != argc) {
		usage();
		return 2;
	}
	if (!o.svc.proto)
		o.svc.proto = 6;
	if (!o.cluster_len) {
		o.cluster = htonl(0x0af40000);       /* 10.244.0.0/16 */
		o.cluster_len = 16;
	}

	if (!strcmp(cmd, "show") || !strcmp(cmd, "stats")) {
		ret = cmd_show(&o, !strcmp(cmd, "stats"), &err);
	} else if (!strcmp(cmd, "destroy")) {
		ret = dp_destroy(o.pin_root, o.node, o.underlay, &err);
	} else {
		size_t i;

		for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
			if (!strcmp(cmd, commands[i].name))
				break;
		if (i == sizeof(commands) / sizeof(commands[0])) {
			usage();
			return 2;
		}
		ret = commands[i].fn(&o, &err);
	}
	if (ret) {
		fprintf(stderr, "gannet-dp: %s: %s\n", cmd, err.msg[0] ? err.msg : strerror(-ret));
		return 1;
	}
	return 0;
}

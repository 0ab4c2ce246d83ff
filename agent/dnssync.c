/* SPDX-License-Identifier: Apache-2.0 */
/* gannet-agent, API mode: cluster DNS on the node. The cluster DNS address
 * (10.96.0.10) goes on the node netns' lo, and the node's dnsmasq
 * (agent/dns, front/back design in docs/dns.md) listens there and on the
 * node IP: every node answers its own pods, and DNS never crosses the
 * underlay. The services sync thread (services.c) hands us every
 * Services/Endpoints snapshot; pods get a resolv.conf following their
 * dnsPolicy. dnsmasq is not stopped with the agent: like pods it keeps
 * serving, and the next agent adopts it through its pid files. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/dns/dns.h"
#include "agent/runtime/runtime.h"
#include "agent/services.h"
#include "dataplane/link.h"

static struct dnsm g_dnsm;           /* driven by the services sync thread only */
static char g_node_ip[INET_ADDRSTRLEN];
static const char *g_listen[3];

int dnssync_init(struct agent *a, struct gerr *err)
{
	struct dnsm_opts o = { 0 };
	struct in_addr dns;
	static char dir[300];   /* dnsm keeps o.dir */
	int ret;

	if (access("/usr/sbin/dnsmasq", X_OK))
		return gerr_set(err, -ENOENT, "/usr/sbin/dnsmasq not installed (apt-get install dnsmasq-base)");
	inet_pton(AF_INET, DNSSYNC_CLUSTER_DNS, &dns);
	/* no dummy module on every kernel; lo takes extra /32s the same way,
	 * and --bind-interfaces needs the address before dnsmasq starts */
	ret = link_addr_has("lo", -1, dns.s_addr, err);
	if (ret < 0)
		return ret;
	if (!ret) {
		ret = link_addr_add("lo", -1, dns.s_addr, 32, err);
		if (ret && ret != -EEXIST)
			return gerr_wrap(err, "add %s to lo", DNSSYNC_CLUSTER_DNS);
		memset(err, 0, sizeof(*err));
	}
	inet_ntop(AF_INET, &a->cfg.node_ip, g_node_ip, sizeof(g_node_ip));
	g_listen[0] = DNSSYNC_CLUSTER_DNS;
	g_listen[1] = g_node_ip;
	g_listen[2] = NULL;
	snprintf(dir, sizeof(dir), "%s/dns", a->cfg.state_dir);
	o.dir = dir;                       /* copied by dnsm_init */
	o.listen = g_listen;
	o.domain = DNS_DEFAULT_DOMAIN;
	return dnsm_init(&g_dnsm, &o, err);
}

int dnssync_apply(json_t *services, json_t *endpoints, struct gerr *err)
{
	struct dns_snapshot s = { services, endpoints };
	struct dns_files f = { 0 };
	int ret;

	ret = dns_render(&s, &(struct dns_render_opts){ .domain = DNS_DEFAULT_DOMAIN }, &f, err);
	if (ret)
		return ret;
	ret = dnsm_apply(&g_dnsm, &f, NULL, err);
	dns_files_free(&f);
	return ret;
}

int dnssync_pod_etc(const json_t *pod, const char *pod_dir, const char *hostname,
		    const char *pod_ip, struct gerr *err)
{
	struct dns_resolv r = { 0 };
	int ret;

	ret = dns_pod_resolv(pod, &(struct dns_pod_opts){ .cluster_dns = DNSSYNC_CLUSTER_DNS },
			     &r, err);
	if (ret)
		return ret;
	ret = rt_vol_pod_etc(pod_dir, hostname, pod_ip, r.nameservers, r.searches, r.ndots, err);
	dns_resolv_free(&r);
	return ret;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* The CNI host inside the agent: IPAM + veth + addresses/routes/neighbours
 * + datapath endpoint for ADD, with full rollback; idempotent DEL; CHECK;
 * GC against the runtime's valid attachments; STATUS; and start-up
 * reconciliation of the endpoint map against IPAM state and the veths. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/policy.h"
#include "dataplane/link.h"

static void mac_str(const uint8_t m[6], char out[18])
{
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x",
		 m[0], m[1], m[2], m[3], m[4], m[5]);
}

static const char *ip_str(uint32_t ip, char buf[INET_ADDRSTRLEN])
{
	return inet_ntop(AF_INET, &ip, buf, INET_ADDRSTRLEN);
}

static uint32_t gateway_ip(void)
{
	struct in_addr a;

	inet_pton(AF_INET, GANNET_GATEWAY, &a);
	return a.s_addr;
}

static int dp_upsert(struct agent *a, const struct dp_endpoint *ep, struct gerr *err)
{
	int ret;

	pthread_mutex_lock(&a->dp_lock);
	ret = dp_endpoint_upsert(a->dp, ep, err);
	pthread_mutex_unlock(&a->dp_lock);
	return ret;
}

static int dp_delete(struct agent *a, uint32_t ip, struct gerr *err)
{
	int ret;

	pthread_mutex_lock(&a->dp_lock);
	ret = dp_endpoint_delete(a->dp, ip, err);
	pthread_mutex_unlock(&a->dp_lock);
	return ret;
}

/* Maps an IPAM/netlink errno to a CNI code. */
static int code_of(int ret)
{
	switch (ret) {
	case -EEXIST: return GANNET_ERR_EXISTS;
	case -ENOSPC: return GANNET_ERR_NO_ADDRESS;
	case -EIO: case -ENOMEM: return CNI_ERR_IO;
	default: return GANNET_ERR_INTERNAL;
	}
}

/* Applies fn to the locked IPAM state and saves it when fn returns > 0. */
typedef int (*ipam_op)(struct ipam *p, void *arg, struct gerr *err);

static int ipam_txn(struct agent *a, ipam_op fn, void *arg, struct gerr *err)
{
	struct ipam p;
	int ret;

	ret = ipam_store_lock(&a->ipam, &p, err);
	if (ret)
		return ret;
	ret = fn(&p, arg, err);
	if (ret > 0)
		ret = ipam_store_save(&a->ipam, &p, err);
	ipam_store_unlock(&a->ipam, &p);
	return ret;
}

struct key {
	const char *id, *ifname;
	uint32_t ip;
	const uint8_t *mac;
	struct ipam_alloc found;
	bool have;
};

static int op_alloc(struct ipam *p, void *arg, struct gerr *err)
{
	struct key *k = arg;
	int ret = ipam_allocate(p, k->id, k->ifname, &k->ip, err);

	return ret ? ret : 1;
}

static int op_set_mac(struct ipam *p, void *arg, struct gerr *err)
{
	struct key *k = arg;
	struct ipam_alloc *al = ipam_find(p, k->id, k->ifname);

	if (!al)
		return gerr_set(err, -ENOENT, "allocation of %s/%s vanished", k->id, k->ifname);
	memcpy(al->mac, k->mac, 6);
	al->has_mac = true;
	return 1;
}

static int op_release(struct ipam *p, void *arg, struct gerr *err)
{
	struct key *k = arg;
	struct ipam_alloc *al = ipam_find(p, k->id, k->ifname);

	(void)err;
	if (!al)
		return 0;
	k->found = *al;
	k->have = true;
	ipam_release(p, k->id, k->ifname);
	return 1;
}

static int op_find(struct ipam *p, void *arg, struct gerr *err)
{
	struct key *k = arg;
	struct ipam_alloc *al = ipam_find(p, k->id, k->ifname);

	(void)err;
	if (al) {
		k->found = *al;
		k->have = true;
	}
	return 0;
}

static const char *jstr(const json_t *req, const char *key)
{
	return json_string_value(json_object_get(req, key));
}

/* ---- ADD --------------------------------------------------------------------- */

/* CNI_ARGS "K=V;K=V" (forwarded by gannet-cni as "args"): the value of
 * key into buf, or NULL. */
static const char *cni_arg(const json_t *req, const char *key, char *buf, size_t len)
{
	const char *s = jstr(req, "args"), *p;
	size_t kl = strlen(key), n;

	for (p = s; p && *p; p = strchr(p, ';') ? strchr(p, ';') + 1 : NULL) {
		if (strncmp(p, key, kl) || p[kl] != '=')
			continue;
		p += kl + 1;
		n = strcspn(p, ";");
		if (!n || n >= len)
			return NULL;
		memcpy(buf, p, n);
		buf[n] = 0;
		return buf;
	}
	return NULL;
}

static json_t *add_result(const char *version, const char *host, const uint8_t host_mac[6],
			  const char *ifname, const uint8_t pod_mac[6], const char *netns,
			  uint32_t ip, unsigned mtu)
{
	char hm[18], pm[18], ipb[INET_ADDRSTRLEN], addr[32];
	bool old = cni_version_cmp(version, "1.0.0") < 0;
	json_t *r, *ifs, *ipo, *pod_if;

	mac_str(host_mac, hm);
	mac_str(pod_mac, pm);
	snprintf(addr, sizeof(addr), "%s/32", ip_str(ip, ipb));
	pod_if = json_pack("{s:s, s:s, s:s}", "name", ifname, "mac", pm, "sandbox",
			   netns ? netns : "");
	if (cni_version_cmp(version, "1.1.0") >= 0)
		json_object_set_new(pod_if, "mtu", json_integer(mtu));
	ifs = json_pack("[{s:s, s:s}, o]", "name", host, "mac", hm, pod_if);
	ipo = json_pack("{s:s, s:s, s:i}", "address", addr, "gateway", GANNET_GATEWAY,
			"interface", 1);
	/* 0.3.x/0.4.0 results carry the IP version per address */
	if (old)
		json_object_set_new(ipo, "version", json_string("4"));
	r = json_pack("{s:s, s:o, s:[o], s:[{s:s, s:s}], s:{}}", "cniVersion", version,
		      "interfaces", ifs, "ips", ipo, "routes", "dst", "0.0.0.0/0", "gw",
		      GANNET_GATEWAY, "dns");
	return r;
}

int pods_add(struct agent *a, const json_t *req, int netns_fd, json_t **result,
	     struct cni_err *e)
{
	const char *id = jstr(req, "containerID"), *ifname = jstr(req, "ifName");
	const char *version = jstr(req, "cniVersion"), *netns = jstr(req, "netns");
	json_t *mtuv = json_object_get(req, "mtu");
	unsigned mtu = mtuv ? (unsigned)json_integer_value(mtuv) : a->pod_mtu;
	struct dp_endpoint ep = { 0 };
	struct key k = { .id = id, .ifname = ifname };
	struct gerr err = { 0 };
	bool allocated = false, veth = false, endpoint = false, policed = false;
	char host[16], ipb[INET_ADDRSTRLEN], pns[254], pname[254];
	const char *k8s_ns = cni_arg(req, "K8S_POD_NAMESPACE", pns, sizeof(pns));
	const char *k8s_name = cni_arg(req, "K8S_POD_NAME", pname, sizeof(pname));
	uint32_t gw = gateway_ip();
	int ret, ifindex;

	if (!id || !ifname || !version)
		return cni_set_err(e, CNI_ERR_INVALID_CONFIG, NULL,
				   "request lacks containerID, ifName or cniVersion");
	if (netns_fd < 0)
		return cni_set_err(e, CNI_ERR_UNKNOWN_CONTAINER, netns, "no network namespace");
	proto_host_ifname(id, ifname, host);

	pthread_mutex_lock(&a->pods_lock);
	/* Checked before anything is touched, so a failed ADD for an
	 * existing interface leaves the existing one alone. */
	if (link_ifindex(host, -1, NULL) > 0) {
		cni_set_err(e, GANNET_ERR_EXISTS, host,
			    "container %s/%s is already attached (host interface %s exists)",
			    id, ifname, host);
		goto fail;
	}
	if (link_ifindex(ifname, netns_fd, NULL) > 0) {
		cni_set_err(e, GANNET_ERR_EXISTS, ifname,
			    "interface %s already exists in the container", ifname);
		goto fail;
	}
	ret = ipam_txn(a, op_alloc, &k, &err);
	if (ret) {
		cni_set_err(e, code_of(ret), err.msg, "IPAM: %s", err.msg);
		goto fail;
	}
	allocated = true;
	ret = link_veth_create(host, ifname, netns_fd, mtu, &err);
	if (ret) {
		cni_set_err(e, code_of(ret), err.msg, "veth: %s", err.msg);
		goto fail;
	}
	veth = true;
	ifindex = link_ifindex(host, -1, &err);
	if (ifindex < 0 ||
	    link_get_mac(host, -1, ep.host_mac, &err) ||
	    link_get_mac(ifname, netns_fd, ep.mac, &err) ||
	    link_set_up(ifname, netns_fd, &err) ||
	    link_addr_add(ifname, netns_fd, k.ip, 32, &err) ||
	    link_neigh_add_permanent(ifname, netns_fd, gw, ep.host_mac, &err) ||
	    link_route_add(ifname, netns_fd, 0, 0, gw, &err) ||
	    link_route_add(host, -1, k.ip, 32, 0, &err) ||
	    link_neigh_add_permanent(host, -1, k.ip, ep.mac, &err)) {
		cni_set_err(e, GANNET_ERR_INTERNAL, err.msg, "wiring %s: %s", host, err.msg);
		goto fail;
	}
	ep.ip = k.ip;
	ep.ifindex = (uint32_t)ifindex;
	/* NetworkPolicy (API mode): the pod's policy and identity are in the
	 * maps before its endpoint, so no packet of it is unpoliced */
	policed = true;
	if (policy_cni_add(a, k8s_ns, k8s_name, k.ip, &ep.identity, &err)) {
		cni_set_err(e, err.code == -EAGAIN ? CNI_ERR_TRY_AGAIN : GANNET_ERR_INTERNAL,
			    err.msg, "network policy: %s", err.msg);
		goto fail;
	}
	endpoint = true;
	if (dp_upsert(a, &ep, &err)) {
		cni_set_err(e, GANNET_ERR_INTERNAL, err.msg, "datapath: %s", err.msg);
		goto fail;
	}
	policy_cni_added(a, k8s_ns, k8s_name, k.ip);
	k.mac = ep.mac;
	if (ipam_txn(a, op_set_mac, &k, &err)) {
		cni_set_err(e, CNI_ERR_IO, err.msg, "IPAM: %s", err.msg);
		goto fail;
	}
	pthread_mutex_unlock(&a->pods_lock);
	*result = add_result(version, host, ep.host_mac, ifname, ep.mac, netns, k.ip, mtu);
	pr_info("ADD %s/%s: %s on %s", id, ifname, ip_str(k.ip, ipb), host);
	return 0;

fail:
	/* Undo in reverse order; every step is attempted even if one fails. */
	if (endpoint && dp_delete(a, k.ip, NULL))
		pr_warn("ADD rollback: endpoint %s not removed", ip_str(k.ip, ipb));
	if (policed) {
		if (!endpoint) {
			pthread_mutex_lock(&a->dp_lock);
			dp_policy_delete(a->dp, k.ip, NULL);
			pthread_mutex_unlock(&a->dp_lock);
		}
		policy_cni_forget(a, k8s_ns, k8s_name, k.ip);
	}
	if (veth && link_delete(host, -1, NULL))
		pr_warn("ADD rollback: %s not removed", host);
	if (allocated) {
		struct gerr rerr = { 0 };
		struct key rk = { .id = id, .ifname = ifname };

		if (ipam_txn(a, op_release, &rk, &rerr) < 0)
			pr_warn("ADD rollback: IPAM release failed: %s", rerr.msg);
	}
	pthread_mutex_unlock(&a->pods_lock);
	pr_warn("ADD %s/%s failed: %s", id, ifname, e->msg);
	return -1;
}

/* ---- DEL ---------------------------------------------------------------------- */

/* Removes one attachment; every part may already be gone. */
static int detach(struct agent *a, const char *id, const char *ifname, struct cni_err *e)
{
	struct key k = { .id = id, .ifname = ifname };
	struct gerr err = { 0 };
	char host[16], ipb[INET_ADDRSTRLEN];
	int ret;

	proto_host_ifname(id, ifname, host);
	/* deleting the host side takes the pod side, its routes and
	 * neighbours with it */
	ret = link_delete(host, -1, &err);
	if (ret && ret != -ENODEV) {
		cni_set_err(e, GANNET_ERR_INTERNAL, err.msg, "delete %s: %s", host, err.msg);
		return -1;
	}
	memset(&err, 0, sizeof(err));
	ret = ipam_txn(a, op_find, &k, &err);
	if (ret < 0) {
		cni_set_err(e, CNI_ERR_IO, err.msg, "IPAM: %s", err.msg);
		return -1;
	}
	if (k.have) {
		memset(&err, 0, sizeof(err));
		ret = dp_delete(a, k.found.ip, &err);
		if (ret && ret != -ENOENT)
			pr_warn("DEL %s/%s: endpoint %s: %s", id, ifname,
				ip_str(k.found.ip, ipb), err.msg);
		memset(&err, 0, sizeof(err));
		k.have = false;
		ret = ipam_txn(a, op_release, &k, &err);
		if (ret < 0) {
			cni_set_err(e, CNI_ERR_IO, err.msg, "IPAM: %s", err.msg);
			return -1;
		}
		pr_info("DEL %s/%s: released %s", id, ifname, ip_str(k.found.ip, ipb));
	} else {
		pr_info("DEL %s/%s: nothing allocated", id, ifname);
	}
	return 0;
}

int pods_del(struct agent *a, const json_t *req, int netns_fd, struct cni_err *e)
{
	const char *id = jstr(req, "containerID"), *ifname = jstr(req, "ifName");
	int ret;

	(void)netns_fd;
	if (!id || !ifname)
		return cni_set_err(e, CNI_ERR_INVALID_CONFIG, NULL,
				   "request lacks containerID or ifName");
	pthread_mutex_lock(&a->pods_lock);
	ret = detach(a, id, ifname, e);
	pthread_mutex_unlock(&a->pods_lock);
	return ret;
}

/* ---- CHECK ------------------------------------------------------------------- */

struct find_ep {
	uint32_t ip;
	struct dp_endpoint ep;
	bool found;
};

static int find_ep_cb(const struct dp_endpoint *ep, void *arg)
{
	struct find_ep *f = arg;

	if (ep->ip == f->ip) {
		f->ep = *ep;
		f->found = true;
	}
	return 0;
}

int pods_check(struct agent *a, const json_t *req, int netns_fd, struct cni_err *e)
{
	const char *id = jstr(req, "containerID"), *ifname = jstr(req, "ifName");
	json_t *prev = json_object_get(req, "prevResult"), *ip;
	struct key k = { .id = id, .ifname = ifname };
	struct find_ep f = { 0 };
	struct gerr err = { 0 };
	char host[16], ipb[INET_ADDRSTRLEN], addr[32];
	uint8_t mac[6], host_mac[6];
	int hidx, ret = -1;
	size_t i;
	bool listed = !prev;

	if (!id || !ifname)
		return cni_set_err(e, CNI_ERR_INVALID_CONFIG, NULL,
				   "request lacks containerID or ifName");
	proto_host_ifname(id, ifname, host);
	pthread_mutex_lock(&a->pods_lock);
	if (ipam_txn(a, op_find, &k, &err) < 0) {
		cni_set_err(e, CNI_ERR_IO, err.msg, "IPAM: %s", err.msg);
		goto out;
	}
	if (!k.have) {
		cni_set_err(e, GANNET_ERR_CHECK, NULL, "%s/%s has no address allocated", id, ifname);
		goto out;
	}
	snprintf(addr, sizeof(addr), "%s/32", ip_str(k.found.ip, ipb));
	json_array_foreach(json_object_get(prev, "ips"), i, ip)
		if (!strcmp(json_string_value(json_object_get(ip, "address")) ?: "", addr))
			listed = true;
	if (!listed) {
		cni_set_err(e, GANNET_ERR_CHECK, addr, "prevResult does not list %s", addr);
		goto out;
	}
	hidx = link_ifindex(host, -1, &err);
	if (hidx < 0) {
		cni_set_err(e, GANNET_ERR_CHECK, err.msg, "host interface %s missing", host);
		goto out;
	}
	if (link_get_mac(ifname, netns_fd, mac, &err)) {
		cni_set_err(e, GANNET_ERR_CHECK, err.msg, "container interface %s missing", ifname);
		goto out;
	}
	if (k.found.has_mac && memcmp(mac, k.found.mac, 6)) {
		cni_set_err(e, GANNET_ERR_CHECK, NULL, "container interface %s changed MAC", ifname);
		goto out;
	}
	if (link_addr_has(ifname, netns_fd, k.found.ip, &err) != 1) {
		cni_set_err(e, GANNET_ERR_CHECK, err.msg, "%s lacks its address %s", ifname, addr);
		goto out;
	}
	if (link_get_mac(host, -1, host_mac, &err) ||
	    link_neigh_has_permanent(ifname, netns_fd, gateway_ip(), host_mac, &err) != 1) {
		cni_set_err(e, GANNET_ERR_CHECK, err.msg, "%s: gateway neighbour "
			    GANNET_GATEWAY " missing or wrong", ifname);
		goto out;
	}
	if (link_route_has(ifname, netns_fd, 0, 0, gateway_ip(), &err) != 1) {
		cni_set_err(e, GANNET_ERR_CHECK, err.msg, "%s: default route via "
			    GANNET_GATEWAY " missing", ifname);
		goto out;
	}
	if (link_route_has(host, -1, k.found.ip, 32, 0, &err) != 1 ||
	    (k.found.has_mac &&
	     link_neigh_has_permanent(host, -1, k.found.ip, k.found.mac, &err) != 1)) {
		cni_set_err(e, GANNET_ERR_CHECK, err.msg, "node route/neighbour for %s on %s missing",
			    addr, host);
		goto out;
	}
	f.ip = k.found.ip;
	pthread_mutex_lock(&a->dp_lock);
	dp_endpoint_foreach(a->dp, find_ep_cb, &f);
	pthread_mutex_unlock(&a->dp_lock);
	if (!f.found || f.ep.ifindex != (uint32_t)hidx) {
		cni_set_err(e, GANNET_ERR_CHECK, addr, "datapath endpoint for %s missing or stale",
			    addr);
		goto out;
	}
	ret = 0;
out:
	pthread_mutex_unlock(&a->pods_lock);
	return ret;
}

/* ---- GC ------------------------------------------------------------------------ */

struct gc_arg {
	const json_t *valid;
	struct ipam_alloc *stale;
	size_t n;
};

static int op_collect_stale(struct ipam *p, void *arg, struct gerr *err)
{
	struct gc_arg *g = arg;

	(void)err;
	g->stale = calloc(p->n ? p->n : 1, sizeof(*g->stale));
	if (!g->stale)
		return -ENOMEM;
	for (size_t i = 0; i < p->n; i++) {
		bool keep = false;
		json_t *v;
		size_t j;

		json_array_foreach(g->valid, j, v)
			if (!strcmp(json_string_value(json_object_get(v, "containerID")) ?: "",
				    p->allocs[i].id) &&
			    !strcmp(json_string_value(json_object_get(v, "ifname")) ?: "",
				    p->allocs[i].ifname))
				keep = true;
		if (!keep)
			g->stale[g->n++] = p->allocs[i];
	}
	return 0;
}

struct stale_eps {
	const struct ipam *p;
	uint32_t *ips;
	size_t n, cap;
};

static int stale_cb(const struct dp_endpoint *ep, void *arg)
{
	struct stale_eps *s = arg;

	if (ipam_find_ip((struct ipam *)s->p, ep->ip))
		return 0;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		uint32_t *n = realloc(s->ips, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		s->ips = n;
		s->cap = cap;
	}
	s->ips[s->n++] = ep->ip;
	return 0;
}

/* Host veths and endpoint-map entries that belong to no allocation (left by
 * hand-made or crashed set-ups) are resources of no attachment: GC drops them
 * too. Best effort; failures are logged. */
static void gc_orphans(struct agent *a)
{
	enum { MAX_LINKS = 4096 };
	char (*names)[16] = calloc(MAX_LINKS, 16);
	struct stale_eps s = { 0 };
	struct ipam p;
	char host[16], ipb[INET_ADDRSTRLEN];
	int n;

	if (!names || ipam_store_lock(&a->ipam, &p, NULL)) {
		free(names);
		return;
	}
	n = link_list("gnt", -1, names, MAX_LINKS, NULL);
	for (int i = 0; i < n && i < MAX_LINKS; i++) {
		bool owned = false;

		for (size_t j = 0; j < p.n && !owned; j++) {
			proto_host_ifname(p.allocs[j].id, p.allocs[j].ifname, host);
			owned = !strcmp(host, names[i]);
		}
		/* only names of our shape: gnt + 11 hex digits */
		if (!owned && strlen(names[i]) == 14 &&
		    strspn(names[i] + 3, "0123456789abcdef") == 11) {
			pr_info("GC: removing orphan veth %s", names[i]);
			link_delete(names[i], -1, NULL);
		}
	}
	s.p = &p;
	pthread_mutex_lock(&a->dp_lock);
	dp_endpoint_foreach(a->dp, stale_cb, &s);
	pthread_mutex_unlock(&a->dp_lock);
	for (size_t i = 0; i < s.n; i++) {
		pr_info("GC: removing endpoint %s with no allocation", ip_str(s.ips[i], ipb));
		dp_delete(a, s.ips[i], NULL);
	}
	free(s.ips);
	ipam_store_unlock(&a->ipam, &p);
	free(names);
}

int pods_gc(struct agent *a, const json_t *req, struct cni_err *e)
{
	struct gc_arg g = { .valid = json_object_get(req, "validAttachments") };
	struct gerr err = { 0 };
	int ret = 0;

	if (!json_is_array(g.valid))
		return cni_set_err(e, CNI_ERR_INVALID_CONFIG, NULL,
				   "GC needs cni.dev/valid-attachments");
	pthread_mutex_lock(&a->pods_lock);
	if (ipam_txn(a, op_collect_stale, &g, &err) < 0) {
		cni_set_err(e, CNI_ERR_IO, err.msg, "IPAM: %s", err.msg);
		ret = -1;
		goto out;
	}
	for (size_t i = 0; i < g.n && !ret; i++) {
		pr_info("GC: %s/%s is not a valid attachment", g.stale[i].id, g.stale[i].ifname);
		ret = detach(a, g.stale[i].id, g.stale[i].ifname, e);
	}
	if (!ret)
		gc_orphans(a);
out:
	pthread_mutex_unlock(&a->pods_lock);
	free(g.stale);
	return ret;
}

int pods_status(struct agent *a, struct cni_err *e)
{
	struct ipam p;
	struct gerr err = { 0 };
	size_t nfree;

	if (!atomic_load(&a->ready))
		return cni_set_err(e, CNI_ERR_NOT_AVAILABLE, NULL, "gannet-agent is starting");
	if (ipam_store_lock(&a->ipam, &p, &err))
		return cni_set_err(e, CNI_ERR_NOT_AVAILABLE, err.msg, "IPAM state unreadable");
	nfree = ipam_free_count(&p);
	ipam_store_unlock(&a->ipam, &p);
	if (!nfree)
		return cni_set_err(e, CNI_ERR_NOT_AVAILABLE, NULL, "pod CIDR exhausted");
	return 0;
}

/* ---- reconcile ------------------------------------------------------------------- */

int pods_reconcile(struct agent *a, struct gerr *err)
{
	struct stale_eps s = { 0 };
	struct ipam p;
	char host[16], ipb[INET_ADDRSTRLEN];
	size_t live = 0, gone = 0, rolled = 0;
	int ret;

	pthread_mutex_lock(&a->pods_lock);
	ret = ipam_store_lock(&a->ipam, &p, err);
	if (ret)
		goto out_unlocked;
	/* The pod MAC is recorded as the very last step of ADD, so an
	 * allocation without one is an ADD the previous agent died in the
	 * middle of (its plugin got code 11): finish its rollback. */
	for (size_t i = 0; i < p.n;) {
		const struct ipam_alloc *al = &p.allocs[i];
		char id[IPAM_ID_MAX], ifn[IPAM_IFNAME_MAX];

		if (al->has_mac) {
			i++;
			continue;
		}
		proto_host_ifname(al->id, al->ifname, host);
		link_delete(host, -1, NULL);
		dp_delete(a, al->ip, NULL);
		pr_info("reconcile: rolled back unfinished ADD of %s/%s (%s)", al->id,
			al->ifname, ip_str(al->ip, ipb));
		snprintf(id, sizeof(id), "%s", al->id);
		snprintf(ifn, sizeof(ifn), "%s", al->ifname);
		ipam_release(&p, id, ifn);   /* moves the last entry to i */
		rolled++;
	}
	if (rolled) {
		ret = ipam_store_save(&a->ipam, &p, err);
		if (ret) {
			ipam_store_unlock(&a->ipam, &p);
			goto out_unlocked;
		}
	}
	for (size_t i = 0; i < p.n; i++) {
		const struct ipam_alloc *al = &p.allocs[i];
		struct dp_endpoint ep = { .ip = al->ip };
		struct gerr e = { 0 };
		int ifindex;

		proto_host_ifname(al->id, al->ifname, host);
		ifindex = link_ifindex(host, -1, NULL);
		if (ifindex <= 0 || link_get_mac(host, -1, ep.host_mac, NULL)) {
			/* The pod's netns (and so the veth pair) is gone:
			 * keep the address reserved until DEL/GC (the pod
			 * may still be known to the runtime), but stop
			 * forwarding to it. */
			dp_delete(a, al->ip, NULL);
			pr_info("reconcile: %s/%s (%s) has no veth, endpoint dropped",
				al->id, al->ifname, ip_str(al->ip, ipb));
			gone++;
			continue;
		}
		ep.ifindex = (uint32_t)ifindex;
		memcpy(ep.mac, al->mac, 6);
		/* keep what the previous agent programmed beyond the wiring
		 * (the security identity): rewriting it as 0 would change
		 * policy verdicts until the policy engine has synced */
		{
			struct find_ep f = { .ip = al->ip };

			pthread_mutex_lock(&a->dp_lock);
			dp_endpoint_foreach(a->dp, find_ep_cb, &f);
			pthread_mutex_unlock(&a->dp_lock);
			if (f.found)
				ep.identity = f.ep.identity;
		}
		/* Restore node-side wiring too (idempotent replace). */
		if (link_route_add(host, -1, al->ip, 32, 0, &e) ||
		    link_neigh_add_permanent(host, -1, al->ip, al->mac, &e) ||
		    dp_upsert(a, &ep, &e))
			pr_warn("reconcile: %s: %s", host, e.msg);
		live++;
	}
	s.p = &p;
	pthread_mutex_lock(&a->dp_lock);
	ret = dp_endpoint_foreach(a->dp, stale_cb, &s);
	pthread_mutex_unlock(&a->dp_lock);
	if (ret < 0)
		pr_warn("reconcile: endpoint walk: %s", strerror(-ret));
	for (size_t i = 0; i < s.n; i++) {
		pr_info("reconcile: endpoint %s not in IPAM, dropped", ip_str(s.ips[i], ipb));
		dp_delete(a, s.ips[i], NULL);
	}
	pr_info("reconcile: %zu endpoints live, %zu without veth, %zu unfinished ADDs, "
		"%zu stale map entries", live, gone, rolled, s.n);
	free(s.ips);
	ipam_store_unlock(&a->ipam, &p);
	ret = 0;
out_unlocked:
	pthread_mutex_unlock(&a->pods_lock);
	return ret;
}

/* ---- peers ------------------------------------------------------------------------ */

struct remote_list {
	struct dp_remote *r;
	size_t n, cap;
};

static int remote_cb(const struct dp_remote *r, void *arg)
{
	struct remote_list *l = arg;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct dp_remote *n = realloc(l->r, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		l->r = n;
		l->cap = cap;
	}
	l->r[l->n++] = *r;
	return 0;
}

int peers_sync(struct agent *a, const struct agentcfg *cfg, struct gerr *err)
{
	struct remote_list l = { 0 };
	char b1[INET_ADDRSTRLEN], b2[INET_ADDRSTRLEN];
	int ret = 0;

	pthread_mutex_lock(&a->dp_lock);
	for (size_t i = 0; i < cfg->n_peers && !ret; i++) {
		const struct agentcfg_peer *p = &cfg->peers[i];
		struct dp_remote r = { .pod_cidr = p->pod_cidr, .prefix_len = p->pod_prefix,
				       .node_ip = p->node_ip };

		ret = dp_remote_upsert(a->dp, &r, err);
		/* The node's own stack (host-network pods, an ingress proxy,
		 * probes) reaches the peer's pods by plain routing over the
		 * underlay: the peer's underlay program delivers plain IP to
		 * its pods (docs/datapath.md). Pods' traffic never uses this
		 * route: their program encapsulates before the stack. */
		if (!ret && a->cfg.underlay_ifname[0]) {
			struct gerr re = { 0 };

			/* not fatal: the pod datapath does not need it (a peer
			 * off-link needs a routed underlay for this) */
			if (link_route_add(a->cfg.underlay_ifname, -1, p->pod_cidr,
					   p->pod_prefix, p->node_ip, &re) < 0)
				pr_warn("peer %s: no host route to its pods: %s", p->name, re.msg);
		}
		if (!ret)
			pr_info("peer %s: %s/%u via %s", p->name, ip_str(p->pod_cidr, b1),
				p->pod_prefix, ip_str(p->node_ip, b2));
	}
	if (!ret)
		ret = dp_remote_foreach(a->dp, remote_cb, &l);
	for (size_t i = 0; i < l.n && ret >= 0; i++) {
		bool keep = false;

		for (size_t j = 0; j < cfg->n_peers; j++)
			if (cfg->peers[j].pod_cidr == l.r[i].pod_cidr &&
			    cfg->peers[j].pod_prefix == l.r[i].prefix_len)
				keep = true;
		if (keep)
			continue;
		pr_info("peer %s/%u removed", ip_str(l.r[i].pod_cidr, b1), l.r[i].prefix_len);
		ret = dp_remote_delete(a->dp, l.r[i].pod_cidr, l.r[i].prefix_len, err);
		if (!ret && a->cfg.underlay_ifname[0] &&
		    link_route_del(a->cfg.underlay_ifname, -1, l.r[i].pod_cidr,
				   l.r[i].prefix_len, NULL) < 0)
			pr_warn("peer %s/%u: route already gone", ip_str(l.r[i].pod_cidr, b1),
				l.r[i].prefix_len);
	}
	pthread_mutex_unlock(&a->dp_lock);
	free(l.r);
	return ret < 0 ? ret : 0;
}

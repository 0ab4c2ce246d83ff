/* SPDX-License-Identifier: Apache-2.0 */
/* gannet-agent, API mode: NetworkPolicy on the node.
 *
 * Four informers (Pods of every namespace, Namespaces, NetworkPolicies,
 * Nodes; common/informer.h) feed the policies/ engine. Until every cache
 * has listed, mutations only go into an engine batch and nothing is
 * programmed: after an agent restart the pinned maps keep enforcing what
 * the previous agent programmed (fail-closed, and no window where a half
 * known cluster yields wrong verdicts). Once synced, one full resync writes
 * the whole ipcache, every local endpoint's identity and both directions
 * of its allow set (each dp_policy_set swaps atomically, so rewriting an
 * unchanged set is invisible to packets). From then on each informer event
 * is applied in its handler's thread, right away (no polling): engine
 * mutation, pol_changes_take, then ipcache and endpoint programming, all
 * under one lock, timed for the apply-latency histogram.
 *
 * A new pod is upserted from the CNI ADD path (policy_cni_add) with the
 * address IPAM just gave it, and its policy is in the maps before the
 * endpoint exists, so its first packet is already policed. The address is
 * remembered for the pod until the API object carries status.podIP.
 *
 * A second thread reads the datapath's verdict events (dp_events_poll),
 * names the pods behind the addresses and keeps the last FLOW_RING flows
 * as JSON lines for GET /flows (follow mode waits for new ones). */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/agent.h"
#include "agent/kubelet.h"
#include "agent/policy.h"
#include "common/duration.h"
#include "common/informer.h"
#include "common/kubeconfig.h"
#include "common/nodeaddr.h"
#include "policies/policy.h"

#define POL_SYNC_WAIT_MS   10000  /* CNI ADD waits this long for the first sync */
#define FLOW_RING          8192   /* flows kept for GET /flows */
#define FLOW_POLL_MS       200

/* apply-latency histogram buckets (seconds) */
static const double lat_buckets[] = { 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
				      0.05, 0.1, 0.25, 0.5, 1, 2.5 };
#define N_BUCKETS (sizeof(lat_buckets) / sizeof(lat_buckets[0]))

struct polagent {
	struct agent *a;
	struct kubeconfig kc;
	struct informers inf;
	volatile int stop;
	pthread_t sync_th, ev_th;
	bool sync_started, ev_started, inf_started;

	pthread_mutex_t lock;          /* everything below */
	pthread_cond_t synced_cv;
	struct pol_engine *e;
	bool synced;
	json_t *pods;                  /* "ns/name" -> {ip, node_ip, local, hostnet} */
	json_t *local;                 /* "ns/name" of this node's non-hostNetwork pods */
	json_t *ip2pod;                /* "a.b.c.d" -> "ns/name" */
	json_t *cni_ips;               /* "ns/name" -> "a.b.c.d" given by CNI ADD */
	json_t *ep_ids;                /* "ns/name" -> identity programmed (local) */
	json_t *node_ips;              /* node name -> "a.b.c.d" programmed */
	/* metrics */
	uint64_t applies, apply_errors;
	double last_apply_s, lat_sum;
	uint64_t lat_count, lat_hist[N_BUCKETS];
	size_t enforced[2];
};

static struct polagent *g_pa;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;

/* ---- helpers --------------------------------------------------------------- */

static const char *jstr(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static const char *ip_str(uint32_t ip_be, char buf[INET_ADDRSTRLEN])
{
	return inet_ntop(AF_INET, &ip_be, buf, INET_ADDRSTRLEN);
}

static uint32_t ip_parse(const char *s)
{
	struct in_addr a;

	return s && inet_pton(AF_INET, s, &a) == 1 ? a.s_addr : 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void pod_key(const char *ns, const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", ns, name);
}

static void observe_apply(struct polagent *pa, double t0, int errs)
{
	double d = now_s() - t0;

	pa->applies++;
	pa->apply_errors += (uint64_t)errs;
	pa->last_apply_s = d;
	pa->lat_sum += d;
	pa->lat_count++;
	for (size_t i = 0; i < N_BUCKETS; i++)
		if (d <= lat_buckets[i])
			pa->lat_hist[i]++;
}

/* ---- programming ------------------------------------------------------------- */

struct ep_find {
	uint32_t ip;
	struct dp_endpoint ep;
	bool found;
};

static int ep_find_cb(const struct dp_endpoint *ep, void *arg)
{
	struct ep_find *f = arg;

	if (ep->ip != f->ip)
		return 0;
	f->ep = *ep;
	f->found = true;
	return 1;
}

/* dp_* under the agent's dp lock; pa->lock is held by the caller. */
static bool ep_lookup(struct polagent *pa, uint32_t ip, struct dp_endpoint *out)
{
	struct ep_find f = { .ip = ip };

	pthread_mutex_lock(&pa->a->dp_lock);
	if (pa->a->dp)
		dp_endpoint_foreach(pa->a->dp, ep_find_cb, &f);
	pthread_mutex_unlock(&pa->a->dp_lock);
	if (f.found && out)
		*out = f.ep;
	return f.found;
}

static int prog_ipcache(struct polagent *pa, uint32_t ip_be, uint8_t plen, uint32_t id,
			uint32_t node_ip)
{
	struct gerr e = { 0 };
	char b[INET_ADDRSTRLEN];
	int ret;

	pthread_mutex_lock(&pa->a->dp_lock);
	if (!pa->a->dp)
		ret = -ENODEV;
	else if (id)
		ret = dp_ipcache_set(pa->a->dp, ip_be, plen, id, node_ip, &e);
	else
		ret = dp_ipcache_delete(pa->a->dp, ip_be, plen, &e);
	pthread_mutex_unlock(&pa->a->dp_lock);
	if (ret == -ENOENT && !id)
		ret = 0;
	if (ret)
		pr_warn("policy: ipcache %s/%u -> %u: %s", ip_str(ip_be, b), plen, id, e.msg);
	return ret ? 1 : 0;
}

/* Node IP for a pod's /32: its node's underlay address for remote pods,
 * 0 for ours. */
static uint32_t pod_node_ip(struct polagent *pa, uint32_t ip_be)
{
	char b[INET_ADDRSTRLEN];
	const char *key = jstr(pa->ip2pod, ip_str(ip_be, b));
	json_t *p = key ? json_object_get(pa->pods, key) : NULL;

	return p ? (uint32_t)json_integer_value(json_object_get(p, "node_ip")) : 0;
}

/* One endpoint direction's set as the engine has it now; out->e is
 * malloc'ed (NULL when empty). A pod the engine does not know (deleted)
 * gets deny-all until its endpoint goes: never fail open. */
static int build_set(struct polagent *pa, const char *ns, const char *name, uint32_t ip_be,
		     int dir, struct dp_pol_set *out)
{
	const struct pol_rules *r = pol_endpoint_rules(pa->e, ns, name, (enum pol_dir)dir);
	struct dp_pol_entry *v = NULL;

	*out = (struct dp_pol_set){ .ep_ip = ip_be, .dir = dir, .enforced = r ? r->enforced : true };
	if (r && r->enforced && r->n) {
		v = calloc(r->n, sizeof(*v));
		if (!v)
			return -ENOMEM;
		for (size_t i = 0; i < r->n; i++)
			v[i] = (struct dp_pol_entry){ r->entries[i].identity, r->entries[i].proto,
						      r->entries[i].port_lo, r->entries[i].port_hi };
		out->n = r->n;
	}
	out->e = v;
	return 0;
}

/* Sets for many endpoints, published with one dp_policy_set_batch: the
 * kernel waits one RCU grace period (~10-20 ms) per swap call, so one
 * call per endpoint made a policy selecting 100 local pods cost seconds
 * under pa->lock. */
struct set_batch {
	struct dp_pol_set *s;
	size_t n, cap;
	int errs;
};

static void batch_add(struct polagent *pa, struct set_batch *b, const char *ns,
		      const char *name, uint32_t ip_be)
{
	for (int dir = DP_POL_INGRESS; dir <= DP_POL_EGRESS; dir++) {
		if (b->n == b->cap) {
			size_t cap = b->cap ? b->cap * 2 : 32;
			struct dp_pol_set *ns_ = realloc(b->s, cap * sizeof(*ns_));

			if (!ns_) {
				b->errs++;
				return;
			}
			b->s = ns_;
			b->cap = cap;
		}
		if (build_set(pa, ns, name, ip_be, dir, &b->s[b->n])) {
			b->errs++;
			continue;
		}
		b->n++;
	}
}

/* Publishes and frees the batch; returns the number of failed sets. */
static int batch_flush(struct polagent *pa, struct set_batch *b)
{
	struct gerr e = { 0 };
	int ret = 0, errs = b->errs;

	if (b->n) {
		pthread_mutex_lock(&pa->a->dp_lock);
		ret = pa->a->dp ? dp_policy_set_batch(pa->a->dp, b->s, b->n, &e) : -ENODEV;
		pthread_mutex_unlock(&pa->a->dp_lock);
		if (ret) {
			pr_warn("policy: programming %zu endpoint sets: %s", b->n, e.msg);
			errs += (int)b->n;
		} else {
			pr_debug("policy: %zu endpoint sets programmed", b->n);
		}
	}
	for (size_t i = 0; i < b->n; i++)
		free((void *)b->s[i].e);
	free(b->s);
	*b = (struct set_batch){ 0 };
	return errs;
}

/* Both directions of one endpoint (the CNI ADD path). */
static int prog_endpoint(struct polagent *pa, const char *ns, const char *name, uint32_t ip_be)
{
	struct set_batch b = { 0 };

	batch_add(pa, &b, ns, name, ip_be);
	return batch_flush(pa, &b);
}

/* The local endpoint's identity in the endpoint map, every other field
 * kept; nothing when the endpoint does not exist (yet). */
static int prog_ep_identity(struct polagent *pa, const char *key, uint32_t ip_be, uint32_t id)
{
	struct ep_find f = { .ip = ip_be };
	struct gerr e = { 0 };
	int ret = 0;

	/* lookup and write in one dp_lock section: a CNI DEL or a retried
	 * ADD in between must not see its endpoint rewritten from a stale
	 * copy (old veth) or brought back */
	pthread_mutex_lock(&pa->a->dp_lock);
	if (pa->a->dp)
		dp_endpoint_foreach(pa->a->dp, ep_find_cb, &f);
	if (f.found && f.ep.identity != id) {
		f.ep.identity = id;
		ret = dp_endpoint_upsert(pa->a->dp, &f.ep, &e);
	}
	pthread_mutex_unlock(&pa->a->dp_lock);
	if (!f.found)
		return 0;
	if (ret)
		pr_warn("policy: endpoint %s identity %u: %s", key, id, e.msg);
	if (!ret)
		json_object_set_new(pa->ep_ids, key, json_integer(id));
	return ret ? 1 : 0;
}

/* A local pod with an address (not hostNetwork): its endpoint's IP. */
static uint32_t local_ep_ip(struct polagent *pa, const char *key)
{
	json_t *p = json_object_get(pa->pods, key);

	if (!p || !json_is_true(json_object_get(p, "local")) ||
	    json_is_true(json_object_get(p, "hostnet")))
		return 0;
	return ip_parse(jstr(p, "ip"));
}

/* local_ep_ip(key), with the "namespace/name" key split into buf (the
 * namespace) and *name; 0 when there is no address or no '/'. */
static uint32_t local_ep_split(struct polagent *pa, const char *key, char *buf, size_t size,
			       char **name)
{
	uint32_t ip = local_ep_ip(pa, key);

	if (!ip)
		return 0;
	snprintf(buf, size, "%s", key);
	*name = strchr(buf, '/');
	if (!*name)
		return 0;
	*(*name)++ = 0;
	return ip;
}

static void count_enforced(struct polagent *pa)
{
	const char *key;
	json_t *p;

	pa->enforced[0] = pa->enforced[1] = 0;
	json_object_foreach(pa->local, key, p) {
		char k[512], *ns = k, *name;

		if (!local_ep_split(pa, key, k, sizeof(k), &name))
			continue;
		for (int d = 0; d < 2; d++) {
			const struct pol_rules *r = pol_endpoint_rules(pa->e, ns, name, (enum pol_dir)d);

			if (r && r->enforced)
				pa->enforced[d]++;
		}
	}
}

/* Local endpoints whose identity changed (labels, namespace labels) even
 * when their rules did not. */
static int sweep_identities(struct polagent *pa)
{
	const char *key;
	json_t *p;
	int errs = 0;

	json_object_foreach(pa->local, key, p) {
		char k[512], *name;
		uint32_t ip = local_ep_split(pa, key, k, sizeof(k), &name), id;

		if (!ip)
			continue;
		id = pol_pod_identity(pa->e, k, name);
		if ((uint32_t)json_integer_value(json_object_get(pa->ep_ids, key)) != id ||
		    !json_object_get(pa->ep_ids, key))
			errs += prog_ep_identity(pa, key, ip, id);
	}
	return errs;
}

/* Programs a change set: ipcache, then endpoints (the order of
 * docs/policy.md; released/created identities need no map work here: an
 * identity only exists in the maps through ipcache and allow entries).
 * removed_ips: addresses of pods deleted by this mutation (their entries
 * were dropped from pa->pods already). */
static int apply_changes(struct polagent *pa, struct pol_changes *c, const char *gone_key,
			 uint32_t gone_ip)
{
	struct set_batch b = { 0 };
	int errs = 0;

	for (size_t i = 0; i < c->n_ipcache; i++) {
		const struct pol_ipcache_change *ic = &c->ipcache[i];
		uint32_t ip_be = htonl(ic->ip);

		errs += prog_ipcache(pa, ip_be, ic->prefixlen, ic->identity,
				     ic->identity && ic->prefixlen == 32 ? pod_node_ip(pa, ip_be) : 0);
	}
	for (size_t i = 0; i < c->n_endpoints; i++) {
		const struct pol_ep_change *ec = &c->endpoints[i];
		char key[512];
		uint32_t ip;

		pod_key(ec->ns, ec->name, key, sizeof(key));
		if (ec->removed) {
			char b[INET_ADDRSTRLEN];
			const char *holder;

			if (!gone_key || strcmp(gone_key, key) || !gone_ip)
				continue;
			/* the address may already belong to a new pod (IPAM
			 * reuse before our DELETED event): leave its state */
			holder = jstr(pa->ip2pod, ip_str(gone_ip, b));
			if (holder && strcmp(holder, key))
				continue;
			if (ep_lookup(pa, gone_ip, NULL)) {
				/* endpoint still attached: the API object is
				 * gone at once (no graceful deletion in the API)
				 * while the agent lets the pod run out its grace
				 * period, serving what it still receives. Keep
				 * the rules last programmed for it (not opened,
				 * not replaced): deny-all here blackholed a
				 * terminating pod, turning the refused/reset
				 * connections proxies and clients retry at once
				 * into timeouts (rolling updates lost requests,
				 * suite 72). They go with the endpoint
				 * (dp_endpoint_delete at teardown), as Cilium
				 * keeps an endpoint's policy until CNI DEL. */
			} else {
				struct gerr e = { 0 };

				pthread_mutex_lock(&pa->a->dp_lock);
				if (pa->a->dp && dp_policy_delete(pa->a->dp, gone_ip, &e) &&
				    e.code != -ENOENT)
					pr_debug("policy: delete %s: %s", key, e.msg);
				pthread_mutex_unlock(&pa->a->dp_lock);
			}
			continue;
		}
		ip = local_ep_ip(pa, key);
		if (!ip)
			continue;
		batch_add(pa, &b, ec->ns, ec->name, ip);
	}
	errs += batch_flush(pa, &b);
	errs += sweep_identities(pa);
	count_enforced(pa);
	return errs;
}

/* Takes the engine's changes and programs them when synced (before the
 * first sync they are dropped: the full resync covers them). */
static void commit_locked(struct polagent *pa, double t0, const char *gone_key, uint32_t gone_ip)
{
	struct pol_changes c = { 0 };

	if (!pa->synced)
		return;
	pol_changes_take(pa->e, &c);
	observe_apply(pa, t0, apply_changes(pa, &c, gone_key, gone_ip));
	pol_changes_free(&c);
}

/* ---- nodes: HOST / REMOTE_NODE identities -------------------------------------- */

static int prog_node(struct polagent *pa, const char *name, const char *ip)
{
	const char *old = jstr(pa->node_ips, name);
	uint32_t id = strcmp(name, pa->a->cfg.node_name) ? DP_ID_REMOTE_NODE : DP_ID_HOST;
	int errs = 0;

	if (old && (!ip || strcmp(old, ip)))
		errs += prog_ipcache(pa, ip_parse(old), 32, 0, 0);
	if (ip && ip_parse(ip)) {
		errs += prog_ipcache(pa, ip_parse(ip), 32, id, 0);
		json_object_set_new(pa->node_ips, name, json_string(ip));
	} else {
		json_object_del(pa->node_ips, name);
	}
	return errs;
}

/* ---- informer handlers ------------------------------------------------------------ */

/* What the engine gets for a pod: for a local pod whose object has no
 * address yet, the one CNI ADD gave it. New reference. */
static json_t *effective_pod(struct polagent *pa, const char *key, const json_t *obj)
{
	const char *cip = jstr(pa->cni_ips, key);
	json_t *st = json_object_get(obj, "status"), *cp, *st2;
	const char *pip = jstr(st, "podIP");

	if (!cip || (pip && *pip))
		return json_incref((json_t *)obj);
	cp = json_copy((json_t *)obj);
	st2 = st ? json_copy(st) : json_object();
	if (!cp || !st2) {
		json_decref(cp);
		json_decref(st2);
		return json_incref((json_t *)obj);
	}
	json_object_set_new(st2, "podIP", json_string(cip));
	json_object_set_new(cp, "status", st2);
	return cp;
}

static void podinfo_set(struct polagent *pa, const char *key, const json_t *obj)
{
	const json_t *spec = json_object_get(obj, "spec"), *st = json_object_get(obj, "status");
	const char *node = jstr(spec, "nodeName"), *ip = jstr(st, "podIP");
	bool local = node && !strcmp(node, pa->a->cfg.node_name);
	bool hostnet = json_is_true(json_object_get(spec, "hostNetwork"));
	json_t *old = json_object_get(pa->pods, key);
	const char *oip = old ? jstr(old, "ip") : NULL;

	if (oip && (!ip || strcmp(oip, ip)) && jstr(pa->ip2pod, oip) &&
	    !strcmp(jstr(pa->ip2pod, oip), key))
		json_object_del(pa->ip2pod, oip);
	json_object_set_new(pa->pods, key,
			    json_pack("{s:s, s:I, s:b, s:b}", "ip", ip ? ip : "", "node_ip",
				      (json_int_t)(local ? 0 : ip_parse(jstr(st, "hostIP"))),
				      "local", local, "hostnet", hostnet));
	if (ip && *ip && !hostnet)
		json_object_set_new(pa->ip2pod, ip, json_string(key));
	if (local && !hostnet)
		json_object_set_new(pa->local, key, json_true());
	else
		json_object_del(pa->local, key);
	if (local && ip && *ip && jstr(pa->cni_ips, key) && strcmp(jstr(pa->cni_ips, key), ip))
		json_object_del(pa->cni_ips, key);   /* the API's address wins */
}

/* Returns the address the pod's endpoint had (network order), 0 if none. */
static uint32_t podinfo_del(struct polagent *pa, const char *key)
{
	json_t *old = json_object_get(pa->pods, key);
	const char *oip = old ? jstr(old, "ip") : NULL;
	uint32_t ip = 0;

	if (oip && *oip) {
		ip = json_is_true(json_object_get(old, "local")) &&
		     !json_is_true(json_object_get(old, "hostnet")) ? ip_parse(oip) : 0;
		if (jstr(pa->ip2pod, oip) && !strcmp(jstr(pa->ip2pod, oip), key))
			json_object_del(pa->ip2pod, oip);
	}
	json_object_del(pa->pods, key);
	json_object_del(pa->local, key);
	json_object_del(pa->cni_ips, key);
	json_object_del(pa->ep_ids, key);
	return ip;
}

static bool pod_finished(const json_t *pod)
{
	const char *ph = cj_str(pod, "status.phase");

	return ph && (!strcmp(ph, "Succeeded") || !strcmp(ph, "Failed"));
}

/* Upsert (obj) or delete (obj NULL) one pod; lock held. */
static void pod_update_locked(struct polagent *pa, const char *ns, const char *name,
			      const json_t *obj)
{
	double t0 = now_s();
	struct gerr e = { 0 };
	char key[512];

	pod_key(ns, name, key, sizeof(key));
	if (!obj || pod_finished(obj)) {
		bool known = json_object_get(pa->pods, key) != NULL;
		uint32_t ip;

		if (!known)
			return;
		ip = podinfo_del(pa, key);
		pol_delete_pod(pa->e, ns, name);
		commit_locked(pa, t0, key, ip);
		return;
	}
	json_t *eff = effective_pod(pa, key, obj);

	podinfo_set(pa, key, eff);
	if (pol_upsert_pod_json(pa->e, eff, &e))
		pr_warn("policy: pod %s: %s", key, e.msg);
	json_decref(eff);
	commit_locked(pa, t0, NULL, 0);
}

static void on_pod(void *arg, const char *type, const json_t *old, const json_t *obj)
{
	struct polagent *pa = arg;
	const char *ns = cj_str(obj, "metadata.namespace"), *name = cj_str(obj, "metadata.name");

	(void)old;
	if (!ns || !name)
		return;
	pthread_mutex_lock(&pa->lock);
	pod_update_locked(pa, ns, name, strcmp(type, "DELETED") ? obj : NULL);
	pthread_mutex_unlock(&pa->lock);
}

static void on_namespace(void *arg, const char *type, const json_t *old, const json_t *obj)
{
	struct polagent *pa = arg;
	const char *name = cj_str(obj, "metadata.name");
	struct gerr e = { 0 };
	double t0 = now_s();

	(void)old;
	if (!name)
		return;
	pthread_mutex_lock(&pa->lock);
	if (!strcmp(type, "DELETED"))
		pol_delete_namespace(pa->e, name);
	else if (pol_upsert_namespace(pa->e, name, json_object_get(json_object_get(obj, "metadata"),
								   "labels"), &e))
		pr_warn("policy: namespace %s: %s", name, e.msg);
	commit_locked(pa, t0, NULL, 0);
	pthread_mutex_unlock(&pa->lock);
}

static void on_policy(void *arg, const char *type, const json_t *old, const json_t *obj)
{
	struct polagent *pa = arg;
	const char *ns = cj_str(obj, "metadata.namespace"), *name = cj_str(obj, "metadata.name");
	struct gerr e = { 0 };
	double t0 = now_s();

	(void)old;
	if (!name)
		return;
	pthread_mutex_lock(&pa->lock);
	if (!strcmp(type, "DELETED")) {
		pol_delete_policy(pa->e, ns ? ns : "default", name);
	} else if (pol_upsert_policy(pa->e, obj, &e)) {
		/* the API server validates; an invalid stored policy keeps
		 * its previous version (if any) rather than opening up */
		pr_warn("policy: NetworkPolicy %s/%s ignored: %s", ns ? ns : "default", name, e.msg);
	} else {
		pr_info("policy: NetworkPolicy %s/%s %s", ns ? ns : "default", name,
			!strcmp(type, "ADDED") ? "added" : "updated");
	}
	commit_locked(pa, t0, NULL, 0);
	pthread_mutex_unlock(&pa->lock);
}

static void on_node(void *arg, const char *type, const json_t *old, const json_t *obj)
{
	struct polagent *pa = arg;
	const char *name = cj_str(obj, "metadata.name");

	(void)old;
	if (!name)
		return;
	pthread_mutex_lock(&pa->lock);
	if (pa->synced) {
		double t0 = now_s();

		observe_apply(pa, t0, prog_node(pa, name, strcmp(type, "DELETED") ?
						 node_internal_ip(obj) : NULL));
	}
	pthread_mutex_unlock(&pa->lock);
}

/* ---- first sync -------------------------------------------------------------------- */

struct stale_walk {
	json_t *want;                  /* "a.b.c.d/len" programmed by this sync */
	uint32_t *ip;
	uint8_t *len;
	size_t n, cap;
};

static void want_add(json_t *want, uint32_t ip_be, uint8_t len)
{
	char b[INET_ADDRSTRLEN], k[32];

	snprintf(k, sizeof(k), "%s/%u", ip_str(ip_be, b), len);
	json_object_set_new(want, k, json_true());
}

static int stale_cb(const struct dp_ipcache_entry *e, void *arg)
{
	struct stale_walk *w = arg;
	char b[INET_ADDRSTRLEN], k[32];

	/* remote node pod CIDRs are routing (peers/kubelet), not ours */
	if (e->remote || !e->identity)
		return 0;
	snprintf(k, sizeof(k), "%s/%u", ip_str(e->prefix, b), e->prefix_len);
	if (json_object_get(w->want, k))
		return 0;
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 64;
		uint32_t *ip = realloc(w->ip, cap * sizeof(*ip));
		uint8_t *len;

		if (!ip)
			return -ENOMEM;
		w->ip = ip;
		len = realloc(w->len, cap);
		if (!len)
			return -ENOMEM;
		w->len = len;
		w->cap = cap;
	}
	w->ip[w->n] = e->prefix;
	w->len[w->n++] = e->prefix_len;
	return 0;
}

/* Identity entries left by a previous agent for pods, ipBlocks or nodes
 * that went away while it was down. */
static int remove_stale_ipcache(struct polagent *pa, json_t *want)
{
	struct stale_walk w = { .want = want };
	struct gerr e = { 0 };
	int ret, errs = 0;

	pthread_mutex_lock(&pa->a->dp_lock);
	ret = pa->a->dp ? dp_ipcache_foreach(pa->a->dp, stale_cb, &w, &e) : -ENODEV;
	pthread_mutex_unlock(&pa->a->dp_lock);
	if (ret)
		pr_warn("policy: ipcache walk: %s", e.msg[0] ? e.msg : strerror(-ret));
	for (size_t i = 0; !ret && i < w.n; i++)
		errs += prog_ipcache(pa, w.ip[i], w.len[i], 0, 0);
	if (w.n)
		pr_info("policy: removed %zu stale ipcache identities", w.n);
	free(w.ip);
	free(w.len);
	return errs;
}

static int full_resync(struct polagent *pa)
{
	struct pol_ipcache_change *ipc = NULL;
	struct pol_changes c = { 0 };
	json_t *nodes, *want = json_object();
	const char *key;
	json_t *p;
	size_t n = 0, i, local = 0;
	struct set_batch b = { 0 };
	int errs = 0;

	pol_commit(pa->e);
	pol_changes_take(pa->e, &c);      /* superseded by what follows */
	pol_changes_free(&c);
	if (!pol_ipcache_dump(pa->e, &ipc, &n)) {
		for (i = 0; i < n; i++) {
			uint32_t ip_be = htonl(ipc[i].ip);

			errs += prog_ipcache(pa, ip_be, ipc[i].prefixlen, ipc[i].identity,
					     ipc[i].prefixlen == 32 ? pod_node_ip(pa, ip_be) : 0);
			want_add(want, ip_be, ipc[i].prefixlen);
		}
		free(ipc);
	} else {
		json_decref(want);   /* incomplete: remove nothing */
		want = NULL;
	}
	nodes = informer_list(informers_get(&pa->inf, CK_NODE), NULL);
	json_array_foreach(nodes, i, p)
		if (cj_str(p, "metadata.name"))
			errs += prog_node(pa, cj_str(p, "metadata.name"), node_internal_ip(p));
	json_decref(nodes);
	if (want) {
		json_object_foreach(pa->node_ips, key, p)
			want_add(want, ip_parse(json_string_value(p)), 32);
		errs += remove_stale_ipcache(pa, want);
		json_decref(want);
	}
	json_object_foreach(pa->local, key, p) {
		char k[512], *name;
		uint32_t ip = local_ep_split(pa, key, k, sizeof(k), &name);

		if (!ip)
			continue;
		batch_add(pa, &b, k, name, ip);
		local++;
	}
	errs += batch_flush(pa, &b);
	errs += sweep_identities(pa);
	count_enforced(pa);
	pr_info("policy: synced: %zu ipcache entries, %zu local endpoints, %d errors", n, local,
		errs);
	return errs;
}

static void *sync_thread(void *arg)
{
	struct polagent *pa = arg;
	double t0;

	while (!pa->stop && !informers_wait_synced(&pa->inf, 1000, &pa->stop))
		;
	if (pa->stop)
		return NULL;
	pthread_mutex_lock(&pa->lock);
	t0 = now_s();
	pa->synced = true;
	observe_apply(pa, t0, full_resync(pa));
	pthread_cond_broadcast(&pa->synced_cv);
	pthread_mutex_unlock(&pa->lock);
	return NULL;
}

/* ---- CNI ADD hook -------------------------------------------------------------------- */

static json_t *fetch_pod(struct polagent *pa, const char *ns, const char *name, struct gerr *err)
{
	struct apiclient *c = NULL;
	struct api_resp r = { 0 };
	json_t *pod = NULL;
	char path[600];

	pod = informer_get(informers_get(&pa->inf, CK_POD), ns, name);
	if (pod)
		return pod;
	/* the informer may lag the bind that made the kubelet start it */
	ctrl_kind_path(&ctrl_kinds[CK_POD], ns, name, NULL, path, sizeof(path));
	if (apiclient_new(&pa->kc, &(struct apiclient_opts){ .timeout_ms = 5000 }, &c, err))
		return NULL;
	if (!apiclient_get(c, path, &r, err)) {
		if (api_ok(&r))
			pod = json_incref(r.body);
		else
			gerr_set(err, r.status == 404 ? -ENOENT : -EIO, "GET %s: %ld %s", path,
				 r.status, r.message);
	}
	api_resp_free(&r);
	apiclient_free(c);
	return pod;
}

int policy_cni_add(struct agent *a, const char *ns, const char *name, uint32_t ip,
		   uint32_t *identity, struct gerr *err)
{
	struct polagent *pa;
	struct timespec dl;
	char key[512], b[INET_ADDRSTRLEN];
	json_t *pod = NULL;
	double t0 = now_s();
	int ret = 0, errs;

	(void)a;
	*identity = 0;
	pthread_mutex_lock(&g_lock);
	pa = g_pa;
	pthread_mutex_unlock(&g_lock);
	if (!pa || !ns || !name || !*ns || !*name)
		return 0;
	pod = fetch_pod(pa, ns, name, err);
	if (!pod)
		return err->code ? err->code : gerr_set(err, -ENOENT, "pod %s/%s unknown", ns, name);
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += POL_SYNC_WAIT_MS / 1000;
	pthread_mutex_lock(&pa->lock);
	while (!pa->synced && !pa->stop)
		if (pthread_cond_timedwait(&pa->synced_cv, &pa->lock, &dl) == ETIMEDOUT)
			break;
	if (!pa->synced) {
		ret = gerr_set(err, -EAGAIN, "network policy not synced with the API server yet");
		goto out;
	}
	pod_key(ns, name, key, sizeof(key));
	json_object_set_new(pa->cni_ips, key, json_string(ip_str(ip, b)));
	/* the cached object may be newer than ours (labels): prefer it */
	{
		json_t *cached = informer_get(informers_get(&pa->inf, CK_POD), ns, name);

		if (cached) {
			json_decref(pod);
			pod = cached;
		}
	}
	{
		json_t *eff = effective_pod(pa, key, pod);
		struct pol_changes c = { 0 };
		struct gerr e = { 0 };

		/* force our address even if the object carries a stale one */
		if (strcmp(cj_str(eff, "status.podIP") ?: "", b)) {
			json_t *cp = json_copy(eff), *st = json_copy(json_object_get(eff, "status"));

			json_decref(eff);
			json_object_set_new(st, "podIP", json_string(b));
			json_object_set_new(cp, "status", st);
			eff = cp;
		}
		podinfo_set(pa, key, eff);
		json_object_set_new(json_object_get(pa->pods, key), "local", json_true());
		json_object_set_new(pa->local, key, json_true());
		json_object_set_new(json_object_get(pa->pods, key), "node_ip", json_integer(0));
		ret = pol_upsert_pod_json(pa->e, eff, &e);
		json_decref(eff);
		if (ret) {
			gerr_set(err, ret, "policy: %s", e.msg);
			goto out;
		}
		bool listed = false;

		pol_changes_take(pa->e, &c);
		for (size_t i = 0; i < c.n_endpoints && !listed; i++)
			listed = !c.endpoints[i].removed && !strcmp(c.endpoints[i].ns, ns) &&
				 !strcmp(c.endpoints[i].name, name);
		errs = apply_changes(pa, &c, NULL, 0);
		pol_changes_free(&c);
		/* this endpoint even if its rules did not change (it may
		 * have been known without an address); apply_changes has
		 * programmed it already when the change set lists it */
		if (!listed)
			errs += prog_endpoint(pa, ns, name, ip);
		observe_apply(pa, t0, errs);
		if (errs) {
			ret = gerr_set(err, -EIO, "programming the policy of %s failed", key);
			goto out;
		}
		*identity = pol_pod_identity(pa->e, ns, name);
		json_object_set_new(pa->ep_ids, key, json_integer(*identity));
		if (!listed)
			count_enforced(pa);
	}
out:
	pthread_mutex_unlock(&pa->lock);
	json_decref(pod);
	return ret;
}

void policy_cni_added(struct agent *a, const char *ns, const char *name, uint32_t ip)
{
	struct polagent *pa;
	char key[512];
	uint32_t id;

	(void)a;
	pthread_mutex_lock(&g_lock);
	pa = g_pa;
	pthread_mutex_unlock(&g_lock);
	if (!pa || !ns || !name || !*ns || !*name)
		return;
	pod_key(ns, name, key, sizeof(key));
	pthread_mutex_lock(&pa->lock);
	/* a label event between policy_cni_add and the endpoint's creation
	 * found no endpoint to renumber: do it now (usually a no-op) */
	id = pol_pod_identity(pa->e, ns, name);
	if (id)
		prog_ep_identity(pa, key, ip, id);
	pthread_mutex_unlock(&pa->lock);
}

void policy_cni_forget(struct agent *a, const char *ns, const char *name, uint32_t ip)
{
	struct polagent *pa;
	char key[512], b[INET_ADDRSTRLEN];

	(void)a;
	pthread_mutex_lock(&g_lock);
	pa = g_pa;
	pthread_mutex_unlock(&g_lock);
	if (!pa || !ns || !name)
		return;
	pod_key(ns, name, key, sizeof(key));
	pthread_mutex_lock(&pa->lock);
	if (jstr(pa->cni_ips, key) && !strcmp(jstr(pa->cni_ips, key), ip_str(ip, b))) {
		json_t *obj = informer_get(informers_get(&pa->inf, CK_POD), ns, name);

		json_object_del(pa->cni_ips, key);
		pod_update_locked(pa, ns, name, obj);
		json_decref(obj);
	}
	pthread_mutex_unlock(&pa->lock);
}

/* ---- flows ---------------------------------------------------------------------------- */

struct flow {
	uint64_t seq;                  /* 0 = empty slot */
	int64_t t_ns;                  /* wall clock */
	bool allowed;
	char src[256], dst[256];       /* "ns/name" or "" */
	char *line;                    /* JSON + "\n" */
};

/* Static: /flows readers may outlive a policy_stop() racing with the
 * HTTPS server's shutdown. */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t cv;
	struct flow ring[FLOW_RING];
	uint64_t next_seq;             /* seq of the next flow (first is 1) */
	uint64_t total[2];             /* [allowed] */
	bool stopping;
} g_flows = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, { { 0 } }, 1, { 0 }, false };

static const char *proto_name(uint8_t p, char *buf, size_t len)
{
	switch (p) {
	case 1: return "ICMP";
	case 6: return "TCP";
	case 17: return "UDP";
	case 132: return "SCTP";
	default: snprintf(buf, len, "%u", p); return buf;
	}
}

static json_t *peer_json(struct polagent *pa, uint32_t ip_be, uint16_t port, uint32_t id,
			 char *key_out, size_t key_len)
{
	char b[INET_ADDRSTRLEN];
	const char *key;
	json_t *o = json_pack("{s:s}", "ip", ip_str(ip_be, b));

	if (port)
		json_object_set_new(o, "port", json_integer(port));
	key_out[0] = 0;
	pthread_mutex_lock(&pa->lock);
	key = jstr(pa->ip2pod, b);
	if (key) {
		const char *sl = strchr(key, '/');

		snprintf(key_out, key_len, "%s", key);
		if (sl) {
			json_object_set_new(o, "ns", json_stringn(key, (size_t)(sl - key)));
			json_object_set_new(o, "pod", json_string(sl + 1));
		}
	} else {
		/* node addresses by name */
		const char *nname;
		json_t *v;

		json_object_foreach(pa->node_ips, nname, v)
			if (!strcmp(json_string_value(v), b)) {
				json_object_set_new(o, "node", json_string(nname));
				break;
			}
	}
	if (!id && pa->e)
		id = pol_ip_identity(pa->e, b);
	pthread_mutex_unlock(&pa->lock);
	json_object_set_new(o, "identity", json_integer(id));
	return o;
}

static void fmt_time(int64_t t_ns, char *buf, size_t len)
{
	time_t s = (time_t)(t_ns / 1000000000LL);
	struct tm tm;
	char d[32];

	gmtime_r(&s, &tm);
	strftime(d, sizeof(d), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%09lldZ", d, (long long)(t_ns % 1000000000LL));
}

static int event_cb(const struct dp_event *ev, void *arg)
{
	struct polagent *pa = arg;
	struct timespec rt, mt;
	struct flow f = { 0 };
	char tbuf[48], pbuf[8];
	const char *reason;
	json_t *o;
	int64_t t_ns;

	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_MONOTONIC, &mt);
	t_ns = (int64_t)rt.tv_sec * 1000000000LL + rt.tv_nsec -
	       ((int64_t)mt.tv_sec * 1000000000LL + mt.tv_nsec - (int64_t)ev->ts_ns);
	fmt_time(t_ns, tbuf, sizeof(tbuf));
	reason = ev->allowed ? "policy-allowed" : dp_drop_name(ev->code);
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:s, s:i, s:i}",
		      "time", tbuf, "node", pa->a->cfg.node_name,
		      "verdict", ev->allowed ? "allowed" : "dropped",
		      "reason", reason ? reason : "unknown",
		      "direction", ev->dir == DP_POL_INGRESS ? "ingress" :
				   ev->dir == DP_POL_EGRESS ? "egress" : "",
		      "proto", !ev->proto && !ev->saddr && !ev->daddr ? "non-IPv4" :
			       proto_name(ev->proto, pbuf, sizeof(pbuf)),
		      "src", peer_json(pa, ev->saddr, ev->sport, ev->src_identity, f.src, sizeof(f.src)),
		      "dst", peer_json(pa, ev->daddr, ev->dport, ev->dst_identity, f.dst, sizeof(f.dst)),
		      "hook", ev->hook ? ev->hook : "", "ifindex", (int)ev->ifindex,
		      "len", (int)ev->len);
	if (!o)
		return 0;
	f.line = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (!f.line)
		return 0;
	{
		size_t n = strlen(f.line);
		char *l = realloc(f.line, n + 2);

		if (!l) {
			free(f.line);
			return 0;
		}
		l[n] = '\n';
		l[n + 1] = 0;
		f.line = l;
	}
	f.t_ns = t_ns;
	f.allowed = ev->allowed;
	pthread_mutex_lock(&g_flows.lock);
	f.seq = g_flows.next_seq++;
	free(g_flows.ring[f.seq % FLOW_RING].line);
	g_flows.ring[f.seq % FLOW_RING] = f;
	g_flows.total[f.allowed ? 1 : 0]++;
	pthread_cond_broadcast(&g_flows.cv);
	pthread_mutex_unlock(&g_flows.lock);
	return 0;
}

static void *event_thread(void *arg)
{
	struct polagent *pa = arg;
	int fails = 0;

	while (!pa->stop) {
		struct gerr e = { 0 };
		int ret;

		/* not under dp_lock: the ring buffer is this thread's alone
		 * and map updates need not wait for a poll timeout */
		ret = pa->a->dp ? dp_events_poll(pa->a->dp, FLOW_POLL_MS, event_cb, pa, &e) : -ENODEV;
		if (ret < 0 && ret != -EINTR) {
			if (!fails++)
				pr_warn("policy: flow events unavailable: %s", e.msg);
			for (int i = 0; i < 10 && !pa->stop; i++)
				nanosleep(&(struct timespec){ 0, 100 * 1000000L }, NULL);
		}
	}
	return NULL;
}

/* ---- GET /flows -------------------------------------------------------------------------- */

struct flows_req {
	uint64_t next;                 /* next seq to look at */
	bool follow;
	int verdict;                   /* -1 any, 0 dropped, 1 allowed */
	char pod[256];                 /* "" = any */
	int64_t since_ns;
	int fd;                        /* client socket: notices a gone client */
};

static bool flow_match(const struct flows_req *q, const struct flow *f)
{
	if (q->verdict >= 0 && f->allowed != (q->verdict == 1))
		return false;
	if (q->pod[0] && strcmp(q->pod, f->src) && strcmp(q->pod, f->dst))
		return false;
	return f->t_ns >= q->since_ns;
}

static ssize_t flows_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct flows_req *q = cls;
	size_t n = 0;

	(void)pos;
	pthread_mutex_lock(&g_flows.lock);
	for (;;) {
		uint64_t oldest = g_flows.next_seq > FLOW_RING ? g_flows.next_seq - FLOW_RING : 1;

		if (q->next < oldest)
			q->next = oldest;
		while (q->next < g_flows.next_seq) {
			struct flow *f = &g_flows.ring[q->next % FLOW_RING];
			size_t l;

			if (f->seq != q->next || !f->line || !flow_match(q, f)) {
				q->next++;
				continue;
			}
			l = strlen(f->line);
			if (l > max - n) {
				if (!n && l > max)
					q->next++;   /* cannot fit: skip rather than loop */
				break;
			}
			memcpy(buf + n, f->line, l);
			n += l;
			q->next++;
		}
		if (n)
			break;
		if (!q->follow || g_flows.stopping) {
			pthread_mutex_unlock(&g_flows.lock);
			return MHD_CONTENT_READER_END_OF_STREAM;
		}
		{
			struct timespec dl;
			struct pollfd p = { .fd = q->fd, .events = POLLRDHUP };

			clock_gettime(CLOCK_REALTIME, &dl);
			dl.tv_nsec += 500 * 1000000L;
			if (dl.tv_nsec >= 1000000000L) {
				dl.tv_sec++;
				dl.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&g_flows.cv, &g_flows.lock, &dl);
			/* MHD only notices a gone client when it writes */
			if (q->fd >= 0 && poll(&p, 1, 0) > 0 &&
			    (p.revents & (POLLRDHUP | POLLHUP | POLLERR))) {
				pthread_mutex_unlock(&g_flows.lock);
				return MHD_CONTENT_READER_END_WITH_ERROR;
			}
		}
	}
	pthread_mutex_unlock(&g_flows.lock);
	return (ssize_t)n;
}

static int64_t parse_since(const char *s)
{
	struct timespec now;
	long ms;
	time_t t;
	char *end;

	if (!s || !*s)
		return 0;
	clock_gettime(CLOCK_REALTIME, &now);
	/* a bare number this large is a time (Unix seconds), not a duration */
	ms = strtol(s, &end, 10);
	if (!*end && ms >= 1000000000L)
		return (int64_t)ms * 1000000000LL;
	ms = duration_parse_ms(s);
	if (ms >= 0)
		return (int64_t)now.tv_sec * 1000000000LL + now.tv_nsec - (int64_t)ms * 1000000LL;
	t = ctrl_parse_time(s);
	if (t >= 0)
		return (int64_t)t * 1000000000LL;
	return -1;
}

int policy_http(struct agent *a, struct MHD_Connection *c, const char *url, const char *method)
{
	const char *follow, *verdict, *pod, *since;
	const union MHD_ConnectionInfo *ci;
	struct MHD_Response *r;
	struct flows_req *q;
	enum MHD_Result ret;

	(void)a;
	if (strcmp(url, "/flows"))
		return -1;
	if (strcmp(method, "GET"))
		return kubelet_reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET\n");
	follow = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "follow");
	verdict = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "verdict");
	pod = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "pod");
	since = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "since");
	q = calloc(1, sizeof(*q));
	if (!q)
		return kubelet_reply(c, 500, "out of memory\n");
	q->follow = follow && (!strcmp(follow, "true") || !strcmp(follow, "1"));
	q->verdict = -1;
	if (verdict && *verdict) {
		if (!strcmp(verdict, "dropped") || !strcmp(verdict, "denied"))
			q->verdict = 0;
		else if (!strcmp(verdict, "allowed"))
			q->verdict = 1;
		else {
			free(q);
			return kubelet_reply(c, 400, "verdict: must be dropped or allowed\n");
		}
	}
	if (pod && *pod) {
		if (!strchr(pod, '/') || strlen(pod) >= sizeof(q->pod)) {
			free(q);
			return kubelet_reply(c, 400, "pod: must be namespace/name\n");
		}
		snprintf(q->pod, sizeof(q->pod), "%s", pod);
	}
	q->since_ns = parse_since(since);
	if (q->since_ns < 0) {
		free(q);
		return kubelet_reply(c, 400, "since: a duration (5m), RFC 3339 time or Unix seconds\n");
	}
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	q->fd = ci ? ci->connect_fd : -1;
	/* follow without since: only new flows, like kubectl logs -f --tail=0
	 * would; without follow: everything kept */
	pthread_mutex_lock(&g_flows.lock);
	q->next = q->follow && !since ? g_flows.next_seq : 1;
	pthread_mutex_unlock(&g_flows.lock);
	r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, flows_read, q, free);
	if (!r) {
		free(q);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", "application/x-ndjson");
	MHD_add_response_header(r, "Cache-Control", "no-cache");
	ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

/* ---- metrics ------------------------------------------------------------------------------- */

char *policy_metrics_text(struct agent *a)
{
	struct polagent *pa;
	struct pol_stats st = { 0 };
	char *buf = NULL;
	size_t len = 0;
	uint64_t tot[2];
	FILE *f;

	(void)a;
	f = open_memstream(&buf, &len);
	if (!f)
		return NULL;
	pthread_mutex_lock(&g_flows.lock);
	tot[0] = g_flows.total[0];
	tot[1] = g_flows.total[1];
	pthread_mutex_unlock(&g_flows.lock);
	pthread_mutex_lock(&g_lock);
	pa = g_pa;
	if (pa) {
		pthread_mutex_lock(&pa->lock);
		pol_get_stats(pa->e, &st);
		fprintf(f,
			"# HELP gannet_policy_synced 1 once the policy engine has synced with the API server.\n"
			"# TYPE gannet_policy_synced gauge\ngannet_policy_synced %d\n"
			"# HELP gannet_policy_identities Security identities known to the node (label sets).\n"
			"# TYPE gannet_policy_identities gauge\ngannet_policy_identities %zu\n"
			"# HELP gannet_policy_cidr_identities CIDR identities (ipBlock prefixes).\n"
			"# TYPE gannet_policy_cidr_identities gauge\ngannet_policy_cidr_identities %zu\n"
			"# HELP gannet_policy_networkpolicies NetworkPolicies known to the node.\n"
			"# TYPE gannet_policy_networkpolicies gauge\ngannet_policy_networkpolicies %zu\n"
			"# HELP gannet_policy_pods Pods of the cluster known to the engine.\n"
			"# TYPE gannet_policy_pods gauge\ngannet_policy_pods %zu\n"
			"# HELP gannet_policy_enforced_endpoints Local endpoints with policy enforced, by direction.\n"
			"# TYPE gannet_policy_enforced_endpoints gauge\n"
			"gannet_policy_enforced_endpoints{direction=\"ingress\"} %zu\n"
			"gannet_policy_enforced_endpoints{direction=\"egress\"} %zu\n"
			"# HELP gannet_policy_apply_errors_total Map updates that failed while applying policy.\n"
			"# TYPE gannet_policy_apply_errors_total counter\ngannet_policy_apply_errors_total %llu\n"
			"# HELP gannet_policy_last_apply_seconds Duration of the last apply (event to maps).\n"
			"# TYPE gannet_policy_last_apply_seconds gauge\ngannet_policy_last_apply_seconds %.6f\n"
			"# HELP gannet_policy_apply_duration_seconds Time from an informer event (or CNI ADD) to its programming in the maps.\n"
			"# TYPE gannet_policy_apply_duration_seconds histogram\n",
			pa->synced ? 1 : 0, st.identities, st.cidr_identities, st.policies, st.pods,
			pa->enforced[0], pa->enforced[1], (unsigned long long)pa->apply_errors,
			pa->last_apply_s);
		for (size_t i = 0; i < N_BUCKETS; i++)
			fprintf(f, "gannet_policy_apply_duration_seconds_bucket{le=\"%g\"} %llu\n",
				lat_buckets[i], (unsigned long long)pa->lat_hist[i]);
		fprintf(f, "gannet_policy_apply_duration_seconds_bucket{le=\"+Inf\"} %llu\n"
			"gannet_policy_apply_duration_seconds_sum %.6f\n"
			"gannet_policy_apply_duration_seconds_count %llu\n",
			(unsigned long long)pa->lat_count, pa->lat_sum,
			(unsigned long long)pa->lat_count);
		pthread_mutex_unlock(&pa->lock);
		fprintf(f, "# HELP gannet_policy_flows_total Verdict events turned into flows, by verdict.\n"
			"# TYPE gannet_policy_flows_total counter\n"
			"gannet_policy_flows_total{verdict=\"dropped\"} %llu\n"
			"gannet_policy_flows_total{verdict=\"allowed\"} %llu\n",
			(unsigned long long)tot[0], (unsigned long long)tot[1]);
	}
	pthread_mutex_unlock(&g_lock);
	fclose(f);
	return buf;
}

/* ---- component ------------------------------------------------------------------------------- */

static void pa_free(struct polagent *pa)
{
	pol_engine_free(pa->e);
	json_decref(pa->pods);
	json_decref(pa->local);
	json_decref(pa->ip2pod);
	json_decref(pa->cni_ips);
	json_decref(pa->ep_ids);
	json_decref(pa->node_ips);
	kubeconfig_free(&pa->kc);
	free(pa);
}

int policy_start(struct agent *a, struct gerr *err)
{
	struct polagent *pa;
	struct gerr e = { 0 };
	int ret;

	if (!a->cfg.kubeconfig[0])
		return 0;
	pa = calloc(1, sizeof(*pa));
	if (!pa)
		return gerr_set(err, -ENOMEM, "out of memory");
	pa->a = a;
	pthread_mutex_init(&pa->lock, NULL);
	pthread_cond_init(&pa->synced_cv, NULL);
	pa->e = pol_engine_new();
	pa->pods = json_object();
	pa->local = json_object();
	pa->ip2pod = json_object();
	pa->cni_ips = json_object();
	pa->ep_ids = json_object();
	pa->node_ips = json_object();
	if (!pa->e || !pa->pods || !pa->local || !pa->ip2pod || !pa->cni_ips || !pa->ep_ids || !pa->node_ips) {
		pa_free(pa);
		return gerr_set(err, -ENOMEM, "out of memory");
	}
	ret = kubeconfig_load(a->cfg.kubeconfig, NULL, &pa->kc, err);
	if (ret) {
		pol_engine_free(pa->e);
		pa->e = NULL;
		json_decref(pa->pods);
		json_decref(pa->local);
		json_decref(pa->ip2pod);
		json_decref(pa->cni_ips);
		json_decref(pa->ep_ids);
		json_decref(pa->node_ips);
		free(pa);
		return gerr_wrap(err, "policy: kubeconfig %s", a->cfg.kubeconfig);
	}
	pthread_mutex_lock(&a->dp_lock);
	if (a->dp && dp_policy_set_allow_events(a->dp, a->cfg.policy_allow_events, &e))
		pr_warn("policy: allow events: %s", e.msg);
	pthread_mutex_unlock(&a->dp_lock);
	/* the initial lists only fill the engine; the sync thread commits */
	pol_begin(pa->e);
	informer_add_handler(informers_get(&pa->inf, CK_NAMESPACE), on_namespace, pa);
	informer_add_handler(informers_get(&pa->inf, CK_POD), on_pod, pa);
	informer_add_handler(informers_get(&pa->inf, CK_NETWORKPOLICY), on_policy, pa);
	informer_add_handler(informers_get(&pa->inf, CK_NODE), on_node, pa);
	pthread_mutex_lock(&g_lock);
	g_pa = pa;
	pthread_mutex_unlock(&g_lock);
	pthread_mutex_lock(&g_flows.lock);
	g_flows.stopping = false;
	pthread_mutex_unlock(&g_flows.lock);
	if (informers_start(&pa->inf, &pa->kc, &pa->stop, err)) {
		pr_warn("policy: %s", err->msg);
		memset(err, 0, sizeof(*err));
	}
	pa->inf_started = true;
	pa->sync_started = !pthread_create(&pa->sync_th, NULL, sync_thread, pa);
	pa->ev_started = !pthread_create(&pa->ev_th, NULL, event_thread, pa);
	pr_info("policy: engine started (allow events %s)",
		a->cfg.policy_allow_events ? "on" : "off");
	return 0;
}

void policy_stop(struct agent *a)
{
	struct polagent *pa;

	(void)a;
	pthread_mutex_lock(&g_lock);
	pa = g_pa;
	pthread_mutex_unlock(&g_lock);
	if (!pa)
		return;
	/* programmed state stays in the pinned maps: enforcement goes on
	 * while the agent is away */
	pa->stop = 1;
	pthread_mutex_lock(&pa->lock);
	pthread_cond_broadcast(&pa->synced_cv);
	pthread_mutex_unlock(&pa->lock);
	pthread_mutex_lock(&g_flows.lock);
	g_flows.stopping = true;
	pthread_cond_broadcast(&g_flows.cv);
	pthread_mutex_unlock(&g_flows.lock);
	if (pa->sync_started)
		pthread_join(pa->sync_th, NULL);
	if (pa->ev_started)
		pthread_join(pa->ev_th, NULL);
	if (pa->inf_started)
		informers_join_free(&pa->inf);
	pthread_mutex_lock(&g_lock);
	g_pa = NULL;
	pthread_mutex_unlock(&g_lock);
	pa_free(pa);
}

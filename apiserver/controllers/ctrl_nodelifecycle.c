/* SPDX-License-Identifier: Apache-2.0 */
/* Node lifecycle controller: agents renew a Lease named after their node in
 * kube-node-lease. When a lease has not changed for the grace period (40 s
 * by default) the node's Ready condition becomes Unknown and it gets the
 * node.kubernetes.io/unreachable taint (NoSchedule + NoExecute); after the
 * eviction timeout (or a pod's own tolerationSeconds) its pods are deleted
 * so that their controllers recreate them on other nodes. Lease age is
 * measured on our own clock from when we saw renewTime change, so clock
 * skew between agents and the server does not matter. */
#include "apiserver/controllers/ctrl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NL_LEASE_NS "kube-node-lease"
#define NL_REASON   "NodeStatusUnknown"

/* ---- pure part ------------------------------------------------------------- */

bool nl_lease_expired(int64_t seen_ms, int64_t now_ms, long grace_ms)
{
	return now_ms - seen_ms > grace_ms;
}

int64_t nl_evict_in_ms(const json_t *pod, int64_t unreachable_ms, int64_t now_ms,
		       long default_ms)
{
	size_t i;
	json_t *t;

	json_array_foreach(sel_lookup_path(pod, "spec.tolerations"), i, t) {
		const char *k = cj_str(t, "key") ?: "", *op = cj_str(t, "operator") ?: "Equal";
		const char *e = cj_str(t, "effect") ?: "";
		const json_t *ts;

		if (*e && strcmp(e, "NoExecute"))
			continue;
		if (*k ? strcmp(k, NL_TAINT_UNREACHABLE) : strcmp(op, "Exists"))
			continue;
		ts = json_object_get(t, "tolerationSeconds");
		if (!json_is_integer(ts))
			return INT64_MAX;
		return unreachable_ms + json_integer_value(ts) * 1000 - now_ms;
	}
	return unreachable_ms + default_ms - now_ms;
}

/* ---- controller ------------------------------------------------------------- */

struct nl_state {
	json_t *nodes;  /* name -> {renew, seen, since}; worker thread only */
};

static void on_node(void *arg, const char *type, const json_t *old, const json_t *obj)
{
	ctrl_enqueue(arg, obj);
}

static void on_lease(void *arg, const char *type, const json_t *old, const json_t *obj)
{
	struct ctrl *c = arg;

	if (!strcmp(cj_str(obj, "metadata.namespace") ?: "", NL_LEASE_NS))
		wq_add(c->q, cj_str(obj, "metadata.name") ?: "");
}

static int nl_setup(struct ctrl *c, struct gerr *err)
{
	struct nl_state *s = calloc(1, sizeof(*s));
	int ret;

	if (!s)
		return -ENOMEM;
	s->nodes = json_object();
	c->priv = s;
	ret = informer_add_handler(informers_get(c->inf, CK_NODE), on_node, c);
	ret = ret ?: informer_add_handler(informers_get(c->inf, CK_LEASE), on_lease, c);
	/* Pods are listed from the cache when evicting. */
	informers_get(c->inf, CK_POD);
	return ret;
}

static void nl_cleanup(struct ctrl *c)
{
	struct nl_state *s = c->priv;

	if (s) {
		json_decref(s->nodes);
		free(s);
	}
	c->priv = NULL;
}

static bool has_our_taint(const json_t *node)
{
	size_t i;
	json_t *t;

	json_array_foreach(sel_lookup_path(node, "spec.taints"), i, t)
		if (!strcmp(cj_str(t, "key") ?: "", NL_TAINT_UNREACHABLE))
			return true;
	return false;
}

static const json_t *ready_cond(const json_t *node)
{
	size_t i;
	json_t *c;

	json_array_foreach(sel_lookup_path(node, "status.conditions"), i, c)
		if (!strcmp(cj_str(c, "type") ?: "", "Ready"))
			return c;
	return NULL;
}

/* Taints: ours added (unreachable) or removed; the rest kept. */
static int set_taints(struct ctrl *c, struct apiclient *api, const json_t *node, bool add,
		      struct gerr *err)
{
	json_t *taints = json_array(), *patch;
	char now[64];
	size_t i;
	json_t *t;
	int ret;

	json_array_foreach(sel_lookup_path(node, "spec.taints"), i, t)
		if (strcmp(cj_str(t, "key") ?: "", NL_TAINT_UNREACHABLE))
			json_array_append(taints, t);
	ctrl_format_time(time(NULL), now, sizeof(now));
	if (add) {
		json_array_append_new(taints, json_pack("{s:s, s:s, s:s}", "key", NL_TAINT_UNREACHABLE,
							"effect", "NoSchedule", "timeAdded", now));
		json_array_append_new(taints, json_pack("{s:s, s:s, s:s}", "key", NL_TAINT_UNREACHABLE,
							"effect", "NoExecute", "timeAdded", now));
	}
	patch = json_pack("{s:{s:s}, s:{s:o}}", "metadata", "resourceVersion",
			  cj_str(node, "metadata.resourceVersion") ?: "", "spec", "taints", taints);
	ret = ctrl_write(c, api, CK_NODE, "PATCH", NULL, cj_str(node, "metadata.name"), NULL,
			 patch, "merge", NULL, err);
	json_decref(patch);
	return ret;
}

static int set_ready(struct ctrl *c, struct apiclient *api, const json_t *node, const char *status,
		     const char *reason, const char *msg, struct gerr *err)
{
	json_t *conds = json_array(), *patch;
	char now[64];
	size_t i;
	json_t *x;
	int ret;

	ctrl_format_time(time(NULL), now, sizeof(now));
	json_array_foreach(sel_lookup_path(node, "status.conditions"), i, x)
		if (strcmp(cj_str(x, "type") ?: "", "Ready"))
			json_array_append(conds, x);
	json_array_append_new(conds, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "type", "Ready",
					       "status", status, "reason", reason, "message", msg,
					       "lastHeartbeatTime", now, "lastTransitionTime", now));
	patch = json_pack("{s:{s:o}}", "status", "conditions", conds);
	ret = ctrl_write(c, api, CK_NODE, "PATCH", NULL, cj_str(node, "metadata.name"), "status",
			 patch, "merge", NULL, err);
	json_decref(patch);
	return ret;
}

static int mark_not_ready(struct ctrl *c, struct apiclient *api, const json_t *pod,
			  struct gerr *err)
{
	json_t *conds = json_array(), *patch, *x;
	char now[64];
	size_t i;
	int ret;

	ctrl_format_time(time(NULL), now, sizeof(now));
	json_array_foreach(sel_lookup_path(pod, "status.conditions"), i, x) {
		if (!strcmp(cj_str(x, "type") ?: "", "Ready")) {
			json_t *n = json_deep_copy(x);

			json_object_set_new(n, "status", json_string("False"));
			json_object_set_new(n, "reason", json_string("NodeUnreachable"));
			json_object_set_new(n, "lastTransitionTime", json_string(now));
			json_array_append_new(conds, n);
		} else {
			json_array_append(conds, x);
		}
	}
	patch = json_pack("{s:{s:o}}", "status", "conditions", conds);
	ret = ctrl_write(c, api, CK_POD, "PATCH", cj_str(pod, "metadata.namespace"),
			 cj_str(pod, "metadata.name"), "status", patch, "merge", NULL, err);
	json_decref(patch);
	return ret;
}

static int nl_sync(struct ctrl *c, struct apiclient *api, const char *key, struct gerr *err)
{
	struct nl_state *s = c->priv;
	long grace = c->o->node_grace_ms > 0 ? c->o->node_grace_ms : CTRL_DEFAULT_NODE_GRACE_MS;
	long evict = c->o->eviction_timeout_ms > 0 ? c->o->eviction_timeout_ms : CTRL_DEFAULT_EVICTION_MS;
	json_t *node = informer_get(informers_get(c->inf, CK_NODE), NULL, key);
	json_t *lease = informer_get(informers_get(c->inf, CK_LEASE), NL_LEASE_NS, key);
	json_t *st, *pods = NULL;
	const char *renew;
	int64_t now = ctrl_now_ms(), next = 1000;
	int ret = 0;

	if (!node) {
		json_object_del(s->nodes, key);
		goto out;
	}
	renew = lease ? cj_str(lease, "spec.renewTime") : NULL;
	st = json_object_get(s->nodes, key);
	if (!st) {
		/* First sight (or our restart): the grace period starts now. */
		st = json_pack("{s:s, s:I, s:I}", "renew", renew ? renew : "", "seen", (json_int_t)now,
			       "since", (json_int_t)0);
		json_object_set_new(s->nodes, key, st);
	} else if (strcmp(cj_str(st, "renew") ?: "", renew ? renew : "")) {
		json_object_set_new(st, "renew", json_string(renew ? renew : ""));
		json_object_set_new(st, "seen", json_integer(now));
	}
	int64_t seen = cj_int(st, "seen", now), since = cj_int(st, "since", 0);
	const json_t *rc = ready_cond(node);

	if (nl_lease_expired(seen, now, grace)) {
		if (!since) {
			since = now;
			json_object_set_new(st, "since", json_integer(since));
			pr_info("nodelifecycle: node %s lease not renewed for %lld ms: NotReady",
				key, (long long)(now - seen));
		}
		/* Taints first: that write is guarded by the cached
		 * resourceVersion, the status one is not. */
		if (!has_our_taint(node)) {
			ret = set_taints(c, api, node, true, err);
			if (ret)
				goto out;
		}
		if (!rc || strcmp(cj_str(rc, "status") ?: "", "Unknown")) {
			ret = set_ready(c, api, node, "Unknown", NL_REASON,
					"Kubelet stopped posting node status.", err);
			if (ret)
				goto out;
		}
		pods = informer_list(informers_get(c->inf, CK_POD), NULL);
		size_t i;
		json_t *p;

		json_array_foreach(pods, i, p) {
			int64_t in;

			if (strcmp(cj_str(p, "spec.nodeName") ?: "", key) ||
			    cj_str(p, "metadata.deletionTimestamp"))
				continue;
			/* As Kubernetes' MarkPodsNotReady: endpoints stop
			 * sending traffic to pods nobody can vouch for. */
			if (ctrl_pod_ready(p)) {
				ret = mark_not_ready(c, api, p, err);
				if (ret && ret != -ENOENT)
					goto out;
				ret = 0;
			}
			in = nl_evict_in_ms(p, since, now, evict);
			if (in > 0) {
				if (in < next)
					next = in;
				continue;
			}
			ret = ctrl_write(c, api, CK_POD, "DELETE", cj_str(p, "metadata.namespace"),
					 cj_str(p, "metadata.name"), NULL, NULL, NULL, NULL, err);
			if (ret && ret != -ENOENT)
				goto out;
			ret = 0;
			pr_info("nodelifecycle: evicted pod %s/%s from unreachable node %s",
				cj_str(p, "metadata.namespace"), cj_str(p, "metadata.name"), key);
		}
	} else {
		json_object_set_new(st, "since", json_integer(0));
		if (has_our_taint(node)) {
			pr_info("nodelifecycle: node %s lease renewed again: Ready", key);
			ret = set_taints(c, api, node, false, err);
			if (ret)
				goto out;
		}
		/* Undo only what we did: a Ready=Unknown of ours. The agent
		 * owns every other status it reports. */
		if (rc && !strcmp(cj_str(rc, "reason") ?: "", NL_REASON)) {
			ret = set_ready(c, api, node, "True", "KubeletReady",
					"node lease renewed", err);
			if (ret)
				goto out;
		}
		next = seen + grace - now + 50;
		if (next > 1000)
			next = 1000;
	}
out:
	if (node)
		wq_add_after(c->q, key, next > 0 ? next : 50);
	json_decref(pods);
	json_decref(node);
	json_decref(lease);
	return ret;
}

const struct ctrl_desc ctrl_nodelifecycle_desc = {
	.name = "nodelifecycle",
	.setup = nl_setup,
	.sync = nl_sync,
	.cleanup = nl_cleanup,
};

/* SPDX-License-Identifier: Apache-2.0 */
/* Node IPAM controller: gives every Node a spec.podCIDR (and podCIDRs)
 * carved from the cluster CIDR (10.244.0.0/16, a /24 each by default). The
 * allocation is derived from the Nodes themselves (no private state), so it
 * is stable across restarts: the informer lists existing nodes before the
 * first allocation, and a node keeps its CIDR for its lifetime. */
#include "apiserver/controllers/ctrl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IPAM_MAX_SUBNETS (1u << 16)

/* ---- pure part ------------------------------------------------------------- */

static int parse_cidr(const char *s, uint32_t *addr, int *plen)
{
	char buf[64], *slash;
	struct in_addr a;
	long p;

	snprintf(buf, sizeof(buf), "%s", s ? s : "");
	slash = strchr(buf, '/');
	if (!slash)
		return -EINVAL;
	*slash = 0;
	if (inet_pton(AF_INET, buf, &a) != 1)
		return -EINVAL;
	p = strtol(slash + 1, NULL, 10);
	if (p < 0 || p > 32)
		return -EINVAL;
	*addr = ntohl(a.s_addr);
	*plen = (int)p;
	return 0;
}

int ipam_next_cidr(const char *cluster_cidr, int mask, const json_t *nodes,
		   char *out, size_t len, struct gerr *err)
{
	uint32_t base, n, a;
	int plen, ret = 0;
	unsigned char *used;
	size_t i, j;
	json_t *node, *c;

	if (parse_cidr(cluster_cidr, &base, &plen) || mask < plen || mask > 30)
		return gerr_set(err, -EINVAL, "bad cluster CIDR %s with node mask /%d",
				cluster_cidr ? cluster_cidr : "(null)", mask);
	if (mask - plen > 16)
		return gerr_set(err, -EINVAL, "too many node subnets (/%d in /%d)", mask, plen);
	base &= plen ? ~0u << (32 - plen) : 0;
	n = 1u << (mask - plen);
	used = calloc(n, 1);
	if (!used)
		return -ENOMEM;
	json_array_foreach(nodes, i, node) {
		const json_t *list = sel_lookup_path(node, "spec.podCIDRs");
		json_t *one = json_pack("[O]", sel_lookup_path(node, "spec.podCIDR") ?: json_null());

		for (int pass = 0; pass < 2; pass++)
			json_array_foreach(pass ? one : list, j, c) {
				uint32_t x;
				int xl;

				if (parse_cidr(json_string_value(c), &x, &xl))
					continue;
				if ((x & (plen ? ~0u << (32 - plen) : 0)) != base)
					continue;
				/* Any overlap blocks the subnets it covers. */
				uint32_t first = (x - base) >> (32 - mask);
				uint32_t cnt = xl >= mask ? 1 : 1u << (mask - xl);

				for (uint32_t k = first; k < first + cnt && k < n; k++)
					used[k] = 1;
			}
		json_decref(one);
	}
	for (a = 0; a < n && used[a]; a++)
		;
	if (a == n) {
		ret = gerr_set(err, -ENOSPC, "cluster CIDR %s has no free /%d", cluster_cidr, mask);
	} else {
		struct in_addr ia = { .s_addr = htonl(base + (a << (32 - mask))) };
		char ip[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &ia, ip, sizeof(ip));
		snprintf(out, len, "%s/%d", ip, mask);
	}
	free(used);
	return ret;
}

/* ---- controller ------------------------------------------------------------- */

static void on_node(void *arg, const char *type, const json_t *old, const json_t *obj)
{
	if (strcmp(type, "DELETED") && !cj_str(obj, "spec.podCIDR"))
		ctrl_enqueue(arg, obj);
}

static int ipam_setup(struct ctrl *c, struct gerr *err)
{
	return informer_add_handler(informers_get(c->inf, CK_NODE), on_node, c);
}

static int ipam_sync(struct ctrl *c, struct apiclient *api, const char *key, struct gerr *err)
{
	struct informer *inf = informers_get(c->inf, CK_NODE);
	json_t *node = informer_get(inf, NULL, key), *nodes = NULL, *patch = NULL;
	char cidr[64];
	int ret = 0;

	if (!node || cj_str(node, "spec.podCIDR"))
		goto out;
	nodes = informer_list(inf, NULL);
	ret = ipam_next_cidr(c->o->cluster_cidr ?: "10.244.0.0/16",
			     c->o->node_cidr_mask ?: 24, nodes, cidr, sizeof(cidr), err);
	if (ret)
		goto out;
	/* Guarded by resourceVersion: a concurrent change re-runs the
	 * decision on a fresh cache instead of double-allocating. */
	patch = json_pack("{s:{s:s}, s:{s:s, s:[s]}}", "metadata", "resourceVersion",
			  cj_str(node, "metadata.resourceVersion") ?: "",
			  "spec", "podCIDR", cidr, "podCIDRs", cidr);
	ret = ctrl_write(c, api, CK_NODE, "PATCH", NULL, key, NULL, patch, "merge", NULL, err);
	if (!ret)
		pr_info("nodeipam: node %s gets pod CIDR %s", key, cidr);
out:
	json_decref(patch);
	json_decref(nodes);
	json_decref(node);
	return ret;
}

const struct ctrl_desc ctrl_nodeipam_desc = {
	.name = "nodeipam",
	.setup = ipam_setup,
	.sync = ipam_sync,
};

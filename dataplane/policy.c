/* SPDX-License-Identifier: Apache-2.0 */
/* NetworkPolicy programming (docs/policy.md "BPF enforcement"): per local
 * endpoint and direction an allow set in its own inner hash map, swapped
 * into gnt_policy with one map update so that a packet sees the old set or
 * the new one, never a mix; the enforced directions mirrored into the
 * endpoint's flags (fail-closed when the set is missing); ipcache identity
 * entries; the allow-event switch. Like services.c, the pinned maps are the
 * truth: the pins are opened lazily and nothing is cached, so any process
 * opening the node's pins can program or read policy. */
#include "dataplane/dataplane.h"
#include "dataplane/dp_internal.h"
#include "dataplane/lb_internal.h"
#include "dataplane/pol_internal.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpf/lib/common.h"

struct dp_pol {
	int fd_policy, fd_endpoints, fd_ipcache, fd_config;
};

/* ------------------------------------------------------------ state */

/* The pinned maps, in the order of POL_FDS. */
static const char *const pol_pins[] = { "gnt_policy", "gnt_endpoints", "gnt_ipcache", "gnt_pol_config" };
#define POL_FDS(pol) &(pol)->fd_policy, &(pol)->fd_endpoints, &(pol)->fd_ipcache, &(pol)->fd_config

void dp_pol_free(struct dp_pol *pol)
{
	if (!pol)
		return;
	dp__close_fds((int *const[]){ POL_FDS(pol) }, DP_ARRAY_SIZE(pol_pins));
	free(pol);
}

static int pol_state(struct dp_node *dp, struct dp_pol **out, struct gerr *err)
{
	struct dp_pol **slot = dp__pol_slot(dp);
	struct dp_pol *pol;
	const char *dir = dp__dir(dp);
	int ret;

	if (*slot) {
		*out = *slot;
		return 0;
	}
	pol = calloc(1, sizeof(*pol));
	if (!pol)
		return gerr_set(err, -ENOMEM, "out of memory");
	ret = dp__open_pins(dir, "policy", pol_pins, (int *const[]){ POL_FDS(pol) },
			    DP_ARRAY_SIZE(pol_pins), err);
	if (ret)
		goto fail;
	*slot = *out = pol;
	return 0;
fail:
	dp_pol_free(pol);
	return ret;
}

static uint32_t dir_flag(int dir)
{
	return dir == DP_POL_INGRESS ? GNT_EP_F_POL_INGRESS : GNT_EP_F_POL_EGRESS;
}

static bool outer_has(struct dp_pol *pol, uint32_t ip, int dir)
{
	struct gnt_pol_ep_key k = { .ip = ip, .dir = (uint32_t)dir };
	uint32_t id;

	/* fail closed: only "no such entry" means unpoliced; any other
	 * lookup error keeps the enforced flag (no set = drop) */
	return bpf_map_lookup_elem(pol->fd_policy, &k, &id) == 0 || errno != ENOENT;
}

uint32_t dp_pol_ep_flags(struct dp_node *dp, uint32_t ip)
{
	struct dp_pol *pol;
	uint32_t f = 0;

	if (pol_state(dp, &pol, NULL))
		return 0;
	if (outer_has(pol, ip, DP_POL_INGRESS))
		f |= GNT_EP_F_POL_INGRESS;
	if (outer_has(pol, ip, DP_POL_EGRESS))
		f |= GNT_EP_F_POL_EGRESS;
	return f;
}

/* Sets or clears the enforced bit of an existing endpoint (none yet: its
 * upsert reads the policy map). */
static int ep_flag(struct dp_pol *pol, uint32_t ip, uint32_t flag, bool on)
{
	struct gnt_endpoint v;
	uint32_t nf;

	if (bpf_map_lookup_elem(pol->fd_endpoints, &ip, &v))
		return 0;
	nf = on ? v.flags | flag : v.flags & ~flag;
	if (nf == v.flags)
		return 0;
	v.flags = nf;
	if (bpf_map_update_elem(pol->fd_endpoints, &ip, &v, BPF_EXIST) && errno != ENOENT)
		return -errno;
	return 0;
}

/* ------------------------------------------------------------ encoding */

struct pol_kv {
	struct gnt_pol_key k;
	struct gnt_pol_val v;
};

static int kv_cmp(const void *a, const void *b)
{
	const struct gnt_pol_key *x = &((const struct pol_kv *)a)->k;
	const struct gnt_pol_key *y = &((const struct pol_kv *)b)->k;

	if (x->identity != y->identity)
		return x->identity < y->identity ? -1 : 1;
	if (x->proto != y->proto)
		return x->proto - y->proto;
	if (x->plen != y->plen)
		return x->plen - y->plen;
	return (int)x->port - (int)y->port;
}

/* Splits [lo, hi] into maximal prefix-aligned blocks (<= 32 for 16-bit
 * ports), the same decomposition as pol_port_blocks(). Appends to out. */
static size_t port_blocks(uint16_t lo, uint16_t hi, struct pol_kv *out, const struct pol_kv *tmpl)
{
	uint32_t p = lo, end = (uint32_t)hi + 1;
	size_t n = 0;

	while (p < end) {
		uint32_t size = p ? (p & -p) : 0x10000;
		int plen;

		while (p + size > end)
			size >>= 1;
		plen = 16;
		for (uint32_t s = size; s > 1; s >>= 1)
			plen--;
		out[n] = *tmpl;
		out[n].k.plen = (uint8_t)plen;
		out[n].k.port = (uint16_t)p;
		n++;
		p += size;
	}
	return n;
}

/* Entries -> sorted, deduplicated keys plus one meta key per identity. */
static int pol_encode(const struct dp_pol_entry *e, size_t n, struct pol_kv **out,
		      size_t *out_n, struct gerr *err)
{
	struct pol_kv *kv, *res;
	size_t cap = n * 32 + 1, m = 0, r = 0;

	kv = calloc(cap, sizeof(*kv));
	if (!kv)
		return gerr_set(err, -ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		struct pol_kv t = { .k = { .identity = e[i].identity, .proto = e[i].proto } };

		if (e[i].identity > 0xffffff) {
			free(kv);
			return gerr_set(err, -EINVAL, "identity %u does not fit 24 bits",
					e[i].identity);
		}
		if (e[i].proto == GNT_POL_META) {
			free(kv);
			return gerr_set(err, -EINVAL, "protocol %u is reserved", e[i].proto);
		}
		/* fail closed: an entry that cannot mean what it says is
		 * refused, never widened (a port without a protocol would
		 * become "everything") */
		if ((!e[i].proto && e[i].port_lo) ||
		    (e[i].port_hi && e[i].port_hi < e[i].port_lo)) {
			free(kv);
			return gerr_set(err, -EINVAL, "entry %zu: %s", i,
					e[i].proto ? "port range ends below its start"
						   : "a port needs a protocol");
		}
		if (!e[i].proto || !e[i].port_lo) {
			/* every protocol, or every port of one: one key */
			t.k.plen = 0;
			t.k.port = 0;
			kv[m++] = t;
			continue;
		}
		t.v.port_lo = e[i].port_lo;
		t.v.port_hi = e[i].port_hi >= e[i].port_lo ? e[i].port_hi : e[i].port_lo;
		m += port_blocks(t.v.port_lo, t.v.port_hi, kv + m, &t);
	}
	qsort(kv, m, sizeof(*kv), kv_cmp);
	/* worst case every key has its own identity: m keys + m metas */
	res = calloc(2 * m + 1, sizeof(*res));
	if (!res) {
		free(kv);
		return gerr_set(err, -ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < m;) {
		struct pol_kv meta = { .k = { .identity = kv[i].k.identity, .proto = GNT_POL_META } };
		size_t j = i;

		for (; j < m && kv[j].k.identity == kv[i].k.identity; j++) {
			if (j > i && !kv_cmp(&kv[j], &kv[j - 1]))
				continue;       /* duplicate block of overlapping ranges */
			res[r++] = kv[j];
			if (kv[j].k.proto == 0)
				meta.v.lens |= GNT_POL_META_ANYPROTO;
			else
				meta.v.lens |= 1U << kv[j].k.plen;
		}
		res[r++] = meta;
		i = j;
	}
	free(kv);
	*out = res;
	*out_n = r;
	return 0;
}

/* ------------------------------------------------------------ policy */

static int check_dir(int dir, struct gerr *err)
{
	if (dir != DP_POL_INGRESS && dir != DP_POL_EGRESS)
		return gerr_set(err, -EINVAL, "policy direction %d is neither ingress nor egress", dir);
	return 0;
}

/* A new inner map holding the encoded entries (one batch update), or
 * -errno. */
static int inner_build(const struct dp_pol_entry *e, size_t n, struct gerr *err)
{
	LIBBPF_OPTS(bpf_map_create_opts, mopts);
	LIBBPF_OPTS(bpf_map_batch_opts, bopts);
	struct gnt_pol_key *keys = NULL;
	struct gnt_pol_val *vals = NULL;
	struct pol_kv *kv = NULL;
	size_t nkv = 0;
	__u32 cnt;
	int ret, inner;

	ret = pol_encode(e, n, &kv, &nkv, err);
	if (ret)
		return ret;
	/* sized to its keys: hash inner maps may differ in max_entries */
	inner = bpf_map_create(BPF_MAP_TYPE_HASH, "gnt_pol_in", sizeof(struct gnt_pol_key),
			       sizeof(struct gnt_pol_val), nkv ? (uint32_t)nkv : 1, &mopts);
	if (inner < 0) {
		ret = gerr_set(err, -errno, "create policy map (%zu keys): %s", nkv, strerror(errno));
		goto out;
	}
	keys = calloc(nkv + 1, sizeof(*keys));
	vals = calloc(nkv + 1, sizeof(*vals));
	if (!keys || !vals) {
		ret = gerr_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < nkv; i++) {
		keys[i] = kv[i].k;
		vals[i] = kv[i].v;
	}
	cnt = (__u32)nkv;
	/* one syscall for the whole set; element by element if the kernel
	 * has no batch ops */
	if (nkv && bpf_map_update_batch(inner, keys, vals, &cnt, &bopts)) {
		for (size_t i = 0; i < nkv; i++) {
			if (bpf_map_update_elem(inner, &keys[i], &vals[i], BPF_ANY)) {
				ret = gerr_set(err, -errno, "fill policy map: %s", strerror(errno));
				goto out;
			}
		}
	}
	ret = inner;
	inner = -1;
out:
	if (inner >= 0)
		close(inner);
	free(keys);
	free(vals);
	free(kv);
	return ret;
}

int dp_policy_set_batch(struct dp_node *dp, const struct dp_pol_set *sets, size_t n,
			struct gerr *err)
{
	LIBBPF_OPTS(bpf_map_batch_opts, bopts);
	struct gnt_pol_ep_key *ukeys = NULL, *dkeys = NULL;
	__u32 *fds = NULL, nu = 0, nd = 0, cnt;
	struct dp_pol *pol;
	int ret;

	if ((ret = pol_state(dp, &pol, err)))
		return ret;
	for (size_t i = 0; i < n; i++) {
		if ((ret = check_dir(sets[i].dir, err)))
			return ret;
		if (!sets[i].ep_ip)
			return gerr_set(err, -EINVAL, "policy needs an endpoint IP");
	}
	ukeys = calloc(n + 1, sizeof(*ukeys));
	dkeys = calloc(n + 1, sizeof(*dkeys));
	fds = calloc(n + 1, sizeof(*fds));
	if (!ukeys || !dkeys || !fds) {
		ret = gerr_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	/* unenforced: flag first, from then on the endpoint is unrestricted
	 * and its set may go without a fail-closed drop */
	for (size_t i = 0; i < n; i++) {
		struct gnt_pol_ep_key k = { .ip = sets[i].ep_ip, .dir = (uint32_t)sets[i].dir };

		if (sets[i].enforced)
			continue;
		ret = ep_flag(pol, k.ip, dir_flag(sets[i].dir), false);
		if (ret) {
			gerr_set(err, ret, "endpoint flags: %s", strerror(-ret));
			goto out;
		}
		if (outer_has(pol, k.ip, sets[i].dir))
			dkeys[nd++] = k;
	}
	/* enforced: every new set built before any is published */
	for (size_t i = 0; i < n; i++) {
		if (!sets[i].enforced)
			continue;
		ret = inner_build(sets[i].e, sets[i].n, err);
		if (ret < 0)
			goto out;
		ukeys[nu].ip = sets[i].ep_ip;
		ukeys[nu].dir = (uint32_t)sets[i].dir;
		fds[nu++] = (__u32)ret;
	}
	/* The swaps. The kernel waits for an RCU grace period after each
	 * update of a map-in-map slot (no program may still use the old set
	 * when the call returns): ~10-20 ms each, so all slots go in one
	 * batch, one wait; one by one where batches are not supported. */
	ret = 0;
	cnt = nu;
	if (nu && bpf_map_update_batch(pol->fd_policy, ukeys, fds, &cnt, &bopts)) {
		for (__u32 i = cnt; i < nu; i++) {
			if (bpf_map_update_elem(pol->fd_policy, &ukeys[i], &fds[i], BPF_ANY)) {
				ret = gerr_set(err, -errno, "policy map update: %s", strerror(errno));
				goto out;
			}
		}
	}
	for (__u32 i = 0; i < nu; i++) {
		ret = ep_flag(pol, ukeys[i].ip, dir_flag((int)ukeys[i].dir), true);
		if (ret) {
			gerr_set(err, ret, "endpoint flags: %s", strerror(-ret));
			goto out;
		}
	}
	cnt = nd;
	if (nd && bpf_map_delete_batch(pol->fd_policy, dkeys, &cnt, &bopts)) {
		for (__u32 i = cnt; i < nd; i++) {
			if (bpf_map_delete_elem(pol->fd_policy, &dkeys[i]) && errno != ENOENT) {
				ret = gerr_set(err, -errno, "policy map delete: %s", strerror(errno));
				goto out;
			}
		}
	}
out:
	/* the outer map holds references to what it published */
	for (__u32 i = 0; fds && i < nu; i++)
		close((int)fds[i]);
	free(ukeys);
	free(dkeys);
	free(fds);
	return ret;
}

int dp_policy_set(struct dp_node *dp, uint32_t ep_ip, int dir, bool enforced,
		  const struct dp_pol_entry *e, size_t n, struct gerr *err)
{
	struct dp_pol_set s = { .ep_ip = ep_ip, .dir = dir, .enforced = enforced, .e = e, .n = n };

	return dp_policy_set_batch(dp, &s, 1, err);
}

int dp_policy_delete(struct dp_node *dp, uint32_t ep_ip, struct gerr *err)
{
	/* both directions in one batch: one grace period */
	struct dp_pol_set s[2] = {
		{ .ep_ip = ep_ip, .dir = DP_POL_INGRESS },
		{ .ep_ip = ep_ip, .dir = DP_POL_EGRESS },
	};

	return dp_policy_set_batch(dp, s, 2, err);
}

static int ent_cmp(const void *a, const void *b)
{
	const struct dp_pol_entry *x = a, *y = b;

	if (x->identity != y->identity)
		return x->identity < y->identity ? -1 : 1;
	if (x->proto != y->proto)
		return x->proto - y->proto;
	if (x->port_lo != y->port_lo)
		return x->port_lo - y->port_lo;
	return x->port_hi - y->port_hi;
}

int dp_policy_get(struct dp_node *dp, uint32_t ep_ip, int dir, bool *enforced,
		  struct dp_pol_entry **e, size_t *n, struct gerr *err)
{
	struct gnt_pol_ep_key k = { .ip = ep_ip, .dir = (uint32_t)dir };
	struct gnt_pol_key ik, inext, *iprev = NULL;
	struct dp_pol_entry *res = NULL;
	struct gnt_endpoint ev;
	struct gnt_pol_val iv;
	size_t cnt = 0, cap = 0, u = 0;
	struct dp_pol *pol;
	uint32_t id;
	int ret, inner;

	*e = NULL;
	*n = 0;
	*enforced = false;
	if ((ret = check_dir(dir, err)) || (ret = pol_state(dp, &pol, err)))
		return ret;
	if (bpf_map_lookup_elem(pol->fd_policy, &k, &id)) {
		if (errno != ENOENT)
			return gerr_set(err, -errno, "policy map lookup: %s", strerror(errno));
		/* flagged but no set: the datapath drops everything */
		if (!bpf_map_lookup_elem(pol->fd_endpoints, &ep_ip, &ev))
			*enforced = ev.flags & dir_flag(dir);
		return 0;
	}
	*enforced = true;
	inner = bpf_map_get_fd_by_id(id);
	if (inner < 0)
		return gerr_set(err, -errno, "policy map %u: %s", id, strerror(errno));
	while (!bpf_map_get_next_key(inner, iprev, &inext)) {
		ik = inext;
		iprev = &ik;
		if (ik.proto == GNT_POL_META || bpf_map_lookup_elem(inner, &ik, &iv))
			continue;
		if (cnt == cap) {
			struct dp_pol_entry *nr;

			cap = cap ? cap * 2 : 16;
			nr = realloc(res, cap * sizeof(*res));
			if (!nr) {
				ret = gerr_set(err, -ENOMEM, "out of memory");
				goto out;
			}
			res = nr;
		}
		res[cnt].identity = ik.identity;
		res[cnt].proto = ik.proto;
		/* blocks of one range carry the range: they fold back into
		 * one entry below */
		res[cnt].port_lo = ik.plen ? iv.port_lo : 0;
		res[cnt].port_hi = ik.plen ? iv.port_hi : 0;
		cnt++;
	}
	if (cnt) {
		qsort(res, cnt, sizeof(*res), ent_cmp);
		for (size_t i = 0; i < cnt; i++)
			if (!u || ent_cmp(&res[i], &res[u - 1]))
				res[u++] = res[i];
	}
	*e = res;
	*n = u;
	res = NULL;
out:
	free(res);
	close(inner);
	return ret;
}

/* ------------------------------------------------------------ ipcache */

static uint32_t mask_of(uint8_t len)
{
	return len == 0 ? 0 : htonl(0xffffffffu << (32 - (len > 32 ? 32 : len)));
}

/* The node hosting the most specific covering entry that has one: LPM
 * lookups with shrinking prefix lengths until one finds a node IP. */
static uint32_t inherit_node_ip(struct dp_pol *pol, uint32_t prefix, uint8_t len)
{
	for (int l = len; l >= 0; l--) {
		struct gnt_ipcache_key k = { .prefixlen = (uint32_t)l, .ip = prefix & mask_of(l) };
		struct gnt_ipcache_val v;

		if (bpf_map_lookup_elem(pol->fd_ipcache, &k, &v))
			return 0;
		if (v.node_ip)
			return v.node_ip;
	}
	return 0;
}

/* The policy maps and the ipcache key of prefix/len (host bits cleared). */
static int ipcache_key(struct dp_node *dp, uint32_t prefix, uint8_t len,
		       struct gnt_ipcache_key *k, struct dp_pol **pol, struct gerr *err)
{
	int ret;

	*k = (struct gnt_ipcache_key){ .prefixlen = len, .ip = prefix & mask_of(len) };
	if ((ret = pol_state(dp, pol, err)))
		return ret;
	if (len > 32)
		return gerr_set(err, -EINVAL, "prefix length %u > 32", len);
	return 0;
}

int dp_ipcache_set(struct dp_node *dp, uint32_t prefix, uint8_t prefix_len,
		   uint32_t identity, uint32_t node_ip, struct gerr *err)
{
	struct gnt_ipcache_key k;
	struct gnt_ipcache_val v = { .identity = identity, .flags = GNT_IPC_F_IDENTITY };
	struct dp_pol *pol;
	int ret;

	if ((ret = ipcache_key(dp, prefix, prefix_len, &k, &pol, err)))
		return ret;
	if (identity > 0xffffff)
		return gerr_set(err, -EINVAL, "identity %u does not fit 24 bits", identity);
	v.node_ip = node_ip ? node_ip : inherit_node_ip(pol, k.ip, prefix_len);
	if (bpf_map_update_elem(pol->fd_ipcache, &k, &v, BPF_ANY))
		return gerr_set(err, -errno, "ipcache update: %s", strerror(errno));
	return 0;
}

int dp_ipcache_delete(struct dp_node *dp, uint32_t prefix, uint8_t prefix_len,
		      struct gerr *err)
{
	struct gnt_ipcache_key k;
	struct dp_pol *pol;
	int ret;

	if ((ret = ipcache_key(dp, prefix, prefix_len, &k, &pol, err)))
		return ret;
	if (bpf_map_delete_elem(pol->fd_ipcache, &k))
		return gerr_set(err, -errno, "ipcache delete: %s", strerror(errno));
	return 0;
}

int dp_ipcache_foreach(struct dp_node *dp, dp_ipcache_cb cb, void *arg, struct gerr *err)
{
	struct gnt_ipcache_key key, next, *prev = NULL;
	struct gnt_ipcache_val v;
	struct dp_ipcache_entry e;
	struct dp_pol *pol;
	int ret;

	if ((ret = pol_state(dp, &pol, err)))
		return ret;
	while (!bpf_map_get_next_key(pol->fd_ipcache, prev, &next)) {
		key = next;
		prev = &key;
		/* an LPM lookup with the entry's own key finds that entry */
		if (bpf_map_lookup_elem(pol->fd_ipcache, &key, &v))
			continue;
		e.prefix = key.ip;
		e.prefix_len = (uint8_t)key.prefixlen;
		e.identity = v.identity;
		e.node_ip = v.node_ip;
		e.remote = !(v.flags & GNT_IPC_F_IDENTITY);
		ret = cb(&e, arg);
		if (ret)
			return ret;
	}
	return 0;
}

/* ------------------------------------------------------------ events */

int dp_policy_set_allow_events(struct dp_node *dp, bool on, struct gerr *err)
{
	struct gnt_pol_config c = { .flags = on ? GNT_POL_CFG_ALLOW_EVENTS : 0 };
	struct dp_pol *pol;
	uint32_t zero = 0;
	int ret;

	if ((ret = pol_state(dp, &pol, err)))
		return ret;
	if (bpf_map_update_elem(pol->fd_config, &zero, &c, BPF_ANY))
		return gerr_set(err, -errno, "policy config update: %s", strerror(errno));
	return 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* Service programming: frontends, backends and Maglev tables in the pinned
 * maps, per-service counters, and the socket LB attachments. The maps are
 * the truth; the in-memory index (service key -> id and backend set,
 * backend (ip, port, proto) -> id with a reference count) is rebuilt from
 * them on first use, so any process opening the node's pins can program
 * services and an agent restart loses nothing. The Maglev array is mmapped:
 * a table is written with one memcpy into the service's inactive half and
 * published by one update of the service entry. */
#include "dataplane/dataplane.h"
#include "dataplane/dp_internal.h"
#include "dataplane/lb_internal.h"
#include "dataplane/maglev.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpf/lib/common.h"

/* Kubernetes' default sessionAffinityConfig.clientIP.timeoutSeconds */
#define DP_AFFINITY_TIMEOUT_DEFAULT 10800

struct lb_svc {
	struct gnt_svc_key key;
	struct gnt_svc_val val;
	uint32_t n;
	uint32_t *be_ids;
};

struct lb_be {
	uint64_t key;           /* maglev_backend_key() */
	uint32_t id;
	uint32_t refs;          /* services using it */
};

struct dp_lb {
	int fd_services, fd_maglev, fd_backends, fd_svc_stats, fd_affinity;
	uint32_t *maglev;       /* mmapped gnt_maglev */
	size_t maglev_bytes;
	uint32_t svc_max, be_max;
	struct lb_svc **svc_by_id;   /* [svc_max] */
	struct lb_be **be_by_id;     /* [be_max + 1], id 0 unused */
	void *svc_root;              /* tsearch: by key */
	void *be_root;
	uint32_t svc_hint, be_hint;  /* next id to try */
	int ncpu;
};

/* The pinned maps, in the order of LB_FDS. */
static const char *const lb_pins[] = { "gnt_services", "gnt_maglev", "gnt_backends", "gnt_svc_stats",
				       "gnt_affinity" };
#define LB_FDS(lb) &(lb)->fd_services, &(lb)->fd_maglev, &(lb)->fd_backends, \
		   &(lb)->fd_svc_stats, &(lb)->fd_affinity

uint32_t dp_maglev_size(void)
{
	return GNT_MAGLEV_M;
}

static int svc_cmp(const void *a, const void *b)
{
	return memcmp(&((const struct lb_svc *)a)->key, &((const struct lb_svc *)b)->key,
		      sizeof(struct gnt_svc_key));
}

static int be_cmp(const void *a, const void *b)
{
	uint64_t x = ((const struct lb_be *)a)->key, y = ((const struct lb_be *)b)->key;

	return x < y ? -1 : x > y;
}

static uint32_t *lb_table(struct dp_lb *lb, uint32_t id, uint32_t table)
{
	return lb->maglev + ((size_t)id * 2 + (table & 1)) * GNT_MAGLEV_STRIDE;
}

static void noop_free(void *p)
{
	(void)p;
}

void dp_lb_free(struct dp_lb *lb)
{
	if (!lb)
		return;
	/* nodes are owned by the by_id arrays; free the trees' nodes only */
	tdestroy(lb->svc_root, noop_free);
	tdestroy(lb->be_root, noop_free);
	for (uint32_t i = 0; lb->svc_by_id && i < lb->svc_max; i++)
		if (lb->svc_by_id[i]) {
			free(lb->svc_by_id[i]->be_ids);
			free(lb->svc_by_id[i]);
		}
	for (uint32_t i = 0; lb->be_by_id && i <= lb->be_max; i++)
		free(lb->be_by_id[i]);
	free(lb->svc_by_id);
	free(lb->be_by_id);
	if (lb->maglev && lb->maglev != MAP_FAILED)
		munmap(lb->maglev, lb->maglev_bytes);
	dp__close_fds((int *const[]){ LB_FDS(lb) }, DP_ARRAY_SIZE(lb_pins));
	free(lb);
}

static uint32_t map_max_entries(int fd)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return 0;
	return info.max_entries;
}

/* Index one service from the maps: distinct backend ids of its active
 * table take a reference each. */
static int lb_index_svc(struct dp_lb *lb, const struct gnt_svc_key *k,
			const struct gnt_svc_val *v, uint32_t *stamp)
{
	struct lb_svc *s;
	const uint32_t *t;

	if (v->id >= lb->svc_max || lb->svc_by_id[v->id])
		return -EUCLEAN;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->key = *k;
	s->val = *v;
	if (v->count) {
		s->be_ids = calloc(v->count, sizeof(*s->be_ids));
		if (!s->be_ids) {
			free(s);
			return -ENOMEM;
		}
		t = lb_table(lb, v->id, v->table);
		for (uint32_t i = 0; i < GNT_MAGLEV_M && s->n < v->count; i++) {
			uint32_t id = t[i];

			if (!id || id > lb->be_max || !lb->be_by_id[id] || stamp[id] == v->id + 1)
				continue;
			stamp[id] = v->id + 1;
			s->be_ids[s->n++] = id;
			lb->be_by_id[id]->refs++;
		}
	}
	lb->svc_by_id[v->id] = s;
	if (!tsearch(s, &lb->svc_root, svc_cmp))
		return -ENOMEM;
	return 0;
}

static int lb_load(struct dp_lb *lb, struct gerr *err)
{
	struct gnt_svc_key sk, snext, *sprev = NULL;
	__u32 bk, bnext, *bprev = NULL;
	struct gnt_svc_val sv;
	struct gnt_backend bv;
	uint32_t *stamp;
	int ret = 0;

	while (!bpf_map_get_next_key(lb->fd_backends, bprev, &bnext)) {
		struct lb_be *b;

		bk = bnext;
		bprev = &bk;
		if (bpf_map_lookup_elem(lb->fd_backends, &bk, &bv) || !bk || bk > lb->be_max)
			continue;
		b = calloc(1, sizeof(*b));
		if (!b)
			return gerr_set(err, -ENOMEM, "out of memory");
		b->key = maglev_backend_key(bv.ip, bv.port, bv.proto);
		b->id = bk;
		lb->be_by_id[bk] = b;
		if (!tsearch(b, &lb->be_root, be_cmp))
			return gerr_set(err, -ENOMEM, "out of memory");
	}
	stamp = calloc(lb->be_max + 1, sizeof(*stamp));
	if (!stamp)
		return gerr_set(err, -ENOMEM, "out of memory");
	while (!bpf_map_get_next_key(lb->fd_services, sprev, &snext)) {
		sk = snext;
		sprev = &sk;
		if (bpf_map_lookup_elem(lb->fd_services, &sk, &sv))
			continue;
		ret = lb_index_svc(lb, &sk, &sv, stamp);
		if (ret) {
			gerr_set(err, ret, "service map entry id %u inconsistent: %s", sv.id,
				 strerror(-ret));
			break;
		}
	}
	free(stamp);
	return ret;
}

static int lb_get(struct dp_node *dp, struct dp_lb **out, struct gerr *err)
{
	struct dp_lb **slot = dp__lb_slot(dp);
	const char *dir = dp__dir(dp);
	struct dp_lb *lb;
	uint32_t entries;
	int ret;

	if (*slot) {
		*out = *slot;
		return 0;
	}
	lb = calloc(1, sizeof(*lb));
	if (!lb)
		return gerr_set(err, -ENOMEM, "out of memory");
	ret = dp__open_pins(dir, "services", lb_pins, (int *const[]){ LB_FDS(lb) },
			    DP_ARRAY_SIZE(lb_pins), err);
	if (ret)
		goto fail;

	lb->svc_max = map_max_entries(lb->fd_services);
	lb->be_max = map_max_entries(lb->fd_backends);
	entries = map_max_entries(lb->fd_maglev);
	if (!lb->svc_max || !lb->be_max || entries < lb->svc_max * GNT_MAGLEV_STRIDE) {
		ret = gerr_set(err, -EUCLEAN, "service maps in %s have unexpected sizes", dir);
		goto fail;
	}
	lb->maglev_bytes = (size_t)entries * sizeof(struct gnt_maglev_pair);
	lb->maglev = mmap(NULL, lb->maglev_bytes, PROT_READ | PROT_WRITE, MAP_SHARED,
			  lb->fd_maglev, 0);
	if (lb->maglev == MAP_FAILED) {
		ret = gerr_set(err, -errno, "mmap gnt_maglev: %s", strerror(errno));
		goto fail;
	}
	lb->ncpu = libbpf_num_possible_cpus();
	lb->svc_by_id = calloc(lb->svc_max, sizeof(*lb->svc_by_id));
	lb->be_by_id = calloc(lb->be_max + 1, sizeof(*lb->be_by_id));
	if (lb->ncpu <= 0 || !lb->svc_by_id || !lb->be_by_id) {
		ret = gerr_set(err, -ENOMEM, "out of memory");
		goto fail;
	}
	ret = lb_load(lb, err);
	if (ret)
		goto fail;
	*slot = lb;
	*out = lb;
	return 0;
fail:
	dp_lb_free(lb);
	return ret;
}

/* ------------------------------------------------------------ backends */

/* Reference to the backend (ip, port, proto), created in the map if new;
 * its map entry is refreshed (node/local may change). */
static int be_acquire(struct dp_lb *lb, const struct dp_backend *b, uint8_t proto,
		      uint32_t *id_out, struct gerr *err)
{
	struct gnt_backend v = {
		.ip = b->ip,
		.port = htons(b->port),
		.proto = proto,
		.flags = b->local ? GNT_BE_F_LOCAL : 0,
		.node_ip = b->node_ip,
	};
	struct lb_be probe = { .key = maglev_backend_key(v.ip, v.port, proto) };
	struct lb_be **found, *be;
	uint32_t id = 0;

	found = tfind(&probe, &lb->be_root, be_cmp);
	if (found) {
		be = *found;
	} else {
		for (uint32_t i = 0; i < lb->be_max; i++) {
			uint32_t c = (lb->be_hint + i) % lb->be_max + 1;

			if (!lb->be_by_id[c]) {
				id = c;
				break;
			}
		}
		if (!id)
			return gerr_set(err, -ENOSPC, "backend map full (%u)", lb->be_max);
		be = calloc(1, sizeof(*be));
		if (!be)
			return gerr_set(err, -ENOMEM, "out of memory");
		be->key = probe.key;
		be->id = id;
		if (!tsearch(be, &lb->be_root, be_cmp)) {
			free(be);
			return gerr_set(err, -ENOMEM, "out of memory");
		}
		lb->be_by_id[id] = be;
		lb->be_hint = id;
	}
	/* written before any table refers to it */
	if (bpf_map_update_elem(lb->fd_backends, &be->id, &v, BPF_ANY)) {
		int ret = -errno;

		if (!be->refs) {
			tdelete(be, &lb->be_root, be_cmp);
			lb->be_by_id[be->id] = NULL;
			free(be);
		}
		return gerr_set(err, ret, "backend map update: %s", strerror(-ret));
	}
	be->refs++;
	*id_out = be->id;
	return 0;
}

static void be_release(struct dp_lb *lb, uint32_t id)
{
	struct lb_be *be = id && id <= lb->be_max ? lb->be_by_id[id] : NULL;

	if (!be || --be->refs)
		return;
	/* no table points at it any more (callers release after the flip) */
	bpf_map_delete_elem(lb->fd_backends, &id);
	tdelete(be, &lb->be_root, be_cmp);
	lb->be_by_id[id] = NULL;
	free(be);
}

/* ------------------------------------------------------------ services */

static void svc_key(const struct dp_service *svc, struct gnt_svc_key *k)
{
	memset(k, 0, sizeof(*k));
	k->vip = svc->vip;
	k->port = htons(svc->port);
	k->proto = svc->proto;
	k->scope = svc->scope;
}

static void stats_zero(struct dp_lb *lb, uint32_t id)
{
	struct gnt_stat *z = calloc(lb->ncpu, sizeof(*z));

	if (z) {
		bpf_map_update_elem(lb->fd_svc_stats, &id, z, BPF_ANY);
		free(z);
	}
}

/* Drop affinity entries of service id, all of them (keep == NULL) or those
 * whose backend is not in keep[0..n). */
static void affinity_purge(struct dp_lb *lb, uint32_t id, const uint32_t *keep, size_t n)
{
	struct gnt_affinity_key k, next, *prev = NULL;
	struct gnt_affinity_val v;

	while (!bpf_map_get_next_key(lb->fd_affinity, prev, &next)) {
		bool drop;

		k = next;
		prev = &k;
		if (k.svc_id != id || bpf_map_lookup_elem(lb->fd_affinity, &k, &v))
			continue;
		drop = true;
		for (size_t i = 0; keep && i < n; i++)
			if (keep[i] == v.backend_id)
				drop = false;
		if (drop)
			bpf_map_delete_elem(lb->fd_affinity, &k);
	}
}

int dp_service_upsert(struct dp_node *dp, struct dp_service *svc,
		      const struct dp_backend *backends, size_t n, struct gerr *err)
{
	struct maglev_backend *mb = NULL;
	struct lb_svc probe, **found, *s = NULL;
	uint32_t *ids = NULL, *old_ids = NULL;
	uint32_t old_n = 0, nid = 0, id = UINT32_MAX, table = 0;
	struct gnt_svc_val v = { 0 };
	bool created = false;
	struct dp_lb *lb;
	int ret;

	if (!svc->vip)
		return gerr_set(err, -EINVAL, "service has no VIP (headless services are "
				"resolved by DNS, not programmed)");
	if (svc->proto != IPPROTO_TCP && svc->proto != IPPROTO_UDP)
		return gerr_set(err, -EPROTONOSUPPORT, "service protocol %u: only TCP and UDP",
				svc->proto);
	if (!svc->port || svc->scope > DP_SVC_SCOPE_EXTERNAL || n >= GNT_MAGLEV_M || n > 0xffff)
		return gerr_set(err, -EINVAL, "invalid service port/scope or too many backends");
	ret = lb_get(dp, &lb, err);
	if (ret)
		return ret;

	svc_key(svc, &probe.key);
	found = tfind(&probe, &lb->svc_root, svc_cmp);
	if (found) {
		s = *found;
		id = s->val.id;
		table = s->val.table ^ 1;       /* write the inactive half */
	} else {
		for (uint32_t i = 0; i < lb->svc_max; i++) {
			uint32_t c = (lb->svc_hint + i) % lb->svc_max;

			if (!lb->svc_by_id[c]) {
				id = c;
				break;
			}
		}
		if (id == UINT32_MAX)
			return gerr_set(err, -ENOSPC, "service map full (%u)", lb->svc_max);
		s = calloc(1, sizeof(*s));
		if (!s)
			return gerr_set(err, -ENOMEM, "out of memory");
		s->key = probe.key;
		created = true;
	}

	ids = calloc(n ? n : 1, sizeof(*ids));
	mb = calloc(n ? n : 1, sizeof(*mb));
	if (!ids || !mb) {
		ret = gerr_set(err, -ENOMEM, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		uint32_t bid = 0;
		bool dup = false;

		if (!backends[i].ip || !backends[i].port) {
			ret = gerr_set(err, -EINVAL, "backend %zu has no address or port", i);
			goto fail;
		}
		/* External frontends (NodePort/LB at XDP): every backend
		 * with externalTrafficPolicy Cluster (a remote one is
		 * reached SNATed through VXLAN to its node, which must then
		 * be known), local ones only with Local (docs/services.md) */
		if (svc->scope == DP_SVC_SCOPE_EXTERNAL && !backends[i].local &&
		    ((svc->flags & DP_SVC_F_LOCAL_ONLY) || !backends[i].node_ip))
			continue;
		ret = be_acquire(lb, &backends[i], svc->proto, &bid, err);
		if (ret)
			goto fail;
		for (uint32_t j = 0; j < nid; j++)
			dup |= ids[j] == bid;
		if (dup) {
			be_release(lb, bid);
			continue;
		}
		mb[nid].key = lb->be_by_id[bid]->key;
		mb[nid].weight = backends[i].weight ? backends[i].weight : 1;
		mb[nid].id = bid;
		ids[nid++] = bid;
	}
	if (nid) {
		ret = maglev_build(mb, nid, lb_table(lb, id, table), GNT_MAGLEV_M);
		if (ret) {
			gerr_set(err, ret, "maglev table: %s", strerror(-ret));
			goto fail;
		}
	}
	if (created)
		stats_zero(lb, id);

	/* publish: one update of the service entry switches tables */
	v.id = id;
	v.count = nid;
	v.table = table;
	v.flags = (svc->flags & DP_SVC_F_AFFINITY ? GNT_SVC_F_AFFINITY : 0) |
		  (svc->flags & DP_SVC_F_LOCAL_ONLY ? GNT_SVC_F_LOCAL_ONLY : 0);
	v.affinity_timeout = svc->affinity_timeout ? svc->affinity_timeout
						   : DP_AFFINITY_TIMEOUT_DEFAULT;
	if (bpf_map_update_elem(lb->fd_services, &s->key, &v, BPF_ANY)) {
		ret = gerr_set(err, -errno, "service map update: %s", strerror(errno));
		goto fail;
	}

	if (created) {
		lb->svc_by_id[id] = s;
		lb->svc_hint = id + 1;
		if (!tsearch(s, &lb->svc_root, svc_cmp))
			pr_warn("dataplane: out of memory indexing service %u", id);
	}
	old_ids = s->be_ids;
	old_n = s->n;
	s->be_ids = ids;
	s->n = nid;
	s->val = v;
	ids = NULL;
	/* old backends no table points at any more go now; the affinity
	 * of clients pinned to a removed backend ends with it */
	for (uint32_t i = 0; i < old_n; i++)
		be_release(lb, old_ids[i]);
	if (v.flags & GNT_SVC_F_AFFINITY)
		affinity_purge(lb, id, s->be_ids, s->n);
	free(old_ids);
	free(mb);
	svc->id = id;
	return 0;
fail:
	for (uint32_t i = 0; ids && i < nid; i++)
		be_release(lb, ids[i]);
	if (created)
		free(s);
	free(ids);
	free(mb);
	return ret;
}

int dp_service_delete(struct dp_node *dp, const struct dp_service *svc, struct gerr *err)
{
	struct lb_svc probe, **found, *s;
	struct dp_lb *lb;
	int ret;

	ret = lb_get(dp, &lb, err);
	if (ret)
		return ret;
	svc_key(svc, &probe.key);
	found = tfind(&probe, &lb->svc_root, svc_cmp);
	if (!found)
		return gerr_set(err, -ENOENT, "no such service %s:%u/%u",
				inet_ntoa((struct in_addr){ svc->vip }), svc->port, svc->proto);
	s = *found;
	if (bpf_map_delete_elem(lb->fd_services, &s->key) && errno != ENOENT)
		return gerr_set(err, -errno, "service map delete: %s", strerror(errno));
	tdelete(s, &lb->svc_root, svc_cmp);
	lb->svc_by_id[s->val.id] = NULL;
	for (uint32_t i = 0; i < s->n; i++)
		be_release(lb, s->be_ids[i]);
	if (s->val.flags & GNT_SVC_F_AFFINITY)
		affinity_purge(lb, s->val.id, NULL, 0);
	free(s->be_ids);
	free(s);
	return 0;
}

int dp_service_foreach(struct dp_node *dp, dp_service_cb cb, void *arg, struct gerr *err)
{
	struct gnt_svc_key k, next, *prev = NULL;
	struct dp_backend *be = NULL;
	struct gnt_stat *pc = NULL;
	uint32_t *slots = NULL, *ids = NULL;
	struct gnt_svc_val v;
	struct dp_lb *lb;
	int ret;

	ret = lb_get(dp, &lb, err);
	if (ret)
		return ret;
	be = calloc(GNT_MAGLEV_M, sizeof(*be));
	slots = calloc(GNT_MAGLEV_M, sizeof(*slots));
	ids = calloc(GNT_MAGLEV_M, sizeof(*ids));
	pc = calloc(lb->ncpu, sizeof(*pc));
	if (!be || !slots || !ids || !pc) {
		ret = gerr_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	while (!bpf_map_get_next_key(lb->fd_services, prev, &next)) {
		struct dp_service_stats st = { 0 };
		struct dp_service svc = { 0 };
		const uint32_t *t;
		size_t n = 0;

		k = next;
		prev = &k;
		if (bpf_map_lookup_elem(lb->fd_services, &k, &v) || v.id >= lb->svc_max)
			continue;
		svc.vip = k.vip;
		svc.port = ntohs(k.port);
		svc.proto = k.proto;
		svc.scope = k.scope;
		svc.flags = (v.flags & GNT_SVC_F_AFFINITY ? DP_SVC_F_AFFINITY : 0) |
			    (v.flags & GNT_SVC_F_LOCAL_ONLY ? DP_SVC_F_LOCAL_ONLY : 0);
		svc.affinity_timeout = v.affinity_timeout;
		svc.id = v.id;
		/* what the datapath actually indexes: the active table */
		t = lb_table(lb, v.id, v.table);
		for (uint32_t i = 0; v.count && i < GNT_MAGLEV_M; i++) {
			size_t j;

			for (j = 0; j < n && ids[j] != t[i]; j++)
				;
			if (j == n) {
				struct gnt_backend gb;

				if (bpf_map_lookup_elem(lb->fd_backends, &t[i], &gb))
					memset(&gb, 0, sizeof(gb));
				ids[n] = t[i];
				slots[n] = 0;
				memset(&be[n], 0, sizeof(be[n]));
				be[n].ip = gb.ip;
				be[n].port = ntohs(gb.port);
				be[n].node_ip = gb.node_ip;
				be[n].weight = 1;
				be[n].local = gb.flags & GNT_BE_F_LOCAL;
				n++;
			}
			slots[j]++;
		}
		if (!bpf_map_lookup_elem(lb->fd_svc_stats, &v.id, pc))
			for (int c = 0; c < lb->ncpu; c++) {
				st.packets += pc[c].packets;
				st.bytes += pc[c].bytes;
			}
		ret = cb(&svc, be, slots, n, &st, arg);
		if (ret)
			goto out;
	}
	ret = 0;
out:
	free(be);
	free(slots);
	free(ids);
	free(pc);
	return ret;
}

struct metrics_ctx {
	FILE *f;
	int pass;               /* 0 packets, 1 bytes, 2 backends */
};

static int metrics_cb(const struct dp_service *svc, const struct dp_backend *be,
		      const uint32_t *slots, size_t n, const struct dp_service_stats *st,
		      void *arg)
{
	struct metrics_ctx *m = arg;
	char vip[INET_ADDRSTRLEN];
	unsigned long long v = m->pass == 0 ? st->packets : m->pass == 1 ? st->bytes : n;

	(void)be;
	(void)slots;
	inet_ntop(AF_INET, &svc->vip, vip, sizeof(vip));
	fprintf(m->f, "%s{vip=\"%s\",port=\"%u\",protocol=\"%s\",scope=\"%s\"} %llu\n",
		m->pass == 0 ? "gannet_service_packets_total" :
		m->pass == 1 ? "gannet_service_bytes_total" : "gannet_service_backends",
		vip, svc->port, svc->proto == IPPROTO_TCP ? "TCP" : "UDP",
		svc->scope ? "external" : "cluster", v);
	return 0;
}

int dp_service_metrics(struct dp_node *dp, char **out, size_t *len, struct gerr *err)
{
	static const char *const help[] = {
		"# HELP gannet_service_packets_total Packets (and socket-level translations) per service frontend.\n"
		"# TYPE gannet_service_packets_total counter\n",
		"# HELP gannet_service_bytes_total Bytes per service frontend (per-packet paths).\n"
		"# TYPE gannet_service_bytes_total counter\n",
		"# HELP gannet_service_backends Backends in the active Maglev table.\n"
		"# TYPE gannet_service_backends gauge\n",
	};
	struct metrics_ctx m;
	int ret = 0;

	*out = NULL;
	*len = 0;
	m.f = open_memstream(out, len);
	if (!m.f)
		return gerr_set(err, -errno, "open_memstream: %s", strerror(errno));
	for (m.pass = 0; m.pass < 3 && !ret; m.pass++) {
		fputs(help[m.pass], m.f);
		ret = dp_service_foreach(dp, metrics_cb, &m, err);
	}
	fclose(m.f);
	if (ret) {
		free(*out);
		*out = NULL;
		*len = 0;
	}
	return ret;
}

/* ------------------------------------------------------------ socket LB */

static const struct {
	const char *prog;
	const char *link;
	enum bpf_attach_type type;
} sock_hooks[] = {
	{ DP_PIN_SOCK_CONNECT4, "link_sock_connect4", BPF_CGROUP_INET4_CONNECT },
	{ DP_PIN_SOCK_SENDMSG4, "link_sock_sendmsg4", BPF_CGROUP_UDP4_SENDMSG },
	{ DP_PIN_SOCK_RECVMSG4, "link_sock_recvmsg4", BPF_CGROUP_UDP4_RECVMSG },
	{ DP_PIN_SOCK_GETPEERNAME4, "link_sock_getpeername4", BPF_CGROUP_INET4_GETPEERNAME },
};
#define N_SOCK_HOOKS (sizeof(sock_hooks) / sizeof(sock_hooks[0]))

void dp_lb_sock_relink(const char *dir)
{
	char path[PATH_MAX];

	for (size_t i = 0; i < N_SOCK_HOOKS; i++) {
		int lfd, pfd;

		snprintf(path, sizeof(path), "%s/%s", dir, sock_hooks[i].link);
		lfd = bpf_obj_get(path);
		if (lfd < 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, sock_hooks[i].prog);
		pfd = bpf_obj_get(path);
		if (pfd >= 0 && bpf_link_update(lfd, pfd, NULL))
			pr_warn("dataplane: updating socket link %s failed: %s",
				sock_hooks[i].link, strerror(errno));
		if (pfd >= 0)
			close(pfd);
		close(lfd);
	}
}

int dp_sock_detach(struct dp_node *dp, struct gerr *err)
{
	char path[PATH_MAX];

	for (size_t i = 0; i < N_SOCK_HOOKS; i++) {
		int lfd;

		snprintf(path, sizeof(path), "%s/%s", dp__dir(dp), sock_hooks[i].link);
		lfd = bpf_obj_get(path);
		if (lfd < 0)
			continue;
		bpf_link_detach(lfd);
		close(lfd);
		if (unlink(path) && errno != ENOENT)
			return gerr_set(err, -errno, "unlink %s: %s", path, strerror(errno));
	}
	return 0;
}

int dp_sock_attach(struct dp_node *dp, const char *cgroup_path, struct gerr *err)
{
	char path[PATH_MAX];
	struct stat st;
	int cg, ret = 0;

	cg = open(cgroup_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg < 0)
		return gerr_set(err, -errno, "open cgroup %s: %s", cgroup_path, strerror(errno));
	if (fstat(cg, &st)) {
		ret = gerr_set(err, -errno, "stat %s: %s", cgroup_path, strerror(errno));
		goto out;
	}
	for (size_t i = 0; i < N_SOCK_HOOKS; i++) {
		struct bpf_link_info info;
		__u32 len = sizeof(info);
		int pfd, lfd;

		snprintf(path, sizeof(path), "%s/%s", dp__dir(dp), sock_hooks[i].prog);
		pfd = bpf_obj_get(path);
		if (pfd < 0) {
			ret = gerr_set(err, -errno, "socket program %s: %s", path, strerror(errno));
			goto out;
		}
		snprintf(path, sizeof(path), "%s/%s", dp__dir(dp), sock_hooks[i].link);
		lfd = bpf_obj_get(path);
		if (lfd >= 0) {
			/* cgroup v2 ids are the directory's inode numbers: same
			 * cgroup -> swap the program in place, no gap */
			memset(&info, 0, sizeof(info));
			if (!bpf_obj_get_info_by_fd(lfd, &info, &len) &&
			    info.cgroup.cgroup_id == (__u64)st.st_ino &&
			    !bpf_link_update(lfd, pfd, NULL)) {
				close(lfd);
				close(pfd);
				continue;
			}
			bpf_link_detach(lfd);
			close(lfd);
			unlink(path);
		}
		lfd = bpf_link_create(pfd, cg, sock_hooks[i].type, NULL);
		close(pfd);
		if (lfd < 0) {
			ret = gerr_set(err, -errno, "attach %s to %s: %s", sock_hooks[i].prog,
				       cgroup_path, strerror(errno));
			goto out;
		}
		if (bpf_obj_pin(lfd, path)) {
			ret = gerr_set(err, -errno, "pin %s: %s", path, strerror(errno));
			close(lfd);         /* not pinned: detaches */
			goto out;
		}
		close(lfd);
	}
out:
	close(cg);
	return ret;
}

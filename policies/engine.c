/* SPDX-License-Identifier: Apache-2.0 */
/* NetworkPolicy engine (see policy.h and docs/policy.md): identities,
 * ipcache, per-endpoint allow entries, incremental recomputation and change
 * reporting. Everything is keyed by identity rather than by pod: a peer
 * selector is matched against the (namespace labels, pod labels) of each
 * identity, so the work per endpoint depends on the number of distinct
 * label sets, not of pods. */
#include "policies/internal.h"
#include "policies/hmap.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NS_NAME_LABEL "kubernetes.io/metadata.name"

struct pod;

struct ns {
	char *name;
	json_t *labels;                 /* always has NS_NAME_LABEL */
	bool explicit;                  /* upserted (vs implied by a pod/policy) */
	struct pod *pods;               /* list via ns_next/ns_prev */
	struct policy **pols;
	size_t n_pols, cap_pols;
};

struct ident {
	uint32_t id;
	char *key;
	int refcnt;                     /* pods holding it */
	char *ns;
	json_t *ns_labels, *pod_labels;
	struct pod *pods;               /* list via id_next/id_prev */
};

struct cidr {
	struct pol_prefix p;
	uint32_t id;
	int refcnt;                     /* ipBlock cidr/except references */
	char key[24];
};

struct pod {
	char *key;                      /* ns/name */
	char *name;
	struct ns *ns;
	json_t *labels;
	uint32_t ip;                    /* host order, 0 = none */
	struct pol_named_port *ports;   /* names owned */
	size_t n_ports;
	struct ident *id;
	struct pol_rules rules[2];
	/* Policies selecting the pod per direction, as of its last full
	 * recompute: valid while the pod is not dirty (any change to them or
	 * to its labels marks it dirty), used by identity refreshes. */
	struct policy **sel[2];
	size_t n_sel[2], cap_sel[2];
	bool sel_bad;                   /* allocation failed: scan instead */
	bool dirty;
	uint64_t gen;                   /* last mark_peering pass that saw it */
	struct pod *ns_next, *ns_prev, *id_next, *id_prev;
};

struct policy {
	struct pol_policy p;
	char *key;
	size_t gidx;                    /* index in engine->pols */
};

struct idalloc {
	struct hmap by_id;              /* "%u" id -> object */
	uint32_t base, max;
};

struct vec32 {
	uint32_t *v;
	size_t n, cap;
};

struct pol_engine {
	struct hmap nss, pods, idents, cidrs, policies, ip_pods;
	struct idalloc pod_ids, cidr_ids;
	struct policy **pols;
	size_t n_pols, cap_pols;
	struct pod **dirty;
	size_t n_dirty, cap_dirty;
	int batch;
	/* pending changes */
	struct hmap ch_eps;             /* "ns/name" -> (void *)1 changed, 2 removed */
	struct vec32 ch_created, ch_released;
	struct hmap ch_ipc;             /* "ip/len" -> struct pol_ipcache_change * */
	uint64_t recomputed, refreshed, gen;
	/* scratch for compute() */
	struct pol_entry *scratch;
	size_t n_scratch, cap_scratch;
};

/* ---- small helpers ------------------------------------------------------- */

static int grow(void **arr, size_t *cap, size_t need, size_t elem)
{
	size_t nc;
	void *p;

	if (need <= *cap)
		return 0;
	nc = *cap ? *cap * 2 : 16;
	while (nc < need)
		nc *= 2;
	p = realloc(*arr, nc * elem);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = nc;
	return 0;
}

static int vec32_push(struct vec32 *v, uint32_t x)
{
	if (grow((void **)&v->v, &v->cap, v->n + 1, sizeof(*v->v)))
		return -ENOMEM;
	v->v[v->n++] = x;
	return 0;
}

static void prefix_str(uint32_t ip, uint8_t plen, char *buf, size_t len)
{
	snprintf(buf, len, "%u.%u.%u.%u/%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255,
		 ip & 255, plen);
}

static int parse_ip(const char *s, uint32_t *ip)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		return -EINVAL;
	*ip = ntohl(a.s_addr);
	return 0;
}

/* ---- identity allocation ---------------------------------------------------
 * An identity's number is derived from what it stands for (the label-set
 * key, the prefix): FNV-1a of the key into the range, then the next free
 * number on a collision. Every agent therefore gives the same label set
 * the same number, so the VNI a sender writes means the same identity at
 * the receiver (numbering in arrival order made it per-agent: after a
 * restart two nodes disagreed). Only label sets whose hashes collide can
 * be numbered differently by agents that saw them in different orders;
 * the datapath prefers its own ipcache for known pods, so the VNI decides
 * only for a source it has not learnt yet (docs/policy.md). A released
 * number comes back for the same key, not for somebody else's, unless a
 * colliding key probes into it. */

static uint32_t fnv1a(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static int ida_alloc(struct idalloc *a, void *obj, const char *key, uint32_t *id)
{
	uint32_t span = a->max - a->base + 1, h = fnv1a(key) % span;
	char k[12];

	for (uint32_t i = 0; i < span; i++) {
		uint32_t x = a->base + (h + i) % span;

		snprintf(k, sizeof(k), "%u", x);
		if (pol_hmap_get(&a->by_id, k))
			continue;
		if (pol_hmap_put(&a->by_id, k, obj))
			return -ENOMEM;
		*id = x;
		return 0;
	}
	return -ENOSPC;
}

static void ida_free(struct idalloc *a, uint32_t id)
{
	char k[12];

	snprintf(k, sizeof(k), "%u", id);
	pol_hmap_del(&a->by_id, k);
}

static void *ida_get(const struct idalloc *a, uint32_t id)
{
	char k[12];

	if (id < a->base || id > a->max)
		return NULL;
	snprintf(k, sizeof(k), "%u", id);
	return pol_hmap_get(&a->by_id, k);
}

/* Every allocated object of a range, in no particular order. */
#define IDA_FOREACH(a, type, o)                                                  \
	for (size_t _b = 0; _b < (a)->by_id.nb; _b++)                            \
		for (struct hmap_ent *_h = (a)->by_id.b[_b]; _h; _h = _h->next) \
			for (type o = _h->val; o; o = NULL)

/* ---- change recording ------------------------------------------------------ */

static void record_ep(struct pol_engine *e, const char *key, bool removed)
{
	pol_hmap_put(&e->ch_eps, key, (void *)(uintptr_t)(removed ? 2 : 1));
}

static void record_id(struct pol_engine *e, uint32_t id, bool created)
{
	if (!created) {
		/* created and released within one batch: nothing to report */
		for (size_t i = 0; i < e->ch_created.n; i++) {
			if (e->ch_created.v[i] == id) {
				e->ch_created.v[i] = e->ch_created.v[--e->ch_created.n];
				return;
			}
		}
		vec32_push(&e->ch_released, id);
	} else {
		vec32_push(&e->ch_created, id);
	}
}

/* The ipcache value of a prefix: a pod owning the /32 wins over an ipBlock
 * prefix of the same length (pods keep their identity whatever ipBlocks
 * exist; see docs/policy.md). */
static uint32_t ipc_value(struct pol_engine *e, uint32_t ip, uint8_t plen)
{
	char key[24];
	struct cidr *c;

	if (plen == 32) {
		struct pod *p;

		prefix_str(ip, 32, key, sizeof(key));
		p = pol_hmap_get(&e->ip_pods, key);
		if (p && p->id)
			return p->id->id;
	}
	prefix_str(ip, plen, key, sizeof(key));
	c = pol_hmap_get(&e->cidrs, key);
	return c ? c->id : 0;
}

static void ipc_refresh(struct pol_engine *e, uint32_t ip, uint8_t plen)
{
	struct pol_ipcache_change *ch;
	char key[24];

	prefix_str(ip, plen, key, sizeof(key));
	ch = pol_hmap_get(&e->ch_ipc, key);
	if (!ch) {
		ch = calloc(1, sizeof(*ch));
		if (!ch || pol_hmap_put(&e->ch_ipc, key, ch)) {
			free(ch);
			return;
		}
	}
	ch->ip = ip;
	ch->prefixlen = plen;
	ch->identity = ipc_value(e, ip, plen);
}

/* ---- namespaces ------------------------------------------------------------ */

static json_t *ns_labels(const char *name, const json_t *labels)
{
	json_t *l = labels && json_is_object(labels) ? json_deep_copy(labels) : json_object();

	if (l)
		json_object_set_new(l, NS_NAME_LABEL, json_string(name));
	return l;
}

static struct ns *ns_get(struct pol_engine *e, const char *name, bool create)
{
	struct ns *n = pol_hmap_get(&e->nss, name);

	if (n || !create)
		return n;
	n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->name = strdup(name);
	n->labels = ns_labels(name, NULL);
	if (!n->name || !n->labels || pol_hmap_put(&e->nss, name, n)) {
		free(n->name);
		json_decref(n->labels);
		free(n);
		return NULL;
	}
	return n;
}

/* ---- dirty tracking -------------------------------------------------------- */

static void mark_dirty(struct pol_engine *e, struct pod *p)
{
	if (p->dirty)
		return;
	if (grow((void **)&e->dirty, &e->cap_dirty, e->n_dirty + 1, sizeof(*e->dirty)))
		return;
	p->dirty = true;
	e->dirty[e->n_dirty++] = p;
}

static void unmark_dirty(struct pol_engine *e, struct pod *p)
{
	if (!p->dirty)
		return;
	for (size_t i = 0; i < e->n_dirty; i++) {
		if (e->dirty[i] == p) {
			e->dirty[i] = e->dirty[--e->n_dirty];
			break;
		}
	}
	p->dirty = false;
}

static void mark_policy_selected(struct pol_engine *e, const struct policy *pol)
{
	struct ns *n = ns_get(e, pol->p.ns, false);

	if (!n)
		return;
	for (struct pod *p = n->pods; p; p = p->ns_next)
		if (sel_match_labels(&pol->p.pod_sel, p->labels))
			mark_dirty(e, p);
}

static bool peer_matches_ident(const struct pol_policy *pol, const struct pol_peer *peer,
			       const struct ident *id)
{
	if (peer->kind & PEER_BLOCK)
		return false;
	if (peer->kind & PEER_NS) {
		if (!sel_match_labels(&peer->ns_sel, id->ns_labels))
			return false;
	} else if (strcmp(id->ns, pol->ns)) {
		return false;   /* a podSelector alone means the policy's namespace */
	}
	if (peer->kind & PEER_POD)
		return sel_match_labels(&peer->pod_sel, id->pod_labels);
	return true;
}

static bool rule_has_named(const struct pol_rule *r)
{
	for (size_t i = 0; i < r->n_ports; i++)
		if (r->ports[i].name)
			return true;
	return false;
}

/* Does the policy's outcome depend on identity id existing (or, with
 * named_only, on which pods carry it, through egress named ports)? */
static bool policy_refers(const struct pol_policy *p, const struct ident *id, bool named_only)
{
	if (named_only && !p->named_egress)
		return false;
	for (int d = 0; d < 2; d++) {
		for (size_t i = 0; i < p->n_rules[d]; i++) {
			const struct pol_rule *r = &p->rules[d][i];
			bool named = d == POL_EGRESS && rule_has_named(r);

			if (named_only && !named)
				continue;
			if (!r->n_peers) {
				if (named)
					return true;
				continue;
			}
			for (size_t j = 0; j < r->n_peers; j++)
				if (peer_matches_ident(p, &r->peers[j], id))
					return true;
		}
	}
	return false;
}

static void ep_refresh_ident(struct pol_engine *e, struct pod *p, const struct ident *id,
			     bool gone);

/* Identity id appeared, disappeared (gone) or changed its pods (named
 * ports): every endpoint selected by a policy that refers to it gets its
 * entries for that one identity refreshed, not a full recompute. Endpoints
 * already dirty are left to their full recompute. */
static void mark_peering(struct pol_engine *e, const struct ident *id, bool named_only, bool gone)
{
	e->gen++;
	for (size_t i = 0; i < e->n_pols; i++) {
		const struct policy *pol = e->pols[i];
		struct ns *n;

		if (!policy_refers(&pol->p, id, named_only))
			continue;
		n = ns_get(e, pol->p.ns, false);
		for (struct pod *p = n ? n->pods : NULL; p; p = p->ns_next) {
			if (p->dirty || p->gen == e->gen ||
			    !sel_match_labels(&pol->p.pod_sel, p->labels))
				continue;
			p->gen = e->gen;
			ep_refresh_ident(e, p, id, gone);
		}
	}
}

static void mark_prefix_users(struct pol_engine *e, const struct pol_prefix *pfx)
{
	for (size_t i = 0; i < e->n_pols; i++) {
		const struct pol_policy *p = &e->pols[i]->p;
		bool hit = false;

		if (!p->has_blocks)
			continue;
		for (int d = 0; d < 2 && !hit; d++)
			for (size_t r = 0; r < p->n_rules[d] && !hit; r++)
				for (size_t j = 0; j < p->rules[d][r].n_peers && !hit; j++) {
					const struct pol_peer *peer = &p->rules[d][r].peers[j];

					hit = peer->kind == PEER_BLOCK &&
					      pol_prefix_within(pfx, &peer->block);
				}
		if (hit)
			mark_policy_selected(e, e->pols[i]);
	}
}

/* ---- identities ------------------------------------------------------------ */

static char *ident_key(const struct ns *n, const json_t *labels)
{
	char *a = json_dumps(n->labels, JSON_COMPACT | JSON_SORT_KEYS);
	char *b = json_dumps(labels, JSON_COMPACT | JSON_SORT_KEYS);
	char *k = NULL;

	if (a && b && asprintf(&k, "%s|%s", a, b) < 0)
		k = NULL;
	free(a);
	free(b);
	return k;
}

static void ident_destroy(struct ident *id)
{
	free(id->key);
	free(id->ns);
	json_decref(id->ns_labels);
	json_decref(id->pod_labels);
	free(id);
}

/* Takes a reference for pod p on the identity of its current labels
 * (*created when it is new); ident_link() then puts p on its list. */
static struct ident *ident_acquire(struct pol_engine *e, struct pod *p, bool *created)
{
	char *key = ident_key(p->ns, p->labels);
	struct ident *id;

	*created = false;
	if (!key)
		return NULL;
	id = pol_hmap_get(&e->idents, key);
	if (!id) {
		id = calloc(1, sizeof(*id));
		if (!id)
			goto fail;
		id->key = key;
		key = NULL;
		id->ns = strdup(p->ns->name);
		id->ns_labels = json_deep_copy(p->ns->labels);
		id->pod_labels = json_deep_copy(p->labels);
		if (!id->ns || !id->ns_labels || !id->pod_labels ||
		    ida_alloc(&e->pod_ids, id, id->key, &id->id)) {
			ident_destroy(id);
			goto fail;
		}
		if (pol_hmap_put(&e->idents, id->key, id)) {
			ida_free(&e->pod_ids, id->id);
			ident_destroy(id);
			goto fail;
		}
		*created = true;
		record_id(e, id->id, true);
	}
	free(key);
	id->refcnt++;
	return id;
fail:
	free(key);
	return NULL;
}

static void ident_link(struct ident *id, struct pod *p)
{
	p->id_prev = NULL;
	p->id_next = id->pods;
	if (id->pods)
		id->pods->id_prev = p;
	id->pods = p;
}

/* Drops pod p's reference on id (unlinking it); releases the identity at zero. Policies
 * whose rules depend on it are marked. */
static void ident_release(struct pol_engine *e, struct pod *p, struct ident *id)
{
	if (p->id_prev)
		p->id_prev->id_next = p->id_next;
	else
		id->pods = p->id_next;
	if (p->id_next)
		p->id_next->id_prev = p->id_prev;
	p->id_next = p->id_prev = NULL;
	if (--id->refcnt > 0) {
		mark_peering(e, id, true, false);
		return;
	}
	mark_peering(e, id, false, true);
	pol_hmap_del(&e->idents, id->key);
	ida_free(&e->pod_ids, id->id);
	record_id(e, id->id, false);
	ident_destroy(id);
}

/* Re-derives the pod's identity after a label (its own or its namespace's)
 * or named-port change, marking whatever depends on it. */
static int pod_reidentify(struct pol_engine *e, struct pod *p, bool ports_changed)
{
	struct ident *old = p->id, *nid;
	bool created;

	mark_dirty(e, p);
	if (old) {
		char *key = ident_key(p->ns, p->labels);
		bool same = key && !strcmp(key, old->key);

		free(key);
		if (same) {
			if (ports_changed)
				mark_peering(e, old, true, false);
			return 0;
		}
	}
	nid = ident_acquire(e, p, &created);
	if (!nid)
		return -ENOMEM;
	if (old)
		ident_release(e, p, old);
	ident_link(nid, p);
	p->id = nid;
	mark_peering(e, nid, !created, false);
	if (p->ip)
		ipc_refresh(e, p->ip, 32);
	return 0;
}

/* ---- CIDR identities ------------------------------------------------------- */

static int cidr_acquire(struct pol_engine *e, const struct pol_prefix *pfx)
{
	struct cidr *c;
	char key[24];

	prefix_str(pfx->ip, pfx->plen, key, sizeof(key));
	c = pol_hmap_get(&e->cidrs, key);
	if (c) {
		c->refcnt++;
		return 0;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->p = *pfx;
	c->refcnt = 1;
	memcpy(c->key, key, sizeof(key));
	if (ida_alloc(&e->cidr_ids, c, key, &c->id)) {
		free(c);
		return -ENOSPC;
	}
	if (pol_hmap_put(&e->cidrs, key, c)) {
		ida_free(&e->cidr_ids, c->id);
		free(c);
		return -ENOMEM;
	}
	record_id(e, c->id, true);
	ipc_refresh(e, pfx->ip, pfx->plen);
	/* a new prefix splits the longest-prefix match of every block around
	 * it: their endpoints need an allow entry for the new identity */
	mark_prefix_users(e, pfx);
	return 0;
}

static void cidr_release(struct pol_engine *e, const struct pol_prefix *pfx)
{
	struct cidr *c;
	char key[24];

	prefix_str(pfx->ip, pfx->plen, key, sizeof(key));
	c = pol_hmap_get(&e->cidrs, key);
	if (!c || --c->refcnt > 0)
		return;
	pol_hmap_del(&e->cidrs, key);
	ida_free(&e->cidr_ids, c->id);
	record_id(e, c->id, false);
	ipc_refresh(e, pfx->ip, pfx->plen);
	mark_prefix_users(e, pfx);
	free(c);
}

static void policy_prefixes(struct pol_engine *e, const struct pol_policy *p, bool acquire)
{
	for (int d = 0; d < 2; d++)
		for (size_t r = 0; r < p->n_rules[d]; r++)
			for (size_t j = 0; j < p->rules[d][r].n_peers; j++) {
				const struct pol_peer *peer = &p->rules[d][r].peers[j];

				if (peer->kind != PEER_BLOCK)
					continue;
				if (acquire)
					cidr_acquire(e, &peer->block);
				else
					cidr_release(e, &peer->block);
				for (size_t x = 0; x < peer->n_except; x++) {
					if (acquire)
						cidr_acquire(e, &peer->except[x]);
					else
						cidr_release(e, &peer->except[x]);
				}
			}
}

/* Is CIDR identity c allowed by an ipBlock? With longest-prefix match over
 * the union of all prefixes, an address resolves to c iff c is the longest
 * prefix containing it; it is in the block and outside its excepts iff c is
 * within the block and within none of the excepts (all of them are in the
 * union). */
static bool block_allows(const struct pol_peer *peer, const struct pol_prefix *c)
{
	if (!pol_prefix_within(c, &peer->block))
		return false;
	for (size_t x = 0; x < peer->n_except; x++)
		if (pol_prefix_within(c, &peer->except[x]))
			return false;
	return true;
}

/* ---- computing an endpoint's entries ------------------------------------- */

static void push(struct pol_engine *e, uint32_t id, uint8_t proto, uint16_t lo, uint16_t hi)
{
	struct pol_entry *x;

	if (grow((void **)&e->scratch, &e->cap_scratch, e->n_scratch + 1, sizeof(*e->scratch)))
		return;
	x = &e->scratch[e->n_scratch++];
	memset(x, 0, sizeof(*x));       /* padding too: entries are memcmp'd */
	x->identity = id;
	x->proto = proto;
	x->port_lo = lo;
	x->port_hi = hi;
}

static int named_port(const struct pod *p, const char *name, uint8_t proto)
{
	for (size_t i = 0; i < p->n_ports; i++)
		if (p->ports[i].proto == proto && !strcmp(p->ports[i].name, name))
			return p->ports[i].port;
	return 0;
}

/* Entries for one peer identity (or ANY) and one rule's ports. Named
 * ports resolve against the destination: the selected pod for ingress,
 * each pod carrying the peer identity for egress. */
static void push_ports(struct pol_engine *e, const struct pol_rule *r, int dir,
		       struct pod *self, uint32_t id, const struct ident *ident)
{
	if (!r->n_ports) {
		push(e, id, POL_PROTO_ANY, 0, 0);
		return;
	}
	for (size_t k = 0; k < r->n_ports; k++) {
		const struct pol_port *pt = &r->ports[k];
		int port;

		if (!pt->name) {
			push(e, id, pt->proto, pt->port, pt->end);
		} else if (dir == POL_INGRESS) {
			port = named_port(self, pt->name, pt->proto);
			if (port)
				push(e, id, pt->proto, port, port);
		} else if (ident) {
			for (const struct pod *q = ident->pods; q; q = q->id_next) {
				port = named_port(q, pt->name, pt->proto);
				if (port)
					push(e, id, pt->proto, port, port);
			}
		} else if (id == POL_ID_ANY) {
			/* any destination: each pod identity with that name */
			IDA_FOREACH(&e->pod_ids, const struct ident *, o) {
				for (const struct pod *q = o->pods; q; q = q->id_next) {
					port = named_port(q, pt->name, pt->proto);
					if (port)
						push(e, o->id, pt->proto, port, port);
				}
			}
		}
		/* named ports of CIDR peers cannot resolve: no entry */
	}
}

static int entry_cmp(const void *a, const void *b)
{
	const struct pol_entry *x = a, *y = b;

	if (x->identity != y->identity)
		return x->identity < y->identity ? -1 : 1;
	if (x->proto != y->proto)
		return x->proto < y->proto ? -1 : 1;
	if (x->port_lo != y->port_lo)
		return x->port_lo < y->port_lo ? -1 : 1;
	if (x->port_hi != y->port_hi)
		return x->port_hi < y->port_hi ? -1 : 1;
	return 0;
}

static size_t sort_unique(struct pol_entry *v, size_t n)
{
	size_t m = 0;

	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), entry_cmp);
	m = 1;
	for (size_t i = 1; i < n; i++)
		if (entry_cmp(&v[i], &v[m - 1]))
			v[m++] = v[i];
	return m;
}

static void compute(struct pol_engine *e, struct pod *self, int dir)
{
	struct pol_rules *out = &self->rules[dir];
	bool enforced = false;
	struct ns *n = self->ns;
	size_t m = 0;

	e->n_scratch = 0;
	e->recomputed++;
	self->n_sel[dir] = 0;
	for (size_t i = 0; i < n->n_pols; i++) {
		const struct pol_policy *p = &n->pols[i]->p;

		if (!p->types[dir] || !sel_match_labels(&p->pod_sel, self->labels))
			continue;
		enforced = true;
		if (grow((void **)&self->sel[dir], &self->cap_sel[dir], self->n_sel[dir] + 1,
			 sizeof(*self->sel[dir])))
			self->sel_bad = true;
		else
			self->sel[dir][self->n_sel[dir]++] = n->pols[i];
		for (size_t ri = 0; ri < p->n_rules[dir]; ri++) {
			const struct pol_rule *r = &p->rules[dir][ri];

			if (!r->n_peers)
				push_ports(e, r, dir, self, POL_ID_ANY, NULL);
			for (size_t j = 0; j < r->n_peers; j++) {
				const struct pol_peer *peer = &r->peers[j];

				if (peer->kind == PEER_BLOCK) {
					IDA_FOREACH(&e->cidr_ids, const struct cidr *, c) {
						if (block_allows(peer, &c->p))
							push_ports(e, r, dir, self, c->id, NULL);
					}
					continue;
				}
				IDA_FOREACH(&e->pod_ids, const struct ident *, o) {
					if (peer_matches_ident(p, peer, o))
						push_ports(e, r, dir, self, o->id, o);
				}
			}
		}
	}
	/* Host-originated traffic (kubelet probes) is always allowed in, as
	 * in Kubernetes; explicit so that the datapath needs no exception. */
	if (enforced && dir == POL_INGRESS)
		push(e, POL_ID_HOST, POL_PROTO_ANY, 0, 0);
	m = sort_unique(e->scratch, e->n_scratch);
	if (out->enforced == enforced && out->n == m &&
	    (!m || !memcmp(out->entries, e->scratch, m * sizeof(*e->scratch))))
		return;
	free(out->entries);
	out->entries = NULL;
	out->n = 0;
	out->enforced = enforced;
	if (m) {
		out->entries = malloc(m * sizeof(*out->entries));
		if (out->entries) {
			memcpy(out->entries, e->scratch, m * sizeof(*out->entries));
			out->n = m;
		}
	}
	record_ep(e, self->key, false);
}

/* The entries of self for identity id only (same rules as compute()). */
static void compute_ident(struct pol_engine *e, struct pod *self, int dir, const struct ident *id)
{
	struct ns *n = self->ns;
	bool cached = !self->sel_bad;
	size_t count = cached ? self->n_sel[dir] : n->n_pols;

	for (size_t i = 0; i < count; i++) {
		const struct pol_policy *p = cached ? &self->sel[dir][i]->p : &n->pols[i]->p;

		if (!cached && (!p->types[dir] || !sel_match_labels(&p->pod_sel, self->labels)))
			continue;
		for (size_t ri = 0; ri < p->n_rules[dir]; ri++) {
			const struct pol_rule *r = &p->rules[dir][ri];

			if (!r->n_peers && dir == POL_EGRESS) {
				/* only the named-port expansion is per identity */
				for (size_t k = 0; k < r->n_ports; k++) {
					const struct pol_port *pt = &r->ports[k];

					if (!pt->name)
						continue;
					for (const struct pod *q = id->pods; q; q = q->id_next) {
						int port = named_port(q, pt->name, pt->proto);

						if (port)
							push(e, id->id, pt->proto, port, port);
					}
				}
			}
			for (size_t j = 0; j < r->n_peers; j++)
				if (peer_matches_ident(p, &r->peers[j], id))
					push_ports(e, r, dir, self, id->id, id);
		}
	}
}

/* Replaces the block of entries with identity id (entries are sorted by
 * identity first, so it is contiguous) with freshly computed ones. */
static void ep_refresh_ident(struct pol_engine *e, struct pod *p, const struct ident *id,
			     bool gone)
{
	for (int dir = 0; dir < 2; dir++) {
		struct pol_rules *r = &p->rules[dir];
		size_t lo = 0, hi = r->n, a, b, m;
		struct pol_entry *nv;

		if (!r->enforced)
			continue;       /* no policy selects it: nothing to hold */
		e->n_scratch = 0;
		if (!gone)
			compute_ident(e, p, dir, id);
		m = sort_unique(e->scratch, e->n_scratch);
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;

			if (r->entries[mid].identity < id->id)
				lo = mid + 1;
			else
				hi = mid;
		}
		a = b = lo;
		while (b < r->n && r->entries[b].identity == id->id)
			b++;
		e->refreshed++;
		if (b - a == m && (!m || !memcmp(&r->entries[a], e->scratch, m * sizeof(*nv))))
			continue;
		nv = malloc((r->n - (b - a) + m + 1) * sizeof(*nv));
		if (!nv) {
			mark_dirty(e, p);       /* retry as a full recompute */
			continue;
		}
		if (a)
			memcpy(nv, r->entries, a * sizeof(*nv));
		if (m)
			memcpy(nv + a, e->scratch, m * sizeof(*nv));
		if (r->n > b)
			memcpy(nv + a + m, r->entries + b, (r->n - b) * sizeof(*nv));
		free(r->entries);
		r->entries = nv;
		r->n = r->n - (b - a) + m;
		record_ep(e, p->key, false);
	}
}

static void flush(struct pol_engine *e)
{
	if (e->batch)
		return;
	for (size_t i = 0; i < e->n_dirty; i++) {
		struct pod *p = e->dirty[i];

		compute(e, p, POL_INGRESS);
		compute(e, p, POL_EGRESS);
		p->dirty = false;
	}
	e->n_dirty = 0;
}

/* ---- engine ------------------------------------------------------------------ */

struct pol_engine *pol_engine_new(void)
{
	struct pol_engine *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->pod_ids.base = POL_ID_POD_MIN;
	e->pod_ids.max = POL_ID_POD_MAX;
	e->cidr_ids.base = POL_ID_CIDR_MIN;
	e->cidr_ids.max = POL_ID_CIDR_MAX;
	return e;
}

static void pod_destroy(struct pod *p)
{
	free(p->key);
	free(p->name);
	json_decref(p->labels);
	for (size_t i = 0; i < p->n_ports; i++)
		free((char *)p->ports[i].name);
	free(p->ports);
	free(p->rules[0].entries);
	free(p->rules[1].entries);
	free(p->sel[0]);
	free(p->sel[1]);
	free(p);
}

void pol_engine_free(struct pol_engine *e)
{
	struct hmap_ent *h;

	if (!e)
		return;
	for (size_t i = 0; i < e->pods.nb; i++)
		for (h = e->pods.b[i]; h; h = h->next)
			pod_destroy(h->val);
	for (size_t i = 0; i < e->idents.nb; i++)
		for (h = e->idents.b[i]; h; h = h->next)
			ident_destroy(h->val);
	for (size_t i = 0; i < e->cidrs.nb; i++)
		for (h = e->cidrs.b[i]; h; h = h->next)
			free(h->val);
	for (size_t i = 0; i < e->nss.nb; i++)
		for (h = e->nss.b[i]; h; h = h->next) {
			struct ns *n = h->val;

			free(n->name);
			json_decref(n->labels);
			free(n->pols);
			free(n);
		}
	for (size_t i = 0; i < e->n_pols; i++) {
		pol_policy_free(&e->pols[i]->p);
		free(e->pols[i]->key);
		free(e->pols[i]);
	}
	for (size_t i = 0; i < e->ch_ipc.nb; i++)
		for (h = e->ch_ipc.b[i]; h; h = h->next)
			free(h->val);
	pol_hmap_free(&e->nss);
	pol_hmap_free(&e->pods);
	pol_hmap_free(&e->idents);
	pol_hmap_free(&e->cidrs);
	pol_hmap_free(&e->policies);
	pol_hmap_free(&e->ip_pods);
	pol_hmap_free(&e->ch_eps);
	pol_hmap_free(&e->ch_ipc);
	pol_hmap_free(&e->pod_ids.by_id);
	pol_hmap_free(&e->cidr_ids.by_id);
	free(e->pols);
	free(e->dirty);
	free(e->ch_created.v);
	free(e->ch_released.v);
	free(e->scratch);
	free(e);
}

void pol_begin(struct pol_engine *e)
{
	e->batch++;
}

void pol_commit(struct pol_engine *e)
{
	if (e->batch > 0)
		e->batch--;
	flush(e);
}

void pol_recompute_all(struct pol_engine *e)
{
	for (size_t i = 0; i < e->pods.nb; i++)
		for (struct hmap_ent *h = e->pods.b[i]; h; h = h->next)
			mark_dirty(e, h->val);
	flush(e);
}

/* ---- namespaces API ---------------------------------------------------------- */

static int check_labels(const json_t *labels, const char *what, struct gerr *err)
{
	const char *k;
	json_t *v;

	if (!labels || json_is_null(labels))
		return 0;
	if (!json_is_object(labels))
		return gerr_set(err, -EINVAL, "%s: labels must be an object", what);
	json_object_foreach((json_t *)labels, k, v)
		if (!json_is_string(v))
			return gerr_set(err, -EINVAL, "%s: label %s must be a string", what, k);
	return 0;
}

static int ns_set_labels(struct pol_engine *e, struct ns *n, json_t *labels)
{
	bool same = json_equal(n->labels, labels);
	int ret = 0;

	json_decref(n->labels);
	n->labels = labels;
	if (same)
		return 0;
	for (struct pod *p = n->pods; p; p = p->ns_next) {
		int r = pod_reidentify(e, p, false);

		if (r)
			ret = r;
	}
	flush(e);
	return ret;
}

int pol_upsert_namespace(struct pol_engine *e, const char *name, const json_t *labels,
			 struct gerr *err)
{
	struct ns *n;
	json_t *l;
	int ret;

	if (!name || !*name)
		return gerr_set(err, -EINVAL, "namespace: name is required");
	ret = check_labels(labels, name, err);
	if (ret)
		return ret;
	n = ns_get(e, name, true);
	l = ns_labels(name, labels);
	if (!n || !l) {
		json_decref(l);
		return gerr_set(err, -ENOMEM, "out of memory");
	}
	n->explicit = true;
	return ns_set_labels(e, n, l);
}

int pol_delete_namespace(struct pol_engine *e, const char *name)
{
	struct ns *n = ns_get(e, name, false);
	json_t *l;

	if (!n || !n->explicit)
		return -ENOENT;
	/* Pods and policies of a deleted namespace go away through their own
	 * deletions; until then they keep the bare name label. */
	n->explicit = false;
	l = ns_labels(name, NULL);
	if (!l)
		return -ENOMEM;
	return ns_set_labels(e, n, l);
}

/* ---- pods API ------------------------------------------------------------------ */

static bool ports_equal(const struct pod *p, const struct pol_named_port *ports, size_t n)
{
	if (p->n_ports != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (strcmp(p->ports[i].name, ports[i].name) || p->ports[i].proto != ports[i].proto ||
		    p->ports[i].port != ports[i].port)
			return false;
	return true;
}

static void pod_set_ip(struct pol_engine *e, struct pod *p, uint32_t ip)
{
	char key[24];

	if (p->ip == ip)
		return;
	if (p->ip) {
		prefix_str(p->ip, 32, key, sizeof(key));
		if (pol_hmap_get(&e->ip_pods, key) == p)
			pol_hmap_del(&e->ip_pods, key);
		ipc_refresh(e, p->ip, 32);
	}
	p->ip = ip;
	if (ip) {
		prefix_str(ip, 32, key, sizeof(key));
		pol_hmap_put(&e->ip_pods, key, p);
		ipc_refresh(e, ip, 32);
	}
}

int pol_upsert_pod(struct pol_engine *e, const char *ns, const char *name,
		   const json_t *labels, const char *ip,
		   const struct pol_named_port *ports, size_t n_ports, struct gerr *err)
{
	struct pol_named_port *np = NULL;
	bool is_new = false, ports_changed, labels_changed;
	struct pod *p;
	uint32_t ip4 = 0;
	char *key = NULL;
	json_t *l = NULL;
	struct ns *n;
	int ret;

	if (!ns || !*ns || !name || !*name)
		return gerr_set(err, -EINVAL, "pod: namespace and name are required");
	ret = check_labels(labels, name, err);
	if (ret)
		return ret;
	if (ip && *ip && parse_ip(ip, &ip4))
		return gerr_set(err, -EINVAL, "pod %s/%s: invalid IPv4 address \"%s\"", ns, name, ip);
	for (size_t i = 0; i < n_ports; i++) {
		if (!ports[i].name || !*ports[i].name || !ports[i].port ||
		    !strcmp(pol_proto_name(ports[i].proto), "?") || !ports[i].proto)
			return gerr_set(err, -EINVAL, "pod %s/%s: ports[%zu]: needs a name, a port and TCP, UDP or SCTP",
					ns, name, i);
	}
	if (asprintf(&key, "%s/%s", ns, name) < 0)
		return gerr_set(err, -ENOMEM, "out of memory");
	l = labels && json_is_object(labels) ? json_deep_copy(labels) : json_object();
	np = n_ports ? calloc(n_ports, sizeof(*np)) : NULL;
	if (!l || (n_ports && !np))
		goto nomem;
	for (size_t i = 0; i < n_ports; i++) {
		np[i] = ports[i];
		np[i].name = strdup(ports[i].name);
		if (!np[i].name)
			goto nomem;
	}
	n = ns_get(e, ns, true);
	if (!n)
		goto nomem;
	p = pol_hmap_get(&e->pods, key);
	if (!p) {
		p = calloc(1, sizeof(*p));
		if (!p)
			goto nomem;
		p->key = key;
		key = NULL;
		p->name = strdup(name);
		if (!p->name || pol_hmap_put(&e->pods, p->key, p)) {
			free(p->name);
			free(p->key);
			free(p);
			goto nomem;
		}
		p->ns = n;
		p->ns_next = n->pods;
		if (n->pods)
			n->pods->ns_prev = p;
		n->pods = p;
		is_new = true;
	}
	free(key);
	ports_changed = !ports_equal(p, np, n_ports);
	labels_changed = is_new || !json_equal(p->labels, l);
	json_decref(p->labels);
	p->labels = l;
	for (size_t i = 0; i < p->n_ports; i++)
		free((char *)p->ports[i].name);
	free(p->ports);
	p->ports = np;
	p->n_ports = n_ports;
	if (labels_changed || ports_changed) {
		ret = pod_reidentify(e, p, ports_changed);
		if (ret)
			return gerr_set(err, ret, "pod %s/%s: cannot allocate an identity", ns, name);
	}
	pod_set_ip(e, p, ip4);
	flush(e);
	return 0;
nomem:
	free(key);
	json_decref(l);
	for (size_t i = 0; np && i < n_ports; i++)
		free((char *)np[i].name);
	free(np);
	return gerr_set(err, -ENOMEM, "out of memory");
}

int pol_upsert_pod_json(struct pol_engine *e, const json_t *pod, struct gerr *err)
{
	const json_t *md = json_object_get(pod, "metadata"), *spec = json_object_get(pod, "spec");
	const char *ns = json_string_value(json_object_get(md, "namespace"));
	const char *name = json_string_value(json_object_get(md, "name"));
	const char *ip = json_string_value(sel_lookup_path(pod, "status.podIP"));
	struct pol_named_port *ports = NULL;
	size_t n = 0, i, j;
	const json_t *c, *pt;
	int ret;

	/* host-network pods have the node's address: not a pod identity */
	if (json_is_true(json_object_get(spec, "hostNetwork")))
		ip = NULL;
	json_array_foreach(json_object_get(spec, "containers"), i, c) {
		json_array_foreach(json_object_get(c, "ports"), j, pt) {
			const char *pn = json_string_value(json_object_get(pt, "name"));
			const char *pr = json_string_value(json_object_get(pt, "protocol"));
			json_int_t num = json_integer_value(json_object_get(pt, "containerPort"));
			int proto = pr ? pol_proto_parse(pr) : POL_PROTO_TCP;
			struct pol_named_port *tmp;

			if (!pn || num < 1 || num > 65535 || proto < 0)
				continue;
			tmp = realloc(ports, (n + 1) * sizeof(*ports));
			if (!tmp) {
				free(ports);
				return gerr_set(err, -ENOMEM, "out of memory");
			}
			ports = tmp;
			ports[n].name = pn;
			ports[n].proto = (uint8_t)proto;
			ports[n].port = (uint16_t)num;
			n++;
		}
	}
	ret = pol_upsert_pod(e, ns && *ns ? ns : "default", name, json_object_get(md, "labels"),
			     ip, ports, n, err);
	free(ports);
	return ret;
}

int pol_delete_pod(struct pol_engine *e, const char *ns, const char *name)
{
	struct pod *p;
	char *key;

	if (asprintf(&key, "%s/%s", ns, name) < 0)
		return -ENOMEM;
	p = pol_hmap_del(&e->pods, key);
	free(key);
	if (!p)
		return -ENOENT;
	/* out of the namespace first so that marking policies around the
	 * released identity cannot mark this pod dirty again */
	if (p->ns_prev)
		p->ns_prev->ns_next = p->ns_next;
	else
		p->ns->pods = p->ns_next;
	if (p->ns_next)
		p->ns_next->ns_prev = p->ns_prev;
	unmark_dirty(e, p);
	pod_set_ip(e, p, 0);
	if (p->id)
		ident_release(e, p, p->id);
	p->id = NULL;
	record_ep(e, p->key, true);
	pod_destroy(p);
	flush(e);
	return 0;
}

/* ---- policies API ------------------------------------------------------------ */

static void policy_unlink(struct pol_engine *e, struct policy *pol)
{
	struct ns *n = ns_get(e, pol->p.ns, false);

	for (size_t i = 0; n && i < n->n_pols; i++) {
		if (n->pols[i] == pol) {
			memmove(&n->pols[i], &n->pols[i + 1], (n->n_pols - i - 1) * sizeof(*n->pols));
			n->n_pols--;
			break;
		}
	}
	e->pols[pol->gidx] = e->pols[--e->n_pols];
	e->pols[pol->gidx]->gidx = pol->gidx;
	pol_hmap_del(&e->policies, pol->key);
}

static void policy_destroy(struct policy *pol)
{
	pol_policy_free(&pol->p);
	free(pol->key);
	free(pol);
}

int pol_upsert_policy(struct pol_engine *e, const json_t *np, struct gerr *err)
{
	struct policy *pol, *old;
	struct ns *n;
	int ret;

	pol = calloc(1, sizeof(*pol));
	if (!pol)
		return gerr_set(err, -ENOMEM, "out of memory");
	ret = pol_parse(np, &pol->p, err);
	if (ret) {
		free(pol);
		return ret;
	}
	n = ns_get(e, pol->p.ns, true);
	if (!n || asprintf(&pol->key, "%s/%s", pol->p.ns, pol->p.name) < 0 ||
	    grow((void **)&e->pols, &e->cap_pols, e->n_pols + 1, sizeof(*e->pols)) ||
	    grow((void **)&n->pols, &n->cap_pols, n->n_pols + 1, sizeof(*n->pols))) {
		pol_policy_free(&pol->p);
		free(pol);
		return gerr_set(err, -ENOMEM, "out of memory");
	}
	old = pol_hmap_get(&e->policies, pol->key);
	if (old) {
		mark_policy_selected(e, old);
		policy_unlink(e, old);
		policy_prefixes(e, &old->p, false);
		policy_destroy(old);
	}
	if (pol_hmap_put(&e->policies, pol->key, pol)) {
		policy_destroy(pol);
		flush(e);
		return gerr_set(err, -ENOMEM, "out of memory");
	}
	/* keep the namespace's policies in creation order (trace output) */
	n->pols[n->n_pols++] = pol;
	pol->gidx = e->n_pols;
	e->pols[e->n_pols++] = pol;
	policy_prefixes(e, &pol->p, true);
	mark_policy_selected(e, pol);
	flush(e);
	return 0;
}

int pol_delete_policy(struct pol_engine *e, const char *ns, const char *name)
{
	struct policy *pol;
	char *key;

	if (asprintf(&key, "%s/%s", ns, name) < 0)
		return -ENOMEM;
	pol = pol_hmap_get(&e->policies, key);
	free(key);
	if (!pol)
		return -ENOENT;
	mark_policy_selected(e, pol);
	policy_unlink(e, pol);
	policy_prefixes(e, &pol->p, false);
	policy_destroy(pol);
	flush(e);
	return 0;
}

/* ---- changes ------------------------------------------------------------------ */

void pol_changes_take(struct pol_engine *e, struct pol_changes *out)
{
	struct hmap_ent *h;
	size_t k = 0;

	memset(out, 0, sizeof(*out));
	out->endpoints = calloc(e->ch_eps.n + 1, sizeof(*out->endpoints));
	for (size_t i = 0; out->endpoints && i < e->ch_eps.nb; i++)
		for (h = e->ch_eps.b[i]; h; h = h->next) {
			char *slash = strchr(h->key, '/');
			struct pol_ep_change *c = &out->endpoints[k++];

			c->ns = strndup(h->key, slash - h->key);
			c->name = strdup(slash + 1);
			c->removed = (uintptr_t)h->val == 2;
		}
	out->n_endpoints = k;
	out->ipcache = calloc(e->ch_ipc.n + 1, sizeof(*out->ipcache));
	k = 0;
	for (size_t i = 0; i < e->ch_ipc.nb; i++)
		for (h = e->ch_ipc.b[i]; h; h = h->next) {
			if (out->ipcache)
				out->ipcache[k++] = *(struct pol_ipcache_change *)h->val;
			free(h->val);
		}
	out->n_ipcache = k;
	out->ids_created = e->ch_created.v;
	out->n_ids_created = e->ch_created.n;
	out->ids_released = e->ch_released.v;
	out->n_ids_released = e->ch_released.n;
	memset(&e->ch_created, 0, sizeof(e->ch_created));
	memset(&e->ch_released, 0, sizeof(e->ch_released));
	pol_hmap_free(&e->ch_eps);
	pol_hmap_free(&e->ch_ipc);
}

void pol_changes_free(struct pol_changes *c)
{
	for (size_t i = 0; i < c->n_endpoints; i++) {
		free(c->endpoints[i].ns);
		free(c->endpoints[i].name);
	}
	free(c->endpoints);
	free(c->ids_created);
	free(c->ids_released);
	free(c->ipcache);
	memset(c, 0, sizeof(*c));
}

/* ---- queries ------------------------------------------------------------------- */

static struct pod *pod_lookup(struct pol_engine *e, const char *ns, const char *name)
{
	char *key;
	struct pod *p;

	if (asprintf(&key, "%s/%s", ns, name) < 0)
		return NULL;
	p = pol_hmap_get(&e->pods, key);
	free(key);
	return p;
}

const struct pol_rules *pol_endpoint_rules(struct pol_engine *e, const char *ns,
					   const char *name, enum pol_dir dir)
{
	struct pod *p = pod_lookup(e, ns, name);

	return p && (dir == POL_INGRESS || dir == POL_EGRESS) ? &p->rules[dir] : NULL;
}

uint32_t pol_pod_identity(struct pol_engine *e, const char *ns, const char *name)
{
	struct pod *p = pod_lookup(e, ns, name);

	return p && p->id ? p->id->id : 0;
}

static const struct cidr *lpm(struct pol_engine *e, uint32_t ip)
{
	const struct cidr *best = NULL;

	IDA_FOREACH(&e->cidr_ids, const struct cidr *, c) {
		if ((ip & pol_mask(c->p.plen)) == c->p.ip && (!best || c->p.plen > best->p.plen))
			best = c;
	}
	return best;
}

static uint32_t ip_identity(struct pol_engine *e, uint32_t ip, struct pod **podp)
{
	char key[24];
	struct pod *p;
	const struct cidr *c;

	prefix_str(ip, 32, key, sizeof(key));
	p = pol_hmap_get(&e->ip_pods, key);
	if (podp)
		*podp = p;
	if (p && p->id)
		return p->id->id;
	c = lpm(e, ip);
	return c ? c->id : POL_ID_WORLD;
}

uint32_t pol_ip_identity(struct pol_engine *e, const char *ip)
{
	uint32_t a;

	if (parse_ip(ip, &a))
		return 0;
	return ip_identity(e, a, NULL);
}

const char *pol_identity_str(struct pol_engine *e, uint32_t id, char *buf, size_t len)
{
	const struct ident *o;
	const struct cidr *c;

	if (id == POL_ID_ANY)
		snprintf(buf, len, "any");
	else if (id == POL_ID_HOST)
		snprintf(buf, len, "reserved:host");
	else if (id == POL_ID_WORLD)
		snprintf(buf, len, "reserved:world");
	else if (id == POL_ID_REMOTE_NODE)
		snprintf(buf, len, "reserved:remote-node");
	else if ((o = ida_get(&e->pod_ids, id))) {
		char *l = json_dumps(o->pod_labels, JSON_COMPACT | JSON_SORT_KEYS);

		snprintf(buf, len, "ns=%s labels=%s", o->ns, l ? l : "?");
		free(l);
	} else if ((c = ida_get(&e->cidr_ids, id))) {
		snprintf(buf, len, "cidr:%s", c->key);
	} else {
		snprintf(buf, len, "unknown:%u", id);
	}
	return buf;
}

int pol_ipcache_dump(struct pol_engine *e, struct pol_ipcache_change **out, size_t *n)
{
	size_t k = 0;
	struct hmap_ent *h;

	*out = calloc(e->ip_pods.n + e->cidrs.n + 1, sizeof(**out));
	*n = 0;
	if (!*out)
		return -ENOMEM;
	for (size_t i = 0; i < e->cidrs.nb; i++)
		for (h = e->cidrs.b[i]; h; h = h->next) {
			const struct cidr *c = h->val;

			if (c->p.plen == 32 && ipc_value(e, c->p.ip, 32) != c->id)
				continue;       /* shadowed by a pod of that address */
			(*out)[k++] = (struct pol_ipcache_change){ c->p.ip, c->p.plen, c->id };
		}
	for (size_t i = 0; i < e->ip_pods.nb; i++)
		for (h = e->ip_pods.b[i]; h; h = h->next) {
			const struct pod *p = h->val;

			if (p->id)
				(*out)[k++] = (struct pol_ipcache_change){ p->ip, 32, p->id->id };
		}
	*n = k;
	return 0;
}

bool pol_rules_allow(const struct pol_rules *r, uint32_t identity, uint8_t proto, uint16_t port)
{
	if (!r || !r->enforced)
		return true;
	for (size_t i = 0; i < r->n; i++) {
		const struct pol_entry *x = &r->entries[i];

		if (x->identity != POL_ID_ANY && x->identity != identity)
			continue;
		if (x->proto != POL_PROTO_ANY && x->proto != proto)
			continue;
		if (x->port_lo && (port < x->port_lo || port > x->port_hi))
			continue;
		return true;
	}
	return false;
}

int pol_port_blocks(uint16_t lo, uint16_t hi, struct pol_port_block *out, int max)
{
	uint32_t cur = lo;
	int n = 0;

	while (cur <= hi) {
		uint32_t size = 1;
		int len = 16;

		while (len > 0) {
			uint32_t ns = size << 1;

			if ((cur & (ns - 1)) || cur + ns - 1 > hi)
				break;
			size = ns;
			len--;
		}
		if (n < max) {
			out[n].port = (uint16_t)cur;
			out[n].prefixlen = (uint8_t)len;
		}
		n++;
		cur += size;
	}
	return n;
}

void pol_get_stats(struct pol_engine *e, struct pol_stats *st)
{
	st->recomputed = e->recomputed;
	st->refreshed = e->refreshed;
	st->pods = e->pods.n;
	st->identities = e->idents.n;
	st->cidr_identities = e->cidrs.n;
	st->policies = e->n_pols;
}

/* ---- trace ---------------------------------------------------------------------- */

static void say(struct pol_trace_result *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void say(struct pol_trace_result *r, const char *fmt, ...)
{
	size_t used = strlen(r->explain);
	va_list ap;

	if (used + 1 >= sizeof(r->explain))
		return;
	va_start(ap, fmt);
	vsnprintf(r->explain + used, sizeof(r->explain) - used, fmt, ap);
	va_end(ap);
	used = strlen(r->explain);
	if (used + 1 < sizeof(r->explain)) {
		r->explain[used] = '\n';
		r->explain[used + 1] = '\0';
	}
}

struct trace_end {
	struct pod *pod;
	uint32_t id;
	char desc[128];
};

static int trace_resolve(struct pol_engine *e, const char *s, struct trace_end *t,
			 struct gerr *err)
{
	const char *slash = strchr(s, '/');
	char ns[256];
	uint32_t ip;

	memset(t, 0, sizeof(*t));
	snprintf(t->desc, sizeof(t->desc), "%s", s);
	if (!strcmp(s, "host")) {
		t->id = POL_ID_HOST;
		return 0;
	}
	if (!parse_ip(s, &ip)) {
		t->id = ip_identity(e, ip, &t->pod);
		if (t->pod)
			snprintf(t->desc, sizeof(t->desc), "%s (%s)", t->pod->key, s);
		return 0;
	}
	if (!slash)
		return gerr_set(err, -EINVAL, "\"%s\": expected ns/pod, an IPv4 address or host", s);
	snprintf(ns, sizeof(ns), "%.*s", (int)(slash - s), s);
	t->pod = pod_lookup(e, ns, slash + 1);
	if (!t->pod)
		return gerr_set(err, -ENOENT, "pod %s not found", s);
	t->id = t->pod->id ? t->pod->id->id : 0;
	return 0;
}

static bool trace_port(const struct pol_rule *r, const struct pod *dst, uint8_t proto,
		       uint16_t port, size_t *which)
{
	if (!r->n_ports) {
		*which = (size_t)-1;
		return true;
	}
	for (size_t k = 0; k < r->n_ports; k++) {
		const struct pol_port *pt = &r->ports[k];

		if (pt->proto != proto)
			continue;
		if (pt->name) {
			if (dst && named_port(dst, pt->name, proto) == port) {
				*which = k;
				return true;
			}
			continue;
		}
		if (!pt->port || (port >= pt->port && port <= pt->end)) {
			*which = k;
			return true;
		}
	}
	return false;
}

static bool trace_peer(struct pol_engine *e, const struct pol_policy *p,
		       const struct pol_peer *peer, const struct trace_end *t)
{
	if (peer->kind == PEER_BLOCK) {
		const struct cidr *c = ida_get(&e->cidr_ids, t->id);

		return c && block_allows(peer, &c->p);
	}
	if (!t->pod || !t->pod->id)
		return false;
	return peer_matches_ident(p, peer, t->pod->id);
}

/* One direction: the pod whose rules apply (self), the other end (peer)
 * and the destination (named ports). */
static void trace_dir(struct pol_engine *e, struct pod *self, int dir, const struct trace_end *peer,
		      const struct pod *dst, uint8_t proto, uint16_t port,
		      struct pol_trace_result *res, bool *enforced, bool *allowed)
{
	const char *dname = dir == POL_INGRESS ? "ingress" : "egress";
	const char *pkey = dir == POL_INGRESS ? "from" : "to";
	struct ns *n = self->ns;

	*enforced = *allowed = false;
	for (size_t i = 0; i < n->n_pols; i++) {
		const struct pol_policy *p = &n->pols[i]->p;

		if (!p->types[dir] || !sel_match_labels(&p->pod_sel, self->labels))
			continue;
		*enforced = true;
		say(res, "  %s: policy %s/%s selects %s", dname, p->ns, p->name, self->key);
		for (size_t ri = 0; ri < p->n_rules[dir]; ri++) {
			const struct pol_rule *r = &p->rules[dir][ri];
			bool peer_ok = !r->n_peers;
			size_t pj = 0, pk;

			for (size_t j = 0; j < r->n_peers && !peer_ok; j++)
				if (trace_peer(e, p, &r->peers[j], peer)) {
					peer_ok = true;
					pj = j;
				}
			if (!peer_ok)
				continue;
			if (!trace_port(r, dst, proto, port, &pk)) {
				say(res, "    spec.%s[%zu]: peer matches but not %u/%s", dname, ri, port,
				    pol_proto_name(proto));
				continue;
			}
			*allowed = true;
			if (r->n_peers && pk != (size_t)-1)
				say(res, "    ALLOW by %s/%s spec.%s[%zu].%s[%zu] ports[%zu]", p->ns, p->name,
				    dname, ri, pkey, pj, pk);
			else if (r->n_peers)
				say(res, "    ALLOW by %s/%s spec.%s[%zu].%s[%zu] (all ports)", p->ns, p->name,
				    dname, ri, pkey, pj);
			else if (pk != (size_t)-1)
				say(res, "    ALLOW by %s/%s spec.%s[%zu] (any peer) ports[%zu]", p->ns, p->name,
				    dname, ri, pk);
			else
				say(res, "    ALLOW by %s/%s spec.%s[%zu] (any peer, all ports)", p->ns, p->name,
				    dname, ri);
		}
	}
	if (!*enforced) {
		*allowed = true;
		say(res, "  %s of %s: not isolated (no policy with policyType %s selects it): allowed",
		    dname, self->key, dir == POL_INGRESS ? "Ingress" : "Egress");
	} else if (!*allowed) {
		say(res, "  %s of %s: DENY (isolated and no rule of the selecting policies matches)",
		    dname, self->key);
	}
}

int pol_trace(struct pol_engine *e, const char *from, const char *to, uint8_t proto,
	      uint16_t port, struct pol_trace_result *res, struct gerr *err)
{
	struct trace_end src, dst;
	char buf[256];
	int ret;

	memset(res, 0, sizeof(*res));
	if (proto != POL_PROTO_TCP && proto != POL_PROTO_UDP && proto != POL_PROTO_SCTP)
		return gerr_set(err, -EINVAL, "protocol must be TCP, UDP or SCTP");
	ret = trace_resolve(e, from, &src, err);
	if (!ret)
		ret = trace_resolve(e, to, &dst, err);
	if (ret)
		return ret;
	res->src_identity = src.id;
	res->dst_identity = dst.id;
	say(res, "%s -> %s %u/%s", src.desc, dst.desc, port, pol_proto_name(proto));
	say(res, "  source identity %u (%s)", src.id, pol_identity_str(e, src.id, buf, sizeof(buf)));
	say(res, "  destination identity %u (%s)", dst.id, pol_identity_str(e, dst.id, buf, sizeof(buf)));
	res->egress_allowed = res->ingress_allowed = true;
	if (src.pod && src.pod == dst.pod) {
		say(res, "  a pod's traffic to itself never leaves it (loopback): not subject to policy");
		res->allowed = true;
		say(res, "verdict: ALLOW");
		return 0;
	}
	if (src.pod)
		trace_dir(e, src.pod, POL_EGRESS, &dst, dst.pod, proto, port, res,
			  &res->egress_enforced, &res->egress_allowed);
	else
		say(res, "  egress: the source is not a pod: no egress policy applies");
	if (dst.pod && src.id == POL_ID_HOST) {
		say(res, "  ingress: traffic from the pod's node (host) is always allowed, as in Kubernetes");
		res->ingress_enforced = false;
	} else if (dst.pod) {
		trace_dir(e, dst.pod, POL_INGRESS, &src, dst.pod, proto, port, res,
			  &res->ingress_enforced, &res->ingress_allowed);
	} else {
		say(res, "  ingress: the destination is not a pod: no ingress policy applies");
	}
	res->allowed = res->egress_allowed && res->ingress_allowed;
	say(res, "verdict: %s", res->allowed ? "ALLOW" : "DENY");
	return 0;
}

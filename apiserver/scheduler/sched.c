/* SPDX-License-Identifier: Apache-2.0 */
/* Scheduler core (see sched.h): object parsing, quantity parsing, filters,
 * scores, the incremental cluster state and the decision itself. The
 * semantics follow kube-scheduler's default plugins (NodeUnschedulable,
 * TaintToleration, NodeAffinity, NodeResourcesFit, InterPodAffinity for
 * anti-affinity, spread and LeastAllocated scoring) and its messages. */
#include "apiserver/scheduler/sched.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* kube-scheduler's non-zero defaults: a container without requests still
 * weighs something when scoring, so best-effort pods spread too. */
#define NZ_MILLI_CPU 100
#define NZ_MEMORY    (200LL * 1024 * 1024)
/* When a Node reports no pod capacity at all (an agent that does not fill
 * status.allocatable yet), assume kubelet's default maxPods. */
#define DEFAULT_MAX_PODS 110

#define HOSTNAME_KEY "kubernetes.io/hostname"

/* ---- quantities ---------------------------------------------------------- */

int sched_quantity_parse(const char *s, bool milli, int64_t *out)
{
	__int128 mant = 0, v;
	int frac = 0, e10 = milli ? 3 : 0, bin = 0, digits = 0;
	bool any = false;
	const char *p = s;

	if (!s)
		return -EINVAL;
	while (isspace((unsigned char)*p))
		p++;
	if (*p == '+')
		p++;
	for (bool dot = false;; p++) {
		if (isdigit((unsigned char)*p)) {
			if (digits >= 30)
				return -ERANGE;
			if (mant || *p != '0')
				digits++;
			mant = mant * 10 + (*p - '0');
			any = true;
			if (dot)
				frac++;
		} else if (*p == '.' && !dot) {
			dot = true;
		} else {
			break;
		}
	}
	if (!any)
		return -EINVAL;
	e10 -= frac;
	/* Suffix: binary (Ki..Ei), decimal exponent (e3, E-2), or SI. */
	if (p[0] && p[1] == 'i') {
		static const char bins[] = "KMGTPE";
		const char *b = strchr(bins, p[0]);

		if (!b)
			return -EINVAL;
		bin = 10 * (int)(b - bins + 1);
		p += 2;
	} else if ((*p == 'e' || *p == 'E') &&
		   (isdigit((unsigned char)p[1]) ||
		    ((p[1] == '-' || p[1] == '+') && isdigit((unsigned char)p[2])))) {
		char *end;
		long x = strtol(p + 1, &end, 10);

		if (x > 40 || x < -40)
			return -ERANGE;
		e10 += (int)x;
		p = end;
	} else if (*p) {
		switch (*p) {
		case 'n': e10 -= 9; break;
		case 'u': e10 -= 6; break;
		case 'm': e10 -= 3; break;
		case 'k': e10 += 3; break;
		case 'M': e10 += 6; break;
		case 'G': e10 += 9; break;
		case 'T': e10 += 12; break;
		case 'P': e10 += 15; break;
		case 'E': e10 += 18; break;
		default: return -EINVAL;
		}
		p++;
	}
	if (*p)
		return -EINVAL;
	v = mant;
	for (int i = 0; i < bin; i++) {
		v <<= 1;
		if (v > (__int128)INT64_MAX * 1000)
			return -ERANGE;
	}
	for (; e10 > 0; e10--) {
		v *= 10;
		if (v > (__int128)INT64_MAX)
			return -ERANGE;
	}
	if (e10 < 0) {
		__int128 d = 1;

		for (; e10 < 0; e10++) {
			d *= 10;
			if (d > (__int128)INT64_MAX * 1000)
				break;
		}
		/* Round up, as Quantity.Value()/MilliValue() do. */
		v = (v + d - 1) / d;
	}
	if (v > INT64_MAX)
		return -ERANGE;
	*out = (int64_t)v;
	return 0;
}

int sched_quantity_json(const json_t *v, bool milli, int64_t *out)
{
	char buf[64];

	if (json_is_string(v))
		return sched_quantity_parse(json_string_value(v), milli, out);
	if (json_is_integer(v)) {
		snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
		return sched_quantity_parse(buf, milli, out);
	}
	if (json_is_real(v)) {
		snprintf(buf, sizeof(buf), "%.9f", json_real_value(v));
		return sched_quantity_parse(buf, milli, out);
	}
	return -EINVAL;
}

/* ---- small helpers ------------------------------------------------------- */

static uint64_t fnv(uint64_t h, const char *s)
{
	if (!h)
		h = 1469598103934665603ULL;
	for (; s && *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

static const char *jstr(const json_t *o, const char *path)
{
	return json_string_value(sel_lookup_path(o, path));
}

static char *xstrdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

static enum sched_effect parse_effect(const char *s)
{
	if (!s || !*s)
		return SCHED_EFFECT_ALL;
	if (!strcmp(s, "NoSchedule"))
		return SCHED_NO_SCHEDULE;
	if (!strcmp(s, "PreferNoSchedule"))
		return SCHED_PREFER_NO_SCHEDULE;
	if (!strcmp(s, "NoExecute"))
		return SCHED_NO_EXECUTE;
	return -1;
}

static void free_strv(char **v, int n)
{
	for (int i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int strv_from_json(const json_t *a, char ***out, int *n)
{
	size_t i;
	json_t *x;

	*out = NULL;
	*n = 0;
	if (!json_is_array(a) || !json_array_size(a))
		return 0;
	*out = calloc(json_array_size(a), sizeof(char *));
	if (!*out)
		return -ENOMEM;
	json_array_foreach(a, i, x) {
		if (!json_is_string(x))
			return -EINVAL;
		if (!((*out)[(*n)++] = strdup(json_string_value(x))))
			return -ENOMEM;
	}
	return 0;
}

static void term_free(struct sched_term *t)
{
	for (int i = 0; i < t->n; i++) {
		free(t->reqs[i].key);
		free_strv(t->reqs[i].values, t->reqs[i].n_values);
	}
	free(t->reqs);
	t->reqs = NULL;
	t->n = 0;
}

static int nsr_parse(const json_t *r, bool field, struct sched_nsr *out, struct gerr *err)
{
	const char *key = jstr(r, "key"), *op = jstr(r, "operator");
	int ret;

	memset(out, 0, sizeof(*out));
	out->field = field;
	if (!key || !op)
		return gerr_set(err, -EINVAL, "node selector requirement needs key and operator");
	if (!strcmp(op, "In"))
		out->op = NSR_IN;
	else if (!strcmp(op, "NotIn"))
		out->op = NSR_NOTIN;
	else if (!strcmp(op, "Exists"))
		out->op = NSR_EXISTS;
	else if (!strcmp(op, "DoesNotExist"))
		out->op = NSR_DOESNOTEXIST;
	else if (!strcmp(op, "Gt"))
		out->op = NSR_GT;
	else if (!strcmp(op, "Lt"))
		out->op = NSR_LT;
	else
		return gerr_set(err, -EINVAL, "unknown node selector operator \"%s\"", op);
	if (!(out->key = strdup(key)))
		return -ENOMEM;
	ret = strv_from_json(json_object_get(r, "values"), &out->values, &out->n_values);
	if (ret)
		return gerr_set(err, ret, "node selector requirement %s: bad values", key);
	if ((out->op == NSR_GT || out->op == NSR_LT) && out->n_values != 1)
		return gerr_set(err, -EINVAL, "%s: Gt/Lt need exactly one value", key);
	return 0;
}

static int term_parse(const json_t *t, struct sched_term *out, struct gerr *err)
{
	const json_t *me = json_object_get(t, "matchExpressions");
	const json_t *mf = json_object_get(t, "matchFields");
	size_t n = json_array_size(me) + json_array_size(mf), i;
	json_t *r;
	int ret;

	memset(out, 0, sizeof(*out));
	if (!n)
		return 0;
	out->reqs = calloc(n, sizeof(*out->reqs));
	if (!out->reqs)
		return -ENOMEM;
	json_array_foreach(me, i, r) {
		if ((ret = nsr_parse(r, false, &out->reqs[out->n++], err)))
			return ret;
	}
	json_array_foreach(mf, i, r) {
		if ((ret = nsr_parse(r, true, &out->reqs[out->n++], err)))
			return ret;
	}
	return 0;
}

/* ---- nodes --------------------------------------------------------------- */

void sched_node_free(struct sched_node *n)
{
	if (!n)
		return;
	free(n->name);
	json_decref(n->labels);
	for (int i = 0; i < n->n_taints; i++) {
		free(n->taints[i].key);
		free(n->taints[i].value);
	}
	free(n->taints);
	free(n->pods);
	free(n);
}

static int res_parse(const json_t *rl, struct sched_res *r, bool *have, struct gerr *err)
{
	const json_t *v;
	int ret;

	if ((v = json_object_get(rl, "cpu"))) {
		if ((ret = sched_quantity_json(v, true, &r->milli_cpu)))
			return gerr_set(err, ret, "bad cpu quantity");
		if (have)
			have[0] = true;
	}
	if ((v = json_object_get(rl, "memory"))) {
		if ((ret = sched_quantity_json(v, false, &r->memory)))
			return gerr_set(err, ret, "bad memory quantity");
		if (have)
			have[1] = true;
	}
	if ((v = json_object_get(rl, "pods"))) {
		if ((ret = sched_quantity_json(v, false, &r->pods)))
			return gerr_set(err, ret, "bad pods quantity");
		if (have)
			have[2] = true;
	}
	return 0;
}

int sched_node_parse(const json_t *obj, struct sched_node **out, struct gerr *err)
{
	struct sched_node *n = calloc(1, sizeof(*n));
	const json_t *alloc, *taints, *conds, *x, *lbl;
	bool have[3] = { false, false, false };
	size_t i;
	int ret = -ENOMEM;

	if (!n)
		return gerr_set(err, -ENOMEM, "out of memory");
	n->idx = -1;
	if (!(n->name = xstrdup(jstr(obj, "metadata.name")))) {
		ret = gerr_set(err, -EINVAL, "node without metadata.name");
		goto out;
	}
	lbl = sel_lookup_path(obj, "metadata.labels");
	n->labels = json_is_object(lbl) ? json_deep_copy(lbl) : json_object();
	/* The hostname label is what anti-affinity and users select on;
	 * agents set it, hand-made Node objects may not. */
	if (!json_object_get(n->labels, HOSTNAME_KEY))
		json_object_set_new(n->labels, HOSTNAME_KEY, json_string(n->name));
	n->unschedulable = json_is_true(sel_lookup_path(obj, "spec.unschedulable"));
	conds = sel_lookup_path(obj, "status.conditions");
	json_array_foreach(conds, i, x) {
		const char *t = jstr(x, "type"), *s = jstr(x, "status");

		if (t && s && !strcmp(t, "Ready"))
			n->ready = !strcmp(s, "True");
	}
	alloc = sel_lookup_path(obj, "status.allocatable");
	if (!json_is_object(alloc) || !json_object_size(alloc))
		alloc = sel_lookup_path(obj, "status.capacity");
	if ((ret = res_parse(alloc, &n->alloc, have, err)))
		goto out;
	/* A resource the node does not report is not a limit (agents that do
	 * not report resources yet must still get pods); pods default to
	 * kubelet's maxPods. */
	if (!have[0])
		n->alloc.milli_cpu = INT64_MAX / 4;
	if (!have[1])
		n->alloc.memory = INT64_MAX / 4;
	if (!have[2])
		n->alloc.pods = DEFAULT_MAX_PODS;
	taints = sel_lookup_path(obj, "spec.taints");
	if (json_array_size(taints)) {
		n->taints = calloc(json_array_size(taints), sizeof(*n->taints));
		if (!n->taints) {
			ret = -ENOMEM;
			goto out;
		}
		json_array_foreach(taints, i, x) {
			struct sched_taint *t = &n->taints[n->n_taints];
			int eff = parse_effect(jstr(x, "effect"));

			if (!jstr(x, "key") || eff <= 0) {
				ret = gerr_set(err, -EINVAL, "node %s: bad taint %zu", n->name, i);
				goto out;
			}
			t->effect = eff;
			t->key = strdup(jstr(x, "key"));
			t->value = strdup(jstr(x, "value") ?: "");
			n->n_taints++;
			if (!t->key || !t->value) {
				ret = -ENOMEM;
				goto out;
			}
		}
	}
	*out = n;
	return 0;
out:
	if (ret == -ENOMEM)
		gerr_set(err, ret, "out of memory");
	sched_node_free(n);
	return ret;
}

/* ---- pods ---------------------------------------------------------------- */

void sched_pod_free(struct sched_pod *p)
{
	if (!p)
		return;
	free(p->ns);
	free(p->name);
	free(p->uid);
	free(p->rv);
	free(p->key);
	free(p->node_name);
	free(p->scheduler_name);
	free(p->sched_msg);
	json_decref(p->labels);
	json_decref(p->node_selector);
	for (int i = 0; i < p->n_tols; i++) {
		free(p->tols[i].key);
		free(p->tols[i].value);
	}
	free(p->tols);
	for (int i = 0; i < p->n_aff_terms; i++)
		term_free(&p->aff_terms[i]);
	free(p->aff_terms);
	for (int i = 0; i < p->n_pref; i++)
		term_free(&p->pref[i].term);
	free(p->pref);
	for (int i = 0; i < p->n_anti; i++) {
		sel_free(&p->anti[i].sel);
		free_strv(p->anti[i].namespaces, p->anti[i].n_ns);
	}
	free(p->anti);
	free(p);
}

static void res_max(struct sched_res *a, const struct sched_res *b)
{
	if (b->milli_cpu > a->milli_cpu)
		a->milli_cpu = b->milli_cpu;
	if (b->memory > a->memory)
		a->memory = b->memory;
}

/* Requests of one container; limits stand in for missing requests, as the
 * API server's defaulting does. */
static int container_req(const json_t *c, struct sched_res *r, struct sched_res *nz,
			 struct gerr *err)
{
	const json_t *res = json_object_get(c, "resources");
	bool have[3] = { false, false, false };
	struct sched_res lim = { 0 };
	int ret;

	memset(r, 0, sizeof(*r));
	if ((ret = res_parse(json_object_get(res, "requests"), r, have, err)))
		return ret;
	if ((ret = res_parse(json_object_get(res, "limits"), &lim, NULL, err)))
		return ret;
	if (!have[0])
		r->milli_cpu = lim.milli_cpu;
	if (!have[1])
		r->memory = lim.memory;
	*nz = *r;
	if (!nz->milli_cpu)
		nz->milli_cpu = NZ_MILLI_CPU;
	if (!nz->memory)
		nz->memory = NZ_MEMORY;
	return 0;
}

static int parse_requests(const json_t *spec, struct sched_pod *p, struct gerr *err)
{
	struct sched_res sum = { 0 }, nzsum = { 0 }, imax = { 0 }, nzimax = { 0 }, r, nz;
	const json_t *c;
	size_t i;
	int ret;

	json_array_foreach(json_object_get(spec, "containers"), i, c) {
		if ((ret = container_req(c, &r, &nz, err)))
			return gerr_wrap(err, "container %zu", i);
		sum.milli_cpu += r.milli_cpu;
		sum.memory += r.memory;
		nzsum.milli_cpu += nz.milli_cpu;
		nzsum.memory += nz.memory;
	}
	/* Init containers run one at a time before the others: the pod
	 * needs the largest of them, or the sum of the app containers. */
	json_array_foreach(json_object_get(spec, "initContainers"), i, c) {
		if ((ret = container_req(c, &r, &nz, err)))
			return gerr_wrap(err, "init container %zu", i);
		res_max(&imax, &r);
		res_max(&nzimax, &nz);
	}
	res_max(&sum, &imax);
	res_max(&nzsum, &nzimax);
	/* RuntimeClass overhead is accounted on top. */
	memset(&r, 0, sizeof(r));
	if ((ret = res_parse(json_object_get(spec, "overhead"), &r, NULL, err)) == 0) {
		sum.milli_cpu += r.milli_cpu;
		sum.memory += r.memory;
		nzsum.milli_cpu += r.milli_cpu;
		nzsum.memory += r.memory;
	} else {
		return ret;
	}
	sum.pods = nzsum.pods = 1;
	p->req = sum;
	p->nz_req = nzsum;
	return 0;
}

static int parse_tolerations(const json_t *a, struct sched_pod *p, struct gerr *err)
{
	const json_t *x;
	size_t i;

	if (!json_array_size(a))
		return 0;
	p->tols = calloc(json_array_size(a), sizeof(*p->tols));
	if (!p->tols)
		return -ENOMEM;
	json_array_foreach(a, i, x) {
		struct sched_toleration *t = &p->tols[p->n_tols];
		const char *op = jstr(x, "operator");
		int eff = parse_effect(jstr(x, "effect"));

		if (eff < 0)
			return gerr_set(err, -EINVAL, "toleration %zu: bad effect", i);
		t->effect = eff;
		t->exists = op && !strcmp(op, "Exists");
		if (op && !t->exists && strcmp(op, "Equal"))
			return gerr_set(err, -EINVAL, "toleration %zu: bad operator \"%s\"", i, op);
		t->key = xstrdup(jstr(x, "key"));
		t->value = strdup(jstr(x, "value") ?: "");
		p->n_tols++;
		if (!t->value)
			return -ENOMEM;
	}
	return 0;
}

static int parse_affinity(const json_t *aff, struct sched_pod *p, struct gerr *err)
{
	const json_t *na = json_object_get(aff, "nodeAffinity");
	const json_t *req = sel_lookup_path(na, "requiredDuringSchedulingIgnoredDuringExecution");
	const json_t *pref = json_object_get(na, "preferredDuringSchedulingIgnoredDuringExecution");
	const json_t *anti = sel_lookup_path(aff, "podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution");
	const json_t *x;
	size_t i;
	int ret;

	if (req) {
		const json_t *terms = json_object_get(req, "nodeSelectorTerms");

		p->has_aff = true;
		if (json_array_size(terms)) {
			p->aff_terms = calloc(json_array_size(terms), sizeof(*p->aff_terms));
			if (!p->aff_terms)
				return -ENOMEM;
		}
		json_array_foreach(terms, i, x) {
			if ((ret = term_parse(x, &p->aff_terms[p->n_aff_terms++], err)))
				return ret;
		}
	}
	if (json_array_size(pref)) {
		p->pref = calloc(json_array_size(pref), sizeof(*p->pref));
		if (!p->pref)
			return -ENOMEM;
		json_array_foreach(pref, i, x) {
			struct sched_pref_term *t = &p->pref[p->n_pref++];

			t->weight = (int)json_integer_value(json_object_get(x, "weight"));
			if ((ret = term_parse(json_object_get(x, "preference"), &t->term, err)))
				return ret;
		}
	}
	if (json_array_size(anti)) {
		p->anti = calloc(json_array_size(anti), sizeof(*p->anti));
		if (!p->anti)
			return -ENOMEM;
		json_array_foreach(anti, i, x) {
			const char *tk = jstr(x, "topologyKey");
			const json_t *ls = json_object_get(x, "labelSelector");
			struct sched_anti_term *t;

			if (!tk || strcmp(tk, HOSTNAME_KEY)) {
				/* Zones and other wider domains are not
				 * supported: say so instead of ignoring. */
				return gerr_set(err, -EOPNOTSUPP,
						"podAntiAffinity topologyKey \"%s\" is not supported (only %s)",
						tk ? tk : "", HOSTNAME_KEY);
			}
			t = &p->anti[p->n_anti++];
			/* A missing labelSelector selects no pod. */
			if (!ls || json_is_null(ls)) {
				t->sel.nothing = true;
			} else if ((ret = sel_from_label_selector(ls, &t->sel, err))) {
				return ret;
			}
			if ((ret = strv_from_json(json_object_get(x, "namespaces"), &t->namespaces, &t->n_ns)))
				return gerr_set(err, ret, "podAntiAffinity: bad namespaces");
			/* namespaceSelector {} means all namespaces; other
			 * selectors would need Namespace labels. */
			const json_t *nss = json_object_get(x, "namespaceSelector");
			if (json_is_object(nss) && !json_object_size(nss))
				t->all_namespaces = true;
		}
	}
	return 0;
}

bool sched_pod_pending(const struct sched_pod *p)
{
	return (!p->node_name || !*p->node_name) && !p->terminating && !p->finished &&
	       (!p->scheduler_name || !*p->scheduler_name ||
		!strcmp(p->scheduler_name, "default-scheduler") ||
		!strcmp(p->scheduler_name, "gannet"));
}

int sched_pod_parse(const json_t *obj, struct sched_pod **out, struct gerr *err)
{
	struct sched_pod *p = calloc(1, sizeof(*p));
	const json_t *spec = json_object_get(obj, "spec"), *lbl, *x;
	const char *ns = jstr(obj, "metadata.namespace"), *phase;
	char *s;
	size_t i;
	int ret = -ENOMEM;

	if (!p)
		return gerr_set(err, -ENOMEM, "out of memory");
	p->node_pos = -1;
	if (!jstr(obj, "metadata.name")) {
		ret = gerr_set(err, -EINVAL, "pod without metadata.name");
		goto out;
	}
	p->ns = strdup(ns && *ns ? ns : "default");
	p->name = xstrdup(jstr(obj, "metadata.name"));
	p->uid = strdup(jstr(obj, "metadata.uid") ?: "");
	p->rv = strdup(jstr(obj, "metadata.resourceVersion") ?: "");
	if (!p->ns || !p->name || !p->uid || !p->rv ||
	    asprintf(&p->key, "%s/%s", p->ns, p->name) < 0) {
		p->key = NULL;
		goto out;
	}
	p->node_name = xstrdup(jstr(spec, "nodeName"));
	p->scheduler_name = xstrdup(jstr(spec, "schedulerName"));
	p->terminating = sel_lookup_path(obj, "metadata.deletionTimestamp") &&
			 !json_is_null(sel_lookup_path(obj, "metadata.deletionTimestamp"));
	phase = jstr(obj, "status.phase");
	p->finished = phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"));
	lbl = sel_lookup_path(obj, "metadata.labels");
	p->labels = json_is_object(lbl) ? json_deep_copy(lbl) : json_object();
	json_array_foreach(sel_lookup_path(obj, "metadata.ownerReferences"), i, x) {
		if (json_is_true(json_object_get(x, "controller")) && jstr(x, "uid"))
			p->group = fnv(fnv(0, "owner:"), jstr(x, "uid"));
	}
	if (!p->group && json_object_size(p->labels)) {
		/* No controller: pods with the same labels in the same
		 * namespace are treated as one workload. */
		s = json_dumps(p->labels, JSON_COMPACT | JSON_SORT_KEYS);
		p->group = fnv(fnv(fnv(0, "labels:"), p->ns), s);
		free(s);
	}
	x = json_object_get(spec, "nodeSelector");
	if (json_is_object(x) && json_object_size(x))
		p->node_selector = json_deep_copy(x);
	if ((ret = parse_requests(spec, p, err)) ||
	    (ret = parse_tolerations(json_object_get(spec, "tolerations"), p, err)) ||
	    (ret = parse_affinity(json_object_get(spec, "affinity"), p, err)))
		goto out;
	json_array_foreach(sel_lookup_path(obj, "status.conditions"), i, x) {
		const char *t = jstr(x, "type"), *st = jstr(x, "status");

		if (t && st && !strcmp(t, "PodScheduled") && !strcmp(st, "False"))
			p->sched_msg = xstrdup(jstr(x, "message") ?: "");
	}
	s = json_dumps(spec, JSON_COMPACT | JSON_SORT_KEYS);
	p->spec_hash = fnv(fnv(0, s), "|");
	free(s);
	s = json_dumps(p->labels, JSON_COMPACT | JSON_SORT_KEYS);
	p->spec_hash = fnv(p->spec_hash, s);
	free(s);
	*out = p;
	return 0;
out:
	if (ret == -ENOMEM)
		gerr_set(err, ret, "out of memory");
	else if (p->name)
		gerr_wrap(err, "pod %s", p->name);
	sched_pod_free(p);
	return ret;
}

/* ---- filters ------------------------------------------------------------- */

static bool tol_matches(const struct sched_toleration *t, const char *key,
			const char *value, enum sched_effect effect)
{
	if (t->effect != SCHED_EFFECT_ALL && t->effect != effect)
		return false;
	if (!t->key || !*t->key)
		return t->exists;   /* empty key only with Exists: everything */
	if (strcmp(t->key, key))
		return false;
	return t->exists || !strcmp(t->value ? t->value : "", value ? value : "");
}

bool sched_tolerates(const struct sched_toleration *tols, int n,
		     const char *key, const char *value, enum sched_effect effect)
{
	for (int i = 0; i < n; i++)
		if (tol_matches(&tols[i], key, value, effect))
			return true;
	return false;
}

unsigned sched_filter_ready(const struct sched_node *n, const struct sched_pod *p)
{
	/* Pods that tolerate the not-ready taint (DaemonSet-style) may
	 * still go there, as with the node lifecycle taints. */
	if (n->ready || sched_tolerates(p->tols, p->n_tols, "node.kubernetes.io/not-ready", "",
					SCHED_NO_SCHEDULE))
		return 0;
	return SCHED_R_NOT_READY;
}

unsigned sched_filter_schedulable(const struct sched_node *n, const struct sched_pod *p)
{
	if (!n->unschedulable ||
	    sched_tolerates(p->tols, p->n_tols, "node.kubernetes.io/unschedulable", "",
			    SCHED_NO_SCHEDULE))
		return 0;
	return SCHED_R_UNSCHEDULABLE;
}

unsigned sched_filter_taints(const struct sched_node *n, const struct sched_pod *p,
			     const struct sched_taint **bad)
{
	for (int i = 0; i < n->n_taints; i++) {
		const struct sched_taint *t = &n->taints[i];

		if (t->effect == SCHED_PREFER_NO_SCHEDULE)
			continue;
		if (!sched_tolerates(p->tols, p->n_tols, t->key, t->value, t->effect)) {
			if (bad)
				*bad = t;
			return SCHED_R_TAINT;
		}
	}
	return 0;
}

static bool nsr_matches(const struct sched_nsr *r, const struct sched_node *n)
{
	const char *v;
	char *end;
	long long a, b;

	if (r->field) {
		/* matchFields supports metadata.name only. */
		v = !strcmp(r->key, "metadata.name") ? n->name : NULL;
	} else {
		v = json_string_value(json_object_get(n->labels, r->key));
	}
	switch (r->op) {
	case NSR_IN:
	case NSR_NOTIN: {
		bool in = false;

		for (int i = 0; v && i < r->n_values; i++)
			if (!strcmp(v, r->values[i]))
				in = true;
		return r->op == NSR_IN ? in : !in;
	}
	case NSR_EXISTS:
		return v != NULL;
	case NSR_DOESNOTEXIST:
		return v == NULL;
	case NSR_GT:
	case NSR_LT:
		if (!v || !*v)
			return false;
		a = strtoll(v, &end, 10);
		if (*end)
			return false;
		b = strtoll(r->values[0], &end, 10);
		if (*end)
			return false;
		return r->op == NSR_GT ? a > b : a < b;
	}
	return false;
}

bool sched_term_matches(const struct sched_term *t, const struct sched_node *n)
{
	if (!t->n)
		return false;   /* an empty term matches no node */
	for (int i = 0; i < t->n; i++)
		if (!nsr_matches(&t->reqs[i], n))
			return false;
	return true;
}

unsigned sched_filter_affinity(const struct sched_node *n, const struct sched_pod *p)
{
	if (p->node_selector) {
		const char *k;
		json_t *v;

		json_object_foreach(p->node_selector, k, v) {
			const char *nv = json_string_value(json_object_get(n->labels, k));

			if (!nv || !json_is_string(v) || strcmp(nv, json_string_value(v)))
				return SCHED_R_AFFINITY;
		}
	}
	if (p->has_aff) {
		for (int i = 0; i < p->n_aff_terms; i++)
			if (sched_term_matches(&p->aff_terms[i], n))
				return 0;
		return SCHED_R_AFFINITY;
	}
	return 0;
}

unsigned sched_filter_resources(const struct sched_node *n, const struct sched_pod *p)
{
	unsigned m = 0;

	if (n->requested.pods + 1 > n->alloc.pods)
		m |= SCHED_R_PODS;
	if (p->req.milli_cpu && n->requested.milli_cpu + p->req.milli_cpu > n->alloc.milli_cpu)
		m |= SCHED_R_CPU;
	if (p->req.memory && n->requested.memory + p->req.memory > n->alloc.memory)
		m |= SCHED_R_MEMORY;
	return m;
}

static bool anti_selects(const struct sched_anti_term *t, const char *owner_ns,
			 const struct sched_pod *q)
{
	bool ns_ok = t->all_namespaces;

	if (!ns_ok && !t->n_ns)
		ns_ok = !strcmp(owner_ns, q->ns);
	for (int i = 0; !ns_ok && i < t->n_ns; i++)
		ns_ok = !strcmp(t->namespaces[i], q->ns);
	return ns_ok && sel_match_labels(&t->sel, q->labels);
}

unsigned sched_filter_anti_affinity(const struct sched_node *n, const struct sched_pod *p)
{
	for (int i = 0; i < n->n_pods; i++) {
		const struct sched_pod *q = n->pods[i];

		if (!strcmp(q->key, p->key))
			continue;
		for (int j = 0; j < p->n_anti; j++)
			if (anti_selects(&p->anti[j], p->ns, q))
				return SCHED_R_ANTI_AFFINITY;
		for (int j = 0; j < q->n_anti; j++)
			if (anti_selects(&q->anti[j], q->ns, p))
				return SCHED_R_EXISTING_ANTI;
	}
	return 0;
}

unsigned sched_filter(const struct sched_node *n, const struct sched_pod *p,
		      const struct sched_taint **bad)
{
	unsigned m;

	if ((m = sched_filter_ready(n, p)) || (m = sched_filter_schedulable(n, p)) ||
	    (m = sched_filter_taints(n, p, bad)) || (m = sched_filter_affinity(n, p)) ||
	    (m = sched_filter_resources(n, p)))
		return m;
	return sched_filter_anti_affinity(n, p);
}

/* ---- scores -------------------------------------------------------------- */

static int free_pct(int64_t alloc, int64_t used)
{
	if (alloc <= 0 || used >= alloc)
		return 0;
	return (int)((alloc - used) * 100 / alloc);
}

int sched_score_least_allocated(const struct sched_node *n, const struct sched_pod *p)
{
	return (free_pct(n->alloc.milli_cpu, n->nz_requested.milli_cpu + p->nz_req.milli_cpu) +
		free_pct(n->alloc.memory, n->nz_requested.memory + p->nz_req.memory)) / 2;
}

int sched_spread_count(const struct sched_node *n, const struct sched_pod *p)
{
	int c = 0;

	if (!p->group)
		return 0;
	for (int i = 0; i < n->n_pods; i++)
		if (n->pods[i]->group == p->group)
			c++;
	return c;
}

int sched_pref_affinity_weight(const struct sched_node *n, const struct sched_pod *p)
{
	int w = 0;

	for (int i = 0; i < p->n_pref; i++)
		if (sched_term_matches(&p->pref[i].term, n))
			w += p->pref[i].weight;
	return w;
}

int sched_prefer_taint_count(const struct sched_node *n, const struct sched_pod *p)
{
	int c = 0;

	for (int i = 0; i < n->n_taints; i++)
		if (n->taints[i].effect == SCHED_PREFER_NO_SCHEDULE &&
		    !sched_tolerates(p->tols, p->n_tols, n->taints[i].key, n->taints[i].value,
				     SCHED_PREFER_NO_SCHEDULE))
			c++;
	return c;
}

/* ---- the fit message ------------------------------------------------------ */

struct reason_count {
	char text[192];
	int count;
};

static void count_reason(struct reason_count *rc, int *n, int max, const char *text)
{
	for (int i = 0; i < *n; i++)
		if (!strcmp(rc[i].text, text)) {
			rc[i].count++;
			return;
		}
	if (*n < max) {
		snprintf(rc[*n].text, sizeof(rc[*n].text), "%s", text);
		rc[(*n)++].count = 1;
	}
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void sched_fit_message(int n_nodes, const unsigned *masks,
		       const struct sched_taint *const *taints, int n_masks,
		       char *buf, size_t len)
{
	static const struct { unsigned bit; const char *text; } texts[] = {
		{ SCHED_R_NOT_READY, "node(s) were not ready" },
		{ SCHED_R_UNSCHEDULABLE, "node(s) were unschedulable" },
		{ SCHED_R_AFFINITY, "node(s) didn't match Pod's node affinity/selector" },
		{ SCHED_R_CPU, "Insufficient cpu" },
		{ SCHED_R_MEMORY, "Insufficient memory" },
		{ SCHED_R_PODS, "Too many pods" },
		{ SCHED_R_ANTI_AFFINITY, "node(s) didn't match pod anti-affinity rules" },
		{ SCHED_R_EXISTING_ANTI, "node(s) didn't satisfy existing pods anti-affinity rules" },
	};
	enum { MAXR = 32 };
	struct reason_count rc[MAXR];
	char *lines[MAXR], tmp[192];
	int nr = 0;
	size_t off;

	if (!n_nodes) {
		snprintf(buf, len, "no nodes available to schedule pods");
		return;
	}
	for (int i = 0; i < n_masks; i++) {
		if (masks[i] & SCHED_R_TAINT) {
			const struct sched_taint *t = taints ? taints[i] : NULL;

			snprintf(tmp, sizeof(tmp), "node(s) had untolerated taint {%s: %s}",
				 t ? t->key : "", t ? t->value : "");
			count_reason(rc, &nr, MAXR, tmp);
		}
		for (size_t j = 0; j < sizeof(texts) / sizeof(texts[0]); j++)
			if (masks[i] & texts[j].bit)
				count_reason(rc, &nr, MAXR, texts[j].text);
	}
	/* kube-scheduler sorts the "count reason" strings themselves. */
	for (int i = 0; i < nr; i++) {
		if (asprintf(&lines[i], "%d %s", rc[i].count, rc[i].text) < 0)
			lines[i] = NULL;
	}
	qsort(lines, nr, sizeof(lines[0]), cmp_str);
	off = snprintf(buf, len, "0/%d nodes are available: ", n_nodes);
	for (int i = 0; i < nr; i++) {
		if (off < len)
			off += snprintf(buf + off, len - off, "%s%s", i ? ", " : "",
					lines[i] ? lines[i] : "?");
		free(lines[i]);
	}
	if (off < len)
		snprintf(buf + off, len - off, ".");
}

/* ---- state --------------------------------------------------------------- */

struct pod_slot {
	struct sched_pod *pod;
	struct pod_slot *next;
};

struct sched_state {
	struct sched_node **nodes;
	int n_nodes, cap_nodes;
	struct pod_slot **buckets;
	size_t n_buckets, n_pods;
	unsigned rr;               /* rotates the tie-break start */
	/* scratch for sched_pick, sized to cap_nodes */
	unsigned *masks;
	const struct sched_taint **bad;
	int *raw_spread, *raw_pref, *raw_taint;
};

struct sched_state *sched_state_new(void)
{
	struct sched_state *st = calloc(1, sizeof(*st));

	if (!st)
		return NULL;
	st->n_buckets = 1024;
	st->buckets = calloc(st->n_buckets, sizeof(*st->buckets));
	if (!st->buckets) {
		free(st);
		return NULL;
	}
	return st;
}

void sched_state_free(struct sched_state *st)
{
	if (!st)
		return;
	for (size_t b = 0; b < st->n_buckets; b++) {
		struct pod_slot *s = st->buckets[b], *nx;

		for (; s; s = nx) {
			nx = s->next;
			sched_pod_free(s->pod);
			free(s);
		}
	}
	free(st->buckets);
	for (int i = 0; i < st->n_nodes; i++)
		sched_node_free(st->nodes[i]);
	free(st->nodes);
	free(st->masks);
	free(st->bad);
	free(st->raw_spread);
	free(st->raw_pref);
	free(st->raw_taint);
	free(st);
}

int sched_state_n_nodes(const struct sched_state *st)
{
	return st->n_nodes;
}

struct sched_node *sched_state_node(const struct sched_state *st, const char *name)
{
	for (int i = 0; i < st->n_nodes; i++)
		if (!strcmp(st->nodes[i]->name, name))
			return st->nodes[i];
	return NULL;
}

static struct pod_slot **pod_slot(const struct sched_state *st, const char *key)
{
	struct pod_slot **s = &st->buckets[fnv(0, key) & (st->n_buckets - 1)];

	for (; *s; s = &(*s)->next)
		if (!strcmp((*s)->pod->key, key))
			return s;
	return s;
}

struct sched_pod *sched_state_pod(const struct sched_state *st, const char *key)
{
	struct pod_slot **s = pod_slot(st, key);

	return *s ? (*s)->pod : NULL;
}

static void res_add(struct sched_res *a, const struct sched_res *b, int sign)
{
	a->milli_cpu += sign * b->milli_cpu;
	a->memory += sign * b->memory;
	a->pods += sign * b->pods;
}

static int node_attach(struct sched_node *n, struct sched_pod *p)
{
	if (p->finished || p->node)
		return 0;
	if (n->n_pods == n->cap_pods) {
		int cap = n->cap_pods ? n->cap_pods * 2 : 16;
		struct sched_pod **v = realloc(n->pods, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		n->pods = v;
		n->cap_pods = cap;
	}
	p->node = n;
	p->node_pos = n->n_pods;
	n->pods[n->n_pods++] = p;
	res_add(&n->requested, &p->req, 1);
	res_add(&n->nz_requested, &p->nz_req, 1);
	return 0;
}

static void node_detach(struct sched_pod *p)
{
	struct sched_node *n = p->node;

	if (!n)
		return;
	n->pods[p->node_pos] = n->pods[--n->n_pods];
	n->pods[p->node_pos]->node_pos = p->node_pos;
	res_add(&n->requested, &p->req, -1);
	res_add(&n->nz_requested, &p->nz_req, -1);
	p->node = NULL;
	p->node_pos = -1;
}

static int ensure_scratch(struct sched_state *st, int cap)
{
	void *a = realloc(st->masks, cap * sizeof(*st->masks));

	if (!a)
		return -ENOMEM;
	st->masks = a;
	if (!(a = realloc(st->bad, cap * sizeof(*st->bad))))
		return -ENOMEM;
	st->bad = a;
	if (!(a = realloc(st->raw_spread, cap * sizeof(int))))
		return -ENOMEM;
	st->raw_spread = a;
	if (!(a = realloc(st->raw_pref, cap * sizeof(int))))
		return -ENOMEM;
	st->raw_pref = a;
	if (!(a = realloc(st->raw_taint, cap * sizeof(int))))
		return -ENOMEM;
	st->raw_taint = a;
	return 0;
}

int sched_state_upsert_node(struct sched_state *st, struct sched_node *n)
{
	struct sched_node *old = sched_state_node(st, n->name);

	if (old) {
		/* Keep the accounting: the pods did not move. */
		n->pods = old->pods;
		n->n_pods = old->n_pods;
		n->cap_pods = old->cap_pods;
		n->requested = old->requested;
		n->nz_requested = old->nz_requested;
		n->idx = old->idx;
		for (int i = 0; i < n->n_pods; i++)
			n->pods[i]->node = n;
		old->pods = NULL;
		st->nodes[n->idx] = n;
		sched_node_free(old);
		return 0;
	}
	if (st->n_nodes == st->cap_nodes) {
		int cap = st->cap_nodes ? st->cap_nodes * 2 : 64;
		struct sched_node **v = realloc(st->nodes, cap * sizeof(*v));

		if (!v || ensure_scratch(st, cap)) {
			if (v)
				st->nodes = v;
			sched_node_free(n);
			return -ENOMEM;
		}
		st->nodes = v;
		st->cap_nodes = cap;
	}
	n->idx = st->n_nodes;
	st->nodes[st->n_nodes++] = n;
	/* Pods bound to this node before we heard of it. */
	for (size_t b = 0; b < st->n_buckets; b++)
		for (struct pod_slot *s = st->buckets[b]; s; s = s->next)
			if (!s->pod->node && s->pod->node_name &&
			    !strcmp(s->pod->node_name, n->name))
				node_attach(n, s->pod);
	return 0;
}

void sched_state_remove_node(struct sched_state *st, const char *name)
{
	struct sched_node *n = sched_state_node(st, name);

	if (!n)
		return;
	/* Its pods stay known (they may come back with the node). */
	while (n->n_pods)
		node_detach(n->pods[n->n_pods - 1]);
	st->nodes[n->idx] = st->nodes[--st->n_nodes];
	st->nodes[n->idx]->idx = n->idx;
	sched_node_free(n);
}

static void grow_table(struct sched_state *st)
{
	size_t nb = st->n_buckets * 2;
	struct pod_slot **b = calloc(nb, sizeof(*b));

	if (!b)
		return;   /* keep the old size: slower, still correct */
	for (size_t i = 0; i < st->n_buckets; i++) {
		struct pod_slot *s = st->buckets[i], *nx;

		for (; s; s = nx) {
			size_t h = fnv(0, s->pod->key) & (nb - 1);

			nx = s->next;
			s->next = b[h];
			b[h] = s;
		}
	}
	free(st->buckets);
	st->buckets = b;
	st->n_buckets = nb;
}

int sched_state_upsert_pod(struct sched_state *st, struct sched_pod *p)
{
	struct pod_slot **sp = pod_slot(st, p->key), *s = *sp;
	struct sched_node *n;

	if (s) {
		node_detach(s->pod);
		sched_pod_free(s->pod);
		s->pod = p;
	} else {
		if (!(s = calloc(1, sizeof(*s)))) {
			sched_pod_free(p);
			return -ENOMEM;
		}
		s->pod = p;
		*sp = s;
		if (++st->n_pods > st->n_buckets)
			grow_table(st);
	}
	if (p->node_name && (n = sched_state_node(st, p->node_name)))
		return node_attach(n, p);
	return 0;
}

void sched_state_remove_pod(struct sched_state *st, const char *key)
{
	struct pod_slot **sp = pod_slot(st, key), *s = *sp;

	if (!s)
		return;
	*sp = s->next;
	node_detach(s->pod);
	sched_pod_free(s->pod);
	free(s);
	st->n_pods--;
}

void sched_state_sweep_nodes(struct sched_state *st,
			     bool (*keep)(const struct sched_node *n, void *arg), void *arg)
{
	for (int i = st->n_nodes - 1; i >= 0; i--)
		if (!keep(st->nodes[i], arg))
			sched_state_remove_node(st, st->nodes[i]->name);
}

void sched_state_sweep_pods(struct sched_state *st,
			    bool (*keep)(const struct sched_pod *p, void *arg), void *arg)
{
	for (size_t b = 0; b < st->n_buckets; b++) {
		struct pod_slot **sp = &st->buckets[b];

		while (*sp) {
			struct pod_slot *s = *sp;

			if (keep(s->pod, arg)) {
				sp = &s->next;
				continue;
			}
			*sp = s->next;
			node_detach(s->pod);
			sched_pod_free(s->pod);
			free(s);
			st->n_pods--;
		}
	}
}

/* A deep copy through the parser would need the JSON; copy what the
 * state uses instead: key, labels, group, requests and anti-affinity
 * terms (by re-parsing is not possible here, so the terms move into a
 * fresh selector copy). */
static struct sched_pod *pod_assumed_copy(const struct sched_pod *p, const char *node)
{
	struct sched_pod *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->node_pos = -1;
	c->ns = strdup(p->ns);
	c->name = strdup(p->name);
	c->uid = strdup(p->uid);
	c->rv = strdup(p->rv);
	c->key = strdup(p->key);
	c->node_name = strdup(node);
	c->labels = json_incref(p->labels);
	c->group = p->group;
	c->req = p->req;
	c->nz_req = p->nz_req;
	c->assumed = true;
	if (!c->ns || !c->name || !c->uid || !c->rv || !c->key || !c->node_name)
		goto fail;
	if (p->n_anti) {
		c->anti = calloc(p->n_anti, sizeof(*c->anti));
		if (!c->anti)
			goto fail;
		for (int i = 0; i < p->n_anti; i++) {
			const struct sched_anti_term *a = &p->anti[i];
			struct sched_anti_term *b = &c->anti[c->n_anti++];
			const struct sel_req *r;

			b->all_namespaces = a->all_namespaces;
			b->sel.nothing = a->sel.nothing;
			if (a->n_ns && !(b->namespaces = calloc(a->n_ns, sizeof(char *))))
				goto fail;
			for (int j = 0; j < a->n_ns; j++, b->n_ns++)
				if (!(b->namespaces[j] = strdup(a->namespaces[j])))
					goto fail;
			if (a->sel.n && !(b->sel.reqs = calloc(a->sel.n, sizeof(*r))))
				goto fail;
			for (int j = 0; j < a->sel.n; j++, b->sel.n++) {
				struct sel_req *d = &b->sel.reqs[j];

				r = &a->sel.reqs[j];
				d->op = r->op;
				if (!(d->key = strdup(r->key)))
					goto fail;
				if (r->n_values && !(d->values = calloc(r->n_values, sizeof(char *))))
					goto fail;
				for (int k = 0; k < r->n_values; k++, d->n_values++)
					if (!(d->values[k] = strdup(r->values[k])))
						goto fail;
			}
		}
	}
	return c;
fail:
	sched_pod_free(c);
	return NULL;
}

int sched_state_assume(struct sched_state *st, const struct sched_pod *p,
		       const char *node, struct gerr *err)
{
	struct sched_pod *c = pod_assumed_copy(p, node);

	if (!c)
		return gerr_set(err, -ENOMEM, "out of memory");
	return sched_state_upsert_pod(st, c);
}

/* ---- the decision ---------------------------------------------------------- */

int sched_pick(struct sched_state *st, const struct sched_pod *p,
	       const struct sched_node **node, char *reason, size_t reason_len)
{
	int n = st->n_nodes, feasible = 0, max_spread = 0, max_pref = 0, max_taint = 0;
	int best = -1;
	long best_score = -1;
	unsigned start;

	*node = NULL;
	for (int i = 0; i < n; i++) {
		const struct sched_node *nd = st->nodes[i];

		st->bad[i] = NULL;
		st->masks[i] = sched_filter(nd, p, &st->bad[i]);
		if (st->masks[i])
			continue;
		feasible++;
		st->raw_spread[i] = sched_spread_count(nd, p);
		st->raw_pref[i] = p->n_pref ? sched_pref_affinity_weight(nd, p) : 0;
		st->raw_taint[i] = sched_prefer_taint_count(nd, p);
		if (st->raw_spread[i] > max_spread)
			max_spread = st->raw_spread[i];
		if (st->raw_pref[i] > max_pref)
			max_pref = st->raw_pref[i];
		if (st->raw_taint[i] > max_taint)
			max_taint = st->raw_taint[i];
	}
	if (!feasible) {
		sched_fit_message(n, st->masks, st->bad, n, reason, reason_len);
		return -ENOSPC;
	}
	/* Ties go to the first node after a rotating start, so that equal
	 * nodes share the load instead of the first one taking it all. */
	start = n ? st->rr++ % (unsigned)n : 0;
	for (int k = 0; k < n; k++) {
		int i = (int)((start + (unsigned)k) % (unsigned)n);
		const struct sched_node *nd = st->nodes[i];
		long s;

		if (st->masks[i])
			continue;
		s = (long)SCHED_W_LEAST * sched_score_least_allocated(nd, p);
		s += (long)SCHED_W_SPREAD *
		     (max_spread ? 100 * (max_spread - st->raw_spread[i]) / max_spread : 100);
		s += (long)SCHED_W_AFFINITY * (max_pref ? 100 * st->raw_pref[i] / max_pref : 0);
		s += (long)SCHED_W_TAINT *
		     (max_taint ? 100 * (max_taint - st->raw_taint[i]) / max_taint : 100);
		if (s > best_score) {
			best_score = s;
			best = i;
		}
	}
	*node = st->nodes[best];
	return 0;
}

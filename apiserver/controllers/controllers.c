/* SPDX-License-Identifier: Apache-2.0 */
/* Controller runner: the table of controllers, one worker thread per
 * controller (own API client, keys from its work queue), the write helper
 * and the pure helpers several controllers share (ownership claims,
 * int-or-percent). A new controller is one ctrl_*.c file plus one line in
 * ctrl_table. */
#include "apiserver/controllers/ctrl.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/selectors.h"

static const struct ctrl_desc *const ctrl_table[] = {
	&ctrl_nodeipam_desc,
	&ctrl_replicaset_desc,
	&ctrl_deployment_desc,
	&ctrl_daemonset_desc,
	&ctrl_nodelifecycle_desc,
	&ctrl_namespace_desc,
	&ctrl_gc_desc,
	&ctrl_endpoints_desc,
};
#define N_CTRL (sizeof(ctrl_table) / sizeof(ctrl_table[0]))

const char *controllers_names(void)
{
	return "nodeipam,replicaset,deployment,daemonset,nodelifecycle,namespace,gc,endpoints";
}

/* ---- helpers for controllers ----------------------------------------------- */

void ctrl_enqueue(struct ctrl *c, const json_t *obj)
{
	char key[512];

	ctrl_key(obj, key, sizeof(key));
	wq_add(c->q, key);
}

void ctrl_enqueue_owner(struct ctrl *c, const json_t *obj, const char *owner_kind)
{
	const json_t *ref = ctrl_controller_ref(obj);
	const char *ns = cj_str(obj, "metadata.namespace");
	char key[512];

	if (!ref || strcmp(json_string_value(json_object_get(ref, "kind")) ?: "", owner_kind))
		return;
	snprintf(key, sizeof(key), "%s/%s", ns ? ns : "",
		 json_string_value(json_object_get(ref, "name")) ?: "");
	wq_add(c->q, key);
}

void ctrl_enqueue_selecting(struct ctrl *c, enum ctrl_kind_id k, const json_t *obj)
{
	json_t *all = informer_list(informers_get(c->inf, k), cj_str(obj, "metadata.namespace"));
	size_t i;
	json_t *o;

	json_array_foreach(all, i, o)
		if (sel_label_selector_matches(sel_lookup_path(o, "spec.selector"),
					       sel_lookup_path(obj, "metadata.labels")))
			ctrl_enqueue(c, o);
	json_decref(all);
}

int ctrl_write(struct ctrl *c, struct apiclient *api, enum ctrl_kind_id k,
	       const char *method, const char *ns, const char *name, const char *sub,
	       const json_t *body, const char *patch_type, json_t **out, struct gerr *err)
{
	char path[768];
	int64_t rv = 0;
	int ret;

	ctrl_kind_path(&ctrl_kinds[k], ns, name, sub, path, sizeof(path));
	ret = ctrl_api_write(api, method, path, body, patch_type, &rv, out, err);
	if (!ret && rv > c->wrote_rv[k])
		c->wrote_rv[k] = rv;
	return ret;
}

int ctrl_int_or_percent(const json_t *v, int total, bool round_up, int *out)
{
	const char *s;
	char *end;
	long p;

	if (!v || json_is_null(v)) {
		*out = 0;
		return 0;
	}
	if (json_is_integer(v)) {
		*out = (int)json_integer_value(v);
		return 0;
	}
	s = json_string_value(v);
	if (!s)
		return -EINVAL;
	p = strtol(s, &end, 10);
	if (end == s)
		return -EINVAL;
	if (*end == 0) {
		*out = (int)p;
		return 0;
	}
	if (strcmp(end, "%"))
		return -EINVAL;
	/* Integer arithmetic: Kubernetes uses math.Ceil/Floor on floats,
	 * which agree for these magnitudes. */
	if (round_up)
		*out = (int)((p * total + 99) / 100);
	else
		*out = (int)(p * total / 100);
	return 0;
}

bool ctrl_json_subset(const json_t *part, const json_t *whole)
{
	const char *k;
	json_t *v;

	if (!json_is_object(part) || !json_is_object(whole))
		return json_equal(part, whole);
	json_object_foreach((json_t *)part, k, v)
		if (!json_equal(v, json_object_get(whole, k)))
			return false;
	return true;
}

json_t *ctrl_owner_ref(const json_t *owner)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:b, s:b}",
			 "apiVersion", cj_str(owner, "apiVersion") ?: "apps/v1",
			 "kind", cj_str(owner, "kind") ?: "",
			 "name", cj_str(owner, "metadata.name") ?: "",
			 "uid", cj_str(owner, "metadata.uid") ?: "",
			 "controller", 1, "blockOwnerDeletion", 1);
}

bool ctrl_is_controlled_by(const json_t *obj, const json_t *owner)
{
	const json_t *ref = ctrl_controller_ref(obj);
	const char *uid = cj_str(owner, "metadata.uid");

	return ref && uid && !strcmp(json_string_value(json_object_get(ref, "uid")) ?: "", uid);
}

bool ctrl_claim(const json_t *owner, const json_t *selector, const json_t *objs,
		json_t *owned, json_t *adopt, json_t *release)
{
	struct selector sel = { 0 };
	bool sel_ok = sel_from_label_selector(selector, &sel, NULL) == 0;
	/* An empty selector selects nothing for workload controllers
	 * (validation requires one); never adopt the whole namespace. */
	bool empty = !selector || json_object_size(selector) == 0;
	bool owner_deleting = cj_str(owner, "metadata.deletionTimestamp") != NULL;
	size_t i;
	json_t *o;

	if (!sel_ok || empty)
		goto out;
	json_array_foreach(objs, i, o) {
		bool match = sel_ok && !empty &&
			sel_match_labels(&sel, sel_lookup_path(o, "metadata.labels"));

		if (ctrl_is_controlled_by(o, owner)) {
			if (match || owner_deleting)
				json_array_append(owned, o);
			else if (!cj_str(o, "metadata.deletionTimestamp"))
				json_array_append(release, o);
			continue;
		}
		if (ctrl_controller_ref(o) || !match || owner_deleting ||
		    cj_str(o, "metadata.deletionTimestamp"))
			continue;
		json_array_append(owned, o);
		json_array_append(adopt, o);
	}
out:
	if (sel_ok)
		sel_free(&sel);
	return sel_ok && !empty;
}

/* ---- runner ---------------------------------------------------------------- */

struct worker {
	struct ctrl c;
	pthread_t thr;
	const struct kubeconfig *kc;
	bool started;
};

static void *worker_thread(void *arg)
{
	struct worker *w = arg;
	struct ctrl *c = &w->c;
	struct apiclient *api = NULL;
	struct apiclient_opts ao = { .timeout_ms = 15000, .user_agent = "gannet-controller-manager" };
	struct gerr e = { 0 };
	char *key;

	if (apiclient_new(w->kc, &ao, &api, &e)) {
		pr_err("controller %s: %s", c->d->name, e.msg);
		return NULL;
	}
	if (c->d->start)
		c->d->start(c);
	while ((key = wq_get(c->q, c->stop))) {
		int ret;

		memset(&e, 0, sizeof(e));
		memset(c->wrote_rv, 0, sizeof(c->wrote_rv));
		ret = c->d->sync(c, api, key, &e);
		if (ret) {
			if (ret == -ECANCELED || ret == -EEXIST || ret == -ENOENT)
				pr_debug("controller %s: %s: %s (retrying)", c->d->name, key, e.msg);
			else
				pr_warn("controller %s: %s: %s", c->d->name, key, e.msg);
			wq_add_after(c->q, key, ret == -ECANCELED ? 100 : 1000);
		}
		/* See our own writes before deciding again. */
		for (int k = 0; k < CK_COUNT; k++)
			if (c->wrote_rv[k] && c->inf->by_kind[k] &&
			    !informer_wait_rv(c->inf->by_kind[k], c->wrote_rv[k], 5000))
				pr_warn("controller %s: %s cache did not reach revision %lld",
					c->d->name, ctrl_kinds[k].plural, (long long)c->wrote_rv[k]);
		wq_done(c->q, key);
		free(key);
	}
	apiclient_free(api);
	return NULL;
}

static bool selected(const char *list, const char *name)
{
	size_t n = strlen(name);
	const char *p = list;

	if (!list || !*list || !strcmp(list, "*"))
		return true;
	while (p && *p) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);

		if (len == n && !strncmp(p, name, n))
			return true;
		p = comma ? comma + 1 : NULL;
	}
	return false;
}

int controllers_run(const struct kubeconfig *kc, const struct ctrl_options *o,
		    volatile int *stop)
{
	struct informers inf = { 0 };
	struct worker w[N_CTRL];
	struct gerr e = { 0 };
	size_t n = 0;
	int ret = 0;

	memset(w, 0, sizeof(w));
	/* Reject unknown names before starting anything. */
	if (o->controllers && *o->controllers && strcmp(o->controllers, "*")) {
		char *dup = strdup(o->controllers), *save = NULL;

		for (char *t = strtok_r(dup, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
			bool known = false;

			for (size_t i = 0; i < N_CTRL; i++)
				known |= !strcmp(ctrl_table[i]->name, t);
			if (!known) {
				pr_err("unknown controller \"%s\" (known: %s)", t, controllers_names());
				free(dup);
				return -EINVAL;
			}
		}
		free(dup);
	}
	for (size_t i = 0; i < N_CTRL; i++) {
		if (!selected(o->controllers, ctrl_table[i]->name))
			continue;
		w[n].kc = kc;
		w[n].c.d = ctrl_table[i];
		w[n].c.inf = &inf;
		w[n].c.o = o;
		w[n].c.stop = stop;
		w[n].c.q = wq_new();
		ret = ctrl_table[i]->setup(&w[n].c, &e);
		if (ret) {
			pr_err("controller %s: %s", ctrl_table[i]->name, e.msg);
			n++;
			goto out;
		}
		n++;
	}
	ret = informers_start(&inf, kc, stop, &e);
	if (ret) {
		pr_err("%s", e.msg);
		goto out;
	}
	while (!*stop && !informers_wait_synced(&inf, 5000, stop))
		pr_warn("controllers: waiting for the informers to sync");
	if (*stop)
		goto out;
	pr_info("controllers: caches synced, starting %zu controllers", n);
	for (size_t i = 0; i < n; i++) {
		if (pthread_create(&w[i].thr, NULL, worker_thread, &w[i]) == 0)
			w[i].started = true;
	}
	while (!*stop)
		usleep(100 * 1000);
out:
	for (size_t i = 0; i < n; i++)
		wq_shutdown(w[i].c.q);
	for (size_t i = 0; i < n; i++)
		if (w[i].started)
			pthread_join(w[i].thr, NULL);
	informers_join_free(&inf);
	for (size_t i = 0; i < n; i++) {
		if (w[i].c.d->cleanup)
			w[i].c.d->cleanup(&w[i].c);
		wq_free(w[i].c.q);
	}
	return ret;
}

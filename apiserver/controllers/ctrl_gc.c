/* SPDX-License-Identifier: Apache-2.0 */
/* Garbage collector: objects whose ownerReferences all point at objects
 * that no longer exist (same uid) are deleted (background cascading
 * deletion); references to some missing owners are dropped. Owners being
 * deleted with the foregroundDeletion finalizer have their dependents
 * deleted first, then lose the finalizer; with the orphan finalizer their
 * dependents lose the reference instead. A missing owner in the cache is
 * confirmed with a GET before anything is deleted, since the caches of
 * different kinds are not updated in step. */
#include "apiserver/controllers/ctrl.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GC_FOREGROUND "foregroundDeletion"
#define GC_ORPHAN     "orphan"

/* Kinds whose objects the collector watches as dependents and owners. */
static const enum ctrl_kind_id gc_kinds[] = {
	CK_POD, CK_REPLICASET, CK_DEPLOYMENT, CK_DAEMONSET, CK_SERVICE, CK_ENDPOINTS,
	CK_CONFIGMAP, CK_SECRET,
};
#define GC_N (sizeof(gc_kinds) / sizeof(gc_kinds[0]))

/* ---- pure part ------------------------------------------------------------- */

enum gc_verdict gc_decide(const json_t *obj, const bool *owner_alive, size_t n)
{
	size_t alive = 0;

	for (size_t i = 0; i < n; i++)
		alive += owner_alive[i];
	if (n == 0 || alive == n)
		return GC_KEEP;
	return alive == 0 ? GC_DELETE : GC_DROP_REFS;
}

/* ---- controller ------------------------------------------------------------- */

static bool has_finalizer(const json_t *o, const char *f)
{
	size_t i;
	json_t *v;

	json_array_foreach(sel_lookup_path(o, "metadata.finalizers"), i, v)
		if (!strcmp(json_string_value(v) ?: "", f))
			return true;
	return false;
}

static void enqueue_typed(struct ctrl *c, char role, int kind, const json_t *obj)
{
	char key[600], k[512];

	ctrl_key(obj, k, sizeof(k));
	snprintf(key, sizeof(key), "%c|%d|%s", role, kind, k);
	wq_add(c->q, key);
}

/* Owner uid -> {"<kind>|ns/name": true} of its dependents, maintained by
 * the handlers (several informer threads, hence the lock), so that an
 * owner's deletion finds its dependents without scanning every cache. */
static pthread_mutex_t gc_lock = PTHREAD_MUTEX_INITIALIZER;
static json_t *gc_index;

static void index_refs(int kind, const json_t *obj, bool add)
{
	char key[600], k[512];
	size_t i;
	json_t *r;

	if (!obj)
		return;
	ctrl_key(obj, k, sizeof(k));
	snprintf(key, sizeof(key), "%d|%s", kind, k);
	pthread_mutex_lock(&gc_lock);
	json_array_foreach(sel_lookup_path(obj, "metadata.ownerReferences"), i, r) {
		const char *uid = cj_str(r, "uid");
		json_t *set;

		if (!uid)
			continue;
		set = json_object_get(gc_index, uid);
		if (add) {
			if (!set) {
				set = json_object();
				json_object_set_new(gc_index, uid, set);
			}
			json_object_set_new(set, key, json_true());
		} else if (set) {
			json_object_del(set, key);
			if (!json_object_size(set))
				json_object_del(gc_index, uid);
		}
	}
	pthread_mutex_unlock(&gc_lock);
}

/* Cached objects having an ownerReference with this uid. */
static json_t *dependents_of(struct ctrl *c, const char *uid, json_t *kinds_out)
{
	json_t *deps = json_array(), *keys = json_array(), *v;
	const char *key;
	size_t i;

	pthread_mutex_lock(&gc_lock);
	json_object_foreach(json_object_get(gc_index, uid), key, v)
		json_array_append_new(keys, json_string(key));
	pthread_mutex_unlock(&gc_lock);
	json_array_foreach(keys, i, v) {
		char buf[600], *rest;
		const char *ns, *name;
		int kind = (int)strtol(json_string_value(v), &rest, 10);
		json_t *o;

		if (*rest != '|' || kind < 0 || kind >= CK_COUNT || !c->inf->by_kind[kind])
			continue;
		snprintf(buf, sizeof(buf), "%s", rest + 1);
		ctrl_split_key(buf, &ns, &name);
		o = informer_get(c->inf->by_kind[kind], ns, name);
		if (!o)
			continue;
		json_array_append_new(deps, o);
		if (kinds_out)
			json_array_append_new(kinds_out, json_integer(kind));
	}
	json_decref(keys);
	return deps;
}

struct gc_handler {
	struct ctrl *c;
	int kind;
};
static struct gc_handler gc_h[CK_COUNT];

static void on_obj(void *arg, const char *type, const json_t *old, const json_t *obj)
{
	struct gc_handler *h = arg;
	struct ctrl *c = h->c;

	/* Keep the owner index in step with the cache. */
	index_refs(h->kind, old, false);
	if (strcmp(type, "DELETED"))
		index_refs(h->kind, obj, true);
	else
		index_refs(h->kind, obj, false);
	if (!strcmp(type, "DELETED")) {
		const char *uid = cj_str(obj, "metadata.uid");
		json_t *kinds = json_array(), *deps, *d;
		size_t i;

		if (!uid)
			return;
		deps = dependents_of(c, uid, kinds);
		json_array_foreach(deps, i, d)
			enqueue_typed(c, 'd', (int)json_integer_value(json_array_get(kinds, i)), d);
		json_decref(deps);
		json_decref(kinds);
		return;
	}
	if (json_array_size(sel_lookup_path(obj, "metadata.ownerReferences")))
		enqueue_typed(c, 'd', h->kind, obj);
	if (cj_str(obj, "metadata.deletionTimestamp") &&
	    (has_finalizer(obj, GC_FOREGROUND) || has_finalizer(obj, GC_ORPHAN)))
		enqueue_typed(c, 'o', h->kind, obj);
}

static int gc_setup(struct ctrl *c, struct gerr *err)
{
	if (!gc_index)
		gc_index = json_object();
	for (size_t k = 0; k < GC_N; k++) {
		int ret;

		gc_h[gc_kinds[k]].c = c;
		gc_h[gc_kinds[k]].kind = gc_kinds[k];
		ret = informer_add_handler(informers_get_meta(c->inf, gc_kinds[k]), on_obj,
					   &gc_h[gc_kinds[k]]);
		if (ret)
			return gerr_set(err, ret, "too many handlers");
	}
	return 0;
}

/* 1 alive, 0 gone, -errno unknown. dying: set when the owner waits for
 * its dependents (foreground deletion). */
static int owner_alive(struct ctrl *c, struct apiclient *api, const char *ns, const json_t *ref,
		       bool *dying)
{
	int k = ctrl_kind_find(cj_str(ref, "apiVersion"), cj_str(ref, "kind"));
	const char *name = cj_str(ref, "name"), *uid = cj_str(ref, "uid") ?: "";
	json_t *o;
	char path[512];
	struct api_resp r = { 0 };
	struct gerr e = { 0 };
	int alive;

	*dying = false;
	if (k < 0 || !name)
		return 1;  /* a kind we do not know: never collect on its behalf */
	o = c->inf->by_kind[k] ? informer_get(c->inf->by_kind[k], ns, name) : NULL;
	if (o && !strcmp(cj_str(o, "metadata.uid") ?: "", uid)) {
		*dying = cj_str(o, "metadata.deletionTimestamp") && has_finalizer(o, GC_FOREGROUND);
		json_decref(o);
		return 1;
	}
	json_decref(o);
	/* Confirm with the server before acting on a cache miss. */
	ctrl_kind_path(&ctrl_kinds[k], ns, name, NULL, path, sizeof(path));
	if (apiclient_get(api, path, &r, &e))
		return e.code ? e.code : -EIO;
	if (r.status == 404)
		alive = 0;
	else if (api_ok(&r)) {
		alive = !strcmp(cj_str(r.body, "metadata.uid") ?: "", uid);
		*dying = alive && cj_str(r.body, "metadata.deletionTimestamp") &&
			 has_finalizer(r.body, GC_FOREGROUND);
	} else
		alive = -EIO;
	api_resp_free(&r);
	return alive;
}

static int sync_dependent(struct ctrl *c, struct apiclient *api, int kind, const char *ns,
			  const char *name, struct gerr *err)
{
	json_t *o = informer_get(informers_get_meta(c->inf, kind), ns, name);
	const json_t *refs = sel_lookup_path(o, "metadata.ownerReferences");
	size_t n = json_array_size(refs), i;
	bool *alive = calloc(n + 1, sizeof(*alive)), any_dying = false;
	json_t *ref;
	int ret = 0;

	if (!o || !n || cj_str(o, "metadata.deletionTimestamp"))
		goto out;
	json_array_foreach(refs, i, ref) {
		bool dying;
		int a = owner_alive(c, api, ns, ref, &dying);

		if (a < 0) {
			ret = gerr_set(err, a, "cannot check owner %s of %s", cj_str(ref, "name"), name);
			goto out;
		}
		alive[i] = a;
		any_dying |= dying;
	}
	switch (gc_decide(o, alive, n)) {
	case GC_KEEP:
		if (!any_dying)
			break;
		/* Foreground deletion of the owner: delete it too. */
		__attribute__((fallthrough));
	case GC_DELETE: {
		json_t *opts = json_pack("{s:s, s:s, s:{s:s}}", "kind", "DeleteOptions",
					 "apiVersion", "v1", "preconditions", "resourceVersion",
					 cj_str(o, "metadata.resourceVersion") ?: "");
		char path[512];
		struct api_resp r = { 0 };

		ctrl_kind_path(&ctrl_kinds[kind], ns, name, NULL, path, sizeof(path));
		ret = apiclient_request(api, "DELETE", path, opts, NULL, &r, err);
		json_decref(opts);
		if (!ret && r.status == 409)
			ret = gerr_set(err, -ECANCELED, "%s changed, re-checking", name);
		else if (!ret && !api_ok(&r) && r.status != 404)
			ret = gerr_set(err, -EIO, "delete %s: %ld %s", path, r.status, r.message);
		else if (!ret) {
			pr_info("gc: deleted %s %s%s%s (owner gone)", ctrl_kinds[kind].kind,
				ns, *ns ? "/" : "", name);
			if (api_ok(&r) && ctrl_obj_rv(r.body) > c->wrote_rv[kind])
				c->wrote_rv[kind] = ctrl_obj_rv(r.body);
		}
		api_resp_free(&r);
		break;
	}
	case GC_DROP_REFS: {
		json_t *keep = json_array(), *patch;

		json_array_foreach(refs, i, ref)
			if (alive[i])
				json_array_append(keep, ref);
		patch = json_pack("{s:{s:o, s:s}}", "metadata", "ownerReferences", keep,
				  "resourceVersion", cj_str(o, "metadata.resourceVersion") ?: "");
		ret = ctrl_write(c, api, kind, "PATCH", ns, name, NULL, patch, "merge", NULL, err);
		json_decref(patch);
		break;
	}
	}
out:
	free(alive);
	json_decref(o);
	return ret;
}

static int sync_owner(struct ctrl *c, struct apiclient *api, int kind, const char *ns,
		      const char *name, struct gerr *err)
{
	json_t *o = informer_get(informers_get_meta(c->inf, kind), ns, name), *deps = NULL,
	       *kinds = json_array(), *d;
	bool fg, orphan;
	size_t i;
	int ret = 0;

	if (!o || !cj_str(o, "metadata.deletionTimestamp"))
		goto out;
	fg = has_finalizer(o, GC_FOREGROUND);
	orphan = has_finalizer(o, GC_ORPHAN);
	if (!fg && !orphan)
		goto out;
	deps = dependents_of(c, cj_str(o, "metadata.uid") ?: "", kinds);
	json_array_foreach(deps, i, d) {
		int dk = (int)json_integer_value(json_array_get(kinds, i));
		const char *dn = cj_str(d, "metadata.name");

		if (orphan) {
			json_t *keep = json_array(), *r, *patch;
			size_t j;

			json_array_foreach(sel_lookup_path(d, "metadata.ownerReferences"), j, r)
				if (strcmp(cj_str(r, "uid") ?: "", cj_str(o, "metadata.uid") ?: ""))
					json_array_append(keep, r);
			patch = json_pack("{s:{s:o}}", "metadata", "ownerReferences", keep);
			ret = ctrl_write(c, api, dk, "PATCH", ns, dn, NULL, patch, "merge", NULL, err);
			json_decref(patch);
		} else if (!cj_str(d, "metadata.deletionTimestamp")) {
			ret = ctrl_write(c, api, dk, "DELETE", ns, dn, NULL, NULL, NULL, NULL, err);
		}
		if (ret && ret != -ENOENT)
			goto out;
		ret = 0;
	}
	if (json_array_size(deps) && fg) {
		/* Wait until the dependents are really gone (the worker
		 * retries the key). */
		ret = gerr_set(err, -EAGAIN, "%s: waiting for %zu dependents", name,
			       json_array_size(deps));
		goto out;
	}
	{
		json_t *fin = json_array(), *v, *patch;

		json_array_foreach(sel_lookup_path(o, "metadata.finalizers"), i, v)
			if (strcmp(json_string_value(v) ?: "", GC_FOREGROUND) &&
			    strcmp(json_string_value(v) ?: "", GC_ORPHAN))
				json_array_append(fin, v);
		patch = json_pack("{s:{s:o}}", "metadata", "finalizers", fin);
		ret = ctrl_write(c, api, kind, "PATCH", ns, name, NULL, patch, "merge", NULL, err);
		json_decref(patch);
		if (ret == -ENOENT)
			ret = 0;
	}
out:
	json_decref(deps);
	json_decref(kinds);
	json_decref(o);
	return ret;
}

static int gc_sync(struct ctrl *c, struct apiclient *api, const char *key, struct gerr *err)
{
	char buf[600], role;
	const char *ns, *name;
	char *rest;
	int kind;

	if (strlen(key) < 4 || key[1] != '|')
		return 0;
	role = key[0];
	kind = (int)strtol(key + 2, &rest, 10);
	if (*rest != '|' || kind < 0 || kind >= CK_COUNT)
		return 0;
	snprintf(buf, sizeof(buf), "%s", rest + 1);
	ctrl_split_key(buf, &ns, &name);
	if (role == 'd')
		return sync_dependent(c, api, kind, ns, name, err);
	return sync_owner(c, api, kind, ns, name, err);
}

static void gc_cleanup(struct ctrl *c)
{
	pthread_mutex_lock(&gc_lock);
	json_decref(gc_index);
	gc_index = NULL;
	pthread_mutex_unlock(&gc_lock);
}

const struct ctrl_desc ctrl_gc_desc = {
	.name = "gc",
	.setup = gc_setup,
	.sync = gc_sync,
	.cleanup = gc_cleanup,
};

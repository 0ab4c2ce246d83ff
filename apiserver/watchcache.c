/* SPDX-License-Identifier: Apache-2.0 */
/* Watch cache: one store watch over all of /registry/ feeds a ring of recent
 * events (decoded once: Secrets decrypted, resourceVersion set, serialized
 * once). Every HTTP watcher holds a cursor (the last revision it delivered)
 * and reads the ring at its own pace, so a slow client only delays itself;
 * when its cursor falls out of the ring it gets closed (410 semantics) and
 * re-lists, as Kubernetes clients do. Resuming from revision N works as long
 * as every event after N is still in the ring. */
#include "apiserver/apiserver.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/selectors.h"

struct wc_event_int {
	struct wc_event ev;
	atomic_int refs;
};

#define WC_MAX_OBSERVERS 8

struct watchcache {
	struct apiserver *as;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct wc_event **ring;
	size_t cap, head, count;    /* head = index of oldest */
	int64_t min_ok;             /* cursors with after_rev >= min_ok can resume */
	int64_t latest;
	bool stopping;
	struct store_watch *sw;
	/* key -> current labels of every object, so that an UPDATE event can
	 * carry the labels it replaced (watchers with a label selector turn
	 * "stopped matching" into DELETED and "started matching" into ADDED).
	 * Only the store-watch thread touches it after start. */
	json_t *labels_by_key;
	struct {
		wc_observer_fn fn;
		void *arg;
	} obs[WC_MAX_OBSERVERS];
	int n_obs;
};

void wc_event_put(struct wc_event *ev)
{
	struct wc_event_int *e = (struct wc_event_int *)ev;

	if (!ev)
		return;
	if (atomic_fetch_sub(&e->refs, 1) == 1) {
		free(ev->key);
		free(ev->json);
		free(ev->name);
		json_decref(ev->obj);
		json_decref(ev->labels);
		json_decref(ev->prev_labels);
		free(e);
	}
}

static struct wc_event *ev_get(struct wc_event *ev)
{
	atomic_fetch_add(&((struct wc_event_int *)ev)->refs, 1);
	return ev;
}

static int wc_store_cb(const struct store_event *sev, void *arg)
{
	struct watchcache *wc = arg;
	struct wc_event_int *e;
	const struct api_kind *k = reg_from_key(sev->kv.key);
	json_t *obj = NULL;
	struct gerr err = { 0 };

	if (!k) {
		/* Not an API object (e.g. internal bookkeeping keys): still
		 * advance the revision so bookmarks and resumes stay exact. */
		pthread_mutex_lock(&wc->lock);
		if (sev->rev > wc->latest)
			wc->latest = sev->rev;
		pthread_cond_broadcast(&wc->cond);
		pthread_mutex_unlock(&wc->lock);
		return 0;
	}
	if (as_decode(wc->as, k, sev->kv.value, sev->kv.len, sev->rev, &obj, &err)) {
		pr_warn("watch cache: cannot decode %s at rev %lld: %s", sev->kv.key,
			(long long)sev->rev, err.msg);
		obj = json_pack("{s:{s:s}}", "metadata", "name", "");
		obj_set_rv(obj, sev->rev);
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		json_decref(obj);
		return 0;
	}
	atomic_init(&e->refs, 1);
	e->ev.rev = sev->rev;
	e->ev.type = sev->type;
	e->ev.key = strdup(sev->kv.key);
	e->ev.obj = obj;
	e->ev.kind = k;
	e->ev.json = json_dumps(obj, JSON_COMPACT);
	e->ev.json_len = e->ev.json ? strlen(e->ev.json) : 0;

	e->ev.name = strdup(json_string_value(sel_lookup_path(obj, "metadata.name")) ?: "");
	e->ev.labels = json_deep_copy(sel_lookup_path(obj, "metadata.labels"));
	json_t *prev = json_object_get(wc->labels_by_key, sev->kv.key);
	if (prev && sev->type == STORE_EV_UPDATE) {
		e->ev.had_prev = true;
		e->ev.prev_labels = json_is_null(prev) ? NULL : json_incref(prev);
	}
	if (sev->type == STORE_EV_DELETE)
		json_object_del(wc->labels_by_key, sev->kv.key);
	else
		json_object_set(wc->labels_by_key, sev->kv.key,
				e->ev.labels ? e->ev.labels : json_null());

	for (int i = 0; i < wc->n_obs; i++)
		wc->obs[i].fn(&e->ev, wc->obs[i].arg);
	/* Watchers work from the serialized form, the name and the labels;
	 * a parsed tree per event would dominate the server's memory. */
	json_decref(e->ev.obj);
	e->ev.obj = NULL;

	pthread_mutex_lock(&wc->lock);
	if (wc->count == wc->cap) {
		struct wc_event *old = wc->ring[wc->head];

		wc->min_ok = old->rev;
		wc->head = (wc->head + 1) % wc->cap;
		wc->count--;
		wc_event_put(old);
	}
	wc->ring[(wc->head + wc->count) % wc->cap] = &e->ev;
	wc->count++;
	wc->latest = sev->rev;
	pthread_cond_broadcast(&wc->cond);
	pthread_mutex_unlock(&wc->lock);
	return 0;
}

int wc_start(struct apiserver *as, size_t capacity, struct watchcache **out,
	     struct gerr *err)
{
	struct watchcache *wc = calloc(1, sizeof(*wc));
	int64_t rev = 0;
	int ret;

	if (!wc)
		return gerr_set(err, -ENOMEM, "out of memory");
	wc->as = as;
	wc->cap = capacity ? capacity : 10000;
	wc->ring = calloc(wc->cap, sizeof(*wc->ring));
	pthread_mutex_init(&wc->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&wc->cond, &ca);
	pthread_condattr_destroy(&ca);
	/* One consistent list of everything: its revision is where the watch
	 * starts, and it seeds the labels index. */
	struct store_list l = { 0 };

	ret = store_list(as->store, "/registry/", NULL, 0, &l, err);
	if (ret)
		goto fail;
	rev = l.rev;
	wc->labels_by_key = json_object();
	for (size_t i = 0; i < l.n; i++) {
		const struct api_kind *k = reg_from_key(l.items[i].key);
		json_t *obj = NULL;

		if (!k || as_decode(as, k, l.items[i].value, l.items[i].len, l.items[i].mod_rev,
				    &obj, NULL))
			continue;
		const json_t *lb = sel_lookup_path(obj, "metadata.labels");
		json_object_set_new(wc->labels_by_key, l.items[i].key, lb ? json_deep_copy(lb) : json_null());
		json_decref(obj);
	}
	store_list_free(&l);
	wc->min_ok = wc->latest = rev;
	*out = wc;
	return 0;
fail:
	free(wc->ring);
	free(wc);
	return ret;
}

/* Starts the store watch; separate from wc_start so that observers can be
 * registered and initial state loaded at a known revision first. */
int wc_run(struct watchcache *wc, struct gerr *err)
{
	return store_watch_start(wc->as->store, "/registry/", wc->latest, wc_store_cb, wc,
				 &wc->sw, err);
}

void wc_stop(struct watchcache *wc)
{
	if (!wc)
		return;
	if (wc->sw)
		store_watch_stop(wc->sw);
	pthread_mutex_lock(&wc->lock);
	wc->stopping = true;
	pthread_cond_broadcast(&wc->cond);
	pthread_mutex_unlock(&wc->lock);
}

void wc_free(struct watchcache *wc)
{
	if (!wc)
		return;
	for (size_t i = 0; i < wc->count; i++)
		wc_event_put(wc->ring[(wc->head + i) % wc->cap]);
	free(wc->ring);
	json_decref(wc->labels_by_key);
	free(wc);
}

void wc_add_observer(struct watchcache *wc, wc_observer_fn fn, void *arg)
{
	if (wc->n_obs < WC_MAX_OBSERVERS) {
		wc->obs[wc->n_obs].fn = fn;
		wc->obs[wc->n_obs].arg = arg;
		wc->n_obs++;
	}
}

int64_t wc_latest_rev(struct watchcache *wc)
{
	int64_t r;

	pthread_mutex_lock(&wc->lock);
	r = wc->latest;
	pthread_mutex_unlock(&wc->lock);
	return r;
}

int64_t wc_min_rev(struct watchcache *wc)
{
	int64_t r;

	pthread_mutex_lock(&wc->lock);
	r = wc->min_ok;
	pthread_mutex_unlock(&wc->lock);
	return r;
}

int wc_cursor_init(struct watchcache *wc, int64_t rev, struct wc_cursor *c)
{
	int ret = 0;

	pthread_mutex_lock(&wc->lock);
	if (rev < wc->min_ok)
		ret = -ERANGE;
	pthread_mutex_unlock(&wc->lock);
	c->wc = wc;
	c->after_rev = rev;
	return ret;
}

static void deadline_in(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* Index (0..count) of the first event with rev > after; caller holds lock. */
static size_t first_after(struct watchcache *wc, int64_t after)
{
	size_t lo = 0, hi = wc->count;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (wc->ring[(wc->head + mid) % wc->cap]->rev <= after)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int wc_next(struct wc_cursor *c, int timeout_ms, struct wc_event **ev)
{
	struct watchcache *wc = c->wc;
	struct timespec dl;
	int ret = 0;

	deadline_in(&dl, timeout_ms);
	*ev = NULL;
	pthread_mutex_lock(&wc->lock);
	for (;;) {
		if (wc->stopping) {
			ret = -ESHUTDOWN;
			break;
		}
		if (c->after_rev < wc->min_ok) {
			ret = -ERANGE;
			break;
		}
		size_t i = first_after(wc, c->after_rev);
		if (i < wc->count) {
			*ev = ev_get(wc->ring[(wc->head + i) % wc->cap]);
			c->after_rev = (*ev)->rev;
			ret = 1;
			break;
		}
		/* Caught up: revisions of non-API keys still move the cursor. */
		if (wc->latest > c->after_rev)
			c->after_rev = wc->latest;
		if (pthread_cond_timedwait(&wc->cond, &wc->lock, &dl) == ETIMEDOUT) {
			ret = 0;
			break;
		}
	}
	pthread_mutex_unlock(&wc->lock);
	return ret;
}

int wc_wait_rev(struct watchcache *wc, int64_t rev, int timeout_ms)
{
	struct timespec dl;
	int ret = 0;

	deadline_in(&dl, timeout_ms);
	pthread_mutex_lock(&wc->lock);
	while (wc->latest < rev && !wc->stopping) {
		if (pthread_cond_timedwait(&wc->cond, &wc->lock, &dl) == ETIMEDOUT) {
			ret = -ETIMEDOUT;
			break;
		}
	}
	pthread_mutex_unlock(&wc->lock);
	return ret;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* The scheduling loop: talks to the API like any client (common/apiclient).
 *   - two watcher threads list+watch nodes and pods and keep the cluster
 *     state (sched.c) and the queue of pods to place up to date;
 *   - the scheduling thread (the caller of sched_run) takes pods from the
 *     active queue, decides with sched_pick, "assumes" the pod on the chosen
 *     node at once (so that the next decisions see its resources while the
 *     bind is in flight) and hands the bind to a binder;
 *   - binder threads each own a connection and issue binds (the
 *     pods/binding subresource when the server has it, else an atomic
 *     JSON patch guarded by a resourceVersion test) and PodScheduled
 *     condition updates.
 * Unschedulable pods wait in a second queue and are retried with a per-pod
 * backoff once the cluster changed (node or pod events), or every 30 s.
 * One mutex guards everything; decisions are O(nodes) so it is held only
 * for microseconds at a time. */
#include "apiserver/scheduler/sched.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/apiclient.h"

#define WATCH_MS          2000    /* bounds stop latency of the watchers */
#define BACKOFF_MIN       1.0
#define BACKOFF_MAX       10.0
#define UNSCHED_FLUSH     30.0    /* retry unschedulable pods at least this often */
#define WAIT_UPDATE_MAX   2.0     /* after a conflict, wait this long for the new version */

enum entry_state { E_ACTIVE, E_INFLIGHT, E_UNSCHED, E_WAIT };

/* A pod this scheduler has to place. */
struct entry {
	struct sched_pod *pod;        /* latest version seen */
	enum entry_state st;
	struct entry *prev, *next;    /* in the active or the waiting list */
	bool listed;
	bool updated;                 /* newer version arrived while in flight */
	bool deleted;                 /* deleted / bound elsewhere while in flight */
	bool force;                   /* retry at retry_at whatever the cluster does */
	uint64_t gen;                 /* cluster generation at the last failure */
	double retry_at, backoff, failed_at;
};

struct list {
	struct entry head;
};

enum job_type { JOB_BIND, JOB_STATUS };

struct job {
	enum job_type type;
	char *ns, *name, *key, *rv, *node, *msg;
	bool clear_cond;              /* after a bind: PodScheduled=True */
	struct job *next;
};

struct loop {
	const struct kubeconfig *kc;
	volatile int *stop;           /* the caller's */
	volatile int quit;            /* ours: setup failed */
	struct sched_stats *stats;
	struct sched_stats own_stats;
	pthread_mutex_t mu;
	pthread_cond_t work_cv;       /* scheduling thread: something to do */
	pthread_cond_t job_cv;        /* binders: a job queued */
	struct sched_state *st;
	json_t *entries;              /* key -> entry pointer (as integer) */
	struct list active, waiting;
	struct job *jobs, **jobs_tail;
	uint64_t gen;                 /* bumps on every cluster change */
	bool nodes_synced, pods_synced;
	int binding_api;              /* -1 unknown, 0 no (JSON patch), 1 yes */
};

static bool stopping(const struct loop *L)
{
	return *L->stop || L->quit;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- queues -------------------------------------------------------------- */

static void list_init(struct list *l)
{
	l->head.next = l->head.prev = &l->head;
}

static void list_del(struct entry *e)
{
	if (!e->listed)
		return;
	e->prev->next = e->next;
	e->next->prev = e->prev;
	e->prev = e->next = NULL;
	e->listed = false;
}

static void list_push(struct list *l, struct entry *e)
{
	list_del(e);
	e->prev = l->head.prev;
	e->next = &l->head;
	l->head.prev->next = e;
	l->head.prev = e;
	e->listed = true;
}

static struct entry *entry_get(struct loop *L, const char *key)
{
	json_t *v = json_object_get(L->entries, key);

	return v ? (struct entry *)(intptr_t)json_integer_value(v) : NULL;
}

static void entry_drop(struct loop *L, struct entry *e)
{
	list_del(e);
	json_object_del(L->entries, e->pod->key);
	sched_pod_free(e->pod);
	free(e);
}

static void make_active(struct loop *L, struct entry *e)
{
	e->st = E_ACTIVE;
	e->force = false;
	list_push(&L->active, e);
	pthread_cond_signal(&L->work_cv);
}

static void make_waiting(struct loop *L, struct entry *e, enum entry_state st, bool force)
{
	double t = now_s();

	e->st = st;
	e->force = force;
	e->gen = L->gen;
	e->failed_at = t;
	e->backoff = e->backoff ? e->backoff * 2 : BACKOFF_MIN;
	if (e->backoff > BACKOFF_MAX)
		e->backoff = BACKOFF_MAX;
	e->retry_at = t + (st == E_WAIT ? WAIT_UPDATE_MAX : e->backoff);
	list_push(&L->waiting, e);
}

static void cluster_changed(struct loop *L)
{
	L->gen++;
	if (L->waiting.head.next != &L->waiting.head)
		pthread_cond_signal(&L->work_cv);
}

static void job_free(struct job *j)
{
	if (!j)
		return;
	free(j->ns);
	free(j->name);
	free(j->key);
	free(j->rv);
	free(j->node);
	free(j->msg);
	free(j);
}

static int job_push(struct loop *L, enum job_type type, const struct sched_pod *p,
		    const char *node, const char *msg)
{
	struct job *j = calloc(1, sizeof(*j));

	if (!j)
		return -ENOMEM;
	j->type = type;
	j->ns = strdup(p->ns);
	j->name = strdup(p->name);
	j->key = strdup(p->key);
	j->rv = strdup(p->rv);
	j->node = node ? strdup(node) : NULL;
	j->msg = msg ? strdup(msg) : NULL;
	j->clear_cond = type == JOB_BIND && p->sched_msg;
	if (!j->ns || !j->name || !j->key || !j->rv || (node && !j->node) || (msg && !j->msg)) {
		job_free(j);
		return -ENOMEM;
	}
	*L->jobs_tail = j;
	L->jobs_tail = &j->next;
	pthread_cond_signal(&L->job_cv);
	return 0;
}

/* ---- watch event handling (lock held) ------------------------------------- */

static void on_node(struct loop *L, const char *type, const json_t *obj)
{
	struct sched_node *n = NULL;
	struct gerr e = { 0 };

	if (!strcmp(type, "DELETED")) {
		const char *name = json_string_value(sel_lookup_path(obj, "metadata.name"));

		if (name)
			sched_state_remove_node(L->st, name);
	} else if (sched_node_parse(obj, &n, &e)) {
		pr_warn("scheduler: ignoring node: %s\n", e.msg);
		return;
	} else if (sched_state_upsert_node(L->st, n)) {
		pr_err("scheduler: out of memory adding node\n");
		return;
	}
	cluster_changed(L);
}

static const char *jstr(const json_t *o, const char *path)
{
	return json_string_value(sel_lookup_path(o, path));
}

/* A pod we cannot even parse (bad quantity, unsupported topologyKey): if it
 * is ours to place, say why on its PodScheduled condition instead of
 * leaving it silently pending. Written only when the message changes, so
 * the update it causes does not loop. */
static void on_bad_pod(struct loop *L, const json_t *obj, const char *why)
{
	const char *ns = jstr(obj, "metadata.namespace"), *name = jstr(obj, "metadata.name");
	const char *node = jstr(obj, "spec.nodeName"), *sn = jstr(obj, "spec.schedulerName");
	const json_t *c;
	struct sched_pod tmp;
	struct entry *en;
	char key[512], msg[600];
	size_t i;

	if (!name || (node && *node) || sel_lookup_path(obj, "metadata.deletionTimestamp") ||
	    (sn && *sn && strcmp(sn, "default-scheduler") && strcmp(sn, "gannet")))
		return;
	snprintf(key, sizeof(key), "%s/%s", ns && *ns ? ns : "default", name);
	en = entry_get(L, key);
	if (en && en->st == E_INFLIGHT)
		en->deleted = true;
	else if (en)
		entry_drop(L, en);
	snprintf(msg, sizeof(msg), "cannot schedule: %s", why);
	json_array_foreach(sel_lookup_path(obj, "status.conditions"), i, c) {
		const char *t = jstr(c, "type"), *m = jstr(c, "message");

		if (t && !strcmp(t, "PodScheduled") && m && !strcmp(m, msg))
			return;
	}
	pr_warn("scheduler: %s: %s\n", key, msg);
	memset(&tmp, 0, sizeof(tmp));
	tmp.ns = (char *)(ns && *ns ? ns : "default");
	tmp.name = (char *)name;
	tmp.key = key;
	tmp.rv = (char *)(jstr(obj, "metadata.resourceVersion") ?: "");
	job_push(L, JOB_STATUS, &tmp, NULL, msg);
}

static void on_pod(struct loop *L, const char *type, const json_t *obj)
{
	struct sched_pod *p = NULL;
	struct gerr e = { 0 };
	struct entry *en;

	if (sched_pod_parse(obj, &p, &e)) {
		if (strcmp(type, "DELETED"))
			on_bad_pod(L, obj, e.msg);
		return;
	}
	en = entry_get(L, p->key);
	if (!strcmp(type, "DELETED")) {
		sched_state_remove_pod(L->st, p->key);
		if (en && en->st == E_INFLIGHT)
			en->deleted = true;
		else if (en)
			entry_drop(L, en);
		sched_pod_free(p);
		cluster_changed(L);
		return;
	}
	if (p->node_name && *p->node_name) {
		/* Bound (by us or anyone): the real object replaces any
		 * assumed copy. */
		if (en && en->st == E_INFLIGHT)
			en->deleted = true;
		else if (en)
			entry_drop(L, en);
		sched_state_upsert_pod(L->st, p);
		cluster_changed(L);
		return;
	}
	if (!sched_pod_pending(p)) {
		/* Terminating, or another scheduler's. */
		if (en && en->st == E_INFLIGHT)
			en->deleted = true;
		else if (en)
			entry_drop(L, en);
		sched_pod_free(p);
		return;
	}
	if (!en) {
		en = calloc(1, sizeof(*en));
		if (!en) {
			sched_pod_free(p);
			return;
		}
		en->pod = p;
		json_object_set_new(L->entries, p->key, json_integer((json_int_t)(intptr_t)en));
		make_active(L, en);
		return;
	}
	switch (en->st) {
	case E_INFLIGHT:
		en->updated = true;
		break;
	case E_UNSCHED:
		/* Our own status writes come back as updates: only a change
		 * of spec or labels is worth another try right away. */
		if (p->spec_hash != en->pod->spec_hash)
			make_active(L, en);
		break;
	case E_WAIT:
		make_active(L, en);
		break;
	case E_ACTIVE:
		break;
	}
	sched_pod_free(en->pod);
	en->pod = p;
}

/* ---- watcher threads ----------------------------------------------------- */

struct watcher {
	struct loop *L;
	const char *path;             /* collection path */
	bool pods;
	char rv[32];
	bool expired;
};

static int watch_cb(const char *type, json_t *object, void *arg)
{
	struct watcher *w = arg;
	struct loop *L = w->L;
	const char *rv = json_string_value(sel_lookup_path(object, "metadata.resourceVersion"));

	if (stopping(L))
		return 1;
	if (!strcmp(type, "ERROR")) {
		/* 410 Gone mid-stream: our revision was compacted away. */
		w->expired = true;
		return 1;
	}
	if (rv)
		snprintf(w->rv, sizeof(w->rv), "%s", rv);
	if (!strcmp(type, "BOOKMARK"))
		return 0;
	pthread_mutex_lock(&L->mu);
	if (w->pods)
		on_pod(L, type, object);
	else
		on_node(L, type, object);
	pthread_mutex_unlock(&L->mu);
	return 0;
}

static bool keep_listed_node(const struct sched_node *n, void *arg)
{
	return json_object_get(arg, n->name) != NULL;
}

static bool keep_listed_pod(const struct sched_pod *p, void *arg)
{
	return json_object_get(arg, p->key) != NULL;
}

/* List and replace what we know of the collection (deletions missed while
 * not watching are swept). */
static int relist(struct watcher *w, struct apiclient *c, struct gerr *err)
{
	struct loop *L = w->L;
	struct api_resp r = { 0 };
	json_t *items, *x, *seen;
	size_t i;
	int ret;

	if ((ret = apiclient_get(c, w->path, &r, err)))
		return ret;
	if (!api_ok(&r)) {
		ret = gerr_set(err, -EPROTO, "list %s: %ld %s", w->path, r.status, r.message);
		api_resp_free(&r);
		return ret;
	}
	items = json_object_get(r.body, "items");
	seen = json_object();
	snprintf(w->rv, sizeof(w->rv), "%s",
		 json_string_value(sel_lookup_path(r.body, "metadata.resourceVersion")) ?: "0");
	pthread_mutex_lock(&L->mu);
	json_array_foreach(items, i, x) {
		const char *name = json_string_value(sel_lookup_path(x, "metadata.name"));
		const char *ns = json_string_value(sel_lookup_path(x, "metadata.namespace"));
		char key[512];

		if (!name)
			continue;
		if (w->pods) {
			snprintf(key, sizeof(key), "%s/%s", ns && *ns ? ns : "default", name);
			json_object_set_new(seen, key, json_true());
			on_pod(L, "ADDED", x);
		} else {
			json_object_set_new(seen, name, json_true());
			on_node(L, "ADDED", x);
		}
	}
	if (w->pods) {
		const char *k;
		void *tmp;
		json_t *v;

		sched_state_sweep_pods(L->st, keep_listed_pod, seen);
		json_object_foreach_safe(L->entries, tmp, k, v) {
			struct entry *en = (struct entry *)(intptr_t)json_integer_value(v);

			if (json_object_get(seen, k))
				continue;
			if (en->st == E_INFLIGHT)
				en->deleted = true;
			else
				entry_drop(L, en);
		}
		L->pods_synced = true;
	} else {
		sched_state_sweep_nodes(L->st, keep_listed_node, seen);
		L->nodes_synced = true;
	}
	if (L->nodes_synced && L->pods_synced)
		L->stats->synced = 1;
	cluster_changed(L);
	pthread_cond_signal(&L->work_cv);
	pthread_mutex_unlock(&L->mu);
	json_decref(seen);
	api_resp_free(&r);
	return 0;
}

static void sleep_stop(struct loop *L, double s)
{
	for (double t = 0; t < s && !stopping(L); t += 0.1)
		usleep(100000);
}

static void *watcher_main(void *arg)
{
	struct watcher *w = arg;
	struct loop *L = w->L;
	struct apiclient *c = NULL;
	struct gerr e = { 0 };
	bool listed = false;

	if (apiclient_new(L->kc, NULL, &c, &e)) {
		pr_err("scheduler: %s\n", e.msg);
		return NULL;
	}
	while (!stopping(L)) {
		char path[256];
		long code = 0;
		int ret;

		memset(&e, 0, sizeof(e));
		if (!listed) {
			if (relist(w, c, &e)) {
				pr_warn("scheduler: %s; retrying\n", e.msg);
				sleep_stop(L, 1);
				continue;
			}
			listed = true;
		}
		snprintf(path, sizeof(path), "%s?watch=true&allowWatchBookmarks=true&resourceVersion=%s",
			 w->path, w->rv);
		w->expired = false;
		ret = apiclient_watch(c, path, WATCH_MS, watch_cb, w, &code, &e);
		if (stopping(L))
			break;
		if (w->expired || code == 410) {
			listed = false;
		} else if (ret && ret != -ETIMEDOUT) {
			pr_warn("scheduler: watch %s: %s\n", w->path, e.msg);
			listed = false;
			sleep_stop(L, 1);
		}
	}
	apiclient_free(c);
	return NULL;
}

/* ---- binders ------------------------------------------------------------- */

static json_t *cond_patch(bool scheduled, const char *msg)
{
	char ts[32];
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (scheduled)
		return json_pack("{s:{s:[{s:s,s:s,s:s}]}}", "status", "conditions",
				 "type", "PodScheduled", "status", "True",
				 "lastTransitionTime", ts);
	return json_pack("{s:{s:[{s:s,s:s,s:s,s:s,s:s}]}}", "status", "conditions",
			 "type", "PodScheduled", "status", "False", "reason", "Unschedulable",
			 "message", msg, "lastTransitionTime", ts);
}

/* PATCH body (consumed) to path; returns the HTTP status, or -errno on
 * transport failure, with the server's or transport's message in msg. */
static long patch_status(struct apiclient *c, const char *path, const char *type,
			 json_t *body, char *msg, size_t len)
{
	struct api_resp r = { 0 };
	struct gerr e = { 0 };
	long st;
	int ret;

	ret = apiclient_patch(c, path, type, body, &r, &e);
	json_decref(body);
	if (ret) {
		snprintf(msg, len, "%s", e.msg);
		return ret;
	}
	st = r.status;
	snprintf(msg, len, "%s", r.message);
	api_resp_free(&r);
	return st;
}

/* Returns the HTTP status, or -errno on transport failure. */
static long do_bind(struct loop *L, struct apiclient *c, const struct job *j, char *msg, size_t len)
{
	struct api_resp r = { 0 };
	struct gerr e = { 0 };
	char path[600];
	json_t *body;
	long st;
	int ret;

	if (L->binding_api != 0) {
		/* The Kubernetes way (what the scheduler's RBAC role grants):
		 * the server sets nodeName and PodScheduled in one write. */
		snprintf(path, sizeof(path), "/api/v1/namespaces/%s/pods/%s/binding", j->ns, j->name);
		body = json_pack("{s:s,s:s,s:{s:s,s:s},s:{s:s,s:s,s:s}}",
				 "apiVersion", "v1", "kind", "Binding",
				 "metadata", "name", j->name, "namespace", j->ns,
				 "target", "apiVersion", "v1", "kind", "Node", "name", j->node);
		ret = apiclient_post(c, path, body, &r, &e);
		json_decref(body);
		if (ret) {
			snprintf(msg, len, "%s", e.msg);
			return ret;
		}
		if (r.status == 404 && strstr(r.message, "could not find the requested resource")) {
			/* No binding subresource on this server. */
			L->binding_api = 0;
			pr_info("scheduler: no pods/binding subresource; binding with JSON patch\n");
			api_resp_free(&r);
		} else {
			if (api_ok(&r))
				L->binding_api = 1;
			st = r.status;
			snprintf(msg, len, "%s", r.message);
			api_resp_free(&r);
			return st;
		}
	}
	/* Compare-and-set: the test op fails (422) if the pod changed since
	 * the version we decided on; nodeName can only be set once. */
	snprintf(path, sizeof(path), "/api/v1/namespaces/%s/pods/%s", j->ns, j->name);
	body = json_pack("[{s:s,s:s,s:s},{s:s,s:s,s:s}]",
			 "op", "test", "path", "/metadata/resourceVersion", "value", j->rv,
			 "op", "add", "path", "/spec/nodeName", "value", j->node);
	return patch_status(c, path, "json", body, msg, len);
}

static long do_status(struct apiclient *c, const struct job *j, bool scheduled, char *msg, size_t len)
{
	char path[600];

	snprintf(path, sizeof(path), "/api/v1/namespaces/%s/pods/%s/status", j->ns, j->name);
	/* Strategic merge: conditions merge by type, others are kept. */
	return patch_status(c, path, "strategic", cond_patch(scheduled, j->msg), msg, len);
}

/* Lock held. The assumed copy goes; the real pod (if the watch already
 * delivered it bound) stays. */
static void forget_assumed(struct loop *L, const char *key)
{
	struct sched_pod *p = sched_state_pod(L->st, key);

	if (p && p->assumed)
		sched_state_remove_pod(L->st, key);
}

static void bind_done(struct loop *L, const struct job *j, long st, const char *msg)
{
	struct entry *en = entry_get(L, j->key);

	if (st >= 200 && st < 300) {
		__atomic_add_fetch(&L->stats->bound, 1, __ATOMIC_RELAXED);
		pr_debug("scheduler: bound %s to %s\n", j->key, j->node);
		if (en && en->st == E_INFLIGHT)
			entry_drop(L, en);
		return;
	}
	forget_assumed(L, j->key);
	cluster_changed(L);
	if (st == 409 || st == 422)
		__atomic_add_fetch(&L->stats->conflicts, 1, __ATOMIC_RELAXED);
	else
		__atomic_add_fetch(&L->stats->errors, 1, __ATOMIC_RELAXED);
	if (st != 409 && st != 422 && st != 404)
		pr_warn("scheduler: binding %s to %s: %ld %s\n", j->key, j->node, st, msg);
	if (!en || en->st != E_INFLIGHT)
		return;
	if (en->deleted || st == 404) {
		entry_drop(L, en);
	} else if (en->updated) {
		en->updated = false;
		make_active(L, en);
	} else if (st == 409 || st == 422) {
		/* The pod changed: its new version is on its way. */
		make_waiting(L, en, E_WAIT, true);
	} else {
		make_waiting(L, en, E_UNSCHED, true);
	}
}

static void *binder_main(void *arg)
{
	struct loop *L = arg;
	struct apiclient *c = NULL;
	struct gerr e = { 0 };
	char msg[1024];

	if (apiclient_new(L->kc, NULL, &c, &e)) {
		pr_err("scheduler: %s\n", e.msg);
		return NULL;
	}
	pthread_mutex_lock(&L->mu);
	while (!stopping(L)) {
		struct job *j = L->jobs;
		struct timespec ts;
		long st;

		if (!j) {
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 200 * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&L->job_cv, &L->mu, &ts);
			continue;
		}
		L->jobs = j->next;
		if (!L->jobs)
			L->jobs_tail = &L->jobs;
		pthread_mutex_unlock(&L->mu);
		msg[0] = 0;
		if (j->type == JOB_BIND) {
			st = do_bind(L, c, j, msg, sizeof(msg));
			if (st >= 200 && st < 300 && j->clear_cond)
				do_status(c, j, true, msg, sizeof(msg));
		} else {
			st = do_status(c, j, false, msg, sizeof(msg));
		}
		pthread_mutex_lock(&L->mu);
		if (j->type == JOB_BIND) {
			bind_done(L, j, st, msg);
		} else if (st >= 200 && st < 300) {
			__atomic_add_fetch(&L->stats->status_updates, 1, __ATOMIC_RELAXED);
		} else if (st != 404) {
			__atomic_add_fetch(&L->stats->errors, 1, __ATOMIC_RELAXED);
			pr_warn("scheduler: status of %s: %ld %s\n", j->key, st, msg);
		}
		job_free(j);
	}
	pthread_mutex_unlock(&L->mu);
	apiclient_free(c);
	return NULL;
}

/* ---- the scheduling thread ------------------------------------------------ */

/* Lock held. Unschedulable pods go back to the active queue after their
 * backoff once the cluster changed, and at least every UNSCHED_FLUSH. */
static void flush_waiting(struct loop *L, double t)
{
	struct entry *e = L->waiting.head.next, *nx;

	for (; e != &L->waiting.head; e = nx) {
		nx = e->next;
		if (t < e->retry_at)
			continue;
		if (e->force || e->st == E_WAIT || e->gen != L->gen ||
		    t - e->failed_at >= UNSCHED_FLUSH)
			make_active(L, e);
	}
}

static void schedule_one(struct loop *L, struct entry *en)
{
	const struct sched_node *node = NULL;
	char reason[1024];
	struct gerr e = { 0 };

	list_del(en);
	if (sched_pick(L->st, en->pod, &node, reason, sizeof(reason)) == 0) {
		if (sched_state_assume(L->st, en->pod, node->name, &e) ||
		    job_push(L, JOB_BIND, en->pod, node->name, NULL)) {
			forget_assumed(L, en->pod->key);
			make_waiting(L, en, E_UNSCHED, true);
			return;
		}
		en->st = E_INFLIGHT;
		en->updated = en->deleted = false;
		return;
	}
	__atomic_add_fetch(&L->stats->unschedulable, 1, __ATOMIC_RELAXED);
	pr_debug("scheduler: %s: %s\n", en->pod->key, reason);
	if (!en->pod->sched_msg || strcmp(en->pod->sched_msg, reason)) {
		job_push(L, JOB_STATUS, en->pod, NULL, reason);
		/* Remember what we wrote so the next failure with the same
		 * reason does not write again. */
		free(en->pod->sched_msg);
		en->pod->sched_msg = strdup(reason);
	}
	make_waiting(L, en, E_UNSCHED, false);
}

int sched_run_opts(const struct kubeconfig *kc, const struct sched_opts *o,
		   volatile int *stop)
{
	struct loop L = { .kc = kc, .stop = stop, .binding_api = -1 };
	struct watcher wn = { .L = &L, .path = "/api/v1/nodes" };
	struct watcher wp = { .L = &L, .path = "/api/v1/pods", .pods = true };
	int nb = o && o->binders > 0 ? o->binders : 4, started = 0, ret = 0;
	pthread_t tn, tp, *tb = calloc(nb, sizeof(*tb));
	bool wn_ok = false, wp_ok = false;
	double last_flush = 0;

	struct apiclient *probe = NULL;
	struct gerr e = { 0 };

	/* Each thread makes its own client; check the configuration once so
	 * that a bad kubeconfig fails here rather than in every thread. */
	if (apiclient_new(kc, NULL, &probe, &e)) {
		pr_err("scheduler: %s\n", e.msg);
		free(tb);
		return e.code ? e.code : -EINVAL;
	}
	apiclient_free(probe);
	L.stats = o && o->stats ? o->stats : &L.own_stats;
	L.st = sched_state_new();
	L.entries = json_object();
	L.jobs_tail = &L.jobs;
	list_init(&L.active);
	list_init(&L.waiting);
	pthread_mutex_init(&L.mu, NULL);
	pthread_cond_init(&L.work_cv, NULL);
	pthread_cond_init(&L.job_cv, NULL);
	if (!tb || !L.st || !L.entries) {
		ret = -ENOMEM;
		goto out;
	}
	wn_ok = pthread_create(&tn, NULL, watcher_main, &wn) == 0;
	wp_ok = pthread_create(&tp, NULL, watcher_main, &wp) == 0;
	for (; started < nb; started++)
		if (pthread_create(&tb[started], NULL, binder_main, &L))
			break;
	if (!wn_ok || !wp_ok || !started) {
		ret = -EAGAIN;
		L.quit = 1;
		goto out;
	}
	pr_info("scheduler: started (%d binders)\n", started);

	pthread_mutex_lock(&L.mu);
	while (!stopping(&L)) {
		double t = now_s();
		struct entry *en;

		if (t - last_flush >= 0.1) {
			flush_waiting(&L, t);
			last_flush = t;
		}
		en = L.active.head.next;
		/* Decide only on a complete view: before both lists are in,
		 * a decision could overcommit a node whose pods we have not
		 * seen yet. */
		if (!L.nodes_synced || !L.pods_synced || en == &L.active.head) {
			struct timespec ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 100 * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&L.work_cv, &L.mu, &ts);
			continue;
		}
		schedule_one(&L, en);
	}
	pthread_cond_broadcast(&L.job_cv);
	pthread_mutex_unlock(&L.mu);
out:
	if (wn_ok)
		pthread_join(tn, NULL);
	if (wp_ok)
		pthread_join(tp, NULL);
	for (int i = 0; i < started; i++)
		pthread_join(tb[i], NULL);
	pr_info("scheduler: stopped: %ld bound, %ld unschedulable attempts, %ld conflicts, %ld errors\n",
		L.stats->bound, L.stats->unschedulable, L.stats->conflicts, L.stats->errors);
	if (L.entries) {
		const char *k;
		void *tmp;
		json_t *v;

		json_object_foreach_safe(L.entries, tmp, k, v)
			entry_drop(&L, (struct entry *)(intptr_t)json_integer_value(v));
		json_decref(L.entries);
	}
	while (L.jobs) {
		struct job *j = L.jobs;

		L.jobs = j->next;
		job_free(j);
	}
	sched_state_free(L.st);
	free(tb);
	pthread_mutex_destroy(&L.mu);
	pthread_cond_destroy(&L.work_cv);
	pthread_cond_destroy(&L.job_cv);
	return ret;
}

int sched_run(const struct kubeconfig *kc, volatile int *stop)
{
	return sched_run_opts(kc, NULL, stop);
}

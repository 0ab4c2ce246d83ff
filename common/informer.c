/* SPDX-License-Identifier: Apache-2.0 */
/* Informers (list + watch + cache), the work queue and JSON helpers shared
 * by the controllers, the agent and the ingress controller. See informer.h. */
#include "common/informer.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/selectors.h"

/* ---- kinds -------------------------------------------------------------- */

const struct ctrl_kind ctrl_kinds[CK_COUNT] = {
	[CK_POD]            = { "", "v1", "Pod", "pods", true },
	[CK_REPLICASET]     = { "apps", "v1", "ReplicaSet", "replicasets", true },
	[CK_DEPLOYMENT]     = { "apps", "v1", "Deployment", "deployments", true },
	[CK_DAEMONSET]      = { "apps", "v1", "DaemonSet", "daemonsets", true },
	[CK_NODE]           = { "", "v1", "Node", "nodes", false },
	[CK_NAMESPACE]      = { "", "v1", "Namespace", "namespaces", false },
	[CK_LEASE]          = { "coordination.k8s.io", "v1", "Lease", "leases", true },
	[CK_SERVICE]        = { "", "v1", "Service", "services", true },
	[CK_ENDPOINTS]      = { "", "v1", "Endpoints", "endpoints", true },
	[CK_CONFIGMAP]      = { "", "v1", "ConfigMap", "configmaps", true },
	[CK_SECRET]         = { "", "v1", "Secret", "secrets", true },
	[CK_SERVICEACCOUNT] = { "", "v1", "ServiceAccount", "serviceaccounts", true },
	[CK_NETWORKPOLICY]  = { "networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", true },
	[CK_INGRESS]        = { "networking.k8s.io", "v1", "Ingress", "ingresses", true },
	[CK_ROLE]           = { "rbac.authorization.k8s.io", "v1", "Role", "roles", true },
	[CK_ROLEBINDING]    = { "rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", true },
	[CK_INGRESSCLASS]   = { "networking.k8s.io", "v1", "IngressClass", "ingressclasses", false },
};

int ctrl_kind_find(const char *api_version, const char *kind)
{
	char group[128] = "";
	const char *slash;

	if (!api_version || !kind)
		return -1;
	slash = strchr(api_version, '/');
	if (slash)
		snprintf(group, sizeof(group), "%.*s", (int)(slash - api_version), api_version);
	for (int i = 0; i < CK_COUNT; i++)
		if (!strcmp(ctrl_kinds[i].kind, kind) && !strcmp(ctrl_kinds[i].group, group))
			return i;
	return -1;
}

void ctrl_kind_path(const struct ctrl_kind *k, const char *ns, const char *name,
		    const char *sub, char *buf, size_t len)
{
	int n;

	if (*k->group)
		n = snprintf(buf, len, "/apis/%s/%s", k->group, k->version);
	else
		n = snprintf(buf, len, "/api/%s", k->version);
	if (k->namespaced && ns && *ns)
		n += snprintf(buf + n, len > (size_t)n ? len - n : 0, "/namespaces/%s", ns);
	n += snprintf(buf + n, len > (size_t)n ? len - n : 0, "/%s", k->plural);
	if (name)
		n += snprintf(buf + n, len > (size_t)n ? len - n : 0, "/%s", name);
	if (name && sub)
		snprintf(buf + n, len > (size_t)n ? len - n : 0, "/%s", sub);
}

/* ---- helpers ----------------------------------------------------------- */

const char *cj_str(const json_t *o, const char *path)
{
	return json_string_value(sel_lookup_path(o, path));
}

long long cj_int(const json_t *o, const char *path, long long def)
{
	const json_t *v = sel_lookup_path(o, path);

	return json_is_integer(v) ? json_integer_value(v) : def;
}

bool cj_bool(const json_t *o, const char *path)
{
	return json_is_true(sel_lookup_path(o, path));
}

void ctrl_key(const json_t *obj, char *buf, size_t len)
{
	const char *ns = cj_str(obj, "metadata.namespace");
	const char *name = cj_str(obj, "metadata.name");

	if (ns && *ns)
		snprintf(buf, len, "%s/%s", ns, name ? name : "");
	else
		snprintf(buf, len, "%s", name ? name : "");
}

void ctrl_split_key(char *key, const char **ns, const char **name)
{
	char *s = strchr(key, '/');

	if (s) {
		*s = 0;
		*ns = key;
		*name = s + 1;
	} else {
		*ns = "";
		*name = key;
	}
}

int64_t ctrl_obj_rv(const json_t *obj)
{
	const char *s = cj_str(obj, "metadata.resourceVersion");

	return s ? strtoll(s, NULL, 10) : 0;
}

const json_t *ctrl_controller_ref(const json_t *obj)
{
	size_t i;
	json_t *r;

	json_array_foreach(sel_lookup_path(obj, "metadata.ownerReferences"), i, r)
		if (json_is_true(json_object_get(r, "controller")))
			return r;
	return NULL;
}

bool ctrl_pod_ready(const json_t *pod)
{
	size_t i;
	json_t *c;

	json_array_foreach(sel_lookup_path(pod, "status.conditions"), i, c)
		if (!strcmp(json_string_value(json_object_get(c, "type")) ?: "", "Ready"))
			return !strcmp(json_string_value(json_object_get(c, "status")) ?: "", "True");
	return false;
}

bool ctrl_pod_active(const json_t *pod)
{
	const char *ph = cj_str(pod, "status.phase");

	if (cj_str(pod, "metadata.deletionTimestamp"))
		return false;
	return !ph || (strcmp(ph, "Succeeded") && strcmp(ph, "Failed"));
}

time_t ctrl_parse_time(const char *s)
{
	struct tm tm = { 0 };
	const char *e;

	if (!s)
		return -1;
	e = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!e)
		return -1;
	return timegm(&tm);
}

void ctrl_format_time(time_t t, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int64_t ctrl_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int ctrl_api_write(struct apiclient *api, const char *method, const char *path,
		   const json_t *body, const char *patch_type, int64_t *rv,
		   json_t **out, struct gerr *err)
{
	struct api_resp r = { 0 };
	int ret;

	if (patch_type)
		ret = apiclient_patch(api, path, patch_type, body, &r, err);
	else
		ret = apiclient_request(api, method, path, body, NULL, &r, err);
	if (ret)
		goto out;
	if (api_ok(&r)) {
		if (rv)
			*rv = ctrl_obj_rv(r.body);
		if (out)
			*out = json_incref(r.body);
		goto out;
	}
	switch (r.status) {
	case 404: ret = -ENOENT; break;
	case 409: ret = !strcmp(r.reason, "AlreadyExists") ? -EEXIST : -ECANCELED; break;
	case 401: case 403: ret = -EACCES; break;
	case 422: ret = -EINVAL; break;
	default: ret = -EIO; break;
	}
	gerr_set(err, ret, "%s %s: %ld %s", method, path, r.status, r.message);
out:
	api_resp_free(&r);
	return ret;
}

/* ---- informer ------------------------------------------------------------ */

#define INF_MAX_HANDLERS 16
/* The server ends each watch after this long and we resume from the last
 * revision seen: bounds how long a stop request waits for the thread. */
#define INF_WATCH_SECONDS 3

struct informer {
	const struct ctrl_kind *k;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	json_t *objs;                 /* key -> object */
	int64_t last_rv;
	bool synced;
	struct { inf_handler_fn fn; void *arg; } h[INF_MAX_HANDLERS];
	int n_h;
	struct kubeconfig kc;
	volatile int *stop;
	pthread_t thr;
	bool started;
	bool meta_only;               /* cache metadata only (see informers_get_meta) */
};

struct informer *informer_new(const struct ctrl_kind *k)
{
	struct informer *inf = calloc(1, sizeof(*inf));

	if (!inf)
		return NULL;
	inf->k = k;
	inf->objs = json_object();
	pthread_mutex_init(&inf->lock, NULL);
	pthread_cond_init(&inf->cond, NULL);
	return inf;
}

void informer_free(struct informer *inf)
{
	if (!inf)
		return;
	json_decref(inf->objs);
	pthread_mutex_destroy(&inf->lock);
	pthread_cond_destroy(&inf->cond);
	free(inf);
}

int informer_add_handler(struct informer *inf, inf_handler_fn fn, void *arg)
{
	if (inf->n_h >= INF_MAX_HANDLERS)
		return -ENOSPC;
	inf->h[inf->n_h].fn = fn;
	inf->h[inf->n_h].arg = arg;
	inf->n_h++;
	return 0;
}

static void notify(struct informer *inf, const char *type, const json_t *old, const json_t *obj)
{
	for (int i = 0; i < inf->n_h; i++)
		inf->h[i].fn(inf->h[i].arg, type, old, obj);
}

static void set_rv(struct informer *inf, int64_t rv)
{
	pthread_mutex_lock(&inf->lock);
	if (rv > inf->last_rv)
		inf->last_rv = rv;
	pthread_cond_broadcast(&inf->cond);
	pthread_mutex_unlock(&inf->lock);
}

/* List items may come without apiVersion/kind (Kubernetes omits them):
 * ownerReferences built from cached objects need both. */
static void set_type_meta(const struct ctrl_kind *k, json_t *obj)
{
	char av[128];

	if (!json_is_object(obj) || json_object_get(obj, "kind"))
		return;
	if (*k->group)
		snprintf(av, sizeof(av), "%s/%s", k->group, k->version);
	else
		snprintf(av, sizeof(av), "%s", k->version);
	json_object_set_new(obj, "apiVersion", json_string(av));
	json_object_set_new(obj, "kind", json_string(k->kind));
}

/* What the cache keeps of obj: a new reference. */
static json_t *cached_form(struct informer *inf, json_t *obj)
{
	if (!inf->meta_only)
		return json_incref(obj);
	return json_pack("{s:O?, s:O?, s:O?}", "apiVersion", json_object_get(obj, "apiVersion"),
			 "kind", json_object_get(obj, "kind"),
			 "metadata", json_object_get(obj, "metadata"));
}

void informer_apply(struct informer *inf, const char *type, json_t *obj_in)
{
	char key[512];
	json_t *old, *obj;

	set_type_meta(inf->k, obj_in);
	obj = cached_form(inf, obj_in);

	ctrl_key(obj, key, sizeof(key));
	pthread_mutex_lock(&inf->lock);
	old = json_incref(json_object_get(inf->objs, key));
	if (!strcmp(type, "DELETED"))
		json_object_del(inf->objs, key);
	else
		json_object_set(inf->objs, key, obj);
	pthread_mutex_unlock(&inf->lock);
	if (!strcmp(type, "DELETED"))
		notify(inf, "DELETED", old, obj);
	else
		notify(inf, old ? "MODIFIED" : "ADDED", old, obj);
	json_decref(old);
	set_rv(inf, ctrl_obj_rv(obj));
	json_decref(obj);
}

/* Replaces the cache with a fresh list, reporting the differences. */
static void replace_all(struct informer *inf, json_t *items, int64_t rv)
{
	json_t *fresh = json_object(), *old_all, *o;
	const char *key;
	char k[512];
	size_t i;

	json_array_foreach(items, i, o) {
		set_type_meta(inf->k, o);
		ctrl_key(o, k, sizeof(k));
		json_object_set_new(fresh, k, cached_form(inf, o));
	}
	pthread_mutex_lock(&inf->lock);
	old_all = inf->objs;
	inf->objs = json_incref(fresh);
	pthread_mutex_unlock(&inf->lock);
	json_object_foreach(old_all, key, o)
		if (!json_object_get(fresh, key))
			notify(inf, "DELETED", o, o);
	json_object_foreach(fresh, key, o) {
		json_t *prev = json_object_get(old_all, key);

		if (!prev)
			notify(inf, "ADDED", NULL, o);
		else if (ctrl_obj_rv(prev) != ctrl_obj_rv(o))
			notify(inf, "MODIFIED", prev, o);
	}
	json_decref(old_all);
	json_decref(fresh);
	pthread_mutex_lock(&inf->lock);
	inf->synced = true;
	pthread_mutex_unlock(&inf->lock);
	set_rv(inf, rv);
}

struct watch_state {
	struct informer *inf;
	int64_t rv;
	bool expired;
};

static int on_watch_event(const char *type, json_t *object, void *arg)
{
	struct watch_state *ws = arg;
	struct informer *inf = ws->inf;

	if (*inf->stop)
		return 1;
	if (!strcmp(type, "ERROR")) {
		if (cj_int(object, "code", 0) == 410)
			ws->expired = true;
		return 1;
	}
	if (!strcmp(type, "BOOKMARK")) {
		int64_t rv = ctrl_obj_rv(object);

		if (rv > ws->rv)
			ws->rv = rv;
		set_rv(inf, rv);
		return 0;
	}
	if (strcmp(type, "ADDED") && strcmp(type, "MODIFIED") && strcmp(type, "DELETED"))
		return 0;
	informer_apply(inf, type, object);
	if (ctrl_obj_rv(object) > ws->rv)
		ws->rv = ctrl_obj_rv(object);
	return 0;
}

static void sleep_ms_unless(volatile int *stop, long ms)
{
	for (long t = 0; t < ms && !*stop; t += 50)
		usleep(50 * 1000);
}

static void *informer_thread(void *arg)
{
	struct informer *inf = arg;
	struct apiclient *api = NULL;
	struct apiclient_opts o = { .timeout_ms = 60000, .user_agent = "gannet-controller-manager" };
	struct gerr e = { 0 };
	char path[512], wpath[640];
	struct watch_state ws = { .inf = inf };
	bool need_list = true;

	if (apiclient_new(&inf->kc, &o, &api, &e)) {
		pr_err("informer %s: %s", inf->k->plural, e.msg);
		return NULL;
	}
	ctrl_kind_path(inf->k, NULL, NULL, NULL, path, sizeof(path));
	while (!*inf->stop) {
		if (need_list) {
			struct api_resp r = { 0 };

			memset(&e, 0, sizeof(e));
			if (apiclient_get(api, path, &r, &e) || !api_ok(&r)) {
				pr_warn("informer %s: list: %s%s", inf->k->plural, e.msg, r.message);
				api_resp_free(&r);
				sleep_ms_unless(inf->stop, 1000);
				continue;
			}
			ws.rv = strtoll(cj_str(r.body, "metadata.resourceVersion") ?: "0", NULL, 10);
			replace_all(inf, json_object_get(r.body, "items"), ws.rv);
			api_resp_free(&r);
			need_list = false;
		}
		long status = 0;

		ws.expired = false;
		memset(&e, 0, sizeof(e));
		snprintf(wpath, sizeof(wpath),
			 "%s?watch=true&allowWatchBookmarks=true&resourceVersion=%lld&timeoutSeconds=%d",
			 path, (long long)ws.rv, INF_WATCH_SECONDS);
		int ret = apiclient_watch(api, wpath, (INF_WATCH_SECONDS + 10) * 1000L,
					  on_watch_event, &ws, &status, &e);
		if (ws.expired || status == 410) {
			pr_debug("informer %s: resourceVersion %lld expired, re-listing",
				 inf->k->plural, (long long)ws.rv);
			need_list = true;
			continue;
		}
		if (ret && ret != -ETIMEDOUT) {
			pr_warn("informer %s: watch: %s", inf->k->plural, e.msg);
			sleep_ms_unless(inf->stop, 500);
		}
	}
	apiclient_free(api);
	return NULL;
}

int informer_start(struct informer *inf, const struct kubeconfig *kc,
		   volatile int *stop, struct gerr *err)
{
	int ret;

	inf->kc = *kc;  /* shallow: the caller keeps kc alive while running */
	inf->stop = stop;
	ret = pthread_create(&inf->thr, NULL, informer_thread, inf);
	if (ret)
		return gerr_set(err, -ret, "informer %s: pthread_create", inf->k->plural);
	inf->started = true;
	return 0;
}

void informer_join(struct informer *inf)
{
	if (inf->started)
		pthread_join(inf->thr, NULL);
	inf->started = false;
}

bool informer_synced(struct informer *inf)
{
	bool s;

	pthread_mutex_lock(&inf->lock);
	s = inf->synced;
	pthread_mutex_unlock(&inf->lock);
	return s;
}

bool informer_wait_rv(struct informer *inf, int64_t rv, long timeout_ms)
{
	struct timespec dl;
	bool ok;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += timeout_ms / 1000;
	dl.tv_nsec += (timeout_ms % 1000) * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&inf->lock);
	while (inf->last_rv < rv)
		if (pthread_cond_timedwait(&inf->cond, &inf->lock, &dl))
			break;
	ok = inf->last_rv >= rv;
	pthread_mutex_unlock(&inf->lock);
	return ok;
}

json_t *informer_get(struct informer *inf, const char *ns, const char *name)
{
	char key[512];
	json_t *o;

	if (inf->k->namespaced && ns && *ns)
		snprintf(key, sizeof(key), "%s/%s", ns, name);
	else
		snprintf(key, sizeof(key), "%s", name);
	pthread_mutex_lock(&inf->lock);
	o = json_incref(json_object_get(inf->objs, key));
	pthread_mutex_unlock(&inf->lock);
	return o;
}

json_t *informer_list(struct informer *inf, const char *ns)
{
	json_t *arr = json_array(), *o;
	const char *key;
	size_t nl = ns ? strlen(ns) : 0;

	pthread_mutex_lock(&inf->lock);
	json_object_foreach(inf->objs, key, o)
		if (!ns || (!strncmp(key, ns, nl) && key[nl] == '/'))
			json_array_append(arr, o);
	pthread_mutex_unlock(&inf->lock);
	return arr;
}

json_t *informer_snapshot(struct informer *inf)
{
	json_t *snap;

	pthread_mutex_lock(&inf->lock);
	snap = json_copy(inf->objs);  /* shallow: values are shared */
	pthread_mutex_unlock(&inf->lock);
	return snap;
}

struct informer *informers_get(struct informers *f, enum ctrl_kind_id id)
{
	if (!f->by_kind[id])
		f->by_kind[id] = informer_new(&ctrl_kinds[id]);
	else
		f->by_kind[id]->meta_only = false;  /* someone needs full objects */
	return f->by_kind[id];
}

struct informer *informers_get_meta(struct informers *f, enum ctrl_kind_id id)
{
	if (!f->by_kind[id]) {
		f->by_kind[id] = informer_new(&ctrl_kinds[id]);
		if (f->by_kind[id])
			f->by_kind[id]->meta_only = true;
	}
	return f->by_kind[id];
}

int informers_start(struct informers *f, const struct kubeconfig *kc,
		    volatile int *stop, struct gerr *err)
{
	for (int i = 0; i < CK_COUNT; i++)
		if (f->by_kind[i]) {
			int ret = informer_start(f->by_kind[i], kc, stop, err);

			if (ret)
				return ret;
		}
	return 0;
}

bool informers_wait_synced(struct informers *f, long timeout_ms, volatile int *stop)
{
	int64_t end = ctrl_now_ms() + timeout_ms;

	while (!*stop && ctrl_now_ms() < end) {
		bool all = true;

		for (int i = 0; i < CK_COUNT; i++)
			if (f->by_kind[i] && !informer_synced(f->by_kind[i]))
				all = false;
		if (all)
			return true;
		usleep(20 * 1000);
	}
	return false;
}

void informers_join_free(struct informers *f)
{
	for (int i = 0; i < CK_COUNT; i++) {
		if (!f->by_kind[i])
			continue;
		informer_join(f->by_kind[i]);
		informer_free(f->by_kind[i]);
		f->by_kind[i] = NULL;
	}
}

/* ---- work queue ----------------------------------------------------------- */

struct wq_delayed {
	char *key;
	int64_t due;
};

struct workqueue {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	char **items;              /* FIFO of ready keys */
	size_t n, cap;
	json_t *dirty;             /* keys queued (set) */
	json_t *processing;        /* keys handed out (set) */
	struct wq_delayed *d;
	size_t nd, capd;
	bool shutdown;
};

struct workqueue *wq_new(void)
{
	struct workqueue *q = calloc(1, sizeof(*q));

	if (!q)
		return NULL;
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->cond, NULL);
	q->dirty = json_object();
	q->processing = json_object();
	return q;
}

void wq_free(struct workqueue *q)
{
	if (!q)
		return;
	for (size_t i = 0; i < q->n; i++)
		free(q->items[i]);
	for (size_t i = 0; i < q->nd; i++)
		free(q->d[i].key);
	free(q->items);
	free(q->d);
	json_decref(q->dirty);
	json_decref(q->processing);
	pthread_mutex_destroy(&q->lock);
	pthread_cond_destroy(&q->cond);
	free(q);
}

/* Called locked. */
static void wq_push_locked(struct workqueue *q, const char *key)
{
	if (json_object_get(q->dirty, key))
		return;
	json_object_set_new(q->dirty, key, json_true());
	if (json_object_get(q->processing, key))
		return;  /* wq_done re-queues it */
	if (q->n == q->cap) {
		size_t nc = q->cap ? q->cap * 2 : 64;
		char **ni = realloc(q->items, nc * sizeof(*ni));

		if (!ni)
			return;
		q->items = ni;
		q->cap = nc;
	}
	q->items[q->n++] = strdup(key);
	pthread_cond_signal(&q->cond);
}

void wq_add(struct workqueue *q, const char *key)
{
	pthread_mutex_lock(&q->lock);
	if (!q->shutdown)
		wq_push_locked(q, key);
	pthread_mutex_unlock(&q->lock);
}

void wq_add_after(struct workqueue *q, const char *key, long delay_ms)
{
	if (delay_ms <= 0) {
		wq_add(q, key);
		return;
	}
	pthread_mutex_lock(&q->lock);
	int64_t due = ctrl_now_ms() + delay_ms;

	/* One pending delay per key: keep the earliest. */
	for (size_t i = 0; i < q->nd; i++)
		if (!strcmp(q->d[i].key, key)) {
			if (due < q->d[i].due)
				q->d[i].due = due;
			pthread_mutex_unlock(&q->lock);
			return;
		}
	if (q->nd == q->capd) {
		size_t nc = q->capd ? q->capd * 2 : 32;
		struct wq_delayed *nd = realloc(q->d, nc * sizeof(*nd));

		if (!nd) {
			pthread_mutex_unlock(&q->lock);
			return;
		}
		q->d = nd;
		q->capd = nc;
	}
	q->d[q->nd].key = strdup(key);
	q->d[q->nd].due = due;
	q->nd++;
	pthread_cond_signal(&q->cond);
	pthread_mutex_unlock(&q->lock);
}

char *wq_get(struct workqueue *q, volatile int *stop)
{
	char *key = NULL;

	pthread_mutex_lock(&q->lock);
	while (!q->shutdown && !(stop && *stop)) {
		int64_t now = ctrl_now_ms(), next = now + 200;

		for (size_t i = 0; i < q->nd;) {
			if (q->d[i].due <= now) {
				wq_push_locked(q, q->d[i].key);
				free(q->d[i].key);
				q->d[i] = q->d[--q->nd];
			} else {
				if (q->d[i].due < next)
					next = q->d[i].due;
				i++;
			}
		}
		if (q->n) {
			key = q->items[0];
			memmove(q->items, q->items + 1, (q->n - 1) * sizeof(*q->items));
			q->n--;
			json_object_del(q->dirty, key);
			json_object_set_new(q->processing, key, json_true());
			break;
		}
		struct timespec dl;
		long wait = (long)(next - now);

		clock_gettime(CLOCK_REALTIME, &dl);
		dl.tv_nsec += (wait > 0 ? wait : 1) * 1000000L;
		while (dl.tv_nsec >= 1000000000L) {
			dl.tv_sec++;
			dl.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&q->cond, &q->lock, &dl);
	}
	pthread_mutex_unlock(&q->lock);
	return key;
}

void wq_done(struct workqueue *q, const char *key)
{
	pthread_mutex_lock(&q->lock);
	json_object_del(q->processing, key);
	if (json_object_get(q->dirty, key)) {
		/* Re-added while being processed: queue it now. */
		json_object_del(q->dirty, key);
		wq_push_locked(q, key);
	}
	pthread_mutex_unlock(&q->lock);
}

void wq_shutdown(struct workqueue *q)
{
	pthread_mutex_lock(&q->lock);
	q->shutdown = true;
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->lock);
}

size_t wq_len(struct workqueue *q)
{
	size_t n;

	pthread_mutex_lock(&q->lock);
	n = q->n + q->nd;
	pthread_mutex_unlock(&q->lock);
	return n;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* Shared machinery of the controllers: the table of kinds they handle, the
 * informer (list + watch from the list's resourceVersion, re-list on 410,
 * an in-memory cache of objects by "ns/name", event handlers), the work
 * queue of keys (deduplicated, delayed adds, one key processed at a time)
 * and small JSON helpers. Informers are shared: every controller asks the
 * registry for the kind it needs and registers its handlers before start,
 * so N controllers watching pods cost one watch. */
#ifndef GANNET_CONTROLLERS_INFORMER_H
#define GANNET_CONTROLLERS_INFORMER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "common/apiclient.h"
#include "common/kubeconfig.h"
#include "common/log.h"

/* ---- kinds -------------------------------------------------------------- */

struct ctrl_kind {
	const char *group;       /* "" for core */
	const char *version;
	const char *kind;
	const char *plural;
	bool namespaced;
};

enum ctrl_kind_id {
	CK_POD, CK_REPLICASET, CK_DEPLOYMENT, CK_DAEMONSET, CK_NODE, CK_NAMESPACE,
	CK_LEASE, CK_SERVICE, CK_ENDPOINTS, CK_CONFIGMAP, CK_SECRET,
	CK_SERVICEACCOUNT, CK_NETWORKPOLICY, CK_INGRESS, CK_ROLE, CK_ROLEBINDING,
	CK_INGRESSCLASS,
	CK_COUNT
};
extern const struct ctrl_kind ctrl_kinds[CK_COUNT];

/* By apiVersion ("apps/v1", "v1") and kind; -1 if unknown. */
int ctrl_kind_find(const char *api_version, const char *kind);
/* "/api/v1/namespaces/ns/pods[/name][/sub]" (ns ignored when cluster-scoped,
 * NULL ns = all namespaces, NULL name = collection). */
void ctrl_kind_path(const struct ctrl_kind *k, const char *ns, const char *name,
		    const char *sub, char *buf, size_t len);

/* ---- informer ------------------------------------------------------------ */

/* Called from the informer's thread after its cache changed, without locks
 * held. type: "ADDED", "MODIFIED", "DELETED". old: the previous cached
 * object (NULL for ADDED). Handlers must be quick (enqueue keys). After a
 * re-list, objects that vanished are reported DELETED and the others
 * MODIFIED. */
typedef void (*inf_handler_fn)(void *arg, const char *type, const json_t *old,
			       const json_t *obj);

struct informer;

struct informer *informer_new(const struct ctrl_kind *k);
void informer_free(struct informer *inf);
int informer_add_handler(struct informer *inf, inf_handler_fn fn, void *arg);
/* Starts the list/watch thread with its own API client. */
int informer_start(struct informer *inf, const struct kubeconfig *kc,
		   volatile int *stop, struct gerr *err);
void informer_join(struct informer *inf);
bool informer_synced(struct informer *inf);
/* Waits until the cache has seen revision rv (a write's resourceVersion):
 * lets a controller observe its own writes before the next decision. */
bool informer_wait_rv(struct informer *inf, int64_t rv, long timeout_ms);
/* New references (caller decrefs). */
json_t *informer_get(struct informer *inf, const char *ns, const char *name);
/* Array of the cached objects (ns NULL = all namespaces). */
json_t *informer_list(struct informer *inf, const char *ns);
/* The whole cache as an object keyed like ctrl_key() ("ns/name", or "name"
 * when cluster-scoped): a new object sharing the cached objects, which are
 * never modified once cached (read them, do not change them). One copy of
 * the key table under the lock: the snapshot is consistent. */
json_t *informer_snapshot(struct informer *inf);
/* Pure-cache operations, used by the watch thread and by tests. */
void informer_apply(struct informer *inf, const char *type, json_t *obj);

/* One informer per kind, created on first use, started together. */
struct informers {
	struct informer *by_kind[CK_COUNT];
};
struct informer *informers_get(struct informers *f, enum ctrl_kind_id id);
/* Same, for a user that needs metadata only (the garbage collector): unless
 * another user asks for full objects, the cache keeps apiVersion, kind and
 * metadata, so that Secrets and ConfigMaps do not sit in memory twice. */
struct informer *informers_get_meta(struct informers *f, enum ctrl_kind_id id);
int informers_start(struct informers *f, const struct kubeconfig *kc,
		    volatile int *stop, struct gerr *err);
bool informers_wait_synced(struct informers *f, long timeout_ms, volatile int *stop);
void informers_join_free(struct informers *f);

/* ---- work queue ----------------------------------------------------------- */

struct workqueue;

struct workqueue *wq_new(void);
void wq_free(struct workqueue *q);
/* A key already queued is not queued twice; a key being processed is
 * queued again once wq_done() is called for it. */
void wq_add(struct workqueue *q, const char *key);
void wq_add_after(struct workqueue *q, const char *key, long delay_ms);
/* Blocks until a key is ready (returns a malloc'd key) or *stop / shutdown
 * (returns NULL). */
char *wq_get(struct workqueue *q, volatile int *stop);
void wq_done(struct workqueue *q, const char *key);
void wq_shutdown(struct workqueue *q);
size_t wq_len(struct workqueue *q);

/* ---- helpers ----------------------------------------------------------- */

const char *cj_str(const json_t *o, const char *path);
long long cj_int(const json_t *o, const char *path, long long def);
bool cj_bool(const json_t *o, const char *path);
/* "ns/name" or "name" for cluster-scoped objects. */
void ctrl_key(const json_t *obj, char *buf, size_t len);
/* Splits a key into ns (may become "") and name, in place. */
void ctrl_split_key(char *key, const char **ns, const char **name);
int64_t ctrl_obj_rv(const json_t *obj);
/* The ownerReference with controller: true, or NULL. */
const json_t *ctrl_controller_ref(const json_t *obj);
bool ctrl_pod_ready(const json_t *pod);
/* Not terminating and not Succeeded/Failed. */
bool ctrl_pod_active(const json_t *pod);
/* RFC 3339 → seconds since the epoch (fraction dropped); -1 if absent/bad. */
time_t ctrl_parse_time(const char *s);
void ctrl_format_time(time_t t, char *buf, size_t len);
/* Monotonic milliseconds. */
int64_t ctrl_now_ms(void);

/* A write through the API: returns 0 (and *rv = the resourceVersion of
 * the written or deleted object when rv != NULL), -ENOENT (404),
 * -EEXIST (409 AlreadyExists), -ECANCELED (409 Conflict), -EACCES (401/403)
 * or -EIO, with a message in *err. patch_type NULL = plain request. */
int ctrl_api_write(struct apiclient *api, const char *method, const char *path,
		   const json_t *body, const char *patch_type, int64_t *rv,
		   json_t **out, struct gerr *err);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/* Internal interfaces of gannet-apiserver: the resource registry (one table
 * row per kind: group, version, plural, scope, subresources, validation and
 * defaulting hooks), object metadata management, the watch cache, metrics,
 * discovery and the HTTP front end. Controllers and new kinds slot in by
 * adding a row to the registry table in registry.c. */
#ifndef GANNET_APISERVER_APISERVER_H
#define GANNET_APISERVER_APISERVER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "apiserver/auth.h"
#include "apiserver/store.h"
#include "common/log.h"

/* ---- validation errors ------------------------------------------------ */
/* Accumulates field errors as Status "causes" ({reason, message, field}). */
struct verr {
	json_t *causes;         /* array */
	json_t *unknown;        /* array of unknown field paths (strings) */
};
void verr_init(struct verr *ve);
void verr_free(struct verr *ve);
void verr_add(struct verr *ve, const char *reason, const char *field,
	      const char *fmt, ...) __attribute__((format(printf, 4, 5)));
#define verr_required(ve, field) verr_add(ve, "FieldValueRequired", field, "Required value")
bool verr_any(const struct verr *ve);

/* ---- registry --------------------------------------------------------- */
struct api_kind;
/* obj: the object to be stored (after defaults); old: the stored object on
 * update, NULL on create. */
typedef void (*kind_validate_fn)(const struct api_kind *k, const json_t *obj,
				 const json_t *old, struct verr *ve);
typedef void (*kind_defaults_fn)(json_t *obj);

struct api_kind {
	const char *group;          /* "" = core */
	const char *version;
	const char *kind;
	const char *plural;
	const char *singular;
	const char *short_names;    /* comma-separated, may be NULL */
	bool namespaced;
	bool has_status;            /* status subresource; spec/status split */
	bool has_scale;             /* scale subresource (spec.replicas) */
	kind_validate_fn validate;
	kind_defaults_fn defaults;
	const char *const *spec_fields;   /* known fields under spec (NULL = any) */
	const char *const *top_fields;    /* extra top-level fields (data, rules, ...) */
};

extern const struct api_kind reg_kinds[];
extern const size_t reg_n_kinds;
const struct api_kind *reg_find(const char *group, const char *version,
				const char *plural);
const struct api_kind *reg_find_kind(const char *api_version, const char *kind);
/* "apps/v1" or "v1" */
void reg_api_version(const struct api_kind *k, char *buf, size_t len);
/* "/registry/<group|core>/<plural>/" (+ "<ns>/" when ns) */
void reg_prefix(const struct api_kind *k, const char *ns, char *buf, size_t len);
void reg_key(const struct api_kind *k, const char *ns, const char *name,
	     char *buf, size_t len);
/* Reverse of reg_key for a store key; NULL if no kind matches. */
const struct api_kind *reg_from_key(const char *key);

/* Unknown-field check against the kind's schema; paths go to ve->unknown. */
void reg_check_unknown(const struct api_kind *k, const json_t *obj, struct verr *ve);

/* Name rules (DNS-1123 labels and subdomains: common/names.h). */
bool obj_valid_label_key(const char *s);
bool obj_valid_label_value(const char *s);
/* IANA_SVC_NAME (named ports: Service targetPort, container port names). */
bool reg_valid_port_name(const char *s);
void obj_validate_meta(const struct api_kind *k, const json_t *obj, struct verr *ve);

/* ---- object helpers ---------------------------------------------------- */
void obj_now_rfc3339(char *buf, size_t len);
void obj_new_uid(char *buf, size_t len);
/* Copies the server-managed metadata (uid, creationTimestamp, generation,
 * deletionTimestamp, ...) of old into obj; bumps generation when anything
 * outside metadata/status changed. */
void obj_carry_meta(const struct api_kind *k, json_t *obj, const json_t *old);
/* Sets metadata.resourceVersion ("<rev>") on obj. */
void obj_set_rv(json_t *obj, int64_t rev);
/* Returns a Status object (new reference). causes may be NULL. */
json_t *obj_status(int code, const char *reason, const char *message,
		   const struct api_kind *k, const char *name, json_t *causes);

/* ---- watch cache ------------------------------------------------------- */
struct wc_event {
	int64_t rev;
	int type;                   /* STORE_EV_* */
	char *key;
	char *json;                 /* serialized object with resourceVersion */
	size_t json_len;
	json_t *obj;                /* parsed object: only valid in observers
				     * (dropped afterwards to keep the ring small) */
	json_t *labels;             /* metadata.labels (may be NULL) */
	json_t *prev_labels;        /* labels before an UPDATE (may be NULL) */
	bool had_prev;              /* prev_labels is known (UPDATE of a known key) */
	char *name;                 /* metadata.name */
	const struct api_kind *kind;
};

struct watchcache;
typedef void (*wc_observer_fn)(const struct wc_event *ev, void *arg);
struct apiserver;
int wc_start(struct apiserver *as, size_t capacity, struct watchcache **out,
	     struct gerr *err);
int wc_run(struct watchcache *wc, struct gerr *err);
void wc_stop(struct watchcache *wc);
void wc_free(struct watchcache *wc);
void wc_add_observer(struct watchcache *wc, wc_observer_fn fn, void *arg);

/* A cursor into the ring. */
struct wc_cursor {
	struct watchcache *wc;
	int64_t after_rev;          /* next event delivered has rev > after_rev */
};
/* -ERANGE if rev is older than the cache holds (HTTP 410). */
int wc_cursor_init(struct watchcache *wc, int64_t rev, struct wc_cursor *c);
/* Waits up to timeout_ms for the next event after the cursor. Returns 1 and
 * fills *ev (referenced: call wc_event_put), 0 on timeout, -ERANGE when the
 * cursor fell out of the ring (too slow), -ESHUTDOWN when stopping. */
int wc_next(struct wc_cursor *c, int timeout_ms, struct wc_event **ev);
void wc_event_put(struct wc_event *ev);
int64_t wc_latest_rev(struct watchcache *wc);
/* Oldest revision a watch can still resume from (older: 410). History up
 * to it is only needed by the store, never by a watcher: compaction bound. */
int64_t wc_min_rev(struct watchcache *wc);
/* Blocks until the cache has seen rev (or timeout). */
int wc_wait_rev(struct watchcache *wc, int64_t rev, int timeout_ms);

/* ---- metrics ------------------------------------------------------------ */
void metrics_observe(const char *verb, const char *resource, int code,
		     double seconds);
void metrics_watchers(int delta);
/* The store was compacted up to rev (gauge + counter). */
void metrics_compacted(int64_t rev);
char *metrics_render(void);   /* Prometheus text, malloc'd */

/* ---- discovery / tables --------------------------------------------------- */
json_t *disc_version(void);
json_t *disc_api_versions(void);            /* /api */
json_t *disc_api_groups(void);              /* /apis */
json_t *disc_resource_list(const char *group, const char *version);  /* NULL if unknown */
json_t *disc_group(const char *group);      /* /apis/<group> */
json_t *disc_openapi_index(void);           /* /openapi/v3 */
json_t *disc_openapi_gv(const char *group, const char *version);
/* Converts an object or a List into a meta.k8s.io/v1 Table. */
json_t *disc_table(const struct api_kind *k, const json_t *obj_or_list,
		   bool is_list);
json_t *disc_table_row(const struct api_kind *k, const json_t *obj);

/* ---- the server ------------------------------------------------------------ */
struct apiserver {
	char data_dir[512];
	char listen_addr[64];
	int listen_port;
	char store_uri[600];
	char token_file[512];
	size_t max_body;
	int bookmark_ms;
	size_t watch_cache_size;
	struct store *store;
	struct authn *authn;
	struct rbac *rbac;
	struct secretbox *sb;
	struct watchcache *wc;
	struct http_server *http;
	volatile int ready;
	volatile int stopping;
};

/* Reads/writes objects through the store, handling resourceVersion and
 * Secret encryption. *obj_out is a new reference. */
int as_get(struct apiserver *as, const struct api_kind *k, const char *ns,
	   const char *name, json_t **obj_out, int64_t *mod_rev, struct gerr *err);
/* Serializes obj for storage (drops resourceVersion, seals Secrets). */
int as_encode(struct apiserver *as, const struct api_kind *k, const json_t *obj,
	      char **out, size_t *len, struct gerr *err);
/* Parses a stored value (opens sealed Secrets) and sets resourceVersion. */
int as_decode(struct apiserver *as, const struct api_kind *k, const char *val,
	      size_t len, int64_t rev, json_t **out, struct gerr *err);
/* Creates an object if absent (bootstrap: namespaces, RBAC defaults). */
int as_ensure(struct apiserver *as, json_t *obj, struct gerr *err);

/* ---- Service ClusterIP / NodePort allocation (svcalloc.c) ----------------- */
/* Range settings (NULL keeps the default 10.96.0.0/12, 30000-32767). */
int svcalloc_configure(const char *cidr, const char *port_range, struct gerr *err);
const char *svcalloc_cidr(void);
/* The n-th address of the service range. */
void svcalloc_nth_ip(uint32_t n, char *buf, size_t len);
/* Held from svcalloc_assign until the Service is written (or not). */
void svcalloc_lock(void);
void svcalloc_unlock(void);
/* Fills clusterIP/clusterIPs/nodePorts of svc (defaulted and validated; old:
 * the stored object on update) against the stored Services; conflicts and
 * range errors go to ve as field errors. */
int svcalloc_assign(struct apiserver *as, json_t *svc, const json_t *old, struct verr *ve,
		    struct gerr *err);
/* Same decision against an array of other Services (unit tests). */
int svcalloc_assign_list(json_t *svc, const json_t *old, const json_t *others, struct verr *ve);

struct http_server;
int http_start(struct apiserver *as, const char *cert_pem, const char *key_pem,
	       const char *ca_pem, struct gerr *err);
void http_stop(struct apiserver *as);

#endif

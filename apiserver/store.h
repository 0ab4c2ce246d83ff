/* SPDX-License-Identifier: Apache-2.0 */
/* The API server's storage interface: a revisioned key/value store in the
 * manner of etcd v3 / kine. One revision counter is shared by all keys; every
 * successful write returns the new revision, which becomes the object's
 * resourceVersion. Two backends implement it:
 *   "sqlite:<path>"            embedded SQLite, WAL (the default)
 *   "etcd:<http://host:port>"  etcd v3 through its JSON gateway (libcurl);
 *        several endpoints may be given comma-separated ("etcd:http://a:2379,
 *        http://b:2379"): requests move on to the next one when the current
 *        one refuses connections.
 * Keys look like "/registry/<group>/<resource>/<namespace>/<name>".
 * Values are opaque bytes (the API server stores JSON).
 * Every call returns 0 or -errno and fills *err when non-NULL:
 *   -ENOENT key missing, -EEXIST create of existing key,
 *   -ECANCELED expected revision did not match (conflict),
 *   -ERANGE watch start revision already compacted (HTTP 410),
 *   -EIO / -ECONNREFUSED backend failure.
 * All functions are safe to call from several threads. */
#ifndef GANNET_APISERVER_STORE_H
#define GANNET_APISERVER_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "common/log.h"

struct store;

struct store_kv {
	char *key;
	char *value;            /* NUL-terminated for convenience; len excludes it */
	size_t len;
	int64_t create_rev;
	int64_t mod_rev;
};
void store_kv_free(struct store_kv *kv);   /* frees key/value, not kv itself */

int store_open(const char *uri, struct store **out, struct gerr *err);
void store_close(struct store *s);

/* Current (highest) revision of the whole store. */
int store_revision(struct store *s, int64_t *rev, struct gerr *err);

int store_create(struct store *s, const char *key, const char *val, size_t len,
		 int64_t *rev_out, struct gerr *err);
/* expected_rev: 0 = unconditional, else must equal the key's mod_rev. */
int store_update(struct store *s, const char *key, const char *val, size_t len,
		 int64_t expected_rev, int64_t *rev_out, struct gerr *err);
/* prev (optional) receives the deleted value. */
int store_delete(struct store *s, const char *key, int64_t expected_rev,
		 int64_t *rev_out, struct store_kv *prev, struct gerr *err);
int store_get(struct store *s, const char *key, struct store_kv *out,
	      struct gerr *err);

/* All live keys with the given prefix, sorted by key, starting strictly after
 * start_after (NULL = from the beginning), at most limit (0 = no limit).
 * *rev_out is the store revision the list is consistent with. The caller
 * frees with store_list_free(). */
struct store_list {
	struct store_kv *items;
	size_t n;
	int64_t rev;
	int more;                /* 1 if limit cut the list */
};
int store_list(struct store *s, const char *prefix, const char *start_after,
	       size_t limit, struct store_list *out, struct gerr *err);
void store_list_free(struct store_list *l);
/* Like store_list, as of revision rev (0 = now): the keys live at that
 * revision with their values then, e.g. so every page of a paginated list
 * comes from the first page's revision. out->rev is rev. -ERANGE if rev is
 * older than the compacted history, -EINVAL if it is in the future. */
int store_list_at(struct store *s, const char *prefix, const char *start_after,
		  size_t limit, int64_t rev, struct store_list *out,
		  struct gerr *err);

enum store_event_type { STORE_EV_CREATE = 1, STORE_EV_UPDATE, STORE_EV_DELETE };
struct store_event {
	enum store_event_type type;
	int64_t rev;             /* revision of this change */
	struct store_kv kv;      /* new value; for DELETE the last value */
};

/* Watch every key with prefix for changes with revision > after_rev, in
 * revision order, exactly once each. cb runs on a store-owned thread; it must
 * not block for long (the API server copies into its watch cache). A
 * non-zero return from cb stops the watch. Fails with -ERANGE if after_rev
 * is older than the compacted history. */
typedef int (*store_watch_cb)(const struct store_event *ev, void *arg);
struct store_watch;
int store_watch_start(struct store *s, const char *prefix, int64_t after_rev,
		      store_watch_cb cb, void *arg, struct store_watch **out,
		      struct gerr *err);
void store_watch_stop(struct store_watch *w);

/* Forget history older than rev (keeps live values). */
int store_compact(struct store *s, int64_t rev, struct gerr *err);

#endif

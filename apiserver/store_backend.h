/* SPDX-License-Identifier: Apache-2.0 */
/* Internal to the store: the operations table each backend (store_sqlite.c,
 * store_etcd.c) fills in, and small helpers shared by them (store.c).
 * Nothing outside apiserver/store*.c should include this. */
#ifndef GANNET_APISERVER_STORE_BACKEND_H
#define GANNET_APISERVER_STORE_BACKEND_H

#include "apiserver/store.h"

struct store_ops {
	const char *name;
	int (*revision)(struct store *s, int64_t *rev, struct gerr *err);
	int (*create)(struct store *s, const char *key, const char *val,
		      size_t len, int64_t *rev_out, struct gerr *err);
	int (*update)(struct store *s, const char *key, const char *val,
		      size_t len, int64_t expected_rev, int64_t *rev_out,
		      struct gerr *err);
	int (*del)(struct store *s, const char *key, int64_t expected_rev,
		   int64_t *rev_out, struct store_kv *prev, struct gerr *err);
	int (*get)(struct store *s, const char *key, struct store_kv *out,
		   struct gerr *err);
	/* rev 0 = current */
	int (*list)(struct store *s, const char *prefix, const char *start_after,
		    size_t limit, int64_t rev, struct store_list *out,
		    struct gerr *err);
	int (*watch_start)(struct store *s, const char *prefix,
			   int64_t after_rev, store_watch_cb cb, void *arg,
			   struct store_watch **out, struct gerr *err);
	void (*watch_stop)(struct store_watch *w);
	int (*compact)(struct store *s, int64_t rev, struct gerr *err);
	void (*close)(struct store *s);
};

/* Every backend's private struct starts with this header so store.c can
 * dispatch without knowing the backend. */
struct store {
	const struct store_ops *ops;
};

struct store_watch {
	const struct store_ops *ops;
};

int store_sqlite_open(const char *path, struct store **out, struct gerr *err);
int store_etcd_open(const char *url, struct store **out, struct gerr *err);

/* Fills kv with copies of key and val (val NUL-terminated). -ENOMEM. */
int store_kv_set(struct store_kv *kv, const char *key, size_t klen,
		 const char *val, size_t vlen, int64_t create_rev,
		 int64_t mod_rev);
/* Grows l->items so that one more fits. -ENOMEM. */
int store_list_reserve(struct store_list *l, size_t *cap);
/* The smallest string greater than every string starting with prefix
 * (etcd's range_end for a prefix). Empty prefix -> NULL (no upper bound);
 * a prefix made only of 0xff bytes also has no bound. Caller frees. */
char *store_prefix_end(const char *prefix, size_t *len_out);

#endif

// SPDX-License-Identifier: Apache-2.0
/* The store's front door: picks a backend from the URI ("sqlite:<path>",
 * "etcd:<url>"), checks arguments once for every backend, and holds the
 * small helpers both backends share. */
#include "apiserver/store_backend.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers shared by the backends ---- */

void store_kv_free(struct store_kv *kv)
{
	if (!kv)
		return;
	free(kv->key);
	free(kv->value);
	memset(kv, 0, sizeof(*kv));
}

void store_list_free(struct store_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		store_kv_free(&l->items[i]);
	free(l->items);
	memset(l, 0, sizeof(*l));
}

int store_kv_set(struct store_kv *kv, const char *key, size_t klen,
		 const char *val, size_t vlen, int64_t create_rev,
		 int64_t mod_rev)
{
	kv->key = malloc(klen + 1);
	kv->value = malloc(vlen + 1);
	if (!kv->key || !kv->value) {
		free(kv->key);
		free(kv->value);
		kv->key = kv->value = NULL;
		return -ENOMEM;
	}
	memcpy(kv->key, key, klen);
	kv->key[klen] = '\0';
	if (vlen)
		memcpy(kv->value, val, vlen);
	kv->value[vlen] = '\0';
	kv->len = vlen;
	kv->create_rev = create_rev;
	kv->mod_rev = mod_rev;
	return 0;
}

int store_list_reserve(struct store_list *l, size_t *cap)
{
	struct store_kv *n;
	size_t ncap;

	if (l->n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 64;
	n = realloc(l->items, ncap * sizeof(*n));
	if (!n)
		return -ENOMEM;
	memset(n + *cap, 0, (ncap - *cap) * sizeof(*n));
	l->items = n;
	*cap = ncap;
	return 0;
}

char *store_prefix_end(const char *prefix, size_t *len_out)
{
	size_t len = strlen(prefix);
	char *end;

	/* Drop trailing 0xff bytes: they cannot be incremented, and any key
	 * with the shorter prefix + 1 is past every key with this prefix. */
	while (len && (unsigned char)prefix[len - 1] == 0xff)
		len--;
	if (!len)
		return NULL;
	end = strndup(prefix, len);
	if (!end)
		return NULL;
	end[len - 1] = (char)((unsigned char)end[len - 1] + 1);
	if (len_out)
		*len_out = len;
	return end;
}

/* ---- dispatch ---- */

int store_open(const char *uri, struct store **out, struct gerr *err)
{
	*out = NULL;
	if (!uri || !*uri)
		return gerr_set(err, -EINVAL, "store: empty URI");
	if (!strncmp(uri, "sqlite:", 7))
		return store_sqlite_open(uri + 7, out, err);
	if (!strncmp(uri, "etcd:", 5))
		return store_etcd_open(uri + 5, out, err);
	return gerr_set(err, -EINVAL,
			"store: unknown URI \"%s\" (want sqlite:<path> or etcd:<url>)",
			uri);
}

void store_close(struct store *s)
{
	if (s)
		s->ops->close(s);
}

int store_revision(struct store *s, int64_t *rev, struct gerr *err)
{
	return s->ops->revision(s, rev, err);
}

static int check_key(const char *key, struct gerr *err)
{
	if (!key || !*key)
		return gerr_set(err, -EINVAL, "store: empty key");
	return 0;
}

int store_create(struct store *s, const char *key, const char *val, size_t len,
		 int64_t *rev_out, struct gerr *err)
{
	int ret = check_key(key, err);

	if (ret)
		return ret;
	if (!val && len)
		return gerr_set(err, -EINVAL, "store: NULL value");
	return s->ops->create(s, key, val ? val : "", len, rev_out, err);
}

int store_update(struct store *s, const char *key, const char *val, size_t len,
		 int64_t expected_rev, int64_t *rev_out, struct gerr *err)
{
	int ret = check_key(key, err);

	if (ret)
		return ret;
	if ((!val && len) || expected_rev < 0)
		return gerr_set(err, -EINVAL, "store: bad update arguments");
	return s->ops->update(s, key, val ? val : "", len, expected_rev,
			      rev_out, err);
}

int store_delete(struct store *s, const char *key, int64_t expected_rev,
		 int64_t *rev_out, struct store_kv *prev, struct gerr *err)
{
	int ret = check_key(key, err);

	if (ret)
		return ret;
	if (prev)
		memset(prev, 0, sizeof(*prev));
	if (expected_rev < 0)
		return gerr_set(err, -EINVAL, "store: bad expected revision");
	return s->ops->del(s, key, expected_rev, rev_out, prev, err);
}

int store_get(struct store *s, const char *key, struct store_kv *out,
	      struct gerr *err)
{
	int ret = check_key(key, err);

	if (ret)
		return ret;
	memset(out, 0, sizeof(*out));
	return s->ops->get(s, key, out, err);
}

int store_list(struct store *s, const char *prefix, const char *start_after,
	       size_t limit, struct store_list *out, struct gerr *err)
{
	return store_list_at(s, prefix, start_after, limit, 0, out, err);
}

int store_list_at(struct store *s, const char *prefix, const char *start_after,
		  size_t limit, int64_t rev, struct store_list *out,
		  struct gerr *err)
{
	memset(out, 0, sizeof(*out));
	if (rev < 0)
		return gerr_set(err, -EINVAL, "store: bad list revision");
	return s->ops->list(s, prefix ? prefix : "", start_after, limit, rev,
			    out, err);
}

int store_watch_start(struct store *s, const char *prefix, int64_t after_rev,
		      store_watch_cb cb, void *arg, struct store_watch **out,
		      struct gerr *err)
{
	*out = NULL;
	if (!cb || after_rev < 0)
		return gerr_set(err, -EINVAL, "store: bad watch arguments");
	return s->ops->watch_start(s, prefix ? prefix : "", after_rev, cb, arg,
				   out, err);
}

void store_watch_stop(struct store_watch *w)
{
	if (w)
		w->ops->watch_stop(w);
}

int store_compact(struct store *s, int64_t rev, struct gerr *err)
{
	if (rev <= 0)
		return gerr_set(err, -EINVAL, "store: bad compact revision");
	return s->ops->compact(s, rev, err);
}

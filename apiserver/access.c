/* SPDX-License-Identifier: Apache-2.0 */
/* Object <-> store value translation: resourceVersion is never stored (it is
 * the store's mod revision, injected on read) and Secrets are sealed with the
 * secretbox (AES-GCM) before they reach the store, so the database file never
 * holds their plaintext. */
#include "apiserver/apiserver.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static bool is_secret(const struct api_kind *k)
{
	return !*k->group && !strcmp(k->kind, "Secret");
}

int as_encode(struct apiserver *as, const struct api_kind *k, const json_t *obj,
	      char **out, size_t *len, struct gerr *err)
{
	json_t *md = json_object_get(obj, "metadata");
	json_t *rv = json_object_get(md, "resourceVersion");
	char *s;

	*out = NULL;
	if (rv) {
		/* Drop it for serialization without touching the caller's object. */
		json_incref(rv);
		json_object_del(md, "resourceVersion");
	}
	s = json_dumps(obj, JSON_COMPACT);
	if (rv) {
		json_object_set(md, "resourceVersion", rv);
		json_decref(rv);
	}
	if (!s)
		return gerr_set(err, -ENOMEM, "cannot serialize object");
	if (is_secret(k) && as->sb) {
		char *sealed = NULL;
		size_t slen = 0;
		int ret = secretbox_seal(as->sb, s, strlen(s), &sealed, &slen, err);

		free(s);
		if (ret)
			return ret;
		*out = sealed;
		*len = slen;
		return 0;
	}
	*out = s;
	*len = strlen(s);
	return 0;
}

int as_decode(struct apiserver *as, const struct api_kind *k, const char *val,
	      size_t len, int64_t rev, json_t **out, struct gerr *err)
{
	char *plain = NULL;
	size_t plen = 0;
	json_error_t je;
	json_t *obj;

	*out = NULL;
	if (as->sb && secretbox_is_sealed(val, len)) {
		int ret = secretbox_open_msg(as->sb, val, len, &plain, &plen, err);

		if (ret)
			return ret;
		val = plain;
		len = plen;
	}
	obj = json_loadb(val, len, 0, &je);
	free(plain);
	if (!json_is_object(obj)) {
		json_decref(obj);
		return gerr_set(err, -EIO, "stored object is not valid JSON: %s", je.text);
	}
	obj_set_rv(obj, rev);
	*out = obj;
	return 0;
}

int as_get(struct apiserver *as, const struct api_kind *k, const char *ns,
	   const char *name, json_t **obj_out, int64_t *mod_rev, struct gerr *err)
{
	struct store_kv kv = { 0 };
	char key[1024];
	int ret;

	reg_key(k, ns, name, key, sizeof(key));
	ret = store_get(as->store, key, &kv, err);
	if (ret)
		return ret;
	ret = as_decode(as, k, kv.value, kv.len, kv.mod_rev, obj_out, err);
	if (mod_rev)
		*mod_rev = kv.mod_rev;
	store_kv_free(&kv);
	return ret;
}

int as_ensure(struct apiserver *as, json_t *obj, struct gerr *err)
{
	const char *av = json_string_value(json_object_get(obj, "apiVersion"));
	const char *kind = json_string_value(json_object_get(obj, "kind"));
	const struct api_kind *k = av && kind ? reg_find_kind(av, kind) : NULL;
	json_t *md = json_object_get(obj, "metadata");
	const char *name = json_string_value(json_object_get(md, "name"));
	const char *ns = json_string_value(json_object_get(md, "namespace"));
	char key[1024], uid[64], ts[64];
	char *val = NULL;
	size_t len = 0;
	int64_t rev;
	int ret;

	if (!k || !name)
		return gerr_set(err, -EINVAL, "bootstrap object without a known kind or name");
	if (k->defaults)
		k->defaults(obj);
	obj_new_uid(uid, sizeof(uid));
	obj_now_rfc3339(ts, sizeof(ts));
	json_object_set_new(md, "uid", json_string(uid));
	json_object_set_new(md, "creationTimestamp", json_string(ts));
	json_object_set_new(md, "generation", json_integer(1));
	reg_key(k, ns, name, key, sizeof(key));
	ret = as_encode(as, k, obj, &val, &len, err);
	if (ret)
		return ret;
	ret = store_create(as->store, key, val, len, &rev, err);
	free(val);
	if (ret == -EEXIST) {
		if (err) {
			err->code = 0;
			err->msg[0] = '\0';
		}
		return 0;
	}
	return ret;
}

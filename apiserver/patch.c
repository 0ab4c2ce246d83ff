/* SPDX-License-Identifier: Apache-2.0 */
/* JSON Merge Patch, JSON Patch and an approximation of strategic merge patch
 * (see patch.h). Strategic merge: lists of objects are merged element-wise by
 * a merge key (name, containerPort, port, mountPath, ...) the way Kubernetes'
 * struct tags declare it for the common list fields, so that kubectl apply of
 * a changed container image keeps the container's other fields. */
#include "apiserver/patch.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* ---- RFC 7386 -------------------------------------------------------- */

json_t *patch_merge(const json_t *target, const json_t *patch)
{
	const char *k;
	json_t *v, *res;

	if (!json_is_object(patch))
		return json_deep_copy(patch);
	res = json_is_object(target) ? json_deep_copy(target) : json_object();
	json_object_foreach((json_t *)patch, k, v) {
		if (json_is_null(v)) {
			json_object_del(res, k);
		} else {
			json_t *merged = patch_merge(json_object_get(res, k), v);

			json_object_set_new(res, k, merged);
		}
	}
	return res;
}

/* ---- strategic merge (approximation) --------------------------------- */

static const char *const merge_keys[] = {
	"name", "mountPath", "containerPort", "port", "devicePath", "ip",
	"topologyKey", "type", NULL,
};

static const char *elem_key(const json_t *e)
{
	for (int i = 0; merge_keys[i]; i++)
		if (json_object_get(e, merge_keys[i]))
			return merge_keys[i];
	return NULL;
}

static json_t *smp(const json_t *target, const json_t *patch);

static json_t *smp_list(const json_t *target, const json_t *patch)
{
	size_t i, j;
	json_t *pe, *te;
	const char *key = NULL;

	/* Only lists of objects that all carry the same merge key merge
	 * element-wise; everything else is replaced, as in a merge patch. */
	if (!json_is_array(target) || json_array_size(patch) == 0)
		return json_deep_copy(patch);
	json_array_foreach(patch, i, pe) {
		const char *k = json_is_object(pe) ? elem_key(pe) : NULL;

		if (!k || (key && strcmp(k, key)))
			return json_deep_copy(patch);
		key = k;
	}
	json_t *res = json_deep_copy(target);
	json_array_foreach(patch, i, pe) {
		const json_t *kv = json_object_get(pe, key);
		const char *directive = json_string_value(json_object_get(pe, "$patch"));
		bool found = false;

		json_array_foreach(res, j, te) {
			if (json_is_object(te) && json_equal(json_object_get(te, key), kv)) {
				found = true;
				if (directive && !strcmp(directive, "delete")) {
					json_array_remove(res, j);
				} else {
					json_t *m = smp(te, pe);

					json_array_set_new(res, j, m);
				}
				break;
			}
		}
		if (!found && !(directive && !strcmp(directive, "delete")))
			json_array_append_new(res, smp(NULL, pe));
	}
	return res;
}

static json_t *smp(const json_t *target, const json_t *patch)
{
	const char *k;
	json_t *v, *res;

	if (!json_is_object(patch))
		return json_deep_copy(patch);
	const char *directive = json_string_value(json_object_get(patch, "$patch"));
	if (directive && !strcmp(directive, "replace")) {
		res = json_deep_copy(patch);
		json_object_del(res, "$patch");
		return res;
	}
	res = json_is_object(target) ? json_deep_copy(target) : json_object();
	json_object_foreach((json_t *)patch, k, v) {
		if (k[0] == '$')
			continue;   /* $patch, $retainKeys, $setElementOrder/..., ... */
		if (json_is_null(v)) {
			json_object_del(res, k);
		} else if (json_is_array(v)) {
			json_object_set_new(res, k, smp_list(json_object_get(res, k), v));
		} else {
			json_object_set_new(res, k, smp(json_object_get(res, k), v));
		}
	}
	return res;
}

json_t *patch_strategic(const json_t *target, const json_t *patch)
{
	return smp(target, patch);
}

/* ---- RFC 6902 -------------------------------------------------------- */

/* Decodes one JSON Pointer token (~1 -> /, ~0 -> ~). */
static char *ptr_token(const char *s, size_t n)
{
	char *t = malloc(n + 1), *o = t;

	if (!t)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '~' && i + 1 < n && (s[i + 1] == '0' || s[i + 1] == '1')) {
			*o++ = s[i + 1] == '0' ? '~' : '/';
			i++;
		} else {
			*o++ = s[i];
		}
	}
	*o = '\0';
	return t;
}

static bool parse_index(const char *tok, size_t max, size_t *idx)
{
	char *end;

	if (!*tok || (tok[0] == '0' && tok[1]) || tok[0] == '-' || tok[0] == '+')
		return false;
	unsigned long v = strtoul(tok, &end, 10);
	if (*end || v > max)
		return false;
	*idx = v;
	return true;
}

/* Resolves ptr to its parent container and last token. Root: *parent NULL. */
static int resolve(json_t *doc, const char *ptr, json_t **parent, char **last,
		   struct gerr *err)
{
	json_t *cur = doc;
	const char *p = ptr;

	*parent = NULL;
	*last = NULL;
	if (!*p)
		return 0;
	if (*p != '/')
		return gerr_set(err, -EINVAL, "invalid JSON pointer \"%s\"", ptr);
	for (;;) {
		const char *s = p + 1;
		const char *slash = strchr(s, '/');
		size_t n = slash ? (size_t)(slash - s) : strlen(s);
		char *tok = ptr_token(s, n);

		if (!tok)
			return -ENOMEM;
		if (!slash) {
			*parent = cur;
			*last = tok;
			return 0;
		}
		json_t *next = NULL;
		size_t idx;
		if (json_is_object(cur))
			next = json_object_get(cur, tok);
		else if (json_is_array(cur) && parse_index(tok, json_array_size(cur), &idx))
			next = json_array_get(cur, idx);
		free(tok);
		if (!next)
			return gerr_set(err, -EINVAL, "path \"%s\" does not exist", ptr);
		cur = next;
		p = slash;
	}
}

static json_t *get_ptr(json_t *doc, const char *ptr, struct gerr *err)
{
	json_t *parent, *v = NULL;
	char *last;
	size_t idx;

	if (resolve(doc, ptr, &parent, &last, err))
		return NULL;
	if (!parent)
		return doc;
	if (json_is_object(parent))
		v = json_object_get(parent, last);
	else if (json_is_array(parent) && parse_index(last, json_array_size(parent), &idx))
		v = json_array_get(parent, idx);
	free(last);
	if (!v)
		gerr_set(err, -EINVAL, "path \"%s\" does not exist", ptr);
	return v;
}

/* *doc may be replaced when ptr is the root. value is stolen. */
static int op_add(json_t **doc, const char *ptr, json_t *value, struct gerr *err)
{
	json_t *parent;
	char *last;
	size_t idx;
	int ret = resolve(*doc, ptr, &parent, &last, err);

	if (ret) {
		json_decref(value);
		return ret;
	}
	if (!parent) {
		json_decref(*doc);
		*doc = value;
		return 0;
	}
	if (json_is_object(parent)) {
		json_object_set_new(parent, last, value);
	} else if (json_is_array(parent)) {
		if (!strcmp(last, "-"))
			json_array_append_new(parent, value);
		else if (parse_index(last, json_array_size(parent), &idx))
			json_array_insert_new(parent, idx, value);
		else
			ret = -EINVAL;
	} else {
		ret = -EINVAL;
	}
	if (ret) {
		json_decref(value);
		gerr_set(err, ret, "cannot add at \"%s\"", ptr);
	}
	free(last);
	return ret;
}

static int op_remove(json_t *doc, const char *ptr, struct gerr *err)
{
	json_t *parent;
	char *last;
	size_t idx;
	int ret = resolve(doc, ptr, &parent, &last, err);

	if (ret)
		return ret;
	if (!parent)
		return gerr_set(err, -EINVAL, "cannot remove the whole document");
	if (json_is_object(parent) && json_object_get(parent, last))
		json_object_del(parent, last);
	else if (json_is_array(parent) && parse_index(last, json_array_size(parent) - 1, &idx) &&
		 json_array_size(parent) > 0)
		json_array_remove(parent, idx);
	else
		ret = gerr_set(err, -EINVAL, "path \"%s\" does not exist", ptr);
	free(last);
	return ret;
}

int patch_json(const json_t *target, const json_t *ops, json_t **out,
	       struct gerr *err)
{
	json_t *doc = json_deep_copy(target), *op;
	size_t i;
	int ret = 0;

	*out = NULL;
	if (!json_is_array(ops)) {
		json_decref(doc);
		return gerr_set(err, -EINVAL, "JSON patch must be an array of operations");
	}
	json_array_foreach(ops, i, op) {
		const char *name = json_string_value(json_object_get(op, "op"));
		const char *path = json_string_value(json_object_get(op, "path"));
		const char *from = json_string_value(json_object_get(op, "from"));
		json_t *value = json_object_get(op, "value");

		if (!name || !path) {
			ret = gerr_set(err, -EINVAL, "operation %zu: \"op\" and \"path\" are required", i);
			break;
		}
		if (!strcmp(name, "add") || !strcmp(name, "replace")) {
			if (!value) {
				ret = gerr_set(err, -EINVAL, "operation %zu: \"value\" is required", i);
				break;
			}
			if (!strcmp(name, "replace") && !get_ptr(doc, path, err)) {
				ret = -EINVAL;
				break;
			}
			if (!strcmp(name, "replace") && *path) {
				ret = op_remove(doc, path, err);
				if (ret)
					break;
			}
			ret = op_add(&doc, path, json_deep_copy(value), err);
		} else if (!strcmp(name, "remove")) {
			ret = op_remove(doc, path, err);
		} else if (!strcmp(name, "move") || !strcmp(name, "copy")) {
			json_t *v;

			if (!from) {
				ret = gerr_set(err, -EINVAL, "operation %zu: \"from\" is required", i);
				break;
			}
			v = get_ptr(doc, from, err);
			if (!v) {
				ret = -EINVAL;
				break;
			}
			v = json_deep_copy(v);
			if (!strcmp(name, "move")) {
				ret = op_remove(doc, from, err);
				if (ret) {
					json_decref(v);
					break;
				}
			}
			ret = op_add(&doc, path, v, err);
		} else if (!strcmp(name, "test")) {
			json_t *v = get_ptr(doc, path, err);

			if (!v || !value || !json_equal(v, value))
				ret = gerr_set(err, -ECANCELED, "operation %zu: test failed at \"%s\"", i, path);
		} else {
			ret = gerr_set(err, -EINVAL, "operation %zu: unknown op \"%s\"", i, name);
		}
		if (ret)
			break;
	}
	if (ret) {
		json_decref(doc);
		return ret;
	}
	*out = doc;
	return 0;
}

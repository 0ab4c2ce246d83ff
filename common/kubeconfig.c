/* SPDX-License-Identifier: Apache-2.0 */
/* kubeconfig loading: locate, parse (via yamljson), merge, select the
 * context and load credentials into memory (see kubeconfig.h). */
#include "common/kubeconfig.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "common/fileutil.h"
#include "common/yamljson.h"

/* A kubeconfig is small; refuse anything absurd before parsing it. */
#define KC_MAX_FILE (4 << 20)

/* ---- small helpers ---------------------------------------------------- */

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static const char *jstr(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s && *s ? s : NULL;
}

static int read_file(const char *path, unsigned char **out, size_t *len,
		     struct gerr *err)
{
	char *buf;
	int ret = fu_read_file_max(path, KC_MAX_FILE, &buf, len);

	if (ret == -EFBIG)
		return gerr_set(err, ret, "%s: file too large", path);
	if (ret)
		return gerr_set(err, ret, "cannot read %s: %s", path, strerror(-ret));
	*out = (unsigned char *)buf;
	return 0;
}

int kc_base64_decode(const char *in, unsigned char **out, size_t *out_len)
{
	size_t n = strlen(in), m = 0, pad = 0;
	unsigned char *clean, *dec;
	int r;

	/* EVP_DecodeBlock rejects whitespace; YAML folding may leave some. */
	clean = malloc(n + 1);
	if (!clean)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (!strchr(" \t\r\n", in[i]))
			clean[m++] = in[i];
	clean[m] = 0;
	if (m % 4) {
		free(clean);
		return -EINVAL;
	}
	if (m && clean[m - 1] == '=')
		pad++;
	if (m > 1 && clean[m - 2] == '=')
		pad++;
	dec = malloc(m / 4 * 3 + 1);
	if (!dec) {
		free(clean);
		return -ENOMEM;
	}
	r = m ? EVP_DecodeBlock(dec, clean, (int)m) : 0;
	free(clean);
	if (r < 0) {
		free(dec);
		return -EINVAL;
	}
	/* EVP_DecodeBlock counts the padding as zero bytes. */
	*out_len = (size_t)r - pad;
	dec[*out_len] = 0;
	*out = dec;
	return 0;
}

/* The entry named name in a list [{name:, <field>: {...}}], or NULL. The
 * caller reads <field> from it, which may be null ("user:" with nothing
 * below, as kubectl writes for anonymous users): jansson getters take
 * NULL, so an empty field behaves as an empty mapping. */
static const json_t *named(const json_t *doc, const char *list, const char *name)
{
	const json_t *arr = json_object_get(doc, list), *it;
	size_t i;

	json_array_foreach(arr, i, it) {
		const char *n = json_string_value(json_object_get(it, "name"));

		if (n && !strcmp(n, name))
			return it;
	}
	return NULL;
}

static char *resolve_path(const char *base_dir, const char *p)
{
	char *out;

	if (p[0] == '/' || !base_dir || !*base_dir)
		return strdup(p);
	if (p[0] == '~' && p[1] == '/' && getenv("HOME")) {
		if (asprintf(&out, "%s/%s", getenv("HOME"), p + 2) < 0)
			return NULL;
		return out;
	}
	if (asprintf(&out, "%s/%s", base_dir, p) < 0)
		return NULL;
	return out;
}

/* Credentials may be embedded (<field>-data, base64) or referenced by
 * file; embedded data wins, as in kubectl. */
static int load_blob(const json_t *o, const char *file_key, const char *data_key,
		     const char *base_dir, struct kc_blob *b, const char *what,
		     struct gerr *err)
{
	const char *data = jstr(o, data_key), *file = jstr(o, file_key);
	char *path;
	int ret;

	if (data) {
		ret = kc_base64_decode(data, &b->data, &b->len);
		if (ret)
			return gerr_set(err, ret, "%s: %s is not valid base64", what, data_key);
		return 0;
	}
	if (!file)
		return 0;
	path = resolve_path(base_dir, file);
	if (!path)
		return gerr_set(err, -ENOMEM, "out of memory");
	ret = read_file(path, &b->data, &b->len, err);
	free(path);
	if (ret)
		return gerr_wrap(err, "%s: %s", what, file_key);
	return 0;
}

/* ---- public API ------------------------------------------------------- */

int kubeconfig_from_json(const json_t *doc, const char *base_dir,
			 const char *context_name, struct kubeconfig *kc,
			 struct gerr *err)
{
	const json_t *ctx, *cluster, *user = NULL;
	const char *s;
	int ret;

	memset(kc, 0, sizeof(*kc));
	if (!json_is_object(doc))
		return gerr_set(err, -EINVAL, "not a kubeconfig (expected a mapping)");
	s = jstr(doc, "kind");
	if (s && strcmp(s, "Config"))
		return gerr_set(err, -EINVAL, "not a kubeconfig (kind %s)", s);
	if (!context_name)
		context_name = jstr(doc, "current-context");
	if (!context_name)
		return gerr_set(err, -EINVAL, "no context selected (current-context is not set; use --context)");
	ctx = named(doc, "contexts", context_name);
	if (ctx)
		ctx = json_object_get(ctx, "context");
	if (!json_is_object(ctx))
		return gerr_set(err, -ENOENT, "context \"%s\" does not exist", context_name);
	kc->context = strdup(context_name);
	kc->cluster_name = dup_or_null(jstr(ctx, "cluster"));
	kc->user_name = dup_or_null(jstr(ctx, "user"));
	kc->namespace = dup_or_null(jstr(ctx, "namespace"));
	if (!kc->cluster_name) {
		ret = gerr_set(err, -EINVAL, "context \"%s\" names no cluster", context_name);
		goto fail;
	}
	cluster = named(doc, "clusters", kc->cluster_name);
	if (cluster)
		cluster = json_object_get(cluster, "cluster");
	if (!json_is_object(cluster)) {
		ret = gerr_set(err, -ENOENT, "cluster \"%s\" (from context \"%s\") does not exist",
			       kc->cluster_name, context_name);
		goto fail;
	}
	s = jstr(cluster, "server");
	if (!s) {
		ret = gerr_set(err, -EINVAL, "cluster \"%s\" has no server", kc->cluster_name);
		goto fail;
	}
	if (strncmp(s, "https://", 8) && strncmp(s, "http://", 7)) {
		ret = gerr_set(err, -EINVAL, "cluster \"%s\": server \"%s\" is not an http(s) URL",
			       kc->cluster_name, s);
		goto fail;
	}
	kc->server = strdup(s);
	kc->tls_server_name = dup_or_null(jstr(cluster, "tls-server-name"));
	kc->insecure = json_is_true(json_object_get(cluster, "insecure-skip-tls-verify"));
	ret = load_blob(cluster, "certificate-authority", "certificate-authority-data",
			base_dir, &kc->ca, "cluster", err);
	if (ret)
		goto fail;
	if (kc->user_name) {
		user = named(doc, "users", kc->user_name);
		if (!user) {
			ret = gerr_set(err, -ENOENT, "user \"%s\" (from context \"%s\") does not exist",
				       kc->user_name, context_name);
			goto fail;
		}
	}
	user = json_object_get(user, "user");
	if (json_is_object(user)) {
		ret = load_blob(user, "client-certificate", "client-certificate-data",
				base_dir, &kc->cert, "user", err);
		if (!ret)
			ret = load_blob(user, "client-key", "client-key-data",
					base_dir, &kc->key, "user", err);
		if (ret)
			goto fail;
		if (!kc->cert.len != !kc->key.len) {
			ret = gerr_set(err, -EINVAL, "user \"%s\": client certificate and key must be given together",
				       kc->user_name);
			goto fail;
		}
		s = jstr(user, "token");
		if (s) {
			kc->token = strdup(s);
		} else if ((s = jstr(user, "tokenFile"))) {
			struct kc_blob tb = { 0 };
			char *path = resolve_path(base_dir, s);

			ret = path ? read_file(path, &tb.data, &tb.len, err) : -ENOMEM;
			free(path);
			if (ret) {
				gerr_wrap(err, "user \"%s\": tokenFile", kc->user_name);
				goto fail;
			}
			/* Token files usually end with a newline. */
			while (tb.len && strchr(" \r\n\t", tb.data[tb.len - 1]))
				tb.data[--tb.len] = 0;
			kc->token = (char *)tb.data;
		}
		kc->username = dup_or_null(jstr(user, "username"));
		kc->password = dup_or_null(jstr(user, "password"));
	}
	return 0;
fail:
	kubeconfig_free(kc);
	return ret;
}

void kubeconfig_merge(json_t *dst, const json_t *src)
{
	static const char *const lists[] = { "clusters", "users", "contexts" };
	const char *key;
	json_t *val;

	json_object_foreach((json_t *)src, key, val) {
		bool is_list = false;

		for (size_t i = 0; i < 3; i++)
			if (!strcmp(key, lists[i]))
				is_list = true;
		if (!is_list) {
			if (!json_object_get(dst, key))
				json_object_set(dst, key, val);
			continue;
		}
		json_t *darr = json_object_get(dst, key);
		size_t i;
		json_t *it;

		if (!json_is_array(darr)) {
			darr = json_array();
			json_object_set_new(dst, key, darr);
		}
		json_array_foreach(val, i, it) {
			const char *n = json_string_value(json_object_get(it, "name"));
			bool found = false;
			size_t j;
			json_t *d;

			if (!n)
				continue;
			json_array_foreach(darr, j, d) {
				const char *dn = json_string_value(json_object_get(d, "name"));

				if (dn && !strcmp(dn, n))
					found = true;
			}
			if (!found)
				json_array_append(darr, it);
		}
	}
}

/* Relative file references are relative to the file that holds them, so
 * rewrite them to absolute paths before merging several files. */
static void absolutize(json_t *doc, const char *dir)
{
	static const struct { const char *list, *field, *key; } refs[] = {
		{ "clusters", "cluster", "certificate-authority" },
		{ "users", "user", "client-certificate" },
		{ "users", "user", "client-key" },
		{ "users", "user", "tokenFile" },
	};

	for (size_t r = 0; r < sizeof(refs) / sizeof(refs[0]); r++) {
		json_t *arr = json_object_get(doc, refs[r].list), *it;
		size_t i;

		json_array_foreach(arr, i, it) {
			json_t *o = json_object_get(it, refs[r].field);
			const char *p = json_string_value(json_object_get(o, refs[r].key));
			char *abs;

			if (!p || !*p || p[0] == '/')
				continue;
			abs = resolve_path(dir, p);
			if (abs)
				json_object_set_new(o, refs[r].key, json_string(abs));
			free(abs);
		}
	}
}

static bool file_exists(const char *p)
{
	struct stat st;

	return p && *p && stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

char *kubeconfig_locate(const char *explicit_path, struct gerr *err)
{
	const char *env = getenv("KUBECONFIG"), *home = getenv("HOME");
	char *p = NULL;

	if (explicit_path && *explicit_path) {
		if (!file_exists(explicit_path)) {
			gerr_set(err, -ENOENT, "kubeconfig %s: %s", explicit_path,
				 access(explicit_path, F_OK) ? strerror(errno) : "not a regular file");
			return NULL;
		}
		return strdup(explicit_path);
	}
	if (env && *env) {
		char *list = strdup(env), *save = NULL, *tok, *out = NULL;
		size_t len = 0;

		if (!list)
			return NULL;
		for (tok = strtok_r(list, ":", &save); tok; tok = strtok_r(NULL, ":", &save)) {
			if (!file_exists(tok))
				continue;
			size_t tl = strlen(tok);
			char *np = realloc(out, len + tl + 2);

			if (!np)
				break;
			out = np;
			if (len)
				out[len++] = ':';
			memcpy(out + len, tok, tl + 1);
			len += tl;
		}
		free(list);
		if (!out)
			gerr_set(err, -ENOENT, "none of the files in $KUBECONFIG (%s) exists", env);
		return out;
	}
	if (home && asprintf(&p, "%s/%s", home, KUBECONFIG_HOME_PATH) >= 0) {
		if (file_exists(p))
			return p;
		free(p);
	}
	if (file_exists(KUBECONFIG_SERVER_PATH))
		return strdup(KUBECONFIG_SERVER_PATH);
	gerr_set(err, -ENOENT, "no kubeconfig found: use --kubeconfig, set $KUBECONFIG, "
		 "or create ~/%s (the API server writes %s)", KUBECONFIG_HOME_PATH,
		 KUBECONFIG_SERVER_PATH);
	return NULL;
}

int kubeconfig_load_json(const char *paths, json_t **out, struct gerr *err)
{
	char *list = strdup(paths), *save = NULL, *tok;
	json_t *merged = json_object();
	int ret = 0;

	if (!list || !merged) {
		ret = gerr_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	for (tok = strtok_r(list, ":", &save); tok; tok = strtok_r(NULL, ":", &save)) {
		unsigned char *buf = NULL;
		size_t len = 0;
		json_t *doc = NULL;
		char dir[PATH_MAX], *slash;

		ret = read_file(tok, &buf, &len, err);
		if (ret)
			goto out;
		ret = yj_parse_one((const char *)buf, len, NULL, &doc, err);
		free(buf);
		if (ret) {
			gerr_wrap(err, "kubeconfig %s", tok);
			goto out;
		}
		if (!json_is_object(doc)) {
			json_decref(doc);
			ret = gerr_set(err, -EINVAL, "kubeconfig %s: not a mapping", tok);
			goto out;
		}
		snprintf(dir, sizeof(dir), "%s", tok);
		slash = strrchr(dir, '/');
		if (slash)
			*slash = 0;
		else
			snprintf(dir, sizeof(dir), ".");
		absolutize(doc, dir);
		kubeconfig_merge(merged, doc);
		json_decref(doc);
	}
	*out = merged;
	merged = NULL;
out:
	json_decref(merged);
	free(list);
	return ret;
}

int kubeconfig_load(const char *paths, const char *context_name,
		    struct kubeconfig *kc, struct gerr *err)
{
	json_t *merged = NULL;
	int ret;

	memset(kc, 0, sizeof(*kc));
	ret = kubeconfig_load_json(paths, &merged, err);
	if (ret)
		return ret;
	ret = kubeconfig_from_json(merged, NULL, context_name, kc, err);
	if (ret) {
		gerr_wrap(err, "kubeconfig %s", paths);
		goto out;
	}
	kc->source = strdup(paths);
out:
	json_decref(merged);
	return ret;
}

void kubeconfig_free(struct kubeconfig *kc)
{
	free(kc->source);
	free(kc->context);
	free(kc->cluster_name);
	free(kc->user_name);
	free(kc->server);
	free(kc->namespace);
	free(kc->tls_server_name);
	free(kc->ca.data);
	free(kc->cert.data);
	if (kc->key.data)
		explicit_bzero(kc->key.data, kc->key.len);
	free(kc->key.data);
	if (kc->token)
		explicit_bzero(kc->token, strlen(kc->token));
	free(kc->token);
	free(kc->username);
	if (kc->password)
		explicit_bzero(kc->password, strlen(kc->password));
	free(kc->password);
	memset(kc, 0, sizeof(*kc));
}

/* SPDX-License-Identifier: Apache-2.0 */
/* Object metadata management (uid, creationTimestamp, generation,
 * resourceVersion), name rules (RFC 1123), metadata validation, field error
 * accumulation and Status objects. */
#include "apiserver/apiserver.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "common/names.h"

/* ---- field errors ------------------------------------------------------- */

void verr_init(struct verr *ve)
{
	ve->causes = json_array();
	ve->unknown = json_array();
}

void verr_free(struct verr *ve)
{
	json_decref(ve->causes);
	json_decref(ve->unknown);
	ve->causes = ve->unknown = NULL;
}

void verr_add(struct verr *ve, const char *reason, const char *field,
	      const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_array_append_new(ve->causes, json_pack("{s:s, s:s, s:s}", "reason", reason,
						    "message", msg, "field", field));
}

bool verr_any(const struct verr *ve)
{
	return json_array_size(ve->causes) > 0;
}

/* ---- names ---------------------------------------------------------------- */

/* DNS-1123 labels and subdomains are common/names.h: subdomains with
 * Kubernetes' rule (name_k8s_subdomain: 253 in all, no bound per label). */

static bool valid_qualified_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 63 || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '-' || s[i] == '_' || s[i] == '.'))
			return false;
	return true;
}

bool obj_valid_label_key(const char *s)
{
	const char *slash = strchr(s, '/');

	if (slash) {
		char prefix[256];
		size_t n = slash - s;

		if (n == 0 || n > 253)
			return false;
		memcpy(prefix, s, n);
		prefix[n] = '\0';
		if (!name_k8s_subdomain(prefix))
			return false;
		s = slash + 1;
	}
	return valid_qualified_name(s);
}

bool obj_valid_label_value(const char *s)
{
	return !*s || valid_qualified_name(s);
}

/* Names of most kinds are DNS-1123 subdomains; RBAC objects allow path
 * segment names (e.g. "system:node"); namespaces are DNS-1123 labels. */
static bool valid_name(const struct api_kind *k, const char *name)
{
	if (!strcmp(k->kind, "Namespace") || !strcmp(k->kind, "Service"))
		return name_dns1123_label(name);
	if (!strcmp(k->group, "rbac.authorization.k8s.io"))
		return *name && strcmp(name, ".") && strcmp(name, "..") &&
		       !strchr(name, '/') && !strchr(name, '%') && strlen(name) <= 253;
	return name_k8s_subdomain(name);
}

void obj_validate_meta(const struct api_kind *k, const json_t *obj, struct verr *ve)
{
	const json_t *md = json_object_get(obj, "metadata");
	const char *name = json_string_value(json_object_get(md, "name"));
	const json_t *v;
	size_t i;
	char f[128];

	if (!name || !*name)
		verr_add(ve, "FieldValueRequired", "metadata.name", "Required value: name or generateName is required");
	else if (!valid_name(k, name))
		verr_add(ve, "FieldValueInvalid", "metadata.name",
			 "Invalid value: \"%.300s\": a lowercase RFC 1123 %s must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
			 name, !strcmp(k->kind, "Namespace") || !strcmp(k->kind, "Service")
			 ? "label" : "subdomain");
	const char *ns = json_string_value(json_object_get(md, "namespace"));
	if (!k->namespaced && ns && *ns)
		verr_add(ve, "FieldValueForbidden", "metadata.namespace",
			 "Forbidden: not allowed on this type");
	v = json_object_get(md, "labels");
	if (v) {
		const char *key;
		json_t *x;

		if (!json_is_object(v)) {
			verr_add(ve, "FieldValueInvalid", "metadata.labels", "Invalid value: must be a map");
		} else {
			json_object_foreach((json_t *)v, key, x) {
				if (!obj_valid_label_key(key))
					verr_add(ve, "FieldValueInvalid", "metadata.labels",
						 "Invalid value: \"%.200s\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character", key);
				else if (!json_is_string(x) || !obj_valid_label_value(json_string_value(x)))
					verr_add(ve, "FieldValueInvalid", "metadata.labels",
						 "Invalid value: \"%.200s\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
						 json_is_string(x) ? json_string_value(x) : key);
			}
		}
	}
	v = json_object_get(md, "annotations");
	if (v) {
		const char *key;
		json_t *x;
		size_t total = 0;

		json_object_foreach((json_t *)v, key, x) {
			if (!json_is_string(x))
				verr_add(ve, "FieldValueInvalid", "metadata.annotations",
					 "Invalid value: annotation \"%.200s\" must be a string", key);
			else
				total += strlen(key) + json_string_length(x);
		}
		if (total > 256 * 1024)
			verr_add(ve, "FieldValueTooLong", "metadata.annotations",
				 "Too long: must have at most 262144 bytes");
	}
	json_array_foreach(json_object_get(md, "ownerReferences"), i, v) {
		const char *req[] = { "apiVersion", "kind", "name", "uid" };

		for (int r = 0; r < 4; r++) {
			if (!json_is_string(json_object_get(v, req[r])) ||
			    !*json_string_value(json_object_get(v, req[r]))) {
				snprintf(f, sizeof(f), "metadata.ownerReferences[%zu].%s", i, req[r]);
				verr_required(ve, f);
			}
		}
	}
	json_array_foreach(json_object_get(md, "finalizers"), i, v) {
		if (!json_is_string(v) || !*json_string_value(v)) {
			snprintf(f, sizeof(f), "metadata.finalizers[%zu]", i);
			verr_add(ve, "FieldValueInvalid", f, "Invalid value: must be a non-empty string");
		}
	}
}

/* ---- metadata management ----------------------------------------------- */

void obj_now_rfc3339(char *buf, size_t len)
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void obj_new_uid(char *buf, size_t len)
{
	unsigned char b[16];

	if (getrandom(b, sizeof(b), 0) != sizeof(b)) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		for (int i = 0; i < 16; i++)
			b[i] = (unsigned char)((ts.tv_nsec >> (i % 8)) ^ (ts.tv_sec >> i) ^ i);
	}
	b[6] = (b[6] & 0x0f) | 0x40;   /* version 4 */
	b[8] = (b[8] & 0x3f) | 0x80;   /* variant */
	snprintf(buf, len, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11],
		 b[12], b[13], b[14], b[15]);
}

static bool spec_equal(const json_t *a, const json_t *b)
{
	const char *k;
	json_t *v;

	/* Everything but metadata and status counts as "spec" for the
	 * generation (ConfigMap data, Role rules, ...). */
	json_object_foreach((json_t *)a, k, v) {
		if (!strcmp(k, "metadata") || !strcmp(k, "status"))
			continue;
		if (!json_equal(v, json_object_get(b, k)))
			return false;
	}
	json_object_foreach((json_t *)b, k, v) {
		if (!strcmp(k, "metadata") || !strcmp(k, "status"))
			continue;
		if (!json_object_get(a, k))
			return false;
	}
	return true;
}

void obj_carry_meta(const struct api_kind *k, json_t *obj, const json_t *old)
{
	json_t *md = json_object_get(obj, "metadata");
	const json_t *omd = json_object_get(old, "metadata");
	const char *keep[] = { "uid", "creationTimestamp", "deletionTimestamp",
			       "deletionGracePeriodSeconds", "namespace", "name" };
	json_int_t gen = json_integer_value(json_object_get(omd, "generation"));

	if (!json_is_object(md)) {
		md = json_object();
		json_object_set_new(obj, "metadata", md);
	}
	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		json_t *v = json_object_get(omd, keep[i]);

		if (v)
			json_object_set(md, keep[i], v);
		else
			json_object_del(md, keep[i]);
	}
	if (!spec_equal(obj, old))
		gen++;
	json_object_set_new(md, "generation", json_integer(gen ? gen : 1));
}

void obj_set_rv(json_t *obj, int64_t rev)
{
	json_t *md = json_object_get(obj, "metadata");
	char buf[32];

	if (!json_is_object(md))
		return;
	snprintf(buf, sizeof(buf), "%lld", (long long)rev);
	json_object_set_new(md, "resourceVersion", json_string(buf));
}

json_t *obj_status(int code, const char *reason, const char *message,
		   const struct api_kind *k, const char *name, json_t *causes)
{
	json_t *st = json_pack("{s:s, s:s, s:{}, s:s, s:s, s:s, s:i}", "kind", "Status",
			       "apiVersion", "v1", "metadata", "status",
			       code < 400 ? "Success" : "Failure", "message", message,
			       "reason", reason, "code", code);

	if (k || name || causes) {
		json_t *d = json_object();

		if (name)
			json_object_set_new(d, "name", json_string(name));
		if (k) {
			json_object_set_new(d, "group", json_string(k->group));
			json_object_set_new(d, "kind", json_string(k->plural));
		}
		if (causes)
			json_object_set(d, "causes", causes);
		json_object_set_new(st, "details", d);
	}
	if (!*reason)
		json_object_del(st, "reason");
	return st;
}

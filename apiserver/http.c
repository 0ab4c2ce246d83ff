/* SPDX-License-Identifier: Apache-2.0 */
/* The HTTPS front end (libmicrohttpd over GnuTLS, one thread per connection):
 * authentication (client certificate from the TLS session, bearer tokens),
 * RBAC for every request, Kubernetes REST routing, create/get/list/update/
 * patch/delete with the status and scale subresources, and watch streams
 * (chunked JSON lines) served from the watch cache. A watch blocks only its
 * own connection thread, so a slow watcher never stalls the others. */
#include "apiserver/apiserver.h"
#include "apiserver/proxy.h"

#include <errno.h>
#include <stdarg.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <gnutls/gnutls.h>
#include <microhttpd.h>

#include "apiserver/patch.h"
#include "apiserver/protobuf.h"
#include "common/selectors.h"
#include "common/yamljson.h"

#define MAX_DEPTH 100
#define UPDATE_RETRIES 8

struct http_server {
	struct MHD_Daemon *d;
	char *cert, *key, *ca;
};

/* ---- per-request state ----------------------------------------------------- */

struct req {
	char *body;
	size_t len, cap;
	bool too_large;
	struct timespec start;
	const char *verb;           /* for metrics */
	char resource[96];
	int code;
};

enum fmt { FMT_JSON, FMT_YAML, FMT_TABLE };

struct call {
	struct apiserver *as;
	struct MHD_Connection *conn;
	struct req *rq;
	const char *method;
	const char *url;
	struct auth_user user;
	enum fmt fmt;
	/* routing */
	const struct api_kind *k;
	char ns[256];
	char name[300];
	char sub[32];
	bool has_ns, has_name;
	json_t *warnings;           /* array of strings for Warning headers */
};

static double ts_diff(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static const char *qarg(struct call *c, const char *name)
{
	return MHD_lookup_connection_value(c->conn, MHD_GET_ARGUMENT_KIND, name);
}

struct hdr_last {
	const char *name;
	const char *value;
};

static enum MHD_Result hdr_last_cb(void *cls, enum MHD_ValueKind kind, const char *key,
				   const char *value)
{
	struct hdr_last *h = cls;

	if (key && value && !strcasecmp(key, h->name))
		h->value = value;
	return MHD_YES;
}

/* The last occurrence of a header: a client that repeats Content-Type
 * (curl -H twice, e.g. a JSON default then a patch type) means the last. */
static const char *hdr(struct call *c, const char *name)
{
	struct hdr_last h = { name, NULL };

	MHD_get_connection_values(c->conn, MHD_HEADER_KIND, hdr_last_cb, &h);
	return h.value;
}

static bool qbool(struct call *c, const char *name)
{
	const char *v = qarg(c, name);

	return v && (!strcmp(v, "true") || !strcmp(v, "1"));
}

/* ---- responses --------------------------------------------------------------- */

static enum MHD_Result send_buf(struct call *c, int code, char *buf, size_t len,
				const char *ctype)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, buf, MHD_RESPMEM_MUST_FREE);
	enum MHD_Result ret;
	size_t i;
	json_t *w;

	if (!r) {
		free(buf);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", ctype);
	MHD_add_response_header(r, "Cache-Control", "no-cache, private");
	json_array_foreach(c->warnings, i, w) {
		char wh[1024];
		json_t *s = json_string(json_string_value(w));
		char *q = json_dumps(s, JSON_ENCODE_ANY);

		snprintf(wh, sizeof(wh), "299 - %s", q ? q : "\"\"");
		MHD_add_response_header(r, "Warning", wh);
		free(q);
		json_decref(s);
	}
	c->rq->code = code;
	ret = MHD_queue_response(c->conn, code, r);
	MHD_destroy_response(r);
	return ret;
}

/* Steals obj. */
static enum MHD_Result send_obj(struct call *c, int code, json_t *obj)
{
	char *buf = NULL;
	size_t len = 0;

	if (c->fmt == FMT_YAML && !json_is_null(obj)) {
		if (yj_emit(obj, &buf, &len, NULL) == 0) {
			json_decref(obj);
			return send_buf(c, code, buf, len, "application/yaml");
		}
	}
	buf = json_dumps(obj, JSON_COMPACT);
	json_decref(obj);
	if (!buf)
		return MHD_NO;
	return send_buf(c, code, buf, strlen(buf), "application/json");
}

static enum MHD_Result send_status(struct call *c, int code, const char *reason,
				   const char *name, json_t *causes, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

static enum MHD_Result send_status(struct call *c, int code, const char *reason,
				   const char *name, json_t *causes, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->fmt == FMT_TABLE)
		c->fmt = FMT_JSON;
	return send_obj(c, code, obj_status(code, reason, msg, c->k, name, causes));
}

static enum MHD_Result send_store_err(struct call *c, int ret, const struct gerr *e)
{
	const char *res = c->k ? c->k->plural : "";

	switch (ret) {
	case -ENOENT:
		return send_status(c, 404, "NotFound", c->name, NULL, "%s \"%s\" not found", res, c->name);
	case -EEXIST:
		return send_status(c, 409, "AlreadyExists", c->name, NULL,
				   "%s \"%s\" already exists", res, c->name);
	case -ECANCELED:
		return send_status(c, 409, "Conflict", c->name, NULL,
				   "Operation cannot be fulfilled on %s \"%s\": the object has been modified; please apply your changes to the latest version and try again",
				   res, c->name);
	case -ERANGE:
		return send_status(c, 410, "Expired", NULL, NULL, "too old resource version: %s",
				   e && *e->msg ? e->msg : "compacted");
	default:
		pr_err("store error %d: %s", ret, e ? e->msg : "");
		return send_status(c, 500, "InternalError", NULL, NULL, "storage error: %s",
				   e && *e->msg ? e->msg : strerror(-ret));
	}
}

/* Object as returned to the client (format conversion). Steals obj. */
static enum MHD_Result send_object(struct call *c, int code, json_t *obj)
{
	if (c->fmt == FMT_TABLE && c->k) {
		json_t *t = disc_table(c->k, obj, false);

		json_decref(obj);
		c->fmt = FMT_JSON;
		return send_obj(c, code, t);
	}
	return send_obj(c, code, obj);
}

/* ---- body parsing ---------------------------------------------------------------- */

static int json_depth(const json_t *v, int d)
{
	const char *k;
	json_t *x;
	size_t i;
	int m = d;

	if (d > MAX_DEPTH)
		return d;
	if (json_is_object(v)) {
		json_object_foreach((json_t *)v, k, x) {
			int dd = json_depth(x, d + 1);
			if (dd > m)
				m = dd;
			if (m > MAX_DEPTH)
				break;
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, x) {
			int dd = json_depth(x, d + 1);
			if (dd > m)
				m = dd;
			if (m > MAX_DEPTH)
				break;
		}
	}
	return m;
}

/* Parses the request body (JSON or YAML per Content-Type). Sends the error
 * response itself and returns NULL on failure (*sent set). */
static json_t *parse_body(struct call *c, enum MHD_Result *sent, bool want_object)
{
	const char *ct = hdr(c, "Content-Type");
	json_t *v = NULL;

	*sent = MHD_YES;
	if (!c->rq->len) {
		*sent = send_status(c, 400, "BadRequest", NULL, NULL, "request body is empty");
		return NULL;
	}
	if (ct && strstr(ct, "cbor")) {
		*sent = send_status(c, 415, "UnsupportedMediaType", NULL, NULL,
				    "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf");
		return NULL;
	}
	if (ct && strstr(ct, "protobuf")) {
		/* kubectl's typed clients (create namespace/configmap/...)
		 * send protobuf; decode the kinds we have schemas for. */
		struct gerr e = { 0 };
		int r = pb_k8s_decode((const unsigned char *)c->rq->body, c->rq->len, &v, &e);

		if (r == -ENOTSUP) {
			*sent = send_status(c, 415, "UnsupportedMediaType", NULL, NULL, "%s", e.msg);
			return NULL;
		}
		if (r) {
			*sent = send_status(c, 400, "BadRequest", NULL, NULL,
					    "error decoding protobuf: %s", e.msg);
			return NULL;
		}
	} else if (ct && strstr(ct, "yaml")) {
		struct gerr e = { 0 };
		struct yj_limits lim = { .max_depth = MAX_DEPTH, .max_nodes = 200000 };

		if (yj_parse_one(c->rq->body, c->rq->len, &lim, &v, &e)) {
			*sent = send_status(c, 400, "BadRequest", NULL, NULL,
					    "error decoding YAML: %s", e.msg);
			return NULL;
		}
	} else {
		json_error_t je;

		v = json_loadb(c->rq->body, c->rq->len, JSON_REJECT_DUPLICATES, &je);
		if (!v) {
			*sent = send_status(c, 400, "BadRequest", NULL, NULL,
					    "error decoding JSON: line %d, column %d: %s",
					    je.line, je.column, je.text);
			return NULL;
		}
	}
	if (json_depth(v, 0) > MAX_DEPTH) {
		json_decref(v);
		*sent = send_status(c, 400, "BadRequest", NULL, NULL,
				    "request body nested deeper than %d levels", MAX_DEPTH);
		return NULL;
	}
	if (want_object && !json_is_object(v)) {
		json_decref(v);
		*sent = send_status(c, 400, "BadRequest", NULL, NULL,
				    "request body must be a JSON/YAML object");
		return NULL;
	}
	return v;
}

/* ---- helpers on objects --------------------------------------------------------- */

static json_t *meta(json_t *obj)
{
	json_t *md = json_object_get(obj, "metadata");

	if (!json_is_object(md)) {
		md = json_object();
		json_object_set_new(obj, "metadata", md);
	}
	return md;
}

static const char *mstr(const json_t *obj, const char *k)
{
	return json_string_value(json_object_get(json_object_get(obj, "metadata"), k));
}

static int64_t parse_rv(const char *s)
{
	char *end;
	long long v;

	if (!s || !*s)
		return 0;
	v = strtoll(s, &end, 10);
	if (*end || v < 0)
		return -1;
	return v;
}

/* Checks apiVersion/kind of a body against the route, fills them in when
 * absent. Returns false after sending 400. */
static bool check_kind(struct call *c, json_t *obj, enum MHD_Result *sent)
{
	char av[128];
	const char *bav = json_string_value(json_object_get(obj, "apiVersion"));
	const char *bk = json_string_value(json_object_get(obj, "kind"));

	reg_api_version(c->k, av, sizeof(av));
	if ((bk && strcmp(bk, c->k->kind)) || (bav && strcmp(bav, av))) {
		*sent = send_status(c, 400, "BadRequest", NULL, NULL,
				    "the API version in the data (%s) and the kind (%s) do not match the request path (%s %s)",
				    bav ? bav : "", bk ? bk : "", av, c->k->kind);
		return false;
	}
	json_object_set_new(obj, "apiVersion", json_string(av));
	json_object_set_new(obj, "kind", json_string(c->k->kind));
	return true;
}

/* Unknown-field policy: ?fieldValidation=Strict rejects, Ignore drops the
 * report, Warn (the default, as in Kubernetes) adds Warning headers. */
static bool check_unknown(struct call *c, const json_t *obj, enum MHD_Result *sent)
{
	struct verr ve;
	const char *mode = qarg(c, "fieldValidation");
	bool ok = true;

	if (mode && !strcmp(mode, "Ignore"))
		return true;
	verr_init(&ve);
	reg_check_unknown(c->k, obj, &ve);
	if (json_array_size(ve.unknown)) {
		size_t i;
		json_t *u;
		char msg[900];
		size_t off = 0;

		json_array_foreach(ve.unknown, i, u) {
			char one[300];

			snprintf(one, sizeof(one), "unknown field \"%s\"", json_string_value(u));
			if (mode && !strcmp(mode, "Strict"))
				off += snprintf(msg + off, off < sizeof(msg) ? sizeof(msg) - off : 0,
						"%s%s", i ? ", " : "", one);
			else
				json_array_append_new(c->warnings, json_string(one));
			if (off >= sizeof(msg))
				break;
		}
		if (mode && !strcmp(mode, "Strict")) {
			*sent = send_status(c, 400, "BadRequest", NULL, NULL,
					    "strict decoding error: %s", msg);
			ok = false;
		}
	}
	verr_free(&ve);
	return ok;
}

/* Writes of a Service's spec allocate (svcalloc.c); status writes do not. */
static bool svc_allocates(const struct call *c)
{
	return !strcmp(c->k->kind, "Service") && !*c->k->group && strcmp(c->sub, "status");
}

/* Runs defaults + validation; returns false after sending 422. */
static bool validate(struct call *c, json_t *obj, const json_t *old, enum MHD_Result *sent)
{
	struct verr ve;
	bool ok = true;

	verr_init(&ve);
	obj_validate_meta(c->k, obj, &ve);
	if (c->k->validate)
		c->k->validate(c->k, obj, old, &ve);
	/* Services get their ClusterIP and NodePorts once they are valid
	 * (the caller holds svcalloc_lock until the write). */
	if (!verr_any(&ve) && svc_allocates(c)) {
		struct gerr ae = { 0 };

		if (svcalloc_assign(c->as, obj, old, &ve, &ae)) {
			*sent = send_status(c, 500, "InternalError", NULL, NULL, "%s", ae.msg);
			c->rq->code = 500;
			verr_free(&ve);
			return false;
		}
	}
	if (verr_any(&ve)) {
		char msg[1200];
		size_t off = 0;
		size_t i;
		json_t *x;
		const char *name = mstr(obj, "name");

		off += snprintf(msg, sizeof(msg), "%s \"%s\" is invalid: ", c->k->kind, name ? name : "");
		json_array_foreach(ve.causes, i, x) {
			if (off >= sizeof(msg))
				break;
			off += snprintf(msg + off, sizeof(msg) - off, "%s%s: %s", i ? ", " : "",
					json_string_value(json_object_get(x, "field")),
					json_string_value(json_object_get(x, "message")));
		}
		*sent = send_obj(c, 422, obj_status(422, "Invalid", msg, c->k, name, ve.causes));
		c->rq->code = 422;
		ok = false;
	}
	verr_free(&ve);
	return ok;
}

/* JSON null in an object field means "absent" for every Kubernetes type
 * (Go decodes it to the zero value and omitempty drops it again): drop such
 * keys, e.g. the "creationTimestamp": null kubectl puts in pod templates,
 * so that stored objects (and hashes controllers compute over them) do not
 * depend on how a client spelled "unset". */
static void drop_nulls(json_t *v, int depth)
{
	const char *k;
	json_t *x;
	void *tmp;
	size_t i;

	if (depth > MAX_DEPTH + 1)
		return;
	if (json_is_object(v)) {
		json_object_foreach_safe(v, tmp, k, x) {
			if (json_is_null(x))
				json_object_del(v, k);
			else
				drop_nulls(x, depth + 1);
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, x)
			drop_nulls(x, depth + 1);
	}
}

static void strip_server_fields(json_t *obj)
{
	json_t *md = meta(obj);
	const char *drop[] = { "uid", "resourceVersion", "creationTimestamp", "deletionTimestamp",
			       "deletionGracePeriodSeconds", "generation", "selfLink", "managedFields" };

	for (size_t i = 0; i < sizeof(drop) / sizeof(drop[0]); i++)
		json_object_del(md, drop[i]);
}

static bool namespace_exists(struct call *c, const char *ns)
{
	const struct api_kind *nk = reg_find("", "v1", "namespaces");
	struct store_kv kv = { 0 };
	char key[512];
	int ret;

	reg_key(nk, NULL, ns, key, sizeof(key));
	ret = store_get(c->as->store, key, &kv, NULL);
	store_kv_free(&kv);
	return ret == 0;
}

/* ---- create -------------------------------------------------------------------- */

static bool auth_ok(struct call *c, const struct authz_attrs *a, enum MHD_Result *sent);
static bool escalation_ok(struct call *c, const json_t *obj, enum MHD_Result *sent);

static enum MHD_Result do_create(struct call *c)
{
	enum MHD_Result sent;
	json_t *obj = parse_body(c, &sent, true);
	json_t *md;
	char key[1024], uid[64], ts[64], gen_name[300];
	char *val = NULL;
	size_t len = 0;
	int64_t rev;
	struct gerr e = { 0 };
	bool locked = false;
	int ret;

	if (!obj)
		return sent;
	if (!check_kind(c, obj, &sent) || !check_unknown(c, obj, &sent))
		goto out;
	md = meta(obj);
	if (c->k->namespaced) {
		const char *bns = json_string_value(json_object_get(md, "namespace"));

		if (bns && *bns && strcmp(bns, c->ns)) {
			sent = send_status(c, 400, "BadRequest", NULL, NULL,
					   "the namespace of the provided object does not match the namespace sent on the request");
			goto out;
		}
		json_object_set_new(md, "namespace", json_string(c->ns));
	}
	if (!json_string_value(json_object_get(md, "name")) &&
	    json_string_value(json_object_get(md, "generateName"))) {
		static const char alnum[] = "bcdfghjklmnpqrstvwxz2456789";
		unsigned char rnd[5];
		char suffix[6];

		if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
			memset(rnd, 7, sizeof(rnd));
		for (int i = 0; i < 5; i++)
			suffix[i] = alnum[rnd[i] % (sizeof(alnum) - 1)];
		suffix[5] = '\0';
		snprintf(gen_name, sizeof(gen_name), "%.240s%s",
			 json_string_value(json_object_get(md, "generateName")), suffix);
		json_object_set_new(md, "name", json_string(gen_name));
	}
	strip_server_fields(obj);
	drop_nulls(obj, 0);
	if (c->k->has_status && strcmp(c->k->kind, "Node"))
		json_object_del(obj, "status");
	if (c->k->defaults)
		c->k->defaults(obj);
	if (svc_allocates(c)) {
		svcalloc_lock();
		locked = true;
	}
	if (!validate(c, obj, NULL, &sent))
		goto out;
	snprintf(c->name, sizeof(c->name), "%s", mstr(obj, "name"));
	{
		/* route() authorized the collection; now that the name is known,
		 * authorize again with it (node restriction: a node may create
		 * only its own Node and Lease). */
		struct authz_attrs a = { .verb = "create", .api_group = c->k->group,
					 .resource = c->k->plural,
					 .ns = c->k->namespaced ? c->ns : NULL, .name = c->name };

		if (!auth_ok(c, &a, &sent) || !escalation_ok(c, obj, &sent))
			goto out;
	}
	if (c->k->namespaced && !namespace_exists(c, c->ns)) {
		const struct api_kind *k = c->k;

		c->k = reg_find("", "v1", "namespaces");
		sent = send_status(c, 404, "NotFound", c->ns, NULL, "namespaces \"%s\" not found", c->ns);
		c->k = k;
		goto out;
	}
	obj_new_uid(uid, sizeof(uid));
	obj_now_rfc3339(ts, sizeof(ts));
	json_object_set_new(md, "uid", json_string(uid));
	json_object_set_new(md, "creationTimestamp", json_string(ts));
	json_object_set_new(md, "generation", json_integer(1));
	if (qarg(c, "dryRun")) {
		sent = send_object(c, 201, json_incref(obj));
		goto out;
	}
	reg_key(c->k, c->ns, c->name, key, sizeof(key));
	ret = as_encode(c->as, c->k, obj, &val, &len, &e);
	if (!ret)
		ret = store_create(c->as->store, key, val, len, &rev, &e);
	free(val);
	if (ret) {
		sent = send_store_err(c, ret, &e);
		goto out;
	}
	obj_set_rv(obj, rev);
	sent = send_object(c, 201, json_incref(obj));
out:
	if (locked)
		svcalloc_unlock();
	json_decref(obj);
	return sent;
}

/* ---- update core (PUT, PATCH, status, scale, finalizer removal) ----------------- */

/* Writes newobj over old. user_rv > 0: the client's precondition. Deletes
 * the object instead when it is being deleted and its last finalizer went.
 * Returns 0 and *out (stored object), or -errno; on validation/other
 * client errors the response is already sent (*sent, returns -EBADMSG). */
static int write_update_locked(struct call *c, json_t *newobj, const json_t *old,
			       int64_t old_rev, int64_t user_rv, json_t **out,
			       enum MHD_Result *sent, struct gerr *e);

static int write_update(struct call *c, json_t *newobj, const json_t *old, int64_t old_rev,
			int64_t user_rv, json_t **out, enum MHD_Result *sent, struct gerr *e)
{
	int ret;

	if (!svc_allocates(c))
		return write_update_locked(c, newobj, old, old_rev, user_rv, out, sent, e);
	svcalloc_lock();
	ret = write_update_locked(c, newobj, old, old_rev, user_rv, out, sent, e);
	svcalloc_unlock();
	return ret;
}

static int write_update_locked(struct call *c, json_t *newobj, const json_t *old,
			       int64_t old_rev, int64_t user_rv, json_t **out,
			       enum MHD_Result *sent, struct gerr *e)
{
	char key[1024];
	char *val = NULL;
	size_t len = 0;
	int64_t rev;
	int ret;

	*out = NULL;
	if (user_rv > 0 && user_rv != old_rev)
		return -ECANCELED;
	drop_nulls(newobj, 0);
	obj_carry_meta(c->k, newobj, old);
	if (c->k->defaults)
		c->k->defaults(newobj);
	if (!validate(c, newobj, old, sent))
		return -EBADMSG;
	reg_key(c->k, c->ns, c->name, key, sizeof(key));
	if (mstr(newobj, "deletionTimestamp") &&
	    json_array_size(json_object_get(json_object_get(newobj, "metadata"), "finalizers")) == 0) {
		ret = store_delete(c->as->store, key, old_rev, &rev, NULL, e);
		if (ret)
			return ret;
		obj_set_rv(newobj, rev);
		*out = json_incref(newobj);
		return 0;
	}
	if (json_equal(newobj, old)) {
		/* No-op update: keep the revision, as Kubernetes does. */
		*out = json_incref(newobj);
		obj_set_rv(*out, old_rev);
		return 0;
	}
	ret = as_encode(c->as, c->k, newobj, &val, &len, e);
	if (ret)
		return ret;
	ret = store_update(c->as->store, key, val, len, old_rev, &rev, e);
	free(val);
	if (ret)
		return ret;
	obj_set_rv(newobj, rev);
	*out = json_incref(newobj);
	return 0;
}

static json_t *scale_of(const struct api_kind *k, const json_t *obj)
{
	const json_t *md = json_object_get(obj, "metadata");
	const json_t *sel = sel_lookup_path(obj, "spec.selector.matchLabels");
	char selstr[1024] = "";
	size_t off = 0;
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)sel, key, v) {
		if (off < sizeof(selstr))
			off += snprintf(selstr + off, sizeof(selstr) - off, "%s%s=%s", off ? "," : "",
					key, json_string_value(v) ?: "");
	}
	json_t *s = json_pack("{s:s, s:s, s:{s:O?, s:O?, s:O?, s:O?, s:O?}, s:{s:I}, s:{s:I, s:s}}",
			      "kind", "Scale", "apiVersion", "autoscaling/v1", "metadata",
			      "name", json_object_get(md, "name"), "namespace",
			      json_object_get(md, "namespace"), "uid", json_object_get(md, "uid"),
			      "resourceVersion", json_object_get(md, "resourceVersion"),
			      "creationTimestamp", json_object_get(md, "creationTimestamp"),
			      "spec", "replicas",
			      (json_int_t)json_integer_value(sel_lookup_path(obj, "spec.replicas")),
			      "status", "replicas",
			      (json_int_t)json_integer_value(sel_lookup_path(obj, "status.replicas")),
			      "selector", selstr);
	return s;
}

/* Applies the request (PUT body or patch) to the current object, retrying
 * on write conflicts when the client gave no resourceVersion. */
static enum MHD_Result do_modify(struct call *c, bool is_patch)
{
	enum MHD_Result sent = MHD_YES;
	const char *ct = hdr(c, "Content-Type");
	json_t *body = NULL;
	struct gerr e = { 0 };
	int ret = 0;

	if (is_patch) {

		if (!ct || (!strstr(ct, "json-patch") && !strstr(ct, "merge-patch") &&
			    !strstr(ct, "strategic-merge-patch") && !strstr(ct, "apply-patch"))) {
			return send_status(c, 415, "UnsupportedMediaType", NULL, NULL,
					   "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml");
		}
		body = parse_body(c, &sent, !strstr(ct, "json-patch+json"));
	} else {
		body = parse_body(c, &sent, true);
	}
	if (!body)
		return sent;

	for (int attempt = 0; attempt < UPDATE_RETRIES; attempt++) {
		json_t *old = NULL, *newobj = NULL, *out = NULL;
		int64_t old_rev = 0, user_rv = 0;

		memset(&e, 0, sizeof(e));
		ret = as_get(c->as, c->k, c->ns, c->name, &old, &old_rev, &e);
		if (ret) {
			sent = send_store_err(c, ret, &e);
			break;
		}
		/* The document the request talks about: the object, or its
		 * Scale for the scale subresource. */
		json_t *view = !strcmp(c->sub, "scale") ? scale_of(c->k, old) : json_incref(old);

		if (is_patch) {
			if (strstr(ct, "json-patch+json")) {
				ret = patch_json(view, body, &newobj, &e);
				if (ret) {
					json_decref(view);
					json_decref(old);
					sent = ret == -ECANCELED
						? send_status(c, 422, "Invalid", c->name, NULL, "%s", e.msg)
						: send_status(c, 422, "Invalid", c->name, NULL,
							      "the server rejected our request due to an error in our request: %s", e.msg);
					break;
				}
			} else if (strstr(ct, "strategic") || strstr(ct, "apply-patch")) {
				newobj = patch_strategic(view, body);
			} else {
				newobj = patch_merge(view, body);
			}
			if (!json_is_object(newobj)) {
				json_decref(newobj);
				json_decref(view);
				json_decref(old);
				sent = send_status(c, 422, "Invalid", c->name, NULL,
						   "patch result is not an object");
				break;
			}
			/* A resourceVersion in the patch is a precondition. */
			const char *prv = json_string_value(sel_lookup_path(body, "metadata.resourceVersion"));
			user_rv = parse_rv(prv);
		} else {
			newobj = json_deep_copy(body);
			user_rv = parse_rv(mstr(newobj, "resourceVersion"));
		}
		json_decref(view);
		if (user_rv < 0) {
			json_decref(newobj);
			json_decref(old);
			sent = send_status(c, 400, "BadRequest", NULL, NULL, "invalid resourceVersion");
			break;
		}

		if (!strcmp(c->sub, "scale")) {
			const json_t *r = sel_lookup_path(newobj, "spec.replicas");
			json_t *target = json_deep_copy(old);

			if (!json_is_integer(r) || json_integer_value(r) < 0) {
				json_decref(target);
				json_decref(newobj);
				json_decref(old);
				sent = send_status(c, 422, "Invalid", c->name,
						   json_pack("[{s:s,s:s,s:s}]", "reason", "FieldValueInvalid",
							     "message", "must be greater than or equal to 0",
							     "field", "spec.replicas"),
						   "Scale \"%s\" is invalid: spec.replicas: Invalid value: must be greater than or equal to 0",
						   c->name);
				break;
			}
			json_object_set(json_object_get(target, "spec"), "replicas", (json_t *)r);
			json_decref(newobj);
			newobj = target;
		} else {
			if (!check_kind(c, newobj, &sent)) {
				json_decref(newobj);
				json_decref(old);
				break;
			}
			const char *bn = mstr(newobj, "name");
			if (bn && strcmp(bn, c->name)) {
				sent = send_status(c, 400, "BadRequest", NULL, NULL,
						   "the name of the object (%s) does not match the name on the URL (%s)",
						   bn, c->name);
				json_decref(newobj);
				json_decref(old);
				break;
			}
			if (attempt == 0 && !check_unknown(c, newobj, &sent)) {
				json_decref(newobj);
				json_decref(old);
				break;
			}
			if (c->k->has_status) {
				if (!strcmp(c->sub, "status")) {
					/* Only status changes through the subresource. */
					json_t *t = json_deep_copy(old);
					json_t *st = json_object_get(newobj, "status");

					if (st)
						json_object_set(t, "status", st);
					/* keep labels/annotations from old */
					json_decref(newobj);
					newobj = t;
				} else if (json_object_get(old, "status")) {
					json_object_set(newobj, "status", json_object_get(old, "status"));
				} else {
					json_object_del(newobj, "status");
				}
			}
		}
		json_t *md = meta(newobj);
		json_object_del(md, "resourceVersion");
		/* A Role's namespace decides where its rules must be held. */
		if (c->k->namespaced && !json_string_value(json_object_get(md, "namespace")))
			json_object_set_new(md, "namespace", json_string(c->ns));
		if (!escalation_ok(c, newobj, &sent)) {
			json_decref(newobj);
			json_decref(old);
			ret = 0;
			break;
		}
		ret = write_update(c, newobj, old, old_rev, user_rv, &out, &sent, &e);
		json_decref(newobj);
		json_decref(old);
		if (ret == -EBADMSG)
			break;
		if (ret == -ECANCELED && user_rv == 0)
			continue;   /* lost a race with another writer: redo */
		if (ret) {
			sent = send_store_err(c, ret, &e);
			break;
		}
		if (!strcmp(c->sub, "scale")) {
			json_t *s = scale_of(c->k, out);

			json_decref(out);
			c->fmt = c->fmt == FMT_TABLE ? FMT_JSON : c->fmt;
			sent = send_obj(c, 200, s);
		} else {
			sent = send_object(c, 200, out);
		}
		break;
	}
	if (ret == -ECANCELED && sent == MHD_YES && c->rq->code == 0)
		sent = send_store_err(c, ret, &e);
	json_decref(body);
	return sent;
}

/* ---- get / list ------------------------------------------------------------------------ */

static enum MHD_Result do_get(struct call *c)
{
	json_t *obj = NULL;
	struct gerr e = { 0 };
	int ret = as_get(c->as, c->k, c->ns, c->name, &obj, NULL, &e);

	if (ret)
		return send_store_err(c, ret, &e);
	if (!strcmp(c->sub, "scale")) {
		json_t *s = scale_of(c->k, obj);

		json_decref(obj);
		if (c->fmt == FMT_TABLE)
			c->fmt = FMT_JSON;
		return send_obj(c, 200, s);
	}
	return send_object(c, 200, obj);
}

struct filters {
	struct selector labels, fields;
};

static bool parse_filters(struct call *c, struct filters *f, enum MHD_Result *sent)
{
	struct gerr e = { 0 };

	memset(f, 0, sizeof(*f));
	if (sel_parse_labels(qarg(c, "labelSelector"), &f->labels, &e)) {
		*sent = send_status(c, 400, "BadRequest", NULL, NULL, "%s", e.msg);
		return false;
	}
	if (sel_parse_fields(qarg(c, "fieldSelector"), &f->fields, &e)) {
		sel_free(&f->labels);
		*sent = send_status(c, 400, "BadRequest", NULL, NULL, "%s", e.msg);
		return false;
	}
	return true;
}

static bool filters_match(const struct filters *f, const json_t *obj)
{
	return sel_match_labels(&f->labels, sel_lookup_path(obj, "metadata.labels")) &&
	       sel_match_fields(&f->fields, obj);
}

static void filters_free(struct filters *f)
{
	sel_free(&f->labels);
	sel_free(&f->fields);
}

/* Lists from the store; items are decoded objects matching the filters. */
static int list_objects(struct call *c, const struct filters *f, const char *start_after,
			size_t limit, json_t **items, int64_t *rev, char **cont, struct gerr *e)
{
	struct store_list l = { 0 };
	char prefix[600];
	int ret;

	reg_prefix(c->k, c->has_ns ? c->ns : NULL, prefix, sizeof(prefix));
	ret = store_list(c->as->store, prefix, start_after, limit, &l, e);
	if (ret)
		return ret;
	*items = json_array();
	for (size_t i = 0; i < l.n; i++) {
		json_t *obj = NULL;

		if (as_decode(c->as, c->k, l.items[i].value, l.items[i].len, l.items[i].mod_rev,
			      &obj, NULL))
			continue;
		if (filters_match(f, obj))
			json_array_append_new(*items, obj);
		else
			json_decref(obj);
	}
	*rev = l.rev;
	if (cont)
		*cont = l.more && l.n ? strdup(l.items[l.n - 1].key) : NULL;
	store_list_free(&l);
	return 0;
}

static enum MHD_Result do_list(struct call *c)
{
	struct filters f;
	enum MHD_Result sent;
	json_t *items = NULL;
	int64_t rev = 0;
	char *cont = NULL, av[128], kind[160], rvs[32];
	const char *start = qarg(c, "continue");
	const char *lim = qarg(c, "limit");
	struct gerr e = { 0 };
	char prefix[600];
	int ret;

	if (!parse_filters(c, &f, &sent))
		return sent;
	reg_prefix(c->k, c->has_ns ? c->ns : NULL, prefix, sizeof(prefix));
	if (start && *start && strncmp(start, prefix, strlen(prefix))) {
		filters_free(&f);
		return send_status(c, 400, "BadRequest", NULL, NULL, "invalid continue token");
	}
	ret = list_objects(c, &f, start && *start ? start : NULL, lim ? strtoul(lim, NULL, 10) : 0,
			   &items, &rev, &cont, &e);
	filters_free(&f);
	if (ret)
		return send_store_err(c, ret, &e);
	reg_api_version(c->k, av, sizeof(av));
	snprintf(kind, sizeof(kind), "%sList", c->k->kind);
	snprintf(rvs, sizeof(rvs), "%lld", (long long)rev);
	json_t *list = json_pack("{s:s, s:s, s:{s:s}, s:o}", "kind", kind, "apiVersion", av,
				 "metadata", "resourceVersion", rvs, "items", items);
	if (cont) {
		json_object_set_new(json_object_get(list, "metadata"), "continue", json_string(cont));
		free(cont);
	}
	if (c->fmt == FMT_TABLE) {
		json_t *t = disc_table(c->k, list, true);

		json_decref(list);
		c->fmt = FMT_JSON;
		return send_obj(c, 200, t);
	}
	return send_obj(c, 200, list);
}

/* ---- delete --------------------------------------------------------------------------- */

static enum MHD_Result delete_one(struct call *c, bool respond, int *status)
{
	struct gerr e = { 0 };
	json_t *old = NULL;
	int64_t old_rev = 0, pre_rv = 0;
	char key[1024], pre_uid[80] = "";
	int ret;

	if (c->rq->len && respond) {
		json_error_t je;
		json_t *opts = json_loadb(c->rq->body, c->rq->len, 0, &je);

		pre_rv = parse_rv(json_string_value(sel_lookup_path(opts, "preconditions.resourceVersion")));
		snprintf(pre_uid, sizeof(pre_uid), "%s",
			 json_string_value(sel_lookup_path(opts, "preconditions.uid")) ?: "");
		json_decref(opts);
	}
	if (!c->k->namespaced || strcmp(c->k->kind, "Namespace") == 0) {
		if (!strcmp(c->k->kind, "Namespace") &&
		    (!strcmp(c->name, "default") || !strcmp(c->name, "kube-system"))) {
			*status = 403;
			return respond ? send_status(c, 403, "Forbidden", c->name, NULL,
						     "namespaces \"%s\" is forbidden: this namespace may not be deleted",
						     c->name) : MHD_YES;
		}
	}
	for (int attempt = 0; attempt < UPDATE_RETRIES; attempt++) {
		ret = as_get(c->as, c->k, c->ns, c->name, &old, &old_rev, &e);
		if (ret)
			break;
		if ((pre_rv > 0 && pre_rv != old_rev) ||
		    (*pre_uid && strcmp(pre_uid, mstr(old, "uid") ?: ""))) {
			/* DeleteOptions preconditions (the agent deletes "this
			 * incarnation" of a pod by uid) */
			ret = -ECANCELED;
			json_decref(old);
			pre_rv = 1;   /* a client precondition: no retry */
			break;
		}
		json_t *fin = json_object_get(json_object_get(old, "metadata"), "finalizers");
		if (json_array_size(fin) > 0) {
			/* Finalizers pending: mark for deletion; the last
			 * finalizer removal (an update) deletes for real. */
			if (!mstr(old, "deletionTimestamp")) {
				json_t *n = json_deep_copy(old), *out = NULL;
				char ts[64];
				char *val = NULL;
				size_t len = 0;
				int64_t rev;

				obj_now_rfc3339(ts, sizeof(ts));
				json_object_set_new(meta(n), "deletionTimestamp", json_string(ts));
				json_object_set_new(meta(n), "deletionGracePeriodSeconds", json_integer(0));
				reg_key(c->k, c->ns, c->name, key, sizeof(key));
				ret = as_encode(c->as, c->k, n, &val, &len, &e);
				if (!ret)
					ret = store_update(c->as->store, key, val, len, old_rev, &rev, &e);
				free(val);
				if (!ret) {
					obj_set_rv(n, rev);
					out = n;
				} else {
					json_decref(n);
				}
				json_decref(old);
				if (ret == -ECANCELED && !pre_rv)
					continue;
				if (ret)
					break;
				*status = 202;
				return respond ? send_object(c, 202, out) : (json_decref(out), MHD_YES);
			}
			*status = 202;
			return respond ? send_object(c, 202, old) : (json_decref(old), MHD_YES);
		}
		reg_key(c->k, c->ns, c->name, key, sizeof(key));
		int64_t rev = 0;
		ret = store_delete(c->as->store, key, old_rev, &rev, NULL, &e);
		if (ret == -ECANCELED && !pre_rv) {
			json_decref(old);
			continue;
		}
		if (ret) {
			json_decref(old);
			break;
		}
		obj_set_rv(old, rev);
		*status = 200;
		return respond ? send_object(c, 200, old) : (json_decref(old), MHD_YES);
	}
	*status = ret == -ENOENT ? 404 : ret == -ECANCELED ? 409 : 500;
	return respond ? send_store_err(c, ret, &e) : MHD_YES;
}

static enum MHD_Result do_delete_collection(struct call *c)
{
	struct filters f;
	enum MHD_Result sent;
	json_t *items = NULL, *x, *deleted = json_array();
	int64_t rev;
	struct gerr e = { 0 };
	size_t i;
	char av[128], kind[160];
	int ret;

	if (!parse_filters(c, &f, &sent))
		return sent;
	ret = list_objects(c, &f, NULL, 0, &items, &rev, NULL, &e);
	filters_free(&f);
	if (ret)
		return send_store_err(c, ret, &e);
	json_array_foreach(items, i, x) {
		struct call one = *c;
		int st = 0;

		snprintf(one.name, sizeof(one.name), "%s", mstr(x, "name") ?: "");
		snprintf(one.ns, sizeof(one.ns), "%s", mstr(x, "namespace") ?: "");
		delete_one(&one, false, &st);
		if (st == 200 || st == 202)
			json_array_append(deleted, x);
	}
	json_decref(items);
	reg_api_version(c->k, av, sizeof(av));
	snprintf(kind, sizeof(kind), "%sList", c->k->kind);
	return send_obj(c, 200, json_pack("{s:s, s:s, s:{}, s:o}", "kind", kind, "apiVersion", av,
					  "metadata", "items", deleted));
}

/* ---- watch ------------------------------------------------------------------------------- */

struct watcher {
	struct apiserver *as;
	struct MHD_Connection *conn;
	const struct api_kind *k;
	char prefix[600];
	char name[300];
	struct filters f;
	struct wc_cursor cur;
	json_t *initial;            /* synthetic ADDED events (array of objects) */
	size_t init_idx;
	char *pending;              /* formatted bytes not yet handed to MHD */
	size_t plen, poff;
	bool table, bookmarks, done, counted;
	struct timespec deadline, last_send;
	int bookmark_ms;
};

static void w_append(struct watcher *w, const char *type, const char *obj_json, size_t olen)
{
	size_t need = strlen(type) + olen + 40;
	char *p = realloc(w->pending, w->plen + need);

	if (!p)
		return;
	w->pending = p;
	w->plen += (size_t)snprintf(p + w->plen, need, "{\"type\":\"%s\",\"object\":", type);
	memcpy(p + w->plen, obj_json, olen);
	w->plen += olen;
	memcpy(p + w->plen, "}\n", 2);
	w->plen += 2;
	clock_gettime(CLOCK_MONOTONIC, &w->last_send);
}

/* An event whose object is j serialized here (compact JSON). */
static void w_append_json(struct watcher *w, const char *type, const json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT);

	if (s) {
		w_append(w, type, s, strlen(s));
		free(s);
	}
}

static void w_append_obj(struct watcher *w, const char *type, const json_t *obj,
			 const char *serialized, size_t slen)
{
	if (w->table) {
		json_t *t = disc_table(w->k, obj, false);

		w_append_json(w, type, t);
		json_decref(t);
	} else if (serialized) {
		w_append(w, type, serialized, slen);
	} else {
		w_append_json(w, type, obj);
	}
}

static bool w_client_gone(struct watcher *w)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(w->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	struct pollfd pfd;

	if (!ci)
		return false;
	pfd.fd = ci->connect_fd;
	pfd.events = POLLRDHUP;
	pfd.revents = 0;
	if (poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR)))
		return true;
	return false;
}

static ssize_t watch_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct watcher *w = cls;

	for (;;) {
		if (w->poff < w->plen) {
			size_t n = w->plen - w->poff;

			if (n > max)
				n = max;
			memcpy(buf, w->pending + w->poff, n);
			w->poff += n;
			if (w->poff == w->plen)
				w->poff = w->plen = 0;
			return (ssize_t)n;
		}
		if (w->done || w->as->stopping)
			return MHD_CONTENT_READER_END_OF_STREAM;
		if (w->initial && w->init_idx < json_array_size(w->initial)) {
			json_t *o = json_array_get(w->initial, w->init_idx++);

			w_append_obj(w, "ADDED", o, NULL, 0);
			continue;
		}
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (w->deadline.tv_sec && ts_diff(&w->deadline, &now) >= 0)
			return MHD_CONTENT_READER_END_OF_STREAM;

		struct wc_event *ev = NULL;
		int wait_ms = 1000;

		if (w->bookmarks && w->bookmark_ms < wait_ms)
			wait_ms = w->bookmark_ms > 10 ? w->bookmark_ms : 10;
		if (w->deadline.tv_sec) {
			double left = ts_diff(&now, &w->deadline) * 1000;

			if (left < wait_ms)
				wait_ms = left > 1 ? (int)left : 1;
		}
		int r = wc_next(&w->cur, wait_ms, &ev);

		if (r == -ESHUTDOWN)
			return MHD_CONTENT_READER_END_OF_STREAM;
		if (r == -ERANGE) {
			/* Fell out of the ring: tell the client to re-list. */
			json_t *st = obj_status(410, "Expired",
						"too old resource version: the watcher fell behind",
						NULL, NULL, NULL);

			w_append_json(w, "ERROR", st);
			json_decref(st);
			w->done = true;
			continue;
		}
		if (r == 1) {
			bool mine = !strncmp(ev->key, w->prefix, strlen(w->prefix)) &&
				    (!*w->name || !strcmp(ev->name, w->name));
			bool match = mine && sel_match_labels(&w->f.labels, ev->labels);
			const char *type = ev->type == STORE_EV_CREATE ? "ADDED"
					   : ev->type == STORE_EV_UPDATE ? "MODIFIED" : "DELETED";
			json_t *obj = NULL;

			/* Label changes move objects in and out of a label
			 * selector's view: report them as ADDED / DELETED. */
			if (mine && w->f.labels.n && ev->type == STORE_EV_UPDATE && ev->had_prev) {
				bool was = sel_match_labels(&w->f.labels, ev->prev_labels);

				if (match && !was)
					type = "ADDED";
				else if (!match && was) {
					type = "DELETED";
					match = true;
				}
			}

			/* Parse only when a field selector or a Table needs it. */
			if (match && (w->f.fields.n || w->table)) {
				obj = json_loadb(ev->json, ev->json_len, 0, NULL);
				match = obj && sel_match_fields(&w->f.fields, obj);
			}
			if (match)
				w_append_obj(w, type, obj, ev->json, ev->json_len);
			json_decref(obj);
			wc_event_put(ev);
			continue;
		}
		/* Idle: bookmark when due, and notice clients that went away. */
		if (w_client_gone(w))
			return MHD_CONTENT_READER_END_WITH_ERROR;
		if (w->bookmarks && ts_diff(&w->last_send, &now) * 1000 >= w->bookmark_ms) {
			char av[128], bm[512];

			reg_api_version(w->k, av, sizeof(av));
			snprintf(bm, sizeof(bm),
				 "{\"kind\":\"%s\",\"apiVersion\":\"%s\",\"metadata\":{\"resourceVersion\":\"%lld\"}}",
				 w->k->kind, av, (long long)w->cur.after_rev);
			w_append(w, "BOOKMARK", bm, strlen(bm));
		}
	}
}

static void watch_free(void *cls)
{
	struct watcher *w = cls;

	if (w->counted)
		metrics_watchers(-1);
	filters_free(&w->f);
	json_decref(w->initial);
	free(w->pending);
	free(w);
}

static enum MHD_Result do_watch(struct call *c)
{
	struct watcher *w = calloc(1, sizeof(*w));
	enum MHD_Result sent;
	const char *rvs = qarg(c, "resourceVersion");
	const char *tos = qarg(c, "timeoutSeconds");
	int64_t rv = parse_rv(rvs);
	struct gerr e = { 0 };
	int ret;

	if (!w)
		return MHD_NO;
	w->as = c->as;
	w->conn = c->conn;
	w->k = c->k;
	w->table = c->fmt == FMT_TABLE;
	w->bookmarks = qbool(c, "allowWatchBookmarks");
	w->bookmark_ms = c->as->bookmark_ms;
	clock_gettime(CLOCK_MONOTONIC, &w->last_send);
	reg_prefix(c->k, c->has_ns ? c->ns : NULL, w->prefix, sizeof(w->prefix));
	if (c->has_name)
		snprintf(w->name, sizeof(w->name), "%s", c->name);
	if (rv < 0) {
		free(w);
		return send_status(c, 400, "BadRequest", NULL, NULL, "invalid resourceVersion");
	}
	if (!parse_filters(c, &w->f, &sent)) {
		free(w);
		return sent;
	}
	if (tos) {
		long t = strtol(tos, NULL, 10);

		if (t > 0) {
			clock_gettime(CLOCK_MONOTONIC, &w->deadline);
			w->deadline.tv_sec += t;
		}
	}
	if (rv == 0) {
		/* "Start at most recent": synthetic ADDED for the current
		 * state, then events after the list's revision. */
		for (int attempt = 0; attempt < 5; attempt++) {
			int64_t lrev = 0;

			json_decref(w->initial);
			w->initial = NULL;
			ret = list_objects(c, &w->f, NULL, 0, &w->initial, &lrev, NULL, &e);
			if (ret) {
				watch_free(w);
				return send_store_err(c, ret, &e);
			}
			if (*w->name) {
				json_t *keep = json_array(), *x;
				size_t i;

				json_array_foreach(w->initial, i, x)
					if (!strcmp(mstr(x, "name") ?: "", w->name))
						json_array_append(keep, x);
				json_decref(w->initial);
				w->initial = keep;
			}
			/* the cache must have caught up with the list */
			wc_wait_rev(c->as->wc, lrev, 5000);
			ret = wc_cursor_init(c->as->wc, lrev, &w->cur);
			if (ret == 0)
				break;
		}
	} else {
		ret = wc_cursor_init(c->as->wc, rv, &w->cur);
	}
	if (ret) {
		watch_free(w);
		return send_status(c, 410, "Expired", NULL, NULL,
				   "too old resource version: %lld", (long long)rv);
	}
	metrics_watchers(1);
	w->counted = true;
	struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024,
								   watch_reader, w, watch_free);
	if (!r) {
		watch_free(w);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", "application/json");
	MHD_add_response_header(r, "Cache-Control", "no-cache, private");
	c->rq->code = 200;
	sent = MHD_queue_response(c->conn, 200, r);
	MHD_destroy_response(r);
	return sent;
}

/* ---- serviceaccounts/token (TokenRequest) ------------------------------------------ */

static enum MHD_Result do_token(struct call *c)
{
	enum MHD_Result sent = MHD_YES;
	json_t *sa = NULL, *req = NULL;
	struct gerr e = { 0 };
	json_int_t ttl = 3600;
	char *tok;
	char ts[64];
	int ret;

	ret = as_get(c->as, c->k, c->ns, c->name, &sa, NULL, &e);
	if (ret)
		return send_store_err(c, ret, &e);
	json_decref(sa);
	if (c->rq->len) {
		req = parse_body(c, &sent, true);
		if (!req)
			return sent;
	} else {
		req = json_object();
	}
	const json_t *exp = sel_lookup_path(req, "spec.expirationSeconds");
	if (exp) {
		if (!json_is_integer(exp) || json_integer_value(exp) < 600 ||
		    json_integer_value(exp) > 366 * 86400) {
			json_decref(req);
			return send_status(c, 422, "Invalid", c->name,
					   json_pack("[{s:s,s:s,s:s}]", "reason", "FieldValueInvalid",
						     "message", "may not specify a duration less than 10 minutes or more than a year",
						     "field", "spec.expirationSeconds"),
					   "TokenRequest \"%s\" is invalid: spec.expirationSeconds: Invalid value: may not specify a duration less than 10 minutes or more than a year",
					   c->name);
		}
		ttl = json_integer_value(exp);
	}
	tok = authn_sa_token_ttl(c->as->authn, c->ns, c->name, ttl);
	if (!tok) {
		json_decref(req);
		return send_status(c, 500, "InternalError", NULL, NULL, "cannot mint a token");
	}
	time_t t = time(NULL) + (time_t)ttl;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_t *out = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:I}, s:{s:s, s:s}}",
				"kind", "TokenRequest", "apiVersion", "authentication.k8s.io/v1",
				"metadata", "name", c->name, "namespace", c->ns,
				"spec", "expirationSeconds", ttl,
				"status", "token", tok, "expirationTimestamp", ts);
	json_t *aud = sel_lookup_path(req, "spec.audiences") ? json_deep_copy(sel_lookup_path(req, "spec.audiences")) : NULL;
	if (aud)
		json_object_set_new(json_object_get(out, "spec"), "audiences", aud);
	free(tok);
	json_decref(req);
	c->fmt = c->fmt == FMT_TABLE ? FMT_JSON : c->fmt;
	return send_obj(c, 201, out);
}

/* ---- pods/binding ------------------------------------------------------------------ */

/* POST .../pods/<name>/binding {target: {kind: Node, name}}: sets
 * spec.nodeName (once) and the PodScheduled condition in one write, as the
 * Kubernetes scheduler expects. */
static enum MHD_Result do_binding(struct call *c)
{
	enum MHD_Result sent = MHD_YES;
	json_t *b = parse_body(c, &sent, true);
	struct gerr e = { 0 };
	int ret = 0;

	if (!b)
		return sent;
	const char *node = json_string_value(sel_lookup_path(b, "target.name"));
	const char *tkind = json_string_value(sel_lookup_path(b, "target.kind"));
	if (!node || !*node || (tkind && *tkind && strcmp(tkind, "Node"))) {
		json_decref(b);
		return send_status(c, 422, "Invalid", c->name,
				   json_pack("[{s:s,s:s,s:s}]", "reason", "FieldValueRequired",
					     "message", "Required value", "field", "target.name"),
				   "Binding \"%s\" is invalid: target.name: Required value", c->name);
	}
	for (int attempt = 0; attempt < UPDATE_RETRIES; attempt++) {
		json_t *old = NULL, *n;
		int64_t rev = 0, new_rev = 0;
		char key[1024], ts[64];
		char *val = NULL;
		size_t len = 0;

		memset(&e, 0, sizeof(e));
		ret = as_get(c->as, c->k, c->ns, c->name, &old, &rev, &e);
		if (ret)
			break;
		const char *cur = json_string_value(sel_lookup_path(old, "spec.nodeName"));
		if (cur && *cur) {
			sent = send_status(c, 409, "Conflict", c->name, NULL,
					   "Operation cannot be fulfilled on pods/binding \"%s\": pod %s is already assigned to node \"%s\"",
					   c->name, c->name, cur);
			json_decref(old);
			json_decref(b);
			return sent;
		}
		if (mstr(old, "deletionTimestamp")) {
			json_decref(old);
			json_decref(b);
			return send_status(c, 409, "Conflict", c->name, NULL,
					   "pod %s is being deleted, cannot be assigned to a host", c->name);
		}
		n = json_deep_copy(old);
		json_t *spec = json_object_get(n, "spec");
		if (!json_is_object(spec)) {
			spec = json_object();
			json_object_set_new(n, "spec", spec);
		}
		json_object_set_new(spec, "nodeName", json_string(node));
		json_t *st = json_object_get(n, "status");
		if (!json_is_object(st)) {
			st = json_object();
			json_object_set_new(n, "status", st);
		}
		json_t *conds = json_object_get(st, "conditions");
		if (!json_is_array(conds)) {
			conds = json_array();
			json_object_set_new(st, "conditions", conds);
		}
		obj_now_rfc3339(ts, sizeof(ts));
		json_t *cond = json_pack("{s:s, s:s, s:s}", "type", "PodScheduled", "status", "True",
					 "lastTransitionTime", ts);
		size_t i;
		json_t *x;
		bool replaced = false;
		json_array_foreach(conds, i, x) {
			if (!strcmp(json_string_value(json_object_get(x, "type")) ?: "", "PodScheduled")) {
				json_array_set(conds, i, cond);
				replaced = true;
				break;
			}
		}
		if (!replaced)
			json_array_append(conds, cond);
		json_decref(cond);
		reg_key(c->k, c->ns, c->name, key, sizeof(key));
		ret = as_encode(c->as, c->k, n, &val, &len, &e);
		if (!ret)
			ret = store_update(c->as->store, key, val, len, rev, &new_rev, &e);
		free(val);
		json_decref(n);
		json_decref(old);
		if (ret == -ECANCELED)
			continue;
		break;
	}
	json_decref(b);
	if (ret)
		return send_store_err(c, ret, &e);
	return send_obj(c, 201, obj_status(201, "", "", NULL, NULL, NULL));
}

/* ---- routing --------------------------------------------------------------------------------- */

static int split_path(const char *url, char segs[][300], int max)
{
	int n = 0;
	const char *p = url;

	while (*p) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		const char *s = p;
		while (*p && *p != '/')
			p++;
		if (n == max)
			return -1;
		if ((size_t)(p - s) >= sizeof(segs[0]))
			return -1;
		memcpy(segs[n], s, p - s);
		segs[n][p - s] = '\0';
		n++;
	}
	return n;
}

static bool auth_ok(struct call *c, const struct authz_attrs *a, enum MHD_Result *sent)
{
	char reason[512] = "";

	if (rbac_authorize(c->as->rbac, &c->user, a, reason, sizeof(reason)))
		return true;
	/* The reason is the message: the evaluator words a plain denial the
	 * Kubernetes way ("User ... cannot list resource ..."), and a node
	 * restriction says which object the node may not touch; prefixing
	 * our own "User ... cannot ..." would repeat or contradict it. */
	if (!*reason)
		snprintf(reason, sizeof(reason), "User \"%s\" cannot %s", c->user.name, a->verb);
	if (a->path) {
		*sent = send_status(c, 403, "Forbidden", NULL, NULL, "forbidden: %s", reason);
	} else {
		*sent = send_status(c, 403, "Forbidden", a->name, NULL, "%s%s%s%s%s%s is forbidden: %s",
				    a->resource, *a->api_group ? "." : "", a->api_group,
				    a->name ? " \"" : "", a->name ? a->name : "", a->name ? "\"" : "",
				    reason);
	}
	return false;
}

/* Writes of Role/ClusterRole/RoleBinding/ClusterRoleBinding may not grant
 * more than the writer holds (rbac_check_escalation): without this a
 * namespace admin could bind cluster-admin to themselves. Called after
 * auth_ok allowed the write itself, with the object as it will be stored. */
static bool escalation_ok(struct call *c, const json_t *obj, enum MHD_Result *sent)
{
	char reason[512] = "";

	if (strcmp(c->k->group, "rbac.authorization.k8s.io"))
		return true;
	if (rbac_check_escalation(c->as->rbac, &c->user, c->k->kind, obj, reason, sizeof(reason)))
		return true;
	*sent = send_status(c, 403, "Forbidden", c->name, NULL, "%s.%s \"%s\" is forbidden: %s",
			    c->k->plural, c->k->group, c->name,
			    *reason ? reason : "attempt to grant extra privileges");
	return false;
}

static enum MHD_Result route_nonresource(struct call *c, char segs[][300], int n)
{
	const char *path = c->url;
	json_t *doc = NULL;

	if (!strcmp(path, "/metrics")) {
		char *m = metrics_render();

		return send_buf(c, 200, m, strlen(m), "text/plain; version=0.0.4");
	}
	if (n == 1 && !strcmp(segs[0], "api"))
		doc = disc_api_versions();
	else if (n == 1 && !strcmp(segs[0], "apis"))
		doc = disc_api_groups();
	else if (n == 2 && !strcmp(segs[0], "api"))
		doc = disc_resource_list("", segs[1]);
	else if (n == 2 && !strcmp(segs[0], "apis"))
		doc = disc_group(segs[1]);
	else if (n == 3 && !strcmp(segs[0], "apis"))
		doc = disc_resource_list(segs[1], segs[2]);
	else if (n == 2 && !strcmp(segs[0], "openapi") && !strcmp(segs[1], "v3"))
		doc = disc_openapi_index();
	else if (n == 4 && !strcmp(segs[0], "openapi") && !strcmp(segs[1], "v3") &&
		 !strcmp(segs[2], "api"))
		doc = disc_openapi_gv("", segs[3]);
	else if (n == 5 && !strcmp(segs[0], "openapi") && !strcmp(segs[1], "v3") &&
		 !strcmp(segs[2], "apis"))
		doc = disc_openapi_gv(segs[3], segs[4]);
	if (!doc)
		return send_status(c, 404, "NotFound", NULL, NULL, "the server could not find the requested resource");
	if (c->fmt == FMT_TABLE)
		c->fmt = FMT_JSON;
	return send_obj(c, 200, doc);
}

static bool is_resource_path(char segs[][300], int n)
{
	return (n >= 3 && !strcmp(segs[0], "api")) || (n >= 4 && !strcmp(segs[0], "apis"));
}

/* pods/log (get) and pods/exec (create), authorized here, served by the
 * node's agent through proxy.c. */
static enum MHD_Result route_pod_proxy(struct call *c)
{
	bool log = !strcmp(c->sub, "log");
	struct authz_attrs a = { .verb = log ? "get" : "create", .api_group = "",
				 .resource = "pods", .subresource = c->sub, .ns = c->ns,
				 .name = c->name };
	enum MHD_Result sent;

	snprintf(c->rq->resource, sizeof(c->rq->resource), "pods/%s", c->sub);
	c->rq->verb = a.verb;
	if (!auth_ok(c, &a, &sent))
		return sent;
	return proxy_pod(c->as, c->conn, c->ns, c->name, c->sub, c->method);
}

/* nodes/{name}/proxy/{path...} (get nodes/proxy), served by the node's
 * agent through proxy.c. The path may have any number of segments, so it
 * is matched on the raw URL before the segment split. Returns false when
 * url is not a node proxy path. */
static bool route_node_proxy(struct call *c, enum MHD_Result *sent)
{
	static const char pfx[] = "/api/v1/nodes/";
	struct authz_attrs a = { .verb = "get", .api_group = "", .resource = "nodes",
				 .subresource = "proxy" };
	const char *p = c->url, *slash, *rest;

	if (strncmp(p, pfx, sizeof(pfx) - 1))
		return false;
	p += sizeof(pfx) - 1;
	slash = strchr(p, '/');
	if (!slash || slash == p || (size_t)(slash - p) >= sizeof(c->name) ||
	    strncmp(slash, "/proxy", 6) || (slash[6] && slash[6] != '/'))
		return false;
	snprintf(c->name, sizeof(c->name), "%.*s", (int)(slash - p), p);
	c->has_name = true;
	rest = slash[6] ? slash + 7 : "";
	a.name = c->name;
	snprintf(c->rq->resource, sizeof(c->rq->resource), "nodes/proxy");
	c->rq->verb = "get";
	if (!auth_ok(c, &a, sent))
		return true;
	*sent = proxy_node(c->as, c->conn, c->name, rest, c->method);
	return true;
}

static enum MHD_Result route(struct call *c)
{
	char segs[10][300];
	int n = split_path(c->url, segs, 10);
	enum MHD_Result sent = MHD_YES;
	struct authz_attrs a = { 0 };
	const char *verb;
	const char *group, *version;
	int base;

	if (route_node_proxy(c, &sent))
		return sent;
	if (n < 0)
		return send_status(c, 404, "NotFound", NULL, NULL, "the server could not find the requested resource");
	if (!is_resource_path(segs, n)) {
		a.verb = !strcmp(c->method, "GET") || !strcmp(c->method, "HEAD") ? "get"
			 : !strcmp(c->method, "POST") ? "create" : !strcmp(c->method, "PUT") ? "update"
			 : !strcmp(c->method, "DELETE") ? "delete" : "patch";
		a.path = c->url;
		c->rq->verb = a.verb;
		snprintf(c->rq->resource, sizeof(c->rq->resource), "%s",
			 n == 0 ? "/" : !strcmp(segs[0], "metrics") ? "/metrics" : segs[0][0] == 'o' ? "/openapi" : "/discovery");
		if (!auth_ok(c, &a, &sent))
			return sent;
		if (strcmp(c->method, "GET") && strcmp(c->method, "HEAD"))
			return send_status(c, 405, "MethodNotAllowed", NULL, NULL,
					   "the server does not allow this method on the requested resource");
		return route_nonresource(c, segs, n);
	}
	if (!strcmp(segs[0], "api")) {
		group = "";
		version = segs[1];
		base = 2;
	} else {
		group = segs[1];
		version = segs[2];
		base = 3;
	}
	int rest = n - base;
	char (*r)[300] = &segs[base];

	if (rest >= 3 && !strcmp(r[0], "namespaces") && (c->k = reg_find(group, version, r[2])) &&
	    c->k->namespaced) {
		snprintf(c->ns, sizeof(c->ns), "%s", r[1]);
		c->has_ns = true;
		if (rest >= 4) {
			snprintf(c->name, sizeof(c->name), "%s", r[3]);
			c->has_name = true;
		}
		if (rest >= 5)
			snprintf(c->sub, sizeof(c->sub), "%s", r[4]);
		if (rest > 5)
			c->k = NULL;
	} else {
		c->k = reg_find(group, version, r[0]);
		if (rest >= 2) {
			snprintf(c->name, sizeof(c->name), "%s", r[1]);
			c->has_name = true;
		}
		if (rest >= 3)
			snprintf(c->sub, sizeof(c->sub), "%s", r[2]);
		if (rest > 3 || (c->k && c->k->namespaced && c->has_name))
			c->k = NULL;
	}
	bool token_req = c->k && !strcmp(c->k->kind, "ServiceAccount") && !strcmp(c->sub, "token");
	bool binding_req = c->k && !*c->k->group && !strcmp(c->k->kind, "Pod") && !strcmp(c->sub, "binding");

	/* Both are create-only subresources (POST). */
	token_req = token_req || binding_req;
	if (c->k && !*c->k->group && !strcmp(c->k->kind, "Pod") && c->has_ns && c->has_name &&
	    (!strcmp(c->sub, "log") || !strcmp(c->sub, "exec")))
		return route_pod_proxy(c);   /* proxy.c: to the node's agent */

	if (!c->k || (*c->sub && !token_req && !(!strcmp(c->sub, "status") && c->k->has_status) &&
		      !(!strcmp(c->sub, "scale") && c->k->has_scale))) {
		c->k = NULL;
		return send_status(c, 404, "NotFound", NULL, NULL, "the server could not find the requested resource");
	}
	snprintf(c->rq->resource, sizeof(c->rq->resource), "%s%s%s", c->k->plural,
		 *c->sub ? "/" : "", c->sub);

	bool watch = qbool(c, "watch");
	if (!strcmp(c->method, "GET") || !strcmp(c->method, "HEAD"))
		verb = watch ? "watch" : c->has_name ? "get" : "list";
	else if (!strcmp(c->method, "POST"))
		verb = c->has_name ? NULL : "create";
	else if (!strcmp(c->method, "PUT"))
		verb = c->has_name ? "update" : NULL;
	else if (!strcmp(c->method, "PATCH"))
		verb = c->has_name ? "patch" : NULL;
	else if (!strcmp(c->method, "DELETE"))
		verb = c->has_name ? "delete" : "deletecollection";
	else
		verb = NULL;
	if (token_req && !strcmp(c->method, "POST"))
		verb = "create";
	else if (token_req)
		verb = NULL;
	if (!verb || (*c->sub && !token_req && (!strcmp(verb, "create") || !strcmp(verb, "delete"))))
		return send_status(c, 405, "MethodNotAllowed", NULL, NULL,
				   "the server does not allow this method on the requested resource");
	c->rq->verb = verb;
	a.verb = verb;
	a.api_group = c->k->group;
	a.resource = c->k->plural;
	a.subresource = *c->sub ? c->sub : NULL;
	a.ns = c->has_ns ? c->ns : NULL;
	a.name = c->has_name ? c->name : NULL;
	if (!auth_ok(c, &a, &sent))
		return sent;
	if (c->has_name && !*c->name)
		return send_status(c, 404, "NotFound", NULL, NULL, "resource name may not be empty");

	if (binding_req)
		return do_binding(c);
	if (token_req)
		return do_token(c);
	if (!strcmp(verb, "watch"))
		return do_watch(c);
	if (!strcmp(verb, "get"))
		return do_get(c);
	if (!strcmp(verb, "list"))
		return do_list(c);
	if (!strcmp(verb, "create")) {
		if (c->k->namespaced && !c->has_ns)
			return send_status(c, 404, "NotFound", NULL, NULL,
					   "the server could not find the requested resource");
		return do_create(c);
	}
	if (!strcmp(verb, "update"))
		return do_modify(c, false);
	if (!strcmp(verb, "patch"))
		return do_modify(c, true);
	if (!strcmp(verb, "delete")) {
		int st;

		return delete_one(c, true, &st);
	}
	return do_delete_collection(c);
}

/* ---- authentication ---------------------------------------------------------------------------- */

static int authenticate(struct call *c)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c->conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	const unsigned char *der = NULL;
	size_t der_len = 0;
	const char *authz = hdr(c, "Authorization");
	const char *bearer = NULL;

	if (ci && ci->tls_session) {
		unsigned int n = 0;
		const gnutls_datum_t *peers =
			gnutls_certificate_get_peers((gnutls_session_t)ci->tls_session, &n);

		if (peers && n > 0) {
			der = peers[0].data;
			der_len = peers[0].size;
		}
	}
	if (authz && !strncasecmp(authz, "Bearer ", 7)) {
		bearer = authz + 7;
		while (*bearer == ' ')
			bearer++;
	}
	if (!der && !bearer)
		return -EACCES;
	return authn_authenticate(c->as->authn, der, der_len, bearer, &c->user);
}

/* ---- MHD glue ---------------------------------------------------------------------------------- */

static enum fmt pick_fmt(struct call *c)
{
	const char *acc = hdr(c, "Accept");

	if (!acc)
		return FMT_JSON;
	if (strstr(acc, "as=Table"))
		return FMT_TABLE;
	if (strstr(acc, "yaml") && !strstr(acc, "json"))
		return FMT_YAML;
	return FMT_JSON;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn, const char *url,
			       const char *method, const char *version, const char *upload_data,
			       size_t *upload_data_size, void **con_cls)
{
	struct apiserver *as = cls;
	struct req *rq = *con_cls;
	struct call c = { 0 };
	enum MHD_Result ret;

	if (!rq) {
		const char *cl;

		rq = calloc(1, sizeof(*rq));
		if (!rq)
			return MHD_NO;
		clock_gettime(CLOCK_MONOTONIC, &rq->start);
		*con_cls = rq;
		cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
		if (cl && strtoull(cl, NULL, 10) > as->max_body)
			rq->too_large = true;
		if (!rq->too_large)
			return MHD_YES;
		/* Answer right away; MHD closes instead of reading the body. */
	}
	if (*upload_data_size) {
		if (!rq->too_large) {
			if (rq->len + *upload_data_size > as->max_body) {
				rq->too_large = true;
				free(rq->body);
				rq->body = NULL;
				rq->len = rq->cap = 0;
			} else {
				if (rq->len + *upload_data_size + 1 > rq->cap) {
					size_t cap = rq->cap ? rq->cap : 4096;

					while (cap < rq->len + *upload_data_size + 1)
						cap *= 2;
					char *b = realloc(rq->body, cap);
					if (!b)
						return MHD_NO;
					rq->body = b;
					rq->cap = cap;
				}
				memcpy(rq->body + rq->len, upload_data, *upload_data_size);
				rq->len += *upload_data_size;
				rq->body[rq->len] = '\0';
			}
		}
		*upload_data_size = 0;
		return MHD_YES;
	}

	c.as = as;
	c.conn = conn;
	c.rq = rq;
	c.method = method;
	c.url = url;
	c.fmt = pick_fmt(&c);
	c.warnings = json_array();
	rq->verb = "other";

	if (rq->too_large) {
		ret = send_status(&c, 413, "RequestEntityTooLarge", NULL, NULL,
				  "the request body is larger than %zu bytes", as->max_body);
		goto out;
	}
	/* Health and version are public, like Kubernetes'
	 * system:public-info-viewer; everything else needs credentials. */
	if (!strcmp(url, "/livez") || !strcmp(url, "/healthz") || !strcmp(url, "/readyz") ||
	    !strncmp(url, "/livez/", 7) || !strncmp(url, "/readyz/", 8)) {
		bool ok = strncmp(url, "/readyz", 7) || as->ready;
		char *b = strdup(ok ? "ok" : "not ready");

		rq->verb = "get";
		snprintf(rq->resource, sizeof(rq->resource), "/healthz");
		ret = send_buf(&c, ok ? 200 : 503, b, strlen(b), "text/plain");
		goto out;
	}
	if (!strcmp(url, "/version")) {
		rq->verb = "get";
		snprintf(rq->resource, sizeof(rq->resource), "/version");
		c.fmt = FMT_JSON;
		ret = send_obj(&c, 200, disc_version());
		goto out;
	}
	if (authenticate(&c) != 0) {
		ret = send_status(&c, 401, "Unauthorized", NULL, NULL, "Unauthorized");
		goto out;
	}
	ret = route(&c);
out:
	json_decref(c.warnings);
	return ret;
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	struct req *rq = *con_cls;
	struct timespec now;

	if (!rq)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (rq->code && strcmp(rq->verb ? rq->verb : "", "watch"))
		metrics_observe(rq->verb ? rq->verb : "other", rq->resource, rq->code,
				ts_diff(&rq->start, &now));
	free(rq->body);
	free(rq);
	*con_cls = NULL;
}

/* libmicrohttpd's own messages, through our log. A watch whose client
 * went away ends with an "application error" by design (watch_reader
 * notices the hang-up): with in-process loops re-watching every few
 * seconds that would be a line every second, so it is debug output. */
static void mhd_logger(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	if (strstr(msg, "Closing connection (application error") ||
	    strstr(msg, "Closing connection (application reported error"))
		pr_debug("httpd: %s", msg);
	else
		pr_warn("httpd: %s", msg);
}

int http_start(struct apiserver *as, const char *cert_pem, const char *key_pem,
	       const char *ca_pem, struct gerr *err)
{
	struct http_server *h = calloc(1, sizeof(*h));
	struct sockaddr_in sin = { .sin_family = AF_INET };

	if (!h)
		return gerr_set(err, -ENOMEM, "out of memory");
	sin.sin_port = htons((uint16_t)as->listen_port);
	if (inet_pton(AF_INET, as->listen_addr, &sin.sin_addr) != 1) {
		free(h);
		return gerr_set(err, -EINVAL, "bad listen address %s", as->listen_addr);
	}
	h->cert = strdup(cert_pem);
	h->key = strdup(key_pem);
	h->ca = strdup(ca_pem);
	h->d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
				MHD_USE_POLL | MHD_USE_TLS | MHD_USE_ERROR_LOG |
				MHD_ALLOW_UPGRADE /* interactive pods/exec (proxy.c) */,
				0, NULL, NULL, handler, as,
				MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sin,
				MHD_OPTION_HTTPS_MEM_CERT, h->cert,
				MHD_OPTION_HTTPS_MEM_KEY, h->key,
				MHD_OPTION_HTTPS_MEM_TRUST, h->ca,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned int)4096,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)600,
				MHD_OPTION_THREAD_STACK_SIZE, (size_t)(1024 * 1024),
				MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
				MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned int)1,
				MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, NULL,
				MHD_OPTION_END);
	if (!h->d) {
		free(h->cert);
		free(h->key);
		free(h->ca);
		free(h);
		return gerr_set(err, -EADDRINUSE, "cannot start HTTPS server on %s:%d",
				as->listen_addr, as->listen_port);
	}
	as->http = h;
	return 0;
}

void http_stop(struct apiserver *as)
{
	struct http_server *h = as->http;

	if (!h)
		return;
	MHD_stop_daemon(h->d);
	free(h->cert);
	free(h->key);
	free(h->ca);
	free(h);
	as->http = NULL;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* Discovery documents generated from the registry (/api, /apis, /api/v1,
 * /apis/<group>[/<version>], /version) in the legacy (non-aggregated) JSON
 * form that kubectl falls back to, and meta.k8s.io/v1 Table conversion for
 * `kubectl get` (per-kind columns as kubectl prints for Kubernetes). */
#include "apiserver/apiserver.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/selectors.h"

json_t *disc_version(void)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "major", "1", "minor", "32",
			 "gitVersion", "v1.32.0-gannet", "gitCommit", "", "gitTreeState", "clean",
			 "buildDate", "2026-01-01T00:00:00Z", "goVersion", "c11", "compiler", "gcc",
			 "platform", "linux/amd64");
}

json_t *disc_api_versions(void)
{
	return json_pack("{s:s, s:[s], s:[{s:s, s:s}]}", "kind", "APIVersions", "versions", "v1",
			 "serverAddressByClientCIDRs", "clientCIDR", "0.0.0.0/0", "serverAddress",
			 "127.0.0.1:6443");
}

static json_t *group_doc(const char *group, const char *version)
{
	char gv[128];

	snprintf(gv, sizeof(gv), "%s/%s", group, version);
	return json_pack("{s:s, s:[{s:s, s:s}], s:{s:s, s:s}}", "name", group, "versions",
			 "groupVersion", gv, "version", version, "preferredVersion", "groupVersion",
			 gv, "version", version);
}

json_t *disc_api_groups(void)
{
	json_t *groups = json_array();

	for (size_t i = 0; i < reg_n_kinds; i++) {
		const struct api_kind *k = &reg_kinds[i];
		bool seen = false;

		if (!*k->group)
			continue;
		for (size_t j = 0; j < i; j++)
			if (!strcmp(reg_kinds[j].group, k->group))
				seen = true;
		if (!seen)
			json_array_append_new(groups, group_doc(k->group, k->version));
	}
	return json_pack("{s:s, s:s, s:o}", "kind", "APIGroupList", "apiVersion", "v1", "groups", groups);
}

json_t *disc_group(const char *group)
{
	for (size_t i = 0; i < reg_n_kinds; i++) {
		if (*group && !strcmp(reg_kinds[i].group, group)) {
			json_t *g = group_doc(group, reg_kinds[i].version);

			json_object_set_new(g, "kind", json_string("APIGroup"));
			json_object_set_new(g, "apiVersion", json_string("v1"));
			return g;
		}
	}
	return NULL;
}

static json_t *strs(const char *csv)
{
	json_t *a = json_array();
	char buf[256], *save = NULL, *t;

	if (!csv)
		return a;
	snprintf(buf, sizeof(buf), "%s", csv);
	for (t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
		json_array_append_new(a, json_string(t));
	return a;
}

json_t *disc_resource_list(const char *group, const char *version)
{
	json_t *res = json_array();
	char gv[128];
	bool any = false;

	for (size_t i = 0; i < reg_n_kinds; i++) {
		const struct api_kind *k = &reg_kinds[i];
		char sub[160];

		if (strcmp(k->group, group) || strcmp(k->version, version))
			continue;
		any = true;
		json_t *r = json_pack("{s:s, s:s, s:b, s:s, s:o, s:s}", "name", k->plural,
				      "singularName", k->singular, "namespaced", k->namespaced, "kind",
				      k->kind, "verbs",
				      strs("create,delete,deletecollection,get,list,patch,update,watch"),
				      "storageVersionHash", "");
		if (k->short_names)
			json_object_set_new(r, "shortNames", strs(k->short_names));
		if (!strcmp(k->kind, "Pod") || !strcmp(k->kind, "Deployment") ||
		    !strcmp(k->kind, "ReplicaSet") || !strcmp(k->kind, "DaemonSet") ||
		    !strcmp(k->kind, "Service"))
			json_object_set_new(r, "categories", strs("all"));
		json_array_append_new(res, r);
		if (k->has_status) {
			snprintf(sub, sizeof(sub), "%s/status", k->plural);
			json_array_append_new(res, json_pack("{s:s, s:s, s:b, s:s, s:o}", "name", sub,
							     "singularName", "", "namespaced",
							     k->namespaced, "kind", k->kind, "verbs",
							     strs("get,patch,update")));
		}
		if (k->has_scale) {
			snprintf(sub, sizeof(sub), "%s/scale", k->plural);
			json_array_append_new(res, json_pack("{s:s, s:s, s:b, s:s, s:s, s:s, s:o}",
							     "name", sub, "singularName", "",
							     "namespaced", k->namespaced, "group",
							     "autoscaling", "version", "v1", "kind",
							     "Scale", "verbs", strs("get,patch,update")));
		}
	}
	if (!any) {
		json_decref(res);
		return NULL;
	}
	if (*group)
		snprintf(gv, sizeof(gv), "%s/%s", group, version);
	else
		snprintf(gv, sizeof(gv), "%s", version);
	return json_pack("{s:s, s:s, s:s, s:o}", "kind", "APIResourceList", "apiVersion", "v1",
			 "groupVersion", gv, "resources", res);
}

/* ---- tables ---------------------------------------------------------------------- */

static void age(const json_t *obj, char *buf, size_t len)
{
	const char *ts = json_string_value(sel_lookup_path(obj, "metadata.creationTimestamp"));
	struct tm tm = { 0 };
	long d;

	if (!ts || !strptime(ts, "%Y-%m-%dT%H:%M:%SZ", &tm)) {
		snprintf(buf, len, "<unknown>");
		return;
	}
	d = (long)(time(NULL) - timegm(&tm));
	if (d < 0)
		d = 0;
	if (d < 120)
		snprintf(buf, len, "%lds", d);
	else if (d < 3600 * 3)
		snprintf(buf, len, "%ldm", d / 60);
	else if (d < 86400 * 2)
		snprintf(buf, len, "%ldh", d / 3600);
	else
		snprintf(buf, len, "%ldd", d / 86400);
}

static long ival(const json_t *o, const char *path)
{
	return (long)json_integer_value(sel_lookup_path(o, path));
}

static const char *sval(const json_t *o, const char *path, const char *dflt)
{
	const char *s = json_string_value(sel_lookup_path(o, path));

	return s && *s ? s : dflt;
}

static json_t *col(const char *name, const char *type, const char *fmt, int prio)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:i}", "name", name, "type", type, "format", fmt,
			 "description", "", "priority", prio);
}

static json_t *columns(const struct api_kind *k)
{
	json_t *c = json_array();
	const char *kind = k->kind;

	json_array_append_new(c, col("Name", "string", "name", 0));
	if (!strcmp(kind, "Pod")) {
		json_array_append_new(c, col("Ready", "string", "", 0));
		json_array_append_new(c, col("Status", "string", "", 0));
		json_array_append_new(c, col("Restarts", "string", "", 0));
	} else if (!strcmp(kind, "Deployment")) {
		json_array_append_new(c, col("Ready", "string", "", 0));
		json_array_append_new(c, col("Up-to-date", "integer", "", 0));
		json_array_append_new(c, col("Available", "integer", "", 0));
	} else if (!strcmp(kind, "ReplicaSet") || !strcmp(kind, "DaemonSet")) {
		json_array_append_new(c, col("Desired", "integer", "", 0));
		json_array_append_new(c, col("Current", "integer", "", 0));
		json_array_append_new(c, col("Ready", "integer", "", 0));
	} else if (!strcmp(kind, "Service")) {
		json_array_append_new(c, col("Type", "string", "", 0));
		json_array_append_new(c, col("Cluster-IP", "string", "", 0));
		json_array_append_new(c, col("External-IP", "string", "", 0));
		json_array_append_new(c, col("Port(s)", "string", "", 0));
	} else if (!strcmp(kind, "Node") || !strcmp(kind, "Namespace")) {
		json_array_append_new(c, col("Status", "string", "", 0));
	} else if (!strcmp(kind, "ConfigMap") || !strcmp(kind, "Secret")) {
		if (!strcmp(kind, "Secret"))
			json_array_append_new(c, col("Type", "string", "", 0));
		json_array_append_new(c, col("Data", "integer", "", 0));
	} else if (!strcmp(kind, "Endpoints")) {
		json_array_append_new(c, col("Endpoints", "string", "", 0));
	} else if (!strcmp(kind, "Lease")) {
		json_array_append_new(c, col("Holder", "string", "", 0));
	} else if (!strcmp(kind, "Event")) {
		json_array_append_new(c, col("Type", "string", "", 0));
		json_array_append_new(c, col("Reason", "string", "", 0));
		json_array_append_new(c, col("Object", "string", "", 0));
		json_array_append_new(c, col("Message", "string", "", 0));
	}
	json_array_append_new(c, col("Age", "string", "", 0));
	if (!strcmp(kind, "Pod")) {
		json_array_append_new(c, col("IP", "string", "", 1));
		json_array_append_new(c, col("Node", "string", "", 1));
	}
	return c;
}

json_t *disc_table_row(const struct api_kind *k, const json_t *obj)
{
	json_t *cells = json_array();
	const char *kind = k->kind;
	char buf[512], a[32];

	age(obj, a, sizeof(a));
	json_array_append_new(cells, json_string(sval(obj, "metadata.name", "")));
	if (!strcmp(kind, "Pod")) {
		size_t n = json_array_size(sel_lookup_path(obj, "spec.containers")), ready = 0, i;
		long restarts = 0;
		json_t *cs;

		json_array_foreach(sel_lookup_path(obj, "status.containerStatuses"), i, cs) {
			if (json_is_true(json_object_get(cs, "ready")))
				ready++;
			restarts += (long)json_integer_value(json_object_get(cs, "restartCount"));
		}
		snprintf(buf, sizeof(buf), "%zu/%zu", ready, n);
		json_array_append_new(cells, json_string(buf));
		json_array_append_new(cells, json_string(sel_lookup_path(obj, "metadata.deletionTimestamp")
							 ? "Terminating" : sval(obj, "status.phase", "Pending")));
		json_array_append_new(cells, json_integer(restarts));
	} else if (!strcmp(kind, "Deployment")) {
		snprintf(buf, sizeof(buf), "%ld/%ld", ival(obj, "status.readyReplicas"),
			 ival(obj, "spec.replicas"));
		json_array_append_new(cells, json_string(buf));
		json_array_append_new(cells, json_integer(ival(obj, "status.updatedReplicas")));
		json_array_append_new(cells, json_integer(ival(obj, "status.availableReplicas")));
	} else if (!strcmp(kind, "ReplicaSet")) {
		json_array_append_new(cells, json_integer(ival(obj, "spec.replicas")));
		json_array_append_new(cells, json_integer(ival(obj, "status.replicas")));
		json_array_append_new(cells, json_integer(ival(obj, "status.readyReplicas")));
	} else if (!strcmp(kind, "DaemonSet")) {
		json_array_append_new(cells, json_integer(ival(obj, "status.desiredNumberScheduled")));
		json_array_append_new(cells, json_integer(ival(obj, "status.currentNumberScheduled")));
		json_array_append_new(cells, json_integer(ival(obj, "status.numberReady")));
	} else if (!strcmp(kind, "Service")) {
		size_t i, off = 0;
		json_t *p;

		json_array_append_new(cells, json_string(sval(obj, "spec.type", "ClusterIP")));
		json_array_append_new(cells, json_string(sval(obj, "spec.clusterIP", "<none>")));
		json_t *ext = json_object_get(json_object_get(obj, "spec"), "externalIPs");
		json_array_append_new(cells, json_string(json_array_size(ext) ?
							 json_string_value(json_array_get(ext, 0)) : "<none>"));
		buf[0] = '\0';
		json_array_foreach(sel_lookup_path(obj, "spec.ports"), i, p) {
			if (off >= sizeof(buf))
				break;
			if (json_integer_value(json_object_get(p, "nodePort")))
				off += snprintf(buf + off, sizeof(buf) - off, "%s%ld:%ld/%s", i ? "," : "",
						ival(p, "port"), ival(p, "nodePort"), sval(p, "protocol", "TCP"));
			else
				off += snprintf(buf + off, sizeof(buf) - off, "%s%ld/%s", i ? "," : "",
						ival(p, "port"), sval(p, "protocol", "TCP"));
		}
		json_array_append_new(cells, json_string(*buf ? buf : "<none>"));
	} else if (!strcmp(kind, "Node")) {
		const char *st = "Unknown";
		size_t i;
		json_t *cnd;

		json_array_foreach(sel_lookup_path(obj, "status.conditions"), i, cnd) {
			if (!strcmp(sval(cnd, "type", ""), "Ready"))
				st = !strcmp(sval(cnd, "status", ""), "True") ? "Ready" : "NotReady";
		}
		if (json_is_true(sel_lookup_path(obj, "spec.unschedulable"))) {
			snprintf(buf, sizeof(buf), "%s,SchedulingDisabled", st);
			st = buf;
		}
		json_array_append_new(cells, json_string(st));
	} else if (!strcmp(kind, "Namespace")) {
		json_array_append_new(cells, json_string(sel_lookup_path(obj, "metadata.deletionTimestamp")
							 ? "Terminating" : sval(obj, "status.phase", "Active")));
	} else if (!strcmp(kind, "ConfigMap") || !strcmp(kind, "Secret")) {
		if (!strcmp(kind, "Secret"))
			json_array_append_new(cells, json_string(sval(obj, "type", "Opaque")));
		json_array_append_new(cells, json_integer((json_int_t)(json_object_size(json_object_get(obj, "data")) +
								      json_object_size(json_object_get(obj, "binaryData")))));
	} else if (!strcmp(kind, "Endpoints")) {
		size_t i, j, off = 0;
		json_t *s, *x;

		buf[0] = '\0';
		json_array_foreach(json_object_get(obj, "subsets"), i, s) {
			json_array_foreach(json_object_get(s, "addresses"), j, x) {
				if (off < sizeof(buf))
					off += snprintf(buf + off, sizeof(buf) - off, "%s%s", off ? "," : "",
							sval(x, "ip", ""));
			}
		}
		json_array_append_new(cells, json_string(*buf ? buf : "<none>"));
	} else if (!strcmp(kind, "Lease")) {
		json_array_append_new(cells, json_string(sval(obj, "spec.holderIdentity", "")));
	} else if (!strcmp(kind, "Event")) {
		json_array_append_new(cells, json_string(sval(obj, "type", "")));
		json_array_append_new(cells, json_string(sval(obj, "reason", "")));
		snprintf(buf, sizeof(buf), "%s/%s", sval(obj, "involvedObject.kind", ""),
			 sval(obj, "involvedObject.name", ""));
		for (char *p = buf; *p && *p != '/'; p++)
			*p = (char)tolower((unsigned char)*p);
		json_array_append_new(cells, json_string(buf));
		json_array_append_new(cells, json_string(sval(obj, "message", "")));
	}
	json_array_append_new(cells, json_string(a));
	if (!strcmp(kind, "Pod")) {
		json_array_append_new(cells, json_string(sval(obj, "status.podIP", "<none>")));
		json_array_append_new(cells, json_string(sval(obj, "spec.nodeName", "<none>")));
	}
	return json_pack("{s:o, s:O}", "cells", cells, "object", obj);
}

json_t *disc_table(const struct api_kind *k, const json_t *obj_or_list, bool is_list)
{
	json_t *rows = json_array();
	json_t *md = json_object();

	if (is_list) {
		size_t i;
		json_t *x;
		const json_t *lmd = json_object_get(obj_or_list, "metadata");

		json_array_foreach(json_object_get(obj_or_list, "items"), i, x)
			json_array_append_new(rows, disc_table_row(k, x));
		if (json_object_get(lmd, "resourceVersion"))
			json_object_set(md, "resourceVersion", json_object_get(lmd, "resourceVersion"));
		if (json_object_get(lmd, "continue"))
			json_object_set(md, "continue", json_object_get(lmd, "continue"));
	} else {
		json_array_append_new(rows, disc_table_row(k, obj_or_list));
		const json_t *rv = sel_lookup_path(obj_or_list, "metadata.resourceVersion");
		if (rv)
			json_object_set(md, "resourceVersion", (json_t *)rv);
	}
	return json_pack("{s:s, s:s, s:o, s:o, s:o}", "kind", "Table", "apiVersion", "meta.k8s.io/v1",
			 "metadata", md, "columnDefinitions", columns(k), "rows", rows);
}

/* ---- OpenAPI v3 (minimal) -------------------------------------------------------- */
/* kubectl's default --validate=strict asks whether the server supports the
 * fieldValidation query parameter by looking, in /openapi/v3/<gv>, for a
 * PATCH operation tagged with the kind's x-kubernetes-group-version-kind
 * that lists the parameter. Serving exactly that lets kubectl hand
 * validation to the server (which reports unknown fields itself) instead
 * of needing full schemas. */

json_t *disc_openapi_index(void)
{
	json_t *paths = json_object();
	char key[160], url[200];

	for (size_t i = 0; i < reg_n_kinds; i++) {
		const struct api_kind *k = &reg_kinds[i];

		if (*k->group)
			snprintf(key, sizeof(key), "apis/%s/%s", k->group, k->version);
		else
			snprintf(key, sizeof(key), "api/%s", k->version);
		snprintf(url, sizeof(url), "/openapi/v3/%s?hash=gannet1", key);
		json_object_set_new(paths, key, json_pack("{s:s}", "serverRelativeURL", url));
	}
	return json_pack("{s:o}", "paths", paths);
}

json_t *disc_openapi_gv(const char *group, const char *version)
{
	json_t *paths = json_object();
	bool any = false;

	for (size_t i = 0; i < reg_n_kinds; i++) {
		const struct api_kind *k = &reg_kinds[i];
		char path[300], base[160];

		if (strcmp(k->group, group) || strcmp(k->version, version))
			continue;
		any = true;
		if (*k->group)
			snprintf(base, sizeof(base), "/apis/%s/%s", k->group, k->version);
		else
			snprintf(base, sizeof(base), "/api/%s", k->version);
		snprintf(path, sizeof(path), "%s%s/%s/{name}", base,
			 k->namespaced ? "/namespaces/{namespace}" : "", k->plural);
		json_t *params = json_pack("[{s:s, s:s, s:{s:s}}, {s:s, s:s, s:{s:s}}, {s:s, s:s, s:{s:s}}]",
					   "name", "fieldValidation", "in", "query", "schema", "type", "string",
					   "name", "dryRun", "in", "query", "schema", "type", "string",
					   "name", "fieldManager", "in", "query", "schema", "type", "string");
		json_t *gvk = json_pack("{s:s, s:s, s:s}", "group", k->group, "version", k->version,
					"kind", k->kind);
		json_t *op = json_pack("{s:s, s:o, s:s, s:o, s:{s:{s:s}}}", "operationId", k->plural,
				       "x-kubernetes-group-version-kind", gvk,
				       "x-kubernetes-action", "patch", "parameters", params,
				       "responses", "200", "description", "OK");
		json_t *post = json_deep_copy(op);
		json_object_set_new(post, "x-kubernetes-action", json_string("post"));
		json_object_set_new(paths, path, json_pack("{s:o, s:o}", "patch", op, "put", post));
	}
	if (!any) {
		json_decref(paths);
		return NULL;
	}
	return json_pack("{s:s, s:{s:s, s:s}, s:o, s:{}}", "openapi", "3.0.0", "info", "title",
			 "Gannet", "version", "v1.32.0", "paths", paths, "components");
}

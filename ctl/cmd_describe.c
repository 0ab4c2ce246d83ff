/* SPDX-License-Identifier: Apache-2.0 */
/* gannetctl describe: a readable, kubectl-describe-like view of objects:
 * the common metadata block, then every other top-level section (spec,
 * status, data, rules, subjects...) as an indented tree. Secret values are
 * never printed, only their sizes. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl/ctl.h"
#include "ctl/table.h"

static void indent(int n)
{
	printf("%*s", n, "");
}

/* Schema field names are capitalized like kubectl describe does; keys of
 * free-form maps (labels, data, selectors) are user data and kept. */
static void print_key(const char *k, int depth, bool raw)
{
	indent(depth * 2);
	if (raw)
		printf("%s:", k);
	else
		printf("%c%s:", toupper((unsigned char)k[0]), k + 1);
}

static bool is_free_form(const char *k)
{
	static const char *const maps[] = {
		"labels", "annotations", "matchLabels", "selector", "nodeSelector",
		"data", "stringData", "binaryData", "capacity", "allocatable",
		"limits", "requests",
	};

	for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++)
		if (!strcmp(k, maps[i]))
			return true;
	return false;
}

static void print_scalar(const json_t *v)
{
	if (json_is_string(v))
		printf("%s", json_string_value(v));
	else if (json_is_integer(v))
		printf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else if (json_is_real(v))
		printf("%g", json_real_value(v));
	else if (json_is_true(v))
		printf("true");
	else if (json_is_false(v))
		printf("false");
	else
		printf("<none>");
}

static bool all_scalars(const json_t *arr)
{
	const json_t *it;
	size_t i;

	json_array_foreach(arr, i, it)
		if (json_is_object(it) || json_is_array(it))
			return false;
	return true;
}

static void print_tree(const json_t *o, int depth, bool raw);

static void print_value(const char *k, const json_t *v, int depth, bool raw)
{
	print_key(k, depth, raw);
	if (json_is_object(v)) {
		if (!json_object_size(v)) {
			printf("  <none>\n");
			return;
		}
		printf("\n");
		print_tree(v, depth + 1, is_free_form(k));
	} else if (json_is_array(v)) {
		const json_t *it;
		size_t i;

		if (!json_array_size(v)) {
			printf("  <none>\n");
		} else if (all_scalars(v)) {
			printf("  ");
			json_array_foreach(v, i, it) {
				if (i)
					printf(", ");
				print_scalar(it);
			}
			printf("\n");
		} else {
			printf("\n");
			json_array_foreach(v, i, it) {
				indent((depth + 1) * 2);
				printf("-\n");
				if (json_is_object(it))
					print_tree(it, depth + 2, false);
			}
		}
	} else {
		/* Multi-line strings (config files in ConfigMaps) below the key. */
		if (json_is_string(v) && strchr(json_string_value(v), '\n')) {
			printf("\n");
			const char *s = json_string_value(v);

			while (*s) {
				size_t n = strcspn(s, "\n");

				indent((depth + 1) * 2);
				printf("%.*s\n", (int)n, s);
				s += n;
				if (*s)
					s++;
			}
			return;
		}
		printf("  ");
		print_scalar(v);
		printf("\n");
	}
}

static void print_tree(const json_t *o, int depth, bool raw)
{
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)o, k, v)
		print_value(k, v, depth, raw);
}

static void print_map_line(const char *label, const json_t *map, bool skip_la)
{
	const char *k;
	json_t *v;
	bool first = true;

	printf("%-14s", label);
	json_object_foreach((json_t *)map, k, v) {
		if (skip_la && !strcmp(k, LAST_APPLIED_ANNOTATION))
			continue;
		printf("%s%s=%s\n", first ? "" : "              ", k,
		       json_string_value(v) ?: "");
		first = false;
	}
	if (first)
		printf("<none>\n");
}

/* "svc:port" of an Ingress backend (port by number or name). */
static const char *ing_backend(const json_t *b, char *buf, size_t len)
{
	const json_t *num = ctl_jpath(b, "service.port.number");

	if (!ctl_jpath(b, "service.name")) {
		snprintf(buf, len, "%s", ctl_jpath_str(b, "resource.name") ?: "<none>");
		return buf;
	}
	if (json_is_integer(num))
		snprintf(buf, len, "%s:%lld", ctl_jpath_str(b, "service.name"),
			 (long long)json_integer_value(num));
	else
		snprintf(buf, len, "%s:%s", ctl_jpath_str(b, "service.name"),
			 ctl_jpath_str(b, "service.port.name") ?: "");
	return buf;
}

/* kubectl's Ingress summary: address, class, then host/path -> backend. */
static void describe_ingress(const json_t *o)
{
	const json_t *rule, *p, *lb;
	char buf[512];
	size_t i, j, n = 0;

	buf[0] = 0;
	json_array_foreach(ctl_jpath(o, "status.loadBalancer.ingress"), i, lb)
		n += snprintf(buf + n, n < sizeof(buf) ? sizeof(buf) - n : 0, "%s%s", n ? "," : "",
			      ctl_jpath_str(lb, "ip") ?: ctl_jpath_str(lb, "hostname") ?: "");
	printf("%-14s%s\n", "Address:", buf);
	printf("%-14s%s\n", "Ingress Class:", ctl_jpath_str(o, "spec.ingressClassName") ?: "<none>");
	if (ctl_jpath(o, "spec.defaultBackend"))
		printf("%-14s%s\n", "Default backend:",
		       ing_backend(ctl_jpath(o, "spec.defaultBackend"), buf, sizeof(buf)));
	printf("Rules:\n  %-30s %-20s %s\n  %-30s %-20s %s\n", "Host", "Path", "Backends",
	       "----", "----", "--------");
	json_array_foreach(ctl_jpath(o, "spec.rules"), i, rule) {
		json_array_foreach(ctl_jpath(rule, "http.paths"), j, p)
			printf("  %-30s %-20s %s\n", ctl_jpath_str(rule, "host") ?: "*",
			       ctl_jpath_str(p, "path") ?: "/",
			       ing_backend(json_object_get(p, "backend"), buf, sizeof(buf)));
	}
}

static void describe_one(const struct api_resource *res, const json_t *o)
{
	const json_t *meta = json_object_get(o, "metadata");
	int secret_hdr = 0;
	const char *k;
	json_t *v;
	char age[32];

	printf("%-14s%s\n", "Name:", ctl_jpath_str(meta, "name") ?: "");
	if (res->namespaced)
		printf("%-14s%s\n", "Namespace:", ctl_jpath_str(meta, "namespace") ?: "");
	print_map_line("Labels:", json_object_get(meta, "labels"), false);
	print_map_line("Annotations:", json_object_get(meta, "annotations"), true);
	fmt_age(o, time(NULL), age, sizeof(age));
	printf("%-14s%s (%s ago)\n", "Created:", ctl_jpath_str(meta, "creationTimestamp") ?: "<unknown>", age);
	if (ctl_jpath(meta, "deletionTimestamp"))
		printf("%-14s%s\n", "Terminating:", ctl_jpath_str(meta, "deletionTimestamp"));
	if (json_array_size(json_object_get(meta, "ownerReferences"))) {
		const json_t *ref = json_array_get(json_object_get(meta, "ownerReferences"), 0);

		printf("%-14s%s/%s\n", "Controlled By:", ctl_jpath_str(ref, "kind") ?: "",
		       ctl_jpath_str(ref, "name") ?: "");
	}
	if (!strcmp(res->kind, "Ingress"))
		describe_ingress(o);
	json_object_foreach((json_t *)o, k, v) {
		if (!strcmp(k, "metadata") || !strcmp(k, "kind") || !strcmp(k, "apiVersion"))
			continue;
		if (!strcmp(res->kind, "Secret") && (!strcmp(k, "data") || !strcmp(k, "stringData"))) {
			const char *sk;
			json_t *sv;

			if (!secret_hdr++)
				printf("Data\n====\n");
			json_object_foreach(v, sk, sv) {
				/* data is base64: report the decoded size. */
				size_t l = json_string_length(sv);
				size_t bytes = !strcmp(k, "data") ? l / 4 * 3 -
					(l && json_string_value(sv)[l - 1] == '=') -
					(l > 1 && json_string_value(sv)[l - 2] == '=') : l;

				printf("%s:  %zu bytes\n", sk, l ? bytes : 0);
			}
			continue;
		}
		if (is_free_form(k) && json_is_object(v)) {
			/* Top-level data of ConfigMaps: kubectl's layout. */
			printf("%c%s\n", toupper((unsigned char)k[0]), k + 1);
			printf("====\n");
			print_tree(v, 0, true);
			continue;
		}
		print_value(k, v, 0, false);
	}
}

int cmd_describe(struct ctl *c, int argc, char **argv)
{
	struct ctl_target *targets = NULL;
	int n, ret = CTL_EXIT_OK, printed = 0;
	json_t *docs = NULL, *sources = NULL;
	const struct api_resource **res = NULL;

	if (!c->o.n_files && argc == 0) {
		fprintf(stderr, "error: you must specify the type of resource to describe, e.g. 'gannetctl describe pod NAME'\n");
		return CTL_EXIT_USAGE;
	}
	if (c->o.n_files) {
		size_t i;
		const json_t *d;

		if (argc) {
			fprintf(stderr, "error: give either -f or resource arguments, not both\n");
			return CTL_EXIT_USAGE;
		}
		ret = ctl_read_manifests(c, &docs, &sources);
		if (ret)
			return ret;
		ret = ctl_connect(c);
		if (!ret)
			ret = ctl_resolve_manifests(c, docs, sources, &res);
		if (ret)
			goto out;
		n = (int)json_array_size(docs);
		targets = calloc((size_t)n, sizeof(*targets));
		json_array_foreach(docs, i, d) {
			targets[i].res = res[i];
			targets[i].name = ctl_jpath_str(d, "metadata.name");
		}
	} else {
		ret = ctl_connect(c);
		if (ret)
			return ret;
		n = ctl_parse_targets(c, argc, argv, &targets);
		if (n < 0)
			return CTL_EXIT_ERR;
	}
	for (int i = 0; i < n; i++) {
		const char *ns = targets[i].res->namespaced ?
			(docs ? ctl_doc_namespace(c, json_array_get(docs, i), "") :
			 c->o.all_namespaces && !targets[i].name ? NULL : c->ns) : NULL;
		struct api_resp r = { 0 };
		struct gerr err = { 0 };
		char path[1024], esc[1024];

		if (apires_path(targets[i].res, ns, targets[i].name, path, sizeof(path)))
			continue;
		if (!targets[i].name && c->o.selector &&
		    strlen(path) + strlen(c->o.selector) * 3 + 16 < sizeof(path)) {
			strcat(path, "?labelSelector=");
			strcat(path, apiclient_escape(c->o.selector, esc, sizeof(esc)));
		}
		if (apiclient_get(c->api, path, &r, &err)) {
			fprintf(stderr, "error: %s\n", err.msg);
			ret = CTL_EXIT_ERR;
			break;
		}
		if (!api_ok(&r) || !json_is_object(r.body)) {
			ctl_print_api_error(&r, NULL);
			ret = CTL_EXIT_ERR;
		} else if (targets[i].name) {
			if (printed++)
				printf("\n\n");
			describe_one(targets[i].res, r.body);
		} else {
			json_t *it;
			size_t k;

			json_array_foreach(json_object_get(r.body, "items"), k, it) {
				if (printed++)
					printf("\n\n");
				describe_one(targets[i].res, it);
			}
		}
		api_resp_free(&r);
	}
	if (!printed && ret == CTL_EXIT_OK)
		fprintf(stderr, "No resources found in %s namespace.\n", c->ns);
out:
	fflush(stdout);
	free(targets);
	free(res);
	json_decref(docs);
	json_decref(sources);
	return ret;
}

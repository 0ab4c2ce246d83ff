/* SPDX-License-Identifier: Apache-2.0 */
/* Named targets for the commands that act on given objects (scale,
 * rollout, set image): "TYPE NAME...", "TYPE/NAME..." or -f manifests,
 * each with its namespace; plus fetching one object with kubectl's error
 * messages. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl.h"
#include "ctl/table.h"

int ctl_named_targets(struct ctl *c, int argc, char **argv, struct ctl_named **out)
{
	struct ctl_named *nt = NULL;
	struct ctl_target *t = NULL;
	int n, ret;

	*out = NULL;
	if (c->o.n_files) {
		json_t *docs = NULL, *sources = NULL, *d;
		const struct api_resource **res = NULL;
		size_t i;

		if (argc) {
			fprintf(stderr, "error: give either -f or resource arguments, not both\n");
			return -CTL_EXIT_USAGE;
		}
		ret = ctl_read_manifests(c, &docs, &sources);
		if (ret)
			return -ret;
		ret = ctl_connect(c);
		if (!ret)
			ret = ctl_resolve_manifests(c, docs, sources, &res);
		if (ret) {
			json_decref(docs);
			json_decref(sources);
			return -ret;
		}
		n = (int)json_array_size(docs);
		nt = calloc((size_t)n + 1, sizeof(*nt));
		if (!nt) {
			free(res);
			json_decref(docs);
			json_decref(sources);
			return -CTL_EXIT_ERR;
		}
		json_array_foreach(docs, i, d) {
			const char *src = json_string_value(json_array_get(sources, i));
			const char *ns = res[i]->namespaced ? ctl_doc_namespace(c, d, src) : NULL;

			nt[i].res = res[i];
			nt[i].name = strdup(ctl_jpath_str(d, "metadata.name"));
			nt[i].ns = ns ? strdup(ns) : NULL;
		}
		free(res);
		json_decref(docs);
		json_decref(sources);
		*out = nt;
		return n;
	}
	if (argc == 0) {
		fprintf(stderr, "error: you must provide one or more resources by argument or filename\n");
		return -CTL_EXIT_USAGE;
	}
	if (argc == 1 && !strchr(argv[0], '/')) {
		fprintf(stderr, "error: resource(s) were provided, but no name was specified\n");
		return -CTL_EXIT_USAGE;
	}
	ret = ctl_connect(c);
	if (ret)
		return -ret;
	n = ctl_parse_targets(c, argc, argv, &t);
	if (n < 0)
		return -CTL_EXIT_ERR;
	nt = calloc((size_t)n + 1, sizeof(*nt));
	if (!nt) {
		free(t);
		return -CTL_EXIT_ERR;
	}
	for (int i = 0; i < n; i++) {
		nt[i].res = t[i].res;
		nt[i].name = strdup(t[i].name);
		nt[i].ns = t[i].res->namespaced ? strdup(c->ns) : NULL;
	}
	free(t);
	*out = nt;
	return n;
}

void ctl_named_free(struct ctl_named *t, int n)
{
	for (int i = 0; t && i < n; i++) {
		free(t[i].name);
		free(t[i].ns);
	}
	free(t);
}

int ctl_call(struct ctl *c, const char *method, const char *path, const json_t *body,
	     struct api_resp *r)
{
	struct gerr err = { 0 };

	if (apiclient_request(c->api, method, path, body, NULL, r, &err)) {
		fprintf(stderr, "error: %s\n", err.msg);
		api_resp_free(r);
		return CTL_EXIT_ERR;
	}
	if (!api_ok(r)) {
		ctl_print_api_error(r, NULL);
		api_resp_free(r);
		return CTL_EXIT_ERR;
	}
	return CTL_EXIT_OK;
}

int ctl_list(struct ctl *c, const char *path, json_t **items)
{
	struct api_resp r = { 0 };
	int ret = ctl_call(c, "GET", path, NULL, &r);

	*items = NULL;
	if (ret)
		return ret;
	*items = json_incref(json_object_get(r.body, "items"));
	api_resp_free(&r);
	if (!json_is_array(*items)) {
		fprintf(stderr, "error: the server's answer to %s has no items\n", path);
		json_decref(*items);
		*items = NULL;
		return CTL_EXIT_ERR;
	}
	return CTL_EXIT_OK;
}

int ctl_node_names(struct ctl *c, json_t *names)
{
	json_t *items, *it;
	size_t i;
	int ret = ctl_list(c, "/api/v1/nodes", &items);

	if (ret)
		return ret;
	json_array_foreach(items, i, it) {
		const char *n = ctl_jpath_str(it, "metadata.name");

		if (n)
			json_array_append_new(names, json_string(n));
	}
	json_decref(items);
	return CTL_EXIT_OK;
}

int ctl_get_object(struct ctl *c, const struct ctl_named *t, const char *sub,
		   json_t **obj)
{
	struct api_resp r = { 0 };
	char path[1100];
	int ret;

	*obj = NULL;
	if (apires_path(t->res, t->ns, t->name, path, sizeof(path) - 32)) {
		fprintf(stderr, "error: name too long: %s\n", t->name);
		return CTL_EXIT_ERR;
	}
	if (sub) {
		strcat(path, "/");
		strcat(path, sub);
	}
	ret = ctl_call(c, "GET", path, NULL, &r);
	if (ret)
		return ret;
	if (!json_is_object(r.body)) {
		ctl_print_api_error(&r, NULL);
		ret = CTL_EXIT_ERR;
	} else {
		*obj = json_incref(r.body);
	}
	api_resp_free(&r);
	return ret;
}

int ctl_send(struct ctl *c, const char *method, const struct ctl_named *t,
	     const char *sub, const char *patch_type, const json_t *body, json_t **obj)
{
	struct api_resp r = { 0 };
	struct gerr err = { 0 };
	char path[1100];
	int ret = CTL_EXIT_ERR;

	if (obj)
		*obj = NULL;
	if (apires_path(t->res, t->ns, t->name, path, sizeof(path) - 32)) {
		fprintf(stderr, "error: name too long: %s\n", t->name);
		return CTL_EXIT_ERR;
	}
	if (sub) {
		strcat(path, "/");
		strcat(path, sub);
	}
	if (patch_type)
		ret = apiclient_patch(c->api, path, patch_type, body, &r, &err);
	else
		ret = apiclient_request(c->api, method, path, body, NULL, &r, &err);
	if (ret) {
		fprintf(stderr, "error: %s\n", err.msg);
		ret = CTL_EXIT_ERR;
		goto out;
	}
	ret = CTL_EXIT_ERR;
	if (!api_ok(&r)) {
		ctl_print_api_error(&r, NULL);
		goto out;
	}
	if (obj)
		*obj = json_incref(r.body);
	ret = CTL_EXIT_OK;
out:
	api_resp_free(&r);
	return ret;
}
